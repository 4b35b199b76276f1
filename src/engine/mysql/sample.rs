//! The sample: which parts of the one sample statement fit this server (`plan`), the
//! statement they make (`compose`), and running it (with the metadata locks read only when
//! someone waits for one).

use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::Row as _;
use sqlx::mysql::{MySqlDatabaseError, MySqlRow};

use super::assemble::assemble;
use super::decode::{RawRow, cell, lock_from_cells};
use super::{Access, MySqlSampler, Profile, mdl, one_line};
use crate::engine::{EngineError, timed};
use crate::model::snapshot::{Area, Gap, Snapshot};

/// Read only in a sample where someone waits for a table metadata lock (see `mdl`).
const MDL_LOCKS_PS: &str = include_str!("../../../queries/mysql/mdl_locks_ps.sql");
const MDL_LOCKS_PLUGIN: &str = include_str!("../../../queries/mysql/mdl_locks_plugin.sql");

/// One part of the sample statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! part {
    ($name:literal) => {
        Part {
            name: $name,
            sql: include_str!(concat!("../../../queries/mysql/", $name, ".sql")),
        }
    };
}

pub const CLOCK: Part = part!("clock");
pub const VARIABLES_MARIADB: Part = part!("variables_mariadb");
pub const VARIABLES_MYSQL: Part = part!("variables_mysql");
pub const STATUS_MARIADB: Part = part!("status_mariadb");
pub const STATUS_MYSQL: Part = part!("status_mysql");
pub const DEADLOCKS_MYSQL: Part = part!("deadlocks_mysql");
pub const PROCESSLIST_MARIADB: Part = part!("processlist_mariadb");
pub const PROCESSLIST_MYSQL: Part = part!("processlist_mysql");
pub const PROCESSLIST_MYSQL8: Part = part!("processlist_mysql8");
pub const INNODB_TRX: Part = part!("innodb_trx");
pub const LOCK_WAITS_INNODB: Part = part!("lock_waits_innodb");
pub const LOCK_WAITS_MYSQL8: Part = part!("lock_waits_mysql8");

/// The columns every part returns, in order. UNION ALL matches columns by position, so a
/// part that drifted from this list would silently fill the wrong fields: a test checks it.
pub const COLUMNS: [&str; 16] = [
    "kind",
    "id",
    "blocker_id",
    "var_name",
    "var_value",
    "user_name",
    "client_host",
    "db_name",
    "command",
    "state",
    "time_s",
    "time_ms",
    "query_text",
    "trx_state",
    "trx_ms",
    "wait_ms",
];

/// The parts of the sample statement for one server, and what they cannot show.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub parts: Vec<Part>,
    pub gaps: Vec<Gap>,
}

impl Plan {
    pub fn names(&self) -> Vec<&'static str> {
        self.parts.iter().map(|p| p.name).collect()
    }
}

/// Chooses the sources for this server:
/// - MariaDB: information_schema throughout (its performance_schema is off by default).
/// - MySQL 5.7: information_schema.PROCESSLIST and INNODB_LOCK_WAITS; status from
///   performance_schema.global_status (information_schema's copy is disabled from 5.7.6).
/// - MySQL 8.0: INNODB_LOCK_WAITS is gone: lock waits come from
///   performance_schema.data_lock_waits; from 8.0.22 the processlist too comes from
///   performance_schema when it is on.
/// - Without PROCESS: no InnoDB tables at all (they refuse), and the processlist shows only
///   spiral's own connections; both are reported as gaps so rules say "unknown".
pub fn plan(p: &Profile) -> Plan {
    let mut parts = Vec::new();
    let mut gaps = Vec::new();
    parts.push(CLOCK);
    if p.mariadb {
        parts.push(STATUS_MARIADB);
    } else {
        parts.push(STATUS_MYSQL);
        if p.process.granted() {
            parts.push(DEADLOCKS_MYSQL);
        }
    }
    let ps_processlist =
        p.mysql_at_least((8, 0, 22)) && p.performance_schema && p.ps_processlist.granted();
    parts.push(if p.mariadb {
        PROCESSLIST_MARIADB
    } else if ps_processlist {
        PROCESSLIST_MYSQL8
    } else {
        PROCESSLIST_MYSQL
    });
    let grant_process = format!("GRANT PROCESS ON *.* TO {}", p.grantee());
    match &p.process {
        Access::Refused(_) => {
            gaps.push(Gap {
                area: Area::OtherSessions,
                reason: format!(
                    "{} lacks the PROCESS privilege, so the processlist shows only its own connections",
                    p.account
                ),
                remedy: Some(grant_process.clone()),
            });
            gaps.push(Gap {
                area: Area::Locks,
                reason: format!(
                    "{} lacks the PROCESS privilege, so open transactions and lock waits (INNODB_TRX) cannot be read",
                    p.account
                ),
                remedy: Some(grant_process),
            });
        }
        Access::Granted => {
            parts.push(INNODB_TRX);
            if !p.mysql_at_least((8, 0, 0)) {
                parts.push(LOCK_WAITS_INNODB);
            } else if !p.performance_schema {
                gaps.push(Gap {
                    area: Area::Locks,
                    reason: "performance_schema is OFF, and MySQL 8 shows who holds a lock only there (waiters are still seen, their blockers are not)".into(),
                    remedy: Some(
                        "set performance_schema=ON in the server configuration (takes effect at the next restart)".into(),
                    ),
                });
            } else if let Access::Refused(why) = &p.ps_lock_waits {
                gaps.push(Gap {
                    area: Area::Locks,
                    reason: format!(
                        "{} cannot read performance_schema.data_lock_waits ({}), so waiters are seen but not their blockers",
                        p.account,
                        one_line(why)
                    ),
                    remedy: Some(format!(
                        "GRANT SELECT ON performance_schema.* TO {}",
                        p.grantee()
                    )),
                });
            } else {
                parts.push(LOCK_WAITS_MYSQL8);
            }
        }
    }
    Plan { parts, gaps }
}

/// The limits and timeouts: read at connect and again every `VARIABLES_EVERY`, as a
/// statement of their own, not in every sample.
pub fn variables(p: &Profile) -> Part {
    if p.mariadb {
        VARIABLES_MARIADB
    } else {
        VARIABLES_MYSQL
    }
}

/// How old the kept variables may grow before a sample reads them again. They change only
/// by SET GLOBAL (an engineer raising max_connections mid-incident, say), and no status
/// counter or other cheap signal tells that one happened, so age is the signal: a minute
/// bounds how long a verdict can go on quoting an old limit, while a capture at the default
/// interval pays the read once in dozens of samples instead of in every one.
pub const VARIABLES_EVERY: Duration = Duration::from_secs(60);

/// The one sample statement. Each part ends with ';' so that it can be pasted alone into
/// the mysql client; the joined statement must not contain any.
pub fn compose(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| p.sql.trim_end().trim_end_matches(';').trim_end())
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

impl MySqlSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        if self.variables_read.elapsed() >= VARIABLES_EVERY {
            self.read_variables().await?;
        }
        let rows = match timed(
            self.query_timeout,
            sqlx::query(self.sql.clone()).fetch_all(&mut self.conn),
        )
        .await
        {
            Ok(rows) => rows,
            Err(e) => return Err(self.sample_error(e)),
        };
        if let Some(first) = rows.first() {
            check_columns(first)?;
        }
        let raw: Vec<RawRow> = rows
            .iter()
            .map(|r| RawRow::from_cells(|name| cell(r, name)))
            .chain(self.variables.iter().cloned())
            .collect();
        let mut snap = assemble(&self.profile, &self.gaps, &self.admins, &raw, Utc::now());
        if !self.admins_known {
            for s in snap.sessions.iter_mut().filter(|s| !s.is_admin) {
                s.admin_unknown = true;
            }
        }
        if mdl::anyone_waiting(&snap) {
            let (source, locks) = self.metadata_locks().await?;
            mdl::resolve(&mut snap, source, &locks);
        }
        // Completed waits, for the window to diff (a second statement only when
        // performance_schema is on and readable).
        super::waits::read(
            &mut self.conn,
            self.query_timeout,
            &self.wait_source,
            &mut snap,
        )
        .await?;
        Ok(snap)
    }

    /// Reads the limits and timeouts again (see `VARIABLES_EVERY`) and keeps them.
    pub(super) async fn read_variables(&mut self) -> anyhow::Result<()> {
        let sql = variables(&self.profile).sql;
        let rows = match timed(
            self.query_timeout,
            sqlx::query(sql).fetch_all(&mut self.conn),
        )
        .await
        {
            Ok(rows) => rows,
            Err(e) => return Err(self.sample_error(e)),
        };
        self.variables = rows
            .iter()
            .map(|r| RawRow::from_cells(|name| cell(r, name)))
            .collect();
        self.variables_read = Instant::now();
        Ok(())
    }

    /// The metadata locks, read only when someone waits for one. A lock table that stopped
    /// answering (the plugin uninstalled since connect) falls back to inference; a timeout
    /// fails the sample like any other.
    async fn metadata_locks(&mut self) -> anyhow::Result<(mdl::Source, Vec<mdl::Lock>)> {
        let sql = match self.profile.mdl {
            mdl::Source::PerformanceSchema => MDL_LOCKS_PS,
            mdl::Source::LockInfoPlugin => MDL_LOCKS_PLUGIN,
            mdl::Source::Inferred => return Ok((mdl::Source::Inferred, Vec::new())),
        };
        let rows = match timed(
            self.query_timeout,
            sqlx::query(sql).fetch_all(&mut self.conn),
        )
        .await
        {
            Ok(rows) => rows,
            Err(e)
                if matches!(
                    e.downcast_ref::<sqlx::Error>(),
                    Some(sqlx::Error::Database(_))
                ) =>
            {
                return Ok((mdl::Source::Inferred, Vec::new()));
            }
            Err(e) => return Err(self.sample_error(e)),
        };
        let locks = rows
            .iter()
            .filter_map(|r| lock_from_cells(|name| cell(r, name)))
            .collect();
        Ok((self.profile.mdl, locks))
    }

    /// A server-side stop (max_statement_time / max_execution_time) reads like the
    /// client-side one: the sample took too long.
    fn sample_error(&self, e: anyhow::Error) -> anyhow::Error {
        let number = e
            .downcast_ref::<sqlx::Error>()
            .and_then(|s| match s {
                sqlx::Error::Database(db) => db.try_downcast_ref::<MySqlDatabaseError>(),
                _ => None,
            })
            .map(MySqlDatabaseError::number);
        match number {
            Some(1969) | Some(3024) => {
                EngineError::Timeout(self.query_timeout.as_secs_f64()).into()
            }
            _ => e.context("sampling the processlist"),
        }
    }
}

/// The parts are joined by position: make sure the names came back as `COLUMNS` says.
fn check_columns(row: &MySqlRow) -> anyhow::Result<()> {
    use sqlx::Column as _;
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    if names != COLUMNS {
        anyhow::bail!(
            "the sample returned unexpected columns ({}): spiral's bundled SQL is out of step",
            names.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mysql::fixtures::{profile_mariadb, profile_mysql};

    #[test]
    fn every_part_returns_the_same_columns_in_the_same_order() {
        let parts = [
            CLOCK,
            VARIABLES_MARIADB,
            VARIABLES_MYSQL,
            STATUS_MARIADB,
            STATUS_MYSQL,
            DEADLOCKS_MYSQL,
            PROCESSLIST_MARIADB,
            PROCESSLIST_MYSQL,
            PROCESSLIST_MYSQL8,
            INNODB_TRX,
            LOCK_WAITS_INNODB,
            LOCK_WAITS_MYSQL8,
        ];
        for p in parts {
            // The outer select list: from the first SELECT line to the first FROM line,
            // each line ending in "AS alias".
            let aliases: Vec<&str> = p
                .sql
                .lines()
                .skip_while(|l| !l.starts_with("SELECT"))
                .take_while(|l| !l.starts_with("FROM"))
                .filter_map(|l| l.trim_end().trim_end_matches(',').rsplit_once(" AS "))
                .map(|(_, alias)| alias)
                .collect();
            assert_eq!(aliases, COLUMNS, "{}", p.name);
            assert!(p.sql.trim_end().ends_with(';'), "{}", p.name);
        }
    }

    #[test]
    fn the_sample_is_one_statement() {
        let plan = plan(&Profile {
            ..profile_mariadb()
        });
        let sql = compose(&plan.parts);
        assert!(!sql.contains(';'), "{sql}");
        assert_eq!(
            sql.matches("\nUNION ALL\n").count(),
            plan.parts.len() - 1,
            "{sql}"
        );
        assert!(sql.starts_with("-- spiral (mysql/clock)"));
        assert!(!sql.contains("variables_mariadb"), "{sql}");
    }

    #[test]
    fn plan_follows_product_version_and_grants() {
        let full = |p: Profile| plan(&p).names();
        assert_eq!(
            full(profile_mariadb()),
            [
                "clock",
                "status_mariadb",
                "processlist_mariadb",
                "innodb_trx",
                "lock_waits_innodb"
            ]
        );
        assert_eq!(
            full(profile_mysql((5, 7, 44))),
            [
                "clock",
                "status_mysql",
                "deadlocks_mysql",
                "processlist_mysql",
                "innodb_trx",
                "lock_waits_innodb"
            ]
        );
        // 8.0 before 8.0.22: no performance_schema.processlist yet, and no
        // INNODB_LOCK_WAITS any more.
        assert_eq!(
            full(profile_mysql((8, 0, 21))),
            [
                "clock",
                "status_mysql",
                "deadlocks_mysql",
                "processlist_mysql",
                "innodb_trx",
                "lock_waits_mysql8"
            ]
        );
        let p8 = profile_mysql((8, 0, 35));
        assert_eq!(
            full(p8.clone()),
            [
                "clock",
                "status_mysql",
                "deadlocks_mysql",
                "processlist_mysql8",
                "innodb_trx",
                "lock_waits_mysql8"
            ]
        );
        assert!(plan(&p8).gaps.is_empty());
        assert!(full(profile_mysql((9, 1, 0))).contains(&"processlist_mysql8"));

        // performance_schema off: information_schema's processlist, and blockers unseen.
        let off = plan(&Profile {
            performance_schema: false,
            ..p8.clone()
        });
        assert!(off.names().contains(&"processlist_mysql"));
        assert!(!off.names().contains(&"lock_waits_mysql8"));
        assert_eq!(off.gaps.len(), 1);
        assert_eq!(off.gaps[0].area, Area::Locks);

        // No SELECT on performance_schema: the processlist falls back, locks become a gap.
        let denied = plan(&Profile {
            ps_processlist: Access::Refused("SELECT command denied".into()),
            ps_lock_waits: Access::Refused("SELECT command denied".into()),
            ..p8.clone()
        });
        assert!(denied.names().contains(&"processlist_mysql"));
        assert_eq!(
            denied.gaps[0].remedy.as_deref(),
            Some("GRANT SELECT ON performance_schema.* TO 'spiral'@'%'")
        );

        // No PROCESS: own sessions only, no InnoDB tables, and two gaps that say so.
        for p in [profile_mariadb(), p8] {
            let np = plan(&Profile {
                process: Access::Refused(
                    "Access denied; you need (at least one of) the PROCESS privilege(s)".into(),
                ),
                ..p
            });
            assert!(
                !np.names()
                    .iter()
                    .any(|n| n.contains("trx") || n.starts_with("lock") || n.contains("deadlock")),
                "{:?}",
                np.names()
            );
            let areas: Vec<Area> = np.gaps.iter().map(|g| g.area).collect();
            assert_eq!(areas, [Area::OtherSessions, Area::Locks]);
            assert_eq!(
                np.gaps[0].remedy.as_deref(),
                Some("GRANT PROCESS ON *.* TO 'spiral'@'%'")
            );
        }
    }
}
