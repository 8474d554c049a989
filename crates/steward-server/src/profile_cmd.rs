//! `steward profile FILE --schema schema.json -o profile.json`: computes a baseline profile where
//! the data lives, exactly as the server would from the same file, so a large or sensitive
//! reference set never has to leave its machine. Upload the result with
//! `POST /v1/model-versions/{id}/baselines` as `application/json`.
//!
//! The schema file is the version's input schema as JSON: `[{"name": "amount", "type":
//! "float"}, ...]` (types `float`, `integer`, `boolean`, `string`, `categorical`, `timestamp`,
//! upper or lower case). A `prediction` column, when the file has one, is profiled as the
//! prediction.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use steward_domain::registry::{Feature, FeatureType, validate_schema};

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The reference data set (CSV, JSON lines, Parquet, Arrow IPC).
    pub file: PathBuf,
    /// The model version's input schema as JSON.
    #[arg(long)]
    pub schema: PathBuf,
    /// Where to write the profile (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Read the `prediction` column as labels rather than scores.
    #[arg(long)]
    pub categorical_prediction: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

fn read_schema(path: &PathBuf) -> Result<Vec<Feature>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<SchemaEntry> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected [{{\"name\": ..., \"type\": ...}}, ...]",
            path.display()
        )
    })?;
    let mut features = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let kind: FeatureType = e
            .kind
            .to_ascii_lowercase()
            .parse()
            .with_context(|| format!("{}: [{i}] ({:?})", path.display(), e.name))?;
        features.push(Feature { name: e.name, kind });
    }
    if let Err(e) = validate_schema("schema", &features) {
        bail!("{}: {e}", path.display());
    }
    Ok(features)
}

fn execute(args: &ProfileArgs) -> Result<()> {
    let schema = read_schema(&args.schema)?;
    let progress = crate::cli::Progress::spinner(&format!("profiling {}", args.file.display()));
    let json =
        steward_service::monitoring::profile_file(&args.file, &schema, args.categorical_prediction)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(progress);
    match &args.output {
        Some(path) => std::fs::write(path, json + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}

/// Runs the command; exit 0 on success, 2 on an error (printed).
pub fn run(args: &ProfileArgs) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
