//! One connection or backend on the server, in engine-neutral terms.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a session is doing, reduced to the states every engine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Running or waiting inside a statement.
    Active,
    /// Connected, doing nothing, no transaction open.
    Idle,
    /// Doing nothing while a transaction is open: its locks stay held.
    IdleInTransaction,
    /// Anything else (fastpath, disabled, preconnect, ...).
    Other,
}

impl SessionState {
    pub fn label(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Idle => "idle",
            SessionState::IdleInTransaction => "idle in transaction",
            SessionState::Other => "other",
        }
    }
}

/// Who is on the other end: a client, or part of the server itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    #[default]
    Client,
    /// Background workers, autovacuum, InnoDB threads, SQL Server system sessions.
    System,
    /// Replication senders/receivers, binlog dump threads.
    Replication,
}

impl SessionKind {
    pub fn is_client(&self) -> bool {
        *self == SessionKind::Client
    }
}

/// The family of a wait, so rules need not know each engine's wait names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum WaitClass {
    /// Waiting for a lock another session holds.
    Lock,
    /// Waiting at the compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE).
    Compile,
    /// Waiting on Query Store (QDS_*).
    QueryStore,
    /// Waiting for a worker thread (THREADPOOL).
    Threadpool,
    /// Waiting for memory grants (RESOURCE_SEMAPHORE).
    Memory,
    Io,
    /// Waiting on the network to the client (ASYNC_NETWORK_IO, ClientWrite).
    Network,
    /// Waiting for the client to send the next command: idle, not blocked.
    Client,
    Latch,
    Cpu,
    Other,
}

/// What a statement does to data: readers blocked by writers get their own verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementKind {
    Read,
    Write,
    Ddl,
    Other,
}

impl StatementKind {
    /// Classify a statement from its first keyword (after comments and parentheses). Cheap
    /// and deliberately rough: it only has to tell readers from writers in a blocking chain.
    pub fn of_sql(sql: &str) -> Option<StatementKind> {
        let mut rest = sql.trim_start();
        loop {
            if let Some(r) = rest.strip_prefix("--") {
                rest = r
                    .split_once('\n')
                    .map_or("", |(_, after)| after)
                    .trim_start();
            } else if let Some(r) = rest.strip_prefix("/*") {
                rest = r
                    .split_once("*/")
                    .map_or("", |(_, after)| after)
                    .trim_start();
            } else if let Some(r) = rest.strip_prefix('(') {
                rest = r.trim_start();
            } else {
                break;
            }
        }
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_uppercase();
        if word.is_empty() {
            return None;
        }
        Some(match word.as_str() {
            "SELECT" | "WITH" | "SHOW" | "VALUES" | "TABLE" | "FETCH" | "EXPLAIN" => {
                StatementKind::Read
            }
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE" | "UPSERT" | "COPY" => {
                StatementKind::Write
            }
            "ALTER" | "CREATE" | "DROP" | "TRUNCATE" | "VACUUM" | "REINDEX" | "CLUSTER"
            | "LOCK" | "RENAME" | "OPTIMIZE" => StatementKind::Ddl,
            _ => StatementKind::Other,
        })
    }
}

/// One session. Durations are milliseconds; `None` means not known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: i64,
    #[serde(default, skip_serializing_if = "SessionKind::is_client")]
    pub kind: SessionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    pub state: SessionState,
    /// The engine's own word for the state (e.g. "Sleep", "suspended", "idle in transaction").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_state: Option<String>,
    /// MySQL Command / SQL Server command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_class: Option<WaitClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    /// Sessions this one waits for (several under PostgreSQL's lock queue semantics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<i64>,
    /// How `blocked_by` was found when the server does not say it outright, e.g. a
    /// metadata-lock holder read from METADATA_LOCK_INFO or inferred from open transactions.
    /// None when the server reported the blocker itself (pg_blocking_pids, the DMVs, InnoDB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by_note: Option<String>,
    /// How long the current statement has been running (active sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// How long the session has been idle (idle and idle-in-transaction sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
    /// Age of the open transaction, when there is one and the engine says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_ms: Option<u64>,
    #[serde(default)]
    pub open_transactions: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementKind>,
    /// Query text, truncated by the engine's query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// When the connection was made: with `id`, it identifies a session across samples
    /// (ids are reused in a connection storm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<DateTime<Utc>>,
    /// Superuser / sysadmin session: never a kill victim without an explicit flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_admin: bool,
    /// A session already rolling back: killing it again does nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rolling_back: bool,
    /// The server hid what this session is doing from spiral's login (PostgreSQL shows a
    /// role without pg_read_all_stats only the pid, user, database and application of other
    /// users' sessions): its kind, state, times, client and query are unknown, not empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub activity_hidden: bool,
    /// spiral's login cannot read the grants that would say whether this is an admin's
    /// session (MySQL/MariaDB without SELECT on the mysql schema): kill spares it as one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin_unknown: bool,
}

impl Session {
    /// A bare active client session, for engines and tests to fill in.
    pub fn new(id: i64, state: SessionState) -> Session {
        Session {
            id,
            kind: SessionKind::Client,
            user: None,
            client_host: None,
            application: None,
            database: None,
            state,
            raw_state: None,
            command: None,
            wait_type: None,
            wait_class: None,
            wait_ms: None,
            blocked_by: Vec::new(),
            blocked_by_note: None,
            elapsed_ms: None,
            idle_ms: None,
            transaction_ms: None,
            open_transactions: 0,
            statement: None,
            query: None,
            connected_at: None,
            is_admin: false,
            rolling_back: false,
            activity_hidden: false,
            admin_unknown: false,
        }
    }

    pub fn is_idle(&self) -> bool {
        self.state == SessionState::Idle
    }

    pub fn is_blocked(&self) -> bool {
        !self.blocked_by.is_empty()
    }

    pub fn waits_on(&self, class: WaitClass) -> bool {
        self.wait_class == Some(class)
    }

    /// The statement kind, from the engine when it said, else from the query text.
    pub fn statement_kind(&self) -> Option<StatementKind> {
        self.statement
            .or_else(|| self.query.as_deref().and_then(StatementKind::of_sql))
    }

    pub fn user_or_unknown(&self) -> &str {
        self.user.as_deref().unwrap_or("?")
    }

    pub fn host_or_unknown(&self) -> &str {
        self.client_host.as_deref().unwrap_or("?")
    }

    pub fn app_or_unknown(&self) -> &str {
        self.application
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or("?")
    }

    pub(crate) fn sanitize(&mut self) {
        use crate::sanitize::clean_in_place as c;
        for text in [
            &mut self.user,
            &mut self.client_host,
            &mut self.application,
            &mut self.database,
            &mut self.raw_state,
            &mut self.command,
            &mut self.wait_type,
            &mut self.blocked_by_note,
            &mut self.query,
        ]
        .into_iter()
        .flatten()
        {
            c(text);
        }
        // Statements like ALTER ROLE ... PASSWORD '...' must not reach a screen or a
        // capture: masked here, where the text enters the snapshot, for every consumer.
        if let Some(q) = &mut self.query {
            crate::redact::mask_sql_in_place(q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_kind_reads_past_comments_and_parentheses() {
        assert_eq!(
            StatementKind::of_sql("/* widget */ (select 1)"),
            Some(StatementKind::Read)
        );
        assert_eq!(
            StatementKind::of_sql("-- censor\nUPDATE [dbo].[Review] SET Body = @p0"),
            Some(StatementKind::Write)
        );
        assert_eq!(
            StatementKind::of_sql("alter table t add c int"),
            Some(StatementKind::Ddl)
        );
        assert_eq!(StatementKind::of_sql("   "), None);
        assert_eq!(StatementKind::of_sql("/* unterminated"), None);
    }
}
