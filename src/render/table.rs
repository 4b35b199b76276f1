//! The terminal format: verdicts first, worst first, readable at 80 columns.

use comfy_table::{ContentArrangement, Table as Grid, presets};

use super::{Renderer, tally_text, window_text};
use crate::format::wrap;
use crate::report::{Section, TriageReport, ViewReport};
use crate::verdict::{Severity, Verdict};

const WIDTH: usize = 80;

pub struct Table {
    pub color: bool,
}

impl Table {
    fn severity(&self, s: Severity) -> String {
        let label = format!("{:<8}", s.label());
        if !self.color {
            return label;
        }
        let code = match s {
            Severity::Critical => "1;31",
            Severity::Warning => "1;33",
            Severity::Unknown => "1;35",
            Severity::Info => "36",
            Severity::Ok => "32",
        };
        format!("\u{1b}[{code}m{label}\u{1b}[0m")
    }

    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\u{1b}[1m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }

    fn verdict(&self, v: &Verdict, out: &mut String) {
        out.push_str(&format!(
            "{}  {}\n",
            self.severity(v.severity),
            self.bold(&format!("{}: {}", v.id, v.title))
        ));
        out.push_str(&wrap(&v.summary, WIDTH, "  "));
        out.push('\n');
        if !v.evidence.is_empty() {
            let figures: Vec<String> = v
                .evidence
                .iter()
                .map(|f| format!("{}: {};", f.label, f.value))
                .collect();
            let text = figures.join(" ");
            out.push_str(&wrap(
                &format!("Evidence: {}", text.trim_end_matches(';')),
                WIDTH,
                "  ",
            ));
            out.push('\n');
        }
        if !v.actions.is_empty() {
            out.push_str("  First actions:\n");
            for (i, a) in v.actions.iter().enumerate() {
                let item = wrap(a, WIDTH, "       ");
                out.push_str(&format!("    {}. {}\n", i + 1, item.trim_start()));
            }
        }
        out.push_str(&format!("  Playbook: spiral playbook {}\n\n", v.playbook));
    }
}

impl Renderer for Table {
    fn triage(&self, r: &TriageReport) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{}  {}\n",
            self.severity(r.status).trim_end(),
            self.bold(&format!("spiral triage of {}", r.target))
        ));
        out.push_str(&wrap(
            &format!(
                "{} {} · {} · {} to {}",
                r.engine.product(),
                r.server_version,
                window_text(&r.window),
                r.window.first.format("%Y-%m-%d %H:%M:%S"),
                r.window.last.format("%H:%M:%S UTC")
            ),
            WIDTH,
            "",
        ));
        out.push_str("\n\n");
        if r.verdicts.is_empty() && r.status == crate::verdict::Severity::Unknown {
            // A window cut short (the server stopped answering) passed nothing.
            out.push_str("No death spiral seen in what was sampled, but the sampling did not finish: see the notes.\n\n");
        } else if r.verdicts.is_empty() {
            out.push_str("No death spiral detected: every check passed.\n\n");
        }
        for v in &r.verdicts {
            self.verdict(v, &mut out);
        }
        out.push_str(&wrap(&format!("Checks: {}.", tally_text(r)), WIDTH, ""));
        out.push('\n');
        for n in &r.notes {
            out.push_str(&wrap(&format!("Note: {n}"), WIDTH, ""));
            out.push('\n');
        }
        out
    }

    fn view(&self, r: &ViewReport) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{}  {}\n",
            self.severity(r.status).trim_end(),
            self.bold(&format!("{} on {}", r.title, r.target))
        ));
        out.push_str(&format!(
            "{} · {}\n",
            r.engine.product(),
            window_text(&r.window)
        ));
        if !r.verdicts.is_empty() {
            let v: Vec<String> = r
                .verdicts
                .iter()
                .map(|(id, s)| format!("{id} ({})", s.label()))
                .collect();
            out.push_str(&wrap(&format!("Verdicts: {}", v.join(", ")), WIDTH, ""));
            out.push('\n');
        }
        for s in &r.sections {
            out.push('\n');
            out.push_str(&self.bold(&s.heading));
            out.push('\n');
            out.push_str(&grid(s));
        }
        for n in &r.notes {
            out.push_str(&wrap(&format!("Note: {n}"), WIDTH, ""));
            out.push('\n');
        }
        out
    }
}

fn grid(s: &Section) -> String {
    let mut out = String::new();
    if !s.rows.is_empty() {
        let mut g = Grid::new();
        g.load_style(presets::ASCII_BORDERS_ONLY_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(WIDTH as u16)
            .set_header(s.columns.clone());
        for row in &s.rows {
            g.add_row(row.clone());
        }
        out.push_str(&g.to_string());
        out.push('\n');
    }
    match &s.note {
        Some(n) => out.push_str(&wrap(n, WIDTH, "  ")),
        None if s.rows.is_empty() => out.push_str("  (none)"),
        None => {}
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
