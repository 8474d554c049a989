//! The demo's deployments, played by people of tenant `acme` (development tokens, as real users
//! would hold): the fraud model's endpoint `fraud-detector-prod` serves version 2 on a KServe
//! InferenceService (the loopback stand-in); Maria (model owner) asks to promote version 3
//! through a canary; the model is high-risk, so two governance officers, Gina and Gus, approve;
//! the canary takes 10% of the traffic; then Sam (SRE) rolls it back in one call, citing the EU
//! drift incident the monitoring replay opened on version 3. The churn model's endpoint gets an
//! approved promotion of version 2 (medium risk: one governance officer). Every change is
//! delivered to its target and listed in the endpoint's history.

use std::time::Duration;

use anyhow::Context;
use steward_domain::*;
use steward_service::{PromotionInput, RollbackInput, Service};

/// A person of tenant `acme` holding `roles`, authenticated as a token would be.
pub(crate) async fn person(svc: &Service, sub: &str, roles: &[Role]) -> anyhow::Result<Principal> {
    let token = svc
        .authenticator()
        .mint_dev_token(sub, "acme", roles, Duration::from_secs(600))?;
    Ok(svc.authenticator().authenticate(&token).await?)
}

/// Version `n` of `model`.
async fn numbered(
    svc: &Service,
    p: &Principal,
    model: ModelId,
    n: i64,
) -> anyhow::Result<ModelVersion> {
    let page = PageRequest {
        first: 100,
        after: None,
    };
    svc.model_versions(p, model, page)
        .await?
        .items
        .into_iter()
        .find(|v| v.version == n)
        .with_context(|| format!("the demo model has no version {n}"))
}

fn canary_plan() -> RolloutPlan {
    let step = |percent, bake_minutes| RolloutStep {
        percent,
        bake_minutes,
        on_failure: OnFailure::Abort,
        on_inconclusive: OnFailure::Pause,
    };
    RolloutPlan {
        steps: vec![step(10, 60), step(50, 120)],
        mirror_percent: 0,
    }
}

/// Plays the story once (not when `fraud-detector-prod` exists); the endpoint's id.
pub async fn play(svc: &Service) -> anyhow::Result<Option<EndpointId>> {
    let maria = person(svc, "maria", &[Role::ModelOwner]).await?;
    if svc
        .endpoint_by_name(&maria, "fraud-detector-prod")
        .await
        .is_ok()
    {
        return Ok(None);
    }
    let sam = person(svc, "sam", &[Role::Sre]).await?;
    let gina = person(svc, "gina", &[Role::GovernanceOfficer]).await?;
    let gus = person(svc, "gus", &[Role::GovernanceOfficer]).await?;
    let fraud = svc.model_by_name(&maria, "fraud-detector").await?;
    let (v2, v3) = (
        numbered(svc, &maria, fraud.id, 2).await?,
        numbered(svc, &maria, fraud.id, 3).await?,
    );
    let endpoint = |model, name: &str, target: Option<&str>, champion| NewEndpoint {
        model_id: model,
        name: name.into(),
        environment: "prod".into(),
        target: target.map(str::to_owned),
        description: "demo".into(),
        champion,
        champion_alias: Some("champion".into()),
        reason: "serving since the October release".into(),
    };
    let (e, _) = svc
        .create_endpoint(
            &sam,
            endpoint(fraud.id, "fraud-detector-prod", Some("kserve-prod"), v2.id),
        )
        .await
        .context("creating the fraud endpoint")?;
    let request = svc
        .request_promotion(
            &maria,
            PromotionInput {
                endpoint: e.id,
                candidate: v3.id,
                artifact_digest: v3.artifact_digest.to_string(),
                mode: PromotionMode::Champion,
                plan: canary_plan(),
                reason: "fine-tuned on EU transactions".into(),
                idempotency_key: None,
            },
        )
        .await
        .context("requesting the fraud promotion")?;
    for officer in [&gina, &gus] {
        svc.answer_promotion(
            officer,
            request.id,
            ApprovalVerdict::Approve,
            "holdout AUC 0.934 against 0.921; lineage checked".into(),
        )
        .await
        .context("approving the fraud promotion")?;
    }
    let incident = svc
        .incidents(
            &sam,
            IncidentFilter {
                model_id: Some(fraud.id),
                ..IncidentFilter::default()
            },
            Some(50),
        )
        .await?
        .into_iter()
        .find(|i| i.model_version_id == v3.id && i.status != IncidentStatus::Resolved)
        .map(|i| i.id);
    svc.rollback(
        &sam,
        RollbackInput {
            endpoint: e.id,
            reason:
                "EU inputs drift on version 3 (incident fraud-eu-data-drift); back to version 2"
                    .into(),
            incident,
            to_revision: None,
            expected_revision: None,
            idempotency_key: Some("demo-fraud-rollback".into()),
        },
    )
    .await
    .context("rolling the fraud canary back")?;

    // The churn model: medium risk, so one governance officer approves version 2.
    let churn = svc.model_by_name(&maria, "churn-predictor").await?;
    let c1 = numbered(svc, &maria, churn.id, 1).await?;
    let c2 = crate::demo::version(
        svc,
        &maria,
        churn.id,
        "s3://acme-models/churn/v2/model.pkl",
        &[("auc", 0.874), ("log_loss", 0.398)],
        crate::demo::run("f6a1b2c3d4e5", vec![], None, "churn_weekly__2026-11-30"),
    )
    .await
    .context("registering churn version 2")?;
    let (ce, _) = svc
        .create_endpoint(
            &sam,
            endpoint(churn.id, "churn-predictor-prod", None, c1.id),
        )
        .await?;
    let r = svc
        .request_promotion(
            &maria,
            PromotionInput {
                endpoint: ce.id,
                candidate: c2.id,
                artifact_digest: c2.artifact_digest.to_string(),
                mode: PromotionMode::Champion,
                plan: RolloutPlan::default(),
                reason: "weekly retrain: AUC 0.874".into(),
                idempotency_key: None,
            },
        )
        .await?;
    svc.answer_promotion(
        &gina,
        r.id,
        ApprovalVerdict::Approve,
        "better on every holdout metric".into(),
    )
    .await
    .context("approving the churn promotion")?;
    Ok(Some(e.id))
}
