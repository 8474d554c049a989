//! The `steward` binary: `serve`, `migrate`, `token`, `drift`, `profile`, `policy`, `audit`,
//! `deploy`, `backup` and `completions`. Exit codes per command: docs/cli.md.

mod audit_cmd;
mod cli;
mod deploy_cmd;
mod drift_cmd;
mod policy_cmd;
mod profile_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

// mimalloc: under many threads glibc malloc spent about a third of the server's CPU in the
// registry benchmark (crates/steward-api/benches/registry.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use steward_server::config::{Config, Overrides};
use steward_server::{startup, telemetry};

#[derive(Parser)]
#[command(
    name = "steward",
    version,
    about = "Steward: governance for machine-learning models in production"
)]
struct Cli {
    /// Configuration file (default: ./steward.toml when present).
    #[arg(long, global = true, env = "STEWARD_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (sqlite://steward.db?mode=rwc or postgres://...).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: migrations, then the API on --listen.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed demo tenants, models and lineage, and print a ready-to-use token.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint a development token with the local HS256 secret.
    Token {
        #[arg(long)]
        tenant: String,
        /// A role; repeat for several (viewer, model_owner, policy_author, sre,
        /// governance_officer, service, platform_admin).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        sub: String,
        /// Lifetime such as 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Output format (`json`: `{"token"}`).
        #[arg(long, value_enum, default_value_t)]
        format: cli::OutputFormat,
    },
    /// Compare a current data set with a reference (CSV or Parquet); exit 0 = no drift,
    /// 1 = drift, 2 = error.
    Drift(drift_cmd::DriftArgs),
    /// Compute a baseline profile of a reference data set where the data lives (upload it as
    /// application/json to /v1/model-versions/{id}/baselines); exit 0 = written, 2 = error.
    Profile(profile_cmd::ProfileArgs),
    /// Check, test and replay rhai policies (needs no configuration or database).
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Verify exported audit bundles offline; print the public key auditors should trust.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Ask a running Steward for a promotion (CI/CD): exit 0 = promoted, 1 = denied, rejected
    /// or rolled back, 2 = error. Needs STEWARD_TOKEN (and STEWARD_URL).
    Deploy {
        #[command(subcommand)]
        command: deploy_cmd::DeployCommand,
    },
    /// Copy the SQLite database to a new file while the server keeps running (a consistent
    /// snapshot); the keys are files of their own, to back up beside it. PostgreSQL: pg_dump
    /// (docs/operations.md). Exit 0 = written, 2 = error.
    Backup {
        /// The backup file (must not exist).
        #[arg(long, short)]
        output: PathBuf,
        /// Output format (`json`: `{"database", "output", "bytes", "keys"}`).
        #[arg(long, value_enum, default_value_t)]
        format: cli::OutputFormat,
    },
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `steward completions bash > /etc/bash_completion.d/steward`.
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = &cli.command {
        cli::completions(*shell, &mut Cli::command());
        return ExitCode::SUCCESS;
    }
    // `drift` needs neither configuration nor the async runtime, and owns its exit code.
    if let Command::Drift(args) = &cli.command {
        return drift_cmd::run(args);
    }
    if let Command::Policy { command } = &cli.command {
        return policy_cmd::run(command);
    }
    if let Command::Profile(args) = &cli.command {
        return profile_cmd::run(args);
    }
    if let Command::Audit { command } = &cli.command
        && !command.needs_database()
    {
        let (command, file, database_url) = (command.clone(), cli.config, cli.database_url);
        return audit_cmd::run(command, move || {
            let overrides = Overrides {
                listen: None,
                database_url,
            };
            Ok(Config::load(file.as_deref(), &overrides)?.audit_key_path())
        });
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // `deploy` talks to a running server: no configuration, its own exit codes.
    if let Command::Deploy { command } = cli.command {
        return runtime.block_on(deploy_cmd::run(command));
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => *listen,
        _ => None,
    };
    let overrides = Overrides {
        listen,
        database_url: cli.database_url.clone(),
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    config.validate()?;
    match cli.command {
        Command::Serve { demo, .. } => {
            let telemetry = telemetry::init_with_traces(&config.log_format)?;
            let served = startup::serve(config, demo).await;
            telemetry.shutdown();
            served
        }
        Command::Migrate => {
            telemetry::init(&config.log_format);
            startup::migrate(&config).await?;
            let url = config
                .database_migration_url
                .as_ref()
                .unwrap_or(&config.database_url);
            println!("migrations applied to {}", startup::redact(url));
            Ok(())
        }
        Command::Backup { output, format } => {
            let store = startup::open_store(&config).await?;
            let bytes = store.backup_to(&output).await?;
            let keys = [config.audit_key_path(), config.dev_secret_path()];
            let keys: Vec<String> = keys
                .iter()
                .filter(|k| k.exists())
                .map(|k| k.display().to_string())
                .collect();
            let database = startup::redact(&config.database_url);
            match format {
                cli::OutputFormat::Json => cli::print_json(&serde_json::json!({
                    "database": database, "output": output.display().to_string(),
                    "bytes": bytes, "keys": keys})),
                cli::OutputFormat::Text => {
                    println!(
                        "backed up {database} to {} ({bytes} bytes)",
                        output.display()
                    );
                    if !keys.is_empty() {
                        println!(
                            "back these key files up too (they are not in the database): {}",
                            keys.join(", ")
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Token {
            tenant,
            roles,
            sub,
            ttl,
            format,
        } => {
            let token = startup::mint_token(&config, &tenant, &roles, &sub, &ttl)?;
            match format {
                cli::OutputFormat::Json => cli::print_json(&serde_json::json!({"token": token})),
                cli::OutputFormat::Text => println!("{token}"),
            }
            Ok(())
        }
        // Answered in main() before configuration is loaded; kept here so the match is total.
        Command::Drift(args) => match drift_cmd::run(&args) {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => anyhow::bail!("steward drift failed"),
        },
        Command::Profile(args) => match profile_cmd::run(&args) {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => anyhow::bail!("steward profile failed"),
        },
        Command::Policy { command } => match policy_cmd::run(&command) {
            code if code == ExitCode::SUCCESS => Ok(()),
            _ => anyhow::bail!("steward policy failed"),
        },
        Command::Audit {
            command: audit_cmd::AuditCommand::RotateKey { new_key, format },
        } => audit_cmd::rotate_key(&config, &new_key, format).await,
        // Handled in main() before the runtime starts (deploy: before configuration is read).
        Command::Audit { .. } | Command::Deploy { .. } | Command::Completions { .. } => Ok(()),
    }
}
