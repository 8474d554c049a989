//! Registry and lineage use cases: tenants, models, versions, datasets, training runs.

use sha2::{Digest, Sha256};
use steward_domain::*;
use steward_store::{IdempotencyKey, StoreError};
use uuid::Uuid;

use serde_json::json;
use steward_audit::Outcome;

use crate::audit::{Record, payload};
use crate::tenancy::{Tenancy, within};
use crate::{Service, ServiceError, ServiceResult, Writes, authorize, authorize_on, scope_for};

/// Largest page any list returns; larger requests are refused rather than silently cut.
pub const MAX_PAGE_SIZE: u32 = 100;

pub(crate) fn check_page(page: &PageRequest) -> ServiceResult<()> {
    if page.first == 0 || page.first > MAX_PAGE_SIZE {
        return Err(ServiceError::Invalid(format!(
            "first: must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    Ok(())
}

/// A version registration with its optional idempotency key.
#[derive(Clone, Debug)]
pub struct RegisterModelVersion {
    pub version: NewModelVersion,
    /// Chosen by the client (a CI job id, say). A retry with the same key and the same input
    /// returns the version the first attempt created.
    pub idempotency_key: Option<String>,
}

impl Service {
    pub async fn create_tenant(
        &self,
        principal: &Principal,
        input: NewTenant,
    ) -> ServiceResult<Tenant> {
        let op = Operation::CreateTenant;
        if let Err(e) = authorize(principal, op) {
            let record = Record::denial("tenant", &input.slug, &e);
            self.record_denial(principal, op, record).await;
            return Err(e);
        }
        // The new tenant's first audit event is written before any request can be its; the
        // creation is the platform's, so it runs as the system.
        let created = within(Tenancy::System, async {
            input.validate()?;
            let tx = self.store.begin_write().await?;
            let tenant = self.store.create_tenant(&tx, &input).await?;
            // The creation opens the new tenant's own log, as its first event.
            let after = json!({"after": {"id": tenant.id.to_string(), "slug": tenant.slug, "name": tenant.name}});
            let event = self.event(principal, (tenant.id, &tenant.slug), op, Outcome::Ok, Record::new("tenant", tenant.id, after))?;
            self.append(&tx, tenant.id, event).await?;
            tx.commit().await?;
            Ok::<Tenant, ServiceError>(tenant)
        })
        .await;
        if let Err(e) = &created {
            let record = Record::failure("tenant", &input.slug, e);
            self.record_attempt(principal, op, Outcome::Failed, record)
                .await;
        }
        created
    }

    pub async fn register_model(
        &self,
        principal: &Principal,
        input: NewModel,
    ) -> ServiceResult<Model> {
        self.register_model_tagged(principal, input, Vec::new())
            .await
    }

    /// Registers a model with key-value tags (the MLflow API's create): one mutation, so the
    /// model never exists without the tags it was created with. Tags also need `model.tag`.
    pub async fn register_model_tagged(
        &self,
        principal: &Principal,
        input: NewModel,
        tags: Vec<(String, String)>,
    ) -> ServiceResult<Model> {
        let target = ("model", input.name.clone());
        let now = self.now();
        self.mutate(
            principal,
            Operation::RegisterModel,
            target,
            async |m: Writes| {
                let input = input.validate()?;
                self.check_tags(principal, &tags)?;
                let model = self
                    .store
                    .create_model(&m.tx, &m.scope, principal.subject(), &input)
                    .await?;
                self.write_tags(&m, principal, (model.id, 0), &tags, now)
                    .await?;
                let mut p = json!({"after": payload::model(&model)});
                if !tags.is_empty() {
                    p["tags"] = tags_json(&tags);
                }
                let record = Record::new("model", model.id, p);
                Ok((model, record))
            },
        )
        .await
    }

    /// Tags given with a create: valid, and the caller may tag.
    fn check_tags(&self, principal: &Principal, tags: &[(String, String)]) -> ServiceResult<()> {
        for (k, v) in tags {
            validate_tag(k, v)?;
        }
        if !tags.is_empty() {
            authorize(principal, Operation::TagModel)?;
        }
        Ok(())
    }

    async fn write_tags(
        &self,
        m: &Writes,
        principal: &Principal,
        (model, version): (ModelId, i64),
        tags: &[(String, String)],
        at: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<()> {
        for (key, value) in tags {
            let t = steward_store::NewTag {
                model,
                version,
                key,
                value,
                actor: principal.subject(),
                at,
            };
            self.store.set_tag(&m.tx, &m.scope, t).await?;
        }
        Ok(())
    }

    pub async fn update_model(
        &self,
        principal: &Principal,
        id: ModelId,
        change: ModelUpdate,
    ) -> ServiceResult<Model> {
        let target = ("model", id.to_string());
        self.mutate(
            principal,
            Operation::UpdateModel,
            target,
            async |m: Writes| {
                let change = change.validate()?;
                let (before, after) = self
                    .store
                    .update_model(&m.tx, &m.scope, id, &change)
                    .await?;
                // The rule on the model is checked against the row as the transaction read it;
                // a refusal drops the transaction, so nothing of the change remains.
                let resource = Resource::Model {
                    risk_tier: before.risk_tier,
                    changes_risk_tier: after.risk_tier != before.risk_tier,
                };
                authorize_on(principal, Operation::UpdateModel, &resource)?;
                let p = json!({"before": payload::model(&before), "after": payload::model(&after)});
                Ok((after, Record::new("model", id, p)))
            },
        )
        .await
    }

    pub async fn register_model_version(
        &self,
        principal: &Principal,
        input: RegisterModelVersion,
    ) -> ServiceResult<ModelVersion> {
        self.register_model_version_tagged(principal, input, Vec::new())
            .await
    }

    /// Registers a version with key-value tags (the MLflow API's create): one mutation. A retry
    /// answered from its idempotency key writes no tags again.
    pub async fn register_model_version_tagged(
        &self,
        principal: &Principal,
        input: RegisterModelVersion,
        tags: Vec<(String, String)>,
    ) -> ServiceResult<ModelVersion> {
        let target = ("model", input.version.model_id.to_string());
        let now = self.now();
        self.mutate(
            principal,
            Operation::RegisterModelVersion,
            target,
            async |m: Writes| {
                self.check_tags(principal, &tags)?;
                let (version, replay) = self.register_version_in(&m, principal, input).await?;
                let p = match &replay {
                    Some(key) => json!({"replayOf": version.id.to_string(), "idempotencyKey": key}),
                    None => {
                        let at = (version.model_id, version.version);
                        self.write_tags(&m, principal, at, &tags, now).await?;
                        let mut p = json!({"after": payload::version(&version)});
                        if !tags.is_empty() {
                            p["tags"] = tags_json(&tags);
                        }
                        p
                    }
                };
                let record = Record::new("model_version", version.id, p);
                Ok((version, record))
            },
        )
        .await
    }

    /// The body of a version registration. Returns the version and, for a retry answered from
    /// its idempotency key, that key.
    async fn register_version_in(
        &self,
        m: &Writes,
        principal: &Principal,
        input: RegisterModelVersion,
    ) -> ServiceResult<(ModelVersion, Option<String>)> {
        let version = input.version.validate()?;
        let key = match &input.idempotency_key {
            Some(k) => {
                validate::required_text("input.idempotencyKey", k, 256)?;
                Some(IdempotencyKey {
                    operation: Operation::RegisterModelVersion.as_str(),
                    key: k.clone(),
                    request_hash: fingerprint(&version),
                })
            }
            None => None,
        };
        if let Some(key) = &key
            && let Some(id) = self.store.idempotent_result(&m.scope, key).await?
        {
            return Ok((
                self.version_by_uuid(&m.scope, id).await?,
                Some(key.key.clone()),
            ));
        }
        let created = self
            .store
            .register_model_version(&m.tx, &m.scope, principal.subject(), &version)
            .await?;
        if let Some(key) = &key {
            // A concurrent retry that claimed the key first makes this claim fail with
            // CONFLICT, and the whole registration rolls back; the client's next retry gets the
            // first result.
            self.store
                .claim_idempotency_key(&m.tx, &m.scope, key, created.id.as_uuid())
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => ServiceError::Conflict(format!(
                        "a concurrent request with idempotency key `{}` is being registered; retry",
                        key.key
                    )),
                    e => e.into(),
                })?;
        }
        Ok((created, None))
    }

    /// The version by id, deleted or not.
    pub(crate) async fn version_by_uuid(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> ServiceResult<ModelVersion> {
        self.store
            .model_version(scope, ModelVersionId::from_uuid(id))
            .await?
            .ok_or(ServiceError::NotFound("model version"))
    }

    pub async fn register_dataset(
        &self,
        principal: &Principal,
        input: NewDataset,
    ) -> ServiceResult<Dataset> {
        let target = ("dataset", input.name.clone());
        self.mutate(
            principal,
            Operation::RegisterDataset,
            target,
            async |m: Writes| {
                input.validate()?;
                let d = self
                    .store
                    .create_dataset(&m.tx, &m.scope, principal.subject(), &input)
                    .await?;
                let record = Record::new("dataset", d.id, json!({"after": payload::dataset(&d)}));
                Ok((d, record))
            },
        )
        .await
    }

    pub async fn register_dataset_version(
        &self,
        principal: &Principal,
        input: NewDatasetVersion,
    ) -> ServiceResult<DatasetVersion> {
        let target = ("dataset", input.dataset_id.to_string());
        let op = Operation::RegisterDatasetVersion;
        self.mutate(principal, op, target, async |m: Writes| {
            input.validate()?;
            let v = self
                .store
                .register_dataset_version(&m.tx, &m.scope, principal.subject(), &input)
                .await?;
            let p = json!({"after": payload::dataset_version(&v)});
            let record = Record::new("dataset_version", v.id, p);
            Ok((v, record))
        })
        .await
    }

    pub async fn record_training_run(
        &self,
        principal: &Principal,
        input: NewTrainingRun,
    ) -> ServiceResult<TrainingRun> {
        let target = ("training_run", input.code_commit.chars().take(64).collect());
        self.mutate(
            principal,
            Operation::RecordTrainingRun,
            target,
            async |m: Writes| {
                input.validate_at("input")?;
                let run = self
                    .store
                    .record_training_run(&m.tx, &m.scope, principal.subject(), &input)
                    .await?;
                let record =
                    Record::new("training_run", run.id, json!({"after": payload::run(&run)}));
                Ok((run, record))
            },
        )
        .await
    }

    pub async fn models(
        &self,
        principal: &Principal,
        filter: ModelFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<Model>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        check_page(&page)?;
        if let Some(p) = &filter.name_prefix {
            validate::text("namePrefix", p, validate::MAX_NAME_LEN)?;
        }
        Ok(self.store.list_models(&scope, &filter, &page).await?)
    }

    pub async fn model(&self, principal: &Principal, id: ModelId) -> ServiceResult<Model> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .model(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("model"))
    }

    pub async fn model_by_name(&self, principal: &Principal, name: &str) -> ServiceResult<Model> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .model_by_name(&scope, name)
            .await?
            .ok_or(ServiceError::NotFound("model"))
    }

    pub async fn model_versions(
        &self,
        principal: &Principal,
        model: ModelId,
        page: PageRequest,
    ) -> ServiceResult<Page<ModelVersion>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        check_page(&page)?;
        Ok(self.store.model_versions(&scope, model, &page).await?)
    }

    /// A window of `model`'s versions by number and how many it has (the MLflow search's one
    /// query for `name = '…'`).
    pub async fn model_versions_window(
        &self,
        principal: &Principal,
        model: ModelId,
        (offset, limit): (u64, u64),
        ascending: bool,
    ) -> ServiceResult<(Vec<ModelVersion>, u64)> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self
            .store
            .model_versions_window(&scope, model, (offset, limit.min(200_000)), ascending)
            .await?)
    }

    /// Version `number` of `model`.
    pub async fn model_version_by_number(
        &self,
        principal: &Principal,
        model: ModelId,
        number: i64,
    ) -> ServiceResult<ModelVersion> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .model_version_by_number(&scope, model, number)
            .await?
            .ok_or(ServiceError::NotFound("model version"))
    }

    pub async fn model_version(
        &self,
        principal: &Principal,
        id: ModelVersionId,
    ) -> ServiceResult<ModelVersion> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.version_by_uuid(&scope, id.as_uuid()).await
    }

    pub async fn datasets(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> ServiceResult<Page<Dataset>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        check_page(&page)?;
        Ok(self.store.list_datasets(&scope, &page).await?)
    }

    pub async fn dataset(&self, principal: &Principal, id: DatasetId) -> ServiceResult<Dataset> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .dataset(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("dataset"))
    }

    pub async fn dataset_versions(
        &self,
        principal: &Principal,
        dataset: DatasetId,
        page: PageRequest,
    ) -> ServiceResult<Page<DatasetVersion>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        check_page(&page)?;
        Ok(self.store.dataset_versions(&scope, dataset, &page).await?)
    }

    pub async fn dataset_version(
        &self,
        principal: &Principal,
        id: DatasetVersionId,
    ) -> ServiceResult<DatasetVersion> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .dataset_version(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("dataset version"))
    }

    pub async fn training_run(
        &self,
        principal: &Principal,
        id: TrainingRunId,
    ) -> ServiceResult<TrainingRun> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .training_run(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("training run"))
    }

    pub async fn lineage(
        &self,
        principal: &Principal,
        node: Uuid,
        direction: LineageDirection,
        depth: u32,
    ) -> ServiceResult<LineageGraph> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        if depth == 0 || depth > MAX_LINEAGE_DEPTH {
            return Err(ServiceError::Invalid(format!(
                "depth: must be between 1 and {MAX_LINEAGE_DEPTH}"
            )));
        }
        self.store
            .lineage(&scope, node, direction, depth)
            .await?
            .ok_or(ServiceError::NotFound("lineage node"))
    }
}

/// A stable hash of a version registration's content, to tell a retry from a different request
/// that reuses an idempotency key. Built field by field (not from `Debug`) so it stays stable
/// across releases.
fn fingerprint(v: &NewModelVersion) -> String {
    let run = match &v.training_run {
        None => serde_json::Value::Null,
        Some(TrainingRunRef::Existing(id)) => serde_json::json!({"existing": id.to_string()}),
        Some(TrainingRunRef::New(r)) => serde_json::json!({
            "codeCommit": r.code_commit,
            "parameters": r.parameters,
            "inputs": r.input_dataset_versions.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "parent": r.parent_model_version.map(|p| p.to_string()),
            "orchestrator": r.orchestrator,
            "orchestratorRunId": r.orchestrator_run_id,
            "status": r.status.as_str(),
            "startedAt": r.started_at.map(|t| t.to_rfc3339()),
            "endedAt": r.ended_at.map(|t| t.to_rfc3339()),
            "retrainingAction": r.retraining_action.map(|a| a.to_string()),
        }),
    };
    let doc = serde_json::json!({
        "model": v.model_id.to_string(),
        "artifactUri": v.artifact_uri,
        "artifactDigest": v.artifact_digest.as_hex(),
        "framework": v.framework,
        "inputSchema": v.input_schema.iter().map(|f| [f.name.as_str(), f.kind.as_str()]).collect::<Vec<_>>(),
        "metrics": v.metrics,
        "tags": v.tags,
        "trainingRun": run,
    });
    // serde_json's map is ordered (BTreeMap) without the preserve_order feature, so the bytes
    // are canonical for equal content.
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

fn tags_json(tags: &[(String, String)]) -> serde_json::Value {
    tags.iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
