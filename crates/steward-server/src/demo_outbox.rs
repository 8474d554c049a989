//! The demo's delivery targets: loopback receivers that stand in for Slack, PagerDuty and a
//! signed webhook (the real services cannot be reached from a demo machine), each enforcing its
//! peer's documented contract (crate `steward-loopback`), and the `acme` tenant's targets
//! pointing at them, so the demo's alerts are delivered, their attempts recorded, and what each
//! receiver got is one `curl` away (`GET /` on the receiver lists it).
//!
//! The policies' channels: `ml-monitoring` (Slack), `fraud-oncall` (PagerDuty),
//! `credit-oncall` (webhook); and the orchestrator the fraud policy retrains in, `prefect`, a
//! stand-in for a Prefect 3 server with the deployment `fraud-retrain/eu-slice`. The targets are
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
