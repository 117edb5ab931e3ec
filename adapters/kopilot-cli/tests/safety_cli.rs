//! `kopilot safety assess`, driven as a user would.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn kopilot() -> Command {
    let mut cmd = Command::cargo_bin("kopilot").unwrap();
    for var in [
        "SAFETY_MODE",
        "SAFETY_PROTECTED_NAMESPACES",
        "SAFETY_POLICY_FILE",
        "SAFETY_HARD_BLOCK",
        "SAFETY_READ_ONLY_FILTERS",
        "SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE",
        "SAFETY_FOUR_EYES",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn human_output_names_decision_risk_and_reasons() {
    kopilot()
        .args(["safety", "assess", "kubectl delete ns kube-system"])
        .assert()
        .success()
        .stdout(predicate::str::contains("BLOCK (critical risk)"))
        .stdout(predicate::str::contains(
            "protected namespace `kube-system`",
        ))
        // Piped output carries no colour codes.
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = kopilot()
        .args([
            "safety",
            "assess",
            "--json",
            "kubectl get pods -n shop | grep web; kubectl delete pod x -n shop",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["decision"], "approve");
    assert_eq!(v["risk"], "high");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("deletes"))
    );
    let commands = v["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 3);
    assert_eq!(commands[0]["program"], "kubectl");
    assert_eq!(commands[0]["verb"], "get");
    assert_eq!(commands[0]["namespaces"], serde_json::json!(["shop"]));
    assert_eq!(commands[0]["risk"], "low");
    assert_eq!(commands[2]["verb"], "delete");
}

#[test]
fn mode_and_protected_namespace_flags() {
    kopilot()
        .args([
            "safety",
            "assess",
            "--mode",
            "read-only",
            "--json",
            "kubectl scale deploy web --replicas=1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"decision\":\"block\""));
    kopilot()
        .args([
            "safety",
            "assess",
            "--protected-namespaces",
            "payments,prod",
            "--json",
            "kubectl delete pod x -n payments",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"risk\":\"critical\""));
}

#[test]
fn environment_policy_applies_and_bad_values_are_usage_errors() {
    kopilot()
        .env("SAFETY_MODE", "full-access")
        .args([
            "safety",
            "assess",
            "--json",
            "kubectl scale deploy web --replicas=1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"decision\":\"allow\""));
    kopilot()
        .env("SAFETY_PROTECTED_NAMESPACES", "kube-system")
        .args(["safety", "assess", "kubectl get pods"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SAFETY_PROTECTED_NAMESPACES"));
}

#[test]
fn usage_errors_exit_2() {
    kopilot()
        .args(["safety", "assess", "--mode", "yolo", "kubectl get pods"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("yolo"));
    kopilot().args(["safety", "assess"]).assert().code(2);
    kopilot()
        .args(["safety", "assess", "kubectl", "get", "pods"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one quoted argument"));
}

#[test]
fn batch_mode_writes_one_verdict_per_input_line_in_order() {
    let input = concat!(
        "{\"command\":\"kubectl get pods\"}\n",
        "this is not json\n",
        "{\"command\":\"rm -rf /\"}\n",
        "{\"cmd\":\"kubectl get pods\"}\n",
        "\n",
        "[1,2]\n",
        "{\"command\":\"kubectl delete pod x -n shop\"}\n",
    );
    let out = kopilot()
        .args(["safety", "assess", "--json", "-"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<&str> = lines
        .iter()
        .map(|v| v["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "allow", "block", "block", "block", "block", "block", "approve"
        ]
    );
    assert_eq!(lines[0]["command"], "kubectl get pods");
    assert!(
        lines[1]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("input line 2")
    );
    assert_eq!(lines[2]["risk"], "critical");
    assert!(
        lines[3]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("\"command\"")
    );
}

#[test]
fn batch_mode_survives_non_utf8_and_huge_lines() {
    let mut input = b"{\"command\":\"kubectl get pods\"}\n\xff\xfe\n".to_vec();
    input.extend_from_slice(
        format!(
            "{{\"command\":\"kubectl get pods {}\"}}\n",
            "a".repeat(2 * 1024 * 1024)
        )
        .as_bytes(),
    );
    input.extend_from_slice(b"{\"command\":\"kubectl top pods\"}\n");
    let out = kopilot()
        .args(["safety", "assess", "--json", "-"])
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let decisions: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(decisions, ["allow", "block", "block", "allow"]);
}

#[test]
fn plain_stdin_is_one_command_line() {
    kopilot()
        .args(["safety", "assess", "-"])
        .write_stdin("kubectl get pods\nrm -rf /\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("BLOCK (critical risk)"));
}

#[test]
fn json_output_carries_the_guards_parse_of_each_command() {
    let out = kopilot()
        .args([
            "safety",
            "assess",
            "--json",
            "kubectl get secret db -n shop -As https://10.0.0.9 -o json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let command = &v["commands"][0];
    assert_eq!(command["connection_flags"], serde_json::json!(["server"]));
    assert_eq!(command["resources"], serde_json::json!(["secrets"]));
    assert_eq!(command["names"], serde_json::json!(["db"]));
    assert_eq!(command["exposure"], "secrets");
    assert_eq!(command["all_namespaces"], true);
    assert!(
        command["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "output" && f["value"] == "json"),
        "{command}"
    );
}

#[test]
fn batch_mode_answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::{Command as Process, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    // A program that writes one line and waits for its verdict (a co-process) must get it,
    // although the output is buffered.
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("kopilot"))
        .args(["safety", "assess", "--json", "-"])
        .env_remove("SAFETY_POLICY_FILE")
        .env_remove("SAFETY_MODE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for (command, decision) in [
        ("kubectl get pods", "allow"),
        ("kubectl delete ns kube-system", "block"),
    ] {
        writeln!(stdin, "{}", serde_json::json!({ "command": command })).unwrap();
        stdin.flush().unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a verdict while the input stays open");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["decision"], decision, "{line}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
