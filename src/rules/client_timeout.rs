//! Requests that outlive the caller's timeout.
//!
//! In incident 000 Envoy gave up after 15 s while the widget query needed 30-60 s: every
//! answer was thrown away, so the cache never filled and every request was a miss. The
//! server cannot know the client's timeout, so it is a flag (`--client-timeout`).

use super::{Context, Draft, Rule, known_apps, origin, tally, tally_owned, tally_text};
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
    if late.is_empty() {
        return None;
    }
    late.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then(a.id.cmp(&b.id)));
    let n = late.len() as f64;
    let severity = if n >= t.client_timeout_critical_requests {
        Severity::Critical
    } else if n >= t.client_timeout_min_requests {
        Severity::Warning
    } else {
        // One long report query is not a spiral; still worth a line.
        Severity::Info
    };
    let longest = late[0].elapsed_ms.unwrap_or(0);
    let by_origin = tally_owned(late.iter().map(|s| origin(s)));
    let by_app = known_apps(late.iter().copied());
    let by_user = tally(late.iter().map(|s| s.user_or_unknown()));
    let summary = format!(
        "{} running longer than the client's {} timeout (longest {}), mostly from {}: the \
         callers have given up, so this work is wasted and caches it would fill stay empty.",
        if late.len() == 1 {
            "1 request has been".to_string()
        } else {
            format!("{} requests have been", thousands(late.len() as u64))
        },
        duration_secs(t.client_timeout),
        duration_ms(longest),
        tally_text(&by_origin, 2)
    );
    let mut d = Draft::new(&CLIENT_TIMEOUT_EXCEEDED, severity, summary)
        .figure(Figure::count(
            "requests past the timeout",
            late.len() as u64,
        ))
        .figure(Figure::millis("client timeout", limit))
        .figure(Figure::millis("longest running", longest));
    if let Some(q) = &late[0].query {
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
