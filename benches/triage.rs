//! `cargo bench`: how long triage takes on a big window, and whether replay memory grows
//! with the length of a capture. Figures are printed, never asserted: a shared 2-core
//! machine is no place for wall-clock limits.
//!
//! Set SPIRAL_BENCH_REPLAY_MB (default 1024) to change the size of the large replay.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use spiral::capture::{CaptureReader, CaptureWriter, Header};
use spiral::cli::Format;
use spiral::model::session::{Session, SessionState, WaitClass};
use spiral::model::snapshot::{ConnectionLimits, Engine, Snapshot, Workers, counter};
use spiral::model::thresholds::Thresholds;
use spiral::model::window::Window;
use spiral::report::TriageReport;
use spiral::rules::evaluate;

/// A snapshot shaped like incident 000's flood: `n` sessions over 131 hosts, a fifth of
/// them in lock chains, many compiling, the rest idle.
fn big_snapshot(n: usize, second: i64) -> Snapshot {
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_triage(sessions: usize) {
    let window = Window::from_snapshots((0..3).map(|i| big_snapshot(sessions, i * 5))).unwrap();
    let thresholds = Thresholds::default();
    let mut times = Vec::new();
    let mut render_times = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        let assessment = evaluate(&window, &thresholds);
        times.push(start.elapsed());
        let report = TriageReport::build("mssql://bench", &window, assessment, Vec::new());
        let start = Instant::now();
        let table = spiral::render::renderer(Format::Table, false).triage(&report);
        let json = spiral::render::renderer(Format::Json, false).triage(&report);
        render_times.push(start.elapsed());
        assert!(!table.is_empty() && !json.is_empty());
    }
    println!(
        "triage of a window of 3 x {sessions} sessions: rules {:?} (median of 30), rendering table+json {:?}",
        median(times),
        median(render_times)
    );
}

/// Peak resident memory of this process so far (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench_replay(megabytes: u64) {
    let dir = std::env::temp_dir().join(format!("spiral-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("replay-{megabytes}mb.jsonl"));
    let header = Header::new(Engine::Mssql, "mssql://bench", Utc::now());
    let mut writer =
        CaptureWriter::new(Box::new(std::fs::File::create(&path).unwrap()), &header).unwrap();
    let mut lines = 0i64;
    while std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < megabytes * 1024 * 1024 {
        writer.write(&big_snapshot(1_000, lines)).unwrap();
        lines += 1;
    }
    drop(writer);
    let size = std::fs::metadata(&path).unwrap().len();
    let before = peak_rss_mib();
    let start = Instant::now();
    let mut reader = CaptureReader::open(&path).unwrap();
    let mut window = Window::new(reader.next_snapshot().unwrap().unwrap());
    while let Some(s) = reader.next_snapshot().unwrap() {
        window.push(s);
    }
    let assessment = evaluate(&window, &Thresholds::default());
    let elapsed = start.elapsed();
    let after = peak_rss_mib();
    println!(
        "replay of {:.0} MB ({lines} snapshots of 1,000 sessions): {elapsed:?}, {:.0} MB/s; {} verdicts; peak RSS before {:.1} MiB, after {:.1} MiB",
        size as f64 / 1e6,
        size as f64 / 1e6 / elapsed.as_secs_f64(),
        assessment.verdicts.len(),
        before.unwrap_or(f64::NAN),
        after.unwrap_or(f64::NAN)
    );
    let _ = std::io::stdout().flush();
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    // `cargo test --benches` runs this too; only do the heavy part under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    for n in [1_000, 10_000] {
        bench_triage(n);
    }
    let big: u64 = std::env::var("SPIRAL_BENCH_REPLAY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    // The small replay first: if memory grew with length, the large one would raise the peak.
    bench_replay(64);
    bench_replay(big);
}
