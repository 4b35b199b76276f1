//! Missing guardrails: no statement, lock or idle timeouts.
//!
//! A missing timeout on a quiet server is only a note (info). It rises to a warning only when
//! what that timeout would have bounded is hurting now, as judged by the rule for that harm
//! (blocking-chain, client-timeout-exceeded, idle-in-transaction, idle-connection-leak), so
//! this verdict never warns about something the others call fine. (The playbook tells the
//! incident behind it.)

use super::{Context, Draft, Rule};
use crate::format::duration_ms;
use crate::model::snapshot::{Engine, Guardrails};
use crate::model::thresholds::Thresholds;
use crate::model::verdict::{Figure, Severity, Verdict};

pub const MISSING_GUARDRAILS: Rule = Rule {
    id: "missing-guardrails",
    title: "Missing timeouts",
    needs_rates: false,
    needs: &[],
    check: missing_guardrails,
};

/// One guardrail that is absent (or too long to bound anything), and what the live
/// evidence says it would have bounded right now.
struct Missing {
    setting: &'static str,
    /// "not set", or the value that is too long ("8 h").
    current: String,
    hurting: Option<Hurt>,
}

/// Something hurting now that a timeout would have bounded, as another rule judged it.
#[derive(Clone, PartialEq)]
struct Hurt {
    /// The verdict that judged it (at warning or worse).
    verdict: &'static str,
    clause: String,
}

fn names(engine: Engine) -> [&'static str; 4] {
    // statement, lock, idle in transaction, idle session
    match engine {
        Engine::Postgres => [
            "statement_timeout",
            "lock_timeout",
            "idle_in_transaction_session_timeout",
            "idle_session_timeout",
        ],
        Engine::Mysql => [
            "max_execution_time / max_statement_time",
            "innodb_lock_wait_timeout",
            "idle_transaction_timeout",
            "wait_timeout",
        ],
        Engine::Mssql => [
            "a command timeout",
            "LOCK_TIMEOUT",
            "an idle-transaction limit",
            "an idle-session limit",
        ],
    }
}

/// The verdict of another rule when it is at warning or worse: missing-guardrails rises only
/// on the same measures the rule for that very harm uses, so the two never disagree (25 old
/// idle connections that idle-connection-leak calls a quiet pool are no reason to warn here).
fn hurting(ctx: &Context, check: fn(&Context) -> Option<Verdict>) -> Option<Verdict> {
    check(ctx).filter(|v| v.severity >= Severity::Warning)
}

fn figure_of(v: &Verdict, label: &str) -> Option<u64> {
    v.evidence
        .iter()
        .find(|f| f.label == label)
        .and_then(|f| f.number)
        .map(|n| n as u64)
}

fn missing_guardrails(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let g: &Guardrails = &last.guardrails;
    let [stmt, lock, idle_tx, idle_session] = names(last.engine);
    let off = |v: Option<u64>| v == Some(0);

    let lock_hurt = hurting(ctx, super::blocking::blocking_chain).map(|_| Hurt {
        verdict: "blocking-chain",
        clause: format!(
            "sessions have waited on locks for up to {}",
            duration_ms(ctx.graph.longest_wait_ms(last))
        ),
    });
    let late_hurt = hurting(ctx, super::client_timeout::client_timeout_exceeded).map(|v| {
        let n = figure_of(&v, "requests past the timeout").unwrap_or(0);
        Hurt {
            verdict: "client-timeout-exceeded",
            clause: format!(
                "{} past the client's timeout",
                if n == 1 {
                    "1 statement runs".to_string()
                } else {
                    format!("{n} statements run")
                }
            ),
        }
    });
    // A statement timeout bounds both a slow statement and one stuck behind a lock.
    let stmt_hurt = late_hurt.or_else(|| lock_hurt.clone());
    let idle_tx_hurt = hurting(ctx, super::idle::idle_in_transaction).map(|v| {
        let n = figure_of(&v, "idle in transaction").unwrap_or(0);
        Hurt {
            verdict: "idle-in-transaction",
            clause: if n == 1 {
                "1 session sits idle in an open transaction".to_string()
            } else {
                format!("{n} sessions sit idle in open transactions")
            },
        }
    });
    let idle_hurt = super::idle::idle_leak_judgement(ctx)
        .filter(|s| *s >= Severity::Warning)
        .map(|_| Hurt {
            verdict: "idle-connection-leak",
            clause: "idle connections pile up".to_string(),
        });

    let mut missing = Vec::new();
    let not_set = || "not set".to_string();
    if off(g.statement_timeout_ms) {
        missing.push(Missing {
            setting: stmt,
            current: not_set(),
            hurting: stmt_hurt,
        });
    }
    if off(g.lock_timeout_ms) {
        missing.push(Missing {
            setting: lock,
            current: not_set(),
            hurting: lock_hurt,
        });
    }
    if off(g.idle_in_transaction_timeout_ms) {
        missing.push(Missing {
            setting: idle_tx,
            current: not_set(),
            hurting: idle_tx_hurt,
        });
    }
    // An idle-session timeout of 0 is PostgreSQL's sane default: only worth a word when idle
    // connections actually pile up (idle-connection-leak warns). MySQL's 8-hour wait_timeout
    // is what nearly every server runs and what lets sleepers pile up: always a note, a
    // warning only with the pile-up.
    let idle_limit = match g.idle_session_timeout_ms {
        Some(0) => Some(not_set()),
        Some(ms) if ms > Thresholds::ms(t.guardrail_idle_session_max) => Some(format!(
            "{} (longer than {})",
            duration_ms(ms),
            crate::format::duration_secs(t.guardrail_idle_session_max)
        )),
        _ => None,
    };
    if let Some(current) = idle_limit
        && (last.engine == Engine::Mysql || idle_hurt.is_some())
    {
        missing.push(Missing {
            setting: idle_session,
            current,
            hurting: idle_hurt,
        });
    }
    if missing.is_empty() {
        return None;
    }
    let severity = if missing.iter().any(|m| m.hurting.is_some()) {
        Severity::Warning
    } else {
        Severity::Info
    };
    let unset: Vec<String> = missing
        .iter()
        .filter(|m| m.current == "not set")
        .map(|m| m.setting.to_string())
        .collect();
    let long: Vec<String> = missing
        .iter()
        .filter(|m| m.current != "not set")
        .map(|m| format!("{} is {}", m.setting, m.current))
        .collect();
    let mut parts = Vec::new();
    if !unset.is_empty() {
        parts.push(format!(
            "No server-wide limit is set for {}",
            crate::format::list(&unset, 4)
        ));
    }
    parts.extend(long);
    // A setting name (wait_timeout) may open the sentence: it keeps its own spelling.
    let mut summary = parts.join("; ");
    // Each harm once, even when two missing limits would each have bounded it.
    let mut why: Vec<&Hurt> = Vec::new();
    for h in missing.iter().filter_map(|m| m.hurting.as_ref()) {
        if !why.contains(&h) {
            why.push(h);
        }
    }
    if why.is_empty() {
        summary.push_str(
            ": nothing bounds a stuck query or a forgotten transaction, though none is hurting right now.",
        );
    } else {
        let clauses: Vec<String> = why
            .iter()
            .map(|h| format!("{} (see {})", h.clause, h.verdict))
            .collect();
        summary.push_str(&format!(
            ". It shows now: {}; with no limit they hold their connections until someone ends them.",
            clauses.join("; ")
        ));
    }
    let mut d = Draft::new(&MISSING_GUARDRAILS, severity, summary);
    for m in &missing {
        let value = match &m.hurting {
            Some(h) => format!("{}; would bound: {}", m.current, h.clause),
            None => m.current.clone(),
        };
        d = d.figure(Figure::text(m.setting, value));
    }
    let fix = match last.engine {
        Engine::Postgres => {
            "ALTER ROLE <app> SET statement_timeout = '30s'; ALTER ROLE <app> SET lock_timeout = '10s'; ALTER ROLE <app> SET idle_in_transaction_session_timeout = '60s'; (new sessions pick them up)"
        }
        Engine::Mysql => {
            "SET GLOBAL max_execution_time = 30000 (MySQL, ms) or max_statement_time = 30 (MariaDB, s); SET GLOBAL wait_timeout = 600; MariaDB: SET GLOBAL idle_transaction_timeout = 60"
        }
        Engine::Mssql => {
            "set command timeouts in the client and SET LOCK_TIMEOUT in the sessions that can wait on locks"
        }
    };
    d.action(format!(
        "Set limits per application role, a little under the client's timeout: {fix}."
    ))
    .action(
        "Give the client pool a query timeout and a health check that looks at the pool, not \
         only at the server.",
    )
    .done()
}
