//! The server through a real HTTP client on 127.0.0.1: tasks from submit to answer, their
//! event streams cut and resumed, approvals decided by another token, four-eyes, tokens and
//! roles, cancel, the request checks, and draining on shutdown.

use std::sync::Arc;
use std::time::Duration;

mod support;

use futures::StreamExt;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::{Event, EventKind, Status, TaskStore};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::Setup;

/// One SSE message.
#[derive(Debug, Default, Clone)]
struct Sse {
    id: Option<u64>,
    event: Option<String>,
    data: String,
}

/// Reads an SSE response; stops after `limit` messages (then drops the connection).
async fn read_sse(response: reqwest::Response, limit: usize) -> Vec<Sse> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut messages = Vec::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut message = Sse::default();
            let mut comment = true;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    message.id = Some(v.trim().parse().unwrap());
                    comment = false;
                } else if let Some(v) = line.strip_prefix("event:") {
                    message.event = Some(v.trim().to_owned());
                    comment = false;
                } else if let Some(v) = line.strip_prefix("data:") {
                    message.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    comment = false;
                }
            }
            if !comment {
                messages.push(message);
                if messages.len() == limit {
                    return messages;
                }
            }
        }
    }
    messages
}

fn events_of(messages: &[Sse]) -> Vec<Event> {
    messages
        .iter()
        .map(|m| {
            let event: Event = serde_json::from_str(&m.data).unwrap();
            assert_eq!(m.id, Some(event.seq), "the SSE id is the event's seq");
            event
        })
        .collect()
}

fn read_and_answer() -> ScriptedModel {
    ScriptedModel::new("scripted")
        .with_piece_chars(4)
        .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
        .then_answer("All 1 pod of web is ready: web-1 1/1.\nNo restarts in the last hour.\nThe Service has 1 endpoint.\nNothing to do.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_from_submit_to_answer_and_streams_its_events() {
    let server = Setup::new(read_and_answer()).start().await;
    let response = server
        .http
        .post(server.url("/tasks"))
        .bearer_auth(&server.alice)
        .json(&json!({"prompt": "is web healthy?", "skill": "ops", "namespace": "shop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let submitted: Value = response.json().await.unwrap();
    let id = submitted["id"].as_str().unwrap();
    assert_eq!(location, format!("/tasks/{id}"));
    assert_eq!(submitted["links"]["events"], format!("/tasks/{id}/events"));

    let stream = server
        .http
        .get(server.url(&format!("/tasks/{id}/events")))
        .bearer_auth(&server.viewer)
        .send()
        .await
        .unwrap();
    let events = events_of(&read_sse(stream, usize::MAX).await);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    let last = events.last().unwrap();
    let EventKind::Response(result) = &last.event else {
        panic!("the stream ends with the response: {last:?}");
    };
    assert_eq!(result.status, Status::Succeeded);
    assert_eq!(server.tool.executed(), ["kubectl get pods -n shop"]);

    let task = server.wait_status(id, "succeeded").await;
    assert_eq!(task["requester"], "alice");
    assert!(
        task["result"]["answer"]
            .as_str()
            .unwrap()
            .contains("web-1 1/1"),
        "{task}"
    );
    let (status, list) = server
        .get("/tasks?status=succeeded&limit=5", &server.viewer)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tasks"][0]["id"], id);
    let (_, history) = server.get("/tasks/history?limit=1", &server.viewer).await;
    assert_eq!(history["tasks"][0]["id"], id);
    let (status, error) = server.get("/tasks?status=sideways", &server.viewer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "request.invalid");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_in_the_middle_resumes_losing_and_repeating_nothing() {
    let server = Setup::new(read_and_answer()).start().await;
    let id = server.ask_as_alice().await;
    server.wait_status(&id, "succeeded").await;
    let follow = |headers: Option<(&'static str, String)>, query: &str| {
        let mut request = server
            .http
            .get(server.url(&format!("/tasks/{id}/events{query}")))
            .bearer_auth(&server.viewer);
        if let Some((name, value)) = headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let whole = events_of(&read_sse(follow(None, "").await.unwrap(), usize::MAX).await);
    assert!(whole.len() > 6, "{} events", whole.len());

    // Cut after five events, then resume as a browser does.
    let first = events_of(&read_sse(follow(None, "").await.unwrap(), 5).await);
    let last_seen = first.last().unwrap().seq;
    let rest = events_of(
        &read_sse(
            follow(Some(("last-event-id", last_seen.to_string())), "")
                .await
                .unwrap(),
            usize::MAX,
        )
        .await,
    );
    let joined: Vec<Event> = first.into_iter().chain(rest).collect();
    assert_eq!(joined, whole, "nothing lost, nothing repeated");

    // ?from_seq=N starts at N itself.
    let from = events_of(&read_sse(follow(None, "?from_seq=3").await.unwrap(), 1).await);
    assert_eq!(from[0].seq, 3);
    let (status, error) = server
        .get(&format!("/tasks/{id}/events?from_seq=x"), &server.viewer)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, error) = server.get("/tasks/nope/events", &server.viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "task.unknown");
    server.stop().await;
}

fn scale_then_answer() -> ScriptedModel {
    ScriptedModel::new("scripted")
        .then_call_tool(
            "run_kubectl",
            json!({"args": "scale deploy/web --replicas=3 -n shop"}),
        )
        .then_answer("Scaled web to 3 replicas.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_decided_over_http_by_another_token_and_the_command_runs() {
    let mut setup = Setup::new(scale_then_answer());
    setup.four_eyes = true;
    let server = setup.start().await;
    // carol (an approver) asks; under four-eyes she cannot approve her own command.
    let id = server
        .submit(
            &server.carol,
            json!({"prompt": "scale web to 3", "skill": "ops"}),
        )
        .await;
    let approval = server.pending_approval().await;
    let approval_id = approval["id"].as_str().unwrap().to_owned();
    assert_eq!(
        approval["command"],
        "kubectl scale deploy/web --replicas=3 -n shop"
    );
    assert_eq!(
        approval["argv"],
        json!([[
            "kubectl",
            "scale",
            "deploy/web",
            "--replicas=3",
            "-n",
            "shop"
        ]])
    );
    assert_eq!(approval["requester"], "carol");
    assert_eq!(approval["task_id"], id.as_str());
    assert!(approval["expires_at"].is_string() && approval["risk"].is_string());
    server.wait_status(&id, "waiting_for_approval").await;
    assert!(server.tool.executed().is_empty(), "nothing runs before");

    let path = format!("/approvals/{approval_id}");
    let (status, one) = server.get(&path, &server.viewer).await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &approval["id"]));
    let approve = json!({"decision": "approve", "reason": "load test"});
    let (status, error) = server.post(&path, &server.alice, &approve).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an operator cannot decide");
    assert_eq!(error["error"]["code"], "auth.forbidden");
    let (status, error) = server.post(&path, &server.carol, &approve).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "approval.four_eyes");
    assert!(server.tool.executed().is_empty());

    let (status, decided) = server.post(&path, &server.bob, &approve).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["decided_by"], "bob");
    let task = server.wait_status(&id, "succeeded").await;
    assert_eq!(
        server.tool.executed(),
        ["kubectl scale deploy/web --replicas=3 -n shop"]
    );
    assert!(
        task["result"]["refused"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    let (status, error) = server.post(&path, &server.bob, &approve).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "decided once: {error}");
    assert_eq!(error["error"]["code"], "approval.unknown");
    // The decision is in the task's events, with the decider.
    let events: Vec<Event> = server
        .store
        .events(&id, 1)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, EventKind::ApprovalDecided { .. }))
        .collect();
    assert!(
        matches!(&events[0].event, EventKind::ApprovalDecided { approved: true, decided_by, .. } if decided_by == "bob"),
        "{events:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_token_and_role_nothing_happens() {
    let server = Setup::new(read_and_answer()).start().await;
    let body = json!({"prompt": "is web healthy?", "skill": "ops"});
    let no_token = server
        .http
        .post(server.url("/tasks"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let error: Value = no_token.json().await.unwrap();
    assert_eq!(error["error"]["code"], "auth.missing");
    let wrong = format!("kopilot_{}", "0".repeat(64));
    let (status, error) = server.post("/tasks", &wrong, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "auth.invalid");
    let (status, error) = server.post("/tasks", &server.viewer, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "auth.forbidden");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("viewer")
    );
    let (_, list) = server.get("/tasks", &server.admin).await;
    assert_eq!(list["tasks"], json!([]), "no task was made");
    assert!(server.tool.executed().is_empty());
    // Health needs no token; the rest does.
    let health: Value = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["skills"], 1);
    let skills = server.http.get(server.url("/skills")).send().await.unwrap();
    assert_eq!(skills.status(), StatusCode::UNAUTHORIZED);
    let (status, skills) = server.get("/skills", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(skills["skills"][0]["name"], "ops");
    let (_, manifest) = server.get("/skills/portable", &server.viewer).await;
    assert_eq!(manifest["skills"][0]["name"], "ops");
    let (_, discovery) = server
        .get("/.well-known/agent-manifest.json", &server.viewer)
        .await;
    assert_eq!(discovery["endpoints"]["submit"]["path"], "/tasks");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_checked_before_anything_runs() {
    let mut setup = Setup::new(read_and_answer());
    setup.config.max_body_bytes = 4096;
    let server = setup.start().await;
    let send = |builder: reqwest::RequestBuilder| async move {
        let response = builder.send().await.unwrap();
        let status = response.status();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let tasks = server.url("/tasks");
    // DNS rebinding: a name that resolves to 127.0.0.1 but is not ours.
    let (status, error) = send(
        server
            .http
            .get(server.url("/healthz"))
            .header("host", "attacker.example"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (status, _) = send(
        server
            .http
            .get(server.url("/tasks"))
            .bearer_auth(&server.admin)
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        server
            .http
            .post(&tasks)
            .bearer_auth(&server.alice)
            .header("content-type", "text/plain")
            .body(r#"{"prompt":"hi"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for (body, code, expected) in [
        (
            json!({"prompt": ""}),
            "rejected.empty_prompt",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"prompt": "x", "skill": "nope"}),
            "rejected.unknown_skill",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"prompt": "x", "namespace": "Bad NS!"}),
            "request.invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"prompt": "x", "mode": "yolo"}),
            "request.invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"prompt": "x", "budget": {"tokens": 0}}),
            "request.invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"prompt": "x", "runAs": "root"}),
            "request.invalid",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"prompt": "x".repeat(5000)}),
            "request.too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let (status, error) = server.post("/tasks", &server.alice, &body).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (expected, Some(code)),
            "{body}: {error}"
        );
    }
    let (status, error) = send(
        server
            .http
            .post(&tasks)
            .bearer_auth(&server.alice)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("request.invalid"))
    );
    let (status, error) = server.get("/nowhere", &server.admin).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("request.not_found"))
    );
    let (_, list) = server.get("/tasks", &server.admin).await;
    assert_eq!(list["tasks"], json!([]), "no task was made");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_can_narrow_the_mode_and_budget_but_not_widen_them() {
    let server = Setup::new(scale_then_answer()).start().await;
    let id = server
        .submit(
            &server.alice,
            json!({"prompt": "scale web to 3", "skill": "ops", "mode": "read-only",
                   "budget": {"tool_calls": 5, "tokens": 99_999_999_999_u64}}),
        )
        .await;
    // The blocked call goes back to the model, which answers; the result records the refusal.
    let task = server.wait_status(&id, "succeeded").await;
    assert_eq!(task["result"]["refused"][0]["refusal"], "blocked", "{task}");
    assert!(server.tool.executed().is_empty());
    let (_, approvals) = server.get("/approvals", &server.viewer).await;
    assert_eq!(approvals["approvals"], json!([]), "nobody was asked");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_during_a_long_command_kills_it_and_only_its_owner_or_an_admin_may() {
    let mut setup = Setup::new(read_and_answer());
    setup.tool = setup.tool.with_delay(Duration::from_secs(60));
    let server = setup.start().await;
    let id = server.ask_as_alice().await;
    server.wait_for_the_command().await;
    let cancel = format!("/tasks/{id}/cancel");
    let (status, error) = server.post(&cancel, &server.bob, &json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not bob's task: {error}");
    let response = server
        .http
        .post(server.url(&cancel))
        .bearer_auth(&server.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let task = server.wait_status(&id, "cancelled").await;
    assert_eq!(task["result"]["error"]["code"], "cancelled", "{task}");
    // The 60-second command was stopped, not waited for: it never got to finish.
    assert!(server.tool.executed().is_empty());
    let (status, error) = server.post(&cancel, &server.admin, &json!({})).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::CONFLICT, &json!("task.ended"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_has_its_own_rate() {
    let mut setup = Setup::new(read_and_answer());
    setup.config.rate_per_second = Some(0.5);
    setup.config.rate_burst = 2;
    let server = setup.start().await;
    for _ in 0..2 {
        assert_eq!(
            server.get("/skills", &server.viewer).await.0,
            StatusCode::OK
        );
    }
    let response = server
        .http
        .get(server.url("/skills"))
        .bearer_auth(&server.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert_eq!(
        server.get("/skills", &server.admin).await.0,
        StatusCode::OK,
        "another token"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_cancels_running_tasks_and_records_them() {
    let mut setup = Setup::new(read_and_answer());
    setup.tool = setup.tool.with_delay(Duration::from_secs(60));
    let server = setup.start().await;
    let id = server.ask_as_alice().await;
    server.wait_status(&id, "running").await;
    let store = Arc::clone(&server.store);
    server.stop().await;
    let record = store.task(&id).await.unwrap().unwrap();
    assert_eq!(record.status(), Some(Status::Cancelled), "{record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_come_over_a_websocket_too_from_any_seq() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let server = Setup::new(read_and_answer()).start().await;
    let id = server.ask_as_alice().await;
    server.wait_status(&id, "succeeded").await;
    let connect = |query: &str| {
        let url = format!(
            "{}/tasks/{id}/events/ws{query}",
            server.base.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", server.viewer).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(request)
    };
    let read_all = |mut socket: tokio_tungstenite::WebSocketStream<_>| async move {
        let mut events = Vec::new();
        while let Some(message) = socket.next().await {
            match message.unwrap() {
                Message::Text(text) => events.push(serde_json::from_str::<Event>(&text).unwrap()),
                Message::Close(_) => break,
                _ => {}
            }
        }
        events
    };
    let (socket, _) = connect("").await.unwrap();
    let all: Vec<Event> = read_all(socket).await;
    assert!(all.last().unwrap().is_terminal(), "ends with the response");
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>());
    let (socket, _) = connect("?from_seq=4").await.unwrap();
    let tail: Vec<Event> = read_all(socket).await;
    assert_eq!(tail, all[3..].to_vec());
    // Without a token there is no upgrade.
    let url = format!(
        "{}/tasks/{id}/events/ws",
        server.base.replace("http://", "ws://")
    );
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_tasks_commands_and_approvals_from_the_events() {
    let model = ScriptedModel::new("scripted")
        .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
        .then_answer("All 1 pod of web is ready.")
        .then_call_tool(
            "run_kubectl",
            json!({"args": "scale deploy/web --replicas=3 -n shop"}),
        )
        .then_answer("Scaled web to 3 replicas.");
    let server = Setup::new(model).start().await;
    let read = server
        .submit(
            &server.alice,
            json!({"prompt": "is web healthy?", "skill": "ops"}),
        )
        .await;
    server.wait_status(&read, "succeeded").await;
    let scale = server
        .submit(
            &server.alice,
            json!({"prompt": "scale web to 3", "skill": "ops"}),
        )
        .await;
    let approval = server.pending_approval().await;
    let path = format!("/approvals/{}", approval["id"].as_str().unwrap());
    let (status, _) = server
        .post(
            &path,
            &server.bob,
            &json!({"decision": "deny", "reason": "not now"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    server.wait_status(&scale, "succeeded").await;
    let expected = [
        "kopilot_tasks_total{status=\"succeeded\"} 2",
        "kopilot_commands_total{risk=\"low\",decision=\"allowed\"} 1",
        "decision=\"denied\"} 1",
        "kopilot_approvals_total{outcome=\"denied\"} 1",
        "kopilot_tool_calls_total{tool=\"run_kubectl\",ok=\"true\"} 1",
        "kopilot_tool_calls_total{tool=\"run_kubectl\",ok=\"false\"} 1",
        "kopilot_task_duration_seconds_count 2",
        "kopilot_event_subscribers 0",
    ];
    let mut text = String::new();
    for _ in 0..200 {
        let response = server
            .http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "no token needed");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        text = response.text().await.unwrap();
        if expected.iter().all(|line| text.contains(line)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for line in expected {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    assert!(text.contains("# TYPE kopilot_task_duration_seconds histogram"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_served_and_names_every_route() {
    let server = Setup::new(read_and_answer()).start().await;
    let (status, doc) = server.get("/openapi.json", &server.viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    for (path, method) in [
        ("/tasks", "post"),
        ("/tasks", "get"),
        ("/tasks/history", "get"),
        ("/tasks/{id}", "get"),
        ("/tasks/{id}/cancel", "post"),
        ("/tasks/{id}/events", "get"),
        ("/tasks/{id}/events/ws", "get"),
        ("/approvals", "get"),
        ("/approvals/{id}", "get"),
        ("/approvals/{id}", "post"),
        ("/skills", "get"),
        ("/skills/portable", "get"),
        ("/.well-known/agent-manifest.json", "get"),
        ("/health", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let unauthenticated = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_the_configured_origins() {
    let mut setup = Setup::new(read_and_answer());
    setup.config.allowed_origins = vec!["https://console.example.com".to_owned()];
    let server = setup.start().await;
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/tasks"))
        .header("origin", "https://console.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://console.example.com"
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    let allowed = server
        .http
        .get(server.url("/skills"))
        .bearer_auth(&server.viewer)
        .header("origin", "https://console.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://console.example.com"
    );
    for origin in ["https://evil.example", "https://console.example.com.evil"] {
        let refused = server
            .http
            .request(reqwest::Method::OPTIONS, server.url("/tasks"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_ne!(refused.status(), StatusCode::NO_CONTENT, "{origin}");
        assert!(
            !refused
                .headers()
                .contains_key("access-control-allow-origin")
        );
    }
    // The server's own origin needs no CORS: the answer names no origin.
    let same = server
        .http
        .get(server.url("/skills"))
        .bearer_auth(&server.viewer)
        .header("origin", server.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    assert!(!same.headers().contains_key("access-control-allow-origin"));
    server.stop().await;
}
