//! Shell completions and the man page, generated from the clap definition. The committed
//! copies in completions/ are checked against these by a test, so they cannot go stale.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionTarget};

pub fn render(target: CompletionTarget) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let shell = match target {
        CompletionTarget::Bash => Shell::Bash,
        CompletionTarget::Zsh => Shell::Zsh,
        CompletionTarget::Fish => Shell::Fish,
        CompletionTarget::Powershell => Shell::PowerShell,
        CompletionTarget::Elvish => Shell::Elvish,
        CompletionTarget::Man => {
            clap_mangen::Man::new(cmd).render(&mut out)?;
            return Ok(String::from_utf8(out)?);
        }
    };
    clap_complete::generate(shell, &mut cmd, "spiral", &mut out);
    Ok(String::from_utf8(out)?)
}

/// The committed file for each target, relative to the repository root.
pub fn file_name(target: CompletionTarget) -> &'static str {
    match target {
        CompletionTarget::Bash => "completions/spiral.bash",
        CompletionTarget::Zsh => "completions/_spiral",
        CompletionTarget::Fish => "completions/spiral.fish",
        CompletionTarget::Powershell => "completions/_spiral.ps1",
        CompletionTarget::Elvish => "completions/spiral.elv",
        CompletionTarget::Man => "completions/spiral.1",
    }
}
