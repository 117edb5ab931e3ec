//! `ScriptedModel` replays its script (whole or streamed in pieces), records requests, and
//! fails clearly when the script runs out; `MockChatModel` mocks the trait.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kopilot_llm::{
    ChatModel, ChatRequest, ChatResponse, Error, FinishReason, Message, MockChatModel,
    ScriptedModel, StreamEvent, ToolArguments, ToolCall, collect_stream,
};
use serde_json::json;

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::user(text)])
}

#[tokio::test]
async fn replies_come_in_order_and_requests_are_recorded() {
    let model = ScriptedModel::new("scripted")
        .then_call_tools(vec![
            ("run_kubectl".into(), json!({"args": "get pods"})),
            ("analyze".into(), json!({"analyzer": "orphaned_pvcs"})),
        ])
        .then_answer("Two pods are pending.");
    let first = model.chat(&ask("status?")).await.unwrap();
    assert_eq!(first.finish_reason, FinishReason::ToolCalls);
    let ids: Vec<&str> = first.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call-1", "call-2"]);
    let second = model.chat(&ask("and?")).await.unwrap();
    assert_eq!(second.text, "Two pods are pending.");
    let requests = model.requests();
    assert_eq!(requests, vec![ask("status?"), ask("and?")]);
    assert_eq!(model.remaining(), 0);
}

#[tokio::test]
async fn streamed_replies_come_in_small_pieces_and_fold_back() {
    let scripted = ChatResponse {
        text: "All pods are running.".into(),
        tool_calls: vec![ToolCall {
            id: "c1".into(),
            name: "run_kubectl".into(),
            arguments: ToolArguments::parse("{\"args\": \"get pods\"}"),
            provider_data: None,
        }],
        finish_reason: FinishReason::ToolCalls,
        usage: None,
    }
    .with_usage(10, 5);
    let model = ScriptedModel::new("scripted")
        .then_respond(scripted.clone())
        .with_piece_chars(3);
    let stream = model.chat_stream(&ask("hi")).await.unwrap();
    let events: Vec<StreamEvent> = stream.map(Result::unwrap).collect().await;
    let texts = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::TextDelta { .. }))
        .count();
    assert_eq!(texts, 7, "21 characters in pieces of 3");
    let model = ScriptedModel::new("scripted")
        .then_respond(scripted.clone())
        .with_piece_chars(3);
    assert_eq!(
        collect_stream(model.chat_stream(&ask("hi")).await.unwrap())
            .await
            .unwrap(),
        scripted
    );
}

#[tokio::test]
async fn an_exhausted_script_is_a_clear_error() {
    let model = ScriptedModel::new("scripted").then_answer("only once");
    model.chat(&ask("1")).await.unwrap();
    let error = model.chat_stream(&ask("2")).await.err().unwrap();
    assert!(
        matches!(error, Error::ScriptExhausted { served: 1 }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("1 replies were scripted"),
        "{error}"
    );
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn scripted_failures_are_returned() {
    let model = ScriptedModel::new("scripted")
        .then_fail(Error::ContextTooLong {
            message: "too long".into(),
        })
        .then_answer("ok");
    assert!(matches!(
        model.chat(&ask("1")).await,
        Err(Error::ContextTooLong { .. })
    ));
    assert_eq!(model.chat(&ask("2")).await.unwrap().text, "ok");
}

#[tokio::test(start_paused = true)]
async fn a_step_delay_lets_callers_cancel_mid_answer() {
    let model = Arc::new(
        ScriptedModel::new("scripted")
            .then_answer("a long and slow answer")
            .with_step_delay(Duration::from_secs(1)),
    );
    let mut stream = model.chat_stream(&ask("go")).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::TextDelta { .. }));
    // The rest takes seconds per piece: a caller's timeout cancels by dropping.
    let rest = tokio::time::timeout(Duration::from_millis(1500), collect_stream(stream)).await;
    assert!(
        rest.is_err(),
        "the slow stream must still be running when cancelled"
    );
}

#[tokio::test]
async fn the_trait_can_be_mocked() {
    let mut mock = MockChatModel::new();
    mock.expect_model().return_const("mocked".to_owned());
    mock.expect_chat()
        .times(1)
        .returning(|_| Ok(ChatResponse::text("from the mock")));
    let model: Arc<dyn ChatModel> = Arc::new(mock);
    assert_eq!(model.model(), "mocked");
    assert_eq!(model.chat(&ask("hi")).await.unwrap().text, "from the mock");
}
