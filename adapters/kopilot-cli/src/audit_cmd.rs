//! `kopilot audit verify`: checks an audit log's hash chain.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kopilot_safety::audit;

/// Work with Kopilot's tamper-evident audit log.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check that no record was changed, removed or inserted; report the first broken one.
    ///
    /// Exit status: 0 when the chain is intact, 1 when it is broken, 2 when the file cannot be
    /// read.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify { file, json } => {
            let report = audit::verify(&file).map_err(|e| crate::UsageError(e.to_string()))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                match &report.first_broken {
                    None => println!(
                        "ok: {} records, hash chain intact ({})",
                        report.records,
                        file.display()
                    ),
                    Some(broken) => println!(
                        "BROKEN ({}) at line {} of {}: {}",
                        broken.kind,
                        broken.line.unwrap_or_default(),
                        file.display(),
                        // It may quote the damaged record.
                        crate::escape::line(&broken.message)
                    ),
                }
            }
            Ok(if report.first_broken.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
