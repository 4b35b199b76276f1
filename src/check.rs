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

pub struct CheckLine {
    pub text: String,
    pub exit_code: u8,
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
    }
    perf.push(format!("'idle'={};;;0;", f.idle_sessions));
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

/// The line for a window that ended before its last sample (a sample failed or timed
/// out). That is never healthy: OK becomes UNKNOWN, and a worse status keeps its word but
/// says what could not be assessed.
pub fn incomplete(line: CheckLine, why: &str) -> CheckLine {
    let (head, perf) = match line.text.split_once(" | ") {
        Some((h, p)) => (h, format!(" | {p}")),
        None => (line.text.as_str(), String::new()),
    };
    let seen = head.split_once(": ").map(|(_, w)| w).unwrap_or(head);
    if line.exit_code == 0 {
        CheckLine {
            text: format!("SPIRAL UNKNOWN: {why}; before that: {seen}{perf}"),
            exit_code: 3,
        }
    } else {
        CheckLine {
            text: format!("{head}; then: {why}{perf}"),
            exit_code: line.exit_code,
        }
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

    #[test]
    fn an_incomplete_window_is_never_ok() {
        let ok = CheckLine {
            text: "SPIRAL OK: no death spiral (3 connected) | 'connections'=3;;;0;100".into(),
            exit_code: 0,
        };
        let l = incomplete(ok, "sample 2 of 2 failed");
        assert_eq!(l.exit_code, 3);
        assert_eq!(
            l.text,
            "SPIRAL UNKNOWN: sample 2 of 2 failed; before that: no death spiral (3 connected) | 'connections'=3;;;0;100"
        );
        let crit = CheckLine {
            text: "SPIRAL CRITICAL: blocking-chain | 'blocked'=9;;;0;".into(),
            exit_code: 2,
        };
        let l = incomplete(crit, "sample 2 of 2 failed");
        assert_eq!(l.exit_code, 2);
        assert!(
            l.text
                .starts_with("SPIRAL CRITICAL: blocking-chain; then: sample 2")
        );
    }
}
