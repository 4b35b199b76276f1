//! Gauges a user can put a number on: `check --warning connections=80%` and
//! `stalk --when 'blocked>10'` speak the same names, units and parsing, from here.

use crate::model::figures::KeyFigures;
use crate::model::thresholds::parse_duration_secs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    Connections,
    Blocked,
    LongestLockWait,
    IdleInTransaction,
    Active,
    QueuedTasks,
}

impl Gauge {
    pub const ALL: [Gauge; 6] = [
        Gauge::Connections,
        Gauge::Blocked,
        Gauge::LongestLockWait,
        Gauge::IdleInTransaction,
        Gauge::QueuedTasks,
        Gauge::Active,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Gauge::Connections => "connections",
            Gauge::Blocked => "blocked",
            Gauge::LongestLockWait => "longest_lock_wait",
            Gauge::IdleInTransaction => "idle_in_transaction",
            Gauge::Active => "active",
            Gauge::QueuedTasks => "queued_tasks",
        }
    }

    /// `noun` is what the command calls them ("metric" for check, "gauge" for stalk).
    pub fn parse(name: &str, noun: &str) -> Result<Gauge, String> {
        let name = name.trim().replace('-', "_");
        if name == "lock_wait" {
            return Ok(Gauge::LongestLockWait);
        }
        Gauge::ALL
            .into_iter()
            .find(|g| g.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Gauge::ALL.iter().map(|g| g.name()).collect();
                format!("unknown {noun} '{name}' ({})", names.join(", "))
            })
    }

    /// The gauge's value now (lock waits in seconds); None when the engine has none.
    pub fn value(self, f: &KeyFigures) -> Option<f64> {
        Some(match self {
            Gauge::Connections => f.connected_clients as f64,
            Gauge::Blocked => f.blocked_sessions as f64,
            Gauge::LongestLockWait => f.longest_lock_wait_ms as f64 / 1000.0,
            Gauge::IdleInTransaction => f.idle_in_transaction as f64,
            Gauge::Active => f.active_sessions as f64,
            Gauge::QueuedTasks => f.queued_tasks? as f64,
        })
    }

    /// A value as written in output: seconds for the lock wait, whole numbers otherwise.
    pub fn show(self, v: f64) -> String {
        match self {
            Gauge::LongestLockWait => format!("{}s", crate::format::decimal(v)),
            _ => format!("{}", v.round() as u64),
        }
    }
}

/// A level on a gauge: an absolute value, or for connections a share of the usable slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub gauge: Gauge,
    pub value: f64,
    pub percent: bool,
}

impl Level {
    /// `name` and `value` as split from `connections=80%` or `longest_lock_wait>30s`;
    /// `text` is the whole, for messages.
    pub fn parse(name: &str, value: &str, text: &str, noun: &str) -> Result<Level, String> {
        let gauge = Gauge::parse(name, noun)?;
        let value = value.trim();
        let (number, percent) = match value.strip_suffix('%') {
            Some(v) if gauge == Gauge::Connections => (v, true),
            Some(_) => return Err(format!("only connections takes a percentage ('{text}')")),
            None => (value, false),
        };
        let parsed = if gauge == Gauge::LongestLockWait {
            parse_duration_secs(number)?
        } else {
            number
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("'{value}' is not a number in '{text}'"))?
        };
        if !parsed.is_finite() || parsed < 0.0 {
            return Err(format!("'{text}' must be zero or more"));
        }
        Ok(Level {
            gauge,
            value: parsed,
            percent,
        })
    }

    /// The level in the gauge's own unit (connections as a count); None for a percentage
    /// when the connection limit is unknown.
    pub fn absolute(&self, usable: Option<u64>) -> Option<f64> {
        if self.percent {
            usable.map(|u| self.value * u as f64 / 100.0)
        } else {
            Some(self.value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        let l = Level::parse("connections", "80%", "connections=80%", "gauge").unwrap();
        assert_eq!(
            (l.gauge, l.value, l.percent),
            (Gauge::Connections, 80.0, true)
        );
        assert_eq!(l.absolute(Some(200)), Some(160.0));
        assert_eq!(l.absolute(None), None);
        let l = Level::parse("lock-wait", "1m", "lock-wait>1m", "gauge").unwrap();
        assert_eq!((l.gauge, l.value), (Gauge::LongestLockWait, 60.0));
        assert!(Level::parse("blocked", "5%", "blocked=5%", "gauge").is_err());
        assert!(Level::parse("blocked", "-1", "blocked=-1", "gauge").is_err());
        assert!(
            Level::parse("cpu", "5", "cpu>5", "gauge")
                .unwrap_err()
                .contains("unknown gauge 'cpu'")
        );
    }
}
