//! `steward serve --demo`: two tenants with realistic lineage and the example policies bound and
//! evaluated, seeded through the service layer
//! (so the same validation and transactions apply), and a token to explore them.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use steward_domain::*;
use steward_service::{EvaluatePolicy, RegisterModelVersion, Service, ServiceError};

pub(crate) fn digest(seed: &str) -> Sha256Digest {
    use std::fmt::Write;
    // A stable fake digest per artifact name; real ones come from the user's CI.
    let mut hex = String::new();
    let mut x: u64 = seed.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    for _ in 0..4 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let _ = write!(hex, "{x:016x}");
    }
    // A 64-character hex string always parses.
    Sha256Digest::parse("digest", &hex).unwrap_or_else(|_| unreachable!())
}

fn schema(names: &[(&str, FeatureType)]) -> Vec<Feature> {
    names
        .iter()
        .map(|(n, k)| Feature {
            name: (*n).into(),
            kind: *k,
        })
        .collect()
}

fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

pub(crate) fn run(
    commit: &str,
    inputs: Vec<DatasetVersionId>,
    parent: Option<ModelVersionId>,
    dag: &str,
) -> NewTrainingRun {
    NewTrainingRun {
        code_commit: commit.into(),
        parameters: serde_json::json!({"max_depth": 6, "eta": 0.1, "n_estimators": 400})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        input_dataset_versions: inputs,
        parent_model_version: parent,
        orchestrator: Some("airflow".into()),
        orchestrator_run_id: Some(dag.into()),
        status: RunStatus::Succeeded,
        started_at: None,
        ended_at: None,
        retraining_action: None,
    }
}

async fn dataset(
    svc: &Service,
    p: &Principal,
    name: &str,
    versions: &[(&str, i64, Option<&str>)],
) -> Result<Vec<DatasetVersion>, ServiceError> {
    let d = svc
        .register_dataset(
            p,
            NewDataset {
                name: name.into(),
                description: format!("{name} extract"),
            },
        )
        .await?;
    let mut out = Vec::new();
    for (i, (uri, rows, slice)) in versions.iter().enumerate() {
        let month = u32::try_from(i).unwrap_or(0) + 8;
        out.push(
            svc.register_dataset_version(
                p,
                NewDatasetVersion {
                    dataset_id: d.id,
                    uri: (*uri).into(),
                    content_hash: digest(uri),
                    row_count: *rows,
                    schema: schema(&[
                        ("amount", FeatureType::Float),
                        ("country", FeatureType::Categorical),
                        ("merchant_age_days", FeatureType::Integer),
                    ]),
                    slice: slice.map(Into::into),
                    time_start: Utc.with_ymd_and_hms(2026, month, 1, 0, 0, 0).single(),
                    time_end: Utc.with_ymd_and_hms(2026, month + 1, 1, 0, 0, 0).single(),
                },
            )
            .await?,
        );
    }
    Ok(out)
}

pub(crate) async fn version(
    svc: &Service,
    p: &Principal,
    model: ModelId,
    uri: &str,
    m: &[(&str, f64)],
    run: NewTrainingRun,
) -> Result<ModelVersion, ServiceError> {
    svc.register_model_version(
        p,
        RegisterModelVersion {
            version: NewModelVersion {
                model_id: model,
                artifact_uri: uri.into(),
                artifact_digest: digest(uri),
                framework: "xgboost".into(),
                input_schema: schema(&[
                    ("amount", FeatureType::Float),
                    ("country", FeatureType::Categorical),
                    ("merchant_age_days", FeatureType::Integer),
                ]),
                metrics: metrics(m),
                tags: vec![],
                training_run: Some(TrainingRunRef::New(run)),
                notes: Default::default(),
            },
            idempotency_key: None,
        },
    )
    .await
}

/// The demo's tenant `acme`.
pub async fn acme(svc: &Service) -> anyhow::Result<Tenant> {
    svc.tenant_by_slug("acme")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo tenant `acme` does not exist"))
}

/// The fraud model of tenant `acme` and its version 3 (the one in production, monitored).
pub async fn fraud_v3(svc: &Service, acme: &Tenant) -> anyhow::Result<(ModelId, ModelVersionId)> {
    let reader = Principal::system(SystemActor::DemoSeeder, &acme.slug, Some(acme.id));
    let model = svc.model_by_name(&reader, "fraud-detector").await?;
    let page = PageRequest {
        first: 10,
        after: None,
    };
    let versions = svc.model_versions(&reader, model.id, page).await?;
    let v3 = versions
        .items
        .into_iter()
        .find(|v| v.version == 3)
        .ok_or_else(|| anyhow::anyhow!("the demo's fraud model has no version 3"))?;
    Ok((model.id, v3.id))
}

/// Seeds the demo data unless tenant `acme` already exists, and returns a 12-hour token for it.
pub async fn seed(svc: &Service) -> anyhow::Result<String> {
    // The demo is written by Steward's own demo seeder, audited as `system:demo_seeder`.
    let admin = Principal::system(SystemActor::DemoSeeder, "acme", None);
    let token = svc.authenticator().mint_dev_token(
        "demo-user",
        "acme",
        &[
            Role::ModelOwner,
            Role::GovernanceOfficer,
            Role::PolicyAuthor,
            Role::Sre,
        ],
        Duration::from_secs(12 * 3600),
    )?;
    if svc.tenant_exists("acme").await? {
        tracing::info!("demo data already present");
        return Ok(token);
    }
    let acme = svc
        .create_tenant(
            &admin,
            NewTenant {
                slug: "acme".into(),
                name: "Acme Payments".into(),
            },
        )
        .await?;
    let globex = svc
        .create_tenant(
            &admin,
            NewTenant {
                slug: "globex".into(),
                name: "Globex Lending".into(),
            },
        )
        .await?;
    let owner = Principal::system(SystemActor::DemoSeeder, &acme.slug, Some(acme.id));

    let tx = dataset(
        svc,
        &owner,
        "transactions",
        &[
            ("s3://acme-data/transactions/2026-08/", 4_812_331, None),
            ("s3://acme-data/transactions/2026-09/", 5_104_877, None),
            (
                "s3://acme-data/transactions/2026-10/eu/",
                1_930_442,
                Some("EU customers (country in EU27)"),
            ),
        ],
    )
    .await?;
    let customers = dataset(
        svc,
        &owner,
        "customers",
        &[
            ("s3://acme-data/customers/2026-08/", 812_004, None),
            ("s3://acme-data/customers/2026-09/", 826_550, None),
        ],
    )
    .await?;

    let fraud = svc
        .register_model(
            &owner,
            NewModel {
                name: "fraud-detector".into(),
                description: "Scores card transactions for fraud in real time.".into(),
                owner_team: "payments-risk".into(),
                risk_tier: RiskTier::High,
                tags: vec!["fraud".into(), "realtime".into(), "eu".into()],
            }
            .validate()?,
        )
        .await?;
    let v1 = version(
        svc,
        &owner,
        fraud.id,
        "s3://acme-models/fraud/v1/model.ubj",
        &[("auc", 0.912), ("precision", 0.81), ("recall", 0.64)],
        run(
            "a1b2c3d4e5f6",
            vec![tx[0].id],
            None,
            "fraud_train__2026-09-02",
        ),
    )
    .await?;
    let v2 = version(
        svc,
        &owner,
        fraud.id,
        "s3://acme-models/fraud/v2/model.ubj",
        &[("auc", 0.927), ("precision", 0.83), ("recall", 0.67)],
        run(
            "b2c3d4e5f6a1",
            vec![tx[1].id, customers[1].id],
            None,
            "fraud_train__2026-10-01",
        ),
    )
    .await?;
    let v3 = version(
        svc,
        &owner,
        fraud.id,
        "s3://acme-models/fraud/v3/model.ubj",
        &[("auc", 0.934), ("precision", 0.85), ("recall", 0.66)],
        run(
            "c3d4e5f6a1b2",
            vec![tx[2].id],
            Some(v2.id),
            "fraud_finetune_eu__2026-11-03",
        ),
    )
    .await?;
    let _ = v1;
    // What the owners wrote for the compliance report (the churn model is left undocumented:
    // its report lists the gap).
    svc.document_model(
        &owner,
        steward_domain::DocumentModel {
            model_id: fraud.id,
            intended_use: "Scores every card transaction of the EU and US card portfolios for \
                fraud before authorisation; scores above 0.9 are held for an analyst's review."
                .into(),
            limitations: "Not for account-level credit or loan decisions. Trained on card-present \
                and e-commerce traffic only; weaker on merchants younger than 30 days and on \
                markets outside the EU and US."
                .into(),
            human_oversight: "Fraud analysts (payments-risk) review every held transaction and \
                can release it; an SRE can roll the model back from its endpoint page."
                .into(),
            note: "first write-up for the model risk review".into(),
            expected_revision: Some(0),
        },
    )
    .await?;

    let churn = svc
        .register_model(
            &owner,
            NewModel {
                name: "churn-predictor".into(),
                description: "Weekly churn propensity for merchant accounts.".into(),
                owner_team: "growth-analytics".into(),
                risk_tier: RiskTier::Medium,
                tags: vec!["churn".into(), "batch".into()],
            }
            .validate()?,
        )
        .await?;
    version(
        svc,
        &owner,
        churn.id,
        "s3://acme-models/churn/v1/model.pkl",
        &[("auc", 0.861), ("log_loss", 0.412)],
        run(
            "d4e5f6a1b2c3",
            vec![customers[0].id],
            None,
            "churn_weekly__2026-09-07",
        ),
    )
    .await?;

    let lender = Principal::system(SystemActor::DemoSeeder, &globex.slug, Some(globex.id));
    let loans = dataset(
        svc,
        &lender,
        "loan-applications",
        &[("gs://globex/loans/2026-09/", 220_113, None)],
    )
    .await?;
    let credit = svc
        .register_model(
            &lender,
            NewModel {
                name: "credit-scoring".into(),
                description: "Probability of default for consumer loans.".into(),
                owner_team: "credit-risk".into(),
                risk_tier: RiskTier::High,
                tags: vec!["credit".into()],
            }
            .validate()?,
        )
        .await?;
    version(
        svc,
        &lender,
        credit.id,
        "gs://globex-models/credit/v1/model.onnx",
        &[("auc", 0.781), ("ks", 0.44)],
        run(
            "e5f6a1b2c3d4",
            vec![loans[0].id],
            None,
            "credit_monthly__2026-10-01",
        ),
    )
    .await?;
    seed_policies(svc, (&acme, fraud.id, v3.id), &globex, credit.id).await?;
    tracing::info!("demo data seeded: tenants acme and globex");
    Ok(token)
}

/// Publishes `source` as policy `name` (revision 1, active) and binds it to `target`.
async fn publish(
    svc: &Service,
    author: &Principal,
    name: &str,
    description: &str,
    source: &str,
    target: BindingTarget,
) -> anyhow::Result<()> {
    let policy = svc
        .create_policy(
            author,
            NewPolicy {
                name: name.into(),
                description: description.into(),
            },
        )
        .await?;
    let proposed = svc
        .propose_policy_revision(
            author,
            NewPolicyRevision {
                policy_id: policy.id,
                source: source.into(),
                note: format!("policies/{name}.rhai"),
            },
        )
        .await?;
    svc.publish_policy_revision(author, policy.id, proposed.revision.number)
        .await?;
    svc.bind_policy(
        author,
        NewPolicyBinding {
            policy_id: policy.id,
            target,
        },
    )
    .await?;
    Ok(())
}

/// The example policies of `policies/`, published and bound, and two monitoring windows of the
/// fraud model evaluated: a quiet one, and one where the EU slice lost AUC (incident, alert,
/// retraining on the EU slice).
async fn seed_policies(
    svc: &Service,
    (acme, fraud, fraud_v3): (&Tenant, ModelId, ModelVersionId),
    globex: &Tenant,
    credit: ModelId,
) -> anyhow::Result<()> {
    let author = |t: &Tenant| Principal::system(SystemActor::DemoSeeder, &t.slug, Some(t.id));
    let acme_author = author(acme);
    publish(
        svc,
        &acme_author,
        "tenant-default",
        "Daily drift and data-quality watch; approvals by risk tier.",
        include_str!("../../../policies/tenant-default.rhai"),
        BindingTarget::TenantDefault,
    )
    .await?;
    publish(
        svc,
        &acme_author,
        "fraud-concept-drift",
        "Hourly concept-drift check; retrain on the EU slice.",
        include_str!("../../../policies/fraud-concept-drift.rhai"),
        BindingTarget::Model(fraud),
    )
    .await?;
    publish(
        svc,
        &acme_author,
        "churn-data-drift",
        "Weekly data-drift check with hysteresis and a retraining cooldown.",
        include_str!("../../../policies/churn-data-drift.rhai"),
        BindingTarget::Selector {
            tags: vec!["churn".into()],
            risk_tier: None,
            name_pattern: None,
        },
    )
    .await?;
    publish(
        svc,
        &author(globex),
        "credit-rollback",
        "Roll back on a performance drop.",
        include_str!("../../../policies/credit-rollback.rhai"),
        BindingTarget::Model(credit),
    )
    .await?;

    let monitor = Principal::system(SystemActor::DemoSeeder, &acme.slug, Some(acme.id));
    for (hour, eu_auc) in [(9, 0.931), (10, 0.889)] {
        let context = serde_json::json!({
            "window": {"start": format!("2026-11-25T{:02}:00:00Z", hour - 1), "end": format!("2026-11-25T{hour:02}:00:00Z"), "rows": 118_400},
            "drift": {"composite": 0.11, "features": [{"feature": "amount", "statistic": "psi", "value": 0.04}],
                      "slices": [{"name": "EU", "filter": {"region": "EU"}, "rows": 39_800, "composite": 0.09,
                                  "metrics": {"auc": eu_auc}, "baseline_metrics": {"auc": 0.934}}]},
            "performance": {"metrics": {"auc": 0.925}, "labelled_rows": 8_700},
            "baseline": {"id": "fraud-v3-baseline", "created_at": "2026-11-03T00:00:00Z", "metrics": {"auc": 0.934}}
        });
        svc.evaluate_policy(
            &monitor,
            EvaluatePolicy {
                model_version_id: fraud_v3,
                hook: PolicyHook::OnWindow,
                context,
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use steward_service::{AuthConfig, KeySource};

    /// A service over `db` as the demo tests use it.
    pub(crate) fn service(db: &steward_store::testing::TestDb) -> Service {
        let auth = AuthConfig {
            issuer: "steward".into(),
            audience: "steward".into(),
            leeway: Duration::from_secs(5),
            keys: KeySource::Hs256 {
                secret: vec![7; 32],
            },
        };
        let keys =
            steward_service::audit::AuditKeys::new(steward_audit::SigningKey::generate().unwrap())
                .unwrap();
        Service::new(db.store.clone(), auth, keys)
    }

    #[tokio::test]
    async fn demo_data_seeds_once_with_policies_and_decisions() {
        let db = steward_store::testing::TestDb::new().await;
        let svc = service(&db);
        seed(&svc).await.unwrap();
        seed(&svc).await.unwrap();
        let acme = db.store.tenant_by_slug("acme").await.unwrap().unwrap();
        let viewer = Principal::system(SystemActor::OutboxRelay, "acme", Some(acme.id));
        let page = PageRequest {
            first: 10,
            after: None,
        };
        let policies = svc.policies(&viewer, page.clone()).await.unwrap();
        assert_eq!(policies.items.len(), 3);
        assert!(policies.items.iter().all(|p| p.active_revision == Some(1)));
        let records = svc
            .decision_records(&viewer, DecisionRecordFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(records.items.len(), 2);
        // Newest first: the EU AUC drop opened an incident, alerted and asked for retraining.
        let kinds: Vec<&str> = records.items[0].outcome["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["open_incident", "alert", "retrain"]);
        assert_eq!(records.items[1].outcome["decisions"], serde_json::json!([]));
    }
}
