//! CPU pressure (SQL Server): requests that could run wait for a CPU (status runnable, and
//! tasks queued in the schedulers' runnable queues). Each waits its turn for a 4 ms
//! quantum, so everything slows down together with no single wait to blame.
//!
//! Thresholds, from the reference tools: sp_BlitzFirst flags more than 20% of requests
//! runnable; sp_PressureDetector does so only with more than 10 requests. The schedulers'
//! runnable queue (runnable_tasks_count on VISIBLE ONLINE schedulers) counts parallel tasks
//! too: one task queued per scheduler is a queue on every CPU; it counts when signal waits
//! (time from a wait's end to getting the CPU back) are at least 25% of the wait time, the
//! line practitioners draw for CPU pressure (TechNet Magazine hh781189; Galbraith 2013).
//!
//! Silent while tasks queue for worker threads: worker-thread-exhaustion then says it, with
//! the runnable queue among its figures, and its first action (the DAC) comes first.

use super::{Context, Draft, Rule, pct};
use crate::format::{decimal, thousands};
use crate::model::snapshot::{Area, Snapshot};
use crate::model::verdict::{Figure, Severity, Verdict};

pub const CPU_PRESSURE: Rule = Rule {
    id: "cpu-pressure",
    title: "Runnable queue: requests wait for a CPU",
    needs_rates: false,
    needs: &[Area::Workers],
    check: cpu_pressure,
};

/// Runnable and all requests of client sessions.
fn requests(s: &Snapshot) -> (u64, u64) {
    let mut runnable = 0;
    let mut all = 0;
    let listed = s
        .client_sessions()
        .filter(|x| x.elapsed_ms.is_some())
        .map(|x| (x, 1));
    // A group runs requests when its members have a running time.
    let grouped = s
        .client_groups()
        .filter(|g| g.elapsed_ms.is_some())
        .map(|g| (&g.like, g.count));
    for (x, n) in listed.chain(grouped) {
        all += n;
        if x.raw_state
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("runnable"))
        {
            runnable += n;
        }
    }
    (runnable, all)
}

/// Runnable tasks per scheduler (cpu_count stands for the visible online schedulers).
fn queue_per_cpu(s: &Snapshot) -> Option<f64> {
    let w = s.workers.as_ref()?;
    let cpus = w.cpu_count.filter(|&c| c > 0)?;
    Some(w.runnable_tasks as f64 / cpus as f64)
}

/// Signal wait time as a share of all wait time over the window, from the completed waits
/// (the spiral-relevant types spiral reads, not every wait type the server has).
fn signal_share(ctx: &Context) -> Option<f64> {
    if !ctx.window.has_rates() {
        return None;
    }
    let (a, b) = (
        ctx.window.first().wait_stats.as_ref()?,
        ctx.window.last().wait_stats.as_ref()?,
    );
    let (mut wait, mut signal) = (0u64, 0u64);
    for (name, now) in b {
        let before = a.get(name).copied().unwrap_or_default();
        wait += now.wait_ms.checked_sub(before.wait_ms)?;
        signal += now.signal_ms.checked_sub(before.signal_ms)?;
    }
    (wait > 0).then(|| pct(signal as f64, wait as f64))
}

fn cpu_pressure(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let w = last.workers.as_ref()?;
    if w.queued_tasks > 0 || w.threadpool_waiters > 0 {
        return None;
    }
    let share = signal_share(ctx);
    // The first and the last sample must both show it: a runnable queue at one instant is
    // a burst, not pressure.
    let samples = [ctx.window.first(), last];
    let requests_runnable = samples.iter().all(|s| {
        let (runnable, all) = requests(s);
        all as f64 >= t.runnable_min_requests
            && pct(runnable as f64, all as f64) > t.runnable_requests_pct
    });
    let queue_on_every_cpu = samples
        .iter()
        .all(|s| queue_per_cpu(s).is_some_and(|q| q >= 1.0))
        && share.is_none_or(|p| p >= t.signal_wait_pct);
    if !requests_runnable && !queue_on_every_cpu {
        return None;
    }
    let (runnable, all) = requests(last);
    let mut summary = format!(
        "{} of {} requests are runnable, waiting for a CPU ({}%), and {} tasks sit in the \
         schedulers' runnable queues",
        thousands(runnable),
        thousands(all),
        decimal(pct(runnable as f64, all as f64)),
        thousands(w.runnable_tasks)
    );
    if let Some(cpus) = w.cpu_count {
        summary.push_str(&format!(" ({} CPUs)", thousands(cpus)));
    }
    if let Some(p) = share {
        summary.push_str(&format!(
            "; {}% of the wait time over the window was signal wait (waiting for a CPU after the wait ended)",
            decimal(p)
        ));
    }
    summary.push_str(": the CPUs are the bottleneck; find what burns them before adding load.");
    let mut draft = Draft::new(&CPU_PRESSURE, Severity::Warning, summary)
        .figure(Figure::count("runnable requests", runnable))
        .figure(Figure::count("requests", all))
        .figure(Figure::count("runnable tasks", w.runnable_tasks));
    if let Some(cpus) = w.cpu_count {
        draft = draft.figure(Figure::count("CPUs", cpus));
    }
    if let Some(p) = share {
        draft = draft.figure(Figure::percent("signal wait share", p));
    }
    if let Some(ms) = super::workers::parallelism_ms_per_sec(ctx) {
        draft = draft.figure(Figure::count("parallelism waits ms per second", ms));
    }
    if let Some(p) = last
        .parallelism
        .as_ref()
        .filter(|p| p.parallel_requests > 0)
    {
        draft = draft.figure(Figure::text(
            "parallel requests",
            format!(
                "{} holding {} tasks",
                thousands(p.parallel_requests),
                thousands(p.parallel_tasks)
            ),
        ));
    }
    draft
        .action(
            "Find the requests that burn the CPU now (sys.dm_exec_requests ORDER BY cpu_time \
             DESC, with their plans; `spiral waits` for SOS_SCHEDULER_YIELD and the parallelism \
             waits): one plan gone bad (a scan where a seek was) usually dominates.",
        )
        .action(
            "If compilations are high too (`spiral compiles`), the CPU goes to compiling: \
             parameterize the ad hoc queries rather than add CPUs.",
        )
        .action(
            "Do not free the plan cache or restart to \"reset\" it: every query then compiles \
             again on the same busy CPUs.",
        )
        .done()
}
