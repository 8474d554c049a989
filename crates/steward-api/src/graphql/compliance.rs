//! Compliance through GraphQL: a model's documentation (`modelDocumentation(modelId)`,
//! `documentModel`; model owners write it, a new revision each time) and compliance reports
//! (`complianceReport(modelId)`: one model's, or the tenant's without `modelId`; the same JSON
//! the web's report downloads as; model owners and governance officers).

use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::{ctx, model_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

/// One revision of a model's documentation.
#[derive(SimpleObject)]
pub struct ModelDocumentation {
    pub revision: i64,
    pub intended_use: String,
    pub limitations: String,
    pub human_oversight: String,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<d::ModelDocumentation> for ModelDocumentation {
    fn from(x: d::ModelDocumentation) -> Self {
        ModelDocumentation {
            revision: x.revision,
            intended_use: x.intended_use,
            limitations: x.limitations,
            human_oversight: x.human_oversight,
            note: x.note,
            created_by: x.created_by,
            created_at: x.created_at,
        }
    }
}

#[derive(Default)]
pub struct ComplianceQuery;

#[Object]
impl ComplianceQuery {
    /// The model's documentation revisions, newest first (the first is in force).
    async fn model_documentation(
        &self,
        c: &Context<'_>,
        model_id: ID,
    ) -> R<Vec<ModelDocumentation>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .model_documentation(p, super::model_id(&model_id)?)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// A compliance report as JSON: of one model (every section), or of the tenant (its
    /// inventory, each model's gaps and the event logs) when `modelId` is left out
    /// (model_owner, governance_officer). docs/compliance.md describes its shape.
    async fn compliance_report(
        &self,
        c: &Context<'_>,
        model_id: Option<ID>,
    ) -> R<Json<d::compliance::ComplianceReport>> {
        let (svc, p) = ctx(c)?;
        let model = model_id.as_ref().map(super::model_id).transpose()?;
        let report = svc.compliance_report(p, model).await.map_err(gql)?;
        Ok(Json(report))
    }
}

#[derive(InputObject)]
pub struct DocumentModelInput {
    pub model_id: ID,
    pub intended_use: String,
    pub limitations: String,
    pub human_oversight: String,
    /// Why this revision (optional).
    #[graphql(default)]
    pub note: String,
    /// The revision this edit started from (0: none yet); another revision saved since makes
    /// the change a CONFLICT instead of overwriting it. Leave it out to always append.
    pub expected_revision: Option<i64>,
}

#[derive(Default)]
pub struct ComplianceMutation;

#[Object]
impl ComplianceMutation {
    /// Writes a new revision of the model's documentation (model_owner): the whole text of
    /// each field; an empty field is reported as a gap.
    async fn document_model(
        &self,
        c: &Context<'_>,
        input: DocumentModelInput,
    ) -> R<ModelDocumentation> {
        let (svc, p) = ctx(c)?;
        let doc = d::DocumentModel {
            model_id: model_id(&input.model_id)?,
            intended_use: input.intended_use,
            limitations: input.limitations,
            human_oversight: input.human_oversight,
            note: input.note,
            expected_revision: input.expected_revision,
        };
        svc.document_model(p, doc)
            .await
            .map(Into::into)
            .map_err(gql)
    }
}
