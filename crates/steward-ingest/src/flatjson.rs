//! A faster reader for the common case of JSON lines: flat objects whose values are numbers,
//! strings, booleans or null, read straight into Arrow column builders by serde_json's parser
//! (no tape, no map per row). arrow-json's decoder costs about twice as much on such rows
//! (`examples/json_probe.rs`; docs/performance.md).
//!
//! It only ever answers what arrow-json would: anything outside that common case (a value of
//! another JSON type than its column's, a nested value, a repeated key, a timestamp given as
//! text, a non-nullable column left empty, a line that does not parse) makes it give up on the
//! whole batch, and the caller decodes the batch with arrow-json, which then produces the
//! result or the error with its row and line exactly as before. serde_json parses floats
//! exactly (the workspace enables `float_roundtrip`), as arrow-json does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, new_null_array,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

enum Column {
    Float(Float64Builder),
    Int(Int64Builder),
    Text(StringBuilder),
    Bool(BooleanBuilder),
    /// A column of another type (timestamps): only nulls are taken here.
    Nulls(usize),
}

impl Column {
    /// A builder for `rows` values of type `t`, allocated once.
    fn for_type(t: &DataType, rows: usize) -> Column {
        match t {
            DataType::Float64 => Column::Float(Float64Builder::with_capacity(rows)),
            DataType::Int64 => Column::Int(Int64Builder::with_capacity(rows)),
            DataType::Utf8 => Column::Text(StringBuilder::with_capacity(rows, rows * 8)),
            DataType::Boolean => Column::Bool(BooleanBuilder::with_capacity(rows)),
            _ => Column::Nulls(0),
        }
    }

    fn null(&mut self) {
        match self {
            Column::Float(b) => b.append_null(),
            Column::Int(b) => b.append_null(),
            Column::Text(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::Nulls(n) => *n += 1,
        }
    }

    fn finish(self, t: &DataType) -> ArrayRef {
        match self {
            Column::Float(mut b) => std::sync::Arc::new(b.finish()),
            Column::Int(mut b) => std::sync::Arc::new(b.finish()),
            Column::Text(mut b) => std::sync::Arc::new(b.finish()),
            Column::Bool(mut b) => std::sync::Arc::new(b.finish()),
            Column::Nulls(n) => new_null_array(t, n),
        }
    }
}

/// Reads the lines of `buf` starting at `starts` (each ending with a newline) as one batch of
/// `schema`, or `None` when arrow-json must decide.
pub(crate) fn decode(
    schema: &SchemaRef,
    buf: &[u8],
    starts: &[(usize, u64)],
) -> Option<RecordBatch> {
    let index: HashMap<&str, usize> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().as_str(), i))
        .collect();
    let mut columns: Vec<Column> = schema
        .fields()
        .iter()
        .map(|f| Column::for_type(f.data_type(), starts.len()))
        .collect();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut seen = vec![0u64; columns.len()];
    for (row, &(at, _)) in starts.iter().enumerate() {
        let end = starts.get(row + 1).map_or(buf.len(), |s| s.0);
        let mut de = serde_json::Deserializer::from_slice(&buf[at..end]);
        let stamp = row as u64 + 1;
        let mut fill = Row {
            index: &index,
            names: &names,
            next: 0,
            columns: &mut columns,
            seen: &mut seen,
            stamp,
        };
        (&mut de).deserialize_map(&mut fill).ok()?;
        de.end().ok()?;
        for (c, s) in columns.iter_mut().zip(&seen) {
            if *s != stamp {
                c.null();
            }
        }
    }
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| c.finish(f.data_type()))
        .collect();
    let empty_but_required = arrays
        .iter()
        .zip(schema.fields())
        .any(|(a, f)| !f.is_nullable() && a.null_count() > 0);
    if empty_but_required {
        return None;
    }
    RecordBatch::try_new(schema.clone(), arrays).ok()
}

/// One row: an object whose known keys fill their columns once each.
struct Row<'a, 'b> {
    index: &'a HashMap<&'a str, usize>,
    /// Column names by position: rows usually repeat their keys in schema order, so the column
    /// after the last one filled is tried before the hash map.
    names: &'a [&'a str],
    next: usize,
    columns: &'b mut [Column],
    seen: &'b mut [u64],
    stamp: u64,
}

impl<'de> Visitor<'de> for &mut Row<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let guess = self
                .names
                .get(self.next)
                .filter(|n| n.as_bytes() == key.as_ref());
            let found = match guess {
                Some(_) => Some(self.next),
                None => std::str::from_utf8(&key)
                    .ok()
                    .and_then(|k| self.index.get(k).copied()),
            };
            let Some(i) = found else {
                if std::str::from_utf8(&key).is_err() {
                    // arrow-json refuses text that is not UTF-8.
                    return Err(serde::de::Error::custom("not UTF-8"));
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            self.next = i + 1;
            if self.seen[i] == self.stamp {
                // arrow-json decides what a repeated key means.
                return Err(serde::de::Error::custom("repeated key"));
            }
            self.seen[i] = self.stamp;
            map.next_value_seed(Cell(&mut self.columns[i]))?;
        }
        Ok(())
    }
}

/// A key's bytes, escapes resolved but not yet checked as UTF-8: a key that is a column's name
/// is UTF-8 by being equal to it, so only other keys are checked.
struct Key<'de>(Cow<'de, [u8]>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(KeyBytes)
    }
}

struct KeyBytes;

impl<'de> Visitor<'de> for KeyBytes {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_vec())))
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v.as_bytes())))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.as_bytes().to_vec())))
    }
}

/// One value into its column.
struct Cell<'a>(&'a mut Column);

impl<'de> DeserializeSeed<'de> for Cell<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Cell<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value of the column's type")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        match self.0 {
            Column::Float(b) => b.append_value(v),
            _ => return Err(E::custom("number")),
        }
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        match self.0 {
            Column::Float(b) => b.append_value(v as f64),
            Column::Int(b) => b.append_value(v),
            _ => return Err(E::custom("number")),
        }
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        match (self.0, i64::try_from(v)) {
            (Column::Float(b), _) => b.append_value(v as f64),
            (Column::Int(b), Ok(v)) => b.append_value(v),
            _ => return Err(E::custom("number")),
        }
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        match self.0 {
            Column::Bool(b) => b.append_value(v),
            _ => return Err(E::custom("boolean")),
        }
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Column::Text(b) => b.append_value(v),
            _ => return Err(E::custom("string")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("c", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
        ]))
    }

    fn lines(text: &str) -> (Vec<u8>, Vec<(usize, u64)>) {
        let mut buf = Vec::new();
        let mut starts = Vec::new();
        for (i, l) in text.lines().enumerate() {
            starts.push((buf.len(), i as u64 + 1));
            buf.extend_from_slice(l.as_bytes());
            buf.push(b'\n');
        }
        (buf, starts)
    }

    fn arrow_json(schema: &SchemaRef, buf: &[u8]) -> RecordBatch {
        let mut d = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(10_000)
            .build_decoder()
            .unwrap();
        d.decode(buf).unwrap();
        d.flush().unwrap().unwrap()
    }

    #[test]
    fn flat_rows_read_exactly_as_arrow_json_reads_them() {
        let mut text = String::new();
        let mut x: u64 = 7;
        for i in 0..3_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let f = f64::from_bits((x >> 2) | 0x3FF0_0000_0000_0000)
                * if i % 3 == 0 { -1e-7 } else { 1e5 };
            let mut fields = vec![format!("\"x\": {f:e}")];
            if i % 5 != 0 {
                fields.push(format!("\"n\": {}", (x >> 20) as i64 - (1 << 40)));
            }
            if i % 7 == 0 {
                fields.push("\"c\": null".into());
            } else {
                fields.push(format!("\"c\": \"caf\\u00e9 \\\"{}\\\"\"", i % 11));
            }
            if i % 2 == 0 {
                fields.push(format!("\"b\": {}", i % 4 == 0));
            }
            if i % 9 == 0 {
                fields.push("\"extra\": {\"nested\": [1, 2, {\"deep\": true}]}".into());
                fields.push("\"x2\": 12".into());
            }
            if i % 13 == 0 {
                fields.push("\"x\": 3".into());
                fields.remove(0);
            }
            fields.push("\"t\": null".into());
            if i % 4 == 1 {
                fields.reverse();
            }
            text.push_str(&format!("{{{}}}\n", fields.join(", ")));
        }
        text.push_str("{\"x\": -0}\n{\"x\": -0.0}\n{\"x\": 9007199254740993}\n");
        text.push_str("{\"x\": 18446744073709551615, \"n\": -9223372036854775808}\n");
        let (buf, starts) = lines(&text);
        let schema = schema();
        let fast = decode(&schema, &buf, &starts).expect("flat rows are read here");
        let slow = arrow_json(&schema, &buf);
        for (i, f) in schema.fields().iter().enumerate() {
            let (a, b) = (fast.column(i), slow.column(i));
            for r in 0..a.len() {
                let (x, y) = (a.slice(r, 1), b.slice(r, 1));
                assert!(
                    x.to_data() == y.to_data(),
                    "column {} row {r}: {x:?} {y:?} {:?}",
                    f.name(),
                    text.lines().nth(r)
                );
            }
        }
        assert_eq!(fast, slow);
        assert_eq!(fast.num_rows(), 3_004);
    }

    #[test]
    fn anything_else_is_left_to_arrow_json() {
        let schema = schema();
        for (what, text) in [
            ("a string for a number", r#"{"x": "1.5"}"#),
            ("a number for a string", r#"{"c": 5}"#),
            ("a float for an integer", r#"{"n": 1.5}"#),
            ("a nested value for a column", r#"{"x": [1]}"#),
            ("a repeated key", r#"{"x": 1, "x": 2}"#),
            ("a timestamp as text", r#"{"t": "2026-01-01T00:00:00Z"}"#),
            ("two objects on a line", r#"{"x": 1} {"x": 2}"#),
            ("not an object", "[1, 2]"),
            ("broken JSON", r#"{"x": 1"#),
            ("a number out of range", r#"{"x": 1e400}"#),
        ] {
            let (buf, starts) = lines(&format!("{{\"x\": 1}}\n{text}"));
            assert!(decode(&schema, &buf, &starts).is_none(), "{what}");
        }
    }

    #[test]
    fn a_key_that_is_not_utf8_is_left_to_arrow_json_which_refuses_it() {
        let schema = schema();
        let buf = b"{\"x\": 1}\n{\"\xff\": 1}\n".to_vec();
        let starts = vec![(0, 1), (9, 2)];
        assert!(decode(&schema, &buf, &starts).is_none());
        let mut d = arrow::json::ReaderBuilder::new(schema.clone())
            .build_decoder()
            .unwrap();
        let refused = d.decode(&buf).and_then(|_| d.flush());
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn a_required_column_left_empty_is_left_to_arrow_json() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let (buf, starts) = lines("{\"x\": 1}\n{\"y\": 2}");
        assert!(decode(&schema, &buf, &starts).is_none());
        let (buf, starts) = lines("{\"x\": 1}\n{\"x\": 2}");
        assert_eq!(decode(&schema, &buf, &starts).unwrap().num_rows(), 2);
    }
}
