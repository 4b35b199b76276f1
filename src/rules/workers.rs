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
        last.sessions
            .iter()
            .filter(|s| s.waits_on(WaitClass::Threadpool))
            .count() as u64,
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
    Draft::new(&WORKER_EXHAUSTION, severity, summary)
        .figure(Figure::count("active workers", w.active_workers))
        .figure(Figure::count("max workers", w.max_workers))
        .figure(Figure::count("queued tasks", w.queued_tasks))
        .figure(Figure::count("THREADPOOL waiters", threadpool))
        .figure(Figure::count("runnable tasks", w.runnable_tasks))
        .action(
            "Come in through the dedicated admin connection, which has its own scheduler: \
             `spiral triage --dac <target>` or `sqlcmd -A -S <host>`.",
        )
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
