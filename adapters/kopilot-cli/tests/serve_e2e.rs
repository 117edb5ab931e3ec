//! `kopilot serve` and `kopilot tokens` end to end: the real binary with tokens made by
//! `kopilot tokens add`, a task submitted over HTTP by one token whose command is approved
//! over HTTP by another and run by the real `kubectl` against the fake API server, the events
//! followed as SSE, and SIGTERM draining the server.

mod support;

use std::time::{Duration, Instant};

use kopilot_fake::FakeCluster;
use serde_json::{Value, json};
use support::{Reply, Scenario, Script, skill_marker};

const RUN_LIMIT: Duration = Duration::from_secs(60);

const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"#;

/// `kopilot tokens add`: the token alone on standard output.
fn add_token(scenario: &Scenario, tokens: &str, name: &str, role: &str) -> String {
    let out = scenario
        .kopilot(&[
            "tokens", "--tokens", tokens, "add", "--name", name, "--role", role,
        ])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let token = out.stdout.trim().to_owned();
    assert!(
        token.starts_with("kopilot_") && !token.contains(char::is_whitespace),
        "{:?}",
        out.stdout
    );
    token
}

#[test]
fn tokens_are_made_listed_and_revoked_and_only_hashes_are_kept() {
    let scenario = Scenario::new();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let tokens = tokens.to_str().unwrap();
    let alice = add_token(&scenario, tokens, "alice", "operator");
    let text = std::fs::read_to_string(tokens).unwrap();
    assert!(!text.contains(&alice["kopilot_".len()..]), "{text}");
    let again = scenario
        .kopilot(&[
            "tokens", "--tokens", tokens, "add", "--name", "alice", "--role", "admin",
        ])
        .run(RUN_LIMIT);
    again.expect_code(2);
    assert!(
        again.stderr.contains("already a token named `alice`"),
        "{}",
        again.stderr
    );
    let bad = scenario
        .kopilot(&[
            "tokens", "--tokens", tokens, "add", "--name", "x", "--role", "root",
        ])
        .run(RUN_LIMIT);
    bad.expect_code(2);
    let list = scenario
        .kopilot(&["tokens", "--tokens", tokens, "list", "--json"])
        .run(RUN_LIMIT);
    list.expect_code(0);
    let entry: Value = serde_json::from_str(list.stdout.trim()).unwrap();
    assert_eq!(
        (&entry["name"], &entry["role"]),
        (&json!("alice"), &json!("operator"))
    );
    scenario
        .kopilot(&["tokens", "--tokens", tokens, "revoke", "alice"])
        .run(RUN_LIMIT)
        .expect_code(0);
    let gone = scenario
        .kopilot(&["tokens", "--tokens", tokens, "revoke", "alice"])
        .run(RUN_LIMIT);
    gone.expect_code(2);
    assert!(
        gone.stderr.contains("no token named `alice`"),
        "{}",
        gone.stderr
    );
}

/// The address `serve` logged.
fn served_address(stderr: &str) -> Option<String> {
    let start = stderr.find("serving http://")? + "serving http://".len();
    let rest = &stderr[start..];
    Some(rest[..rest.find(' ')?].to_owned())
}

#[test]
#[ignore = "needs kubectl"]
fn a_command_asked_over_http_is_approved_by_another_token_and_runs() {
    support::require_kubectl();
    let scale = json!({"args": ["scale", "deployment", "web", "--replicas=3", "-n", "shop"]});
    let scenario = Scenario::new()
        .with_cluster(FakeCluster::builder().seed_yaml(SHOP))
        .with_stub(Script::new().route(
            "troubleshooting",
            &skill_marker("troubleshooting"),
            [
                Reply::tool_call("run_kubectl", scale),
                Reply::text("Scaled web to 3 replicas."),
            ],
        ));
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let tokens = tokens.to_str().unwrap();
    let alice = add_token(&scenario, tokens, "alice", "operator");
    let bob = add_token(&scenario, tokens, "bob", "approver");
    let (server, base) = start_serve(&scenario, tokens);
    let deadline = Instant::now() + RUN_LIMIT;
    let http = reqwest::Client::new();
    scenario.block_on(async {
        let submitted: Value = http
            .post(format!("{base}/tasks"))
            .bearer_auth(&alice)
            .json(&json!({"prompt": "scale web in shop to 3", "skill": "troubleshooting"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = submitted["id"].as_str().expect("an id").to_owned();
        let approval = loop {
            let list = get_json(&http, format!("{base}/approvals"), &bob).await;
            if let Some(first) = list["approvals"].get(0) {
                break first.clone();
            }
            assert!(Instant::now() < deadline, "no approval was asked for");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            approval["command"],
            "kubectl scale deployment web --replicas=3 -n shop"
        );
        assert_eq!(approval["requester"], "alice");
        let decided = http
            .post(format!(
                "{base}/approvals/{}",
                approval["id"].as_str().unwrap()
            ))
            .bearer_auth(&bob)
            .json(&json!({"decision": "approve", "reason": "capacity for the sale"}))
            .send()
            .await
            .unwrap();
        assert_eq!(decided.status(), 200);
        // The whole stream, from the start, ends with the response.
        let events = http
            .get(format!("{base}/tasks/{id}/events"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(events.contains(r#""type":"approval_decided""#), "{events}");
        assert!(events.contains(r#""decided_by":"bob""#), "{events}");
        assert!(events.contains(r#""type":"response""#), "{events}");
        let task = get_json(&http, format!("{base}/tasks/{id}"), &alice).await;
        assert_eq!(task["status"], "succeeded", "{task}");
    });
    let web = scenario
        .cluster()
        .get("apps/v1", "Deployment", "shop", "web")
        .expect("web is there");
    assert_eq!(web["spec"]["replicas"], 3, "kubectl scaled it");
    server.signal("TERM");
    let out = server.wait(RUN_LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("kopilot: stopped"), "{}", out.stderr);
}

/// Starts `kopilot serve` on a free port and returns it with its base URL.
fn start_serve(scenario: &Scenario, tokens: &str) -> (support::process::Running, String) {
    let kubeconfig = scenario.kubeconfig().to_str().unwrap().to_owned();
    let server = scenario
        .kopilot(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--tokens",
            tokens,
            "--kubeconfig",
            &kubeconfig,
        ])
        .spawn();
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        let so_far = server.stderr.so_far();
        if let Some(addr) = served_address(&so_far) {
            return (server, format!("http://{addr}"));
        }
        assert!(
            Instant::now() < deadline && !so_far.contains("error:"),
            "serve never said where it listens: {so_far}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn get_json(http: &reqwest::Client, url: String, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[test]
fn after_a_crash_finished_tasks_survive_and_the_running_one_is_interrupted_and_replayable() {
    let scenario = Scenario::new()
        .with_cluster(FakeCluster::builder().seed_yaml(SHOP))
        .with_stub(Script::new().route(
            "troubleshooting",
            &skill_marker("troubleshooting"),
            [
                Reply::text("web has 1 replica and it is ready."),
                Reply::text("too late").after(Duration::from_secs(60)),
            ],
        ));
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let tokens = tokens.to_str().unwrap();
    let alice = add_token(&scenario, tokens, "alice", "operator");
    let http = reqwest::Client::new();
    let submit = |base: String, prompt: &'static str| {
        let (http, alice) = (http.clone(), alice.clone());
        async move {
            let reply: Value = http
                .post(format!("{base}/tasks"))
                .bearer_auth(&alice)
                .json(&json!({"prompt": prompt, "skill": "troubleshooting"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["id"].as_str().expect("an id").to_owned()
        }
    };

    let (first, base) = start_serve(&scenario, tokens);
    let (done, running) = scenario.block_on(async {
        let done = submit(base.clone(), "how is web?").await;
        let deadline = Instant::now() + RUN_LIMIT;
        while get_json(&http, format!("{base}/tasks/{done}"), &alice).await["status"] != "succeeded"
        {
            assert!(Instant::now() < deadline, "the first task never ended");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let running = submit(base.clone(), "and now?").await;
        // Running: the model was asked about it, and the store has its start.
        let asked = || {
            scenario
                .stub()
                .requests()
                .iter()
                .any(|r| r.body.to_string().contains("and now?"))
        };
        while !asked()
            || get_json(&http, format!("{base}/tasks/{running}"), &alice).await["status"]
                != "running"
        {
            assert!(
                Instant::now() < deadline,
                "the second task never asked the model"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The store writer runs off the task's path; give it a moment to commit the start.
        tokio::time::sleep(Duration::from_millis(500)).await;
        (done, running)
    });
    // Killed: no chance to record anything more.
    let mut first = first;
    first.child.kill().expect("SIGKILL");
    assert_eq!(first.wait(RUN_LIMIT).code, None);

    let (second, base) = start_serve(&scenario, tokens);
    scenario.block_on(async {
        let task = get_json(&http, format!("{base}/tasks/{done}"), &alice).await;
        assert_eq!(task["status"], "succeeded", "{task}");
        assert!(
            task["result"]["answer"]
                .as_str()
                .unwrap()
                .contains("1 replica")
        );
        let task = get_json(&http, format!("{base}/tasks/{running}"), &alice).await;
        assert_eq!(task["status"], "interrupted", "{task}");
        for id in [&done, &running] {
            let stream = http
                .get(format!("{base}/tasks/{id}/events"))
                .bearer_auth(&alice)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(stream.contains("\"type\":\"task_started\""), "{stream}");
            assert!(stream.contains("\"type\":\"response\""), "{stream}");
            if id == &running {
                assert!(stream.contains("\"status\":\"interrupted\""), "{stream}");
            }
        }
    });
    second.signal("TERM");
    assert_eq!(second.wait(RUN_LIMIT).code, Some(0));
}
