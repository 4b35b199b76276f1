//! Requests that outlive the caller's timeout.
//!
//! In incident 000 Envoy gave up after 15 s while the widget query needed 30-60 s: every
//! answer was thrown away, so the cache never filled and every request was a miss. The
//! server cannot know the client's timeout, so it is a flag (`--client-timeout`).

use super::{
    Context, Draft, Rule, known_apps_weighted, origin, tally_owned, tally_text, tally_weighted,
};
use crate::format::{duration_ms, duration_secs, thousands, truncate};
use crate::model::session::{Session, SessionState};
use crate::model::snapshot::Area;
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Culprits, Figure, Severity, Verdict};

pub const CLIENT_TIMEOUT_EXCEEDED: Rule = Rule {
    id: "client-timeout-exceeded",
    title: "Work outliving the client's timeout",
    needs_rates: false,
    needs: &[Area::OtherSessions],
    check: client_timeout_exceeded,
};

/// Work that runs long on purpose and has no caller waiting on a timeout: Service Broker
/// and WAITFOR receivers, replication and CDC readers, backups, restores and DBCC checks.
fn waits_by_design(s: &Session) -> bool {
    let wait = s.wait_type.as_deref().unwrap_or("");
    let command = s.command.as_deref().unwrap_or("").to_ascii_uppercase();
    matches!(
        wait,
        "WAITFOR" | "BROKER_RECEIVE_WAITFOR" | "BROKER_TASK_STOP" | "SP_SERVER_DIAGNOSTICS_SLEEP"
    ) || ["BACKUP", "RESTORE", "DBCC", "WAITFOR"]
        .iter()
        .any(|c| command.starts_with(c))
        || s.query
            .as_deref()
            .is_some_and(|q| q.contains("sp_replcmds") || q.contains("sp_cdc_scan"))
}

pub(super) fn client_timeout_exceeded(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let limit = Thresholds::ms(t.client_timeout);
    let mut late: Vec<&Session> = last
        .client_sessions()
        .filter(|s| s.state == SessionState::Active && s.elapsed_ms.unwrap_or(0) > limit)
        .filter(|s| !waits_by_design(s))
        .collect();
    late.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then(a.id.cmp(&b.id)));
    // Requests the server counted in groups (over the DAC): each group is wholly past the
    // timeout or wholly within it, because the sampler splits groups at --client-timeout.
    let mut grouped: Vec<(&Session, u64)> = Vec::new();
    let mut longest_grouped = 0;
    for g in last
        .client_groups()
        .filter(|g| g.like.state == SessionState::Active && !waits_by_design(&g.like))
    {
        match g.running_over(limit) {
            Some(0) => {}
            Some(n) => {
                grouped.push((&g.like, n));
                longest_grouped = longest_grouped.max(g.elapsed_ms.map_or(0, |a| a.max));
            }
            None => return grouped_around_another_timeout(limit),
        }
    }
    let count = late.len() as u64 + grouped.iter().map(|(_, n)| n).sum::<u64>();
    if count == 0 {
        return None;
    }
    let n = count as f64;
    let severity = if n >= t.client_timeout_critical_requests {
        Severity::Critical
    } else if n >= t.client_timeout_min_requests {
        Severity::Warning
    } else {
        // One long report query is not a spiral; still worth a line.
        Severity::Info
    };
    let longest = late
        .first()
        .and_then(|s| s.elapsed_ms)
        .unwrap_or(0)
        .max(longest_grouped);
    let weighted = || late.iter().map(|s| (*s, 1)).chain(grouped.iter().copied());
    let by_origin =
        tally_owned(weighted().flat_map(|(s, n)| std::iter::repeat_n(origin(s), n as usize)));
    let by_app = known_apps_weighted(weighted());
    let by_user = tally_weighted(weighted().map(|(s, n)| (s.user_or_unknown(), n)));
    let summary = format!(
        "{} running longer than the client's {} timeout (longest {}), mostly from {}: the \
         callers have given up, so this work is wasted and caches it would fill stay empty.",
        if count == 1 {
            "1 request has been".to_string()
        } else {
            format!("{} requests have been", thousands(count))
        },
        duration_secs(t.client_timeout),
        duration_ms(longest),
        tally_text(&by_origin, 2)
    );
    let mut d = Draft::new(&CLIENT_TIMEOUT_EXCEEDED, severity, summary)
        .figure(Figure::count("requests past the timeout", count))
        .figure(Figure::millis("client timeout", limit))
        .figure(Figure::millis("longest running", longest));
    if let Some(q) = late.first().and_then(|s| s.query.as_ref()) {
        d = d.figure(Figure::text("longest statement", truncate(q, 120)));
    }
    d.action(
        "Find why they are slow before touching timeouts: `spiral blocking` and `spiral waits` \
         (often they wait for locks held by writers).",
    )
    .action(format!(
        "Make the server stop work nobody waits for: a statement timeout a little below the \
         client's {} for this application.",
        duration_secs(t.client_timeout)
    ))
    .action(
        "Raise the caller's timeout only when the query is legitimately slow, and together \
         with any lock or dedup TTL that must outlast it: a dedup lock shorter than the query \
         lets every retry start the query again.",
    )
    .culprits(Culprits {
        users: by_user.iter().take(3).map(|(u, _)| u.clone()).collect(),
        applications: by_app.iter().take(3).map(|(a, _)| a.clone()).collect(),
        sessions: late.iter().map(|s| s.id).take(20).collect(),
        ..Culprits::default()
    })
    .done()
}

/// A capture whose groups were split at another --client-timeout: how many of a group's
/// requests are past this one cannot be told, and a guess would be a wrong verdict.
fn grouped_around_another_timeout(limit_ms: u64) -> Option<Verdict> {
    Draft::new(
        &CLIENT_TIMEOUT_EXCEEDED,
        Severity::Unknown,
        format!(
            "Cannot tell how many requests run longer than {}: this sample counted requests \
             in groups (over the dedicated admin connection) split at another client \
             timeout. Replay it with the --client-timeout it was taken with.",
            duration_ms(limit_ms)
        ),
    )
    .done()
}
