//! Timestamps as policies see them (integer Unix seconds) and the time helpers of the language.
//!
//! Policies get no clock: "now" is the end of the window (or the promotion request time)
//! from the context, so an evaluation is a pure function of its input and replays give the
//! same answers years later.

use std::fmt;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use rhai::Module;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds since the Unix epoch, UTC. JSON form: an RFC 3339 string (integers are accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses an RFC 3339 timestamp such as `2025-03-01T10:00:00Z`.
    pub fn parse(text: &str) -> Result<Self, chrono::ParseError> {
        DateTime::parse_from_rfc3339(text).map(|t| Self(t.timestamp()))
    }

    fn datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.0, 0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.datetime() {
            Some(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2025-03-01T10:00:00Z\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).map_err(|e| E::custom(format!("invalid timestamp {v:?}: {e}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Name and arity of every time helper, for the linter and the guide.
pub const HELPERS: [(&str, usize); 7] = [
    ("minutes", 1),
    ("hours", 1),
    ("days", 1),
    ("weeks", 1),
    ("hour_of_day", 1),
    ("weekday", 1),
    ("format_time", 1),
];

/// Registers the time helpers into `module`.
pub(crate) fn register(module: &mut Module) {
    module.set_native_fn("minutes", |n: i64| Ok(n.saturating_mul(60)));
    module.set_native_fn("hours", |n: i64| Ok(n.saturating_mul(3_600)));
    module.set_native_fn("days", |n: i64| Ok(n.saturating_mul(86_400)));
    module.set_native_fn("weeks", |n: i64| Ok(n.saturating_mul(604_800)));
    // 0..=23, UTC.
    module.set_native_fn("hour_of_day", |t: i64| {
        Ok(Timestamp(t).datetime().map_or(0, |d| i64::from(d.hour())))
    });
    // 1 = Monday .. 7 = Sunday (ISO 8601), UTC.
    module.set_native_fn("weekday", |t: i64| {
        Ok(Timestamp(t)
            .datetime()
            .map_or(0, |d| i64::from(d.weekday().number_from_monday())))
    });
    module.set_native_fn("format_time", |t: i64| Ok(Timestamp(t).to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_rfc3339() {
        let t = Timestamp::parse("2025-03-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2025-03-01T09:00:00Z");
        let json: Timestamp = serde_json::from_str("\"2025-03-01T09:00:00Z\"").unwrap();
        assert_eq!(json, t);
        let int: Timestamp = serde_json::from_str(&t.0.to_string()).unwrap();
        assert_eq!(int, t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
