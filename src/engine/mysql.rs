//! MySQL and MariaDB sampler: one plain connection (never a pool), one request per sample.
//!
//! The session bounds itself (max_statement_time or max_execution_time, lock waits of 2 s,
//! read-only transactions) and reads only. What it may read differs by product, version
//! and grants, so `connect` settles that once (the `Profile`) and picks the parts of the
//! sample that fit (`plan`). The parts live in queries/mysql/*.sql; every part returns the
//! same 16 columns (`COLUMNS`) and they are joined with UNION ALL into one statement, so a
//! sample is one round trip whatever the server. On MariaDB the connections come from SHOW
//! PROCESSLIST, which no SELECT can include: it goes first in the same request (a
//! multi-statement text), still one round trip (see queries/mysql/processlist_show.sql).
//!
//! Decoding is split in two pure steps so that servers this machine cannot run (MySQL 8)
//! are still covered by tests with recorded rows: `RawRow::from_cells` turns the cells of
//! one row into typed fields whatever types the server chose (signed or unsigned ids,
//! VARCHAR or VARBINARY, DECIMAL), and `assemble` turns the rows into a `Snapshot`.

mod assemble;
mod connect;
mod decode;
mod kill;
pub mod mdl;
mod sample;
/// Completed waits from performance_schema, diffed by the window.
pub mod waits;

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::SqlStr;
use sqlx::mysql::MySqlConnection;

use crate::model::snapshot::Gap;

pub use self::assemble::{assemble, session_kind, strip_port};
pub use self::connect::{AdminGrant, admin_users, connect, is_mariadb, options, parse_release};
pub use self::decode::{Cell, RawRow, lock_from_cells};
pub use self::sample::{
    COLUMNS, DEADLOCKS_MYSQL, INNODB_TRX, LOCK_WAITS_INNODB, LOCK_WAITS_MYSQL8,
    PROCESSLIST_MARIADB, PROCESSLIST_MYSQL, PROCESSLIST_MYSQL8, PROCESSLIST_SHOW, Part, Plan,
    SHOW_COLUMNS, STATUS_MARIADB, STATUS_MYSQL, VARIABLES_MARIADB, VARIABLES_MYSQL, compose, plan,
};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Access {
    #[default]
    Granted,
    /// The server refused, with its message (a missing grant, a disabled feature).
    Refused(String),
}

impl Access {
    pub fn granted(&self) -> bool {
        *self == Access::Granted
    }
}

/// Which server answered and what this connection may read there, settled at connect.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// VERSION() as the server gives it.
    pub version: String,
    pub mariadb: bool,
    /// major, minor, patch parsed from `version` ((0, 0, 0) when unreadable).
    pub release: (u32, u32, u32),
    pub performance_schema: bool,
    /// mysql.rds_kill exists and this user may call it (Amazon RDS / Aurora).
    pub rds: bool,
    pub own_id: u64,
    /// CURRENT_USER(): the account the server matched, as user@host.
    pub account: String,
    /// PROCESS, or the server's refusal when it is missing.
    pub process: Access,
    /// MySQL 8: performance_schema.processlist readable.
    pub ps_processlist: Access,
    /// MySQL 8: performance_schema.data_lock_waits and threads readable.
    pub ps_lock_waits: Access,
    /// Where metadata-lock holders come from (performance_schema, MariaDB's
    /// metadata_lock_info plugin, or inference from transactions and statements).
    pub mdl: mdl::Source,
}

impl Profile {
    fn mysql_at_least(&self, release: (u32, u32, u32)) -> bool {
        !self.mariadb && self.release >= release
    }

    /// 'user'@'host', the form GRANT takes.
    fn grantee(&self) -> String {
        match self.account.rsplit_once('@') {
            Some((u, h)) => format!("'{u}'@'{h}'"),
            None => format!("'{}'", self.account),
        }
    }
}

pub struct MySqlSampler {
    conn: MySqlConnection,
    query_timeout: Duration,
    profile: Profile,
    gaps: Vec<Gap>,
    admins: BTreeSet<String>,
    /// Whether `admins` is the whole list: false when this login cannot read the grant
    /// tables, and then no session is taken for a non-admin's.
    admins_known: bool,
    /// The sample request (see `sample::Plan::request`).
    sql: SqlStr,
    /// Whether that request holds more than one statement: then it goes as plain text, as
    /// a prepared statement is one statement.
    multi: bool,
    /// kill's read of the sessions where it is not the sample (see `Plan::kill_parts`).
    kill_sql: Option<SqlStr>,
    /// Where completed waits come from (performance_schema, or nowhere).
    wait_source: waits::Source,
    /// The limits and timeouts as last read, added to every sample, and when they were
    /// read: they are not part of the sample statement (see `sample::VARIABLES_EVERY`).
    variables: Vec<decode::RawRow>,
    variables_read: std::time::Instant,
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Recorded-server fixtures shared by the tests of the submodules.
#[cfg(test)]
mod fixtures {
    use super::*;

    pub(super) fn profile_mariadb() -> Profile {
        Profile {
            version: "10.11.19-MariaDB-0+deb12u1".into(),
            mariadb: true,
            release: (10, 11, 19),
            own_id: 900,
            account: "spiral@%".into(),
            ..Profile::default()
        }
    }

    pub(super) fn profile_mysql(release: (u32, u32, u32)) -> Profile {
        Profile {
            version: format!("{}.{}.{}-log", release.0, release.1, release.2),
            mariadb: false,
            release,
            performance_schema: true,
            own_id: 900,
            account: "spiral@%".into(),
            ..Profile::default()
        }
    }

    pub(super) fn b(text: &str) -> Cell {
        Cell::Bytes(text.as_bytes().to_vec())
    }
}
