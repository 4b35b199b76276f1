//! The few figures of every sample, kept compactly, and the sparklines drawn from them.
//!
//! `spiral timeline` and `spiral report` keep one `SampleFigures` per sample of a capture
//! of any length (about a hundred bytes each, where a snapshot can be megabytes), and
//! `spiral watch` keeps the last few minutes of them to draw a short history under its
//! gauges. Both read the figures off the same window the rules saw, so a chart can never
//! disagree with a verdict about what the server looked like.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::session::WaitClass;
use crate::model::snapshot::{Snapshot, counter};
use crate::model::window::Window;

/// The wait classes counted per sample, in the order charts and tables list them. Client
/// (waiting for the application's next command) is idleness, not waiting, so it is left out.
pub const WAIT_CLASSES: [WaitClass; 10] = [
    WaitClass::Lock,
    WaitClass::Compile,
    WaitClass::QueryStore,
    WaitClass::Threadpool,
    WaitClass::Memory,
    WaitClass::Io,
    WaitClass::Network,
    WaitClass::Latch,
    WaitClass::Cpu,
    WaitClass::Other,
];

/// The name of a wait class as JSON and tables show it.
pub fn wait_class_name(c: WaitClass) -> &'static str {
    match c {
        WaitClass::Lock => "lock",
        WaitClass::Compile => "compile",
        WaitClass::QueryStore => "query-store",
        WaitClass::Threadpool => "threadpool",
        WaitClass::Memory => "memory",
        WaitClass::Io => "io",
        WaitClass::Network => "network",
        WaitClass::Client => "client",
        WaitClass::Latch => "latch",
        WaitClass::Cpu => "cpu",
        WaitClass::Other => "other",
    }
}

/// The key figures of one sample. Rates are between this sample and the one before (not
/// over the whole window), so a spike shows where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampleFigures {
    pub taken_at: DateTime<Utc>,
    pub connections: u64,
    /// Slots ordinary users can fill, when the engine reports a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usable_connections: Option<u64>,
    pub blocked_sessions: u64,
    pub longest_lock_wait_ms: u64,
    /// Active client sessions waiting, by class (see `WAIT_CLASSES`); zero classes are not
    /// serialized.
    #[serde(serialize_with = "waiters_as_map")]
    pub waiters: [u32; WAIT_CLASSES.len()],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compilations_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins_per_sec: Option<f64>,
}

fn waiters_as_map<S: serde::Serializer>(
    w: &[u32; WAIT_CLASSES.len()],
    s: S,
) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<&str, u32> = WAIT_CLASSES
        .iter()
        .zip(w)
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| (wait_class_name(*c), *n))
        .collect();
    map.serialize(s)
}

impl SampleFigures {
    /// The figures of the window's last sample.
    pub fn of(window: &Window) -> SampleFigures {
        let last = window.last();
        let mut waiters = [0u32; WAIT_CLASSES.len()];
        let mut blocked = 0u64;
        let mut longest = 0u64;
        // Blocked sessions are always listed; waiters count groups' members too.
        for (s, n) in last.client_tally() {
            if s.is_blocked() {
                blocked += 1;
                longest = longest.max(s.wait_ms.unwrap_or(0));
            }
            if s.is_idle() {
                continue;
            }
            if let Some(i) = s
                .wait_class
                .and_then(|c| WAIT_CLASSES.iter().position(|x| *x == c))
            {
                waiters[i] = waiters[i].saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        let rate = |name: &str| step_rate(window.previous(), last, name);
        SampleFigures {
            taken_at: last.taken_at,
            connections: last.connected_clients(),
            usable_connections: last.connections.usable(),
            blocked_sessions: blocked,
            longest_lock_wait_ms: longest,
            waiters,
            compilations_per_sec: rate(counter::COMPILATIONS),
            logins_per_sec: rate(counter::LOGINS),
        }
    }

    /// Every waiting session, whatever the class.
    pub fn total_waiters(&self) -> u64 {
        self.waiters.iter().map(|n| u64::from(*n)).sum()
    }

    /// "lock 18, io 2" (largest first), or "none".
    pub fn waiters_text(&self) -> String {
        let mut list: Vec<(WaitClass, u32)> = WAIT_CLASSES
            .iter()
            .copied()
            .zip(self.waiters)
            .filter(|(_, n)| *n > 0)
            .collect();
        if list.is_empty() {
            return "none".into();
        }
        list.sort_by_key(|x| std::cmp::Reverse(x.1));
        list.iter()
            .map(|(c, n)| format!("{} {n}", wait_class_name(*c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// "74 of 82" or "5,049".
    pub fn connections_text(&self) -> String {
        match self.usable_connections {
            Some(u) => format!(
                "{} of {}",
                crate::format::thousands(self.connections),
                crate::format::thousands(u)
            ),
            None => crate::format::thousands(self.connections),
        }
    }
}

/// A cumulative counter's per-second rate between two consecutive samples; None without a
/// previous sample, without the counter, or when it went backwards (a restart).
fn step_rate(previous: Option<&Snapshot>, last: &Snapshot, name: &str) -> Option<f64> {
    let prev = previous?;
    let secs = (last.taken_at - prev.taken_at).num_milliseconds() as f64 / 1000.0;
    let d = last.counter(name)?.checked_sub(prev.counter(name)?)?;
    (secs > 0.0).then(|| d as f64 / secs)
}

/// Reads one figure of a sample, for a sparkline.
type Pick = fn(&SampleFigures) -> Option<f64>;

/// The last `capacity` samples' figures, for `watch`.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    samples: VecDeque<SampleFigures>,
}

impl History {
    pub fn new(capacity: usize) -> History {
        History {
            capacity: capacity.max(2),
            samples: VecDeque::with_capacity(capacity.max(2)),
        }
    }

    /// Enough samples for about five minutes at `interval`, within what a terminal line
    /// can show.
    pub fn for_watch(interval: std::time::Duration) -> History {
        let per_five_minutes = (300.0 / interval.as_secs_f64().max(0.5)).round() as usize;
        History::new(per_five_minutes.clamp(10, 120))
    }

    /// Records the window's last sample, forgetting the oldest past the capacity.
    pub fn record(&mut self, window: &Window) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(SampleFigures::of(window));
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The sparkline lines for watch: one per figure, the newest value at the right, with
    /// the span covered. Nothing until there are two samples to compare.
    pub fn lines(&self, width: usize, ascii: bool) -> Vec<String> {
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return Vec::new();
        };
        if self.samples.len() < 2 {
            return Vec::new();
        }
        let span = (last.taken_at - first.taken_at).num_milliseconds().max(0) as u64;
        // Label column, then the line, then the newest value.
        let room = width.saturating_sub(30).max(8).min(self.capacity);
        let tail = |f: Pick| -> Vec<Option<f64>> {
            let skip = self.samples.len().saturating_sub(room);
            self.samples.iter().skip(skip).map(f).collect()
        };
        let mut out = vec![format!(
            "history (last {}, oldest left):",
            crate::format::duration_ms(span)
        )];
        let series: [(&str, Pick); 5] = [
            ("connections", |f| Some(f.connections as f64)),
            ("blocked", |f| Some(f.blocked_sessions as f64)),
            ("waiters", |f| Some(f.total_waiters() as f64)),
            ("compiles/s", |f| f.compilations_per_sec),
            ("logins/s", |f| f.logins_per_sec),
        ];
        for (label, f) in series {
            let values = tail(f);
            if values.iter().all(Option::is_none) {
                continue;
            }
            let now = values
                .iter()
                .rev()
                .flatten()
                .next()
                .map(|v| crate::format::decimal(*v))
                .unwrap_or_else(|| "-".into());
            out.push(format!("  {label:<12} {} {now}", sparkline(&values, ascii)));
        }
        out
    }
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// For terminals and fonts without block elements (a Windows console, a serial line).
const ASCII_STEPS: [char; 8] = ['_', '.', ',', '-', '~', '=', '*', '#'];

/// One character per value, scaled from the smallest to the largest value shown; a gap
/// (no figure) is a space. The range is at least a tenth of the largest value, so that
/// noise of one or two on a busy server stays a flat line while a real climb shows.
pub fn sparkline(values: &[Option<f64>], ascii: bool) -> String {
    let steps = if ascii { &ASCII_STEPS } else { &BLOCKS };
    let finite = || values.iter().flatten().copied().filter(|v| v.is_finite());
    let max = finite().fold(f64::MIN, f64::max);
    let min = finite().fold(f64::MAX, f64::min);
    let range = (max - min).max(max.abs() * 0.1);
    values
        .iter()
        .map(|v| match v {
            Some(v) if v.is_finite() => {
                if range <= 0.0 {
                    steps[0]
                } else {
                    let i = ((v - min) / range * (steps.len() - 1) as f64).round() as usize;
                    steps[i.min(steps.len() - 1)]
                }
            }
            _ => ' ',
        })
        .collect()
}

/// Whether the terminal can be trusted with block characters: a UTF-8 locale, and not the
/// Linux console (whose font lacks most of them). SPIRAL_ASCII=1 forces the fallback.
pub fn unicode_terminal() -> bool {
    if std::env::var_os("SPIRAL_ASCII").is_some_and(|v| v == "1") {
        return false;
    }
    if std::env::var("TERM").is_ok_and(|t| t == "linux") {
        return false;
    }
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_to_the_range_and_marks_gaps() {
        let v = [Some(0.0), Some(4.0), None, Some(8.0)];
        assert_eq!(sparkline(&v, false), "▁▅ █");
        assert_eq!(sparkline(&v, true), "_~ #");
        assert_eq!(sparkline(&[Some(0.0), Some(0.0)], true), "__");
        // A climb from 78 to 82 shows; it is not drawn as three full blocks.
        assert_eq!(
            sparkline(&[Some(78.0), Some(80.0), Some(82.0)], true),
            "_,-"
        );
    }
}
