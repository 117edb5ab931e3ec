//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The path of a fixture under `tests/fixtures`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// The text of a fixture.
pub fn fixture_text(relative: &str) -> String {
    std::fs::read_to_string(fixture(relative)).expect("fixture exists")
}

/// A `lookup` for `SkillLoader::from_lookup` backed by a fixed list.
pub fn env(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a tracing subscriber that records every log line; returns
/// `f`'s result and the log text.
///
/// A process-wide subscriber that takes INFO (and writes nowhere) is installed first: without
/// one, a log line first reached on another test's thread, where no subscriber is set, can be
/// remembered by `tracing` as wanted by nobody, and this thread's subscriber would then never
/// see it (the tests run in parallel, so the captured logs were sometimes empty).
pub fn with_captured_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let quiet = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _ = tracing::subscriber::set_global_default(quiet);
    });
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let logs =
        String::from_utf8(buffer.0.lock().expect("not poisoned").clone()).expect("utf-8 logs");
    (result, logs)
}
