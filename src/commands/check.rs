//! `spiral check`: the monitoring-plugin form (Nagios, Icinga, Sensu, health checks).
//!
//! One line, `SPIRAL <STATUS>: <worst verdicts> | <performance data>`, and the plugin exit
//! codes. Incident 004's health check never looked at the database pool; this is the line
//! such a check can run every minute. The status is the worse of the verdicts and of the
//! metric thresholds given with `--warning` / `--critical`.

use crate::engine::EngineError;
use crate::format::thousands;
use crate::model::gauge::{Gauge, Level};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::Severity;
use crate::model::window::Window;
use crate::report::KeyFigures;
use crate::rules::Assessment;

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

/// Which verdicts a check judges: `--only ID...` keeps those, `--ignore ID...` drops
/// those. A monitor that owns blocking elsewhere, or a service check for the pool alone,
/// must not go red for what it does not watch.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    only: Vec<String>,
    ignore: Vec<String>,
}

impl Judged {
    /// Every id must name a verdict spiral has: a typo would silently judge nothing.
    pub fn new(only: &[String], ignore: &[String]) -> Result<Judged, String> {
        let check = |flag: &str, ids: &[String]| -> Result<Vec<String>, String> {
            ids.iter()
                .map(|id| id.trim().to_ascii_lowercase())
                .map(|id| match crate::rules::rule(&id) {
                    Some(_) => Ok(id),
                    None => {
                        let known: Vec<&str> = crate::rules::RULES.iter().map(|r| r.id).collect();
                        Err(format!(
                            "{flag}: unknown verdict '{}' (known: {})",
                            crate::sanitize::clean(&id),
                            known.join(", ")
                        ))
                    }
                })
                .collect()
        };
        Ok(Judged {
            only: check("--only", only)?,
            ignore: check("--ignore", ignore)?,
        })
    }

    pub fn judges(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id))
            && !self.ignore.iter().any(|i| i == id)
    }
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
    judged: &Judged,
) -> CheckLine {
    let f = KeyFigures::of(window);
    let usable = f.usable_connections;
    let verdicts = || assessment.verdicts.iter().filter(|v| judged.judges(v.id));
    let mut status = verdicts().map(|v| v.severity).max().unwrap_or(Severity::Ok);
    let mut reasons: Vec<String> = verdicts()
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
        // The plugin guidelines' form: 'label'=value[UOM];warn;crit;min;max, the unit on
        // the value only and every other field a plain number.
        // Connections are whole: 65.6 of 82 slots is reached at 66, so say 66.
        let fmt = |x: Option<f64>| {
            x.map(|x| perf_number(if m == Gauge::Connections { x.ceil() } else { x }))
                .unwrap_or_default()
        };
        let max = if m == Gauge::Connections {
            usable.map(|u| u.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        perf.push(format!(
            "'{label}'={}{};{};{};0;{max}",
            perf_number(v),
            perf_unit(m),
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
        perf.push(format!("'compilations_per_sec'={};;;0;", perf_number(r)));
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

/// A number as performance data wants it: no thousands separator, no unit, at most three
/// decimals and no trailing zeros.
fn perf_number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The unit of measure on a gauge's value ("s" for seconds; counts have none).
fn perf_unit(m: Gauge) -> &'static str {
    match m {
        Gauge::LongestLockWait => "s",
        _ => "",
    }
}

/// The line for a check whose sampling failed. A server that refused spiral because every
/// slot is taken has answered the question a monitor asks: it is CRITICAL
/// connection-exhaustion (when that verdict is judged), not UNKNOWN.
/// `text` is the error as one printable line (sanitized, secrets masked, causes once).
pub fn failed(e: &anyhow::Error, text: &str, judged: &Judged) -> CheckLine {
    let full = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<EngineError>(),
            Some(EngineError::ServerFull(_))
        )
    });
    if full && judged.judges("connection-exhaustion") {
        return CheckLine {
            schema: CHECK_SCHEMA,
            status: "CRITICAL",
            exit_code: 2,
            reasons: vec!["connection-exhaustion".to_string()],
            perfdata: Vec::new(),
            text: format!("SPIRAL CRITICAL: connection-exhaustion: {text}"),
        };
    }
    unknown(text)
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
    let mut reasons = line.reasons.clone();
    reasons.push(why.to_string());
    if line.exit_code == 0 {
        CheckLine {
            schema: CHECK_SCHEMA,
            status: "UNKNOWN",
            exit_code: 3,
            reasons,
            text: format!("SPIRAL UNKNOWN: {why}; before that: {seen}{perf}"),
            perfdata: line.perfdata,
        }
    } else {
        CheckLine {
            schema: CHECK_SCHEMA,
            status: line.status,
            exit_code: line.exit_code,
            reasons,
            text: format!("{head}; then: {why}{perf}"),
            perfdata: line.perfdata,
        }
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

    #[test]
    fn perf_numbers_are_plain() {
        assert_eq!(perf_number(30.0), "30");
        assert_eq!(perf_number(12.25), "12.25");
        assert_eq!(perf_number(1234.5678), "1234.568");
        assert_eq!(perf_number(0.0), "0");
        assert_eq!(perf_unit(Gauge::LongestLockWait), "s");
        assert_eq!(perf_unit(Gauge::Connections), "");
    }

    #[test]
    fn judged_ids_are_validated() {
        let j = Judged::new(&["blocking-chain".into()], &[]).unwrap();
        assert!(j.judges("blocking-chain") && !j.judges("idle-connection-leak"));
        let j = Judged::new(&[], &["Missing-Guardrails".into()]).unwrap();
        assert!(!j.judges("missing-guardrails") && j.judges("blocking-chain"));
        let e = Judged::new(&[], &["blocking".into()]).unwrap_err();
        assert!(
            e.starts_with("--ignore: unknown verdict 'blocking' (known: "),
            "{e}"
        );
    }

    #[test]
    fn a_full_server_is_critical_unless_ignored() {
        let full = anyhow::Error::from(EngineError::ServerFull("db: the server is full".into()))
            .context("connecting");
        let line = failed(
            &full,
            "connecting: db: the server is full",
            &Judged::default(),
        );
        assert_eq!(line.exit_code, 2);
        assert!(
            line.text.starts_with(
                "SPIRAL CRITICAL: connection-exhaustion: connecting: db: the server is full"
            ),
            "{}",
            line.text
        );
        let ignored = Judged::new(&[], &["connection-exhaustion".into()]).unwrap();
        assert_eq!(failed(&full, "full", &ignored).exit_code, 3);
        let role = anyhow::Error::from(EngineError::LimitReached("role limit".into()));
        assert_eq!(failed(&role, "role limit", &Judged::default()).exit_code, 3);
    }
    #[test]
    fn an_incomplete_window_is_never_ok() {
        let ok = CheckLine {
            schema: CHECK_SCHEMA,
            status: "OK",
            exit_code: 0,
            reasons: Vec::new(),
            perfdata: Vec::new(),
            text: "SPIRAL OK: no death spiral (3 connected) | 'connections'=3;;;0;100".into(),
        };
        let l = incomplete(ok, "sample 2 of 2 failed");
        assert_eq!(l.exit_code, 3);
        assert_eq!(
            l.text,
            "SPIRAL UNKNOWN: sample 2 of 2 failed; before that: no death spiral (3 connected) | 'connections'=3;;;0;100"
        );
        let crit = CheckLine {
            schema: CHECK_SCHEMA,
            status: "CRITICAL",
            exit_code: 2,
            reasons: vec!["blocking-chain".into()],
            perfdata: Vec::new(),
            text: "SPIRAL CRITICAL: blocking-chain | 'blocked'=9;;;0;".into(),
        };
        let l = incomplete(crit, "sample 2 of 2 failed");
        assert_eq!(l.exit_code, 2);
        assert!(
            l.text
                .starts_with("SPIRAL CRITICAL: blocking-chain; then: sample 2")
        );
    }
}
