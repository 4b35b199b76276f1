//! The key figures of a window: the handful of numbers the report, check, stalk and watch
//! show or compare against levels. In the model so that gauges can read them without the
//! model depending on the report.

use serde::Serialize;

use crate::model::session::SessionState;
use crate::model::snapshot::counter;
use crate::model::window::Window;

/// The handful of numbers a bot or a dashboard wants without reading verdicts. A figure
/// the engine does not report is absent, not zero.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyFigures {
    pub connected_clients: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usable_connections: Option<u64>,
    pub active_sessions: u64,
    pub idle_sessions: u64,
    pub idle_in_transaction: u64,
    pub blocked_sessions: u64,
    pub longest_lock_wait_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compilations_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_tasks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_workers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_workers: Option<u64>,
}

impl KeyFigures {
    pub fn of(w: &Window) -> KeyFigures {
        let last = w.last();
        let count = |st: SessionState| {
            last.client_tally()
                .filter(|(s, _)| s.state == st)
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        KeyFigures {
            connected_clients: last.connected_clients(),
            max_connections: last.connections.max_connections,
            usable_connections: last.connections.usable(),
            active_sessions: count(SessionState::Active),
            idle_sessions: count(SessionState::Idle),
            idle_in_transaction: count(SessionState::IdleInTransaction),
            blocked_sessions: last.client_sessions().filter(|s| s.is_blocked()).count() as u64,
            longest_lock_wait_ms: last
                .client_sessions()
                .filter(|s| s.is_blocked())
                .filter_map(|s| s.wait_ms)
                .max()
                .unwrap_or(0),
            compilations_per_sec: w.rate(counter::COMPILATIONS).ok(),
            batches_per_sec: w.rate(counter::BATCHES).ok(),
            queued_tasks: last.workers.as_ref().map(|x| x.queued_tasks),
            active_workers: last.workers.as_ref().map(|x| x.active_workers),
            max_workers: last.workers.as_ref().map(|x| x.max_workers),
        }
    }
}
