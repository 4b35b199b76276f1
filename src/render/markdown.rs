//! Markdown, for an incident channel or a postmortem document.

use super::{Renderer, tally_text, window_text};
use crate::report::{TriageReport, ViewReport};

pub struct Markdown;

/// Text that came from the server may carry Markdown syntax; neutralise what would change
/// the document's structure. Code spans (`...`) in our own sentences stay code spans.
fn escape(text: &str) -> String {
    if text.matches('`').count().is_multiple_of(2) && text.contains('`') {
        return text
            .split('`')
            .enumerate()
            .map(|(i, part)| {
                if i % 2 == 1 {
                    format!("`{part}`")
                } else {
                    escape_plain(part)
                }
            })
            .collect();
    }
    escape_plain(text)
}

/// Keywords that start a ready statement inside an action.
const STATEMENT_STARTS: &[&str] = &[
    "SELECT ", "ALTER ", "KILL ", "CALL ", "GRANT ", "SET ", "EXEC ", "DBCC ", "SHOW ", "spiral ",
];

/// Part of an action: words for people, or a ready statement to copy.
enum Part<'a> {
    Prose(&'a str),
    Code(&'a str),
}

/// An action cut into its prose and the ready statements in it (each introduced by ": "),
/// so each statement can go in a code block a person copies as it is.
fn split_statements(action: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut rest = action;
    loop {
        let start = STATEMENT_STARTS
            .iter()
            .filter_map(|k| rest.find(&format!(": {k}")).map(|i| i + 2))
            .min();
        let Some(start) = start else {
            if !rest.trim().is_empty() {
                parts.push(Part::Prose(rest.trim()));
            }
            return parts;
        };
        let prose = rest[..start].trim();
        if !prose.is_empty() {
            parts.push(Part::Prose(prose));
        }
        let tail = &rest[start..];
        // A shell command ends where the prose resumes (" (" or "; "); SQL at its last
        // semicolon before the next statement or the end.
        let end = if tail.starts_with("spiral ") {
            [tail.find(" ("), tail.find("; ")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(tail.len())
        } else {
            let next = STATEMENT_STARTS
                .iter()
                .filter_map(|k| tail[1..].find(&format!(": {k}")).map(|i| i + 1))
                .min()
                .unwrap_or(tail.len());
            tail[..next].rfind(';').map_or(next, |i| i + 1)
        };
        parts.push(Part::Code(tail[..end].trim()));
        rest = &tail[end..];
    }
}

fn escape_plain(text: &str) -> String {
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
            "- **Target:** {}\n- **Server:** {} {}\n- **Window:** {}\n- **Checks:** {}\n\n",
            escape(&r.target),
            r.engine.product(),
            escape(&r.server_version),
            super::window_span(&r.window),
            tally_text(r)
        ));
        if r.verdicts.is_empty() && r.status == crate::model::verdict::Severity::Unknown {
            out.push_str("No death spiral seen in what was sampled, but the sampling did not finish: see the notes.\n\n");
        } else if r.verdicts.is_empty() {
            out.push_str("No death spiral detected: every check passed.\n\n");
        }
        for v in super::shown_verdicts(r) {
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
                    let parts = split_statements(a);
                    if !parts.iter().any(|p| matches!(p, Part::Code(_))) {
                        out.push_str(&format!("{}. {}\n", i + 1, escape(a)));
                        continue;
                    }
                    // Each part indented under the list item; code is never escaped.
                    for (j, part) in parts.iter().enumerate() {
                        let lead = if j == 0 {
                            format!("{}. ", i + 1)
                        } else {
                            "   ".to_string()
                        };
                        match part {
                            Part::Prose(p) => out.push_str(&format!("{lead}{}\n\n", escape(p))),
                            Part::Code(c) => {
                                let lang = if c.starts_with("spiral ") {
                                    "sh"
                                } else {
                                    "sql"
                                };
                                if j == 0 {
                                    out.push_str(&format!("{}.\n", i + 1));
                                }
                                out.push_str(&format!("   ```{lang}\n   {c}\n   ```\n\n"));
                            }
                        }
                    }
                }
                out.push('\n');
            }
            out.push_str(&format!("Playbook: `spiral playbook {}`\n\n", v.playbook));
        }
        if !r.unseen.is_empty() {
            out.push_str("### UNKNOWN: what spiral could not see\n\n");
            for line in super::unseen_lines(r) {
                match line.strip_prefix("To see it: ") {
                    Some(grant) => {
                        out.push_str(&format!("- **To see it:** `{}`\n", grant.replace('`', "'")))
                    }
                    None => out.push_str(&format!("- {}\n", escape(&line))),
                }
            }
            out.push('\n');
        }
        if !r.other_notes.is_empty() {
            out.push_str("**Notes**\n\n");
            for n in &r.other_notes {
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
