//! The payloads of a SageMaker capture event: `data` decoded by its `encoding` (CSV, JSON,
//! BASE64) into CSV text or a JSON value, and CSV text split into records.

use base64::Engine;
use serde_json::Value;

/// A captured payload, decoded.
pub(super) enum Payload {
    /// CSV text.
    Csv(String),
    /// A JSON value (several JSON lines as an array of them).
    Json(Value),
}

/// The decoded `data` of an `endpointInput` or `endpointOutput` object at `at`.
pub(super) fn payload(v: &Value, at: &str) -> Result<Payload, String> {
    let text = |key: &str| v.get(key).and_then(Value::as_str);
    let encoding = text("encoding").ok_or_else(|| format!("{at}.encoding is missing"))?;
    let data = v
        .get("data")
        .ok_or_else(|| format!("{at}.data is missing"))?;
    let as_text = || {
        data.as_str()
            .ok_or_else(|| format!("{at}.data is {data}, not a string"))
    };
    let content_type = text("observedContentType")
        .unwrap_or("")
        .to_ascii_lowercase();
    match encoding.to_ascii_uppercase().as_str() {
        "CSV" => Ok(Payload::Csv(as_text()?.to_owned())),
        "JSON" => match data {
            Value::String(s) => {
                json_text(s).map_err(|e| format!("{at}.data is not JSON: {}", data_reason(&e)))
            }
            inline => Ok(Payload::Json(inline.clone())),
        },
        "BASE64" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(as_text()?.trim())
                .map_err(|e| format!("{at}.data is not base64: {e}"))?;
            let s = String::from_utf8(bytes)
                .map_err(|e| format!("{at}.data decodes to bytes that are not UTF-8: {e}"))?;
            let first = s.trim_start().chars().next();
            let json = content_type.contains("json")
                || (!content_type.contains("csv") && matches!(first, Some('{' | '[')));
            if json {
                json_text(&s).map_err(|e| {
                    format!(
                        "{at}.data decodes to text that is not JSON: {}",
                        data_reason(&e)
                    )
                })
            } else {
                Ok(Payload::Csv(s))
            }
        }
        other => Err(format!(
            "{at}.encoding {other:?} is not CSV, JSON or BASE64"
        )),
    }
}

/// JSON text: one value, several (JSON lines) as an array of them, none as null.
pub(super) fn json_text(s: &str) -> Result<Payload, serde_json::Error> {
    let mut values = serde_json::Deserializer::from_str(s)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Payload::Json(match values.len() {
        0 => Value::Null,
        1 => values.remove(0),
        _ => Value::Array(values),
    }))
}

/// serde_json's message without its location, which callers say relative to what they read.
pub(super) fn json_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let location = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&location) {
        Some(reason) => reason.to_owned(),
        None => message,
    }
}

/// Why the JSON text of a payload's `data` does not parse, and where in it.
fn data_reason(e: &serde_json::Error) -> String {
    format!(
        "{} (line {}, column {} of the data)",
        json_reason(e),
        e.line(),
        e.column()
    )
}

/// The records of CSV text: fields split at commas, `"` quoting (with `""` for a quote), blank
/// lines skipped.
pub(super) fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut was_quoted) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => (quoted, was_quoted) = (true, true),
            ',' => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\n' | '\r' => {
                if !record.is_empty() || !field.is_empty() || was_quoted {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                was_quoted = false;
            }
            _ if was_quoted => return Err(format!("{c:?} after a closing quote")),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    if !record.is_empty() || !field.is_empty() || was_quoted {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_quotes_and_blank_lines() {
        let got = csv_records("1,\"a,b\",\"say \"\"hi\"\"\"\r\n\n2,,x\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec!["1".to_owned(), "a,b".to_owned(), "say \"hi\"".to_owned()],
                vec!["2".to_owned(), String::new(), "x".to_owned()],
            ]
        );
        assert_eq!(csv_records("").unwrap(), Vec::<Vec<String>>::new());
        assert!(csv_records("\"open").is_err());
        assert!(csv_records("\"a\"b").is_err());
    }
}
