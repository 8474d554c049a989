//! Conversions between JSON values and rhai values.
//!
//! Contexts reach scripts as rhai object maps built from JSON; maps a script hands back
//! (retrain slices and parameters) leave as JSON. Written by hand rather than through rhai's
//! `serde` feature so the mapping is explicit: integers stay integers, floats must be finite,
//! and nothing but plain data crosses.

use rhai::{Array, Dynamic, ImmutableString, Map};
use serde_json::{Number, Value};

/// Builds a rhai value from JSON. Numbers that fit `i64` become integers, others floats.
pub fn json_to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(items) => {
            Dynamic::from_array(items.iter().map(json_to_dynamic).collect::<Array>())
        }
        Value::Object(fields) => {
            let map: Map = fields
                .iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect();
            Dynamic::from_map(map)
        }
    }
}

/// Why a rhai value could not become JSON.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("number {0} is not finite")]
    NotFinite(String),
    #[error("a value of type `{0}` cannot be stored as data")]
    Unsupported(String),
}

/// Converts a rhai value into JSON. Unit becomes `null`; function pointers and custom types
/// are refused (they are code or engine objects, not data).
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, ValueError> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(f) = value.as_float() {
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| ValueError::NotFinite(f.to_string()));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    if value.is_array()
        && let Some(items) = value.read_lock::<Array>()
    {
        return items
            .iter()
            .map(dynamic_to_json)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if value.is_map()
        && let Some(fields) = value.read_lock::<Map>()
    {
        let mut out = serde_json::Map::new();
        for (k, v) in fields.iter() {
            out.insert(k.to_string(), dynamic_to_json(v)?);
        }
        return Ok(Value::Object(out));
    }
    Err(ValueError::Unsupported(value.type_name().to_string()))
}

/// Writes `value` as canonical JSON: object keys sorted, no whitespace. Used for hashing, so
/// the hash of a context does not depend on how serde_json was configured elsewhere in the
/// build (its `preserve_order` feature changes key order).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = fields.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_plain_data() {
        for v in [
            json!(null),
            json!(true),
            json!(3),
            json!(2.5),
            json!("eu"),
            json!([1, "a", {"b": [null]}]),
        ] {
            assert_eq!(dynamic_to_json(&json_to_dynamic(&v)).unwrap(), v);
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": "x"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }

    #[test]
    fn non_finite_floats_are_refused() {
        assert!(matches!(
            dynamic_to_json(&Dynamic::from_float(f64::NAN)),
            Err(ValueError::NotFinite(_))
        ));
    }
}
