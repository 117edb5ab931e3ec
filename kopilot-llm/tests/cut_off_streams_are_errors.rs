//! A stream that ends before the provider says the answer is complete, breaks, or goes
//! quiet is an error, never a silently short answer; dropping a stream hangs up.

mod common;

use std::time::Duration;

use common::{ALL, ANTHROPIC, Ending, OPENAI, drain, raw_stream_server};
use kopilot_llm::{Error, ProviderConfig, StreamEvent, Transport, build_model, collect_stream};

#[tokio::test]
async fn a_stream_cut_off_midway_is_interrupted_after_the_partial_text() {
    for provider in ALL {
        let (_s, model) = provider
            .serve(true, provider.stream_response("truncated"))
            .await;
        let (events, error) = drain(model.chat_stream(&common::request()).await.unwrap()).await;
        assert!(
            matches!(error, Some(Error::StreamInterrupted { .. })),
            "{:?}: {error:?}",
            provider.kind
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::TextDelta { .. }))
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, StreamEvent::Finished { .. }))
        );

        let (_s, model) = provider
            .serve(true, provider.stream_response("truncated"))
            .await;
        let folded = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        assert!(
            matches!(folded, Err(Error::StreamInterrupted { .. })),
            "{:?}",
            provider.kind
        );
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_an_error() {
    for provider in ALL {
        let body = provider.stream_fixture("tool_call");
        let half = body.len() / 2;
        let (url, _closed) = raw_stream_server(
            body[..half].to_owned(),
            provider.stream_content_type,
            64,
            Ending::Drop,
        )
        .await;
        let model = provider.model_for(&url);
        let result = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        assert!(
            matches!(result, Err(Error::StreamInterrupted { .. })),
            "{:?}: {result:?}",
            provider.kind
        );
    }
}

#[tokio::test]
async fn a_stream_that_goes_quiet_stalls_after_the_idle_timeout() {
    let body = OPENAI.stream_fixture("text");
    let first_event = body.find("\n\n").unwrap() + 2;
    let (url, closed) = raw_stream_server(
        body[..first_event].to_owned(),
        "text/event-stream",
        1024,
        Ending::Stall,
    )
    .await;
    let config = ProviderConfig::builder(OPENAI.kind)
        .base_url(format!("{url}/v1"))
        .api_key("sk-test")
        .transport(Transport {
            stream_idle_timeout: Duration::from_millis(300),
            ..common::fast_transport()
        })
        .build()
        .unwrap();
    let stream = build_model(&config)
        .unwrap()
        .chat_stream(&common::request())
        .await
        .unwrap();
    let (_, error) = drain(stream).await;
    assert!(
        matches!(error, Some(Error::StreamStalled { after, .. }) if after == Duration::from_millis(300)),
        "{error:?}"
    );
    // The stalled connection is closed once the stream is gone.
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn dropping_a_stream_hangs_up_the_connection() {
    let body = ANTHROPIC.stream_fixture("text");
    let first_event = body.find("\n\n").unwrap() + 2;
    let (url, closed) = raw_stream_server(
        body[..first_event].to_owned(),
        "text/event-stream",
        1024,
        Ending::Stall,
    )
    .await;
    let model = ANTHROPIC.model_for(&url);
    let stream = model.chat_stream(&common::request()).await.unwrap();
    drop(stream);
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_provider_error() {
    let (_s, model) = ANTHROPIC
        .serve(true, ANTHROPIC.stream_response("overloaded_mid_stream"))
        .await;
    let (events, error) = drain(model.chat_stream(&common::request()).await.unwrap()).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::TextDelta { .. }))
    );
    let Some(Error::Provider { message }) = error else {
        panic!("{error:?}")
    };
    assert_eq!(message, "Overloaded");
}

/// llama.cpp's server reports a failure inside an SSE stream as an `error:` line.
#[tokio::test]
async fn an_error_line_from_llama_cpp_is_typed() {
    let body = format!(
        "data: {}\n\nerror: {}\n\n",
        r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}],"object":"chat.completion.chunk"}"#,
        common::fixture("openai/llama_cpp_context.json")
    );
    let (_s, model) = common::OPENAI_COMPATIBLE
        .serve(
            true,
            wiremock::ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"),
        )
        .await;
    let (events, error) = drain(model.chat_stream(&common::request()).await.unwrap()).await;
    assert_eq!(events, vec![StreamEvent::TextDelta { text: "Hel".into() }]);
    assert!(
        matches!(error, Some(Error::ContextTooLong { .. })),
        "{error:?}"
    );
}
