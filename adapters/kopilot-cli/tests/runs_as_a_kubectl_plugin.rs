//! Linked as `kubectl-kopilot` on PATH, the binary is a kubectl plugin: `kubectl kopilot ...`
//! runs it, and its help names the command as the user typed it.

#[path = "support/needs.rs"]
mod needs;

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;

/// A directory holding `kubectl-kopilot`, a symbolic link to the built binary.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(cargo_bin("kopilot"), dir.path().join("kubectl-kopilot"))
        .expect("symlink");
    dir
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_owned()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

#[test]
fn help_names_the_plugin_as_kubectl_kopilot() {
    let dir = plugin_dir();
    let out = Command::new(dir.path().join("kubectl-kopilot"))
        .args(["ask", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    assert!(help.contains("Usage: kubectl kopilot ask"), "{help}");
    // A usage error names it the same way.
    let out = Command::new(dir.path().join("kubectl-kopilot"))
        .arg("no-such-command")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kubectl kopilot"), "{stderr}");
    // Under its own name it is still `kopilot`.
    let out = Command::new(cargo_bin("kopilot"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: kopilot "), "{help}");
}

#[test]
#[ignore = "needs kubectl"]
fn kubectl_runs_it_as_a_plugin() {
    needs::require_kubectl();
    let dir = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let path = path_with(dir.path());
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("HOME", home.path())
            .env_remove("KUBECONFIG")
            .output()
            .expect("kubectl runs")
    };
    let listed = kubectl(&["plugin", "list"]);
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed_text.contains("kubectl-kopilot"), "{listed_text}");

    let out = kubectl(&["kopilot", "version"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("version: {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    let out = kubectl(&["kopilot", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Usage: kubectl kopilot [OPTIONS] <COMMAND>"),
        "{help}"
    );
}
