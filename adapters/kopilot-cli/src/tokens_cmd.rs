//! `kopilot tokens`: the bearer tokens `kopilot serve` accepts. A token is printed once, when
//! it is made (alone on standard output, so `TOKEN=$(kopilot tokens add ...)` works); the
//! file keeps only its SHA-256, with its name and role, readable by its owner only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use kopilot_server::tokens::{Role, TokenFile};

use crate::UsageError;

/// The variable naming the tokens file.
pub(crate) const TOKENS_VAR: &str = "KOPILOT_TOKENS_FILE";

/// `--tokens`, shared by `tokens`, `serve` (and later `mcp`).
#[derive(Debug, Args)]
pub(crate) struct TokensFileArg {
    /// The tokens file (default: KOPILOT_TOKENS_FILE, else tokens.json in kopilot's
    /// configuration directory, ~/.config/kopilot).
    #[arg(long = "tokens", value_name = "FILE", env = TOKENS_VAR)]
    pub(crate) path: Option<PathBuf>,
}

impl TokensFileArg {
    /// The file: the flag or variable, else `tokens.json` beside the configuration file.
    pub(crate) fn resolve(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = self.path.clone().filter(|p| !p.as_os_str().is_empty()) {
            return Ok(path);
        }
        crate::config_file::default_path()
            .and_then(|config| config.parent().map(|dir| dir.join("tokens.json")))
            .ok_or_else(|| {
                UsageError(format!(
                    "no place for the tokens file: pass --tokens FILE or set {TOKENS_VAR} (or HOME)"
                ))
                .into()
            })
    }
}

/// Manage the bearer tokens of `kopilot serve`.
#[derive(Debug, Args)]
pub(crate) struct TokensArgs {
    #[command(subcommand)]
    command: TokensCommand,
    #[command(flatten)]
    file: TokensFileArg,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Make a token and print it once (only its hash is kept).
    Add {
        /// Its name: who the server says asked, approved or cancelled.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// What it may do: viewer (read), operator (also submit and cancel its own tasks),
        /// approver (also decide approvals), admin (everything); agent (only KubeCopilot's
        /// /asyncchat and /cancel, for an operator that uses Kopilot as its engine).
        #[arg(long, value_enum, value_name = "ROLE")]
        role: RoleArg,
    },
    /// List the tokens: name, role, when made (never the tokens themselves).
    List {
        /// As JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Remove a token; a running server stops accepting it at once.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// `--role`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Viewer,
    Operator,
    Approver,
    Admin,
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Approver => Role::Approver,
            RoleArg::Admin => Role::Admin,
            RoleArg::Agent => Role::Agent,
        }
    }
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

pub(crate) fn run(args: TokensArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let path = args.file.resolve()?;
    let load = || TokenFile::load(&path).map_err(usage);
    let mut stdout = std::io::stdout().lock();
    match args.command {
        TokensCommand::Add { name, role } => {
            let mut file = load()?.unwrap_or_default();
            let token = file.add(&path, &name, role.into()).map_err(usage)?;
            file.save(&path)?;
            writeln!(stdout, "{token}")?;
            eprintln!(
                "kopilot: token `{name}` ({}) added to {}; it is shown only now",
                Role::from(role),
                path.display()
            );
        }
        TokensCommand::List { json } => {
            let file = load()?.unwrap_or_default();
            if file.tokens.is_empty() && !json {
                eprintln!("kopilot: no tokens in {}", path.display());
            }
            for entry in &file.tokens {
                let created = entry
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                if json {
                    let line = serde_json::json!({
                        "name": entry.name, "role": entry.role, "created_at": created,
                    });
                    writeln!(stdout, "{line}")?;
                } else {
                    writeln!(stdout, "{:<24} {:<9} {created}", entry.name, entry.role)?;
                }
            }
        }
        TokensCommand::Revoke { name } => {
            let Some(mut file) = load()? else {
                return Err(usage(format!("{}: no such file", path.display())));
            };
            file.revoke(&path, &name).map_err(usage)?;
            file.save(&path)?;
            eprintln!("kopilot: token `{name}` revoked in {}", path.display());
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
