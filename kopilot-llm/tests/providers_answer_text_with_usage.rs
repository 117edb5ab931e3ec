//! Every provider turns its documented text answer, streamed or whole, into the same
//! response with usage, and a streamed answer arrives in pieces.

mod common;

use common::{ALL, assert_text, drain};
use kopilot_llm::{ResponseCollector, StreamEvent, collect_stream};

#[tokio::test]
async fn streamed_text_arrives_in_pieces_and_folds_with_usage() {
    for provider in ALL {
        let (_server, model) = provider.serve(true, provider.stream_response("text")).await;
        let (events, error) = drain(model.chat_stream(&common::request()).await.unwrap()).await;
        assert!(error.is_none(), "{:?}: {error:?}", provider.kind);
        let deltas = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::TextDelta { .. }))
            .count();
        assert!(
            deltas >= 2,
            "{:?}: text must stream in pieces, got {deltas}",
            provider.kind
        );
        assert!(
            matches!(events.last(), Some(StreamEvent::Finished { .. })),
            "{:?}",
            provider.kind
        );
        let mut collector = ResponseCollector::new();
        for event in events {
            collector.push(event).unwrap();
        }
        assert_text(&collector.finish().unwrap());
    }
}

#[tokio::test]
async fn whole_text_answers_parse_with_usage() {
    for provider in ALL {
        let (_server, model) = provider
            .serve(false, provider.json_response(200, "text"))
            .await;
        let response = model.chat(&common::request()).await.unwrap();
        assert_text(&response);
    }
}

#[tokio::test]
async fn streamed_and_whole_answers_fold_to_the_same_response() {
    for provider in ALL {
        for fixture in ["text", "tool_call", "parallel_tool_calls"] {
            let (_s1, streaming) = provider
                .serve(true, provider.stream_response(fixture))
                .await;
            let (_s2, whole) = provider
                .serve(false, provider.json_response(200, fixture))
                .await;
            let folded = collect_stream(streaming.chat_stream(&common::request()).await.unwrap())
                .await
                .unwrap();
            let complete = whole.chat(&common::request()).await.unwrap();
            assert_eq!(folded, complete, "{:?} {fixture}", provider.kind);
        }
    }
}

#[tokio::test]
async fn the_model_id_is_reported() {
    for provider in ALL {
        let model = provider.model_for("http://127.0.0.1:9");
        assert_eq!(model.model(), provider.model);
    }
}

/// Some servers and proxies ignore `stream: true` and send the whole JSON answer.
#[tokio::test]
async fn a_whole_json_answer_to_a_stream_request_still_folds() {
    for provider in ALL.into_iter().filter(|p| p.stream_ext == "sse") {
        let (_s, model) = provider
            .serve(true, provider.json_response(200, "tool_call"))
            .await;
        let folded = collect_stream(model.chat_stream(&common::request()).await.unwrap()).await;
        common::assert_one_tool_call(&provider, &folded.unwrap());
    }
}
