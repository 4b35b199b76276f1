//! Worker-thread exhaustion: the end stage of incident 000, where the server can no longer
//! serve logins, diagnostics or the commands that would fix it.

use super::{Context, Draft, Rule, pct};
use crate::format::{decimal, thousands};
use crate::model::session::WaitClass;
use crate::model::snapshot::Area;
use crate::model::verdict::{Figure, Severity, Verdict};

pub const WORKER_EXHAUSTION: Rule = Rule {
    id: "worker-thread-exhaustion",
    title: "Worker threads exhausted",
    needs_rates: false,
    needs: &[Area::Workers],
    check: worker_thread_exhaustion,
};

fn worker_thread_exhaustion(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let w = last.workers.as_ref()?;
    // Tasks on THREADPOOL without a session do not show in the request DMVs; the engine
    // counts them from the waiting tasks, and sessions are counted too in case it did not.
    let threadpool = w.threadpool_waiters.max(
        last.all_tally()
            .filter(|(s, _)| s.waits_on(WaitClass::Threadpool))
            .map(|(_, n)| n)
            .sum::<u64>(),
    );
    let busy = pct(w.active_workers as f64, w.max_workers as f64);
    let available = i128::from(w.max_workers) - i128::from(w.active_workers);
    let severity = if w.queued_tasks as f64 >= t.queued_tasks_critical
        || threadpool as f64 >= t.threadpool_waiters_critical
        || (available <= 0 && (w.queued_tasks > 0 || threadpool > 0))
    {
        Severity::Critical
    } else if w.queued_tasks > 0 || threadpool > 0 || busy >= t.workers_busy_pct {
        Severity::Warning
    } else {
        return None;
    };
    let mut summary = format!(
        "{} of {} worker threads are active ({}%)",
        thousands(w.active_workers),
        thousands(w.max_workers),
        decimal(busy)
    );
    if w.queued_tasks > 0 {
        summary.push_str(&format!(
            " and {} tasks are queued waiting for one",
            thousands(w.queued_tasks)
        ));
    }
    if threadpool > 0 {
        summary.push_str(&format!(
            "; {} tasks wait on THREADPOOL, logins among them",
            thousands(threadpool)
        ));
    }
    summary.push_str(if severity == Severity::Critical {
        ": the server cannot serve new logins or run the commands that would fix it."
    } else {
        ": close to the point where new logins go unserved."
    });
    // Parallel queries as the cause: each parallel request holds a worker per task, so a
    // few dozen queries at a high DOP can take the pool that thousands of serial requests
    // need. Said only when they hold a real part of the workers (a quarter), not whenever
    // one parallel query happens to run.
    let parallel = last.parallelism.as_ref().filter(|p| {
        (w.queued_tasks > 0 || threadpool > 0) && p.parallel_tasks * 4 >= w.active_workers.max(1)
    });
    if let Some(p) = parallel {
        summary.push_str(&format!(
            " Parallel queries hold {} of the active workers: {} requests with up to {} tasks each{}.",
            thousands(p.parallel_tasks),
            thousands(p.parallel_requests),
            thousands(p.max_request_tasks),
            settings_text(p)
        ));
    }
    let mut draft = Draft::new(&WORKER_EXHAUSTION, severity, summary)
        .figure(Figure::count("active workers", w.active_workers))
        .figure(Figure::count("max workers", w.max_workers))
        .figure(Figure::count("queued tasks", w.queued_tasks))
        .figure(Figure::count("THREADPOOL waiters", threadpool))
        .figure(Figure::count("runnable tasks", w.runnable_tasks));
    if let Some(p) = &last.parallelism {
        draft = draft
            .figure(Figure::count("parallel requests", p.parallel_requests))
            .figure(Figure::count(
                "tasks of parallel requests",
                p.parallel_tasks,
            ));
        if let Some(v) = p.maxdop {
            draft = draft.figure(Figure::count("max degree of parallelism", v));
        }
        if let Some(v) = p.cost_threshold {
            draft = draft.figure(Figure::count("cost threshold for parallelism", v));
        }
    }
    if let Some(ms) = parallelism_ms_per_sec(ctx) {
        draft = draft.figure(Figure::count("parallelism waits ms per second", ms));
    }
    draft = draft.action(
        "Come in through the dedicated admin connection, which has its own scheduler: \
         `spiral triage --dac <target>` or `sqlcmd -A -S <host>`.",
    );
    if let Some(p) = parallel {
        draft = draft.action(format!(
            "Parallel plans take the workers: lower 'max degree of parallelism'{} (e.g. to 8, \
             or fewer on a server this busy) and raise 'cost threshold for parallelism'{} \
             (e.g. to 50) with sp_configure and RECONFIGURE over the DAC; both apply to new \
             plans at once, no restart. A database-scoped MAXDOP (ALTER DATABASE SCOPED \
             CONFIGURATION) or a Resource Governor MAX_DOP can override the server's.",
            p.maxdop
                .map(|v| format!(
                    " (now {v}{})",
                    if v == 0 { ": every scheduler" } else { "" }
                ))
                .unwrap_or_default(),
            p.cost_threshold
                .map(|v| format!(" (now {v})"))
                .unwrap_or_default()
        ));
    }
    draft
        .action(
            "Reduce the load at its source: scale the application down (tasks, pool sizes). \
             Raising 'max worker threads' only adds threads for the same queue: they fill at \
             once.",
        )
        .action(
            "Do not queue remediation that needs a worker (DBCC FREEPROCCACHE, ALTER DATABASE): \
             it hangs. If the server must restart, scale the clients down first.",
        )
        .done()
}

/// " (MAXDOP 0, cost threshold 5)": the settings as read, when they were.
fn settings_text(p: &crate::model::snapshot::Parallelism) -> String {
    let mut parts = Vec::new();
    if let Some(v) = p.maxdop {
        parts.push(format!("MAXDOP {v}"));
    }
    if let Some(v) = p.cost_threshold {
        parts.push(format!("cost threshold {v}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Parallelism wait time (CXPACKET, CXCONSUMER, CXSYNC_*) per second over the window,
/// when the wait statistics were read and any accrued.
pub(crate) fn parallelism_ms_per_sec(ctx: &Context) -> Option<u64> {
    let ms: f64 = crate::model::wait_stats::accrued(ctx.window)?
        .iter()
        .filter(|a| crate::model::wait_class::is_sqlserver_parallelism(&a.wait_type))
        .map(|a| a.ms_per_sec)
        .sum();
    (ms > 0.0).then(|| ms.round() as u64)
}
