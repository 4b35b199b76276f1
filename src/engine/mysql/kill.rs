//! Killing threads, each only if it is still in the state it was chosen for: one at a
//! time, or on MariaDB 10.6+ a whole batch in one request.

use sqlx::mysql::MySqlDatabaseError;

use anyhow::Context as _;

use super::decode::cell;
use super::{MySqlSampler, one_line};
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
            let rows = timed(
                self.query_timeout,
                sqlx::query(KILL_IF_MARIADB)
                    .bind(thread)
                    .bind(mode)
                    .bind(bound_ms)
                    .bind(how(query_only, managed))
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

    /// Whether this batch goes as one checked request (kill_batch_mariadb.sql: one
    /// processlist read for all of them, where a statement per victim reads it once per
    /// victim): on MariaDB 10.6 and later, when all targets carry the same condition (one
    /// kill run selects on one) and there is something to check or more than one victim.
    /// Otherwise, older MariaDB and MySQL, and a lone unconditional KILL, go one statement
    /// per thread (`kill`).
    pub fn batches(&self, targets: &[crate::model::kill::KillTarget]) -> bool {
        let still = targets.first().map(|t| t.still);
        let one_condition = targets.iter().all(|t| Some(t.still) == still);
        let worth_it = targets.len() > 1 || still.is_some_and(|s| s.mode().is_some());
        self.profile.mariadb && self.profile.release >= (10, 6, 0) && one_condition && worth_it
    }

    /// Ends (or cancels) a batch of threads in one request, each under the checks of
    /// `kill`; one outcome per target, in order. An error is the statement failing as a
    /// whole (the processlist read refused, a timeout): the server killed none of them,
    /// since the read comes before any KILL.
    pub async fn kill_batch_mariadb(
        &mut self,
        targets: &[crate::model::kill::KillTarget],
        query_only: bool,
        managed: bool,
    ) -> anyhow::Result<Vec<anyhow::Result<crate::model::kill::Outcome>>> {
        use crate::model::kill::Outcome;
        let Some(still) = targets.first().map(|t| t.still) else {
            return Ok(Vec::new());
        };
        // Ids that are no thread id (negative) name no thread: gone, and not sent.
        let ids: Vec<u64> = targets
            .iter()
            .filter_map(|t| u64::try_from(t.id).ok())
            .collect();
        let row = timed(
            self.query_timeout,
            sqlx::query(KILL_BATCH_MARIADB)
                .bind(id_array(&ids))
                .bind(still.mode())
                .bind(still.for_ms())
                .bind(how(query_only, managed))
                .fetch_optional(&mut self.conn),
        )
        .await?
        .context("the kill statement returned no row")?;
        let list = |name: &str| -> std::collections::BTreeSet<u64> {
            cell(&row, name)
                .text()
                .unwrap_or_default()
                .split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect()
        };
        let (killed, spared, failed) = (list("killed"), list("spared"), list("failed"));
        let refusal = cell(&row, "refusal")
            .text()
            .unwrap_or_else(|| "the server refused the KILL".into());
        Ok(targets
            .iter()
            .map(|t| {
                let Ok(id) = u64::try_from(t.id) else {
                    return Ok(Outcome::Gone);
                };
                if failed.contains(&id) {
                    anyhow::bail!("thread {id}: {}", one_line(&refusal));
                }
                Ok(if killed.contains(&id) {
                    Outcome::Killed
                } else if spared.contains(&id) {
                    Outcome::Spared
                } else {
                    Outcome::Gone
                })
            })
            .collect())
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

/// How the kill statements end a thread (their `how` parameter).
fn how(query_only: bool, managed: bool) -> &'static str {
    match (managed, query_only) {
        (false, false) => "connection",
        (false, true) => "query",
        (true, false) => "rds",
        (true, true) => "rds-query",
    }
}

/// The ids as the JSON array kill_batch_mariadb.sql reads with JSON_TABLE: numbers only,
/// so the text needs no escaping.
fn id_array(ids: &[u64]) -> String {
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!("[{}]", list.join(","))
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

const KILL_BATCH_MARIADB: &str = include_str!("../../../queries/mysql/kill_batch_mariadb.sql");
const KILL_IF_MARIADB: &str = include_str!("../../../queries/mysql/kill_if_mariadb.sql");
const KILL_CHECK_MYSQL: &str = include_str!("../../../queries/mysql/kill_check_mysql.sql");
const KILL_CONNECTION: &str = include_str!("../../../queries/mysql/kill_connection.sql");
const KILL_QUERY: &str = include_str!("../../../queries/mysql/kill_query.sql");
const RDS_KILL: &str = include_str!("../../../queries/mysql/rds_kill.sql");
const RDS_KILL_QUERY: &str = include_str!("../../../queries/mysql/rds_kill_query.sql");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_ids_are_a_json_array_of_numbers() {
        assert_eq!(id_array(&[]), "[]");
        assert_eq!(
            id_array(&[7, 18446744073709551615]),
            "[7,18446744073709551615]"
        );
        let parsed: Vec<u64> = serde_json::from_str(&id_array(&[1, 2, 3])).unwrap();
        assert_eq!(parsed, [1, 2, 3]);
    }
}
