//! MySQL/MariaDB completed waits: performance_schema's
//! events_waits_summary_global_by_event_name, read once per sample when performance_schema
//! is ON, so that the window can diff them as it diffs SQL Server's sys.dm_os_wait_stats.
//!
//! With performance_schema OFF (MariaDB's default, and it can only be turned on by a
//! restart) nothing is read here: the window falls back to the waits seen in the sampled
//! processlist and says so (model::wait_stats::over_window).
//!
//! The read is a separate statement, not a part of the UNION ALL sample: its rows have
//! nothing in common with the processlist's 16 columns, and it returns a few dozen rows.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::mysql::MySqlConnection;

use super::connect::probe;
use super::decode::{Cell, cell};
use super::{Access, Profile};
use crate::engine::timed;
use crate::model::snapshot::{Area, Gap, Snapshot, WaitStat};

const WAIT_SUMMARY: &str = include_str!("../../../queries/mysql/wait_summary.sql");
const PROBE_WAIT_SUMMARY: &str = include_str!("../../../queries/mysql/probe_wait_summary.sql");

/// Picoseconds in a millisecond: performance_schema's timers count picoseconds.
const PS_PER_MS: u64 = 1_000_000_000;

/// Where this connection's completed waits come from, settled at connect.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Source {
    /// performance_schema is OFF: there is nothing to read.
    #[default]
    Off,
    /// The summary table answers.
    Summary,
    /// performance_schema is ON but this login may not read it: every snapshot carries the
    /// gap, so the sampled fallback can say why.
    Refused(Gap),
}

/// Probes once whether the summary is readable. Only a refusal is an answer; a timeout or
/// a lost connection fails the connect like any other probe.
pub async fn source(
    conn: &mut MySqlConnection,
    limit: Duration,
    p: &Profile,
) -> anyhow::Result<Source> {
    if !p.performance_schema {
        return Ok(Source::Off);
    }
    Ok(match probe(conn, limit, PROBE_WAIT_SUMMARY).await? {
        Access::Granted => Source::Summary,
        Access::Refused(why) => Source::Refused(refused(p, &why)),
    })
}

fn refused(p: &Profile, why: &str) -> Gap {
    Gap {
        area: Area::WaitStats,
        reason: format!(
            "{} cannot read performance_schema.events_waits_summary_global_by_event_name ({})",
            p.account,
            super::one_line(why)
        ),
        remedy: Some(format!(
            "GRANT SELECT ON performance_schema.* TO {}",
            p.grantee()
        )),
    }
}

/// Adds the completed waits (or the gap that hides them) to a sample. A server refusing
/// the read since connect costs only the waits of this sample; a timeout fails the sample.
pub async fn read(
    conn: &mut MySqlConnection,
    limit: Duration,
    src: &Source,
    snap: &mut Snapshot,
) -> anyhow::Result<()> {
    match src {
        Source::Off => {}
        Source::Refused(gap) => snap.gaps.push(gap.clone()),
        Source::Summary => {
            match timed(limit, sqlx::query(WAIT_SUMMARY).fetch_all(&mut *conn)).await {
                Ok(rows) => {
                    snap.wait_stats = Some(decode(rows.iter().map(|r| {
                        (
                            cell(r, "event_name"),
                            cell(r, "waits"),
                            cell(r, "wait_ps"),
                        )
                    })));
                }
                // Refused since connect, or stopped by max_statement_time: this sample
                // goes without, the next one tries again.
                Err(e) => match e.downcast_ref::<sqlx::Error>() {
                    Some(sqlx::Error::Database(db)) => snap.gaps.push(Gap {
                        area: Area::WaitStats,
                        reason: format!(
                            "performance_schema's wait summary could not be read in this sample ({})",
                            super::one_line(db.message())
                        ),
                        remedy: None,
                    }),
                    _ => return Err(e.context("reading performance_schema's wait summary")),
                },
            }
        }
    }
    Ok(())
}

/// Turns the summary's rows (event name, COUNT_STAR, SUM_TIMER_WAIT in picoseconds) into
/// the model's wait statistics. Rows without a name are skipped; a missing count or time
/// reads as 0 (a disabled timer leaves SUM_TIMER_WAIT at 0 while COUNT_STAR grows).
pub fn decode(rows: impl IntoIterator<Item = (Cell, Cell, Cell)>) -> BTreeMap<String, WaitStat> {
    rows.into_iter()
        .filter_map(|(name, waits, ps)| {
            let name = name.text().filter(|n| !n.is_empty())?;
            let stat = WaitStat {
                wait_ms: ps.uint().unwrap_or(0) / PS_PER_MS,
                signal_ms: 0,
                tasks: waits.uint().unwrap_or(0),
            };
            Some((name, stat))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::WaitClass;
    use crate::model::snapshot::Engine;
    use crate::model::wait_stats::{Source as From, over_window};
    use crate::model::window::Window;
    use chrono::{Duration as Span, TimeZone, Utc};

    fn text(t: &str) -> Cell {
        Cell::Bytes(t.as_bytes().to_vec())
    }

    /// Rows as MariaDB 10.11 and MySQL 8.0 send them: EVENT_NAME as VARCHAR, the counters
    /// as BIGINT UNSIGNED (a picosecond total passes 2^63 after ~107 days of waits).
    fn recorded(lock_ps: u64, file_ps: u64, mdl_ps: u64) -> Vec<(Cell, Cell, Cell)> {
        vec![
            (
                text("wait/lock/table/sql/handler"),
                Cell::UInt(120),
                Cell::UInt(lock_ps),
            ),
            (
                text("wait/io/file/innodb/innodb_data_file"),
                Cell::UInt(9_000),
                Cell::UInt(file_ps),
            ),
            (
                text("wait/synch/cond/sql/MDL_context::COND_wait_status"),
                Cell::Int(3),
                Cell::UInt(mdl_ps),
            ),
            (
                text("wait/io/socket/sql/client_connection"),
                Cell::UInt(40),
                Cell::Null,
            ),
            (Cell::Null, Cell::UInt(1), Cell::UInt(1)),
        ]
    }

    fn snap(secs: i64, rows: Vec<(Cell, Cell, Cell)>) -> Snapshot {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 30, 3, 0, 0)
            .single()
            .expect("time");
        let mut s = Snapshot::empty(Engine::Mysql, t + Span::seconds(secs));
        s.wait_stats = Some(decode(rows));
        s
    }

    #[test]
    fn summary_rows_are_diffed_into_waits_per_second() {
        let big = 1u64 << 63;
        let first = snap(0, recorded(big, 5 * PS_PER_MS, 0));
        // 10 s later: 20 s of table-lock waits, 2 s of data-file reads, 4 s of
        // metadata-lock waits (a condition wait on MDL_context).
        let last = snap(
            10,
            recorded(
                big + 20_000 * PS_PER_MS,
                2_005 * PS_PER_MS,
                4_000 * PS_PER_MS + 999,
            ),
        );
        assert_eq!(first.wait_stats.as_ref().map(BTreeMap::len), Some(4));
        let w = Window::from_snapshots([first, last]).expect("window");
        let o = over_window(&w).expect("two samples");
        assert_eq!(o.source, From::Measured);
        assert_eq!(
            o.from,
            "performance_schema.events_waits_summary_global_by_event_name"
        );
        let got: Vec<(&str, WaitClass, u64, bool)> = o
            .waits
            .iter()
            .map(|a| (a.wait_type.as_str(), a.class, a.wait_ms, a.poison))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "wait/lock/table/sql/handler",
                    WaitClass::Lock,
                    20_000,
                    false
                ),
                (
                    "wait/synch/cond/sql/MDL_context::COND_wait_status",
                    WaitClass::Lock,
                    4_000,
                    false
                ),
                (
                    "wait/io/file/innodb/innodb_data_file",
                    WaitClass::Io,
                    2_000,
                    false
                ),
            ]
        );
        assert!((o.waits[0].ms_per_sec - 2_000.0).abs() < 1e-9);
    }

    #[test]
    fn row_lock_waits_the_instruments_miss_are_listed_as_sampled() {
        use crate::model::session::{Session, SessionState};
        let waiter = || {
            let mut x = Session::new(7, SessionState::Active);
            x.wait_type = Some("InnoDB row lock".into());
            x.wait_class = Some(WaitClass::Lock);
            x
        };
        let mut first = snap(0, recorded(0, 0, 0));
        let mut last = snap(4, recorded(0, 400 * PS_PER_MS, 0));
        first.sessions.push(waiter());
        last.sessions.push(waiter());
        let w = Window::from_snapshots([first, last]).expect("window");
        let o = over_window(&w).expect("two samples");
        assert_eq!(o.source, From::Measured);
        let got: Vec<(&str, From, u64)> = o
            .waits
            .iter()
            .map(|a| (a.wait_type.as_str(), a.source, a.wait_ms))
            .collect();
        assert_eq!(
            got,
            [
                ("InnoDB row lock", From::Sampled, 4_000),
                ("wait/io/file/innodb/innodb_data_file", From::Measured, 400),
            ]
        );
        assert!(o.note.contains("rows marked sampled"), "{}", o.note);
    }
}
