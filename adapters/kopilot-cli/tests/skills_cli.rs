//! `kopilot skills list|show|validate|schema` end to end.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

/// A fixture from the skills crate's test fixtures.
fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../kopilot-skills/tests/fixtures")
        .join(relative)
}

/// `kopilot skills ...` with SKILL_DIRS and ENABLED_SKILLS cleared.
fn skills(args: &[&str]) -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("kopilot");
    cmd.env_remove("SKILL_DIRS")
        .env_remove("ENABLED_SKILLS")
        .arg("skills")
        .args(args);
    cmd
}

const BUILTINS: [&str; 6] = [
    "administration",
    "cost_optimization",
    "monitoring",
    "networking",
    "security",
    "troubleshooting",
];

#[test]
fn list_prints_a_table_of_the_builtins() {
    let output = skills(&["list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("NAME") && header.contains("SOURCE") && header.contains("DESCRIPTION"),
        "{header}"
    );
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(names, BUILTINS);
    assert!(text.contains("builtin"));
}

#[test]
fn list_json_has_skills_overrides_and_diagnostics() {
    let output = skills(&["list", "--json"])
        .env("SKILL_DIRS", fixture("override"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).expect("JSON");
    let names: Vec<&str> = json["skills"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "administration",
            "cost_optimization",
            "gitops",
            "monitoring",
            "networking",
            "security",
            "troubleshooting"
        ]
    );
    let security = json["skills"]
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["name"] == "security")
        .expect("security");
    assert!(
        security["origin"]
            .as_str()
            .expect("origin")
            .ends_with("override/security.yaml")
    );
    assert!(
        security["content_hash"]
            .as_str()
            .expect("hash")
            .starts_with("sha256:")
    );
    assert_eq!(json["overrides"][0]["name"], "security");
    assert_eq!(json["overrides"][0]["replaced"], "builtin");
    assert_eq!(json["diagnostics"], serde_json::json!([]));
}

#[test]
fn list_honours_enabled_skills_and_all_shows_inactive() {
    skills(&["list"])
        .env("ENABLED_SKILLS", r#"["security","networking"]"#)
        .assert()
        .success()
        .stdout(predicate::str::contains("security").and(predicate::str::contains("networking")))
        .stdout(predicate::str::contains("monitoring").not());
    skills(&["list", "--all"])
        .env("ENABLED_SKILLS", r#"["security"]"#)
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"monitoring\s+inactive").expect("regex"))
        .stdout(predicate::str::is_match(r"security\s+active").expect("regex"));
}

#[test]
fn list_reports_overrides_and_bad_files_on_stderr() {
    let dirs = std::env::join_paths([fixture("override"), fixture("mixed")]).expect("join");
    skills(&["list"])
        .env("SKILL_DIRS", dirs)
        .assert()
        .success()
        .stdout(predicate::str::contains("gitops"))
        .stderr(predicate::str::contains("note: skill security from"))
        .stderr(predicate::str::contains("overrides the one from builtin"))
        .stderr(predicate::str::contains(
            "mixed/broken.yaml:6:8: error: unclosed bracket",
        ));
}

#[test]
fn bad_enabled_skills_is_a_usage_error_naming_the_variable() {
    skills(&["list"])
        .env("ENABLED_SKILLS", "security")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "environment variable ENABLED_SKILLS: expected a JSON list",
        ));
    skills(&["list"])
        .env("ENABLED_SKILLS", r#"["security","finops"]"#)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names unknown skill(s): finops"));
}

#[test]
fn show_prints_the_whole_skill() {
    skills(&["show", "troubleshooting"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Troubleshooting (troubleshooting)\n",
        ))
        .stdout(predicate::str::contains("Source:      builtin"))
        .stdout(predicate::str::contains("Analyzers:   health.crashloop"))
        .stdout(predicate::str::contains(
            "\nSystem prompt\n-------------\nYou are Kopilot's troubleshooting specialist",
        ))
        .stdout(predicate::str::contains(
            "\nDocumentation\n-------------\nFirst reads",
        ));
}

#[test]
fn show_json_and_override_from_skill_dirs() {
    let output = skills(&["show", "security", "--json"])
        .env("SKILL_DIRS", fixture("override"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).expect("JSON");
    assert_eq!(json["display_name"], "Security (ACME policy)");
    assert_eq!(json["max_steps"], 6);
    assert_eq!(json["active"], true);
}

#[test]
fn show_unknown_skill_exits_2_and_lists_known_names() {
    skills(&["show", "finops"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "unknown skill \"finops\"; known skills: administration, cost_optimization, monitoring",
        ));
}

#[test]
fn validate_accepts_valid_files_and_directories() {
    let skills_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kopilot-skills/skills");
    skills(&["validate"])
        .arg(&skills_dir)
        .arg(fixture("override/gitops.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: ").count(7))
        .stdout(predicate::str::contains(
            "7 file(s) checked: 7 valid, 0 invalid",
        ));
}

#[test]
fn validate_reports_each_problem_with_file_line_column_and_exits_1() {
    let bad_quote = fixture("invalid/unterminated_quote.yaml");
    let unknown_field = fixture("invalid/unknown_field.yaml");
    skills(&["validate"])
        .arg(&bad_quote)
        .arg(&unknown_field)
        .arg(fixture("override/gitops.yaml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "{}:3:14: error: unclosed quote",
            bad_quote.display()
        )))
        .stdout(predicate::str::contains(format!(
            "{}:6:1: error: unknown field `max_step`",
            unknown_field.display()
        )))
        .stdout(predicate::str::contains(
            "3 file(s) checked: 1 valid, 2 invalid",
        ));
}

#[test]
fn validate_directory_finds_duplicates_and_bad_files() {
    skills(&["validate"])
        .arg(fixture("duplicate"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "second.yaml: error: duplicate skill name \"capacity\"",
        ))
        .stdout(predicate::str::contains("1 valid, 1 invalid"));
    skills(&["validate"])
        .arg(fixture("mixed"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "broken.yaml:6:8: error: unclosed bracket",
        ))
        .stdout(predicate::str::contains("ok: ").count(1));
}

#[test]
fn validate_missing_path_and_warning_only_file() {
    skills(&["validate", "/nonexistent/skill.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "/nonexistent/skill.yaml: error: cannot read",
        ));
    skills(&["validate"])
        .arg(fixture("unknown_tool.yaml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "warning: skill \"typo_tool\": tool \"run_kubctl\"",
        ));
}

#[test]
fn validate_needs_a_path() {
    skills(&["validate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PATH"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kopilot-skills/skill.schema.json"),
    )
    .expect("committed schema");
    skills(&["schema"]).assert().success().stdout(committed);
}

#[test]
fn help_teaches_with_examples() {
    skills(&["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SKILL_DIRS"))
        .stdout(predicate::str::contains("ENABLED_SKILLS"))
        .stdout(predicate::str::contains(
            "kopilot skills validate ./my-skills",
        ));
    skills(&["validate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("FILE:LINE:COLUMN"));
}
