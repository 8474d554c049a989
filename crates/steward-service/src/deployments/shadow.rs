//! Shadows: a version that receives a share of the endpoint's traffic mirrored, its answers
//! discarded. The serving side posts the shadow's predictions as observations of its own version
//! (`?shadow=true`), with the champion's `prediction_id`s; the comparison pairs them by id since
//! the shadow started: the agreement rate, the mean absolute score difference, and, once labels
//! arrive for the champion's predictions, both versions' metrics on the same requests with
//! their 95% intervals and the delta.

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_domain::*;

use super::Change;
use crate::audit::Record;
use crate::monitoring::labels::performance;
use crate::{Service, ServiceError, ServiceResult, Writes, scope_for};

/// Most request pairs one comparison reads.
const MAX_PAIRS: u64 = 200_000;

/// One metric of both versions on the labelled requests they both answered.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricDelta {
    pub metric: String,
    /// The champion's value and 95% interval.
    pub champion: (f64, f64, f64),
    /// The shadow's value and 95% interval.
    pub shadow: (f64, f64, f64),
    /// Shadow minus champion.
    pub delta: f64,
    pub n: u64,
}

/// How a shadow compares with the champion it runs beside.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowComparison {
    pub champion: Served,
    pub shadow: Served,
    /// When the shadow started (the revision that added it).
    pub since: DateTime<Utc>,
    /// Requests both answered (paired by prediction id).
    pub pairs: u64,
    /// Share of pairs with the same predicted label (or, for scores, the same side of 0.5).
    pub agreement: Option<f64>,
    /// Mean |shadow score - champion score| over pairs with both scores.
    pub mean_abs_score_diff: Option<f64>,
    /// Pairs whose champion prediction has a label.
    pub labelled: u64,
    pub metrics: Vec<MetricDelta>,
}

/// The comparison of `pairs` (see the module notes).
pub fn compare(pairs: &[PredictionPair]) -> (Option<f64>, Option<f64>, u64, Vec<MetricDelta>) {
    let (mut judged, mut agree, mut diffs, mut diff_sum) = (0u64, 0u64, 0u64, 0.0);
    for p in pairs {
        let same = match (
            &p.shadow_predicted,
            &p.champion_predicted,
            p.shadow_score,
            p.champion_score,
        ) {
            (Some(a), Some(b), _, _) => Some(a == b),
            (_, _, Some(a), Some(b)) => Some((a >= 0.5) == (b >= 0.5)),
            _ => None,
        };
        if let Some(same) = same {
            judged += 1;
            agree += u64::from(same);
        }
        if let (Some(a), Some(b)) = (p.shadow_score, p.champion_score) {
            diffs += 1;
            diff_sum += (a - b).abs();
        }
    }
    let labelled: Vec<&PredictionPair> = pairs.iter().filter(|p| p.label.is_some()).collect();
    let rows = |shadow: bool| -> Vec<Labelled> {
        labelled
            .iter()
            .map(|p| Labelled {
                slice: ALL_SLICE.to_string(),
                score: if shadow {
                    p.shadow_score
                } else {
                    p.champion_score
                },
                predicted: if shadow {
                    p.shadow_predicted.clone()
                } else {
                    p.champion_predicted.clone()
                },
                label: p.label.clone().unwrap_or_default(),
            })
            .collect()
    };
    let holdout = Default::default();
    let whole = |rows: Vec<Labelled>| {
        performance(&rows, &holdout)
            .into_iter()
            .find(|s| s.slice == ALL_SLICE)
            .map(|s| s.metrics)
            .unwrap_or_default()
    };
    let (champion, shadow) = if labelled.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (whole(rows(false)), whole(rows(true)))
    };
    let metrics = champion
        .iter()
        .filter_map(|c| {
            let s = shadow.iter().find(|s| s.metric == c.metric)?;
            Some(MetricDelta {
                metric: c.metric.clone(),
                champion: (c.value, c.lower, c.upper),
                shadow: (s.value, s.lower, s.upper),
                delta: s.value - c.value,
                n: c.n,
            })
        })
        .collect();
    (
        (judged > 0).then(|| agree as f64 / judged as f64),
        (diffs > 0).then(|| diff_sum / diffs as f64),
        labelled.len() as u64,
        metrics,
    )
}

impl Service {
    /// How the endpoint's shadow compares with its champion; `None` without a shadow.
    pub async fn shadow_comparison(
        &self,
        principal: &Principal,
        endpoint: EndpointId,
    ) -> ServiceResult<Option<ShadowComparison>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        let e = self.endpoint(principal, endpoint).await?;
        let history = self
            .store
            .deployment_revisions(&scope, e.id, None, super::read::MAX_REVISIONS_PAGE)
            .await?;
        let Some(current) = history.first() else {
            return Ok(None);
        };
        let Some(shadow) = current.state.shadow else {
            return Ok(None);
        };
        let since = history
            .iter()
            .take_while(|r| {
                r.state
                    .shadow
                    .is_some_and(|s| s.version_id == shadow.version_id)
            })
            .last()
            .map_or(current.at, |r| r.at);
        let champion = current.state.champion;
        let pairs = self
            .store
            .prediction_pairs(
                &scope,
                (champion.version_id, shadow.version_id),
                since,
                MAX_PAIRS,
            )
            .await?;
        let (agreement, mean_abs_score_diff, labelled, metrics) = compare(&pairs);
        Ok(Some(ShadowComparison {
            champion,
            shadow,
            since,
            pairs: pairs.len() as u64,
            agreement,
            mean_abs_score_diff,
            labelled,
            metrics,
        }))
    }

    /// Removes the endpoint's shadow (sre).
    pub async fn stop_shadow(
        &self,
        principal: &Principal,
        endpoint: EndpointId,
        reason: String,
    ) -> ServiceResult<DeploymentRevision> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::OperateDeployment,
            ("endpoint", endpoint.to_string()),
            async move |m: Writes| {
                validate::required_text("input.reason", &reason, MAX_DEPLOY_REASON)?;
                let (e, current) = self.current(&m, endpoint).await?;
                let Some(shadow) = current.state.shadow else {
                    return Err(ServiceError::Precondition(format!(
                        "endpoint `{}` has no shadow",
                        e.name
                    )));
                };
                let mut state = current.state;
                state.shadow = None;
                let c = Change {
                    endpoint: &e,
                    expected: e.revision,
                    state,
                    change: RevisionChange::ShadowStopped,
                    actor: &actor,
                    reason: &reason,
                    request: None,
                    policy_revision: None,
                    incident: None,
                    decision: None,
                    key: None,
                };
                let rev = self.change_endpoint(&m, c, now).await?;
                let payload = json!({"revision": rev.number, "shadow": shadow.version,
                    "reason": reason});
                Ok((rev, Record::new("endpoint", endpoint, payload)))
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(c: f64, s: f64, label: Option<&str>) -> PredictionPair {
        PredictionPair {
            champion_score: Some(c),
            champion_predicted: None,
            shadow_score: Some(s),
            shadow_predicted: None,
            label: label.map(str::to_owned),
            slice: String::new(),
        }
    }

    #[test]
    fn agreement_and_deltas_come_from_the_same_requests() {
        // 100 requests: the shadow agrees on 80; labels make the champion right on 90 and the
        // shadow on 70.
        let mut pairs = Vec::new();
        for i in 0..100 {
            let truth = i % 2 == 0;
            let label = if truth { "1" } else { "0" };
            let champ_right = i < 90;
            let shadow_right = i < 70;
            let score = |right: bool| if right == truth { 0.9 } else { 0.1 };
            pairs.push(pair(score(champ_right), score(shadow_right), Some(label)));
        }
        let (agreement, diff, labelled, metrics) = compare(&pairs);
        assert_eq!(labelled, 100);
        assert!((agreement.unwrap() - 0.80).abs() < 1e-9, "{agreement:?}");
        assert!((diff.unwrap() - 0.16).abs() < 1e-9, "{diff:?}");
        let acc = metrics.iter().find(|m| m.metric == "accuracy").unwrap();
        assert!(
            (acc.champion.0 - 0.9).abs() < 1e-9 && (acc.shadow.0 - 0.7).abs() < 1e-9,
            "{acc:?}"
        );
        assert!((acc.delta + 0.2).abs() < 1e-9);
        assert!(
            acc.champion.1 < 0.9 && acc.champion.2 > 0.9,
            "an interval around the value"
        );
        let (a, _, l, m) = compare(&[pair(0.2, 0.7, None)]);
        assert_eq!((a, l, m.len()), (Some(0.0), 0, 0), "no labels: no metrics");
    }
}
