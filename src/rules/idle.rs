//! Idle connections that pile up, and sessions that sit idle inside a transaction.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Draft, Rule, describe_session, pct};
use crate::format::{decimal, duration_ms, plural, thousands};
use crate::model::session::{Session, SessionState};
use crate::model::snapshot::{Area, Snapshot};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

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

/// A connection across samples: its id and, where the engine says, when it connected (ids
/// are handed out again after a disconnect, most of all in a reconnect flood).
type Identity = (i64, Option<chrono::DateTime<chrono::Utc>>);

fn identity(s: &Session) -> Identity {
    (s.id, s.connected_at)
}

/// How one source's idle connections behaved over the window. A leak is connections that
/// stay idle and keep accumulating, so it is judged on the *set* of connections, not on
/// the idle count: a healthy pool's connections flip between busy and idle from one sample
/// to the next and its idle count swings by dozens while its set does not change.
struct IdleSet<'s> {
    /// Idle now, in the last sample.
    idle: Vec<&'s Session>,
    /// Idle now and idle longer than --idle-over.
    old: u64,
    /// Old ones that were already connected at the first sample and stayed idle all through
    /// the window (idle at least as long as the window): the ones a leak is made of.
    held: u64,
    /// Connections of this source that arrived during the window and sit idle now.
    arrived_idle: u64,
    /// Connections of this source present at the first sample and gone at the last.
    left: u64,
}

/// Every client connection of a snapshot, by source, as identities.
fn connections_by_source(snapshot: &Snapshot) -> BTreeMap<Source<'_>, BTreeSet<Identity>> {
    let mut out: BTreeMap<Source, BTreeSet<Identity>> = BTreeMap::new();
    for s in snapshot.client_sessions() {
        out.entry(source(s)).or_default().insert(identity(s));
    }
    out
}

fn idle_set<'s>(
    ctx: &Context<'s>,
    sessions: Vec<&'s Session>,
    before: &BTreeSet<Identity>,
    now: &BTreeSet<Identity>,
) -> IdleSet<'s> {
    let t = ctx.thresholds;
    let idle_over_ms = Thresholds::ms(t.idle_over);
    let window_ms = Thresholds::ms(ctx.window.seconds());
    let rates = ctx.window.has_rates();
    let old: Vec<&Session> = sessions
        .iter()
        .copied()
        .filter(|s| s.idle_ms.unwrap_or(0) >= idle_over_ms)
        .collect();
    let held = if rates {
        old.iter()
            .filter(|s| before.contains(&identity(s)) && s.idle_ms.unwrap_or(0) >= window_ms)
            .count()
    } else {
        old.len()
    } as u64;
    let arrived_idle = if rates {
        sessions
            .iter()
            .filter(|s| !before.contains(&identity(s)))
            .count() as u64
    } else {
        0
    };
    let left = if rates {
        before.difference(now).count() as u64
    } else {
        0
    };
    IdleSet {
        old: old.len() as u64,
        idle: sessions,
        held,
        arrived_idle,
        left,
    }
}

impl IdleSet<'_> {
    /// New idle connections kept arriving and none of this source's left: the set grows.
    fn accumulating(&self, t: &Thresholds) -> bool {
        self.left == 0 && self.arrived_idle as f64 >= t.idle_leak_growth
    }
}

fn idle_leak_severity(ctx: &Context, set: &IdleSet) -> Option<Severity> {
    let t = ctx.thresholds;
    let usable = ctx.last().connections.usable();
    let share = usable.map(|u| pct(set.held as f64, u as f64));
    // Age first: only connections idle past --idle-over, held all through the window, make
    // a leak. Young ones (a pool just filled, a reconnect flood after a restart) never do,
    // however many: that is reconnect-storm's subject.
    let many_held = set.held as f64 >= t.idle_leak_min_sessions
        && share.is_none_or(|s| s >= t.idle_leak_share_pct);
    if !many_held {
        return None;
    }
    let last = ctx.last();
    let near_limit = usable.is_some_and(|u| {
        pct(last.connected_clients() as f64, u as f64) >= t.connections_warning_pct
    });
    // Pools that keep their full size open sit idle for minutes when traffic is quiet: old
    // idle connections alone are a note. They become a warning when the set keeps growing
    // with none leaving, when they dominate the slots, or (with no known limit, as on SQL
    // Server) when they are very many; critical near the limit.
    let dominant = share.is_some_and(|s| s >= 2.0 * t.idle_leak_share_pct);
    let very_many = usable.is_none() && set.held as f64 >= 5.0 * t.idle_leak_min_sessions;
    Some(if near_limit {
        Severity::Critical
    } else if dominant || set.accumulating(t) || very_many {
        Severity::Warning
    } else {
        Severity::Info
    })
}

/// The judgement of idle-connection-leak, for rules that ask whether idle connections are
/// hurting now (missing-guardrails): the worst source's severity.
pub(super) fn idle_leak_judgement(ctx: &Context) -> Option<Severity> {
    leak_worst(ctx).map(|w| w.0)
}

type Worst<'s> = (Severity, Source<'s>, IdleSet<'s>);

fn leak_worst<'s>(ctx: &Context<'s>) -> Option<Worst<'s>> {
    let mut worst: Option<Worst> = None;
    let before = connections_by_source(ctx.window.first());
    let now = connections_by_source(ctx.window.last());
    let none = BTreeSet::new();
    for (src, sessions) in idle_by_source(ctx.window.last()) {
        let set = idle_set(
            ctx,
            sessions,
            before.get(&src).unwrap_or(&none),
            now.get(&src).unwrap_or(&none),
        );
        let Some(sev) = idle_leak_severity(ctx, &set) else {
            continue;
        };
        let better = worst.as_ref().is_none_or(|(ws, _, wset)| {
            (sev, set.held, set.idle.len()) > (*ws, wset.held, wset.idle.len())
        });
        if better {
            worst = Some((sev, src, set));
        }
    }
    worst
}

fn idle_connection_leak(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let (severity, (user, app), set) = leak_worst(ctx)?;
    let sessions = &set.idle;
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
        "{who} holds {}, {} of them idle longer than {} (oldest {})",
        plural(sessions.len() as u64, "idle connection"),
        thousands(set.old),
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
        let span = crate::format::duration_secs(ctx.window.seconds());
        if set.accumulating(t) {
            summary.push_str(&format!(
                "; {} more arrived in the last {span} and stay idle, none left",
                thousands(set.arrived_idle)
            ));
        } else if set.arrived_idle > 0 {
            summary.push_str(&format!(
                "; {} more than at the first sample {span} ago",
                thousands(set.arrived_idle)
            ));
        }
    }
    summary.push_str(if severity == Severity::Info {
        ": a pool kept open at full size while traffic is quiet, or the start of a leak."
    } else {
        ": the application opens connections and never returns or closes them."
    });
    let kill = crate::actions::kill_idle_sessions(
        last,
        ctx.window.target(),
        user,
        app,
        t.idle_over.round() as u64,
    );
    // A note is a pool at rest as often as a leak starting: nothing to end yet, so the ready
    // kill line comes second, for when a second look shows the set growing.
    let end_them = if severity == Severity::Info {
        format!(
            "Nothing to end yet: look again in a few minutes (`spiral connections`); a leak \
             shows as the same connections still idle and more arriving. If it grows: {kill}"
        )
    } else {
        format!(
            "End the idle sessions of {user} (only idle ones, re-checked on the server): {kill}"
        )
    };
    Draft::new(&IDLE_CONNECTION_LEAK, severity, summary)
        .figure(Figure::count("idle connections", sessions.len() as u64))
        .figure(Figure::count("idle longer than --idle-over", set.old))
        .figure(Figure::count("held idle all through the window", set.held))
        .figure(Figure::millis("oldest idle", oldest))
        .figure(Figure::count(
            "arrived idle during the window",
            set.arrived_idle,
        ))
        .figure(Figure::count("left during the window", set.left))
        .figure(Figure::text("hosts", crate::format::list(&hosts, 5)))
        .action(end_them)
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

pub(super) fn idle_in_transaction(ctx: &Context) -> Option<Verdict> {
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
    match idle_tx.len() {
        0 | 1 => {}
        2 => summary.push_str("; 1 more sits idle in a transaction"),
        n => summary.push_str(&format!(
            "; {} more sit idle in transactions",
            thousands(n as u64 - 1)
        )),
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
    // Every idle-in-transaction session that leads a blocking tree, named in one action:
    // two of them deadlocked in the application each hold half the waiters, and ending one
    // frees only its half.
    let blocking_leads: Vec<i64> = super::blocking::lead_ids(ctx)
        .into_iter()
        .filter(|id| idle_tx.iter().any(|s| s.id == *id))
        .collect();
    let first_action = if blocking_leads.len() > 1 {
        format!(
            "{} (Their transactions roll back.)",
            super::blocking::end_leads_action(
                ctx,
                &blocking_leads,
                "the waiters",
                "--idle-in-transaction --blocking-leaders --execute",
            )
        )
    } else {
        let verb = if head_blocks > 0 {
            "blocks others"
        } else {
            "is the oldest"
        };
        format!(
            "Session {} {verb}: end it (its transaction rolls back): {}",
            head.id,
            crate::actions::terminate(last, head.id)
        )
    };
    d.action(first_action)
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
