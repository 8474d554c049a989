//! Composite drift score and the hysteresis state machine that turns a score per window into
//! alerts without storms.
//!
//! The state machine enters `Drifting` only when the score is above the high threshold for
//! `min_consecutive` windows (and no cooldown is running), and leaves it only when the score is
//! below the low threshold for `min_consecutive` windows; after leaving, a cooldown of
//! `cooldown_windows` suppresses re-entry. A score oscillating around either threshold therefore
//! raises one alert, not one per crossing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DriftError;

/// Weighted share of drifted features: `sum w_i [drifted_i] / sum w_i` over the features that
/// were tested. Features missing from `importance` get weight 1 when no importance is given at
/// all, and weight 0 otherwise. Returns 0 when nothing was tested.
pub fn composite_score(
    drifted: &[(String, bool)],
    importance: Option<&BTreeMap<String, f64>>,
) -> Result<f64, DriftError> {
    let mut num = 0.0;
    let mut den = 0.0;
    for (name, is_drifted) in drifted {
        let w = match importance {
            None => 1.0,
            Some(map) => map.get(name).copied().unwrap_or(0.0),
        };
        if !w.is_finite() || w < 0.0 {
            return Err(DriftError::InvalidConfig(format!(
                "importance of {name:?} must be a non-negative number, got {w}"
            )));
        }
        den += w;
        if *is_drifted {
            num += w;
        }
    }
    Ok(if den > 0.0 { num / den } else { 0.0 })
}

/// Thresholds of the hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HysteresisConfig {
    /// Enter `Drifting` above this score.
    pub high: f64,
    /// Leave `Drifting` below this score.
    pub low: f64,
    /// Windows in a row beyond a threshold needed to change state (at least 1).
    pub min_consecutive: u32,
    /// Windows after leaving `Drifting` during which it cannot be entered again.
    pub cooldown_windows: u32,
}

impl Default for HysteresisConfig {
    fn default() -> Self {
        Self {
            high: 0.15,
            low: 0.10,
            min_consecutive: 1,
            cooldown_windows: 0,
        }
    }
}

impl HysteresisConfig {
    /// Checks `0 <= low <= high` and finiteness.
    pub fn validate(&self) -> Result<(), DriftError> {
        if !(self.low.is_finite()
            && self.high.is_finite()
            && 0.0 <= self.low
            && self.low <= self.high)
        {
            return Err(DriftError::InvalidConfig(format!(
                "hysteresis needs 0 <= low <= high, got low {} high {}",
                self.low, self.high
            )));
        }
        Ok(())
    }
}

/// Drift state of a monitored model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    /// No drift alert open.
    #[default]
    Stable,
    /// Drift alert open.
    Drifting,
}

/// What one window did to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// State unchanged.
    None,
    /// Entered `Drifting`: raise an alert.
    EnteredDrift,
    /// Left `Drifting`: resolve the alert.
    Recovered,
}

/// The hysteresis state machine; serialisable so the service can persist it between windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hysteresis {
    /// Thresholds.
    pub config: HysteresisConfig,
    /// Current state.
    pub state: DriftState,
    streak: u32,
    cooldown_left: u32,
}

impl Hysteresis {
    /// A machine in `Stable` state.
    pub fn new(config: HysteresisConfig) -> Result<Self, DriftError> {
        config.validate()?;
        Ok(Self {
            config,
            state: DriftState::Stable,
            streak: 0,
            cooldown_left: 0,
        })
    }

    /// Feeds one window's composite score. A NaN score is an error and changes nothing.
    pub fn update(&mut self, score: f64) -> Result<Transition, DriftError> {
        if score.is_nan() {
            return Err(DriftError::InvalidConfig("composite score is NaN".into()));
        }
        let need = self.config.min_consecutive.max(1);
        match self.state {
            DriftState::Stable => {
                let cooling = self.cooldown_left > 0;
                self.cooldown_left = self.cooldown_left.saturating_sub(1);
                if score > self.config.high && !cooling {
                    self.streak += 1;
                    if self.streak >= need {
                        self.state = DriftState::Drifting;
                        self.streak = 0;
                        return Ok(Transition::EnteredDrift);
                    }
                } else {
                    self.streak = 0;
                }
            }
            DriftState::Drifting => {
                if score < self.config.low {
                    self.streak += 1;
                    if self.streak >= need {
                        self.state = DriftState::Stable;
                        self.streak = 0;
                        self.cooldown_left = self.config.cooldown_windows;
                        return Ok(Transition::Recovered);
                    }
                } else {
                    self.streak = 0;
                }
            }
        }
        Ok(Transition::None)
    }
}
