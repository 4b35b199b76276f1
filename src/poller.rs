//! Endless sampling for the long-running commands (`watch`, `stalk`): one connection,
//! reconnected with backoff when the server stops answering, never more than one.
//!
//! A replay file can stand in for the server (each snapshot is one poll), which is how the
//! long-running commands are tested without waiting for real time to pass.

use std::time::{Duration, Instant};

use crate::capture::CaptureReader;
use crate::config::{ConnectSettings, SourceSpec};
use crate::engine::LiveSampler;
use crate::snapshot::{Engine, Snapshot};
use crate::target::Target;

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
    /// The replay file cannot be read: the command must stop with this error.
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
}

impl Poller {
    pub fn open(spec: &SourceSpec, settings: &ConnectSettings) -> anyhow::Result<Poller> {
        Ok(match spec {
            SourceSpec::Live(target) => Poller {
                label: target.redacted(),
                engine: target.engine,
                origin: Origin::Live {
                    target: Box::new(target.clone()),
                    settings: settings.clone(),
                    sampler: None,
                },
                blind_since: None,
                attempt: 0,
            },
            SourceSpec::Replay(path) => {
                let reader = CaptureReader::open(path)?;
                Poller {
                    label: reader.header().target.clone(),
                    engine: reader.header().engine,
                    origin: Origin::Replay(Box::new(reader)),
                    blind_since: None,
                    attempt: 0,
                }
            }
        })
    }

    pub fn is_live(&self) -> bool {
        matches!(self.origin, Origin::Live { .. })
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
                        Poll::Snapshot(Box::new(snap))
                    }
                    Err(e) => {
                        // Drop the connection: after a timeout it may be poisoned, and a
                        // fresh one is the only safe state. Reconnect on the next poll.
                        if let Some(s) = sampler.take() {
                            s.close().await;
                        }
                        let since = self.blind_since.get_or_insert_with(Instant::now).elapsed();
                        let retry_in = crate::stalk::backoff(self.attempt);
                        self.attempt += 1;
                        Poll::Blind {
                            since,
                            error: crate::sanitize::for_terminal(&format!("{e:#}")),
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
