//! What renderers render: the triage report and the focused views' tables.
//!
//! Both are plain data with a stable JSON shape (`schema`), built once from the window and
//! the assessment, so that the table a person reads and the JSON a bot parses can never
//! disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::model::figures::KeyFigures;
use crate::model::snapshot::{Area, Engine};
use crate::model::verdict::{Severity, Verdict};
use crate::model::window::Window;
use crate::rules::{Assessment, CheckState};

pub const TRIAGE_SCHEMA: &str = "spiral.triage/v1";
pub const VIEW_SCHEMA: &str = "spiral.view/v2";

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
    /// What spiral could not see, once per missing grant: which checks it leaves unknown
    /// and the statement that would let spiral see it.
    pub unseen: Vec<Unseen>,
    /// Waits over the window, most wait time first (absent with one sample): measured
    /// (SQL Server, MySQL/MariaDB with performance_schema) or sampled; each says which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_accrued: Vec<crate::model::wait_stats::Accrued>,
    /// Where `waits_accrued` comes from and how far to trust it (absent with one sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waits_source: Option<crate::model::wait_stats::OverWindow>,
    /// `notes` without the ones `unseen` already says, for renderers that show `unseen`.
    #[serde(skip)]
    pub other_notes: Vec<String>,
}

/// The top waits triage's JSON carries (`spiral waits` has all of them).
const WAITS_IN_TRIAGE: usize = 10;

/// One thing spiral could not see, with its consequence and its remedy.
#[derive(Debug, Clone, Serialize)]
pub struct Unseen {
    /// What could not be seen, e.g. "other sessions".
    pub what: &'static str,
    pub reason: String,
    /// Checks that are unknown because of it.
    pub checks: Vec<&'static str>,
    /// The grant or setting that would let spiral see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Checks that only mean something on SQL Server: on other engines a missing grant does
/// not make them unknown, there is simply nothing to check.
const SQL_SERVER_ONLY: &[&str] = &[
    "compile-gate-saturation",
    "query-store-amplification",
    "worker-thread-exhaustion",
    "plan-cache-bloat",
    "memory-grant-exhaustion",
    "log-write-pressure",
    "tempdb-allocation-contention",
    "cpu-pressure",
];

/// The assessment as it applies to `engine`: an "unknown" for a check that cannot apply to
/// the engine is dropped and the check reported as ok.
pub fn for_engine(mut a: Assessment, engine: Engine) -> Assessment {
    if engine == Engine::Mssql {
        return a;
    }
    a.verdicts
        .retain(|v| !(v.severity == Severity::Unknown && SQL_SERVER_ONLY.contains(&v.id)));
    for id in SQL_SERVER_ONLY {
        if let Some(state) = a.checks.get_mut(id)
            && *state == CheckState::Unknown
        {
            *state = CheckState::Ok;
        }
    }
    a
}

impl TriageReport {
    pub fn build(
        target: &str,
        window: &Window,
        assessment: Assessment,
        notes: Vec<String>,
    ) -> TriageReport {
        let last = window.last();
        let assessment = for_engine(assessment, last.engine);
        let mut other_notes = notes.clone();
        let mut notes = notes;
        let mut unseen = Vec::new();
        for gap in &last.gaps {
            let mut n = format!("Could not see {}: {}", area_name(gap.area), gap.reason);
            if let Some(r) = &gap.remedy {
                n.push_str(&format!(" ({r})"));
            }
            notes.push(n);
            // A check is unknown because of the first gap among what it needs.
            let checks: Vec<&'static str> = crate::rules::RULES
                .iter()
                .filter(|r| assessment.checks.get(r.id) == Some(&CheckState::Unknown))
                .filter(|r| r.needs.iter().find(|a| last.gap(**a).is_some()) == Some(&gap.area))
                .map(|r| r.id)
                .collect();
            unseen.push(Unseen {
                what: area_name(gap.area),
                reason: gap.reason.trim_end_matches('.').to_string(),
                checks,
                remedy: gap.remedy.clone(),
            });
        }
        if let Some(n) = crate::model::wait_stats::poison_note(window) {
            notes.push(n.clone());
            other_notes.push(n);
        }
        if !window.has_rates() {
            let n = "One sample only: rate-based checks (reconnect storm, deadlocks, compile rate) need --samples 2 or more."
                .to_string();
            notes.push(n.clone());
            other_notes.push(n);
        }
        let exit_code = exit_code(&assessment);
        let over = crate::model::wait_stats::over_window(window);
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
            unseen,
            waits_accrued: over
                .as_ref()
                .map(|o| o.waits.iter().take(WAITS_IN_TRIAGE).cloned().collect())
                .unwrap_or_default(),
            waits_source: over,
            other_notes,
        }
    }
}

/// The one place where an assessment becomes an exit code, monitoring-plugin style:
/// 2 critical, 1 warning; 3 when nothing was wrong but some checks could not be made (a
/// monitor must not read "could not see" as "fine"); else 0.
pub fn exit_code(a: &Assessment) -> i32 {
    severity_exit_code(a.worst())
}

pub fn severity_exit_code(s: Severity) -> i32 {
    match s {
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
        Area::MemoryGrants => "memory grants",
        Area::WaitStats => "wait statistics",
        Area::Latches => "page-latch waits",
        Area::Pooler => "the connection pooler",
    }
}

/// One cell of a focused view's table: typed, so that the table a person reads and the
/// JSON a bot parses come from the same value (a count is a number in JSON and "1,817" in
/// the table; a duration is milliseconds in JSON and "1m33s" in the table).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A name or a word: truncated with an ellipsis when a table is short of room.
    Text(String),
    /// Query text: whole in JSON, given the room that is left in a table.
    Statement(String),
    Count(u64),
    /// A change over the window, shown with its sign.
    Change(i64),
    /// A session id.
    Id(i64),
    /// A duration in milliseconds.
    Ms(u64),
    Percent(f64),
    PerSecond(f64),
    /// A session in a blocking tree: its id, drawn indented under its blocker at `depth`.
    Tree {
        id: i64,
        depth: usize,
    },
    /// Not known or not applicable: blank in a table, null in JSON.
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// What a table shows.
    pub fn display(&self) -> String {
        use crate::format::{decimal, duration_ms, thousands};
        match self {
            Cell::Text(s) | Cell::Statement(s) => s.clone(),
            Cell::Count(n) => thousands(*n),
            Cell::Change(d) => format!("{d:+}"),
            Cell::Id(id) => id.to_string(),
            Cell::Ms(ms) => duration_ms(*ms),
            Cell::Percent(p) => format!("{}%", decimal(*p)),
            Cell::PerSecond(r) => format!("{}/s", decimal(*r)),
            Cell::Tree { id, depth: 0 } => id.to_string(),
            // Indented up to four levels; deeper, the level is written as a number so the
            // id never gets pushed out of the cell (the "waits for" column names the
            // parent either way).
            Cell::Tree { id, depth } if *depth <= 4 => {
                format!("{}└ {id}", "  ".repeat(depth - 1))
            }
            Cell::Tree { id, depth } => format!("({depth})└ {id}"),
            Cell::Empty => String::new(),
        }
    }

    /// Figures align right in a table; words align left.
    pub fn is_numeric(&self) -> bool {
        !matches!(
            self,
            Cell::Text(_) | Cell::Statement(_) | Cell::Tree { .. } | Cell::Empty
        )
    }

    fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Text(s) | Cell::Statement(s) => Value::from(s.as_str()),
            Cell::Count(n) | Cell::Ms(n) => Value::from(*n),
            Cell::Change(d) | Cell::Id(d) => Value::from(*d),
            Cell::Percent(x) | Cell::PerSecond(x) => {
                serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
            }
            Cell::Tree { id, .. } => Value::from(*id),
            Cell::Empty => Value::Null,
        }
    }
}

/// A column: `key` names the field in JSON (durations end in `_ms`), `label` heads the
/// table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub key: String,
    pub label: String,
}

/// One table of a focused view.
#[derive(Debug, Clone)]
pub struct Section {
    /// Stable name of the table in JSON, e.g. `by_user`.
    pub key: &'static str,
    pub heading: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// How many rows there were before a row limit; equal to `rows.len()` when none was cut.
    pub total_rows: usize,
    /// Shown under the table, e.g. "showing 20 of 5,049".
    pub note: Option<String>,
}

impl Section {
    /// `columns` are (json key, table label) pairs.
    pub fn new(key: &'static str, heading: &str, columns: &[(&str, &str)]) -> Section {
        Section {
            key,
            heading: heading.to_string(),
            columns: columns
                .iter()
                .map(|(k, l)| Column {
                    key: k.to_string(),
                    label: l.to_string(),
                })
                .collect(),
            rows: Vec::new(),
            total_rows: 0,
            note: None,
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
        self.total_rows = self.total_rows.max(self.rows.len());
    }

    /// Column labels, for renderers.
    pub fn labels(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.label.clone()).collect()
    }

    /// The rows as the table shows them.
    pub fn display_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| r.iter().map(Cell::display).collect())
            .collect()
    }
}

/// JSON: each row an object keyed by the columns' keys; a tree cell adds `depth`.
impl Serialize for Section {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|r| {
                let mut obj = serde_json::Map::new();
                for (col, cell) in self.columns.iter().zip(r) {
                    obj.insert(col.key.clone(), cell.json());
                    if let Cell::Tree { depth, .. } = cell {
                        obj.insert("depth".into(), serde_json::Value::from(*depth));
                    }
                }
                obj
            })
            .collect();
        let mut st = ser.serialize_struct("Section", 6)?;
        st.serialize_field("key", self.key)?;
        st.serialize_field("heading", &self.heading)?;
        st.serialize_field("columns", &self.columns)?;
        st.serialize_field("rows", &rows)?;
        st.serialize_field("total_rows", &self.total_rows)?;
        if let Some(n) = &self.note {
            st.serialize_field("note", n)?;
        } else {
            st.skip_field("note")?;
        }
        st.end()
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
    /// The verdicts this view explains, worst first.
    pub verdicts: Vec<ViewVerdict>,
    pub sections: Vec<Section>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ViewVerdict {
    pub id: String,
    pub severity: Severity,
}
