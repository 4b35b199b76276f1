//! Metadata-lock pile-ups: who a "Waiting for table metadata lock" session waits for.
//!
//! The classic MySQL spiral: a session reads table t inside a transaction and goes to
//! sleep; a migration's ALTER TABLE t asks for an exclusive metadata lock and waits; every
//! later statement on t queues behind the ALTER, because a pending exclusive request has
//! priority over new shared ones. InnoDB's lock tables see none of this (metadata locks
//! live in the server layer), so the processlist shows a crowd of waiters and no blocker.
//!
//! This module turns what the server can tell into `blocked_by` edges, the engine-neutral
//! form the blocking graph, the rules and `spiral kill --blocking-leaders` already read:
//! waiters of the queue -> the pending DDL -> the session holding the lock. It uses the
//! best source this server has (settled once at connect):
//! - performance_schema.metadata_locks: every granted and pending lock with its mode;
//! - MariaDB's METADATA_LOCK_INFO plugin: granted locks only; what each waiter asks for is
//!   read from its statement (its table, and a mode from the kind of statement);
//! - nothing: the holder is inferred from open transactions older than the wait and from
//!   running statements naming the table, and the waiter's note says so.
//!
//! The lock modes and both compatibility matrices are MySQL's (MDL_object_lock in mdl.cc;
//! MariaDB's are the same for these modes): a request waits for a granted lock of another
//! session it is incompatible with, and for a pending request that has priority over it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::session::{Session, SessionState, StatementKind};
use crate::model::snapshot::Snapshot;

/// Where the lock list came from, settled at connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    PerformanceSchema,
    LockInfoPlugin,
    #[default]
    Inferred,
}

impl Source {
    fn note(self, table: &str) -> String {
        match self {
            Source::PerformanceSchema => {
                format!("metadata lock on {table} (performance_schema.metadata_locks)")
            }
            Source::LockInfoPlugin => format!(
                "metadata lock on {table} (holders from information_schema.METADATA_LOCK_INFO, the waiter's table from its statement)"
            ),
            Source::Inferred => format!(
                "metadata lock on {table}: holder inferred (open transactions older than the wait, running statements on the table); to see it exactly, load metadata_lock_info (MariaDB) or enable performance_schema"
            ),
        }
    }
}

/// The metadata lock modes of table objects, weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// SHARED
    S,
    /// SHARED_HIGH_PRIO
    Sh,
    /// SHARED_READ: SELECT
    Sr,
    /// SHARED_WRITE: INSERT, UPDATE, DELETE
    Sw,
    /// SHARED_WRITE_LOW_PRIO
    Swlp,
    /// SHARED_UPGRADABLE: ALTER TABLE while it copies
    Su,
    /// SHARED_READ_ONLY: LOCK TABLES ... READ
    Sro,
    /// SHARED_NO_WRITE
    Snw,
    /// SHARED_NO_READ_WRITE: LOCK TABLES ... WRITE
    Snrw,
    /// EXCLUSIVE: DDL switching the table's definition
    X,
}

impl Mode {
    /// "SHARED_READ" (performance_schema) or "MDL_SHARED_READ" (the MariaDB plugin).
    pub fn parse(text: &str) -> Option<Mode> {
        let t = text.trim().to_ascii_uppercase();
        let t = t.strip_prefix("MDL_").unwrap_or(&t);
        Some(match t {
            "SHARED" => Mode::S,
            "SHARED_HIGH_PRIO" => Mode::Sh,
            "SHARED_READ" => Mode::Sr,
            "SHARED_WRITE" => Mode::Sw,
            "SHARED_WRITE_LOW_PRIO" => Mode::Swlp,
            "SHARED_UPGRADABLE" => Mode::Su,
            "SHARED_READ_ONLY" => Mode::Sro,
            "SHARED_NO_WRITE" => Mode::Snw,
            "SHARED_NO_READ_WRITE" => Mode::Snrw,
            "EXCLUSIVE" => Mode::X,
            _ => return None,
        })
    }

    /// A request of this mode cannot be granted while another session holds `held`.
    fn conflicts_with_granted(self, held: Mode) -> bool {
        use Mode::*;
        match self {
            S | Sh => held == X,
            Sr => matches!(held, Snrw | X),
            Sw | Swlp => matches!(held, Sro | Snw | Snrw | X),
            Su => matches!(held, Su | Snw | Snrw | X),
            Sro => matches!(held, Sw | Swlp | Snrw | X),
            Snw => matches!(held, Sw | Swlp | Su | Snw | Snrw | X),
            Snrw => !matches!(held, S | Sh),
            X => true,
        }
    }

    /// A request of this mode also waits behind a pending request of mode `queued`
    /// (the default priority matrix): this is what puts new SELECTs behind a waiting ALTER.
    fn yields_to_pending(self, queued: Mode) -> bool {
        use Mode::*;
        match self {
            S | Su | Snw | Snrw => queued == X,
            Sh | X => false,
            Sr => matches!(queued, Snrw | X),
            Sw => matches!(queued, Snw | Snrw | X),
            Swlp => matches!(queued, Sro | Snw | Snrw | X),
            Sro => matches!(queued, Sw | Snrw | X),
        }
    }

    /// What a statement asks for on the tables it names, when the server does not say.
    fn requested_by(s: &Session) -> Option<Mode> {
        match s.statement_kind()? {
            StatementKind::Read => Some(Mode::Sr),
            StatementKind::Write => Some(Mode::Sw),
            StatementKind::Ddl => {
                let q = s.query.as_deref().unwrap_or("").to_ascii_uppercase();
                if q.trim_start().starts_with("LOCK") {
                    Some(if q.contains("WRITE") {
                        Mode::Snrw
                    } else {
                        Mode::Sro
                    })
                } else {
                    Some(Mode::X)
                }
            }
            StatementKind::Other => None,
        }
    }

    /// What a running statement holds on the tables it names.
    fn held_by(s: &Session) -> Mode {
        match s.statement_kind() {
            Some(StatementKind::Write) => Mode::Sw,
            Some(StatementKind::Ddl) => Mode::Su,
            _ => Mode::Sr,
        }
    }
}

/// A table as locks and statements name it. The schema is None when a statement names the
/// table alone and the session has no default database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Table {
    pub schema: Option<String>,
    pub name: String,
}

impl Table {
    fn same(&self, other: &Table) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && match (&self.schema, &other.schema) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => true,
            }
    }

    fn show(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One metadata lock as the server reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub owner: i64,
    pub table: Table,
    pub mode: Mode,
    pub granted: bool,
}

/// A lock spiral works with: `table` None stands for "some table, unknown which" (an open
/// transaction whose locks cannot be seen).
#[derive(Debug, Clone)]
struct Entry {
    owner: i64,
    table: Option<Table>,
    mode: Mode,
    granted: bool,
}

/// True when a session waits for a table metadata lock; only then is the lock list read.
pub fn waits_for_table_mdl(s: &Session) -> bool {
    s.wait_type
        .as_deref()
        .is_some_and(|w| w.eq_ignore_ascii_case("Waiting for table metadata lock"))
}

pub fn anyone_waiting(snap: &Snapshot) -> bool {
    snap.sessions
        .iter()
        .any(|s| Some(s.id) != snap.own_session_id && waits_for_table_mdl(s))
}

/// How much younger than the wait an inferred holder may look and still be a suspect.
/// Rounding alone never makes a real holder look younger: the wait and a running
/// statement's age come from one processlist read with one clock and the same precision
/// (whole seconds from SHOW PROCESSLIST and MySQL's processlist, both rounded down;
/// milliseconds from MariaDB's TIME_MS in kill's read), and a transaction's age is never
/// under its true one (trx_started is whole seconds, so it reads up to a second older).
/// The slack covers only what that leaves out (the request's statements reading the clock
/// a moment apart). It is kept small on purpose: every second of it lets a transaction that
/// began after the wait, up to a second more with whole-second waits, pass for the holder,
/// and `kill --blocking-leaders` ends the holders it names.
const AGE_SLACK_MS: u64 = 500;

/// Adds the metadata-lock edges to the snapshot's waiters. `reported` is what the server's
/// lock table said (empty when inferred).
pub fn resolve(snap: &mut Snapshot, source: Source, reported: &[Lock]) {
    let own = snap.own_session_id;
    let waiters: BTreeSet<i64> = snap
        .sessions
        .iter()
        .filter(|s| Some(s.id) != own && waits_for_table_mdl(s))
        .map(|s| s.id)
        .collect();
    if waiters.is_empty() {
        return;
    }
    let by_id: BTreeMap<i64, &Session> = snap.sessions.iter().map(|s| (s.id, s)).collect();
    let mut entries: Vec<Entry> = reported
        .iter()
        .filter(|l| Some(l.owner) != own)
        .map(|l| Entry {
            owner: l.owner,
            table: Some(l.table.clone()),
            mode: l.mode,
            granted: l.granted,
        })
        .collect();
    if source != Source::PerformanceSchema {
        // What each waiter asks for, from its statement.
        for id in &waiters {
            let s = by_id[id];
            let Some(mode) = Mode::requested_by(s) else {
                continue;
            };
            for table in tables_named(s.query.as_deref().unwrap_or(""), s.database.as_deref()) {
                entries.push(Entry {
                    owner: s.id,
                    table: Some(table),
                    mode,
                    granted: false,
                });
            }
        }
    }
    if source == Source::Inferred {
        for s in snap
            .sessions
            .iter()
            .filter(|s| Some(s.id) != own && s.kind.is_client() && !waiters.contains(&s.id))
        {
            // A running statement holds its tables while it runs.
            if s.state == SessionState::Active {
                let mode = Mode::held_by(s);
                for table in tables_named(s.query.as_deref().unwrap_or(""), s.database.as_deref()) {
                    entries.push(Entry {
                        owner: s.id,
                        table: Some(table),
                        mode,
                        granted: true,
                    });
                }
            }
            // An open transaction holds what it touched until it ends; which tables is not
            // visible, so it stands for any table (a shared read: enough to stop DDL).
            if s.open_transactions > 0 {
                entries.push(Entry {
                    owner: s.id,
                    table: None,
                    mode: Mode::Sr,
                    granted: true,
                });
            }
        }
    }

    // Entries by table name, so that a pile-up of thousands of waiters compares each only
    // with the locks on its own table (and the any-table stand-ins).
    let mut by_name: HashMap<String, Vec<&Entry>> = HashMap::new();
    let mut any_table: Vec<&Entry> = Vec::new();
    for e in &entries {
        match &e.table {
            Some(t) => by_name.entry(t.name.to_lowercase()).or_default().push(e),
            None => any_table.push(e),
        }
    }
    let mut found: BTreeMap<i64, (BTreeSet<i64>, Option<Table>)> = BTreeMap::new();
    for p in entries
        .iter()
        .filter(|e| !e.granted && waiters.contains(&e.owner))
    {
        let Some(want) = &p.table else { continue };
        let waited_ms = by_id.get(&p.owner).and_then(|s| s.wait_ms).unwrap_or(0);
        let same_name = by_name
            .get(&want.name.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for other in same_name
            .iter()
            .chain(&any_table)
            .filter(|e| e.owner != p.owner)
        {
            if other.table.as_ref().is_some_and(|t| !t.same(want)) {
                continue;
            }
            let blocks = if other.granted {
                p.mode.conflicts_with_granted(other.mode)
                    && (source != Source::Inferred
                        || held_long_enough(by_id.get(&other.owner), waited_ms, &other.table))
            } else {
                p.mode.yields_to_pending(other.mode)
            };
            if blocks {
                let slot = found.entry(p.owner).or_default();
                slot.0.insert(other.owner);
                slot.1.get_or_insert_with(|| want.clone());
            }
        }
    }

    for s in snap.sessions.iter_mut() {
        let Some((blockers, table)) = found.remove(&s.id) else {
            continue;
        };
        let mut all: BTreeSet<i64> = s.blocked_by.iter().copied().collect();
        all.extend(blockers.into_iter().filter(|&b| b != s.id));
        s.blocked_by = all.into_iter().collect();
        let table = table.map(|t| t.show()).unwrap_or_default();
        s.blocked_by_note = Some(source.note(&table));
    }
}

/// An inferred holder must have held its lock since before the wait began: a transaction
/// or statement younger than the wait cannot hold a lock the waiter asked for first.
fn held_long_enough(holder: Option<&&Session>, waited_ms: u64, table: &Option<Table>) -> bool {
    let Some(h) = holder else { return false };
    let floor = waited_ms.saturating_sub(AGE_SLACK_MS);
    let trx_old = h.transaction_ms.is_none_or(|t| t >= floor);
    match table {
        // Any table: only a transaction can stand for it.
        None => h.open_transactions > 0 && trx_old,
        // A named table: the running statement, or the transaction around it.
        Some(_) => h.elapsed_ms.is_some_and(|e| e >= floor) || (h.open_transactions > 0 && trx_old),
    }
}

/// The tables a statement names after FROM, JOIN, UPDATE, INTO, TABLE and the like.
/// Deliberately rough (no subquery or alias analysis): it only has to find the table of a
/// waiting statement or of a long-running one, which is nearly always right after one of
/// these words.
pub fn tables_named(sql: &str, default_schema: Option<&str>) -> Vec<Table> {
    let tokens = tokenize(sql);
    let mut out: Vec<Table> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let word = tokens[i].to_ascii_uppercase();
        let starts_list = match word.as_str() {
            "FROM" | "JOIN" | "UPDATE" | "INTO" | "TABLE" | "TABLES" => true,
            // CREATE INDEX i ON t, DROP INDEX i ON t
            "ON" => tokens[..i].iter().any(|t| t.eq_ignore_ascii_case("INDEX")),
            _ => false,
        };
        i += 1;
        if !starts_list {
            continue;
        }
        // One or more tables separated by commas, each maybe with an alias.
        while let Some((table, next)) = identifier(&tokens, i, default_schema) {
            if !out.contains(&table) {
                out.push(table);
            }
            i = next;
            // Skip an alias ("AS x" or a bare word that is not a keyword) and lock words.
            while i < tokens.len() && tokens[i] != "," && !is_keyword(&tokens[i]) {
                i += 1;
            }
            if i < tokens.len() && tokens[i] == "," {
                i += 1;
                continue;
            }
            break;
        }
    }
    out
}

/// `schema.table`, `` `schema`.`table` `` or `table` starting at token `i`.
fn identifier(tokens: &[String], i: usize, default_schema: Option<&str>) -> Option<(Table, usize)> {
    let first = tokens.get(i)?;
    if first == "(" || first == "," || is_keyword(first) && !first.starts_with('`') {
        return None;
    }
    let unquote = |t: &str| t.trim_matches('`').to_string();
    if tokens.get(i + 1).is_some_and(|t| t == ".")
        && let Some(name) = tokens.get(i + 2)
    {
        return Some((
            Table {
                schema: Some(unquote(first)),
                name: unquote(name),
            },
            i + 3,
        ));
    }
    Some((
        Table {
            schema: default_schema.map(str::to_string),
            name: unquote(first),
        },
        i + 1,
    ))
}

fn is_keyword(t: &str) -> bool {
    const WORDS: &[&str] = &[
        "SELECT",
        "FROM",
        "WHERE",
        "JOIN",
        "INNER",
        "LEFT",
        "RIGHT",
        "OUTER",
        "CROSS",
        "NATURAL",
        "STRAIGHT_JOIN",
        "ON",
        "USING",
        "SET",
        "VALUES",
        "VALUE",
        "GROUP",
        "ORDER",
        "HAVING",
        "LIMIT",
        "UNION",
        "FOR",
        "LOCK",
        "IN",
        "SHARE",
        "MODE",
        "ADD",
        "DROP",
        "MODIFY",
        "CHANGE",
        "RENAME",
        "TO",
        "ENGINE",
        "READ",
        "WRITE",
        "LOW_PRIORITY",
        "IGNORE",
        "PARTITION",
        "WINDOW",
        "INTO",
        "AS",
        "WITH",
        "IF",
        "EXISTS",
        "NOT",
        "ALGORITHM",
        "COLUMN",
        "INDEX",
        "KEY",
        "PRIMARY",
        "UNIQUE",
        "CONSTRAINT",
        "FORCE",
        "USE",
        "DUAL",
        "SELECT",
        "DUPLICATE",
        "RETURNING",
        "AND",
        "OR",
        "TABLE",
        "TABLES",
        "UPDATE",
        "DELETE",
        "INSERT",
        "REPLACE",
    ];
    !t.starts_with('`') && WORDS.iter().any(|w| w.eq_ignore_ascii_case(t))
}

/// Words, backquoted names, and the punctuation that matters; strings and comments dropped.
fn tokenize(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.push(chars[start..i].iter().collect());
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            if matches!(c, '.' | ',' | '(' | ')') {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::WaitClass;
    use crate::model::snapshot::Engine;

    fn t(schema: &str, name: &str) -> Table {
        Table {
            schema: Some(schema.into()),
            name: name.into(),
        }
    }

    #[test]
    fn tables_are_read_from_statements() {
        assert_eq!(
            tables_named("SELECT * FROM t WHERE id = 1", Some("app")),
            [t("app", "t")]
        );
        assert_eq!(
            tables_named("ALTER TABLE `shop`.`orders` ADD COLUMN x INT", None),
            [t("shop", "orders")]
        );
        assert_eq!(
            tables_named(
                "select a.x from orders a, extra e join app2.items i on i.o = a.id where 'FROM z'",
                Some("app")
            ),
            [t("app", "orders"), t("app", "extra"), t("app2", "items")]
        );
        assert_eq!(tables_named("UPDATE t SET v = 1", Some("d")), [t("d", "t")]);
        assert_eq!(
            tables_named("INSERT INTO d.t (a) VALUES (1)", None),
            [t("d", "t")]
        );
        assert_eq!(
            tables_named("CREATE INDEX ix ON t (v)", Some("d")),
            [t("d", "t")]
        );
        assert_eq!(
            tables_named("SELECT SLEEP(60) FROM t", Some("d")),
            [t("d", "t")]
        );
        assert!(tables_named("SELECT SLEEP(60)", Some("d")).is_empty());
        assert!(tables_named("SELECT * FROM (SELECT 1) x", Some("d")).is_empty());
    }

    #[test]
    fn matrices_put_readers_behind_a_waiting_alter() {
        // A SELECT is compatible with the reader holding the table, not with the ALTER
        // waiting for it.
        assert!(!Mode::Sr.conflicts_with_granted(Mode::Sr));
        assert!(!Mode::Sr.conflicts_with_granted(Mode::Su));
        assert!(Mode::Sr.yields_to_pending(Mode::X));
        assert!(Mode::X.conflicts_with_granted(Mode::Sr));
        assert!(!Mode::X.yields_to_pending(Mode::X));
        assert!(Mode::Sw.conflicts_with_granted(Mode::Snrw));
        assert!(!Mode::Sh.yields_to_pending(Mode::X));
        assert_eq!(Mode::parse("MDL_SHARED_UPGRADABLE"), Some(Mode::Su));
        assert_eq!(Mode::parse("EXCLUSIVE"), Some(Mode::X));
        assert_eq!(Mode::parse("MDL_INTENTION_EXCLUSIVE"), None);
    }

    fn waiting(id: i64, query: &str, wait_ms: u64) -> Session {
        let mut s = Session::new(id, SessionState::Active);
        s.database = Some("app".into());
        s.wait_class = Some(WaitClass::Lock);
        s.wait_type = Some("Waiting for table metadata lock".into());
        s.wait_ms = Some(wait_ms);
        s.elapsed_ms = Some(wait_ms);
        s.query = Some(query.into());
        s
    }

    fn idle_in_tx(id: i64, trx_ms: u64) -> Session {
        let mut s = Session::new(id, SessionState::IdleInTransaction);
        s.database = Some("app".into());
        s.open_transactions = 1;
        s.transaction_ms = Some(trx_ms);
        s.idle_ms = Some(trx_ms);
        s
    }

    /// 10 holds t in a sleeping transaction, 11 is the ALTER, 12 and 13 are SELECTs
    /// queued behind it; 14 is a young transaction and 15 an idle connection.
    fn pile_up() -> Snapshot {
        let mut snap = Snapshot::empty(Engine::Mysql, chrono::Utc::now());
        snap.own_session_id = Some(99);
        snap.sessions = vec![
            idle_in_tx(10, 60_000),
            waiting(11, "ALTER TABLE t ADD COLUMN c INT", 30_000),
            waiting(12, "SELECT * FROM t WHERE id = 1", 20_000),
            waiting(13, "SELECT v FROM app.t", 5_000),
            idle_in_tx(14, 2_000),
            Session::new(15, SessionState::Idle),
            waiting(99, "SELECT * FROM t", 1),
        ];
        snap
    }

    fn blocked_by(snap: &Snapshot, id: i64) -> Vec<i64> {
        snap.sessions
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.blocked_by.clone())
            .unwrap_or_default()
    }

    #[test]
    fn inferred_holder_leads_through_the_alter() {
        let mut snap = pile_up();
        resolve(&mut snap, Source::Inferred, &[]);
        assert_eq!(
            blocked_by(&snap, 11),
            [10],
            "young transaction 14 is not a suspect"
        );
        assert_eq!(blocked_by(&snap, 12), [11]);
        assert_eq!(blocked_by(&snap, 13), [11]);
        assert!(blocked_by(&snap, 10).is_empty());
        assert!(
            blocked_by(&snap, 99).is_empty(),
            "spiral's own session is left alone"
        );
        let note = snap.sessions[1].blocked_by_note.clone().unwrap();
        assert!(
            note.contains("app.t") && note.contains("inferred"),
            "{note}"
        );
        let g = crate::model::blocking::BlockingGraph::of(&snap);
        assert_eq!(g.trees.len(), 1);
        assert_eq!(g.trees[0].lead, 10);
        assert_eq!(g.trees[0].members, [(11, 1), (12, 2), (13, 2)]);
    }

    /// The live pile-up with whole-second ages: the ALTER has waited 4.6 s (SHOW
    /// PROCESSLIST says 4), the holder's transaction is as old as the wait, and a bystander
    /// began 3 s after the wait (1.6 s, read as up to 2.6 s from trx_started's whole
    /// seconds). The holder, and only the holder, is named; an exact-age holder too.
    #[test]
    fn whole_second_ages_name_the_holder_and_not_a_later_transaction() {
        for (holder_ms, bystander_ms) in [(5_000, 2_600), (4_000, 2_999)] {
            let mut snap = Snapshot::empty(Engine::Mysql, chrono::Utc::now());
            snap.sessions = vec![
                idle_in_tx(10, holder_ms),
                waiting(11, "ALTER TABLE t ADD COLUMN c INT", 4_000),
                idle_in_tx(14, bystander_ms),
            ];
            resolve(&mut snap, Source::Inferred, &[]);
            assert_eq!(blocked_by(&snap, 11), [10], "{holder_ms} {bystander_ms}");
        }
    }

    #[test]
    fn a_running_statement_on_the_table_is_the_holder() {
        let mut snap = pile_up();
        snap.sessions[0] = {
            let mut s = Session::new(10, SessionState::Active);
            s.database = Some("app".into());
            s.elapsed_ms = Some(45_000);
            s.query = Some("SELECT SLEEP(60) FROM t".into());
            s
        };
        // A long statement on another table is not a suspect.
        let mut other = Session::new(16, SessionState::Active);
        other.database = Some("app".into());
        other.elapsed_ms = Some(90_000);
        other.query = Some("SELECT SLEEP(90) FROM other".into());
        snap.sessions.push(other);
        resolve(&mut snap, Source::Inferred, &[]);
        assert_eq!(blocked_by(&snap, 11), [10]);
        assert_eq!(blocked_by(&snap, 12), [11]);
    }

    #[test]
    fn reported_locks_name_the_holder_exactly() {
        let lock = |owner, mode, granted| Lock {
            owner,
            table: t("app", "t"),
            mode,
            granted,
        };
        // The plugin: granted locks only. 14's young transaction holds another table.
        let mut snap = pile_up();
        let reported = [
            lock(10, Mode::Sr, true),
            lock(11, Mode::Su, true),
            Lock {
                owner: 14,
                table: t("app", "other"),
                mode: Mode::Sw,
                granted: true,
            },
        ];
        resolve(&mut snap, Source::LockInfoPlugin, &reported);
        assert_eq!(blocked_by(&snap, 11), [10]);
        assert_eq!(blocked_by(&snap, 12), [11]);
        assert!(
            snap.sessions[1]
                .blocked_by_note
                .as_deref()
                .is_some_and(|n| n.contains("METADATA_LOCK_INFO"))
        );
        // performance_schema: pending locks come from the server, not from the statement.
        let mut snap = pile_up();
        let reported = [
            lock(10, Mode::Sr, true),
            lock(11, Mode::Su, true),
            lock(11, Mode::X, false),
            lock(12, Mode::Sr, false),
            lock(13, Mode::Sr, false),
        ];
        resolve(&mut snap, Source::PerformanceSchema, &reported);
        assert_eq!(blocked_by(&snap, 11), [10]);
        assert_eq!(blocked_by(&snap, 13), [11]);
    }
}
