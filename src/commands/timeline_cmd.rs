//! The `timeline` and `report` commands: where the input comes from, where the output
//! goes, and the exit code.
//!
//! Exit code of `timeline`: the worst severity seen at any sample (2 critical, 1 warning,
//! 3 when the only findings were checks that could not be made, else 0). A script that
//! runs it over a stalk capture asks "was there a spiral in this file?"; whether it was
//! still on at the end is `final_status` in the JSON. `report` exits 0 once the file is
//! written: it is a document, not a check.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{Format, ReportArgs, SourceArgs, TimelineArgs};
use crate::commands::timeline::Timeline;
use crate::config::{Sampling, Settings};

enum Input {
    Capture(PathBuf),
    Live(Box<Sampling>),
}

/// A path to an existing file (or one named *.jsonl) is a capture; anything else a target.
fn input(settings: &Settings, a: &TimelineArgs) -> anyhow::Result<Input> {
    if !(2..=10_000).contains(&a.window) {
        anyhow::bail!("--window must be between 2 and 10000 samples (rates need two)");
    }
    if let Some(p) = &a.replay {
        return Ok(Input::Capture(p.clone()));
    }
    if let Some(text) = &a.input {
        let path = Path::new(text);
        if path.is_dir() {
            anyhow::bail!(
                "{} is a directory: give a capture file (FILE.jsonl)",
                path.display()
            );
        }
        if path.is_file() || (text.ends_with(".jsonl") && !text.contains("://")) {
            return Ok(Input::Capture(path.to_path_buf()));
        }
    }
    let source = SourceArgs {
        target: a.input.clone(),
        replay: None,
        pooler: None,
        connect: a.connect.clone(),
    };
    Ok(Input::Live(Box::new(Sampling::build(
        &source,
        a.samples,
        &a.interval,
        &settings.connect,
    )?)))
}

fn build(settings: &Settings, a: &TimelineArgs, progress: bool) -> anyhow::Result<Timeline> {
    match input(settings, a)? {
        Input::Capture(path) => {
            crate::commands::timeline::of_capture(&path, &settings.thresholds, a.window, progress)
        }
        Input::Live(spec) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async {
                let mut source = crate::source::Source::open(&spec, &settings.connect).await?;
                let tl = crate::commands::timeline::of_source(
                    &mut source,
                    &settings.thresholds,
                    a.window,
                    progress,
                )
                .await;
                source.close().await;
                tl
            })
        }
    }
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let result = out.write_all(text.as_bytes()).and_then(|_| {
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    });
    match result {
        // `spiral timeline ... | head` closing the pipe is the reader's choice.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

pub fn timeline(settings: &Settings, a: &TimelineArgs) -> anyhow::Result<u8> {
    if settings.format == Format::Slack {
        anyhow::bail!("timeline speaks table, json or markdown (--format slack is for triage)");
    }
    let tl = build(settings, a, settings.progress)?;
    let text = match settings.format {
        Format::Json => crate::commands::timeline_render::json(&tl)?,
        Format::Markdown => crate::commands::timeline_render::markdown(&tl),
        _ => crate::commands::timeline_render::text(&tl, settings.color),
    };
    print(&text)?;
    Ok(tl.exit_code as u8)
}

pub fn report(settings: &Settings, a: &ReportArgs) -> anyhow::Result<u8> {
    let out = &a.output;
    // Before any work (and before any connection): never clobber without --force.
    if out.is_dir() {
        anyhow::bail!("{} is a directory: give a file name", out.display());
    }
    if !a.force && out.exists() {
        anyhow::bail!(
            "{} exists: choose another name or add --force to replace it",
            out.display()
        );
    }
    // The bar goes to stderr and the file elsewhere, so it shows whatever --format says.
    let progress = !settings.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let tl = build(settings, &a.timeline, progress)?;
    let html = crate::commands::report_html::render(&tl);
    write_new(out, html.as_bytes(), a.force)?;
    if !settings.quiet {
        eprintln!(
            "spiral: wrote {} ({} samples, {} changes, worst {})",
            out.display(),
            tl.samples,
            tl.events.len(),
            tl.status.label()
        );
    }
    Ok(0)
}

/// Writes `bytes` to a temporary file beside `out`, then moves it into place: a reader
/// never sees half a report. Without `force` the move is a hard link, which fails rather
/// than replace a file that appeared meanwhile.
fn write_new(out: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        if force {
            std::fs::rename(&tmp, out)
                .with_context(|| format!("cannot write {}", out.display()))?;
        } else {
            let linked = std::fs::hard_link(&tmp, out).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!(
                        "{} exists: choose another name or add --force to replace it",
                        out.display()
                    )
                } else {
                    anyhow::anyhow!("cannot write {}: {e}", out.display())
                }
            });
            // File systems without hard links (FAT on a USB stick): check, then rename.
            if let Err(e) = linked {
                if out.exists() {
                    return Err(e);
                }
                std::fs::rename(&tmp, out)
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}
