//! Every number a rule compares against, with its default and the reason for it.
//!
//! All of them can be overridden with `--threshold NAME=VALUE` (and the two that people
//! reach for most, `--client-timeout` and `--idle-over`, have flags of their own). The list
//! is generated from one table so that `spiral thresholds`, the parser and the rules cannot
//! drift apart.

use std::fmt;

/// How a threshold's value is written and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Seconds; written as "30s", "5m", "1h" or a bare number of seconds.
    Duration,
    Count,
    Percent,
    PerSecond,
}

pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: f64,
    pub doc: &'static str,
}

macro_rules! thresholds {
    ($( $field:ident : $kind:ident = $default:expr ; $doc:literal )*) => {
        /// Threshold values. Durations are in seconds.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Thresholds { $( pub $field: f64, )* }

        impl Default for Thresholds {
            fn default() -> Self { Thresholds { $( $field: $default, )* } }
        }

        pub const SPECS: &[Spec] = &[
            $( Spec { name: stringify!($field), kind: Kind::$kind, default: $default, doc: $doc }, )*
        ];

        impl Thresholds {
            fn slot(&mut self, name: &str) -> Option<&mut f64> {
                match name {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

thresholds! {
    connections_warning_pct: Percent = 80.0;
        "connection-exhaustion warns when clients hold this share of the usable slots"
    connections_critical_pct: Percent = 95.0;
        "connection-exhaustion is critical from this share of the usable slots"
    idle_over: Duration = 300.0;
        "an idle connection older than this counts toward a leak (also --idle-over)"
    idle_leak_min_sessions: Count = 20.0;
        "idle-connection-leak needs at least this many old idle connections from one source"
    idle_leak_share_pct: Percent = 25.0;
        "...holding at least this share of the usable slots (critical from twice this)"
    idle_leak_growth: Count = 10.0;
        "idle connections one source added during the window that count as a leak even when young"
    idle_in_transaction_over: Duration = 10.0;
        "idle-in-transaction flags sessions idle this long inside an open transaction"
    blocked_warning_wait: Duration = 5.0;
        "a lock wait longer than this makes a blocking chain worth a warning"
    blocked_critical_wait: Duration = 30.0;
        "a lock wait longer than this makes it critical"
    blocked_critical_count: Count = 10.0;
        "this many sessions blocked (each past the warning wait) is critical"
    client_timeout: Duration = 15.0;
        "the caller's timeout: work running longer is wasted (also --client-timeout)"
    client_timeout_min_requests: Count = 3.0;
        "client-timeout-exceeded warns from this many requests past the client timeout"
    client_timeout_critical_requests: Count = 25.0;
        "...and is critical from this many"
    compile_waiters_warning: Count = 5.0;
        "sessions queued at the compile gate for a warning"
    compile_waiters_critical: Count = 50.0;
        "sessions queued at the compile gate for critical"
    compile_ratio_pct: Percent = 10.0;
        "compilations as a share of batches that counts as a compile storm"
    compile_min_per_sec: PerSecond = 10.0;
        "compilations per second below which the compile rate is never called high"
    query_store_waiters: Count = 10.0;
        "sessions on QDS_* waits for query-store-amplification"
    workers_busy_pct: Percent = 90.0;
        "active workers as a share of max worker threads that is near exhaustion"
    queued_tasks_critical: Count = 50.0;
        "tasks queued for a worker for critical (any queued task warns)"
    threadpool_waiters_critical: Count = 10.0;
        "tasks on THREADPOOL waits for critical (any such task warns)"
    grant_waiters_warning: Count = 10.0;
        "requests queued for a memory grant (RESOURCE_SEMAPHORE) for a warning"
    grant_waiters_critical: Count = 100.0;
        "requests queued for a memory grant for critical, however short each wait"
    log_wait_ms_per_sec: Count = 1000.0;
        "log-write-pressure needs this many ms of commit waits (WRITELOG + HADR_SYNC_COMMIT) per second"
    log_wait_avg_warning_ms: Count = 20.0;
        "...and an average commit wait of this many ms for a warning"
    log_wait_avg_critical_ms: Count = 100.0;
        "...or of this many ms for critical (sp_BlitzFirst's slow log write bar)"
    tempdb_latch_waiters_warning: Count = 10.0;
        "tasks waiting on tempdb allocation pages (PFS/GAM/SGAM) for a warning"
    tempdb_latch_waiters_critical: Count = 100.0;
        "tasks waiting on tempdb allocation pages for critical"
    runnable_requests_pct: Percent = 20.0;
        "cpu-pressure: share of requests runnable (waiting for a CPU), as sp_BlitzFirst"
    runnable_min_requests: Count = 10.0;
        "...counted only with at least this many requests, as sp_PressureDetector"
    signal_wait_pct: Percent = 25.0;
        "cpu-pressure: share of wait time spent waiting for a CPU after the wait ended"
    pool_min_size: Count = 10.0;
        "the smallest per-host connection count taken for a client pool ceiling"
    pool_min_hosts: Count = 3.0;
        "client-pool-saturation needs this many hosts pinned at the same count"
    pool_busy_pct: Percent = 80.0;
        "...with at least this share of their connections busy (pools idle at their size are healthy)"
    reconnect_churn_slots_pct: Percent = 25.0;
        "new connections per second, as a share of the usable slots, that is heavy reconnect churn"
    reconnect_churn_per_core: PerSecond = 20.0;
        "new connections per second per CPU core that is heavy churn, where the cores are known"
    reconnect_logins_per_sec: PerSecond = 200.0;
        "new connections per second that is heavy churn when neither slots nor cores are known"
    reconnect_surge_factor: Count = 5.0;
        "a login rate this many times the window's earlier rate, at churn level, makes a storm"
    reconnect_rise_pct: Percent = 25.0;
        "a rise in connections between two samples, as a share of usable slots, that makes one"
    plan_cache_single_use_pct: Percent = 75.0;
        "share of single-use plans that makes plan-cache-bloat"
    plan_cache_min_plans: Count = 1000.0;
        "plan caches smaller than this are never called bloated"
    readers_blocked_min: Count = 3.0;
        "readers blocked behind writers (past the warning wait) for read-blocked-by-writers"
    deadlocks_warning: Count = 1.0;
        "deadlocks detected by the server during the window for deadlocks-rising"
    guardrail_idle_session_max: Duration = 3600.0;
        "an idle-session timeout (wait_timeout) longer than this counts as missing"
    long_transaction_over: Duration = 300.0;
        "long-transaction warns when a transaction holding back cleanup is open this long"
    long_transaction_critical: Duration = 3600.0;
        "...and is critical from this age"
    horizon_xid_age_warning: Count = 100000000.0;
        "PostgreSQL: a holder this many transaction IDs behind warns whatever its age (slots)"
    xid_wraparound_critical: Count = 1400000000.0;
        "PostgreSQL: age(datfrozenxid) that is critical (the server stops near 2^31)"
    history_list_warning: Count = 1000000.0;
        "InnoDB history list length (unpurged undo) that warns (critical from five times it)"
    log_used_warning_pct: Percent = 50.0;
        "SQL Server: used log share that makes ACTIVE_TRANSACTION worth a warning"
    pool_wait_warning: Duration = 1.0;
        "pool-exhaustion: a client waiting this long in PgBouncer for a server connection"
    pool_wait_critical: Duration = 10.0;
        "...critical from this wait (or 80% of query_wait_timeout)"
    pooler_clients_warning_pct: Percent = 90.0;
        "pool-exhaustion: PgBouncer client connections as a share of max_client_conn that warns (critical when none is left)"
    log_used_critical_pct: Percent = 90.0;
        "SQL Server: used log share, with the log held by a transaction, that is critical (9002 at 100%)"
    version_store_warning_pct: Percent = 15.0;
        "SQL Server: version store share of tempdb's data files that warns when a transaction holds it (SolarWinds DPA's tempdb alert)"
    version_store_critical_pct: Percent = 50.0;
        "SQL Server: ...critical from this share (tempdb full stops new versions: errors 3958/3959)"
}

impl Thresholds {
    /// Applies one `NAME=VALUE` override. Dashes and underscores are interchangeable.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("threshold '{assignment}' must be written NAME=VALUE"))?;
        let name = name.trim().replace('-', "_");
        let spec = SPECS
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("unknown threshold '{name}' (see `spiral thresholds`)"))?;
        let parsed =
            parse_value(spec.kind, value.trim()).map_err(|e| format!("threshold {name}: {e}"))?;
        if let Some(slot) = self.slot(&name) {
            *slot = parsed;
        }
        Ok(())
    }

    pub fn ms(secs: f64) -> u64 {
        (secs * 1000.0).round().max(0.0) as u64
    }

    pub fn value_of(&self, name: &str) -> Option<f64> {
        let mut copy = self.clone();
        copy.slot(name).map(|v| *v)
    }
}

fn parse_value(kind: Kind, text: &str) -> Result<f64, String> {
    let value = match kind {
        Kind::Duration => parse_duration_secs(text)?,
        _ => text
            .trim_end_matches('%')
            .trim_end_matches("/s")
            .parse::<f64>()
            .map_err(|_| format!("'{text}' is not a number"))?,
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("'{text}' must be zero or more"));
    }
    if kind == Kind::Percent && value > 100.0 {
        return Err(format!("'{text}' is more than 100%"));
    }
    Ok(value)
}

/// "30s", "5m", "1h30m", "250ms" or a bare number of seconds.
pub fn parse_duration_secs(text: &str) -> Result<f64, String> {
    let secs = match text.trim().parse::<f64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(text.trim())
            .map(|d| d.as_secs_f64())
            .map_err(|e| format!("'{text}' is not a duration ({e}); try 30s, 5m or 1h"))?,
    };
    // Negative, NaN or absurd durations would turn a filter into "everything" (kill) or
    // panic where they become a Duration: refuse them here, once, for every flag.
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{text}' must be a duration of zero or more"));
    }
    if secs > MAX_DURATION_SECS {
        return Err(format!("'{text}' is longer than a year"));
    }
    Ok(secs)
}

/// The longest duration any flag takes.
pub const MAX_DURATION_SECS: f64 = 366.0 * 86_400.0;

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Duration => "duration",
            Kind::Count => "count",
            Kind::Percent => "percent",
            Kind::PerSecond => "per second",
        })
    }
}

/// Shows a threshold value the way it would be written on the command line.
pub fn show(kind: Kind, value: f64) -> String {
    match kind {
        Kind::Duration => crate::format::duration_secs(value),
        Kind::Percent => format!("{}%", crate::format::decimal(value)),
        Kind::PerSecond => format!("{}/s", crate::format::decimal(value)),
        Kind::Count => crate::format::decimal(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_and_reject() {
        let mut t = Thresholds::default();
        t.set("client-timeout=2m").unwrap();
        assert_eq!(t.client_timeout, 120.0);
        t.set("connections_warning_pct=70%").unwrap();
        assert_eq!(t.connections_warning_pct, 70.0);
        assert!(
            t.set("nonsense=1")
                .unwrap_err()
                .contains("unknown threshold")
        );
        assert!(t.set("client_timeout").unwrap_err().contains("NAME=VALUE"));
        assert!(t.set("connections_warning_pct=140").is_err());
        assert!(t.set("idle_over=soon").is_err());
    }

    #[test]
    fn every_spec_has_a_slot() {
        let t = Thresholds::default();
        for spec in SPECS {
            assert_eq!(t.value_of(spec.name), Some(spec.default), "{}", spec.name);
        }
    }
}
