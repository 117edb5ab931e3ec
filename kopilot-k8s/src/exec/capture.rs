//! Reading a child's output with a cap: bytes past the cap are read (so the child never blocks on
//! a full pipe) and counted, but not kept.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt};

/// Output read so far from one or more streams.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// The bytes kept (at most the cap).
    pub(crate) kept: Vec<u8>,
    /// Every byte read, kept or not.
    pub(crate) total: u64,
}

/// A capture several reader tasks can append to; what was read survives when a reader is
/// abandoned.
#[derive(Debug, Clone)]
pub(crate) struct SharedCapture {
    inner: Arc<Mutex<Captured>>,
    cap: usize,
}

impl SharedCapture {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Captured::default())),
            cap,
        }
    }

    fn append(&self, chunk: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        captured.total = captured.total.saturating_add(chunk.len() as u64);
        let room = self.cap.saturating_sub(captured.kept.len());
        let keep = chunk.get(..room.min(chunk.len())).unwrap_or_default();
        captured.kept.extend_from_slice(keep);
    }

    /// Reads `reader` to its end, appending to the capture.
    pub(crate) async fn drain<R: AsyncRead + Unpin>(self, mut reader: R) {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => self.append(buf.get(..n).unwrap_or_default()),
            }
        }
    }

    /// What was captured so far.
    pub(crate) fn take(&self) -> Captured {
        std::mem::take(&mut *self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_up_to_the_cap_and_counts_the_rest() {
        let capture = SharedCapture::new(10);
        let data = [b'x'; 25];
        capture.clone().drain(&data[..]).await;
        capture.clone().drain(&b"abc"[..]).await;
        let got = capture.take();
        assert_eq!(got.kept, vec![b'x'; 10]);
        assert_eq!(got.total, 28);
    }
}
