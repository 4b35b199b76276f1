//! A generated PostgreSQL capture in which a connection leak grows, peaks and is killed,
//! for `spiral timeline` and `spiral report` tests, and (repeated, tens of thousands of
//! samples long) for measuring them on a day-long capture (examples/long_capture.rs).
//!
//! The server has max_connections 100 with 3 reserved (97 usable). A steady API pool of 22
//! sessions is always there. In each cycle a worker opens `per_sample` connections per
//! sample for `grow` samples and leaves them idle, holds them for `hold` samples, and then
//! they are all killed at once; the server stays healthy for `after` samples.
#![allow(dead_code)]

use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use spiral::capture::Header;
use spiral::model::session::{Session, SessionState, WaitClass};
use spiral::model::snapshot::{
    ConnectionLimits, Engine, Guardrails, ServerInfo, Snapshot, counter,
};

#[derive(Debug, Clone, Copy)]
pub struct LeakPlan {
    pub start: DateTime<Utc>,
    pub interval_secs: i64,
    /// Healthy samples before the leak starts.
    pub before: u64,
    pub grow: u64,
    pub per_sample: u64,
    pub hold: u64,
    /// Healthy samples after the kill (the next cycle starts after them).
    pub after: u64,
}

pub const POOL: u64 = 22;
pub const MAX_CONNECTIONS: u64 = 100;
pub const RESERVED: u64 = 3;

impl LeakPlan {
    /// The plan the timeline tests assert on: one-minute samples; 10 healthy; 12 growing
    /// by 6 (to 72 leaked: 94 of 97 usable slots); held 3; killed; 10 healthy.
    pub fn test() -> LeakPlan {
        LeakPlan {
            start: DateTime::parse_from_rfc3339("2025-05-06T02:00:00Z")
                .expect("a valid time")
                .with_timezone(&Utc),
            interval_secs: 60,
            before: 10,
            grow: 12,
            per_sample: 6,
            hold: 3,
            after: 10,
        }
    }

    pub fn cycle(&self) -> u64 {
        self.before + self.grow + self.hold + self.after
    }

    pub fn time(&self, k: u64) -> DateTime<Utc> {
        self.start + Duration::seconds(self.interval_secs * k as i64)
    }

    /// Leaked connections at sample `k` (0-based), and the sample each was opened at.
    pub fn leaked(&self, k: u64) -> u64 {
        let i = k % self.cycle();
        if i < self.before {
            0
        } else if i < self.before + self.grow {
            (i - self.before + 1) * self.per_sample
        } else if i < self.before + self.grow + self.hold {
            self.grow * self.per_sample
        } else {
            0
        }
    }

    /// Samples in a capture of `cycles` full cycles.
    pub fn samples(&self, cycles: u64) -> u64 {
        self.cycle() * cycles
    }

    pub fn snapshot(&self, k: u64) -> Snapshot {
        let t = self.time(k);
        let mut snap = Snapshot::empty(Engine::Postgres, t);
        snap.server = ServerInfo {
            version: "16.4".into(),
            flavor: None,
            managed_kill: false,
        };
        snap.own_session_id = Some(9_999);
        snap.connections = ConnectionLimits {
            max_connections: Some(MAX_CONNECTIONS),
            reserved: RESERVED,
            current: None,
        };
        snap.guardrails = Guardrails {
            statement_timeout_ms: Some(30_000),
            lock_timeout_ms: Some(10_000),
            idle_in_transaction_timeout_ms: Some(60_000),
            idle_session_timeout_ms: None,
            optimize_for_ad_hoc: None,
        };
        for p in 0..POOL {
            let active = (p + k).is_multiple_of(4);
            let mut s = Session::new(
                1_000 + p as i64,
                if active {
                    SessionState::Active
                } else {
                    SessionState::Idle
                },
            );
            s.user = Some("api".into());
            s.client_host = Some(format!("10.0.3.{}", 10 + p % 5));
            s.application = Some("api".into());
            s.database = Some("shop".into());
            if active {
                s.elapsed_ms = Some(20 + p * 3);
                s.query = Some("SELECT * FROM orders WHERE account_id = $1 LIMIT 50".into());
            } else {
                s.idle_ms = Some(200 + p * 10);
                s.wait_type = Some("Client:ClientRead".into());
                s.wait_class = Some(WaitClass::Client);
                s.query = Some("COMMIT".into());
            }
            snap.sessions.push(s);
        }
        let leaked = self.leaked(k);
        let cycle_start = k - k % self.cycle();
        for n in 0..leaked {
            // Opened per_sample at a time, from the first leaking sample of this cycle.
            let opened = cycle_start + self.before + n / self.per_sample;
            let idle_secs = (k - opened) as i64 * self.interval_secs + 1;
            let mut s = Session::new(20_000 + n as i64, SessionState::Idle);
            s.user = Some("worker".into());
            s.client_host = Some(format!("10.0.7.{}", 21 + n % 3));
            s.application = Some("celery-worker".into());
            s.database = Some("shop".into());
            s.idle_ms = Some(idle_secs as u64 * 1000);
            s.wait_type = Some("Client:ClientRead".into());
            s.wait_class = Some(WaitClass::Client);
            s.query = Some("SELECT id, payload FROM items WHERE id = $1".into());
            s.connected_at = Some(self.time(opened));
            snap.sessions.push(s);
        }
        // Cumulative counters: a steady 100 commits/s; every leaked open is a login.
        let secs = k * self.interval_secs as u64;
        snap.counters
            .insert(counter::COMMITS.into(), 5_000_000 + secs * 100);
        snap.counters
            .insert(counter::BATCHES.into(), 5_000_000 + secs * 100);
        snap.counters.insert(counter::ROLLBACKS.into(), 100);
        snap.counters.insert(counter::DEADLOCKS.into(), 0);
        let cycles_done = k / self.cycle();
        let this_cycle = (k % self.cycle())
            .saturating_sub(self.before)
            .min(self.grow);
        let opened_total = cycles_done * self.grow * self.per_sample
            + if k % self.cycle() >= self.before {
                (this_cycle + 1).min(self.grow) * self.per_sample
            } else {
                0
            };
        snap.counters
            .insert(counter::LOGINS.into(), 10_000 + opened_total);
        snap
    }

    /// Writes a capture of `samples` samples to `out`.
    pub fn write(&self, out: &mut dyn Write, samples: u64) -> std::io::Result<()> {
        let mut header = Header::new(
            Engine::Postgres,
            "postgres://app@leak-db.internal:5432/shop",
            self.start,
        );
        header.note =
            Some("Generated: a worker leaks connections, they peak, and are killed.".into());
        serde_json::to_writer(&mut *out, &header)?;
        out.write_all(b"\n")?;
        for k in 0..samples {
            serde_json::to_writer(&mut *out, &self.snapshot(k))?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}
