//! Writes a long generated capture for measuring `spiral timeline` and `spiral report` on
//! a day of samples: `cargo run --release --example long_capture -- OUT.jsonl [SAMPLES]
//! [INTERVAL_SECS]` (default 17,280 samples 5s apart: one day). The leak of
//! tests/support/leak.rs repeats through it.

#[path = "../tests/support/leak.rs"]
mod leak;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "target/long-capture.jsonl".to_string());
    let samples: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(17_280);
    let interval: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let plan = leak::LeakPlan {
        interval_secs: interval,
        ..leak::LeakPlan::test()
    };
    let file = std::fs::File::create(&out)?;
    let mut w = std::io::BufWriter::new(file);
    plan.write(&mut w, samples)?;
    println!("wrote {samples} samples to {out}");
    Ok(())
}
