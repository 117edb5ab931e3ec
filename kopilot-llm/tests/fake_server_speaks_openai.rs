//! `fake_server::FakeServer` checked through this crate's own OpenAI provider and raw HTTP, so
//! a broken fake cannot pass for a broken adapter: streamed text and tool calls, plain JSON
//! completions, payloads shaped like the recorded fixtures, errors, delays, routing, and a
//! script that runs out answering an error that says so.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kopilot_llm::fake_server::{
    CHAT_COMPLETIONS_PATH, FakeServer, RecordedRequest, Reply, Script, UNMATCHED,
};
use kopilot_llm::{
    ChatModel, ChatRequest, Error, FinishReason, Message, ProviderConfig, ProviderKind,
    ResponseCollector, StreamEvent, ToolArguments, Transport, build_model,
};
use serde_json::{Map, Value, json};

/// The OpenAI provider pointed at `server`, with no retries: a scripted failure shows at once.
fn model(server: &FakeServer) -> Arc<dyn ChatModel> {
    let config = ProviderConfig::builder(ProviderKind::OpenAi)
        .base_url(server.base_url())
        .api_key("test")
        .model("stub")
        .transport(Transport {
            max_retries: 0,
            ..common::fast_transport()
        })
        .build()
        .unwrap();
    build_model(&config).unwrap()
}

fn ask(system: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::user("how is shop?")]).with_system(system)
}

#[tokio::test]
async fn streamed_text_streamed_tool_calls_plain_json_and_errors_parse() {
    let server = FakeServer::start(
        Script::new().any([
            Reply::text("Hello! All 3 pods in shop are running, none restarting."),
            Reply::tool_calls([
                (
                    "run_kubectl",
                    json!({"args": ["get", "pods", "-n", "shop"]}),
                ),
                (
                    "analyze",
                    json!({"checks": ["cost.idle"], "namespace": "shop"}),
                ),
            ])
            .with_text("Let me check."),
            Reply::text("You ran it and got: {{last_tool_result}}"),
            Reply::server_error(),
            Reply::delegate("troubleshooting", "look at shop"),
        ]),
    )
    .await
    .unwrap();
    let model = model(&server);
    let request = ask("You are a test.");

    // 1. Streamed text, in several deltas, with usage.
    let mut stream = model.chat_stream(&request).await.expect("stream starts");
    let mut collector = ResponseCollector::new();
    let mut deltas = 0;
    while let Some(event) = stream.next().await {
        let event = event.expect("a valid stream event");
        if matches!(event, StreamEvent::TextDelta { .. }) {
            deltas += 1;
        }
        collector.push(event).expect("events fold");
    }
    let text = collector.finish().expect("a complete answer");
    assert_eq!(
        text.text,
        "Hello! All 3 pods in shop are running, none restarting."
    );
    assert_eq!(text.finish_reason, FinishReason::Stop);
    assert!(deltas >= 3, "the text came in {deltas} deltas");
    assert!(
        text.usage
            .is_some_and(|u| u.input_tokens > 0 && u.output_tokens > 0)
    );

    // 2. Streamed tool calls, arguments split over chunks, kept apart.
    let calls = kopilot_llm::collect_stream(model.chat_stream(&request).await.unwrap())
        .await
        .expect("tool calls fold");
    assert_eq!(calls.finish_reason, FinishReason::ToolCalls);
    assert_eq!(calls.text, "Let me check.");
    let names: Vec<&str> = calls.tool_calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["run_kubectl", "analyze"]);
    assert_eq!(
        calls.tool_calls[0].arguments,
        ToolArguments::Valid(json!({"args": ["get", "pods", "-n", "shop"]}))
    );
    assert_eq!(
        calls.tool_calls[1].arguments,
        ToolArguments::Valid(json!({"checks": ["cost.idle"], "namespace": "shop"}))
    );
    assert_ne!(calls.tool_calls[0].id, calls.tool_calls[1].id);

    // 3. A tool round trip, not streamed: the answer quotes the tool result.
    let call = calls.tool_calls[0].clone();
    let round_trip = ChatRequest::new(vec![
        Message::user("how is shop?"),
        calls.to_message(),
        Message::tool_result(&call, "NAME READY STATUS\nweb-1 1/1 Running"),
    ]);
    let quoted = model.chat(&round_trip).await.expect("a complete answer");
    assert_eq!(
        quoted.text,
        "You ran it and got: NAME READY STATUS\nweb-1 1/1 Running"
    );
    assert_eq!(quoted.finish_reason, FinishReason::Stop);

    // 4. An HTTP 500 with OpenAI's error body is a typed error with its message.
    match model.chat(&request).await {
        Err(Error::Http {
            status: 500,
            message,
        }) => assert!(message.contains("The server had an error"), "{message}"),
        other => panic!("expected HTTP 500, got {other:?}"),
    }

    // 5. A tool call in one JSON completion.
    let whole = model.chat(&request).await.expect("a tool call parses");
    assert_eq!(whole.finish_reason, FinishReason::ToolCalls);
    assert_eq!(whole.tool_calls.len(), 1);
    assert_eq!(whole.tool_calls[0].name, "delegate");
    assert_eq!(
        whole.tool_calls[0].arguments,
        ToolArguments::Valid(json!({"skill": "troubleshooting", "task": "look at shop"}))
    );

    let requests = server.requests();
    let streamed: Vec<bool> = requests.iter().map(RecordedRequest::streamed).collect();
    assert_eq!(streamed, [true, true, false, false, false]);
    assert!(requests[0].body["stream_options"]["include_usage"] == json!(true));
    assert_eq!(requests[0].system(), "You are a test.");
    assert_eq!(requests[0].user_text(), "how is shop?");
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer test"));
    assert_eq!(requests[0].path, CHAT_COMPLETIONS_PATH);
    assert_eq!(requests[0].body["model"], "stub");
    assert_eq!(
        requests[2]
            .last_tool_result()
            .as_deref()
            .map(|t| t.contains("web-1")),
        Some(true)
    );
    assert!(server.unanswered().is_empty() && server.leftover().is_empty());
}

#[tokio::test]
async fn routes_pick_replies_by_system_prompt_and_an_empty_route_answers_400() {
    let server = FakeServer::start(
        Script::new()
            .route("alpha", "You are alpha.", [Reply::text("from alpha")])
            .route("beta", "You are beta.", [Reply::text("from beta")]),
    )
    .await
    .unwrap();
    let model = model(&server);
    assert_eq!(
        model.chat(&ask("You are beta.")).await.unwrap().text,
        "from beta"
    );
    assert_eq!(
        model.chat(&ask("You are alpha.")).await.unwrap().text,
        "from alpha"
    );
    match model.chat(&ask("You are alpha.")).await {
        Err(Error::Http {
            status: 400,
            message,
        }) => assert!(
            message.contains("no scripted reply")
                && message.contains("`alpha` has no replies left"),
            "{message}"
        ),
        other => panic!("expected a 400 for a route that ran dry, got {other:?}"),
    }
    match model.chat(&ask("You are gamma.")).await {
        Err(Error::Http {
            status: 400,
            message,
        }) => assert!(
            message.contains("no route matches") && message.contains("You are gamma."),
            "{message}"
        ),
        other => panic!("expected a 400 for a request no route takes, got {other:?}"),
    }
    let routes: Vec<String> = server.requests().into_iter().map(|r| r.route).collect();
    assert_eq!(routes, ["beta", "alpha", "alpha", UNMATCHED]);
    assert_eq!(server.unanswered().len(), 2);
    assert_eq!(server.requests_for("alpha").len(), 2);
    assert!(server.leftover().is_empty());
}

#[tokio::test]
async fn leftover_replies_are_counted_per_route() {
    let server = FakeServer::start(
        Script::new()
            .route("alpha", "alpha", [Reply::text("1"), Reply::text("2")])
            .any_named("rest", [Reply::text("3")]),
    )
    .await
    .unwrap();
    model(&server).chat(&ask("I am alpha")).await.unwrap();
    assert_eq!(
        server.leftover(),
        [("alpha".to_owned(), 1), ("rest".to_owned(), 1)]
    );
}

#[tokio::test]
async fn a_delayed_reply_waits_before_answering() {
    let server = FakeServer::start(Script::new().any([
        Reply::text("slow").after(Duration::from_millis(300)),
        Reply::text("fast"),
    ]))
    .await
    .unwrap();
    let model = model(&server);
    let started = Instant::now();
    assert_eq!(model.chat(&ask("s")).await.unwrap().text, "slow");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(model.chat(&ask("s")).await.unwrap().text, "fast");
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn scripted_errors_are_the_typed_errors_of_their_status() {
    let server = FakeServer::start(Script::new().any([
        Reply::error(
            401,
            "Incorrect API key provided.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        Reply::error(429, "Rate limit reached.", "requests", None).with_text("ignored"),
    ]))
    .await
    .unwrap();
    let model = model(&server);
    assert!(
        matches!(model.chat(&ask("s")).await, Err(Error::Authentication { message, .. })
            if message.contains("Incorrect API key")),
    );
    assert!(
        matches!(model.chat(&ask("s")).await, Err(Error::RateLimited { message, .. })
            if message.contains("Rate limit reached")),
    );
}

// ---------------------------------------------------------------------------------------------
// The raw wire: shaped like the recorded payloads, a wrong path and a body that is not JSON.

/// The structure of a JSON value: objects by their keys, arrays by their first item, scalars
/// (null included) as `_`.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        _ => json!("_"),
    }
}

fn sse_shapes(body: &str) -> Vec<Value> {
    let mut shapes: Vec<Value> = Vec::new();
    for data in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let item = if data == "[DONE]" {
            json!("[DONE]")
        } else {
            shape(&serde_json::from_str(data).unwrap())
        };
        if !shapes.contains(&item) {
            shapes.push(item);
        }
    }
    shapes
}

async fn post(server: &FakeServer, path: &str, body: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{}{path}", server.addr()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn payloads_are_shaped_like_the_recorded_fixtures() {
    let call = || {
        Reply::tool_call("run_kubectl", json!({"args": "get pods -n shop"}))
            .with_text("Let me check the pods.")
    };
    let server = FakeServer::start(Script::new().any([call(), call()]))
        .await
        .unwrap();
    let request = |stream: bool| {
        json!({"model": "gpt-4o-mini", "stream": stream,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "pods?"}]})
        .to_string()
    };
    let whole: Value = post(&server, CHAT_COMPLETIONS_PATH, request(false))
        .await
        .json()
        .await
        .unwrap();
    let recorded: Value = serde_json::from_str(&common::fixture("openai/tool_call.json")).unwrap();
    assert_eq!(shape(&whole), shape(&recorded), "{whole:#}");

    let streamed = post(&server, CHAT_COMPLETIONS_PATH, request(true)).await;
    assert_eq!(
        streamed.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let streamed = streamed.text().await.unwrap();
    assert_eq!(
        sse_shapes(&streamed),
        sse_shapes(&common::fixture("openai/tool_call.sse")),
        "{streamed}"
    );
}

#[tokio::test]
async fn a_wrong_path_gets_openais_404_and_a_body_that_is_not_json_a_400() {
    let server = FakeServer::start(Script::new().any([Reply::text("unused")]))
        .await
        .unwrap();
    let wrong = post(&server, "/v1/completions", "{}".to_owned()).await;
    assert_eq!(wrong.status(), 404);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Invalid URL (POST /v1/completions)"
    );
    let garbled = post(&server, CHAT_COMPLETIONS_PATH, "{not json".to_owned()).await;
    assert_eq!(garbled.status(), 400);
    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| !r.answered && r.body.is_null()));
    assert_eq!(recorded[0].route, UNMATCHED);
    assert_eq!(recorded[0].path, "/v1/completions");
    // Neither took the scripted reply.
    assert_eq!(server.leftover(), [("any".to_owned(), 1)]);
}

#[tokio::test]
async fn bind_serves_on_the_given_address_and_shutdown_stops_it() {
    let server = FakeServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Script::new().any([Reply::text("hi")]),
    )
    .await
    .unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    assert_eq!(server.base_url(), format!("http://{addr}/v1"));
    assert_eq!(model(&server).chat(&ask("s")).await.unwrap().text, "hi");
    server.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}
