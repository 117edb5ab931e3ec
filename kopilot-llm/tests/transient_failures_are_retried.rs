//! 429, 5xx and connection failures are retried with backoff, honouring Retry-After, a
//! bounded number of times.

mod common;

use std::time::Duration;

use common::{ALL, OLLAMA, OPENAI, Provider, assert_text};
use kopilot_llm::{Error, ProviderConfig, Transport, build_model, collect_stream};
use wiremock::{MockServer, ResponseTemplate};

/// A server that fails once with `failure`, then answers `text`.
async fn fail_once_then_succeed(
    provider: Provider,
    stream: bool,
    failure: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    provider
        .chat_mock(stream, failure)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let success = if stream {
        provider.stream_response("text")
    } else {
        provider.json_response(200, "text")
    };
    provider
        .chat_mock(stream, success)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn answer(
    provider: Provider,
    server: &MockServer,
    stream: bool,
) -> kopilot_llm::Result<kopilot_llm::ChatResponse> {
    let model = provider.model_for(&server.uri());
    if stream {
        collect_stream(model.chat_stream(&common::request()).await?).await
    } else {
        model.chat(&common::request()).await
    }
}

#[tokio::test]
async fn a_rate_limit_with_retry_after_is_waited_out_then_retried() {
    for provider in ALL {
        for stream in [false, true] {
            let failure = provider
                .json_response(429, "error_429")
                .insert_header("retry-after", "0");
            let server = fail_once_then_succeed(provider, stream, failure).await;
            assert_text(&answer(provider, &server, stream).await.unwrap());
            assert_eq!(
                server.received_requests().await.unwrap().len(),
                2,
                "{:?}",
                provider.kind
            );
        }
    }
}

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    for provider in ALL {
        for stream in [false, true] {
            let server =
                fail_once_then_succeed(provider, stream, provider.json_response(500, "error_500"))
                    .await;
            assert_text(&answer(provider, &server, stream).await.unwrap());
            assert_eq!(server.received_requests().await.unwrap().len(), 2);
        }
    }
}

#[tokio::test]
async fn retries_stop_after_the_configured_number() {
    for provider in ALL {
        let server = MockServer::start().await;
        provider
            .chat_mock(false, provider.json_response(503, "error_500"))
            .mount(&server)
            .await;
        let error = answer(provider, &server, false).await.unwrap_err();
        let Error::Http { status, .. } = error else {
            panic!("{error:?}")
        };
        assert_eq!(status, 503);
        // max_retries = 2: three attempts in all.
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            3,
            "{:?}",
            provider.kind
        );
    }
}

#[tokio::test]
async fn exhausted_rate_limits_report_the_wait_asked_for() {
    let server = MockServer::start().await;
    OPENAI
        .chat_mock(
            false,
            OPENAI
                .json_response(429, "error_429")
                .insert_header("retry-after", "7"),
        )
        .mount(&server)
        .await;
    let config = ProviderConfig::builder(OPENAI.kind)
        .base_url(format!("{}/v1", server.uri()))
        .api_key("sk-test")
        .transport(Transport {
            max_retries: 0,
            ..common::fast_transport()
        })
        .build()
        .unwrap();
    let error = build_model(&config)
        .unwrap()
        .chat(&common::request())
        .await
        .unwrap_err();
    let Error::RateLimited {
        retry_after,
        message,
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
    assert!(message.contains("Rate limit reached"), "{message}");
}

#[tokio::test]
async fn a_retry_after_longer_than_we_wait_fails_at_once() {
    let server = MockServer::start().await;
    OPENAI
        .chat_mock(
            false,
            OPENAI
                .json_response(429, "error_429")
                .insert_header("retry-after", "3600"),
        )
        .mount(&server)
        .await;
    let error = answer(OPENAI, &server, false).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_a_connection_error_naming_the_url() {
    // Bind then drop a listener: the port is free and refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let model = OLLAMA.model_for(&format!("http://127.0.0.1:{port}"));
    let error = model.chat(&common::request()).await.unwrap_err();
    let Error::Connection { url, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(url, &format!("http://127.0.0.1:{port}/api/chat"));
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    OPENAI
        .chat_mock(
            false,
            OPENAI
                .json_response(200, "text")
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let config = ProviderConfig::builder(OPENAI.kind)
        .base_url(format!("{}/v1", server.uri()))
        .api_key("sk-test")
        .transport(Transport {
            request_timeout: Duration::from_millis(200),
            max_retries: 0,
            ..common::fast_transport()
        })
        .build()
        .unwrap();
    let error = build_model(&config)
        .unwrap()
        .chat(&common::request())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
        "{error:?}"
    );
}
