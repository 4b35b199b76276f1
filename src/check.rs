//! `spiral check`: the monitoring-plugin form (Nagios, Icinga, Sensu, health checks).
//!
//! One line, `SPIRAL <STATUS>: <worst verdicts> | <performance data>`, and the plugin exit
//! codes. Incident 004's health check never looked at the database pool; this is the line
//! such a check can run every minute. The status is the worse of the verdicts and of the
//! metric thresholds given with `--warning` / `--critical`.

use crate::format::thousands;
use crate::report::KeyFigures;
use crate::rules::Assessment;
use crate::thresholds::{Thresholds, parse_duration_secs};
use crate::verdict::Severity;
use crate::window::Window;

/// Metrics that `--warning` / `--critical` can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Connections,
    Blocked,
    LongestLockWait,
    IdleInTransaction,
    QueuedTasks,
}

impl Metric {
    fn parse(name: &str) -> Result<Metric, String> {
        Ok(match name.trim().replace('-', "_").as_str() {
            "connections" => Metric::Connections,
            "blocked" => Metric::Blocked,
            "longest_lock_wait" | "lock_wait" => Metric::LongestLockWait,
            "idle_in_transaction" => Metric::IdleInTransaction,
            "queued_tasks" => Metric::QueuedTasks,
            other => {
                return Err(format!(
                    "unknown metric '{other}' (connections, blocked, longest_lock_wait, idle_in_transaction, queued_tasks)"
                ));
            }
        })
    }
}

/// A bound on a metric: an absolute value, or for connections a share of usable slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub metric: Metric,
    pub value: f64,
    pub percent: bool,
}

impl Bound {
    /// `connections=80%`, `connections=400`, `blocked=10`, `longest_lock_wait=30s`.
    pub fn parse(text: &str) -> Result<Bound, String> {
        let (name, value) = text.split_once('=').ok_or_else(|| {
            format!("'{text}' must be written METRIC=VALUE, e.g. connections=80%")
        })?;
        let metric = Metric::parse(name)?;
        let value = value.trim();
        let (number, percent) = match value.strip_suffix('%') {
            Some(v) if metric == Metric::Connections => (v, true),
            Some(_) => return Err(format!("only connections takes a percentage ('{text}')")),
            None => (value, false),
        };
        let parsed = if metric == Metric::LongestLockWait {
            parse_duration_secs(number)?
        } else {
            number
                .parse::<f64>()
                .map_err(|_| format!("'{value}' is not a number in '{text}'"))?
        };
        if !parsed.is_finite() || parsed < 0.0 {
            return Err(format!("'{text}' must be zero or more"));
        }
        Ok(Bound {
            metric,
            value: parsed,
            percent,
        })
    }

    /// The bound in the metric's own unit (connections as a count).
    fn absolute(&self, usable: Option<u64>) -> Option<f64> {
        if self.percent {
            usable.map(|u| self.value * u as f64 / 100.0)
        } else {
            Some(self.value)
        }
    }
}

fn value_of(m: Metric, f: &KeyFigures) -> Option<f64> {
    match m {
        Metric::Connections => Some(f.connected_clients as f64),
        Metric::Blocked => Some(f.blocked_sessions as f64),
        Metric::LongestLockWait => Some(f.longest_lock_wait_ms as f64 / 1000.0),
        Metric::IdleInTransaction => Some(f.idle_in_transaction as f64),
        Metric::QueuedTasks => f.queued_tasks.map(|q| q as f64),
    }
}

/// The bounds shown in the performance data: the rules' own thresholds, replaced by any
/// given on the command line.
fn bounds_for(
    m: Metric,
    t: &Thresholds,
    usable: Option<u64>,
    warn: &[Bound],
    crit: &[Bound],
) -> (Option<f64>, Option<f64>) {
    let pick = |given: &[Bound]| {
        given
            .iter()
            .rev()
            .find(|b| b.metric == m)
            .and_then(|b| b.absolute(usable))
    };
    let (dw, dc) = match m {
        Metric::Connections => (
            usable.map(|u| t.connections_warning_pct * u as f64 / 100.0),
            usable.map(|u| t.connections_critical_pct * u as f64 / 100.0),
        ),
        Metric::Blocked => (None, Some(t.blocked_critical_count)),
        Metric::LongestLockWait => (Some(t.blocked_warning_wait), Some(t.blocked_critical_wait)),
        Metric::IdleInTransaction => (None, None),
        Metric::QueuedTasks => (Some(1.0), Some(t.queued_tasks_critical)),
    };
    (pick(warn).or(dw), pick(crit).or(dc))
}

pub struct CheckLine {
    pub text: String,
    pub exit_code: u8,
}

/// Builds the plugin line from the assessment and the window.
pub fn line(
    window: &Window,
    assessment: &Assessment,
    t: &Thresholds,
    warn: &[Bound],
    crit: &[Bound],
) -> CheckLine {
    let f = KeyFigures::of(window);
    let usable = f.usable_connections;
    let mut status = assessment.worst();
    let mut reasons: Vec<String> = assessment
        .verdicts
        .iter()
        .filter(|v| v.severity >= Severity::Unknown)
        .map(|v| v.id.to_string())
        .collect();
    let metrics = [
        (Metric::Connections, "connections"),
        (Metric::Blocked, "blocked"),
        (Metric::LongestLockWait, "longest_lock_wait"),
        (Metric::IdleInTransaction, "idle_in_transaction"),
        (Metric::QueuedTasks, "queued_tasks"),
    ];
    let mut perf = Vec::new();
    for (m, label) in metrics {
        let Some(v) = value_of(m, &f) else { continue };
        let (w, c) = bounds_for(m, t, usable, warn, crit);
        // The rules already judge the default bounds (and say more than a number can);
        // only bounds given on the command line change the status by themselves.
        let given = warn.iter().chain(crit).any(|b| b.metric == m);
        let breach = if !given {
            None
        } else if c.is_some_and(|c| v >= c) {
            Some(Severity::Critical)
        } else if w.is_some_and(|w| v >= w) {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(b) = breach {
            if b > status {
                status = b;
            }
            reasons.push(format!("{label}={}", show(m, v)));
        }
        let fmt = |x: Option<f64>| x.map(|x| show(m, x).replace(',', "")).unwrap_or_default();
        let max = if m == Metric::Connections {
            usable.map(|u| u.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        perf.push(format!(
            "'{label}'={};{};{};0;{max}",
            show(m, v).replace(',', ""),
            fmt(w),
            fmt(c)
        ));
    }
    for (label, value) in [("active", f.active_sessions), ("idle", f.idle_sessions)] {
        perf.push(format!("'{label}'={value};;;0;"));
    }
    if let Some(r) = f.compilations_per_sec {
        perf.push(format!("'compilations_per_sec'={r:.1};;;0;"));
    }
    let (word, code) = match status {
        Severity::Critical => ("CRITICAL", 2),
        Severity::Warning => ("WARNING", 1),
        Severity::Unknown => ("UNKNOWN", 3),
        Severity::Info | Severity::Ok => ("OK", 0),
    };
    let what = if reasons.is_empty() {
        format!(
            "no death spiral ({} connected)",
            thousands(f.connected_clients)
        )
    } else {
        reasons.join(", ")
    };
    CheckLine {
        text: format!("SPIRAL {word}: {what} | {}", perf.join(" ")),
        exit_code: code,
    }
}

fn show(m: Metric, v: f64) -> String {
    match m {
        Metric::LongestLockWait => format!("{}s", crate::format::decimal(v)),
        _ => format!("{}", v.round() as u64),
    }
}

/// The line for a check that could not assess anything.
pub fn unknown(reason: &str) -> CheckLine {
    CheckLine {
        text: format!("SPIRAL UNKNOWN: {reason}"),
        exit_code: 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse() {
        assert_eq!(
            Bound::parse("connections=80%").unwrap(),
            Bound {
                metric: Metric::Connections,
                value: 80.0,
                percent: true
            }
        );
        assert_eq!(Bound::parse("longest_lock_wait=1m").unwrap().value, 60.0);
        assert!(Bound::parse("blocked=5%").is_err());
        assert!(
            Bound::parse("cpu=5")
                .unwrap_err()
                .contains("unknown metric")
        );
        assert!(Bound::parse("blocked").is_err());
    }
}
