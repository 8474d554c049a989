//! Replay: what a policy would have decided over a recorded sequence of windows.
//!
//! Nothing is carried out; the result is a list of steps. By default the replay *simulates*
//! the state a policy reads back: decisions made at earlier steps appear in later windows'
//! `recent_decisions`, and `open_incident` / `resolve_incident` update `open_incidents`. So
//! cooldowns and hysteresis behave as they would have if the policy had been live. With
//! [`CarryState::Recorded`] each window is evaluated exactly as recorded instead.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::context::{OpenIncident, RecordedDecision, WindowContext};
use crate::decision::Decision;
use crate::engine::{CompiledPolicy, PolicyEngine};
use crate::error::EvalError;
use crate::limits::LimitKind;
use crate::time::Timestamp;

/// Where `recent_decisions` and `open_incidents` come from during a replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CarryState {
    /// From the first window, then from the policy's own simulated decisions.
    #[default]
    Simulated,
    /// From each recorded window as it is.
    Recorded,
}

/// Replay settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayOptions {
    pub carry: CarryState,
    /// How many recent decisions a simulated context keeps (newest last).
    pub max_recent: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            carry: CarryState::Simulated,
            max_recent: 100,
        }
    }
}

/// What the policy decided (or why it failed) for one window.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStep {
    /// 0-based position in the history.
    pub index: usize,
    pub window_end: Timestamp,
    pub decisions: Result<Vec<Decision>, EvalError>,
    pub log: Vec<String>,
    pub duration: Duration,
    pub limit_hit: Option<LimitKind>,
}

/// A history file that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HistoryError {
    #[error("window {index}: {message}")]
    Window { index: usize, message: String },
    #[error("{0}")]
    Json(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum HistoryDoc {
    Windows { windows: Vec<serde_json::Value> },
    List(Vec<serde_json::Value>),
}

/// Parses a history: a JSON array of window contexts, an object `{"windows": [...]}`, or
/// JSON lines (one window context per line). Windows must be in time order.
pub fn parse_history(text: &str) -> Result<Vec<WindowContext>, HistoryError> {
    let values = match serde_json::from_str::<HistoryDoc>(text) {
        Ok(HistoryDoc::Windows { windows }) | Ok(HistoryDoc::List(windows)) => windows,
        Err(whole) => {
            let lines = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty());
            let mut values = Vec::new();
            for (n, line) in lines {
                let value = serde_json::from_str(line).map_err(|e| {
                    HistoryError::Json(format!(
                        "not a JSON document ({whole}) nor JSON lines (line {}: {e})",
                        n + 1
                    ))
                })?;
                values.push(value);
            }
            values
        }
    };
    let mut windows: Vec<WindowContext> = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let window: WindowContext =
            serde_json::from_value(value).map_err(|e| HistoryError::Window {
                index,
                message: e.to_string(),
            })?;
        if let Some(previous) = windows.last()
            && window.window.end < previous.window.end
        {
            return Err(HistoryError::Window {
                index,
                message: "windows are not in time order".into(),
            });
        }
        windows.push(window);
    }
    Ok(windows)
}

/// Runs `on_window` over `windows` in order and returns one step per window.
pub fn replay(
    engine: &PolicyEngine,
    policy: &CompiledPolicy,
    windows: &[WindowContext],
    options: ReplayOptions,
) -> Vec<ReplayStep> {
    let mut open: Vec<OpenIncident> = windows
        .first()
        .map(|w| w.open_incidents.clone())
        .unwrap_or_default();
    let mut recent: Vec<RecordedDecision> = windows
        .first()
        .map(|w| w.recent_decisions.clone())
        .unwrap_or_default();
    let mut steps = Vec::with_capacity(windows.len());
    for (index, recorded) in windows.iter().enumerate() {
        let simulated;
        let ctx = match options.carry {
            CarryState::Recorded => recorded,
            CarryState::Simulated => {
                simulated = WindowContext {
                    open_incidents: open.clone(),
                    recent_decisions: recent.clone(),
                    ..recorded.clone()
                };
                &simulated
            }
        };
        let eval = engine.evaluate_on_window(policy, ctx);
        let now = recorded.window.end;
        if let Ok(decisions) = &eval.outcome {
            for decision in decisions {
                match decision {
                    Decision::OpenIncident { key, summary }
                        if !open.iter().any(|i| &i.key == key) =>
                    {
                        open.push(OpenIncident {
                            key: key.clone(),
                            summary: summary.clone(),
                            opened_at: now,
                        });
                    }
                    Decision::ResolveIncident { key } => open.retain(|i| &i.key != key),
                    _ => {}
                }
                recent.push(RecordedDecision {
                    at: now,
                    decision: decision.clone(),
                });
            }
            let excess = recent.len().saturating_sub(options.max_recent);
            recent.drain(..excess);
        }
        steps.push(ReplayStep {
            index,
            window_end: now,
            decisions: eval.outcome,
            log: eval.log,
            duration: eval.duration,
            limit_hit: eval.limit_hit,
        });
    }
    steps
}

impl fmt::Display for ReplayStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}: ", self.index, self.window_end)?;
        match &self.decisions {
            Ok(d) if d.is_empty() => write!(f, "no decisions")?,
            Ok(d) => {
                let items: Vec<String> = d.iter().map(ToString::to_string).collect();
                write!(f, "{}", items.join(", "))?;
            }
            Err(e) => write!(f, "error: {e}")?,
        }
        for line in &self.log {
            write!(f, "\n    log: {line}")?;
        }
        Ok(())
    }
}
