//! The sample: which parts of the one sample request fit this server (`plan`), the request
//! they make (`Plan::request`), and running it (with the metadata locks read only when
//! someone waits for one).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::mysql::{MySqlDatabaseError, MySqlRow};
use sqlx::{Row as _, SqlSafeStr as _, SqlStr};

use super::assemble::assemble;
use super::decode::{RawRow, cell, lock_from_cells};
use super::{Access, MySqlSampler, Profile, mdl, one_line};
use crate::engine::{EngineError, timed};
use crate::model::snapshot::{Area, Gap, Snapshot};

/// Read only in a sample where someone waits for a table metadata lock (see `mdl`).
const MDL_LOCKS_PS: &str = include_str!("../../../queries/mysql/mdl_locks_ps.sql");
const MDL_LOCKS_PLUGIN: &str = include_str!("../../../queries/mysql/mdl_locks_plugin.sql");
/// Read only in such a sample, when the sessions came from SHOW PROCESSLIST (see there).
const MDL_TEXTS_MARIADB: &str = include_str!("../../../queries/mysql/mdl_texts_mariadb.sql");

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
pub const PROCESSLIST_SHOW: Part = part!("processlist_show");
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

/// The columns of SHOW PROCESSLIST that spiral reads, as MariaDB names them (it adds
/// Progress after them).
pub const SHOW_COLUMNS: [&str; 8] = [
    "Id", "User", "Host", "db", "Command", "Time", "State", "Info",
];

/// The parts of the sample request for one server, and what they cannot show.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Statements sent ahead of the SELECT in the same request, each returning rows of its
    /// own shape: SHOW commands, which cannot be part of a SELECT (MariaDB's processlist).
    pub shows: Vec<Part>,
    /// The parts of the SELECT, joined with UNION ALL.
    pub parts: Vec<Part>,
    /// The parts of kill's read of the sessions, when it differs from the sample (MariaDB:
    /// information_schema's processlist, with longer texts and ages in milliseconds).
    pub kill_parts: Option<Vec<Part>>,
    pub gaps: Vec<Gap>,
}

impl Plan {
    pub fn names(&self) -> Vec<&'static str> {
        self.shows
            .iter()
            .chain(&self.parts)
            .map(|p| p.name)
            .collect()
    }

    /// The text of the one sample request: the SHOW commands, each ending with ';', then
    /// the SELECT.
    pub fn request(&self) -> String {
        let mut text = String::new();
        for show in &self.shows {
            text.push_str(show.sql.trim_end());
            text.push('\n');
        }
        text.push_str(&compose(&self.parts));
        text
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
    let mut shows = Vec::new();
    let mut parts = Vec::new();
    let mut gaps = Vec::new();
    parts.push(CLOCK);
    if p.mariadb {
        shows.push(PROCESSLIST_SHOW);
        parts.push(STATUS_MARIADB);
    } else {
        parts.push(STATUS_MYSQL);
        if p.process.granted() {
            parts.push(DEADLOCKS_MYSQL);
        }
        let ps_processlist =
            p.mysql_at_least((8, 0, 22)) && p.performance_schema && p.ps_processlist.granted();
        parts.push(if ps_processlist {
            PROCESSLIST_MYSQL8
        } else {
            PROCESSLIST_MYSQL
        });
    }
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
    // kill reads the same less the counters, with information_schema's processlist in
    // place of SHOW PROCESSLIST.
    let kill_parts = p.mariadb.then(|| {
        let mut kill = vec![CLOCK, PROCESSLIST_MARIADB];
        kill.extend(
            parts
                .iter()
                .filter(|x| **x != CLOCK && **x != STATUS_MARIADB),
        );
        kill
    });
    Plan {
        shows,
        parts,
        kill_parts,
        gaps,
    }
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
        let rows = self.read(self.sql.clone(), self.multi).await?;
        self.snapshot(&rows).await
    }

    /// The sessions alone, for `kill`: on MariaDB information_schema's processlist, which
    /// gives kill longer texts and ages in milliseconds to choose on (and no counters);
    /// elsewhere the sample.
    pub async fn sample_sessions(&mut self) -> anyhow::Result<Snapshot> {
        let Some(sql) = self.kill_sql.clone() else {
            return self.sample().await;
        };
        let rows = self.read(sql, false).await?;
        self.snapshot(&rows).await
    }

    /// Runs one read of the sample under the query timeout: prepared, or as plain text
    /// when it holds more than one statement (a prepared statement is one statement).
    async fn read(&mut self, sql: SqlStr, several: bool) -> anyhow::Result<Vec<MySqlRow>> {
        let limit = self.query_timeout;
        let read = if several {
            timed(limit, sqlx::raw_sql(sql).fetch_all(&mut self.conn)).await
        } else {
            timed(limit, sqlx::query(sql).fetch_all(&mut self.conn)).await
        };
        read.map_err(|e| self.sample_error(e))
    }

    /// The snapshot of the rows of one read, with the metadata locks and completed waits.
    async fn snapshot(&mut self, rows: &[MySqlRow]) -> anyhow::Result<Snapshot> {
        let mut raw = Vec::with_capacity(rows.len() + self.variables.len());
        // Whether a row of each shape was seen (its columns are checked on the first).
        let (mut parts_seen, mut show_seen) = (false, false);
        for r in rows {
            raw.push(match shape(r)? {
                Shape::Parts => {
                    if !std::mem::replace(&mut parts_seen, true) {
                        check_columns(r, &COLUMNS)?;
                    }
                    RawRow::from_cells(|name| cell(r, name))
                }
                Shape::Show => {
                    if !std::mem::replace(&mut show_seen, true) {
                        check_columns(r, &SHOW_COLUMNS)?;
                    }
                    RawRow::from_processlist(|name| cell(r, name))
                }
            });
        }
        raw.extend(self.variables.iter().cloned());
        let mut snap = assemble(&self.profile, &self.gaps, &self.admins, &raw, Utc::now());
        if !self.admins_known {
            for s in snap.sessions.iter_mut().filter(|s| !s.is_admin) {
                s.admin_unknown = true;
            }
        }
        if mdl::anyone_waiting(&snap) {
            let (source, locks) = self.metadata_locks().await?;
            // Only sessions read by SHOW PROCESSLIST had their texts cut (kill's read has
            // them whole).
            if show_seen && source != mdl::Source::PerformanceSchema {
                let texts = self.cut_texts().await?;
                restore_texts(&mut snap, &texts);
            }
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
        let sql = variables(&self.profile).sql.into_sql_str();
        let rows = self.read(sql, false).await?;
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

    /// The statements SHOW PROCESSLIST cut at 100 bytes, up to 500 characters, by
    /// connection id (queries/mysql/mdl_texts_mariadb.sql).
    async fn cut_texts(&mut self) -> anyhow::Result<BTreeMap<i64, String>> {
        let rows = self.read(MDL_TEXTS_MARIADB.into_sql_str(), false).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let id = i64::try_from(cell(r, "id").uint()?).ok()?;
                Some((id, cell(r, "query_text").text()?))
            })
            .collect())
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

/// Puts back the longer texts of the statements SHOW PROCESSLIST cut. A text is taken only
/// where it continues the one the sample holds, so a connection that moved on to another
/// statement between the two reads keeps its own.
fn restore_texts(snap: &mut Snapshot, texts: &BTreeMap<i64, String>) {
    for s in snap.sessions.iter_mut() {
        let (Some(longer), Some(cut)) = (texts.get(&s.id), s.query.as_deref()) else {
            continue;
        };
        // The cut may end inside a character (100 bytes), decoded as U+FFFD: compare what
        // precedes it.
        let head = cut.trim_end_matches('\u{FFFD}');
        if longer.len() > head.len() && longer.starts_with(head) {
            s.query = Some(longer.clone());
        }
    }
}

/// Which statement of the request a row comes from, told by its first column.
enum Shape {
    /// The SELECT of the parts (`COLUMNS`).
    Parts,
    /// SHOW PROCESSLIST (`SHOW_COLUMNS`).
    Show,
}

fn shape(row: &MySqlRow) -> anyhow::Result<Shape> {
    use sqlx::Column as _;
    match row.columns().first().map(|c| c.name()) {
        Some(n) if n == COLUMNS[0] => Ok(Shape::Parts),
        Some(n) if n == SHOW_COLUMNS[0] => Ok(Shape::Show),
        other => anyhow::bail!(
            "the sample returned rows of an unexpected shape (first column {}): spiral's bundled SQL is out of step",
            other.unwrap_or("none")
        ),
    }
}

/// Columns are read by name, and the parts are joined by position: make sure the names
/// came back as expected (a SHOW may add columns after them).
fn check_columns(row: &MySqlRow, expected: &[&str]) -> anyhow::Result<()> {
    use sqlx::Column as _;
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    let fits = if expected == COLUMNS {
        names == expected
    } else {
        names.starts_with(expected)
    };
    if !fits {
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
    use crate::engine::mysql::decode::Cell;
    use crate::engine::mysql::fixtures::{b, profile_mariadb, profile_mysql};

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
    fn the_sample_is_one_request_and_one_select() {
        // MySQL: one statement, the parts joined.
        let mysql = plan(&profile_mysql((8, 0, 35)));
        assert!(mysql.shows.is_empty());
        let sql = mysql.request();
        assert!(!sql.contains(';'), "{sql}");
        assert_eq!(
            sql.matches("\nUNION ALL\n").count(),
            mysql.parts.len() - 1,
            "{sql}"
        );
        assert!(sql.starts_with("-- spiral (mysql/clock)"));
        assert!(!sql.contains("variables_mysql"), "{sql}");

        // MariaDB: SHOW PROCESSLIST, then the same kind of SELECT; the only ';' is the one
        // that ends the SHOW, and the SHOW is not FULL (whole statements could be megabytes).
        let mariadb = plan(&profile_mariadb());
        let sql = mariadb.request();
        let (show, select) = sql.split_once(';').unwrap_or_default();
        assert!(show.trim_end().ends_with("\nSHOW PROCESSLIST"), "{show}");
        assert!(!select.contains(';'), "{select}");
        assert!(
            select.trim_start().starts_with("-- spiral (mysql/clock)"),
            "{select}"
        );
        assert_eq!(
            select.matches("\nUNION ALL\n").count(),
            mariadb.parts.len() - 1
        );
        let code = crate::queries::without_comment_lines(&sql);
        assert!(!code.contains("information_schema.PROCESSLIST"), "{code}");
        assert!(!code.contains("GLOBAL_STATUS"), "{code}");
        assert!(!sql.contains("variables_mariadb"), "{sql}");
    }

    #[test]
    fn kill_reads_the_sessions_without_counters_and_with_longer_texts_on_mariadb() {
        let names = |p: &Profile| {
            plan(p)
                .kill_parts
                .map(|parts| parts.iter().map(|x| x.name).collect::<Vec<_>>())
        };
        assert_eq!(
            names(&profile_mariadb()).unwrap_or_default(),
            [
                "clock",
                "processlist_mariadb",
                "innodb_trx",
                "lock_waits_innodb"
            ]
        );
        let no_process = Profile {
            process: Access::Refused("denied".into()),
            ..profile_mariadb()
        };
        assert_eq!(
            names(&no_process).unwrap_or_default(),
            ["clock", "processlist_mariadb"]
        );
        // MySQL: kill reads the sample.
        assert_eq!(names(&profile_mysql((8, 0, 35))), None);
    }

    #[test]
    fn cut_texts_are_restored_only_where_they_continue_the_sample() {
        use crate::model::session::{Session, SessionState};
        let columns = (0..30)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let long = format!("SELECT {columns} FROM orders WHERE id = 1");
        let waiting = |id: i64, text: &str| {
            let mut s = Session::new(id, SessionState::Active);
            s.query = Some(text.to_string());
            s
        };
        let mut snap = Snapshot::empty(crate::model::snapshot::Engine::Mysql, Utc::now());
        snap.sessions = vec![
            // Cut at 100 bytes, as SHOW PROCESSLIST gives it.
            waiting(1, &long[..100]),
            // Cut inside a two-byte character: the lossy decoding ends in U+FFFD.
            waiting(2, "SELECT 'caf\u{FFFD}"),
            // Moved on to another statement between the two reads.
            waiting(3, "SELECT 1"),
            // Not in the second read at all.
            waiting(4, "ALTER TABLE orders ADD COLUMN x INT"),
        ];
        let texts: BTreeMap<i64, String> = [
            (1, long.clone()),
            (2, "SELECT 'café' FROM menu".to_string()),
            (3, long.clone()),
        ]
        .into();
        restore_texts(&mut snap, &texts);
        let q = |i: usize| snap.sessions[i].query.clone().unwrap_or_default();
        assert_eq!(q(0), long);
        assert!(q(0).contains("FROM orders"));
        assert_eq!(q(1), "SELECT 'café' FROM menu");
        assert_eq!(q(2), "SELECT 1");
        assert_eq!(q(3), "ALTER TABLE orders ADD COLUMN x INT");
    }

    #[test]
    fn a_show_processlist_row_reads_as_a_session_row() {
        let row = |cells: &[(&str, Cell)]| {
            let cells = cells.to_vec();
            RawRow::from_processlist(move |n| {
                cells
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Cell::Null)
            })
        };
        let running = row(&[
            ("Id", b("41")),
            ("User", b("app")),
            ("Host", b("10.0.0.7:51234")),
            ("db", b("shop")),
            ("Command", b("Query")),
            ("Time", b("12")),
            ("State", b("Sending data")),
            ("Info", b("SELECT * FROM orders")),
            ("Progress", b("0.000")),
        ]);
        assert_eq!(running.kind, "session");
        assert_eq!(running.id, Some(41));
        assert_eq!(running.client_host.as_deref(), Some("10.0.0.7:51234"));
        assert_eq!(running.time_s, Some(12));
        assert_eq!(running.time_ms, None);
        assert_eq!(running.query_text.as_deref(), Some("SELECT * FROM orders"));
        // A sleeping connection's text is never taken, as in processlist_mariadb.sql.
        let sleeping = row(&[
            ("Id", Cell::Int(42)),
            ("Command", b("Sleep")),
            ("Time", Cell::Int(300)),
            ("Info", b("SELECT 1")),
        ]);
        assert_eq!((sleeping.id, sleeping.time_s), (Some(42), Some(300)));
        assert_eq!(sleeping.query_text, None);
    }

    #[test]
    fn plan_follows_product_version_and_grants() {
        let full = |p: Profile| plan(&p).names();
        assert_eq!(
            full(profile_mariadb()),
            [
                "processlist_show",
                "clock",
                "status_mariadb",
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
