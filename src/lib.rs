//! spiral: diagnoses database death spirals for the engineer on call.
//!
//! Data flows one way: target -> engine sampler -> `Snapshot` -> `Window` -> rules ->
//! verdicts -> renderer. Each stage lives in its own module and knows only the one before.

pub mod actions;
pub mod app;
pub mod blocking;
pub mod capture;
pub mod check;
pub mod cli;
pub mod completions;
pub mod config;
pub mod credentials;
pub mod engine;
pub mod format;
pub mod gauge;
pub mod history;
pub mod kill;
pub mod kill_exec;
pub mod platform;
pub mod playbooks;
pub mod poller;
pub mod queries;
pub mod redact;
pub mod render;
pub mod report;
pub mod report_html;
pub mod rules;
pub mod sanitize;
pub mod session;
pub mod signals;
pub mod snapshot;
pub mod source;
pub mod stalk;
pub mod target;
pub mod thresholds;
pub mod timeline;
pub mod timeline_cmd;
pub mod timeline_render;
pub mod verdict;
pub mod views;
pub mod wait_stats;
pub mod watch;
pub mod window;
