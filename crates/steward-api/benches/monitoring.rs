//! Monitoring benchmark: the real router on a loopback port, driven over HTTP, with the service on
//! a manual clock so windows close when the bench says.
//!
//! A model of 25 features (20 numeric, 5 categorical of 10 categories) plus a numeric
//! `prediction`. Prints medians of several rounds (this machine is shared and noisy):
//! - ingestion of 50,000-row batches through `POST /v1/model-versions/{id}/observations`, each
//!   format side by side in the same run (JSON lines, CSV, Parquet, Arrow IPC stream), without
//!   slices and with 4 (`sliceColumns: ["region"]`): rows/s and feature values/s (rows x 26 / s)
//!   by the wall clock, values per CPU second of the whole process (server and client; the
//!   server profiles a batch on one thread), bytes per row, and the fixed cost of a batch (a
//!   one-row batch in the same format), so the rest is reading and profiling;
//! - closing and evaluating windows of 10,000 rows with no policy bound (the evaluation then
//!   skips the policy) through `Service::run_scheduler_tick`: 50 models, one window each per
//!   round, the tick's time divided by the windows it evaluated; the rows sent as one batch,
//!   as one batch with 4 slices, and as 10 batches (each merged into the window's part as it
//!   arrives; the upload time per batch is reported beside);
//! - the encoded size of a window part (the profile of one slice, batches merged into it) and
//!   of an evaluated slice profile (its sample cut to 256 values), as stored;
//! - 1,000 hourly models each with a baseline and an open window: the CPU of a scheduler pass
//!   when nothing is due, as a share of the 5 s between passes (`scheduler_interval_ms`), and
//!   then the hour's 1,000 windows closing at once.
//!
//! Run: `cargo bench -p steward-api --bench monitoring` (SQLite in a temporary directory), or with
//! `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL (its own CPU is then outside this process
//! and not counted). `BENCH_QUICK=1` is a smoke run (fewer rounds, rows and models), not figures;
//! `BENCH_ONLY=ingest,evaluate,idle` runs only the parts named (to profile one with `perf`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::{Bench, Server, cpu_time, median};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::{Role, WindowId};
use steward_service::monitoring::{Clock, ManualClock};
use steward_service::{KeySource, PolicySettings};

// The same allocator as the `steward` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NUMERIC: usize = 20;
const CATEGORICAL: usize = 5;
const CATEGORIES: usize = 10;
/// Values a row carries: the features and the prediction.
const VALUES_PER_ROW: usize = NUMERIC + CATEGORICAL + 1;
const REGIONS: [&str; 4] = ["eu", "us", "apac", "latam"];
const START: &str = "2026-03-01T12:00:00Z";

/// Sizes of the run; `BENCH_QUICK=1` shrinks them for a smoke run.
struct Plan {
    rounds: usize,
    batch_rows: usize,
    window_rows: usize,
    eval_models: usize,
    idle_models: usize,
    idle_ticks: usize,
    /// `BENCH_ONLY=ingest,evaluate,idle`: the parts to run (all when unset).
    only: Option<String>,
}

impl Plan {
    fn from_env() -> Plan {
        let only = std::env::var("BENCH_ONLY").ok();
        Plan {
            only,
            ..Self::sizes()
        }
    }

    fn runs(&self, part: &str) -> bool {
        self.only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|p| p.trim() == part))
    }

    fn sizes() -> Plan {
        if std::env::var("BENCH_QUICK").is_ok() {
            Plan {
                rounds: 2,
                batch_rows: 5_000,
                window_rows: 1_000,
                eval_models: 5,
                idle_models: 50,
                idle_ticks: 60,
                only: None,
            }
        } else {
            Plan {
                rounds: 5,
                batch_rows: 50_000,
                window_rows: 10_000,
                eval_models: 50,
                idle_models: 1_000,
                idle_ticks: 720,
                only: None,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Data: one table of rows, written in each format.

/// Rows of the model's inputs, column by column; numbers rounded to 3 decimals so that every
/// format carries the same values.
struct Table {
    numeric: Vec<Vec<f64>>,
    categorical: Vec<Vec<u8>>,
    prediction: Vec<f64>,
    region: Vec<u8>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `n` rows; feature j is roughly normal around 10 j with spread 1 + j, categories are skewed
/// towards the first ones, regions cycle.
fn table(n: usize, seed: u64) -> Table {
    let mut rng = Rng(seed | 1);
    let numeric = (0..NUMERIC)
        .map(|j| {
            (0..n)
                .map(|_| {
                    let z = (0..4).map(|_| rng.unit()).sum::<f64>() - 2.0;
                    round3(10.0 * j as f64 + (1.0 + j as f64) * z)
                })
                .collect()
        })
        .collect();
    let categorical = (0..CATEGORICAL)
        .map(|_| {
            (0..n)
                .map(|_| {
                    let a = rng.next() % CATEGORIES as u64;
                    let b = rng.next() % CATEGORIES as u64;
                    a.min(b) as u8
                })
                .collect()
        })
        .collect();
    let prediction = (0..n).map(|_| round3(rng.unit())).collect();
    let region = (0..n).map(|i| (i % REGIONS.len()) as u8).collect();
    Table {
        numeric,
        categorical,
        prediction,
        region,
    }
}

fn numeric_name(j: usize) -> String {
    format!("f{j:02}")
}

fn categorical_name(j: usize) -> String {
    format!("c{j}")
}

fn category(j: usize, k: u8) -> String {
    format!("c{j}_{k}")
}

/// The version's input schema, for `registerModelVersion`.
fn input_schema() -> Value {
    let mut fields: Vec<Value> = (0..NUMERIC)
        .map(|j| json!({"name": numeric_name(j), "type": "FLOAT"}))
        .collect();
    fields.extend(
        (0..CATEGORICAL).map(|j| json!({"name": categorical_name(j), "type": "CATEGORICAL"})),
    );
    Value::Array(fields)
}

impl Table {
    fn len(&self) -> usize {
        self.prediction.len()
    }

    fn csv(&self) -> Vec<u8> {
        let mut names: Vec<String> = (0..NUMERIC).map(numeric_name).collect();
        names.extend((0..CATEGORICAL).map(categorical_name));
        names.extend(["prediction".into(), "region".into()]);
        let mut out = names.join(",");
        out.push('\n');
        for i in 0..self.len() {
            for col in &self.numeric {
                out.push_str(&format!("{},", col[i]));
            }
            for (j, col) in self.categorical.iter().enumerate() {
                out.push_str(&category(j, col[i]));
                out.push(',');
            }
            out.push_str(&format!(
                "{},{}\n",
                self.prediction[i], REGIONS[self.region[i] as usize]
            ));
        }
        out.into_bytes()
    }

    fn json_lines(&self) -> Vec<u8> {
        let mut out = String::new();
        for i in 0..self.len() {
            out.push('{');
            for (j, col) in self.numeric.iter().enumerate() {
                out.push_str(&format!("\"{}\":{},", numeric_name(j), col[i]));
            }
            for (j, col) in self.categorical.iter().enumerate() {
                out.push_str(&format!(
                    "\"{}\":\"{}\",",
                    categorical_name(j),
                    category(j, col[i])
                ));
            }
            out.push_str(&format!(
                "\"prediction\":{},\"region\":\"{}\"}}\n",
                self.prediction[i], REGIONS[self.region[i] as usize]
            ));
        }
        out.into_bytes()
    }

    fn record_batch(&self) -> arrow::record_batch::RecordBatch {
        use arrow::array::{ArrayRef, Float64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (j, col) in self.numeric.iter().enumerate() {
            fields.push(Field::new(numeric_name(j), DataType::Float64, true));
            columns.push(Arc::new(Float64Array::from(col.clone())));
        }
        for (j, col) in self.categorical.iter().enumerate() {
            fields.push(Field::new(categorical_name(j), DataType::Utf8, true));
            let values: Vec<String> = col.iter().map(|&k| category(j, k)).collect();
            columns.push(Arc::new(StringArray::from(values)));
        }
        fields.push(Field::new("prediction", DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(self.prediction.clone())));
        fields.push(Field::new("region", DataType::Utf8, true));
        let regions: Vec<&str> = self.region.iter().map(|&r| REGIONS[r as usize]).collect();
        columns.push(Arc::new(StringArray::from(regions)));
        arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    fn arrow_stream(&self) -> Vec<u8> {
        let batch = self.record_batch();
        let mut out = Vec::new();
        let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        out
    }

    /// Snappy-compressed, as pandas and Spark write Parquet by default.
    fn parquet(&self) -> Vec<u8> {
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        let batch = self.record_batch();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut out = Vec::new();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    JsonLines,
    Csv,
    Parquet,
    Arrow,
}

const FORMATS: [Format; 4] = [
    Format::JsonLines,
    Format::Csv,
    Format::Parquet,
    Format::Arrow,
];

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::JsonLines => "JSON lines",
            Format::Csv => "CSV",
            Format::Parquet => "Parquet (snappy)",
            Format::Arrow => "Arrow IPC stream",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::JsonLines => "application/x-ndjson",
            Format::Csv => "text/csv",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Arrow => "application/vnd.apache.arrow.stream",
        }
    }

    fn encode(self, t: &Table) -> Bytes {
        Bytes::from(match self {
            Format::JsonLines => t.json_lines(),
            Format::Csv => t.csv(),
            Format::Parquet => t.parquet(),
            Format::Arrow => t.arrow_stream(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The server side: a model set up through the API.

async fn server() -> (Server, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let c = clock.clone();
    let server = Server::start_with(
        ApiConfig::default(),
        PolicySettings::default(),
        KeySource::Hs256 {
            secret: vec![7; 32],
        },
        move |s| s.with_clock(c),
    )
    .await;
    (server, clock)
}

/// A model under monitoring: its ids and the observations route of its version.
struct Monitored {
    version: String,
    observations: String,
}

/// Sends a body to a REST route; panics unless it is accepted (201).
async fn upload(
    b: &Bench,
    url: &str,
    content_type: &str,
    key: Option<String>,
    body: Bytes,
) -> Value {
    let mut req = b
        .client
        .post(url)
        .bearer_auth(&b.token)
        .header("content-type", content_type);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let resp = req.body(body).send().await.expect("request");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    assert_eq!(status.as_u16(), 201, "{url}: {v}");
    v
}

/// Registers a model and a version of 25 features, configures its slices, uploads a baseline.
async fn monitored(
    server: &Server,
    b: &Bench,
    name: &str,
    slices: &[&str],
    baseline: Bytes,
) -> Monitored {
    let model = b
        .gql(
            "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
            json!({"i": {"name": name, "ownerTeam": "risk", "riskTier": "HIGH"}}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let version = b
        .gql(
            "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
            json!({"i": {"modelId": model, "artifactUri": format!("s3://models/{name}/1"),
                "artifactDigest": format!("sha256:{}", "ab".repeat(32)), "framework": "xgboost",
                "inputSchema": input_schema()}}),
        )
        .await["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    if !slices.is_empty() {
        b.gql(
            "mutation($i: ConfigureMonitoringInput!) { configureMonitoring(input: $i) { sliceColumns } }",
            json!({"i": {"modelId": model, "sliceColumns": slices}}),
        )
        .await;
    }
    let url = server.route(&format!("/v1/model-versions/{version}/baselines"));
    let got = upload(b, &url, "text/csv", None, baseline).await;
    assert_eq!(
        got["features"].as_i64(),
        Some(VALUES_PER_ROW as i64),
        "the baseline profiles 25 features and the prediction: {got}"
    );
    Monitored {
        observations: server.route(&format!("/v1/model-versions/{version}/observations")),
        version,
    }
}

/// The version's newest window.
async fn newest_window(b: &Bench, version: &str) -> WindowId {
    let v = b
        .gql(
            "query($v: ID!) { windows(modelVersionId: $v, first: 1) { id } }",
            json!({"v": version}),
        )
        .await;
    let id = v["windows"][0]["id"].as_str().unwrap();
    WindowId::from_uuid(id.parse().unwrap())
}

fn at(clock: &ManualClock, t: &str) {
    clock.set(t.parse::<DateTime<Utc>>().unwrap());
}

fn key() -> Option<String> {
    Some(uuid::Uuid::now_v7().to_string())
}

/// CPU time of this process's live threads (user + system, nanosecond resolution), summed from
/// /proc/self/task/*/schedstat. Threads that exit take theirs along, so only for short spans.
fn threads_cpu() -> std::time::Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            ns += stat
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    std::time::Duration::from_nanos(ns)
}

fn per_second(n: f64, seconds: f64) -> f64 {
    n / seconds.max(1e-9)
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Ingestion.

struct Bodies {
    format: Format,
    big: Bytes,
    one: Bytes,
}

/// Returns the (rows, bytes) of every window part the batches left.
async fn ingestion(plan: &Plan) -> Vec<(i64, usize)> {
    let (server, _clock) = server().await;
    let b = server.client(&[Role::ModelOwner]);
    let baseline = Bytes::from(table(10_000, 1).csv());
    let plain = monitored(&server, &b, "plain", &[], baseline.clone()).await;
    let sliced = monitored(&server, &b, "sliced", &["region"], baseline).await;
    let big = table(plan.batch_rows, 2);
    let one = table(1, 3);
    let bodies: Vec<Bodies> = FORMATS
        .iter()
        .map(|&format| Bodies {
            format,
            big: format.encode(&big),
            one: format.encode(&one),
        })
        .collect();
    // Warm up every path once (allocator, SQLite pages, the first spawn_blocking threads).
    for m in [&plain, &sliced] {
        for body in &bodies {
            let ct = body.format.content_type();
            upload(&b, &m.observations, ct, key(), body.one.clone()).await;
            upload(&b, &m.observations, ct, key(), body.big.clone()).await;
        }
    }
    println!(
        "\n1. ingestion through POST /v1/model-versions/{{id}}/observations, {} rows a batch, {VALUES_PER_ROW} values a row, one client, medians of {} batches (formats interleaved)",
        thousands(plan.batch_rows as f64),
        plan.rounds
    );
    println!(
        "{:<18} {:<7} {:>9} {:>10} {:>10} {:>12} {:>15} {:>10} {:>12}",
        "format",
        "slices",
        "bytes/row",
        "ms/batch",
        "rows/s",
        "values/s",
        "values/CPU-s",
        "1-row ms",
        "rest ms"
    );
    for (label, m) in [("none", &plain), ("4", &sliced)] {
        // Per format: wall seconds, CPU seconds of a big batch, wall seconds of a one-row batch.
        let mut wall = vec![Vec::new(); bodies.len()];
        let mut cpu = vec![Vec::new(); bodies.len()];
        let mut fixed = vec![Vec::new(); bodies.len()];
        for _ in 0..plan.rounds {
            for (i, body) in bodies.iter().enumerate() {
                let ct = body.format.content_type();
                let t = Instant::now();
                upload(&b, &m.observations, ct, key(), body.one.clone()).await;
                fixed[i].push(t.elapsed().as_secs_f64());
                let (t, c) = (Instant::now(), cpu_time());
                let got = upload(&b, &m.observations, ct, key(), body.big.clone()).await;
                wall[i].push(t.elapsed().as_secs_f64());
                cpu[i].push((cpu_time() - c).as_secs_f64());
                assert_eq!(got["rows"].as_u64(), Some(plan.batch_rows as u64), "{got}");
            }
        }
        for (i, body) in bodies.iter().enumerate() {
            let rows = plan.batch_rows as f64;
            let w = median(wall[i].clone());
            let c = median(cpu[i].clone());
            let f = median(fixed[i].clone());
            println!(
                "{:<18} {:<7} {:>9.1} {:>10.1} {:>10} {:>12} {:>15} {:>10.2} {:>12.1}",
                body.format.name(),
                label,
                body.big.len() as f64 / rows,
                w * 1e3,
                thousands(per_second(rows, w)),
                thousands(per_second(rows * VALUES_PER_ROW as f64, w)),
                thousands(per_second(rows * VALUES_PER_ROW as f64, c)),
                f * 1e3,
                (w - f) * 1e3,
            );
        }
    }
    println!(
        "   (goals: >= 200,000 rows/s from JSON lines; >= 1,000,000 values/s per core from Parquet or Arrow. \
         values/CPU-s: the process's CPU, server and client, so per core; 1-row ms: a one-row batch in the same format, \
         the fixed cost of a request (auth, lookups, a transaction with its audit event and fsync); \
         rest ms: ms/batch minus that, reading and profiling)"
    );
    // The parts the batches left in the open windows: one per slice, all batches merged.
    let mut sizes = Vec::new();
    for m in [&plain, &sliced] {
        let w = newest_window(&b, &m.version).await;
        let (parts, _) = server.db.profile_bytes(&server.owner, w).await.unwrap();
        sizes.extend(parts.into_iter().map(|(_, rows, bytes)| (rows, bytes)));
    }
    sizes
}

// ---------------------------------------------------------------------------------------------
// 2. and 3. Closing windows, and what their profiles weigh.

struct Evaluation {
    ms_per_window: f64,
    cpu_ms_per_window: f64,
    windows: usize,
    /// Median wall time of one upload into the windows (merging included).
    upload_ms: f64,
    part_bytes: Vec<usize>,
    slice_bytes: Vec<usize>,
}

/// `plan.eval_models` models with `slices`, each window filled by `batches` batches that add up to
/// `plan.window_rows` rows (each merged into the window's part per slice as it arrives).
async fn evaluation(plan: &Plan, slices: &[&str], batches: usize) -> Evaluation {
    let (server, clock) = server().await;
    let b = server.client(&[Role::ModelOwner]);
    let baseline = Bytes::from(table(10_000, 1).csv());
    let mut models = Vec::new();
    for i in 0..plan.eval_models {
        models.push(monitored(&server, &b, &format!("eval-{i}"), slices, baseline.clone()).await);
    }
    let body = Format::Parquet.encode(&table(plan.window_rows / batches, 4));
    let start: DateTime<Utc> = START.parse().unwrap();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let (mut part_bytes, mut slice_bytes) = (Vec::new(), Vec::new());
    let mut uploads = Vec::new();
    let mut evaluated = 0;
    for round in 0..plan.rounds {
        let hour = start + chrono::Duration::hours(round as i64);
        clock.set(hour + chrono::Duration::minutes(30));
        for m in &models {
            for _ in 0..batches {
                let t = Instant::now();
                upload(
                    &b,
                    &m.observations,
                    Format::Parquet.content_type(),
                    key(),
                    body.clone(),
                )
                .await;
                uploads.push(t.elapsed().as_secs_f64());
            }
        }
        let w = newest_window(&b, &models[0].version).await;
        let (parts, _) = server.db.profile_bytes(&server.owner, w).await.unwrap();
        part_bytes.extend(parts.iter().map(|p| p.2));
        // Past the window's end and its lateness (300 s by default).
        clock.set(hour + chrono::Duration::minutes(65) + chrono::Duration::seconds(1));
        let (t, c) = (Instant::now(), cpu_time());
        let tick = server.state.service.run_scheduler_tick().await.unwrap();
        let (t, c) = (t.elapsed().as_secs_f64(), (cpu_time() - c).as_secs_f64());
        assert_eq!(
            (tick.evaluated, tick.failed),
            (models.len(), 0),
            "every window closes in one tick"
        );
        evaluated += tick.evaluated;
        wall.push(t / tick.evaluated as f64);
        cpu.push(c / tick.evaluated as f64);
        let (_, done) = server.db.profile_bytes(&server.owner, w).await.unwrap();
        slice_bytes.extend(done.iter().map(|s| s.2));
    }
    Evaluation {
        ms_per_window: median(wall) * 1e3,
        cpu_ms_per_window: median(cpu) * 1e3,
        windows: evaluated,
        upload_ms: median(uploads) * 1e3,
        part_bytes,
        slice_bytes,
    }
}

fn spread(mut xs: Vec<usize>) -> String {
    xs.sort();
    match (xs.first(), xs.last()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} B"),
        (Some(lo), Some(hi)) => format!("{lo}-{hi} B (median {})", xs[xs.len() / 2]),
        _ => "none".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The scheduler between windows.

async fn idle_scheduler(plan: &Plan) {
    let (server, clock) = server().await;
    let b = Arc::new(server.client(&[Role::ModelOwner]));
    let server = Arc::new(server);
    let baseline = Bytes::from(table(1_000, 1).csv());
    let body = Format::Parquet.encode(&table(100, 5));
    at(&clock, "2026-03-01T12:00:10Z");
    let t = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (server, b, next) = (server.clone(), b.clone(), next.clone());
        let (baseline, body) = (baseline.clone(), body.clone());
        let n = plan.idle_models;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let m = monitored(&server, &b, &format!("idle-{i}"), &[], baseline.clone()).await;
                upload(
                    &b,
                    &m.observations,
                    Format::Parquet.content_type(),
                    key(),
                    body.clone(),
                )
                .await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "\n4. {} hourly models, each with a baseline and an open window (set up in {:.0} s); scheduler passes every 5 s of the manual clock while nothing is due",
        thousands(plan.idle_models as f64),
        t.elapsed().as_secs_f64()
    );
    // One hour of passes, 5 s apart, all before the windows close (13:05): nothing is due. CPU
    // per pass from the threads' schedstat (nanoseconds); the process's CPU clock (10 ms
    // steps) over all passes as a check.
    let (mut cpu, mut walls) = (Vec::new(), Vec::new());
    let start = clock.now();
    let total = cpu_time();
    for n in 1..=plan.idle_ticks {
        clock.set(start + chrono::Duration::seconds(5 * n as i64));
        let (t, c) = (Instant::now(), threads_cpu());
        let tick = server.state.service.run_scheduler_tick().await.unwrap();
        cpu.push((threads_cpu() - c).as_secs_f64());
        walls.push(t.elapsed().as_secs_f64());
        assert_eq!(tick, Default::default(), "nothing is due before 13:05");
    }
    let total = (cpu_time() - total).as_secs_f64() / plan.idle_ticks as f64;
    let cpu_tick = median(cpu);
    println!(
        "   idle pass: {:.3} ms wall, {:.3} ms CPU (median of {} passes; {:.3} ms CPU on average by the process clock) = {:.4}% of a core at one pass per 5 s   (goal < 5%)",
        median(walls) * 1e3,
        cpu_tick * 1e3,
        plan.idle_ticks,
        total * 1e3,
        cpu_tick.max(total) / 5.0 * 100.0
    );
    // The hour ends: every window is due at once; passes of at most 100 windows drain them.
    at(&clock, "2026-03-01T13:05:01Z");
    let (t, c) = (Instant::now(), cpu_time());
    let (mut passes, mut windows) = (0, 0);
    loop {
        let tick = server.state.service.run_scheduler_tick().await.unwrap();
        assert_eq!(tick.failed, 0);
        if tick.evaluated == 0 {
            break;
        }
        passes += 1;
        windows += tick.evaluated;
    }
    let (t, c) = (t.elapsed().as_secs_f64(), (cpu_time() - c).as_secs_f64());
    println!(
        "   then the hour closes: {windows} windows (100 rows each) in {passes} passes, {:.1} s wall, {:.1} s CPU: {:.2} ms per window; {:.2}% of a core averaged over the hour",
        t,
        c,
        t * 1e3 / windows.max(1) as f64,
        c / 3600.0 * 100.0
    );
}

fn main() {
    let plan = Plan::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let backend = if std::env::var("STEWARD_TEST_PG_URL").is_ok() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        println!(
            "backend: {backend}; a model of {NUMERIC} numeric and {CATEGORICAL} categorical features ({CATEGORIES} categories) plus a numeric prediction; medians of {} rounds",
            plan.rounds
        );
        let parts = if plan.runs("ingest") {
            ingestion(&plan).await
        } else {
            Vec::new()
        };
        if plan.runs("evaluate") {
            let plain = evaluation(&plan, &[], 1).await;
            let sliced = evaluation(&plan, &["region"], 1).await;
            let batched = evaluation(&plan, &[], 10).await;
            report_evaluation(&plan, &[&plain, &sliced, &batched], parts);
        }
        if plan.runs("idle") {
            idle_scheduler(&plan).await;
        }
    });
}

/// Parts 2 and 3: closing windows, and the sizes of the profiles they stored (with the parts the
/// ingestion runs left, when they ran).
fn report_evaluation(plan: &Plan, runs: &[&Evaluation; 3], parts: Vec<(i64, usize)>) {
    let [plain, sliced, batched] = *runs;
    println!(
        "\n2. closing and evaluating windows of {} rows, no policy bound, {} models x 1 window per tick, medians of {} ticks",
        thousands(plan.window_rows as f64),
        plan.eval_models,
        plan.rounds
    );
    for (label, e) in [
        ("one batch, no slices", plain),
        ("one batch, 4 slices", sliced),
        ("10 batches, no slices", batched),
    ] {
        println!(
            "   {label:<22} {:>7.2} ms per window wall, {:>7.2} ms CPU   ({} windows)   (goal < 10 ms); uploads {:.2} ms per batch",
            e.ms_per_window, e.cpu_ms_per_window, e.windows, e.upload_ms
        );
    }

    println!("\n3. stored profiles (MessagePack), {VALUES_PER_ROW} features");
    println!(
        "   window part, one {}-row batch, whole window:   {}",
        thousands(plan.window_rows as f64),
        spread(plain.part_bytes.clone())
    );
    println!(
        "   window part, one {}-row batch, one of 4 slices: {}",
        thousands(plan.window_rows as f64),
        spread(sliced.part_bytes.clone())
    );
    println!(
        "   window part, 10 batches of {} rows merged:     {}",
        thousands((plan.window_rows / 10) as f64),
        spread(batched.part_bytes.clone())
    );
    let mut by_rows: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
    for (rows, bytes) in parts {
        by_rows.entry(rows).or_default().push(bytes);
    }
    for (rows, bytes) in by_rows {
        println!(
            "   window part of {} rows (ingestion runs, {} parts):   {}",
            thousands(rows as f64),
            bytes.len(),
            spread(bytes)
        );
    }
    println!(
        "   evaluated slice profile (merged), no slices:   {}",
        spread(plain.slice_bytes.clone())
    );
    println!(
        "   evaluated slice profiles, 4 slices + whole:   {}",
        spread(sliced.slice_bytes.clone())
    );
    println!(
        "   evaluated slice profile, 10 batches:          {}",
        spread(batched.slice_bytes.clone())
    );
}
