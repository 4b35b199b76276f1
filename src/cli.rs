//! The command-line definition. Only clap lives here: `config` turns what clap parsed into
//! validated settings before anything connects, and completions and the man page are
//! generated from this one definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
TARGET is a URL (postgres://user@host/db, mysql://..., mariadb://..., mssql://user@host:1433),
an ADO.NET connection string (\"Server=tcp:host,1433;User Id=sa;...\") or a JDBC URL. Without
one, spiral reads SPIRAL_URL, then DATABASE_URL. Passwords may also come from PGPASSWORD,
MYSQL_PWD, SQLCMDPASSWORD or --password-stdin. Targets are only ever shown redacted.

Exit codes: 0 ok, 1 warning, 2 critical, 3 unknown (nothing could be assessed, bad input,
or an error).";

#[derive(Debug, Parser)]
#[command(
    name = "spiral",
    version,
    about = "Says what kind of death spiral your database is in, with the evidence and the first safe actions",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// The caller's (or proxy's) timeout: requests running longer are wasted work.
    #[arg(long, global = true, value_name = "DUR", default_value = "15s")]
    pub client_timeout: String,

    /// When an idle connection counts toward a leak [default: 5m]. For `kill`, selects
    /// sessions idle at least this long.
    #[arg(long, global = true, value_name = "DUR")]
    pub idle_over: Option<String>,

    /// Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`).
    #[arg(
        short = 'T',
        long = "threshold",
        global = true,
        value_name = "NAME=VALUE"
    )]
    pub thresholds: Vec<String>,

    /// Print only the verdicts (no first look, no progress, no notes).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Read the password from the first line of standard input.
    #[arg(long, global = true)]
    pub password_stdin: bool,

    /// Give up connecting after this long.
    #[arg(long, global = true, value_name = "DUR", default_value = "5s")]
    pub connect_timeout: String,

    /// Give up on any one query after this long (the server is told to stop it too).
    #[arg(long, global = true, value_name = "DUR", default_value = "5s")]
    pub query_timeout: String,

    /// SQL Server: connect through the dedicated admin connection (the way in when worker
    /// threads are exhausted). Same as the `admin:` host prefix.
    #[arg(long, global = true)]
    pub dac: bool,

    /// SQL Server: encryption of the connection.
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    pub encrypt: Option<Encrypt>,

    /// SQL Server: accept the server's certificate without validating it.
    #[arg(long, global = true)]
    pub trust_server_certificate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Slack,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Encrypt {
    Off,
    On,
    Strict,
}

/// Where snapshots come from: a live server or a capture file.
#[derive(Args, Clone)]
pub struct SourceArgs {
    /// The server to sample (see below for the accepted forms).
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,

    /// Read snapshots from a capture file instead of a live server.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with = "target")]
    pub replay: Option<PathBuf>,
}

/// The raw target may hold a password: Debug never shows it.
impl std::fmt::Debug for SourceArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceArgs")
            .field("target", &self.target.as_ref().map(|_| "<redacted>"))
            .field("replay", &self.replay)
            .finish()
    }
}

#[derive(Debug, Args, Clone)]
pub struct SamplingArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// How many snapshots to take (live only; a replay uses the whole file).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub samples: u32,

    /// Time between snapshots.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub interval: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample the server, diff the samples and say what kind of spiral this is.
    #[command(after_help = AFTER_HELP)]
    Triage(SamplingArgs),
    /// Top waits now, and how they changed over the window.
    Waits(SamplingArgs),
    /// Queued tasks and active/max worker threads.
    Workers(SamplingArgs),
    /// Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles.
    Blocking(SamplingArgs),
    /// Connections by user, host, application and state, with idle ages, against the limit.
    Connections(SamplingArgs),
    /// Compile rate, compilations per batch, compile-gate queue.
    Compiles(SamplingArgs),
    /// Plan cache by object type: plans, single-use share, size.
    Plancache(SamplingArgs),
    /// Record snapshots to a capture file for later replay.
    Capture(CaptureArgs),
    /// A live view that refreshes in place: verdicts first, then gauges and sessions.
    /// Keys: s w b c k p l switch the panel, q quits.
    Watch(WatchArgs),
    /// Wait for a condition and capture the spiral in the act (like pt-stalk, any engine).
    Stalk(StalkArgs),
    /// End idle or runaway sessions safely: filters, dry run by default, re-checks.
    Kill(Box<KillArgs>),
    /// One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst
    /// verdicts and performance data, with plugin exit codes.
    Check(CheckArgs),
    /// List the playbooks, or print one.
    Playbook {
        /// A verdict id, e.g. compile-gate-saturation.
        id: Option<String>,
    },
    /// Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run.
    Queries {
        /// Only this engine's queries.
        #[arg(long, value_name = "ENGINE")]
        engine: Option<String>,
        /// One query by name (e.g. sample, or postgres/sample).
        name: Option<String>,
    },
    /// List every rule threshold with its default and meaning.
    Thresholds,
    /// Print shell completions (bash, zsh, fish, powershell, elvish) or the man page (man).
    Completions {
        #[arg(value_enum)]
        shell: CompletionTarget,
    },
}

#[derive(Debug, Args, Clone)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// How many snapshots to record.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub samples: u32,

    /// Time between snapshots.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub interval: String,

    /// The capture file to write.
    #[arg(short, long, value_name = "FILE.jsonl")]
    pub output: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct KillArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Sessions running their current statement at least this long.
    #[arg(long, value_name = "DUR")]
    pub busy_over: Option<String>,
    /// Sessions of this user (repeatable: any of them).
    #[arg(long, value_name = "USER")]
    pub user: Vec<String>,
    /// Sessions from this client host.
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// Sessions of this application name.
    #[arg(long, value_name = "APP")]
    pub app: Vec<String>,
    /// Sessions in this database.
    #[arg(long, value_name = "DB")]
    pub db: Vec<String>,
    /// Sessions in this state (idle, active, idle-in-transaction, or the engine's word).
    #[arg(long, value_name = "STATE")]
    pub state: Vec<String>,
    /// Sessions running this command (MySQL Command, SQL Server command).
    #[arg(long, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Sessions whose query text matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub match_sql: Option<String>,
    /// Never sessions of this user.
    #[arg(long, value_name = "USER")]
    pub ignore_user: Vec<String>,
    /// Never sessions from this host.
    #[arg(long, value_name = "HOST")]
    pub ignore_host: Vec<String>,
    /// Never sessions of this application.
    #[arg(long, value_name = "APP")]
    pub ignore_app: Vec<String>,
    /// Never sessions in this database.
    #[arg(long, value_name = "DB")]
    pub ignore_db: Vec<String>,
    /// Never sessions in this state.
    #[arg(long, value_name = "STATE")]
    pub ignore_state: Vec<String>,
    /// Never sessions running this command.
    #[arg(long, value_name = "COMMAND")]
    pub ignore_command: Vec<String>,
    /// Never sessions whose query matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub ignore_sql: Option<String>,
    /// Only sessions idle inside an open transaction.
    #[arg(long)]
    pub idle_in_transaction: bool,
    /// Only the heads of blocking chains.
    #[arg(long)]
    pub blocking_leaders: bool,
    /// Which matched sessions to end.
    #[arg(long, value_enum, default_value = "all")]
    pub victims: crate::kill::Victims,
    /// End at most this many sessions.
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Cancel the running statement but keep the connection (PostgreSQL, MySQL).
    #[arg(long)]
    pub query_only: bool,
    /// Also consider superuser/admin sessions.
    #[arg(long)]
    pub include_admins: bool,
    /// MySQL on RDS: use CALL mysql.rds_kill (detected automatically when possible).
    #[arg(long)]
    pub rds: bool,
    /// Actually end the sessions (the default is a dry run that prints the plan).
    #[arg(long)]
    pub execute: bool,
    /// Do not ask for confirmation (required with --execute when there is no terminal).
    #[arg(long)]
    pub yes: bool,
    /// At most this many kills per second.
    #[arg(long, value_name = "N/s", default_value = "100/s")]
    pub rate: String,
    /// Append one JSON line per action to this file, for the postmortem.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Repeat the kill every DUR (5s to 1h), re-selecting and re-checking each round, for a
    /// leak that refills; needs --for.
    #[arg(long, value_name = "DUR")]
    pub every: Option<String>,
    /// How long a repeated kill runs at most (up to 24h); needs --every.
    #[arg(long = "for", value_name = "DUR")]
    pub r#for: Option<String>,
    /// Stop a repeated kill early after N rounds in a row found nothing to end.
    #[arg(long, value_name = "N")]
    pub until_quiet: Option<u32>,
}

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Time between refreshes.
    #[arg(long, value_name = "DUR", default_value = "2s")]
    pub interval: String,
}

#[derive(Debug, Args, Clone)]
pub struct StalkArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Trigger: a verdict at a severity (connection-exhaustion:warning) or a gauge over a
    /// value ('connections>80%', 'blocked>10', 'longest_lock_wait>30s'). Repeatable: any one
    /// holding counts.
    #[arg(long = "when", value_name = "CONDITION", required = true)]
    pub when: Vec<String>,

    /// Polls in a row the condition must hold before a capture starts.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub cycles: u32,

    /// Time between polls while armed.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub interval: String,

    /// Samples in each capture.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub samples: u32,

    /// Time between the samples of a capture.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub capture_interval: String,

    /// Sleep after a capture before re-arming.
    #[arg(long, value_name = "DUR", default_value = "5m")]
    pub cooldown: String,

    /// Stop after this many captures (0: never).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_captures: u32,

    /// Do not capture when less than this is free on the output's file system.
    #[arg(long, value_name = "SIZE", default_value = "1G")]
    pub min_free: String,

    /// Stop after running this long (default: until Ctrl-C or --max-captures).
    #[arg(long = "for", value_name = "DUR")]
    pub run_for: Option<String>,

    /// The directory for captures.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// How many snapshots to take (two, so rate-based checks run).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub samples: u32,

    /// Time between snapshots.
    #[arg(long, value_name = "DUR", default_value = "2s")]
    pub interval: String,

    /// Give up and report UNKNOWN after this long, whatever the server does.
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub timeout: String,

    /// Warning bound on a metric, e.g. connections=80%, blocked=5, longest_lock_wait=10s,
    /// idle_in_transaction=3, queued_tasks=1.
    #[arg(short, long, value_name = "METRIC=VALUE")]
    pub warning: Vec<String>,

    /// Critical bound on a metric (same forms as --warning).
    #[arg(short, long, value_name = "METRIC=VALUE")]
    pub critical: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionTarget {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
    Man,
}
