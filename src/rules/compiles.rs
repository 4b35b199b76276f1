//! The compile gate and the Query Store amplifying it (incident 000).

use super::{Context, Draft, Rule, pct};
use crate::format::decimal;
use crate::model::session::WaitClass;
use crate::model::snapshot::{Area, counter};
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

/// Compile rate figures over the window, when the engine reports compilations.
pub(crate) struct CompileRate {
    pub per_sec: f64,
    pub delta: u64,
    /// Compilations per batch, when batches are counted.
    pub ratio: Option<f64>,
}

pub(crate) fn compile_rate(ctx: &Context) -> Option<CompileRate> {
    let delta = ctx.window.delta(counter::COMPILATIONS).ok()?;
    let secs = ctx.window.seconds();
    let batches = ctx.window.delta(counter::BATCHES).ok();
    Some(CompileRate {
        per_sec: delta as f64 / secs,
        delta,
        ratio: batches.filter(|&b| b > 0).map(|b| delta as f64 / b as f64),
    })
}

/// sp_BlitzFirst's test, with our thresholds: enough compilations that it is not noise
/// (the floor of 75 exists because that tool itself causes ~50 per run), a rate above the
/// minimum, and a large share of batches compiling.
pub(crate) fn compile_rate_high(ctx: &Context, r: &CompileRate) -> bool {
    let t = ctx.thresholds;
    r.delta > 75
        && r.per_sec >= t.compile_min_per_sec
        && r.ratio.is_none_or(|q| q * 100.0 >= t.compile_ratio_pct)
}

fn compile_waiters(ctx: &Context) -> u64 {
    let last = ctx.last();
    let sessions: u64 = last
        .client_tally()
        .filter(|(s, _)| s.waits_on(WaitClass::Compile))
        .map(|(_, n)| n)
        .sum();
    let gate = last.compile_gate.as_ref().map_or(0, |g| g.waiters);
    sessions.max(gate)
}

pub const COMPILE_GATE: Rule = Rule {
    id: "compile-gate-saturation",
    title: "Compile gate saturated",
    needs_rates: false,
    needs: &[Area::Compiles],
    check: compile_gate_saturation,
};

fn compile_gate_saturation(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let waiters = compile_waiters(ctx);
    let rate = compile_rate(ctx);
    let high_rate = rate.as_ref().is_some_and(|r| compile_rate_high(ctx, r));
    let severity = if waiters as f64 >= t.compile_waiters_critical {
        Severity::Critical
    } else if waiters as f64 >= t.compile_waiters_warning {
        Severity::Warning
    } else if high_rate {
        Severity::Info
    } else {
        return None;
    };
    let mut summary = if waiters > 0 {
        format!(
            "{} queued at the compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE)",
            crate::format::plural(waiters, "session")
        )
    } else {
        "The compile rate is high but the compile gate is not queueing yet".to_string()
    };
    if let Some(r) = &rate {
        summary.push_str(&format!("; {} compilations/s", decimal(r.per_sec)));
        if let Some(q) = r.ratio.filter(|q| *q > 0.0) {
            summary.push_str(&format!(
                ", one batch in {} compiled",
                decimal((1.0 / q).max(1.0))
            ));
        }
    }
    if waiters > 0 {
        summary.push_str(
            ": every waiting session holds a worker thread, and a new query shape per request \
             keeps the queue full.",
        );
    } else {
        summary.push('.');
    }
    let mut d = Draft::new(&COMPILE_GATE, severity, summary)
        .figure(Figure::count("compile waiters", waiters));
    if let Some(g) = &last.compile_gate {
        d = d
            .figure(Figure::count("gateway active", g.active))
            .figure(Figure::count("gateway limit", g.limit));
    }
    if let Some(r) = &rate {
        d = d.figure(Figure::rate("compilations", r.per_sec));
        if let Some(q) = r.ratio {
            d = d.figure(Figure::percent("compilations per batch", q * 100.0));
        }
    }
    d.action(
        "Cut the load first: scale the clients down (fewer tasks, smaller pools). Do not raise \
         max worker threads (the extra threads fill at once) and do not run \
         DBCC FREEPROCCACHE (it needs a worker and hangs).",
    )
    .action(
        "If a restart is unavoidable, scale the clients down before it, not after: the \
         reconnect flood re-saturates the gate within seconds.",
    )
    .action(
        "While connections are low, turn Query Store off or to capture mode AUTO on the busy \
         database, then ramp the clients back up in steps watching `spiral compiles`.",
    )
    .done()
}

pub const QUERY_STORE: Rule = Rule {
    id: "query-store-amplification",
    title: "Query Store amplifying compilations",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: query_store_amplification,
};

fn query_store_amplification(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let waiters: u64 = last
        .client_tally()
        .filter(|(s, _)| s.waits_on(WaitClass::QueryStore))
        .map(|(_, n)| n)
        .sum();
    if (waiters as f64) < t.query_store_waiters {
        return None;
    }
    // The databases the waiters are in, most waiters first: that is where Query Store is
    // in the way, not every database that has it on.
    let mut by_db: Vec<(String, u64)> = Vec::new();
    for (s, k) in last
        .client_tally()
        .filter(|(s, _)| s.waits_on(WaitClass::QueryStore))
    {
        let Some(db) = &s.database else { continue };
        match by_db.iter_mut().find(|(d, _)| d == db) {
            Some((_, n)) => *n += k,
            None => by_db.push((db.clone(), k)),
        }
    }
    by_db.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rw: Vec<String> = last
        .databases
        .iter()
        .filter(|d| d.query_store_writes())
        .map(|d| d.name.clone())
        .collect();
    let waiter_dbs: Vec<String> = by_db.iter().map(|(d, _)| d.clone()).collect();
    let state_of = |name: &str| {
        last.databases
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.query_store.clone())
    };
    let rate = compile_rate(ctx);
    let gate_full = compile_waiters(ctx) as f64 >= t.compile_waiters_warning;
    let storm = gate_full || rate.as_ref().is_some_and(|r| compile_rate_high(ctx, r));
    let severity = if storm && gate_full {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut summary = format!(
        "{} wait on Query Store (QDS_*)",
        crate::format::plural(waiters, "session")
    );
    let target = waiter_dbs
        .first()
        .or(rw.first())
        .cloned()
        .unwrap_or_else(|| "<database>".to_string());
    if !waiter_dbs.is_empty() {
        summary.push_str(&format!(" in {}", crate::format::list(&waiter_dbs, 3)));
    }
    match state_of(&target).as_deref() {
        Some("read_write") => summary.push_str(&format!("; Query Store is read-write on {target}")),
        Some("read_only") => summary.push_str(&format!(
            "; Query Store is READ_ONLY on {target} (full, or the database is read-only): it \
             records nothing new there"
        )),
        Some("error") => summary.push_str(&format!("; Query Store is in ERROR on {target}")),
        Some("on") => summary.push_str(&format!(
            "; Query Store is on for {target} (its actual state could not be read)"
        )),
        _ if !rw.is_empty() && waiter_dbs.is_empty() => summary.push_str(&format!(
            " while Query Store is read-write on {}",
            crate::format::list(&rw, 3)
        )),
        _ => {}
    }
    let capture = last.query_store_capture.get(&target).cloned();
    if let Some(mode) = &capture {
        summary.push_str(&format!(", capture mode {}", mode.to_ascii_uppercase()));
    }
    if let Some(r) = &rate {
        summary.push_str(&format!(", under {} compilations/s", decimal(r.per_sec)));
    }
    summary.push_str(
        ": Query Store records every new plan, and that write is now part of each compilation.",
    );
    let mut d = Draft::new(&QUERY_STORE, severity, summary)
        .figure(Figure::count("Query Store waiters", waiters))
        .figure(Figure::text(
            "waiters' databases",
            if waiter_dbs.is_empty() {
                "unknown".to_string()
            } else {
                crate::format::list(&waiter_dbs, 5)
            },
        ))
        .figure(Figure::text(
            "read-write on",
            if rw.is_empty() {
                "unknown".to_string()
            } else {
                crate::format::list(&rw, 5)
            },
        ));
    if let Some(mode) = &capture {
        d = d.figure(Figure::text("capture mode", mode.to_ascii_uppercase()));
    }
    if let Some(r) = &rate {
        d = d.figure(Figure::rate("compilations", r.per_sec));
    }
    let share = pct(waiters as f64, last.client_count() as f64);
    let later = if capture.as_deref() == Some("auto") {
        "Capture mode is already AUTO: when it comes back, keep it so, and fix the query \
         shapes at the source (a new shape per request is what it has to record)."
    } else {
        "Later, bring it back with QUERY_CAPTURE_MODE = AUTO so ad hoc one-off shapes are \
         not recorded."
    };
    d.figure(Figure::percent("share of sessions", share))
        .action(format!(
            "Once connections are low (scale the clients down first: it needs exclusive access \
             and hangs under load): ALTER DATABASE [{target}] SET QUERY_STORE = OFF;"
        ))
        .action(later)
        .culprits(Culprits::default())
        .done()
}
