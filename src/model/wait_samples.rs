//! Waits sampled over the window, for servers that keep no cumulative wait statistics
//! (PostgreSQL; MySQL/MariaDB with performance_schema OFF).
//!
//! Each sample shows who waits at its instant. A session seen waiting is taken to have
//! waited for the time that sample stands for: half the gap to the sample before and half
//! the gap to the sample after, so the samples of a window cover it exactly once. The sum
//! over sessions, divided by the window's length, is the average number of sessions in that
//! wait (times 1,000 for ms/s, the unit of the measured waits). It is an estimate: a wait
//! shorter than the interval is seen only when a sample happens to fall inside it.
//!
//! The tally is kept as the window grows and shrinks (a sliding `timeline` window hands
//! back the sample that becomes the first), so it never needs the samples in between.

use std::collections::BTreeMap;

use crate::model::session::{Session, SessionState, WaitClass};
use crate::model::snapshot::Snapshot;

/// One wait's tally over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Twice the session-milliseconds: each sample contributes half an interval, and
    /// counting halves keeps the arithmetic exact when the window slides.
    half_ms: u64,
    /// Times a session was seen in this wait, summed over the samples.
    pub sightings: u64,
    pub class: Option<WaitClass>,
}

impl Tally {
    /// Session-milliseconds spent in this wait over the window (estimated).
    pub fn wait_ms(&self) -> u64 {
        self.half_ms / 2
    }
}

/// The tally of sampled waits, by wait name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampledWaits {
    by_wait: BTreeMap<String, Tally>,
}

impl SampledWaits {
    pub fn tallies(&self) -> &BTreeMap<String, Tally> {
        &self.by_wait
    }

    /// Counts the sightings of a sample that joins the window (no time yet: time comes
    /// with the interval to its neighbour).
    pub fn see(&mut self, s: &Snapshot) {
        for (name, class) in waiting(s) {
            let t = self.by_wait.entry(name).or_default();
            t.sightings += 1;
            t.class = class.or(t.class);
        }
    }

    /// Forgets the sightings of a sample that leaves the window.
    pub fn unsee(&mut self, s: &Snapshot) {
        for (name, _) in waiting(s) {
            if let Some(t) = self.by_wait.get_mut(&name) {
                t.sightings = t.sightings.saturating_sub(1);
            }
        }
        self.by_wait.retain(|_, t| t.sightings > 0 || t.half_ms > 0);
    }

    /// Credits the interval between two consecutive samples: each session waiting in
    /// either gets half of it.
    pub fn add_interval(&mut self, a: &Snapshot, b: &Snapshot) {
        let ms = interval_ms(a, b);
        for (name, class) in waiting(a).into_iter().chain(waiting(b)) {
            let t = self.by_wait.entry(name).or_default();
            t.half_ms = t.half_ms.saturating_add(ms);
            t.class = t.class.or(class);
        }
    }

    /// Takes back the interval between the two oldest samples when the first one leaves.
    pub fn remove_interval(&mut self, a: &Snapshot, b: &Snapshot) {
        let ms = interval_ms(a, b);
        for (name, _) in waiting(a).into_iter().chain(waiting(b)) {
            if let Some(t) = self.by_wait.get_mut(&name) {
                t.half_ms = t.half_ms.saturating_sub(ms);
            }
        }
        self.by_wait.retain(|_, t| t.sightings > 0 || t.half_ms > 0);
    }
}

fn interval_ms(a: &Snapshot, b: &Snapshot) -> u64 {
    u64::try_from((b.taken_at - a.taken_at).num_milliseconds()).unwrap_or(0)
}

/// The waits of one sample: a name and class for every client session busy in a statement,
/// one entry per session (a group's members each count). Idle sessions and those waiting for their client are not waiting
/// on the server; a running session with no wait is counted under its state, so that time
/// on CPU (or in a wait the server does not name) shows beside the waits.
pub fn waiting(s: &Snapshot) -> Vec<(String, Option<WaitClass>)> {
    s.client_tally()
        .filter_map(|(x, n)| wait_of(x).map(|w| (w, n)))
        .flat_map(|(w, n)| std::iter::repeat_n(w, n as usize))
        .collect()
}

fn wait_of(x: &Session) -> Option<(String, Option<WaitClass>)> {
    if x.activity_hidden || x.state != SessionState::Active || x.waits_on(WaitClass::Client) {
        return None;
    }
    let name = match &x.wait_type {
        Some(w) => w.clone(),
        None => {
            let what = x
                .raw_state
                .as_deref()
                .or(x.command.as_deref())
                .filter(|t| !t.is_empty());
            match what {
                Some(t) => format!("running ({t})"),
                None => "running".to_string(),
            }
        }
    };
    Some((name, x.wait_class))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::Engine;
    use chrono::{Duration, TimeZone, Utc};

    fn at(ms: i64, sessions: &[(i64, SessionState, Option<&str>, Option<WaitClass>)]) -> Snapshot {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 30, 3, 0, 0)
            .single()
            .expect("time");
        let mut s = Snapshot::empty(Engine::Postgres, t + Duration::milliseconds(ms));
        for &(id, state, wait, class) in sessions {
            let mut x = Session::new(id, state);
            x.wait_type = wait.map(str::to_string);
            x.wait_class = class;
            x.raw_state = Some(state.label().replace(' ', "_"));
            s.sessions.push(x);
        }
        s
    }

    #[test]
    fn each_sample_stands_for_half_the_gap_to_each_neighbour() {
        use SessionState::*;
        let lock = (Some("Lock:transactionid"), Some(WaitClass::Lock));
        let a = at(0, &[(1, Active, lock.0, lock.1)]);
        let b = at(
            2_000,
            &[(1, Active, lock.0, lock.1), (2, Active, lock.0, lock.1)],
        );
        let c = at(
            6_000,
            &[
                (2, Active, None, Some(WaitClass::Cpu)),
                (3, Idle, Some("Client:ClientRead"), Some(WaitClass::Client)),
                (4, IdleInTransaction, None, Some(WaitClass::Client)),
            ],
        );
        let mut w = SampledWaits::default();
        w.see(&a);
        for (p, n) in [(&a, &b), (&b, &c)] {
            w.see(n);
            w.add_interval(p, n);
        }
        let lock_t = w.tallies()["Lock:transactionid"];
        // a: 1 session for 1 s; b: 2 sessions for 1 s + 2 s; c: none.
        assert_eq!((lock_t.wait_ms(), lock_t.sightings), (7_000, 3));
        assert_eq!(lock_t.class, Some(WaitClass::Lock));
        // A running session with no wait is counted under its state; idle ones are not.
        let cpu = w.tallies()["running (active)"];
        assert_eq!((cpu.wait_ms(), cpu.sightings), (2_000, 1));
        assert_eq!(w.tallies().len(), 2);

        // The window slides: a leaves, b becomes the first.
        w.remove_interval(&a, &b);
        w.unsee(&a);
        let lock_t = w.tallies()["Lock:transactionid"];
        assert_eq!((lock_t.wait_ms(), lock_t.sightings), (4_000, 2));
        // Sliding past every sighting forgets the wait.
        w.remove_interval(&b, &c);
        w.unsee(&b);
        assert!(!w.tallies().contains_key("Lock:transactionid"));
    }

    #[test]
    fn spirals_own_and_hidden_sessions_and_servers_threads_are_not_counted() {
        let mut s = at(
            0,
            &[(1, SessionState::Active, Some("IO:DataFileRead"), None)],
        );
        s.own_session_id = Some(1);
        let mut hidden = Session::new(2, SessionState::Active);
        hidden.activity_hidden = true;
        let mut walwriter = Session::new(3, SessionState::Active);
        walwriter.kind = crate::model::session::SessionKind::System;
        walwriter.wait_type = Some("Activity:WalWriterMain".into());
        s.sessions.extend([hidden, walwriter]);
        assert!(waiting(&s).is_empty());
    }
}
