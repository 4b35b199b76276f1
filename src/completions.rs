//! Shell completions and the man page, generated from the clap definition. The committed
//! copies in completions/ are checked against these by a test, so they cannot go stale.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionTarget};

/// `command`: with `Man`, the page of one subcommand (spiral-triage(1)).
pub fn render(target: CompletionTarget, command: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    if let Some(name) = command {
        if target != CompletionTarget::Man {
            anyhow::bail!("a COMMAND goes only with `spiral completions man COMMAND`");
        }
        // Built first so that the global options are propagated to the subcommand's page.
        cmd.build();
        let sub = cmd
            .get_subcommands()
            .find(|s| s.get_name() == name)
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no command '{}' (one of: {})",
                    crate::sanitize::clean(name),
                    subcommands().join(", ")
                )
            })?;
        // clap names are &'static str without its "string" feature; one small leak in a
        // process that prints one page and exits.
        let title: &'static str = Box::leak(format!("spiral-{name}").into_boxed_str());
        let page = sub.name(title);
        clap_mangen::Man::new(page).render(&mut out)?;
        return Ok(String::from_utf8(out)?);
    }
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

/// Every subcommand's name, for the man pages.
pub fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
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
