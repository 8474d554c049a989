//! Compliance reports (a model's and the tenant's) as printable HTML, CSV and JSON, all three
//! rendered from the one report the service assembles; and the documentation page where a
//! model's owners write its intended use, limitations and human oversight (a new revision per
//! save, CSRF-checked like every form).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use steward_domain::compliance::{ComplianceReport, Gap, ReportScope};
use steward_domain::{DocumentModel, ModelId, Operation};
use steward_service::ServiceError;

use crate::pages::{Me, time};
use crate::session::{Csrf, SignedIn, checked};
use crate::{WebState, error_page, refusal_status, render, service_error_page};

#[derive(Deserialize, Default)]
pub(crate) struct FormatQuery {
    #[serde(default)]
    format: String,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct ReportPage {
    me: Me,
    subject: String,
    self_url: String,
    doc_url: Option<String>,
    generated: String,
    frameworks: String,
    tenant_scope: bool,
    gaps: Vec<Gap>,
    report: ComplianceReport,
}

/// The tenant's report: its inventory, each model's gaps, the event logs.
pub(crate) async fn tenant_report(
    State(state): State<WebState>,
    me: SignedIn,
    Query(q): Query<FormatQuery>,
) -> Response {
    report(&state, &me, None, &q.format).await
}

/// One model's report, every section in full.
pub(crate) async fn model_report(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> Response {
    let Ok(id) = id.parse::<ModelId>() else {
        return crate::not_found().await;
    };
    report(&state, &me, Some(id), &q.format).await
}

async fn report(state: &WebState, me: &SignedIn, model: Option<ModelId>, format: &str) -> Response {
    let report = match state.service.compliance_report(&me.principal, model).await {
        Ok(r) => r,
        Err(e) => return service_error_page(&e),
    };
    let (subject, self_url, file) = match (&report.scope, model) {
        (ReportScope::Model { name, .. }, Some(id)) => (
            format!("model {name}"),
            format!("/ui/models/{id}/compliance"),
            format!("steward-compliance-{}-{name}", report.tenant),
        ),
        _ => (
            format!("tenant {}", report.business_unit),
            "/ui/compliance".to_string(),
            format!("steward-compliance-{}", report.tenant),
        ),
    };
    match format {
        "" | "html" => render(&ReportPage {
            me: Me::of(me),
            subject,
            doc_url: model.map(|id| format!("/ui/models/{id}/documentation")),
            self_url,
            generated: time(report.generated_at),
            frameworks: report.frameworks.join("; "),
            tenant_scope: model.is_none(),
            gaps: report.gaps(),
            report,
        }),
        "json" => match serde_json::to_vec_pretty(&report) {
            Ok(body) => download(body, "application/json", &format!("{file}.json")),
            Err(e) => internal(&e.to_string()),
        },
        "csv" => match csv(&report) {
            Ok(body) => download(body, "text/csv; charset=utf-8", &format!("{file}.csv")),
            Err(e) => internal(&e),
        },
        other => error_page(
            StatusCode::BAD_REQUEST,
            "Not understood",
            &format!(
                "format: `{}` is not a report format (html, csv or json)",
                steward_domain::validate::truncate(other)
            ),
        ),
    }
}

fn internal(e: &str) -> Response {
    tracing::error!(error = %e, "a compliance report failed to render");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The report could not be rendered; the error was logged.",
    )
}

fn download(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    // Model names are `[A-Za-z0-9._-]` (validated at registration), safe in a quoted filename.
    let disposition = format!("attachment; filename=\"{file}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// The report in long form, one value per line, so a spreadsheet can filter and pivot it:
/// `model, section, references, record, field, value`. Facts are records of their own
/// (`record` empty); table cells name their table and row (`Incidents #2`); gaps are field
/// `gap`. Tenant-wide sections have an empty `model`.
pub(crate) fn csv(report: &ComplianceReport) -> Result<Vec<u8>, String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let e = |e: ::csv::Error| e.to_string();
    w.write_record(["model", "section", "references", "record", "field", "value"])
        .map_err(e)?;
    let sections = report.sections.iter().map(|s| ("", s)).chain(
        report
            .models
            .iter()
            .flat_map(|m| m.sections.iter().map(move |s| (m.name.as_str(), s))),
    );
    for (model, s) in sections {
        let refs = s
            .references
            .iter()
            .map(|r| format!("{} {}", r.framework, r.heading))
            .collect::<Vec<_>>()
            .join("; ");
        let key = s.key.as_str();
        for f in &s.facts {
            w.write_record([model, key, &refs, "", &f.label, &f.value])
                .map_err(e)?;
        }
        for t in &s.tables {
            for (i, row) in t.rows.iter().enumerate() {
                let record = format!("{} #{}", t.caption, i + 1);
                for (c, v) in t.columns.iter().zip(row) {
                    w.write_record([model, key, &refs, &record, c, v])
                        .map_err(e)?;
                }
            }
        }
        for g in &s.gaps {
            w.write_record([model, key, &refs, "", "gap", g])
                .map_err(e)?;
        }
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[derive(Template)]
#[template(path = "documentation.html")]
struct DocumentationPage {
    me: Me,
    id: String,
    name: String,
    revision: i64,
    intended_use: String,
    limitations: String,
    human_oversight: String,
    note: String,
    may_edit: bool,
    error: Option<String>,
}

/// What the form sends (and, after a refusal, what is shown again so nothing typed is lost).
#[derive(Deserialize, Default)]
pub(crate) struct DocumentationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    intended_use: String,
    #[serde(default)]
    limitations: String,
    #[serde(default)]
    human_oversight: String,
    #[serde(default)]
    note: String,
    expected_revision: Option<i64>,
}

impl Csrf for DocumentationForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn documentation(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Response {
    documentation_page(&state, &me, &id, None, StatusCode::OK).await
}

/// The page with the revision in force, or (after a refusal) with what was sent and why not.
async fn documentation_page(
    state: &WebState,
    me: &SignedIn,
    id: &str,
    sent: Option<(DocumentationForm, String)>,
    status: StatusCode,
) -> Response {
    let Ok(model_id) = id.parse::<ModelId>() else {
        return crate::not_found().await;
    };
    let svc = &state.service;
    let model = match svc.model(&me.principal, model_id).await {
        Ok(m) => m,
        Err(e) => return service_error_page(&e),
    };
    let docs = match svc.model_documentation(&me.principal, model_id).await {
        Ok(d) => d,
        Err(e) => return service_error_page(&e),
    };
    let current = docs.first();
    let revision = current.map_or(0, |d| d.revision);
    let field = |f: fn(&steward_domain::ModelDocumentation) -> &String| {
        current.map(|d| f(d).clone()).unwrap_or_default()
    };
    let (form, error) = match sent {
        Some((f, why)) => (f, Some(why)),
        None => (
            DocumentationForm {
                intended_use: field(|d| &d.intended_use),
                limitations: field(|d| &d.limitations),
                human_oversight: field(|d| &d.human_oversight),
                ..DocumentationForm::default()
            },
            None,
        ),
    };
    let page = DocumentationPage {
        me: Me::of(me),
        id: model.id.to_string(),
        name: model.name,
        revision,
        intended_use: form.intended_use,
        limitations: form.limitations,
        human_oversight: form.human_oversight,
        note: form.note,
        may_edit: me.principal.may(Operation::DocumentModel),
        error,
    };
    (status, render(&page)).into_response()
}

/// Saves a new revision; a refusal (a stale revision, a field too long) shows the form again
/// with what was typed and why.
pub(crate) async fn save_documentation(
    State(state): State<WebState>,
    headers: HeaderMap,
    me: SignedIn,
    Path(id): Path<String>,
    form: Result<Form<DocumentationForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match checked(&headers, &me, form) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let Some(form) = form else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Not understood",
            "The form was not understood.",
        );
    };
    let Ok(model_id) = id.parse::<ModelId>() else {
        return crate::not_found().await;
    };
    let doc = DocumentModel {
        model_id,
        intended_use: form.intended_use.clone(),
        limitations: form.limitations.clone(),
        human_oversight: form.human_oversight.clone(),
        note: form.note.clone(),
        expected_revision: form.expected_revision,
    };
    match state.service.document_model(&me.principal, doc).await {
        Ok(_) => Redirect::to(&format!("/ui/models/{model_id}/compliance")).into_response(),
        Err(e @ ServiceError::NotFound(_)) => service_error_page(&e),
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return service_error_page(&e);
            };
            let why = format!("Not saved: {e}");
            documentation_page(&state, &me, &id, Some((form, why)), status).await
        }
    }
}
