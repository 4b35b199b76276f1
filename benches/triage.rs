//! `cargo bench`: how long triage takes on a big window, and whether replay memory grows
//! with the length of a capture. Figures are printed, never asserted: a shared 2-core
//! machine is no place for wall-clock limits.
//!
//! Set SPIRAL_BENCH_REPLAY_MB (default 1024) to change the size of the large replay.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use spiral::capture::{CaptureReader, CaptureWriter, Header};
use spiral::cli::Format;
use spiral::model::snapshot::Engine;
use spiral::model::thresholds::Thresholds;
use spiral::model::window::Window;
use spiral::report::TriageReport;
use spiral::rules::evaluate;

#[path = "support/flood.rs"]
mod flood;
use flood::big_snapshot;

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
