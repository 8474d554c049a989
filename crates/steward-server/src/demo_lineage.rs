//! The demo's OpenLineage story (docs/ecosystem.md), told through the same service call as
//! `POST /api/v1/lineage`: Airflow's `build_fraud_features` (bound to no model) reads the
//! transactions and writes a feature table — an external job in lineage; Olivia (model owner)
//! binds `train_churn.fit` to the churn model; its run starts, registers a churn version (3
//! after the deployments' version 2) and
//! completes naming it in the `steward_modelVersion` facet, so that version's lineage reaches the
//! warehouse tables through a training run no one recorded by hand. Version 1 of the churn
//! model is archived and the new version staged (MLflow's stages).

use anyhow::Context;
use serde_json::{Value, json};
use steward_domain::*;
use steward_service::{RegisterModelVersion, Service};

use crate::demo_deploy::person;

fn event(kind: &str, time: &str, run: &str, job: &str, inputs: Value, outputs: Value) -> Value {
    json!({
        "eventType": kind, "eventTime": time, "run": {"runId": run},
        "job": {"namespace": "airflow-prod", "name": job,
                "facets": {"sourceCodeLocation": {"type": "git", "url": "https://git.acme.example/ml/pipelines", "version": "c0ffee42"}}},
        "inputs": inputs, "outputs": outputs,
        "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.7.0",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    })
}

fn table(name: &str, fields: &[(&str, &str)], rows: i64, io: &str) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(n, t)| json!({"name": n, "type": t}))
        .collect();
    let stats = if io == "inputFacets" {
        json!({"inputStatistics": {"rowCount": rows}})
    } else {
        json!({"outputStatistics": {"rowCount": rows}})
    };
    let mut d = json!({"namespace": "postgres://warehouse.acme.internal:5432", "name": name,
        "facets": {"schema": {"fields": fields}, "version": {"datasetVersion": "2026-11-30"}}});
    d[io] = stats;
    d
}

/// Plays the story once (not when `train_churn.fit` is known already); the churn version the
/// training run registered.
pub async fn play(svc: &Service) -> anyhow::Result<Option<ModelVersionId>> {
    let olivia = person(svc, "olivia", &[Role::ModelOwner]).await?;
    let airflow = person(svc, "airflow", &[Role::Service]).await?;
    let churn = svc.model_by_name(&olivia, "churn-predictor").await?;
    if svc
        .lineage_jobs(&olivia)
        .await?
        .iter()
        .any(|j| j.name == "train_churn.fit")
    {
        return Ok(None);
    }
    let transactions = || {
        table(
            "public.transactions",
            &[
                ("amount", "DOUBLE"),
                ("country", "VARCHAR(2)"),
                ("merchant_id", "BIGINT"),
            ],
            5_104_877,
            "inputFacets",
        )
    };
    let features = table(
        "features.fraud_7d",
        &[("amount_7d", "DOUBLE"), ("txn_count_7d", "INTEGER")],
        826_550,
        "outputFacets",
    );
    let run = "3b9a4c1e-7d2f-4e8a-9c61-0f5d2a8b7e10";
    for (kind, time, outputs) in [
        ("START", "2026-11-30T02:00:00Z", json!([])),
        ("COMPLETE", "2026-11-30T02:18:00Z", json!([features])),
    ] {
        let e = event(
            kind,
            time,
            run,
            "build_fraud_features",
            json!([transactions()]),
            outputs,
        );
        svc.ingest_lineage_event(&airflow, e).await?;
    }

    svc.bind_lineage_job(
        &olivia,
        ("airflow-prod".into(), "train_churn.fit".into()),
        Some(churn.id),
    )
    .await?;
    let customers = || {
        table(
            "public.customers",
            &[
                ("tenure_months", "INTEGER"),
                ("plan", "VARCHAR"),
                ("monthly_spend", "DECIMAL(10,2)"),
            ],
            826_550,
            "inputFacets",
        )
    };
    let run = "8e2f6d0a-1c4b-4f3e-b7a9-5d6c2e1f0a93";
    let start = event(
        "START",
        "2026-11-30T03:00:00Z",
        run,
        "train_churn.fit",
        json!([customers()]),
        json!([]),
    );
    svc.ingest_lineage_event(&airflow, start).await?;
    let v3 = svc
        .register_model_version(
            &airflow,
            RegisterModelVersion {
                version: NewModelVersion {
                    model_id: churn.id,
                    artifact_uri: "s3://acme-models/churn/weekly-2026-11-30/model.pkl".into(),
                    artifact_digest: crate::demo::digest("churn-v3"),
                    framework: "sklearn".into(),
                    input_schema: Vec::new(),
                    metrics: [("auc".to_string(), 0.842)].into_iter().collect(),
                    tags: Vec::new(),
                    training_run: None,
                    notes: VersionNotes {
                        description: "weekly retrain on November's customers".into(),
                        run_id: Some(run.into()),
                        run_link: Some(format!(
                            "https://airflow.acme.example/dags/train_churn/runs/{run}"
                        )),
                    },
                },
                idempotency_key: None,
            },
        )
        .await
        .context("registering the churn version")?;
    let model_output = json!([{"namespace": "s3://acme-models", "name": "churn/weekly-2026-11-30",
        "outputFacets": {"steward_modelVersion": {"_producer": "https://github.com/acme/pipelines",
            "_schemaURL": "https://steward.dev/spec/facets/1-0-0/StewardModelVersionFacet.json",
            "model": "churn-predictor", "version": v3.version.to_string()}}}]);
    let done = event(
        "COMPLETE",
        "2026-11-30T03:41:00Z",
        run,
        "train_churn.fit",
        json!([customers()]),
        model_output,
    );
    svc.ingest_lineage_event(&airflow, done).await?;

    let v1 = svc.model_version_by_number(&olivia, churn.id, 1).await?;
    svc.transition_stage(&olivia, v1.id, Stage::Archived, false)
        .await?;
    svc.transition_stage(&olivia, v3.id, Stage::Staging, false)
        .await?;
    Ok(Some(v3.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    #[tokio::test]
    async fn the_churn_version_reaches_the_warehouse_through_its_training_run() {
        let db = steward_store::testing::TestDb::new().await;
        let svc = demo::tests::service(&db);
        demo::seed(&svc).await.unwrap();
        let v = play(&svc).await.unwrap().expect("played");
        assert_eq!(play(&svc).await.unwrap(), None, "once");
        let olivia = person(&svc, "olivia", &[Role::ModelOwner]).await.unwrap();
        let g = svc
            .lineage(&olivia, v.as_uuid(), LineageDirection::Upstream, 4)
            .await
            .unwrap();
        let labels: Vec<(NodeKind, &str)> =
            g.nodes.iter().map(|n| (n.kind, n.label.as_str())).collect();
        assert!(
            labels.contains(&(NodeKind::Job, "airflow-prod/train_churn.fit")),
            "{labels:?}"
        );
        assert!(
            labels.iter().any(|(k, _)| *k == NodeKind::TrainingRun),
            "{labels:?}"
        );
        assert!(
            labels
                .iter()
                .any(|(k, l)| *k == NodeKind::DatasetVersion && l.contains("public.customers")),
            "{labels:?}"
        );
        let version = svc.model_version(&olivia, v).await.unwrap();
        assert_eq!(version.stage, Stage::Staging);
        assert!(version.training_run_id.is_some());
        let jobs = svc.lineage_jobs(&olivia).await.unwrap();
        let names: Vec<(&str, bool)> = jobs
            .iter()
            .map(|j| (j.name.as_str(), j.model_id.is_some()))
            .collect();
        assert_eq!(
            names,
            [("build_fraud_features", false), ("train_churn.fit", true)]
        );
    }
}
