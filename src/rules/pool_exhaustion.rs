//! Pool exhaustion seen at the pooler: clients queue inside PgBouncer for a server
//! connection while the database behind it looks calm (a few busy backends). No view from
//! the database can see those clients; only the pooler's SHOW POOLS can.

use super::{Context, Draft, Rule};
use crate::format::{duration_ms, thousands};
use crate::model::session::SessionState;
use crate::model::snapshot::{Area, Pool, Pooler, Snapshot};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const POOL_EXHAUSTION: Rule = Rule {
    id: "pool-exhaustion",
    title: "Clients queued in the connection pooler",
    needs_rates: false,
    needs: &[Area::Pooler],
    check: pool_exhaustion,
};

/// Every server connection of the pool is taken and none is idle.
fn full(p: &Pool) -> bool {
    p.sv_idle == 0 && p.pool_size.is_none_or(|n| p.sv_active + p.sv_used >= n)
}

fn pool_in<'s>(s: &'s Snapshot, p: &Pool) -> Option<&'s Pool> {
    s.pooler
        .as_ref()?
        .pools
        .iter()
        .find(|x| x.database == p.database && x.user == p.user)
}

/// The exhausted pools, longest wait first. Momentary queueing is what a pool is for: only
/// waits past the threshold count.
pub(super) fn exhausted<'p>(pooler: &'p Pooler, t: &Thresholds) -> Vec<&'p Pool> {
    let warn = Thresholds::ms(t.pool_wait_warning);
    let mut out: Vec<&Pool> = pooler
        .pools
        .iter()
        .filter(|p| p.cl_waiting > 0 && p.maxwait_ms >= warn && full(p))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse((p.maxwait_ms, p.cl_waiting)));
    out
}

/// The average wait for a server connection over the window, from SHOW STATS' counters
/// diffed between the first and the last sample: wait time accrued per server connection
/// handed out (per transaction before PgBouncer 1.23, which has no assignment counter).
/// PgBouncer's own avg_wait_time covers its last stats period, not this window.
pub(super) fn average_wait_ms(first: &Snapshot, last: &Snapshot, database: &str) -> Option<u64> {
    let stats = |s: &Snapshot| {
        s.pooler
            .as_ref()?
            .stats
            .iter()
            .find(|x| x.database == database)
            .cloned()
    };
    let (a, b) = (stats(first)?, stats(last)?);
    let waited = b.wait_time_us?.checked_sub(a.wait_time_us?)?;
    let handed = match (a.server_assignments, b.server_assignments) {
        (Some(x), Some(y)) => y.checked_sub(x)?,
        _ => b.xact_count?.checked_sub(a.xact_count?)?,
    };
    (handed > 0).then(|| waited / handed / 1000)
}

/// With --pooler: the pool's server connections whose backends run statements at least
/// as long as a client may wait, matched by SHOW SERVERS' remote_pid.
struct Slow {
    running: u64,
    blocked: u64,
    longest_ms: u64,
    longest_pid: i64,
}

fn slow_backends(last: &Snapshot, p: &Pool, over_ms: u64) -> Option<Slow> {
    let servers = &last.pooler.as_ref()?.servers;
    let slow: Vec<_> = last
        .sessions
        .iter()
        .filter(|s| s.state == SessionState::Active && s.elapsed_ms.unwrap_or(0) >= over_ms)
        .filter(|s| {
            servers.iter().any(|sv| {
                sv.backend_pid == Some(s.id) && sv.database == p.database && sv.user == p.user
            })
        })
        .collect();
    let top = slow.iter().max_by_key(|s| s.elapsed_ms)?;
    Some(Slow {
        running: slow.len() as u64,
        blocked: slow.iter().filter(|s| s.is_blocked()).count() as u64,
        longest_ms: top.elapsed_ms.unwrap_or(0),
        longest_pid: top.id,
    })
}

/// PgBouncer's client connections against max_client_conn: past it, every new client is
/// refused with "no more connections allowed (max_client_conn)", whatever the pools.
struct ClientCap {
    /// Client connections held, spiral's own console connection left out.
    used: u64,
    max: u64,
    /// No slot left: clients are being refused now.
    full: bool,
    /// Where `used` comes from, for the evidence.
    source: &'static str,
}

fn client_cap(pooler: &Pooler, t: &Thresholds) -> Option<ClientCap> {
    let max = pooler.max_client_conn.filter(|&m| m > 0)?;
    // SHOW LISTS' used_clients counts every client, spiral's console connection among
    // them; without it, the pools' active and waiting clients (console clients left out).
    let (held, used, source) = match pooler.lists.get("used_clients") {
        Some(&n) => (n, n.saturating_sub(1), "SHOW LISTS used_clients"),
        None => {
            let n: u64 = pooler
                .pools
                .iter()
                .map(|p| p.cl_active + p.cl_waiting)
                .sum();
            (n + 1, n, "SHOW POOLS cl_active + cl_waiting")
        }
    };
    (super::pct(held as f64, max as f64) >= t.pooler_clients_warning_pct).then_some(ClientCap {
        used,
        max,
        full: held >= max,
        source,
    })
}

impl ClientCap {
    fn sentence(&self) -> String {
        if self.full {
            format!(
                "PgBouncer holds {} client connections and spiral's console connection: all {} of max_client_conn are taken, so every new client is refused with \"no more connections allowed (max_client_conn)\"",
                thousands(self.used),
                thousands(self.max)
            )
        } else {
            format!(
                "PgBouncer holds {} client connections of max_client_conn {} (spiral's console connection aside): {} more and new clients are refused with \"no more connections allowed (max_client_conn)\"",
                thousands(self.used),
                thousands(self.max),
                thousands(self.max.saturating_sub(self.used + 1))
            )
        }
    }

    fn figures(&self, d: Draft) -> Draft {
        d.figure(Figure::count("client connections", self.used))
            .figure(Figure::count("max_client_conn", self.max))
            .figure(Figure::text("client connections counted from", self.source))
    }

    fn action(&self) -> String {
        "Find who holds the client connections (SHOW CLIENTS by addr and application_name): \
         a client pool that opens connections and never closes them fills max_client_conn \
         whatever the server pools do. Raise max_client_conn (and the process's open-file \
         limit with it) only once the holders are known: the queue behind the pools does \
         not get shorter."
            .to_string()
    }
}

/// Only the client connections are near max_client_conn: no pool queues.
fn client_cap_verdict(cap: &ClientCap) -> Option<Verdict> {
    let severity = if cap.full {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let summary = format!("{}.", cap.sentence());
    cap.figures(Draft::new(&POOL_EXHAUSTION, severity, summary))
        .action(cap.action())
        .done()
}

fn pool_exhaustion(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let pooler = last.pooler.as_ref()?;
    let cap = client_cap(pooler, t);
    let Some(&p) = exhausted(pooler, t).first() else {
        return cap.as_ref().and_then(client_cap_verdict);
    };
    let near_timeout = pooler
        .query_wait_timeout_ms
        .filter(|&q| q > 0)
        .is_some_and(|q| p.maxwait_ms * 5 >= q * 4);
    let severity = if p.maxwait_ms >= Thresholds::ms(t.pool_wait_critical)
        || near_timeout
        || cap.as_ref().is_some_and(|c| c.full)
    {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let before = pool_in(ctx.window.first(), p).filter(|_| ctx.window.has_rates());
    let size = p
        .pool_size
        .map(|n| format!(" of pool_size {n}"))
        .unwrap_or_default();
    let mut summary = format!(
        "Pool {}/{}: {} clients wait inside PgBouncer for a server connection, the longest for {}; all {} server connections{size} are taken and none is idle",
        p.database,
        p.user,
        thousands(p.cl_waiting),
        duration_ms(p.maxwait_ms),
        p.sv_active + p.sv_used,
    );
    if let Some(b) = before {
        summary.push_str(&format!(
            " (waiting {} -> {}, longest wait {} -> {} over the window)",
            b.cl_waiting,
            p.cl_waiting,
            duration_ms(b.maxwait_ms),
            duration_ms(p.maxwait_ms)
        ));
    }
    let avg = ctx
        .window
        .has_rates()
        .then(|| average_wait_ms(ctx.window.first(), last, &p.database))
        .flatten();
    if let Some(ms) = avg {
        summary.push_str(&format!(
            "; over the window clients waited {} on average for one",
            duration_ms(ms)
        ));
    }
    summary.push_str(": the database sees only the busy few; the queue is invisible from it.");
    if let Some(c) = &cap {
        summary.push_str(&format!(" {}.", c.sentence()));
    }
    // With --pooler: server connections of this very pool that sit idle in a transaction
    // on the database. Then the database side (a client that does not commit) is the cause.
    let holders: Vec<_> =
        super::pooler_hidden::held(last, Thresholds::ms(t.idle_in_transaction_over))
            .into_iter()
            .filter(|h| h.server.database == p.database && h.server.user == p.user)
            .collect();
    let mut hosts: Vec<String> = p.waiting.iter().filter_map(|w| w.addr.clone()).collect();
    hosts.dedup();
    let mut apps: Vec<String> = p
        .waiting
        .iter()
        .filter_map(|w| w.application.clone())
        .collect();
    apps.sort();
    apps.dedup();
    let longest: Vec<String> = p
        .waiting
        .iter()
        .map(|w| {
            let app = w
                .application
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            format!(
                "{}{app} {}",
                w.addr.as_deref().unwrap_or("?"),
                duration_ms(w.wait_ms)
            )
        })
        .collect();
    let mut d = Draft::new(&POOL_EXHAUSTION, severity, summary)
        .figure(Figure::count("clients waiting", p.cl_waiting))
        .figure(Figure::millis("longest wait", p.maxwait_ms))
        .figure(Figure::count("server connections active", p.sv_active))
        .figure(Figure::count("server connections idle", p.sv_idle))
        .figure(Figure::count("clients active", p.cl_active));
    if let Some(n) = p.pool_size {
        d = d.figure(Figure::count("pool_size", n));
    }
    if let Some(ms) = avg {
        d = d.figure(Figure::millis("average wait over the window", ms));
    }
    if let Some(c) = &cap {
        d = c.figures(d);
    }
    if !longest.is_empty() {
        d = d.figure(Figure::text("longest-waiting clients", longest.join(", ")));
    }
    if let Some(h) = holders.first() {
        d = d
            .figure(Figure::count(
                "server connections idle in a transaction",
                holders.len() as u64,
            ))
            .action(format!(
                "The database is the cause here: {} of this pool's {} server connections sit \
                 idle in a transaction (client {} holds backend {} for {}). Make those clients \
                 commit, or end the backends (see pooler-held-transaction); a bigger pool \
                 would only be held the same way.",
                holders.len(),
                p.sv_active + p.sv_used,
                h.client(),
                h.pid,
                duration_ms(h.idle_ms)
            ));
    }
    let slow = slow_backends(last, p, Thresholds::ms(t.pool_wait_warning));
    let cause_found = !holders.is_empty() || slow.is_some();
    if let Some(slow) = slow {
        d = d
            .figure(Figure::count(
                "server connections slow on the database",
                slow.running,
            ))
            .action(format!(
                "The database is slow here: {} of this pool's server connections run \
                 statements that have taken {} or more{}, the longest {} (backend {}). Fix \
                 that first (spiral blocking, the runaway statement); a bigger pool would only \
                 send more work to it.",
                slow.running,
                duration_ms(Thresholds::ms(t.pool_wait_warning)),
                if slow.blocked > 0 {
                    format!(", {} of them waiting on locks", slow.blocked)
                } else {
                    String::new()
                },
                duration_ms(slow.longest_ms),
                slow.longest_pid
            ));
    }
    // Sampled with --pooler, the database side has been looked at already.
    let beside = last.server.flavor.as_deref() != Some("pgbouncer");
    if beside && !cause_found {
        d = d.action(
            "The database behind the pool shows no server connection held idle in a \
             transaction or running slow: the pool is too small for this load, not the \
             database too slow.",
        );
    } else if !beside {
        d = d.action(
            "Look at the database first (spiral triage on it, or again with --pooler): if \
             the busy server connections are slow queries or lock waits, that is the cause, \
             and a bigger pool only sends more work to a database that is already slow.",
        );
    }
    d = d
        .action(format!(
            "If the database is idle while clients wait, raise pool_size for {} a little \
             ([databases] or default_pool_size) and RELOAD; keep the sum of all pools under \
             the database's max_connections.",
            p.database
        ))
        .action(match &cap {
            // Clients are refused too: which clients hold the slots is the question.
            Some(c) => format!(
                "{} Restarting PgBouncer drops every waiting client at once and they all \
                 reconnect together.",
                c.action()
            ),
            None => "Do not raise max_client_conn: it only lets more clients queue. \
                     Restarting PgBouncer drops every waiting client at once and they all \
                     reconnect together."
                .to_string(),
        });
    if p.pool_mode.as_deref() == Some("session") {
        d = d.action(
            "pool_mode is session: each client keeps its server connection while it is \
             connected, idle or not; transaction mode lets idle clients give theirs back, if \
             the application does not rely on session state.",
        );
    }
    if pooler.query_wait_timeout_ms == Some(0) {
        d = d.action(
            "query_wait_timeout is 0: waiting clients wait forever. Set it (e.g. 30) so \
             they fail fast instead of piling up.",
        );
    }
    if pooler.server_idle_timeout_ms == Some(0) {
        d = d.action(
            "server_idle_timeout is 0: idle server connections are never closed, so \
             connections opened for one pool are not returned for others.",
        );
    }
    d.culprits(Culprits {
        users: vec![p.user.clone()],
        hosts: hosts.into_iter().take(20).collect(),
        applications: apps,
        sessions: holders.iter().map(|h| h.pid).collect(),
    })
    .done()
}
