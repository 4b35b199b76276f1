//! Endless sampling for the long-running commands (`watch`, `stalk`): one connection,
//! reconnected with backoff when the server stops answering, never more than one.
//!
//! Every live poll starts at least `MIN_POLL_GAP` after the one before, whatever the
//! caller's settings add up to; a login the server refused is not retried (it will be
//! refused again, and some servers lock the account); and when the server is full, the
//! connection is given back between polls so that an administrator can log in.
//!
//! A replay file can stand in for the server (each snapshot is one poll), which is how the
//! long-running commands are tested without waiting for real time to pass.

use std::time::{Duration, Instant};

use crate::capture::CaptureReader;
use crate::config::{ConnectSettings, SourceSpec};
use crate::engine::LiveSampler;
use crate::model::snapshot::{Engine, Snapshot};
use crate::target::Target;

/// The shortest time between two live polls, wherever they come from (stalk's captures,
/// its cooldown, watch's refresh): faster than this adds load to a struggling server.
pub const MIN_POLL_GAP: Duration = Duration::from_millis(500);

/// Backoff between reconnect attempts: 1 s doubling to 30 s. A dying server must not be
/// hammered by its own diagnostics.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(5)).min(Duration::from_secs(30))
}

pub enum Poll {
    Snapshot(Box<Snapshot>),
    /// The server did not answer; how long it has been silent, why, and when to retry.
    Blind {
        since: Duration,
        error: String,
        retry_in: Duration,
    },
    /// The replay file is exhausted.
    End,
    /// The replay file cannot be read, or the server refused the login: the command must
    /// stop with this error.
    Failed(String),
}

enum Origin {
    Live {
        target: Box<Target>,
        settings: ConnectSettings,
        sampler: Option<Box<LiveSampler>>,
    },
    Replay(Box<CaptureReader>),
}

pub struct Poller {
    origin: Origin,
    pub label: String,
    pub engine: Engine,
    blind_since: Option<Instant>,
    attempt: u32,
    last_poll: Option<tokio::time::Instant>,
    answered: bool,
    last_error: Option<String>,
    /// Set while the server is full: spiral disconnects after each poll.
    full: Option<String>,
}

impl Poller {
    pub fn open(spec: &SourceSpec, settings: &ConnectSettings) -> anyhow::Result<Poller> {
        Ok(match spec {
            SourceSpec::Live(target) => Poller {
                label: crate::sanitize::clean(&target.redacted()),
                engine: target.engine,
                origin: Origin::Live {
                    target: Box::new(target.clone()),
                    settings: settings.clone(),
                    sampler: None,
                },
                blind_since: None,
                attempt: 0,
                last_poll: None,
                answered: false,
                last_error: None,
                full: None,
            },
            SourceSpec::Replay(path) => {
                let reader = CaptureReader::open(path)?;
                Poller {
                    label: reader.header().target.clone(),
                    engine: reader.header().engine,
                    origin: Origin::Replay(Box::new(reader)),
                    blind_since: None,
                    attempt: 0,
                    last_poll: None,
                    answered: false,
                    last_error: None,
                    full: None,
                }
            }
        })
    }

    pub fn is_live(&self) -> bool {
        matches!(self.origin, Origin::Live { .. })
    }

    /// Whether any poll got a snapshot.
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// The last connect or sample error, for the final word of a run that saw nothing.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Set while the server is full and spiral gives its connection back between polls:
    /// what to tell the engineer.
    pub fn full_server(&self) -> Option<&str> {
        self.full.as_deref()
    }

    pub async fn poll(&mut self) -> Poll {
        match &mut self.origin {
            Origin::Replay(reader) => match reader.next_snapshot() {
                Ok(Some(s)) => Poll::Snapshot(Box::new(s)),
                Ok(None) => Poll::End,
                Err(e) => Poll::Failed(e.to_string()),
            },
            Origin::Live {
                target,
                settings,
                sampler,
            } => {
                if let Some(last) = self.last_poll {
                    tokio::time::sleep_until(last + MIN_POLL_GAP).await;
                }
                self.last_poll = Some(tokio::time::Instant::now());
                let result = async {
                    if sampler.is_none() {
                        *sampler = Some(Box::new(crate::engine::connect(target, settings).await?));
                    }
                    match sampler.as_mut() {
                        Some(s) => s.sample().await,
                        None => anyhow::bail!("not connected"),
                    }
                }
                .await;
                match result {
                    Ok(mut snap) => {
                        snap.sanitize();
                        self.blind_since = None;
                        self.attempt = 0;
                        self.answered = true;
                        self.full = full_server_note(&snap).map(|n| {
                            format!(
                                "{n}; it disconnects between polls so an administrator can log in"
                            )
                        });
                        if self.full.is_some()
                            && let Some(s) = sampler.take()
                        {
                            // Give the slot back: the next poll reconnects.
                            s.close().await;
                        }
                        Poll::Snapshot(Box::new(snap))
                    }
                    Err(e) => {
                        // Drop the connection: after a timeout it may be poisoned, and a
                        // fresh one is the only safe state. Reconnect on the next poll.
                        if let Some(s) = sampler.take() {
                            s.close().await;
                        }
                        let error = crate::sanitize::for_terminal(&format!("{e:#}"));
                        self.last_error = Some(error.clone());
                        if login_refused(&e) {
                            return Poll::Failed(format!(
                                "{error} (the server refused the login; spiral does not retry it)"
                            ));
                        }
                        let since = self.blind_since.get_or_insert_with(Instant::now).elapsed();
                        let retry_in = backoff(self.attempt);
                        self.attempt += 1;
                        Poll::Blind {
                            since,
                            error,
                            retry_in,
                        }
                    }
                }
            }
        }
    }

    pub async fn close(self) {
        if let Origin::Live {
            sampler: Some(s), ..
        } = self.origin
        {
            s.close().await;
        }
    }
}

/// A wrong password or a missing role: retrying cannot help and may lock the account.
fn login_refused(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::engine::EngineError>(),
            Some(crate::engine::EngineError::Auth(_))
        )
    })
}

/// Says so when every connection slot, the administrators' included, is taken, so that the
/// connection spiral holds may be the one an administrator needs (MySQL and MariaDB keep one
/// extra slot beyond max_connections for SUPER/CONNECTION ADMIN; PostgreSQL reserves its
/// superuser slots inside max_connections).
pub fn full_server_note(s: &Snapshot) -> Option<String> {
    let max = s.connections.max_connections?;
    // PostgreSQL gives no server-side count: its client sessions plus spiral's own.
    let current = s
        .connections
        .current
        .unwrap_or_else(|| s.client_count() + u64::from(s.own_session_id.is_some()));
    let admin_extra = u64::from(s.engine == Engine::Mysql);
    (current >= max + admin_extra).then(|| {
        format!(
            "the server is full ({current} connected, limit {} with the administrators' slots): spiral's own connection may be holding the last administrator slot",
            max + admin_extra
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(engine: Engine, max: u64, current: u64) -> Snapshot {
        let mut s = Snapshot::empty(engine, chrono::Utc::now());
        s.connections.max_connections = Some(max);
        s.connections.current = Some(current);
        s
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(30));
    }

    #[test]
    fn a_full_server_is_named() {
        // MySQL: max_connections + 1 (the SUPER slot) is full; max_connections is not.
        assert!(full_server_note(&snap(Engine::Mysql, 10, 10)).is_none());
        let note = full_server_note(&snap(Engine::Mysql, 10, 11)).unwrap();
        assert!(note.contains("11 connected, limit 11 "), "{note}");
        // PostgreSQL counts its reserved slots inside max_connections.
        assert!(full_server_note(&snap(Engine::Postgres, 100, 99)).is_none());
        assert!(full_server_note(&snap(Engine::Postgres, 100, 100)).is_some());
        let mut counted = snap(Engine::Postgres, 2, 0);
        counted.connections.current = None;
        assert!(full_server_note(&counted).is_none());
        let mut unknown = snap(Engine::Mssql, 10, 10);
        unknown.connections.max_connections = None;
        assert!(full_server_note(&unknown).is_none());
    }
}
