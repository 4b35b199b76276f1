//! spiral: diagnoses database death spirals for the engineer on call.
//!
//! Data flows one way: target -> engine sampler -> `Snapshot` -> `Window` -> rules ->
//! verdicts -> renderer. Each stage lives in its own module and knows only the one before.

pub mod actions;
pub mod app;
pub mod capture;
pub mod cli;
pub mod commands;
pub mod completions;
pub mod config;
pub mod credentials;
pub mod engine;
pub mod format;
pub mod model;
pub mod platform;
pub mod playbooks;
pub mod queries;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod signals;
pub mod source;
pub mod target;
