//! `kopilot version`: what this binary is and how it was built, as `key: value` lines or JSON.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

/// `kopilot --version`: the version and, when known, the commit it was built from.
pub(crate) const SHORT: &str = if env!("KOPILOT_GIT_COMMIT_SHORT").is_empty() {
    env!("CARGO_PKG_VERSION")
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("KOPILOT_GIT_COMMIT_SHORT"),
        ")"
    )
};

/// Arguments of `kopilot version`.
#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    /// Print one JSON object instead of `key: value` lines.
    #[arg(long)]
    json: bool,
}

/// The build's details. Empty strings from the build script mean "not known" and are shown as
/// `unknown` (JSON: null).
#[derive(Debug, Serialize)]
struct BuildInfo {
    version: &'static str,
    commit: Option<&'static str>,
    commit_date: Option<&'static str>,
    rustc: Option<&'static str>,
    target: Option<&'static str>,
    profile: Option<&'static str>,
}

fn known(value: &'static str) -> Option<&'static str> {
    (!value.is_empty()).then_some(value)
}

impl BuildInfo {
    fn of_this_binary() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            commit: known(env!("KOPILOT_GIT_COMMIT")),
            commit_date: known(env!("KOPILOT_GIT_COMMIT_DATE")),
            rustc: known(env!("KOPILOT_RUSTC_VERSION")),
            target: known(env!("KOPILOT_BUILD_TARGET")),
            profile: known(env!("KOPILOT_BUILD_PROFILE")),
        }
    }

    fn lines(&self) -> String {
        let rows = [
            ("version", Some(self.version)),
            ("commit", self.commit),
            ("commit date", self.commit_date),
            ("rustc", self.rustc),
            ("target", self.target),
            ("profile", self.profile),
        ];
        let mut text = String::new();
        for (key, value) in rows {
            let _ = writeln!(text, "{key}: {}", value.unwrap_or("unknown"));
        }
        text
    }
}

/// Runs `kopilot version`.
pub(crate) fn run(args: &VersionArgs) -> anyhow::Result<ExitCode> {
    let info = BuildInfo::of_this_binary();
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &info)?;
        writeln!(stdout)?;
    } else {
        stdout.write_all(info.lines().as_bytes())?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
