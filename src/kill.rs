//! `spiral kill`: end idle or runaway sessions safely.
//!
//! Incident 002's team wrote a bash loop over `CALL mysql.rds_kill(id)` at 3 a.m. This is
//! that loop with guard rails: filters that must all match (and no filter at all is
//! refused), a dry run unless `--execute`, sessions that are never victims whatever the
//! filters (spiral's own, server internals, replication, sessions already rolling back,
//! admins unless asked), a re-check of each victim's identity just before it is killed
//! (ids are reused in a connection storm), a rate limit, a log for the postmortem, and a
//! look afterwards at whether the clients simply reconnected.
//!
//! Selection is a pure function of a snapshot, tested without a database; the engines only
//! execute the statement.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::blocking::BlockingGraph;
use crate::session::{Session, SessionKind, SessionState};
use crate::snapshot::{Engine, Snapshot};

/// Which of the matched sessions become victims (pt-kill's --victims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Victims {
    All,
    Oldest,
    AllButOldest,
}

/// The selection criteria. Every given filter must match; every `ignore_*` must not.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub idle_over_ms: Option<u64>,
    pub busy_over_ms: Option<u64>,
    pub users: Vec<String>,
    pub hosts: Vec<String>,
    pub apps: Vec<String>,
    pub dbs: Vec<String>,
    pub states: Vec<String>,
    pub commands: Vec<String>,
    pub match_sql: Option<regex::Regex>,
    pub ignore_users: Vec<String>,
    pub ignore_hosts: Vec<String>,
    pub ignore_apps: Vec<String>,
    pub ignore_dbs: Vec<String>,
    pub ignore_states: Vec<String>,
    pub ignore_commands: Vec<String>,
    pub ignore_sql: Option<regex::Regex>,
    pub idle_in_transaction: bool,
    pub blocking_leaders: bool,
    pub include_admins: bool,
}

impl Filters {
    /// True when no selecting filter was given: killing "everything" is never a default.
    pub fn selects_nothing(&self) -> bool {
        self.idle_over_ms.is_none()
            && self.busy_over_ms.is_none()
            && self.users.is_empty()
            && self.hosts.is_empty()
            && self.apps.is_empty()
            && self.dbs.is_empty()
            && self.states.is_empty()
            && self.commands.is_empty()
            && self.match_sql.is_none()
            && !self.idle_in_transaction
            && !self.blocking_leaders
    }
}

/// Why a session is never a victim, whatever the filters say. None: it may be one.
pub fn protected(s: &Session, snapshot: &Snapshot, include_admins: bool) -> Option<&'static str> {
    if Some(s.id) == snapshot.own_session_id {
        return Some("spiral's own session");
    }
    if s.kind != SessionKind::Client {
        return Some(match s.kind {
            SessionKind::Replication => "replication",
            _ => "a server-internal session",
        });
    }
    // Belt and braces for engines that report these as ordinary rows.
    let user = s.user.as_deref().unwrap_or("");
    let command = s.command.as_deref().unwrap_or("");
    if matches!(user, "system user" | "event_scheduler")
        || matches!(command, "Binlog Dump" | "Binlog Dump GTID" | "Daemon")
    {
        return Some("a replication or system thread");
    }
    if snapshot.engine == Engine::Mssql && s.id <= 50 {
        return Some("a SQL Server system session (id 50 or below)");
    }
    if s.rolling_back {
        return Some("already rolling back (killing it again does nothing)");
    }
    if s.is_admin && !include_admins {
        return Some("an admin session (use --include-admins)");
    }
    None
}

fn any_eq(list: &[String], value: Option<&str>) -> bool {
    value.is_some_and(|v| list.iter().any(|x| x == v))
}

fn any_eq_ci(list: &[String], values: &[Option<&str>]) -> bool {
    values
        .iter()
        .flatten()
        .any(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
}

/// How long a session has been in its current state.
pub fn age_ms(s: &Session) -> u64 {
    s.idle_ms.or(s.elapsed_ms).unwrap_or(0)
}

/// The reasons a session matches every filter, or None when one of them fails.
pub fn matches(s: &Session, f: &Filters, leaders: &[i64]) -> Option<Vec<String>> {
    let mut why = Vec::new();
    if let Some(limit) = f.idle_over_ms {
        let idle = matches!(
            s.state,
            SessionState::Idle | SessionState::IdleInTransaction
        );
        let ms = s.idle_ms.unwrap_or(0);
        if !idle || ms < limit {
            return None;
        }
        why.push(format!("idle {}", crate::format::duration_ms(ms)));
    }
    if let Some(limit) = f.busy_over_ms {
        let ms = s.elapsed_ms.unwrap_or(0);
        if s.state != SessionState::Active || ms < limit {
            return None;
        }
        why.push(format!("running {}", crate::format::duration_ms(ms)));
    }
    let checks: [(&[String], Option<&str>, &str); 4] = [
        (&f.users, s.user.as_deref(), "user"),
        (&f.hosts, s.client_host.as_deref(), "host"),
        (&f.apps, s.application.as_deref(), "app"),
        (&f.dbs, s.database.as_deref(), "db"),
    ];
    for (list, value, label) in checks {
        if !list.is_empty() {
            if !any_eq(list, value) {
                return None;
            }
            why.push(format!("{label} {}", value.unwrap_or("")));
        }
    }
    let state_words = [Some(s.state.label()), s.raw_state.as_deref()];
    if !f.states.is_empty() {
        let alias: Vec<String> = f.states.iter().map(|x| x.replace('-', " ")).collect();
        if !any_eq_ci(&alias, &state_words) {
            return None;
        }
        why.push(format!("state {}", s.state.label()));
    }
    if !f.commands.is_empty() {
        if !any_eq_ci(&f.commands, &[s.command.as_deref()]) {
            return None;
        }
        why.push(format!("command {}", s.command.as_deref().unwrap_or("")));
    }
    if let Some(re) = &f.match_sql {
        if !s.query.as_deref().is_some_and(|q| re.is_match(q)) {
            return None;
        }
        why.push("query matches".to_string());
    }
    if f.idle_in_transaction {
        if s.state != SessionState::IdleInTransaction {
            return None;
        }
        why.push("idle in transaction".to_string());
    }
    if f.blocking_leaders {
        if !leaders.contains(&s.id) {
            return None;
        }
        why.push("leads a blocking chain".to_string());
    }
    // The ignore twins.
    let ignores: [(&[String], Option<&str>); 4] = [
        (&f.ignore_users, s.user.as_deref()),
        (&f.ignore_hosts, s.client_host.as_deref()),
        (&f.ignore_apps, s.application.as_deref()),
        (&f.ignore_dbs, s.database.as_deref()),
    ];
    if ignores.iter().any(|(list, v)| any_eq(list, *v))
        || any_eq_ci(
            &f.ignore_states
                .iter()
                .map(|x| x.replace('-', " "))
                .collect::<Vec<_>>(),
            &state_words,
        )
        || any_eq_ci(&f.ignore_commands, &[s.command.as_deref()])
        || f.ignore_sql
            .as_ref()
            .is_some_and(|re| s.query.as_deref().is_some_and(|q| re.is_match(q)))
    {
        return None;
    }
    Some(why)
}

#[derive(Debug, Clone, Serialize)]
pub struct Victim {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    pub state: String,
    pub age_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<DateTime<Utc>>,
    pub why: Vec<String>,
    /// The statement that ends the session. spiral sends it wrapped in an identity check
    /// (see `spiral queries` postgres/terminate, mssql/kill); MySQL ids are never reused.
    pub statement: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Spared {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub reason: String,
}

/// The statement that ends (or cancels) one session on this engine.
pub fn statement(
    snapshot: &Snapshot,
    id: i64,
    query_only: bool,
    rds: bool,
) -> Result<String, String> {
    let managed = rds || snapshot.server.managed_kill;
    Ok(match (snapshot.engine, query_only) {
        (Engine::Postgres, false) => format!("SELECT pg_terminate_backend({id})"),
        (Engine::Postgres, true) => format!("SELECT pg_cancel_backend({id})"),
        (Engine::Mysql, false) if managed => format!("CALL mysql.rds_kill({id})"),
        (Engine::Mysql, true) if managed => format!("CALL mysql.rds_kill_query({id})"),
        (Engine::Mysql, false) => format!("KILL CONNECTION {id}"),
        (Engine::Mysql, true) => format!("KILL QUERY {id}"),
        (Engine::Mssql, false) => format!("KILL {id}"),
        (Engine::Mssql, true) => {
            return Err(
                "SQL Server cannot cancel another session's statement (only the client can, with an attention); drop --query-only to end the session"
                    .into(),
            );
        }
    })
}

/// Selects the victims from one snapshot.
pub fn select(
    snapshot: &Snapshot,
    f: &Filters,
    victims: Victims,
    max: Option<usize>,
    query_only: bool,
    rds: bool,
) -> Result<(Vec<Victim>, Vec<Spared>), String> {
    let leaders: Vec<i64> = BlockingGraph::of(snapshot)
        .trees
        .iter()
        .map(|t| t.lead)
        .collect();
    let mut matched: Vec<(&Session, Vec<String>)> = Vec::new();
    let mut spared = Vec::new();
    for s in &snapshot.sessions {
        let Some(why) = matches(s, f, &leaders) else {
            continue;
        };
        match protected(s, snapshot, f.include_admins) {
            Some(reason) => spared.push(Spared {
                id: s.id,
                user: s.user.clone(),
                reason: reason.to_string(),
            }),
            None => matched.push((s, why)),
        }
    }
    matched.sort_by(|a, b| age_ms(b.0).cmp(&age_ms(a.0)).then(a.0.id.cmp(&b.0.id)));
    let chosen: Vec<(&Session, Vec<String>)> = match victims {
        Victims::All => matched,
        Victims::Oldest => matched.into_iter().take(1).collect(),
        Victims::AllButOldest => matched.into_iter().skip(1).collect(),
    };
    let limit = max.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (s, why) in chosen.into_iter().take(limit) {
        out.push(Victim {
            id: s.id,
            user: s.user.clone(),
            host: s.client_host.clone(),
            app: s.application.clone(),
            db: s.database.clone(),
            state: s.state.label().to_string(),
            age_ms: age_ms(s),
            connected_at: s.connected_at,
            why,
            statement: statement(snapshot, s.id, query_only, rds)?,
        });
    }
    Ok((out, spared))
}

/// What the re-check just before a kill found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Same session, still matching: go ahead.
    Same,
    /// The id is gone.
    Gone,
    /// The id now belongs to another connection, or the session no longer matches.
    Changed(String),
}

/// A fresh sample prepared for many re-checks: sessions by id and the lead blockers,
/// computed once per sample rather than once per victim (2,000 victims re-checked against
/// one sample of 2,000 sessions must not cost 2,000 blocking graphs).
pub struct Fresh {
    pub snapshot: Snapshot,
    by_id: std::collections::HashMap<i64, usize>,
    leaders: Vec<i64>,
}

impl Fresh {
    pub fn new(snapshot: Snapshot) -> Fresh {
        let by_id = snapshot
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let leaders = BlockingGraph::of(&snapshot)
            .trees
            .iter()
            .map(|t| t.lead)
            .collect();
        Fresh {
            snapshot,
            by_id,
            leaders,
        }
    }
}

pub fn recheck(v: &Victim, fresh: &Fresh, f: &Filters) -> Recheck {
    let Some(s) = fresh.by_id.get(&v.id).map(|&i| &fresh.snapshot.sessions[i]) else {
        return Recheck::Gone;
    };
    let same_start = match (v.connected_at, s.connected_at) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if !same_start || s.user != v.user {
        return Recheck::Changed("the id now belongs to another connection".into());
    }
    if protected(s, &fresh.snapshot, f.include_admins).is_some() {
        return Recheck::Changed("it is now protected".into());
    }
    if matches(s, f, &fresh.leaders).is_none() {
        return Recheck::Changed("it no longer matches the filters".into());
    }
    Recheck::Same
}

/// What executing one statement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Dry run: what would be done.
    Planned,
    Killed,
    /// The session was gone by the time the statement ran.
    Gone,
    /// Not killed: re-check failed or the server refused.
    Spared,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        let mut s = Snapshot::empty(Engine::Mysql, Utc::now());
        s.own_session_id = Some(1);
        let mk = |id: i64, user: &str, state: SessionState, idle: u64| {
            let mut x = Session::new(id, state);
            x.user = Some(user.into());
            x.idle_ms = Some(idle);
            x.elapsed_ms = Some(idle);
            x
        };
        s.sessions = vec![
            mk(1, "shipping", SessionState::Idle, 999_000),
            mk(10, "shipping", SessionState::Idle, 5_000),
            mk(11, "shipping", SessionState::Idle, 9_000),
            mk(12, "shipping", SessionState::Active, 9_000),
            mk(13, "cart", SessionState::Idle, 9_000),
            {
                let mut x = mk(14, "shipping", SessionState::Idle, 9_000);
                x.is_admin = true;
                x
            },
            {
                let mut x = mk(15, "system user", SessionState::Idle, 9_000);
                x.command = Some("Binlog Dump GTID".into());
                x
            },
        ];
        s
    }

    fn users(u: &str) -> Filters {
        Filters {
            users: vec![u.into()],
            idle_over_ms: Some(2_000),
            ..Filters::default()
        }
    }

    #[test]
    fn selects_idle_sessions_of_the_user_and_spares_the_protected() {
        let (v, spared) = select(
            &snap(),
            &users("shipping"),
            Victims::All,
            None,
            false,
            false,
        )
        .unwrap();
        assert_eq!(v.iter().map(|x| x.id).collect::<Vec<_>>(), vec![11, 10]);
        assert_eq!(v[0].statement, "KILL CONNECTION 11");
        let spared_ids: Vec<i64> = spared.iter().map(|s| s.id).collect();
        assert_eq!(spared_ids, vec![1, 14]);
    }

    #[test]
    fn exclusions_hold_even_for_match_everything() {
        let f = Filters {
            match_sql: None,
            states: vec!["idle".into()],
            ..Filters::default()
        };
        let (v, _) = select(&snap(), &f, Victims::All, None, false, false).unwrap();
        assert!(!v.iter().any(|x| [1, 14, 15].contains(&x.id)));
    }

    #[test]
    fn victims_modes_and_max() {
        let f = users("shipping");
        let (v, _) = select(&snap(), &f, Victims::Oldest, None, false, false).unwrap();
        assert_eq!(v.iter().map(|x| x.id).collect::<Vec<_>>(), vec![11]);
        let (v, _) = select(&snap(), &f, Victims::AllButOldest, None, false, false).unwrap();
        assert_eq!(v.iter().map(|x| x.id).collect::<Vec<_>>(), vec![10]);
        let (v, _) = select(&snap(), &f, Victims::All, Some(1), true, true).unwrap();
        assert_eq!(v[0].statement, "CALL mysql.rds_kill_query(11)");
    }

    #[test]
    fn recheck_spots_reused_ids() {
        let s = snap();
        let f = users("shipping");
        let (v, _) = select(&s, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(recheck(&v[0], &Fresh::new(s.clone()), &f), Recheck::Same);
        let mut fresh = s.clone();
        fresh.sessions.retain(|x| x.id != 11);
        assert_eq!(recheck(&v[0], &Fresh::new(fresh), &f), Recheck::Gone);
        let mut fresh = s.clone();
        if let Some(x) = fresh.sessions.iter_mut().find(|x| x.id == 11) {
            x.user = Some("cart".into());
        }
        assert!(matches!(
            recheck(&v[0], &Fresh::new(fresh.clone()), &f),
            Recheck::Changed(_)
        ));
        let mut fresh = s;
        if let Some(x) = fresh.sessions.iter_mut().find(|x| x.id == 11) {
            x.state = SessionState::Active;
        }
        assert!(matches!(
            recheck(&v[0], &Fresh::new(fresh.clone()), &f),
            Recheck::Changed(_)
        ));
    }

    #[test]
    fn no_filter_selects_nothing_and_sql_server_cannot_cancel() {
        assert!(Filters::default().selects_nothing());
        assert!(!users("x").selects_nothing());
        let s = Snapshot::empty(Engine::Mssql, Utc::now());
        assert!(
            statement(&s, 60, true, false)
                .unwrap_err()
                .contains("cannot cancel")
        );
    }
}
