//! `spiral stalk`: wait for a spiral and capture it in the act.
//!
//! Like pt-stalk, for every engine, with verdicts as triggers. It takes one sample (one
//! statement) per poll over its one connection; when a condition has held for `--cycles` polls in a row it records a capture
//! of `--samples` samples into the output directory, sleeps `--cooldown`, and re-arms. It is
//! meant to run for days (incident 000's lock contention was intermittent for a year), so
//! the loop holds only the last two snapshots and its memory stays flat.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::gauge::Level;
use crate::model::verdict::Severity;
use crate::model::window::Window;
use crate::report::KeyFigures;
use crate::rules::Assessment;

/// What arms the trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A verdict at or above a severity: `connection-exhaustion:warning`.
    Verdict { id: String, at_least: Severity },
    /// A gauge over a level: `connections>80%`, `blocked>10`, `longest_lock_wait>30s`.
    Over(Level),
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        let text = text.trim();
        if let Some((name, value)) = text.split_once('>') {
            return Level::parse(name, value, text, "gauge").map(Condition::Over);
        }
        let (id, sev) = text.split_once(':').unwrap_or((text, "warning"));
        if crate::rules::rule(id).is_none() {
            return Err(format!(
                "'{id}' is neither a verdict id nor a gauge condition (e.g. connection-exhaustion:warning or 'connections>80%')"
            ));
        }
        let at_least = match sev {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "critical" => Severity::Critical,
            other => {
                return Err(format!(
                    "severity '{other}' is not info, warning or critical"
                ));
            }
        };
        Ok(Condition::Verdict {
            id: id.to_string(),
            at_least,
        })
    }

    /// Whether the condition holds now, and the words to log when it does.
    pub fn holds(&self, window: &Window, assessment: &Assessment) -> Option<String> {
        match self {
            Condition::Verdict { id, at_least } => {
                let v = assessment.verdict(id)?;
                (v.severity >= *at_least && v.severity != Severity::Unknown)
                    .then(|| format!("{id} is {}", v.severity.label()))
            }
            Condition::Over(level) => {
                let f = KeyFigures::of(window);
                let value = level.gauge.value(&f)?;
                // A percentage compares as a percentage, so the log says "85%", not a count.
                let (value, limit) = if level.percent {
                    let usable = f.usable_connections? as f64;
                    (value * 100.0 / usable, level.value)
                } else {
                    (value, level.value)
                };
                (value > limit).then(|| {
                    format!(
                        "{:?} is {}{}",
                        level.gauge,
                        crate::format::decimal(value),
                        if level.percent { "%" } else { "" }
                    )
                })
            }
        }
    }
}

/// Counts consecutive polls on which any condition held.
#[derive(Debug, Default)]
pub struct Trigger {
    streak: u32,
}

impl Trigger {
    /// Feeds one poll; true when the streak reaches `cycles` (and resets it).
    pub fn poll(&mut self, held: bool, cycles: u32) -> bool {
        if held {
            self.streak += 1;
        } else {
            self.streak = 0;
        }
        if self.streak >= cycles.max(1) {
            self.streak = 0;
            return true;
        }
        false
    }
}

/// The file name (without `.jsonl`) of a capture started at `t`. Two captures in the
/// same second get `-2`, `-3`, ... (see `capture::create_unique`): none is overwritten.
pub fn capture_stem(
    engine: crate::model::snapshot::Engine,
    t: chrono::DateTime<chrono::Utc>,
) -> String {
    format!("spiral-{engine}-{}", t.format("%Y%m%dT%H%M%SZ"))
}

/// "1G", "500M", "64k" or a number of bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.trim_end_matches("ib").trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 500M, 2G)"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("'{text}' must be zero or more"));
    }
    Ok((n * mult as f64) as u64)
}

/// The validated settings of one stalk run.
pub struct StalkPlan {
    pub conditions: Vec<Condition>,
    pub cycles: u32,
    pub poll_every: Duration,
    pub samples: u32,
    pub capture_every: Duration,
    pub cooldown: Duration,
    pub max_captures: u32,
    pub min_free: u64,
    pub dir: PathBuf,
    pub stop_after: Option<Duration>,
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Sleeps unless interrupted; false on Ctrl-C, SIGTERM or SIGHUP.
async fn nap(d: Duration) -> bool {
    if d.is_zero() {
        return !crate::signals::requested();
    }
    crate::signals::unless_stopped(tokio::time::sleep(d))
        .await
        .is_some()
}

/// One poll, unless a stop is asked for while it is in flight (a frozen server).
async fn poll(
    poller: &mut crate::commands::poller::Poller,
) -> Option<crate::commands::poller::Poll> {
    crate::signals::unless_stopped(poller.poll()).await
}

/// Runs until `--for` elapses, `--max-captures` is reached, the replay ends, or Ctrl-C.
/// Logs one line per event on stderr; prints the paths of the captures on stdout.
pub async fn run(
    poller: &mut crate::commands::poller::Poller,
    plan: &StalkPlan,
    thresholds: &crate::model::thresholds::Thresholds,
    quiet: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    use crate::capture::Header;
    use crate::commands::poller::Poll;
    let log = |msg: String| {
        if !quiet {
            eprintln!("{} spiral stalk: {msg}", stamp());
        }
    };
    std::fs::create_dir_all(&plan.dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", plan.dir.display()))?;
    let started = std::time::Instant::now();
    let live = poller.is_live();
    // Every sleep is cut to what is left of --for, and replays do not sleep at all.
    let left = || {
        plan.stop_after
            .map(|d| d.saturating_sub(started.elapsed()))
            .unwrap_or(Duration::MAX)
    };
    let pace = |d: Duration| if live { d.min(left()) } else { Duration::ZERO };
    let mut trigger = Trigger::default();
    let mut previous: Option<crate::model::snapshot::Snapshot> = None;
    let mut captures = Vec::new();
    let mut was_holding = false;
    let mut was_full = false;
    log(format!(
        "armed on {} ({}, {} in a row)",
        poller.label,
        crate::format::plural(plan.conditions.len() as u64, "condition"),
        crate::format::plural(u64::from(plan.cycles), "poll")
    ));
    loop {
        if plan.stop_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let Some(polled) = poll(poller).await else {
            break;
        };
        let snap = match polled {
            Poll::End => break,
            Poll::Failed(e) => anyhow::bail!("{e}"),
            Poll::Blind {
                since,
                error,
                retry_in,
            } => {
                log(format!(
                    "server not answering for {}: {error}; retrying in {}s",
                    crate::format::duration_secs(since.as_secs_f64()),
                    retry_in.as_secs()
                ));
                previous = None;
                trigger = Trigger::default();
                if !nap(retry_in.max(plan.poll_every)).await {
                    break;
                }
                continue;
            }
            Poll::Snapshot(s) => *s,
        };
        if poller.full_server().is_some() != was_full {
            match poller.full_server() {
                Some(note) => log(note.to_string()),
                None => log(
                    "the server has free connection slots again; spiral keeps its connection"
                        .into(),
                ),
            }
            was_full = !was_full;
        }
        // Only the last two snapshots are ever held: memory stays flat over days.
        let window = match previous.take() {
            Some(p) => Window::from_snapshots([p, snap.clone()]),
            None => Some(Window::new(snap.clone())),
        }
        .ok_or_else(|| anyhow::anyhow!("empty window"))?;
        let assessment = crate::rules::evaluate(&window, thresholds);
        let held: Option<String> = plan
            .conditions
            .iter()
            .find_map(|c| c.holds(&window, &assessment));
        if held.is_some() != was_holding {
            match &held {
                Some(why) => log(format!("condition holds: {why}")),
                None => log("condition cleared".to_string()),
            }
            was_holding = held.is_some();
        }
        previous = Some(snap.clone());
        if trigger.poll(held.is_some(), plan.cycles) {
            let free = crate::platform::free_bytes(&plan.dir);
            if free.is_some_and(|f| f < plan.min_free) {
                log(format!(
                    "triggered ({}), but only {} MB are free in {} (floor {} MB): not capturing",
                    held.unwrap_or_default(),
                    free.unwrap_or(0) >> 20,
                    plan.dir.display(),
                    plan.min_free >> 20
                ));
            } else {
                let stem = capture_stem(poller.engine, snap.taken_at);
                let mut header = Header::new(poller.engine, &poller.label, chrono::Utc::now());
                header.note = Some(format!(
                    "captured by spiral stalk: {}",
                    held.clone().unwrap_or_default()
                ));
                let (path, mut writer) = crate::capture::create_unique(&plan.dir, &stem, &header)?;
                // The poll that fired is the first sample: it is the evidence.
                writer.write(&snap)?;
                let mut written = 1;
                while written < plan.samples {
                    if !nap(pace(plan.capture_every)).await || left().is_zero() {
                        break;
                    }
                    let Some(polled) = poll(poller).await else {
                        break;
                    };
                    match polled {
                        Poll::Snapshot(s) => {
                            writer.write(&s)?;
                            written += 1;
                        }
                        Poll::Blind { error, .. } => {
                            log(format!(
                                "server stopped answering during the capture: {error}"
                            ));
                            break;
                        }
                        Poll::End => break,
                        Poll::Failed(e) => anyhow::bail!("{e}"),
                    }
                }
                log(format!(
                    "captured {written} samples to {} ({})",
                    path.display(),
                    held.unwrap_or_default()
                ));
                println!("{}", path.display());
                captures.push(path);
                if plan.max_captures > 0 && captures.len() as u32 >= plan.max_captures {
                    log("reached --max-captures; stopping".to_string());
                    break;
                }
                log(format!(
                    "cooling down for {}",
                    crate::format::duration_secs(plan.cooldown.as_secs_f64())
                ));
                // The cooldown never shortens the poll interval (`--cooldown 0s` must not
                // turn into a tight loop of captures).
                if !nap(pace(plan.cooldown.max(plan.poll_every))).await {
                    break;
                }
                previous = None;
                continue;
            }
        }
        if !nap(pace(plan.poll_every)).await {
            break;
        }
    }
    Ok(captures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gauge::Gauge;

    #[test]
    fn conditions_parse() {
        assert_eq!(
            Condition::parse("connection-exhaustion:critical").unwrap(),
            Condition::Verdict {
                id: "connection-exhaustion".into(),
                at_least: Severity::Critical
            }
        );
        assert_eq!(
            Condition::parse("blocking-chain").unwrap(),
            Condition::Verdict {
                id: "blocking-chain".into(),
                at_least: Severity::Warning
            }
        );
        assert_eq!(
            Condition::parse("connections>80%").unwrap(),
            Condition::Over(Level {
                gauge: Gauge::Connections,
                value: 80.0,
                percent: true
            })
        );
        assert_eq!(
            Condition::parse("longest_lock_wait>1m").unwrap(),
            Condition::Over(Level {
                gauge: Gauge::LongestLockWait,
                value: 60.0,
                percent: false
            })
        );
        assert!(Condition::parse("nonsense").is_err());
        assert!(Condition::parse("blocked>5%").is_err());
        assert!(Condition::parse("blocking-chain:fatal").is_err());
    }

    #[test]
    fn trigger_needs_consecutive_polls() {
        let mut t = Trigger::default();
        assert!(!t.poll(true, 3));
        assert!(!t.poll(true, 3));
        assert!(!t.poll(false, 3));
        assert!(!t.poll(true, 3));
        assert!(!t.poll(true, 3));
        assert!(t.poll(true, 3));
        assert!(!t.poll(true, 3), "re-arms from zero after firing");
    }
}
