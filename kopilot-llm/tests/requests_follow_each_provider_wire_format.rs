//! What we send: path, query, headers and body, per provider, as documented.

mod common;

use common::{
    ANTHROPIC, AZURE_OPENAI, GEMINI, OLLAMA, OPENAI, OPENAI_COMPATIBLE, Provider, only_request,
};
use kopilot_llm::{ChatRequest, Message, collect_stream};
use serde_json::{Value, json};

const RESULT: &str = "NAME STATUS\nshop Active";

fn openai_tools() -> Value {
    let tools: Vec<Value> = common::tools()
        .into_iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    Value::Array(tools)
}

fn openai_messages() -> Value {
    json!([
        {"role": "system", "content": "You are Kopilot."},
        {"role": "user", "content": "How are the pods in shop?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_prev_1", "type": "function", "function": {"name": "run_kubectl", "arguments": "{\"args\":\"get ns\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_prev_1", "content": RESULT},
        {"role": "user", "content": "And now?"}
    ])
}

/// Sends the standard request streamed (and whole), returns what the server received.
async fn sent(provider: Provider, stream: bool) -> (wiremock::Request, Value) {
    let response = if stream {
        provider.stream_response("text")
    } else {
        provider.json_response(200, "text")
    };
    let (server, model) = provider.serve(stream, response).await;
    if stream {
        collect_stream(model.chat_stream(&common::request()).await.unwrap())
            .await
            .unwrap();
    } else {
        model.chat(&common::request()).await.unwrap();
    }
    only_request(&server).await
}

fn header<'a>(request: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn openai_sends_chat_completions_with_bearer_key_and_usage_option() {
    let (request, body) = sent(OPENAI, true).await;
    assert_eq!(request.url.path(), "/v1/chat/completions");
    assert_eq!(
        header(&request, "authorization"),
        Some("Bearer sk-test-0123456789abcdef")
    );
    assert_eq!(
        body,
        json!({
            "model": "gpt-4o-mini",
            "messages": openai_messages(),
            "tools": openai_tools(),
            "temperature": 0.25,
            "max_completion_tokens": 256,
            "stop": ["</done>"],
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
    let (_, whole) = sent(OPENAI, false).await;
    assert_eq!(whole["stream"], json!(false));
    assert!(whole.get("stream_options").is_none());
}

#[tokio::test]
async fn openai_compatible_servers_get_max_tokens_and_no_auth_header() {
    let (request, body) = sent(OPENAI_COMPATIBLE, true).await;
    assert_eq!(
        request.url.path(),
        "/v1/chat/completions",
        "a bare base URL means /v1"
    );
    assert_eq!(header(&request, "authorization"), None);
    assert_eq!(body["model"], json!("smollm2"));
    assert_eq!(body["max_tokens"], json!(256));
    assert!(body.get("max_completion_tokens").is_none());
    assert_eq!(body["messages"], openai_messages());
}

#[tokio::test]
async fn azure_uses_the_deployment_url_api_version_and_api_key_header() {
    let (request, body) = sent(AZURE_OPENAI, true).await;
    assert_eq!(
        request.url.path(),
        "/openai/deployments/kopilot-gpt4o/chat/completions"
    );
    assert_eq!(request.url.query(), Some("api-version=2024-10-21"));
    assert_eq!(
        header(&request, "api-key"),
        Some("azure-test-key-0123456789")
    );
    assert_eq!(header(&request, "authorization"), None);
    assert!(
        body.get("model").is_none(),
        "the deployment names the model"
    );
    assert_eq!(body["messages"], openai_messages());
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn ollama_sends_native_chat_with_object_arguments_and_options() {
    let (request, body) = sent(OLLAMA, true).await;
    assert_eq!(request.url.path(), "/api/chat");
    assert_eq!(
        body,
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "You are Kopilot."},
                {"role": "user", "content": "How are the pods in shop?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"function": {"name": "run_kubectl", "arguments": {"args": "get ns"}}}
                ]},
                {"role": "tool", "tool_name": "run_kubectl", "content": RESULT},
                {"role": "user", "content": "And now?"}
            ],
            "tools": openai_tools(),
            "stream": true,
            "options": {"temperature": 0.25, "num_predict": 256, "stop": ["</done>"]}
        })
    );
    // Ollama streams by default: a whole answer must be asked for.
    let (_, whole) = sent(OLLAMA, false).await;
    assert_eq!(whole["stream"], json!(false));
}

#[tokio::test]
async fn anthropic_sends_messages_with_blocks_version_and_key() {
    let (request, body) = sent(ANTHROPIC, true).await;
    assert_eq!(request.url.path(), "/v1/messages");
    assert_eq!(
        header(&request, "x-api-key"),
        Some("sk-ant-test-0123456789")
    );
    assert_eq!(header(&request, "anthropic-version"), Some("2023-06-01"));
    let tools: Vec<Value> = common::tools()
        .into_iter()
        .map(
            |t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}),
        )
        .collect();
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "system": "You are Kopilot.",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "How are the pods in shop?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_prev_1", "name": "run_kubectl", "input": {"args": "get ns"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_prev_1", "content": RESULT},
                    {"type": "text", "text": "And now?"}
                ]}
            ],
            "tools": tools,
            "temperature": 0.25,
            "stop_sequences": ["</done>"],
            "stream": true
        })
    );
}

#[tokio::test]
async fn anthropic_marks_failed_tool_results_and_always_sends_max_tokens() {
    let (server, model) = ANTHROPIC
        .serve(false, ANTHROPIC.json_response(200, "text"))
        .await;
    let call = common::previous_call();
    let request = ChatRequest::new(vec![
        Message::user("go"),
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![call.clone()],
        },
        Message::tool_error(&call, "arguments were not valid JSON"),
    ]);
    model.chat(&request).await.unwrap();
    let (_, body) = only_request(&server).await;
    assert_eq!(body["max_tokens"], json!(4096));
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "call_prev_1", "content": "arguments were not valid JSON", "is_error": true})
    );
}

#[tokio::test]
async fn gemini_sends_contents_system_instruction_and_translated_schemas() {
    let (request, body) = sent(GEMINI, true).await;
    assert_eq!(
        request.url.path(),
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(request.url.query(), Some("alt=sse"));
    assert_eq!(
        header(&request, "x-goog-api-key"),
        Some("AIza-test-0123456789")
    );
    assert!(
        !request.url.as_str().contains("AIza"),
        "the key never goes in the URL"
    );
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "You are Kopilot."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "How are the pods in shop?"}]},
                {"role": "model", "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "run_kubectl", "args": {"args": "get ns"}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "run_kubectl", "response": {"content": RESULT}}},
                    {"text": "And now?"}
                ]}
            ],
            "tools": [{"functionDeclarations": [
                {"name": "run_kubectl", "description": "Run a read-only kubectl command", "parameters": {
                    "type": "object",
                    "properties": {"args": {"type": "string", "description": "kubectl arguments"}},
                    "required": ["args"]
                }},
                {"name": "analyze", "description": "Run a cluster analyzer", "parameters": {
                    "type": "object",
                    "properties": {
                        "analyzer": {"type": "string", "enum": ["orphaned_pvcs", "overprovisioned"]},
                        "namespace": {"type": "string", "nullable": true}
                    },
                    "required": ["analyzer"]
                }}
            ]}],
            "generationConfig": {"temperature": 0.25, "maxOutputTokens": 256, "stopSequences": ["</done>"]}
        })
    );
    let (whole, _) = sent(GEMINI, false).await;
    assert_eq!(
        whole.url.path(),
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

/// Gemini's thought signature comes back on the function call and must be sent back
/// unchanged on the same part in the next request.
#[tokio::test]
async fn gemini_thought_signatures_are_echoed_back() {
    let (_s, model) = GEMINI
        .serve(true, GEMINI.stream_response("tool_call"))
        .await;
    let first = collect_stream(model.chat_stream(&common::request()).await.unwrap())
        .await
        .unwrap();
    let call = first.tool_calls[0].clone();
    assert_eq!(
        call.provider_data,
        Some(json!({"thoughtSignature": "CiQB0e2Kb6Vr2Hc9cq1/yxJ8e8fGzCkI3S8FpkVHjSFu3ht7fM8="}))
    );

    let (server, model) = GEMINI.serve(false, GEMINI.json_response(200, "text")).await;
    let follow_up = ChatRequest::new(vec![
        Message::user("How are the pods in shop?"),
        first.to_message(),
        Message::tool_error(&call, "kubectl: connection refused"),
    ]);
    model.chat(&follow_up).await.unwrap();
    let (_, body) = only_request(&server).await;
    assert_eq!(
        body["contents"][1]["parts"][1],
        json!({
            "functionCall": {"name": "run_kubectl", "args": {"args": "get pods -n shop"}},
            "thoughtSignature": "CiQB0e2Kb6Vr2Hc9cq1/yxJ8e8fGzCkI3S8FpkVHjSFu3ht7fM8="
        })
    );
    assert_eq!(
        body["contents"][2]["parts"][0],
        json!({"functionResponse": {"name": "run_kubectl", "response": {"error": "kubectl: connection refused"}}})
    );
}

#[tokio::test]
async fn base_urls_with_version_suffixes_are_accepted() {
    for (provider, suffix, expected) in [
        (ANTHROPIC, "/v1", "/v1/messages"),
        (
            GEMINI,
            "/v1beta",
            "/v1beta/models/gemini-2.5-flash:generateContent",
        ),
        (OPENAI_COMPATIBLE, "/v1/", "/v1/chat/completions"),
    ] {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path(expected))
            .respond_with(provider.json_response(200, "text"))
            .expect(1)
            .mount(&server)
            .await;
        let model = provider.model_for(&format!("{}{suffix}", server.uri()));
        model.chat(&common::request()).await.unwrap();
    }
}
