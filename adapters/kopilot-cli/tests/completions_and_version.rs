//! `kopilot completions SHELL` writes a script each shell accepts, naming the subcommands;
//! `kopilot version` and `--version` say what was built, in lines that pipe well or as JSON.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

fn kopilot(args: &[&str]) -> std::process::Output {
    Command::new(cargo_bin("kopilot"))
        .args(args)
        .output()
        .expect("kopilot runs")
}

#[track_caller]
fn stdout_of(args: &[&str]) -> String {
    let out = kopilot(args);
    assert!(
        out.status.success(),
        "kopilot {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

const SUBCOMMANDS: [&str; 7] = [
    "ask",
    "chat",
    "analyze",
    "config",
    "history",
    "completions",
    "version",
];

#[test]
fn completions_are_written_for_bash_zsh_and_fish_naming_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.len() > 500, "{shell}: too short:\n{script}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no `{sub}` in\n{script}");
        }
        // The flags of a subcommand are completed too.
        assert!(script.contains("kubeconfig"), "{shell}: no ask flags");
    }
    assert!(stdout_of(&["completions", "zsh"]).starts_with("#compdef kopilot"));
    assert!(stdout_of(&["completions", "fish"]).contains("complete -c kopilot"));
}

#[test]
fn the_bash_script_is_valid_bash() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kopilot.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "bash -n rejects the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it registers a completion for `kopilot`.
    let registered = Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p kopilot", path.display()))
        .output()
        .expect("bash runs");
    assert!(
        String::from_utf8_lossy(&registered.stdout).contains("kopilot"),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error_listing_the_shells() {
    let out = kopilot(&["completions", "powershell"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for shell in ["bash", "zsh", "fish"] {
        assert!(stderr.contains(shell), "{stderr}");
    }
}

#[test]
fn version_prints_key_value_lines_with_the_build_details() {
    let text = stdout_of(&["version"]);
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|line| {
            line.split_once(": ")
                .unwrap_or_else(|| panic!("not key: value: {line}"))
        })
        .collect();
    let keys: Vec<&str> = lines.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "version",
            "commit",
            "commit date",
            "rustc",
            "target",
            "profile"
        ]
    );
    let value = |key: &str| lines.iter().find(|(k, _)| *k == key).unwrap().1;
    assert_eq!(value("version"), env!("CARGO_PKG_VERSION"));
    assert!(value("rustc").starts_with("rustc 1."), "{text}");
    assert!(value("target").contains('-'), "{text}");
    assert!(["debug", "release"].contains(&value("profile")), "{text}");
    // These tests run from a git checkout: the commit is the checked-out one.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(head) = head {
        assert_eq!(value("commit"), head, "{text}");
    }
}

#[test]
fn version_json_and_dash_dash_version_agree() {
    let json: Value = serde_json::from_str(&stdout_of(&["version", "--json"])).expect("JSON");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    for key in ["commit", "commit_date", "rustc", "target", "profile"] {
        assert!(json.get(key).is_some(), "no {key}: {json}");
    }
    let flag = stdout_of(&["--version"]);
    assert!(
        flag.starts_with(&format!("kopilot {}", env!("CARGO_PKG_VERSION"))),
        "{flag}"
    );
    if let Some(commit) = json["commit"].as_str() {
        assert!(flag.contains(&commit[..12]), "{flag} lacks the commit");
    }
    // Every subcommand takes --version too (clap names it `kopilot-ask`).
    let version = flag.trim_start_matches("kopilot ");
    assert_eq!(
        stdout_of(&["ask", "--version"]),
        format!("kopilot-ask {version}")
    );
}
