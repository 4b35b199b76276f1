//! The top of the program: parse, validate, run one command, choose the exit code.
//!
//! `main` calls `main_entry` and nothing else. Every failure, from a clap usage error to a
//! panic, ends here as one line on stderr and exit code 3 (UNKNOWN): a monitor must never
//! read clap's usage code 2 as CRITICAL, and an engineer must never get a backtrace.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use crate::capture::{CaptureWriter, Header};
use crate::cli::{CaptureArgs, Cli, Command, CompletionTarget, SamplingArgs};
use crate::config::{Sampling, Settings};
use crate::report::{TriageReport, exit_code};
use crate::rules::evaluate;
use crate::source::{Source, collect};
use crate::views::View;

/// Exit code when nothing could be assessed: bad input, errors, panics.
pub const UNKNOWN: u8 = 3;

pub fn main_entry() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unexpected internal error".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "spiral: internal error{place}: {} (please report it)",
            one_line(&crate::sanitize::redact_secrets(&msg))
        );
    }));
    let code = match std::panic::catch_unwind(|| {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => return usage_error(e),
        };
        match run(cli) {
            Ok(code) => code,
            Err(e) => {
                eprintln!(
                    "spiral: {}",
                    one_line(&crate::sanitize::redact_secrets(&format!("{e:#}")))
                );
                UNKNOWN
            }
        }
    }) {
        Ok(code) => code,
        Err(_) => UNKNOWN,
    };
    ExitCode::from(code)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// clap's errors are several lines with a usage block and exit 2. Help and version still
/// print normally; every real error becomes one line and exit 3.
fn usage_error(e: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            let hint = match e.kind() {
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand => {
                    "a command is required, e.g. `spiral triage TARGET`".to_string()
                }
                _ => one_line(first),
            };
            eprintln!(
                "spiral: {} (see `spiral --help`)",
                crate::sanitize::redact_secrets(&hint)
            );
            UNKNOWN
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let settings = Settings::from_args(&cli.global)?;
    match cli.command {
        Command::Triage(a) => with_runtime(triage(&settings, &a)),
        Command::Waits(a) => with_runtime(view(&settings, &a, View::Waits)),
        Command::Workers(a) => with_runtime(view(&settings, &a, View::Workers)),
        Command::Blocking(a) => with_runtime(view(&settings, &a, View::Blocking)),
        Command::Connections(a) => with_runtime(view(&settings, &a, View::Connections)),
        Command::Compiles(a) => with_runtime(view(&settings, &a, View::Compiles)),
        Command::Plancache(a) => with_runtime(view(&settings, &a, View::PlanCache)),
        Command::Capture(a) => with_runtime(capture(&settings, &a)),
        Command::Playbook { id } => playbook(id.as_deref()),
        Command::Queries { engine, name } => {
            crate::queries::print(engine.as_deref(), name.as_deref())
        }
        Command::Thresholds => thresholds(),
        Command::Completions { shell } => completions(shell),
    }
}

fn with_runtime<F: std::future::Future<Output = anyhow::Result<u8>>>(f: F) -> anyhow::Result<u8> {
    // One thread: spiral holds one connection and waits on it; a pool of workers would only
    // compete with the dying server for CPU on the host we run from.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
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
        // A closed pipe (`spiral ... | head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

async fn triage(settings: &Settings, a: &SamplingArgs) -> anyhow::Result<u8> {
    let spec = Sampling::from_args(a, &settings.connect)?;
    let mut source = Source::open(&spec, &settings.connect).await?;
    let renderer = crate::render::renderer(settings.format, settings.color);
    // The first look: gauge verdicts from the first sample, so the engineer reads something
    // within a second of connecting. Only for people (table) on a live multi-sample run.
    let first_look = source.is_live()
        && spec.samples > 1
        && settings.format == crate::cli::Format::Table
        && !settings.quiet;
    let label = source.label.clone();
    let window = collect(&mut source, settings.progress, |w| {
        if first_look {
            let assessment = evaluate(w, &settings.thresholds);
            let report = TriageReport::build(&label, w, assessment, Vec::new());
            let mut text = String::from("First look (1 sample; rate-based checks follow):\n\n");
            text.push_str(&renderer.triage(&report));
            let _ = print(&text);
        }
    })
    .await;
    let notes = if settings.quiet {
        Vec::new()
    } else {
        source.notes()
    };
    source.close().await;
    let window = window?;
    let assessment = evaluate(&window, &settings.thresholds);
    let code = exit_code(&assessment) as u8;
    let report = TriageReport::build(&label, &window, assessment, notes);
    if first_look {
        print(&format!(
            "\nAfter {}:\n",
            crate::render::window_text(&report.window)
        ))?;
    }
    print(&renderer.triage(&report))?;
    Ok(code)
}

async fn view(settings: &Settings, a: &SamplingArgs, which: View) -> anyhow::Result<u8> {
    let spec = Sampling::from_args(a, &settings.connect)?;
    let mut source = Source::open(&spec, &settings.connect).await?;
    let window = collect(&mut source, settings.progress, |_| {}).await;
    let notes = if settings.quiet {
        Vec::new()
    } else {
        source.notes()
    };
    let label = source.label.clone();
    source.close().await;
    let window = window?;
    let assessment = evaluate(&window, &settings.thresholds);
    let report = crate::views::build(
        which,
        &label,
        &window,
        &assessment,
        &settings.thresholds,
        notes,
    );
    print(&crate::render::renderer(settings.format, settings.color).view(&report))?;
    Ok(report.exit_code as u8)
}

async fn capture(settings: &Settings, a: &CaptureArgs) -> anyhow::Result<u8> {
    let spec = Sampling::build(&a.source, a.samples, &a.interval, &settings.connect)?;
    let mut source = Source::open(&spec, &settings.connect).await?;
    let header = Header::new(source.engine, &source.label, chrono::Utc::now());
    let mut writer = CaptureWriter::create(&a.output, &header)?;
    let mut written = 0u32;
    let result: anyhow::Result<()> = async {
        while let Some(snap) = source.next().await? {
            writer.write(&snap)?;
            written += 1;
            if source.remaining() == Some(0) {
                break;
            }
            let wait = source.interval();
            if !wait.is_zero()
                && !crate::source::pause(wait, settings.progress, source.remaining()).await
            {
                break;
            }
        }
        Ok(())
    }
    .await;
    source.close().await;
    if !settings.quiet {
        eprintln!(
            "spiral: wrote {written} snapshots to {}",
            a.output.display()
        );
    }
    result?;
    if written == 0 {
        anyhow::bail!("no snapshot was written");
    }
    Ok(0)
}

fn playbook(id: Option<&str>) -> anyhow::Result<u8> {
    match id {
        None => {
            let mut text = String::from("Playbooks (spiral playbook <id>):\n");
            for (id, body) in crate::playbooks::PLAYBOOKS {
                text.push_str(&format!("  {id:<28} {}\n", crate::playbooks::title(body)));
            }
            print(&text)?;
        }
        Some(id) => {
            let body = crate::playbooks::find(id).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown playbook '{}' (run `spiral playbook` for the list)",
                    crate::sanitize::clean(id)
                )
            })?;
            print(body)?;
        }
    }
    Ok(0)
}

fn thresholds() -> anyhow::Result<u8> {
    let mut text = String::from("Thresholds (override with -T NAME=VALUE):\n\n");
    for s in crate::thresholds::SPECS {
        text.push_str(&format!(
            "  {:<34} {:>8}  {}\n",
            s.name,
            crate::thresholds::show(s.kind, s.default),
            s.doc
        ));
    }
    print(&text)?;
    Ok(0)
}

fn completions(shell: CompletionTarget) -> anyhow::Result<u8> {
    print(&crate::completions::render(shell)?)?;
    Ok(0)
}
