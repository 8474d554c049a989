//! The policy runtime of one process: the shared engine (compiled policies cached by content
//! hash) and the evaluation permits, in two lanes (see [`PolicyRuntime`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use steward_policy as sp;
use tokio::sync::Semaphore;

use crate::{ServiceError, ServiceResult};

/// How policies are evaluated in this process.
#[derive(Clone, Debug)]
pub struct PolicySettings {
    /// The limits every evaluation runs under (wall clock, operations, sizes ...).
    pub limits: sp::Limits,
    /// Evaluations running at once; more wait for a permit. Defaults to the number of cores, so
    /// evaluations cannot take more CPU than the machine has, whatever scripts do. Revisions
    /// that ran into the wall clock or the operation limit last time run in a separate lane of
    /// half as many permits (at least one), so they cannot take these.
    pub max_concurrent: usize,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            limits: sp::Limits::default(),
            max_concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// The shared engine (compiled policies cached by content hash) and the evaluation permits.
///
/// Two lanes: revisions in good standing take permits from the main lane; a revision whose last
/// evaluation was stopped by the wall clock or the operation limit is a *suspect* and runs in a
/// smaller lane of its own until it completes normally again. So a runaway policy evaluated over
/// and over occupies at most the suspect lane, and other policies keep every main permit.
pub(crate) struct PolicyRuntime {
    engine: Arc<sp::PolicyEngine>,
    main: Arc<Semaphore>,
    suspect: Arc<Semaphore>,
    suspects: Mutex<HashSet<sp::ContentHash>>,
    /// Permits of each lane, to tell how many evaluations are running.
    permits: (usize, usize),
}

/// Suspects remembered at most; beyond this the set is cleared (they are re-detected by their
/// next runaway, which costs one main permit for one budget each).
const MAX_SUSPECTS: usize = 4096;

impl PolicyRuntime {
    pub(crate) fn new(settings: PolicySettings) -> Self {
        let permits = settings.max_concurrent.max(1);
        let suspect = (permits / 2).max(1);
        Self {
            engine: Arc::new(sp::PolicyEngine::new(settings.limits)),
            main: Arc::new(Semaphore::new(permits)),
            suspect: Arc::new(Semaphore::new(suspect)),
            suspects: Mutex::new(HashSet::new()),
            permits: (permits, suspect),
        }
    }

    /// Evaluations and compilations holding a permit right now, in both lanes.
    pub(crate) fn in_flight(&self) -> usize {
        let main = self.permits.0.saturating_sub(self.main.available_permits());
        let suspect = self
            .permits
            .1
            .saturating_sub(self.suspect.available_permits());
        main + suspect
    }

    fn is_suspect(&self, revision: &sp::ContentHash) -> bool {
        self.suspects
            .lock()
            .map(|s| s.contains(revision))
            .unwrap_or(false)
    }

    fn judge(&self, revision: sp::ContentHash, limit: Option<sp::LimitKind>) {
        let Ok(mut s) = self.suspects.lock() else {
            return;
        };
        if matches!(
            limit,
            Some(sp::LimitKind::WallClock | sp::LimitKind::Operations)
        ) {
            if s.len() >= MAX_SUSPECTS {
                s.clear();
            }
            s.insert(revision);
        } else {
            s.remove(&revision);
        }
    }

    /// Runs `work` on the blocking pool once a permit of the right lane is free. A panic in the
    /// work becomes an internal error, not a crash.
    async fn run<T, F>(&self, lane: &Arc<Semaphore>, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&sp::PolicyEngine) -> T + Send + 'static,
    {
        let permit = Arc::clone(lane)
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Unavailable("the policy engine is shutting down".into()))?;
        let engine = Arc::clone(&self.engine);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&engine)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("policy evaluation task failed: {e}")))
    }

    /// Compiles or lints (bounded by the source size limit): always the main lane.
    pub(crate) async fn compile<T, F>(&self, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&sp::PolicyEngine) -> T + Send + 'static,
    {
        self.run(&self.main, work).await
    }

    /// Evaluates one revision (`source` must hash to `revision`) in the lane its standing
    /// chooses, and updates its standing from the outcome.
    pub(crate) async fn evaluate<F>(
        &self,
        revision: sp::ContentHash,
        work: F,
    ) -> ServiceResult<Result<sp::DecisionRecord, sp::CompileError>>
    where
        F: FnOnce(&sp::PolicyEngine) -> Result<sp::DecisionRecord, sp::CompileError>
            + Send
            + 'static,
    {
        let lane = if self.is_suspect(&revision) {
            &self.suspect
        } else {
            &self.main
        };
        let result = self.run(lane, work).await?;
        if let Ok(record) = &result {
            self.judge(revision, record.limit_hit);
        }
        Ok(result)
    }
}
