//! Renderers: one module per output format behind one trait.
//!
//! Renderers receive finished reports and only lay them out: no rule logic, no I/O. Text
//! from the server was already stripped of control characters when the snapshot entered
//! spiral; renderers add only the escaping their own format needs (mrkdwn, Markdown tables).

pub mod grid;
mod json;
mod listings;
mod markdown;
mod slack;
mod table;

pub use listings::{thresholds_json, thresholds_table};
pub use table::section_lines;

use crate::cli::Format;
use crate::report::{TriageReport, ViewReport};

pub trait Renderer {
    fn triage(&self, report: &TriageReport) -> String;
    fn view(&self, report: &ViewReport) -> String;
}

pub fn renderer(format: Format, color: bool) -> Box<dyn Renderer> {
    match format {
        Format::Table => Box::new(table::Table { color }),
        Format::Json => Box::new(json::Json),
        Format::Slack => Box::new(slack::Slack),
        Format::Markdown => Box::new(markdown::Markdown),
    }
}

/// "3 samples over 10s" / "1 sample".
pub fn window_text(w: &crate::report::WindowInfo) -> String {
    if w.samples <= 1 {
        "1 sample".to_string()
    } else {
        format!(
            "{} samples over {}",
            w.samples,
            crate::format::duration_secs(w.seconds)
        )
    }
}

/// "3 samples over 10s, 2024-03-12 03:11:00 to 03:11:10 UTC" / "1 sample at ... UTC":
/// the window with the capture's (or the server's) own clock.
pub fn window_span(w: &crate::report::WindowInfo) -> String {
    let first = w.first.format("%Y-%m-%d %H:%M:%S");
    if w.samples <= 1 {
        format!("1 sample at {first} UTC")
    } else {
        format!(
            "{}, {first} to {} UTC",
            window_text(w),
            w.last.format("%H:%M:%S")
        )
    }
}

/// "2 critical, 1 warning, 12 ok".
pub(crate) fn tally_text(report: &TriageReport) -> String {
    use crate::rules::CheckState;
    let mut counts = std::collections::BTreeMap::new();
    for state in report.checks.values() {
        *counts.entry(*state).or_insert(0u32) += 1;
    }
    let order = [
        (CheckState::Critical, "critical"),
        (CheckState::Warning, "warning"),
        (CheckState::Unknown, "unknown"),
        (CheckState::Info, "info"),
        (CheckState::Ok, "ok"),
        (CheckState::Pending, "waiting for a second sample"),
    ];
    order
        .iter()
        .filter_map(|(s, label)| counts.get(s).map(|n| format!("{n} {label}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdicts a person reads one by one: the unknowns are told once, together, in the
/// "could not see" block.
pub(crate) fn shown_verdicts(
    report: &TriageReport,
) -> impl Iterator<Item = &crate::model::verdict::Verdict> {
    report.verdicts.iter().filter(move |v| {
        v.severity != crate::model::verdict::Severity::Unknown || report.unseen.is_empty()
    })
}

/// The "could not see" block as plain lines: what, which checks, the remedy. Gaps that one
/// GRANT closes are told together, with the GRANT once.
pub(crate) fn unseen_lines(report: &TriageReport) -> Vec<String> {
    let mut out = Vec::new();
    let mut done = vec![false; report.unseen.len()];
    for i in 0..report.unseen.len() {
        if done[i] {
            continue;
        }
        let remedy = &report.unseen[i].remedy;
        let mut checks: Vec<&str> = Vec::new();
        for (j, u) in report.unseen.iter().enumerate().skip(i) {
            if done[j] || (j != i && (remedy.is_none() || &u.remedy != remedy)) {
                continue;
            }
            done[j] = true;
            let mut what = u.what.to_string();
            if let Some(first) = what.get(..1) {
                what = first.to_uppercase() + &what[1..];
            }
            out.push(format!("{what}: {}.", u.reason));
            for c in &u.checks {
                if !checks.contains(c) {
                    checks.push(c);
                }
            }
        }
        if !checks.is_empty() {
            out.push(format!(
                "Unknown until then: {} ({}).",
                checks.join(", "),
                crate::format::plural(checks.len() as u64, "check")
            ));
        }
        if let Some(r) = remedy {
            out.push(format!("To see it: {r}"));
        }
    }
    out
}
