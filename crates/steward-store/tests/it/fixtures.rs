//! Shared fixtures: a tenant with a scope, and small valid inputs.

use std::collections::BTreeMap;

use steward_domain::*;
use steward_store::Store;
use steward_store::testing::TestDb;

pub async fn db() -> TestDb {
    TestDb::new().await
}

pub async fn tenant(store: &Store, slug: &str) -> TenantScope {
    let tx = store.begin_write().await.unwrap();
    let t = store
        .create_tenant(
            &tx,
            &NewTenant {
                slug: slug.into(),
                name: slug.into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Principal::authenticated("tester".into(), t.slug, Some(t.id), vec![Role::ModelOwner])
        .scope()
        .unwrap()
}

pub fn digest(n: u8) -> Sha256Digest {
    Sha256Digest::parse("d", &format!("{n:02x}").repeat(32)).unwrap()
}

pub fn new_model(name: &str) -> NewModel {
    NewModel {
        name: name.into(),
        description: "test model".into(),
        owner_team: "risk".into(),
        risk_tier: RiskTier::High,
        tags: vec!["fraud".into(), "eu".into()],
    }
}

pub async fn model(store: &Store, scope: &TenantScope, name: &str) -> Model {
    let tx = store.begin_write().await.unwrap();
    let m = store
        .create_model(&tx, scope, "tester", &new_model(name))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    m
}

pub fn new_version(model: ModelId, run: Option<TrainingRunRef>) -> NewModelVersion {
    NewModelVersion {
        model_id: model,
        artifact_uri: "s3://models/fraud/1".into(),
        artifact_digest: digest(1),
        framework: "xgboost".into(),
        input_schema: vec![Feature {
            name: "amount".into(),
            kind: FeatureType::Float,
        }],
        metrics: BTreeMap::from([("auc".into(), 0.91)]),
        tags: vec![],
        training_run: run,
        notes: Default::default(),
    }
}

pub async fn version(store: &Store, scope: &TenantScope, model: ModelId) -> ModelVersion {
    let tx = store.begin_write().await.unwrap();
    let v = store
        .register_model_version(&tx, scope, "tester", &new_version(model, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    v
}

pub async fn dataset_version(store: &Store, scope: &TenantScope, name: &str) -> DatasetVersion {
    let tx = store.begin_write().await.unwrap();
    let d = store
        .create_dataset(
            &tx,
            scope,
            "tester",
            &NewDataset {
                name: name.into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let v = store
        .register_dataset_version(&tx, scope, "tester", &new_dataset_version(d.id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    v
}

pub fn new_dataset_version(dataset: DatasetId) -> NewDatasetVersion {
    NewDatasetVersion {
        dataset_id: dataset,
        uri: "s3://data/tx/2026-11".into(),
        content_hash: digest(2),
        row_count: 1000,
        schema: vec![],
        slice: Some("EU".into()),
        time_start: None,
        time_end: None,
    }
}

pub fn new_run(inputs: Vec<DatasetVersionId>, parent: Option<ModelVersionId>) -> NewTrainingRun {
    NewTrainingRun {
        code_commit: "0123456789abcdef".into(),
        parameters: serde_json::Map::from_iter([("eta".to_string(), serde_json::json!(0.1))]),
        input_dataset_versions: inputs,
        parent_model_version: parent,
        orchestrator: Some("airflow".into()),
        orchestrator_run_id: Some("dag-1".into()),
        status: RunStatus::Succeeded,
        started_at: None,
        ended_at: None,
        retraining_action: None,
    }
}
