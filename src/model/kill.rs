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

use crate::model::blocking::BlockingGraph;
use crate::model::session::{Session, SessionKind, SessionState};
use crate::model::snapshot::{Engine, Snapshot};

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
    // Server processes are recognised by what is visible, not only by the engine's word
    // for them (which a least-privilege login may not be shown): a client always logs in
    // as a user, and on PostgreSQL always into a database.
    if s.user.is_none() {
        return Some("a server process (no user)");
    }
    if snapshot.engine == Engine::Postgres && s.database.is_none() {
        return Some("a server process (no database)");
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

/// Engines whose session ids come back at once for a new connection (PostgreSQL pids,
/// SQL Server session ids): there the id names a session only together with its start
/// time. MySQL thread ids only grow.
pub fn ids_reused(engine: Engine) -> bool {
    matches!(engine, Engine::Postgres | Engine::Mssql)
}

/// Why spiral cannot judge this session's identity or kind well enough to end it, or None.
/// These are the same whatever the filters.
pub fn unjudgeable(s: &Session, engine: Engine, include_admins: bool) -> Option<&'static str> {
    if s.activity_hidden {
        return Some(HIDDEN);
    }
    if ids_reused(engine) && s.connected_at.is_none() {
        return Some("its start time is unknown, so a reused id could not be told apart");
    }
    if s.admin_unknown && !include_admins {
        return Some(ADMIN_UNKNOWN);
    }
    None
}

const HIDDEN: &str =
    "the server hides what they are doing (kind, start time, state, query) from spiral's login";
const ADMIN_UNKNOWN: &str =
    "spiral's login cannot read the grants that say whether they are admins";

/// A fact a filter needs: known (possibly empty), or unknown, naming what is missing.
type Seen<'a> = Result<Option<&'a str>, &'static str>;

fn host(s: &Session) -> Seen<'_> {
    if s.activity_hidden {
        return Err("client host");
    }
    Ok(s.client_host.as_deref())
}

fn command(s: &Session) -> Seen<'_> {
    if s.activity_hidden {
        return Err("command");
    }
    Ok(s.command.as_deref())
}

fn query(s: &Session) -> Seen<'_> {
    if s.activity_hidden {
        return Err("query");
    }
    Ok(s.query.as_deref())
}

/// The state, unless it is unknown: hidden, or "other" with no word from the engine.
fn state(s: &Session) -> Result<SessionState, &'static str> {
    if s.activity_hidden || (s.state == SessionState::Other && s.raw_state.is_none()) {
        return Err("state");
    }
    Ok(s.state)
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

/// What the filters make of one session. A filter that needs a fact the server did not give
/// can neither select nor clear a session: that session is unknown, never a victim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Every filter matched, for these reasons.
    Match(Vec<String>),
    /// A filter ruled it out on what is known.
    NoMatch,
    /// Nothing ruled it out, but this fact (which some filter needs) is unknown.
    Unknown(&'static str),
}

/// Judges one session against every filter. One known mismatch is enough to rule a session
/// out; otherwise one unknown fact keeps it from being selected.
pub fn judge(s: &Session, f: &Filters, leaders: &[i64]) -> Judgement {
    let mut why = Vec::new();
    let mut unknown: Option<&'static str> = None;
    // Records an unknown without deciding: a later filter may still rule the session out.
    let mut note = |field: &'static str| {
        unknown.get_or_insert(field);
    };
    let st = state(s);
    if let Some(limit) = f.idle_over_ms {
        match st {
            Err(field) => note(field),
            Ok(SessionState::Idle | SessionState::IdleInTransaction) => match s.idle_ms {
                None => note("idle time"),
                Some(ms) if ms < limit => return Judgement::NoMatch,
                Some(ms) => why.push(format!("idle {}", crate::format::duration_ms(ms))),
            },
            Ok(_) => return Judgement::NoMatch,
        }
    }
    if let Some(limit) = f.busy_over_ms {
        match st {
            Err(field) => note(field),
            Ok(SessionState::Active) => match s.elapsed_ms {
                None => note("running time"),
                Some(ms) if ms < limit => return Judgement::NoMatch,
                Some(ms) => why.push(format!("running {}", crate::format::duration_ms(ms))),
            },
            Ok(_) => return Judgement::NoMatch,
        }
    }
    let checks: [(&[String], Seen, &str); 4] = [
        (&f.users, Ok(s.user.as_deref()), "user"),
        (&f.hosts, host(s), "host"),
        (&f.apps, Ok(s.application.as_deref()), "app"),
        (&f.dbs, Ok(s.database.as_deref()), "db"),
    ];
    for (list, value, label) in checks {
        if list.is_empty() {
            continue;
        }
        match value {
            Err(field) => note(field),
            Ok(v) if any_eq(list, v) => why.push(format!("{label} {}", v.unwrap_or(""))),
            Ok(_) => return Judgement::NoMatch,
        }
    }
    let state_words = |st: SessionState| [Some(st.label()), s.raw_state.as_deref()];
    if !f.states.is_empty() {
        match st {
            Err(field) => note(field),
            Ok(known) => {
                let alias: Vec<String> = f.states.iter().map(|x| x.replace('-', " ")).collect();
                if !any_eq_ci(&alias, &state_words(known)) {
                    return Judgement::NoMatch;
                }
                why.push(format!("state {}", known.label()));
            }
        }
    }
    if !f.commands.is_empty() {
        match command(s) {
            Err(field) => note(field),
            Ok(c) if any_eq_ci(&f.commands, &[c]) => {
                why.push(format!("command {}", c.unwrap_or("")));
            }
            Ok(_) => return Judgement::NoMatch,
        }
    }
    if let Some(re) = &f.match_sql {
        match query(s) {
            Err(field) => note(field),
            Ok(q) if q.is_some_and(|q| re.is_match(q)) => why.push("query matches".to_string()),
            Ok(_) => return Judgement::NoMatch,
        }
    }
    if f.idle_in_transaction {
        match st {
            Err(field) => note(field),
            Ok(SessionState::IdleInTransaction) => why.push("idle in transaction".to_string()),
            Ok(_) => return Judgement::NoMatch,
        }
    }
    if f.blocking_leaders {
        if !leaders.contains(&s.id) {
            return Judgement::NoMatch;
        }
        why.push("leads a blocking chain".to_string());
    }
    // The ignore twins: a known hit rules the session out; an unknown value cannot clear
    // it (an --ignore-sql that cannot read the query must not let a migration through).
    let ignores: [(&[String], Seen); 4] = [
        (&f.ignore_users, Ok(s.user.as_deref())),
        (&f.ignore_hosts, host(s)),
        (&f.ignore_apps, Ok(s.application.as_deref())),
        (&f.ignore_dbs, Ok(s.database.as_deref())),
    ];
    for (list, value) in ignores {
        if list.is_empty() {
            continue;
        }
        match value {
            Err(field) => note(field),
            Ok(v) if any_eq(list, v) => return Judgement::NoMatch,
            Ok(_) => {}
        }
    }
    if !f.ignore_states.is_empty() {
        match st {
            Err(field) => note(field),
            Ok(known) => {
                let alias: Vec<String> = f
                    .ignore_states
                    .iter()
                    .map(|x| x.replace('-', " "))
                    .collect();
                if any_eq_ci(&alias, &state_words(known)) {
                    return Judgement::NoMatch;
                }
            }
        }
    }
    if !f.ignore_commands.is_empty() {
        match command(s) {
            Err(field) => note(field),
            Ok(c) if any_eq_ci(&f.ignore_commands, &[c]) => return Judgement::NoMatch,
            Ok(_) => {}
        }
    }
    if let Some(re) = &f.ignore_sql {
        match query(s) {
            Err(field) => note(field),
            Ok(Some(q)) if re.is_match(q) => return Judgement::NoMatch,
            Ok(_) => {}
        }
    }
    match unknown {
        Some(field) => Judgement::Unknown(field),
        None => Judgement::Match(why),
    }
}

/// The reasons a session matches every filter, or None when one fails or is unknown.
pub fn matches(s: &Session, f: &Filters, leaders: &[i64]) -> Option<Vec<String>> {
    match judge(s, f, leaders) {
        Judgement::Match(why) => Some(why),
        _ => None,
    }
}

/// What must still hold when the kill statement runs, checked by the server inside that
/// statement: the client-side re-check is up to half a second old, and an idle session
/// that started a statement since must not be ended in the middle of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "still")]
pub enum Still {
    /// No state condition (the filters do not depend on what the session is doing).
    Any,
    /// Idle (or idle in transaction) for at least `for_ms`; only in a transaction when
    /// `in_transaction`.
    Idle { for_ms: u64, in_transaction: bool },
    /// Running its current statement for at least `for_ms`.
    Active { for_ms: u64 },
}

impl Still {
    /// The condition the filters select on.
    pub fn of(f: &Filters) -> Still {
        let idle_words = ["idle", "idle in transaction", "idle-in-transaction"];
        if let Some(for_ms) = f.idle_over_ms {
            Still::Idle {
                for_ms,
                in_transaction: f.idle_in_transaction,
            }
        } else if f.idle_in_transaction {
            Still::Idle {
                for_ms: 0,
                in_transaction: true,
            }
        } else if let Some(for_ms) = f.busy_over_ms {
            Still::Active { for_ms }
        } else if !f.states.is_empty()
            && f.states
                .iter()
                .all(|x| idle_words.iter().any(|w| x.eq_ignore_ascii_case(w)))
        {
            Still::Idle {
                for_ms: 0,
                in_transaction: !f.states.iter().any(|x| x.eq_ignore_ascii_case("idle")),
            }
        } else if !f.states.is_empty() && f.states.iter().all(|x| x.eq_ignore_ascii_case("active"))
        {
            Still::Active { for_ms: 0 }
        } else {
            Still::Any
        }
    }

    /// The mode word the queries/<engine>/ kill statements take, or None for no condition.
    pub fn mode(self) -> Option<&'static str> {
        match self {
            Still::Any => None,
            Still::Idle {
                in_transaction: false,
                ..
            } => Some("idle"),
            Still::Idle {
                in_transaction: true,
                ..
            } => Some("idle-in-transaction"),
            Still::Active { .. } => Some("active"),
        }
    }

    pub fn for_ms(self) -> u64 {
        match self {
            Still::Any => 0,
            Still::Idle { for_ms, .. } | Still::Active { for_ms } => for_ms,
        }
    }
}

/// One session to end, as the engines receive it: the id, the start time that identifies
/// it, and what must still be true of it when the statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillTarget {
    pub id: i64,
    pub connected_at: Option<DateTime<Utc>>,
    pub still: Still,
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

/// Sessions left alone because spiral could not see them well enough, grouped by why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unseen {
    pub sessions: u64,
    pub reason: String,
    /// The grant that would let spiral judge them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// What one selection produced.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub victims: Vec<Victim>,
    /// Matched, but never a victim (spiral's own, server processes, admins, ...).
    pub spared: Vec<Spared>,
    /// Might have matched, but a fact the decision needs is unknown.
    pub unseen: Vec<Unseen>,
}

/// The grant that closes a visibility gap, from the engine's own note when it made one.
fn remedy(snapshot: &Snapshot, reason: &str) -> Option<String> {
    let me = snapshot
        .own_session_id
        .and_then(|id| snapshot.sessions.iter().find(|s| s.id == id))
        .and_then(|s| s.user.clone())
        .unwrap_or_else(|| "<spiral's login>".to_string());
    if reason == ADMIN_UNKNOWN {
        return Some(match snapshot.engine {
            Engine::Mysql => format!(
                "GRANT SELECT ON mysql.* TO {me} (spiral reads who holds SUPER, CONNECTION ADMIN, SYSTEM_USER or ALL PRIVILEGES, directly or through a role); or check the users yourself and add --include-admins"
            ),
            _ => "run as a login that can read the server's grants, or add --include-admins".into(),
        });
    }
    if let Some(gap) = snapshot
        .gap(crate::model::snapshot::Area::OtherSessions)
        .and_then(|g| g.remedy.clone())
    {
        return Some(gap);
    }
    // Without the engine's note, only hidden activity has a known cause: the missing
    // statistics grant (a capture from before the note existed, say).
    match snapshot.engine {
        Engine::Postgres if reason == HIDDEN => {
            Some(format!("GRANT pg_read_all_stats TO {me}; (or pg_monitor)"))
        }
        _ => None,
    }
}

/// Selects the victims from one snapshot.
pub fn select(
    snapshot: &Snapshot,
    f: &Filters,
    victims: Victims,
    max: Option<usize>,
    query_only: bool,
    rds: bool,
) -> Result<Selection, String> {
    let leaders: Vec<i64> = BlockingGraph::of(snapshot)
        .trees
        .iter()
        .map(|t| t.lead)
        .collect();
    let mut matched: Vec<(&Session, Vec<String>)> = Vec::new();
    let mut spared = Vec::new();
    let mut unseen: Vec<(String, u64)> = Vec::new();
    let mut count_unseen = |reason: String| match unseen.iter_mut().find(|(r, _)| *r == reason) {
        Some((_, n)) => *n += 1,
        None => unseen.push((reason, 1)),
    };
    for s in &snapshot.sessions {
        let judgement = judge(s, f, &leaders);
        if judgement == Judgement::NoMatch {
            continue;
        }
        if let Some(reason) = protected(s, snapshot, f.include_admins) {
            // Listed only when it really matched: a protected session whose match is
            // unknown would never be a victim anyway.
            if matches!(judgement, Judgement::Match(_)) {
                spared.push(Spared {
                    id: s.id,
                    user: s.user.clone(),
                    reason: reason.to_string(),
                });
            }
            continue;
        }
        if let Some(reason) = unjudgeable(s, snapshot.engine, f.include_admins) {
            count_unseen(reason.to_string());
            continue;
        }
        match judgement {
            Judgement::Match(why) => matched.push((s, why)),
            Judgement::Unknown(field) => count_unseen(format!("their {field} is unknown")),
            Judgement::NoMatch => {}
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
    let unseen = unseen
        .into_iter()
        .map(|(reason, sessions)| Unseen {
            sessions,
            remedy: remedy(snapshot, &reason),
            reason,
        })
        .collect();
    Ok(Selection {
        victims: out,
        spared,
        unseen,
    })
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
    // Where ids are reused, the start time is the identity: unknown on either side is not
    // "the same".
    let same_start = match (v.connected_at, s.connected_at) {
        (Some(a), Some(b)) => a == b,
        (None, None) => !ids_reused(fresh.snapshot.engine),
        _ => false,
    };
    if !same_start || s.user != v.user {
        return Recheck::Changed("the id now belongs to another connection".into());
    }
    if protected(s, &fresh.snapshot, f.include_admins).is_some() {
        return Recheck::Changed("it is now protected".into());
    }
    if let Some(reason) = unjudgeable(s, fresh.snapshot.engine, f.include_admins) {
        return Recheck::Changed(format!("spiral can no longer judge it: {reason}"));
    }
    match judge(s, f, &fresh.leaders) {
        Judgement::Match(_) => Recheck::Same,
        Judgement::NoMatch => Recheck::Changed("it no longer matches the filters".into()),
        Judgement::Unknown(field) => Recheck::Changed(format!(
            "spiral can no longer judge it: its {field} is unknown"
        )),
    }
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
        let Selection {
            victims: v, spared, ..
        } = select(
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
        let Selection { victims: v, .. } =
            select(&snap(), &f, Victims::All, None, false, false).unwrap();
        assert!(!v.iter().any(|x| [1, 14, 15].contains(&x.id)));
    }

    #[test]
    fn victims_modes_and_max() {
        let f = users("shipping");
        let Selection { victims: v, .. } =
            select(&snap(), &f, Victims::Oldest, None, false, false).unwrap();
        assert_eq!(v.iter().map(|x| x.id).collect::<Vec<_>>(), vec![11]);
        let Selection { victims: v, .. } =
            select(&snap(), &f, Victims::AllButOldest, None, false, false).unwrap();
        assert_eq!(v.iter().map(|x| x.id).collect::<Vec<_>>(), vec![10]);
        let Selection { victims: v, .. } =
            select(&snap(), &f, Victims::All, Some(1), true, true).unwrap();
        assert_eq!(v[0].statement, "CALL mysql.rds_kill_query(11)");
    }

    #[test]
    fn recheck_spots_reused_ids() {
        let s = snap();
        let f = users("shipping");
        let Selection { victims: v, .. } =
            select(&s, &f, Victims::All, None, false, false).unwrap();
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

    /// PostgreSQL as a role with pg_signal_backend but not pg_read_all_stats: other users'
    /// backends show only pid, user, database and application.
    fn least_privilege_pg() -> Snapshot {
        let mut snap = Snapshot::empty(Engine::Postgres, Utc::now());
        snap.own_session_id = Some(100);
        let started = Utc::now() - chrono::Duration::minutes(5);
        let hidden = |id: i64, user: Option<&str>, db: Option<&str>| {
            let mut x = Session::new(id, SessionState::Other);
            x.user = user.map(Into::into);
            x.database = db.map(Into::into);
            x.activity_hidden = true;
            x
        };
        let mut mine = Session::new(100, SessionState::Active);
        mine.user = Some("killer".into());
        mine.database = Some("app".into());
        mine.connected_at = Some(started);
        mine.query = Some("SELECT spiral".into());
        let mut visible = Session::new(101, SessionState::Idle);
        visible.user = Some("killer".into());
        visible.database = Some("app".into());
        visible.idle_ms = Some(60_000);
        visible.connected_at = Some(started);
        visible.query = Some("SELECT 1".into());
        snap.sessions = vec![
            mine,
            visible,
            // checkpointer, background writer: no user, no database
            hidden(2, None, None),
            hidden(3, None, None),
            // the logical replication launcher: a user, no database
            hidden(4, Some("postgres"), None),
            // autovacuum worker: a database, no user
            hidden(5, None, Some("app")),
            // another role's clients, one of them a migration
            hidden(20, Some("app"), Some("app")),
            hidden(21, Some("app"), Some("app")),
        ];
        snap.gaps.push(crate::model::snapshot::Gap {
            area: crate::model::snapshot::Area::OtherSessions,
            reason: "role killer cannot see other users' session state".into(),
            remedy: Some("GRANT pg_monitor TO killer; (or pg_read_all_stats)".into()),
        });
        snap
    }

    fn filters(edit: impl FnOnce(&mut Filters)) -> Filters {
        let mut f = Filters::default();
        edit(&mut f);
        f
    }

    fn ids(sel: &Selection) -> Vec<i64> {
        sel.victims.iter().map(|v| v.id).collect()
    }

    #[test]
    fn hidden_sessions_are_never_victims_whatever_the_filter() {
        let snap = least_privilege_pg();
        let re = |r: &str| Some(regex::Regex::new(r).unwrap());
        let cases = [
            filters(|f| f.match_sql = re(".*")),
            filters(|f| f.match_sql = re("insufficient")),
            filters(|f| f.idle_over_ms = Some(1_000)),
            filters(|f| f.users = vec!["app".into()]),
            filters(|f| f.dbs = vec!["app".into()]),
            filters(|f| f.states = vec!["other".into()]),
            filters(|f| {
                f.users = vec!["app".into()];
                f.ignore_sql = re("migration");
            }),
            filters(|f| f.ignore_users = vec!["nobody".into()]),
        ];
        for f in cases {
            let sel = select(&snap, &f, Victims::All, None, false, false).unwrap();
            assert!(
                sel.victims.iter().all(|v| v.id == 101),
                "{f:?} planned {:?}",
                ids(&sel)
            );
            // Server processes are recognised without backend_type, and never counted as
            // merely unseen.
            for v in &sel.victims {
                assert!(![2, 3, 4, 5].contains(&v.id));
            }
        }
        // The plan says how many were left alone and which grant would let spiral judge.
        let f = filters(|f| f.users = vec!["app".into()]);
        let sel = select(&snap, &f, Victims::All, None, false, false).unwrap();
        assert!(sel.victims.is_empty());
        assert_eq!(sel.unseen.len(), 1, "{:?}", sel.unseen);
        assert_eq!(sel.unseen[0].sessions, 2);
        assert!(sel.unseen[0].reason.contains("hides"));
        assert_eq!(
            sel.unseen[0].remedy.as_deref(),
            Some("GRANT pg_monitor TO killer; (or pg_read_all_stats)")
        );
        // A known mismatch is not a lack of visibility: other users are simply not matched.
        let f = filters(|f| f.users = vec!["someone-else".into()]);
        let sel = select(&snap, &f, Victims::All, None, false, false).unwrap();
        assert!(sel.unseen.is_empty() && sel.victims.is_empty());
        // The visible session of spiral's own role is judged normally.
        let f = filters(|f| f.idle_over_ms = Some(1_000));
        let sel = select(&snap, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(ids(&sel), vec![101]);
    }

    #[test]
    fn server_processes_are_protected_by_what_is_visible() {
        let snap = least_privilege_pg();
        let find = |id: i64| snap.sessions.iter().find(|s| s.id == id).unwrap();
        assert!(protected(find(2), &snap, true).is_some());
        assert!(protected(find(4), &snap, true).is_some(), "no database");
        assert!(protected(find(5), &snap, true).is_some(), "no user");
        assert!(protected(find(20), &snap, true).is_none());
        // On MySQL a client with no default database is an ordinary client.
        let mut my = Snapshot::empty(Engine::Mysql, Utc::now());
        let mut x = Session::new(7, SessionState::Idle);
        x.user = Some("app".into());
        my.sessions.push(x.clone());
        assert!(protected(&x, &my, false).is_none());
    }

    #[test]
    fn unknown_start_time_or_admin_status_is_not_eligible() {
        // PostgreSQL reuses pids: a visible session with no start time cannot be identified.
        let mut pg = least_privilege_pg();
        if let Some(x) = pg.sessions.iter_mut().find(|x| x.id == 101) {
            x.connected_at = None;
        }
        let f = filters(|f| f.idle_over_ms = Some(1_000));
        let sel = select(&pg, &f, Victims::All, None, false, false).unwrap();
        assert!(sel.victims.is_empty());
        assert!(
            sel.unseen[0].reason.contains("start time"),
            "{:?}",
            sel.unseen
        );
        // MySQL ids only grow: no start time is needed there. An unreadable grant table
        // makes every session possibly an admin's, unless --include-admins.
        let mut my = snap_with_admin_unknown();
        let f = users("shipping");
        let sel = select(&my, &f, Victims::All, None, false, false).unwrap();
        assert!(sel.victims.is_empty(), "{:?}", ids(&sel));
        assert_eq!(sel.unseen.len(), 1);
        assert!(
            sel.unseen[0].remedy.as_deref().is_some_and(
                |r| r.contains("GRANT SELECT ON mysql.*") && r.contains("--include-admins")
            ),
            "{:?}",
            sel.unseen
        );
        let f = Filters {
            include_admins: true,
            ..users("shipping")
        };
        let sel = select(&my, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(ids(&sel), vec![11, 14, 10]);
        // And the re-check spares a victim that became unjudgeable.
        let f = users("shipping");
        let sel = select(&snap(), &f, Victims::All, None, false, false).unwrap();
        for x in my.sessions.iter_mut() {
            x.admin_unknown = false;
        }
        assert_eq!(
            recheck(&sel.victims[0], &Fresh::new(my.clone()), &f),
            Recheck::Same
        );
        if let Some(x) = my.sessions.iter_mut().find(|x| x.id == 11) {
            x.admin_unknown = true;
        }
        assert!(matches!(
            recheck(&sel.victims[0], &Fresh::new(my), &f),
            Recheck::Changed(_)
        ));
    }

    fn snap_with_admin_unknown() -> Snapshot {
        let mut s = snap();
        for x in s.sessions.iter_mut().filter(|x| !x.is_admin) {
            x.admin_unknown = true;
        }
        s
    }

    #[test]
    fn unknown_fields_fail_closed_and_empty_ones_do_not() {
        // A visible MySQL session with no client host is known to come from no other host:
        // --ignore-host does not stop it. One whose activity is hidden is not cleared.
        let mut s = snap();
        let f = Filters {
            ignore_hosts: vec!["10.0.0.9".into()],
            ..users("shipping")
        };
        let sel = select(&s, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(ids(&sel), vec![11, 10]);
        if let Some(x) = s.sessions.iter_mut().find(|x| x.id == 11) {
            x.activity_hidden = true;
        }
        let sel = select(&s, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(ids(&sel), vec![10]);
        // An idle session whose idle time is unknown is not "idle 0s".
        if let Some(x) = s.sessions.iter_mut().find(|x| x.id == 10) {
            x.idle_ms = None;
        }
        let sel = select(&s, &users("shipping"), Victims::All, None, false, false).unwrap();
        assert!(sel.victims.is_empty());
        assert_eq!(sel.unseen.iter().map(|u| u.sessions).sum::<u64>(), 2);
        // No grant is named where spiral does not know one would help.
        assert!(
            sel.unseen.iter().all(|u| u.remedy.is_none()),
            "{:?}",
            sel.unseen
        );
    }

    #[test]
    fn the_kill_statement_rechecks_the_state_the_filters_chose() {
        let f = users("shipping");
        assert_eq!(
            Still::of(&f),
            Still::Idle {
                for_ms: 2_000,
                in_transaction: false
            }
        );
        assert_eq!(Still::of(&f).mode(), Some("idle"));
        let f = filters(|f| f.idle_in_transaction = true);
        assert_eq!(Still::of(&f).mode(), Some("idle-in-transaction"));
        let f = filters(|f| f.busy_over_ms = Some(30_000));
        assert_eq!(Still::of(&f), Still::Active { for_ms: 30_000 });
        let f = filters(|f| f.states = vec!["idle-in-transaction".into()]);
        assert_eq!(Still::of(&f).mode(), Some("idle-in-transaction"));
        let f = filters(|f| f.states = vec!["idle".into(), "idle in transaction".into()]);
        assert_eq!(Still::of(&f).mode(), Some("idle"));
        let f = filters(|f| f.users = vec!["shipping".into()]);
        assert_eq!(Still::of(&f), Still::Any);
        assert_eq!(Still::Any.mode(), None);
    }

    #[test]
    fn recheck_needs_the_start_time_where_ids_are_reused() {
        let mut snap = least_privilege_pg();
        let f = filters(|f| f.idle_over_ms = Some(1_000));
        let sel = select(&snap, &f, Victims::All, None, false, false).unwrap();
        assert_eq!(
            recheck(&sel.victims[0], &Fresh::new(snap.clone()), &f),
            Recheck::Same
        );
        // The pid now shows no start time (hidden, or a new backend spiral cannot see).
        if let Some(x) = snap.sessions.iter_mut().find(|x| x.id == 101) {
            x.connected_at = None;
        }
        assert!(matches!(
            recheck(&sel.victims[0], &Fresh::new(snap.clone()), &f),
            Recheck::Changed(_)
        ));
        if let Some(x) = snap.sessions.iter_mut().find(|x| x.id == 101) {
            x.connected_at = Some(Utc::now());
            x.activity_hidden = true;
        }
        assert!(matches!(
            recheck(&sel.victims[0], &Fresh::new(snap), &f),
            Recheck::Changed(_)
        ));
    }
}
