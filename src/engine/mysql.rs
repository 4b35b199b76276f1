//! MySQL and MariaDB sampler: one plain connection (never a pool), one statement per sample.
//!
//! The session bounds itself (max_statement_time or max_execution_time, lock waits of 2 s,
//! read-only transactions) and reads only. What it may read differs by product, version
//! and grants, so `connect` settles that once (the `Profile`) and picks the parts of the
//! sample that fit (`plan`). The parts live in queries/mysql/*.sql; every part returns the
//! same 16 columns (`COLUMNS`) and they are joined with UNION ALL into one prepared
//! statement, so a sample is one round trip whatever the server.
//!
//! Decoding is split in two pure steps so that servers this machine cannot run (MySQL 8)
//! are still covered by tests with recorded rows: `RawRow::from_cells` turns the cells of
//! one row into typed fields whatever types the server chose (signed or unsigned ids,
//! VARCHAR or VARBINARY, DECIMAL), and `assemble` turns the rows into a `Snapshot`.

pub mod mdl;
// i11w hook: completed waits from performance_schema.
pub mod waits;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlRow, MySqlSslMode,
};
use sqlx::{AssertSqlSafe, Connection, Row, SqlSafeStr, SqlStr, ValueRef};

use super::{EngineError, classify_connect_error, timed};
use crate::config::ConnectSettings;
use crate::model::session::{Session, SessionKind, SessionState, StatementKind, WaitClass};
use crate::model::snapshot::{
    Area, ConnectionLimits, Engine, Gap, Guardrails, HolderKind, Horizon, HorizonHolder,
    ServerInfo, Snapshot, counter,
};
use crate::target::Target;

const SERVER_INFO: &str = include_str!("../../queries/mysql/server_info.sql");
const SETUP_MARIADB: &str = include_str!("../../queries/mysql/session_setup_mariadb.sql");
const SETUP_MYSQL: &str = include_str!("../../queries/mysql/session_setup_mysql.sql");
const SUPER_USERS: &str = include_str!("../../queries/mysql/super_users.sql");
const ADMINS_MARIADB: &str = include_str!("../../queries/mysql/admins_mariadb.sql");
const ADMINS_MYSQL8: &str = include_str!("../../queries/mysql/admins_mysql8.sql");
const READ_ONLY: &str = include_str!("../../queries/mysql/read_only.sql");

/// Privilege probes, run once at connect. A refusal here means the matching part of the
/// sample would fail every time, so the part is left out and the gap reported instead.
/// INNODB_TRX checks PROCESS when it is filled, so the probe must really read it.
const PROBE_PROCESS: &str = include_str!("../../queries/mysql/probe_process.sql");
const PROBE_PS_PROCESSLIST: &str = include_str!("../../queries/mysql/probe_ps_processlist.sql");
const PROBE_PS_LOCK_WAITS: &str = include_str!("../../queries/mysql/probe_ps_lock_waits.sql");
const PROBE_MDL_PS: &str = include_str!("../../queries/mysql/probe_mdl_ps.sql");
const PROBE_MDL_PLUGIN: &str = include_str!("../../queries/mysql/probe_mdl_plugin.sql");

/// Read only in a sample where someone waits for a table metadata lock (see `mdl`).
const MDL_LOCKS_PS: &str = include_str!("../../queries/mysql/mdl_locks_ps.sql");
const MDL_LOCKS_PLUGIN: &str = include_str!("../../queries/mysql/mdl_locks_plugin.sql");

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
            sql: include_str!(concat!("../../queries/mysql/", $name, ".sql")),
        }
    };
}

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

/// Whether this connection may read a source, from a probe at connect.
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
    if p.mariadb {
        parts.push(VARIABLES_MARIADB);
        parts.push(STATUS_MARIADB);
    } else {
        parts.push(VARIABLES_MYSQL);
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

/// The one sample statement. Each part ends with ';' so that it can be pasted alone into
/// the mysql client; the joined statement must not contain any.
pub fn compose(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| p.sql.trim_end().trim_end_matches(';').trim_end())
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
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
    sql: SqlStr,
    /// i11w hook: where completed waits come from (performance_schema, or nothing).
    wait_source: waits::Source,
}

pub fn options(target: &Target) -> anyhow::Result<MySqlConnectOptions> {
    // The mysql client's defaults: TCP to the local server, the login name as user.
    let user = target
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "root".to_string());
    let mut o = MySqlConnectOptions::new()
        .host(target.host.as_deref().unwrap_or("127.0.0.1"))
        .port(target.port.unwrap_or(3306))
        .username(&user)
        // Only the sample, the probes and the setup are ever prepared.
        .statement_cache_capacity(8);
    if let Some(p) = &target.password {
        o = o.password(p.expose());
    }
    if let Some(d) = &target.database {
        o = o.database(d);
    }
    if let Some(path) = target.option("socket") {
        o = o.socket(path);
    }
    if let Some(mode) = target.option("ssl-mode").or(target.option("sslmode")) {
        o = o.ssl_mode(ssl_mode(mode)?);
    }
    if let Some(ca) = ["ssl-ca", "sslca", "sslrootcert"]
        .iter()
        .find_map(|k| target.option(k))
    {
        o = o.ssl_ca(ca);
    }
    Ok(o)
}

/// The mysql client's --ssl-mode values, plus the PostgreSQL spellings engineers type
/// out of habit.
fn ssl_mode(text: &str) -> anyhow::Result<MySqlSslMode> {
    Ok(match text.to_ascii_lowercase().replace('-', "_").as_str() {
        "disabled" | "disable" | "false" | "off" => MySqlSslMode::Disabled,
        "preferred" | "prefer" => MySqlSslMode::Preferred,
        "required" | "require" | "true" | "on" => MySqlSslMode::Required,
        "verify_ca" => MySqlSslMode::VerifyCa,
        "verify_identity" | "verify_full" => MySqlSslMode::VerifyIdentity,
        _ => anyhow::bail!(
            "ssl-mode '{}' is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
            crate::sanitize::clean(text)
        ),
    })
}

pub async fn connect(target: &Target, settings: &ConnectSettings) -> anyhow::Result<MySqlSampler> {
    let opts = options(target)?;
    let user = opts.get_username().to_string();
    let who = match opts.get_socket() {
        Some(s) => format!("{user}@{}", s.display()),
        None => format!("{user}@{}:{}", opts.get_host(), opts.get_port()),
    };
    let mut conn = match tokio::time::timeout(
        settings.connect_timeout,
        MySqlConnection::connect_with(&opts),
    )
    .await
    {
        Err(_) => {
            // A PostgreSQL or SQL Server port accepts the connection and waits for the
            // client to speak first, where a MySQL server greets at once.
            return Err(EngineError::Unreachable(format!(
                "{who} did not answer within {}s{}",
                settings.connect_timeout.as_secs_f64(),
                super::other_engine_hint(Engine::Mysql, opts.get_port())
            ))
            .into());
        }
        Ok(Err(e)) => return Err(classify_mysql(e, &who, &user, target).into()),
        Ok(Ok(c)) => c,
    };
    let limit = settings.query_timeout;
    let info = timed(limit, sqlx::query(SERVER_INFO).fetch_one(&mut conn))
        .await
        .context("reading the server version")?;
    let text = |name: &str| cell(&info, name).text().unwrap_or_default();
    let version = text("version");
    let mut profile = Profile {
        mariadb: is_mariadb(&version, &text("version_comment")),
        release: parse_release(&version),
        performance_schema: cell(&info, "performance_schema").uint() == Some(1),
        rds: cell(&info, "rds_kill").uint().unwrap_or(0) > 0,
        own_id: cell(&info, "own_id").uint().unwrap_or(0),
        account: text("account"),
        version,
        ..Profile::default()
    };
    check_supported(&profile, &who)?;

    // spiral's own limits first, so that nothing after this can hang on a lock.
    let setup = if profile.mariadb {
        sqlx::query(SETUP_MARIADB).bind(limit.as_secs_f64())
    } else {
        sqlx::query(SETUP_MYSQL).bind(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX))
    };
    timed(limit, setup.execute(&mut conn))
        .await
        .context("setting spiral's own session limits")?;
    timed(limit, sqlx::query(READ_ONLY).execute(&mut conn))
        .await
        .context("making spiral's session read-only")?;

    profile.process = probe(&mut conn, limit, PROBE_PROCESS).await?;
    if profile.mysql_at_least((8, 0, 0)) && profile.performance_schema {
        if profile.mysql_at_least((8, 0, 22)) {
            profile.ps_processlist = probe(&mut conn, limit, PROBE_PS_PROCESSLIST).await?;
        }
        profile.ps_lock_waits = probe(&mut conn, limit, PROBE_PS_LOCK_WAITS).await?;
    }
    profile.mdl = mdl_source(&mut conn, limit, &profile).await?;
    let admins = read_admins(&mut conn, limit, &profile).await?;
    // i11w hook: where completed waits come from.
    let wait_source = waits::source(&mut conn, limit, &profile).await?;
    let plan = plan(&profile);
    // Built only from the bundled parts above, never from input: safe to prepare as is.
    let sql = AssertSqlSafe(compose(&plan.parts)).into_sql_str();
    Ok(MySqlSampler {
        conn,
        query_timeout: limit,
        profile,
        gaps: plan.gaps,
        admins_known: admins.is_some(),
        admins: admins.unwrap_or_default(),
        sql,
        wait_source, // i11w hook
    })
}

/// The user names of admins (SUPER, CONNECTION ADMIN/CONNECTION_ADMIN, SYSTEM_USER, ALL
/// PRIVILEGES ON *.*, directly or through roles), or None when this login cannot read the
/// grant tables: then nobody can be taken for a non-admin. Only a refusal means that; a
/// timeout or a lost connection is an error like any other at connect.
async fn read_admins(
    conn: &mut MySqlConnection,
    limit: Duration,
    profile: &Profile,
) -> anyhow::Result<Option<BTreeSet<String>>> {
    let sql = if profile.mariadb && profile.release >= (10, 4, 0) {
        ADMINS_MARIADB
    } else if profile.mysql_at_least((8, 0, 0)) {
        ADMINS_MYSQL8
    } else {
        SUPER_USERS
    };
    match tokio::time::timeout(limit, sqlx::query(sql).fetch_all(&mut *conn)).await {
        Err(_) => Err(EngineError::Timeout(limit.as_secs_f64()).into()),
        Ok(Ok(rows)) => {
            let grants: Vec<AdminGrant> = rows
                .iter()
                .map(|r| AdminGrant {
                    member: cell(r, "kind").text().as_deref() == Some("member"),
                    user: cell(r, "user").text().unwrap_or_default(),
                    account: cell(r, "account").text().unwrap_or_default(),
                    role: cell(r, "role").text(),
                })
                .collect();
            Ok(Some(admin_users(&grants)))
        }
        Ok(Err(sqlx::Error::Database(_))) => Ok(None),
        Ok(Err(e)) => Err(anyhow::Error::from(e).context("reading who holds admin privileges")),
    }
}

/// One row of the admins query: `account` holds an admin privilege itself, or (member)
/// was granted `role`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminGrant {
    pub member: bool,
    pub user: String,
    pub account: String,
    pub role: Option<String>,
}

/// The user names whose accounts are admins, following role grants to any depth. Sessions
/// show a user name, not the account's host: one admin account of a name makes every
/// session of that name an admin's (sparing too many, never too few).
pub fn admin_users(grants: &[AdminGrant]) -> BTreeSet<String> {
    let mut admin: BTreeSet<&str> = grants
        .iter()
        .filter(|g| !g.member)
        .map(|g| g.account.as_str())
        .collect();
    // A fixed point: each pass adds the members of roles found admin so far.
    loop {
        let before = admin.len();
        for g in grants.iter().filter(|g| g.member) {
            if g.role.as_deref().is_some_and(|r| admin.contains(r)) {
                admin.insert(g.account.as_str());
            }
        }
        if admin.len() == before {
            break;
        }
    }
    grants
        .iter()
        .filter(|g| admin.contains(g.account.as_str()) && !g.user.is_empty())
        .map(|g| g.user.clone())
        .collect()
}

/// Runs a probe: a refusal by the server is an answer (`Access::Refused`); anything else
/// going wrong (timeout, lost connection) is an error.
async fn probe(
    conn: &mut MySqlConnection,
    limit: Duration,
    sql: &'static str,
) -> anyhow::Result<Access> {
    match tokio::time::timeout(limit, sqlx::query(sql).fetch_optional(&mut *conn)).await {
        Err(_) => Err(EngineError::Timeout(limit.as_secs_f64()).into()),
        Ok(Ok(_)) => Ok(Access::Granted),
        Ok(Err(sqlx::Error::Database(db))) => Ok(Access::Refused(db.message().to_string())),
        Ok(Err(e)) => Err(anyhow::Error::from(e).context("probing privileges")),
    }
}

/// The best source of metadata-lock holders this connection may read, tried once: the
/// sample itself never pays for a probe.
async fn mdl_source(
    conn: &mut MySqlConnection,
    limit: Duration,
    p: &Profile,
) -> anyhow::Result<mdl::Source> {
    // Without PROCESS the processlist shows only spiral: there is nobody to resolve.
    if !p.process.granted() {
        return Ok(mdl::Source::Inferred);
    }
    if p.performance_schema {
        match tokio::time::timeout(limit, sqlx::query(PROBE_MDL_PS).fetch_optional(&mut *conn))
            .await
        {
            Err(_) => return Err(EngineError::Timeout(limit.as_secs_f64()).into()),
            Ok(Ok(Some(_))) => return Ok(mdl::Source::PerformanceSchema),
            // The instrument is off or the table is not readable: try the next source.
            Ok(Ok(None)) | Ok(Err(sqlx::Error::Database(_))) => {}
            Ok(Err(e)) => return Err(anyhow::Error::from(e).context("probing metadata locks")),
        }
    }
    if p.mariadb && probe(conn, limit, PROBE_MDL_PLUGIN).await?.granted() {
        return Ok(mdl::Source::LockInfoPlugin);
    }
    Ok(mdl::Source::Inferred)
}

/// spiral reads variables that arrived in MariaDB 10.3 (idle_transaction_timeout) and
/// MySQL 5.7.8 (max_execution_time); older servers would fail every sample.
fn check_supported(p: &Profile, who: &str) -> anyhow::Result<()> {
    let (floor, product) = if p.mariadb {
        ((10, 3, 0), "MariaDB 10.3")
    } else {
        ((5, 7, 8), "MySQL 5.7.8")
    };
    if p.release < floor {
        return Err(EngineError::Other(format!(
            "{who}: server version {} is older than {product}, the oldest spiral can sample",
            crate::sanitize::clean(&p.version)
        ))
        .into());
    }
    Ok(())
}

fn classify_mysql(e: sqlx::Error, who: &str, user: &str, target: &Target) -> EngineError {
    if let sqlx::Error::Database(db) = &e
        && let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>()
    {
        let password_from = target.password_from.as_deref().unwrap_or("none");
        return classify_refusal(my.number(), my.message(), who, user, password_from);
    }
    if matches!(e, sqlx::Error::Protocol(_) | sqlx::Error::Decode(_)) {
        return EngineError::Unreachable(format!(
            "{who} answered, but not in MySQL's protocol: is this a MySQL or MariaDB server?{}",
            super::other_engine_hint(Engine::Mysql, target.port.unwrap_or(3306))
        ));
    }
    classify_connect_error(e, who)
}

/// The server's refusals at connect, as the one line an engineer needs.
fn classify_refusal(
    number: u16,
    message: &str,
    who: &str,
    user: &str,
    password_from: &str,
) -> EngineError {
    let msg = one_line(message);
    match number {
        // The message ends in "(using password: YES)", which reads like a leaked secret
        // and says nothing the hint does not; the account the server matched stays.
        // MySQL answers 1045 for a missing account too, on purpose: both are named.
        1045 => {
            let msg = msg.split(" (using password").next().unwrap_or_default();
            EngineError::Auth(format!(
                "{who}: {msg} (1045). Password used: {password_from}. Check the password, and that the account {user} exists for this host"
            ))
        }
        1130 => EngineError::Auth(format!(
            "{who}: {msg}; the account {user} is not allowed from this host"
        )),
        1040 => EngineError::ServerFull(format!(
            "{who}: the server is full (1040 Too many connections). It keeps one extra connection for a user with SUPER (or CONNECTION_ADMIN on MySQL 8): connect as one; or use MySQL 8.0.14+'s admin_port (33062 by default, needs SERVICE_CONNECTION_ADMIN) or MariaDB's extra_port when configured; spiral needs only one connection"
        )),
        1203 => EngineError::LimitReached(format!(
            "{who}: user {user} already holds max_user_connections connections (1203): the per-user limit is full, not the server; connect as another user, spiral needs only one connection"
        )),
        1226 => EngineError::LimitReached(format!(
            "{who}: {msg} (1226): the account's own connection limit is reached; connect as another user"
        )),
        1044 => EngineError::Permission(format!("{who}: {msg}")),
        1049 => EngineError::Other(format!("{who}: {msg}")),
        3159 => EngineError::Other(format!(
            "{who}: {msg}; add ?ssl-mode=REQUIRED to the target"
        )),
        _ => EngineError::Other(format!("{who}: {msg} (error {number})")),
    }
}

impl MySqlSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
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
        // i11w hook: completed waits, for the window to diff.
        waits::read(
            &mut self.conn,
            self.query_timeout,
            &self.wait_source,
            &mut snap,
        )
        .await?;
        Ok(snap)
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

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.close()).await;
    }

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

const KILL_IF_MARIADB: &str = include_str!("../../queries/mysql/kill_if_mariadb.sql");
const KILL_CHECK_MYSQL: &str = include_str!("../../queries/mysql/kill_check_mysql.sql");
const KILL_CONNECTION: &str = include_str!("../../queries/mysql/kill_connection.sql");
const KILL_QUERY: &str = include_str!("../../queries/mysql/kill_query.sql");
const RDS_KILL: &str = include_str!("../../queries/mysql/rds_kill.sql");
const RDS_KILL_QUERY: &str = include_str!("../../queries/mysql/rds_kill_query.sql");

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

/// One value as the server sent it, before any interpretation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Strings, VARBINARY, BLOB and DECIMAL all arrive as bytes.
    Bytes(Vec<u8>),
}

impl Cell {
    /// Text, decoded lossily: a query can hold any bytes, and one bad byte must not cost
    /// the whole sample.
    pub fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Int(v) => Some(v.to_string()),
            Cell::UInt(v) => Some(v.to_string()),
            Cell::Float(v) => Some(v.to_string()),
            Cell::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// A non-negative whole number (ids, milliseconds). Negative ages (clock steps) read
    /// as 0; decimals are rounded.
    pub fn uint(&self) -> Option<u64> {
        match self {
            Cell::Null => None,
            Cell::UInt(v) => Some(*v),
            Cell::Int(v) => Some(u64::try_from(*v).unwrap_or(0)),
            Cell::Float(v) => float_to_u64(*v),
            Cell::Bytes(b) => {
                let t = String::from_utf8_lossy(b);
                let t = t.trim();
                t.parse::<u64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(float_to_u64))
            }
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            Cell::Int(v) => Some(*v),
            Cell::UInt(v) => Some(i64::try_from(*v).unwrap_or(i64::MAX)),
            Cell::Float(v) => v.is_finite().then(|| v.round() as i64),
            Cell::Bytes(b) => String::from_utf8_lossy(b).trim().parse().ok(),
        }
    }
}

fn float_to_u64(v: f64) -> Option<u64> {
    // `as` saturates, which is what an age or a count wants.
    v.is_finite().then(|| v.max(0.0).round() as u64)
}

/// Reads one cell whatever its type. The typed decoders are tried first because they
/// check the column type (an unsigned BIGINT must not be read as signed); everything
/// else is taken as raw bytes, which never fails on a non-NULL value.
fn cell(row: &MySqlRow, name: &str) -> Cell {
    match row.try_get_raw(name) {
        Ok(v) if v.is_null() => return Cell::Null,
        Ok(_) => {}
        Err(_) => return Cell::Null,
    }
    if let Ok(Some(v)) = row.try_get::<Option<u64>, _>(name) {
        return Cell::UInt(v);
    }
    if let Ok(Some(v)) = row.try_get::<Option<i64>, _>(name) {
        return Cell::Int(v);
    }
    if let Ok(Some(v)) = row.try_get::<Option<f64>, _>(name) {
        return Cell::Float(v);
    }
    match row.try_get_unchecked::<Option<Vec<u8>>, _>(name) {
        Ok(Some(b)) => Cell::Bytes(b),
        _ => Cell::Null,
    }
}

/// One row of the sample, typed. Which fields are filled depends on `kind`: 'var' and
/// 'status' (var_name, var_value), 'session' (the processlist columns), 'trx' (id,
/// trx_state, trx_ms, wait_ms) and 'lock_wait' (id waits for blocker_id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    pub kind: String,
    pub id: Option<u64>,
    pub blocker_id: Option<u64>,
    pub var_name: Option<String>,
    pub var_value: Option<String>,
    pub user_name: Option<String>,
    pub client_host: Option<String>,
    pub db_name: Option<String>,
    pub command: Option<String>,
    pub state: Option<String>,
    pub time_s: Option<i64>,
    pub time_ms: Option<u64>,
    pub query_text: Option<String>,
    pub trx_state: Option<String>,
    pub trx_ms: Option<u64>,
    pub wait_ms: Option<u64>,
}

impl RawRow {
    pub fn from_cells(cell: impl Fn(&str) -> Cell) -> RawRow {
        let text = |n: &str| cell(n).text();
        RawRow {
            kind: text("kind").unwrap_or_default(),
            id: cell("id").uint(),
            blocker_id: cell("blocker_id").uint(),
            var_name: text("var_name").map(|n| n.to_ascii_lowercase()),
            var_value: text("var_value"),
            user_name: text("user_name"),
            client_host: text("client_host"),
            db_name: text("db_name"),
            command: text("command"),
            state: text("state"),
            time_s: cell("time_s").int(),
            time_ms: cell("time_ms").uint(),
            query_text: text("query_text"),
            trx_state: text("trx_state"),
            trx_ms: cell("trx_ms").uint(),
            wait_ms: cell("wait_ms").uint(),
        }
    }
}

/// One row of mdl_locks_ps / mdl_locks_plugin. Rows spiral cannot use (a lock mode of
/// another namespace, a thread with no connection) are skipped.
pub fn lock_from_cells(cell: impl Fn(&str) -> Cell) -> Option<mdl::Lock> {
    let text = |n: &str| cell(n).text().filter(|t| !t.is_empty());
    Some(mdl::Lock {
        owner: i64::try_from(cell("owner_id").uint()?).ok()?,
        table: mdl::Table {
            schema: text("lock_schema"),
            name: text("lock_table")?,
        },
        mode: mdl::Mode::parse(&text("lock_mode")?)?,
        granted: text("lock_status").is_some_and(|st| st.eq_ignore_ascii_case("GRANTED")),
    })
}

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

/// "'shipping'@'10.%'" -> "shipping".
pub fn is_mariadb(version: &str, comment: &str) -> bool {
    version.to_ascii_lowercase().contains("mariadb")
        || comment.to_ascii_lowercase().contains("mariadb")
}

/// "10.11.19-MariaDB-0+deb12u1" -> (10, 11, 19); "8.0.35-0ubuntu0.22.04.1" -> (8, 0, 35).
pub fn parse_release(version: &str) -> (u32, u32, u32) {
    let mut nums = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
    )
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile_mariadb() -> Profile {
        Profile {
            version: "10.11.19-MariaDB-0+deb12u1".into(),
            mariadb: true,
            release: (10, 11, 19),
            own_id: 900,
            account: "spiral@%".into(),
            ..Profile::default()
        }
    }

    fn profile_mysql(release: (u32, u32, u32)) -> Profile {
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

    fn b(text: &str) -> Cell {
        Cell::Bytes(text.as_bytes().to_vec())
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
    fn versions_and_flavours() {
        assert_eq!(parse_release("10.11.19-MariaDB-0+deb12u1"), (10, 11, 19));
        assert_eq!(parse_release("8.0.35-0ubuntu0.22.04.1"), (8, 0, 35));
        assert_eq!(parse_release("5.7.44-log"), (5, 7, 44));
        assert_eq!(parse_release("8.4"), (8, 4, 0));
        assert_eq!(parse_release("garbage"), (0, 0, 0));
        assert!(is_mariadb("10.11.19-MariaDB-0+deb12u1", "Debian 12"));
        assert!(is_mariadb("10.6.16", "mariadb.org binary distribution"));
        assert!(!is_mariadb("8.0.35", "MySQL Community Server - GPL"));
    }

    #[test]
    fn every_part_returns_the_same_columns_in_the_same_order() {
        let parts = [
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
        assert!(sql.starts_with("-- spiral (mysql/variables_mariadb)"));
    }

    #[test]
    fn plan_follows_product_version_and_grants() {
        let full = |p: Profile| plan(&p).names();
        assert_eq!(
            full(profile_mariadb()),
            [
                "variables_mariadb",
                "status_mariadb",
                "processlist_mariadb",
                "innodb_trx",
                "lock_waits_innodb"
            ]
        );
        assert_eq!(
            full(profile_mysql((5, 7, 44))),
            [
                "variables_mysql",
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
                "variables_mysql",
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
                "variables_mysql",
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
                    .any(|n| n.contains("trx") || n.contains("lock") || n.contains("deadlock")),
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

    #[test]
    fn cells_decode_whatever_type_the_server_chose() {
        // MariaDB's ID is signed, MySQL's unsigned; both give the same id.
        assert_eq!(Cell::Int(42).uint(), Some(42));
        assert_eq!(Cell::UInt(3_000_000_000).uint(), Some(3_000_000_000));
        // DECIMAL arrives as text; TIME_MS has fractions.
        assert_eq!(b("1005.914").uint(), Some(1006));
        assert_eq!(b(" 7 ").uint(), Some(7));
        assert_eq!(Cell::Int(-3).uint(), Some(0));
        assert_eq!(Cell::Float(f64::NAN).uint(), None);
        assert_eq!(b("x").uint(), None);
        assert_eq!(Cell::UInt(u64::MAX).int(), Some(i64::MAX));
        // VARBINARY with bytes that are not UTF-8: decoded, never an error.
        let q = Cell::Bytes(b"SELECT SLEEP(30), '\xC3\x28ab\xFF' /* \xfe */".to_vec());
        let text = q.text().unwrap_or_default();
        assert!(text.starts_with("SELECT SLEEP(30), '"), "{text}");
        assert!(text.contains('\u{FFFD}'), "{text}");
        assert_eq!(Cell::Null.text(), None);
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

    #[test]
    fn admins_through_roles_at_any_depth() {
        let holder = |user: &str, account: &str| AdminGrant {
            member: false,
            user: user.into(),
            account: account.into(),
            role: None,
        };
        let member = |user: &str, account: &str, role: &str| AdminGrant {
            member: true,
            user: user.into(),
            account: account.into(),
            role: Some(role.into()),
        };
        let grants = vec![
            holder("root", "root@localhost"),
            holder("dba_role", "dba_role@"),
            holder("everything", "everything@%"),
            member("nested_role", "nested_role@", "dba_role@"),
            member("ops", "ops@%", "nested_role@"),
            member("reader", "reader@%", "read_role@"),
        ];
        let admins = admin_users(&grants);
        for user in ["root", "dba_role", "everything", "nested_role", "ops"] {
            assert!(admins.contains(user), "{user}: {admins:?}");
        }
        assert!(!admins.contains("reader"), "{admins:?}");
    }

    #[test]
    fn grantees_and_ssl_modes() {
        assert!(matches!(ssl_mode("REQUIRED"), Ok(MySqlSslMode::Required)));
        assert!(matches!(ssl_mode("verify-ca"), Ok(MySqlSslMode::VerifyCa)));
        assert!(matches!(ssl_mode("disable"), Ok(MySqlSslMode::Disabled)));
        assert!(ssl_mode("sometimes").is_err());
    }

    #[test]
    fn refusals_are_one_line_and_typed() {
        let full = classify_refusal(
            1040,
            "Too many connections",
            "app@db:3306",
            "app",
            "MYSQL_PWD",
        );
        assert!(matches!(full, EngineError::ServerFull(_)));
        let text = full.to_string();
        for needle in ["SUPER", "admin_port", "33062", "extra_port"] {
            assert!(text.contains(needle), "{text}");
        }
        assert!(!text.contains('\n'));
        assert!(matches!(
            classify_refusal(
                1045,
                "Access denied for user 'app'@'10.0.0.1' (using password: YES)",
                "w",
                "app",
                "MYSQL_PWD"
            ),
            EngineError::Auth(_)
        ));
        let per_user = classify_refusal(
            1203,
            "User app already has more than 'max_user_connections' active connections",
            "w",
            "app",
            "MYSQL_PWD",
        );
        assert!(matches!(per_user, EngineError::LimitReached(_)));
        assert!(per_user.to_string().contains("per-user"));
        let denied = classify_refusal(
            1045,
            "Access denied for user 'app'@'10.0.0.1' (using password: YES)",
            "w",
            "app",
            "MYSQL_PWD",
        );
        assert_eq!(
            denied.to_string(),
            "w: Access denied for user 'app'@'10.0.0.1' (1045). Password used: MYSQL_PWD. Check the password, and that the account app exists for this host"
        );
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
