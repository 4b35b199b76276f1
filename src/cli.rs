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

/// Options every command takes, before or after its name. Connection options and
/// --idle-over belong to the commands that use them (see `ConnectArgs`, `LeakArgs`); they
/// are also accepted, hidden, before the command name, as they were before.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// The caller's (or proxy's) timeout: requests running longer are wasted work.
    #[arg(long, global = true, value_name = "DUR", default_value = "15s")]
    pub client_timeout: String,

    /// See the command's own --idle-over.
    #[arg(long, value_name = "DUR", hide = true)]
    pub idle_over: Option<String>,

    /// Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`).
    #[arg(
        short = 'T',
        long = "threshold",
        global = true,
        value_name = "NAME=VALUE"
    )]
    pub thresholds: Vec<String>,

    /// Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by
    /// itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8.
    #[arg(long, global = true)]
    pub ascii: bool,

    /// Print only the verdicts (no first look, no progress, no notes).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    // Connection options before the command name (`spiral --dac triage ...`): accepted,
    // not advertised; each target-taking command lists them in its own help.
    #[arg(long, hide = true)]
    pub password_stdin: bool,
    #[arg(long, value_name = "DUR", default_value = "5s", hide = true)]
    pub connect_timeout: String,
    #[arg(long, value_name = "DUR", default_value = "5s", hide = true)]
    pub query_timeout: String,
    #[arg(long, hide = true)]
    pub dac: bool,
    #[arg(long, value_enum, value_name = "MODE", hide = true)]
    pub encrypt: Option<Encrypt>,
    #[arg(long, hide = true)]
    pub trust_server_certificate: bool,
}

impl GlobalArgs {
    /// Folds in the options given after the command name, which win.
    pub fn merge(&mut self, connect: Option<&ConnectArgs>, idle_over: Option<&str>) {
        if let Some(c) = connect {
            self.password_stdin |= c.password_stdin;
            if let Some(t) = &c.connect_timeout {
                self.connect_timeout = t.clone();
            }
            if let Some(t) = &c.query_timeout {
                self.query_timeout = t.clone();
            }
            self.dac |= c.dac;
            if c.encrypt.is_some() {
                self.encrypt = c.encrypt;
            }
            self.trust_server_certificate |= c.trust_server_certificate;
        }
        if let Some(i) = idle_over {
            self.idle_over = Some(i.to_string());
        }
    }
}

/// How to reach the server: only the commands that take a TARGET list these.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectArgs {
    /// Read the password from the first line of standard input.
    #[arg(long, help_heading = "Connection options")]
    pub password_stdin: bool,

    /// Give up connecting after this long [default: 5s].
    #[arg(long, value_name = "DUR", help_heading = "Connection options")]
    pub connect_timeout: Option<String>,

    /// Give up on any one query after this long (the server is told to stop it too)
    /// [default: 5s].
    #[arg(long, value_name = "DUR", help_heading = "Connection options")]
    pub query_timeout: Option<String>,

    /// SQL Server: connect through the dedicated admin connection (the way in when worker
    /// threads are exhausted). Same as the `admin:` host prefix.
    #[arg(long, help_heading = "Connection options")]
    pub dac: bool,

    /// SQL Server: encryption of the connection.
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        help_heading = "Connection options"
    )]
    pub encrypt: Option<Encrypt>,

    /// SQL Server: accept the server's certificate without validating it.
    #[arg(long, help_heading = "Connection options")]
    pub trust_server_certificate: bool,
}

/// --idle-over for the commands that judge leaks.
#[derive(Debug, Args, Clone, Default)]
pub struct LeakArgs {
    /// An idle connection older than this counts toward an idle-connection leak
    /// [default: 5m].
    #[arg(long, value_name = "DUR")]
    pub idle_over: Option<String>,
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

    /// PostgreSQL: the PgBouncer admin console in front of it
    /// (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees
    /// both the clients queued in the pooler and the database behind it.
    #[arg(long, value_name = "URL", conflicts_with = "replay")]
    pub pooler: Option<String>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The raw target may hold a password: Debug never shows it.
impl std::fmt::Debug for SourceArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceArgs")
            .field("target", &self.target.as_ref().map(|_| "<redacted>"))
            .field("replay", &self.replay)
            .field("pooler", &self.pooler.as_ref().map(|_| "<redacted>"))
            .field("connect", &self.connect)
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

    #[command(flatten)]
    pub leak: LeakArgs,
}

/// The focused views: sampling, and how many rows a table may show.
#[derive(Debug, Args, Clone)]
pub struct ViewArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// Rows per table [default: 20 in a table, all of them with --format json].
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample the server, diff the samples and say what kind of spiral this is.
    #[command(after_help = AFTER_HELP)]
    Triage(SamplingArgs),
    /// Top waits now, and how they changed over the window.
    Waits(ViewArgs),
    /// Queued tasks and active/max worker threads.
    Workers(ViewArgs),
    /// Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles.
    Blocking(ViewArgs),
    /// Connections by user, host, application and state, with idle ages, against the limit.
    Connections(ViewArgs),
    /// Compile rate, compilations per batch, compile-gate queue.
    Compiles(ViewArgs),
    /// Plan cache by object type: plans, single-use share, size.
    Plancache(ViewArgs),
    /// Record snapshots to a capture file for later replay.
    Capture(CaptureArgs),
    /// A live view that refreshes in place: verdicts first, then gauges and sessions.
    /// Keys: s w b c k p l switch the panel, arrows and PgUp/PgDn scroll it, q quits.
    Watch(WatchArgs),
    /// Wait for a condition and capture the spiral in the act (like pt-stalk, any engine).
    Stalk(StalkArgs),
    /// End idle or runaway sessions safely: filters, dry run by default, re-checks.
    Kill(Box<KillArgs>),
    /// One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst
    /// verdicts and performance data, with plugin exit codes.
    Check(CheckArgs),
    /// When each verdict started, changed severity and cleared over a capture (or a live
    /// run), with the key figures at each change: the postmortem's timeline.
    Timeline(TimelineArgs),
    /// One self-contained HTML file for the postmortem: charts, verdict timeline, worst
    /// moments, playbooks.
    Report(ReportArgs),
    /// List the playbooks, or print one.
    Playbook {
        /// A verdict id, e.g. compile-gate-saturation.
        #[arg(value_parser = Suggest(playbook_ids), hide_possible_values = true)]
        id: Option<String>,
    },
    /// Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run.
    Queries {
        /// Only this engine's queries.
        #[arg(long, value_name = "ENGINE", value_parser = Suggest(engine_names), hide_possible_values = true)]
        engine: Option<String>,
        /// One query by name (e.g. sample, or postgres/sample).
        name: Option<String>,
    },
    /// List every rule threshold with its default and meaning.
    Thresholds,
    /// Print shell completions (bash, zsh, fish, powershell, elvish) or a man page (man,
    /// or `man triage` for spiral-triage(1)).
    Completions {
        #[arg(value_enum)]
        shell: CompletionTarget,
        /// With `man`: the page of this command instead of spiral(1).
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
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

    /// The capture file to write. An existing file is left alone unless --force.
    #[arg(short, long, value_name = "FILE.jsonl")]
    pub output: PathBuf,

    /// Replace an existing capture file (only once the new capture has a snapshot).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct KillArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Sessions idle (or idle in a transaction) at least this long.
    #[arg(long, value_name = "DUR")]
    pub idle_over: Option<String>,
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
    pub victims: crate::model::kill::Victims,
    /// End at most this many sessions (over the whole run, rounds of --every included).
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

    #[command(flatten)]
    pub leak: LeakArgs,
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

    #[command(flatten)]
    pub leak: LeakArgs,
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

    /// Judge only these verdicts (ids as in `spiral playbook`; repeat the flag or separate
    /// with commas), e.g. --only connection-exhaustion,blocking-chain.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Never judge these verdicts (same form as --only), e.g. --ignore missing-guardrails.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub ignore: Vec<String>,
    #[command(flatten)]
    pub leak: LeakArgs,
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

#[derive(Args, Clone)]
pub struct TimelineArgs {
    /// A capture file (FILE.jsonl), or a server to sample live.
    #[arg(value_name = "FILE.jsonl|TARGET")]
    pub input: Option<String>,

    /// Read snapshots from this capture file (the same as giving it as the argument).
    #[arg(long, value_name = "FILE.jsonl", conflicts_with = "input")]
    pub replay: Option<PathBuf>,

    /// Samples the rules see at each step; the window slides one sample at a time. The
    /// default is triage's, so each row says what `spiral triage` would have said then.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub window: usize,

    /// Live only: how many samples to take.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub samples: u32,

    /// Live only: time between samples.
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub interval: String,

    #[command(flatten)]
    pub leak: LeakArgs,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// The input may be a URL with a password: Debug never shows it.
impl std::fmt::Debug for TimelineArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelineArgs")
            .field("input", &self.input.as_ref().map(|_| "<redacted>"))
            .field("replay", &self.replay)
            .field("window", &self.window)
            .field("samples", &self.samples)
            .field("interval", &self.interval)
            .field("leak", &self.leak)
            .field("connect", &self.connect)
            .finish()
    }
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub timeline: TimelineArgs,

    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE.html")]
    pub output: PathBuf,

    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Triage(_) => "triage",
            Command::Waits(_) => "waits",
            Command::Workers(_) => "workers",
            Command::Blocking(_) => "blocking",
            Command::Connections(_) => "connections",
            Command::Compiles(_) => "compiles",
            Command::Plancache(_) => "plancache",
            Command::Capture(_) => "capture",
            Command::Watch(_) => "watch",
            Command::Stalk(_) => "stalk",
            Command::Kill(_) => "kill",
            Command::Check(_) => "check",
            Command::Timeline(_) => "timeline",
            Command::Report(_) => "report",
            Command::Playbook { .. } => "playbook",
            Command::Queries { .. } => "queries",
            Command::Thresholds => "thresholds",
            Command::Completions { .. } => "completions",
        }
    }

    /// The output formats this command can honour. A format outside this list is refused
    /// before anything connects: a monitor asking for JSON must never receive plain text
    /// with exit 0.
    pub fn formats(&self) -> &'static [Format] {
        use Format::{Json, Markdown, Slack, Table};
        match self {
            Command::Triage(_)
            | Command::Waits(_)
            | Command::Workers(_)
            | Command::Blocking(_)
            | Command::Connections(_)
            | Command::Compiles(_)
            | Command::Plancache(_) => &[Table, Json, Slack, Markdown],
            Command::Timeline(_) => &[Table, Json, Markdown],
            // report writes its HTML file and says where on stdout.
            Command::Report(_) => &[Table],
            // A playbook is Markdown already: table and markdown print the same text.
            Command::Playbook { .. } => &[Table, Json, Markdown],
            Command::Check(_)
            | Command::Kill(_)
            | Command::Queries { .. }
            | Command::Thresholds => &[Table, Json],
            // capture writes its file and prints no result on stdout; watch draws a
            // screen, stalk a log, completions a script.
            Command::Capture(_)
            | Command::Watch(_)
            | Command::Stalk(_)
            | Command::Completions { .. } => &[Table],
        }
    }
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Slack => "slack",
            Format::Markdown => "markdown",
        }
    }
}

impl Command {
    /// The connection options and --idle-over given after the command name.
    pub fn local_options(&self) -> (Option<&ConnectArgs>, Option<&str>) {
        match self {
            Command::Triage(a) => (Some(&a.source.connect), a.leak.idle_over.as_deref()),
            Command::Waits(v)
            | Command::Workers(v)
            | Command::Blocking(v)
            | Command::Connections(v)
            | Command::Compiles(v)
            | Command::Plancache(v) => (
                Some(&v.sampling.source.connect),
                v.sampling.leak.idle_over.as_deref(),
            ),
            Command::Capture(a) => (Some(&a.source.connect), None),
            Command::Watch(a) => (Some(&a.source.connect), a.leak.idle_over.as_deref()),
            Command::Stalk(a) => (Some(&a.source.connect), a.leak.idle_over.as_deref()),
            Command::Kill(a) => (Some(&a.source.connect), a.idle_over.as_deref()),
            Command::Check(a) => (Some(&a.source.connect), a.leak.idle_over.as_deref()),
            Command::Timeline(a) => (Some(&a.connect), a.leak.idle_over.as_deref()),
            Command::Report(a) => (
                Some(&a.timeline.connect),
                a.timeline.leak.idle_over.as_deref(),
            ),
            Command::Playbook { .. }
            | Command::Queries { .. }
            | Command::Thresholds
            | Command::Completions { .. } => (None, None),
        }
    }
}

/// Offers values to shell completion and help without refusing others: the command itself
/// says what is wrong with an unknown value, with a suggestion (`spiral playbook idle-leak`
/// -> did you mean 'idle-connection-leak'?), and accepts aliases such as `pg`.
#[derive(Clone)]
pub struct Suggest(pub fn() -> Vec<&'static str>);

impl clap::builder::TypedValueParser for Suggest {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            (self.0)()
                .into_iter()
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

fn playbook_ids() -> Vec<&'static str> {
    crate::playbooks::PLAYBOOKS
        .iter()
        .map(|(id, _)| *id)
        .collect()
}

fn engine_names() -> Vec<&'static str> {
    crate::model::snapshot::Engine::all()
        .iter()
        .map(|e| e.name())
        .collect()
}
