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
use crate::cli::{
    CaptureArgs, CheckArgs, Cli, Command, CompletionTarget, SamplingArgs, StalkArgs, WatchArgs,
};
use crate::commands::views::View;
use crate::config::{Sampling, Settings};
use crate::report::TriageReport;
use crate::rules::evaluate;
use crate::source::{Source, collect};

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
            crate::sanitize::for_terminal(&msg)
        );
    }));
    let code = match std::panic::catch_unwind(|| {
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        register_secrets(&argv);
        if let Some(msg) = help_flag_misuse(&argv) {
            eprintln!("spiral: {msg}");
            return UNKNOWN;
        }
        let cli = match Cli::try_parse_from(&argv) {
            Ok(cli) => cli,
            Err(e) => return usage_error(e),
        };
        match run(cli) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("spiral: {}", error_line(&e));
                UNKNOWN
            }
        }
    }) {
        Ok(code) => code,
        Err(_) => UNKNOWN,
    };
    ExitCode::from(code)
}

/// Every password the command line or the environment carries, registered before
/// anything can echo it (clap's errors quote the word they did not understand).
fn register_secrets(argv: &[std::ffi::OsString]) {
    for arg in argv.iter().skip(1) {
        let arg = arg.to_string_lossy();
        if arg.contains("://") || arg.contains('=') || arg.contains('@') {
            crate::redact::register_target_text(&arg);
        }
    }
    for var in ["SPIRAL_URL", "DATABASE_URL"] {
        if let Ok(v) = std::env::var(var) {
            crate::redact::register_target_text(&v);
        }
    }
    for var in ["PGPASSWORD", "MYSQL_PWD", "SQLCMDPASSWORD"] {
        if let Ok(v) = std::env::var(var) {
            crate::redact::register(&v);
        }
    }
}

/// `-h` is help to clap and the host to psql and mysql. `spiral check -h db01` printed
/// help and exited 0, which a monitor reads as OK: help is printed only when asked for
/// alone (`spiral -h`, `spiral triage -h`); anything else beside it is an error.
fn help_flag_misuse(argv: &[std::ffi::OsString]) -> Option<String> {
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let short_h = |a: &str| a.starts_with("-h");
    if !args.iter().any(|a| short_h(a)) {
        return None;
    }
    use clap::CommandFactory;
    let cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .chain(["help".to_string()])
        .collect();
    let help_only = args
        .iter()
        .all(|a| a == "-h" || a == "--help" || names.contains(a));
    if help_only {
        return None;
    }
    Some(
        "-h means help here, not host: give the target as one URL, e.g. postgres://user@HOST:5432/db or mysql://user@HOST:3306/db (see `spiral --help`)"
            .to_string(),
    )
}

/// An error as one line: each cause once (a driver's message often repeats its source's,
/// like an OS error), control characters stripped, secrets hidden.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    crate::sanitize::for_terminal(&parts.join(": "))
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
                // Keep clap's "did you mean": `spiral triag` -> "tip: a similar
                // subcommand exists: 'triage'".
                _ => {
                    let tips: Vec<&str> = rendered
                        .lines()
                        .filter_map(|l| l.trim().strip_prefix("tip: "))
                        .collect();
                    if tips.is_empty() {
                        first.to_string()
                    } else {
                        format!("{first}; {}", tips.join("; "))
                    }
                }
            };
            eprintln!(
                "spiral: {} (see `spiral --help`)",
                crate::sanitize::for_terminal(&hint)
            );
            UNKNOWN
        }
    }
}

pub fn run(mut cli: Cli) -> anyhow::Result<u8> {
    refuse_unsupported_format(&cli.command, cli.global.format)?;
    let (connect, idle_over) = cli.command.local_options();
    cli.global.merge(connect, idle_over);
    let machine = matches!(
        cli.global.format,
        crate::cli::Format::Json | crate::cli::Format::Slack
    );
    crate::format::set_console(
        !machine && (cli.global.ascii || !crate::format::locale_is_utf8()),
        crate::format::detect_width(),
    );
    let settings = Settings::from_args(&cli.global)?;
    // Every sampling command ends promptly on Ctrl-C, SIGTERM or SIGHUP with what it has.
    // `kill` keeps the default action (stopping dead is the safe thing mid-kill), and so do
    // the commands that only print.
    if matches!(
        cli.command,
        Command::Triage(_)
            | Command::Waits(_)
            | Command::Workers(_)
            | Command::Blocking(_)
            | Command::Connections(_)
            | Command::Compiles(_)
            | Command::Plancache(_)
            | Command::Capture(_)
            | Command::Check(_)
            | Command::Stalk(_)
            | Command::Watch(_)
    ) {
        crate::signals::install();
    }
    match cli.command {
        Command::Triage(a) => with_runtime(triage(&settings, &a)),
        Command::Waits(a) => with_runtime(view(&settings, &a, View::Waits)),
        Command::Workers(a) => with_runtime(view(&settings, &a, View::Workers)),
        Command::Blocking(a) => with_runtime(view(&settings, &a, View::Blocking)),
        Command::Connections(a) => with_runtime(view(&settings, &a, View::Connections)),
        Command::Compiles(a) => with_runtime(view(&settings, &a, View::Compiles)),
        Command::Plancache(a) => with_runtime(view(&settings, &a, View::PlanCache)),
        Command::Capture(a) => with_runtime(capture(&settings, &a)),
        Command::Check(a) => check(&settings, &a),
        Command::Kill(a) => with_runtime(kill(&settings, &a, cli.global.idle_over.as_deref())),
        Command::Stalk(a) => with_runtime(stalk(&settings, &a)),
        Command::Watch(a) => with_runtime(watch(&settings, &a)),
        Command::Timeline(a) => crate::commands::timeline_cmd::timeline(&settings, &a),
        Command::Report(a) => crate::commands::timeline_cmd::report(&settings, &a),
        Command::Playbook { id } => playbook(id.as_deref(), settings.format),
        Command::Queries { engine, name } => print(&crate::queries::render(
            engine.as_deref(),
            name.as_deref(),
            settings.format,
        )?)
        .map(|_| 0),
        Command::Thresholds => thresholds(settings.format),
        Command::Completions { shell, command } => completions(shell, command.as_deref()),
    }
}

/// Before anything connects: a format the command cannot honour is an error, not text.
fn refuse_unsupported_format(cmd: &Command, format: crate::cli::Format) -> anyhow::Result<()> {
    let supported = cmd.formats();
    if supported.contains(&format) {
        return Ok(());
    }
    let names: Vec<&str> = supported.iter().map(|f| f.name()).collect();
    anyhow::bail!(
        "`spiral {}` has no --format {} output (it prints: {})",
        cmd.name(),
        format.name(),
        names.join(", ")
    )
}

fn print(text: &str) -> anyhow::Result<()> {
    // The last net: whatever a report quotes (a label, a server message, a statement),
    // nothing that looks like a credential reaches stdout; then the console's character set.
    let scrubbed = crate::redact::scrub_document(text);
    let text = crate::format::for_console(&scrubbed);
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
    let mut source = open_source(&spec, settings).await?;
    let renderer = crate::render::renderer(settings.format, settings.color);
    // The first look: gauge verdicts from the first sample, so the engineer reads something
    // within a second of connecting. Only for people (table) on a live multi-sample run.
    // Only on a terminal: a file or a pipe would get every verdict twice.
    let first_look = source.is_live()
        && spec.samples > 1
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
        && settings.format == crate::cli::Format::Table
        && !settings.quiet;
    let label = source.label.clone();
    let live = source.is_live();
    let collected = collect(&mut source, settings.progress, |w| {
        if first_look {
            let assessment = evaluate(w, &settings.thresholds);
            let report = TriageReport::build(&label, w, assessment, Vec::new());
            let mut text = String::from("First look (1 sample; rate-based checks follow):\n\n");
            text.push_str(&renderer.triage(&report));
            let _ = print(&text);
        }
    })
    .await;
    let mut notes = if settings.quiet {
        Vec::new()
    } else {
        source.notes()
    };
    source.close().await;
    let collected = collected?;
    // What ended the window early comes first: it qualifies everything else.
    let mut all = collected.notes();
    all.extend(full_note(&collected.window).filter(|_| live));
    all.append(&mut notes);
    let assessment = evaluate(&collected.window, &settings.thresholds);
    let mut report = TriageReport::build(&label, &collected.window, assessment, all);
    if collected.failed.is_some() {
        mark_incomplete(&mut report.status, &mut report.exit_code);
        // The report's "one sample only: ask for more" advice does not apply: more were
        // asked for and the server did not answer.
        report.notes.retain(|n| !n.starts_with("One sample only"));
        report
            .other_notes
            .retain(|n| !n.starts_with("One sample only"));
        // Checks still waiting for the sample that never came were not assessed.
        for state in report.checks.values_mut() {
            if *state == crate::rules::CheckState::Pending {
                *state = crate::rules::CheckState::Unknown;
            }
        }
    }
    if first_look {
        print(&format!(
            "\nAfter {}:\n",
            crate::render::window_text(&report.window)
        ))?;
    }
    print(&renderer.triage(&report))?;
    Ok(report.exit_code as u8)
}

/// A window cut short by a failed sample is never healthy: the status becomes UNKNOWN
/// (exit 3) unless something worse was already found.
fn mark_incomplete(status: &mut crate::model::verdict::Severity, exit_code: &mut i32) {
    if *status < crate::model::verdict::Severity::Unknown {
        *status = crate::model::verdict::Severity::Unknown;
        *exit_code = i32::from(UNKNOWN);
    }
}

/// Said when spiral's connection may be the last administrator slot of a full server.
fn full_note(window: &crate::model::window::Window) -> Option<String> {
    crate::commands::poller::full_server_note(window.last())
        .map(|n| format!("{n}; it gives it back as soon as this command ends."))
}

/// Opens the source unless a stop is asked for while connecting.
async fn open_source(spec: &Sampling, settings: &Settings) -> anyhow::Result<Source> {
    crate::signals::unless_stopped(Source::open(spec, &settings.connect))
        .await
        .unwrap_or_else(|| {
            anyhow::bail!(
                "stopped by {} while connecting: nothing to assess",
                crate::signals::name()
            )
        })
}

async fn view(settings: &Settings, args: &crate::cli::ViewArgs, which: View) -> anyhow::Result<u8> {
    let a = &args.sampling;
    if args.limit == Some(0) {
        anyhow::bail!("--limit must be at least 1");
    }
    // People get a screenful; machines get every row unless they ask for fewer.
    let limit = args.limit.or(match settings.format {
        crate::cli::Format::Json => None,
        _ => Some(crate::commands::views::TABLE_ROWS),
    });
    let spec = Sampling::from_args(a, &settings.connect)?;
    let mut source = open_source(&spec, settings).await?;
    let live = source.is_live();
    let collected = collect(&mut source, settings.progress, |_| {}).await;
    let mut notes = if settings.quiet {
        Vec::new()
    } else {
        source.notes()
    };
    let label = source.label.clone();
    source.close().await;
    let collected = collected?;
    let mut all = collected.notes();
    all.extend(full_note(&collected.window).filter(|_| live));
    all.append(&mut notes);
    let assessment = evaluate(&collected.window, &settings.thresholds);
    let mut report = crate::commands::views::build(
        which,
        &label,
        &collected.window,
        &assessment,
        &settings.thresholds,
        all,
        limit,
    );
    if collected.failed.is_some() {
        mark_incomplete(&mut report.status, &mut report.exit_code);
    }
    print(&crate::render::renderer(settings.format, settings.color).view(&report))?;
    Ok(report.exit_code as u8)
}

async fn capture(settings: &Settings, a: &CaptureArgs) -> anyhow::Result<u8> {
    let spec = Sampling::build(&a.source, a.samples, &a.interval, &settings.connect)?;
    // The output file first: an unwritable or taken path must not cost the server a
    // connection. The capture goes to a new file beside it and replaces nothing until done.
    let (pending, file) = crate::capture::PendingCapture::create(&a.output, a.force)?;
    let mut source = match open_source(&spec, settings).await {
        Ok(s) => s,
        Err(e) => {
            pending.abandon();
            return Err(e);
        }
    };
    let header = Header::new(source.engine, &source.label, chrono::Utc::now());
    let mut writer = CaptureWriter::new(Box::new(file), &header)?;
    let mut written = 0u32;
    let mut stopped = false;
    let result: anyhow::Result<()> = async {
        loop {
            let Some(next) = crate::signals::unless_stopped(source.next()).await else {
                stopped = true;
                break;
            };
            let Some(snap) = next? else { break };
            writer.write(&snap)?;
            written += 1;
            if source.remaining() == Some(0) {
                break;
            }
            let wait = source.interval();
            if !wait.is_zero()
                && !crate::source::pause(wait, settings.progress, source.remaining()).await
            {
                stopped = true;
                break;
            }
        }
        Ok(())
    }
    .await;
    source.close().await;
    drop(writer);
    if written == 0 {
        pending.abandon();
        result?;
        if stopped {
            anyhow::bail!(
                "stopped by {} before the first sample: no capture written",
                crate::signals::name()
            );
        }
        anyhow::bail!("no snapshot was written");
    }
    // Whatever ended the capture, the snapshots taken are evidence: keep them.
    let path = pending.finish()?;
    if !settings.quiet {
        let why = if stopped {
            format!(" (stopped by {})", crate::signals::name())
        } else {
            String::new()
        };
        eprintln!(
            "spiral: wrote {} to {}{why}",
            crate::format::plural(u64::from(written), "snapshot"),
            crate::sanitize::clean(&path.display().to_string())
        );
    }
    result.map_err(|e| {
        e.context(format!(
            "the capture stopped after {written} snapshots (kept in {})",
            path.display()
        ))
    })?;
    Ok(0)
}

/// The monitoring-plugin command. Unlike the others it reports every failure on stdout as
/// its one `SPIRAL UNKNOWN: ...` line, because that line is what the monitor shows.
///
/// `--timeout` bounds the whole process: an async deadline ends the work (DNS lookups,
/// connects, samples, a replay) and a watchdog thread prints the UNKNOWN line and exits
/// should the command's own thread be stuck past it.
fn check(settings: &Settings, a: &CheckArgs) -> anyhow::Result<u8> {
    let judged = match crate::commands::check::Judged::new(&a.only, &a.ignore) {
        Ok(j) => j,
        Err(e) => {
            let line = crate::commands::check::unknown(&crate::sanitize::for_terminal(&e));
            print(&line.text)?;
            return Ok(line.exit_code);
        }
    };
    let limit = crate::model::thresholds::parse_duration_secs(&a.timeout).ok();
    let watchdog = limit.map(|secs| {
        let text = crate::commands::check::unknown(&format!(
            "no assessment within {} (watchdog)",
            crate::format::duration_secs(secs)
        ))
        .text;
        // The async deadline answers first; the watchdog only for a stuck thread.
        let grace = std::time::Duration::from_millis(1500);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.1)) + grace);
            if claim_output() {
                let _ = print(&text);
                std::process::exit(i32::from(UNKNOWN));
            }
        })
    });
    let outcome = (|| -> anyhow::Result<crate::commands::check::CheckLine> {
        let parse = |list: &[String]| -> anyhow::Result<Vec<crate::model::gauge::Level>> {
            list.iter()
                .map(|b| crate::commands::check::parse_bound(b).map_err(anyhow::Error::msg))
                .collect()
        };
        let (warn, crit) = (parse(&a.warning)?, parse(&a.critical)?);
        let limit = crate::model::thresholds::parse_duration_secs(&a.timeout)
            .map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
        let spec = Sampling::build(&a.source, a.samples, &a.interval, &settings.connect)?;
        let label = match &spec.source {
            crate::config::SourceSpec::Live(t) => t.redacted(),
            crate::config::SourceSpec::Replay(p) => p.display().to_string(),
        };
        let work = async {
            let mut source = match Source::open(&spec, &settings.connect).await {
                Ok(s) => s,
                Err(e) => return Ok(crate::commands::check::failed(&e, &error_line(&e), &judged)),
            };
            let collected = collect(&mut source, false, |_| {}).await;
            source.close().await;
            let collected = collected?;
            // A missing grant never makes a SQL-Server-only check a reason elsewhere.
            let assessment = crate::report::for_engine(
                evaluate(&collected.window, &settings.thresholds),
                collected.window.last().engine,
            );
            let line = crate::commands::check::line(
                &collected.window,
                &assessment,
                &settings.thresholds,
                &warn,
                &crit,
                &judged,
            );
            Ok::<_, anyhow::Error>(match (&collected.failed, collected.interrupted) {
                (Some(why), _) => crate::commands::check::incomplete(line, why),
                (None, Some(sig)) => crate::commands::check::incomplete(
                    line,
                    &format!("stopped by {sig} before the last sample"),
                ),
                (None, None) => line,
            })
        };
        let deadline = std::time::Duration::from_secs_f64(limit.max(0.1));
        with_runtime(async move {
            tokio::select! {
                r = tokio::time::timeout(deadline, work) => match r {
                    Ok(r) => r,
                    Err(_) => Ok(crate::commands::check::unknown(&format!(
                        "no assessment of {label} within {}",
                        crate::format::duration_secs(limit)
                    ))),
                },
                _ = crate::signals::stopped() => Ok(crate::commands::check::unknown(&format!(
                    "stopped by {} before an assessment of {label}",
                    crate::signals::name()
                ))),
            }
        })
    })();
    let line =
        outcome.unwrap_or_else(|e| crate::commands::check::failed(&e, &error_line(&e), &judged));
    if !claim_output() {
        // The watchdog is printing its line and ending the process.
        loop {
            std::thread::park();
        }
    }
    drop(watchdog);
    match settings.format {
        crate::cli::Format::Json => print(&serde_json::to_string_pretty(&line)?)?,
        _ => print(&crate::sanitize::for_terminal(&line.text))?,
    }
    Ok(line.exit_code)
}

/// Whether this thread may print check's one line (the other contender is the watchdog).
fn claim_output() -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLAIMED: AtomicBool = AtomicBool::new(false);
    !CLAIMED.swap(true, Ordering::SeqCst)
}

/// One thread: spiral holds one connection and waits on it; a pool of workers would only
/// compete with the dying server for CPU on the host we run from.
fn with_runtime<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let out = rt.block_on(f);
    // A DNS lookup runs on a blocking thread that nothing can cancel. Waiting for it at
    // shutdown kept commands alive for the resolver's whole timeout after their own
    // deadline had passed; the process is about to exit, so leave it behind.
    rt.shutdown_background();
    out
}

async fn kill(
    settings: &Settings,
    a: &crate::cli::KillArgs,
    idle_over: Option<&str>,
) -> anyhow::Result<u8> {
    let report = crate::commands::kill_exec::run(a, idle_over, &settings.connect).await?;
    let text = match settings.format {
        crate::cli::Format::Json => serde_json::to_string_pretty(&report)?,
        _ => crate::commands::kill_exec::render_table(&report),
    };
    print(&text)?;
    let failed = report.stopped.is_some()
        || report
            .actions
            .iter()
            .any(|x| x.outcome == crate::model::kill::Outcome::Failed);
    Ok(u8::from(failed))
}

async fn watch(settings: &Settings, a: &WatchArgs) -> anyhow::Result<u8> {
    let secs = crate::model::thresholds::parse_duration_secs(&a.interval)
        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    if !(0.5..=3600.0).contains(&secs) {
        anyhow::bail!("--interval must be between 500ms and 1h");
    }
    let spec = crate::config::source_spec(&a.source, &settings.connect)?;
    let poller = crate::commands::poller::Poller::open(&spec, &settings.connect)?;
    crate::commands::watch::run(
        poller,
        std::time::Duration::from_secs_f64(secs),
        &settings.thresholds,
    )
    .await
}

async fn stalk(settings: &Settings, a: &StalkArgs) -> anyhow::Result<u8> {
    use crate::commands::stalk::{Condition, StalkPlan, parse_bytes};
    let dur = |flag: &str, v: &str| -> anyhow::Result<std::time::Duration> {
        let secs = crate::model::thresholds::parse_duration_secs(v)
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        Ok(std::time::Duration::from_secs_f64(secs))
    };
    let conditions = a
        .when
        .iter()
        .map(|c| Condition::parse(c).map_err(|e| anyhow::anyhow!("--when: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let poll_every = dur("--interval", &a.interval)?;
    let capture_every = dur("--capture-interval", &a.capture_interval)?;
    // Polling a struggling server faster than twice a second adds to its load.
    for (flag, d) in [
        ("--interval", poll_every),
        ("--capture-interval", capture_every),
    ] {
        if d < std::time::Duration::from_millis(500) {
            anyhow::bail!("{flag} must be at least 500ms");
        }
    }
    let plan = StalkPlan {
        conditions,
        cycles: a.cycles.max(1),
        poll_every,
        samples: a.samples.max(1),
        capture_every,
        cooldown: dur("--cooldown", &a.cooldown)?,
        max_captures: a.max_captures,
        min_free: parse_bytes(&a.min_free).map_err(|e| anyhow::anyhow!("--min-free: {e}"))?,
        dir: a.output.clone(),
        stop_after: a.run_for.as_deref().map(|v| dur("--for", v)).transpose()?,
    };
    let spec = crate::config::source_spec(&a.source, &settings.connect)?;
    let mut poller = crate::commands::poller::Poller::open(&spec, &settings.connect)?;
    let poller_is_live = poller.is_live();
    let result =
        crate::commands::stalk::run(&mut poller, &plan, &settings.thresholds, settings.quiet).await;
    let answered = poller.answered();
    let last_error = poller.last_error().map(str::to_string);
    poller.close().await;
    result?;
    // A stalker that never got an answer watched nothing: a runbook must not read that
    // as "no spiral happened".
    if poller_is_live && !answered {
        anyhow::bail!(
            "the server never answered, so nothing was watched{}",
            last_error
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn playbook(id: Option<&str>, format: crate::cli::Format) -> anyhow::Result<u8> {
    let json = format == crate::cli::Format::Json;
    match id {
        None if json => print(&serde_json::to_string_pretty(
            &crate::playbooks::listing_json(),
        )?)?,
        None => {
            let mut text = String::from("Playbooks (spiral playbook <id>):\n");
            for (id, body) in crate::playbooks::PLAYBOOKS {
                text.push_str(&format!("  {id:<28} {}\n", crate::playbooks::title(body)));
            }
            print(&text)?;
        }
        Some(id) => {
            let body = crate::playbooks::find(id).ok_or_else(|| {
                let hint = crate::playbooks::closest(id)
                    .map(|c| format!("did you mean '{c}'? "))
                    .unwrap_or_default();
                anyhow::anyhow!(
                    "unknown playbook '{}' ({hint}run `spiral playbook` for the list)",
                    crate::sanitize::clean(id)
                )
            })?;
            if json {
                print(&serde_json::to_string_pretty(&crate::playbooks::json(
                    id, body,
                ))?)?;
            } else {
                print(body)?;
            }
        }
    }
    Ok(0)
}

fn thresholds(format: crate::cli::Format) -> anyhow::Result<u8> {
    if format == crate::cli::Format::Json {
        print(&serde_json::to_string_pretty(
            &crate::render::thresholds_json(),
        )?)?;
        return Ok(0);
    }
    print(&crate::render::thresholds_table())?;
    Ok(0)
}

fn completions(shell: CompletionTarget, command: Option<&str>) -> anyhow::Result<u8> {
    print(&crate::completions::render(shell, command)?)?;
    Ok(0)
}
