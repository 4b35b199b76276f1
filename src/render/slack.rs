//! Slack: a Block Kit payload that posts as-is to an incoming webhook.
//!
//! `spiral triage ... --format slack | curl -d @- "$WEBHOOK"`. Block Kit rejects a whole
//! message that breaks one limit, so every limit is enforced here: header text at most 150
//! characters, section text at most 3,000, at most 10 fields of 2,000, at most 50 blocks.

use serde_json::{Value, json};

use super::{Renderer, tally_text, window_text};
use crate::format::truncate;
use crate::model::verdict::Severity;
use crate::report::{TriageReport, ViewReport};

pub struct Slack;

const MAX_BLOCKS: usize = 50;
const MAX_VERDICTS: usize = 10;

/// mrkdwn gives &, < and > meaning; everything else prints as typed.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes, then truncates to Slack's limit counted on the escaped text.
fn mrkdwn(text: &str, max: usize) -> Value {
    json!({ "type": "mrkdwn", "text": truncate(&esc(text), max) })
}

fn header(text: &str) -> Value {
    json!({ "type": "header", "text": { "type": "plain_text", "text": truncate(text, 150), "emoji": false } })
}

fn marker(s: Severity) -> &'static str {
    match s {
        Severity::Critical => ":red_circle:",
        Severity::Warning => ":large_orange_circle:",
        Severity::Unknown => ":grey_question:",
        Severity::Info => ":large_blue_circle:",
        Severity::Ok => ":large_green_circle:",
    }
}

fn payload(fallback: String, mut blocks: Vec<Value>) -> String {
    if blocks.len() > MAX_BLOCKS {
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(json!({ "type": "context", "elements": [mrkdwn("(more in `spiral triage --format markdown`)", 3000)] }));
    }
    let value = json!({ "text": truncate(&esc(&fallback), 3000), "blocks": blocks });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

impl Renderer for Slack {
    fn triage(&self, r: &TriageReport) -> String {
        let ids: Vec<&str> = r.verdicts.iter().map(|v| v.id).collect();
        let fallback = format!(
            "spiral: {} on {}{}",
            r.status.label(),
            r.target,
            if ids.is_empty() {
                String::new()
            } else {
                format!(": {}", ids.join(", "))
            }
        );
        let mut blocks = vec![
            header(&format!(
                "spiral: {} on {} {}",
                r.status.label(),
                r.engine.product(),
                r.target
            )),
            json!({ "type": "context", "elements": [mrkdwn(&format!("{} · {} · checks: {}", r.server_version, window_text(&r.window), tally_text(r)), 3000)] }),
        ];
        if r.verdicts.is_empty() && r.status == crate::model::verdict::Severity::Unknown {
            blocks.push(json!({ "type": "section", "text": mrkdwn("No death spiral seen in what was sampled, but the sampling did not finish: see the notes.", 3000) }));
        } else if r.verdicts.is_empty() {
            blocks.push(json!({ "type": "section", "text": mrkdwn("No death spiral detected: every check passed.", 3000) }));
        }
        let shown: Vec<&crate::model::verdict::Verdict> = super::shown_verdicts(r).collect();
        for v in shown.iter().take(MAX_VERDICTS) {
            blocks.push(json!({ "type": "divider" }));
            let text = format!(
                "{} *{}* `{}`: {}\n{}",
                marker(v.severity),
                v.severity.label(),
                v.id,
                v.title,
                v.summary
            );
            blocks.push(json!({ "type": "section", "text": mrkdwn(&text, 3000) }));
            if !v.evidence.is_empty() {
                let fields: Vec<Value> = v
                    .evidence
                    .iter()
                    .take(10)
                    .map(|f| mrkdwn(&format!("*{}*\n{}", f.label, f.value), 2000))
                    .collect();
                blocks.push(json!({ "type": "section", "fields": fields }));
            }
            if !v.actions.is_empty() {
                let list: Vec<String> = v
                    .actions
                    .iter()
                    .enumerate()
                    .map(|(i, a)| format!("{}. {a}", i + 1))
                    .collect();
                let text = format!(
                    "*First actions*\n{}\nPlaybook: `spiral playbook {}`",
                    list.join("\n"),
                    v.playbook
                );
                blocks.push(json!({ "type": "section", "text": mrkdwn(&text, 3000) }));
            }
        }
        if shown.len() > MAX_VERDICTS {
            let rest: Vec<&str> = shown[MAX_VERDICTS..].iter().map(|v| v.id).collect();
            blocks.push(json!({ "type": "context", "elements": [mrkdwn(&format!("Also: {}", rest.join(", ")), 3000)] }));
        }
        if !r.unseen.is_empty() {
            let text = format!(
                "{} *UNKNOWN* What spiral could not see\n{}",
                marker(crate::model::verdict::Severity::Unknown),
                super::unseen_lines(r).join("\n")
            );
            blocks.push(json!({ "type": "section", "text": mrkdwn(&text, 3000) }));
        }
        if !r.other_notes.is_empty() {
            blocks.push(
                json!({ "type": "context", "elements": [mrkdwn(&r.other_notes.join("\n"), 3000)] }),
            );
        }
        payload(fallback, blocks)
    }

    fn view(&self, r: &ViewReport) -> String {
        let fallback = format!("spiral {}: {} on {}", r.view, r.status.label(), r.target);
        let mut blocks = vec![header(&format!(
            "spiral {}: {} on {}",
            r.title,
            r.status.label(),
            r.target
        ))];
        for s in &r.sections {
            // Slack has no tables: a monospaced block keeps the columns aligned, at a width
            // that reads on a laptop (statements cut, so the block stays whole).
            let lines = super::section_lines(s, 100);
            let body = format!("*{}*\n```\n{}\n```", s.heading, lines.join("\n"));
            blocks.push(json!({ "type": "section", "text": mrkdwn(&body, 3000) }));
        }
        payload(fallback, blocks)
    }
}
