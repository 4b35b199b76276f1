//! Live engines: each connects once and turns its catalogues into `Snapshot`s. Engines only
//! sample; they never judge (that is the rules' job) and never print.
//!
//! The rules every engine follows, because the server is already in trouble:
//! one connection, a timeout on the connect and on every query, one cheap statement with
//! the same text every time, no retries, and nothing written.

pub mod mssql;
pub mod mysql;
pub mod pgbouncer;
pub mod postgres;

use std::future::Future;
use std::time::Duration;

use crate::config::ConnectSettings;
use crate::snapshot::{Engine, Snapshot};
use crate::target::Target;

/// Failures callers branch on (a monitor wants "unreachable" and "auth" told apart).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    ServerFull(String),
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
}

impl LiveSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        match self {
            LiveSampler::Postgres(s) => s.sample().await,
            LiveSampler::Mysql(s) => s.sample().await,
            LiveSampler::Mssql(s) => s.sample().await,
            LiveSampler::Pgbouncer(s) => s.sample().await,
        }
    }

    /// Ends (or cancels) one session if it is still the connection that was selected and
    /// still in the state it was selected for (`Outcome::Spared` when it no longer is).
    pub async fn kill(
        &mut self,
        target: crate::kill::KillTarget,
        query_only: bool,
        managed: bool,
    ) -> anyhow::Result<crate::kill::Outcome> {
        match self {
            LiveSampler::Postgres(s) => s.kill(target, query_only).await,
            LiveSampler::Mysql(s) => s.kill(target, query_only, managed).await,
            // SQL Server's kill batch checks the identity (session id and login time); its
            // state is re-checked from the sample just before.
            LiveSampler::Mssql(s) => s.kill(target.id, target.connected_at).await,
            LiveSampler::Pgbouncer(_) => anyhow::bail!(
                "spiral does not end sessions through PgBouncer: kill on the database itself"
            ),
        }
    }

    pub async fn close(self) {
        match self {
            LiveSampler::Postgres(s) => s.close().await,
            LiveSampler::Mysql(s) => s.close().await,
            LiveSampler::Mssql(s) => s.close().await,
            LiveSampler::Pgbouncer(s) => s.close().await,
        }
    }
}

pub async fn connect(target: &Target, settings: &ConnectSettings) -> anyhow::Result<LiveSampler> {
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

/// Network-level connect failures, the same for every sqlx engine.
pub fn classify_connect_error(e: sqlx::Error, who: &str) -> EngineError {
    match &e {
        sqlx::Error::Io(io) => EngineError::Unreachable(format!("{who}: cannot connect ({io})")),
        sqlx::Error::Tls(t) => {
            EngineError::Unreachable(format!("{who}: TLS handshake failed ({t})"))
        }
        sqlx::Error::PoolTimedOut => EngineError::Unreachable(format!("{who}: timed out")),
        other => EngineError::Other(format!("{who}: {other}")),
    }
}
