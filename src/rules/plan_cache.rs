//! Plan-cache bloat: single-use plans crowding the cache, a sign that every request brings
//! a new query shape to compile.

use super::compiles::{compile_rate, compile_rate_high};
use super::{Context, Draft, Rule, pct};
use crate::format::{decimal, thousands};
use crate::model::snapshot::Area;
use crate::model::verdict::{Figure, Severity, Verdict};

pub const PLAN_CACHE_BLOAT: Rule = Rule {
    id: "plan-cache-bloat",
    title: "Plan cache full of single-use plans",
    needs_rates: false,
    needs: &[Area::PlanCache],
    check: plan_cache_bloat,
};

fn plan_cache_bloat(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let cache = last.plan_cache.as_ref()?;
    let plans: u64 = cache.iter().map(|e| e.plans).sum();
    let single: u64 = cache.iter().map(|e| e.single_use).sum();
    let bytes: u64 = cache.iter().map(|e| e.size_bytes).sum();
    let share = pct(single as f64, plans as f64);
    if (plans as f64) < t.plan_cache_min_plans || share < t.plan_cache_single_use_pct {
        return None;
    }
    // On its own this is waste, not a spiral; together with a compile storm it is the
    // same story told by the cache.
    let storm = compile_rate(ctx).is_some_and(|r| compile_rate_high(ctx, &r));
    let severity = if storm {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut by_type: Vec<_> = cache.iter().filter(|e| e.single_use > 0).collect();
    by_type.sort_by_key(|e| std::cmp::Reverse(e.single_use));
    let kinds: Vec<String> = by_type
        .iter()
        .take(3)
        .map(|e| format!("{} {}", e.object_type, thousands(e.single_use)))
        .collect();
    // Stubs ('optimize for ad hoc workloads') are not plans: counting them would keep this
    // firing after the remedy it recommends is in place.
    let stubs = last
        .plan_cache_stubs
        .filter(|&n| n > 0)
        .map(|n| format!(" (plus {} plan stubs, not counted)", thousands(n)))
        .unwrap_or_default();
    let summary = format!(
        "{}% of the {} cached plans were used once ({}), {} MB in all{stubs}: query shapes are \
         not being reused{}.",
        decimal(share),
        thousands(plans),
        kinds.join(", "),
        thousands(bytes / (1024 * 1024)),
        if storm {
            ", and the compile rate shows it"
        } else {
            ""
        }
    );
    let adhoc_off = last.guardrails.optimize_for_ad_hoc == Some(false);
    let mut d = Draft::new(&PLAN_CACHE_BLOAT, severity, summary)
        .figure(Figure::count("cached plans", plans))
        .figure(Figure::count("single-use plans", single))
        .figure(Figure::percent("single-use share", share))
        .figure(Figure::count("cache size (MB)", bytes / (1024 * 1024)));
    if last.server.flavor.as_deref() == Some("azure-sql-database") {
        // No sp_configure there: the setting is the database's own.
        d = d.action(
            "Keep one-off shapes to a stub (database-scoped on Azure SQL Database): ALTER \
             DATABASE SCOPED CONFIGURATION SET OPTIMIZE_FOR_AD_HOC_WORKLOADS = ON;",
        );
    } else if adhoc_off {
        d = d.action(
            "Turn on 'optimize for ad hoc workloads' (sp_configure; online, no restart) so \
             one-off shapes keep only a stub.",
        );
    }
    d.action(
        "Fix the shapes at the source: parameterize IN lists and TOP values, use one \
         parameter size per column (Entity Framework generates a new shape per count), or \
         try forced parameterization on the database.",
    )
    .action(
        "Evicting plans does not help while new shapes keep coming: every query compiles \
         again and the compile waits stay where they were.",
    )
    .done()
}
