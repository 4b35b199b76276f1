//! The focused views: the numbers behind the verdicts, diffed over the window.
//!
//! Each view is a function from the window to a few tables of typed cells; renderers draw
//! the tables. For people a table shows at most 20 rows (`--limit` changes it) so that a
//! server with 5,000 sessions still fits a terminal, and says how many were left out; JSON
//! gets every row unless `--limit` asks otherwise.
//!
//! A view's status is its own: the worst of the verdicts it explains, or UNKNOWN when what
//! it shows could not be seen. A waits view with nobody waiting is OK even while triage
//! says CRITICAL about connections.

use std::collections::BTreeMap;

use crate::format::thousands;
use crate::model::blocking::{BlockingGraph, index};
use crate::model::session::{SessionState, WaitClass};
use crate::model::snapshot::Area;
use crate::model::snapshot::{Snapshot, counter};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::Severity;
use crate::model::window::Window;
use crate::report::{Cell, Section, VIEW_SCHEMA, ViewReport, ViewVerdict, WindowInfo};
use crate::rules::Assessment;

/// Rows per table for people when `--limit` is not given.
pub const TABLE_ROWS: usize = 20;

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
                "memory-grant-exhaustion",
                "log-write-pressure",
                "tempdb-allocation-contention",
                "cpu-pressure",
            ],
            View::Workers => &[
                "worker-thread-exhaustion",
                "compile-gate-saturation",
                "cpu-pressure",
            ],
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

    /// What the view needs to see: a gap in one of these makes the view UNKNOWN.
    fn areas(self) -> &'static [Area] {
        match self {
            View::Waits | View::Connections => &[Area::OtherSessions],
            View::Workers => &[Area::Workers],
            View::Blocking => &[Area::OtherSessions, Area::Locks],
            View::Compiles => &[Area::Compiles, Area::Counters],
            View::PlanCache => &[Area::PlanCache],
        }
    }
}

/// `limit`: rows per table (None: all of them).
pub fn build(
    view: View,
    target: &str,
    window: &Window,
    assessment: &Assessment,
    thresholds: &Thresholds,
    mut notes: Vec<String>,
    limit: Option<usize>,
) -> ViewReport {
    let rows = limit.unwrap_or(usize::MAX);
    let assessment = &crate::report::for_engine(assessment.clone(), window.last().engine);
    let (title, sections) = match view {
        View::Waits => ("Waits".to_string(), waits(window, rows)),
        View::Workers => ("Worker threads".to_string(), workers(window)),
        View::Blocking => ("Blocking".to_string(), blocking(window, rows)),
        View::Connections => (
            "Connections".to_string(),
            connections(window, thresholds, rows),
        ),
        View::Compiles => ("Compilations".to_string(), compiles(window, rows)),
        View::PlanCache => ("Plan cache".to_string(), plan_cache(window)),
    };
    let verdicts: Vec<ViewVerdict> = assessment
        .verdicts
        .iter()
        .filter(|v| view.verdicts().contains(&v.id))
        .map(|v| ViewVerdict {
            id: v.id.to_string(),
            severity: v.severity,
        })
        .collect();
    let mut status = verdicts
        .iter()
        .map(|v| v.severity)
        .max()
        .unwrap_or(Severity::Ok);
    let last = window.last();
    for gap in last.gaps.iter().filter(|g| view.areas().contains(&g.area)) {
        status = status.max(Severity::Unknown);
        let mut n = format!(
            "Could not see {}: {}",
            crate::report::area_name(gap.area),
            gap.reason
        );
        if let Some(r) = &gap.remedy {
            n.push_str(&format!(" ({r})"));
        }
        notes.push(n);
    }
    ViewReport {
        schema: VIEW_SCHEMA,
        view: view.id(),
        title,
        target: target.to_string(),
        engine: last.engine,
        window: WindowInfo::of(window),
        status,
        exit_code: crate::report::severity_exit_code(status),
        verdicts,
        sections,
        notes,
    }
}

/// Keeps the first `limit` rows and says how many there were.
fn left_out(section: &mut Section, total: usize, limit: usize) {
    section.total_rows = total;
    section.rows.truncate(limit);
    if total > section.rows.len() {
        section.note = Some(format!(
            "showing {} of {} (--limit N shows more)",
            section.rows.len(),
            thousands(total as u64)
        ));
    }
}

/// Current waiters by wait type (idle sessions excluded: waiting for the client is not a
/// wait), with the change since the first sample. The age of a wait is the engine's when it
/// reports one, else the age of the statement that waits (a session in `SELECT SLEEP(60)`
/// has waited as long as the statement has run, not "0ms").
fn waits(w: &Window, limit: usize) -> Vec<Section> {
    #[derive(Default)]
    struct Agg {
        now: u64,
        before: u64,
        longest: u64,
        class: Option<WaitClass>,
    }
    let mut by_type: BTreeMap<String, Agg> = BTreeMap::new();
    // Listed sessions count one each; a group (over the DAC) its members, with its
    // longest age.
    let waiting = |s: &Snapshot| -> Vec<(String, Option<WaitClass>, u64, u64)> {
        let listed = s.client_sessions().map(|x| {
            let age = x.wait_ms.filter(|&ms| ms > 0).or(x.elapsed_ms).unwrap_or(0);
            (x, age, 1)
        });
        let grouped = s.client_groups().map(|g| {
            let longest = |a: Option<crate::model::session_group::AgeSpan>| a.map(|a| a.max);
            let age = longest(g.wait_ms)
                .filter(|&ms| ms > 0)
                .or(longest(g.elapsed_ms))
                .unwrap_or(0);
            (&g.like, age, g.count)
        });
        listed
            .chain(grouped)
            .filter(|(x, _, _)| x.state != SessionState::Idle && !x.waits_on(WaitClass::Client))
            .filter_map(|(x, age, n)| x.wait_type.clone().map(|t| (t, x.wait_class, age, n)))
            .collect()
    };
    for (t, class, ms, n) in waiting(w.last()) {
        let a = by_type.entry(t).or_default();
        a.now += n;
        a.longest = a.longest.max(ms);
        a.class = class;
    }
    if w.samples() > 1 {
        for (t, _, _, n) in waiting(w.first()) {
            by_type.entry(t).or_default().before += n;
        }
    }
    let mut rows: Vec<(String, Agg)> = by_type.into_iter().filter(|(_, a)| a.now > 0).collect();
    rows.sort_by(|a, b| b.1.now.cmp(&a.1.now).then(a.0.cmp(&b.0)));
    let mut s = Section::new(
        "waits",
        "Sessions waiting now, by wait",
        &[
            ("wait", "wait"),
            ("class", "class"),
            ("sessions", "now"),
            ("change", "change"),
            ("longest_ms", "longest"),
        ],
    );
    let total = rows.len();
    for (t, a) in rows {
        let change = if w.samples() > 1 {
            Cell::Change(
                i64::try_from(a.now).unwrap_or(i64::MAX)
                    - i64::try_from(a.before).unwrap_or(i64::MAX),
            )
        } else {
            Cell::Empty
        };
        let class = a
            .class
            .map(|c| Cell::Text(format!("{c:?}").to_lowercase()))
            .unwrap_or(Cell::Empty);
        s.row(vec![
            Cell::Text(t),
            class,
            Cell::Count(a.now),
            change,
            Cell::Ms(a.longest),
        ]);
    }
    left_out(&mut s, total, limit);
    if s.rows.is_empty() {
        s.note = Some("no session is waiting".into());
    }
    let mut sections = vec![s];
    if let Some(over) = crate::model::wait_stats::over_window(w) {
        sections.push(accrued_waits(over, limit));
    }
    sections
}

/// Waits over the window: the server's completed waits diffed (SQL Server, MySQL/MariaDB
/// with performance_schema), which show what the instants between samples hid, or the
/// waits seen in the samples where the server keeps none, said to be sampled. Wait time per
/// second of the window, so 1,000 ms/s is one task waiting throughout.
fn accrued_waits(over: crate::model::wait_stats::OverWindow, limit: usize) -> Section {
    use crate::model::wait_stats::Source;
    let heading = match over.source {
        Source::Measured => format!(
            "Waits accrued over the window ({}), most wait time first",
            over.label
        ),
        // Where the samples came from is in the note: the heading must fit 80 columns.
        Source::Sampled => {
            "Waits sampled over the window (not measured), most wait time first".into()
        }
    };
    let mut s = Section::new(
        "waits_accrued",
        &heading,
        &[
            ("wait", "wait"),
            ("class", "class"),
            ("poison", "poison"),
            ("ms_per_sec", "ms/s"),
            ("wait_ms", "total"),
            ("waits", "waits"),
            ("source", "source"),
        ],
    );
    let total = over.waits.len();
    let any_sampled = over.waits.iter().any(|a| a.source == Source::Sampled);
    for a in over.waits {
        s.row(vec![
            Cell::Text(a.wait_type),
            Cell::Text(format!("{:?}", a.class).to_lowercase()),
            Cell::Text(if a.poison { "POISON" } else { "" }.to_string()),
            Cell::PerSecond(a.ms_per_sec),
            Cell::Ms(a.wait_ms),
            Cell::Count(a.tasks),
            Cell::Text(a.source.label().to_string()),
        ]);
    }
    left_out(&mut s, total, limit);
    if s.rows.is_empty() {
        s.note = Some(match over.source {
            Source::Measured => "no wait accrued between the samples".into(),
            Source::Sampled => "no session was seen busy in the samples".into(),
        });
    }
    // Sampled figures are estimates: the table says so under itself, whatever else it says.
    if over.source == Source::Sampled || any_sampled {
        s.note = Some(match s.note.take() {
            Some(n) => format!("{}; {n}", over.note),
            None => over.note,
        });
    }
    s
}

fn workers(w: &Window) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new(
        "workers",
        "Worker threads",
        &[
            ("figure", "figure"),
            ("first", "first"),
            ("now", "now"),
            ("change", "change"),
        ],
    );
    let Some(now) = &last.workers else {
        s.note = Some(format!(
            "{} gives each connection its own process or thread: there is no worker pool to exhaust. Active sessions now: {}.",
            last.engine.product(),
            thousands(
                last.client_tally()
                    .filter(|(x, _)| x.state == SessionState::Active)
                    .map(|(_, n)| n)
                    .sum::<u64>()
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
            Cell::text(label),
            Cell::Count(a),
            Cell::Count(b),
            Cell::Change(signed(b) - signed(a)),
        ]);
    }
    let available = signed(now.max_workers) - signed(now.active_workers);
    s.note = Some(format!("available workers: {available}"));
    vec![s]
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn blocking(w: &Window, limit: usize) -> Vec<Section> {
    let last = w.last();
    let g = BlockingGraph::of(last);
    let sessions = index(last);
    let mut trees = Section::new(
        "trees",
        "Blocking trees (lead blocker first)",
        &[
            ("session", "session"),
            ("waits_for", "waits for"),
            ("user", "user"),
            ("state", "state"),
            ("waiting_ms", "waiting"),
            ("statement", "statement"),
        ],
    );
    // "waits for" names each row's parent, so the tree reads right at any depth even when
    // the indentation has to give way; the table shortens names and statements to the
    // room it has, JSON keeps them whole (and `depth` beside the session).
    let describe = |id: i64, depth: usize, parent: Option<i64>, root_state: Option<&str>| {
        let tree = Cell::Tree { id, depth };
        let waits_for = parent.map_or(Cell::Empty, Cell::Id);
        let mut row = match sessions.get(&id) {
            Some(s) => vec![
                tree,
                waits_for,
                Cell::text(s.user_or_unknown()),
                Cell::text(match s.state {
                    SessionState::IdleInTransaction => "idle in tx",
                    other => other.label(),
                }),
                s.wait_ms
                    .filter(|_| s.is_blocked())
                    .map_or(Cell::Empty, Cell::Ms),
                s.query.clone().map_or(Cell::Empty, Cell::Statement),
            ],
            None => vec![
                tree,
                waits_for,
                Cell::Empty,
                Cell::text(crate::model::blocking::unseen_label(id)),
                Cell::Empty,
                Cell::Empty,
            ],
        };
        if let Some(st) = root_state {
            row[3] = Cell::text(st);
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
        if trees.rows.len() >= limit {
            continue;
        }
        trees.row(describe(t.lead, 0, None, root_state));
        // Depth first: a row's parent is the nearest row above it one level up.
        let mut path: Vec<i64> = vec![t.lead];
        for (id, depth) in &t.members {
            path.truncate(*depth);
            let parent = path.last().copied();
            path.push(*id);
            if trees.rows.len() >= limit {
                continue;
            }
            trees.row(describe(*id, *depth, parent, None));
        }
    }
    left_out(&mut trees, total_rows, limit);
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
        "lead_blockers",
        "Lead blockers",
        &[
            ("lead", "lead"),
            ("in_cycle", "in a cycle"),
            ("blocked", "blocked"),
            ("depth", "depth"),
            ("longest_wait_ms", "longest wait"),
        ],
    );
    let summarised = g
        .trees
        .iter()
        .map(|t| (t, false))
        .chain(g.behind_cycles.iter().map(|t| (t, true)));
    for (t, in_cycle) in summarised.take(limit) {
        summary.row(vec![
            Cell::Id(t.lead),
            if in_cycle {
                Cell::text("yes")
            } else {
                Cell::Empty
            },
            Cell::Count(t.blocked_count() as u64),
            Cell::Count(t.depth as u64),
            Cell::Ms(t.longest_wait_ms),
        ]);
    }
    left_out(&mut summary, g.trees.len() + g.behind_cycles.len(), limit);
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
            "cycles",
            "Cycles (deadlocks)",
            &[("sessions", "sessions, each waiting for the next")],
        );
        for c in &g.cycles {
            let ring: Vec<String> = c.iter().chain(c.first()).map(|i| i.to_string()).collect();
            cycles.row(vec![Cell::Text(ring.join(" -> "))]);
        }
        out.push(cycles);
    }
    out
}

fn connections(w: &Window, t: &Thresholds, limit: usize) -> Vec<Section> {
    let last = w.last();
    let idle_over = Thresholds::ms(t.idle_over);
    let mut overview = Section::new(
        "overview",
        "Connections",
        &[("figure", "figure"), ("value", "value")],
    );
    overview.row(vec![
        Cell::text("connected clients"),
        Cell::Count(last.connected_clients()),
    ]);
    if let Some(m) = last.connections.max_connections {
        overview.row(vec![Cell::text("max connections"), Cell::Count(m)]);
        overview.row(vec![
            Cell::text("reserved for admins"),
            Cell::Count(last.connections.reserved),
        ]);
    }
    if w.samples() > 1 {
        let d = signed(last.connected_clients()) - signed(w.first().connected_clients());
        overview.row(vec![Cell::text("change over the window"), Cell::Change(d)]);
    }
    let mut out = vec![overview];
    type Key = fn(&crate::model::session::Session) -> String;
    let dims: [(&'static str, &str, Key); 4] = [
        ("by_user", "By user", |s| s.user_or_unknown().to_string()),
        ("by_host", "By client host", |s| {
            s.host_or_unknown().to_string()
        }),
        ("by_application", "By application", |s| {
            // MySQL has no application name: say so rather than print "?".
            s.application
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "(none given)".to_string())
        }),
        ("by_state", "By state", |s| s.state.label().to_string()),
    ];
    for (key, heading, name_of) in dims {
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
        // Listed sessions one each; a group (over the DAC) its members, its idle ones all
        // younger than --idle-over when the sample split it there.
        let listed = last.client_sessions().map(|s| {
            let idle = s.idle_ms.unwrap_or(0);
            (s, 1, u64::from(idle >= idle_over), idle)
        });
        let grouped = last.client_groups().map(|g| {
            let old = g.idle_at_least(idle_over).unwrap_or(0);
            (&g.like, g.count, old, g.idle_ms.map_or(0, |a| a.max))
        });
        for (s, n, old, idle) in listed.chain(grouped) {
            let a = groups.entry(name_of(s)).or_default();
            a.total += n;
            match s.state {
                SessionState::Active => a.active += n,
                SessionState::Idle => {
                    a.idle += n;
                    a.idle_old += old;
                    a.oldest_idle = a.oldest_idle.max(idle);
                }
                SessionState::IdleInTransaction => a.idle_tx += n,
                SessionState::Other => {}
            }
        }
        // Every session of an engine without application names lands in one "(none
        // given)" row: not worth a table.
        if key == "by_application" && groups.len() == 1 && groups.contains_key("(none given)") {
            continue;
        }
        let mut rows: Vec<(String, Agg)> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
        let old_label = format!("idle > {}", crate::format::duration_secs(t.idle_over));
        let mut s = Section::new(
            key,
            heading,
            &[
                ("name", "name"),
                ("total", "total"),
                ("active", "active"),
                ("idle", "idle"),
                ("idle_over", &old_label),
                ("idle_in_transaction", "idle in tx"),
                ("oldest_idle_ms", "oldest idle"),
            ],
        );
        let total = rows.len();
        for (name, a) in rows {
            s.row(vec![
                Cell::Text(name),
                Cell::Count(a.total),
                Cell::Count(a.active),
                Cell::Count(a.idle),
                Cell::Count(a.idle_old),
                Cell::Count(a.idle_tx),
                if a.idle > 0 {
                    Cell::Ms(a.oldest_idle)
                } else {
                    Cell::Empty
                },
            ]);
        }
        left_out(&mut s, total, limit);
        out.push(s);
    }
    out
}

fn compiles(w: &Window, limit: usize) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new(
        "compilations",
        "Compilations",
        &[("figure", "figure"), ("value", "value")],
    );
    let rate = |name: &str| match w.rate(name) {
        Ok(r) => Cell::PerSecond(r),
        Err(crate::model::window::RateGap::OneSample) => Cell::text("needs 2 samples"),
        Err(crate::model::window::RateGap::NotCollected) => Cell::text("not reported"),
        Err(crate::model::window::RateGap::Reset) => Cell::text("counter reset (restart?)"),
    };
    s.row(vec![
        Cell::text("compilations"),
        rate(counter::COMPILATIONS),
    ]);
    s.row(vec![
        Cell::text("recompilations"),
        rate(counter::RECOMPILATIONS),
    ]);
    s.row(vec![Cell::text("batches"), rate(counter::BATCHES)]);
    if let (Ok(c), Ok(b)) = (w.delta(counter::COMPILATIONS), w.delta(counter::BATCHES))
        && b > 0
    {
        s.row(vec![
            Cell::text("compilations per batch"),
            Cell::Percent(c as f64 * 100.0 / b as f64),
        ]);
    }
    let waiting = |class: WaitClass| -> u64 {
        last.client_tally()
            .filter(|(x, _)| x.waits_on(class))
            .map(|(_, n)| n)
            .sum()
    };
    s.row(vec![
        Cell::text("sessions at the compile gate"),
        Cell::Count(waiting(WaitClass::Compile)),
    ]);
    s.row(vec![
        Cell::text("sessions on Query Store waits"),
        Cell::Count(waiting(WaitClass::QueryStore)),
    ]);
    if let Some(g) = &last.compile_gate {
        s.row(vec![Cell::text("gateway waiters"), Cell::Count(g.waiters)]);
        s.row(vec![Cell::text("gateway active"), Cell::Count(g.active)]);
        s.row(vec![Cell::text("gateway limit"), Cell::Count(g.limit)]);
    }
    let mut out = vec![s];
    if !last.databases.is_empty() {
        let mut dbs = Section::new(
            "databases",
            "Databases",
            &[
                ("database", "database"),
                ("query_store", "Query Store"),
                ("read_committed_snapshot", "RCSI"),
            ],
        );
        for d in &last.databases {
            dbs.row(vec![
                Cell::Text(d.name.clone()),
                d.query_store.clone().map_or(Cell::Empty, Cell::Text),
                d.read_committed_snapshot
                    .map_or(Cell::Empty, |b| Cell::text(if b { "on" } else { "off" })),
            ]);
        }
        left_out(&mut dbs, last.databases.len(), limit);
        out.push(dbs);
    }
    out
}

fn plan_cache(w: &Window) -> Vec<Section> {
    let last = w.last();
    let mut s = Section::new(
        "plan_cache",
        "Plan cache by object type",
        &[
            ("type", "type"),
            ("plans", "plans"),
            ("single_use", "single-use"),
            ("single_use_pct", "single-use %"),
            ("size_mb", "size MB"),
        ],
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
            Cell::Text(e.object_type.clone()),
            Cell::Count(e.plans),
            Cell::Count(e.single_use),
            Cell::Percent(crate::rules::pct(e.single_use as f64, e.plans as f64)),
            Cell::Count(e.size_bytes / (1024 * 1024)),
        ]);
    }
    vec![s]
}
