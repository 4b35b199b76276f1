//! Missing guardrails: no statement, lock or idle timeouts.
//!
//! Incident 004 is the story: deadlocked queries held pool slots for seven hours because
//! nothing ever timed them out. A missing timeout on a quiet server is only a note (info);
//! when the live evidence shows the very thing the timeout would have stopped, it rises.

use super::{Context, Draft, Rule};
use crate::format::duration_ms;
use crate::session::SessionState;
use crate::snapshot::{Engine, Guardrails};
use crate::thresholds::Thresholds;
use crate::verdict::{Figure, Severity, Verdict};

pub const MISSING_GUARDRAILS: Rule = Rule {
    id: "missing-guardrails",
    title: "Missing timeouts",
    needs_rates: false,
    needs: &[],
    check: missing_guardrails,
};

/// One guardrail that is absent, and whether the evidence shows it hurting right now.
struct Missing {
    setting: &'static str,
    hurting: Option<String>,
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

fn missing_guardrails(ctx: &Context) -> Option<Verdict> {
    let t = ctx.thresholds;
    let last = ctx.last();
    let g: &Guardrails = &last.guardrails;
    let [stmt, lock, idle_tx, idle_session] = names(last.engine);
    let off = |v: Option<u64>| v == Some(0);

    let warn_ms = Thresholds::ms(t.blocked_warning_wait);
    let longest_lock_wait = last
        .client_sessions()
        .filter(|s| s.is_blocked())
        .filter_map(|s| s.wait_ms)
        .max()
        .unwrap_or(0);
    let lock_hurt = (longest_lock_wait >= warn_ms).then(|| {
        format!(
            "sessions have waited on locks for up to {}",
            duration_ms(longest_lock_wait)
        )
    });
    let over_client = last
        .client_sessions()
        .filter(|s| {
            s.state == SessionState::Active
                && s.elapsed_ms.unwrap_or(0) > Thresholds::ms(t.client_timeout)
        })
        .count();
    let stmt_hurt = lock_hurt.clone().or_else(|| {
        (over_client > 0).then(|| format!("{over_client} statements run past the client timeout"))
    });
    let idle_tx_n = last
        .client_sessions()
        .filter(|s| {
            s.state == SessionState::IdleInTransaction
                && s.idle_ms.unwrap_or(0) >= Thresholds::ms(t.idle_in_transaction_over)
        })
        .count();
    let idle_tx_hurt =
        (idle_tx_n > 0).then(|| format!("{idle_tx_n} sessions sit idle in open transactions"));
    let old_idle = last
        .client_sessions()
        .filter(|s| s.is_idle() && s.idle_ms.unwrap_or(0) >= Thresholds::ms(t.idle_over))
        .count();
    let idle_hurt = (old_idle as f64 >= t.idle_leak_min_sessions)
        .then(|| format!("{old_idle} connections have been idle longer than --idle-over"));

    let mut missing = Vec::new();
    if off(g.statement_timeout_ms) {
        missing.push(Missing {
            setting: stmt,
            hurting: stmt_hurt,
        });
    }
    if off(g.lock_timeout_ms) {
        missing.push(Missing {
            setting: lock,
            hurting: lock_hurt,
        });
    }
    if off(g.idle_in_transaction_timeout_ms) {
        missing.push(Missing {
            setting: idle_tx,
            hurting: idle_tx_hurt,
        });
    }
    let idle_limit_missing = match g.idle_session_timeout_ms {
        Some(0) => true,
        Some(ms) => ms > Thresholds::ms(t.guardrail_idle_session_max),
        None => false,
    };
    // An idle-session timeout of 0 is PostgreSQL's sane default; only call it missing when
    // idle connections actually pile up. MySQL's 8-hour wait_timeout is always worth a note.
    let idle_counts = last.engine == Engine::Mysql || idle_hurt.is_some();
    if idle_limit_missing && idle_counts {
        missing.push(Missing {
            setting: idle_session,
            hurting: idle_hurt,
        });
    }
    if missing.is_empty() {
        return None;
    }
    let hurting: Vec<&Missing> = missing.iter().filter(|m| m.hurting.is_some()).collect();
    let severity = if hurting.is_empty() {
        Severity::Info
    } else {
        Severity::Warning
    };
    let settings: Vec<String> = missing.iter().map(|m| m.setting.to_string()).collect();
    let mut summary = format!(
        "No server-wide limit is set for {}",
        crate::format::list(&settings, 4)
    );
    if let Some(ms) = g
        .idle_session_timeout_ms
        .filter(|&ms| ms > 0 && idle_limit_missing)
    {
        summary.push_str(&format!(" ({idle_session} is {})", duration_ms(ms)));
    }
    if hurting.is_empty() {
        summary.push_str(
            ": nothing bounds a stuck query or a forgotten connection (none is hurting right now).",
        );
    } else {
        let why: Vec<String> = hurting.iter().filter_map(|m| m.hurting.clone()).collect();
        summary.push_str(&format!(
            ", and it shows: {}; with no timeout they hold their connections indefinitely (incident 004: pool slots held for hours).",
            why.join("; ")
        ));
    }
    let mut d = Draft::new(&MISSING_GUARDRAILS, severity, summary);
    for m in &missing {
        d = d.figure(Figure::text(
            m.setting,
            m.hurting.clone().unwrap_or_else(|| "not set".into()),
        ));
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
        "Give the client pool a query timeout and a health check that looks at the pool \
         (incident 004's health check never did).",
    )
    .done()
}
