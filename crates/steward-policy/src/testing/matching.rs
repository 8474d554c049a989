//! JSON merge patches (for case contexts) and partial matching (for expectations).

use serde_json::Value;

/// Applies `patch` to `target` as an RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, value) in patch_fields {
            if value.is_null() {
                fields.remove(key);
            } else {
                merge_patch(fields.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Checks that `actual` matches `expected`: objects partially (keys not named in `expected`
/// are not checked), arrays element by element with equal length, numbers within 1e-9,
/// everything else exactly. The error names the first mismatching path.
pub fn json_matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, w) in want {
                let sub = format!("{path}.{key}");
                match got.get(key) {
                    Some(g) => json_matches(w, g, &sub)?,
                    None if w.is_null() => {}
                    None => return Err(format!("{sub}: expected {w}, but it is absent")),
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(format!(
                    "{path}: expected {} element(s), got {}: {}",
                    want.len(),
                    got.len(),
                    Value::Array(got.clone())
                ));
            }
            want.iter()
                .zip(got)
                .enumerate()
                .try_for_each(|(i, (w, g))| json_matches(w, g, &format!("{path}[{i}]")))
        }
        (Value::Number(w), Value::Number(g)) => match (w.as_f64(), g.as_f64()) {
            (Some(w), Some(g)) if (w - g).abs() <= 1e-9 => Ok(()),
            _ => Err(format!("{path}: expected {expected}, got {actual}")),
        },
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": 2, "c": [3]}, "d": null, "e": "new"}),
        );
        assert_eq!(doc, json!({"a": {"b": 2, "c": [3]}, "e": "new"}));
    }

    #[test]
    fn matching_is_partial_for_objects_and_exact_for_arrays() {
        let actual =
            json!([{"kind": "alert", "severity": "warning", "summary": "x", "channel": "#c"}]);
        assert!(json_matches(&json!([{"kind": "alert"}]), &actual, "d").is_ok());
        assert_eq!(
            json_matches(
                &json!([{"kind": "alert", "severity": "critical"}]),
                &actual,
                "d"
            )
            .unwrap_err(),
            "d[0].severity: expected \"critical\", got \"warning\""
        );
        assert!(
            json_matches(&json!([]), &actual, "d")
                .unwrap_err()
                .contains("expected 0 element(s), got 1")
        );
        assert!(json_matches(&json!({"n": 0.1}), &json!({"n": 0.1000000000001}), "v").is_ok());
    }
}
