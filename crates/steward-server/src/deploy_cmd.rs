//! `steward deploy request`: a pipeline asks for a promotion over the API (a service token in
//! `STEWARD_TOKEN`) and, with `--wait`, follows it to its end, printing each change. Exit codes:
//! 0 promoted (or, for a shadow, mirroring), 1 denied, rejected, withdrawn or aborted (rolled
//! back), 2 any error, including a wait that timed out.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::cli::{OutputFormat, Progress, print_json};

#[derive(Subcommand)]
pub enum DeployCommand {
    /// Request a promotion of a model version on an endpoint.
    Request(RequestArgs),
}

#[derive(Args)]
pub struct RequestArgs {
    /// The endpoint's name.
    #[arg(long)]
    endpoint: String,
    /// The model version's number.
    #[arg(long)]
    version: i64,
    /// The artifact digest the pipeline built (`sha256:…`); the registry's when left out.
    #[arg(long)]
    digest: Option<String>,
    /// `champion` (through the plan's canary steps) or `shadow`.
    #[arg(long, default_value = "champion")]
    mode: String,
    /// A rollout plan as JSON: `{"steps": [{"percent": 5, "bakeMinutes": 30, "onFailure":
    /// "ABORT", "onInconclusive": "PAUSE"}], "mirrorPercent": 0}`, or a file holding it.
    #[arg(long)]
    plan: Option<String>,
    /// Why (recorded with the request).
    #[arg(long, default_value = "requested by a pipeline")]
    reason: String,
    /// A retried command with the same key gets the request the first one made (use the CI
    /// run's id).
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Follow the request until it is promoted or stopped.
    #[arg(long)]
    wait: bool,
    /// Longest wait, such as 30m, 2h (with --wait).
    #[arg(long, default_value = "2h")]
    timeout: String,
    /// Seconds between looks (with --wait).
    #[arg(long, default_value_t = 10)]
    poll: u64,
    /// Steward's URL.
    #[arg(long, env = "STEWARD_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A bearer token (a service account's, in CI).
    #[arg(long, env = "STEWARD_TOKEN", hide_env_values = true)]
    token: String,
    /// Output format: `text` prints a line per change; `json` prints the request as it ends
    /// (or as it is, without --wait) as one JSON document.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// Runs the command; the exit code as documented above.
pub async fn run(command: DeployCommand) -> ExitCode {
    let DeployCommand::Request(args) = command;
    match request(&args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Api<'a> {
    client: reqwest::Client,
    url: String,
    token: &'a str,
}

impl Api<'_> {
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let resp = self
            .client
            .post(&self.url)
            .bearer_auth(self.token)
            .header("content-type", "application/json")
            .body(json!({"query": query, "variables": variables}).to_string())
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = resp.status();
        let body: Value = serde_json::from_slice(&resp.bytes().await?)
            .with_context(|| format!("{} answered {status} without JSON", self.url))?;
        if let Some(e) = body["errors"].get(0) {
            bail!(
                "{} ({})",
                e["message"].as_str().unwrap_or("request failed"),
                e["extensions"]["code"].as_str().unwrap_or("?")
            );
        }
        Ok(body["data"].clone())
    }
}

/// The plan: inline JSON or a file of it.
fn plan(arg: Option<&str>) -> anyhow::Result<Value> {
    let Some(text) = arg else {
        return Ok(Value::Null);
    };
    let text = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        std::fs::read_to_string(text).with_context(|| format!("--plan: cannot read {text}"))?
    };
    serde_json::from_str(&text).context("--plan: not JSON")
}

fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().with_context(|| format!("--timeout: {s:?}"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("--timeout: {s:?} (use s, m or h)"),
    };
    Ok(Duration::from_secs(secs))
}

/// The exit code a request's status means, once it is final.
fn final_code(status: &str) -> Option<ExitCode> {
    match status {
        "PROMOTED" => Some(ExitCode::SUCCESS),
        "DENIED" | "REJECTED" | "CANCELLED" | "ABORTED" => Some(ExitCode::from(1)),
        _ => None,
    }
}

fn describe(r: &Value) -> String {
    let status = r["status"].as_str().unwrap_or("?");
    let mut line = format!("request {}: {}", r["id"].as_str().unwrap_or("?"), status);
    let v = &r["verdict"]["verdict"];
    if status == "AWAITING_APPROVAL" && v["kind"] == "require_approval" {
        let counting = r["approvals"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|x| x["counts"] == true).count());
        line.push_str(&format!(
            " ({counting} of {} approvals by {})",
            v["count"],
            v["role"].as_str().unwrap_or("?")
        ));
    }
    if matches!(status, "ROLLING" | "PAUSED") {
        let step = r["step"].as_i64().unwrap_or(-1);
        let percent = &r["plan"]["steps"][usize::try_from(step).unwrap_or(0)]["percent"];
        line.push_str(&format!(" (step {} at {percent}%)", step + 1));
    }
    if let Some(o) = r["outcome"].as_str() {
        line.push_str(&format!(": {o}"));
    }
    line
}

const FIELDS: &str =
    "id status step outcome verdict plan { steps { percent } } approvals { counts }";

async fn request(a: &RequestArgs) -> anyhow::Result<ExitCode> {
    let api = Api {
        client: reqwest::Client::new(),
        url: format!("{}/graphql", a.url.trim_end_matches('/')),
        token: &a.token,
    };
    let mode = match a.mode.as_str() {
        "champion" => "CHAMPION",
        "shadow" => "SHADOW",
        other => bail!("--mode: {other:?} (champion or shadow)"),
    };
    let e = api
        .call(
            "query($n: String) { endpoint(name: $n) { id modelId } }",
            json!({"n": a.endpoint}),
        )
        .await
        .with_context(|| format!("endpoint `{}`", a.endpoint))?;
    let (endpoint, model) = (&e["endpoint"]["id"], &e["endpoint"]["modelId"]);
    let mut after = Value::Null;
    let version = loop {
        let page = api
            .call(
                "query($m: ID!, $a: String) { model(id: $m) { versions(first: 100, after: $a) { nodes { id version artifactDigest } pageInfo { hasNextPage endCursor } } } }",
                json!({"m": model, "a": after}),
            )
            .await?;
        let versions = &page["model"]["versions"];
        let nodes = versions["nodes"].as_array().cloned().unwrap_or_default();
        if let Some(v) = nodes.into_iter().find(|v| v["version"] == a.version) {
            break v;
        }
        if versions["pageInfo"]["hasNextPage"] != true {
            bail!("the endpoint's model has no version {}", a.version);
        }
        after = versions["pageInfo"]["endCursor"].clone();
    };
    let digest = match &a.digest {
        Some(d) => d.clone(),
        None => version["artifactDigest"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let q = format!(
        "mutation($i: RequestPromotionInput!) {{ requestPromotion(input: $i) {{ {FIELDS} }} }}"
    );
    let input = json!({"endpointId": endpoint, "candidateVersionId": version["id"],
        "artifactDigest": digest, "mode": mode, "plan": plan(a.plan.as_deref())?,
        "reason": a.reason, "idempotencyKey": a.idempotency_key});
    let mut r = api.call(&q, json!({"i": input})).await?["requestPromotion"].clone();
    let text = a.format == OutputFormat::Text;
    if text {
        println!("{}", describe(&r));
    }
    let status = r["status"].as_str().unwrap_or_default().to_string();
    let done = |r: &Value, code: ExitCode| {
        if !text {
            print_json(r);
        }
        Ok(code)
    };
    if let Some(code) = final_code(&status) {
        return done(&r, code);
    }
    if !a.wait {
        return done(&r, ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + parse_duration(&a.timeout)?;
    let mut last = describe(&r);
    let mut said = Instant::now();
    let waiting = Progress::spinner(&last);
    let q = format!("query($i: ID!) {{ promotionRequest(id: $i) {{ {FIELDS} }} }}");
    loop {
        if Instant::now() >= deadline {
            bail!("timed out after {}; {last}", a.timeout);
        }
        tokio::time::sleep(Duration::from_secs(a.poll.max(1))).await;
        r = api.call(&q, json!({"i": r["id"]})).await?["promotionRequest"].clone();
        let now = describe(&r);
        waiting.say(&now);
        if now != last || said.elapsed() > Duration::from_secs(60) {
            if text {
                waiting.suspend(|| println!("{now}"));
            }
            (last, said) = (now, Instant::now());
        }
        if let Some(code) = r["status"].as_str().and_then(final_code) {
            drop(waiting);
            return done(&r, code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_exit_codes() {
        assert_eq!(final_code("PROMOTED"), Some(ExitCode::SUCCESS));
        for s in ["DENIED", "REJECTED", "CANCELLED", "ABORTED"] {
            assert_eq!(final_code(s), Some(ExitCode::from(1)), "{s}");
        }
        assert_eq!(final_code("ROLLING"), None);
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("2d").is_err());
    }

    #[test]
    fn progress_names_the_approvals_and_the_step() {
        let r = json!({"id": "r1", "status": "AWAITING_APPROVAL", "step": -1,
            "verdict": {"verdict": {"kind": "require_approval", "role": "governance_officer", "count": 2}},
            "approvals": [{"counts": true}, {"counts": false}]});
        assert_eq!(
            describe(&r),
            "request r1: AWAITING_APPROVAL (1 of 2 approvals by governance_officer)"
        );
        let r = json!({"id": "r1", "status": "ROLLING", "step": 1,
            "plan": {"steps": [{"percent": 5}, {"percent": 25}]}});
        assert_eq!(describe(&r), "request r1: ROLLING (step 2 at 25%)");
    }
}
