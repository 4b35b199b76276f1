//! What a pooler hides from the database's own view.
//!
//! Behind PgBouncer every session on the database comes from the pooler's address, so the
//! database cannot say which application holds a transaction open; and the pooler's own
//! limits (query_wait_timeout, server_idle_timeout, idle_transaction_timeout) live in its
//! config, which no database-side rule reads. The first rule needs both sides sampled
//! together (`--pooler`): the pooler's SHOW SERVERS gives each server connection's backend
//! pid and the client it is lent to, the database gives that backend's state.

use super::{Context, Draft, Rule};
use crate::format::{duration_ms, list};
use crate::model::session::SessionState;
use crate::model::snapshot::{Area, PoolServer, Pooler, Snapshot};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const POOLER_HELD_TRANSACTION: Rule = Rule {
    id: "pooler-held-transaction",
    title: "Transaction held open through the pooler",
    needs_rates: false,
    needs: &[Area::Pooler],
    check: pooler_held_transaction,
};

pub const POOLER_GUARDRAILS: Rule = Rule {
    id: "pooler-missing-guardrails",
    title: "Missing pooler timeouts",
    needs_rates: false,
    needs: &[Area::Pooler],
    check: pooler_guardrails,
};

/// A database session idle in a transaction, matched to the pooler's server connection
/// and the client that connection is lent to.
pub(super) struct Held<'s> {
    pub pid: i64,
    pub idle_ms: u64,
    pub server: &'s PoolServer,
}

impl Held<'_> {
    /// `10.0.3.7:51234 (checkout)`: the application's end, which the database never sees.
    pub fn client(&self) -> String {
        let Some(c) = &self.server.client else {
            return "an unknown client".into();
        };
        let mut out = c.addr.clone().unwrap_or_else(|| "?".into());
        if let Some(p) = c.port {
            out.push_str(&format!(":{p}"));
        }
        if let Some(a) = &c.application {
            out.push_str(&format!(" ({a})"));
        }
        out
    }
}

/// Sessions idle in a transaction past the threshold whose backend a pooler server
/// connection names (remote_pid). The address check keeps a pid reused by a direct
/// connection between the two reads from being blamed on the pooler; it applies only when
/// the database gave an address (with log_hostname on it gives a host name instead).
pub(super) fn held<'s>(snap: &'s Snapshot, over_ms: u64) -> Vec<Held<'s>> {
    let Some(pooler) = &snap.pooler else {
        return Vec::new();
    };
    let mut out: Vec<Held> = snap
        .sessions
        .iter()
        .filter(|s| s.state == SessionState::IdleInTransaction)
        .filter_map(|s| {
            let idle_ms = s.idle_ms.or(s.transaction_ms).unwrap_or(0);
            if idle_ms < over_ms {
                return None;
            }
            let server = pooler.servers.iter().find(|sv| {
                sv.backend_pid == Some(s.id)
                    && match (&s.client_host, &sv.local_addr) {
                        (Some(h), Some(a)) if h.parse::<std::net::IpAddr>().is_ok() => h == a,
                        _ => true,
                    }
            })?;
            Some(Held {
                pid: s.id,
                idle_ms,
                server,
            })
        })
        .collect();
    out.sort_by_key(|h| std::cmp::Reverse(h.idle_ms));
    out
}

fn pooler_held_transaction(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let held = held(last, Thresholds::ms(t.idle_in_transaction_over));
    let first = held.first()?;
    let pooler = last.pooler.as_ref()?;
    // The holder starves its own pool: critical when that pool has clients queued.
    let starving = held.iter().any(|h| {
        super::pool_exhaustion::exhausted(pooler, t)
            .iter()
            .any(|p| p.database == h.server.database && p.user == h.server.user)
    });
    let severity = if starving {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mode = pooler
        .pools
        .iter()
        .find(|p| p.database == first.server.database && p.user == first.server.user)
        .and_then(|p| p.pool_mode.clone());
    let mut summary = format!(
        "Backend {} ({}/{}) has sat idle in a transaction for {}, held through PgBouncer by client {}",
        first.pid,
        first.server.database,
        first.server.user,
        duration_ms(first.idle_ms),
        first.client(),
    );
    if held.len() > 1 {
        summary.push_str(&format!(" (and {} more like it)", held.len() - 1));
    }
    summary.push_str(
        ": the database sees only the pooler's address, and the server connection stays \
         taken from the pool until that client commits or rolls back",
    );
    if starving {
        summary.push_str(", while other clients of that pool queue for one");
    }
    summary.push('.');
    let named: Vec<String> = held
        .iter()
        .take(5)
        .map(|h| {
            format!(
                "{} -> backend {} {}",
                h.client(),
                h.pid,
                duration_ms(h.idle_ms)
            )
        })
        .collect();
    let mut d = Draft::new(&POOLER_HELD_TRANSACTION, severity, summary)
        .figure(Figure::count("held through the pooler", held.len() as u64))
        .figure(Figure::millis("longest idle in transaction", first.idle_ms))
        .figure(Figure::text("holders", named.join(", ")));
    if let Some(m) = &mode {
        d = d.figure(Figure::text("pool_mode", m.clone()));
    }
    d = d
        .action(format!(
            "Find the client at {} and make it commit or roll back (on that host, `ss -tnp` \
             shows which process owns the port); that frees the server connection for the \
             pool.",
            first.client()
        ))
        .action(format!(
            "If it cannot be reached: end backend {} on the database (spiral kill \
             --idle-in-transaction, or pg_terminate_backend). Its transaction rolls back and \
             the client gets an error on its next statement; restarting PgBouncer instead \
             would drop every client of every pool.",
            first.pid
        ));
    if pooler.idle_transaction_timeout_ms.is_none_or(|v| v == 0) {
        d = d.action(
            "Set idle_transaction_timeout in PgBouncer (and idle_in_transaction_session_timeout \
             on the database) so a forgotten transaction cannot hold a server connection \
             forever.",
        );
    }
    let mut hosts: Vec<String> = held
        .iter()
        .filter_map(|h| h.server.client.as_ref()?.addr.clone())
        .collect();
    hosts.sort();
    hosts.dedup();
    let mut apps: Vec<String> = held
        .iter()
        .filter_map(|h| h.server.client.as_ref()?.application.clone())
        .collect();
    apps.sort();
    apps.dedup();
    let mut users: Vec<String> = held.iter().map(|h| h.server.user.clone()).collect();
    users.sort();
    users.dedup();
    d.culprits(Culprits {
        users,
        hosts,
        applications: apps,
        sessions: held.iter().map(|h| h.pid).collect(),
    })
    .done()
}

/// A pooler limit that is off, and what is hurting now that it would have bounded.
struct Off {
    setting: &'static str,
    why: &'static str,
    hurting: Option<String>,
}

fn pooler_guardrails(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let pooler: &Pooler = last.pooler.as_ref()?;
    let exhausted = super::pool_exhaustion::exhausted(pooler, t);
    let queue = exhausted.first().map(|p| {
        format!(
            "pool {}/{} has {} clients waiting up to {}",
            p.database,
            p.user,
            p.cl_waiting,
            duration_ms(p.maxwait_ms)
        )
    });
    let holders = held(last, Thresholds::ms(t.idle_in_transaction_over));
    let holder = holders.first().map(|h| {
        format!(
            "client {} holds backend {} idle in a transaction for {}",
            h.client(),
            h.pid,
            duration_ms(h.idle_ms)
        )
    });
    let off = |v: Option<u64>| v == Some(0);
    let mut missing = Vec::new();
    if off(pooler.query_wait_timeout_ms) {
        missing.push(Off {
            setting: "query_wait_timeout",
            why: "clients wait for a server connection forever instead of failing fast",
            hurting: queue.clone(),
        });
    }
    if off(pooler.server_idle_timeout_ms) {
        missing.push(Off {
            setting: "server_idle_timeout",
            why: "idle server connections are never closed, so one pool's connections are never \
                  returned for another's",
            hurting: queue.clone(),
        });
    }
    if off(pooler.idle_transaction_timeout_ms) {
        missing.push(Off {
            setting: "idle_transaction_timeout",
            why: "a client idle inside a transaction keeps its server connection as long as it \
                  likes",
            hurting: holder,
        });
    }
    if missing.is_empty() {
        return None;
    }
    let severity = if missing.iter().any(|m| m.hurting.is_some()) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let names: Vec<String> = missing.iter().map(|m| m.setting.to_string()).collect();
    let mut summary = format!("PgBouncer has {} set to 0 (off)", list(&names, names.len()));
    let mut harms: Vec<String> = missing.iter().filter_map(|m| m.hurting.clone()).collect();
    harms.dedup();
    if harms.is_empty() {
        summary.push_str(": nothing is hurting from it now.");
    } else {
        summary.push_str(&format!(", and it shows: {}.", harms.join("; ")));
    }
    let mut d = Draft::new(&POOLER_GUARDRAILS, severity, summary);
    for m in &missing {
        d = d.figure(Figure::text(m.setting, format!("0: {}", m.why)));
    }
    d = d.action(
        "Set them in pgbouncer.ini and RELOAD (no client is dropped): e.g. \
         query_wait_timeout = 30, server_idle_timeout = 600, idle_transaction_timeout = 60 \
         (longer than the application's longest legitimate pause inside a transaction).",
    );
    d.done()
}
