//! Each provider's documented error answers become errors a user can act on, and none of
//! them is retried or leaks the key.

mod common;

use common::{ALL, OPENAI_COMPATIBLE, Provider};
use kopilot_llm::{Error, ProviderKind};
use wiremock::ResponseTemplate;

/// The status each provider answers a bad key with (Gemini says 400 `API_KEY_INVALID`).
fn auth_status(provider: &Provider) -> u16 {
    if provider.kind == ProviderKind::Gemini {
        400
    } else {
        401
    }
}

async fn failing(provider: Provider, stream: bool, status: u16, fixture: &str) -> (Error, usize) {
    let server = wiremock::MockServer::start().await;
    provider
        .chat_mock(stream, provider.json_response(status, fixture))
        .mount(&server)
        .await;
    let model = provider.model_for(&server.uri());
    let error = if stream {
        model
            .chat_stream(&common::request())
            .await
            .err()
            .expect("the stream must not start")
    } else {
        model.chat(&common::request()).await.unwrap_err()
    };
    (error, server.received_requests().await.unwrap().len())
}

#[tokio::test]
async fn a_rejected_key_is_an_authentication_error_without_retries() {
    for provider in ALL {
        for stream in [false, true] {
            let (error, attempts) =
                failing(provider, stream, auth_status(&provider), "error_401").await;
            assert!(
                matches!(error, Error::Authentication { .. }),
                "{:?}: {error:?}",
                provider.kind
            );
            assert_eq!(
                attempts, 1,
                "{:?}: authentication errors are not retried",
                provider.kind
            );
            if let Some(key) = provider.api_key {
                assert!(!error.to_string().contains(key), "{error}");
                assert!(!format!("{error:?}").contains(key), "{error:?}");
            }
        }
    }
}

#[tokio::test]
async fn an_unknown_model_is_model_not_found_naming_model_and_url() {
    for provider in ALL {
        let (error, attempts) = failing(provider, false, 404, "error_404").await;
        let Error::ModelNotFound {
            model,
            url,
            message,
        } = &error
        else {
            panic!("{:?}: {error:?}", provider.kind)
        };
        assert_eq!(model, provider.model);
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(!message.is_empty());
        assert_eq!(attempts, 1);
    }
}

#[tokio::test]
async fn context_overflow_is_context_too_long() {
    for provider in ALL.into_iter().filter(|p| p.has_context_error) {
        for stream in [false, true] {
            let (error, attempts) = failing(provider, stream, 400, "error_context").await;
            assert!(
                matches!(error, Error::ContextTooLong { .. }),
                "{:?}: {error:?}",
                provider.kind
            );
            assert_eq!(attempts, 1);
        }
    }
    // llama.cpp's server answers with its own error type.
    let (error, _) = failing(OPENAI_COMPATIBLE, true, 400, "llama_cpp_context").await;
    let Error::ContextTooLong { message } = error else {
        panic!("{error:?}")
    };
    assert!(
        message.contains("exceeds the available context size"),
        "{message}"
    );
}

#[tokio::test]
async fn other_client_errors_keep_status_and_message_and_are_not_retried() {
    for provider in ALL {
        let server = wiremock::MockServer::start().await;
        let body =
            r#"{"error":{"message":"tools[0].name: invalid","type":"invalid_request_error"}}"#;
        provider
            .chat_mock(
                false,
                ResponseTemplate::new(422).set_body_raw(body, "application/json"),
            )
            .mount(&server)
            .await;
        let error = provider
            .model_for(&server.uri())
            .chat(&common::request())
            .await
            .unwrap_err();
        let Error::Http { status, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*status, 422);
        assert_eq!(message, "tools[0].name: invalid");
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn an_unparseable_success_is_invalid_response_with_an_excerpt() {
    for provider in ALL {
        let body = "<html><body>502 Bad Gateway from a proxy</body></html>";
        let (_s, model) = provider
            .serve(
                false,
                ResponseTemplate::new(200).set_body_raw(body, "text/html"),
            )
            .await;
        let error = model.chat(&common::request()).await.unwrap_err();
        let Error::InvalidResponse { excerpt, .. } = &error else {
            panic!("{error:?}")
        };
        assert!(excerpt.contains("502 Bad Gateway"), "{excerpt}");
    }
}

#[tokio::test]
async fn a_404_that_names_no_model_is_a_wrong_url_not_a_missing_model() {
    for provider in ALL {
        for body in ["", "<html><body>404 page not found</body></html>"] {
            let server = wiremock::MockServer::start().await;
            provider
                .chat_mock(false, ResponseTemplate::new(404).set_body_string(body))
                .mount(&server)
                .await;
            let error = provider
                .model_for(&server.uri())
                .chat(&common::request())
                .await
                .unwrap_err();
            assert!(
                matches!(&error, Error::NotFound { url, .. } if url.starts_with("http://127.0.0.1:")),
                "{:?}: {error:?}",
                provider.kind
            );
            assert!(error.to_string().contains("base URL"), "{error}");
            assert!(!error.to_string().contains("not found at"), "{error}");
        }
    }
}
