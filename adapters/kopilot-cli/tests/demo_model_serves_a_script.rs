//! `kopilot demo model`: the real binary serves a script file as an OpenAI-compatible model,
//! says where on its first line, answers kopilot-llm's provider and `kopilot ask` with a tool
//! call then an answer, says so when the script runs out, stops with 0 on SIGTERM or Ctrl-C,
//! and refuses a bad script or a non-loopback address with status 2, saying why.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kopilot_core::testing::{EventExpectation, Step};
use kopilot_core::{EventKind, Status};
use kopilot_llm::{
    ChatModel, ChatRequest, Error, FinishReason, Message, ProviderConfig, ProviderKind,
    ToolArguments, build_model,
};
use serde_json::json;
use support::{EventsExt, Running, SUPERVISOR_MARKER, Scenario, skill_marker};

const LIMIT: Duration = Duration::from_secs(60);

/// Writes `script` into the scenario's directory.
fn script_file(scenario: &Scenario, script: &str) -> PathBuf {
    let path = scenario.dir.path().join("model.yaml");
    std::fs::write(&path, script).unwrap();
    path
}

/// Starts `kopilot demo model --script <path> <extra>` and reads the URL on its first line.
fn serve(scenario: &Scenario, path: &Path, extra: &[&str]) -> (Running, String) {
    let mut args = vec!["demo", "model", "--script", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut running = scenario.kopilot(&args).spawn();
    running.wait_for_stdout(LIMIT, "the URL line", |out| out.contains('\n'));
    let url = running
        .stdout
        .so_far()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (running, url)
}

fn openai_at(url: &str) -> Arc<dyn ChatModel> {
    let config = ProviderConfig::builder(ProviderKind::OpenAi)
        .base_url(url)
        .api_key("test")
        .model("scripted")
        .max_retries(0)
        .build()
        .unwrap();
    build_model(&config).unwrap()
}

#[test]
fn serves_a_tool_call_then_an_answer_then_says_the_script_ran_out() {
    let scenario = Scenario::new();
    let path = script_file(
        &scenario,
        r#"
routes:
  - name: pods
    replies:
      - tool: run_kubectl
        arguments: {args: [get, pods, -n, shop]}
        text: "Let me look."
      - answer: "The pods: {{last_tool_result}}"
"#,
    );
    let (running, url) = serve(&scenario, &path, &["--addr", "127.0.0.1:0", "--verbose"]);
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/v1"))
        .and_then(|port| port.parse::<u16>().ok());
    assert!(
        port.is_some_and(|p| p != 0),
        "the first line is not the base URL: {url:?}"
    );

    let model = openai_at(&url);
    let ask = ChatRequest::new(vec![Message::user("How are the pods in shop?")])
        .with_system("You are a test.");
    scenario.block_on(async {
        let call = model.chat(&ask).await.expect("a tool call");
        assert_eq!(call.finish_reason, FinishReason::ToolCalls);
        assert_eq!(call.text, "Let me look.");
        assert_eq!(call.tool_calls.len(), 1);
        assert_eq!(call.tool_calls[0].name, "run_kubectl");
        assert_eq!(
            call.tool_calls[0].arguments,
            ToolArguments::Valid(json!({"args": ["get", "pods", "-n", "shop"]}))
        );
        let told = ChatRequest::new(vec![
            Message::user("How are the pods in shop?"),
            call.to_message(),
            Message::tool_result(&call.tool_calls[0], "web-1 Running"),
        ]);
        let answer = model.chat(&told).await.expect("an answer");
        assert_eq!(answer.text, "The pods: web-1 Running");
        assert_eq!(answer.finish_reason, FinishReason::Stop);
        match model.chat(&ask).await {
            Err(Error::Http {
                status: 400,
                message,
            }) => assert!(
                message.contains("no scripted reply") && message.contains("`pods`"),
                "{message}"
            ),
            other => panic!("expected a 400 saying the script ran out, got {other:?}"),
        }
    });

    running.signal("TERM");
    let out = running.wait(LIMIT);
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let logged = out
        .stderr
        .lines()
        .filter(|l| l.contains("fake model request") && l.contains("route=pods"))
        .count();
    assert_eq!(logged, 3, "one debug line per request:\n{}", out.stderr);
    assert!(
        out.stderr
            .contains("Stopped after 3 requests (1 without a scripted reply); replies left: none."),
        "{}",
        out.stderr
    );
}

#[test]
fn ctrl_c_stops_it_with_status_0_on_the_port_asked_for() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let scenario = Scenario::new();
    let path = script_file(&scenario, "routes:\n  - replies: [{answer: hi}]\n");
    let addr = format!("127.0.0.1:{port}");
    let (running, url) = serve(&scenario, &path, &["--addr", &addr]);
    assert_eq!(url, format!("http://{addr}/v1"));
    running.signal("INT");
    let out = running.wait(LIMIT);
    out.expect_code(0);
    assert!(
        !out.stderr.contains("fake model request"),
        "requests are logged only with --verbose: {}",
        out.stderr
    );
}

#[test]
fn a_bad_script_exits_2_naming_the_file_the_position_and_the_reply() {
    let scenario = Scenario::new();
    let path = script_file(
        &scenario,
        "routes:\n  - name: sup\n    replies:\n      - answer: hi\n      - tool: run_kubectl\n        answer: hi\n",
    );
    let out = scenario
        .kopilot(&["demo", "model", "--script", path.to_str().unwrap()])
        .run(LIMIT);
    out.expect_code(2);
    let expected = format!("{}:5:9: route 1 (sup), reply 2", path.display());
    assert!(
        out.stderr.contains(&expected) && out.stderr.contains("`tool` and `answer`"),
        "stderr does not say {expected:?}:\n{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let broken = script_file(&scenario, "routes:\n  - replies: [{answer: hi}\n");
    let out = scenario
        .kopilot(&["demo", "model", "--script", broken.to_str().unwrap()])
        .run(LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains(&format!("--script {}:", broken.display())),
        "{}",
        out.stderr
    );

    let missing = scenario.dir.path().join("nope.yaml");
    let out = scenario
        .kopilot(&["demo", "model", "--script", missing.to_str().unwrap()])
        .run(LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr.contains(&missing.display().to_string())
            && out.stderr.contains("could not read the script"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_non_loopback_address_is_refused_unless_allowed() {
    let scenario = Scenario::new();
    let path = script_file(&scenario, "routes:\n  - replies: [{answer: hi}]\n");
    let out = scenario
        .kopilot(&[
            "demo",
            "model",
            "--addr",
            "0.0.0.0:0",
            "--script",
            path.to_str().unwrap(),
        ])
        .run(LIMIT);
    out.expect_code(2);
    for said in [
        "--addr 0.0.0.0:0",
        "not a loopback address",
        "without authentication",
        "--allow-non-loopback",
    ] {
        assert!(
            out.stderr.contains(said),
            "{said:?} not in:\n{}",
            out.stderr
        );
    }
}

#[test]
fn help_documents_the_script_format_with_an_example() {
    let out = Scenario::new()
        .kopilot(&["demo", "model", "--help"])
        .run(LIMIT);
    out.expect_code(0);
    for said in [
        "marker",
        "tool: NAME",
        "answer: TEXT",
        "fail: STATUS",
        "delay_ms",
        "{{last_tool_result}}",
        "Example script:",
        "--addr 127.0.0.1:0",
    ] {
        assert!(
            out.stdout.contains(said),
            "{said:?} not in:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `kopilot ask` on the demo cluster, through the scripted model process.

#[test]
#[ignore = "needs kubectl"]
fn kopilot_ask_on_the_demo_cluster_follows_the_script() {
    support::require_kubectl();
    let scenario = Scenario::new();
    let script = format!(
        r#"
routes:
  - name: supervisor
    marker: {supervisor:?}
    replies:
      - tool: delegate
        arguments: {{skill: troubleshooting, task: "List the pods in storefront."}}
      - answer: "The specialist found:\n\n{{{{last_tool_result}}}}"
  - name: troubleshooting
    marker: {skill:?}
    replies:
      - tool: run_kubectl
        arguments: {{args: [get, pods, -n, storefront]}}
      - answer: "Pods in storefront:\n{{{{last_tool_result}}}}"
"#,
        supervisor = SUPERVISOR_MARKER,
        skill = skill_marker("troubleshooting"),
    );
    let path = script_file(&scenario, &script);
    let (model, url) = serve(&scenario, &path, &[]);
    let asking = Scenario::new()
        .env("LLM_PROVIDER", "openai")
        .env("OPENAI_BASE_URL", &url)
        .env("OPENAI_API_KEY", "test")
        .env("LLM_MODEL", "scripted")
        .env("LLM_MAX_RETRIES", "0");
    let out = asking
        .ask(&[
            "--demo",
            "--output",
            "json",
            "Which pods in storefront are failing?",
        ])
        .run(LIMIT);
    out.expect_code(0);
    let events = out.events();
    EventExpectation::new()
        .then(Step::task_started())
        .then(Step::delegated("troubleshooting").by("supervisor"))
        .then(Step::tool_call("run_kubectl").by("troubleshooting"))
        .then(Step::tool_succeeded("run_kubectl").by("troubleshooting"))
        .then(Step::tool_succeeded("delegate").by("supervisor"))
        .then(Step::response(Status::Succeeded))
        .only()
        .assert_matches(&events);
    assert!(matches!(&events[0].event,
        EventKind::TaskStarted { model: Some(m), .. } if m == "scripted"));
    let answer = events.result().answer;
    assert!(
        answer.starts_with("The specialist found:") && answer.contains("cart-zk98gxtx6z-r29gb"),
        "{answer}"
    );

    model.signal("TERM");
    let served = model.wait(LIMIT);
    served.expect_code(0);
    assert!(
        served
            .stderr
            .contains("Stopped after 4 requests (0 without a scripted reply); replies left: none."),
        "{}",
        served.stderr
    );
}
