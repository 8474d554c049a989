//! The fleet as operators watch it: what every tenant's models, outbox, audit log, scheduler
//! and endpoints look like right now, read in one pass for `/metrics` (docs/operations.md
//! lists the series). A read model across tenants: only the platform's own scrape sees it,
//! never a tenant's token.

use chrono::{DateTime, Utc};

use crate::monitoring::PerformanceFigure;

/// Everything the database contributes to one scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetSnapshot {
    /// Live models, by tenant then name.
    pub models: Vec<ModelHealth>,
    /// Outbox actions waiting or given up, per tenant and status.
    pub outbox: Vec<OutboxBacklog>,
    /// Events in each tenant's audit log (its tree size), by tenant slug.
    pub audit: Vec<(String, u64)>,
    /// Windows closed (end plus lateness passed) and not yet evaluated.
    pub due_windows: u64,
    /// When the oldest of them closed; `None` when none is due.
    pub oldest_due: Option<DateTime<Utc>>,
    /// Endpoints with their current revision and rollbacks so far.
    pub endpoints: Vec<EndpointState>,
}

/// One live model and its latest evaluated window.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelHealth {
    pub tenant: String,
    pub model: String,
    pub risk_tier: String,
    pub owner_team: String,
    pub open_incidents: u64,
    /// `None` until a window of the model has been evaluated.
    pub latest: Option<LatestWindow>,
}

impl ModelHealth {
    /// The model's health in one word: `incident` (open incidents), `drifting` (drifted
    /// features in its latest window), `healthy`, or `unmonitored` (no window evaluated yet).
    /// The metrics' `health` label and the web overview say the same.
    pub fn state(&self) -> &'static str {
        match &self.latest {
            _ if self.open_incidents > 0 => "incident",
            None => "unmonitored",
            Some(l) if l.drifted_features > 0 => "drifting",
            Some(_) => "healthy",
        }
    }
}

/// A model's latest evaluated window: the worst slice's drift and the whole window's
/// performance.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestWindow {
    pub window_end: DateTime<Utc>,
    pub evaluated_at: DateTime<Utc>,
    pub composite: f64,
    pub drifted_features: u64,
    pub performance: Vec<PerformanceFigure>,
}

/// Outbox actions of one tenant in one status.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxBacklog {
    pub tenant: String,
    /// `pending` or `dead`.
    pub status: String,
    pub actions: u64,
    pub oldest: DateTime<Utc>,
}

/// An endpoint's current deployment revision and how many of its revisions were rollbacks.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointState {
    pub tenant: String,
    pub endpoint: String,
    pub model: String,
    pub revision: u64,
    pub rollbacks: u64,
}

/// The database connection pool at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}
