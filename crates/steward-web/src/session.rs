//! Signing in and out, and the session behind every page.
//!
//! The cookie `__Host-steward` holds the session's random secret: HttpOnly (no script reads
//! it), Secure, SameSite=Lax (not sent on other sites' posts), Path=/ and no Domain (the
//! `__Host-` prefix makes browsers enforce both). A state-changing request must come from this
//! origin (`Sec-Fetch-Site` same-origin or none, `Origin` this host when sent) and, once signed
//! in, carry the session's CSRF token in its form.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use steward_domain::{Principal, WebSession};

use crate::pages::SignInPage;
use crate::{WebState, error_page, render, service_error_page};

pub(crate) const COOKIE: &str = "__Host-steward";

/// The signed-in caller of a page: extracting it sends anyone without a live session to the
/// sign-in page.
pub(crate) struct SignedIn {
    pub principal: Principal,
    pub session: WebSession,
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let Some(secret) = cookie(&parts.headers) else {
            return Err(Redirect::to("/ui/sign-in").into_response());
        };
        match state.service.web_session(secret).await {
            Ok(Some((principal, session))) => Ok(SignedIn { principal, session }),
            Ok(None) => Err(Redirect::to("/ui/sign-in").into_response()),
            Err(e) => Err(service_error_page(&e)),
        }
    }
}

/// The session secret from the request's cookies.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    cookie_named(headers, COOKIE)
}

/// The value of the cookie `name` in the request.
pub(crate) fn cookie_named<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The refusal of a state-changing request, or `None` to go ahead: one another site made the
/// browser send (by the browser's own `Sec-Fetch-Site`, else by `Origin` against `Host`), or,
/// once signed in, one without the session's CSRF token (`csrf`: the session and the token the
/// form sent). A request with neither header comes from no browser and still needs the token.
/// Every form handler asks this before anything else.
pub(crate) fn forged(headers: &HeaderMap, csrf: Option<(&WebSession, &str)>) -> Option<Response> {
    let refuse = |why: &str| {
        Some(error_page(
            StatusCode::FORBIDDEN,
            "Refused",
            &format!("This form was not sent from Steward's own pages ({why})."),
        ))
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return refuse(&format!("Sec-Fetch-Site: {site}"));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let bare = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if bare != host {
            return refuse("its Origin is another site");
        }
    }
    let (session, sent) = csrf?;
    // Compared in time independent of where the tokens differ.
    let (a, b) = (session.csrf.as_bytes(), sent.as_bytes());
    let differ = a.len() != b.len() || a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) != 0;
    if differ {
        return refuse("its security token is missing or stale; reload the page and try again");
    }
    None
}

pub(crate) async fn sign_in_page(State(state): State<WebState>) -> Response {
    sign_in_again(&state, StatusCode::OK, None)
}

/// The sign-in page, with why the last attempt failed.
pub(crate) fn sign_in_again(
    state: &WebState,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let page = SignInPage {
        dev_sign_in: state.dev_sign_in,
        oidc_issuer: state.oidc.as_ref().map(|o| o.issuer().to_string()),
        error,
    };
    (status, render(&page)).into_response()
}

/// The response that gives the browser its session cookie and sends it to the overview.
pub(crate) fn signed_in(opened: &steward_service::web::OpenedSession) -> Response {
    let max_age = steward_service::web::WEB_SESSION_HOURS * 3600;
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}",
        opened.secret
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    token: String,
}

pub(crate) async fn sign_in(
    State(state): State<WebState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Some(refused) = forged(&headers, None) {
        return refused;
    }
    let again = |status: StatusCode, error: String| sign_in_again(&state, status, Some(error));
    if !state.dev_sign_in {
        return again(
            StatusCode::FORBIDDEN,
            "Signing in with a pasted token is for development mode only.".into(),
        );
    }
    let Ok(Form(form)) = form else {
        return again(
            StatusCode::BAD_REQUEST,
            "The form was not understood.".into(),
        );
    };
    let token = form.token.trim();
    if token.is_empty() {
        return again(StatusCode::BAD_REQUEST, "Paste a token first.".into());
    }
    match state.service.open_web_session(token).await {
        Ok(opened) => signed_in(&opened),
        Err(e @ steward_service::ServiceError::Unauthenticated(_)) => {
            again(StatusCode::UNAUTHORIZED, format!("Not signed in: {e}"))
        }
        Err(e) => service_error_page(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A form that carries the session's CSRF token.
pub(crate) trait Csrf {
    fn csrf(&self) -> &str;
}

impl Csrf for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The checks every form of a signed-in page runs first ([`forged`]): `Err` is the refusal to
/// send back; `Ok(None)` a body that was not understood (the handler says so on its page).
pub(crate) fn checked<T: Csrf>(
    headers: &HeaderMap,
    me: &SignedIn,
    form: Result<Form<T>, FormRejection>,
) -> Result<Option<T>, Box<Response>> {
    let form = form.map(|Form(f)| f).ok();
    let sent = form.as_ref().map_or("", |f| f.csrf());
    match forged(headers, Some((&me.session, sent))) {
        Some(refused) => Err(Box::new(refused)),
        None => Ok(form),
    }
}

pub(crate) async fn sign_out(
    State(state): State<WebState>,
    headers: HeaderMap,
    me: SignedIn,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    if let Err(refused) = checked(&headers, &me, form) {
        return *refused;
    }
    if let Some(secret) = cookie(&headers)
        && let Err(e) = state.service.close_web_session(secret).await
    {
        return service_error_page(&e);
    }
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0");
    ([(header::SET_COOKIE, clear)], Redirect::to("/ui/sign-in")).into_response()
}
