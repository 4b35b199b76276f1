//! Carrying out a kill plan: confirmation, rate limit, re-check, log, and the look
//! afterwards at whether the clients came straight back.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cli::KillArgs;
use crate::config::{ConnectSettings, SourceSpec};
use crate::model::kill::{
    Filters, KillTarget, Outcome, Recheck, Selection, Spared, Still, Unseen, Victim, recheck,
    select,
};
use crate::model::snapshot::Snapshot;
use crate::model::thresholds::parse_duration_secs;

#[derive(Debug, Clone, Serialize)]
pub struct Action {
    #[serde(flatten)]
    pub victim: Victim,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether the clients reconnected after the kill.
#[derive(Debug, Clone, Serialize)]
pub struct Refill {
    pub seconds_after: f64,
    /// Sessions of the same users/applications/hosts that were not there before.
    pub new_sessions: u64,
    pub killed: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KillReport {
    pub schema: &'static str,
    pub target: String,
    pub engine: crate::model::snapshot::Engine,
    pub executed: bool,
    pub query_only: bool,
    pub actions: Vec<Action>,
    pub spared: Vec<Spared>,
    /// Sessions left alone because spiral could not see them well enough to judge, by why,
    /// with the grant that would let it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<Unseen>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refill: Option<Refill>,
    /// Why the run stopped before the end of the plan; what was done until then is above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// `--every`/`--for`: the rounds run (or, in a dry run, the schedule that would run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    pub seconds: f64,
}

/// The smallest and largest gaps between rounds, and the longest a loop may run: a loop
/// that hammers the server or outlives the shift is a hazard of its own.
const EVERY_MIN_SECS: f64 = 5.0;
const EVERY_MAX_SECS: f64 = 3600.0;
const FOR_MAX_SECS: f64 = 24.0 * 3600.0;
const UNTIL_QUIET_MAX: u32 = 1000;

/// `--every`, `--for`, `--until-quiet`, checked.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub every: Duration,
    pub total: Duration,
    pub until_quiet: Option<u32>,
}

impl Schedule {
    /// Rounds start at 0, every, 2 x every, ... while before the end of --for.
    pub fn max_rounds(&self) -> u64 {
        (self.total.as_secs_f64() / self.every.as_secs_f64())
            .ceil()
            .max(1.0) as u64
    }
}

pub fn schedule(a: &KillArgs) -> anyhow::Result<Option<Schedule>> {
    let secs =
        |flag: &str, v: &str| parse_duration_secs(v).map_err(|e| anyhow::anyhow!("{flag}: {e}"));
    let (every, total) = match (a.every.as_deref(), a.r#for.as_deref()) {
        (None, None) => {
            if a.until_quiet.is_some() {
                bail!("--until-quiet needs --every and --for");
            }
            return Ok(None);
        }
        (Some(_), None) | (None, Some(_)) => {
            bail!("--every and --for go together: how often, and for how long at most")
        }
        (Some(e), Some(f)) => (secs("--every", e)?, secs("--for", f)?),
    };
    if !(EVERY_MIN_SECS..=EVERY_MAX_SECS).contains(&every) {
        bail!("--every must be between 5s and 1h");
    }
    if !(every..=FOR_MAX_SECS).contains(&total) {
        bail!("--for must be at least --every and at most 24h");
    }
    if let Some(n) = a.until_quiet
        && !(1..=UNTIL_QUIET_MAX).contains(&n)
    {
        bail!("--until-quiet must be between 1 and {UNTIL_QUIET_MAX} rounds");
    }
    Ok(Some(Schedule {
        every: Duration::from_secs_f64(every),
        total: Duration::from_secs_f64(total),
        until_quiet: a.until_quiet,
    }))
}

/// One round of a repeated kill.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub round: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Sessions the round selected (after the filters and the safety exclusions).
    pub selected: u64,
    pub killed: u64,
    /// Re-checked and found changed, or spared by the server in the kill statement.
    pub spared: u64,
    pub gone: u64,
    pub failed: u64,
    /// Matching sessions that appeared since the previous round, per minute: how fast the
    /// leak refills. None for the first round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refill_per_min: Option<f64>,
}

impl Round {
    fn line(&self, max_rounds: u64) -> String {
        let refill = self
            .refill_per_min
            .map(|r| format!("; refill {}/min", crate::format::decimal(r)))
            .unwrap_or_default();
        format!(
            "round {}/{max_rounds} {}: selected {}, killed {}, spared {}, gone {}, failed {}{refill}",
            self.round,
            self.at.format("%H:%M:%S"),
            self.selected,
            self.killed,
            self.spared,
            self.gone,
            self.failed,
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Repeat {
    pub every_secs: f64,
    pub for_secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_quiet: Option<u32>,
    pub max_rounds: u64,
    pub rounds: Vec<Round>,
    /// Why the loop ended: "time", "quiet", "interrupted", "server stopped answering",
    /// "stopped" (see `stopped`); absent in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

impl Repeat {
    fn of(s: &Schedule) -> Repeat {
        Repeat {
            every_secs: s.every.as_secs_f64(),
            for_secs: s.total.as_secs_f64(),
            until_quiet: s.until_quiet,
            max_rounds: s.max_rounds(),
            rounds: Vec::new(),
            ended: None,
        }
    }
}

/// `idle_over` is the global `--idle-over`, when it was given.
pub fn filters(a: &KillArgs, idle_over: Option<&str>) -> anyhow::Result<Filters> {
    let ms = |flag: &str, v: Option<&str>| -> anyhow::Result<Option<u64>> {
        v.map(|t| {
            parse_duration_secs(t)
                .map(|s| (s * 1000.0) as u64)
                .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        })
        .transpose()
    };
    let re = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<regex::Regex>> {
        v.as_deref()
            .map(|r| {
                regex::Regex::new(r).map_err(|e| {
                    anyhow::anyhow!(
                        "{flag}: {}",
                        e.to_string().lines().last().unwrap_or("bad regex")
                    )
                })
            })
            .transpose()
    };
    Ok(Filters {
        idle_over_ms: ms("--idle-over", idle_over)?,
        busy_over_ms: ms("--busy-over", a.busy_over.as_deref())?,
        users: a.user.clone(),
        hosts: a.host.clone(),
        apps: a.app.clone(),
        dbs: a.db.clone(),
        states: a.state.clone(),
        commands: a.command.clone(),
        match_sql: re("--match-sql", &a.match_sql)?,
        ignore_users: a.ignore_user.clone(),
        ignore_hosts: a.ignore_host.clone(),
        ignore_apps: a.ignore_app.clone(),
        ignore_dbs: a.ignore_db.clone(),
        ignore_states: a.ignore_state.clone(),
        ignore_commands: a.ignore_command.clone(),
        ignore_sql: re("--ignore-sql", &a.ignore_sql)?,
        idle_in_transaction: a.idle_in_transaction,
        blocking_leaders: a.blocking_leaders,
        include_admins: a.include_admins,
    })
}

fn parse_rate(text: &str) -> anyhow::Result<f64> {
    let n: f64 = text
        .trim()
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| anyhow::anyhow!("--rate: '{text}' is not a rate (e.g. 50/s)"))?;
    if !(0.1..=100_000.0).contains(&n) {
        bail!("--rate must be between 0.1/s and 100000/s");
    }
    Ok(n)
}

fn confirm(
    n: usize,
    target: &str,
    yes: bool,
    query_only: bool,
    repeat: Option<&Schedule>,
    plan: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        bail!("--execute without a terminal needs --yes (nothing was killed)");
    }
    eprint!("{}", plan());
    let what = if query_only {
        "Cancel the statements of"
    } else {
        "End"
    };
    let again = repeat
        .map(|r| {
            format!(
                ", then every {} for up to {} the sessions that match again",
                crate::format::duration_secs(r.every.as_secs_f64()),
                crate::format::duration_secs(r.total.as_secs_f64())
            )
        })
        .unwrap_or_default();
    eprint!(
        "{what} {} on {target}{again}? Type yes to go on: ",
        crate::format::plural(n as u64, "session")
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not confirmed: nothing was killed");
    }
    Ok(())
}

/// The --log file. Every kill is written (and flushed) before it is sent: a kill that
/// cannot be put on record is not made.
struct KillLog {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl KillLog {
    fn open(path: Option<&Path>) -> anyhow::Result<Option<KillLog>> {
        path.map(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(|file| KillLog {
                    file,
                    path: p.to_path_buf(),
                })
                .with_context(|| format!("cannot open --log {}", p.display()))
        })
        .transpose()
    }

    /// One JSON line, written whole and flushed. File writes are not buffered in user
    /// space, so a full disk (ENOSPC) or a broken mount is reported here, not later.
    fn write(&mut self, line: &serde_json::Value) -> anyhow::Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .with_context(|| format!("cannot write --log {}", self.path.display()))
    }

    /// The intent, before the statement: what is about to be ended, and how it is checked.
    fn intent(&mut self, target: &str, v: &Victim, still: Still) -> anyhow::Result<()> {
        self.write(&serde_json::json!({
            "time": chrono::Utc::now(),
            "target": target,
            "intent": {"id": v.id, "user": v.user, "connected_at": v.connected_at,
                       "statement": v.statement, "unless_changed": still},
        }))
    }

    fn action(&mut self, target: &str, a: &Action) -> anyhow::Result<()> {
        self.write(&serde_json::json!({
            "time": chrono::Utc::now(),
            "target": target,
            "action": a,
        }))
    }
}

/// The sample the selection is made from: the last snapshot of a capture (a plan only), or
/// one sessions-only sample of the live target on the connection every later step uses.
async fn first_look(
    spec: &SourceSpec,
    execute: bool,
    connect: &ConnectSettings,
) -> anyhow::Result<(Option<crate::engine::LiveSampler>, Snapshot, String)> {
    match spec {
        SourceSpec::Replay(path) => {
            if execute {
                bail!("--execute needs a live target: a capture can only be planned against");
            }
            let mut reader = crate::capture::CaptureReader::open(path)?;
            let label = reader.header().target.clone();
            let mut last = None;
            while let Some(s) = reader.next_snapshot()? {
                last = Some(s);
            }
            Ok((None, last.context("no snapshot in the capture")?, label))
        }
        SourceSpec::Live(target) => {
            let mut s = crate::engine::connect(target, connect).await?;
            let mut snap = s.sample_sessions().await?;
            snap.sanitize();
            Ok((Some(s), snap, target.redacted()))
        }
    }
}

/// The victims as a dry run shows them: chosen, nothing sent.
fn planned(victims: impl Iterator<Item = Victim>) -> Vec<Action> {
    victims
        .map(|victim| Action {
            victim,
            outcome: Outcome::Planned,
            note: None,
        })
        .collect()
}

/// `spiral kill`: select from one sample, show the plan, and unless it is a dry run confirm,
/// then end the victims in rounds (once, or every `--every` for `--for`) and look for
/// reconnects. Each step is a function below; this one only orders them.
pub async fn run(
    a: &KillArgs,
    idle_over: Option<&str>,
    connect: &ConnectSettings,
) -> anyhow::Result<KillReport> {
    let f = filters(a, idle_over)?;
    if f.selects_nothing() {
        bail!(
            "no filter given: spiral kill never selects every session (use --idle-over, --busy-over, --user, --host, --app, --db, --state, --command, --match-sql, --idle-in-transaction or --blocking-leaders)"
        );
    }
    let rate = parse_rate(&a.rate)?;
    let plan_repeat = schedule(a)?;
    let spec = crate::config::source_spec(&a.source, connect)?;
    let started = Instant::now();
    let (mut sampler, first, label) = first_look(&spec, a.execute, connect).await?;
    let selected_at = Instant::now();
    let Selection {
        victims,
        spared,
        unseen,
    } = select(&first, &f, a.victims, a.max, a.query_only, a.rds).map_err(anyhow::Error::msg)?;
    let still = Still::of(&f);
    let mut report = KillReport {
        schema: "spiral.kill/v1",
        target: label.clone(),
        engine: first.engine,
        executed: a.execute,
        query_only: a.query_only,
        actions: Vec::new(),
        spared,
        unseen,
        refill: None,
        stopped: None,
        repeat: plan_repeat.as_ref().map(Repeat::of),
        seconds: 0.0,
    };
    // A loop runs on even when its first round finds nothing: the leak refills.
    let Some(sampler) = sampler
        .as_mut()
        .filter(|_| a.execute && (!victims.is_empty() || plan_repeat.is_some()))
    else {
        report.actions = planned(victims.iter().cloned());
        report.seconds = started.elapsed().as_secs_f64();
        if let Some(s) = sampler {
            s.close().await;
        }
        return Ok(report);
    };
    // On a terminal the plan is shown above the question: nobody should answer "yes"
    // to a number.
    let plan = || {
        let mut plan = report.clone();
        plan.executed = false;
        plan.actions = planned(victims.iter().cloned());
        let text = render_table(&plan).replace(DRY_RUN, "");
        crate::format::for_console(&text).into_owned()
    };
    confirm(
        victims.len(),
        &label,
        a.yes,
        a.query_only,
        plan_repeat.as_ref(),
        plan,
    )?;
    let mut run = Runner {
        args: a,
        filters: &f,
        still,
        managed_kill: a.rds || first.server.managed_kill,
        label: &label,
        log: KillLog::open(a.log.as_deref())?,
        gap: Duration::from_secs_f64(1.0 / rate),
        next_slot: Instant::now(),
        // The selection sample serves as the first re-check while it is fresh enough.
        fresh: Some((selected_at, crate::model::kill::Fresh::new(first.clone()))),
    };
    let Some(plan) = plan_repeat else {
        run.round(sampler, victims, &mut report).await?;
        report.seconds = started.elapsed().as_secs_f64();
        refill_check(sampler, &first, a, &mut report).await;
        return Ok(report);
    };
    repeat(&mut run, sampler, victims, plan, &mut report).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Did the clients come straight back? Look again after a short pause (single runs; a loop
/// measures the refill between its rounds instead).
async fn refill_check(
    sampler: &mut crate::engine::LiveSampler,
    first: &Snapshot,
    a: &KillArgs,
    report: &mut KillReport,
) {
    let killed = report
        .actions
        .iter()
        .filter(|x| x.outcome == Outcome::Killed)
        .count() as u64;
    if killed > 0 && !a.query_only {
        // Look every quarter second for at most 2 s, and stop as soon as the answer is
        // known: a pool that reconnects does so within milliseconds, and half the killed
        // sessions back settles it. Only "no reconnect" needs the whole 2 s.
        let (most, step) = (Duration::from_secs(2), Duration::from_millis(250));
        let begun = Instant::now();
        loop {
            tokio::time::sleep(step).await;
            let Ok(mut after) = sampler.sample_sessions().await else {
                break;
            };
            after.sanitize();
            let r = refill(first, &after, &report.actions, killed, begun.elapsed());
            let settled = r.new_sessions > 0 && r.new_sessions * 2 >= killed;
            report.refill = Some(r);
            if settled || begun.elapsed() >= most {
                break;
            }
        }
    }
}

/// The rounds of `--every`/`--for`: each re-selects from a new sample, re-checks and
/// rate-limits exactly like a single run, on the same one connection.
async fn repeat(
    run: &mut Runner<'_>,
    sampler: &mut crate::engine::LiveSampler,
    first_victims: Vec<Victim>,
    plan: Schedule,
    report: &mut KillReport,
) -> anyhow::Result<()> {
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let is_interrupted = || interrupted.load(std::sync::atomic::Ordering::SeqCst);
    let loop_start = Instant::now();
    let max_rounds = plan.max_rounds();
    let mut victims = first_victims;
    let mut round_start = loop_start;
    let mut previous_start: Option<Instant> = None;
    let mut quiet = 0u32;
    let mut n = 1u64;
    let ended = loop {
        let selected = victims.len() as u64;
        let before = report.actions.len();
        run.round(sampler, victims, report).await?;
        let done = &report.actions[before..];
        let count = |o: Outcome| done.iter().filter(|x| x.outcome == o).count() as u64;
        let round = Round {
            round: n,
            at: chrono::Utc::now(),
            selected,
            killed: count(Outcome::Killed),
            spared: count(Outcome::Spared),
            gone: count(Outcome::Gone),
            failed: count(Outcome::Failed),
            refill_per_min: previous_start.map(|p| {
                let mins = round_start.duration_since(p).as_secs_f64() / 60.0;
                if mins > 0.0 {
                    selected as f64 / mins
                } else {
                    0.0
                }
            }),
        };
        eprintln!("{}", round.line(max_rounds));
        if let Some(r) = report.repeat.as_mut() {
            r.rounds.push(round);
        }
        if report.stopped.is_some() {
            break "stopped";
        }
        quiet = if selected == 0 { quiet + 1 } else { 0 };
        if plan.until_quiet.is_some_and(|q| quiet >= q) {
            break "quiet";
        }
        let next = loop_start + plan.every.mul_f64(n as f64);
        if n >= max_rounds || next >= loop_start + plan.total {
            break "time";
        }
        // Wait for the next round in short steps, so that Ctrl-C ends the loop promptly.
        while Instant::now() < next && !is_interrupted() {
            let left = next.saturating_duration_since(Instant::now());
            tokio::time::sleep(left.min(Duration::from_millis(200))).await;
        }
        if is_interrupted() {
            break "interrupted";
        }
        let mut snap = match sampler.sample_sessions().await {
            Ok(s) => s,
            Err(e) => {
                report.stopped = Some(format!(
                    "the server stopped answering, so the loop ended: {}",
                    crate::sanitize::for_terminal(&format!("{e:#}"))
                ));
                break "server stopped answering";
            }
        };
        snap.sanitize();
        // --max bounds the whole run, not each round: what earlier rounds ended counts.
        let ended = report
            .actions
            .iter()
            .filter(|x| x.outcome == Outcome::Killed)
            .count();
        let left = run.args.max.map(|m| m.saturating_sub(ended));
        if left == Some(0) {
            break "--max reached";
        }
        let sel = select(
            &snap,
            run.filters,
            run.args.victims,
            left,
            run.args.query_only,
            run.args.rds,
        )
        .map_err(anyhow::Error::msg)?;
        victims = sel.victims;
        run.fresh = Some((Instant::now(), crate::model::kill::Fresh::new(snap)));
        previous_start = Some(round_start);
        round_start = Instant::now();
        n += 1;
    };
    watcher.abort();
    if let Some(r) = report.repeat.as_mut() {
        r.ended = Some(ended.to_string());
    }
    Ok(())
}

/// What one round of kills needs, kept across rounds: the log, the rate limit's next slot
/// and the last sample used for re-checks.
struct Runner<'a> {
    args: &'a KillArgs,
    filters: &'a Filters,
    still: Still,
    managed_kill: bool,
    label: &'a str,
    log: Option<KillLog>,
    gap: Duration,
    next_slot: Instant,
    fresh: Option<(Instant, crate::model::kill::Fresh)>,
}

impl Runner<'_> {
    /// Ends the victims a batch at a time: rate limit, re-check against a fresh sample, the
    /// intents on record, then one checked statement for the batch (the server re-verifies
    /// each victim in it). Sets `report.stopped` when it must stop.
    async fn round(
        &mut self,
        sampler: &mut crate::engine::LiveSampler,
        victims: Vec<Victim>,
        report: &mut KillReport,
    ) -> anyhow::Result<()> {
        let (a, f, still, label) = (self.args, self.filters, self.still, self.label);
        let batch = batch_size(self.gap);
        let mut victims = victims.into_iter().peekable();
        while victims.peek().is_some() {
            let chunk: Vec<Victim> = victims.by_ref().take(batch).collect();
            // The rate limit: a batch takes as many slots as it has victims.
            let now = Instant::now();
            if self.next_slot > now {
                tokio::time::sleep(self.next_slot - now).await;
            }
            self.next_slot = Instant::now().max(self.next_slot) + self.gap * chunk.len() as u32;
            // Re-check against a sample at most half a second old: ids are reused in a storm.
            if self
                .fresh
                .as_ref()
                .is_none_or(|(t, _)| t.elapsed() > Duration::from_millis(500))
            {
                match sampler.sample_sessions().await {
                    Ok(mut snap) => {
                        snap.sanitize();
                        self.fresh = Some((Instant::now(), crate::model::kill::Fresh::new(snap)));
                    }
                    // Without a fresh sample no victim can be re-checked: stop, and still
                    // report what was already done.
                    Err(e) => {
                        report.stopped = Some(format!(
                            "the re-check sample failed, so no further session was ended: {}",
                            crate::sanitize::for_terminal(&format!("{e:#}"))
                        ));
                        return Ok(());
                    }
                }
            }
            let current = self
                .fresh
                .as_ref()
                .map(|(_, s)| s)
                .context("no fresh sample")?;
            let mut settled: Vec<Action> = Vec::new();
            let mut to_kill: Vec<Victim> = Vec::new();
            for victim in chunk {
                match recheck(&victim, current, f) {
                    Recheck::Gone => settled.push(Action {
                        victim,
                        outcome: Outcome::Gone,
                        note: Some("already gone".into()),
                    }),
                    Recheck::Changed(why) => settled.push(Action {
                        victim,
                        outcome: Outcome::Spared,
                        note: Some(why),
                    }),
                    Recheck::Same => to_kill.push(victim),
                }
            }
            // On record before it acts: if an intent cannot be written, nothing more is sent.
            let mut unrecorded = None;
            if let Some(log) = self.log.as_mut() {
                for (i, victim) in to_kill.iter().enumerate() {
                    if let Err(e) = log.intent(label, victim, still) {
                        unrecorded = Some((i, e));
                        break;
                    }
                }
            }
            let stop_at = unrecorded.as_ref().map_or(to_kill.len(), |(i, _)| *i);
            let targets: Vec<KillTarget> = to_kill[..stop_at]
                .iter()
                .map(|v| KillTarget {
                    id: v.id,
                    connected_at: v.connected_at,
                    still,
                })
                .collect();
            let outcomes = sampler
                .kill_batch(&targets, a.query_only, self.managed_kill)
                .await;
            let mut actions = settled;
            actions.extend(to_kill.drain(..stop_at).zip(outcomes).map(|(victim, r)| {
                match r {
                    Ok(Outcome::Gone) => Action {
                        victim,
                        outcome: Outcome::Gone,
                        note: Some("gone before the statement ran".into()),
                    },
                    Ok(Outcome::Spared) => Action {
                        victim,
                        outcome: Outcome::Spared,
                        note: Some(
                            "the server found it no longer in the state it was chosen for, in the kill statement itself"
                                .into(),
                        ),
                    },
                    Ok(outcome) => Action {
                        victim,
                        outcome,
                        note: None,
                    },
                    Err(e) => Action {
                        victim,
                        outcome: Outcome::Failed,
                        note: Some(crate::sanitize::for_terminal(&format!("{e:#}"))),
                    },
                }
            }));
            for action in actions {
                let logged = self
                    .log
                    .as_mut()
                    .map_or(Ok(()), |l| l.action(label, &action));
                report.actions.push(action);
                if let Err(e) = logged {
                    report.stopped =
                        Some(format!("{e:#}: stopped so that every kill stays on record"));
                    return Ok(());
                }
            }
            if let Some((_, e)) = unrecorded {
                let done = report.actions.iter().any(|x| x.outcome == Outcome::Killed);
                if !done {
                    bail!("{e:#}: nothing was killed, so that no kill goes unrecorded");
                }
                let next = to_kill.first().map_or(0, |v| v.id);
                report.stopped = Some(format!(
                    "{e:#}: stopped before session {next} so that no kill goes unrecorded"
                ));
                return Ok(());
            }
        }
        Ok(())
    }
}

/// How many victims one kill statement takes: 100 ms worth of the rate limit, at least one
/// and at most 2,000 (one statement for a whole leak of that size: every statement more
/// scans the backends again and keeps the rest alive longer).
fn batch_size(gap: Duration) -> usize {
    let per_100ms = Duration::from_millis(100).as_secs_f64() / gap.as_secs_f64().max(1e-9);
    (per_100ms as usize).clamp(1, 2000)
}

fn refill(
    before: &Snapshot,
    after: &Snapshot,
    actions: &[Action],
    killed: u64,
    pause: Duration,
) -> Refill {
    let users: Vec<&str> = actions
        .iter()
        .filter_map(|x| x.victim.user.as_deref())
        .collect();
    let apps: Vec<&str> = actions
        .iter()
        .filter_map(|x| x.victim.app.as_deref())
        .collect();
    // A session is known by its id and its start time together: PostgreSQL pids and SQL
    // Server session ids come back at once, so a client that reconnected may hold the very
    // id of the session that was just ended.
    let old: std::collections::HashSet<(i64, Option<chrono::DateTime<chrono::Utc>>)> = before
        .sessions
        .iter()
        .map(|s| (s.id, s.connected_at))
        .collect();
    let new_sessions = after
        .client_sessions()
        .filter(|s| !old.contains(&(s.id, s.connected_at)))
        .filter(|s| {
            s.user.as_deref().is_some_and(|u| users.contains(&u))
                && (apps.is_empty() || s.application.as_deref().is_some_and(|p| apps.contains(&p)))
        })
        .count() as u64;
    let message = if new_sessions * 2 >= killed && new_sessions > 0 {
        format!(
            "{new_sessions} new sessions from the same users appeared within {:.1}s of ending {killed}: the clients reconnect and refill the slots, so the fix must happen in the application's pool (max size, idle timeout) or its deployment",
            pause.as_secs_f64()
        )
    } else if new_sessions > 0 {
        format!(
            "{new_sessions} new sessions from the same users appeared within {:.1}s: watch whether they keep coming (`spiral watch`)",
            pause.as_secs_f64()
        )
    } else {
        format!(
            "no new sessions from the same users within {:.1}s",
            pause.as_secs_f64()
        )
    };
    Refill {
        seconds_after: pause.as_secs_f64(),
        new_sessions,
        killed,
        message,
    }
}

const DRY_RUN: &str = "Dry run: nothing was done. Add --execute to act.\n";

/// The plan or the result, for people: one aligned row per session, within the console's
/// width (the statement gets what room is left; `--format json` has it whole).
pub fn render_table(r: &KillReport) -> String {
    use crate::format::{duration_ms, plural};
    use crate::render::grid::{self, Align};
    let mut out = String::new();
    let n = r
        .actions
        .iter()
        .filter(|a| !r.executed || a.outcome == Outcome::Killed)
        .count() as u64;
    let sessions = plural(n, "session");
    let head = match (r.executed, r.query_only) {
        (false, false) => format!("Would end {sessions}"),
        (false, true) => format!("Would cancel the statements of {sessions}"),
        (true, false) => format!("Ended {sessions}"),
        (true, true) => format!("Cancelled the statements of {sessions}"),
    };
    out.push_str(&crate::format::wrap(
        &format!("{head} on {}", r.target),
        crate::format::width(),
        "",
    ));
    out.push('\n');
    if !r.executed {
        out.push_str(DRY_RUN);
    }
    const SHOWN: usize = 50;
    let outcome = |o: &Outcome| -> &'static str {
        match o {
            Outcome::Planned => "planned",
            Outcome::Killed if r.query_only => "cancelled",
            Outcome::Killed => "ended",
            Outcome::Gone => "gone",
            Outcome::Spared => "spared",
            Outcome::Failed => "failed",
        }
    };
    let rows: Vec<Vec<String>> = r
        .actions
        .iter()
        .take(SHOWN)
        .map(|a| {
            let v = &a.victim;
            let mut statement = v.statement.clone();
            if let Some(note) = &a.note {
                statement = format!("({note}) {statement}");
            }
            vec![
                v.id.to_string(),
                v.user.clone().unwrap_or_default(),
                v.host.clone().unwrap_or_default(),
                v.state.clone(),
                duration_ms(v.age_ms),
                outcome(&a.outcome).to_string(),
                statement,
            ]
        })
        .collect();
    if !rows.is_empty() {
        let header: Vec<String> = ["id", "user", "host", "state", "age", "outcome", "statement"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        out.push_str(&grid::render(
            &header,
            &rows,
            &[
                Align::Number,
                Align::Text,
                Align::Text,
                Align::Text,
                Align::Number,
                Align::Text,
                Align::Statement,
            ],
            crate::format::width(),
            "  ",
        ));
    }
    if r.actions.len() > SHOWN {
        out.push_str(&format!(
            "  ... and {} more (--format json lists them all)\n",
            r.actions.len() - SHOWN
        ));
    }
    if !r.spared.is_empty() {
        out.push_str(&format!("Never ended ({}):\n", r.spared.len()));
        let rows: Vec<Vec<String>> = r
            .spared
            .iter()
            .take(20)
            .map(|s| {
                vec![
                    s.id.to_string(),
                    s.user.clone().unwrap_or_default(),
                    s.reason.clone(),
                ]
            })
            .collect();
        let header: Vec<String> = ["id", "user", "why not"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        out.push_str(&grid::render(
            &header,
            &rows,
            &[Align::Number, Align::Text, Align::Statement],
            crate::format::width(),
            "  ",
        ));
    }
    for u in &r.unseen {
        out.push_str(&crate::format::wrap(
            &format!(
                "Left alone, not judged ({}): {}",
                crate::format::plural(u.sessions, "session"),
                u.reason
            ),
            crate::format::width(),
            "  ",
        ));
        out.push('\n');
        if let Some(fix) = &u.remedy {
            out.push_str(&crate::format::wrap(
                &format!("  to let spiral judge them: {fix}"),
                crate::format::width(),
                "    ",
            ));
            out.push('\n');
        }
    }
    if let Some(f) = &r.refill {
        out.push_str(&crate::format::wrap(
            &format!("Afterwards: {}", f.message),
            crate::format::width(),
            "",
        ));
        out.push('\n');
    }
    if let Some(rep) = &r.repeat {
        let quiet = rep
            .until_quiet
            .map(|q| format!(", or after {q} rounds in a row that find nothing"))
            .unwrap_or_default();
        let every = crate::format::duration_secs(rep.every_secs);
        let total = crate::format::duration_secs(rep.for_secs);
        match &rep.ended {
            None => out.push_str(&format!(
                "Would repeat every {every} for up to {total} ({} rounds at most{quiet}; Ctrl-C stops it), re-selecting and re-checking each round.\n",
                rep.max_rounds
            )),
            Some(ended) => {
                out.push_str(&format!(
                    "Rounds: {} of at most {} (every {every}), ended: {ended}\n",
                    rep.rounds.len(),
                    rep.max_rounds
                ));
                for round in &rep.rounds {
                    out.push_str(&format!("  {}\n", round.line(rep.max_rounds)));
                }
            }
        }
    }
    if let Some(why) = &r.stopped {
        out.push_str(&format!("STOPPED EARLY: {why}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::{Session, SessionState};
    use crate::model::snapshot::Engine;
    use chrono::{Duration as Age, Utc};

    fn session(id: i64, started: chrono::DateTime<Utc>) -> Session {
        let mut s = Session::new(id, SessionState::Idle);
        s.user = Some("shipping".into());
        s.database = Some("shop".into());
        s.connected_at = Some(started);
        s
    }

    #[test]
    fn a_reconnect_that_got_the_same_id_counts_as_new() {
        let t0 = Utc::now() - Age::minutes(10);
        let t1 = Utc::now();
        let mut before = Snapshot::empty(Engine::Postgres, t0);
        before.sessions = vec![session(10, t0), session(11, t0)];
        // Both ended; the pool reconnected at once and PostgreSQL handed out pid 10 again.
        let mut after = Snapshot::empty(Engine::Postgres, t1);
        after.sessions = vec![session(10, t1), session(12, t1)];
        let actions: Vec<Action> = [10, 11]
            .into_iter()
            .map(|id| Action {
                victim: Victim {
                    id,
                    user: Some("shipping".into()),
                    host: None,
                    app: None,
                    db: None,
                    state: "idle".into(),
                    age_ms: 600_000,
                    connected_at: Some(t0),
                    why: vec![],
                    statement: format!("SELECT pg_terminate_backend({id})"),
                },
                outcome: Outcome::Killed,
                note: None,
            })
            .collect();
        let r = refill(&before, &after, &actions, 2, Duration::from_secs(2));
        assert_eq!(r.new_sessions, 2, "{}", r.message);
        assert!(r.message.contains("reconnect"), "{}", r.message);
    }

    #[test]
    fn an_unwritable_log_is_an_error_before_anything_is_sent() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        let mut log = KillLog::open(Some(full)).unwrap().unwrap();
        let err = log
            .write(&serde_json::json!({"intent": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/dev/full"), "{err}");
    }

    fn kill_args(extra: &[&str]) -> KillArgs {
        use clap::Parser;
        let mut argv = vec!["spiral", "kill", "--replay", "x.jsonl", "--user", "u"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Kill(k) => *k,
            _ => unreachable!(),
        }
    }

    #[test]
    fn schedules_are_bounded_and_come_in_pairs() {
        assert!(schedule(&kill_args(&[])).unwrap().is_none());
        let s = schedule(&kill_args(&["--every", "30s", "--for", "15m"]))
            .unwrap()
            .unwrap();
        assert_eq!(s.max_rounds(), 30);
        let s = schedule(&kill_args(&["--every", "5s", "--for", "12s"]))
            .unwrap()
            .unwrap();
        assert_eq!(s.max_rounds(), 3, "rounds at 0, 5 and 10 s");
        for bad in [
            &["--every", "30s"][..],
            &["--for", "15m"],
            &["--every", "4s", "--for", "1m"],
            &["--every", "2h", "--for", "3h"],
            &["--every", "1m", "--for", "30s"],
            &["--every", "1m", "--for", "25h"],
            &["--every", "1m", "--for", "1h", "--until-quiet", "0"],
            &["--until-quiet", "3"],
        ] {
            assert!(schedule(&kill_args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_kill_batch_holds_100_ms_of_the_rate() {
        let gap = |rate: f64| Duration::from_secs_f64(1.0 / rate);
        assert_eq!(batch_size(gap(1.0)), 1);
        assert_eq!(batch_size(gap(100.0)), 10);
        assert_eq!(batch_size(gap(100_000.0)), 2000);
    }
}
