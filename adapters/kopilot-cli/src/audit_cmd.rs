//! `kopilot audit verify`: checks an audit log's keyed chain and its anchor.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use kopilot_safety::audit::{FileAnchorStore, Finding, Verifier, VerifyReport};

/// Work with Kopilot's tamper-evident audit log.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

/// What `kopilot audit verify --help` adds after the options.
const VERIFY_HELP: &str = "\
What is checked:
  - every record's MAC (HMAC-SHA256 with the key file): a record changed after it was
    written is found (edited);
  - the seq numbers and prev_hash links: records removed, inserted or reordered are found
    (removed_or_inserted);
  - the anchor (record count and last record hash, MACed with the key) kept outside the
    log: records cut from the end (truncated_tail), or a log replaced by another one
    (rewritten), are found.

What is not, and cannot be from these files alone:
  - someone who holds the key can rewrite the log and the anchor consistently: keep the
    key readable by kopilot's user only (it must be mode 0600), and the anchor where the
    log's writers cannot rewrite it;
  - an old anchor restored together with the log cut back to the same point looks intact;
  - records written before the log was keyed (older kopilot) are only hash-chained: a
    rewrite of them with recomputed hashes is not detectable (reported as unkeyed_prefix);
  - deleting the log together with its anchor starts a new, valid log (an anchor kept
    where the log's writers cannot delete it prevents that).

Kinds of break: not_json, edited, mac_missing, removed_or_inserted, truncated_tail,
rewritten, anchor_invalid, anchor_stale, anchor_missing, key_missing.
Notes, not breaks: unkeyed_prefix, anchor_behind, incomplete_last_line.

Exit status: 0 intact, 1 broken (the first bad record and the kind of break are named),
2 a file cannot be read (the log is missing, the key file is unreadable, not a key, or
readable by others).

Examples:
  kopilot audit verify ~/.local/share/kopilot/audit.jsonl
  kopilot audit verify audit.jsonl --key /etc/kopilot/audit.key --anchor /srv/audit.anchor
  kopilot audit verify audit.jsonl --json | jq .first_broken.kind";

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check an audit log: report the first bad record and what kind of break it is.
    #[command(after_long_help = VERIFY_HELP)]
    Verify {
        /// The audit log (JSON Lines), e.g. ~/.local/share/kopilot/audit.jsonl.
        file: PathBuf,
        /// The key file [default: beside the log: audit.jsonl -> audit.key].
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// The anchor file [default: beside the log: audit.jsonl -> audit.anchor].
        #[arg(long, value_name = "FILE")]
        anchor: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AuditCommand::Verify {
            file,
            key,
            anchor,
            json,
        } => {
            let mut verifier = Verifier::new(&file);
            if let Some(key) = key {
                verifier = verifier.key_file(key);
            }
            if let Some(anchor) = anchor {
                verifier = verifier.anchor(Arc::new(FileAnchorStore::new(anchor)));
            }
            let report = verifier
                .verify()
                .map_err(|e| crate::UsageError(e.to_string()))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_report(&report, &file.display().to_string());
            }
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn print_report(report: &VerifyReport, file: &str) {
    match &report.first_broken {
        None if report.anchored => println!(
            "ok: {} records in {file}: every MAC and link checks out and the anchor matches",
            report.records
        ),
        None => println!(
            "ok: {} records in {file}: the hash chain is intact (not keyed yet)",
            report.records
        ),
        Some(broken) => println!(
            "BROKEN ({}){}: {}",
            broken.kind,
            place(broken, file),
            crate::escape::line(&broken.message)
        ),
    }
    for note in &report.notes {
        println!(
            "note ({}): {}",
            note.kind,
            crate::escape::line(&note.message)
        );
    }
}

/// ` at line 3 (seq 3) of FILE`, or ` in FILE` when the finding is not about one record.
fn place(finding: &Finding, file: &str) -> String {
    match (finding.line, finding.seq) {
        (Some(line), Some(seq)) => format!(" at line {line} (seq {seq}) of {file}"),
        (Some(line), None) => format!(" at line {line} of {file}"),
        (None, _) => format!(" in {file}"),
    }
}
