//! Turning a streamed HTTP body into stream events: line splitting, SSE and NDJSON framing,
//! the idle timeout, and the rule that a stream must end with a terminal event.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::model::ChatStream;
use crate::response::StreamEvent;
use crate::{Error, Result};

/// One message of a streamed body: an SSE event (with its `event:` name) or an NDJSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) event: Option<String>,
    pub(crate) data: String,
}

/// How a provider's stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Server-sent events.
    Sse,
    /// One JSON object per line.
    Ndjson,
}

/// A provider's stream parser.
pub(crate) trait StreamDecoder: Send + 'static {
    /// Turns one frame into events. A [`StreamEvent::Finished`] among them ends the stream.
    fn decode(&mut self, frame: Frame) -> Result<Vec<StreamEvent>>;

    /// Called when the body ends before a [`StreamEvent::Finished`]: either the last events
    /// (a provider whose end is implicit) or the error saying the answer was cut short.
    fn end_of_body(&mut self) -> Result<Vec<StreamEvent>>;
}

/// Splits bytes into lines, keeping partial lines (and partial UTF-8) for the next chunk.
#[derive(Debug, Default)]
struct LineSplitter {
    buffer: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>> {
        self.buffer.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            lines.push(to_line(&line)?);
        }
        Ok(lines)
    }

    fn finish(&mut self) -> Result<Option<String>> {
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let rest = std::mem::take(&mut self.buffer);
        to_line(&rest).map(Some)
    }
}

fn to_line(bytes: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        Error::invalid_response(
            format!("stream is not UTF-8: {err}"),
            &String::from_utf8_lossy(bytes),
        )
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Collects SSE lines into events (`event:` and `data:` fields, blank line dispatches).
#[derive(Debug, Default)]
struct SseParser {
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    fn line(&mut self, line: &str) -> Option<Frame> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None; // comment / keep-alive
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            // llama.cpp's server reports failures as a non-standard `error:` field.
            "error" => {
                return Some(Frame {
                    event: Some("error".into()),
                    data: value.to_owned(),
                });
            }
            _ => {} // id, retry and unknown fields
        }
        None
    }

    fn dispatch(&mut self) -> Option<Frame> {
        let event = self.event.take();
        self.data.take().map(|data| Frame { event, data })
    }
}

enum Framer {
    Sse(SseParser),
    Ndjson,
}

impl Framer {
    fn line(&mut self, line: &str) -> Option<Frame> {
        match self {
            Framer::Sse(parser) => parser.line(line),
            Framer::Ndjson => (!line.trim().is_empty()).then(|| Frame {
                event: None,
                data: line.to_owned(),
            }),
        }
    }

    fn end(&mut self) -> Option<Frame> {
        match self {
            Framer::Sse(parser) => parser.dispatch(),
            Framer::Ndjson => None,
        }
    }
}

struct StreamState {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    lines: LineSplitter,
    framer: Framer,
    decoder: Box<dyn StreamDecoder>,
    pending: VecDeque<Result<StreamEvent>>,
    /// No more reading: the terminal event was decoded, the body ended, or an error occurred.
    closed: bool,
    idle_timeout: Duration,
    url: String,
}

impl StreamState {
    fn handle_frame(&mut self, frame: Frame) {
        match self.decoder.decode(frame) {
            Ok(events) => self.queue(events),
            Err(err) => {
                self.pending.push_back(Err(err));
                self.closed = true;
            }
        }
    }

    fn queue(&mut self, events: Vec<StreamEvent>) {
        for event in events {
            if matches!(event, StreamEvent::Finished { .. }) {
                self.closed = true;
            }
            self.pending.push_back(Ok(event));
        }
    }

    fn handle_lines(&mut self, lines: Result<Vec<String>>) {
        match lines {
            Ok(lines) => {
                for line in lines {
                    if self.closed {
                        break;
                    }
                    if let Some(frame) = self.framer.line(&line) {
                        self.handle_frame(frame);
                    }
                }
            }
            Err(err) => {
                self.pending.push_back(Err(err));
                self.closed = true;
            }
        }
    }

    fn handle_end_of_body(&mut self) {
        match self.lines.finish() {
            Ok(Some(last)) => self.handle_lines(Ok(vec![last])),
            Ok(None) => {}
            Err(err) => self.handle_lines(Err(err)),
        }
        if !self.closed
            && let Some(frame) = self.framer.end()
        {
            self.handle_frame(frame);
        }
        if !self.closed {
            match self.decoder.end_of_body() {
                Ok(events) => self.queue(events),
                Err(err) => self.pending.push_back(Err(err)),
            }
        }
        self.closed = true;
    }

    async fn next_event(&mut self) -> Option<Result<StreamEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.is_err() {
                    self.pending.clear();
                    self.closed = true;
                }
                return Some(event);
            }
            if self.closed {
                return None;
            }
            match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                Err(_) => {
                    self.closed = true;
                    return Some(Err(Error::StreamStalled {
                        url: self.url.clone(),
                        after: self.idle_timeout,
                    }));
                }
                Ok(None) => self.handle_end_of_body(),
                Ok(Some(Err(err))) => {
                    self.closed = true;
                    return Some(Err(Error::StreamInterrupted {
                        reason: format!("the connection failed mid-answer: {}", err.without_url()),
                    }));
                }
                Ok(Some(Ok(chunk))) => {
                    let lines = self.lines.push(&chunk);
                    self.handle_lines(lines);
                }
            }
        }
    }
}

/// The events of a streamed response body. Dropping the stream drops the connection.
pub(crate) fn event_stream(
    response: reqwest::Response,
    framing: Framing,
    decoder: Box<dyn StreamDecoder>,
    idle_timeout: Duration,
    url: String,
) -> ChatStream {
    let state = StreamState {
        body: response.bytes_stream().boxed(),
        lines: LineSplitter::default(),
        framer: match framing {
            Framing::Sse => Framer::Sse(SseParser::default()),
            Framing::Ndjson => Framer::Ndjson,
        },
        decoder,
        pending: VecDeque::new(),
        closed: false,
        idle_timeout,
        url,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        state.next_event().await.map(|event| (event, state))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_survive_chunk_boundaries_inside_utf8() {
        let mut splitter = LineSplitter::default();
        let text = "data: grüß\r\n\n";
        let bytes = text.as_bytes();
        let cut = text.find('ü').unwrap() + 1; // inside the two-byte ü
        let mut lines = splitter.push(&bytes[..cut]).unwrap();
        assert!(lines.is_empty());
        lines.extend(splitter.push(&bytes[cut..]).unwrap());
        assert_eq!(lines, ["data: grüß", ""]);
    }

    #[test]
    fn sse_joins_data_lines_and_skips_comments() {
        let mut parser = SseParser::default();
        let mut frames = Vec::new();
        for line in [
            ": ping",
            "event: message_start",
            "data: {\"a\":",
            "data: 1}",
            "",
            "data:[DONE]",
            "",
        ] {
            frames.extend(parser.line(line));
        }
        assert_eq!(
            frames,
            [
                Frame {
                    event: Some("message_start".into()),
                    data: "{\"a\":\n1}".into()
                },
                Frame {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
    }

    fn frames_of(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut splitter = LineSplitter::default();
        let mut parser = SseParser::default();
        let mut frames = Vec::new();
        for chunk in chunks {
            for line in splitter.push(chunk).unwrap() {
                frames.extend(parser.line(&line));
            }
        }
        if let Some(last) = splitter.finish().unwrap() {
            frames.extend(parser.line(&last));
        }
        frames.extend(parser.dispatch());
        frames
    }

    proptest::proptest! {
        /// However the network cuts a stream into reads, the same frames come out.
        #[test]
        fn frames_do_not_depend_on_read_boundaries(cuts in proptest::collection::vec(0usize..4000, 0..40)) {
            let body = include_str!("../../tests/fixtures/anthropic/tool_call.sse").replace("Let me", "Lass mich ü");
            let bytes = body.as_bytes();
            let whole = frames_of(&[bytes]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % bytes.len()).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut pieces = Vec::new();
            let mut start = 0;
            for cut in cuts {
                pieces.push(&bytes[start..cut]);
                start = cut;
            }
            pieces.push(&bytes[start..]);
            proptest::prop_assert_eq!(frames_of(&pieces), whole);
        }
    }

    #[test]
    fn llama_cpp_error_lines_become_error_frames() {
        let mut parser = SseParser::default();
        let frame = parser
            .line("error: {\"error\":{\"message\":\"x\"}}")
            .unwrap();
        assert_eq!(frame.event.as_deref(), Some("error"));
    }
}
