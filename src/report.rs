//! What renderers render: the triage report and the focused views' tables.
//!
//! Both are plain data with a stable JSON shape (`schema`), built once from the window and
//! the assessment, so that the table a person reads and the JSON a bot parses can never
//! disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::rules::{Assessment, CheckState};
use crate::session::SessionState;
use crate::snapshot::{Area, Engine, counter};
use crate::verdict::{Severity, Verdict};
use crate::window::Window;

pub const TRIAGE_SCHEMA: &str = "spiral.triage/v1";
pub const VIEW_SCHEMA: &str = "spiral.view/v1";

#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub samples: usize,
    pub seconds: f64,
}

impl WindowInfo {
    pub fn of(w: &Window) -> WindowInfo {
        WindowInfo {
            first: w.first().taken_at,
            last: w.last().taken_at,
            samples: w.samples(),
            seconds: w.seconds(),
        }
    }
}

/// The handful of numbers a bot or a dashboard wants without reading verdicts. A figure
/// the engine does not report is absent, not zero.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyFigures {
    pub connected_clients: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usable_connections: Option<u64>,
    pub active_sessions: u64,
    pub idle_sessions: u64,
    pub idle_in_transaction: u64,
    pub blocked_sessions: u64,
    pub longest_lock_wait_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compilations_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_tasks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_workers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_workers: Option<u64>,
}

impl KeyFigures {
    pub fn of(w: &Window) -> KeyFigures {
        let last = w.last();
        let count =
            |st: SessionState| last.client_sessions().filter(|s| s.state == st).count() as u64;
        KeyFigures {
            connected_clients: last.connected_clients(),
            max_connections: last.connections.max_connections,
            usable_connections: last.connections.usable(),
            active_sessions: count(SessionState::Active),
            idle_sessions: count(SessionState::Idle),
            idle_in_transaction: count(SessionState::IdleInTransaction),
            blocked_sessions: last.client_sessions().filter(|s| s.is_blocked()).count() as u64,
            longest_lock_wait_ms: last
                .client_sessions()
                .filter(|s| s.is_blocked())
                .filter_map(|s| s.wait_ms)
                .max()
                .unwrap_or(0),
            compilations_per_sec: w.rate(counter::COMPILATIONS).ok(),
            batches_per_sec: w.rate(counter::BATCHES).ok(),
            queued_tasks: last.workers.as_ref().map(|x| x.queued_tasks),
            active_workers: last.workers.as_ref().map(|x| x.active_workers),
            max_workers: last.workers.as_ref().map(|x| x.max_workers),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TriageReport {
    pub schema: &'static str,
    pub spiral_version: &'static str,
    pub target: String,
    pub engine: Engine,
    pub server_version: String,
    pub window: WindowInfo,
    /// The worst verdict's severity.
    pub status: Severity,
    pub exit_code: i32,
    /// Verdicts at info and above, and unknowns, worst first.
    pub verdicts: Vec<Verdict>,
    /// Every check by id: ok, info, unknown, warning, critical, or pending (needs more samples).
    pub checks: BTreeMap<&'static str, CheckState>,
    pub figures: KeyFigures,
    /// What spiral could not see or read, in plain words.
    pub notes: Vec<String>,
}

impl TriageReport {
    pub fn build(
        target: &str,
        window: &Window,
        assessment: Assessment,
        mut notes: Vec<String>,
    ) -> TriageReport {
        let last = window.last();
        for gap in &last.gaps {
            let mut n = format!("Could not see {}: {}", area_name(gap.area), gap.reason);
            if let Some(r) = &gap.remedy {
                n.push_str(&format!(" ({r})"));
            }
            notes.push(n);
        }
        if !window.has_rates() {
            notes.push(
                "One sample only: rate-based checks (reconnect storm, deadlocks, compile rate) need --samples 2 or more."
                    .to_string(),
            );
        }
        let exit_code = exit_code(&assessment);
        TriageReport {
            schema: TRIAGE_SCHEMA,
            spiral_version: env!("CARGO_PKG_VERSION"),
            target: target.to_string(),
            engine: last.engine,
            server_version: last.server.version.clone(),
            window: WindowInfo::of(window),
            status: assessment.worst(),
            exit_code,
            figures: KeyFigures::of(window),
            verdicts: assessment.verdicts,
            checks: assessment.checks,
            notes,
        }
    }
}

/// The one place where an assessment becomes an exit code, monitoring-plugin style:
/// 2 critical, 1 warning; 3 when nothing was wrong but some checks could not be made (a
/// monitor must not read "could not see" as "fine"); else 0.
pub fn exit_code(a: &Assessment) -> i32 {
    match a.worst() {
        Severity::Critical => 2,
        Severity::Warning => 1,
        Severity::Unknown => 3,
        Severity::Info | Severity::Ok => 0,
    }
}

pub fn area_name(a: Area) -> &'static str {
    match a {
        Area::OtherSessions => "other sessions",
        Area::Locks => "lock waits",
        Area::Workers => "worker threads",
        Area::Compiles => "compilations",
        Area::PlanCache => "the plan cache",
        Area::Counters => "server counters",
        Area::Settings => "server settings",
        Area::QueryText => "query text",
    }
}

/// One table of a focused view.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub heading: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Shown under the table, e.g. "showing 20 of 5,049".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Section {
    pub fn new(heading: &str, columns: &[&str]) -> Section {
        Section {
            heading: heading.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            note: None,
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ViewReport {
    pub schema: &'static str,
    pub view: &'static str,
    pub title: String,
    pub target: String,
    pub engine: Engine,
    pub window: WindowInfo,
    pub status: Severity,
    pub exit_code: i32,
    /// The verdicts this view explains, by id and severity, worst first.
    pub verdicts: Vec<(String, Severity)>,
    pub sections: Vec<Section>,
    pub notes: Vec<String>,
}
