//! The terminal format: verdicts first, worst first, laid out for the console's width (80
//! columns when it is not known).

use super::grid::{self, Align};
use super::{Renderer, tally_text};
use crate::format::{truncate, width, wrap};
use crate::model::verdict::{Severity, Verdict};
use crate::report::{Cell, Section, TriageReport, ViewReport};

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

    /// "CRITICAL  spiral triage of TARGET" on one line: a long target is cut, not wrapped.
    fn headline(&self, status: Severity, what: &str, target: &str) -> String {
        let label = status.label();
        let room = width().saturating_sub(label.len() + 3 + what.chars().count());
        format!(
            "{}  {}\n",
            self.severity(status).trim_end(),
            self.bold(&format!("{what} {}", truncate(target, room.max(12))))
        )
    }

    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\u{1b}[1m{s}\u{1b}[0m")
        } else {
            s.to_string()
        }
    }

    fn unseen(&self, r: &TriageReport, out: &mut String) {
        out.push_str(&format!(
            "{}  {}\n",
            self.severity(Severity::Unknown),
            self.bold("What spiral could not see")
        ));
        for line in super::unseen_lines(r) {
            out.push_str(&wrap(&line, width(), "  "));
            out.push('\n');
        }
        out.push('\n');
    }

    fn verdict(&self, v: &Verdict, out: &mut String) {
        out.push_str(&format!(
            "{}  {}\n",
            self.severity(v.severity),
            self.bold(&format!("{}: {}", v.id, v.title))
        ));
        out.push_str(&wrap(&v.summary, width(), "  "));
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
                width(),
                "  ",
            ));
            out.push('\n');
        }
        if !v.actions.is_empty() {
            out.push_str("  First actions:\n");
            for (i, a) in v.actions.iter().enumerate() {
                let item = wrap(a, width(), "       ");
                out.push_str(&format!("    {}. {}\n", i + 1, item.trim_start()));
            }
        }
        out.push_str(&format!("  Playbook: spiral playbook {}\n\n", v.playbook));
    }
}

impl Renderer for Table {
    fn triage(&self, r: &TriageReport) -> String {
        let mut out = String::new();
        out.push_str(&self.headline(r.status, "spiral triage of", &r.target));
        out.push_str(&wrap(
            &format!(
                "{} {} · {}",
                r.engine.product(),
                r.server_version,
                super::window_span(&r.window)
            ),
            width(),
            "",
        ));
        out.push_str("\n\n");
        if r.verdicts.is_empty() && r.status == crate::model::verdict::Severity::Unknown {
            // A window cut short (the server stopped answering) passed nothing.
            out.push_str("No death spiral seen in what was sampled, but the sampling did not finish: see the notes.\n\n");
        } else if r.verdicts.is_empty() {
            out.push_str("No death spiral detected: every check passed.\n\n");
        }
        // Worst first: the block of what could not be seen sits where UNKNOWN sorts,
        // above the informational verdicts.
        let mut unseen_done = r.unseen.is_empty();
        for v in super::shown_verdicts(r) {
            if !unseen_done && v.severity < Severity::Unknown {
                self.unseen(r, &mut out);
                unseen_done = true;
            }
            self.verdict(v, &mut out);
        }
        if !unseen_done {
            self.unseen(r, &mut out);
        }
        out.push_str(&wrap(&format!("Checks: {}.", tally_text(r)), width(), ""));
        out.push('\n');
        for n in &r.other_notes {
            out.push_str(&wrap(&format!("Note: {n}"), width(), ""));
            out.push('\n');
        }
        out
    }

    fn view(&self, r: &ViewReport) -> String {
        let mut out = String::new();
        out.push_str(&self.headline(r.status, &format!("{} on", r.title), &r.target));
        out.push_str(&wrap(
            &format!("{} · {}", r.engine.product(), super::window_span(&r.window)),
            width(),
            "",
        ));
        out.push('\n');
        if !r.verdicts.is_empty() {
            let v: Vec<String> = r
                .verdicts
                .iter()
                .map(|v| format!("{} ({})", v.id, v.severity.label()))
                .collect();
            out.push_str(&wrap(&format!("Verdicts: {}", v.join(", ")), width(), ""));
            out.push('\n');
        }
        for s in &r.sections {
            out.push('\n');
            out.push_str(&self.bold(&s.heading));
            out.push('\n');
            out.push_str(&grid(s));
        }
        for n in &r.notes {
            out.push_str(&wrap(&format!("Note: {n}"), width(), ""));
            out.push('\n');
        }
        out
    }
}

/// A section as aligned lines for a screen of `cols` columns (watch's panels).
pub fn section_lines(s: &Section, cols: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !s.rows.is_empty() {
        let align: Vec<Align> = (0..s.columns.len())
            .map(|i| column_align(s.rows.iter().filter_map(|r| r.get(i))))
            .collect();
        out.extend(
            grid::render(&s.labels(), &s.display_rows(), &align, cols, "  ")
                .lines()
                .map(String::from),
        );
    }
    match &s.note {
        Some(n) => out.push(format!("  {n}")),
        None if s.rows.is_empty() => out.push("  (none)".into()),
        None => {}
    }
    out
}

fn grid(s: &Section) -> String {
    let mut out = String::new();
    if !s.rows.is_empty() {
        let align: Vec<Align> = (0..s.columns.len())
            .map(|i| column_align(s.rows.iter().filter_map(|r| r.get(i))))
            .collect();
        out.push_str(&grid::render(
            &s.labels(),
            &s.display_rows(),
            &align,
            width(),
            "  ",
        ));
    }
    match &s.note {
        Some(n) => out.push_str(&wrap(n, width(), "  ")),
        None if s.rows.is_empty() => out.push_str("  (none)"),
        None => {}
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A column is laid out by what it holds: statements get the room left, figures align right.
fn column_align<'a>(cells: impl Iterator<Item = &'a Cell>) -> Align {
    let mut numeric = false;
    for c in cells {
        match c {
            Cell::Statement(_) => return Align::Statement,
            Cell::Empty => {}
            c if c.is_numeric() => numeric = true,
            _ => return Align::Text,
        }
    }
    if numeric { Align::Number } else { Align::Text }
}
