//! The engine-neutral model every stage after the sampler speaks: snapshots, sessions,
//! windows of snapshots, verdicts, thresholds, the blocking graph, kill's selection model
//! and the figures derived from them. It depends on nothing above it, so engines, rules,
//! renderers and commands can all use it.

pub mod blocking;
pub mod figures;
pub mod gauge;
pub mod kill;
pub mod session;
pub mod session_group;
pub mod snapshot;
pub mod tempdb;
pub mod thresholds;
pub mod verdict;
pub mod wait_class;
pub mod wait_samples;
pub mod wait_stats;
pub mod window;
