//! Idle connections that pile up, and sessions that sit idle inside a transaction.

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, Draft, Rule, describe_session, pct};
use crate::format::{decimal, duration_ms, plural, thousands};
use crate::model::session::{Session, SessionState};
use crate::model::session_group::SessionGroup;
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

/// One source's idle connections: listed ones, and groups the server counted (over SQL
/// Server's DAC; a group's members are all younger than --idle-over, see SessionCuts).
#[derive(Default)]
struct IdleOf<'s> {
    listed: Vec<&'s Session>,
    groups: Vec<&'s SessionGroup>,
}

fn idle_by_source(snapshot: &Snapshot) -> BTreeMap<Source<'_>, IdleOf<'_>> {
    let mut out: BTreeMap<Source, IdleOf> = BTreeMap::new();
    for s in snapshot.client_sessions().filter(|s| s.is_idle()) {
        out.entry(source(s)).or_default().listed.push(s);
    }
    for g in snapshot.client_groups().filter(|g| g.like.is_idle()) {
        out.entry(source(&g.like)).or_default().groups.push(g);
    }
    out
}

/// A connection across samples: its id and, where the engine says, when it connected (ids
/// are handed out again after a disconnect, most of all in a reconnect flood).
type Identity = (i64, Option<chrono::DateTime<chrono::Utc>>);

fn identity(s: &Session) -> Identity {
    (s.id, s.connected_at)
}

/// A count known exactly, or only between two bounds: connections counted in groups have
/// no identity, so whether one of them arrived or left during the window is not known.
type Bounds = (u64, u64);

/// How one source's idle connections behaved over the window. A leak is connections that
/// stay idle and keep accumulating, so it is judged on the *set* of connections, not on
/// the idle count: a healthy pool's connections flip between busy and idle from one sample
/// to the next and its idle count swings by dozens while its set does not change.
struct IdleSet<'s> {
    /// Idle now, in the last sample: listed and grouped.
    idle: IdleOf<'s>,
    /// How many are idle now (listed and grouped).
    idle_count: u64,
    /// Idle now and idle longer than --idle-over.
    old: u64,
    /// Old ones that were already connected at the first sample and stayed idle all through
    /// the window (idle at least as long as the window): the ones a leak is made of.
    held: u64,
    /// Connections of this source that arrived during the window and sit idle now.
    arrived_idle: Bounds,
    /// Connections of this source present at the first sample and gone at the last.
    left: Bounds,
}

/// Every client connection of a snapshot, by source: the listed ones as identities, and
/// how many the server counted in groups.
#[derive(Default)]
struct Connections {
    listed: BTreeSet<Identity>,
    grouped: u64,
}

fn connections_by_source(snapshot: &Snapshot) -> BTreeMap<Source<'_>, Connections> {
    let mut out: BTreeMap<Source, Connections> = BTreeMap::new();
    for s in snapshot.client_sessions() {
        out.entry(source(s)).or_default().listed.insert(identity(s));
    }
    for g in snapshot.client_groups() {
        out.entry(source(&g.like)).or_default().grouped += g.count;
    }
    out
}

fn idle_set<'s>(
    ctx: &Context<'s>,
    idle: IdleOf<'s>,
    before: &Connections,
    now: &Connections,
) -> IdleSet<'s> {
    let t = ctx.thresholds;
    let idle_over_ms = Thresholds::ms(t.idle_over);
    let window_ms = Thresholds::ms(ctx.window.seconds());
    let rates = ctx.window.has_rates();
    let old_listed: Vec<&Session> = idle
        .listed
        .iter()
        .copied()
        .filter(|s| s.idle_ms.unwrap_or(0) >= idle_over_ms)
        .collect();
    // Groups hold only connections younger than --idle-over (a straddling group is refused
    // before this, in `straddles_idle_over`), so they add nothing old or held; counted all
    // the same, for a capture whose groups were split higher.
    let grouped_at_least =
        |ms: u64| -> u64 { idle.groups.iter().filter_map(|g| g.idle_at_least(ms)).sum() };
    let old = old_listed.len() as u64 + grouped_at_least(idle_over_ms);
    let held = if rates {
        old_listed
            .iter()
            .filter(|s| before.listed.contains(&identity(s)) && s.idle_ms.unwrap_or(0) >= window_ms)
            .count() as u64
            // Idle for the whole window: it was there, idle, at the first sample.
            + grouped_at_least(idle_over_ms.max(window_ms))
    } else {
        old_listed.len() as u64
    };
    let idle_count = idle.listed.len() as u64 + idle.groups.iter().map(|g| g.count).sum::<u64>();
    let (arrived_idle, left) = if rates {
        // Listed now, not listed at the first sample: it arrived, unless it was one of the
        // connections the first sample counted in a group.
        let new_listed = idle
            .listed
            .iter()
            .filter(|s| !before.listed.contains(&identity(s)))
            .count() as u64;
        // A grouped connection idle for the whole window was there at the first sample;
        // any other may have arrived.
        let grouped_maybe_new: u64 = idle
            .groups
            .iter()
            .map(|g| g.count - g.idle_at_least(window_ms).unwrap_or(0))
            .sum();
        let arrived_lo = if before.grouped > 0 { 0 } else { new_listed };
        let arrived = (arrived_lo, new_listed + grouped_maybe_new);
        // Listed at the first sample and not listed now: it left, unless it is one of the
        // connections counted in a group now. Grouped at the first sample: unknown.
        let gone_listed = before.listed.difference(&now.listed).count() as u64;
        let left_lo = if now.grouped > 0 { 0 } else { gone_listed };
        (arrived, (left_lo, gone_listed + before.grouped))
    } else {
        ((0, 0), (0, 0))
    };
    IdleSet {
        old,
        idle,
        idle_count,
        held,
        arrived_idle,
        left,
    }
}

impl IdleSet<'_> {
    /// New idle connections kept arriving and none of this source's left: the set grows.
    /// None when grouped connections (no ids) leave it open.
    fn accumulating(&self, t: &Thresholds) -> Option<bool> {
        let grows = |left: u64, arrived: u64| left == 0 && arrived as f64 >= t.idle_leak_growth;
        let surely = grows(self.left.1, self.arrived_idle.0);
        let maybe = grows(self.left.0, self.arrived_idle.1);
        if surely == maybe { Some(surely) } else { None }
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
    // Server) when they are very many; critical near the limit. A growth that grouped
    // connections leave open stays a note, and the summary says it could not be told.
    let dominant = share.is_some_and(|s| s >= 2.0 * t.idle_leak_share_pct);
    let very_many = usable.is_none() && set.held as f64 >= 5.0 * t.idle_leak_min_sessions;
    Some(if near_limit {
        Severity::Critical
    } else if dominant || set.accumulating(t) == Some(true) || very_many {
        Severity::Warning
    } else {
        Severity::Info
    })
}

/// A capture whose groups were split at a higher --idle-over than this run's: a group then
/// holds connections on both sides of it, and how many are old cannot be told.
fn straddles_idle_over(ctx: &Context) -> bool {
    let idle_over_ms = Thresholds::ms(ctx.thresholds.idle_over);
    ctx.window
        .last()
        .client_groups()
        .any(|g| g.like.is_idle() && g.idle_at_least(idle_over_ms).is_none())
}

/// The judgement of idle-connection-leak, for rules that ask whether idle connections are
/// hurting now (missing-guardrails): the worst source's severity.
pub(super) fn idle_leak_judgement(ctx: &Context) -> Option<Severity> {
    if straddles_idle_over(ctx) {
        return None;
    }
    leak_worst(ctx).map(|w| w.0)
}

type Worst<'s> = (Severity, Source<'s>, IdleSet<'s>);

fn leak_worst<'s>(ctx: &Context<'s>) -> Option<Worst<'s>> {
    let mut worst: Option<Worst> = None;
    let before = connections_by_source(ctx.window.first());
    let now = connections_by_source(ctx.window.last());
    let none = Connections::default();
    for (src, idle) in idle_by_source(ctx.window.last()) {
        let set = idle_set(
            ctx,
            idle,
            before.get(&src).unwrap_or(&none),
            now.get(&src).unwrap_or(&none),
        );
        let Some(sev) = idle_leak_severity(ctx, &set) else {
            continue;
        };
        let better = worst.as_ref().is_none_or(|(ws, _, wset)| {
            (sev, set.held, set.idle_count) > (*ws, wset.held, wset.idle_count)
        });
        if better {
            worst = Some((sev, src, set));
        }
    }
    worst
}

/// A count for the figures: the number, or the bounds grouped connections leave.
fn bounded(name: &str, b: Bounds) -> Figure {
    if b.0 == b.1 {
        Figure::count(name, b.0)
    } else {
        Figure::text(
            name,
            format!(
                "{} to {} (connections counted in groups have no ids)",
                thousands(b.0),
                thousands(b.1)
            ),
        )
    }
}

fn idle_connection_leak(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    if straddles_idle_over(ctx) {
        return Draft::new(
            &IDLE_CONNECTION_LEAK,
            Severity::Unknown,
            format!(
                "Cannot tell how many connections are idle longer than {}: this sample \
                 counted idle connections in groups (over the dedicated admin connection) \
                 split at another --idle-over. Replay it with the --idle-over it was taken \
                 with.",
                crate::format::duration_secs(t.idle_over)
            ),
        )
        .done();
    }
    let (severity, (user, app), set) = leak_worst(ctx)?;
    let idle_n = set.idle_count;
    let oldest = set
        .idle
        .listed
        .iter()
        .filter_map(|s| s.idle_ms)
        .chain(
            set.idle
                .groups
                .iter()
                .filter_map(|g| g.idle_ms.map(|a| a.max)),
        )
        .max()
        .unwrap_or(0);
    let mut hosts: Vec<String> = set
        .idle
        .listed
        .iter()
        .filter_map(|s| s.client_host.clone())
        .chain(
            set.idle
                .groups
                .iter()
                .filter_map(|g| g.like.client_host.clone()),
        )
        .collect();
    hosts.sort();
    hosts.dedup();
    let who = match app {
        Some(a) => format!("User {user} (application {a})"),
        None => format!("User {user}"),
    };
    let mut summary = format!(
        "{who} holds {}, {} of them idle longer than {} (oldest {})",
        plural(idle_n, "idle connection"),
        thousands(set.old),
        crate::format::duration_secs(t.idle_over),
        duration_ms(oldest)
    );
    if let Some(u) = last.connections.usable() {
        summary.push_str(&format!(
            ", {}% of the {} usable slots",
            decimal(pct(idle_n as f64, u as f64)),
            thousands(u)
        ));
    }
    if ctx.window.has_rates() {
        let span = crate::format::duration_secs(ctx.window.seconds());
        let (arrived, arrived_max) = set.arrived_idle;
        match set.accumulating(t) {
            Some(true) => summary.push_str(&format!(
                "; {} more arrived in the last {span} and stay idle, none left",
                thousands(arrived)
            )),
            Some(false) if arrived > 0 && arrived == arrived_max => summary.push_str(&format!(
                "; {} more than at the first sample {span} ago",
                thousands(arrived)
            )),
            Some(false) => {}
            None => summary.push_str(
                "; whether more keep arriving cannot be told: the sample counted the \
                 younger connections in groups, without their ids",
            ),
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
        .figure(Figure::count("idle connections", idle_n))
        .figure(Figure::count("idle longer than --idle-over", set.old))
        .figure(Figure::count("held idle all through the window", set.held))
        .figure(Figure::millis("oldest idle", oldest))
        .figure(bounded("arrived idle during the window", set.arrived_idle))
        .figure(bounded("left during the window", set.left))
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
