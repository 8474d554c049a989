//! The web frontend under `/ui/`: pages rendered on the server from askama templates
//! (`web/templates/`, checked at compile time), one stylesheet (`web/static/`), charts and the
//! lineage graph drawn as SVG here, no scripts.
//!
//! Sign-in opens a server-side session ([`steward_service::web`]) whose secret rides in an
//! HttpOnly, Secure, SameSite=Lax `__Host-` cookie; every state-changing form carries the
//! session's CSRF token and the server also checks `Origin` / `Sec-Fetch-Site` (`session.rs`).
//! GET never changes state. Pages ask the same service as the API, with the session's
//! principal: the same permission matrix, and another tenant's object answers 404 like a
//! missing one. The GraphQL and REST APIs do not accept the cookie.

mod audit;
mod compare;
mod compliance;
mod drift;
mod endpoints;
mod incidents;
mod lineage_svg;
mod model_parts;
mod oidc;
mod pages;
mod policies;
mod session;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use steward_service::auth::oidc::OidcClient;
use steward_service::tenancy::{self, Tenancy};
use steward_service::{Service, ServiceError};

/// How people sign in to the pages.
#[derive(Clone, Default)]
pub struct SignIn {
    /// Development mode: by pasting a token (`steward token`, `serve --demo`).
    pub dev_token: bool,
    /// Production: through an OpenID provider (authorization code flow with PKCE).
    pub oidc: Option<OidcClient>,
}

impl SignIn {
    /// Development mode only.
    pub fn dev_token() -> SignIn {
        SignIn {
            dev_token: true,
            oidc: None,
        }
    }
}

/// What the pages share.
#[derive(Clone)]
pub struct WebState {
    service: Service,
    /// Development mode: sign-in by pasting a token (`steward token`).
    dev_sign_in: bool,
    oidc: Option<OidcClient>,
}

/// The frontend's routes, for the binary to merge beside the API's.
pub fn router(service: Service, sign_in: SignIn) -> Router {
    let state = WebState {
        service,
        dev_sign_in: sign_in.dev_token,
        oidc: sign_in.oidc,
    };
    Router::new()
        .route(
            "/ui",
            get(|| async { axum::response::Redirect::to("/ui/") }),
        )
        .route("/ui/", get(pages::overview))
        .route("/ui/models/{id}", get(pages::model))
        .route("/ui/lineage", get(pages::lineage))
        .route("/ui/versions/{id}/drift", get(drift::drift))
        .route("/ui/incidents/{id}", get(incidents::incident))
        .route("/ui/audit", get(audit::audit))
        .route("/ui/audit/export", get(audit::export))
        .route("/ui/compliance", get(compliance::tenant_report))
        .route("/ui/policies", get(policies::policies))
        .route("/ui/policies/{id}", get(policies::policy))
        .route("/ui/models/{id}/compliance", get(compliance::model_report))
        .route("/ui/models/{id}/compare", get(compare::compare))
        .route(
            "/ui/models/{id}/documentation",
            get(compliance::documentation).post(compliance::save_documentation),
        )
        .route("/ui/endpoints/{id}", get(endpoints::endpoint))
        .route("/ui/endpoints/{id}/rollback", post(endpoints::rollback))
        .route(
            "/ui/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/ui/sign-in/oidc", post(oidc::start))
        .route("/ui/oidc/callback", get(oidc::callback))
        .route("/ui/sign-out", post(session::sign_out))
        .route("/ui/static/steward.css", get(stylesheet))
        .route("/ui/{*rest}", get(not_found))
        .layer(axum::middleware::from_fn(page_headers))
        .with_state(state)
}

/// Every response: a scope of its own for the request's tenancy (nobody's until the session
/// names one), and headers that keep pages from being framed, sniffed or cached.
async fn page_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut resp = tenancy::within(Tenancy::Nobody, next.run(req)).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../web/static/steward.css"),
    )
        .into_response()
}

async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

/// An error as a page: the status, a title, and what the user can do about it.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = pages::ErrorPage { title, message };
    (status, render(&page)).into_response()
}

/// A service error as a page; internal details are logged, never shown.
fn service_error_page(e: &ServiceError) -> Response {
    match e {
        ServiceError::NotFound(what) => error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("No such {what} here."),
        ),
        ServiceError::Forbidden { .. } => {
            error_page(StatusCode::FORBIDDEN, "Not allowed", &e.to_string())
        }
        ServiceError::Invalid(m) => error_page(StatusCode::BAD_REQUEST, "Not understood", m),
        ServiceError::Unauthenticated(m) => {
            error_page(StatusCode::UNAUTHORIZED, "Not signed in", m)
        }
        other => {
            tracing::error!(error = %other, "a page failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be built; the error was logged.",
            )
        }
    }
}

/// The status of a form's refusal shown on its own page (the form again, with why), or
/// `None` for an error that gets the error page.
fn refusal_status(e: &ServiceError) -> Option<StatusCode> {
    match e {
        ServiceError::Forbidden { .. } => Some(StatusCode::FORBIDDEN),
        ServiceError::Conflict(_) | ServiceError::Precondition(_) => Some(StatusCode::CONFLICT),
        ServiceError::Invalid(_) => Some(StatusCode::BAD_REQUEST),
        _ => None,
    }
}

/// A template rendered to HTML; a template that fails to render (it cannot, once compiled,
/// short of a formatting error) is logged and shown as an error page.
fn render(t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}
