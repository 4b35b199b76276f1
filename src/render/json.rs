//! JSON: the documented, versioned shape that bots and runbooks parse (docs/json-output.md).

use super::Renderer;
use crate::report::{TriageReport, ViewReport};

pub struct Json;

impl Renderer for Json {
    fn triage(&self, report: &TriageReport) -> String {
        pretty(report)
    }

    fn view(&self, report: &ViewReport) -> String {
        pretty(report)
    }
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data with string keys cannot fail; if it somehow did, an error
    // object is still valid JSON for the consumer.
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": {}}}", serde_json::Value::from(e.to_string())))
}
