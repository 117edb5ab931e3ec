//! Nothing the model, a tool or the cluster wrote controls the terminal: escape sequences,
//! carriage returns, BEL and bidirectional overrides are shown as visible escapes (`\x1b`,
//! `\r`, `\u{202e}`) by `kopilot ask` (spinner, tool lines, approval prompt, streamed
//! answer), `kopilot history`, `kopilot safety assess` and `kopilot analyze`, while JSON
//! output keeps the exact text.

mod support;

use std::time::Duration;

use kopilot_core::EventKind;
use kopilot_fake::FakeCluster;
use serde_json::{Value, json};
use support::pty::run_all_on_pty;
use support::{EventsExt, Reply, SUPERVISOR_MARKER, Scenario, Script, skill_marker};

const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A pod name that conceals what follows it, returns to the start of the line and overwrites it.
const HIDING_NAME: &str = "web\x1b[8m\rapi";
/// A word that reads right to left.
const REVERSED: &str = "\u{202e}x";
/// An answer that retitles the terminal window and clears the screen.
const HOSTILE_ANSWER: &str = "Done.\x1b]0;pwned\x07 Now \x1b[2J cleared\n\n```\n\x1b[2J\n```\n";

/// What must never reach the terminal raw, with what it is.
const RAW: [(&str, &str); 5] = [
    ("\x1b]0;pwned", "the OSC title sequence"),
    ("\x1b[2J", "the clear-screen sequence"),
    ("\x1b[8m", "the conceal sequence"),
    ("\u{202e}", "a right-to-left override"),
    ("\x07", "a BEL"),
];

#[track_caller]
fn assert_nothing_raw(place: &str, text: &str) {
    for (raw, what) in RAW {
        assert!(!text.contains(raw), "{place} holds {what} raw:\n{text:?}");
    }
    assert!(
        !text.contains("\rapi"),
        "{place} holds the CR raw:\n{text:?}"
    );
}

/// The troubleshooting skill deletes a pod whose name hides things, writing hostile text before
/// and after.
fn hostile_skill() -> Scenario {
    Scenario::new()
        .with_cluster(FakeCluster::builder())
        .with_stub(
            Script::new()
                .route("supervisor", SUPERVISOR_MARKER, [])
                .route(
                    "troubleshooting",
                    &skill_marker("troubleshooting"),
                    [
                        Reply::tool_call(
                            "run_kubectl",
                            json!({"args": ["delete", "pod", HIDING_NAME, REVERSED, "-n", "shop"]}),
                        )
                        .with_text("Deleting \x1b]0;pwned\x07 it.\n"),
                        Reply::text(HOSTILE_ANSWER),
                    ],
                ),
        )
}

const ASK: &str = "Delete the broken pod in shop \x1b]0;pwned\x07";

/// `kopilot ask` in text mode on a terminal (standard output too), answering `n`; the screen.
fn ask_on_a_terminal(scenario: &Scenario) -> String {
    let ask = scenario.ask(&["--skill", "troubleshooting", ASK]);
    let run = run_all_on_pty(&ask, &["n"], RUN_LIMIT);
    run.outcome.expect_code(3);
    assert_eq!(run.prompts, 1, "one y/N prompt expected:\n{}", run.screen);
    assert_nothing_raw("the terminal", &run.screen);
    for shown in [
        // The approval prompt's command, and its argv one word per line.
        r"kubectl delete pod 'web\x1b[8m\rapi' '\u{202e}x' -n shop",
        "  argv:\r\n",
        "    [0] kubectl\r\n",
        r"    [3] web\x1b[8m\rapi",
        r"    [4] \u{202e}x",
        // The text streamed before the tool call, and the answer.
        r"Deleting \x1b]0;pwned\x07 it.",
        r"Done.\x1b]0;pwned\x07 Now \x1b[2J cleared",
    ] {
        assert!(
            run.screen.contains(shown),
            "the terminal lacks {shown:?}:\n{}",
            run.screen
        );
    }
    run.screen
}

#[test]
#[ignore = "needs kubectl"]
fn ask_on_a_terminal_shows_the_models_control_characters_escaped() {
    support::require_kubectl();
    let screen = ask_on_a_terminal(&hostile_skill());
    // The code block is styled by kopilot (cyan) around the escaped text.
    assert!(
        screen.contains("\x1b[36m\\x1b[2J\x1b[39m"),
        "the fenced line is not escaped and styled by kopilot:\n{screen:?}"
    );
}

#[test]
#[ignore = "needs kubectl"]
fn ask_on_a_terminal_without_colours_streams_the_answer_escaped_too() {
    support::require_kubectl();
    let screen = ask_on_a_terminal(&hostile_skill().env("NO_COLOR", "1"));
    assert!(
        screen.contains("```\r\n\\x1b[2J\r\n```"),
        "the fenced line is not escaped as written:\n{screen:?}"
    );
}

#[test]
#[ignore = "needs kubectl"]
fn history_replays_stored_control_characters_escaped_and_json_keeps_them_exact() {
    support::require_kubectl();
    let scenario = hostile_skill();
    let out = scenario
        .ask(&["--skill", "troubleshooting", "--output", "json", ASK])
        .run(RUN_LIMIT);
    out.expect_code(3);
    // JSON Lines keep the model's text exactly (serde_json escapes control characters).
    let events = out.events();
    assert!(
        events.iter().any(|e| matches!(&e.event,
            EventKind::ToolCall { args, .. } if args["args"][2] == HIDING_NAME && args["args"][3] == REVERSED)),
        "{}",
        events.json_lines()
    );
    assert!(
        out.stdout
            .lines()
            .all(|l| !l.contains(['\x1b', '\r', '\x07']))
    );
    assert_eq!(events.result().answer, HOSTILE_ANSWER);
    let task_id = events[0].task_id.clone();

    let listed = scenario.kopilot(&["history"]).run(RUN_LIMIT);
    listed.expect_code(0);
    assert_nothing_raw("history", &listed.stdout);
    assert!(
        listed.stdout.contains(r"shop \x1b]0;pwned\x07"),
        "{}",
        listed.stdout
    );
    let tasks: Value = serde_json::from_str(
        &scenario
            .kopilot(&["history", "--json"])
            .run(RUN_LIMIT)
            .stdout,
    )
    .expect("history --json is JSON");
    assert_eq!(tasks[0]["prompt"], ASK);

    let replay = scenario
        .kopilot(&["history", "show", &task_id])
        .run(RUN_LIMIT);
    replay.expect_code(0);
    for (stream, text) in [("stdout", &replay.stdout), ("stderr", &replay.stderr)] {
        assert_nothing_raw(&format!("history show's {stream}"), text);
        assert!(
            !text.contains('\x1b'),
            "piped, so no colours either:\n{text:?}"
        );
    }
    for (stream, text, shown) in [
        (
            "stderr",
            &replay.stderr,
            r"> Delete the broken pod in shop \x1b]0;pwned\x07",
        ),
        ("stderr", &replay.stderr, r"'web\x1b[8m\rapi' '\u{202e}x'"),
        (
            "stdout",
            &replay.stdout,
            r"Done.\x1b]0;pwned\x07 Now \x1b[2J cleared",
        ),
        ("stdout", &replay.stdout, "```\n\\x1b[2J\n```\n"),
    ] {
        assert!(
            text.contains(shown),
            "history show's {stream} lacks {shown:?}:\n{text}"
        );
    }
}

#[test]
fn safety_assess_quotes_the_command_escaped() {
    let scenario = Scenario::new();
    let line = "kubectl delete pod web\x1b[2J \u{202e}x -n shop\r";
    let human = scenario.kopilot(&["safety", "assess", line]).run(RUN_LIMIT);
    human.expect_code(0);
    assert_nothing_raw("safety assess", &human.stdout);
    assert!(
        human
            .stdout
            .contains(r"kubectl delete pod web\x1b[2J \u{202e}x -n shop\r"),
        "{}",
        human.stdout
    );
    let json = scenario
        .kopilot(&["safety", "assess", "--json", line])
        .run(RUN_LIMIT);
    json.expect_code(0);
    let verdict: Value = serde_json::from_str(&json.stdout).expect("a JSON verdict");
    assert_eq!(verdict["command"], line);
}

/// A claim no pod mounts (`cost.orphaned_pvc`), named by someone hostile; YAML's `\e` and `\a`
/// escapes keep this file printable.
const HOSTILE_SNAPSHOT: &str = r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: "data\e]0;pwned\a\u202Ex", namespace: "shop\e[2J"}
spec: {resources: {requests: {storage: 10Gi}}, volumeName: pv-1}
status: {phase: Bound, capacity: {storage: 10Gi}}
"#;

#[test]
fn analyze_shows_hostile_object_names_escaped_in_table_and_markdown() {
    let scenario = Scenario::new();
    let file = scenario.dir.path().join("hostile.yaml");
    std::fs::write(&file, HOSTILE_SNAPSHOT).expect("snapshot written");
    let file = file.display().to_string();
    let name = r"data\x1b]0;pwned\x07\u{202e}x";
    for format in ["table", "markdown"] {
        let out = scenario
            .kopilot(&["analyze", "--snapshot", &file, "-o", format])
            .run(RUN_LIMIT);
        out.expect_code(0);
        assert_nothing_raw(&format!("analyze -o {format}"), &out.stdout);
        assert!(out.stdout.contains(name), "{format}:\n{}", out.stdout);
        assert!(
            out.stdout.contains(r"shop\x1b[2J"),
            "{format}:\n{}",
            out.stdout
        );
    }
    let json = scenario
        .kopilot(&["analyze", "--snapshot", &file, "-o", "json"])
        .run(RUN_LIMIT);
    json.expect_code(0);
    let report: Value = serde_json::from_str(&json.stdout).expect("a JSON report");
    assert_eq!(
        report["findings"][0]["object"]["name"], "data\x1b]0;pwned\x07\u{202e}x",
        "{report:#}"
    );
}
