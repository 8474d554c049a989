//! How fast JSON lines can be read: arrow-json's decoder against steward-ingest's `Source` (which
//! reads flat rows with its own decoder, `flatjson.rs`) and serde_json parsing the same 50,000
//! rows of 26 values (only validating, and into maps), five rounds, side by side.
//! `cargo run --release -p steward-ingest --example json_probe`; figures in docs/performance.md.
use arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let n = 50_000;
    let mut s = String::new();
    let mut x: u64 = 1;
    for i in 0..n {
        s.push('{');
        for j in 0..20 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(&format!("\"num_{j:02}\":{:.3},", (x >> 40) as f64 / 1000.0));
        }
        for j in 0..5 {
            s.push_str(&format!("\"cat_{j}\":\"c{}_{}\",", j, (i + j) % 10));
        }
        s.push_str(&format!(
            "\"prediction\":{:.3}}}\n",
            (i % 1000) as f64 / 1000.0
        ));
    }
    let bytes = s.into_bytes();
    let mut fields = Vec::new();
    for j in 0..20 {
        fields.push(Field::new(format!("num_{j:02}"), DataType::Float64, true));
    }
    for j in 0..5 {
        fields.push(Field::new(format!("cat_{j}"), DataType::Utf8, true));
    }
    fields.push(Field::new("prediction", DataType::Float64, true));
    let schema = Arc::new(Schema::new(fields));
    if std::env::var("PROBE").as_deref() == Ok("source") {
        // Only steward-ingest's Source, twenty rounds: for `perf record`.
        for round in 0..20 {
            let t = Instant::now();
            let rows = read_source(&bytes, &schema);
            println!("round {round}: Source {rows} rows {:?}", t.elapsed());
        }
        return;
    }
    for round in 0..5 {
        let t = Instant::now();
        let mut d = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(8192)
            .build_decoder()
            .unwrap();
        let mut rows = 0;
        let mut off = 0;
        while off < bytes.len() {
            let used = d.decode(&bytes[off..]).unwrap();
            off += used;
            if let Some(b) = d.flush().unwrap() {
                rows += b.num_rows();
            }
        }
        if let Some(b) = d.flush().unwrap() {
            rows += b.num_rows();
        }
        let a = t.elapsed();
        let t = Instant::now();
        let ours = read_source(&bytes, &schema);
        let o = t.elapsed();
        let t = Instant::now();
        let mut m = 0;
        for v in serde_json::Deserializer::from_slice(&bytes).into_iter::<serde::de::IgnoredAny>() {
            v.unwrap();
            m += 1;
        }
        let b = t.elapsed();
        let t = Instant::now();
        let mut k = 0;
        for v in serde_json::Deserializer::from_slice(&bytes)
            .into_iter::<std::collections::HashMap<String, serde_json::Value>>()
        {
            k += v.unwrap().len();
        }
        let c = t.elapsed();
        println!(
            "round {round}: {} MB, arrow-json {rows} rows {a:?}; steward-ingest Source {ours} rows {o:?}; serde_json parse-only {m} {b:?}; serde_json maps {k} {c:?}",
            bytes.len() >> 20
        );
    }
}

/// The rows steward-ingest's `Source` reads from `bytes` as JSON lines of `schema`.
fn read_source(bytes: &[u8], schema: &arrow::datatypes::SchemaRef) -> usize {
    let options = steward_ingest::Options {
        format: Some(steward_ingest::Format::JsonLines),
        schema: Some(schema.clone()),
        batch_rows: steward_ingest::DEFAULT_BATCH_ROWS,
        optional: Vec::new(),
    };
    let body = bytes::Bytes::from(bytes.to_vec());
    let source = steward_ingest::Source::from_bytes("probe", body, &options).unwrap();
    source
        .batches(None)
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum()
}
