//! Turning the typed rows of one sample into the engine-neutral `Snapshot`. Pure:
//! everything it needs is in its arguments, so recorded rows of servers this machine cannot
//! run (MySQL 8) are covered by tests.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::Profile;
use super::decode::{RawRow, float_to_u64};
use crate::model::session::{Session, SessionKind, SessionState, StatementKind, WaitClass};
use crate::model::snapshot::{
    Area, ConnectionLimits, Engine, Gap, Guardrails, HolderKind, Horizon, HorizonHolder,
    ServerInfo, Snapshot, counter,
};

/// An open InnoDB transaction, by the connection that owns it.
#[derive(Debug, Clone, Default)]
struct Trx {
    state: String,
    age_ms: Option<u64>,
    wait_ms: Option<u64>,
    /// trx_rows_modified, carried in var_value by queries/mysql/innodb_trx.sql.
    rows_modified: Option<u64>,
}

/// The snapshot of one sample. Pure: everything it needs is in its arguments.
pub fn assemble(
    profile: &Profile,
    gaps: &[Gap],
    admins: &BTreeSet<String>,
    rows: &[RawRow],
    client_now: DateTime<Utc>,
) -> Snapshot {
    let mut vars: BTreeMap<&str, &str> = BTreeMap::new();
    let mut status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut trx: BTreeMap<u64, Trx> = BTreeMap::new();
    let mut blockers: BTreeMap<u64, BTreeSet<i64>> = BTreeMap::new();
    let mut sessions = Vec::new();
    for r in rows {
        match r.kind.as_str() {
            "var" => {
                if let (Some(n), Some(v)) = (&r.var_name, &r.var_value) {
                    vars.insert(n, v);
                }
            }
            "status" => {
                if let (Some(n), Some(v)) = (&r.var_name, &r.var_value)
                    && let Ok(v) = v.trim().parse::<u64>()
                {
                    status.insert(n, v);
                }
            }
            "trx" => {
                if let Some(id) = r.id {
                    // A connection owns at most one transaction; keep the first if the
                    // server ever repeats one.
                    trx.entry(id).or_insert_with(|| Trx {
                        state: r.trx_state.clone().unwrap_or_default(),
                        age_ms: r.trx_ms,
                        wait_ms: r.wait_ms,
                        rows_modified: r.var_value.as_deref().and_then(|v| v.trim().parse().ok()),
                    });
                }
            }
            "lock_wait" => {
                if let Some(waiter) = r.id {
                    let set = blockers.entry(waiter).or_default();
                    // A blocker with no connection (NULL) still marks the waiter.
                    if let Some(b) = r.blocker_id.and_then(|b| i64::try_from(b).ok())
                        && r.blocker_id != Some(waiter)
                    {
                        set.insert(b);
                    }
                }
            }
            "session" => sessions.push(r),
            _ => {}
        }
    }

    let taken_at = vars
        .get("utc_now")
        .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok())
        .map(|t| t.and_utc())
        .unwrap_or(client_now);
    let mut snap = Snapshot::empty(Engine::Mysql, taken_at);
    let product = if profile.mariadb { "mariadb" } else { "mysql" };
    snap.server = ServerInfo {
        version: profile.version.clone(),
        flavor: Some(if profile.rds {
            format!("rds-{product}")
        } else {
            product.to_string()
        }),
        managed_kill: profile.rds,
    };
    snap.own_session_id = i64::try_from(profile.own_id).ok().filter(|&id| id > 0);

    let var_u64 = |n: &str| vars.get(n).and_then(|v| v.trim().parse::<u64>().ok());
    let var_secs_ms = |n: &str| {
        vars.get(n)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|s| float_to_u64(s * 1000.0))
    };
    snap.connections = ConnectionLimits {
        max_connections: var_u64("max_connections"),
        // The extra SUPER/CONNECTION_ADMIN slot is outside max_connections.
        reserved: 0,
        current: status.get("threads_connected").copied(),
    };
    snap.guardrails = Guardrails {
        statement_timeout_ms: if profile.mariadb {
            var_secs_ms("max_statement_time")
        } else {
            var_u64("max_execution_time")
        },
        lock_timeout_ms: var_secs_ms("innodb_lock_wait_timeout"),
        // MariaDB bounds idle transactions with idle_transaction_timeout, or for
        // transactions that wrote (the ones holding row locks) idle_write_transaction_timeout.
        idle_in_transaction_timeout_ms: if profile.mariadb {
            match var_secs_ms("idle_transaction_timeout") {
                Some(0) | None => var_secs_ms("idle_write_transaction_timeout")
                    .or(var_secs_ms("idle_transaction_timeout")),
                some => some,
            }
        } else {
            None
        },
        idle_session_timeout_ms: var_secs_ms("wait_timeout"),
        optimize_for_ad_hoc: None,
    };
    let counters = [
        ("connections", counter::LOGINS),
        ("aborted_connects", counter::ABORTED_CONNECTS),
        (
            "connection_errors_max_connections",
            counter::REFUSED_CONNECTIONS,
        ),
        // Statements: Questions where the status part reads it (MySQL), else Queries
        // (MariaDB: see status_mariadb.sql).
        ("queries", counter::BATCHES),
        ("questions", counter::BATCHES),
        ("com_commit", counter::COMMITS),
        ("com_rollback", counter::ROLLBACKS),
        ("innodb_row_lock_waits", counter::ROW_LOCK_WAITS),
        ("innodb_row_lock_time", counter::ROW_LOCK_TIME_MS),
        ("innodb_deadlocks", counter::DEADLOCKS),
    ];
    for (name, key) in counters {
        if let Some(v) = status.get(name) {
            snap.counters.insert(key.to_string(), *v);
        }
    }

    snap.horizon = Some(horizon(
        &trx,
        status.get("innodb_history_list_length").copied(),
    ));

    snap.sessions = sessions
        .into_iter()
        .filter_map(|r| {
            let id = r.id?;
            to_session(r, trx.get(&id), blockers.get(&id), admins)
        })
        .collect();

    snap.gaps = gaps.to_vec();
    if status.is_empty() {
        snap.gaps.push(Gap {
            area: Area::Counters,
            reason: "the server returned no status counters (performance_schema.global_status is empty when performance_schema is OFF)".into(),
            remedy: None,
        });
    }
    snap
}

/// The oldest InnoDB transactions (each holds a read view or undo that purge must keep)
/// and the history list, for long-transaction.
fn horizon(trx: &BTreeMap<u64, Trx>, history_list_length: Option<u64>) -> Horizon {
    let mut holders: Vec<HorizonHolder> = trx
        .iter()
        .filter_map(|(id, t)| {
            Some(HorizonHolder {
                kind: HolderKind::Session,
                session_id: Some(i64::try_from(*id).ok()?),
                name: None,
                database: None,
                age_ms: t.age_ms,
                xid_age: None,
                rows_modified: t.rows_modified,
                log_bytes: None,
            })
        })
        .collect();
    holders.sort_by(|a, b| {
        b.age_ms
            .cmp(&a.age_ms)
            .then(a.session_id.cmp(&b.session_id))
    });
    // Own connection included: the rule leaves it out, and one spare row keeps five others.
    holders.truncate(6);
    Horizon {
        holders,
        history_list_length,
        ..Horizon::default()
    }
}

fn to_session(
    r: &RawRow,
    trx: Option<&Trx>,
    blockers: Option<&BTreeSet<i64>>,
    admins: &BTreeSet<String>,
) -> Option<Session> {
    // Processlist ids fit in i64 in practice; a row that does not is skipped rather than
    // given a wrong id that a kill statement could use.
    let id = i64::try_from(r.id?).ok()?;
    let command = r.command.clone().unwrap_or_default();
    let user = r.user_name.clone().filter(|u| !u.is_empty());
    let thread_state = r.state.clone().filter(|s| !s.is_empty());
    // TIME counts from the start of the current command: the idle time of a sleeping
    // connection, the running time of a statement. MariaDB adds milliseconds.
    let age_ms = r.time_ms.or_else(|| {
        r.time_s
            .map(|s| u64::try_from(s).unwrap_or(0).saturating_mul(1000))
    });
    let rolling_back =
        command == "Killed" || trx.is_some_and(|t| t.state.eq_ignore_ascii_case("ROLLING BACK"));
    let state = match command.as_str() {
        "Sleep" if trx.is_some() => SessionState::IdleInTransaction,
        "Sleep" => SessionState::Idle,
        // A killed connection keeps working until its rollback ends.
        "Query" | "Execute" | "Fetch" | "Prepare" | "Long Data" | "Killed" => SessionState::Active,
        _ => SessionState::Other,
    };
    let row_lock_wait =
        trx.is_some_and(|t| t.state.eq_ignore_ascii_case("LOCK WAIT")) || blockers.is_some();

    let mut s = Session::new(id, state);
    s.kind = session_kind(user.as_deref(), &command);
    s.is_admin = user
        .as_deref()
        .is_some_and(|u| u == "root" || u == "rdsadmin" || admins.contains(u));
    s.client_host = r.client_host.as_deref().and_then(strip_port);
    s.database = r.db_name.clone().filter(|d| !d.is_empty());
    s.user = user;
    s.raw_state = thread_state.clone().or_else(|| Some(command.clone()));
    s.command = Some(command).filter(|c| !c.is_empty());
    match state {
        SessionState::Idle | SessionState::IdleInTransaction => {
            s.idle_ms = age_ms;
            s.wait_class = Some(WaitClass::Client);
        }
        SessionState::Active if row_lock_wait => {
            s.elapsed_ms = age_ms;
            s.wait_class = Some(WaitClass::Lock);
            s.wait_type = Some("InnoDB row lock".into());
            // trx_wait_started has whole seconds only: the wait cannot be longer than
            // the statement that waits.
            s.wait_ms = match (trx.and_then(|t| t.wait_ms), age_ms) {
                (Some(w), Some(a)) => Some(w.min(a)),
                (w, a) => w.or(a),
            };
        }
        SessionState::Active => {
            s.elapsed_ms = age_ms;
            let (class, wait_type) = active_wait(thread_state.as_deref());
            s.wait_class = Some(class);
            s.wait_type = wait_type;
            // The processlist does not say when a table or metadata lock wait began; the
            // statement's age bounds it (a statement blocked at once waits for all of it).
            if class == WaitClass::Lock {
                s.wait_ms = age_ms;
            }
        }
        SessionState::Other => {}
    }
    s.blocked_by = blockers
        .map(|b| b.iter().copied().filter(|&b| b != id).collect())
        .unwrap_or_default();
    if let Some(t) = trx {
        s.transaction_ms = t.age_ms;
        s.open_transactions = 1;
    }
    s.rolling_back = rolling_back;
    s.query = r.query_text.clone().filter(|q| !q.trim().is_empty());
    s.statement = s.query.as_deref().and_then(StatementKind::of_sql);
    Some(s)
}

/// The wait family of a running statement from its thread state. Only states that are
/// waits get a wait type; the rest is work (CPU, as PostgreSQL's "no wait event").
fn active_wait(state: Option<&str>) -> (WaitClass, Option<String>) {
    let Some(st) = state else {
        return (WaitClass::Cpu, None);
    };
    let lower = st.to_ascii_lowercase();
    if lower == "locked"
        || lower == "waiting for table flush"
        || (lower.starts_with("waiting for") && lower.contains("lock"))
    {
        (WaitClass::Lock, Some(st.to_string()))
    } else if lower == "sending to client" || lower == "writing to net" {
        (WaitClass::Network, Some(st.to_string()))
    } else if lower == "user sleep" || lower.starts_with("waiting") {
        (WaitClass::Other, Some(st.to_string()))
    } else {
        (WaitClass::Cpu, None)
    }
}

/// Server threads are not clients: replication dump threads run under the replica's
/// login but are replication, the applier threads are 'system user', and the event
/// scheduler is a daemon. (pt-kill misses 'Binlog Dump GTID' and the event scheduler.)
pub fn session_kind(user: Option<&str>, command: &str) -> SessionKind {
    if command.starts_with("Binlog Dump")
        || command.starts_with("Slave_")
        || command == "Register Slave"
    {
        return SessionKind::Replication;
    }
    match user {
        // MySQL's replication receiver/applier threads show Connect/Query; the other
        // 'system user' threads (InnoDB, group replication helpers) are the server's own.
        Some("system user") if matches!(command, "Connect" | "Query") => SessionKind::Replication,
        Some("system user") | Some("event_scheduler") => SessionKind::System,
        _ if command == "Daemon" || command == "Delayed insert" => SessionKind::System,
        _ => SessionKind::Client,
    }
}

/// HOST is "address:port" for TCP clients and "localhost" for the socket; the port
/// changes with every connection, so it would split one client host into many.
pub fn strip_port(host: &str) -> Option<String> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h.to_string());
    }
    match host.rsplit_once(':') {
        Some((h, port))
            if !h.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(h.to_string())
        }
        _ => Some(host.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mysql::decode::{Cell, lock_from_cells};
    use crate::engine::mysql::fixtures::{b, profile_mariadb, profile_mysql};
    use crate::engine::mysql::mdl;

    /// A recorded row: the named cells as the server sent them, NULL elsewhere.
    fn rec(cells: &[(&str, Cell)]) -> RawRow {
        RawRow::from_cells(|name| {
            cells
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.clone())
                .unwrap_or(Cell::Null)
        })
    }

    fn var(name: &str, value: &str) -> RawRow {
        rec(&[
            ("kind", b("var")),
            ("var_name", b(name)),
            ("var_value", b(value)),
        ])
    }

    fn status(name: &str, value: &str) -> RawRow {
        rec(&[
            ("kind", b("status")),
            ("var_name", b(name)),
            ("var_value", b(value)),
        ])
    }

    fn find(snap: &Snapshot, id: i64) -> &Session {
        snap.sessions
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("session {id} missing"))
    }

    #[test]
    fn host_ports_are_stripped() {
        assert_eq!(strip_port("10.0.3.7:51234").as_deref(), Some("10.0.3.7"));
        assert_eq!(strip_port("localhost").as_deref(), Some("localhost"));
        assert_eq!(
            strip_port("app-7.internal:3306").as_deref(),
            Some("app-7.internal")
        );
        assert_eq!(strip_port("::1:40312").as_deref(), Some("::1"));
        assert_eq!(strip_port("[fe80::1]:40312").as_deref(), Some("fe80::1"));
        assert_eq!(strip_port(""), None);
    }

    #[test]
    fn server_threads_are_not_clients() {
        use SessionKind::*;
        assert_eq!(session_kind(Some("repl"), "Binlog Dump"), Replication);
        assert_eq!(session_kind(Some("repl"), "Binlog Dump GTID"), Replication);
        assert_eq!(session_kind(Some("system user"), "Slave_SQL"), Replication);
        assert_eq!(session_kind(Some("system user"), "Connect"), Replication);
        assert_eq!(session_kind(Some("system user"), "Daemon"), System);
        assert_eq!(session_kind(Some("event_scheduler"), "Daemon"), System);
        assert_eq!(session_kind(Some("shipping"), "Sleep"), Client);
        assert_eq!(
            session_kind(Some("unauthenticated user"), "Connect"),
            Client
        );
        assert_eq!(session_kind(None, "Query"), Client);
    }

    /// Incident 002 on MariaDB: the 'shipping' user's sleeping connections, one of them
    /// idle inside a transaction that blocks a writer, plus server threads and spiral.
    fn mariadb_rows() -> Vec<RawRow> {
        let mut rows = vec![
            var("max_connections", "151"),
            var("wait_timeout", "28800"),
            var("max_statement_time", "0.000000"),
            var("innodb_lock_wait_timeout", "50"),
            var("idle_transaction_timeout", "0"),
            var("idle_write_transaction_timeout", "0"),
            var("utc_now", "2024-03-01 03:00:00.250000"),
            status("THREADS_CONNECTED", "9"),
            status("connections", "123456"),
            status("connection_errors_max_connections", "17"),
            status("aborted_connects", "20"),
            status("questions", "999"),
            status("innodb_deadlocks", "3"),
            status("innodb_row_lock_waits", "40"),
            status("innodb_row_lock_time", "81234"),
            status("com_commit", "500"),
            status("com_rollback", "5"),
        ];
        for id in [11_i64, 12, 13] {
            rows.push(rec(&[
                ("kind", b("session")),
                ("id", Cell::Int(id)),
                ("user_name", b("shipping")),
                ("client_host", b("10.0.3.7:5123")),
                ("db_name", b("shipping")),
                ("command", b("Sleep")),
                ("state", b("")),
                ("time_s", Cell::Int(1200)),
                ("time_ms", b("1200345.123")),
            ]));
        }
        // 14 sleeps with an open transaction holding the row 15 wants.
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(14)),
            ("user_name", b("shipping")),
            ("client_host", b("10.0.3.8:6000")),
            ("command", b("Sleep")),
            ("time_s", Cell::Int(95)),
            ("time_ms", b("95000.000")),
        ]));
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(15)),
            ("user_name", b("ratings")),
            ("client_host", b("10.0.4.2:7000")),
            ("command", b("Query")),
            ("state", b("Updating")),
            ("time_s", Cell::Int(20)),
            ("time_ms", b("20500.5")),
            (
                "query_text",
                b("UPDATE shipment SET status = 'sent' WHERE id = 7"),
            ),
        ]));
        // 16 waits on a metadata lock: a wait without a known holder.
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(16)),
            ("user_name", b("root")),
            ("client_host", b("localhost")),
            ("command", b("Query")),
            ("state", b("Waiting for table metadata lock")),
            ("time_s", Cell::Int(8)),
            ("query_text", b("ALTER TABLE shipment ADD COLUMN x INT")),
        ]));
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(17)),
            ("user_name", b("repl")),
            ("client_host", b("10.0.9.9:4444")),
            ("command", b("Binlog Dump GTID")),
            (
                "state",
                b("Master has sent all binlog to slave; waiting for more updates"),
            ),
            ("time_s", Cell::Int(86400)),
        ]));
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(18)),
            ("user_name", b("event_scheduler")),
            ("client_host", b("localhost")),
            ("command", b("Daemon")),
            ("state", b("Waiting on empty queue")),
            ("time_s", Cell::Int(86400)),
        ]));
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(19)),
            ("user_name", b("shipping")),
            ("client_host", b("10.0.3.7:5999")),
            ("command", b("Killed")),
            ("time_s", Cell::Int(3)),
        ]));
        rows.push(rec(&[
            ("kind", b("session")),
            ("id", Cell::Int(900)),
            ("user_name", b("spiral")),
            ("client_host", b("10.0.0.1:3333")),
            ("command", b("Execute")),
            ("state", b("Filling schema table")),
            ("time_s", Cell::Int(0)),
            ("query_text", b("-- spiral (mysql/variables_mariadb) ...")),
        ]));
        rows.push(rec(&[
            ("kind", b("trx")),
            ("id", Cell::UInt(14)),
            ("trx_state", b("RUNNING")),
            ("trx_ms", Cell::UInt(96_000)),
        ]));
        rows.push(rec(&[
            ("kind", b("trx")),
            ("id", Cell::UInt(15)),
            ("trx_state", b("LOCK WAIT")),
            ("trx_ms", Cell::UInt(20_600)),
            ("wait_ms", Cell::UInt(20_400)),
        ]));
        rows.push(rec(&[
            ("kind", b("trx")),
            ("id", Cell::UInt(19)),
            ("trx_state", b("ROLLING BACK")),
            ("trx_ms", Cell::UInt(60_000)),
        ]));
        // Two locks of the same pair: one blocker, not two.
        for _ in 0..2 {
            rows.push(rec(&[
                ("kind", b("lock_wait")),
                ("id", Cell::UInt(15)),
                ("blocker_id", Cell::UInt(14)),
            ]));
        }
        rows
    }

    #[test]
    fn mariadb_rows_make_the_incident_snapshot() {
        let profile = Profile {
            ..profile_mariadb()
        };
        let admins: BTreeSet<String> = ["mysql".to_string()].into();
        let snap = assemble(&profile, &[], &admins, &mariadb_rows(), Utc::now());

        assert_eq!(snap.engine, Engine::Mysql);
        assert_eq!(snap.server.flavor.as_deref(), Some("mariadb"));
        assert!(!snap.server.managed_kill);
        assert_eq!(snap.taken_at.to_rfc3339(), "2024-03-01T03:00:00.250+00:00");
        assert_eq!(snap.own_session_id, Some(900));
        assert_eq!(snap.connections.max_connections, Some(151));
        assert_eq!(snap.connections.reserved, 0);
        assert_eq!(snap.connections.current, Some(9));
        assert_eq!(snap.connected_clients(), 8);
        assert_eq!(snap.counter(counter::LOGINS), Some(123_456));
        assert_eq!(snap.counter(counter::REFUSED_CONNECTIONS), Some(17));
        assert_eq!(snap.counter(counter::ABORTED_CONNECTS), Some(20));
        assert_eq!(snap.counter(counter::BATCHES), Some(999));
        assert_eq!(snap.counter(counter::DEADLOCKS), Some(3));
        assert_eq!(snap.counter(counter::ROW_LOCK_WAITS), Some(40));
        assert_eq!(snap.counter(counter::ROW_LOCK_TIME_MS), Some(81_234));
        assert_eq!(snap.counter(counter::COMMITS), Some(500));
        assert_eq!(
            snap.guardrails,
            Guardrails {
                statement_timeout_ms: Some(0),
                lock_timeout_ms: Some(50_000),
                idle_in_transaction_timeout_ms: Some(0),
                idle_session_timeout_ms: Some(28_800_000),
                optimize_for_ad_hoc: None,
            }
        );
        assert!(snap.gaps.is_empty());

        let idle = find(&snap, 11);
        assert_eq!(idle.state, SessionState::Idle);
        assert_eq!(idle.idle_ms, Some(1_200_345));
        assert_eq!(idle.elapsed_ms, None);
        assert_eq!(idle.client_host.as_deref(), Some("10.0.3.7"));
        assert_eq!(idle.user.as_deref(), Some("shipping"));
        assert_eq!(idle.database.as_deref(), Some("shipping"));
        assert_eq!(idle.raw_state.as_deref(), Some("Sleep"));
        assert_eq!(idle.open_transactions, 0);
        assert_eq!(idle.application, None);
        assert!(!idle.is_admin);

        let holder = find(&snap, 14);
        assert_eq!(holder.state, SessionState::IdleInTransaction);
        assert_eq!(holder.idle_ms, Some(95_000));
        assert_eq!(holder.transaction_ms, Some(96_000));
        assert_eq!(holder.open_transactions, 1);
        assert!(holder.blocked_by.is_empty());

        let waiter = find(&snap, 15);
        assert_eq!(waiter.state, SessionState::Active);
        assert_eq!(waiter.blocked_by, vec![14]);
        assert_eq!(waiter.wait_class, Some(WaitClass::Lock));
        assert_eq!(waiter.wait_ms, Some(20_400));
        assert_eq!(waiter.elapsed_ms, Some(20_501));
        assert_eq!(waiter.statement, Some(StatementKind::Write));
        assert_eq!(waiter.raw_state.as_deref(), Some("Updating"));

        let mdl = find(&snap, 16);
        assert_eq!(mdl.wait_class, Some(WaitClass::Lock));
        assert_eq!(
            mdl.wait_type.as_deref(),
            Some("Waiting for table metadata lock")
        );
        assert_eq!(mdl.wait_ms, Some(8_000));
        assert!(mdl.is_admin);
        assert_eq!(mdl.statement, Some(StatementKind::Ddl));

        assert_eq!(find(&snap, 17).kind, SessionKind::Replication);
        assert_eq!(find(&snap, 18).kind, SessionKind::System);
        let killed = find(&snap, 19);
        assert!(killed.rolling_back);
        assert_eq!(killed.state, SessionState::Active);

        // Rules see the clients only, without spiral and the server's threads.
        let clients: Vec<i64> = snap.client_sessions().map(|s| s.id).collect();
        assert_eq!(clients, [11, 12, 13, 14, 15, 16, 19]);
        let graph = crate::model::blocking::BlockingGraph::of(&snap);
        assert_eq!(graph.trees.first().map(|t| t.lead), Some(14));
    }

    /// MySQL 8.0 rows as performance_schema sends them: unsigned ids beyond i32, text as
    /// VARBINARY (some of it not UTF-8), no TIME_MS, lock waits mapped from thread ids to
    /// processlist ids by the part's join (a blocker with no connection comes back NULL).
    #[test]
    fn mysql8_rows_make_a_snapshot() {
        let profile = Profile {
            rds: true,
            own_id: 3_000_000_900,
            ..profile_mysql((8, 0, 35))
        };
        let rows = vec![
            var("max_connections", "2000"),
            var("wait_timeout", "600"),
            var("max_execution_time", "30000"),
            var("innodb_lock_wait_timeout", "10"),
            var("utc_now", "not a time"),
            status("Threads_connected", "3"),
            status("Connections", "70"),
            status("innodb_deadlocks", "12"),
            rec(&[
                ("kind", b("session")),
                ("id", Cell::UInt(3_000_000_001)),
                ("user_name", Cell::Bytes(b"app".to_vec())),
                ("client_host", Cell::Bytes(b"10.1.1.1:40000".to_vec())),
                ("command", Cell::Bytes(b"Query".to_vec())),
                ("state", Cell::Bytes(b"executing".to_vec())),
                ("time_s", Cell::Int(12)),
                (
                    "query_text",
                    Cell::Bytes(b"SELECT * FROM t WHERE c = '\xC3\x28' FOR UPDATE".to_vec()),
                ),
            ]),
            rec(&[
                ("kind", b("session")),
                ("id", Cell::UInt(3_000_000_002)),
                ("user_name", Cell::Bytes(b"app".to_vec())),
                ("command", Cell::Bytes(b"Sleep".to_vec())),
                ("time_s", Cell::Int(40)),
            ]),
            rec(&[
                ("kind", b("session")),
                ("id", Cell::UInt(3_000_000_003)),
                ("user_name", Cell::Bytes(b"app".to_vec())),
                ("command", Cell::Bytes(b"Query".to_vec())),
                ("state", Cell::Bytes(b"updating".to_vec())),
                ("time_s", Cell::Int(5)),
            ]),
            rec(&[
                ("kind", b("trx")),
                ("id", Cell::UInt(3_000_000_001)),
                ("trx_state", b("LOCK WAIT")),
                ("trx_ms", Cell::UInt(12_500)),
                ("wait_ms", Cell::UInt(11_000)),
            ]),
            rec(&[
                ("kind", b("trx")),
                ("id", Cell::UInt(3_000_000_002)),
                ("trx_state", b("RUNNING")),
                ("trx_ms", Cell::UInt(41_000)),
            ]),
            rec(&[
                ("kind", b("trx")),
                ("id", Cell::UInt(3_000_000_003)),
                ("trx_state", b("LOCK WAIT")),
                ("wait_ms", Cell::UInt(4_900)),
            ]),
            rec(&[
                ("kind", b("lock_wait")),
                ("id", Cell::UInt(3_000_000_001)),
                ("blocker_id", Cell::UInt(3_000_000_002)),
            ]),
            rec(&[
                ("kind", b("lock_wait")),
                ("id", Cell::UInt(3_000_000_003)),
                ("blocker_id", Cell::Null),
            ]),
        ];
        let before = Utc::now();
        let snap = assemble(&profile, &[], &BTreeSet::new(), &rows, before);
        assert_eq!(
            snap.taken_at, before,
            "an unreadable server clock falls back"
        );
        assert_eq!(snap.server.flavor.as_deref(), Some("rds-mysql"));
        assert!(snap.server.managed_kill);
        assert_eq!(
            crate::actions::terminate(&snap, 3_000_000_002),
            "CALL mysql.rds_kill(3000000002);"
        );
        assert_eq!(snap.own_session_id, Some(3_000_000_900));
        assert_eq!(snap.counter(counter::DEADLOCKS), Some(12));
        assert_eq!(snap.counter(counter::LOGINS), Some(70));
        assert_eq!(snap.connections.current, Some(3));
        assert_eq!(snap.guardrails.statement_timeout_ms, Some(30_000));
        assert_eq!(snap.guardrails.lock_timeout_ms, Some(10_000));
        assert_eq!(snap.guardrails.idle_in_transaction_timeout_ms, None);
        assert_eq!(snap.guardrails.idle_session_timeout_ms, Some(600_000));

        let reader = find(&snap, 3_000_000_001);
        assert_eq!(reader.blocked_by, vec![3_000_000_002]);
        assert_eq!(reader.wait_ms, Some(11_000));
        assert_eq!(reader.elapsed_ms, Some(12_000));
        assert_eq!(reader.statement, Some(StatementKind::Read));
        assert!(
            reader
                .query
                .as_deref()
                .is_some_and(|q| q.contains('\u{FFFD}'))
        );
        assert_eq!(reader.client_host.as_deref(), Some("10.1.1.1"));

        let holder = find(&snap, 3_000_000_002);
        assert_eq!(holder.state, SessionState::IdleInTransaction);
        assert_eq!(holder.idle_ms, Some(40_000));
        assert_eq!(holder.client_host, None);

        // Waiting, blocker unknown: a lock wait, not a blocked session.
        let orphan = find(&snap, 3_000_000_003);
        assert_eq!(orphan.wait_class, Some(WaitClass::Lock));
        assert!(orphan.blocked_by.is_empty());
        assert_eq!(orphan.wait_ms, Some(4_900));
    }

    /// MySQL 8's metadata_locks as performance_schema sends them (VARBINARY text, unsigned
    /// ids): the rows of a pile-up become the chain holder -> ALTER -> reader.
    #[test]
    fn mysql8_metadata_lock_rows_make_the_chain() {
        let lock = |owner: u64, mode: &str, status: &str| {
            let cells = [
                ("owner_id", Cell::UInt(owner)),
                ("lock_schema", Cell::Bytes(b"shop".to_vec())),
                ("lock_table", Cell::Bytes(b"orders".to_vec())),
                ("lock_mode", Cell::Bytes(mode.as_bytes().to_vec())),
                ("lock_status", Cell::Bytes(status.as_bytes().to_vec())),
            ];
            lock_from_cells(|name| {
                cells
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, c)| c.clone())
                    .unwrap_or(Cell::Null)
            })
        };
        let rows: Vec<mdl::Lock> = [
            lock(3_000_000_010, "SHARED_READ", "GRANTED"),
            lock(3_000_000_011, "SHARED_UPGRADABLE", "GRANTED"),
            lock(3_000_000_011, "EXCLUSIVE", "PENDING"),
            lock(3_000_000_012, "SHARED_READ", "PENDING"),
            lock(3_000_000_013, "INTENTION_EXCLUSIVE", "GRANTED"),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(rows.len(), 4, "a mode of another namespace is skipped");
        assert_eq!(rows[0].table.schema.as_deref(), Some("shop"));
        assert!(rows[0].granted && !rows[2].granted);

        let mut snap = Snapshot::empty(Engine::Mysql, Utc::now());
        let mut holder = Session::new(3_000_000_010, SessionState::IdleInTransaction);
        holder.open_transactions = 1;
        let waiting = |id: i64, query: &str| {
            let mut s = Session::new(id, SessionState::Active);
            s.wait_type = Some("Waiting for table metadata lock".into());
            s.wait_class = Some(WaitClass::Lock);
            s.wait_ms = Some(9_000);
            s.query = Some(query.into());
            s
        };
        snap.sessions = vec![
            holder,
            waiting(3_000_000_011, "ALTER TABLE orders ADD COLUMN c INT"),
            waiting(3_000_000_012, "SELECT * FROM orders"),
        ];
        assert!(mdl::anyone_waiting(&snap));
        mdl::resolve(&mut snap, mdl::Source::PerformanceSchema, &rows);
        assert_eq!(find(&snap, 3_000_000_011).blocked_by, vec![3_000_000_010]);
        assert_eq!(find(&snap, 3_000_000_012).blocked_by, vec![3_000_000_011]);
        assert_eq!(
            find(&snap, 3_000_000_012).blocked_by_note.as_deref(),
            Some("metadata lock on shop.orders (performance_schema.metadata_locks)")
        );
        let graph = crate::model::blocking::BlockingGraph::of(&snap);
        assert_eq!(graph.trees[0].lead, 3_000_000_010);
        assert_eq!(graph.trees[0].depth, 2);
    }

    #[test]
    fn no_status_rows_is_a_gap_not_zero() {
        let snap = assemble(
            &profile_mysql((8, 0, 35)),
            &[],
            &BTreeSet::new(),
            &[var("max_connections", "151")],
            Utc::now(),
        );
        assert_eq!(snap.connections.current, None);
        assert!(snap.counters.is_empty());
        assert!(snap.gap(Area::Counters).is_some());
    }

    #[test]
    fn mariadb_idle_write_transaction_timeout_counts() {
        let rows = [
            var("idle_transaction_timeout", "0"),
            var("idle_write_transaction_timeout", "60"),
            var("max_statement_time", "2.5"),
            status("threads_connected", "1"),
        ];
        let snap = assemble(&profile_mariadb(), &[], &BTreeSet::new(), &rows, Utc::now());
        assert_eq!(snap.guardrails.idle_in_transaction_timeout_ms, Some(60_000));
        assert_eq!(snap.guardrails.statement_timeout_ms, Some(2_500));
    }

    #[test]
    fn innodb_rows_make_the_cleanup_horizon() {
        let rows = vec![
            var("utc_now", "2024-03-01 03:00:00.250000"),
            status("Innodb_history_list_length", "4200"),
            rec(&[
                ("kind", b("trx")),
                ("id", Cell::UInt(15)),
                ("trx_state", b("RUNNING")),
                ("trx_ms", Cell::UInt(20_600)),
            ]),
            rec(&[
                ("kind", b("trx")),
                ("id", Cell::UInt(14)),
                ("trx_state", b("RUNNING")),
                ("trx_ms", Cell::UInt(96_000)),
                ("var_value", b("1500000")),
            ]),
        ];
        let snap = assemble(&profile_mariadb(), &[], &BTreeSet::new(), &rows, Utc::now());
        let h = snap.horizon.expect("collected");
        assert_eq!(h.history_list_length, Some(4_200));
        let ids: Vec<Option<i64>> = h.holders.iter().map(|x| x.session_id).collect();
        assert_eq!(ids, vec![Some(14), Some(15)], "oldest first");
        assert_eq!(h.holders[0].rows_modified, Some(1_500_000));
        assert_eq!(h.holders[0].age_ms, Some(96_000));
        assert_eq!(h.holders[1].rows_modified, None);
        // MySQL's history list comes from INNODB_METRICS under the same name.
        let rows = vec![status("innodb_history_list_length", "12")];
        let snap = assemble(
            &profile_mysql((8, 0, 35)),
            &[],
            &BTreeSet::new(),
            &rows,
            Utc::now(),
        );
        assert_eq!(snap.horizon.unwrap().history_list_length, Some(12));
    }
}
