//! `kopilot completions SHELL`: a completion script for bash, zsh or fish, written to standard
//! output from the same command definition that parses the arguments (so it never drifts).

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

const EXAMPLES: &str = "\
Examples:
  # bash: for this shell, then for every new one
  source <(kopilot completions bash)
  kopilot completions bash > ~/.local/share/bash-completion/completions/kopilot

  # zsh: a directory on $fpath (then restart the shell)
  kopilot completions zsh > \"${fpath[1]}/_kopilot\"

  # fish
  kopilot completions fish > ~/.config/fish/completions/kopilot.fish";

/// Arguments of `kopilot completions`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    shell: ShellArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

impl From<ShellArg> for Shell {
    fn from(shell: ShellArg) -> Self {
        match shell {
            ShellArg::Bash => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
        }
    }
}

/// Runs `kopilot completions`: `command` is the whole command line's definition, `bin_name`
/// the name the shell completes (`kopilot`, or `kubectl-kopilot` as a kubectl plugin).
pub(crate) fn run(
    args: &CompletionsArgs,
    mut command: clap::Command,
    bin_name: &str,
) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(Shell::from(args.shell), &mut command, bin_name, &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
