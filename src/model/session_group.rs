//! Sessions counted on the server instead of listed one by one.
//!
//! Over SQL Server's dedicated admin connection (one scheduler, a little memory of its own)
//! spiral must not ship 5,000 session rows through a join: the sample groups the bulk
//! (sleeping connections, requests waiting the same way) on the server and ships each
//! session individually only when a rule needs it by identity (blocked and blocking
//! sessions, open transactions, connections idle past --idle-over, the longest requests).
//! A group has no session ids, so nothing can act on one of its members: kill reads only
//! `Snapshot::sessions`.
//!
//! Rules count through `Snapshot::client_tally`, which gives every session with a weight
//! (1 for a listed session, the count for a group), so a count is the same whether the
//! sessions were listed or grouped. Ages are spans (shortest, longest): the sampler splits
//! groups at the ages the rules compare against (`SessionCuts`), so a rule's threshold
//! never falls inside a span of a live sample; when it does (a capture replayed with other
//! thresholds), `AgeSpan::count_over` says it cannot tell instead of guessing.

use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::model::session::{Session, SessionState};
use crate::model::snapshot::Snapshot;

/// The shortest and longest of one age (milliseconds) among a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeSpan {
    pub min: u64,
    pub max: u64,
}

impl AgeSpan {
    /// How many of `count` members are older than `limit` (strictly): all, none, or None
    /// when the limit falls inside the span and the group cannot say.
    pub fn count_over(&self, limit: u64, count: u64) -> Option<u64> {
        if self.min > limit {
            Some(count)
        } else if self.max <= limit {
            Some(0)
        } else {
            None
        }
    }

    /// How many are at least `limit` old: all, none, or None when the span straddles it.
    pub fn count_at_least(&self, limit: u64, count: u64) -> Option<u64> {
        if self.min >= limit {
            Some(count)
        } else if self.max < limit {
            Some(0)
        } else {
            None
        }
    }
}

/// Sessions that share everything but their id and ages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionGroup {
    pub count: u64,
    /// What every member shares (kind, user, host, application, database, state, command,
    /// wait, admin flag). Its id (0) names no session and its ages are None: read the
    /// spans below.
    pub like: Session,
    /// How long members have been idle (sleeping connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<AgeSpan>,
    /// How long members' current requests have been running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<AgeSpan>,
    /// How long members have waited in their current wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<AgeSpan>,
}

impl SessionGroup {
    /// A group of `count` sessions like `like`, with its identity and ages cleared.
    pub fn new(count: u64, mut like: Session) -> SessionGroup {
        like.id = 0;
        like.idle_ms = None;
        like.elapsed_ms = None;
        like.wait_ms = None;
        like.transaction_ms = None;
        like.connected_at = None;
        like.query = None;
        like.blocked_by.clear();
        SessionGroup {
            count,
            like,
            idle_ms: None,
            elapsed_ms: None,
            wait_ms: None,
        }
    }

    /// Members whose request has run longer than `limit_ms` (None: the span straddles it;
    /// Some(0) for sleeping members, who run nothing).
    pub fn running_over(&self, limit_ms: u64) -> Option<u64> {
        match &self.elapsed_ms {
            Some(span) => span.count_over(limit_ms, self.count),
            None => Some(0),
        }
    }

    /// Members idle for at least `limit_ms` (None: the span straddles it).
    pub fn idle_at_least(&self, limit_ms: u64) -> Option<u64> {
        match &self.idle_ms {
            Some(span) => span.count_at_least(limit_ms, self.count),
            None => Some(0),
        }
    }
}

/// The ages at which a sampler that groups sessions splits its groups: the rules'
/// thresholds, so that no threshold falls inside a group's span. A session idle at least
/// `idle_ms` is not grouped at all (a leak is judged on those connections' identities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCuts {
    /// --idle-over, in milliseconds.
    pub idle_ms: u64,
    /// --client-timeout, in milliseconds: requests running longer are grouped apart.
    pub running_ms: u64,
}

impl SessionCuts {
    pub fn from_thresholds(t: &crate::model::thresholds::Thresholds) -> SessionCuts {
        use crate::model::thresholds::Thresholds;
        SessionCuts {
            idle_ms: Thresholds::ms(t.idle_over),
            running_ms: Thresholds::ms(t.client_timeout),
        }
    }
}

impl Default for SessionCuts {
    fn default() -> SessionCuts {
        SessionCuts::from_thresholds(&crate::model::thresholds::Thresholds::default())
    }
}

/// Counts a full snapshot's sessions the way the DAC sample does on the server
/// (queries/mssql/parts/dac_sessions.sql), engine-neutrally: the sessions a rule needs by
/// identity stay listed, every other one joins the group of sessions that share all but
/// their id and ages, split at `cuts`. For tests and benchmarks that compare verdicts from
/// counted sessions with verdicts from listed ones.
pub fn aggregate(full: &Snapshot, cuts: SessionCuts) -> Snapshot {
    let mut out = full.clone();
    out.sessions.clear();
    out.session_groups.clear();
    let blockers: BTreeSet<i64> = full
        .sessions
        .iter()
        .flat_map(|s| s.blocked_by.iter().copied())
        .collect();
    let grant_holders: BTreeSet<i64> = full
        .memory_grants
        .iter()
        .flat_map(|m| m.largest.iter().map(|h| h.session_id))
        .collect();
    let mut longest: Vec<&Session> = full
        .sessions
        .iter()
        .filter(|s| s.kind.is_client() && s.elapsed_ms.is_some())
        .collect();
    longest.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then(a.id.cmp(&b.id)));
    let longest: BTreeSet<i64> = longest.iter().take(20).map(|s| s.id).collect();
    for s in &full.sessions {
        let listed = Some(s.id) == full.own_session_id
            || s.is_blocked()
            || blockers.contains(&s.id)
            || s.open_transactions > 0
            || s.state == SessionState::IdleInTransaction
            || s.idle_ms.is_some_and(|i| i >= cuts.idle_ms)
            || s.rolling_back
            || longest.contains(&s.id)
            || grant_holders.contains(&s.id);
        if listed {
            out.sessions.push(s.clone());
            continue;
        }
        let late = s.elapsed_ms.is_some_and(|e| e > cuts.running_ms);
        let like = SessionGroup::new(1, s.clone()).like;
        let widen = |span: &mut Option<AgeSpan>, v: Option<u64>| {
            if let Some(v) = v {
                *span = Some(match *span {
                    Some(a) => AgeSpan {
                        min: a.min.min(v),
                        max: a.max.max(v),
                    },
                    None => AgeSpan { min: v, max: v },
                });
            }
        };
        let at = out.session_groups.iter().position(|g| {
            g.like == like && g.elapsed_ms.is_some_and(|e| e.min > cuts.running_ms) == late
        });
        let g = match at {
            Some(i) => {
                out.session_groups[i].count += 1;
                &mut out.session_groups[i]
            }
            None => {
                out.session_groups.push(SessionGroup::new(1, like));
                let last = out.session_groups.len() - 1;
                &mut out.session_groups[last]
            }
        };
        widen(&mut g.idle_ms, s.idle_ms);
        widen(&mut g.elapsed_ms, s.elapsed_ms);
        widen(&mut g.wait_ms, s.wait_ms);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_counts_only_when_the_limit_is_outside_it() {
        let span = AgeSpan {
            min: 20_000,
            max: 59_000,
        };
        assert_eq!(span.count_over(15_000, 7), Some(7));
        assert_eq!(span.count_over(59_000, 7), Some(0));
        assert_eq!(span.count_over(30_000, 7), None);
        assert_eq!(span.count_at_least(20_000, 7), Some(7));
        assert_eq!(span.count_at_least(59_001, 7), Some(0));
    }

    #[test]
    fn a_group_names_no_session() {
        let mut s = Session::new(182, SessionState::Active);
        s.elapsed_ms = Some(5);
        s.blocked_by = vec![3];
        let g = SessionGroup::new(4, s);
        assert_eq!((g.like.id, g.like.elapsed_ms), (0, None));
        assert!(g.like.blocked_by.is_empty());
        assert_eq!(g.running_over(1), Some(0), "no span: nothing running");
    }

    #[test]
    fn groups_round_trip_through_a_capture_line_and_old_lines_still_read() {
        use crate::model::snapshot::Engine;
        let mut snap = Snapshot::empty(Engine::Mssql, chrono::Utc::now());
        let mut like = Session::new(7, SessionState::Idle);
        like.user = Some("shop".into());
        let mut g = SessionGroup::new(40, like);
        g.idle_ms = Some(AgeSpan { min: 1, max: 9 });
        snap.session_groups.push(g);
        let line = serde_json::to_string(&snap).unwrap_or_default();
        let back: Snapshot = serde_json::from_str(&line).expect("reads back");
        assert_eq!(back, snap);
        // A line written before groups existed has no such field: no groups.
        let mut old: serde_json::Value = serde_json::from_str(&line).expect("json");
        if let Some(o) = old.as_object_mut() {
            o.remove("session_groups");
        }
        let back: Snapshot = serde_json::from_value(old).expect("old line reads");
        assert!(back.session_groups.is_empty());
    }
}
