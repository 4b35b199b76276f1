//! The family of a wait type, by engine: the model's own vocabulary (`WaitClass`), so that
//! everything after the sampler (the diffed wait statistics, rules, renderers) can classify
//! a wait type it reads from a capture without reaching back into an engine module.

use crate::model::session::WaitClass;

/// The family of a SQL Server wait type (sys.dm_exec_requests.wait_type,
/// sys.dm_os_wait_stats.wait_type). Case and padding do not matter: nchar columns arrive
/// space padded.
pub fn sqlserver(wait_type: &str) -> WaitClass {
    let w = wait_type.trim().to_ascii_uppercase();
    match w.as_str() {
        "RESOURCE_SEMAPHORE_QUERY_COMPILE" => WaitClass::Compile,
        "THREADPOOL" => WaitClass::Threadpool,
        "RESOURCE_SEMAPHORE" => WaitClass::Memory,
        "WRITELOG" | "IO_COMPLETION" | "ASYNC_IO_COMPLETION" => WaitClass::Io,
        "ASYNC_NETWORK_IO" => WaitClass::Network,
        "SOS_SCHEDULER_YIELD" => WaitClass::Cpu,
        _ if w.starts_with("LCK_M_") => WaitClass::Lock,
        _ if w.starts_with("QDS_") => WaitClass::QueryStore,
        _ if w.starts_with("PAGEIOLATCH_") => WaitClass::Io,
        _ if w.starts_with("PAGELATCH_") || w.starts_with("LATCH_") => WaitClass::Latch,
        _ => WaitClass::Other,
    }
}

/// Parallelism waits: a parallel query's threads waiting on each other (the exchange
/// operators' CXPACKET/CXCONSUMER and the CXSYNC_* synchronisation of 2016 SP2+). sp_PressureDetector
/// files all four under "Query parallelism".
pub fn is_sqlserver_parallelism(wait_type: &str) -> bool {
    let w = wait_type.trim().to_ascii_uppercase();
    matches!(w.as_str(), "CXPACKET" | "CXCONSUMER") || w.starts_with("CXSYNC_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlserver_wait_classes() {
        for (w, c) in [
            ("LCK_M_S", WaitClass::Lock),
            ("LCK_M_IX", WaitClass::Lock),
            ("RESOURCE_SEMAPHORE_QUERY_COMPILE", WaitClass::Compile),
            ("QDS_STMT", WaitClass::QueryStore),
            ("THREADPOOL", WaitClass::Threadpool),
            ("RESOURCE_SEMAPHORE", WaitClass::Memory),
            ("PAGEIOLATCH_SH", WaitClass::Io),
            ("WRITELOG", WaitClass::Io),
            ("IO_COMPLETION", WaitClass::Io),
            ("ASYNC_NETWORK_IO", WaitClass::Network),
            ("PAGELATCH_EX", WaitClass::Latch),
            ("LATCH_EX", WaitClass::Latch),
            ("SOS_SCHEDULER_YIELD", WaitClass::Cpu),
            ("CXCONSUMER", WaitClass::Other),
            ("  writelog  ", WaitClass::Io),
        ] {
            assert_eq!(sqlserver(w), c, "{w}");
        }
    }

    #[test]
    fn parallelism_waits() {
        for w in [
            "CXPACKET",
            "CXCONSUMER",
            "CXSYNC_PORT",
            "CXSYNC_CONSUMER",
            "cxpacket ",
        ] {
            assert!(is_sqlserver_parallelism(w), "{w}");
        }
        for w in ["CXROWSET_SYNC_X", "THREADPOOL", "EXCHANGE"] {
            assert!(!is_sqlserver_parallelism(w), "{w}");
        }
    }
}
