//! The demo's delivery targets: loopback receivers that stand in for Slack, PagerDuty and a
//! signed webhook (the real services cannot be reached from a demo machine), each enforcing its
//! peer's documented contract (crate `steward-loopback`), and the `acme` tenant's targets
//! pointing at them, so the demo's alerts are delivered, their attempts recorded, and what each
//! receiver got is one `curl` away (`GET /` on the receiver lists it).
//!
//! The policies' channels: `ml-monitoring` (Slack), `fraud-oncall` (PagerDuty),
//! `credit-oncall` (webhook); the orchestrator the fraud policy retrains in, `prefect`, a
//! stand-in for a Prefect 3 server with the deployment `fraud-retrain/eu-slice`; and the serving
//! target of the fraud endpoint, `kserve-prod`, a stand-in for a KServe InferenceService. The targets are
//! put again on every start, as the receivers' ports change.

use anyhow::Context;
use base64::Engine;
use rand::RngCore;
use steward_domain::*;
use steward_loopback::{Contract, Receiver};
use steward_service::Service;

/// The running receivers; they stop when dropped.
#[derive(Debug)]
pub struct Receivers {
    pub slack: Receiver,
    pub pagerduty: Receiver,
    pub webhook: Receiver,
    pub prefect: Receiver,
    /// A KServe InferenceService serving the fraud model (`kserve-prod`), at version 2.
    pub kserve: Receiver,
}

/// The demo Prefect deployment the fraud policy's retraining starts runs of.
const DEMO_DEPLOYMENT: &str = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

/// A PagerDuty integration key's shape: 32 letters and digits.
const DEMO_ROUTING_KEY: &str = "DEMOROUTINGKEY0123456789abcdefgh";

/// Starts the receivers and points `acme`'s targets at them.
pub async fn start(svc: &Service) -> anyhow::Result<Receivers> {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let receivers = Receivers {
        slack: Receiver::start(Contract::Slack).await?,
        pagerduty: Receiver::start(Contract::PagerDuty {
            routing_key: DEMO_ROUTING_KEY.into(),
        })
        .await?,
        webhook: Receiver::start(Contract::Webhook {
            secrets: vec![secret.clone()],
        })
        .await?,
        prefect: Receiver::start(Contract::Prefect {
            deployments: vec![(
                DEMO_DEPLOYMENT.into(),
                "fraud-retrain".into(),
                "eu-slice".into(),
            )],
        })
        .await?,
        kserve: Receiver::start(Contract::Kserve {
            namespace: "fraud".into(),
            name: "fraud-detector".into(),
            storage_uri: "s3://acme-models/fraud/v2/model.ubj".into(),
            token: None,
        })
        .await?,
    };
    let acme = crate::demo::acme(svc).await?;
    let seeder = Principal::system(SystemActor::DemoSeeder, &acme.slug, Some(acme.id));
    let targets = [
        (
            "ml-monitoring",
            TargetKind::Slack,
            &receivers.slack,
            None,
            "loopback Slack incoming webhook (demo)",
        ),
        (
            "fraud-oncall",
            TargetKind::PagerDuty,
            &receivers.pagerduty,
            Some(DEMO_ROUTING_KEY.to_string()),
            "loopback PagerDuty Events API v2 (demo)",
        ),
        (
            "credit-oncall",
            TargetKind::Webhook,
            &receivers.webhook,
            Some(secret),
            "loopback Standard Webhooks receiver (demo)",
        ),
        (
            "prefect",
            TargetKind::Prefect,
            &receivers.prefect,
            None,
            "loopback Prefect 3 API (demo)",
        ),
        (
            "kserve-prod",
            TargetKind::Kserve,
            &receivers.kserve,
            None,
            "loopback KServe InferenceService (demo)",
        ),
    ];
    for (name, kind, receiver, secret, description) in targets {
        let new = NewTarget {
            name: name.into(),
            kind,
            url: receiver.url(),
            secret,
            description: description.into(),
        };
        svc.put_delivery_target(&seeder, new, false)
            .await
            .with_context(|| format!("putting the demo target {name}"))?;
    }
    Ok(receivers)
}

/// Plays the orchestrator's part once the fraud model's retraining reached the Prefect
/// stand-in, as a real flow would: reports the run running, registers the candidate (version 4,
/// trained on the latest versions of the data Steward named in the run's parameters) with a
/// training run naming the retraining, and reports it succeeded with its cost. Lineage and the
/// incident's timeline then show the loop closed. `None` when no retraining was delivered.
pub async fn close_loop(
    svc: &Service,
    receivers: &Receivers,
) -> anyhow::Result<Option<ModelVersionId>> {
    let acme = crate::demo::acme(svc).await?;
    let seeder = Principal::system(SystemActor::DemoSeeder, &acme.slug, Some(acme.id));
    let (model, _) = crate::demo::fraud_v3(svc, &acme).await?;
    let actions = svc
        .pending_actions(&seeder, Some(model), Some(ActionStatus::Delivered), None)
        .await?;
    let Some(retrain) = actions.iter().find(|a| a.kind == "retrain") else {
        return Ok(None);
    };
    let runs = receivers.prefect.runs();
    let Some(run) = runs.first() else {
        return Ok(None);
    };
    let report = |status, candidate, cost: Option<f64>, message: &str| NewRetrainingReport {
        status,
        message: message.into(),
        external_url: Some(format!("{}/flow-runs/{}", receivers.prefect.url(), run.id)),
        candidate,
        cost,
        cost_currency: cost.map(|_| "GPU-h".to_string()),
    };
    svc.report_retraining(
        &seeder,
        retrain.id,
        report(
            RetrainingStatus::Running,
            None,
            None,
            "training on the EU slice",
        ),
    )
    .await?;
    let inputs: Vec<DatasetVersionId> = run.parameters["steward"]["trainingData"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["latestVersion"]["id"].as_str())
        .filter_map(|id| id.parse().ok().map(DatasetVersionId::from_uuid))
        .collect();
    let mut training = crate::demo::run("e2f4a61", inputs, None, &run.id);
    training.orchestrator = Some("prefect".into());
    training.retraining_action = Some(retrain.id);
    let candidate = crate::demo::version(
        svc,
        &seeder,
        model,
        "s3://models/fraud/v4/model.ubj",
        &[("auc", 0.951), ("precision_at_1pct", 0.83)],
        training,
    )
    .await
    .context("registering the retrained candidate")?;
    svc.report_retraining(
        &seeder,
        retrain.id,
        report(
            RetrainingStatus::Succeeded,
            Some(candidate.id),
            Some(3.2),
            "AUC 0.951 on the EU holdout",
        ),
    )
    .await?;
    Ok(Some(candidate.id))
}
