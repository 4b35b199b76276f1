//! The long transaction that holds everyone back: one old transaction (or a replication
//! slot, or a forgotten prepared transaction) keeps the server from cleaning up after every
//! other one. PostgreSQL's vacuum cannot remove row versions newer than the oldest xmin,
//! InnoDB's purge cannot remove undo newer than the oldest read view, and SQL Server cannot
//! truncate the log past the oldest active transaction. Nothing fails at first; everything
//! slows, bloats or fills until the holder ends.

use super::{Context, Draft, Rule, describe_session};
use crate::format::{decimal, duration_ms, thousands};
use crate::model::snapshot::{
    Area, Engine, HolderKind, Horizon, HorizonHolder, LogReuse, Snapshot,
};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const LONG_TRANSACTION: Rule = Rule {
    id: "long-transaction",
    title: "A long transaction holding back cleanup",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: long_transaction,
};

/// The log-reuse wait that means "an open transaction holds the log".
const ACTIVE_TRANSACTION: &str = "ACTIVE_TRANSACTION";

fn is_own(h: &HorizonHolder, last: &Snapshot) -> bool {
    h.session_id.is_some() && h.session_id == last.own_session_id
}

/// Oldest first: by open time where known, then by transaction IDs behind.
fn oldest_first(holders: &mut [&HorizonHolder]) {
    holders.sort_by(|a, b| {
        b.age_ms
            .cmp(&a.age_ms)
            .then(b.xid_age.cmp(&a.xid_age))
            .then(a.session_id.cmp(&b.session_id))
    });
}

fn history(snapshot: &Snapshot) -> Option<u64> {
    snapshot.horizon.as_ref()?.history_list_length
}

fn long_transaction(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let h: &Horizon = last.horizon.as_ref()?;
    let over = Thresholds::ms(t.long_transaction_over);
    let critical_age = Thresholds::ms(t.long_transaction_critical);

    let mut long: Vec<&HorizonHolder> = h
        .holders
        .iter()
        .filter(|x| !is_own(x, last))
        .filter(|x| {
            x.age_ms.unwrap_or(0) >= over
                || x.xid_age.unwrap_or(0) as f64 >= t.horizon_xid_age_warning
        })
        .collect();
    oldest_first(&mut long);

    let hll = h.history_list_length;
    let hll_rise = match (history(ctx.window.first()), hll) {
        (Some(a), Some(b)) if ctx.window.has_rates() => Some(b as i64 - a as i64),
        _ => None,
    };
    let history_high = hll.is_some_and(|n| n as f64 >= t.history_list_warning);
    let held_logs: Vec<&LogReuse> = h
        .logs
        .iter()
        .filter(|l| l.wait.eq_ignore_ascii_case(ACTIVE_TRANSACTION))
        .collect();
    let fullest_log = held_logs
        .iter()
        .filter_map(|l| l.used_pct.map(|p| (*l, p)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    // ACTIVE_TRANSACTION shows whenever any transaction is open at the moment the log is
    // checked: it counts only with a long holder or a log that is filling.
    let log_filling = fullest_log.is_some_and(|(_, p)| p >= t.log_used_warning_pct);
    let wrap = h
        .frozen_xid_age
        .is_some_and(|a| a as f64 >= t.xid_wraparound_critical);

    if long.is_empty() && !history_high && !log_filling && !wrap {
        return None;
    }

    let head = long.first().copied();
    let blocks_freezing =
        |x: &HorizonHolder| matches!((x.xid_age, h.freeze_max_age), (Some(a), Some(m)) if a >= m);
    let critical = wrap
        || head.is_some_and(|x| x.age_ms.unwrap_or(0) >= critical_age || blocks_freezing(x))
        || hll.is_some_and(|n| n as f64 >= 5.0 * t.history_list_warning)
        || (!held_logs.is_empty()
            && fullest_log.is_some_and(|(_, p)| p >= t.log_used_critical_pct));
    let severity = if critical {
        Severity::Critical
    } else {
        Severity::Warning
    };

    let mut summary = match head {
        Some(x) => describe_holder(x, last),
        None if wrap => "No single holder stands out".to_string(),
        None => "No transaction open past the threshold is in view".to_string(),
    };
    summary.push_str(&holds_back(last.engine, h, head, hll_rise, &held_logs));
    if long.len() > 1 {
        summary.push_str(&format!(
            "; {} more held open past {}",
            thousands(long.len() as u64 - 1),
            crate::format::duration_secs(t.long_transaction_over)
        ));
    }
    summary.push('.');

    let mut d = Draft::new(&LONG_TRANSACTION, severity, summary);
    if let Some(x) = head {
        if let Some(ms) = x.age_ms {
            d = d.figure(Figure::millis("oldest transaction open for", ms));
        }
        if let Some(a) = x.xid_age {
            d = d.figure(Figure::count("transaction IDs since its snapshot", a));
        }
        if let Some(r) = x.rows_modified {
            d = d.figure(Figure::count("rows it has modified", r));
        }
        if let Some(b) = x.log_bytes {
            d = d.figure(Figure::count("log bytes it has used", b));
        }
    }
    if let Some(a) = h.frozen_xid_age {
        d = d.figure(Figure::count("oldest age(datfrozenxid)", a));
    }
    if let Some(m) = h.freeze_max_age {
        d = d.figure(Figure::count("autovacuum_freeze_max_age", m));
    }
    if let Some(n) = hll {
        d = d.figure(Figure::count("InnoDB history list length", n));
    }
    if let Some(r) = hll_rise {
        d = d.figure(Figure::text(
            "history list change over the window",
            format!("{r:+}"),
        ));
    }
    if let Some((l, p)) = fullest_log {
        d = d.figure(Figure::percent(&format!("log used in {}", l.database), p));
    }
    for a in actions(last, head, wrap, log_filling) {
        d = d.action(a);
    }
    d.culprits(culprits(last, &long)).done()
}

/// "session 4242 (user etl, app import) has had a transaction open for 42m".
fn describe_holder(x: &HorizonHolder, last: &Snapshot) -> String {
    let age = x
        .age_ms
        .map(|ms| format!(" for {}", duration_ms(ms)))
        .unwrap_or_default();
    let name = x.name.as_deref().unwrap_or("?");
    match x.kind {
        HolderKind::Session => {
            let who = x
                .session_id
                .and_then(|id| last.sessions.iter().find(|s| s.id == id))
                .map(describe_session)
                .unwrap_or_else(|| format!("session {}", x.session_id.unwrap_or(0)));
            let idle = x
                .session_id
                .and_then(|id| last.sessions.iter().find(|s| s.id == id))
                .is_some_and(|s| s.state == crate::model::session::SessionState::IdleInTransaction);
            let mut out = format!("{who} has had a transaction open{age}");
            if idle {
                out.push_str(" (idle: nothing is running in it)");
            }
            if let Some(r) = x.rows_modified {
                out.push_str(&format!(
                    " and has modified {}",
                    crate::format::plural(r, "row")
                ));
            }
            out
        }
        HolderKind::ReplicationSlot => format!("Replication slot {name} holds the horizon"),
        HolderKind::PreparedTransaction => {
            format!("Prepared transaction {name} has waited for COMMIT PREPARED{age}")
        }
    }
}

/// What the holder stops, in the engine's own terms.
fn holds_back(
    engine: Engine,
    h: &Horizon,
    head: Option<&HorizonHolder>,
    hll_rise: Option<i64>,
    held_logs: &[&LogReuse],
) -> String {
    match engine {
        Engine::Postgres => {
            let behind = head
                .and_then(|x| x.xid_age)
                .map(|a| format!(" ({} transaction IDs back)", thousands(a)))
                .unwrap_or_default();
            let mut out = format!(
                ": vacuum cannot remove any row version that died after it began{behind}, so tables and indexes bloat"
            );
            // Wraparound is worth a word only once anti-wraparound vacuum is due.
            if let (Some(a), Some(m)) = (h.frozen_xid_age, h.freeze_max_age)
                && a >= m
            {
                out.push_str(&format!(
                    "; oldest datfrozenxid is {} transactions old ({}% of the way to the 2^31 stop, anti-wraparound vacuum from {})",
                    thousands(a),
                    decimal(super::pct(a as f64, 2_147_483_648.0)),
                    thousands(m)
                ));
            }
            out
        }
        Engine::Mysql => {
            let mut out = ": InnoDB purge cannot remove undo newer than its read view".to_string();
            if let Some(n) = h.history_list_length {
                out.push_str(&format!(", history list {}", thousands(n)));
                if let Some(r) = hll_rise {
                    out.push_str(&format!(" ({r:+} over the window)"));
                }
            }
            out
        }
        Engine::Mssql => {
            let logs: Vec<String> = held_logs
                .iter()
                .map(|l| match l.used_pct {
                    Some(p) => format!("{} ({}% used)", l.database, decimal(p)),
                    None => l.database.clone(),
                })
                .collect();
            if logs.is_empty() {
                ": the log cannot be truncated past it, and the version store grows".to_string()
            } else {
                format!(
                    ": the log of {} cannot be truncated past it (ACTIVE_TRANSACTION); at 100% writes fail with error 9002",
                    logs.join(", ")
                )
            }
        }
    }
}

fn actions(
    last: &Snapshot,
    head: Option<&HorizonHolder>,
    wrap: bool,
    log_filling: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    match head {
        Some(x) if x.kind == HolderKind::Session => {
            if let Some(id) = x.session_id {
                let undo = x
                    .rows_modified
                    .filter(|&r| r > 0)
                    .map(|r| format!(" ({})", crate::format::plural(r, "row")))
                    .unwrap_or_default();
                out.push(format!(
                    "Ask who owns session {id} first: ending it rolls back all it wrote{undo}, \
                     which can take as long as the writing did. If it is forgotten or stuck: {}",
                    crate::actions::terminate(last, id)
                ));
            }
        }
        Some(x) if x.kind == HolderKind::ReplicationSlot => {
            let name = crate::actions::literal(x.name.as_deref().unwrap_or(""));
            out.push(format!(
                "Find the slot's consumer (a standby with hot_standby_feedback, a CDC tool). \
                 If it is gone for good: SELECT pg_drop_replication_slot({name}); (its \
                 consumer must then be rebuilt)"
            ));
        }
        Some(x) => {
            let gid = crate::actions::literal(x.name.as_deref().unwrap_or(""));
            out.push(format!(
                "Ask the transaction manager that prepared it; if it is orphaned: COMMIT \
                 PREPARED {gid}; or ROLLBACK PREPARED {gid}; (from the same database)"
            ));
        }
        None => {}
    }
    let futile = match last.engine {
        Engine::Postgres => "VACUUM FULL cannot remove what it still sees",
        Engine::Mysql => "OPTIMIZE TABLE cannot purge what it still sees",
        Engine::Mssql => "a log backup or shrink cannot free what it still holds",
    };
    out.push(format!(
        "Do not restart the server to get rid of it: the rollback runs anyway (in crash \
         recovery, with the server unavailable); and {futile}."
    ));
    if log_filling {
        out.push(
            "If the log nears 100%, add log space (grow the file or add one) to buy time: a \
             full log stops every write in the database (error 9002)."
                .to_string(),
        );
    }
    if wrap && last.engine == Engine::Postgres {
        out.push(
            "Once the holder is gone, VACUUM (FREEZE, VERBOSE) the oldest tables of the \
             database with the oldest datfrozenxid; do not cancel the anti-wraparound \
             autovacuum."
                .to_string(),
        );
    }
    let prevent = match last.engine {
        Engine::Postgres => {
            "Prevent: commit long jobs in batches, set idle_in_transaction_session_timeout \
             (and transaction_timeout on 17+), and watch age(backend_xmin)."
        }
        Engine::Mysql => {
            "Prevent: commit imports in batches (thousands of rows, not millions), set \
             MariaDB idle_transaction_timeout, and watch the history list length."
        }
        Engine::Mssql => {
            "Prevent: commit imports in batches, and watch log_reuse_wait_desc and the log's \
             used share."
        }
    };
    out.push(prevent.to_string());
    out
}

fn culprits(last: &Snapshot, long: &[&HorizonHolder]) -> Culprits {
    let mut users: Vec<String> = long
        .iter()
        .filter_map(|x| x.session_id)
        .filter_map(|id| last.sessions.iter().find(|s| s.id == id))
        .map(|s| s.user_or_unknown().to_string())
        .collect();
    users.sort();
    users.dedup();
    Culprits {
        users,
        sessions: long.iter().filter_map(|x| x.session_id).take(20).collect(),
        ..Culprits::default()
    }
}
