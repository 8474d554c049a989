//! How often monitoring runs for a model: what `fn schedule()` returns, validated.
//!
//! `"hourly"`, `"daily"` or a five-field cron expression (minute hour day-of-month month
//! day-of-week, UTC) with `*`, lists, ranges, steps and month/weekday names. The parser is
//! small and local rather than a dependency: only validation and "next run after" are needed.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike};
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A validated monitoring schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Schedule {
    /// At minute 0 of every hour.
    Hourly,
    /// At 00:00 UTC every day.
    Daily,
    /// A cron expression, kept as written.
    Cron(Cron),
}

/// A parsed five-field cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    dom_restricted: bool,
    dow_restricted: bool,
}

/// Why a schedule string is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error(
        "schedule must be \"hourly\", \"daily\" or a cron expression with 5 fields, got {0} field(s)"
    )]
    FieldCount(usize),
    #[error("cron field {field} ({name}): {message}")]
    Field {
        field: usize,
        name: &'static str,
        message: String,
    },
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parses what `fn schedule()` returned.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        match text.trim() {
            "hourly" | "@hourly" => Ok(Self::Hourly),
            "daily" | "@daily" => Ok(Self::Daily),
            other => Cron::parse(other).map(Self::Cron),
        }
    }

    /// The first time strictly after `after` at which monitoring runs (minute resolution),
    /// looking at most a little over four years ahead (enough for `0 0 29 2 *`).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Hourly => Some(Timestamp((after.0.div_euclid(3_600) + 1) * 3_600)),
            Self::Daily => Some(Timestamp((after.0.div_euclid(86_400) + 1) * 86_400)),
            Self::Cron(cron) => cron.next_after(after),
        }
    }
}

impl Schedule {
    /// The tumbling window `[start, end)` that holds `t`: `end` is the first run strictly after
    /// `t` (the run that evaluates it), `start` the last run at or before `t` (for a cron
    /// expression, looked up at most 366 days back; `None` past that).
    pub fn window_of(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let end = self.next_after(t)?;
        let start = match self {
            Self::Hourly => Timestamp(t.0.div_euclid(3_600) * 3_600),
            Self::Daily => Timestamp(t.0.div_euclid(86_400) * 86_400),
            Self::Cron(cron) => cron.last_at_or_before(t)?,
        };
        Some((start, end))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hourly => f.write_str("hourly"),
            Self::Daily => f.write_str("daily"),
            Self::Cron(c) => f.write_str(&c.source),
        }
    }
}

impl TryFrom<String> for Schedule {
    type Error = ScheduleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Schedule> for String {
    fn from(value: Schedule) -> Self {
        value.to_string()
    }
}

impl Cron {
    /// Parses a five-field cron expression.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(ScheduleError::FieldCount(parts.len()));
        }
        let mut sets = [0u64; 5];
        for (i, part) in parts.iter().enumerate() {
            sets[i] = parse_field(i, part)?;
        }
        // Day of week 7 is Sunday, like 0.
        if sets[4] & (1 << 7) != 0 {
            sets[4] = (sets[4] | 1) & !(1 << 7);
        }
        Ok(Self {
            source: parts.join(" "),
            minutes: sets[0],
            hours: sets[1],
            days_of_month: sets[2],
            months: sets[3],
            days_of_week: sets[4],
            dom_restricted: parts[2] != "*",
            dow_restricted: parts[4] != "*",
        })
    }

    fn day_matches(&self, day_of_month: u32, weekday_from_sunday: u32) -> bool {
        let dom = self.days_of_month & (1 << day_of_month) != 0;
        let dow = self.days_of_week & (1 << weekday_from_sunday) != 0;
        // Classic cron: when both day fields are restricted, either may match.
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        }
    }

    fn matches(&self, t: i64) -> bool {
        let Some(dt) = DateTime::from_timestamp(t, 0) else {
            return false;
        };
        self.months & (1 << dt.month()) != 0
            && self.day_matches(dt.day(), dt.weekday().num_days_from_sunday())
            && self.hours & (1 << dt.hour()) != 0
            && self.minutes & (1 << dt.minute()) != 0
    }

    fn last_at_or_before(&self, at: Timestamp) -> Option<Timestamp> {
        let floor = at.0.div_euclid(60) * 60;
        let horizon = floor.saturating_sub(366 * 86_400);
        let mut t = floor;
        while t >= horizon {
            if self.matches(t) {
                return Some(Timestamp(t));
            }
            t -= 60;
        }
        None
    }

    fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let mut t = (after.0.div_euclid(60) + 1) * 60;
        let horizon = after.0.saturating_add(4 * 366 * 86_400 + 86_400);
        while t <= horizon {
            let dt = DateTime::from_timestamp(t, 0)?;
            if self.months & (1 << dt.month()) == 0
                || !self.day_matches(dt.day(), dt.weekday().num_days_from_sunday())
            {
                t = (t.div_euclid(86_400) + 1) * 86_400;
            } else if self.hours & (1 << dt.hour()) == 0 {
                t = (t.div_euclid(3_600) + 1) * 3_600;
            } else if self.minutes & (1 << dt.minute()) == 0 {
                t += 60;
            } else {
                return Some(Timestamp(t));
            }
        }
        None
    }
}

fn parse_value(field: usize, text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let named = match field {
        3 => MONTHS
            .iter()
            .position(|m| *m == lower)
            .map(|i| i as u32 + 1),
        4 => WEEKDAYS.iter().position(|d| *d == lower).map(|i| i as u32),
        _ => None,
    };
    named.or_else(|| text.parse().ok())
}

fn parse_field(field: usize, text: &str) -> Result<u64, ScheduleError> {
    let (name, min, max) = FIELDS[field];
    let err = |message: String| ScheduleError::Field {
        field: field + 1,
        name,
        message,
    };
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| err(format!("invalid step {s:?}")))?;
                if step == 0 {
                    return Err(err("step must be at least 1".into()));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = parse_value(field, a).ok_or_else(|| err(format!("invalid value {a:?}")))?;
            let b = parse_value(field, b).ok_or_else(|| err(format!("invalid value {b:?}")))?;
            (a, b)
        } else {
            let v =
                parse_value(field, range).ok_or_else(|| err(format!("invalid value {range:?}")))?;
            // `5/15` means "from 5 every 15", as in common cron implementations.
            (v, if step > 1 { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(err(format!("{range:?} is outside {min}-{max} or reversed")));
        }
        set |= (lo..=hi)
            .step_by(step as usize)
            .fold(0u64, |acc, v| acc | (1 << v));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        for ok in [
            "hourly",
            "daily",
            "0 6 * * mon",
            "*/15 * * * *",
            "0 0 1,15 * *",
            "30 2 * jan-mar 1-5",
            "5/10 * * * 7",
        ] {
            assert!(Schedule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "weekly-ish",
            "* * * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "*/0 * * * *",
            "5-1 * * * *",
            "a b c d e",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_falls_in_the_window_between_two_runs() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let cases = [
            (
                "hourly",
                "2025-03-01T10:20:00Z",
                "2025-03-01T10:00:00Z",
                "2025-03-01T11:00:00Z",
            ),
            (
                "hourly",
                "2025-03-01T10:00:00Z",
                "2025-03-01T10:00:00Z",
                "2025-03-01T11:00:00Z",
            ),
            (
                "daily",
                "2025-03-01T10:20:00Z",
                "2025-03-01T00:00:00Z",
                "2025-03-02T00:00:00Z",
            ),
            (
                "*/15 * * * *",
                "2025-03-01T10:20:00Z",
                "2025-03-01T10:15:00Z",
                "2025-03-01T10:30:00Z",
            ),
            (
                "0 6 * * mon",
                "2025-03-05T10:00:00Z",
                "2025-03-03T06:00:00Z",
                "2025-03-10T06:00:00Z",
            ),
        ];
        for (expr, at, start, end) in cases {
            let s = Schedule::parse(expr).unwrap();
            assert_eq!(
                s.window_of(t(at)),
                Some((t(start), t(end))),
                "{expr} at {at}"
            );
        }
    }

    #[test]
    fn next_run_follows_the_expression() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let cases = [
            ("hourly", "2025-03-01T10:20:00Z", "2025-03-01T11:00:00Z"),
            ("daily", "2025-03-01T10:20:00Z", "2025-03-02T00:00:00Z"),
            (
                "0 6 * * mon",
                "2025-03-01T10:20:00Z",
                "2025-03-03T06:00:00Z",
            ),
            (
                "*/15 * * * *",
                "2025-03-01T10:20:00Z",
                "2025-03-01T10:30:00Z",
            ),
            ("0 0 29 2 *", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ];
        for (expr, after, expected) in cases {
            assert_eq!(
                Schedule::parse(expr).unwrap().next_after(t(after)),
                Some(t(expected)),
                "{expr}"
            );
        }
    }
}
