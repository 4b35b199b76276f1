//! The rules: pure functions from a window of snapshots to verdicts.
//!
//! A rule sees only the engine-neutral model (through `Context`), never a connection, so
//! every rule is tested with hand-built windows and the bundled captures. Each rule returns
//! `None` when its spiral is absent; `evaluate` turns silence into "unknown" when the rule
//! depended on something the snapshot says it could not see (a missing grant must never
//! read as a healthy server).

mod blocking;
mod client_timeout;
mod compiles;
mod connections;
mod cpu;
mod guardrails;
mod idle;
mod log_writes;
mod long_transaction;
mod memory_grants;
mod plan_cache;
mod pool_exhaustion;
mod pooler_hidden;
mod tempdb;
mod workers;

use std::collections::BTreeMap;

use crate::model::blocking::BlockingGraph;
use crate::model::snapshot::{Area, Snapshot};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};
use crate::model::window::Window;

/// Everything a rule may look at.
pub struct Context<'a> {
    pub window: &'a Window,
    pub thresholds: &'a Thresholds,
    /// The blocking graph of the last sample, built once for the four rules that need it.
    pub graph: BlockingGraph,
}

impl<'a> Context<'a> {
    pub fn new(window: &'a Window, thresholds: &'a Thresholds) -> Context<'a> {
        Context {
            window,
            thresholds,
            graph: BlockingGraph::of(window.last()),
        }
    }

    pub fn last(&self) -> &Snapshot {
        self.window.last()
    }
}

pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    /// Rate-based rules wait for the second sample.
    pub needs_rates: bool,
    /// Areas whose absence makes silence meaningless.
    pub needs: &'static [Area],
    pub check: fn(&Context) -> Option<Verdict>,
}

/// Every rule, in no particular order (verdicts are sorted by severity afterwards).
pub const RULES: &[Rule] = &[
    compiles::COMPILE_GATE,
    compiles::QUERY_STORE,
    workers::WORKER_EXHAUSTION,
    memory_grants::MEMORY_GRANT_EXHAUSTION,
    log_writes::LOG_WRITE_PRESSURE,
    tempdb::TEMPDB_CONTENTION,
    cpu::CPU_PRESSURE,
    blocking::BLOCKING_CHAIN,
    blocking::DEADLOCK_CYCLE,
    blocking::DEADLOCKS_RISING,
    blocking::READ_BLOCKED_BY_WRITERS,
    connections::CONNECTION_EXHAUSTION,
    connections::CLIENT_POOL_SATURATION,
    connections::RECONNECT_STORM,
    idle::IDLE_CONNECTION_LEAK,
    idle::IDLE_IN_TRANSACTION,
    client_timeout::CLIENT_TIMEOUT_EXCEEDED,
    plan_cache::PLAN_CACHE_BLOAT,
    guardrails::MISSING_GUARDRAILS,
    long_transaction::LONG_TRANSACTION,
    pool_exhaustion::POOL_EXHAUSTION,
    pooler_hidden::POOLER_HELD_TRANSACTION,
    pooler_hidden::POOLER_GUARDRAILS,
];

/// The rules that read a connection pooler's snapshot (and only those run on one).
const POOLER_RULES: &[&str] = &[
    pool_exhaustion::POOL_EXHAUSTION.id,
    pooler_hidden::POOLER_GUARDRAILS.id,
];

/// The rules that need the database and its pooler sampled together (`--pooler`).
const BOTH_SIDES_RULES: &[&str] = &[pooler_hidden::POOLER_HELD_TRANSACTION.id];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The outcome of all rules over one window.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Verdicts worth showing (info and up, and unknowns), worst first.
    pub verdicts: Vec<Verdict>,
    /// Every rule's outcome by id, including the healthy ones ("ok") and the rate-based
    /// ones still waiting for a second sample ("pending").
    pub checks: BTreeMap<&'static str, CheckState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Ok,
    Info,
    Unknown,
    Warning,
    Critical,
    /// Needs a rate and the window has one sample.
    Pending,
}

impl From<Severity> for CheckState {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Ok => CheckState::Ok,
            Severity::Info => CheckState::Info,
            Severity::Unknown => CheckState::Unknown,
            Severity::Warning => CheckState::Warning,
            Severity::Critical => CheckState::Critical,
        }
    }
}

impl Assessment {
    pub fn worst(&self) -> Severity {
        self.verdicts
            .iter()
            .map(|v| v.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    pub fn verdict(&self, id: &str) -> Option<&Verdict> {
        self.verdicts.iter().find(|v| v.id == id)
    }
}

pub fn evaluate(window: &Window, thresholds: &Thresholds) -> Assessment {
    let ctx = Context::new(window, thresholds);
    let mut verdicts = Vec::new();
    let mut checks = BTreeMap::new();
    // A pooler's console is not a database: the database rules have nothing to look at
    // there (and would call their missing figures unknown), and the pooler rules have
    // nothing to look at on a database alone. With --pooler a snapshot holds both, and
    // both sets run (plus the rules that match one side to the other).
    let last = window.last();
    // A pooler asked for and not seen (its console stopped answering) still has its rules
    // run: they find nothing and say unknown, never a silent ok.
    let has_pooler = last.pooler.is_some() || last.gap(Area::Pooler).is_some();
    let console_only = has_pooler && last.server.flavor.as_deref() == Some("pgbouncer");
    for rule in RULES {
        let runs = if BOTH_SIDES_RULES.contains(&rule.id) {
            has_pooler && !console_only
        } else if POOLER_RULES.contains(&rule.id) {
            has_pooler
        } else {
            !console_only
        };
        if !runs {
            continue;
        }
        if rule.needs_rates && !window.has_rates() {
            checks.insert(rule.id, CheckState::Pending);
            continue;
        }
        let outcome = (rule.check)(&ctx).or_else(|| unknown_if_blind(rule, ctx.last()));
        match outcome {
            Some(v) => {
                checks.insert(rule.id, v.severity.into());
                if v.severity > Severity::Ok {
                    verdicts.push(v);
                }
            }
            None => {
                checks.insert(rule.id, CheckState::Ok);
            }
        }
    }
    // Worst first; among equals, keep the rule order, which puts causes before symptoms.
    verdicts.sort_by_key(|v| std::cmp::Reverse(v.severity));
    Assessment { verdicts, checks }
}

fn unknown_if_blind(rule: &Rule, last: &Snapshot) -> Option<Verdict> {
    let gap = rule.needs.iter().find_map(|area| last.gap(*area))?;
    let mut summary = format!("Could not check: {}.", gap.reason.trim_end_matches('.'));
    if let Some(remedy) = &gap.remedy {
        summary.push_str(&format!(" To see it: {remedy}."));
    }
    Some(Verdict {
        id: rule.id,
        title: rule.title,
        severity: Severity::Unknown,
        summary,
        evidence: Vec::new(),
        actions: gap.remedy.iter().cloned().collect(),
        culprits: Culprits::default(),
        playbook: rule.id,
    })
}

/// A verdict under construction; rules fill it in a few chained calls.
pub(crate) struct Draft(Verdict);

impl Draft {
    pub fn new(rule: &Rule, severity: Severity, summary: String) -> Draft {
        Draft(Verdict {
            id: rule.id,
            title: rule.title,
            severity,
            summary,
            evidence: Vec::new(),
            actions: Vec::new(),
            culprits: Culprits::default(),
            playbook: rule.id,
        })
    }

    pub fn figure(mut self, f: Figure) -> Draft {
        self.0.evidence.push(f);
        self
    }

    pub fn action(mut self, a: impl Into<String>) -> Draft {
        self.0.actions.push(a.into());
        self
    }

    pub fn culprits(mut self, c: Culprits) -> Draft {
        self.0.culprits = c;
        self
    }

    pub fn done(self) -> Option<Verdict> {
        Some(self.0)
    }
}

/// Counts of sessions by a label, largest first, ties by name: "shipping 140, cart 3".
pub(crate) fn tally<'s>(labels: impl Iterator<Item = &'s str>) -> Vec<(String, u64)> {
    tally_weighted(labels.map(|l| (l, 1)))
}

/// `tally` of labels that each stand for several sessions (a group of them).
pub(crate) fn tally_weighted<'s>(
    labels: impl Iterator<Item = (&'s str, u64)>,
) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (l, n) in labels {
        *counts.entry(l).or_default() += n;
    }
    let mut out: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// `tally` for labels built on the fly.
pub(crate) fn tally_owned(labels: impl Iterator<Item = String>) -> Vec<(String, u64)> {
    let labels: Vec<String> = labels.collect();
    tally(labels.iter().map(String::as_str))
}

pub(crate) fn tally_text(t: &[(String, u64)], max: usize) -> String {
    let mut parts: Vec<String> = t
        .iter()
        .take(max)
        .map(|(k, n)| format!("{k} ({})", crate::format::thousands(*n)))
        .collect();
    if t.len() > max {
        parts.push(format!("{} more", t.len() - max));
    }
    parts.join(", ")
}

/// Where a session comes from, for "mostly from ...": its application when the engine
/// reports one, else its user (MySQL has no application name; "?" tells nobody anything).
pub(crate) fn origin(s: &crate::model::session::Session) -> String {
    match s.application.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.to_string(),
        None => format!("user {}", s.user_or_unknown()),
    }
}

/// `known_apps` over sessions with a weight (`Snapshot::client_tally`).
pub(crate) fn known_apps_weighted<'s>(
    sessions: impl Iterator<Item = (&'s crate::model::session::Session, u64)>,
) -> Vec<(String, u64)> {
    tally_weighted(sessions.filter_map(|(s, n)| {
        s.application
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| (a, n))
    }))
}

/// "session 182 (user censor, host ip-10-0-3-7, app censor-processor)".
pub(crate) fn describe_session(s: &crate::model::session::Session) -> String {
    let mut who = vec![format!("user {}", s.user_or_unknown())];
    if let Some(h) = &s.client_host {
        who.push(format!("host {h}"));
    }
    if let Some(a) = s.application.as_deref().filter(|a| !a.is_empty()) {
        who.push(format!("app {a}"));
    }
    format!("session {} ({})", s.id, who.join(", "))
}

pub fn pct(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        0.0
    } else {
        part * 100.0 / whole
    }
}
