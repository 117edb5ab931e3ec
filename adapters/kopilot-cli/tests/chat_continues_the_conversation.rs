//! `kopilot chat` end to end against the scripted model: each line a question in one session
//! (the model sees the earlier turns), `/reset` starting a new one, `/model` and `/mode`
//! changing what the next turn runs with, `/exit` and the end of input leaving; piped, and on a
//! terminal with the same approvals as `kopilot ask`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::pty::run_chat_on_pty;
use support::{Reply, SUPERVISOR_MARKER, Scenario, Script, TEST_MODEL, skill_marker};

const RUN_LIMIT: Duration = Duration::from_secs(90);

fn troubleshooting(replies: impl IntoIterator<Item = Reply>) -> Script {
    Script::new()
        .route("supervisor", SUPERVISOR_MARKER, [])
        .route("troubleshooting", &skill_marker("troubleshooting"), replies)
}

/// Every message the model was sent in one request, as one text.
fn conversation(request: &support::RecordedRequest) -> String {
    request
        .messages()
        .iter()
        .map(|m| m["content"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn piped_lines_are_one_conversation_until_reset_and_model_switches_the_model() {
    let scenario = Scenario::new().with_stub(troubleshooting([
        Reply::text("The answer is alpha."),
        Reply::text("Still alpha, as I said."),
        Reply::text("Beta, fresh start."),
        Reply::text("Gamma from the other model."),
    ]));
    let input = "What is the first answer?\n\
                 /help\n\
                 And again?\n\
                 /reset\n\
                 What now?\n\
                 /model other-model\n\
                 /history\n\
                 Last one?\n\
                 /exit\n\
                 This line comes after /exit and is never asked.\n";
    let out = scenario
        .kopilot(&["chat", "--demo", "--skill", "troubleshooting"])
        .spawn_with_stdin(Some(input))
        .wait(RUN_LIMIT);
    out.expect_code(0);

    // The answers, in order, on standard output.
    let answers = ["alpha.", "Still alpha", "Beta, fresh", "Gamma from"];
    let at: Vec<usize> = answers
        .iter()
        .map(|a| {
            out.stdout
                .find(a)
                .unwrap_or_else(|| panic!("no `{a}` in stdout:\n{}", out.stdout))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", out.stdout);
    // The commands answered on standard error.
    for said in [
        "/reset",
        "A new conversation",
        "model: other-model",
        "  3  What now?",
    ] {
        assert!(
            out.stderr.contains(said),
            "no `{said}` in stderr:\n{}",
            out.stderr
        );
    }

    let requests = scenario.stub().requests_for("troubleshooting");
    assert_eq!(requests.len(), 4, "the line after /exit was asked?");
    // The second turn carries the first: the session continues.
    let second = conversation(&requests[1]);
    assert!(
        second.contains("What is the first answer?") && second.contains("The answer is alpha."),
        "the second turn does not carry the first:\n{second}"
    );
    // After /reset the model no longer sees them.
    let third = conversation(&requests[2]);
    assert!(
        !third.contains("What is the first answer?") && !third.contains("alpha"),
        "/reset kept the earlier turns:\n{third}"
    );
    assert!(third.contains("What now?"), "{third}");
    // /model changed the model of the next turn only, and the session went on.
    let models: Vec<&str> = requests
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(models, [TEST_MODEL, TEST_MODEL, TEST_MODEL, "other-model"]);
    let fourth = conversation(&requests[3]);
    assert!(
        fourth.contains("What now?") && fourth.contains("Beta, fresh start."),
        "{fourth}"
    );

    // Each turn is a task of the history, all in one session (the first and the /reset one).
    let history = scenario.kopilot(&["history", "--json"]).run(RUN_LIMIT);
    history.expect_code(0);
    let tasks: Vec<serde_json::Value> = serde_json::from_str(&history.stdout)
        .unwrap_or_else(|e| panic!("history --json: {e}\n{}", history.stdout));
    assert_eq!(tasks.len(), 4, "{}", history.stdout);
}

#[test]
fn the_end_of_input_leaves_and_a_failed_turn_is_exit_1_when_piped() {
    let scenario = Scenario::new().with_stub(troubleshooting([
        Reply::text("Fine."),
        Reply::text("Fine again."),
    ]));
    // `!1` asks the first question again; the third question has no scripted reply: the
    // model answers HTTP 400, the turn fails.
    let out = scenario
        .kopilot(&["chat", "--demo", "--skill", "troubleshooting"])
        .spawn_with_stdin(Some("one?\n!1\n!7\ntwo?\n"))
        .wait(RUN_LIMIT);
    out.expect_code(1);
    assert!(out.stdout.contains("Fine again."), "{}", out.stdout);
    assert!(out.stderr.contains("no such question"), "{}", out.stderr);
    assert!(out.stderr.contains("failed"), "{}", out.stderr);
    let asked: Vec<String> = scenario
        .stub()
        .requests_for("troubleshooting")
        .iter()
        .map(|r| r.user_text().lines().last().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(asked, ["one?", "one?", "two?"]);

    // Commands only, then the end of input: nothing asked, exit 0.
    let out = scenario
        .kopilot(&["chat", "--demo", "--offline"])
        .spawn_with_stdin(Some("/mode read-only\n/mode yolo\n/nope\n"))
        .wait(RUN_LIMIT);
    out.expect_code(0);
    assert!(out.stderr.contains("mode: read-only"), "{}", out.stderr);
    assert!(
        out.stderr.contains("`yolo` is not a mode"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unknown command /nope"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs kubectl"]
fn on_a_terminal_changes_are_put_to_the_user_and_mode_read_only_blocks_them() {
    support::require_kubectl();
    let shop = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"#;
    let scale =
        |n: &str| json!({"args": ["scale", "deployment", "web", "-n", "shop", "--replicas", n]});
    let scenario = Scenario::new()
        .with_cluster(kopilot_fake::FakeCluster::builder().seed_yaml(shop))
        .with_stub(troubleshooting([
            Reply::tool_call("run_kubectl", scale("3")),
            Reply::text("Scaled: {{last_tool_result}}"),
            Reply::tool_call("run_kubectl", scale("5")),
            Reply::text("Not scaled: {{last_tool_result}}"),
        ]));
    let chat = scenario.kopilot(&[
        "chat",
        "--kubeconfig",
        &scenario.kubeconfig().display().to_string(),
        "--skill",
        "troubleshooting",
    ]);
    let run = run_chat_on_pty(
        &chat,
        &[
            "Scale web to 3",
            "y",
            "/mode read-only",
            "Scale web to 5",
            "/exit",
        ],
        RUN_LIMIT,
    );
    run.outcome.expect_code(0);
    // One approval prompt (the first change), answered y; the second change was blocked
    // without asking.
    assert_eq!(run.screen.matches("[y/N]").count(), 1, "{}", run.screen);
    assert!(
        run.screen.contains("kubectl scale deployment web"),
        "{}",
        run.screen
    );
    let replicas = scenario
        .cluster()
        .get("apps/v1", "Deployment", "shop", "web")
        .and_then(|d| d["spec"]["replicas"].as_i64());
    assert_eq!(
        replicas,
        Some(3),
        "the approved change did not run, or the blocked one did"
    );
    assert!(
        run.outcome.stdout.contains("Scaled:"),
        "{}",
        run.outcome.stdout
    );
    let blocked = scenario.stub().requests_for("troubleshooting")[3]
        .last_tool_result()
        .unwrap_or_default();
    assert!(blocked.contains("read-only"), "{blocked}");
}

/// `kopilot ask` with no question, on a terminal, is a chat; Ctrl-C during an answer cancels
/// that turn and the chat goes on; Ctrl-D leaves with status 0.
#[test]
fn on_a_terminal_ask_without_a_question_chats_and_ctrl_c_cancels_only_the_turn() {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Instant;

    let scenario = Scenario::new().with_stub(troubleshooting([
        Reply::text("This answer comes too late.").after(Duration::from_secs(60)),
        Reply::text("The second answer is here."),
    ]));
    let invocation = scenario.kopilot(&["ask", "--demo", "--skill", "troubleshooting"]);
    let (pty, pts) = pty_process::blocking::open().expect("a pseudo-terminal");
    pty.resize(pty_process::Size::new(40, 160)).unwrap();
    let mut child = pty_process::blocking::Command::new(support::process::binary())
        .args(&invocation.args)
        .env_clear()
        .envs(invocation.env.iter().cloned())
        .env("TERM", "xterm-256color")
        .spawn(pts)
        .expect("kopilot starts on the pseudo-terminal");
    let pty = Arc::new(pty);
    let screen = Arc::new(Mutex::new(String::new()));
    {
        let (pty, screen) = (Arc::clone(&pty), Arc::clone(&screen));
        std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            while let Ok(n @ 1..) = (&*pty).read(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                screen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&text);
            }
        });
    }
    let seen = || {
        screen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    };
    let wait_for = |what: &str, count: usize| {
        let deadline = Instant::now() + RUN_LIMIT;
        while seen().matches(what).count() < count {
            assert!(
                Instant::now() < deadline,
                "no {count}x `{what}` on the terminal:\n{}",
                seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let type_text = |text: &[u8]| (&*pty).write_all(text).unwrap();

    wait_for(support::pty::CHAT_PROMPT, 1);
    assert!(seen().contains("kopilot chat"), "{}", seen());
    type_text(b"first question\n");
    wait_for("Thinking", 1);
    type_text(b"\x03");
    wait_for("cancelled", 1);
    wait_for(support::pty::CHAT_PROMPT, 2);
    type_text(b"second question\n");
    wait_for(support::pty::CHAT_PROMPT, 3);
    type_text(b"\x04");
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the chat did not end:\n{}",
            seen()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{}", seen());
    let screen = seen();
    assert!(screen.contains("The second answer is here."), "{screen}");
    assert!(!screen.contains("comes too late"), "{screen}");
    // Both questions reached the model; the cancelled one got no answer to carry on.
    let requests = scenario.stub().requests_for("troubleshooting");
    assert_eq!(requests.len(), 2);
    assert!(requests[0].user_text().contains("first question"));
    assert!(!conversation(&requests[1]).contains("comes too late"));
}

#[test]
fn with_the_models_prices_each_turn_says_what_it_cost_as_ask_does() {
    let scenario = Scenario::new()
        .with_stub(troubleshooting([Reply::text("Fine.")]))
        .env("LLM_PRICES", "input=3.00,output=15.00");
    let out = scenario
        .kopilot(&["chat", "--demo", "--skill", "troubleshooting"])
        .spawn_with_stdin(Some("one?\n"))
        .wait(RUN_LIMIT);
    out.expect_code(0);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains(" tokens (") && l.contains(" · $0.0")),
        "{}",
        out.stderr
    );
}
