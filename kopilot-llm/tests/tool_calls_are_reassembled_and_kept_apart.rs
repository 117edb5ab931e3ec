//! Tool calls: one or several per turn, arguments split across chunks, invalid arguments
//! reported per call, and servers that repeat ids and names in every delta.

mod common;

use common::{
    ALL, ANTHROPIC, Ending, OPENAI, OPENAI_COMPATIBLE, assert_one_tool_call,
    assert_parallel_tool_calls, raw_stream_server,
};
use kopilot_llm::{StreamEvent, ToolArguments, collect_stream};
use serde_json::json;

#[tokio::test]
async fn one_tool_call_is_parsed_streamed_and_whole() {
    for provider in ALL {
        let (_s, model) = provider
            .serve(true, provider.stream_response("tool_call"))
            .await;
        let folded = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        assert_one_tool_call(&provider, &folded.unwrap());

        let (_s, model) = provider
            .serve(false, provider.json_response(200, "tool_call"))
            .await;
        assert_one_tool_call(&provider, &model.chat(&common::request()).await.unwrap());
    }
}

#[tokio::test]
async fn two_parallel_calls_stay_apart() {
    for provider in ALL {
        let (_s, model) = provider
            .serve(true, provider.stream_response("parallel_tool_calls"))
            .await;
        let folded = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        assert_parallel_tool_calls(&provider, &folded.unwrap());

        let (_s, model) = provider
            .serve(false, provider.json_response(200, "parallel_tool_calls"))
            .await;
        assert_parallel_tool_calls(&provider, &model.chat(&common::request()).await.unwrap());
    }
}

#[tokio::test]
async fn streamed_arguments_arrive_as_fragments_of_the_right_call() {
    for provider in [OPENAI, ANTHROPIC] {
        let (_s, model) = provider
            .serve(true, provider.stream_response("parallel_tool_calls"))
            .await;
        let (events, error) =
            common::drain(model.chat_stream(&common::request()).await.unwrap()).await;
        assert!(error.is_none());
        let fragments = |wanted: usize| {
            events
                .iter()
                .filter_map(|e| match e {
                    StreamEvent::ToolCallArgumentsDelta { index, fragment } if *index == wanted => {
                        Some(fragment.as_str())
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert!(
            fragments(0).len() >= 3,
            "{:?}: {:?}",
            provider.kind,
            fragments(0)
        );
        assert_eq!(fragments(0).concat(), r#"{"args": "get deploy -n shop"}"#);
        assert_eq!(
            fragments(1).concat(),
            r#"{"analyzer": "orphaned_pvcs", "namespace": "shop"}"#
        );
    }
}

#[tokio::test]
async fn invalid_arguments_fail_only_their_own_call() {
    for provider in ALL.into_iter().filter(|p| p.has_invalid_arguments) {
        let (_s, model) = provider
            .serve(true, provider.stream_response("invalid_arguments"))
            .await;
        let response = collect_stream(model.chat_stream(&common::request()).await.unwrap())
            .await
            .unwrap();
        assert_eq!(response.tool_calls.len(), 2, "{:?}", provider.kind);
        assert_eq!(
            response.tool_calls[0].arguments,
            ToolArguments::Valid(json!({"args": "get pods"}))
        );
        let ToolArguments::Invalid { raw, error } = &response.tool_calls[1].arguments else {
            panic!(
                "{:?}: the second call's arguments must be invalid",
                provider.kind
            );
        };
        assert_eq!(raw, r#"{"args": "get pods -n shop""#);
        assert!(error.contains("EOF"), "{error}");
    }
    let (_s, model) = OPENAI
        .serve(false, OPENAI.json_response(200, "invalid_arguments"))
        .await;
    let response = model.chat(&common::request()).await.unwrap();
    assert!(matches!(
        response.tool_calls[0].arguments,
        ToolArguments::Valid(_)
    ));
    assert!(matches!(
        response.tool_calls[1].arguments,
        ToolArguments::Invalid { .. }
    ));
}

/// llama-cpp-python repeats `id`, `type` and `function.name` in every delta and adds a
/// legacy `function_call`; the name must not become `run_kubectlrun_kubectl…`.
#[tokio::test]
async fn repeated_names_from_llama_cpp_python_are_not_concatenated() {
    let response = wiremock::ResponseTemplate::new(200).set_body_raw(
        common::fixture("openai/llama_cpp_python_tool_call.sse"),
        "text/event-stream",
    );
    let (_s, model) = OPENAI_COMPATIBLE.serve(true, response).await;
    let response = collect_stream(model.chat_stream(&common::request()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(response.tool_calls.len(), 1);
    assert_eq!(response.tool_calls[0].name, "run_kubectl");
    assert_eq!(
        response.tool_calls[0].arguments,
        ToolArguments::Valid(json!({"args": "get pods -n shop"}))
    );
    assert_eq!(response.usage, None);
}

/// The same answers delivered a few bytes at a time (lines and UTF-8 split across reads).
#[tokio::test]
async fn answers_trickled_in_tiny_pieces_parse_the_same() {
    for provider in ALL {
        let (url, _closed) = raw_stream_server(
            provider.stream_fixture("tool_call"),
            provider.stream_content_type,
            7,
            Ending::Complete,
        )
        .await;
        let model = provider.model_for(&url);
        let response = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        assert_one_tool_call(&provider, &response.unwrap());
    }
}
