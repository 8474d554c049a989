//! The application: one path from configuration to a listening router. `steward serve` builds it
//! from the loaded configuration; tests build it with `listen = 127.0.0.1:0` and a temporary
//! database and talk to it over HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use steward_service::Service;
use steward_service::auth::oidc::OidcClient;

use crate::config::Config;
use crate::startup::{audit_keys, auth_config, redact};
use steward_store::Store;

/// A migrated database, the service over it and a bound listener, ready to serve.
pub struct Application {
    service: Service,
    router: axum::Router,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    scheduler: Option<Duration>,
    relay: Option<Duration>,
    /// `/metrics` on a listener of its own, when `metrics.listen` asks for one.
    metrics: Option<(tokio::net::TcpListener, axum::Router)>,
}

impl Application {
    /// Validates the configuration, opens and migrates the database, loads (or, in development,
    /// creates) the token and audit keys, and binds `config.listen` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Self::build_with_clock(config, None).await
    }

    /// As [`Application::build`], with the clock the service reads (the demo and tests drive
    /// one; `None` is the machine's clock).
    pub async fn build_with_clock(
        config: Config,
        clock: Option<Arc<dyn steward_service::monitoring::Clock>>,
    ) -> anyhow::Result<Application> {
        config.validate()?;
        let store = Store::connect_serving(&config.database_url)
            .await
            .with_context(|| format!("opening the database {}", redact(&config.database_url)))?;
        // A read that fails (no migrations table yet) is left to the migration to report.
        let pending = store
            .pending_migrations()
            .await
            .map_or(true, |p| !p.is_empty());
        if config.database_migration_url.is_some() || pending {
            crate::startup::migrate(&config).await?;
        }
        if store.row_security_bypassed().await? {
            tracing::warn!(
                "the database role is a superuser or has BYPASSRLS: row-level security does not bind it, and tenant isolation rests on Steward's own filters alone; serve as a role without them (docs/operations.md)"
            );
        }
        let auth = auth_config(&config, true)?;
        if config.is_dev_auth() {
            tracing::warn!(
                secret = %config.dev_secret_path().display(),
                "DEVELOPMENT MODE: tokens are verified with a local HS256 secret; configure auth.jwks_url or auth.public_key_pem for production"
            );
        }
        let mut service = Service::new(store, auth, audit_keys(&config)?)
            .with_policy_settings(config.policy.to_service())
            .with_monitoring_settings(config.monitoring.to_service())
            .with_outbox_settings(config.outbox.to_service())
            .with_deployment_settings(config.deployments.to_service());
        if let Some(clock) = clock {
            service = service.with_clock(clock);
        }
        let mut api = config.api.to_api_config();
        api.metrics_token = config.metrics.resolve_token()?;
        api.metrics_max_models = config.metrics.max_models;
        let state = steward_api::AppState::new(service.clone(), api);
        let oidc = match &config.oidc {
            Some(o) => {
                let leeway = Duration::from_secs(config.auth.leeway_secs);
                Some(OidcClient::new(o.to_client_config(leeway))?)
            }
            None => None,
        };
        let sign_in = steward_web::SignIn {
            dev_token: config.is_dev_auth(),
            oidc,
        };
        let web = steward_web::router(service.clone(), sign_in);
        let router = steward_api::router(state).merge(web);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, database = %redact(&config.database_url), "steward listening");
        let metrics = match config.metrics.listen {
            Some(at) => {
                let l = tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("binding metrics.listen {at}"))?;
                tracing::info!(addr = %l.local_addr()?, "metrics listening");
                let r = steward_api::metrics_router(service.clone(), config.metrics.max_models);
                Some((l, r))
            }
            None => None,
        };
        Ok(Application {
            service,
            router,
            listener,
            addr,
            scheduler: config.monitoring.interval(),
            relay: config.outbox.interval(),
            metrics,
        })
    }

    /// The address the server listens on (the real port when `listen` asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address `/metrics` listens on by itself, when `metrics.listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The service the router serves, for seeding (the demo) and for tests.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish. The scheduler
    /// and the outbox relay (unless configured off) run beside the server as their system
    /// actors and stop with it.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let scheduler = self
            .scheduler
            .map(|every| tokio::spawn(run_scheduler(self.service.clone(), every, stopped.clone())));
        let relay = self.relay.map(|every| {
            let service = self.service.clone();
            let stopped = stopped.clone();
            tokio::spawn(async move { service.run_relay_loop(every, stopped).await })
        });
        let metrics = self.metrics.map(|(listener, router)| {
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.changed().await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            })
        });
        let shutdown = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving");
        for task in [scheduler, relay, metrics].into_iter().flatten() {
            let _ = task.await;
        }
        served
    }
}

/// The scheduler loop: a pass every `every` (windows due, then rollout steps due) until `stop`
/// changes. A failing pass (the database
/// away) is logged and the next one tries again.
async fn run_scheduler(
    service: Service,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match service.run_scheduler_tick().await {
            Ok(t) if t.evaluated + t.failed > 0 => {
                tracing::info!(
                    evaluated = t.evaluated,
                    failed = t.failed,
                    skipped = t.skipped,
                    "scheduler pass"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler pass failed"),
        }
        match service.advance_rollouts().await {
            Ok(n) if n > 0 => tracing::info!(rollouts = n, "rollout steps"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rollout pass failed"),
        }
    }
}
