//! `kopilot`: the command-line adapter over the Kopilot crates.
//!
//! The adapter stays thin: argument parsing, rendering and prompts. Anything
//! that decides or computes belongs in a library crate.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod analyze_cmd;
mod ask;
mod audit_cmd;
mod config_cmd;
mod demo_cmd;
mod demo_model;
mod escape;
mod history_cmd;
mod preflight;
mod safety_cmd;
mod signals;
mod skills_cmd;
mod state;

/// Kopilot: an approval-gated AI operator for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "kopilot", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask a question about your cluster; changes wait for your approval.
    Ask(ask::AskArgs),
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Ask(args) => ask::run(args),
        Command::History(args) => history_cmd::run(args),
        Command::Config(args) => config_cmd::run(&args),
        Command::Safety(args) => safety_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Skills(args) => skills_cmd::run(&args),
        Command::Analyze(args) => analyze_cmd::run(args),
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
