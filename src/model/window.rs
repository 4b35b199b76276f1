//! A window of snapshots: what rules look at.
//!
//! The window keeps the first and the last snapshot whole and, for every sample in
//! between, only a handful of numbers. That is what lets a capture of any length be
//! replayed in memory that does not grow with it, while rules can still speak of growth
//! ("38 idle connections an hour ago, 61 now") and of the steepest jump between two samples
//! (a reconnect storm happens between samples, not across the whole window).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::snapshot::Snapshot;
use crate::model::wait_samples::SampledWaits;

/// The few figures kept for every sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SamplePoint {
    pub taken_at: DateTime<Utc>,
    pub connected_clients: u64,
    pub blocked_sessions: u64,
    /// Counter value of new connections (logins), when the engine has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins: Option<u64>,
}

impl SamplePoint {
    fn of(s: &Snapshot) -> SamplePoint {
        SamplePoint {
            taken_at: s.taken_at,
            connected_clients: s.connected_clients(),
            blocked_sessions: s.client_sessions().filter(|x| x.is_blocked()).count() as u64,
            logins: s.counter(crate::model::snapshot::counter::LOGINS),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Window {
    first: Snapshot,
    /// The sample before the last, for "changed since the last refresh" views.
    previous: Option<Snapshot>,
    last: Snapshot,
    points: Vec<SamplePoint>,
    /// The target as the user gave it, redacted (or a capture's redacted target), so that a
    /// verdict can print a `spiral kill` line that runs against the same server.
    target: Option<String>,
    /// Waits seen in the sessions of every sample, tallied as samples come and go: the
    /// samples in between are not kept.
    sampled_waits: SampledWaits,
}

/// Why a rate could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateGap {
    /// Only one sample: rates need two.
    OneSample,
    /// The engine does not report this counter.
    NotCollected,
    /// The counter went backwards: the server restarted or the counter was reset.
    Reset,
}

impl Window {
    pub fn new(first: Snapshot) -> Window {
        let point = SamplePoint::of(&first);
        let mut sampled_waits = SampledWaits::default();
        sampled_waits.see(&first);
        Window {
            last: first.clone(),
            first,
            previous: None,
            points: vec![point],
            target: None,
            sampled_waits,
        }
    }

    /// Names the (redacted) target the samples came from.
    pub fn with_target(mut self, target: impl Into<String>) -> Window {
        self.target = Some(target.into()).filter(|t: &String| !t.is_empty());
        self
    }

    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Builds a window from a list of snapshots; `None` when the list is empty.
    pub fn from_snapshots(snapshots: impl IntoIterator<Item = Snapshot>) -> Option<Window> {
        let mut iter = snapshots.into_iter();
        let mut window = Window::new(iter.next()?);
        for s in iter {
            window.push(s);
        }
        Some(window)
    }

    /// Adds the next sample. Only the newest two are kept whole.
    pub fn push(&mut self, snapshot: Snapshot) {
        self.points.push(SamplePoint::of(&snapshot));
        self.sampled_waits.see(&snapshot);
        self.sampled_waits.add_interval(&self.last, &snapshot);
        let older = std::mem::replace(&mut self.last, snapshot);
        self.previous = Some(older);
    }

    /// Forgets the oldest sample so the window can slide over a long capture (`spiral
    /// timeline`). The window holds only its first and last samples whole, so the caller
    /// hands back the sample that becomes the first: the second-oldest one it kept.
    pub fn drop_oldest(&mut self, next_first: Snapshot) {
        if self.points.len() > 1 {
            self.points.remove(0);
            self.sampled_waits.remove_interval(&self.first, &next_first);
            self.sampled_waits.unsee(&self.first);
            self.first = next_first;
        }
    }

    pub fn first(&self) -> &Snapshot {
        &self.first
    }

    pub fn last(&self) -> &Snapshot {
        &self.last
    }

    pub fn previous(&self) -> Option<&Snapshot> {
        self.previous.as_ref()
    }

    /// The waits seen in the sessions of the samples, tallied over the window.
    pub fn sampled_waits(&self) -> &SampledWaits {
        &self.sampled_waits
    }

    pub fn points(&self) -> &[SamplePoint] {
        &self.points
    }

    pub fn samples(&self) -> usize {
        self.points.len()
    }

    pub fn seconds(&self) -> f64 {
        seconds_between(self.first.taken_at, self.last.taken_at)
    }

    pub fn has_rates(&self) -> bool {
        self.samples() >= 2 && self.seconds() > 0.0
    }

    /// Growth of a cumulative counter over the window.
    pub fn delta(&self, counter: &str) -> Result<u64, RateGap> {
        if !self.has_rates() {
            return Err(RateGap::OneSample);
        }
        let (Some(a), Some(b)) = (self.first.counter(counter), self.last.counter(counter)) else {
            return Err(RateGap::NotCollected);
        };
        b.checked_sub(a).ok_or(RateGap::Reset)
    }

    /// Per-second rate of a cumulative counter over the window.
    pub fn rate(&self, counter: &str) -> Result<f64, RateGap> {
        self.delta(counter).map(|d| d as f64 / self.seconds())
    }

    /// The steepest rise in connected clients between two consecutive samples, with the
    /// seconds it took.
    pub fn steepest_connection_rise(&self) -> Option<(u64, f64)> {
        self.points
            .windows(2)
            .map(|w| {
                (
                    w[1].connected_clients
                        .saturating_sub(w[0].connected_clients),
                    seconds_between(w[0].taken_at, w[1].taken_at),
                )
            })
            .max_by_key(|(rise, _)| *rise)
    }

    /// The highest logins-per-second between two consecutive samples.
    pub fn peak_login_rate(&self) -> Option<f64> {
        self.login_rates().into_iter().reduce(f64::max)
    }

    /// Logins per second between each pair of consecutive samples, oldest first (pairs
    /// where the counter is missing or went backwards are left out).
    pub fn login_rates(&self) -> Vec<f64> {
        self.points
            .windows(2)
            .filter_map(|w| {
                let secs = seconds_between(w[0].taken_at, w[1].taken_at);
                let d = w[1].logins?.checked_sub(w[0].logins?)?;
                (secs > 0.0).then(|| d as f64 / secs)
            })
            .collect()
    }
}

fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds().max(0) as f64 / 1000.0
}
