//! Raw flags turned into validated settings, before anything connects.
//!
//! Everything a user can get wrong on the command line is caught here with a one-line
//! message, so that a bad flag never costs a connection to a server that is already dying.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::cli::{Encrypt, Format, GlobalArgs, SamplingArgs, SourceArgs};
use crate::model::session_group::SessionCuts;
use crate::model::thresholds::{Thresholds, parse_duration_secs};
use crate::target::{Secret, Target};

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    pub thresholds: Thresholds,
    pub quiet: bool,
    /// Colour on stdout: only on a terminal, never with NO_COLOR set.
    pub color: bool,
    /// Progress on stderr: only on a terminal, never for machine formats or --quiet.
    pub progress: bool,
    pub connect: ConnectSettings,
}

/// How to reach a live server.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
    pub dac: bool,
    /// The ages a sampler that counts sessions in groups splits them at (SQL Server over
    /// the DAC): the thresholds the rules compare ages against.
    pub session_cuts: SessionCuts,
    pub encrypt: Option<Encrypt>,
    pub trust_server_certificate: bool,
    pub password_stdin: bool,
}

#[derive(Debug, Clone)]
pub enum SourceSpec {
    Live(Target),
    Replay(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Sampling {
    pub source: SourceSpec,
    pub samples: u32,
    pub interval: Duration,
}

impl Settings {
    pub fn from_args(g: &GlobalArgs) -> anyhow::Result<Settings> {
        let mut thresholds = Thresholds {
            client_timeout: duration_flag("--client-timeout", &g.client_timeout)?,
            ..Thresholds::default()
        };
        if let Some(v) = &g.idle_over {
            thresholds.idle_over = duration_flag("--idle-over", v)?;
        }
        for t in &g.thresholds {
            thresholds.set(t).map_err(anyhow::Error::msg)?;
        }
        let connect_timeout = duration_flag("--connect-timeout", &g.connect_timeout)?;
        let query_timeout = duration_flag("--query-timeout", &g.query_timeout)?;
        for (flag, secs) in [
            ("--connect-timeout", connect_timeout),
            ("--query-timeout", query_timeout),
        ] {
            if !(0.1..=600.0).contains(&secs) {
                bail!("{flag} must be between 100ms and 10m");
            }
        }
        let session_cuts = SessionCuts::from_thresholds(&thresholds);
        let machine = matches!(g.format, Format::Json | Format::Slack);
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(Settings {
            format: g.format,
            thresholds,
            quiet: g.quiet,
            color: g.format == Format::Table && !no_color && std::io::stdout().is_terminal(),
            progress: !machine && !g.quiet && std::io::stderr().is_terminal(),
            connect: ConnectSettings {
                connect_timeout: Duration::from_secs_f64(connect_timeout),
                query_timeout: Duration::from_secs_f64(query_timeout),
                dac: g.dac,
                session_cuts,
                encrypt: g.encrypt,
                trust_server_certificate: g.trust_server_certificate,
                password_stdin: g.password_stdin,
            },
        })
    }
}

fn duration_flag(flag: &str, text: &str) -> anyhow::Result<f64> {
    parse_duration_secs(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

impl Sampling {
    pub fn from_args(a: &SamplingArgs, connect: &ConnectSettings) -> anyhow::Result<Sampling> {
        Self::build(&a.source, a.samples, &a.interval, connect)
    }

    pub fn build(
        source: &SourceArgs,
        samples: u32,
        interval: &str,
        connect: &ConnectSettings,
    ) -> anyhow::Result<Sampling> {
        if samples == 0 || samples > 100_000 {
            bail!("--samples must be between 1 and 100000");
        }
        let secs = duration_flag("--interval", interval)?;
        if !(0.5..=3600.0).contains(&secs) {
            bail!(
                "--interval must be between 500ms and 1h (a shorter one adds load to a struggling server)"
            );
        }
        Ok(Sampling {
            source: source_spec(source, connect)?,
            samples,
            interval: Duration::from_secs_f64(secs),
        })
    }
}

pub fn source_spec(a: &SourceArgs, connect: &ConnectSettings) -> anyhow::Result<SourceSpec> {
    if let Some(path) = &a.replay {
        return Ok(SourceSpec::Replay(path.clone()));
    }
    let (text, origin) = match &a.target {
        Some(t) => (t.clone(), "TARGET"),
        None => match env_nonempty("SPIRAL_URL") {
            Some(t) => (t, "SPIRAL_URL"),
            None => match env_nonempty("DATABASE_URL") {
                Some(t) => (t, "DATABASE_URL"),
                None => bail!(
                    "no target: give TARGET (e.g. postgres://user@host/db), --replay FILE.jsonl, or set SPIRAL_URL"
                ),
            },
        },
    };
    crate::redact::register_target_text(&text);
    let mut target = Target::parse(&text).with_context(|| origin.to_string())?;
    // --dac stays in the connect settings: the SQL Server sampler tells a port written
    // after 'admin:' (the DAC's own) from one given with --dac (the normal listener's).
    if connect.dac && target.engine != crate::model::snapshot::Engine::Mssql {
        bail!(
            "--dac is SQL Server's dedicated admin connection; {} has none: drop --dac",
            target.engine.product()
        );
    }
    if connect.password_stdin {
        target.password = Some(read_password_stdin()?);
        target.password_from = Some("--password-stdin".into());
    }
    // What the target leaves out comes from where psql/mysql would take it (PGHOST,
    // ~/.pgpass, ~/.my.cnf, MYSQL_PWD, ...), so the label names the server really used.
    crate::credentials::complete(&mut target, &crate::credentials::process_env);
    for note in &target.notes {
        eprintln!("spiral: {}", crate::sanitize::for_terminal(note));
    }
    if let Some(text) = &a.pooler {
        target.pooler = Some(Box::new(pooler_target(text, &target)?));
    }
    Ok(SourceSpec::Live(target))
}

/// `--pooler`: a PgBouncer console, and only beside a PostgreSQL database (PgBouncer pools
/// nothing else, and a console beside a console would see the same pools twice).
fn pooler_target(text: &str, database: &Target) -> anyhow::Result<Target> {
    crate::redact::register_target_text(text);
    if database.engine != crate::model::snapshot::Engine::Postgres || database.is_pgbouncer() {
        bail!(
            "--pooler goes beside a PostgreSQL target (postgres://...); {} is not one: drop --pooler",
            if database.is_pgbouncer() {
                "a PgBouncer console"
            } else {
                database.engine.product()
            }
        );
    }
    let mut pooler = Target::parse(text).context("--pooler")?;
    if !pooler.is_pgbouncer() {
        bail!("--pooler takes PgBouncer's admin console: pgbouncer://user@host:6432/pgbouncer");
    }
    crate::credentials::complete(&mut pooler, &crate::credentials::process_env);
    for note in &pooler.notes {
        eprintln!("spiral: --pooler: {}", crate::sanitize::for_terminal(note));
    }
    Ok(pooler)
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn read_password_stdin() -> anyhow::Result<Secret> {
    if std::io::stdin().is_terminal() {
        bail!(
            "--password-stdin reads a pipe (e.g. `vault read ... | spiral --password-stdin ...`); typed on a terminal the password would show: use PGPASSWORD, MYSQL_PWD or SQLCMDPASSWORD instead"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("--password-stdin: cannot read standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']);
    if pw.is_empty() {
        bail!("--password-stdin: standard input was empty");
    }
    Ok(Secret::new(pw))
}
