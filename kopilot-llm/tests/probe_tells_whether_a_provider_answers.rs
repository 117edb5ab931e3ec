//! `probe` checks that a provider answers (and takes our key) without generating anything.

mod common;

use common::{ANTHROPIC, GEMINI, OLLAMA, OPENAI_COMPATIBLE};
use kopilot_llm::{Error, probe};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An Ollama that answers its version once.
async fn running_ollama() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/version"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"version":"0.12.6"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_running_ollama_answers_its_version() {
    let server = running_ollama().await;
    probe(&OLLAMA.config_for(&server.uri())).await.unwrap();
}

#[tokio::test]
async fn no_ollama_running_is_a_connection_error() {
    let error = probe(&OLLAMA.config_for(&closed_port_url()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connection { .. }), "{error:?}");
}

#[tokio::test]
async fn other_providers_list_their_models_with_our_key() {
    for (provider, models_path, key_header) in [
        (OPENAI_COMPATIBLE, "/v1/models", None),
        (
            ANTHROPIC,
            "/v1/models",
            Some(("x-api-key", "sk-ant-test-0123456789")),
        ),
        (
            GEMINI,
            "/v1beta/models",
            Some(("x-goog-api-key", "AIza-test-0123456789")),
        ),
    ] {
        let server = MockServer::start().await;
        let mut mock = Mock::given(method("GET")).and(path(models_path));
        if let Some((name, value)) = key_header {
            mock = mock.and(header(name, value));
        }
        mock.respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"data":[]}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
        probe(&provider.config_for(&server.uri())).await.unwrap();
    }
}

#[tokio::test]
async fn a_rejected_key_fails_the_probe() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ANTHROPIC.json_response(401, "error_401"))
        .mount(&server)
        .await;
    let error = probe(&ANTHROPIC.config_for(&server.uri()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Authentication { .. }), "{error:?}");
}

/// A URL where nothing listens (the port was free a moment ago).
fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn nothing_configured_and_no_ollama_means_no_model_with_the_reason() {
    use kopilot_llm::{ModelSelection, ProviderConfig, select_model};
    let url = closed_port_url();
    let config =
        ProviderConfig::from_lookup(|name| (name == "OLLAMA_BASE_URL").then(|| url.clone()))
            .unwrap();
    match select_model(&config).await.unwrap() {
        ModelSelection::Unavailable { reason } => {
            assert!(reason.contains("LLM_PROVIDER"), "{reason}");
            assert!(reason.contains(&url), "{reason}");
        }
        other @ ModelSelection::Model(_) => panic!("expected no model, got {other:?}"),
    }
}

#[tokio::test]
async fn nothing_configured_and_a_running_ollama_selects_it() {
    use kopilot_llm::{ModelSelection, ProviderConfig, select_model};
    let server = running_ollama().await;
    let uri = server.uri();
    let config =
        ProviderConfig::from_lookup(|name| (name == "OLLAMA_BASE_URL").then(|| uri.clone()))
            .unwrap();
    assert!(matches!(
        select_model(&config).await.unwrap(),
        ModelSelection::Model(_)
    ));
}

#[tokio::test]
async fn an_explicit_provider_is_never_replaced_by_offline_mode() {
    use kopilot_llm::{ModelSelection, ProviderConfig, select_model};
    // Nothing listens there, but the user asked for this provider: its failure must surface
    // at the first call, not turn into a silent fallback.
    let url = closed_port_url();
    let config = ProviderConfig::from_lookup(|name| match name {
        "LLM_PROVIDER" => Some("ollama".to_owned()),
        "OLLAMA_BASE_URL" => Some(url.clone()),
        _ => None,
    })
    .unwrap();
    assert!(matches!(
        select_model(&config).await.unwrap(),
        ModelSelection::Model(_)
    ));
}
