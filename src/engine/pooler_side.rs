//! The PgBouncer console sampled beside a PostgreSQL database (`--pooler`).
//!
//! The two sides fail apart: a pooler that stops answering must not cost the engineer the
//! database's sample, and must not be mistaken for a healthy one either. So a failed
//! pooler read leaves the database's snapshot whole and records a named gap
//! (`Area::Pooler`), which the pooler rules turn into "unknown".
//!
//! After a failure the console connection is dropped and never used again, and no new one
//! is opened: a command that failed or timed out halfway leaves the connection in a state
//! nobody can trust, and reconnecting every sample to a pooler that is down or frozen is
//! the retry storm spiral must never add. So at most one query timeout is spent on a dead
//! pooler in a whole run; the later samples carry the same gap without asking.

use super::pgbouncer::PgBouncerSampler;
use crate::model::snapshot::{Area, Gap, Snapshot};

pub struct PoolerSide {
    state: State,
    /// The console's redacted URL, for the gap's reason.
    label: String,
    /// Samples asked for so far, to say when it stopped answering.
    asked: u64,
}

enum State {
    Answering(PgBouncerSampler),
    /// Given up at this sample, for this reason.
    Lost {
        at: u64,
        why: String,
    },
}

impl PoolerSide {
    pub fn new(sampler: PgBouncerSampler, label: String) -> PoolerSide {
        PoolerSide {
            state: State::Answering(sampler),
            label,
            asked: 0,
        }
    }

    /// Adds the pooler's view to the database's snapshot, or the gap that says why it is
    /// missing.
    pub async fn sample_into(&mut self, snap: &mut Snapshot) {
        self.asked += 1;
        if let State::Answering(sampler) = &mut self.state {
            match sampler.sample().await {
                Ok(at_pooler) => {
                    snap.pooler = at_pooler.pooler;
                    return;
                }
                Err(e) => {
                    // Dropped, not closed: closing sends a message to a peer that may be
                    // frozen, and the sample must not wait for it.
                    let why = format!(
                        "PgBouncer at {} stopped answering at sample {} ({})",
                        self.label,
                        self.asked,
                        super::without_source_location(&format!("{e:#}"))
                    );
                    self.state = State::Lost {
                        at: self.asked,
                        why,
                    };
                }
            }
        }
        let State::Lost { at, why } = &self.state else {
            return;
        };
        snap.gaps.push(Gap {
            area: Area::Pooler,
            reason: if *at == self.asked {
                format!("{why}; spiral does not reconnect to it during this run")
            } else {
                format!("{why}; not asked again since (spiral does not reconnect to it)")
            },
            remedy: Some(
                "check that PgBouncer runs and its admin console answers (SHOW POOLS), then run spiral again"
                    .into(),
            ),
        });
    }

    pub async fn close(self) {
        if let State::Answering(s) = self.state {
            s.close().await;
        }
    }
}
