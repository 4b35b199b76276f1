//! `spiral check`: the monitoring-plugin form (Nagios, Icinga, Sensu, health checks).
//!
//! One line, `SPIRAL <STATUS>: <worst verdicts> | <performance data>`, and the plugin exit
//! codes. Incident 004's health check never looked at the database pool; this is the line
//! such a check can run every minute. The status is the worse of the verdicts and of the
//! metric thresholds given with `--warning` / `--critical`.

use crate::format::thousands;
use crate::gauge::{Gauge, Level};
use crate::report::KeyFigures;
use crate::rules::Assessment;
use crate::thresholds::Thresholds;
use crate::verdict::Severity;
use crate::window::Window;

/// A bound given with `--warning` / `--critical`: `connections=80%`, `blocked=10`,
/// `longest_lock_wait=30s`.
pub fn parse_bound(text: &str) -> Result<Level, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' must be written METRIC=VALUE, e.g. connections=80%"))?;
    Level::parse(name, value, text, "metric")
}

/// The bounds shown in the performance data: the rules' own thresholds, replaced by any
/// given on the command line.
fn bounds_for(
    m: Gauge,
    t: &Thresholds,
    usable: Option<u64>,
    warn: &[Level],
    crit: &[Level],
) -> (Option<f64>, Option<f64>) {
    let pick = |given: &[Level]| {
        given
            .iter()
            .rev()
            .find(|b| b.gauge == m)
            .and_then(|b| b.absolute(usable))
    };
    let (dw, dc) = match m {
        Gauge::Connections => (
            usable.map(|u| t.connections_warning_pct * u as f64 / 100.0),
            usable.map(|u| t.connections_critical_pct * u as f64 / 100.0),
        ),
        Gauge::Blocked => (None, Some(t.blocked_critical_count)),
        Gauge::LongestLockWait => (Some(t.blocked_warning_wait), Some(t.blocked_critical_wait)),
        Gauge::IdleInTransaction | Gauge::Active => (None, None),
        Gauge::QueuedTasks => (Some(1.0), Some(t.queued_tasks_critical)),
    };
    (pick(warn).or(dw), pick(crit).or(dc))
}

pub const CHECK_SCHEMA: &str = "spiral.check/v1";

/// One performance-data item: the gauge, its value and the bounds it is judged against.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Perf {
    pub label: &'static str,
    pub value: f64,
    /// `s` for durations, empty for counts.
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// The plugin result: the line a monitor shows and the same facts as data
/// (`--format json`, schema `spiral.check/v1`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckLine {
    pub schema: &'static str,
    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`, as in the line.
    pub status: &'static str,
    pub exit_code: u8,
    /// The verdict ids and breached metrics that set the status (worst verdicts first).
    pub reasons: Vec<String>,
    pub perfdata: Vec<Perf>,
    /// The whole plugin line.
    pub text: String,
}

/// Builds the plugin line from the assessment and the window.
pub fn line(
    window: &Window,
    assessment: &Assessment,
    t: &Thresholds,
    warn: &[Level],
    crit: &[Level],
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
    let mut perf = Vec::new();
    let mut data = Vec::new();
    for m in Gauge::ALL {
        let label = m.name();
        let Some(v) = m.value(&f) else { continue };
        let (w, c) = bounds_for(m, t, usable, warn, crit);
        // The rules already judge the default bounds (and say more than a number can);
        // only bounds given on the command line change the status by themselves.
        let given = warn.iter().chain(crit).any(|b| b.gauge == m);
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
            reasons.push(format!("{label}={}", m.show(v)));
        }
        let fmt = |x: Option<f64>| x.map(|x| m.show(x).replace(',', "")).unwrap_or_default();
        let max = if m == Gauge::Connections {
            usable.map(|u| u.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        perf.push(format!(
            "'{label}'={};{};{};0;{max}",
            m.show(v).replace(',', ""),
            fmt(w),
            fmt(c)
        ));
        data.push(Perf {
            label,
            value: v,
            unit: if m == Gauge::LongestLockWait { "s" } else { "" },
            warning: w,
            critical: c,
            max: (m == Gauge::Connections)
                .then_some(usable.map(|u| u as f64))
                .flatten(),
        });
    }
    perf.push(format!("'idle'={};;;0;", f.idle_sessions));
    data.push(Perf {
        label: "idle",
        value: f.idle_sessions as f64,
        unit: "",
        warning: None,
        critical: None,
        max: None,
    });
    if let Some(r) = f.compilations_per_sec {
        perf.push(format!("'compilations_per_sec'={r:.1};;;0;"));
        data.push(Perf {
            label: "compilations_per_sec",
            value: r,
            unit: "",
            warning: None,
            critical: None,
            max: None,
        });
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
        schema: CHECK_SCHEMA,
        status: word,
        exit_code: code,
        reasons,
        perfdata: data,
        text: format!("SPIRAL {word}: {what} | {}", perf.join(" ")),
    }
}

/// The line for a check that could not assess anything.
pub fn unknown(reason: &str) -> CheckLine {
    CheckLine {
        schema: CHECK_SCHEMA,
        status: "UNKNOWN",
        exit_code: 3,
        reasons: vec![reason.to_string()],
        perfdata: Vec::new(),
        text: format!("SPIRAL UNKNOWN: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse() {
        let b = parse_bound("connections=80%").unwrap();
        assert_eq!(
            (b.gauge, b.value, b.percent),
            (Gauge::Connections, 80.0, true)
        );
        assert_eq!(parse_bound("longest_lock_wait=1m").unwrap().value, 60.0);
        assert!(parse_bound("blocked=5%").is_err());
        assert!(parse_bound("cpu=5").unwrap_err().contains("unknown metric"));
        assert!(parse_bound("blocked").is_err());
    }
}
