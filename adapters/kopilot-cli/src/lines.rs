//! Lines typed on standard input, read by one thread for everyone who asks (the chat prompt,
//! approval prompts), so a prompt given up on (Ctrl-C, an expired approval) never leaves a
//! second reader behind to swallow the next line: the line it was waiting for goes to whoever
//! asks next.

use std::io::BufRead as _;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc};

/// One line: its text without the line ending, `None` at the end of input.
pub(crate) type Line = std::io::Result<Option<String>>;

/// The shared reader of standard input. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Lines {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    /// Asks the reader thread for one more line.
    wanted: std::sync::mpsc::Sender<()>,
    lines: mpsc::UnboundedReceiver<Line>,
    /// A line was asked for and not yet taken (its asker gave up): take that one next.
    outstanding: bool,
    /// Input ended: every later ask gets `None` at once.
    ended: bool,
    /// Whether the end is for good (a pipe or file); on a terminal Ctrl-D ends one read only.
    end_is_final: bool,
}

impl Lines {
    /// Starts the reader thread (it reads only when a line is asked for).
    pub(crate) fn stdin() -> Self {
        use std::io::IsTerminal as _;
        let end_is_final = !std::io::stdin().is_terminal();
        let (wanted, requests) = std::sync::mpsc::channel::<()>();
        let (send, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            while requests.recv().is_ok() {
                let mut bytes = Vec::new();
                let line = match stdin.lock().read_until(b'\n', &mut bytes) {
                    Ok(0) => Ok(None),
                    Ok(_) => {
                        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                            bytes.pop();
                        }
                        String::from_utf8(bytes).map(Some).map_err(|e| {
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!(
                                    "the line is not UTF-8 text (invalid byte at offset {})",
                                    e.utf8_error().valid_up_to()
                                ),
                            )
                        })
                    }
                    Err(err) => Err(err),
                };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            inner: Arc::new(Mutex::new(Inner {
                wanted,
                lines,
                outstanding: false,
                ended: false,
                end_is_final,
            })),
        }
    }

    /// The next line. Cancel-safe: dropping the future keeps the line for the next caller.
    pub(crate) async fn next(&self) -> Line {
        let mut inner = self.inner.lock().await;
        if inner.ended {
            return Ok(None);
        }
        if !inner.outstanding {
            if inner.wanted.send(()).is_err() {
                inner.ended = true;
                return Ok(None);
            }
            inner.outstanding = true;
        }
        let line = inner.lines.recv().await.unwrap_or(Ok(None));
        inner.outstanding = false;
        if matches!(line, Ok(None)) && inner.end_is_final {
            inner.ended = true;
        }
        line
    }
}
