//! The focused views: the numbers behind the verdicts, diffed over the window.
//!
//! Each view is a function from the window to a few tables; renderers draw the tables.
//! Views show at most `ROWS` rows per table so that a server with 5,000 sessions still fits
//! a terminal, and say how many were left out.

use std::collections::BTreeMap;

use crate::blocking::{BlockingGraph, index};
use crate::format::{decimal, duration_ms, thousands, truncate};
use crate::report::{Section, VIEW_SCHEMA, ViewReport, WindowInfo, exit_code};
use crate::rules::Assessment;
use crate::session::{SessionState, WaitClass};
use crate::snapshot::{Snapshot, counter};
use crate::thresholds::Thresholds;
use crate::window::Window;

const ROWS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Waits,
    Workers,
    Blocking,
    Connections,
    Compiles,
    PlanCache,
}

impl View {
    pub fn id(self) -> &'static str {
        match self {
            View::Waits => "waits",
            View::Workers => "workers",
            View::Blocking => "blocking",
            View::Connections => "connections",
            View::Compiles => "compiles",
            View::PlanCache => "plancache",
        }
    }

    /// The verdicts this view explains.
    fn verdicts(self) -> &'static [&'static str] {
        match self {
            View::Waits => &[
                "compile-gate-saturation",
                "query-store-amplification",
                "blocking-chain",
                "worker-thread-exhaustion",
            ],
            View::Workers => &["worker-thread-exhaustion", "compile-gate-saturation"],
            View::Blocking => &[
                "blocking-chain",
                "deadlock-cycle",
                "read-blocked-by-writers",
                "idle-in-transaction",
            ],
            View::Connections => &[
                "connection-exhaustion",
                "idle-connection-leak",
                "client-pool-saturation",
                "reconnect-storm",
            ],
            View::Compiles => &[
                "compile-gate-saturation",
                "query-store-amplification",
                "plan-cache-bloat",
            ],
            View::PlanCache => &["plan-cache-bloat"],
        }
    }
}

pub fn build(
    view: View,
    target: &str,
    window: &Window,
    assessment: &Assessment,
    thresholds: &Thresholds,
    notes: Vec<String>,
) -> ViewReport {
    let (title, sections) = match view {
        View::Waits => ("Waits".to_string(), waits(window)),
        View::Workers => ("Worker threads".to_string(), workers(window)),
        View::Blocking => ("Blocking".to_string(), blocking(window)),
        View::Connections => ("Connections".to_string(), connections(window, thresholds)),
        View::Compiles => ("Compilations".to_string(), compiles(window)),
        View::PlanCache => ("Plan cache".to_string(), plan_cache(window)),
    };
    let verdicts = assessment
        .verdicts
        .iter()
        .filter(|v| view.verdicts().contains(&v.id))
        .map(|v| (v.id.to_string(), v.severity))
        .collect();
    ViewReport {
        schema: VIEW_SCHEMA,
        view: view.id(),
        title,
        target: target.to_string(),
        engine: window.last().engine,
        window: WindowInfo::of(window),
        status: assessment.worst(),
        exit_code: exit_code(assessment),
        verdicts,
        sections,
        notes,
    }
}

fn left_out(section: &mut Section, total: usize) {
    if total > section.rows.len() {
        section.note = Some(format!(
            "showing {} of {}",
            section.rows.len(),
            thousands(total as u64)
        ));
    }
}

/// Current waiters by wait type (idle sessions excluded: waiting for the client is not a
/// wait), with the change since the first sample.
fn waits(w: &Window) -> Vec<Section> {
    #[derive(Default)]
    struct Agg {
        now: u64,
        before: u64,
        longest: u64,
        class: Option<WaitClass>,
    }
    let mut by_type: BTreeMap<String, Agg> = BTreeMap::new();
    let waiting = |s: &Snapshot| -> Vec<(String, Option<WaitClass>, u64)> {
        s.client_sessions()
            .filter(|x| x.state != SessionState::Idle && !x.waits_on(WaitClass::Client))
            .filter_map(|x| {
                x.wait_type
                    .clone()
                    .map(|t| (t, x.wait_class, x.wait_ms.unwrap_or(0)))
            })
            .collect()
    };
    for (t, class, ms) in waiting(w.last()) {
        let a = by_type.entry(t).or_default();
        a.now += 1;
        a.longest = a.longest.max(ms);
        a.class = class;
    }
    if w.samples() > 1 {
        for (t, _, _) in waiting(w.first()) {
            by_type.entry(t).or_default().before += 1;
        }
    }
    let mut rows: Vec<(String, Agg)> = by_type.into_iter().collect();
    rows.sort_by(|a, b| b.1.now.cmp(&a.1.now).then(a.0.cmp(&b.0)));
    let mut s = Section::new(
        "Sessions waiting now, by wait",
        &["wait", "class", "now", "change", "longest"],
    );
    let total = rows.len();
    for (t, a) in rows.into_iter().take(ROWS) {
        let change = if w.samples() > 1 {
            let d = i128::from(a.now) - i128::from(a.before);
            format!("{d:+}")
        } else {
            "-".to_string()
        };
        let class = a
            .class
            .map(|c| format!("{c:?}").to_lowercase())
            .unwrap_or_default();
        s.row(vec![
            t,
            class,
            thousands(a.now),
            change,
            duration_ms(a.longest),
        ]);
    }
    left_out(&mut s, total);
    if s.rows.is_empty() {
        s.note = Some("no session is waiting".into());
    }
    vec![s]
}

fn workers(w: &Window) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new("Worker threads", &["figure", "first", "now", "change"]);
    let Some(now) = &last.workers else {
        s.note = Some(format!(
            "{} gives each connection its own process or thread: there is no worker pool to exhaust. Active sessions now: {}.",
            last.engine.product(),
            thousands(
                last.client_sessions()
                    .filter(|x| x.state == SessionState::Active)
                    .count() as u64
            )
        ));
        return vec![s];
    };
    let before = w.first().workers.clone().unwrap_or_default();
    let rows: [(&str, u64, u64); 6] = [
        ("max workers", before.max_workers, now.max_workers),
        ("active workers", before.active_workers, now.active_workers),
        (
            "current workers",
            before.current_workers,
            now.current_workers,
        ),
        (
            "tasks queued for a worker",
            before.queued_tasks,
            now.queued_tasks,
        ),
        ("runnable tasks", before.runnable_tasks, now.runnable_tasks),
        (
            "THREADPOOL waiters",
            before.threadpool_waiters,
            now.threadpool_waiters,
        ),
    ];
    for (label, a, b) in rows {
        s.row(vec![
            label.to_string(),
            thousands(a),
            thousands(b),
            format!("{:+}", i128::from(b) - i128::from(a)),
        ]);
    }
    let available = i128::from(now.max_workers) - i128::from(now.active_workers);
    s.note = Some(format!("available workers: {available}"));
    vec![s]
}

/// How deep the session column indents before it writes the depth as a number: past
/// this, indentation would eat the row (and the terminal table would wrap it).
const MAX_INDENT: usize = 4;

/// The session cell of a tree row: the lead bare, each waiter under it marked with its
/// level. No ordinary spaces: a terminal table that wraps a cell trims leading spaces,
/// which made deep waiters look like direct children of the lead.
fn tree_cell(id: i64, depth: usize) -> String {
    const NBSP: char = '\u{a0}';
    match depth {
        0 => id.to_string(),
        d if d <= MAX_INDENT => format!("{}└{NBSP}{id}", "·".repeat(d - 1)),
        d => format!("({d})└{NBSP}{id}"),
    }
}

fn blocking(w: &Window) -> Vec<Section> {
    let last = w.last();
    let g = BlockingGraph::of(last);
    let sessions = index(last);
    let mut trees = Section::new(
        "Blocking trees (lead blocker first)",
        &[
            "session",
            "waits for",
            "user",
            "state",
            "waiting",
            "statement",
        ],
    );
    // Short cells: a tree of thousands of sessions must stay one line per session at 80
    // columns, long ids and deep levels included; `spiral connections` has the hosts and
    // applications, JSON has everything. "waits for" names each row's parent, so the tree
    // reads right at any depth.
    let describe = |id: i64, depth: usize, parent: Option<i64>, root_state: Option<&str>| {
        let mut row = match sessions.get(&id) {
            Some(s) => vec![
                tree_cell(id, depth),
                String::new(),
                truncate(s.user_or_unknown(), 10),
                match s.state {
                    SessionState::IdleInTransaction => "idle in tx".to_string(),
                    other => other.label().to_string(),
                },
                s.wait_ms
                    .filter(|_| s.is_blocked())
                    .map(duration_ms)
                    .unwrap_or_default(),
                s.query
                    .as_deref()
                    .map(|q| truncate(q, 14))
                    .unwrap_or_default(),
            ],
            None => vec![
                tree_cell(id, depth),
                String::new(),
                "?".into(),
                crate::blocking::unseen_label(id).into(),
                String::new(),
                String::new(),
            ],
        };
        row[1] = parent.map(|p| p.to_string()).unwrap_or_default();
        if let Some(st) = root_state {
            row[3] = st.to_string();
        }
        row
    };
    // Lead trees first, then the crowds queued behind deadlock cycles.
    let roots = g
        .trees
        .iter()
        .map(|t| (t, None))
        .chain(g.behind_cycles.iter().map(|t| (t, Some("in a cycle"))));
    let mut total_rows = 0;
    for (t, root_state) in roots {
        total_rows += 1 + t.members.len();
        if trees.rows.len() >= ROWS {
            continue;
        }
        trees.row(describe(t.lead, 0, None, root_state));
        // Depth first: a row's parent is the nearest row above it one level up.
        let mut path: Vec<i64> = vec![t.lead];
        for (id, depth) in &t.members {
            path.truncate(*depth);
            let parent = path.last().copied();
            path.push(*id);
            if trees.rows.len() >= ROWS {
                continue;
            }
            trees.row(describe(*id, *depth, parent, None));
        }
    }
    left_out(&mut trees, total_rows);
    // Edges the engine worked out (metadata locks) say how, under the tree: an inferred
    // lead is a suspect, and the engineer must see that before ending it.
    let how = g
        .trees
        .iter()
        .chain(&g.behind_cycles)
        .flat_map(|t| &t.members)
        .find_map(|(id, _)| sessions.get(id).and_then(|s| s.blocked_by_note.as_deref()));
    if let Some(how) = how {
        trees.note = Some(match trees.note.take() {
            Some(n) => format!("{n}; {how}"),
            None => how.to_string(),
        });
    }
    let mut summary = Section::new(
        "Lead blockers",
        &["lead", "blocked", "depth", "longest wait"],
    );
    let summarised = g.trees.iter().map(|t| (t, t.lead.to_string())).chain(
        g.behind_cycles
            .iter()
            .map(|t| (t, format!("{} (in a cycle)", t.lead))),
    );
    for (t, lead) in summarised.take(ROWS) {
        summary.row(vec![
            lead,
            thousands(t.blocked_count() as u64),
            t.depth.to_string(),
            duration_ms(t.longest_wait_ms),
        ]);
    }
    left_out(&mut summary, g.trees.len() + g.behind_cycles.len());
    if g.trees.is_empty() && g.behind_cycles.is_empty() {
        summary.note = Some("no session is blocked by a lead blocker".into());
    } else if g.trees.is_empty() {
        summary.note = Some(
            "no lead blocker: the blocked sessions queue behind a deadlock cycle (below)".into(),
        );
    }
    let mut out = vec![summary, trees];
    if !g.cycles.is_empty() {
        let mut cycles = Section::new(
            "Cycles (deadlocks)",
            &["sessions, each waiting for the next"],
        );
        for c in &g.cycles {
            let ring: Vec<String> = c.iter().chain(c.first()).map(|i| i.to_string()).collect();
            cycles.row(vec![ring.join(" -> ")]);
        }
        out.push(cycles);
    }
    out
}

fn connections(w: &Window, t: &Thresholds) -> Vec<Section> {
    let last = w.last();
    let idle_over = Thresholds::ms(t.idle_over);
    let mut overview = Section::new("Connections", &["figure", "value"]);
    overview.row(vec![
        "connected clients".into(),
        thousands(last.connected_clients()),
    ]);
    if let Some(m) = last.connections.max_connections {
        overview.row(vec!["max connections".into(), thousands(m)]);
        overview.row(vec![
            "reserved for admins".into(),
            thousands(last.connections.reserved),
        ]);
    }
    if w.samples() > 1 {
        let d = i128::from(last.connected_clients()) - i128::from(w.first().connected_clients());
        overview.row(vec!["change over the window".into(), format!("{d:+}")]);
    }
    let mut out = vec![overview];
    type Key = fn(&crate::session::Session) -> String;
    let dims: [(&str, Key); 4] = [
        ("By user", |s| s.user_or_unknown().to_string()),
        ("By client host", |s| s.host_or_unknown().to_string()),
        ("By application", |s| s.app_or_unknown().to_string()),
        ("By state", |s| s.state.label().to_string()),
    ];
    for (heading, key) in dims {
        #[derive(Default)]
        struct Agg {
            total: u64,
            active: u64,
            idle: u64,
            idle_old: u64,
            idle_tx: u64,
            oldest_idle: u64,
        }
        let mut groups: BTreeMap<String, Agg> = BTreeMap::new();
        for s in last.client_sessions() {
            let a = groups.entry(key(s)).or_default();
            a.total += 1;
            match s.state {
                SessionState::Active => a.active += 1,
                SessionState::Idle => {
                    a.idle += 1;
                    let idle = s.idle_ms.unwrap_or(0);
                    if idle >= idle_over {
                        a.idle_old += 1;
                    }
                    a.oldest_idle = a.oldest_idle.max(idle);
                }
                SessionState::IdleInTransaction => a.idle_tx += 1,
                SessionState::Other => {}
            }
        }
        let mut rows: Vec<(String, Agg)> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
        let old_label = format!("idle > {}", crate::format::duration_secs(t.idle_over));
        let mut s = Section::new(
            heading,
            &[
                "name",
                "total",
                "active",
                "idle",
                &old_label,
                "idle in tx",
                "oldest idle",
            ],
        );
        let total = rows.len();
        for (name, a) in rows.into_iter().take(ROWS) {
            s.row(vec![
                name,
                thousands(a.total),
                thousands(a.active),
                thousands(a.idle),
                thousands(a.idle_old),
                thousands(a.idle_tx),
                if a.idle > 0 {
                    duration_ms(a.oldest_idle)
                } else {
                    String::new()
                },
            ]);
        }
        left_out(&mut s, total);
        out.push(s);
    }
    out
}

fn compiles(w: &Window) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new("Compilations", &["figure", "value"]);
    let rate = |name: &str| match w.rate(name) {
        Ok(r) => format!("{}/s", decimal(r)),
        Err(crate::window::RateGap::OneSample) => "needs 2 samples".into(),
        Err(crate::window::RateGap::NotCollected) => "not reported".into(),
        Err(crate::window::RateGap::Reset) => "counter reset (restart?)".into(),
    };
    s.row(vec!["compilations".into(), rate(counter::COMPILATIONS)]);
    s.row(vec!["recompilations".into(), rate(counter::RECOMPILATIONS)]);
    s.row(vec!["batches".into(), rate(counter::BATCHES)]);
    if let (Ok(c), Ok(b)) = (w.delta(counter::COMPILATIONS), w.delta(counter::BATCHES))
        && b > 0
    {
        s.row(vec![
            "compilations per batch".into(),
            format!("{}%", decimal(c as f64 * 100.0 / b as f64)),
        ]);
    }
    let waiting =
        |class: WaitClass| last.client_sessions().filter(|x| x.waits_on(class)).count() as u64;
    s.row(vec![
        "sessions at the compile gate".into(),
        thousands(waiting(WaitClass::Compile)),
    ]);
    s.row(vec![
        "sessions on Query Store waits".into(),
        thousands(waiting(WaitClass::QueryStore)),
    ]);
    if let Some(g) = &last.compile_gate {
        s.row(vec![
            "gateway waiters / active / limit".into(),
            format!(
                "{} / {} / {}",
                thousands(g.waiters),
                thousands(g.active),
                thousands(g.limit)
            ),
        ]);
    }
    let mut out = vec![s];
    if !last.databases.is_empty() {
        let mut dbs = Section::new("Databases", &["database", "Query Store", "RCSI"]);
        for d in last.databases.iter().take(ROWS) {
            dbs.row(vec![
                d.name.clone(),
                d.query_store.clone().unwrap_or_else(|| "-".into()),
                d.read_committed_snapshot
                    .map(|b| if b { "on" } else { "off" }.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        left_out(&mut dbs, last.databases.len());
        out.push(dbs);
    }
    out
}

fn plan_cache(w: &Window) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new(
        "Plan cache by object type",
        &["type", "plans", "single-use", "single-use %", "size MB"],
    );
    let Some(cache) = &last.plan_cache else {
        s.note = Some(format!(
            "{} has no shared plan cache that spiral reads.",
            last.engine.product()
        ));
        return vec![s];
    };
    let mut entries: Vec<_> = cache.iter().collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.size_bytes));
    for e in entries {
        s.row(vec![
            e.object_type.clone(),
            thousands(e.plans),
            thousands(e.single_use),
            format!(
                "{}%",
                decimal(crate::rules::pct(e.single_use as f64, e.plans as f64))
            ),
            thousands(e.size_bytes / (1024 * 1024)),
        ]);
    }
    vec![s]
}
