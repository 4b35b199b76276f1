//! Completed waits diffed over the window (SQL Server's sys.dm_os_wait_stats).
//!
//! The sessions in a sample show only who waits at that instant; a wait that comes and
//! goes between two samples (hundreds of short RESOURCE_SEMAPHORE or THREADPOOL waits) is
//! invisible there. The server's cumulative wait statistics catch it: the difference
//! between the first and the last sample is the wait time that accrued over the window.

use crate::model::session::WaitClass;
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

/// One wait type's accrual over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Accrued {
    pub wait_type: String,
    pub class: WaitClass,
    pub poison: bool,
    pub wait_ms: u64,
    /// Wait time per second of the window (ms/s; 1,000 is one task waiting all along).
    pub ms_per_sec: f64,
    pub tasks: u64,
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
            class: crate::model::wait_class::sqlserver(name),
            poison: is_poison(name),
            wait_ms,
            ms_per_sec: wait_ms as f64 / secs,
            tasks,
        });
    }
    out.sort_by(|a, b| {
        b.wait_ms
            .cmp(&a.wait_ms)
            .then(a.wait_type.cmp(&b.wait_type))
    });
    Some(out)
}

/// Poison waits that accrued past sp_BlitzFirst's bar, as one note for triage: they are
/// flagged even when no session waited at the instant of a sample.
pub fn poison_note(w: &Window) -> Option<String> {
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
