//! Writes a capture of incident-000-shaped snapshots (1,000 sessions each) for the replay
//! comparison in scripts/bench-replay.sh:
//! `cargo run --release --example flood_capture -- OUT.jsonl [MEGABYTES]` (default 128).

#[path = "../benches/support/flood.rs"]
mod flood;

use spiral::capture::{CaptureWriter, Header};
use spiral::model::snapshot::Engine;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "target/flood-capture.jsonl".to_string());
    let megabytes: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let path = std::path::Path::new(&out);
    let header = Header::new(Engine::Mssql, "mssql://bench", chrono::Utc::now());
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = CaptureWriter::new(Box::new(file), &header)?;
    let mut written = 0u64;
    let mut second = 0i64;
    // Each snapshot is about 270 KB; counting them avoids a metadata call per line.
    let per_snapshot = {
        let one = serde_json::to_vec(&flood::big_snapshot(1_000, 0))?;
        one.len() as u64 + 1
    };
    while written < megabytes * 1024 * 1024 {
        writer.write(&flood::big_snapshot(1_000, second))?;
        written += per_snapshot;
        second += 5;
    }
    println!("wrote {} snapshots to {out}", second / 5);
    Ok(())
}
