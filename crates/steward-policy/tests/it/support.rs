//! Shared fixtures: a typical window context and promotion context, built from JSON.

use serde_json::{Value, json};
use steward_policy::{PromotionContext, WindowContext};

/// A window of the fraud model with moderate drift, labels and one slice.
pub fn window_json() -> Value {
    json!({
        "model": {"id": "m-fraud", "name": "fraud", "version": "7", "tags": ["payments"], "risk_tier": "high"},
        "window": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T10:00:00Z", "rows": 120000},
        "drift": {
            "composite": 0.18,
            "features": [
                {"feature": "amount", "statistic": "psi", "value": 0.31, "drifted": true},
                {"feature": "merchant_category", "statistic": "psi", "value": 0.04},
                {"feature": "hour", "statistic": "ks", "value": 0.02, "p_value": 0.4}
            ],
            "prediction": {"feature": "score", "statistic": "psi", "value": 0.12},
            "slices": [
                {"name": "EU", "filter": {"region": "EU"}, "rows": 40000, "composite": 0.22,
                 "metrics": {"auc": 0.86}, "baseline_metrics": {"auc": 0.91}}
            ]
        },
        "quality": [{"feature": "amount", "kind": "missing_rate", "severity": "warning", "value": 0.03}],
        "performance": {"metrics": {"auc": 0.88, "log_loss": 0.31}, "labelled_rows": 9000},
        "baseline": {"id": "b-7", "created_at": "2025-02-01T00:00:00Z", "metrics": {"auc": 0.91, "log_loss": 0.27}},
        "open_incidents": [],
        "recent_decisions": []
    })
}

pub fn window() -> WindowContext {
    serde_json::from_value(window_json()).expect("fixture is a valid window context")
}

pub fn promotion_json() -> Value {
    json!({
        "model": {"id": "m-credit", "name": "credit", "version": "3", "tags": [], "risk_tier": "high"},
        "candidate": {"version": "4", "holdout": {"auc": 0.83}},
        "champion": {"version": "3", "holdout": {"auc": 0.82}},
        "approvals": [],
        "requester": "alice",
        "requested_at": "2025-03-01T10:00:00Z"
    })
}

pub fn promotion() -> PromotionContext {
    serde_json::from_value(promotion_json()).expect("fixture is a valid promotion context")
}
