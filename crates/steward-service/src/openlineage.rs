//! OpenLineage ingestion (docs/ecosystem.md): each event is one audited mutation
//! (`training_run.record`), so a malformed event stores nothing and a stored one is all there.
//!
//! What an event becomes: its job a lineage node (kind JOB); each input or output dataset a
//! Steward dataset (`<namespace>.<name>` made a valid name, with a short hash of the original
//! for uniqueness) and a dataset version (one per version facet, or per distinct schema and
//! statistics), with edges dataset version -> job (INPUT_TO) and job -> dataset version
//! (PRODUCED). A run of a job bound to a model (`bindLineageJob`) becomes a training run when it
//! ends (COMPLETE, FAIL, ABORT) with every input its events named, the job -> run edge (RAN)
//! and the run -> output edges; an output carrying the `steward_modelVersion` facet links that
//! model version to the run (or, for an unbound job, to the job).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_domain::*;
use steward_store::{OlEventRow, OlRun};
use uuid::Uuid;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, scope_for};

/// What one event left behind.
#[derive(Clone, Debug, PartialEq)]
pub struct LineageIngested {
    pub event_id: Uuid,
    pub job_id: Option<Uuid>,
    pub inputs: Vec<DatasetVersionId>,
    pub outputs: Vec<DatasetVersionId>,
    pub training_run: Option<TrainingRunId>,
    pub model_versions: Vec<ModelVersionId>,
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// A Steward dataset name for an OpenLineage dataset: its namespace and name with every
/// character a name may not hold made `_`, cut to fit, and 8 hex characters of a hash of the
/// original, so that two datasets never share one.
fn dataset_name(namespace: &str, name: &str) -> String {
    let raw = format!("{namespace}.{name}");
    let mut clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean = clean
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    clean.truncate(validate::MAX_NAME_LEN - 10);
    let hash = sha256_hex(&[namespace, name]);
    format!("{clean}-{}", &hash[..8])
}

/// A URI for an OpenLineage dataset: the namespace when it is one (`postgres://db:5432`),
/// else under `openlineage://`.
fn dataset_uri(namespace: &str, name: &str) -> String {
    let joined = if namespace.contains("://") {
        format!("{namespace}/{name}")
    } else {
        format!("openlineage://{namespace}/{name}")
    };
    joined.replace(char::is_whitespace, "%20")
}

/// The audit target of an event, read leniently before it is checked.
fn target_of(v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str);
    match (s("/run/runId"), s("/job/namespace"), s("/job/name")) {
        (Some(run), _, _) => run.to_string(),
        (None, Some(ns), Some(name)) => format!("{ns}/{name}"),
        _ => "event".to_string(),
    }
}

impl Service {
    /// Ingests one OpenLineage event (see the module docs).
    pub async fn ingest_lineage_event(
        &self,
        principal: &Principal,
        event: Value,
    ) -> ServiceResult<LineageIngested> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::RecordTrainingRun,
            ("lineage_event", target_of(&event)),
            async |m: Writes| {
                let e = parse_event(&event)?;
                let mut done = LineageIngested {
                    event_id: Uuid::nil(),
                    job_id: None,
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    training_run: None,
                    model_versions: Vec::new(),
                };
                for d in &e.inputs {
                    done.inputs.push(self.ol_version(&m, d, &actor).await?);
                }
                for d in &e.outputs {
                    done.outputs.push(self.ol_version(&m, d, &actor).await?);
                }
                let job = match &e.job {
                    Some((ns, name)) => Some(self.store.ol_job(&m.tx, &m.scope, (ns, name), now).await?),
                    None => None,
                };
                let mut run_id = None;
                if let Some(job) = &job {
                    done.job_id = Some(job.id);
                    let mut edges: Vec<(Uuid, Uuid, EdgeRelation)> = done
                        .inputs
                        .iter()
                        .map(|v| (v.as_uuid(), job.id, EdgeRelation::InputTo))
                        .collect();
                    edges.extend(done.outputs.iter().map(|v| (job.id, v.as_uuid(), EdgeRelation::Produced)));
                    self.store.add_edges(&m.tx, &m.scope, &edges).await?;
                    if let LineageEventKind::Run { run_id: id, event_type } = &e.kind {
                        run_id = Some(*id);
                        done.training_run = self
                            .ol_run(&m, job, (*id, *event_type), &e, &done, &actor)
                            .await?;
                    }
                    done.model_versions = self.ol_link_versions(&m, job, &e, done.training_run).await?;
                }
                let body = event.to_string();
                let (kind, event_type) = match &e.kind {
                    LineageEventKind::Run { event_type, .. } => ("RUN", Some(event_type.as_str())),
                    LineageEventKind::Job => ("JOB", None),
                    LineageEventKind::Dataset => ("DATASET", None),
                };
                let row = OlEventRow {
                    run_id,
                    kind,
                    event_type,
                    event_time: e.event_time,
                    body: &body,
                    received_by: &actor,
                    received_at: now,
                };
                done.event_id = self.store.insert_ol_event(&m.tx, &m.scope, row).await?;
                let ids = |v: &[DatasetVersionId]| v.iter().map(|v| v.to_string()).collect::<Vec<_>>();
                let payload = json!({
                    "kind": kind, "eventType": event_type, "runId": run_id.map(|r| r.to_string()),
                    "job": e.job.as_ref().map(|(ns, n)| format!("{ns}/{n}")),
                    "inputs": ids(&done.inputs), "outputs": ids(&done.outputs),
                    "trainingRunId": done.training_run.map(|r| r.to_string()),
                    "modelVersions": done.model_versions.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                });
                let target = ("lineage_event", done.event_id.to_string());
                Ok((done, Record { target_kind: target.0, target_id: target.1, payload }))
            },
        )
        .await
    }

    /// The Steward dataset version of an OpenLineage dataset version, registered when new.
    async fn ol_version(
        &self,
        m: &Writes,
        d: &LineageDataset,
        actor: &str,
    ) -> ServiceResult<DatasetVersionId> {
        let hash = sha256_hex(&[&d.version_key]);
        let key = (d.namespace.as_str(), d.name.as_str(), hash.as_str());
        let (dataset, version) = self.store.ol_dataset(&m.tx, &m.scope, key).await?;
        if let Some(v) = version {
            return Ok(v);
        }
        let dataset = match dataset {
            Some(id) => id,
            None => {
                let new = NewDataset {
                    name: dataset_name(&d.namespace, &d.name),
                    description: format!("OpenLineage dataset {}/{}", d.namespace, d.name),
                };
                new.validate()?;
                self.store
                    .create_dataset(&m.tx, &m.scope, actor, &new)
                    .await?
                    .id
            }
        };
        let content = sha256_hex(&[&d.namespace, &d.name, &d.version_key]);
        let new = NewDatasetVersion {
            dataset_id: dataset,
            uri: dataset_uri(&d.namespace, &d.name),
            content_hash: Sha256Digest::parse("contentHash", &content)?,
            row_count: d.row_count.unwrap_or(0),
            schema: d.schema.clone(),
            slice: None,
            time_start: None,
            time_end: None,
        };
        new.validate()?;
        let v = self
            .store
            .register_dataset_version(&m.tx, &m.scope, actor, &new)
            .await?;
        self.store
            .put_ol_dataset(&m.tx, &m.scope, key, (dataset, v.id))
            .await?;
        Ok(v.id)
    }

    /// Brings the run up to date with this event; when its job is bound to a model and the run
    /// has ended, records its training run (once).
    async fn ol_run(
        &self,
        m: &Writes,
        job: &LineageJob,
        (id, event_type): (Uuid, RunEventType),
        e: &LineageEvent,
        done: &LineageIngested,
        actor: &str,
    ) -> ServiceResult<Option<TrainingRunId>> {
        let mut run = match self.store.ol_run(&m.tx, &m.scope, id).await? {
            Some(r) if r.job_id != job.id => {
                return Err(ServiceError::Invalid(format!(
                    "run.runId: run {id} belongs to another job; a run id names one run of one job"
                )));
            }
            Some(r) => r,
            None => OlRun {
                run_id: id,
                job_id: job.id,
                state: String::new(),
                started_at: None,
                ended_at: None,
                inputs: Vec::new(),
                outputs: Vec::new(),
                training_run_id: None,
            },
        };
        for v in &done.inputs {
            if !run.inputs.contains(&v.as_uuid()) {
                run.inputs.push(v.as_uuid());
            }
        }
        for v in &done.outputs {
            if !run.outputs.contains(&v.as_uuid()) {
                run.outputs.push(v.as_uuid());
            }
        }
        // The first end is the run's outcome; later events add datasets only.
        if run.ended_at.is_none() {
            run.state = event_type.as_str().to_string();
            if event_type.ends_run() {
                run.ended_at = Some(e.event_time);
            }
        }
        if event_type == RunEventType::Start && run.started_at.is_none() {
            run.started_at = Some(e.event_time);
        }
        if let (Some(_), true, None) = (job.model_id, event_type.ends_run(), run.training_run_id) {
            let status = match event_type {
                RunEventType::Complete => RunStatus::Succeeded,
                RunEventType::Fail => RunStatus::Failed,
                _ => RunStatus::Cancelled,
            };
            let mut parameters = serde_json::Map::new();
            parameters.insert(
                "openlineage".into(),
                json!({"job": format!("{}/{}", job.namespace, job.name), "runId": id.to_string(), "producer": e.producer}),
            );
            let new = NewTrainingRun {
                code_commit: e
                    .code_version
                    .clone()
                    .unwrap_or_else(|| "unrecorded".into()),
                parameters,
                input_dataset_versions: run
                    .inputs
                    .iter()
                    .copied()
                    .map(DatasetVersionId::from_uuid)
                    .collect(),
                parent_model_version: None,
                orchestrator: Some("openlineage".into()),
                orchestrator_run_id: Some(id.to_string()),
                status,
                started_at: run.started_at,
                ended_at: run.ended_at,
                retraining_action: None,
            };
            new.validate_at("run")?;
            let tr = self
                .store
                .record_training_run(&m.tx, &m.scope, actor, &new)
                .await?;
            run.training_run_id = Some(tr.id.as_uuid());
            let mut edges = vec![(job.id, tr.id.as_uuid(), EdgeRelation::Ran)];
            edges.extend(
                run.outputs
                    .iter()
                    .map(|v| (tr.id.as_uuid(), *v, EdgeRelation::Produced)),
            );
            self.store.add_edges(&m.tx, &m.scope, &edges).await?;
        }
        self.store
            .put_ol_run(&m.tx, &m.scope, &run, self.now())
            .await?;
        Ok(run.training_run_id.map(TrainingRunId::from_uuid))
    }

    /// Links the model versions the outputs' `steward_modelVersion` facets name: to the run's
    /// training run when there is one, else to the job.
    async fn ol_link_versions(
        &self,
        m: &Writes,
        job: &LineageJob,
        e: &LineageEvent,
        run: Option<TrainingRunId>,
    ) -> ServiceResult<Vec<ModelVersionId>> {
        let mut linked = Vec::new();
        for (i, d) in e.outputs.iter().enumerate() {
            let Some((name, n)) = &d.model_version else {
                continue;
            };
            let at = format!("outputs[{i}].{STEWARD_FACET}");
            let model = self
                .store
                .model_by_name(&m.scope, name)
                .await?
                .ok_or_else(|| {
                    ServiceError::Invalid(format!("{at}.model: no model `{name}` in this tenant"))
                })?;
            let v = self
                .store
                .model_version_by_number(&m.scope, model.id, *n)
                .await?
                .ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "{at}.version: model `{name}` has no version {n}"
                    ))
                })?;
            let from = match run {
                Some(r) => {
                    let fresh = self
                        .store
                        .link_version_run(&m.tx, &m.scope, v.id, r)
                        .await?;
                    if !fresh && v.training_run_id != Some(r) {
                        return Err(ServiceError::Conflict(format!(
                            "{at}: model `{name}` version {n} already records another training run"
                        )));
                    }
                    r.as_uuid()
                }
                None => job.id,
            };
            self.store
                .add_edges(
                    &m.tx,
                    &m.scope,
                    &[(from, v.id.as_uuid(), EdgeRelation::Produced)],
                )
                .await?;
            linked.push(v.id);
        }
        Ok(linked)
    }

    /// Binds an OpenLineage job to a model (its ended runs become the model's training runs),
    /// or unbinds it (`model` none). `model.update`: the model's owners say which job trains it.
    pub async fn bind_lineage_job(
        &self,
        principal: &Principal,
        (namespace, name): (String, String),
        model: Option<ModelId>,
    ) -> ServiceResult<LineageJob> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::UpdateModel,
            ("lineage_job", format!("{namespace}/{name}")),
            async |m: Writes| {
                validate::required_text("input.namespace", &namespace, validate::MAX_URI_LEN)?;
                validate::required_text("input.name", &name, validate::MAX_URI_LEN)?;
                if let Some(id) = model
                    && self.store.model(&m.scope, id).await?.is_none()
                {
                    return Err(ServiceError::NotFound("model"));
                }
                let j = self
                    .store
                    .bind_ol_job(&m.tx, &m.scope, (&namespace, &name), model, (&actor, now))
                    .await?;
                let p = json!({"namespace": namespace, "name": name,
                    "modelId": model.map(|m| m.to_string())});
                Ok((
                    j.clone(),
                    Record {
                        target_kind: "lineage_job",
                        target_id: j.id.to_string(),
                        payload: p,
                    },
                ))
            },
        )
        .await
    }

    /// The tenant's OpenLineage jobs and their bindings.
    pub async fn lineage_jobs(&self, principal: &Principal) -> ServiceResult<Vec<LineageJob>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.ol_jobs(&scope).await?)
    }
}

impl Service {
    /// The Steward dataset an OpenLineage dataset became, if events named it.
    pub async fn lineage_dataset(
        &self,
        principal: &Principal,
        (namespace, name): (&str, &str),
    ) -> ServiceResult<Option<Uuid>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.ol_dataset_id(&scope, (namespace, name)).await?)
    }

    /// The OpenLineage namespace and name of Steward datasets that came from events.
    pub async fn lineage_dataset_names(
        &self,
        principal: &Principal,
        datasets: &[Uuid],
    ) -> ServiceResult<std::collections::HashMap<Uuid, (String, String)>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.ol_dataset_names(&scope, datasets).await?)
    }
}
