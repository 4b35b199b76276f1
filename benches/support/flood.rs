//! The incident-000-shaped snapshot shared by `cargo bench` and the flood-capture example
//! that `scripts/bench-replay.sh` replays: one definition, so the bench and the side-by-side
//! comparison measure the same file shape.

use chrono::{TimeZone, Utc};
use spiral::model::session::{Session, SessionState, WaitClass};
use spiral::model::snapshot::{ConnectionLimits, Engine, Snapshot, Workers, counter};

/// A snapshot shaped like incident 000's flood: `n` sessions over 131 hosts, a fifth of
/// them in lock chains, many compiling, the rest idle.
pub fn big_snapshot(n: usize, second: i64) -> Snapshot {
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap()
        + chrono::Duration::seconds(second);
    let mut s = Snapshot::empty(Engine::Mssql, t);
    s.own_session_id = Some(1);
    for i in 0..n {
        let id = 51 + i as i64;
        let mut x = Session::new(
            id,
            if i % 3 == 0 {
                SessionState::Idle
            } else {
                SessionState::Active
            },
        );
        x.user = Some("app".into());
        x.client_host = Some(format!("ip-10-0-{}-{}", i % 131 / 100, i % 131));
        x.application = Some("app-backend-api".into());
        x.query = Some(
            "SELECT TOP (5) [r].[Id] FROM [dbo].[Review] AS [r] WHERE [r].[ShopId] = @p0".into(),
        );
        match i % 5 {
            0 if i > 0 => {
                x.blocked_by = vec![id - 5];
                x.wait_class = Some(WaitClass::Lock);
                x.wait_ms = Some(20_000);
            }
            1 => {
                x.wait_class = Some(WaitClass::Compile);
                x.wait_type = Some("RESOURCE_SEMAPHORE_QUERY_COMPILE".into());
            }
            _ => {}
        }
        x.elapsed_ms = Some((i % 60) as u64 * 1000);
        x.idle_ms = Some((i % 900) as u64 * 1000);
        s.sessions.push(x);
    }
    s.connections = ConnectionLimits {
        max_connections: Some(32_767),
        reserved: 0,
        current: Some(n as u64),
    };
    s.workers = Some(Workers {
        max_workers: 2_400,
        active_workers: 2_510,
        queued_tasks: 1_817,
        ..Workers::default()
    });
    s.counters.insert(
        counter::COMPILATIONS.into(),
        1_000_000 + second as u64 * 3_400,
    );
    s.counters
        .insert(counter::BATCHES.into(), 3_000_000 + second as u64 * 10_000);
    s
}
