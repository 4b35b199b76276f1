//! Where snapshots come from: a live server sampled at an interval, or a capture file.
//! Commands read both through `Source`, which is why every command behaves the same on a
//! live target and on `--replay`.

use std::time::Duration;

use crate::capture::CaptureReader;
use crate::config::{ConnectSettings, Sampling, SourceSpec};
use crate::engine::LiveSampler;
use crate::model::snapshot::{Engine, Snapshot};
use crate::model::window::Window;

pub struct Source {
    kind: Kind,
    /// The redacted target, or the capture's (redacted) target.
    pub label: String,
    pub engine: Engine,
}

enum Kind {
    Live {
        sampler: Box<LiveSampler>,
        remaining: u32,
        interval: Duration,
        taken: u32,
    },
    Replay(CaptureReader),
}

impl Source {
    pub async fn open(spec: &Sampling, connect: &ConnectSettings) -> anyhow::Result<Source> {
        match &spec.source {
            SourceSpec::Replay(path) => {
                let reader = CaptureReader::open(path)?;
                let h = reader.header();
                Ok(Source {
                    label: h.target.clone(),
                    engine: h.engine,
                    kind: Kind::Replay(reader),
                })
            }
            SourceSpec::Live(target) => {
                let sampler = crate::engine::connect(target, connect).await?;
                Ok(Source {
                    // Typed by a person or pasted from a config: printed, so made safe.
                    label: crate::sanitize::clean(&target.redacted()),
                    engine: target.engine,
                    kind: Kind::Live {
                        sampler: Box::new(sampler),
                        remaining: spec.samples,
                        interval: spec.interval,
                        taken: 0,
                    },
                })
            }
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.kind, Kind::Live { .. })
    }

    /// How long the caller should wait before the next sample (zero for a replay).
    pub fn interval(&self) -> Duration {
        match &self.kind {
            Kind::Live {
                interval, taken, ..
            } if *taken > 0 => *interval,
            _ => Duration::ZERO,
        }
    }

    /// Samples still to take (live), or None for a replay (until the file ends).
    pub fn remaining(&self) -> Option<u32> {
        match &self.kind {
            Kind::Live { remaining, .. } => Some(*remaining),
            Kind::Replay(_) => None,
        }
    }

    /// The next snapshot, or None when the sample count or the file is exhausted. Live
    /// sources do not sleep here: the caller waits `interval()` (with progress and Ctrl-C).
    pub async fn next(&mut self) -> anyhow::Result<Option<Snapshot>> {
        match &mut self.kind {
            Kind::Live {
                sampler,
                remaining,
                taken,
                ..
            } => {
                if *remaining == 0 {
                    return Ok(None);
                }
                let mut snap = sampler.sample().await?;
                snap.sanitize();
                *remaining -= 1;
                *taken += 1;
                Ok(Some(snap))
            }
            Kind::Replay(reader) => Ok(reader.next_snapshot()?),
        }
    }

    /// Lines of the capture that could not be read, as notes for the report.
    pub fn notes(&self) -> Vec<String> {
        match &self.kind {
            Kind::Replay(r) => r
                .skipped()
                .iter()
                .map(|s| format!("capture {s}: skipped"))
                .collect(),
            Kind::Live { .. } => Vec::new(),
        }
    }

    pub async fn close(self) {
        if let Kind::Live { sampler, .. } = self.kind {
            sampler.close().await;
        }
    }
}

/// A collected window and how its collection ended.
pub struct Collected {
    pub window: Window,
    /// Why the window ends before the planned samples: a live sample failed or timed out.
    /// The samples after it were not assessed, so the outcome is never "healthy".
    pub failed: Option<String>,
    /// The signal that cut the collection short (Ctrl-C while sampling or waiting).
    pub interrupted: Option<&'static str>,
}

impl Collected {
    /// Notes for the report: what ended the window early.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(f) = &self.failed {
            notes.push(f.clone());
        }
        if let Some(sig) = self.interrupted {
            notes.push(format!(
                "Stopped by {sig} after {} sample(s): assessed what was gathered.",
                self.window.samples()
            ));
        }
        notes
    }
}

/// Collects the whole window: every sample of a live source (waiting between them, with a
/// progress line on a terminal, stopping early on Ctrl-C, SIGTERM or SIGHUP, also while a
/// sample is in flight), or every snapshot of a capture. `on_first` sees the window after
/// the first sample: triage prints its first look there.
pub async fn collect(
    source: &mut Source,
    progress: bool,
    mut on_first: impl FnMut(&Window),
) -> anyhow::Result<Collected> {
    let interrupted = || {
        anyhow::anyhow!(
            "stopped by {} before the first sample: nothing to assess",
            crate::signals::name()
        )
    };
    let first = crate::signals::unless_stopped(source.next())
        .await
        .ok_or_else(interrupted)??
        .ok_or_else(|| anyhow::anyhow!("no snapshot was taken"))?;
    let planned = source.remaining().map(|r| r + 1);
    let window = Window::new(first).with_target(source.label.clone());
    on_first(&window);
    let mut done = Collected {
        window,
        failed: None,
        interrupted: None,
    };
    loop {
        if source.remaining() == Some(0) {
            break;
        }
        let wait = source.interval();
        if !wait.is_zero() && !pause(wait, progress, source.remaining()).await {
            done.interrupted = Some(crate::signals::name()); // assess what we have
            break;
        }
        let Some(next) = crate::signals::unless_stopped(source.next()).await else {
            done.interrupted = Some(crate::signals::name());
            break;
        };
        match next {
            Ok(Some(s)) => done.window.push(s),
            Ok(None) => break,
            // A dying server may fail a later sample: assess what was gathered rather than
            // throw away the samples (and the first look) already taken, but say that the
            // rest could not be assessed: a server that stopped answering is not healthy.
            Err(e) if source.is_live() => {
                let n = done.window.samples() + 1;
                done.failed = Some(format!(
                    "NOT ASSESSED: sample {n}{} failed ({}), so everything after sample {} is unknown and the window ends there. A server that stops answering is not healthy: check it directly.",
                    planned.map(|p| format!(" of {p}")).unwrap_or_default(),
                    crate::sanitize::for_terminal(&format!("{e:#}")),
                    n - 1
                ));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Sleeps for `wait`; false when a stop was asked for (Ctrl-C, SIGTERM, SIGHUP).
pub async fn pause(wait: Duration, progress: bool, remaining: Option<u32>) -> bool {
    let bar = progress.then(|| {
        let bar = indicatif::ProgressBar::new(wait.as_millis() as u64);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_message(format!(
            "next sample in {}s ({} to go; Ctrl-C to assess now)",
            wait.as_secs(),
            remaining.unwrap_or(0)
        ));
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {msg}") {
            // indicatif's default bar is made of block characters: not for ASCII consoles.
            let style = if crate::format::ascii() {
                style.progress_chars("#>-")
            } else {
                style
            };
            bar.set_style(style);
        }
        bar
    });
    let tick = async {
        let start = tokio::time::Instant::now();
        while start.elapsed() < wait {
            tokio::time::sleep(Duration::from_millis(100).min(wait)).await;
            if let Some(b) = &bar {
                b.set_position(start.elapsed().as_millis() as u64);
            }
        }
    };
    let completed = tokio::select! {
        _ = tick => true,
        _ = crate::signals::stopped() => false,
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    completed
}
