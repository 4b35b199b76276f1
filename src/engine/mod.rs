//! Live engines: each connects once and turns its catalogues into `Snapshot`s. Engines only
//! sample; they never judge (that is the rules' job) and never print.
//!
//! The rules every engine follows, because the server is already in trouble:
//! one connection, a timeout on the connect and on every query, one cheap statement with
//! the same text every time, no retries, and nothing written.

pub mod mssql;
pub mod mysql;
pub mod pgbouncer;
pub mod pooler_side;
pub mod postgres;

use std::future::Future;
use std::time::Duration;

use crate::config::ConnectSettings;
use crate::model::snapshot::{Engine, Snapshot};
use crate::target::Target;

/// Failures callers branch on (a monitor wants "unreachable" and "auth" told apart).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Auth(String),
    /// The server refused the connection because all its slots are taken: the server is
    /// full, which `check` reports as CRITICAL connection-exhaustion.
    #[error("{0}")]
    ServerFull(String),
    /// A limit on spiral's own way in was reached (the account's or role's connection
    /// limit, the database's, SQL Server's single DAC), not the server's: says nothing
    /// about the server itself.
    #[error("{0}")]
    LimitReached(String),
    #[error("{0}")]
    Permission(String),
    #[error("query timed out after {0}s; the server was asked to stop it")]
    Timeout(f64),
    #[error("{0}")]
    Other(String),
}

/// A connected sampler for one engine.
pub enum LiveSampler {
    Postgres(postgres::PgSampler),
    // Boxed: these samplers carry large clients and query plans, and the enum moves around.
    Mysql(Box<mysql::MySqlSampler>),
    Mssql(Box<mssql::MssqlSampler>),
    /// A PgBouncer admin console: pools only, nothing to kill.
    Pgbouncer(pgbouncer::PgBouncerSampler),
    /// A PostgreSQL database and the PgBouncer console in front of it (`--pooler`): one
    /// connection each, both sampled into one snapshot so that one window sees both. The
    /// sides fail apart: a pooler that stops answering is a gap in the database's sample.
    WithPooler {
        database: Box<LiveSampler>,
        pooler: pooler_side::PoolerSide,
    },
}

impl LiveSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        match self {
            LiveSampler::Postgres(s) => s.sample().await,
            LiveSampler::Mysql(s) => s.sample().await,
            LiveSampler::Mssql(s) => s.sample().await,
            LiveSampler::Pgbouncer(s) => s.sample().await,
            LiveSampler::WithPooler { database, pooler } => {
                let mut snap = Box::pin(database.sample()).await?;
                // Right after the database: the pooler's servers are matched to the
                // database's sessions, so the two reads should be as close as they can be.
                pooler.sample_into(&mut snap).await;
                Ok(snap)
            }
        }
    }

    /// The sessions alone, where the engine has its own read for them (SQL Server: no
    /// workers, counters, databases or plan cache; MariaDB: longer texts and ages in
    /// milliseconds); otherwise a full sample. For `kill`, which re-reads the sessions
    /// every half second while it works.
    pub async fn sample_sessions(&mut self) -> anyhow::Result<Snapshot> {
        match self {
            LiveSampler::Mssql(s) => s.sample_sessions().await,
            LiveSampler::Mysql(s) => s.sample_sessions().await,
            // kill works on the database; the pooler has nothing it needs.
            LiveSampler::WithPooler { database, .. } => Box::pin(database.sample_sessions()).await,
            other => other.sample().await,
        }
    }

    /// Ends (or cancels) one session if it is still the connection that was selected and
    /// still in the state it was selected for (`Outcome::Spared` when it no longer is).
    pub async fn kill(
        &mut self,
        target: crate::model::kill::KillTarget,
        query_only: bool,
        managed: bool,
    ) -> anyhow::Result<crate::model::kill::Outcome> {
        match self {
            LiveSampler::Postgres(s) => s.kill(target, query_only).await,
            LiveSampler::Mysql(s) => s.kill(target, query_only, managed).await,
            // SQL Server's kill batch checks the identity (session id and login time) and
            // the state it was chosen for, like the other engines' statements.
            LiveSampler::Mssql(s) => s.kill(target).await,
            LiveSampler::Pgbouncer(_) => anyhow::bail!(
                "spiral does not end sessions through PgBouncer: kill on the database itself"
            ),
            LiveSampler::WithPooler { database, .. } => {
                Box::pin(database.kill(target, query_only, managed)).await
            }
        }
    }

    /// Ends (or cancels) a batch of sessions, each under the same checks as `kill`; one
    /// outcome per target, in order. PostgreSQL and MariaDB 10.6+ end the whole batch with
    /// one statement that re-verifies every victim server-side; elsewhere, one statement
    /// per session.
    pub async fn kill_batch(
        &mut self,
        targets: &[crate::model::kill::KillTarget],
        query_only: bool,
        managed: bool,
    ) -> Vec<anyhow::Result<crate::model::kill::Outcome>> {
        let batched = match self {
            LiveSampler::Postgres(s) if !query_only => Some(s.terminate_batch(targets).await),
            LiveSampler::Mysql(s) if s.batches(targets) => {
                Some(s.kill_batch_mariadb(targets, query_only, managed).await)
            }
            _ => None,
        };
        if let Some(result) = batched {
            // The statement failed as a whole: every target of it failed.
            return result.unwrap_or_else(|e| {
                let why = format!("{e:#}");
                targets
                    .iter()
                    .map(|_| Err(anyhow::anyhow!("{why}")))
                    .collect()
            });
        }
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            out.push(self.kill(*t, query_only, managed).await);
        }
        out
    }

    pub async fn close(self) {
        match self {
            LiveSampler::Postgres(s) => s.close().await,
            LiveSampler::Mysql(s) => s.close().await,
            LiveSampler::Mssql(s) => s.close().await,
            LiveSampler::Pgbouncer(s) => s.close().await,
            LiveSampler::WithPooler { database, pooler } => {
                Box::pin(database.close()).await;
                pooler.close().await;
            }
        }
    }
}

pub async fn connect(target: &Target, settings: &ConnectSettings) -> anyhow::Result<LiveSampler> {
    let sampler = connect_one(target, settings).await?;
    let Some(console) = &target.pooler else {
        return Ok(sampler);
    };
    match pgbouncer::connect(console, settings).await {
        Ok(pooler) => Ok(LiveSampler::WithPooler {
            database: Box::new(sampler),
            pooler: pooler_side::PoolerSide::new(pooler, console.redacted()),
        }),
        Err(e) => {
            sampler.close().await;
            Err(e.context("--pooler"))
        }
    }
}

async fn connect_one(target: &Target, settings: &ConnectSettings) -> anyhow::Result<LiveSampler> {
    if target.is_pgbouncer() {
        return Ok(LiveSampler::Pgbouncer(
            pgbouncer::connect(target, settings).await?,
        ));
    }
    match target.engine {
        Engine::Postgres => Ok(LiveSampler::Postgres(
            postgres::connect(target, settings).await?,
        )),
        Engine::Mysql => Ok(LiveSampler::Mysql(Box::new(
            mysql::connect(target, settings).await?,
        ))),
        Engine::Mssql => Ok(LiveSampler::Mssql(Box::new(
            mssql::connect(target, settings).await?,
        ))),
    }
}

/// Runs one query with a client-side deadline. The server-side limit (statement_timeout,
/// max_statement_time, LOCK_TIMEOUT) is set to the same value, so the server stops the
/// work too instead of finishing it for nobody.
pub async fn timed<T, E>(
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(limit, fut).await {
        Err(_) => Err(EngineError::Timeout(limit.as_secs_f64()).into()),
        Ok(r) => r.map_err(anyhow::Error::from),
    }
}

/// Network-level connect failures, the same for every sqlx engine. The OS error is
/// printed once: sqlx's own Display repeats its source.
pub fn classify_connect_error(e: sqlx::Error, who: &str) -> EngineError {
    match &e {
        sqlx::Error::Io(io) => EngineError::Unreachable(format!("{who}: cannot connect ({io})")),
        sqlx::Error::Tls(t) => {
            EngineError::Unreachable(format!("{who}: TLS handshake failed ({t})"))
        }
        sqlx::Error::PoolTimedOut => EngineError::Unreachable(format!("{who}: timed out")),
        other => EngineError::Other(format!(
            "{who}: {}",
            without_source_location(&other.to_string())
        )),
    }
}

/// Drops a trailing `(sqlx_postgres::connection::tls:95)`: a driver's source location
/// tells the engineer nothing.
pub fn without_source_location(text: &str) -> String {
    match text.rfind(" (sqlx_") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

/// When a port is another engine's usual one, the likeliest mistake is the scheme.
pub fn other_engine_hint(wanted: Engine, port: u16) -> String {
    let (engine, scheme) = match port {
        3306 | 3307 | 33060 => (Engine::Mysql, "mysql://"),
        5432 | 6432 => (Engine::Postgres, "postgres://"),
        1433 => (Engine::Mssql, "mssql://"),
        _ => return String::new(),
    };
    if engine == wanted {
        return String::new();
    }
    format!(
        " (port {port} is where {} usually listens: if that is the server, write {scheme})",
        engine.name()
    )
}
