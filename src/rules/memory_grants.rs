//! Memory-grant exhaustion (SQL Server): requests that need workspace memory for a sort or
//! a hash queue on RESOURCE_SEMAPHORE until a grant frees up. A few big grants can hold the
//! whole workspace while hundreds of small queries wait behind them; each wait may be short
//! (a few seconds), so a per-request view looks calm while throughput collapses. The count
//! of waiters is the signal, not the length of any one wait.

use super::{Context, Draft, Rule};
use crate::format::{duration_ms, thousands};
use crate::model::snapshot::{Area, MemoryGrants, counter};
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const MEMORY_GRANT_EXHAUSTION: Rule = Rule {
    id: "memory-grant-exhaustion",
    title: "Queries queued for memory grants",
    needs_rates: false,
    needs: &[Area::MemoryGrants],
    check: memory_grant_exhaustion,
};

/// How many of the biggest grants the verdict names.
const HOLDERS_NAMED: usize = 3;

fn memory_grant_exhaustion(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let m = last.memory_grants.as_ref()?;
    let waiters = queued(m);
    // Requests that gave up waiting (error 8645) since the first sample: clients saw
    // failures, not only slowness. Zero until the window has two samples or after a restart.
    let timeouts = if ctx.window.has_rates() {
        ctx.window
            .delta(counter::MEMORY_GRANT_TIMEOUTS)
            .unwrap_or(0)
    } else {
        0
    };
    let severity = if waiters as f64 >= t.grant_waiters_critical
        || (timeouts > 0 && waiters as f64 >= t.grant_waiters_warning)
    {
        Severity::Critical
    } else if waiters as f64 >= t.grant_waiters_warning || timeouts > 0 {
        Severity::Warning
    } else {
        return None;
    };

    let mut summary = format!(
        "{} queued for a memory grant (RESOURCE_SEMAPHORE) while {} hold one",
        plural_requests(waiters),
        thousands(m.holders)
    );
    if let Some(ms) = m.longest_wait_ms.filter(|_| waiters > 0) {
        summary.push_str(&format!(", the longest waiting {}", duration_ms(ms)));
    }
    if timeouts > 0 {
        summary.push_str(&format!(
            "; {} gave up waiting (error 8645) during the window",
            thousands(timeouts)
        ));
    }
    let holders = holder_text(ctx, m);
    if !holders.is_empty() {
        summary.push_str(&format!("; the biggest grants: {holders}"));
    }
    summary.push_str(if severity == Severity::Critical {
        ": queries wait for workspace memory instead of running, however short each wait."
    } else {
        ": workspace memory is running out."
    });

    let mut draft = Draft::new(&MEMORY_GRANT_EXHAUSTION, severity, summary)
        .figure(Figure::count("requests queued for a grant", waiters))
        .figure(Figure::count("requests holding a grant", m.holders));
    if let Some(ms) = m.longest_wait_ms.filter(|_| waiters > 0) {
        draft = draft.figure(Figure::millis("longest grant wait", ms));
    }
    if ctx.window.has_rates() {
        draft = draft.figure(Figure::count("grant timeouts in the window", timeouts));
    }
    if let Some(ms) = semaphore_accrued(ctx) {
        draft = draft.figure(Figure::millis("RESOURCE_SEMAPHORE waits accrued", ms));
    }
    for p in m.pools.iter().filter(|p| p.waiters > 0) {
        draft = draft.figure(Figure::text(
            &format!("pool {}", pool_name(p)),
            format!(
                "{} waiting, {} MB granted of {} MB",
                thousands(p.waiters),
                thousands(p.granted_kb / 1024),
                thousands(p.target_kb / 1024)
            ),
        ));
    }
    draft
        .culprits(Culprits {
            sessions: m
                .largest
                .iter()
                .take(HOLDERS_NAMED)
                .map(|h| h.session_id)
                .collect(),
            ..Culprits::default()
        })
        .action(
            "Look at the biggest grants first (sys.dm_exec_query_memory_grants ORDER BY \
             granted_memory_kb DESC, with their plans): a few queries asking for gigabytes \
             usually hold the workspace; their estimates are off or they sort/hash far more \
             rows than they need.",
        )
        .action(
            "Cap the grant per query rather than the queue: Resource Governor \
             REQUEST_MAX_MEMORY_GRANT_PERCENT on the workload group (default 25), or a \
             MAX_GRANT_PERCENT hint on the offending query; check that memory grant feedback \
             is on (batch mode: compatibility level 140+, row mode: 150+) and that high-DOP plans are not multiplying \
             grants (MAXDOP).",
        )
        .action(
            "Do not restart the server or free the plan cache to clear the queue: the same \
             queries come back and ask for the same grants, and recompiling them adds a \
             compile storm. Killing waiters frees nothing; only a holder's grant returns \
             memory.",
        )
        .done()
}

/// RESOURCE_SEMAPHORE wait time completed over the window (sys.dm_os_wait_stats).
fn semaphore_accrued(ctx: &Context) -> Option<u64> {
    crate::model::wait_stats::accrued(ctx.window)?
        .into_iter()
        .find(|a| a.wait_type == "RESOURCE_SEMAPHORE")
        .map(|a| a.wait_ms)
}

/// Waiters from the grants DMV and from the semaphores, whichever saw more: the two are
/// read a moment apart and either may have failed.
fn queued(m: &MemoryGrants) -> u64 {
    m.waiters.max(m.pools.iter().map(|p| p.waiters).sum())
}

fn plural_requests(n: u64) -> String {
    if n == 1 {
        "1 request is".to_string()
    } else {
        format!("{} requests are", thousands(n))
    }
}

fn pool_name(p: &crate::model::snapshot::GrantPool) -> String {
    match &p.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => format!("#{}", p.pool_id),
    }
}

/// "session 77 (2,048 MB, DOP 8, app reporting)": the biggest holders, with where they
/// come from when the session list knows them.
fn holder_text(ctx: &Context, m: &MemoryGrants) -> String {
    m.largest
        .iter()
        .take(HOLDERS_NAMED)
        .map(|h| {
            let mut parts = vec![format!("{} MB", thousands(h.granted_kb / 1024))];
            if let Some(dop) = h.dop.filter(|d| *d > 1) {
                parts.push(format!("DOP {dop}"));
            }
            if let Some(s) = ctx.last().sessions.iter().find(|s| s.id == h.session_id) {
                parts.push(super::origin(s));
            }
            format!("session {} ({})", h.session_id, parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
