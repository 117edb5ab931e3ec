//! `kopilot`: the command-line adapter over the Kopilot crates.
//!
//! The adapter stays thin: argument parsing, rendering and prompts. Anything
//! that decides or computes belongs in a library crate.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod analyze_cmd;
mod audit_cmd;
mod demo_cmd;
mod safety_cmd;
mod skills_cmd;

/// Kopilot: an approval-gated AI operator for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "kopilot", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask the safety guard about a command line.
    Safety(safety_cmd::SafetyArgs),
    /// Verify the audit log.
    Audit(audit_cmd::AuditArgs),
    /// Run the bundled demo cluster (a fake Kubernetes API server) for kubectl and kopilot.
    Demo(demo_cmd::DemoArgs),
    /// List, show and validate skills (the YAML definitions of the specialist sub-agents).
    Skills(skills_cmd::SkillsArgs),
    /// Find wasted spend and what is broken, with evidence and fix commands (no model needed).
    Analyze(analyze_cmd::AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Safety(args) => safety_cmd::run(args),
        Command::Audit(args) => audit_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Skills(args) => skills_cmd::run(&args),
        Command::Analyze(args) => analyze_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kopilot: error: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
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
