//! Lock chains, deadlock cycles, deadlocks the server keeps resolving, and readers queued
//! behind writers.

use super::{Context, Draft, Rule, describe_session};
use crate::format::{duration_ms, plural, thousands, truncate};
use crate::model::blocking::index;
use crate::model::session::{Session, StatementKind};
use crate::model::snapshot::{Area, Engine, counter};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const BLOCKING_CHAIN: Rule = Rule {
    id: "blocking-chain",
    title: "Blocking chain",
    needs_rates: false,
    needs: &[Area::OtherSessions, Area::Locks],
    check: blocking_chain,
};

pub(super) fn blocking_chain(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let warn_ms = Thresholds::ms(t.blocked_warning_wait);
    let sessions = index(last);
    // Only waits long enough to matter: a busy server has plenty of millisecond lock waits.
    let long_waiters = last
        .client_sessions()
        .filter(|s| s.is_blocked() && s.wait_ms.unwrap_or(0) >= warn_ms)
        .count() as u64;
    // The tree to describe: the largest among those holding a wait long enough to matter
    // (trees are sorted by size, so the first such one), not merely the largest tree.
    let tree = ctx
        .graph
        .trees
        .iter()
        .find(|t| t.longest_wait_ms >= warn_ms)?;
    if long_waiters == 0 {
        return None;
    }
    let longest = ctx.graph.longest_wait_ms(last);
    let blocked_total = ctx.graph.blocked.len() as u64;
    let severity = if longest >= Thresholds::ms(t.blocked_critical_wait)
        || long_waiters as f64 >= t.blocked_critical_count
    {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let lead = sessions.get(&tree.lead).copied();
    let lead_text = lead.map_or_else(
        || crate::model::blocking::describe_unseen_lead(tree.lead),
        describe_session,
    );
    let mut summary = format!(
        "{lead_text} leads a chain blocking {}, {} deep, longest wait {}",
        plural(tree.blocked_count() as u64, "session"),
        tree.depth,
        duration_ms(tree.longest_wait_ms)
    );
    let leads = ctx.graph.trees.len();
    if leads > 1 {
        let others = leads as u64 - 1;
        let more = blocked_total.saturating_sub(tree.blocked_count() as u64);
        summary.push_str(&format!(
            "; {} {} {}",
            plural(others, "other lead blocker"),
            if others == 1 { "holds" } else { "hold" },
            plural(more, "more session")
        ));
    }
    if let Some(l) = lead {
        summary.push_str(&format!(". The lead is {}", lead_state(l)));
    }
    summary.push('.');
    let mut d = Draft::new(&BLOCKING_CHAIN, severity, summary)
        .figure(Figure::count("lead blockers", leads as u64))
        .figure(Figure::count("blocked sessions", blocked_total))
        .figure(Figure::count(
            "blocked longer than the warning wait",
            long_waiters,
        ))
        .figure(Figure::count("deepest chain", ctx.graph.max_depth() as u64))
        .figure(Figure::millis("longest wait", longest));
    if let Some(q) = lead.and_then(|l| l.query.as_deref()) {
        d = d.figure(Figure::text("lead's statement", truncate(q, 120)));
    }
    // When the engine had to work the edges out (metadata locks), say how: an inferred
    // lead is a suspect, and the engineer must know that before ending it.
    if let Some(note) = tree
        .members
        .iter()
        .find_map(|(id, _)| sessions.get(id).and_then(|s| s.blocked_by_note.as_deref()))
    {
        d = d.figure(Figure::text("how the blockers were found", note));
    }
    let mut users = Vec::new();
    let mut hosts = Vec::new();
    let mut apps = Vec::new();
    for tr in &ctx.graph.trees {
        if let Some(s) = sessions.get(&tr.lead) {
            users.extend(s.user.clone());
            hosts.extend(s.client_host.clone());
            apps.extend(s.application.clone().filter(|a| !a.is_empty()));
        }
    }
    for v in [&mut users, &mut hosts, &mut apps] {
        v.sort();
        v.dedup();
    }
    d.action("Look at the lead blocker and its tree: `spiral blocking`.")
        .action(match tree.lead {
            // Not sessions: neither `spiral kill` nor a session KILL can end these.
            crate::model::blocking::ORPHANED_DTC => format!(
                "No session holds these locks: a distributed transaction lost its coordinator. \
                 Ending its unit of work rolls it back and releases the chain: {}",
                crate::actions::terminate(last, tree.lead)
            ),
            crate::model::blocking::DEFERRED_RECOVERY => crate::actions::terminate(last, tree.lead),
            _ => end_leads_action(
                ctx,
                &lead_ids(ctx),
                "the chain",
                "--blocking-leaders --execute",
            ),
        })
        .action(
            "Do not add connections or raise pool sizes while the chain stands: every new \
             request joins the queue and holds a connection.",
        )
        .culprits(Culprits {
            users,
            hosts,
            applications: apps,
            sessions: ctx.graph.trees.iter().map(|t| t.lead).take(20).collect(),
        })
        .done()
}

/// The lead blockers to end together: every tree holding a wait long enough to matter
/// (two sessions deadlocked in the application lead two trees; ending one frees only half).
pub(super) fn lead_ids(ctx: &Context) -> Vec<i64> {
    let warn_ms = Thresholds::ms(ctx.thresholds.blocked_warning_wait);
    ctx.graph
        .trees
        .iter()
        .filter(|t| t.longest_wait_ms >= warn_ms)
        .map(|t| t.lead)
        .collect()
}

/// Most lead blockers named in one pasted statement; beyond that only `spiral kill
/// --blocking-leaders` is offered.
const MAX_NAMED_LEADS: usize = 10;

/// One action that ends all of `leads` at once: the statement for exactly those sessions,
/// and the `spiral kill --blocking-leaders` line that finds and ends every lead blocker
/// (re-checked on the server) in one step.
pub(super) fn end_leads_action(
    ctx: &Context,
    leads: &[i64],
    what: &str,
    kill_args: &str,
) -> String {
    let last = ctx.last();
    let spiral = crate::actions::spiral_kill(ctx.window.target(), kill_args);
    let all = |n: usize| {
        if n == 2 {
            "both".to_string()
        } else {
            format!("all {}", thousands(n as u64))
        }
    };
    match leads {
        [] => format!("End the lead blockers in one step, re-checked on the server: {spiral}"),
        [one] => format!(
            "If the lead is idle, abandoned or a runaway, ending it releases {what}: {} Or, \
             re-checked on the server: {spiral}",
            crate::actions::terminate(last, *one)
        ),
        many if many.len() <= MAX_NAMED_LEADS => {
            let ids: Vec<String> = many.iter().map(|i| i.to_string()).collect();
            format!(
                "End {} lead blockers together (sessions {}): ending one frees only its own \
                 part of {what}. {} Or in one step, re-checked on the server: {spiral}",
                all(many.len()),
                crate::format::list(&ids, MAX_NAMED_LEADS),
                crate::actions::terminate_all(last, many)
            )
        }
        many => format!(
            "End {} lead blockers together (ending one frees only its own part of {what}), \
             in one step, re-checked on the server: {spiral}",
            all(many.len())
        ),
    }
}

fn lead_state(s: &Session) -> String {
    use crate::model::session::SessionState::*;
    match s.state {
        IdleInTransaction => format!(
            "idle in an open transaction for {}",
            duration_ms(s.idle_ms.unwrap_or(0))
        ),
        Idle => "idle (its transaction may still hold locks)".to_string(),
        Active => match (s.wait_type.as_deref(), s.elapsed_ms) {
            (Some(w), Some(e)) => format!("running for {} waiting on {w}", duration_ms(e)),
            (None, Some(e)) => format!("running for {}", duration_ms(e)),
            (Some(w), None) => format!("running, waiting on {w}"),
            (None, None) => "running".to_string(),
        },
        Other => s
            .raw_state
            .clone()
            .unwrap_or_else(|| "in an unusual state".into()),
    }
}

pub const DEADLOCK_CYCLE: Rule = Rule {
    id: "deadlock-cycle",
    title: "Deadlock cycle",
    needs_rates: false,
    needs: &[Area::OtherSessions, Area::Locks],
    check: deadlock_cycle,
};

fn deadlock_cycle(ctx: &Context) -> Option<Verdict> {
    let last = ctx.last();
    let cycle = ctx.graph.cycles.first()?;
    let sessions = index(last);
    let ring: Vec<String> = cycle
        .iter()
        .chain(cycle.first())
        .map(|id| id.to_string())
        .collect();
    let in_cycles: usize = ctx.graph.cycles.iter().map(Vec::len).sum();
    let in_trees: usize = ctx.graph.trees.iter().map(|t| t.blocked_count()).sum();
    let behind = ctx.graph.blocked.len().saturating_sub(in_cycles + in_trees);
    let wait = cycle
        .iter()
        .filter_map(|id| sessions.get(id).and_then(|s| s.wait_ms))
        .min()
        .unwrap_or(0);
    let mut summary = format!(
        "Sessions {} wait for each other in a cycle (for at least {})",
        ring.join(" -> "),
        duration_ms(wait)
    );
    if behind > 0 {
        summary.push_str(&format!(
            "; {} more wait behind them",
            plural(behind as u64, "session")
        ));
    }
    if ctx.graph.cycles.len() > 1 {
        summary.push_str(&format!("; {} cycles in all", ctx.graph.cycles.len()));
    }
    summary.push_str(": none of them can finish until one is ended.");
    // The victim to suggest: the member with the least work done (shortest running).
    let victim = cycle
        .iter()
        .min_by_key(|id| {
            sessions
                .get(id)
                .and_then(|s| s.elapsed_ms)
                .unwrap_or(u64::MAX)
        })
        .copied()
        .unwrap_or(cycle[0]);
    let detector = match last.engine {
        Engine::Postgres => {
            "PostgreSQL checks for deadlocks after deadlock_timeout; a cycle that lives longer means that setting is high for these sessions"
        }
        Engine::Mysql => {
            "InnoDB normally breaks such a cycle at once; a lasting one suggests innodb_deadlock_detect is off or the wait crosses engines"
        }
        Engine::Mssql => {
            "SQL Server's deadlock monitor should pick a victim within seconds; a lasting cycle means its resources are not all locks (e.g. parallelism, or a session waiting for a worker)"
        }
    };
    let mut users: Vec<String> = cycle
        .iter()
        .filter_map(|id| sessions.get(id).and_then(|s| s.user.clone()))
        .collect();
    users.sort();
    users.dedup();
    let mut d = Draft::new(&DEADLOCK_CYCLE, Severity::Critical, summary)
        .figure(Figure::text("cycle", ring.join(" -> ")))
        .figure(Figure::count("sessions in cycles", in_cycles as u64))
        .figure(Figure::count("waiting behind", behind as u64))
        .figure(Figure::millis("shortest wait in the cycle", wait));
    for id in cycle.iter().take(4) {
        if let Some(s) = sessions.get(id) {
            let q = s
                .query
                .as_deref()
                .map(|q| truncate(q, 80))
                .unwrap_or_default();
            d = d.figure(Figure::text(&format!("session {id}"), q));
        }
    }
    d.action(format!(
        "End one member to break the cycle, the one with the least work done: {}",
        crate::actions::terminate(last, victim)
    ))
    .action(format!("{detector}."))
    .action(
        "Afterwards make the code take its locks in one order, and check that readers take \
         only the locks they need (a read that lost its READ UNCOMMITTED or snapshot \
         isolation joins every cycle).",
    )
    .culprits(Culprits {
        users,
        sessions: cycle.clone(),
        ..Culprits::default()
    })
    .done()
}

pub const DEADLOCKS_RISING: Rule = Rule {
    id: "deadlocks-rising",
    title: "Deadlocks happening",
    needs_rates: true,
    needs: &[Area::Counters],
    check: deadlocks_rising,
};

fn deadlocks_rising(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let delta = match ctx.window.delta(counter::DEADLOCKS) {
        Ok(d) => d,
        // Every engine has a deadlock counter: not reading it is a blind spot, not calm.
        Err(crate::model::window::RateGap::NotCollected) => {
            return Draft::new(
                &DEADLOCKS_RISING,
                Severity::Unknown,
                "Could not check: the server's deadlock counter was not readable (missing grant, or the metric is disabled).".to_string(),
            )
            .done();
        }
        Err(_) => return None,
    };
    if (delta as f64) < t.deadlocks_warning || delta == 0 {
        return None;
    }
    let secs = ctx.window.seconds();
    let summary = format!(
        "The server detected {} in the last {}: each one rolled a transaction back, and the \
         applications retry them into the same locks.",
        plural(delta, "deadlock"),
        crate::format::duration_secs(secs)
    );
    let confirm = match ctx.last().engine {
        Engine::Postgres => {
            "Read the server log: every deadlock is logged with both statements (log_lock_waits adds the waits that preceded it)."
        }
        Engine::Mysql => {
            "Read the latest deadlock: SHOW ENGINE INNODB STATUS (section LATEST DETECTED DEADLOCK); set innodb_print_all_deadlocks=ON to log every one."
        }
        Engine::Mssql => {
            "Read the deadlock graphs from the system_health Extended Events session (xml_deadlock_report)."
        }
    };
    Draft::new(&DEADLOCKS_RISING, Severity::Warning, summary)
        .figure(Figure::count("deadlocks in window", delta))
        .figure(Figure::rate("deadlock rate", delta as f64 / secs.max(1e-9)))
        .action(confirm)
        .action("Find the two statements and make them take their locks in the same order, or in smaller transactions.")
        .done()
}

pub const READ_BLOCKED_BY_WRITERS: Rule = Rule {
    id: "read-blocked-by-writers",
    title: "Readers blocked by writers",
    needs_rates: false,
    needs: &[Area::OtherSessions, Area::Locks],
    check: read_blocked_by_writers,
};

fn is_writer(s: &Session) -> bool {
    match s.statement_kind() {
        Some(StatementKind::Write) | Some(StatementKind::Ddl) => true,
        Some(StatementKind::Read) => false,
        // An idle session holding a transaction open holds whatever it wrote.
        _ => s.open_transactions > 0,
    }
}

fn read_blocked_by_writers(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let sessions = index(last);
    let warn_ms = Thresholds::ms(t.blocked_warning_wait);
    let readers: Vec<&Session> = last
        .client_sessions()
        .filter(|s| s.is_blocked() && s.wait_ms.unwrap_or(0) >= warn_ms)
        .filter(|s| s.statement_kind() == Some(StatementKind::Read))
        .filter(|s| {
            s.blocked_by
                .iter()
                .any(|b| sessions.get(b).is_some_and(|w| is_writer(w)))
        })
        .collect();
    if (readers.len() as f64) < t.readers_blocked_min {
        return None;
    }
    let severity = if readers.len() as f64 >= t.blocked_critical_count {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut writers: Vec<i64> = readers
        .iter()
        .flat_map(|r| r.blocked_by.iter().copied())
        .filter(|b| sessions.get(b).is_some_and(|w| is_writer(w)))
        .collect();
    writers.sort_unstable();
    writers.dedup();
    // The culprits are whoever leads the trees the readers wait in, never the readers: in
    // PostgreSQL's lock queue behind DDL the ALTER waits too (for a transaction that read
    // the table and stayed open), and the readers queue behind the ALTER.
    let mut leads: Vec<i64> = ctx
        .graph
        .trees
        .iter()
        .filter(|t| {
            t.members
                .iter()
                .any(|(m, _)| readers.iter().any(|r| r.id == *m))
        })
        .map(|t| t.lead)
        .collect();
    leads.sort_unstable();
    leads.dedup();
    // Writers that are themselves waiting: a queued ALTER, not the head of anything.
    let waiting_writers: Vec<i64> = writers
        .iter()
        .copied()
        .filter(|w| sessions.get(w).is_some_and(|s| s.is_blocked()))
        .collect();
    let longest = readers.iter().filter_map(|r| r.wait_ms).max().unwrap_or(0);
    let mut summary = format!(
        "{} wait behind {} (longest {})",
        plural(readers.len() as u64, "reading session"),
        plural(writers.len() as u64, "writing session"),
        duration_ms(longest)
    );
    let outside: Vec<&Session> = leads
        .iter()
        .filter(|l| !writers.contains(l))
        .filter_map(|l| sessions.get(l).copied())
        .collect();
    if let Some(lead) = outside.first() {
        let one = writers.len() == 1;
        summary.push_str(&format!(
            ", and the {} in turn {} behind {}, which is {}",
            if one { "writer" } else { "writers" },
            if one { "waits" } else { "wait" },
            describe_session(lead),
            lead_state(lead)
        ));
        if outside.len() > 1 {
            summary.push_str(&format!(
                " ({} in all)",
                plural(outside.len() as u64, "lead blocker")
            ));
        }
    }
    summary.push_str(": reads queue behind writes and hold their connections while they wait.");
    let advice = match last.engine {
        Engine::Mssql => {
            // The databases the blocked readers are in, not every database on the server.
            let reader_dbs: Vec<&str> = readers.iter().filter_map(|r| r.database.as_deref()).collect();
            let off: Vec<String> = last
                .databases
                .iter()
                .filter(|d| d.read_committed_snapshot == Some(false))
                .filter(|d| reader_dbs.is_empty() || reader_dbs.contains(&d.name.as_str()))
                .map(|d| d.name.clone())
                .collect();
            if off.is_empty() {
                "Readers under READ COMMITTED take shared locks: check whether the code path lost its snapshot or READ UNCOMMITTED setting (one removed line of code is enough).".to_string()
            } else {
                format!(
                    "Read Committed Snapshot is off for {}: readers take shared locks behind writers. Turn on RCSI (ALTER DATABASE ... SET READ_COMMITTED_SNAPSHOT ON, in a quiet window) or restore the READ UNCOMMITTED/snapshot the code path lost.",
                    crate::format::list(&off, 3)
                )
            }
        }
        Engine::Postgres => match waiting_writers.as_slice() {
            [] => "PostgreSQL readers only wait behind DDL or explicit locks: the writer they wait for leads the chain. Cancel it if it is running (pg_cancel_backend), end it if it sits idle in a transaction (pg_terminate_backend), and rerun the DDL with a short lock_timeout.".to_string(),
            queued => {
                let ids: Vec<String> = queued.iter().map(|i| i.to_string()).collect();
                format!(
                    "PostgreSQL readers only wait behind DDL or explicit locks, and here the writer is queued itself: session {} waits for the lead blocker, and every reader of the table lines up behind it. End or commit the lead (it holds the lock), or cancel the queued statement so the readers pass (SELECT pg_cancel_backend({});); rerun the DDL with a short lock_timeout.",
                    crate::format::list(&ids, 3),
                    queued[0]
                )
            }
        },
        Engine::Mysql => match waiting_writers.as_slice() {
            [] => "InnoDB plain SELECTs do not wait for row locks: these are locking reads (FOR UPDATE / LOCK IN SHARE MODE) or metadata locks behind DDL; the writer they wait for leads the chain.".to_string(),
            queued => format!(
                "A metadata-lock queue: session {} (DDL) waits for the lead blocker, which holds the table in an open transaction or a running statement, and every later statement on the table lines up behind the DDL. End the lead, or end the queued DDL so the readers pass ({}), and rerun the DDL when the table is free.",
                queued[0],
                crate::actions::terminate(last, queued[0])
            ),
        },
    };
    // Writers caught in a deadlock cycle lead no tree: then they are what the readers wait for.
    let heads = if leads.is_empty() { &writers } else { &leads };
    let mut users = Vec::new();
    let mut hosts = Vec::new();
    let mut apps = Vec::new();
    for s in heads.iter().filter_map(|l| sessions.get(l)) {
        users.extend(s.user.clone());
        hosts.extend(s.client_host.clone());
        apps.extend(s.application.clone().filter(|a| !a.is_empty()));
    }
    for v in [&mut users, &mut hosts, &mut apps] {
        v.sort();
        v.dedup();
    }
    let mut d = Draft::new(&READ_BLOCKED_BY_WRITERS, severity, summary)
        .figure(Figure::count("blocked readers", readers.len() as u64))
        .figure(Figure::count("writers blocking them", writers.len() as u64))
        .figure(Figure::count(
            "writers waiting themselves",
            waiting_writers.len() as u64,
        ))
        .figure(Figure::count("lead blockers", leads.len() as u64))
        .figure(Figure::millis("longest reader wait", longest))
        .action(advice);
    if !outside.is_empty() {
        d = d.action(end_leads_action(
            ctx,
            &leads,
            "the queue",
            "--blocking-leaders --execute",
        ));
    }
    d.action("See the writers and what waits on them: `spiral blocking`.")
        .culprits(Culprits {
            users,
            hosts,
            applications: apps,
            sessions: heads.iter().copied().take(20).collect(),
        })
        .done()
}
