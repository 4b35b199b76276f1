//! Ready-to-paste statements for the "first actions" of a verdict, in each engine's dialect.
//!
//! At 3 a.m. the team of incident 002 wrote a bash loop around `CALL mysql.rds_kill(id)`
//! by hand. These helpers write that loop for them, scoped to exactly the sessions the
//! verdict named. They only produce text: spiral never kills anything from a verdict.

use crate::snapshot::{Engine, Snapshot};

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
        Engine::Mssql if id == crate::blocking::ORPHANED_DTC => {
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
        Engine::Mssql if id == crate::blocking::DEFERRED_RECOVERY => {
            "nothing to KILL: a transaction in deferred recovery ends when its database's \
            missing file or filegroup is brought back online or restored (see the error log)"
                .to_string()
        }
        Engine::Postgres => format!("SELECT pg_terminate_backend({id});"),
        Engine::Mysql if snapshot.server.managed_kill => format!("CALL mysql.rds_kill({id});"),
        Engine::Mysql | Engine::Mssql => format!("KILL {id};"),
    }
}

/// One command that ends every idle session of `user` (and `app`, when known) idle for at
/// least `idle_secs`, re-checking idleness on the server at the moment it runs, so a
/// session that woke up since the sample is spared.
pub fn kill_idle_sessions(
    snapshot: &Snapshot,
    user: &str,
    app: Option<&str>,
    idle_secs: u64,
) -> String {
    match snapshot.engine {
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
            // MySQL has no set-based kill. Offer spiral's own kill (re-checked, logged) and,
            // for the mysql client, the query that writes the statements to run. The user
            // name is shell-quoted for the first and SQL-quoted for the second; no shell
            // pipeline, so nothing in a user name can run as a command.
            format!(
                "spiral kill \"$SPIRAL_URL\" --user {} --idle-over {idle_secs}s --execute (a dry run without --execute); \
                 or run the statements printed by: SELECT {call} FROM information_schema.PROCESSLIST \
                 WHERE USER = {} AND COMMAND = 'Sleep' AND TIME >= {idle_secs};",
                shell_quote(user),
                literal(user)
            )
        }
        Engine::Mssql => {
            let app_filter = app
                .map(|a| format!(" AND program_name = {}", literal(a)))
                .unwrap_or_default();
            format!(
                "DECLARE @k nvarchar(max) = N''; SELECT @k += N'KILL ' + CAST(session_id AS nvarchar(10)) + N'; ' \
                 FROM sys.dm_exec_sessions WHERE is_user_process = 1 AND login_name = {}{app_filter} \
                 AND status = 'sleeping' AND open_transaction_count = 0 \
                 AND COALESCE(NULLIF(last_request_end_time, '19000101'), NULLIF(login_time, '19000101'), GETDATE()) \
                 < DATEADD(second, -{idle_secs}, GETDATE()); EXEC (@k);",
                literal(user)
            )
        }
    }
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
    use super::*;
    use chrono::Utc;

    #[test]
    fn literals_and_kills_are_quoted() {
        let mut snap = Snapshot::empty(Engine::Mysql, Utc::now());
        assert_eq!(literal("o'brien"), "'o''brien'");
        assert_eq!(terminate(&snap, 7), "KILL 7;");
        snap.server.managed_kill = true;
        assert_eq!(terminate(&snap, 7), "CALL mysql.rds_kill(7);");
        let cmd = kill_idle_sessions(&snap, "shipping", None, 300);
        assert!(
            cmd.contains("USER = 'shipping'") && cmd.contains("rds_kill"),
            "{cmd}"
        );
    }
}
