//! Where snapshots come from: a live server sampled at an interval, or a capture file.
//! Commands read both through `Source`, which is why every command behaves the same on a
//! live target and on `--replay`.

use std::time::Duration;

use crate::capture::CaptureReader;
use crate::config::{ConnectSettings, Sampling, SourceSpec};
use crate::engine::LiveSampler;
use crate::snapshot::{Engine, Snapshot};
use crate::window::Window;

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
                    label: target.redacted(),
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

/// Collects the whole window: every sample of a live source (waiting between them, with a
/// progress line on a terminal, stopping early on Ctrl-C), or every snapshot of a capture.
/// `on_first` sees the window after the first sample: triage prints its first look there.
/// Returns the window and notes on samples that failed after the first.
pub async fn collect(
    source: &mut Source,
    progress: bool,
    mut on_first: impl FnMut(&Window),
) -> anyhow::Result<(Window, Vec<String>)> {
    let first = source
        .next()
        .await?
        .ok_or_else(|| anyhow::anyhow!("no snapshot was taken"))?;
    let mut window = Window::new(first).with_target(source.label.clone());
    on_first(&window);
    loop {
        if source.remaining() == Some(0) {
            break;
        }
        let wait = source.interval();
        if !wait.is_zero() && !pause(wait, progress, source.remaining()).await {
            break; // Ctrl-C: assess what we have.
        }
        match source.next().await {
            Ok(Some(s)) => window.push(s),
            Ok(None) => break,
            // A dying server may fail a later sample: assess what was gathered rather than
            // throw away the samples (and the first look) already taken.
            Err(e) if source.is_live() => {
                let note = format!(
                    "sample {} failed, so the window ends early: {}",
                    window.samples() + 1,
                    crate::sanitize::for_terminal(&format!("{e:#}"))
                );
                return Ok((window, vec![note]));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((window, Vec::new()))
}

/// Sleeps for `wait`; false when interrupted by Ctrl-C.
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
        _ = tokio::signal::ctrl_c() => false,
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    completed
}
