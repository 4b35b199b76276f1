//! One value and one row as the server sent them: typed whatever column types the server
//! chose, before any interpretation.

use sqlx::mysql::MySqlRow;
use sqlx::{Row, ValueRef};

use super::mdl;

/// One value as the server sent it, before any interpretation.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Strings, VARBINARY, BLOB and DECIMAL all arrive as bytes.
    Bytes(Vec<u8>),
}

impl Cell {
    /// Text, decoded lossily: a query can hold any bytes, and one bad byte must not cost
    /// the whole sample.
    pub fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Int(v) => Some(v.to_string()),
            Cell::UInt(v) => Some(v.to_string()),
            Cell::Float(v) => Some(v.to_string()),
            Cell::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// A non-negative whole number (ids, milliseconds). Negative ages (clock steps) read
    /// as 0; decimals are rounded.
    pub fn uint(&self) -> Option<u64> {
        match self {
            Cell::Null => None,
            Cell::UInt(v) => Some(*v),
            Cell::Int(v) => Some(u64::try_from(*v).unwrap_or(0)),
            Cell::Float(v) => float_to_u64(*v),
            Cell::Bytes(b) => {
                let t = String::from_utf8_lossy(b);
                let t = t.trim();
                t.parse::<u64>()
                    .ok()
                    .or_else(|| t.parse::<f64>().ok().and_then(float_to_u64))
            }
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            Cell::Int(v) => Some(*v),
            Cell::UInt(v) => Some(i64::try_from(*v).unwrap_or(i64::MAX)),
            Cell::Float(v) => v.is_finite().then(|| v.round() as i64),
            Cell::Bytes(b) => String::from_utf8_lossy(b).trim().parse().ok(),
        }
    }
}

pub(super) fn float_to_u64(v: f64) -> Option<u64> {
    // `as` saturates, which is what an age or a count wants.
    v.is_finite().then(|| v.max(0.0).round() as u64)
}

/// Reads one cell whatever its type. The typed decoders are tried first because they
/// check the column type (an unsigned BIGINT must not be read as signed); everything
/// else is taken as raw bytes, which never fails on a non-NULL value.
pub(super) fn cell(row: &MySqlRow, name: &str) -> Cell {
    match row.try_get_raw(name) {
        Ok(v) if v.is_null() => return Cell::Null,
        Ok(_) => {}
        Err(_) => return Cell::Null,
    }
    if let Ok(Some(v)) = row.try_get::<Option<u64>, _>(name) {
        return Cell::UInt(v);
    }
    if let Ok(Some(v)) = row.try_get::<Option<i64>, _>(name) {
        return Cell::Int(v);
    }
    if let Ok(Some(v)) = row.try_get::<Option<f64>, _>(name) {
        return Cell::Float(v);
    }
    match row.try_get_unchecked::<Option<Vec<u8>>, _>(name) {
        Ok(Some(b)) => Cell::Bytes(b),
        _ => Cell::Null,
    }
}

/// One row of the sample, typed. Which fields are filled depends on `kind`: 'var' and
/// 'status' (var_name, var_value), 'session' (the processlist columns), 'trx' (id,
/// trx_state, trx_ms, wait_ms) and 'lock_wait' (id waits for blocker_id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    pub kind: String,
    pub id: Option<u64>,
    pub blocker_id: Option<u64>,
    pub var_name: Option<String>,
    pub var_value: Option<String>,
    pub user_name: Option<String>,
    pub client_host: Option<String>,
    pub db_name: Option<String>,
    pub command: Option<String>,
    pub state: Option<String>,
    pub time_s: Option<i64>,
    pub time_ms: Option<u64>,
    pub query_text: Option<String>,
    pub trx_state: Option<String>,
    pub trx_ms: Option<u64>,
    pub wait_ms: Option<u64>,
}

impl RawRow {
    pub fn from_cells(cell: impl Fn(&str) -> Cell) -> RawRow {
        let text = |n: &str| cell(n).text();
        RawRow {
            kind: text("kind").unwrap_or_default(),
            id: cell("id").uint(),
            blocker_id: cell("blocker_id").uint(),
            var_name: text("var_name").map(|n| n.to_ascii_lowercase()),
            var_value: text("var_value"),
            user_name: text("user_name"),
            client_host: text("client_host"),
            db_name: text("db_name"),
            command: text("command"),
            state: text("state"),
            time_s: cell("time_s").int(),
            time_ms: cell("time_ms").uint(),
            query_text: text("query_text"),
            trx_state: text("trx_state"),
            trx_ms: cell("trx_ms").uint(),
            wait_ms: cell("wait_ms").uint(),
        }
    }
}

impl RawRow {
    /// One row of SHOW PROCESSLIST (queries/mysql/processlist_show.sql), as the session row
    /// of the parts would give it: ages in whole seconds only, and no statement for a
    /// sleeping connection, as in processlist_mariadb.sql.
    pub fn from_processlist(cell: impl Fn(&str) -> Cell) -> RawRow {
        let text = |n: &str| cell(n).text();
        let command = text("Command");
        let sleeping = command.as_deref() == Some("Sleep");
        RawRow {
            kind: "session".into(),
            id: cell("Id").uint(),
            user_name: text("User"),
            client_host: text("Host"),
            db_name: text("db"),
            command,
            state: text("State"),
            time_s: cell("Time").int(),
            query_text: if sleeping { None } else { text("Info") },
            ..RawRow::default()
        }
    }
}

/// One row of mdl_locks_ps / mdl_locks_plugin. Rows spiral cannot use (a lock mode of
/// another namespace, a thread with no connection) are skipped.
pub fn lock_from_cells(cell: impl Fn(&str) -> Cell) -> Option<mdl::Lock> {
    let text = |n: &str| cell(n).text().filter(|t| !t.is_empty());
    Some(mdl::Lock {
        owner: i64::try_from(cell("owner_id").uint()?).ok()?,
        table: mdl::Table {
            schema: text("lock_schema"),
            name: text("lock_table")?,
        },
        mode: mdl::Mode::parse(&text("lock_mode")?)?,
        granted: text("lock_status").is_some_and(|st| st.eq_ignore_ascii_case("GRANTED")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mysql::fixtures::b;

    #[test]
    fn cells_decode_whatever_type_the_server_chose() {
        // MariaDB's ID is signed, MySQL's unsigned; both give the same id.
        assert_eq!(Cell::Int(42).uint(), Some(42));
        assert_eq!(Cell::UInt(3_000_000_000).uint(), Some(3_000_000_000));
        // DECIMAL arrives as text; TIME_MS has fractions.
        assert_eq!(b("1005.914").uint(), Some(1006));
        assert_eq!(b(" 7 ").uint(), Some(7));
        assert_eq!(Cell::Int(-3).uint(), Some(0));
        assert_eq!(Cell::Float(f64::NAN).uint(), None);
        assert_eq!(b("x").uint(), None);
        assert_eq!(Cell::UInt(u64::MAX).int(), Some(i64::MAX));
        // VARBINARY with bytes that are not UTF-8: decoded, never an error.
        let q = Cell::Bytes(b"SELECT SLEEP(30), '\xC3\x28ab\xFF' /* \xfe */".to_vec());
        let text = q.text().unwrap_or_default();
        assert!(text.starts_with("SELECT SLEEP(30), '"), "{text}");
        assert!(text.contains('\u{FFFD}'), "{text}");
        assert_eq!(Cell::Null.text(), None);
    }
}
