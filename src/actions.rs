//! Ready-to-paste statements for the "first actions" of a verdict, in each engine's dialect.
//!
//! At 3 a.m. the team of incident 002 wrote a bash loop around `CALL mysql.rds_kill(id)`
//! by hand. These helpers write that loop for them, scoped to exactly the sessions the
//! verdict named. They only produce text: spiral never kills anything from a verdict.

use crate::model::snapshot::{Engine, Snapshot};

/// A SQL string literal with quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A word for a POSIX shell, single-quoted.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The statement that ends one session.
pub fn terminate(snapshot: &Snapshot, id: i64) -> String {
    match snapshot.engine {
        // Not sessions: locks held by an orphaned distributed transaction (-2) end with
        // KILL '<UOW>'; a transaction in deferred recovery (-3) cannot be killed at all.
        // `KILL -2` would be an error, or worse on a server that took it for a session.
        Engine::Mssql if id == crate::model::blocking::ORPHANED_DTC => {
            match snapshot.orphaned_transactions.as_slice() {
                [] => "KILL '<UOW>'; with the UOW from: SELECT DISTINCT request_owner_guid FROM \
                sys.dm_tran_locks WHERE request_session_id = -2;"
                    .to_string(),
                uows => uows
                    .iter()
                    .map(|u| format!("KILL {};", literal(u)))
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        Engine::Mssql if id == crate::model::blocking::DEFERRED_RECOVERY => {
            "nothing to KILL: a transaction in deferred recovery ends when its database's \
            missing file or filegroup is brought back online or restored (see the error log)"
                .to_string()
        }
        Engine::Postgres => format!("SELECT pg_terminate_backend({id});"),
        Engine::Mysql if snapshot.server.managed_kill => format!("CALL mysql.rds_kill({id});"),
        Engine::Mysql | Engine::Mssql => format!("KILL {id};"),
    }
}

/// A `spiral kill` command line against the server the verdict came from, ready to paste.
/// The target is the one the user gave, redacted; a window that does not know it (built by
/// a test or a library caller) gets a placeholder the user fills. A redacted password shows
/// as `***`, which the line says plainly rather than failing on it at 3 a.m.
pub fn spiral_kill(target: Option<&str>, args: &str) -> String {
    let quoted = target.map_or_else(|| "'<target>'".to_string(), shell_quote);
    let mut line = format!("spiral kill {quoted} {args}");
    match target {
        None => line.push_str(" (put your connection URL in place of <target>)"),
        Some(t) if t.contains(":***@") => line.push_str(
            " (*** stands for the password: type it in, or drop `:***` to use the password \
             variable or file)",
        ),
        Some(_) => {}
    }
    line
}

/// The statements that end several sessions, in one paste.
pub fn terminate_all(snapshot: &Snapshot, ids: &[i64]) -> String {
    match (snapshot.engine, ids) {
        (_, [one]) => terminate(snapshot, *one),
        (Engine::Postgres, _) => {
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            format!(
                "SELECT pg_terminate_backend(pid) FROM unnest(ARRAY[{}]) AS pid;",
                list.join(", ")
            )
        }
        _ => ids
            .iter()
            .map(|&i| terminate(snapshot, i))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// How to end every idle session of `user` (and `app`, when known) idle for at least
/// `idle_secs`: the same `spiral kill` line on every engine (it re-checks each session on
/// the server and logs what it did), then the engine's own SQL for those who would rather
/// paste that. Both re-check idleness when they run, so a session that woke up since the
/// sample is spared.
pub fn kill_idle_sessions(
    snapshot: &Snapshot,
    target: Option<&str>,
    user: &str,
    app: Option<&str>,
    idle_secs: u64,
) -> String {
    let mut args = format!("--user {}", shell_quote(user));
    if let Some(a) = app {
        args.push_str(&format!(" --app {}", shell_quote(a)));
    }
    args.push_str(&format!(" --state idle --idle-over {idle_secs}s --execute"));
    let spiral = spiral_kill(target, &args);
    let sql = match snapshot.engine {
        Engine::Postgres => {
            let app_filter = app
                .map(|a| format!(" AND application_name = {}", literal(a)))
                .unwrap_or_default();
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = {}{app_filter} \
                 AND state = 'idle' AND backend_type = 'client backend' AND pid <> pg_backend_pid() \
                 AND state_change < now() - interval '{idle_secs} seconds';",
                literal(user)
            )
        }
        Engine::Mysql => {
            let call = if snapshot.server.managed_kill {
                "CONCAT('CALL mysql.rds_kill(',ID,');')"
            } else {
                "CONCAT('KILL ',ID,';')"
            };
            // MySQL has no set-based kill: the query writes the statements to run. No shell
            // pipeline, so nothing in a user name can run as a command.
            format!(
                "run the statements printed by SELECT {call} FROM information_schema.PROCESSLIST \
                 WHERE USER = {} AND COMMAND = 'Sleep' AND TIME >= {idle_secs};",
                literal(user)
            )
        }
        Engine::Mssql => {
            let app_filter = app
                .map(|a| format!(" AND program_name = {}", literal(a)))
                .unwrap_or_default();
            // A session that never ran a request carries last_request_end_time 1900-01-01:
            // without the NULLIF it would count as idle for a century and a pool warming up
            // would be killed.
            format!(
                "DECLARE @k nvarchar(max) = N''; SELECT @k += N'KILL ' + CAST(session_id AS nvarchar(10)) + N'; ' \
                 FROM sys.dm_exec_sessions WHERE is_user_process = 1 AND login_name = {}{app_filter} \
                 AND status = 'sleeping' AND open_transaction_count = 0 \
                 AND COALESCE(NULLIF(last_request_end_time, '19000101'), NULLIF(login_time, '19000101'), GETDATE()) \
                 < DATEADD(second, -{idle_secs}, GETDATE()); EXEC (@k);",
                literal(user)
            )
        }
    };
    format!("{spiral} (without --execute it only lists them); or in SQL: {sql}")
}

/// How an admin gets in when ordinary clients are refused.
pub fn emergency_way_in(snapshot: &Snapshot) -> String {
    match snapshot.engine {
        Engine::Postgres => {
            let reserved = snapshot.connections.reserved;
            format!(
                "Connect as a superuser (or, on 16+, a member of pg_use_reserved_connections): \
                 {reserved} slots are reserved for them; spiral itself needs only one."
            )
        }
        Engine::Mysql => {
            "Connect as a user with SUPER or CONNECTION_ADMIN: MySQL keeps one extra slot \
             for them; or use MySQL 8's admin_port (33062) / MariaDB's extra_port."
                .to_string()
        }
        Engine::Mssql => {
            "Come in through the dedicated admin connection: `spiral triage --dac` or \
             `sqlcmd -A`."
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kill_lines_name_the_target_or_a_placeholder() {
        let pg = Snapshot::empty(Engine::Postgres, Utc::now());
        let line = kill_idle_sessions(
            &pg,
            Some("postgres://app@db:5432/shop"),
            "o'brien",
            Some("api"),
            300,
        );
        assert!(
            line.starts_with(
                "spiral kill 'postgres://app@db:5432/shop' --user 'o'\\''brien' --app 'api' --state idle --idle-over 300s --execute"
            ),
            "{line}"
        );
        assert!(line.contains("usename = 'o''brien'"), "{line}");
        let redacted = spiral_kill(Some("postgres://app:***@db/shop"), "--blocking-leaders");
        assert!(
            redacted.contains("*** stands for the password"),
            "{redacted}"
        );
        assert_eq!(
            terminate_all(&pg, &[41000, 41001]),
            "SELECT pg_terminate_backend(pid) FROM unnest(ARRAY[41000, 41001]) AS pid;"
        );
        let my = Snapshot::empty(Engine::Mysql, Utc::now());
        assert_eq!(terminate_all(&my, &[7, 9]), "KILL 7; KILL 9;");
    }

    use super::*;
    use chrono::Utc;

    #[test]
    fn literals_and_kills_are_quoted() {
        let mut snap = Snapshot::empty(Engine::Mysql, Utc::now());
        assert_eq!(literal("o'brien"), "'o''brien'");
        assert_eq!(terminate(&snap, 7), "KILL 7;");
        snap.server.managed_kill = true;
        assert_eq!(terminate(&snap, 7), "CALL mysql.rds_kill(7);");
        let cmd = kill_idle_sessions(&snap, None, "shipping", None, 300);
        assert!(
            cmd.contains("USER = 'shipping'") && cmd.contains("rds_kill"),
            "{cmd}"
        );
        assert!(cmd.starts_with("spiral kill '<target>' --user 'shipping' --state idle"));
        assert!(!cmd.contains("SPIRAL_URL"), "{cmd}");
    }
}
