//! PgBouncer admin console sampler (`pgbouncer://user@host:6432/pgbouncer`).
//!
//! The console speaks PostgreSQL's wire protocol but knows only its SHOW/control commands
//! and only the simple query protocol: every statement here goes through `raw_sql`, never
//! a prepared statement, and the connection sends no startup parameter the console would
//! refuse. Seven SHOW commands per sample, all answered from PgBouncer's memory.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Column, ConnectOptions, Connection, Row};

use super::{EngineError, classify_connect_error, timed};
use crate::config::ConnectSettings;
use crate::model::snapshot::{
    Engine, Pool, PoolClient, PoolServer, PoolWaiter, Pooler, PoolerStats, ServerInfo, Snapshot,
};
use crate::target::Target;

const POOLS: &str = include_str!("../../queries/pgbouncer/pools.sql");
const DATABASES: &str = include_str!("../../queries/pgbouncer/databases.sql");
const CLIENTS: &str = include_str!("../../queries/pgbouncer/clients.sql");
const CONFIG: &str = include_str!("../../queries/pgbouncer/config.sql");
const STATS: &str = include_str!("../../queries/pgbouncer/stats.sql");
const SERVERS: &str = include_str!("../../queries/pgbouncer/servers.sql");
const LISTS: &str = include_str!("../../queries/pgbouncer/lists.sql");

/// Waiting clients kept per pool: enough to name the longest waits.
const WAITERS_KEPT: usize = 5;

/// Linked server connections kept per sample: every pool's ceiling on a sane pooler, and
/// a bound on the capture's size on one that is not.
const SERVERS_KEPT: usize = 500;

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
    // SHOW STATS declares its counters NUMERIC, which has no decoder here. The simple query
    // protocol sends every value as text, so the text itself is read, whatever the type.
    row.try_get_unchecked::<Option<String>, _>(i).ok().flatten()
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

/// One SHOW STATS row; every counter is read by name and may be missing in this version.
fn pooler_stats(row: &PgRow) -> Option<PoolerStats> {
    let database = text(row, "database")?;
    if database == "pgbouncer" {
        return None;
    }
    Some(PoolerStats {
        database,
        // Before 1.8 there were only requests (total_requests), no transactions.
        xact_count: num(row, "total_xact_count").or_else(|| num(row, "total_requests")),
        query_count: num(row, "total_query_count"),
        wait_time_us: num(row, "total_wait_time"),
        server_assignments: num(row, "total_server_assignment_count"),
    })
}

/// SHOW SERVERS' request_time and connect_time: `2026-11-30 20:02:31 UTC`.
fn console_time(t: &str) -> Option<chrono::DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(t.trim().trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

/// Server connections lent to a client, each with that client (its ptr is the server's
/// link). The pooler's own console connection never has a server.
fn linked_servers(
    servers: &[PgRow],
    clients: &[PgRow],
    taken_at: chrono::DateTime<Utc>,
) -> Vec<PoolServer> {
    let by_ptr: BTreeMap<String, &PgRow> = clients
        .iter()
        .filter_map(|c| Some((text(c, "ptr")?, c)))
        .collect();
    servers
        .iter()
        .filter_map(|s| {
            let link = text(s, "link").filter(|l| !l.trim().is_empty())?;
            let client = by_ptr.get(&link).map(|c| PoolClient {
                addr: text(c, "addr"),
                port: num(c, "port").and_then(|p| u16::try_from(p).ok()),
                application: text(c, "application_name").filter(|a| !a.is_empty()),
                idle_secs: text(c, "request_time")
                    .and_then(|t| console_time(&t))
                    .map(|t| (taken_at - t).num_seconds().max(0) as u64),
            });
            Some(PoolServer {
                database: text(s, "database")?,
                user: text(s, "user")?,
                backend_pid: num(s, "remote_pid").filter(|&p| p > 0).map(|p| p as i64),
                local_addr: text(s, "local_addr"),
                local_port: num(s, "local_port").and_then(|p| u16::try_from(p).ok()),
                client,
            })
        })
        .take(SERVERS_KEPT)
        .collect()
}

impl PgBouncerSampler {
    async fn show(&mut self, sql: &'static str) -> anyhow::Result<Vec<PgRow>> {
        let command = console_command(sql);
        let limit = self.query_timeout;
        timed(
            limit,
            sqlx::raw_sql(sqlx::AssertSqlSafe(command.clone())).fetch_all(&mut self.conn),
        )
        .await
        .map_err(|e| match e.downcast_ref::<EngineError>() {
            // The console has no statement to cancel: nothing was asked to stop.
            Some(EngineError::Timeout(_)) => {
                EngineError::Other(format!("no answer within {}s", limit.as_secs_f64())).into()
            }
            _ => e,
        })
        .with_context(|| format!("running {command} on the PgBouncer console"))
    }

    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        let pools = self.show(POOLS).await?;
        let databases = self.show(DATABASES).await?;
        let clients = self.show(CLIENTS).await?;
        let config = self.show(CONFIG).await?;
        let stats = self.show(STATS).await?;
        let servers = self.show(SERVERS).await?;
        let lists = self.show(LISTS).await?;
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
            idle_transaction_timeout_ms: secs_ms("idle_transaction_timeout"),
            stats: stats.iter().filter_map(pooler_stats).collect(),
            servers: linked_servers(&servers, &clients, taken_at),
            lists: lists
                .iter()
                .filter_map(|r| Some((text(r, "list")?, num(r, "items")?)))
                .collect(),
        });
        Ok(snap)
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.close()).await;
    }
}
