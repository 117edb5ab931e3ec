//! `kopilot`: the command-line adapter over the Kopilot crates.
//!
//! The adapter stays thin: argument parsing, rendering and prompts. Anything
//! that decides or computes belongs in a library crate.

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod analyze_cmd;
mod ask;
mod audit_cmd;
mod chat_cmd;
mod completions_cmd;
mod config_cmd;
mod config_file;
mod demo_cmd;
mod demo_model;
mod escape;
mod explain;
mod history_cmd;
mod lines;
mod mcp_cmd;
mod preflight;
mod safety_cmd;
mod serve_cmd;
mod settings;
mod signals;
mod skills_cmd;
mod state;
mod tokens_cmd;
mod version_cmd;

// The build script's commit lookup, compiled here for its unit tests.
#[cfg(test)]
#[path = "../build/git_commit.rs"]
mod git_commit;

/// Kopilot: an approval-gated AI operator for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "kopilot", version = version_cmd::SHORT, propagate_version = true)]
struct Cli {
    /// The configuration file (default: KOPILOT_CONFIG, else
    /// $XDG_CONFIG_HOME/kopilot/config.yaml, else ~/.config/kopilot/config.yaml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask a question about your cluster; changes wait for your approval.
    Ask(ask::AskArgs),
    /// A conversation: questions one after another in one session, with the same approvals
    /// as `ask` (also `kopilot ask` with no question on a terminal).
    Chat(chat_cmd::ChatArgs),
    /// Serve Kopilot over HTTP: tasks, live events, approvals decided by another person.
    Serve(serve_cmd::ServeArgs),
    /// Serve Kopilot to MCP clients over stdio: its tools and whole tasks, approvals asked
    /// of the person at the client.
    Mcp(mcp_cmd::McpArgs),
    /// Make, list and revoke the bearer tokens `kopilot serve` accepts.
    Tokens(tokens_cmd::TokensArgs),
    /// List past tasks, or replay one.
    History(history_cmd::HistoryArgs),
    /// Show the effective configuration and where each value came from.
    Config(config_cmd::ConfigArgs),
    /// Ask the safety guard about a command line.
    Safety(safety_cmd::SafetyArgs),
    /// Verify the audit log.
    Audit(audit_cmd::AuditArgs),
    /// Run the bundled demo cluster (a fake Kubernetes API server) for kubectl and kopilot,
    /// or a scripted model for tests.
    Demo(demo_cmd::DemoArgs),
    /// List, show and validate skills (the YAML definitions of the specialist sub-agents).
    Skills(skills_cmd::SkillsArgs),
    /// Find wasted spend and what is broken, with evidence and fix commands (no model needed).
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Print a completion script for bash, zsh or fish.
    Completions(completions_cmd::CompletionsArgs),
    /// Show this binary's version and build details (commit, compiler, target, profile).
    Version(version_cmd::VersionArgs),
}

/// The name kubectl looks for on PATH to run `kubectl kopilot ...` (a copy or link of this
/// binary).
const KUBECTL_PLUGIN: &str = "kubectl-kopilot";

/// Whether this process was started under the kubectl plugin name.
fn invoked_as_kubectl_plugin() -> bool {
    std::env::args_os().next().is_some_and(|arg0| {
        std::path::Path::new(&arg0)
            .file_name()
            .is_some_and(|name| name == KUBECTL_PLUGIN)
    })
}

/// The command line's definition, named as the user typed it: `kubectl kopilot` in help and
/// usage when run as a kubectl plugin.
fn command_definition() -> clap::Command {
    let command = Cli::command();
    if invoked_as_kubectl_plugin() {
        command.bin_name("kubectl kopilot")
    } else {
        command
    }
}

/// Parses the command line (exits with clap's message and status 2 on a usage error).
fn parse() -> Cli {
    let matches = command_definition().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    settings::init(cli.config);
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Ask(args) => ask::run(args),
        Command::Chat(args) => chat_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Mcp(args) => mcp_cmd::run(args),
        Command::Tokens(args) => tokens_cmd::run(args),
        Command::History(args) => history_cmd::run(args),
        Command::Config(args) => config_cmd::run(&args),
        Command::Safety(args) => safety_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Skills(args) => skills_cmd::run(&args),
        Command::Analyze(args) => analyze_cmd::run(args),
        Command::Completions(args) => {
            let bin_name = if invoked_as_kubectl_plugin() {
                KUBECTL_PLUGIN
            } else {
                "kopilot"
            };
            completions_cmd::run(&args, Cli::command(), bin_name)
        }
        Command::Version(args) => version_cmd::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // Errors can quote the cluster, a model server or a file.
            eprintln!("kopilot: error: {}", escape::multiline(&format!("{err:#}")));
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The reader of our output went away (`kopilot history | head`): not an error of ours.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// A usage or configuration error: reported with exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
