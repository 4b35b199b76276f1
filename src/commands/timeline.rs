//! `spiral timeline`: the rules slid over a capture, sample by sample, to say when each
//! verdict started, changed severity and cleared.
//!
//! At every sample the rules see a window of the last N samples (by default as many as
//! `spiral triage` takes), so each row of the timeline is what triage would have said at
//! that moment. Only that window is held whole; for every sample the timeline keeps a
//! `SampleFigures` (for the report's charts), and for the worst stretches one `Moment`
//! (blocking trees and top sessions, already reduced to text). A day-long capture therefore
//! streams in memory that grows by about a hundred bytes per sample, not by a snapshot.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::capture::CaptureReader;
use crate::commands::history::SampleFigures;
use crate::model::blocking::{BlockingGraph, index};
use crate::model::session::Session;
use crate::model::snapshot::{Engine, Snapshot};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};
use crate::model::window::Window;
use crate::rules::{Assessment, evaluate};

pub const TIMELINE_SCHEMA: &str = "spiral.timeline/v1";

/// The default window: the samples `spiral triage` takes by default, so that a timeline
/// row and a triage run at that moment agree.
pub const DEFAULT_WINDOW: usize = 3;

/// How many of the worst moments the report keeps whole (one per bad stretch).
const MAX_MOMENTS: usize = 3;
const TOP_SESSIONS: usize = 10;
const TREES_SHOWN: usize = 5;
const TREE_MEMBERS_SHOWN: usize = 15;
const QUERY_CHARS: usize = 160;

/// What happened to a verdict at one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Started,
    Escalated,
    Eased,
    Cleared,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Started => "started",
            Change::Escalated => "escalated",
            Change::Eased => "eased",
            Change::Cleared => "cleared",
        }
    }
}

/// One change of one verdict, with the key figures at that sample.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// 1-based position of the sample in the capture.
    pub sample: usize,
    pub verdict: &'static str,
    pub title: &'static str,
    pub change: Change,
    /// The severity from this sample on ("ok" once cleared).
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Severity>,
    /// The verdict's sentence at this sample (for a clear: its last sentence).
    pub summary: String,
    /// Who the verdict names, in a few words ("user app; app celery-worker").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit: Option<String>,
    pub figures: SampleFigures,
}

/// The worst sample of an episode.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    pub at: DateTime<Utc>,
    pub sample: usize,
    pub severity: Severity,
    pub summary: String,
    /// The verdict's headline figure at the peak (its first numeric evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<Figure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub culprit: Option<String>,
    pub figures: SampleFigures,
}

/// One verdict from the sample it started to the sample it cleared.
#[derive(Debug, Clone, Serialize)]
pub struct Episode {
    pub verdict: &'static str,
    pub title: &'static str,
    pub started_at: DateTime<Utc>,
    pub started_sample: usize,
    pub peak: Peak,
    /// None when the verdict still held at the end.
    pub cleared_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_sample: Option<usize>,
    /// From start to clear, or to the last sample when it never cleared.
    pub seconds: f64,
    pub playbook: &'static str,
}

/// One sample as the charts need it.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub figures: SampleFigures,
    /// The worst verdict at this sample.
    pub worst: Severity,
}

/// A session reduced to the text the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct SessionLine {
    pub id: i64,
    pub user: String,
    pub host: String,
    pub application: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// Waiting, running or idle for this long, whichever is longest.
    pub ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl SessionLine {
    fn of(s: &Session) -> SessionLine {
        SessionLine {
            id: s.id,
            user: s.user_or_unknown().to_string(),
            host: s.host_or_unknown().to_string(),
            application: s.app_or_unknown().to_string(),
            state: s.state.label().to_string(),
            wait: s.wait_type.clone(),
            ms: s.wait_ms.max(s.elapsed_ms).max(s.idle_ms).unwrap_or(0),
            query: s
                .query
                .as_deref()
                .map(|q| crate::format::truncate(q, QUERY_CHARS)),
        }
    }

    fn unseen(id: i64) -> SessionLine {
        SessionLine {
            id,
            user: "?".into(),
            host: "?".into(),
            application: "?".into(),
            state: "not visible in the snapshot".into(),
            wait: None,
            ms: 0,
            query: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TreeView {
    pub lead: SessionLine,
    pub blocked: usize,
    pub depth: usize,
    pub longest_wait_ms: u64,
    /// (depth below the lead, session), in display order, at most a screenful.
    pub members: Vec<(usize, SessionLine)>,
    /// Members left out of `members`.
    pub more: usize,
}

/// The worst sample of a bad stretch, kept whole enough to explain it.
#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub sample: usize,
    pub severity: Severity,
    pub verdicts: Vec<(String, Severity, String)>,
    pub figures: SampleFigures,
    pub trees: Vec<TreeView>,
    pub cycles: Vec<Vec<i64>>,
    pub top_sessions: Vec<SessionLine>,
}

impl Moment {
    fn of(sample: usize, snap: &Snapshot, a: &Assessment, figures: SampleFigures) -> Moment {
        let graph = BlockingGraph::of(snap);
        let by_id = index(snap);
        let line = |id: i64| {
            by_id
                .get(&id)
                .map(|s| SessionLine::of(s))
                .unwrap_or_else(|| SessionLine::unseen(id))
        };
        let trees = graph
            .trees
            .iter()
            .take(TREES_SHOWN)
            .map(|t| TreeView {
                lead: line(t.lead),
                blocked: t.blocked_count(),
                depth: t.depth,
                longest_wait_ms: t.longest_wait_ms,
                members: t
                    .members
                    .iter()
                    .take(TREE_MEMBERS_SHOWN)
                    .map(|(id, d)| (*d, line(*id)))
                    .collect(),
                more: t.members.len().saturating_sub(TREE_MEMBERS_SHOWN),
            })
            .collect();
        let mut top: Vec<&Session> = snap.client_sessions().filter(|s| !s.is_idle()).collect();
        let key = |s: &Session| s.wait_ms.max(s.elapsed_ms).max(s.idle_ms).unwrap_or(0);
        top.sort_by(|a, b| key(b).cmp(&key(a)).then(a.id.cmp(&b.id)));
        Moment {
            at: snap.taken_at,
            sample,
            severity: a.worst(),
            verdicts: a
                .verdicts
                .iter()
                .map(|v| (v.id.to_string(), v.severity, v.summary.clone()))
                .collect(),
            figures,
            trees,
            cycles: graph.cycles.iter().take(3).cloned().collect(),
            top_sessions: top
                .into_iter()
                .take(TOP_SESSIONS)
                .map(SessionLine::of)
                .collect(),
        }
    }
}

/// The whole timeline of a capture or a live run.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub schema: &'static str,
    pub spiral_version: &'static str,
    pub target: String,
    pub engine: Engine,
    /// "capture" or "live".
    pub source: &'static str,
    /// Samples the rules saw at each step.
    pub window_samples: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub samples: usize,
    pub seconds: f64,
    /// The worst severity at any sample.
    pub status: Severity,
    /// The severity at the last sample.
    pub final_status: Severity,
    /// From `status` (the worst seen): 2 critical, 1 warning, 3 only unknowns, else 0.
    pub exit_code: i32,
    pub events: Vec<Event>,
    pub episodes: Vec<Episode>,
    pub notes: Vec<String>,
    /// The worst moments, worst first (the HTML report shows them).
    #[serde(skip)]
    pub moments: Vec<Moment>,
    /// Every sample's figures (the HTML report charts them).
    #[serde(skip)]
    pub points: Vec<Point>,
}

/// The exit code of a severity, as `report::exit_code` maps an assessment's worst.
pub fn exit_code(worst: Severity) -> i32 {
    match worst {
        Severity::Critical => 2,
        Severity::Warning => 1,
        Severity::Unknown => 3,
        Severity::Info | Severity::Ok => 0,
    }
}

/// A verdict in progress: which episode, at what severity now, and its last words.
struct Active {
    episode: usize,
    severity: Severity,
    summary: String,
    culprit: Option<String>,
}

/// Orders moments: worse severity, then more blocked, more waiting, more connected.
type Score = (Severity, u64, u64, u64);

fn score(p: &Point) -> Score {
    (
        p.worst,
        p.figures.blocked_sessions,
        p.figures.total_waiters(),
        p.figures.connections,
    )
}

/// Feeds samples through the sliding window and the rules; `finish` yields the timeline.
pub struct Builder<'t> {
    thresholds: &'t Thresholds,
    size: usize,
    /// The last `size` samples whole: the window keeps only its first and last, so the
    /// sample that becomes the first when the window slides comes from here.
    kept: VecDeque<Snapshot>,
    window: Option<Window>,
    active: BTreeMap<&'static str, Active>,
    events: Vec<Event>,
    episodes: Vec<Episode>,
    points: Vec<Point>,
    /// The worst moment of the bad stretch in progress.
    stretch: Option<(Score, Moment)>,
    moments: Vec<(Score, Moment)>,
}

impl<'t> Builder<'t> {
    pub fn new(thresholds: &'t Thresholds, window_samples: usize) -> Builder<'t> {
        let size = window_samples.max(1);
        Builder {
            thresholds,
            size,
            kept: VecDeque::with_capacity(size + 1),
            window: None,
            active: BTreeMap::new(),
            events: Vec::new(),
            episodes: Vec::new(),
            points: Vec::new(),
            stretch: None,
            moments: Vec::new(),
        }
    }

    pub fn samples(&self) -> usize {
        self.points.len()
    }

    /// Adds the next sample: slides the window, runs the rules, records what changed.
    pub fn push(&mut self, snap: Snapshot) {
        if self.size > 1 {
            self.kept.push_back(snap.clone());
        }
        let window = match self.window.take() {
            None => Window::new(snap),
            Some(mut w) => {
                w.push(snap);
                if w.samples() > self.size {
                    self.kept.pop_front();
                    match self.kept.front() {
                        Some(next) => w.drop_oldest(next.clone()),
                        // A window of one sample: the new sample alone.
                        None => w = Window::new(w.last().clone()),
                    }
                }
                w
            }
        };
        if self.size == 1 {
            self.kept.clear();
        }
        let assessment = evaluate(&window, self.thresholds);
        let figures = SampleFigures::of(&window);
        let sample = self.points.len() + 1;
        let point = Point {
            figures,
            worst: assessment.worst(),
        };
        self.points.push(point);
        self.track(sample, &assessment, figures);
        self.track_moment(sample, &point, window.last(), &assessment);
        self.window = Some(window);
    }

    fn track(&mut self, sample: usize, a: &Assessment, figures: SampleFigures) {
        let at = figures.taken_at;
        let mut seen: Vec<&'static str> = Vec::new();
        for v in &a.verdicts {
            if seen.contains(&v.id) {
                continue;
            }
            seen.push(v.id);
            let culprit = culprit_text(&v.culprits);
            let measure = headline(v);
            match self.active.get_mut(v.id) {
                None => {
                    self.events.push(Event {
                        at,
                        sample,
                        verdict: v.id,
                        title: v.title,
                        change: Change::Started,
                        severity: v.severity,
                        previous: None,
                        summary: v.summary.clone(),
                        culprit: culprit.clone(),
                        figures,
                    });
                    self.episodes.push(Episode {
                        verdict: v.id,
                        title: v.title,
                        started_at: at,
                        started_sample: sample,
                        peak: Peak {
                            at,
                            sample,
                            severity: v.severity,
                            summary: v.summary.clone(),
                            measure,
                            culprit: culprit.clone(),
                            figures,
                        },
                        cleared_at: None,
                        cleared_sample: None,
                        seconds: 0.0,
                        playbook: v.playbook,
                    });
                    self.active.insert(
                        v.id,
                        Active {
                            episode: self.episodes.len() - 1,
                            severity: v.severity,
                            summary: v.summary.clone(),
                            culprit,
                        },
                    );
                }
                Some(act) => {
                    if act.severity != v.severity {
                        let change = if v.severity > act.severity {
                            Change::Escalated
                        } else {
                            Change::Eased
                        };
                        self.events.push(Event {
                            at,
                            sample,
                            verdict: v.id,
                            title: v.title,
                            change,
                            severity: v.severity,
                            previous: Some(act.severity),
                            summary: v.summary.clone(),
                            culprit: culprit.clone(),
                            figures,
                        });
                        act.severity = v.severity;
                    }
                    act.summary.clone_from(&v.summary);
                    act.culprit.clone_from(&culprit);
                    let ep = &mut self.episodes[act.episode];
                    let worse = v.severity > ep.peak.severity
                        || (v.severity == ep.peak.severity
                            && measure_of(&measure) > measure_of(&ep.peak.measure));
                    if worse {
                        ep.peak = Peak {
                            at,
                            sample,
                            severity: v.severity,
                            summary: v.summary.clone(),
                            measure,
                            culprit,
                            figures,
                        };
                    }
                }
            }
        }
        let gone: Vec<&'static str> = self
            .active
            .keys()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        for id in gone {
            if let Some(act) = self.active.remove(id) {
                let ep = &mut self.episodes[act.episode];
                ep.cleared_at = Some(at);
                ep.cleared_sample = Some(sample);
                ep.seconds = seconds_between(ep.started_at, at);
                self.events.push(Event {
                    at,
                    sample,
                    verdict: id,
                    title: ep.title,
                    change: Change::Cleared,
                    severity: Severity::Ok,
                    previous: Some(act.severity),
                    summary: format!("No longer detected (last: {})", act.summary),
                    culprit: act.culprit,
                    figures,
                });
            }
        }
    }

    /// Keeps the worst sample of each stretch at warning or worse, and the worst few
    /// stretches overall. A moment is only built when it beats the stretch's worst so far.
    fn track_moment(&mut self, sample: usize, p: &Point, snap: &Snapshot, a: &Assessment) {
        if p.worst < Severity::Warning {
            self.close_stretch();
            return;
        }
        let s = score(p);
        if self.stretch.as_ref().is_none_or(|(best, _)| s > *best) {
            self.stretch = Some((s, Moment::of(sample, snap, a, p.figures)));
        }
    }

    fn close_stretch(&mut self) {
        if let Some(m) = self.stretch.take() {
            self.moments.push(m);
            self.moments.sort_by_key(|m| std::cmp::Reverse(m.0));
            self.moments.truncate(MAX_MOMENTS);
        }
    }

    /// The timeline, or None when no sample was pushed.
    pub fn finish(
        mut self,
        target: &str,
        engine: Engine,
        source: &'static str,
        notes: Vec<String>,
    ) -> Option<Timeline> {
        self.close_stretch();
        let first = self.points.first()?.figures.taken_at;
        let last_point = *self.points.last()?;
        let last = last_point.figures.taken_at;
        for act in self.active.values() {
            let ep = &mut self.episodes[act.episode];
            ep.seconds = seconds_between(ep.started_at, last);
        }
        let status = self
            .points
            .iter()
            .map(|p| p.worst)
            .max()
            .unwrap_or(Severity::Ok);
        let mut moments: Vec<(Score, Moment)> = self.moments;
        moments.sort_by_key(|m| std::cmp::Reverse(m.0));
        Some(Timeline {
            schema: TIMELINE_SCHEMA,
            spiral_version: env!("CARGO_PKG_VERSION"),
            target: target.to_string(),
            engine,
            source,
            window_samples: self.size,
            first,
            last,
            samples: self.points.len(),
            seconds: seconds_between(first, last),
            status,
            final_status: last_point.worst,
            exit_code: exit_code(status),
            events: self.events,
            episodes: self.episodes,
            notes,
            moments: moments.into_iter().map(|(_, m)| m).collect(),
            points: self.points,
        })
    }
}

fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 1000.0
}

/// A verdict's first numeric evidence: what "worse" means within one severity.
fn headline(v: &Verdict) -> Option<Figure> {
    v.evidence.iter().find(|f| f.number.is_some()).cloned()
}

fn measure_of(f: &Option<Figure>) -> f64 {
    f.as_ref().and_then(|f| f.number).unwrap_or(f64::MIN)
}

/// "user app; app celery-worker; hosts 10.0.7.21, 10.0.7.22" from a verdict's culprits.
pub fn culprit_text(c: &Culprits) -> Option<String> {
    let mut parts = Vec::new();
    let mut add = |one: &str, many: &str, names: Vec<String>| {
        if !names.is_empty() {
            let word = if names.len() == 1 { one } else { many };
            parts.push(format!("{word} {}", crate::format::list(&names, 3)));
        }
    };
    add("user", "users", c.users.clone());
    add("app", "apps", c.applications.clone());
    add("host", "hosts", c.hosts.clone());
    add(
        "session",
        "sessions",
        c.sessions.iter().map(|s| s.to_string()).collect(),
    );
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Counts the bytes a reader hands out, for a progress bar over a file.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The timeline of a capture file, streamed. With `progress`, a bar on stderr follows the
/// bytes read (the caller decides: terminals only, never for machine formats).
pub fn of_capture(
    path: &Path,
    thresholds: &Thresholds,
    window_samples: usize,
    progress: bool,
) -> anyhow::Result<Timeline> {
    let file = std::fs::File::open(path).map_err(|source| crate::capture::CaptureError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        read: Arc::clone(&read),
    };
    let mut reader = CaptureReader::from_reader(
        path,
        Box::new(std::io::BufReader::with_capacity(1 << 16, counting)),
    )?;
    let bar = (progress && total > 0).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let mut builder = Builder::new(thresholds, window_samples);
    while let Some(snap) = reader.next_snapshot()? {
        builder.push(snap);
        if let Some(b) = &bar
            && builder.samples().is_multiple_of(64)
        {
            b.set_position(read.load(Ordering::Relaxed));
            b.set_message(format!("{} samples", builder.samples()));
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let notes = reader
        .skipped()
        .iter()
        .map(|s| format!("capture {s}: skipped"))
        .collect();
    let header = reader.header();
    builder
        .finish(&header.target, header.engine, "capture", notes)
        .ok_or_else(|| anyhow::anyhow!("{}: no snapshot", path.display()))
}

/// The timeline of a live run: `samples` samples `interval` apart (Ctrl-C ends it early
/// with what was gathered). One connection, as every command.
pub async fn of_source(
    source: &mut crate::source::Source,
    thresholds: &Thresholds,
    window_samples: usize,
    progress: bool,
) -> anyhow::Result<Timeline> {
    let mut builder = Builder::new(thresholds, window_samples);
    let mut notes = Vec::new();
    loop {
        match source.next().await {
            Ok(Some(s)) => builder.push(s),
            Ok(None) => break,
            // A dying server may fail a later sample: keep the timeline gathered so far.
            Err(e) if builder.samples() > 0 => {
                notes.push(format!(
                    "sample {} failed, so the timeline ends early: {}",
                    builder.samples() + 1,
                    crate::sanitize::for_terminal(&format!("{e:#}"))
                ));
                break;
            }
            Err(e) => return Err(e),
        }
        if source.remaining() == Some(0) {
            break;
        }
        let wait = source.interval();
        if !wait.is_zero() && !crate::source::pause(wait, progress, source.remaining()).await {
            break;
        }
    }
    notes.extend(source.notes());
    let (label, engine) = (source.label.clone(), source.engine);
    builder
        .finish(&label, engine, "live", notes)
        .ok_or_else(|| anyhow::anyhow!("no snapshot was taken"))
}
