//! Log write pressure (SQL Server): every commit waits until its log records are on disk
//! (WRITELOG) and, in a synchronous availability group, until the synchronous secondary has
//! hardened them too (HADR_SYNC_COMMIT). When those waits grow, every writer slows down
//! together, holds its locks longer and the blocking follows. One verdict covers both
//! because they are the same symptom to the application (slow commits); which of the two
//! dominates decides where to look: the local log disk or the replica and its network.
//!
//! Read from the completed waits diffed over the window (sys.dm_os_wait_stats): a commit
//! wait lasts milliseconds and is rarely caught in a sample's request list.

use super::{Context, Draft, Rule};
use crate::format::{decimal, duration_ms, thousands};
use crate::model::snapshot::Area;
use crate::model::verdict::{Figure, Severity, Verdict};
use crate::model::wait_stats::{Accrued, accrued};

pub const LOG_WRITE_PRESSURE: Rule = Rule {
    id: "log-write-pressure",
    title: "Commits wait on the transaction log",
    needs_rates: true,
    needs: &[Area::WaitStats],
    check: log_write_pressure,
};

/// One commit wait type's figures over the window.
struct CommitWait {
    wait_ms: u64,
    tasks: u64,
    ms_per_sec: f64,
}

impl CommitWait {
    fn of(a: &[Accrued], wait_type: &str) -> Option<CommitWait> {
        a.iter()
            .find(|x| x.wait_type == wait_type)
            .map(|x| CommitWait {
                wait_ms: x.wait_ms,
                tasks: x.tasks,
                ms_per_sec: x.ms_per_sec,
            })
    }

    /// Average wait per completed wait; None when no wait completed (only part of one).
    fn avg_ms(&self) -> Option<f64> {
        (self.tasks > 0).then(|| self.wait_ms as f64 / self.tasks as f64)
    }
}

fn log_write_pressure(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let a = accrued(ctx.window)?;
    let log = CommitWait::of(&a, "WRITELOG");
    let ag = CommitWait::of(&a, "HADR_SYNC_COMMIT");
    let total_ms_per_sec =
        log.as_ref().map_or(0.0, |w| w.ms_per_sec) + ag.as_ref().map_or(0.0, |w| w.ms_per_sec);
    // Many fast commits add up to a lot of wait time on a healthy server (5,000 commits a
    // second at 1 ms each is 5 s per second): the average per commit says whether the log
    // is slow, the total whether enough work waits on it to matter.
    if total_ms_per_sec < t.log_wait_ms_per_sec {
        return None;
    }
    let worst_avg = [&log, &ag]
        .into_iter()
        .flatten()
        .filter_map(CommitWait::avg_ms)
        .fold(0.0_f64, f64::max);
    let severity = if worst_avg >= t.log_wait_avg_critical_ms {
        Severity::Critical
    } else if worst_avg >= t.log_wait_avg_warning_ms {
        Severity::Warning
    } else {
        return None;
    };
    let replica_dominates =
        ag.as_ref().map_or(0.0, |w| w.ms_per_sec) > log.as_ref().map_or(0.0, |w| w.ms_per_sec);

    let describe = |name: &str, w: &CommitWait| {
        format!(
            "{name} {} ms per second over {} waits{}",
            thousands(w.ms_per_sec.round() as u64),
            thousands(w.tasks),
            w.avg_ms()
                .map(|avg| format!(" (average {} ms)", decimal(avg)))
                .unwrap_or_default()
        )
    };
    let mut parts = Vec::new();
    if let Some(w) = &log {
        parts.push(describe("WRITELOG", w));
    }
    if let Some(w) = &ag {
        parts.push(describe("HADR_SYNC_COMMIT", w));
    }
    let mut summary = format!(
        "Commits wait on the transaction log: {} over the {} window",
        parts.join(", "),
        duration_ms((ctx.window.seconds() * 1000.0) as u64)
    );
    summary.push_str(if replica_dominates {
        "; most of it is waiting for the synchronous availability-group secondary to harden \
         the log, not the local disk."
    } else {
        "; the local log flush is slow, and every writer (and the locks it holds) waits on it."
    });

    let mut draft = Draft::new(&LOG_WRITE_PRESSURE, severity, summary).figure(Figure::count(
        "commit waits ms per second",
        total_ms_per_sec.round() as u64,
    ));
    if let Some(w) = &log {
        draft = draft.figure(Figure::millis("WRITELOG waits accrued", w.wait_ms));
        if let Some(avg) = w.avg_ms() {
            draft = draft.figure(Figure::millis("average WRITELOG wait", avg.round() as u64));
        }
    }
    if let Some(w) = &ag {
        draft = draft.figure(Figure::millis("HADR_SYNC_COMMIT waits accrued", w.wait_ms));
        if let Some(avg) = w.avg_ms() {
            draft = draft.figure(Figure::millis(
                "average HADR_SYNC_COMMIT wait",
                avg.round() as u64,
            ));
        }
    }
    // LOGBUFFER: no free log buffer to write into, the step before WRITELOG when the flush
    // cannot keep up.
    if let Some(w) = CommitWait::of(&a, "LOGBUFFER") {
        draft = draft.figure(Figure::millis("LOGBUFFER waits accrued", w.wait_ms));
    }
    if replica_dominates {
        draft = draft
            .action(
                "Look at the synchronous secondary first: its log send and redo queues and \
                 the network to it (sys.dm_hadr_database_replica_states: log_send_queue_size, \
                 redo_queue_size, last_hardened_time). A secondary that is slow to harden \
                 slows every commit on the primary.",
            )
            .action(
                "If the secondary cannot be fixed now and losing zero data on failover can wait, \
                 switch that replica to asynchronous commit (ALTER AVAILABILITY GROUP ... MODIFY \
                 REPLICA ON '<replica>' WITH (AVAILABILITY_MODE = ASYNCHRONOUS_COMMIT)); say so \
                 to whoever owns the recovery objectives.",
            )
    } else {
        draft = draft
            .action(
                "Check the log file's write latency (sys.dm_io_virtual_file_stats for the \
                 log file: io_stall_write_ms / num_of_writes) and what else writes to that \
                 volume; the log wants its own low-latency disk.",
            )
            .action(
                "Look for commits in tiny transactions (a row per transaction in a loop) and \
                 for one bulk writer filling the log: batching commits cuts flushes; a huge \
                 import can be paused or throttled.",
            )
    }
    draft
        .action(
            "Do not kill the writers to make room: a killed transaction rolls back, and the \
             rollback writes to the same log.",
        )
        .done()
}
