//! Markdown, for an incident channel or a postmortem document.

use super::{Renderer, tally_text, window_text};
use crate::report::{TriageReport, ViewReport};

pub struct Markdown;

/// Text that came from the server may carry Markdown syntax; neutralise what would change
/// the document's structure.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Renderer for Markdown {
    fn triage(&self, r: &TriageReport) -> String {
        let mut out = format!("## spiral triage: {}\n\n", r.status.label());
        out.push_str(&format!(
            "- **Target:** {}\n- **Server:** {} {}\n- **Window:** {}, {} to {}\n- **Checks:** {}\n\n",
            escape(&r.target),
            r.engine.product(),
            escape(&r.server_version),
            window_text(&r.window),
            r.window.first.format("%Y-%m-%d %H:%M:%S"),
            r.window.last.format("%H:%M:%S UTC"),
            tally_text(r)
        ));
        if r.verdicts.is_empty() {
            out.push_str("No death spiral detected: every check passed.\n\n");
        }
        for v in &r.verdicts {
            out.push_str(&format!(
                "### {}: {} ({})\n\n{}\n\n",
                v.severity.label(),
                escape(v.title),
                v.id,
                escape(&v.summary)
            ));
            if !v.evidence.is_empty() {
                out.push_str("| Evidence | Value |\n|---|---|\n");
                for f in &v.evidence {
                    out.push_str(&format!(
                        "| {} | {} |\n",
                        escape(&f.label),
                        escape(&f.value)
                    ));
                }
                out.push('\n');
            }
            if !v.actions.is_empty() {
                out.push_str("**First actions**\n\n");
                for (i, a) in v.actions.iter().enumerate() {
                    out.push_str(&format!("{}. {}\n", i + 1, escape(a)));
                }
                out.push('\n');
            }
            out.push_str(&format!("Playbook: `spiral playbook {}`\n\n", v.playbook));
        }
        if !r.notes.is_empty() {
            out.push_str("**Notes**\n\n");
            for n in &r.notes {
                out.push_str(&format!("- {}\n", escape(n)));
            }
        }
        out
    }

    fn view(&self, r: &ViewReport) -> String {
        let mut out = format!("## {} ({})\n\n", escape(&r.title), r.status.label());
        out.push_str(&format!(
            "- **Target:** {}\n- **Window:** {}\n",
            escape(&r.target),
            window_text(&r.window)
        ));
        for v in &r.verdicts {
            out.push_str(&format!("- **{}:** `{}`\n", v.severity.label(), v.id));
        }
        out.push('\n');
        for s in &r.sections {
            out.push_str(&format!("### {}\n\n", escape(&s.heading)));
            if !s.rows.is_empty() {
                let cols: Vec<String> = s.labels().iter().map(|c| escape(c)).collect();
                out.push_str(&format!("| {} |\n", cols.join(" | ")));
                out.push_str(&format!("|{}\n", "---|".repeat(cols.len())));
                for row in &s.display_rows() {
                    let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                out.push('\n');
            }
            if let Some(n) = &s.note {
                out.push_str(&format!("_{}_\n\n", escape(n)));
            }
        }
        for n in &r.notes {
            out.push_str(&format!("- {}\n", escape(n)));
        }
        out
    }
}
