//! tempdb allocation contention (SQL Server): tasks queued for the latch of one of tempdb's
//! allocation bitmap pages (PFS, GAM, SGAM: 2:1:1, 2:1:2, 2:1:3 and their repeats). Every
//! temporary table, table variable and spill allocates there; with too few tempdb data files
//! the whole workload serialises on a handful of pages while CPU and disks look idle.
//!
//! Read from the waiting tasks at the instant of the sample (sys.dm_os_waiting_tasks,
//! PAGELATCH_* in database 2), because the page matters: the completed waits
//! (sys.dm_os_wait_stats) say only "PAGELATCH", which user-table hot spots produce too.

use super::{Context, Draft, Rule};
use crate::format::{duration_ms, thousands};
use crate::model::snapshot::Area;
use crate::model::tempdb::{LatchSummary, allocation_page};
use crate::model::verdict::{Figure, Severity, Verdict};

pub const TEMPDB_CONTENTION: Rule = Rule {
    id: "tempdb-allocation-contention",
    title: "tempdb allocation pages contended",
    needs_rates: false,
    needs: &[Area::Latches],
    check: tempdb_allocation_contention,
};

/// How many of the most contended pages the summary names.
const PAGES_NAMED: usize = 3;

fn tempdb_allocation_contention(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let latches = ctx.last().tempdb_latches.as_ref()?;
    let s = LatchSummary::of(latches);
    let n = s.allocation();
    // Microsoft's KB 2154845 describes the symptom (PAGELATCH waits on 2:1:1/2:1:3) without
    // a count; a healthy server has none at all at the instant of a sample, so ten tasks is
    // already a queue, and a hundred is a workload serialised on a few pages.
    let severity = if n as f64 >= t.tempdb_latch_waiters_critical {
        Severity::Critical
    } else if n as f64 >= t.tempdb_latch_waiters_warning {
        Severity::Warning
    } else {
        return None;
    };
    let mut pages: Vec<_> = latches
        .iter()
        .filter_map(|l| allocation_page(&l.resource).map(|k| (l, k)))
        .collect();
    pages.sort_by(|a, b| {
        b.0.waiters
            .cmp(&a.0.waiters)
            .then(a.0.resource.cmp(&b.0.resource))
    });
    let named: Vec<String> = pages
        .iter()
        .take(PAGES_NAMED)
        .map(|(l, k)| format!("{} {} ({})", k.name(), l.resource, thousands(l.waiters)))
        .collect();
    let mut summary = format!(
        "{} tasks wait for a latch on tempdb's allocation pages ({}), the longest {}",
        thousands(n),
        named.join(", "),
        duration_ms(s.longest_allocation_ms)
    );
    summary.push_str(
        ": every temporary table, table variable and spill queues on the same few pages; \
         tempdb has too few data files for this workload, or one of them is bigger than the rest.",
    );
    let mut draft = Draft::new(&TEMPDB_CONTENTION, severity, summary)
        .figure(Figure::count("tasks on allocation pages", n))
        .figure(Figure::count("on PFS pages", s.pfs))
        .figure(Figure::count("on GAM pages", s.gam))
        .figure(Figure::count("on SGAM pages", s.sgam))
        .figure(Figure::count("on other tempdb pages", s.other))
        .figure(Figure::millis(
            "longest allocation-page wait",
            s.longest_allocation_ms,
        ));
    if let Some(ms) = pagelatch_ms_per_sec(ctx) {
        draft = draft.figure(Figure::count("PAGELATCH waits ms per second", ms));
    }
    draft
        .action(
            "Count tempdb's data files and their sizes (SELECT name, size FROM \
             tempdb.sys.database_files WHERE type = 0): Microsoft's guidance is one file per \
             logical CPU up to eight, all the same size and growth, then four more at a time \
             while the contention lasts. Files added now take effect at once (ALTER DATABASE \
             tempdb ADD FILE), no restart needed; an unequal file draws the allocations.",
        )
        .action(
            "Find who allocates (sys.dm_db_task_space_usage / sys.dm_db_session_space_usage by \
             session): a procedure creating a temp table per call at thousands of calls a \
             second is the usual source; caching it (no DDL after creation) or a table \
             variable with memory-optimized tempdb metadata (2019+) relieves it.",
        )
        .action(
            "Do not restart to clear it: tempdb is rebuilt with the same files, and the same \
             workload queues on the same pages within seconds.",
        )
        .done()
}

/// PAGELATCH_* wait time per second over the window, when the wait statistics were read.
fn pagelatch_ms_per_sec(ctx: &Context) -> Option<u64> {
    let a = crate::model::wait_stats::accrued(ctx.window)?;
    let ms: f64 = a
        .iter()
        .filter(|x| x.wait_type.starts_with("PAGELATCH_"))
        .map(|x| x.ms_per_sec)
        .sum();
    Some(ms.round() as u64)
}
