//! `select_model` completes what the configuration leaves to the server: the context window
//! Ollama is told to use (its default would silently drop the start of a long conversation),
//! and the model an OpenAI-compatible server serves when `LLM_MODEL` is not set.

mod common;

use common::{OLLAMA, OPENAI_COMPATIBLE, fixture, request};
use kopilot_llm::{Error, ModelSelection, ProviderConfig, select_model};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(vars: &[(&str, &str)]) -> kopilot_llm::Result<ProviderConfig> {
    ProviderConfig::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

async fn model(config: &ProviderConfig) -> std::sync::Arc<dyn kopilot_llm::ChatModel> {
    match select_model(config).await.unwrap() {
        ModelSelection::Model(model) => model,
        ModelSelection::Unavailable { reason } => panic!("no model: {reason}"),
    }
}

/// The body of the one chat request `server` received.
async fn chat_body(server: &MockServer, chat_path: &str) -> Value {
    let requests = server.received_requests().await.unwrap();
    let chats: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == chat_path)
        .collect();
    assert_eq!(chats.len(), 1, "one chat request");
    serde_json::from_slice(&chats[0].body).unwrap()
}

/// An Ollama that shows `llama3.2` (trained for 131,072 tokens) and answers one chat.
async fn ollama(show_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/show"))
        .and(body_json(json!({"model": "llama3.2"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("ollama/show.json"), "application/json"),
        )
        .expect(show_calls)
        .mount(&server)
        .await;
    OLLAMA
        .chat_mock(false, OLLAMA.json_response(200, "text"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn ollama_is_sent_the_models_context_window_capped() {
    let server = ollama(1).await;
    let config = config(&[
        ("LLM_PROVIDER", "ollama"),
        ("OLLAMA_BASE_URL", &server.uri()),
        ("LLM_MODEL", "llama3.2"),
    ])
    .unwrap();
    assert_eq!(config.context_window(), None);
    model(&config).await.chat(&request()).await.unwrap();
    let body = chat_body(&server, "/api/chat").await;
    assert_eq!(
        body["options"]["num_ctx"],
        json!(kopilot_llm::OLLAMA_AUTO_CONTEXT_WINDOW),
        "{body:#}"
    );
}

#[tokio::test]
async fn ollama_num_ctx_wins_and_nothing_is_asked() {
    let server = ollama(0).await;
    let config = config(&[
        ("LLM_PROVIDER", "ollama"),
        ("OLLAMA_BASE_URL", &server.uri()),
        ("OLLAMA_NUM_CTX", "65536"),
    ])
    .unwrap();
    assert_eq!(config.context_window(), Some(65_536));
    model(&config).await.chat(&request()).await.unwrap();
    let body = chat_body(&server, "/api/chat").await;
    assert_eq!(body["options"]["num_ctx"], json!(65_536), "{body:#}");
}

#[tokio::test]
async fn a_bad_ollama_num_ctx_is_an_error_naming_it() {
    for value in ["lots", "-1", "100"] {
        let err = config(&[("LLM_PROVIDER", "ollama"), ("OLLAMA_NUM_CTX", value)]).unwrap_err();
        assert!(
            matches!(&err, Error::Config { setting, .. } if setting == "OLLAMA_NUM_CTX"),
            "{value}: {err:?}"
        );
    }
}

/// A llama.cpp-like server listing `models` at `/v1/models` and answering one chat.
async fn compatible(models: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    let data: Vec<Value> = models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_764_000_000, "owned_by": "llamacpp"}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": data})),
        )
        .mount(&server)
        .await;
    OPENAI_COMPATIBLE
        .chat_mock(false, OPENAI_COMPATIBLE.json_response(200, "text"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn openai_compatible_without_llm_model_uses_the_one_model_the_server_serves() {
    let server = compatible(&["SmolLM2-135M-Instruct-Q8_0.gguf"]).await;
    let config = config(&[
        ("LLM_PROVIDER", "openai_compatible"),
        ("OPENAI_BASE_URL", &format!("{}/v1", server.uri())),
    ])
    .unwrap();
    assert!(!config.model_given());
    let model = model(&config).await;
    assert_eq!(model.model(), "SmolLM2-135M-Instruct-Q8_0.gguf");
    model.chat(&request()).await.unwrap();
    let body = chat_body(&server, "/v1/chat/completions").await;
    assert_eq!(body["model"], "SmolLM2-135M-Instruct-Q8_0.gguf");
}

#[tokio::test]
async fn openai_compatible_serving_several_models_needs_llm_model_and_lists_them() {
    let server = compatible(&["qwen2.5-7b", "llama-3.1-8b"]).await;
    let base = format!("{}/v1", server.uri());
    let unnamed = config(&[
        ("LLM_PROVIDER", "openai_compatible"),
        ("OPENAI_BASE_URL", &base),
    ])
    .unwrap();
    let err = select_model(&unnamed).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("LLM_MODEL") && text.contains("qwen2.5-7b, llama-3.1-8b"),
        "{text}"
    );
    // Named, nothing is asked.
    let named = config(&[
        ("LLM_PROVIDER", "openai_compatible"),
        ("OPENAI_BASE_URL", &base),
        ("LLM_MODEL", "llama-3.1-8b"),
    ])
    .unwrap();
    assert_eq!(model(&named).await.model(), "llama-3.1-8b");
}

#[tokio::test]
async fn openai_compatible_at_a_wrong_url_says_so_instead_of_blaming_a_model() {
    let server = MockServer::start().await; // answers 404 to everything
    let err = select_model(
        &config(&[
            ("LLM_PROVIDER", "openai_compatible"),
            ("OPENAI_BASE_URL", &server.uri()),
        ])
        .unwrap(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("LLM_MODEL") && text.contains("base URL") && !text.contains("`default`"),
        "{text}"
    );
}
