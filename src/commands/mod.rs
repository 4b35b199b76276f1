//! One module per command that drives the flow (target -> engine -> window -> rules ->
//! renderer): watch, stalk, check, the listing views, kill, and timeline/report, with the
//! pieces only they use (the poller, watch's sparkline history, the timeline builder and
//! its renderers).

pub mod check;
pub mod history;
pub mod kill_exec;
pub mod poller;
pub mod report_html;
pub mod stalk;
pub mod timeline;
pub mod timeline_cmd;
pub mod timeline_render;
pub mod views;
pub mod watch;
