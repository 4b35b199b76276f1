//! Writes the bundled captures in captures/ from tests/support/incidents.rs:
//! `cargo run --example build_captures`.

#[path = "../tests/support/incidents.rs"]
mod incidents;

fn main() -> std::io::Result<()> {
    for capture in incidents::all() {
        std::fs::write(capture.file, capture.to_jsonl())?;
        println!("wrote {}", capture.file);
    }
    Ok(())
}
