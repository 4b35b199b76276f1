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
    // SQL Server: the row-versioning transactions; the oldest holds the version store.
    let versions = VersionStore::of(ctx);
    if let Some(v) = &versions {
        for x in v.holders.iter().filter(|x| x.age_ms.unwrap_or(0) >= over) {
            if !long.iter().any(|l| l.session_id == x.session_id) {
                long.push(x);
            }
        }
    }
    oldest_first(&mut long);
    // A big store that nobody holds is cleanup catching up after churn, not this spiral.
    let version_filling = versions.as_ref().is_some_and(|v| {
        !v.holders.is_empty() && v.pct.is_some_and(|p| p >= t.version_store_warning_pct)
    });
    if long.is_empty()
        && version_filling
        && let Some(x) = versions.as_ref().and_then(|v| v.holders.first())
    {
        // The versions fill tempdb before their holder is old: it is named all the same.
        long.push(x);
    }

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

    if long.is_empty() && !history_high && !log_filling && !wrap && !version_filling {
        return None;
    }

    let head = long.first().copied();
    let blocks_freezing =
        |x: &HorizonHolder| matches!((x.xid_age, h.freeze_max_age), (Some(a), Some(m)) if a >= m);
    let critical = wrap
        || head.is_some_and(|x| x.age_ms.unwrap_or(0) >= critical_age || blocks_freezing(x))
        || hll.is_some_and(|n| n as f64 >= 5.0 * t.history_list_warning)
        || (!held_logs.is_empty()
            && fullest_log.is_some_and(|(_, p)| p >= t.log_used_critical_pct))
        || versions.as_ref().is_some_and(|v| {
            !v.holders.is_empty() && v.pct.is_some_and(|p| p >= t.version_store_critical_pct)
        });
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
    if let Some(v) = versions.as_ref().filter(|v| v.involved(head, t)) {
        summary.push_str(&v.sentence());
    }
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
    let versions = versions.filter(|v| v.involved(head, t));
    if let Some(v) = &versions {
        if let Some(kb) = v.kb {
            d = d.figure(Figure::text("version store in tempdb", megabytes(kb)));
        }
        if let Some(p) = v.pct {
            d = d.figure(Figure::percent(
                "version store share of tempdb data files",
                p,
            ));
        }
        if let Some(g) = v.growth_kb {
            d = d.figure(Figure::text(
                "version store change over the window",
                signed_megabytes(g),
            ));
        }
        if let Some(x) = v.holders.first() {
            d = d.figure(Figure::text(
                "oldest row-versioning transaction",
                format!(
                    "session {}{}",
                    x.session_id.unwrap_or(0),
                    x.age_ms
                        .map(|ms| format!(", open {}", duration_ms(ms)))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let mut todo = actions(last, head, wrap, log_filling);
    if let Some(v) = &versions {
        // Right after ending the holder: what to do while its owner is found.
        todo.insert(todo.len().min(1), v.action(t));
    }
    for a in todo {
        d = d.action(a);
    }
    d.culprits(culprits(last, &long)).done()
}

/// SQL Server's row version store in tempdb (RCSI, snapshot isolation): what it holds,
/// how fast it grows, and the transactions it cannot be cleaned past.
struct VersionStore<'s> {
    /// Oldest first, spiral's own left out.
    holders: Vec<&'s HorizonHolder>,
    kb: Option<u64>,
    pct: Option<f64>,
    /// Change between the first and the last sample, in KB.
    growth_kb: Option<i64>,
}

impl<'s> VersionStore<'s> {
    fn of(ctx: &'s Context) -> Option<VersionStore<'s>> {
        let last = ctx.last();
        let h = last.horizon.as_ref()?;
        if h.version_store_kb.is_none() && h.version_holders.is_empty() {
            return None;
        }
        let mut holders: Vec<&HorizonHolder> = h
            .version_holders
            .iter()
            .filter(|x| !is_own(x, last))
            .collect();
        oldest_first(&mut holders);
        let before = ctx
            .window
            .first()
            .horizon
            .as_ref()
            .and_then(|f| f.version_store_kb)
            .filter(|_| ctx.window.has_rates());
        Some(VersionStore {
            holders,
            kb: h.version_store_kb,
            pct: h.version_store_pct(),
            growth_kb: before
                .zip(h.version_store_kb)
                .map(|(a, b)| b as i64 - a as i64),
        })
    }

    /// Worth telling: a row-versioning transaction is the verdict's head, or the versions
    /// hold a real share of tempdb.
    fn involved(&self, head: Option<&HorizonHolder>, t: &Thresholds) -> bool {
        let Some(oldest) = self.holders.first() else {
            return false;
        };
        head.is_some_and(|x| x.session_id == oldest.session_id)
            || self.pct.is_some_and(|p| p >= t.version_store_warning_pct)
    }

    /// "; the version store in tempdb (2,048 MB, 31% of its data files, +512 MB over the
    /// window) cannot be cleaned past session 73's row-versioning transaction (open 2h)".
    fn sentence(&self) -> String {
        let Some(oldest) = self.holders.first() else {
            return String::new();
        };
        let mut size = Vec::new();
        if let Some(kb) = self.kb {
            size.push(megabytes(kb));
        }
        if let Some(p) = self.pct {
            size.push(format!("{}% of its data files", decimal(p)));
        }
        if let Some(g) = self.growth_kb {
            size.push(format!("{} over the window", signed_megabytes(g)));
        }
        let size = if size.is_empty() {
            String::new()
        } else {
            format!(" ({})", size.join(", "))
        };
        let age = oldest
            .age_ms
            .map(|ms| format!(" (open {})", duration_ms(ms)))
            .unwrap_or_default();
        format!(
            "; the version store in tempdb{size} cannot be cleaned past session {}'s row-versioning transaction{age}",
            oldest.session_id.unwrap_or(0)
        )
    }

    fn action(&self, t: &Thresholds) -> String {
        let who = self
            .holders
            .first()
            .and_then(|x| x.session_id)
            .map(|id| format!("session {id}"))
            .unwrap_or_else(|| "the oldest row-versioning transaction".to_string());
        format!(
            "tempdb keeps every row version made since {who} began: it grows until that \
             transaction ends, and when tempdb is full new versions fail (errors 3958, 3959) \
             and so do updates in RCSI and snapshot databases. Watch 'Version Store Size (KB)'; \
             past {}% of tempdb, add tempdb space to buy time while the holder is dealt with.",
            decimal(t.version_store_warning_pct)
        )
    }
}

fn megabytes(kb: u64) -> String {
    format!("{} MB", thousands(kb / 1024))
}

fn signed_megabytes(kb: i64) -> String {
    let sign = if kb < 0 { "-" } else { "+" };
    format!("{sign}{}", megabytes(kb.unsigned_abs()))
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
            if logs.is_empty() && h.version_store_kb.is_some() {
                // No log waits on a transaction and the version store was read: what the
                // holder keeps is said by the version store's sentence, if anything.
                String::new()
            } else if logs.is_empty() {
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
            "Prevent: commit imports in batches, and watch log_reuse_wait_desc, the log's \
             used share and, under RCSI or snapshot isolation, the version store."
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
