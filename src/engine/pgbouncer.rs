//! PgBouncer admin console sampler (`pgbouncer://user@host:6432/pgbouncer`).
//!
//! The console speaks PostgreSQL's wire protocol but knows only its SHOW/control commands
//! and only the simple query protocol: every statement here goes through `raw_sql`, never
//! a prepared statement, and the connection sends no startup parameter the console would
//! refuse. Four SHOW commands per sample, all answered from PgBouncer's memory.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Column, ConnectOptions, Connection, Row};

use super::{EngineError, classify_connect_error, timed};
use crate::config::ConnectSettings;
use crate::model::snapshot::{Engine, Pool, PoolWaiter, Pooler, ServerInfo, Snapshot};
use crate::target::Target;

const POOLS: &str = include_str!("../../queries/pgbouncer/pools.sql");
const DATABASES: &str = include_str!("../../queries/pgbouncer/databases.sql");
const CLIENTS: &str = include_str!("../../queries/pgbouncer/clients.sql");
const CONFIG: &str = include_str!("../../queries/pgbouncer/config.sql");

/// Waiting clients kept per pool: enough to name the longest waits.
const WAITERS_KEPT: usize = 5;

pub struct PgBouncerSampler {
    conn: PgConnection,
    query_timeout: Duration,
}

pub async fn connect(
    target: &Target,
    settings: &ConnectSettings,
) -> anyhow::Result<PgBouncerSampler> {
    // extra_float_digits is a startup parameter sqlx sends by default and the console
    // rejects ("unsupported startup parameter"); no statement cache: nothing is prepared.
    let opts = super::postgres::options(target)?
        .extra_float_digits(None)
        .statement_cache_capacity(0)
        .disable_statement_logging();
    let who = format!(
        "pgbouncer {}@{}:{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port()
    );
    let conn =
        match tokio::time::timeout(settings.connect_timeout, PgConnection::connect_with(&opts))
            .await
        {
            Err(_) => {
                return Err(EngineError::Unreachable(format!(
                    "{who} did not answer within {}s",
                    settings.connect_timeout.as_secs_f64()
                ))
                .into());
            }
            Ok(Err(sqlx::Error::Database(db))) => {
                return Err(EngineError::Other(format!(
                "{who}: {} (the admin console needs a user listed in admin_users or stats_users)",
                db.message()
            ))
            .into());
            }
            Ok(Err(e)) => return Err(classify_connect_error(e, &who).into()),
            Ok(Ok(c)) => c,
        };
    Ok(PgBouncerSampler {
        conn,
        query_timeout: settings.query_timeout,
    })
}

/// A cell as text, whatever type the console declared for it.
fn text(row: &PgRow, name: &str) -> Option<String> {
    let i = row.columns().iter().position(|c| c.name() == name)?;
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v;
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map(|x| x.to_string());
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return v.map(|x| x.to_string());
    }
    None
}

/// The console's parser knows no SQL comments: the query files keep theirs for people, and
/// only the command itself is sent.
fn console_command(sql: &str) -> String {
    sql.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn num(row: &PgRow, name: &str) -> Option<u64> {
    text(row, name).and_then(|t| t.trim().parse::<i64>().ok().map(|v| v.max(0) as u64))
}

impl PgBouncerSampler {
    async fn show(&mut self, sql: &'static str) -> anyhow::Result<Vec<PgRow>> {
        let command = console_command(sql);
        timed(
            self.query_timeout,
            sqlx::raw_sql(sqlx::AssertSqlSafe(command.clone())).fetch_all(&mut self.conn),
        )
        .await
        .with_context(|| format!("running {command} on the PgBouncer console"))
    }

    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        let pools = self.show(POOLS).await?;
        let databases = self.show(DATABASES).await?;
        let clients = self.show(CLIENTS).await?;
        let config = self.show(CONFIG).await?;
        let taken_at = Utc::now();

        let settings: BTreeMap<String, String> = config
            .iter()
            .filter_map(|r| Some((text(r, "key")?, text(r, "value")?)))
            .collect();
        let setting = |k: &str| settings.get(k).and_then(|v| v.trim().parse::<u64>().ok());
        let pool_size: BTreeMap<String, u64> = databases
            .iter()
            .filter_map(|r| Some((text(r, "name")?, num(r, "pool_size")?)))
            .collect();
        let mut waiting: BTreeMap<(String, String), Vec<PoolWaiter>> = BTreeMap::new();
        for c in &clients {
            if text(c, "state").as_deref() != Some("waiting") {
                continue;
            }
            let (Some(db), Some(user)) = (text(c, "database"), text(c, "user")) else {
                continue;
            };
            let wait_ms =
                num(c, "wait").unwrap_or(0) * 1000 + num(c, "wait_us").unwrap_or(0) / 1000;
            waiting.entry((db, user)).or_default().push(PoolWaiter {
                addr: text(c, "addr"),
                application: text(c, "application_name").filter(|a| !a.is_empty()),
                wait_ms,
            });
        }
        let mut out = Vec::new();
        for p in &pools {
            let (Some(database), Some(user)) = (text(p, "database"), text(p, "user")) else {
                continue;
            };
            // The console's own pseudo-database is not a pool of the application.
            if database == "pgbouncer" {
                continue;
            }
            let mut w = waiting
                .remove(&(database.clone(), user.clone()))
                .unwrap_or_default();
            w.sort_by_key(|x| std::cmp::Reverse(x.wait_ms));
            w.truncate(WAITERS_KEPT);
            out.push(Pool {
                pool_size: pool_size
                    .get(&database)
                    .copied()
                    .filter(|&n| n > 0)
                    .or(setting("default_pool_size")),
                database,
                user,
                cl_active: num(p, "cl_active").unwrap_or(0),
                cl_waiting: num(p, "cl_waiting").unwrap_or(0),
                sv_active: num(p, "sv_active").unwrap_or(0),
                sv_idle: num(p, "sv_idle").unwrap_or(0),
                sv_used: num(p, "sv_used").unwrap_or(0),
                maxwait_ms: num(p, "maxwait").unwrap_or(0) * 1000
                    + num(p, "maxwait_us").unwrap_or(0) / 1000,
                pool_mode: text(p, "pool_mode"),
                waiting: w,
            });
        }
        let mut snap = Snapshot::empty(Engine::Postgres, taken_at);
        snap.server = ServerInfo {
            version: "PgBouncer".into(),
            flavor: Some("pgbouncer".into()),
            managed_kill: false,
        };
        // Seconds in SHOW CONFIG (1.18 prints plain numbers).
        let secs_ms = |k: &str| setting(k).map(|s| s * 1000);
        snap.pooler = Some(Pooler {
            pools: out,
            query_wait_timeout_ms: secs_ms("query_wait_timeout"),
            server_idle_timeout_ms: secs_ms("server_idle_timeout"),
            max_client_conn: setting("max_client_conn"),
        });
        Ok(snap)
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.close()).await;
    }
}
