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
];

pub fn find(id: &str) -> Option<&'static str> {
    PLAYBOOKS
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, text)| *text)
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
            for section in ["## Confirm", "## Mitigate now", "## Recover", "## Prevent"] {
                assert!(text.contains(section), "{id} lacks {section}");
            }
        }
    }
}
