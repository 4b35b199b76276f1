//! Connecting: the options from the target, the session's own limits, what the server is
//! and what this login may read there (the `Profile`), and the server's refusals at connect
//! as one line.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};
use sqlx::{AssertSqlSafe, Connection, SqlSafeStr};

use super::decode::cell;
use super::sample::{compose, plan};
use super::{Access, MySqlSampler, Profile, mdl, one_line};
use crate::config::ConnectSettings;
use crate::engine::{EngineError, classify_connect_error, timed};
use crate::model::snapshot::Engine;
use crate::target::Target;

const SERVER_INFO: &str = include_str!("../../../queries/mysql/server_info.sql");
const SETUP_MARIADB: &str = include_str!("../../../queries/mysql/session_setup_mariadb.sql");
const SETUP_MYSQL: &str = include_str!("../../../queries/mysql/session_setup_mysql.sql");
const SUPER_USERS: &str = include_str!("../../../queries/mysql/super_users.sql");
const ADMINS_MARIADB: &str = include_str!("../../../queries/mysql/admins_mariadb.sql");
const ADMINS_MYSQL8: &str = include_str!("../../../queries/mysql/admins_mysql8.sql");
const READ_ONLY: &str = include_str!("../../../queries/mysql/read_only.sql");

/// Privilege probes, run once at connect. A refusal here means the matching part of the
/// sample would fail every time, so the part is left out and the gap reported instead.
/// INNODB_TRX checks PROCESS when it is filled, so the probe must really read it.
const PROBE_PROCESS: &str = include_str!("../../../queries/mysql/probe_process.sql");
const PROBE_PS_PROCESSLIST: &str = include_str!("../../../queries/mysql/probe_ps_processlist.sql");
const PROBE_PS_LOCK_WAITS: &str = include_str!("../../../queries/mysql/probe_ps_lock_waits.sql");
const PROBE_MDL_PS: &str = include_str!("../../../queries/mysql/probe_mdl_ps.sql");
const PROBE_MDL_PLUGIN: &str = include_str!("../../../queries/mysql/probe_mdl_plugin.sql");

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
                crate::engine::other_engine_hint(Engine::Mysql, opts.get_port())
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
    let wait_source = super::waits::source(&mut conn, limit, &profile).await?;
    let plan = plan(&profile);
    // Built only from the bundled parts above, never from input: safe to send as is.
    let sql = AssertSqlSafe(plan.request()).into_sql_str();
    let kill_sql = plan
        .kill_parts
        .as_deref()
        .map(|parts| AssertSqlSafe(compose(parts)).into_sql_str());
    let multi = !plan.shows.is_empty();
    let mut sampler = MySqlSampler {
        conn,
        query_timeout: limit,
        profile,
        gaps: plan.gaps,
        admins_known: admins.is_some(),
        admins: admins.unwrap_or_default(),
        sql,
        multi,
        kill_sql,
        wait_source,
        variables: Vec::new(),
        variables_read: std::time::Instant::now(),
    };
    sampler
        .read_variables()
        .await
        .context("reading the server's limits and timeouts")?;
    Ok(sampler)
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
pub(super) async fn probe(
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
            crate::engine::other_engine_hint(Engine::Mysql, target.port.unwrap_or(3306))
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
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.close()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
