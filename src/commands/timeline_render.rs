//! The timeline as text for a terminal, as a Markdown table for the postmortem, or as
//! JSON (docs/timeline-json.md). Strings from the capture were stripped of control
//! characters when the snapshots were read; Markdown adds only its own escaping.

use chrono::{DateTime, Utc};

use crate::commands::timeline::{Event, Timeline};
use crate::format::{decimal, duration_secs};
use crate::model::verdict::Severity;

/// Times within one day show as 03:11:05; a timeline spanning days adds the date.
fn clock(t: DateTime<Utc>, tl: &Timeline) -> String {
    if tl.first.date_naive() == tl.last.date_naive() {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%m-%d %H:%M:%S").to_string()
    }
}

fn rate(r: Option<f64>) -> String {
    r.map(|r| format!("{}/s", decimal(r)))
        .unwrap_or_else(|| "-".into())
}

fn heading(tl: &Timeline) -> String {
    format!(
        "Timeline of {} ({}): {} to {} UTC, {} over {}, rules over a window of {}",
        tl.target,
        tl.engine.product(),
        tl.first.format("%Y-%m-%d %H:%M:%S"),
        if tl.first.date_naive() == tl.last.date_naive() {
            tl.last.format("%H:%M:%S").to_string()
        } else {
            tl.last.format("%Y-%m-%d %H:%M:%S").to_string()
        },
        crate::format::plural(tl.samples as u64, "sample"),
        duration_secs(tl.seconds),
        crate::format::plural(tl.window_samples as u64, "sample"),
    )
}

fn status_line(tl: &Timeline) -> String {
    format!(
        "Worst: {} (exit {}); at the end: {}",
        tl.status.label(),
        tl.exit_code,
        tl.final_status.label()
    )
}

fn change_text(e: &Event) -> String {
    match e.previous {
        Some(p) if e.change != crate::commands::timeline::Change::Cleared => {
            format!("{} {}->{}", e.change.label(), p.label(), e.severity.label())
        }
        _ => e.change.label().to_string(),
    }
}

/// The severity column, coloured like triage's table on a terminal.
fn label(e: &Event, color: bool) -> String {
    let cleared = e.change == crate::commands::timeline::Change::Cleared;
    let word = if cleared {
        "CLEARED"
    } else {
        e.severity.label()
    };
    let padded = format!("{word:<9}");
    if !color {
        return padded;
    }
    let code = match e.severity {
        _ if cleared => "32",
        Severity::Critical => "1;31",
        Severity::Warning => "1;33",
        Severity::Unknown => "1;35",
        Severity::Info => "36",
        Severity::Ok => "32",
    };
    format!("\u{1b}[{code}m{padded}\u{1b}[0m")
}

/// Plain text for a terminal: one block per change, the figures under it.
pub fn text(tl: &Timeline, color: bool) -> String {
    let mut out = format!("{}\n{}\n\n", heading(tl), status_line(tl));
    if tl.events.is_empty() {
        out.push_str("No verdict at any sample: no death spiral detected.\n");
    }
    for e in &tl.events {
        out.push_str(&format!(
            "{}  {} {:<26} {}\n",
            clock(e.at, tl),
            label(e, color),
            e.verdict,
            change_text(e)
        ));
        let f = &e.figures;
        out.push_str(&format!(
            "          connections {}  blocked {}  waiters {}  compiles {}  logins {}\n",
            f.connections_text(),
            crate::format::thousands(f.blocked_sessions),
            f.waiters_text(),
            rate(f.compilations_per_sec),
            rate(f.logins_per_sec),
        ));
        if let Some(c) = &e.culprit {
            out.push_str(&format!("          culprit: {c}\n"));
        }
        out.push_str(&crate::format::wrap(&e.summary, 100, "          "));
        out.push('\n');
    }
    if !tl.episodes.is_empty() {
        out.push_str("\nEpisodes (start, peak, clear):\n");
        for ep in &tl.episodes {
            out.push_str(&format!(
                "  {:<26} {} -> peak {} {} -> {} ({})\n",
                ep.verdict,
                clock(ep.started_at, tl),
                clock(ep.peak.at, tl),
                ep.peak.severity.label(),
                ep.cleared_at
                    .map(|c| format!("cleared {}", clock(c, tl)))
                    .unwrap_or_else(|| "still on at the end".into()),
                duration_secs(ep.seconds),
            ));
            if let Some(m) = &ep.peak.measure {
                out.push_str(&format!(
                    "  {:<26} at the peak: {} {}, connections {}\n",
                    "",
                    m.label,
                    m.value,
                    ep.peak.figures.connections_text()
                ));
            }
        }
    }
    for n in &tl.notes {
        out.push_str(&format!("\nnote: {n}"));
    }
    out
}

/// Markdown table cells: pipes and line breaks would break the table; HTML-ish characters
/// are escaped so a pasted cell cannot inject markup into a rendered postmortem.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table that pastes into a postmortem's timeline section.
pub fn markdown(tl: &Timeline) -> String {
    let mut out = format!(
        "### {}\n\n{}\n\n",
        cell(&heading(tl)),
        cell(&status_line(tl))
    );
    out.push_str(
        "| Time (UTC) | Verdict | Change | Severity | Connections | Blocked | Waiters | Compiles/s | Logins/s | Culprit | Summary |\n",
    );
    out.push_str("|---|---|---|---|---:|---:|---|---:|---:|---|---|\n");
    for e in &tl.events {
        let f = &e.figures;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&clock(e.at, tl)),
            cell(e.verdict),
            cell(&change_text(e)),
            severity_word(e.severity, e.change),
            cell(&f.connections_text()),
            f.blocked_sessions,
            cell(&f.waiters_text()),
            f.compilations_per_sec.map(decimal).unwrap_or("-".into()),
            f.logins_per_sec.map(decimal).unwrap_or("-".into()),
            cell(e.culprit.as_deref().unwrap_or("")),
            cell(&e.summary),
        ));
    }
    if tl.events.is_empty() {
        out.push_str("| | | | OK | | | | | | | No verdict at any sample |\n");
    }
    if !tl.episodes.is_empty() {
        out.push_str(
            "\n| Verdict | Started | Peak | Peak severity | Cleared | Lasted | Playbook |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|\n");
        for ep in &tl.episodes {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | `spiral playbook {}` |\n",
                cell(ep.verdict),
                clock(ep.started_at, tl),
                clock(ep.peak.at, tl),
                ep.peak.severity.label(),
                ep.cleared_at
                    .map(|c| clock(c, tl))
                    .unwrap_or_else(|| "still on".into()),
                duration_secs(ep.seconds),
                ep.playbook,
            ));
        }
    }
    for n in &tl.notes {
        out.push_str(&format!("\n> note: {}\n", cell(n)));
    }
    out
}

fn severity_word(s: Severity, change: crate::commands::timeline::Change) -> &'static str {
    if change == crate::commands::timeline::Change::Cleared {
        "cleared"
    } else {
        s.label()
    }
}

pub fn json(tl: &Timeline) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(tl)?)
}
