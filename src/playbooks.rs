//! Playbooks, embedded in the binary: `spiral playbook <verdict-id>`.
//!
//! One Markdown file per verdict id in playbooks/, written from the incidents: confirm,
//! mitigate now, recover, prevent. Every verdict's `playbook` field names one of these.

/// (verdict id, Markdown text)
pub const PLAYBOOKS: &[(&str, &str)] = &[
    (
        "compile-gate-saturation",
        include_str!("../playbooks/compile-gate-saturation.md"),
    ),
    (
        "query-store-amplification",
        include_str!("../playbooks/query-store-amplification.md"),
    ),
    (
        "worker-thread-exhaustion",
        include_str!("../playbooks/worker-thread-exhaustion.md"),
    ),
    (
        "memory-grant-exhaustion",
        include_str!("../playbooks/memory-grant-exhaustion.md"),
    ),
    (
        "log-write-pressure",
        include_str!("../playbooks/log-write-pressure.md"),
    ),
    (
        "tempdb-allocation-contention",
        include_str!("../playbooks/tempdb-allocation-contention.md"),
    ),
    ("cpu-pressure", include_str!("../playbooks/cpu-pressure.md")),
    (
        "blocking-chain",
        include_str!("../playbooks/blocking-chain.md"),
    ),
    (
        "deadlock-cycle",
        include_str!("../playbooks/deadlock-cycle.md"),
    ),
    (
        "deadlocks-rising",
        include_str!("../playbooks/deadlocks-rising.md"),
    ),
    (
        "read-blocked-by-writers",
        include_str!("../playbooks/read-blocked-by-writers.md"),
    ),
    (
        "connection-exhaustion",
        include_str!("../playbooks/connection-exhaustion.md"),
    ),
    (
        "client-pool-saturation",
        include_str!("../playbooks/client-pool-saturation.md"),
    ),
    (
        "idle-connection-leak",
        include_str!("../playbooks/idle-connection-leak.md"),
    ),
    (
        "idle-in-transaction",
        include_str!("../playbooks/idle-in-transaction.md"),
    ),
    (
        "client-timeout-exceeded",
        include_str!("../playbooks/client-timeout-exceeded.md"),
    ),
    (
        "reconnect-storm",
        include_str!("../playbooks/reconnect-storm.md"),
    ),
    (
        "plan-cache-bloat",
        include_str!("../playbooks/plan-cache-bloat.md"),
    ),
    (
        "missing-guardrails",
        include_str!("../playbooks/missing-guardrails.md"),
    ),
    (
        "long-transaction",
        include_str!("../playbooks/long-transaction.md"),
    ),
    (
        "pool-exhaustion",
        include_str!("../playbooks/pool-exhaustion.md"),
    ),
    (
        "pooler-held-transaction",
        include_str!("../playbooks/pooler-held-transaction.md"),
    ),
    (
        "pooler-missing-guardrails",
        include_str!("../playbooks/pooler-missing-guardrails.md"),
    ),
];

pub fn find(id: &str) -> Option<&'static str> {
    PLAYBOOKS
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, text)| *text)
}

pub const PLAYBOOK_SCHEMA: &str = "spiral.playbook/v1";

/// `spiral playbook ID --format json`: the playbook's id, title and Markdown.
pub fn json(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "schema": PLAYBOOK_SCHEMA,
        "id": id,
        "title": title(body),
        "markdown": body,
    })
}

/// `spiral playbook --format json`: every playbook's id and title.
pub fn listing_json() -> serde_json::Value {
    let list: Vec<serde_json::Value> = PLAYBOOKS
        .iter()
        .map(|(id, body)| serde_json::json!({ "id": id, "title": title(body) }))
        .collect();
    serde_json::json!({ "schema": PLAYBOOK_SCHEMA, "playbooks": list })
}

/// The playbook a mistyped id most likely meant: one whose id holds every word typed
/// (`idle-leak` -> `idle-connection-leak`), else the nearest by edit distance.
pub fn closest(typed: &str) -> Option<&'static str> {
    let typed = typed.to_ascii_lowercase();
    let words: Vec<&str> = typed
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    let by_words: Vec<&'static str> = PLAYBOOKS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| {
            !words.is_empty()
                && words
                    .iter()
                    .all(|w| id.split('-').any(|p| p.starts_with(w)))
        })
        .collect();
    if by_words.len() == 1 {
        return Some(by_words[0]);
    }
    PLAYBOOKS
        .iter()
        .map(|(id, _)| (edit_distance(&typed, id), *id))
        .filter(|(d, id)| *d <= 3.max(id.len() / 4))
        .min()
        .map(|(_, id)| id)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The first heading of a playbook, for the list.
pub fn title(text: &str) -> &str {
    text.lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stories are told under "Seen in the wild" by name; a reader who never saw our
    /// incident files must not meet "incident 000" or a bare "000".
    #[test]
    fn playbooks_do_not_speak_in_incident_numbers() {
        let bare = regex::Regex::new(r"(?i)\bincident \d{3}\b|[ (]00\d[ ,.:)]").unwrap();
        for (id, text) in PLAYBOOKS {
            assert!(!bare.is_match(text), "{id}: {:?}", bare.find(text));
        }
    }

    #[test]
    fn mistyped_ids_find_their_playbook() {
        assert_eq!(closest("idle-leak"), Some("idle-connection-leak"));
        assert_eq!(closest("blocking-chian"), Some("blocking-chain"));
        assert_eq!(closest("deadlock-cylce"), Some("deadlock-cycle"));
        assert_eq!(closest("completely-different-words"), None);
    }

    #[test]
    fn every_rule_has_a_playbook_and_every_playbook_a_rule() {
        for rule in crate::rules::RULES {
            assert!(find(rule.id).is_some(), "no playbook for {}", rule.id);
        }
        for (id, text) in PLAYBOOKS {
            assert!(
                crate::rules::rule(id).is_some(),
                "playbook {id} has no rule"
            );
            for section in [
                "## Confirm",
                "## Mitigate now",
                "## Recover",
                "## Prevent",
                "## Seen in the wild",
            ] {
                assert!(text.contains(section), "{id} lacks {section}");
            }
        }
    }
}
