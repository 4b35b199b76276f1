//! Connection slots: exhaustion, saturated client pools, reconnect storms.

use std::collections::BTreeMap;

use super::{Context, Draft, Rule, known_apps_weighted, pct, tally_text, tally_weighted};
use crate::format::{decimal, thousands};
use crate::model::session::SessionState;
use crate::model::snapshot::{Area, counter};
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const CONNECTION_EXHAUSTION: Rule = Rule {
    id: "connection-exhaustion",
    title: "Connection slots nearly exhausted",
    needs_rates: false,
    needs: &[],
    check: connection_exhaustion,
};

fn connection_exhaustion(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let usable = last.connections.usable()?;
    let used = last.connected_clients();
    let share = pct(used as f64, usable as f64);
    let refused = ctx.window.delta(counter::REFUSED_CONNECTIONS).unwrap_or(0);
    let severity = if share >= t.connections_critical_pct || refused > 0 {
        Severity::Critical
    } else if share >= t.connections_warning_pct {
        Severity::Warning
    } else {
        return None;
    };
    let by_user = tally_weighted(last.client_tally().map(|(s, n)| (s.user_or_unknown(), n)));
    let by_app = known_apps_weighted(last.client_tally());
    let mut summary = format!(
        "{} of {} usable connection slots are taken ({}%)",
        thousands(used),
        thousands(usable),
        decimal(share)
    );
    if refused > 0 {
        summary.push_str(&format!(
            ", and the server refused {} during the window",
            crate::format::plural(refused, "connection")
        ));
    }
    if !by_user.is_empty() {
        summary.push_str(&format!("; held by user {}", tally_text(&by_user, 3)));
    }
    summary.push('.');
    let top_user = by_user.first().map(|(u, _)| u.clone());
    let mut d = Draft::new(&CONNECTION_EXHAUSTION, severity, summary)
        .figure(Figure::count("connected clients", used))
        .figure(Figure::count("usable slots", usable))
        .figure(Figure::count("reserved slots", last.connections.reserved))
        .figure(Figure::percent("used", share));
    if let Some(max) = last.connections.max_connections {
        d = d.figure(Figure::count("max connections", max));
    }
    if refused > 0 {
        d = d.figure(Figure::count("refused during window", refused));
    }
    let mut top = Vec::new();
    if let Some(u) = &top_user {
        top.push(format!("top user: {u}"));
    }
    if let Some((a, _)) = by_app.first() {
        top.push(format!("top app: {a}"));
    }
    let top = if top.is_empty() {
        String::new()
    } else {
        format!(" ({})", top.join(", "))
    };
    d.action(format!(
        "See who holds the slots: `spiral connections`{top}."
    ))
    .action(
        "If one source holds idle connections, end those (see idle-connection-leak) rather than \
         raising the limit: more slots only feed the source that leaks.",
    )
    .action(crate::actions::emergency_way_in(last))
    .culprits(Culprits {
        users: by_user.iter().take(3).map(|(u, _)| u.clone()).collect(),
        applications: by_app.iter().take(3).map(|(a, _)| a.clone()).collect(),
        ..Culprits::default()
    })
    .done()
}

pub const CLIENT_POOL_SATURATION: Rule = Rule {
    id: "client-pool-saturation",
    title: "Client connection pools saturated",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: client_pool_saturation,
};

/// Many hosts pinned at exactly the same count, with nearly all of those connections busy,
/// is the signature of application pools at their maximum (incident 000: 131 hosts at 100).
/// Pools sitting at their size while idle are healthy (HikariCP keeps minimumIdle =
/// maximumPoolSize by default), hence the busy share.
fn client_pool_saturation(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let mut per_host: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (s, n) in last.client_tally() {
        let Some(host) = s.client_host.as_deref() else {
            continue;
        };
        let e = per_host.entry(host).or_default();
        e.0 += n;
        if s.state != SessionState::Idle {
            e.1 += n;
        }
    }
    // The most common per-host count at or above the minimum pool size.
    let mut by_count: BTreeMap<u64, u64> = BTreeMap::new();
    for (n, _) in per_host.values() {
        if *n as f64 >= t.pool_min_size {
            *by_count.entry(*n).or_default() += 1;
        }
    }
    let (&pool, &hosts) = by_count
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))?;
    if (hosts as f64) < t.pool_min_hosts {
        return None;
    }
    let pinned: Vec<&str> = per_host
        .iter()
        .filter(|(_, (n, _))| *n == pool)
        .map(|(h, _)| *h)
        .collect();
    let busy: u64 = per_host
        .iter()
        .filter(|(_, (n, _))| *n == pool)
        .map(|(_, (_, b))| *b)
        .sum();
    let busy_share = pct(busy as f64, (pool * hosts) as f64);
    if busy_share < t.pool_busy_pct {
        return None;
    }
    let demand = pool * hosts;
    let capacity = last
        .connections
        .usable()
        .map(|u| (u, "usable connection slots"))
        .or_else(|| {
            last.workers
                .as_ref()
                .map(|w| (w.max_workers, "worker threads"))
        });
    let over_capacity = capacity.is_some_and(|(c, _)| demand >= c);
    let severity = if over_capacity {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut summary = format!(
        "{} client hosts are each pinned at exactly {} connections, {}% of them busy: their \
         pools (inferred size {}) are full, so requests queue in the application",
        thousands(hosts),
        thousands(pool),
        decimal(busy_share),
        thousands(pool)
    );
    if let Some((c, what)) = capacity {
        summary.push_str(&format!(
            "; {} hosts x {} = {} possible connections against {} {what}",
            thousands(hosts),
            thousands(pool),
            thousands(demand),
            thousands(c)
        ));
    }
    summary.push('.');
    let hosts_list: Vec<String> = pinned.iter().map(|h| h.to_string()).collect();
    let mut d = Draft::new(&CLIENT_POOL_SATURATION, severity, summary)
        .figure(Figure::count("hosts at the same count", hosts))
        .figure(Figure::count("inferred pool size", pool))
        .figure(Figure::count("hosts x pool size", demand))
        .figure(Figure::percent("busy", busy_share));
    if let Some((c, what)) = capacity {
        d = d.figure(Figure::count(what, c));
    }
    d.figure(Figure::text("hosts", crate::format::list(&hosts_list, 5)))
        .action(
            "Do not raise the pool size: the connections are busy, not missing; more of them \
             only deepen the queue on the server.",
        )
        .action(
            "Find what holds them: `spiral blocking` and `spiral waits`; the pool drains when \
             the blocking or the slow query ends.",
        )
        .action(format!(
            "Reduce the number of client instances until hosts x pool size fits the server \
             ({} now).",
            thousands(demand)
        ))
        .culprits(Culprits {
            hosts: hosts_list.into_iter().take(20).collect(),
            ..Culprits::default()
        })
        .done()
}

pub const RECONNECT_STORM: Rule = Rule {
    id: "reconnect-storm",
    title: "Reconnect storm",
    needs_rates: true,
    needs: &[Area::Counters],
    check: reconnect_storm,
};

/// Two different things happen when clients connect a lot, and they need different words:
/// - a reconnect *storm*: clients come back faster than they leave (held connections climb
///   steeply between two samples), or the login rate jumps far above what the server was
///   doing earlier in the window; a recovering server gets buried again;
/// - reconnect *churn*: many connections opened and closed per second while the count holds
///   steady (unpooled clients, a pool with a tiny max lifetime). Nothing piles up, but every
///   connection costs a new backend or thread and an authentication.
///
/// "Many" is judged against what the server can take, not one number: the login rate as a
/// share of the usable slots, per CPU core where the core count is known, and the absolute
/// `reconnect_logins_per_sec` only when neither is.
fn reconnect_storm(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let w = ctx.window;
    let last = ctx.last();
    let rates = w.login_rates();
    let peak_at = rates
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, r)| (i, *r));
    let peak_logins = peak_at.map(|(_, r)| r);
    let (rise, rise_secs) = w.steepest_connection_rise()?;
    let usable = last.connections.usable();
    let cores = last.workers.as_ref().and_then(|wk| wk.cpu_count);
    let base = usable.unwrap_or_else(|| {
        w.points()
            .iter()
            .map(|p| p.connected_clients)
            .max()
            .unwrap_or(0)
    });
    let rise_floor = (t.reconnect_rise_pct * base as f64 / 100.0).max(50.0);
    let storm_by_rise = rise as f64 >= rise_floor;
    // The churn level this server can be expected to take.
    let by_slots = usable.map(|u| t.reconnect_churn_slots_pct * u as f64 / 100.0);
    let by_cores = cores.map(|c| t.reconnect_churn_per_core * c as f64);
    let churn_level = match (by_slots, by_cores) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => t.reconnect_logins_per_sec,
    }
    .max(1.0);
    let heavy = peak_logins.is_some_and(|r| r >= churn_level);
    // What it was doing before the peak, within the window.
    let earlier = peak_at.and_then(|(i, _)| rates[..i].iter().copied().reduce(f64::min));
    let surge = heavy
        && earlier
            .is_some_and(|e| peak_logins.unwrap_or(0.0) >= t.reconnect_surge_factor * e.max(1.0));
    let storm = storm_by_rise || surge;
    if !storm && !heavy {
        return None;
    }
    let near_limit = usable.is_some_and(|u| {
        pct(last.connected_clients() as f64, u as f64) >= t.connections_warning_pct
    });
    let workers_short = last.workers.as_ref().is_some_and(|wk| wk.queued_tasks > 0);
    let strained = near_limit || workers_short;
    let severity = match (storm, strained) {
        (true, true) => Severity::Critical,
        (true, false) | (false, true) => Severity::Warning,
        (false, false) => Severity::Info,
    };
    let measure = {
        let r = peak_logins.unwrap_or(0.0);
        let mut m = Vec::new();
        if let Some(u) = usable {
            m.push(format!(
                "the equivalent of {}% of the {} usable slots every second",
                decimal(pct(r, u as f64)),
                thousands(u)
            ));
        }
        if let Some(c) = cores {
            m.push(format!("{} per CPU core", decimal(r / c as f64)));
        }
        m.join(", ")
    };
    let summary = if storm {
        let mut parts = Vec::new();
        if storm_by_rise {
            parts.push(format!(
                "connections rose by {} within {}",
                thousands(rise),
                crate::format::duration_secs(rise_secs)
            ));
        }
        if let (true, Some(r), Some(e)) = (surge, peak_logins, earlier) {
            parts.push(format!(
                "new connections per second jumped from {} to {}",
                decimal(e),
                decimal(r)
            ));
        } else if let Some(r) = peak_logins.filter(|_| heavy) {
            parts.push(format!("{} new connections per second", decimal(r)));
        }
        format!(
            "Clients are reconnecting in a storm: {}; a server that is recovering gets buried \
             again.",
            parts.join(", ")
        )
    } else {
        let r = peak_logins.unwrap_or(0.0);
        let mut s = format!(
            "Reconnect churn: clients open and close about {} connections per second while \
             the count holds steady ({} connected)",
            decimal(r),
            thousands(last.connected_clients())
        );
        if !measure.is_empty() {
            s.push_str(&format!(", {measure}"));
        }
        s.push_str(
            ": not a storm, nothing piles up, but every connection costs the server a new \
             backend or thread and an authentication.",
        );
        s
    };
    let mut d = Draft::new(&RECONNECT_STORM, severity, summary)
        .figure(Figure::count("steepest rise", rise))
        .figure(Figure::text(
            "over",
            crate::format::duration_secs(rise_secs),
        ));
    if let Some(r) = peak_logins {
        d = d.figure(Figure::rate("peak new connections", r));
    }
    if let Some(e) = earlier {
        d = d.figure(Figure::rate("earlier in the window", e));
    }
    d = d.figure(Figure::rate("churn this server takes", churn_level));
    if storm {
        d.action(
            "Scale the clients down (fewer tasks/pods) before anything else; bring them back \
             in steps while watching `spiral triage`.",
        )
        .action(
            "Make clients back off with jitter when a connection fails, instead of retrying \
             at once.",
        )
        .action(
            "Do not restart the server again while the flood continues: it will meet the \
             same storm.",
        )
        .done()
    } else {
        d.action(
            "Find who connects so often: `spiral connections` (short-lived sessions by user \
             and host).",
        )
        .action(
            "Keep connections open: a client-side pool, or a pooler in front of the server \
             (PgBouncer, ProxySQL) for clients that cannot pool (PHP, CGI, serverless).",
        )
        .action(
            "If a pool recycles its connections this fast, raise its max lifetime/idle \
             timeout to minutes.",
        )
        .done()
        .map(|mut v| {
            // Same id (scripts key on it), its own title: churn is not a storm.
            v.title = "Reconnect churn";
            v
        })
    }
}
