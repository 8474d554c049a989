//! The analysis between rollout steps: the canary's monitoring windows against the champion's
//! over the same time, with the confidence the monitoring gives (drift states and performance
//! intervals).

use steward_domain::*;

/// What an analysis between steps concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalysisVerdict {
    Pass,
    Fail,
    Inconclusive,
}

/// An analysis's verdict and why, in words a person reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub verdict: AnalysisVerdict,
    pub reason: String,
}

/// The whole-window slice of an evaluated window: (drifting, composite).
fn whole(w: &Window) -> Option<(bool, f64)> {
    let e = w.evaluation.as_ref()?;
    let s = e["slices"]
        .as_array()?
        .iter()
        .find(|s| s["slice"].as_str() == Some(ALL_SLICE))?;
    Some((
        s["state"].as_str() == Some("drifting"),
        s["composite"].as_f64().unwrap_or(0.0),
    ))
}

/// The whole-window performance of an evaluated window: (metric, value, lower, upper, degraded).
fn performance(w: &Window) -> Vec<(String, f64, f64, f64, bool)> {
    let Some(e) = w.evaluation.as_ref() else {
        return Vec::new();
    };
    let Some(list) = e["performance"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter(|p| p["slice"].as_str() == Some(ALL_SLICE))
        .flat_map(|p| p["metrics"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| {
            Some((
                m["metric"].as_str()?.to_string(),
                m["value"].as_f64()?,
                m["lower"].as_f64()?,
                m["upper"].as_f64()?,
                m["degraded"].as_bool().unwrap_or(false),
            ))
        })
        .collect()
}

/// Compares the canary's evaluated windows with the champion's over the same time (both
/// closed since the step began):
/// - no evaluated canary window: inconclusive;
/// - the canary drifting while the champion is not: fail (both drifting is the data moving,
///   not the canary);
/// - a performance metric of the canary degraded against its holdout, or whose 95% interval
///   lies wholly below the champion's: fail;
/// - otherwise pass.
pub fn analyse(canary: &[Window], champion: &[Window]) -> Analysis {
    let evaluated = |ws: &[Window]| -> Vec<Window> {
        ws.iter()
            .filter(|w| w.status == WindowStatus::Evaluated && w.evaluation.is_some())
            .cloned()
            .collect()
    };
    let (canary, champion) = (evaluated(canary), evaluated(champion));
    if canary.is_empty() {
        return Analysis {
            verdict: AnalysisVerdict::Inconclusive,
            reason: "no evaluated window of the canary since the step began".into(),
        };
    }
    let champion_drifts = champion.iter().any(|w| whole(w).is_some_and(|(d, _)| d));
    if let Some((w, (_, score))) = canary
        .iter()
        .find_map(|w| whole(w).filter(|(d, _)| *d).map(|x| (w, x)))
        && !champion_drifts
    {
        return Analysis {
            verdict: AnalysisVerdict::Fail,
            reason: format!(
                "the canary drifted (composite {score:.3} in the window ending {}) while the champion did not",
                w.end.to_rfc3339()
            ),
        };
    }
    let latest = |ws: &[Window]| ws.iter().max_by_key(|w| w.end).map(performance);
    let (cp, hp) = (
        latest(&canary).unwrap_or_default(),
        latest(&champion).unwrap_or_default(),
    );
    for (metric, value, lower, upper, degraded) in &cp {
        if *degraded {
            return Analysis {
                verdict: AnalysisVerdict::Fail,
                reason: format!(
                    "the canary's {metric} {value:.3} [{lower:.3}, {upper:.3}] is degraded against its holdout"
                ),
            };
        }
        if let Some((_, hv, hl, hu, _)) = hp.iter().find(|h| &h.0 == metric)
            && *upper < *hl
        {
            return Analysis {
                verdict: AnalysisVerdict::Fail,
                reason: format!(
                    "the canary's {metric} {value:.3} [{lower:.3}, {upper:.3}] is below the champion's {hv:.3} [{hl:.3}, {hu:.3}]"
                ),
            };
        }
    }
    Analysis {
        verdict: AnalysisVerdict::Pass,
        reason: format!(
            "{} canary window(s) without drift of its own{}",
            canary.len(),
            if cp.is_empty() {
                ", no labels yet".to_string()
            } else {
                format!(", {} metric(s) within the champion's", cp.len())
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    fn window(
        version: ModelVersionId,
        hour: u32,
        drifting: bool,
        auc: Option<(f64, f64, f64)>,
    ) -> Window {
        let end = Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap();
        let performance = auc.map_or(json!([]), |(value, lower, upper)| {
            json!([{"slice": "", "labelledRows": 500, "metrics": [{"metric": "auc", "value": value,
                "lower": lower, "upper": upper, "n": 500, "degraded": false}]}])
        });
        Window {
            id: WindowId::generate(),
            model_id: ModelId::generate(),
            model_version_id: version,
            start: end - chrono::Duration::hours(1),
            end,
            closes_at: end,
            status: WindowStatus::Evaluated,
            late_rows: 0,
            evaluated_at: Some(end),
            evaluated_by: None,
            decision_record_id: None,
            evaluation: Some(json!({
                "slices": [{"slice": "", "composite": if drifting { 0.6 } else { 0.05 },
                    "state": if drifting { "drifting" } else { "stable" }}],
                "performance": performance,
            })),
        }
    }

    #[test]
    fn no_canary_window_is_inconclusive() {
        let champion = ModelVersionId::generate();
        let a = analyse(&[], &[window(champion, 1, false, None)]);
        assert_eq!(a.verdict, AnalysisVerdict::Inconclusive);
    }

    #[test]
    fn drift_of_the_canary_alone_fails_but_drift_of_both_is_the_data() {
        let (canary, champion) = (ModelVersionId::generate(), ModelVersionId::generate());
        let a = analyse(
            &[window(canary, 1, true, None)],
            &[window(champion, 1, false, None)],
        );
        assert_eq!(a.verdict, AnalysisVerdict::Fail, "{}", a.reason);
        assert!(a.reason.contains("drifted"));
        let both = analyse(
            &[window(canary, 1, true, None)],
            &[window(champion, 1, true, None)],
        );
        assert_eq!(both.verdict, AnalysisVerdict::Pass, "{}", both.reason);
    }

    #[test]
    fn a_canary_whose_interval_lies_below_the_champions_fails() {
        let (canary, champion) = (ModelVersionId::generate(), ModelVersionId::generate());
        let worse = analyse(
            &[window(canary, 2, false, Some((0.70, 0.66, 0.74)))],
            &[window(champion, 2, false, Some((0.85, 0.82, 0.88)))],
        );
        assert_eq!(worse.verdict, AnalysisVerdict::Fail);
        assert!(
            worse.reason.contains("below the champion's"),
            "{}",
            worse.reason
        );
        // Overlapping intervals are not evidence of a worse canary.
        let close = analyse(
            &[window(canary, 2, false, Some((0.83, 0.79, 0.87)))],
            &[window(champion, 2, false, Some((0.85, 0.82, 0.88)))],
        );
        assert_eq!(close.verdict, AnalysisVerdict::Pass, "{}", close.reason);
    }
}
