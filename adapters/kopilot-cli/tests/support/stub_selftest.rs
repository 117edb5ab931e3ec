//! The stub checked through kopilot-llm's OpenAI provider, so a broken stub cannot pass for a
//! broken CLI: streamed text and tool calls, plain JSON completions, errors and routing.
//! Included by `ask_e2e.rs` only (`#[path]`), not by every test file that uses `support`.

use futures::StreamExt as _;
use kopilot_llm::{
    ChatRequest, Error, FinishReason, Message, ProviderConfig, ResponseCollector, ToolArguments,
    build_model,
};
use serde_json::json;

use super::support::{Recorded, Reply, Scenario, Script};

fn model(scenario: &Scenario) -> std::sync::Arc<dyn kopilot_llm::ChatModel> {
    let env: Vec<(String, String)> = scenario
        .environment()
        .into_iter()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let config = ProviderConfig::from_lookup(|name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("the scenario's environment configures the openai provider");
    build_model(&config).expect("the model builds")
}

#[test]
fn streamed_text_streamed_tool_calls_plain_json_and_errors_parse() {
    let scenario = Scenario::new().with_stub(
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
    );
    let model = model(&scenario);
    let request =
        ChatRequest::new(vec![Message::user("how is shop?")]).with_system("You are a test.");
    scenario.block_on(async {
        // 1. Streamed text, in several deltas, with usage.
        let mut stream = model.chat_stream(&request).await.expect("stream starts");
        let mut collector = ResponseCollector::new();
        let mut deltas = 0;
        while let Some(event) = stream.next().await {
            let event = event.expect("a valid stream event");
            if matches!(event, kopilot_llm::StreamEvent::TextDelta { .. }) {
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
        let calls =
            kopilot_llm::collect_stream(model.chat_stream(&request).await.expect("stream starts"))
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
            }) => {
                assert!(message.contains("The server had an error"), "{message}");
            }
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
    });
    let stub = scenario.stub();
    let streamed: Vec<bool> = stub.requests().iter().map(Recorded::streamed).collect();
    assert_eq!(streamed, [true, true, false, false, false]);
    assert!(stub.requests()[0].body["stream_options"]["include_usage"] == json!(true));
    assert_eq!(stub.requests()[0].system(), "You are a test.");
    assert_eq!(
        stub.requests()[2]
            .last_tool_result()
            .as_deref()
            .map(|t| t.contains("web-1")),
        Some(true)
    );
    assert!(stub.unanswered().is_empty() && stub.leftover().is_empty());
}

#[test]
fn routes_pick_replies_by_system_prompt_and_an_empty_route_answers_400() {
    let scenario = Scenario::new().with_stub(
        Script::new()
            .route("alpha", "You are alpha.", [Reply::text("from alpha")])
            .route("beta", "You are beta.", [Reply::text("from beta")]),
    );
    let model = model(&scenario);
    let ask = |system: &str| ChatRequest::new(vec![Message::user("hi")]).with_system(system);
    scenario.block_on(async {
        assert_eq!(
            model
                .chat(&ask("You are beta."))
                .await
                .expect("beta answers")
                .text,
            "from beta"
        );
        assert_eq!(
            model
                .chat(&ask("You are alpha."))
                .await
                .expect("alpha answers")
                .text,
            "from alpha"
        );
        match model.chat(&ask("You are alpha.")).await {
            Err(Error::Http {
                status: 400,
                message,
            }) => assert!(message.contains("no scripted reply"), "{message}"),
            other => panic!("expected a 400 for a route that ran dry, got {other:?}"),
        }
    });
    let routes: Vec<String> = scenario
        .stub()
        .requests()
        .iter()
        .map(|r| r.route.clone())
        .collect();
    assert_eq!(routes, ["beta", "alpha", "alpha"]);
    assert_eq!(scenario.stub().unanswered().len(), 1);
}
