//! The reference listings (`spiral thresholds`) for people and for machines.

use serde::Serialize;

use crate::format::{width, wrap};
use crate::model::thresholds::{Kind, SPECS, show};

pub const THRESHOLDS_SCHEMA: &str = "spiral.thresholds/v1";

#[derive(Serialize)]
pub struct ThresholdsListing {
    pub schema: &'static str,
    pub thresholds: Vec<ThresholdEntry>,
}

#[derive(Serialize)]
pub struct ThresholdEntry {
    pub name: &'static str,
    /// `duration` (seconds), `count`, `percent` or `per_second`.
    pub kind: &'static str,
    pub default: f64,
    /// The default as it would be written on the command line.
    pub default_text: String,
    pub meaning: &'static str,
}

pub fn thresholds_json() -> ThresholdsListing {
    ThresholdsListing {
        schema: THRESHOLDS_SCHEMA,
        thresholds: SPECS
            .iter()
            .map(|s| ThresholdEntry {
                name: s.name,
                kind: match s.kind {
                    Kind::Duration => "duration",
                    Kind::Count => "count",
                    Kind::Percent => "percent",
                    Kind::PerSecond => "per_second",
                },
                default: s.default,
                default_text: show(s.kind, s.default),
                meaning: s.doc,
            })
            .collect(),
    }
}

/// Name and default on one line, the meaning wrapped beneath: fits any width from 40.
pub fn thresholds_table() -> String {
    let mut text = String::from("Thresholds (override with -T NAME=VALUE):\n\n");
    let name_w = SPECS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in SPECS {
        text.push_str(&format!(
            "  {:<name_w$}  {}\n",
            s.name,
            show(s.kind, s.default)
        ));
        text.push_str(&wrap(s.doc, width(), "      "));
        text.push('\n');
    }
    text
}
