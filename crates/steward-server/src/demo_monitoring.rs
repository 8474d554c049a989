//! The demo's monitoring loop, run for real: the fraud model's baseline is uploaded from a
//! generated reference set, then two weeks of hourly production batches per region are replayed
//! through the ingestion path on a driven clock, the scheduler closing each window as it would
//! have. From day 9 the EU slice's transactions change (larger amounts, another country mix), so a
//! new user finds evaluated windows, drift per feature and slice, performance per window from
//! labels sent 25 minutes after each batch, one incident (not one per window) with its decisions,
//! and the fraud policy's pending retraining on the EU slice.
//!
//! Everything goes through the service as the demo seeder; the data is generated from a fixed
//! seed, so every run shows the same story.

use std::fmt::Write as _;

use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use steward_domain::*;
use steward_service::Service;
use steward_service::monitoring::{
    BaselineUpload, DataFormat, IngestBatch, LabelUpload, ManualClock, UploadedBaseline,
};

/// Rows per region and hour.
const ROWS_PER_HOUR: usize = 120;

/// A small deterministic generator (splitmix64): the demo needs the same data every run, not
/// cryptographic randomness.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..6).map(|_| self.unit()).sum::<f64>() - 3.0
    }
}

/// How a region's transactions look: before and after the EU shift. The regions' card countries
/// differ by construction; the baseline profiles each region's reference rows too, so each slice
/// is compared with its own region's reference, not the worldwide one.
#[derive(Clone, Copy)]
struct Shape {
    amount_scale: f64,
    countries: &'static [&'static str],
}

const EU_BEFORE: Shape = Shape {
    amount_scale: 1.0,
    countries: &["DE", "FR", "ES", "IT", "NL"],
};
const EU_AFTER: Shape = Shape {
    amount_scale: 2.2,
    countries: &["RO", "BG", "DE", "RO", "BG"],
};
const US: Shape = Shape {
    amount_scale: 1.0,
    countries: &["US", "US", "CA", "MX", "US"],
};

/// CSV rows of the fraud model's features, its prediction and the region (a slice column); with
/// `ids`, each row gets `prediction_id` `<ids>-<i>` and the labels that will follow (the truth,
/// which the scores rank almost perfectly) are returned as CSV too.
fn rows(g: &mut Gen, n: usize, shape: Shape, region: &str, ids: Option<&str>) -> (String, String) {
    let mut csv = String::from("amount,country,merchant_age_days,prediction,region");
    csv.push_str(if ids.is_some() {
        ",prediction_id\n"
    } else {
        "\n"
    });
    let mut labels = String::from("prediction_id,label\n");
    for i in 0..n {
        let amount = (50.0 * shape.amount_scale * (0.6 * g.normal()).exp()).max(1.0);
        let country = shape.countries[(g.next() % shape.countries.len() as u64) as usize];
        let age = 30 + (g.next() % 2_000);
        let score = 1.0 / (1.0 + (-(amount / 100.0 - 2.5 + 0.5 * g.normal())).exp());
        let _ = write!(csv, "{amount:.2},{country},{age},{score:.4},{region}");
        match ids {
            Some(prefix) => {
                let _ = writeln!(csv, ",{prefix}-{i}");
                let fraud = score + 0.03 * g.normal() > 0.5;
                let _ = writeln!(labels, "{prefix}-{i},{}", u8::from(fraud));
            }
            None => csv.push('\n'),
        }
    }
    (csv, labels)
}

/// Days replayed by `serve --demo`, and the day (0-based) the EU slice shifts.
pub const DEMO_DAYS: i64 = 14;
pub const DEMO_DRIFT_DAY: i64 = 8;

/// Replays [`DEMO_DAYS`] days ending at the last full hour before `now`, unless the fraud model
/// already has a baseline (an earlier `serve --demo` on the same database). `None` when skipped.
pub async fn replay_once(
    svc: &Service,
    clock: &ManualClock,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Replayed>> {
    let tenant = crate::demo::acme(svc).await?;
    let (model, version) = crate::demo::fraud_v3(svc, &tenant).await?;
    let seeder = Principal::system(SystemActor::DemoSeeder, &tenant.slug, Some(tenant.id));
    if !svc.baselines(&seeder, version).await?.is_empty() {
        return Ok(None);
    }
    let hour = now.timestamp().div_euclid(3_600) * 3_600;
    let end = DateTime::from_timestamp(hour, 0).unwrap_or(now);
    let start = end - Duration::days(DEMO_DAYS);
    replay(
        svc,
        clock,
        (&tenant, model, version),
        start,
        (DEMO_DAYS, DEMO_DRIFT_DAY),
    )
    .await
    .map(Some)
}

/// What the replay did.
#[derive(Debug, Default)]
pub struct Replayed {
    pub batches: usize,
    pub windows: usize,
}

/// Sets up monitoring of the fraud model's version `version` and replays `days` days of hourly
/// traffic from `start`, the EU slice shifting from day `drift_day` (0-based); the clock is left
/// at the end of the replay.
pub async fn replay(
    svc: &Service,
    clock: &ManualClock,
    (tenant, model, version): (&Tenant, ModelId, ModelVersionId),
    start: DateTime<Utc>,
    (days, drift_day): (i64, i64),
) -> anyhow::Result<Replayed> {
    let seeder = Principal::system(SystemActor::DemoSeeder, &tenant.slug, Some(tenant.id));
    clock.set(start);
    svc.configure_monitoring(
        &seeder,
        model,
        MonitorConfigChange {
            slice_columns: Some(vec!["region".into()]),
            lateness_seconds: Some(300),
            ..Default::default()
        },
    )
    .await
    .context("configuring monitoring of the fraud model")?;
    let mut g = Gen(0x5EED_F4A0);
    let (mut reference, _) = rows(&mut g, 2_000, EU_BEFORE, "EU", None);
    let (us, _) = rows(&mut g, 2_000, US, "US", None);
    reference.extend(us.lines().skip(1).map(|l| format!("{l}\n")));
    svc.upload_baseline(
        &seeder,
        UploadedBaseline {
            model_version_id: version,
            upload: BaselineUpload::Dataset {
                body: Bytes::from(reference),
                format: Some(DataFormat::Csv),
                categorical_prediction: false,
            },
            note: "holdout of fraud_finetune_eu__2026-11-03".into(),
            activate: true,
        },
    )
    .await
    .context("uploading the fraud model's baseline")?;
    let mut done = Replayed::default();
    for hour in 0..days * 24 {
        clock.set(start + Duration::hours(hour) + Duration::minutes(30));
        let eu = if hour >= drift_day * 24 {
            EU_AFTER
        } else {
            EU_BEFORE
        };
        let mut labels = Vec::new();
        for (region, shape) in [("EU", eu), ("US", US)] {
            let prefix = format!("h{hour}-{region}");
            let (batch, truth) = rows(&mut g, ROWS_PER_HOUR, shape, region, Some(&prefix));
            labels.push((region, truth));
            svc.ingest_observations(
                &seeder,
                IngestBatch {
                    model_version_id: version,
                    body: Bytes::from(batch),
                    format: Some(DataFormat::Csv),
                    sagemaker_capture: false,
                    shadow: false,
                    idempotency_key: Some(format!("demo-{hour}-{region}")),
                },
            )
            .await
            .with_context(|| format!("replaying hour {hour} of {region}"))?;
            done.batches += 1;
        }
        // The fraud team labels the hour's transactions 25 minutes later, before it closes.
        clock.set(start + Duration::hours(hour) + Duration::minutes(55));
        for (region, truth) in labels {
            svc.ingest_labels(
                &seeder,
                LabelUpload {
                    model_version_id: version,
                    body: Bytes::from(truth),
                    format: Some(DataFormat::Csv),
                    idempotency_key: Some(format!("demo-labels-{hour}-{region}")),
                },
            )
            .await
            .with_context(|| format!("labelling hour {hour} of {region}"))?;
            done.batches += 1;
        }
        clock.set(start + Duration::hours(hour + 1) + Duration::minutes(6));
        done.windows += svc.run_scheduler_tick().await?.evaluated;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    #[tokio::test]
    async fn three_days_with_eu_drift_from_day_two_page_once_and_start_one_eu_retraining() {
        let db = steward_store::testing::TestDb::new().await;
        let clock = std::sync::Arc::new(ManualClock::new(Utc::now()));
        let svc = demo::tests::service(&db)
            .with_clock(clock.clone())
            .with_outbox_settings(steward_service::OutboxSettings {
                allow_private_networks: true,
                ..Default::default()
            });
        demo::seed(&svc).await.unwrap();
        let receivers = crate::demo_outbox::start(&svc).await.unwrap();
        let acme = db.store.tenant_by_slug("acme").await.unwrap().unwrap();
        let (model, version) = demo::fraud_v3(&svc, &acme).await.unwrap();
        let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let done = replay(&svc, &clock, (&acme, model, version), start, (3, 1))
            .await
            .unwrap();
        assert_eq!((done.batches, done.windows), (288, 72));
        let viewer = Principal::system(SystemActor::OutboxRelay, "acme", Some(acme.id));
        let incidents = svc
            .incidents(&viewer, IncidentFilter::default(), None)
            .await
            .unwrap();
        let keys: Vec<&str> = incidents.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["fraud-eu-data-drift"],
            "one incident, not one per window"
        );
        // The relay delivers what the incident decided: on-call paged, the team's channel told,
        // one retraining run on the EU slice.
        while svc.run_relay_pass().await.unwrap().claimed > 0 {}
        let actions = svc
            .pending_actions(&viewer, Some(model), None, None)
            .await
            .unwrap();
        let mut kinds: Vec<(&str, Option<&str>, ActionStatus)> = actions
            .iter()
            .map(|a| (a.kind.as_str(), a.target.as_deref(), a.status))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("alert", Some("fraud-oncall"), ActionStatus::Delivered),
                ("alert", Some("ml-monitoring"), ActionStatus::Delivered),
                ("retrain", Some("prefect"), ActionStatus::Delivered),
            ]
        );
        assert!(
            actions
                .iter()
                .all(|a| a.incident_id == Some(incidents[0].id))
        );
        let paged = receivers.pagerduty.accepted();
        assert_eq!(paged.len(), 1);
        assert_eq!(
            paged[0].json.as_ref().unwrap()["dedup_key"],
            incidents[0].id.to_string().as_str()
        );
        assert_eq!(receivers.slack.accepted().len(), 1);
        let runs = receivers.prefect.runs();
        assert_eq!(runs.len(), 1);
        assert_eq!(
            runs[0].parameters["steward"]["slice"],
            serde_json::json!({"region": "EU"})
        );
        // The demo plays the flow run: the candidate's lineage leads back to the incident.
        let candidate = crate::demo_outbox::close_loop(&svc, &receivers)
            .await
            .unwrap()
            .expect("a candidate");
        let g = svc
            .lineage(&viewer, candidate.as_uuid(), LineageDirection::Upstream, 5)
            .await
            .unwrap();
        let kinds: Vec<NodeKind> = g.nodes.iter().map(|n| n.kind).collect();
        for k in [
            NodeKind::TrainingRun,
            NodeKind::DecisionRecord,
            NodeKind::Incident,
        ] {
            assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
        }
        assert!(g.nodes.iter().any(|n| n.id == incidents[0].id.as_uuid()));
        // Labels came in before each window closed: its performance, per slice, with the
        // holdout's AUC not lost (no concept-drift incident).
        let windows = svc.windows(&viewer, version, Some(1)).await.unwrap();
        let perf = svc
            .window_performance(&viewer, windows[0].id)
            .await
            .unwrap();
        let whole = perf.iter().find(|p| p.slice.is_empty()).unwrap();
        assert_eq!(whole.labelled_rows, 240);
        let auc = whole.metrics.iter().find(|m| m.metric == "auc").unwrap();
        assert!(auc.value > 0.9 && !auc.degraded, "{auc:?}");
    }
}
