//! Signing in through an OpenID provider: the sign-in page's button posts to [`start`], which
//! keeps the sign-in's `state`, `nonce` and PKCE verifier in a short-lived HttpOnly cookie of
//! its own and sends the browser to the provider; the provider sends it back to [`callback`],
//! which checks them ([`OidcClient::finish`]) and opens the session.
//!
//! The callback is the one GET that changes state (it opens a session): the provider can only
//! answer by redirecting the browser. What guards it is what guards every OIDC client: the
//! `state` must equal the one this browser's cookie holds (a sign-in started elsewhere cannot be
//! finished here), the code is redeemed with the verifier only this browser's cookie holds, and
//! the ID token must carry this sign-in's nonce.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use steward_service::ServiceError;
use steward_service::auth::oidc::PendingSignIn;

use crate::WebState;
use crate::session::{forged, sign_in_again, signed_in};

/// The cookie of a sign-in under way.
const PENDING: &str = "__Host-steward-oidc";
/// How long a sign-in may take at the provider, in seconds.
const PENDING_SECONDS: u32 = 600;

fn pending_cookie(value: &str, max_age: u32) -> String {
    format!("{PENDING}={value}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}")
}

/// Starts a sign-in at the provider (a POST from the sign-in page, from this origin).
pub(crate) async fn start(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(refused) = forged(&headers, None) {
        return refused;
    }
    let Some(oidc) = &state.oidc else {
        let why = "Single sign-on is not configured on this server.".to_string();
        return sign_in_again(&state, StatusCode::NOT_FOUND, Some(why));
    };
    match oidc.begin().await {
        Ok((pending, url)) => (
            [(
                header::SET_COOKIE,
                pending_cookie(&pending.to_cookie(), PENDING_SECONDS),
            )],
            Redirect::to(&url),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "starting an OpenID sign-in failed");
            let why = format!("The identity provider cannot be reached: {e}");
            sign_in_again(&state, StatusCode::SERVICE_UNAVAILABLE, Some(why))
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider's answer: checked, then a session; the sign-in's cookie is cleared either way.
pub(crate) async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let clear = (header::SET_COOKIE, pending_cookie("", 0));
    let again = |status: StatusCode, why: String| {
        ([clear.clone()], sign_in_again(&state, status, Some(why))).into_response()
    };
    let Some(oidc) = &state.oidc else {
        return again(
            StatusCode::NOT_FOUND,
            "Single sign-on is not configured.".into(),
        );
    };
    if let Some(e) = q.error {
        let more = q.error_description.unwrap_or_default();
        let why = format!(
            "The identity provider did not sign you in: {} {}",
            steward_domain::validate::truncate(&e),
            steward_domain::validate::truncate(&more)
        );
        return again(StatusCode::UNAUTHORIZED, why);
    }
    let Some(pending) =
        crate::session::cookie_named(&headers, PENDING).and_then(PendingSignIn::from_cookie)
    else {
        let why = "This sign-in was not started in this browser, or took longer than 10 minutes: start again.".to_string();
        return again(StatusCode::BAD_REQUEST, why);
    };
    let person = match oidc.finish(&pending, &q.state, &q.code).await {
        Ok(p) => p,
        Err(e) => return refusal(&e, again),
    };
    match state.service.open_web_session_signed_in(person).await {
        Ok(opened) => {
            let mut resp = signed_in(&opened);
            if let Ok(v) = clear.1.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => refusal(&e, again),
    }
}

/// A failed sign-in as the sign-in page says it.
fn refusal(e: &ServiceError, again: impl Fn(StatusCode, String) -> Response) -> Response {
    match e {
        ServiceError::Unauthenticated(_) => {
            again(StatusCode::UNAUTHORIZED, format!("Not signed in: {e}"))
        }
        ServiceError::Unavailable(_) => {
            tracing::warn!(error = %e, "an OpenID sign-in failed at the provider");
            again(
                StatusCode::BAD_GATEWAY,
                format!("The identity provider failed: {e}"),
            )
        }
        other => {
            tracing::error!(error = %other, "an OpenID sign-in failed");
            again(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Signing in failed; the error was logged.".into(),
            )
        }
    }
}
