//! The layering rules of docs/ARCHITECTURE.md, checked on the resolved dependency graph
//! (`cargo metadata`): pure crates (and steward-ingest, sync and storage-free) pull in no async
//! runtime, ORM or web framework; steward-ingest uses no Steward crate but the domain, and the
//! statistics never read files; the API never reaches the store, the audit log or the policy
//! engine but through the service; rhai's `unchecked` feature is never enabled.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

struct Graph {
    /// package id -> (name, normal dependency ids, enabled features)
    nodes: HashMap<String, (String, Vec<String>, Vec<String>)>,
    by_name: HashMap<String, String>,
}

/// The host's target triple, so metadata need not resolve (or download) other platforms' crates.
fn host() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

fn graph() -> &'static Graph {
    static GRAPH: std::sync::OnceLock<Graph> = std::sync::OnceLock::new();
    GRAPH.get_or_init(load)
}

fn load() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &host(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut nodes = HashMap::new();
    let mut by_name = HashMap::new();
    for n in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = n["id"].as_str().unwrap().to_string();
        let deps = n["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect();
        let features = n["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        let name = names[&id].clone();
        by_name.insert(name.clone(), id.clone());
        nodes.insert(id, (name, deps, features));
    }
    Graph { nodes, by_name }
}

impl Graph {
    /// Names of the packages `krate` names directly in its `[dependencies]`.
    fn direct(&self, krate: &str) -> BTreeSet<String> {
        self.nodes[&self.by_name[krate]]
            .1
            .iter()
            .map(|d| self.nodes[d].0.clone())
            .collect()
    }

    /// Names of every package `krate` depends on at run time (normal dependencies, transitively).
    fn closure(&self, krate: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.by_name[krate].clone()];
        while let Some(id) = stack.pop() {
            for dep in &self.nodes[&id].1 {
                if seen.insert(self.nodes[dep].0.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen
    }
}

#[test]
fn pure_crates_stay_pure() {
    let g = graph();
    let forbidden = [
        "tokio",
        "sea-orm",
        "sqlx",
        "axum",
        "hyper",
        "async-graphql",
        "reqwest",
        "tower",
    ];
    for krate in [
        "steward-domain",
        "steward-drift",
        "steward-policy",
        "steward-ingest",
    ] {
        let deps = g.closure(krate);
        for f in forbidden {
            assert!(
                !deps.contains(f),
                "{krate} must not depend on {f} (it does, transitively)"
            );
        }
    }
}

#[test]
fn edges_follow_the_layers() {
    let g = graph();
    // The API reaches storage, the audit log and policies only through the service, never
    // directly: of the workspace's crates it names only the domain and the service.
    let api = g.direct("steward-api");
    for b in ["steward-store", "steward-migrations", "sea-orm"] {
        assert!(
            !api.contains(b),
            "steward-api must not depend on {b} directly"
        );
    }
    let steward: BTreeSet<&str> = api
        .iter()
        .map(String::as_str)
        .filter(|d| d.starts_with("steward-"))
        .collect();
    assert_eq!(
        steward,
        BTreeSet::from(["steward-domain", "steward-service"]),
        "steward-api names only the domain and the service"
    );
    let rules: &[(&str, &[&str])] = &[
        ("steward-service", &["axum", "async-graphql"]),
        (
            "steward-store",
            &["steward-service", "axum", "async-graphql"],
        ),
        ("steward-policy", &["steward-store", "steward-service"]),
    ];
    for (krate, banned) in rules {
        let deps = g.closure(krate);
        for b in *banned {
            assert!(!deps.contains(*b), "{krate} must not depend on {b}");
        }
    }
}

#[test]
fn ingest_sits_on_the_domain_and_drift_reads_no_files() {
    let g = graph();
    let internal: BTreeSet<String> = g
        .direct("steward-ingest")
        .into_iter()
        .filter(|d| d.starts_with("steward-"))
        .collect();
    let allowed: BTreeSet<String> = ["steward-domain".to_owned()].into();
    assert_eq!(
        internal, allowed,
        "steward-ingest may use steward-domain only (ARCHITECTURE.md)"
    );
    let drift = g.closure("steward-drift");
    for b in ["arrow", "parquet", "steward-ingest"] {
        assert!(
            !drift.contains(b),
            "steward-drift stays free of IO and formats, but depends on {b}"
        );
    }
}

#[test]
fn rhai_is_never_unchecked() {
    let g = graph();
    if let Some(id) = g.by_name.get("rhai") {
        let features = &g.nodes[id].2;
        assert!(
            !features.iter().any(|f| f == "unchecked"),
            "rhai's `unchecked` feature disables the sandbox limits"
        );
    }
}
