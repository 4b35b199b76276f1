//! Connection slots: exhaustion, saturated client pools, reconnect storms.

use std::collections::BTreeMap;

use super::{Context, Draft, Rule, pct, tally, tally_text};
use crate::format::{decimal, thousands};
use crate::session::SessionState;
use crate::snapshot::{Area, counter};
use crate::verdict::{Culprits, Figure, Severity, Verdict};

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
    let by_user = tally(last.client_sessions().map(|s| s.user_or_unknown()));
    let by_app = tally(last.client_sessions().map(|s| s.app_or_unknown()));
    let mut summary = format!(
        "{} of {} usable connection slots are taken ({}%)",
        thousands(used),
        thousands(usable),
        decimal(share)
    );
    if refused > 0 {
        summary.push_str(&format!(
            ", and the server refused {} connections during the window",
            thousands(refused)
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
    d.action(format!(
        "See who holds the slots: `spiral connections` (top user: {}, top app: {}).",
        top_user.as_deref().unwrap_or("?"),
        by_app.first().map(|(a, _)| a.as_str()).unwrap_or("?")
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
    for s in last.client_sessions() {
        let Some(host) = s.client_host.as_deref() else {
            continue;
        };
        let e = per_host.entry(host).or_default();
        e.0 += 1;
        if s.state != SessionState::Idle {
            e.1 += 1;
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
            "Do not raise the pool size: the connections are busy, not missing (incident 000 \
             raised it to 200 and the server got worse).",
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

fn reconnect_storm(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let w = ctx.window;
    let last = ctx.last();
    let peak_logins = w.peak_login_rate();
    let (rise, rise_secs) = w.steepest_connection_rise()?;
    let base = last.connections.usable().unwrap_or_else(|| {
        w.points()
            .iter()
            .map(|p| p.connected_clients)
            .max()
            .unwrap_or(0)
    });
    let rise_floor = (t.reconnect_rise_pct * base as f64 / 100.0).max(50.0);
    let storm_by_rise = rise as f64 >= rise_floor;
    let storm_by_logins = peak_logins.is_some_and(|r| r >= t.reconnect_logins_per_sec);
    if !storm_by_rise && !storm_by_logins {
        return None;
    }
    let near_limit = last.connections.usable().is_some_and(|u| {
        pct(last.connected_clients() as f64, u as f64) >= t.connections_warning_pct
    });
    let workers_short = last.workers.as_ref().is_some_and(|wk| wk.queued_tasks > 0);
    // Many new connections per second alone is how unpooled applications (PHP, CGI) live:
    // only a rise in held connections, or a server near its limits, makes it a storm.
    let severity = if storm_by_rise && (near_limit || workers_short) {
        Severity::Critical
    } else if storm_by_rise || near_limit || workers_short {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut parts = Vec::new();
    if storm_by_rise {
        parts.push(format!(
            "connections rose by {} within {}",
            thousands(rise),
            crate::format::duration_secs(rise_secs)
        ));
    }
    if let Some(r) = peak_logins.filter(|_| storm_by_logins) {
        parts.push(format!("{} new connections per second", decimal(r)));
    }
    let summary = format!(
        "Clients are reconnecting in a storm: {}; a server that is recovering gets buried again.",
        parts.join(", ")
    );
    let mut d = Draft::new(&RECONNECT_STORM, severity, summary)
        .figure(Figure::count("steepest rise", rise))
        .figure(Figure::text(
            "over",
            crate::format::duration_secs(rise_secs),
        ));
    if let Some(r) = peak_logins {
        d = d.figure(Figure::rate("peak new connections", r));
    }
    d.action(
        "Scale the clients down (fewer tasks/pods) before anything else; bring them back in \
         steps while watching `spiral triage`.",
    )
    .action(
        "Make clients back off with jitter when a connection fails, instead of retrying at once.",
    )
    .action(
        "Do not restart the server again while the flood continues: it will meet the same storm.",
    )
    .done()
}
