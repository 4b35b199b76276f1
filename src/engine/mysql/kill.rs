//! Killing one thread, only if it is still in the state it was chosen for.

use sqlx::mysql::MySqlDatabaseError;

use super::MySqlSampler;
use super::decode::cell;
use crate::engine::timed;

impl MySqlSampler {
    /// Ends (or cancels) one thread if it is still in the state it was selected for.
    /// MySQL thread ids only grow, so an id is not reused while the server runs; the caller
    /// has already re-checked it against a fresh sample. The state is checked by the server
    /// again at the KILL: in the same request on MariaDB, one round trip before on MySQL.
    pub async fn kill(
        &mut self,
        target: crate::model::kill::KillTarget,
        query_only: bool,
        managed: bool,
    ) -> anyhow::Result<crate::model::kill::Outcome> {
        use crate::model::kill::Outcome;
        let Ok(thread) = u64::try_from(target.id) else {
            return Ok(Outcome::Gone);
        };
        let mode = target.still.mode();
        let bound_ms = target.still.for_ms();
        // With no state condition there is nothing to check: the plain KILL (and its 1094
        // for a thread that is gone) is the whole statement, and costs no processlist scan.
        let result = if self.profile.mariadb && mode.is_some() {
            let how = match (managed, query_only) {
                (false, false) => "connection",
                (false, true) => "query",
                (true, false) => "rds",
                (true, true) => "rds-query",
            };
            let rows = timed(
                self.query_timeout,
                sqlx::query(KILL_IF_MARIADB)
                    .bind(thread)
                    .bind(mode)
                    .bind(bound_ms)
                    .bind(how)
                    .fetch_all(&mut self.conn),
            )
            .await;
            rows.map(|rows| {
                match rows.first().map(|r| cell(r, "still").int()) {
                    Some(Some(1)) => Outcome::Killed,
                    Some(Some(_)) => Outcome::Spared,
                    // NULL or no row: the thread is gone.
                    _ => Outcome::Gone,
                }
            })
        } else {
            self.kill_checked_mysql(thread, mode, bound_ms, query_only, managed)
                .await
        };
        match result {
            Ok(outcome) => Ok(outcome),
            // 1094: unknown thread id, i.e. it ended before the statement ran.
            Err(e) if mysql_error_number(&e) == Some(1094) => Ok(Outcome::Gone),
            Err(e) => Err(e),
        }
    }

    /// MySQL: the state check (when there is a condition), then at once the KILL (MySQL
    /// cannot make KILL conditional).
    async fn kill_checked_mysql(
        &mut self,
        thread: u64,
        mode: Option<&'static str>,
        bound_ms: u64,
        query_only: bool,
        managed: bool,
    ) -> anyhow::Result<crate::model::kill::Outcome> {
        use crate::model::kill::Outcome;
        if mode.is_some() {
            let still = timed(
                self.query_timeout,
                sqlx::query(KILL_CHECK_MYSQL)
                    .bind(thread)
                    .bind(mode)
                    .bind(bound_ms)
                    .fetch_optional(&mut self.conn),
            )
            .await?;
            match still.map(|r| cell(&r, "still").int()) {
                None | Some(None) => return Ok(Outcome::Gone),
                Some(Some(1)) => {}
                Some(Some(_)) => return Ok(Outcome::Spared),
            }
        }
        let sql = match (managed, query_only) {
            (false, false) => KILL_CONNECTION,
            (false, true) => KILL_QUERY,
            (true, false) => RDS_KILL,
            (true, true) => RDS_KILL_QUERY,
        };
        timed(
            self.query_timeout,
            sqlx::query(sql).bind(thread).execute(&mut self.conn),
        )
        .await?;
        Ok(Outcome::Killed)
    }
}

/// The server's error number behind an error, when there is one.
fn mysql_error_number(e: &anyhow::Error) -> Option<u16> {
    e.downcast_ref::<sqlx::Error>()
        .and_then(|s| match s {
            sqlx::Error::Database(db) => db.try_downcast_ref::<MySqlDatabaseError>(),
            _ => None,
        })
        .map(MySqlDatabaseError::number)
}

const KILL_IF_MARIADB: &str = include_str!("../../../queries/mysql/kill_if_mariadb.sql");
const KILL_CHECK_MYSQL: &str = include_str!("../../../queries/mysql/kill_check_mysql.sql");
const KILL_CONNECTION: &str = include_str!("../../../queries/mysql/kill_connection.sql");
const KILL_QUERY: &str = include_str!("../../../queries/mysql/kill_query.sql");
const RDS_KILL: &str = include_str!("../../../queries/mysql/rds_kill.sql");
const RDS_KILL_QUERY: &str = include_str!("../../../queries/mysql/rds_kill_query.sql");
