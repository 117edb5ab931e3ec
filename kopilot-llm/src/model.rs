//! The provider trait every model implements.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use crate::Result;
use crate::message::ChatRequest;
use crate::response::{ChatResponse, StreamEvent, collect_stream};

/// A streamed answer: events in order, ending with [`StreamEvent::Finished`] or an error.
///
/// Dropping the stream cancels the request (the connection is closed).
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>;

/// A chat model: one provider and one model, ready to answer requests.
///
/// Implementations are shared as `Arc<dyn ChatModel>`. Dropping a returned future or stream
/// cancels the request; that is how callers cancel.
///
/// Only [`ChatModel::chat_stream`] and [`ChatModel::model`] must be written; the default
/// [`ChatModel::chat`] folds the stream with [`collect_stream`].
#[cfg_attr(feature = "test-util", mockall::automock)]
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// The model id the answers come from (e.g. `gpt-4o-mini`, or the Azure deployment),
    /// for events and logs.
    fn model(&self) -> &str;

    /// Sends the request and waits for the complete answer.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        collect_stream(self.chat_stream(request).await?).await
    }

    /// Sends the request and returns the answer as a stream of events once the provider
    /// has accepted it (retries, if any, happen before this returns).
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream>;
}
