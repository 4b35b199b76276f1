//! Idle connections that pile up, and sessions that sit idle inside a transaction.

use std::collections::BTreeMap;

use super::{Context, Draft, Rule, describe_session, pct};
use crate::format::{decimal, duration_ms, thousands};
use crate::session::{Session, SessionState};
use crate::snapshot::{Area, Snapshot};
use crate::thresholds::Thresholds;
use crate::verdict::{Culprits, Figure, Severity, Verdict};

pub const IDLE_CONNECTION_LEAK: Rule = Rule {
    id: "idle-connection-leak",
    title: "Idle connections piling up",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: idle_connection_leak,
};

/// Where idle connections come from: a user and an application. Hosts vary across the
/// instances of one application, so they are listed but do not split the group.
type Source<'s> = (&'s str, Option<&'s str>);

fn source(s: &Session) -> Source<'_> {
    (
        s.user_or_unknown(),
        s.application.as_deref().filter(|a| !a.is_empty()),
    )
}

fn idle_by_source(snapshot: &Snapshot) -> BTreeMap<Source<'_>, Vec<&Session>> {
    let mut groups: BTreeMap<Source, Vec<&Session>> = BTreeMap::new();
    for s in snapshot.client_sessions().filter(|s| s.is_idle()) {
        groups.entry(source(s)).or_default().push(s);
    }
    groups
}

fn idle_leak_severity(ctx: &Context, old: u64, total_idle: u64, growth: u64) -> Option<Severity> {
    let t = ctx.thresholds;
    let usable = ctx.last().connections.usable();
    let share = usable.map(|u| pct(old as f64, u as f64));
    let many_old =
        old as f64 >= t.idle_leak_min_sessions && share.is_none_or(|s| s >= t.idle_leak_share_pct);
    let growing =
        growth as f64 >= t.idle_leak_growth && total_idle as f64 >= t.idle_leak_min_sessions;
    if !many_old && !growing {
        return None;
    }
    let last = ctx.last();
    let near_limit = usable.is_some_and(|u| {
        pct(last.connected_clients() as f64, u as f64) >= t.connections_warning_pct
    });
    // Pools that keep their full size open sit idle for minutes when traffic is quiet: old
    // idle connections alone are a note. They become a warning when they grow, dominate the
    // slots, or (with no known limit, as on SQL Server) are very many; critical near the limit.
    let dominant = share.is_some_and(|s| s >= 2.0 * t.idle_leak_share_pct);
    let very_many = usable.is_none() && old as f64 >= 5.0 * t.idle_leak_min_sessions;
    Some(if near_limit {
        Severity::Critical
    } else if dominant || growing || very_many {
        Severity::Warning
    } else {
        Severity::Info
    })
}

fn idle_connection_leak(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let idle_over_ms = Thresholds::ms(t.idle_over);
    let first_groups = idle_by_source(ctx.window.first());
    let mut worst: Option<(Severity, u64, Source, Vec<&Session>, u64)> = None;
    for (src, sessions) in idle_by_source(last) {
        let old = sessions
            .iter()
            .filter(|s| s.idle_ms.unwrap_or(0) >= idle_over_ms)
            .count() as u64;
        let before = first_groups.get(&src).map_or(0, |v| v.len()) as u64;
        let growth = (sessions.len() as u64).saturating_sub(before);
        let Some(sev) = idle_leak_severity(ctx, old, sessions.len() as u64, growth) else {
            continue;
        };
        let better = worst.as_ref().is_none_or(|(ws, wold, _, wsess, _)| {
            (sev, old, sessions.len()) > (*ws, *wold, wsess.len())
        });
        if better {
            worst = Some((sev, old, src, sessions, growth));
        }
    }
    let (severity, old, (user, app), sessions, growth) = worst?;
    let oldest = sessions.iter().filter_map(|s| s.idle_ms).max().unwrap_or(0);
    let mut hosts: Vec<String> = sessions
        .iter()
        .filter_map(|s| s.client_host.clone())
        .collect();
    hosts.sort();
    hosts.dedup();
    let who = match app {
        Some(a) => format!("User {user} (application {a})"),
        None => format!("User {user}"),
    };
    let mut summary = format!(
        "{who} holds {} idle connections, {} of them idle longer than {} (oldest {})",
        thousands(sessions.len() as u64),
        thousands(old),
        crate::format::duration_secs(t.idle_over),
        duration_ms(oldest)
    );
    if let Some(u) = last.connections.usable() {
        summary.push_str(&format!(
            ", {}% of the {} usable slots",
            decimal(pct(sessions.len() as f64, u as f64)),
            thousands(u)
        ));
    }
    if ctx.window.has_rates() {
        summary.push_str(&format!(
            "; {} more than at the first sample {} ago",
            thousands(growth),
            crate::format::duration_secs(ctx.window.seconds())
        ));
    }
    summary.push_str(": the application opens connections and never returns or closes them.");
    let kill = crate::actions::kill_idle_sessions(last, user, app, t.idle_over.round() as u64);
    Draft::new(&IDLE_CONNECTION_LEAK, severity, summary)
        .figure(Figure::count("idle connections", sessions.len() as u64))
        .figure(Figure::count("idle longer than --idle-over", old))
        .figure(Figure::millis("oldest idle", oldest))
        .figure(Figure::count("growth over the window", growth))
        .figure(Figure::text("hosts", crate::format::list(&hosts, 5)))
        .action(format!(
            "End the idle sessions of {user} (only idle ones, re-checked on the server): {kill}"
        ))
        .action(format!(
            "Then fix the source: {user}'s pool or code must close or return connections (max \
             idle, idle timeout, max lifetime); expect the slots to refill until it does."
        ))
        .action(
            "Set a server-side idle limit as a backstop (PostgreSQL idle_session_timeout, \
             MySQL wait_timeout) for that user.",
        )
        .culprits(Culprits {
            users: vec![user.to_string()],
            applications: app.map(|a| vec![a.to_string()]).unwrap_or_default(),
            hosts: hosts.into_iter().take(20).collect(),
            sessions: Vec::new(),
        })
        .done()
}

pub const IDLE_IN_TRANSACTION: Rule = Rule {
    id: "idle-in-transaction",
    title: "Sessions idle inside open transactions",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: idle_in_transaction,
};

fn idle_in_transaction(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let over = Thresholds::ms(t.idle_in_transaction_over);
    let mut idle_tx: Vec<&Session> = last
        .client_sessions()
        .filter(|s| s.state == SessionState::IdleInTransaction && s.idle_ms.unwrap_or(0) >= over)
        .collect();
    if idle_tx.is_empty() {
        return None;
    }
    // Blockers first, then the longest idle.
    let blocks = |id: i64| {
        ctx.graph
            .trees
            .iter()
            .find(|tr| tr.lead == id)
            .map_or(0, |tr| tr.blocked_count())
    };
    idle_tx.sort_by(|a, b| {
        blocks(b.id)
            .cmp(&blocks(a.id))
            .then(b.idle_ms.cmp(&a.idle_ms))
            .then(a.id.cmp(&b.id))
    });
    let head = idle_tx[0];
    let head_blocks = blocks(head.id);
    let head_tree_wait = ctx
        .graph
        .trees
        .iter()
        .find(|tr| tr.lead == head.id)
        .map_or(0, |tr| tr.longest_wait_ms);
    let severity = if head_blocks > 0
        && (head_tree_wait >= Thresholds::ms(t.blocked_critical_wait)
            || head_blocks as f64 >= t.blocked_critical_count)
    {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut summary = format!(
        "{} has been idle inside an open transaction for {}",
        describe_session(head),
        duration_ms(head.idle_ms.unwrap_or(0))
    );
    if head_blocks > 0 {
        summary.push_str(&format!(
            " and blocks {} (longest wait {})",
            crate::format::plural(head_blocks as u64, "session"),
            duration_ms(head_tree_wait)
        ));
    }
    if idle_tx.len() > 1 {
        summary.push_str(&format!(
            "; {} more sit idle in transactions",
            thousands(idle_tx.len() as u64 - 1)
        ));
    }
    summary.push_str(": their locks stay held until they commit, roll back or are ended.");
    let mut users: Vec<String> = idle_tx
        .iter()
        .map(|s| s.user_or_unknown().to_string())
        .collect();
    users.sort();
    users.dedup();
    let mut d = Draft::new(&IDLE_IN_TRANSACTION, severity, summary)
        .figure(Figure::count("idle in transaction", idle_tx.len() as u64))
        .figure(Figure::millis(
            "longest idle",
            idle_tx.iter().filter_map(|s| s.idle_ms).max().unwrap_or(0),
        ))
        .figure(Figure::count(
            "blocked behind the first",
            head_blocks as u64,
        ));
    if let Some(q) = &head.query {
        d = d.figure(Figure::text(
            "its last statement",
            crate::format::truncate(q, 120),
        ));
    }
    let verb = if head_blocks > 0 {
        "blocks others"
    } else {
        "is the oldest"
    };
    d.action(format!(
        "Session {} {verb}: end it (its transaction rolls back): {}",
        head.id,
        crate::actions::terminate(last, head.id)
    ))
    .action(
        "Find the code path that opens a transaction and then waits (on a user, a remote \
         call, a forgotten commit) and make it commit or roll back.",
    )
    .action(
        "Set an idle-in-transaction limit (PostgreSQL idle_in_transaction_session_timeout, \
         MariaDB idle_transaction_timeout) so the server ends such sessions itself.",
    )
    .culprits(Culprits {
        users,
        sessions: idle_tx.iter().map(|s| s.id).take(20).collect(),
        ..Culprits::default()
    })
    .done()
}
