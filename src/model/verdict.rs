//! Verdicts: what a rule concluded, in words an engineer can act on.

use serde::Serialize;

/// How bad it is. The order matters: it sorts verdicts worst first and picks the exit code.
/// `Unknown` sits between info and warning: a check that could not be made is worth more
/// attention than an informational note, but it is not evidence of a spiral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Unknown,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Info => "INFO",
            Severity::Unknown => "UNKNOWN",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// One figure behind a verdict. `label` and `value` are for people; `key` and `number` for
/// machines (`key` is the label in snake_case without figures in it, so it does not change
/// when a session id or a flag's value does).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<f64>,
}

impl Figure {
    pub fn count(label: &str, n: u64) -> Figure {
        Figure {
            key: key_of(label),
            label: label.to_string(),
            value: crate::format::thousands(n),
            number: Some(n as f64),
        }
    }

    pub fn rate(label: &str, per_sec: f64) -> Figure {
        Figure {
            key: key_of(label),
            label: label.to_string(),
            value: format!("{}/s", crate::format::decimal(per_sec)),
            number: Some(per_sec),
        }
    }

    pub fn millis(label: &str, ms: u64) -> Figure {
        Figure {
            key: key_of(label),
            label: label.to_string(),
            value: crate::format::duration_ms(ms),
            number: Some(ms as f64 / 1000.0),
        }
    }

    pub fn percent(label: &str, pct: f64) -> Figure {
        Figure {
            key: key_of(label),
            label: label.to_string(),
            value: format!("{}%", crate::format::decimal(pct)),
            number: Some(pct),
        }
    }

    pub fn text(label: &str, value: impl Into<String>) -> Figure {
        Figure {
            key: key_of(label),
            label: label.to_string(),
            value: value.into(),
            number: None,
        }
    }
}

/// "idle longer than --idle-over" -> "idle_longer_than_idle_over"; "session 4711" ->
/// "session"; "cache size (MB)" -> "cache_size_mb".
pub fn key_of(label: &str) -> String {
    label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// Who a verdict is about, so a bot or a test need not parse the sentence.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Culprits {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<i64>,
}

impl Culprits {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.hosts.is_empty()
            && self.applications.is_empty()
            && self.sessions.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Stable id: scripts and playbooks key on it.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// One sentence naming who and what.
    pub summary: String,
    pub evidence: Vec<Figure>,
    /// The first safe actions, safest first.
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Culprits::is_empty")]
    pub culprits: Culprits,
    /// The playbook to read next (`spiral playbook <id>`).
    pub playbook: &'static str,
}
