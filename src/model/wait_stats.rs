//! Completed waits diffed over the window (SQL Server's sys.dm_os_wait_stats, MySQL and
//! MariaDB's performance_schema.events_waits_summary_global_by_event_name).
//!
//! The sessions in a sample show only who waits at that instant; a wait that comes and
//! goes between two samples (hundreds of short RESOURCE_SEMAPHORE or THREADPOOL waits) is
//! invisible there. The server's cumulative wait statistics catch it: the difference
//! between the first and the last sample is the wait time that accrued over the window.
//! Where the server keeps none (PostgreSQL; MySQL/MariaDB with performance_schema OFF),
//! `over_window` falls back to the waits seen in the samples (model::wait_samples) and
//! says that they were sampled, not measured.

use serde::Serialize;

use crate::model::session::WaitClass;
use crate::model::snapshot::Engine;
use crate::model::window::Window;

/// sp_BlitzFirst's poison waits: any of them accruing more than a second in a sample means
/// the server is starving for threads, memory, I/O or log, or is being throttled.
const POISON: &[&str] = &[
    "IO_QUEUE_LIMIT",
    "IO_RETRY",
    "LOG_RATE_GOVERNOR",
    "POOL_LOG_RATE_GOVERNOR",
    "PREEMPTIVE_DEBUG",
    "RESMGR_THROTTLED",
    "RESOURCE_SEMAPHORE",
    "RESOURCE_SEMAPHORE_QUERY_COMPILE",
    "THREADPOOL",
];

/// sp_BlitzFirst's bar: a poison wait that accrued more than this over the sample.
pub const POISON_MS: u64 = 1_000;

pub fn is_poison(wait_type: &str) -> bool {
    POISON.contains(&wait_type) || wait_type.starts_with("SE_REPL_")
}

/// Where the waits over a window come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The server's own cumulative wait statistics, diffed: every wait counted.
    Measured,
    /// Sessions seen waiting in the samples, each counted for the time its sample stands
    /// for: an estimate that misses most waits shorter than the interval.
    Sampled,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Measured => "measured",
            Source::Sampled => "sampled",
        }
    }
}

/// One wait type's accrual over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accrued {
    pub wait_type: String,
    pub class: WaitClass,
    pub poison: bool,
    pub wait_ms: u64,
    /// Wait time per second of the window (ms/s; 1,000 is one task waiting all along).
    pub ms_per_sec: f64,
    /// Measured: waits completed. Sampled: sessions seen in this wait, summed over samples.
    pub tasks: u64,
    pub source: Source,
}

/// The waits over a window and where they come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverWindow {
    pub source: Source,
    /// The server's statistics or the view the samples read, e.g. "sys.dm_os_wait_stats".
    pub from: String,
    /// `from` short enough for a heading, e.g. "performance_schema".
    #[serde(skip)]
    pub label: &'static str,
    /// One sentence for people: how the figures were obtained and how far to trust them.
    pub note: String,
    /// Most wait time first.
    #[serde(skip)]
    pub waits: Vec<Accrued>,
}

/// The class of a MySQL/MariaDB performance_schema wait event, from its instrument name:
/// wait/lock/... are table and metadata locks, wait/io/socket/... the network, the rest of
/// wait/io/... files and table rows, wait/synch/... mutexes and rw-locks (latches) and
/// condition waits (a metadata-lock wait is a condition wait on MDL_context).
pub fn ps_event_class(name: &str) -> WaitClass {
    if name.starts_with("wait/lock/") || name.contains("MDL_context::COND_wait_status") {
        WaitClass::Lock
    } else if name.starts_with("wait/io/socket/") {
        WaitClass::Network
    } else if name.starts_with("wait/io/") {
        WaitClass::Io
    } else if name.starts_with("wait/synch/cond/") {
        WaitClass::Other
    } else if name.starts_with("wait/synch/") {
        WaitClass::Latch
    } else {
        WaitClass::Other
    }
}

fn class_of(engine: Engine, name: &str) -> WaitClass {
    match engine {
        Engine::Mysql => ps_event_class(name),
        Engine::Mssql | Engine::Postgres => crate::model::wait_class::sqlserver(name),
    }
}

/// The waits that accrued between the first and the last sample, most wait time first.
/// None when the window has one sample, either end lacks wait statistics, or a counter went
/// backwards (a restart or a DBCC SQLPERF(... CLEAR) in between: the difference means nothing).
pub fn accrued(w: &Window) -> Option<Vec<Accrued>> {
    if !w.has_rates() {
        return None;
    }
    let (first, last) = (
        w.first().wait_stats.as_ref()?,
        w.last().wait_stats.as_ref()?,
    );
    let secs = w.seconds().max(0.001);
    let engine = w.last().engine;
    let mut out = Vec::new();
    for (name, now) in last {
        let before = first.get(name).copied().unwrap_or_default();
        let wait_ms = now.wait_ms.checked_sub(before.wait_ms)?;
        let tasks = now.tasks.checked_sub(before.tasks)?;
        if wait_ms == 0 {
            continue;
        }
        out.push(Accrued {
            wait_type: name.clone(),
            class: class_of(engine, name),
            poison: engine == Engine::Mssql && is_poison(name),
            wait_ms,
            ms_per_sec: wait_ms as f64 / secs,
            tasks,
            source: Source::Measured,
        });
    }
    most_first(&mut out);
    Some(out)
}

fn most_first(waits: &mut [Accrued]) {
    waits.sort_by(|a, b| {
        b.wait_ms
            .cmp(&a.wait_ms)
            .then(a.wait_type.cmp(&b.wait_type))
    });
}

/// The waits seen in the samples, as accruals (see model::wait_samples): None with one
/// sample. A session whose wait has no class is counted as "other".
pub fn sampled(w: &Window) -> Option<Vec<Accrued>> {
    if !w.has_rates() {
        return None;
    }
    let secs = w.seconds().max(0.001);
    let engine = w.last().engine;
    let mut out: Vec<Accrued> = w
        .sampled_waits()
        .tallies()
        .iter()
        .filter(|(_, t)| t.wait_ms() > 0)
        .map(|(name, t)| Accrued {
            wait_type: name.clone(),
            class: t.class.unwrap_or(WaitClass::Other),
            poison: engine == Engine::Mssql && is_poison(name),
            wait_ms: t.wait_ms(),
            ms_per_sec: t.wait_ms() as f64 / secs,
            tasks: t.sightings,
            source: Source::Sampled,
        })
        .collect();
    most_first(&mut out);
    Some(out)
}

/// The waits over the window on any engine: the server's statistics diffed where it keeps
/// them, else the waits seen in the samples, with where they came from. None with one
/// sample.
pub fn over_window(w: &Window) -> Option<OverWindow> {
    let engine = w.last().engine;
    let samples = w.samples();
    if let Some(waits) = accrued(w) {
        let (from, label) = match engine {
            Engine::Mysql => (
                "performance_schema.events_waits_summary_global_by_event_name",
                "performance_schema",
            ),
            Engine::Mssql | Engine::Postgres => ("sys.dm_os_wait_stats", "sys.dm_os_wait_stats"),
        };
        let mut note = format!(
            "measured: the server's cumulative wait statistics ({from}), diffed between the first and the last sample"
        );
        let mut waits = waits;
        // performance_schema's default instruments time file, table and socket I/O, not
        // InnoDB row-lock waits nor what a thread state says: a session blocked on a row
        // for the whole window would not show. The sessions seen busy in the samples are
        // listed beside the measured waits, each row saying which it is.
        if engine == Engine::Mysql
            && let Some(seen) = sampled(w)
            && !seen.is_empty()
        {
            waits.extend(seen);
            most_first(&mut waits);
            note.push_str(&format!(
                "; rows marked sampled are the sessions seen busy in {samples} samples of the processlist (row-lock waits and thread states, which performance_schema's default instruments do not time), an estimate"
            ));
        }
        return Some(OverWindow {
            source: Source::Measured,
            from: from.to_string(),
            label,
            note,
            waits,
        });
    }
    let waits = sampled(w)?;
    let (from, why) = match engine {
        Engine::Postgres => (
            "pg_stat_activity",
            "PostgreSQL keeps no cumulative wait statistics".to_string(),
        ),
        Engine::Mysql => (
            "the processlist",
            match w.last().gap(crate::model::snapshot::Area::WaitStats) {
                Some(g) => format!(
                    "performance_schema's wait summary could not be read ({})",
                    g.reason.trim_end_matches('.')
                ),
                None => "performance_schema is OFF (MariaDB's default), so the server keeps no wait statistics spiral reads".to_string(),
            },
        ),
        Engine::Mssql => (
            "sys.dm_exec_requests",
            "sys.dm_os_wait_stats was not read".to_string(),
        ),
    };
    Some(OverWindow {
        source: Source::Sampled,
        from: from.to_string(),
        label: from,
        note: format!(
            "sampled, not measured: {why}; these are the sessions seen waiting in {samples} samples of {from}, each counted for the time around its sample (waits shorter than the interval are mostly missed)"
        ),
        waits,
    })
}

/// Poison waits that accrued past sp_BlitzFirst's bar, as one note for triage: they are
/// flagged even when no session waited at the instant of a sample.
pub fn poison_note(w: &Window) -> Option<String> {
    if w.last().engine != Engine::Mssql {
        return None;
    }
    let poison: Vec<String> = accrued(w)?
        .into_iter()
        .filter(|a| a.poison && a.wait_ms > POISON_MS)
        .map(|a| {
            format!(
                "{} {} ({} ms/s, {} waits)",
                a.wait_type,
                crate::format::duration_ms(a.wait_ms),
                crate::format::thousands(a.ms_per_sec.round() as u64),
                crate::format::thousands(a.tasks)
            )
        })
        .collect();
    if poison.is_empty() {
        return None;
    }
    Some(format!(
        "Poison waits accrued over the {} window (sys.dm_os_wait_stats, more than 1 s each, \
         whether or not anyone waited at a sample): {}",
        crate::format::duration_ms((w.seconds() * 1000.0) as u64),
        poison.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{Engine, Snapshot, WaitStat};
    use chrono::{Duration, TimeZone, Utc};

    fn at(secs: i64, waits: &[(&str, u64, u64)]) -> Snapshot {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 30, 3, 0, 0)
            .single()
            .expect("time");
        let mut s = Snapshot::empty(Engine::Mssql, t + Duration::seconds(secs));
        s.wait_stats = Some(
            waits
                .iter()
                .map(|&(w, ms, tasks)| {
                    (
                        w.to_string(),
                        WaitStat {
                            wait_ms: ms,
                            signal_ms: 0,
                            tasks,
                        },
                    )
                })
                .collect(),
        );
        s
    }

    fn window(a: Snapshot, b: Snapshot) -> Window {
        Window::from_snapshots([a, b]).expect("window")
    }

    #[test]
    fn poison_waits_are_flagged_when_they_accrue_past_a_second() {
        let w = window(
            at(
                0,
                &[("THREADPOOL", 5_000, 10), ("RESOURCE_SEMAPHORE", 100, 1)],
            ),
            at(
                5,
                &[
                    ("THREADPOOL", 5_900, 20),
                    ("RESOURCE_SEMAPHORE", 9_100, 40),
                    ("SE_REPL_COMMIT_ACK", 2_000, 3),
                    ("WRITELOG", 50_000, 900),
                ],
            ),
        );
        let a = accrued(&w).expect("two samples");
        let order: Vec<&str> = a.iter().map(|x| x.wait_type.as_str()).collect();
        assert_eq!(
            order,
            [
                "WRITELOG",
                "RESOURCE_SEMAPHORE",
                "SE_REPL_COMMIT_ACK",
                "THREADPOOL"
            ]
        );
        assert!((a[1].ms_per_sec - 1_800.0).abs() < 0.01);
        assert_eq!(a[1].class, WaitClass::Memory);
        assert!(a[2].poison && !a[0].poison);
        let note = poison_note(&w).expect("note");
        // THREADPOOL accrued 900 ms: under the bar.
        assert!(
            note.contains("RESOURCE_SEMAPHORE 9s")
                && note.contains("SE_REPL_COMMIT_ACK")
                && !note.contains("THREADPOOL"),
            "{note}"
        );
    }

    #[test]
    fn a_counter_going_backwards_or_one_sample_gives_nothing() {
        let w = window(
            at(0, &[("THREADPOOL", 90_000, 10)]),
            at(5, &[("THREADPOOL", 3_000, 2)]),
        );
        assert!(accrued(&w).is_none() && poison_note(&w).is_none());
        let one = Window::new(at(0, &[("THREADPOOL", 90_000, 10)]));
        assert!(accrued(&one).is_none());
        let mut b = at(5, &[]);
        b.wait_stats = None;
        assert!(accrued(&window(at(0, &[]), b)).is_none());
    }
}
