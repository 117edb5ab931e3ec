//! Load on `kopilot serve`'s HTTP adapter, on loopback only: tasks submitted at a steady rate
//! for a while, each followed by its own Server-Sent Events subscriber, with a paced scripted
//! model (every answer streams in pieces over a few seconds, so about a thousand tasks, and as
//! many subscribers, are live at once).
//!
//! ```text
//! cargo bench -p kopilot-server --bench load [-- --rate 200 --seconds 60 --pieces 50 --piece-ms 100]
//! ```
//!
//! The server runs in a child process (this same program, started with `--serve`), so its
//! resident memory is measured alone: idle before the load, during it (every second), and
//! again after the load has ended and the tasks have left memory. Delivery latency is the time
//! from an event's timestamp (set when the runtime publishes it) to the moment the subscriber
//! has read and parsed it. It raises its open-file limit to the hard limit; every connection
//! is to 127.0.0.1.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use kopilot_core::llm::{ChatModel, ChatRequest, ChatResponse, ChatStream, response_to_events};
use kopilot_core::safety::ChannelApprover;
use kopilot_core::skills::{InlineSource, Skill, SkillLoader};
use kopilot_core::{Kopilot, Limits, SqliteStore, TaskStore};
use kopilot_server::tokens::{Role, TokenFile, Tokens};
use kopilot_server::{Server, ServerConfig};

/// The load's shape, from the command line.
#[derive(Debug, Clone, Copy)]
struct Shape {
    rate: u64,
    seconds: u64,
    pieces: usize,
    piece_ms: u64,
}

impl Shape {
    fn from_args(args: &[String]) -> Self {
        let value = |name: &str, default: u64| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .map_or(default, |v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name}: `{v}` is not a number"))
                })
        };
        Self {
            rate: value("--rate", 200),
            seconds: value("--seconds", 60),
            pieces: usize::try_from(value("--pieces", 50)).unwrap_or(50),
            piece_ms: value("--piece-ms", 100),
        }
    }
}

/// A model that answers every request with the same text, in `pieces` deltas `piece` apart.
struct Paced {
    pieces: usize,
    piece: Duration,
}

#[async_trait]
impl ChatModel for Paced {
    fn model(&self) -> &'static str {
        "paced"
    }

    async fn chat_stream(&self, _request: &ChatRequest) -> kopilot_core::llm::Result<ChatStream> {
        let text = (0..self.pieces).fold(String::new(), |mut text, i| {
            // One line per piece: the runtime lets the model's text out a line at a time.
            let _ = writeln!(text, "p{i:03}");
            text
        });
        let events = response_to_events(&ChatResponse::text(text).with_usage(100, 50), 5);
        let piece = self.piece;
        Ok(Box::pin(futures::stream::iter(events).then(
            move |event| async move {
                tokio::time::sleep(piece).await;
                Ok(event)
            },
        )))
    }
}

/// The child: a server over the paced model, a SQLite store and one admin token; prints
/// `ADDR TOKEN` on one line, then serves until its standard input closes.
fn serve(shape: Shape) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tokens_path = dir.path().join("tokens.json");
        let mut file = TokenFile::default();
        let token = file
            .add(&tokens_path, "load", Role::Admin)
            .expect("a token");
        file.save(&tokens_path).expect("the tokens file");
        let store = Arc::new(SqliteStore::open(dir.path().join("tasks.db")).expect("a store"));
        let mut skill = Skill::new("ops", "Ops", "Answers.", "OPS: answer.");
        skill.tools = Vec::new();
        let skills = SkillLoader::new()
            .source(InlineSource::new("load", [skill]))
            .load()
            .expect("skills");
        let limits = Limits {
            max_concurrent_tasks: 100_000,
            ..Limits::default()
        };
        let kopilot = Kopilot::builder()
            .model(Arc::new(Paced {
                pieces: shape.pieces,
                piece: Duration::from_millis(shape.piece_ms),
            }))
            .skills(skills)
            .limits(limits)
            .store(store as Arc<dyn TaskStore>)
            .approval_desk(ChannelApprover::new())
            .build()
            .expect("a runtime");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        let config = ServerConfig {
            rate_per_second: None,
            ..ServerConfig::default()
        };
        let server = Server::new(
            kopilot,
            Tokens::open(&tokens_path).expect("tokens"),
            config,
            addr,
        );
        println!("{addr} {token}");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        });
        server
            .serve(listener, async move {
                let _ = stdin_closed.await;
            })
            .await
            .expect("served");
    });
}

/// The child's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Raises the soft open-file limit to the hard one.
fn raise_open_files() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// What the subscribers saw.
#[derive(Default)]
struct Seen {
    latencies_us: std::sync::Mutex<Vec<u32>>,
    events: AtomicU64,
    streams_done: AtomicU64,
    lagged: AtomicU64,
    live: AtomicUsize,
    max_live: AtomicUsize,
    errors: AtomicU64,
}

/// Follows one task's events to the end, recording each event's delivery latency.
async fn subscribe(http: reqwest::Client, url: String, token: Arc<str>, seen: Arc<Seen>) {
    let live = seen.live.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_live.fetch_max(live, Ordering::SeqCst);
    let response = http.get(&url).bearer_auth(&*token).send().await;
    let Ok(response) = response else {
        seen.errors.fetch_add(1, Ordering::Relaxed);
        seen.live.fetch_sub(1, Ordering::SeqCst);
        return;
    };
    let mut body = response.bytes_stream();
    let mut buffer = Vec::new();
    let mut latencies = Vec::with_capacity(64);
    while let Some(Ok(chunk)) = body.next().await {
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            if line.starts_with(b"event: lagged") {
                seen.lagged.fetch_add(1, Ordering::Relaxed);
            }
            let Some(data) = line.strip_prefix(b"data: ") else {
                continue;
            };
            let Ok(event) = serde_json::from_slice::<kopilot_core::Event>(data) else {
                continue;
            };
            let now = time::OffsetDateTime::now_utc();
            let micros = (now - event.ts).whole_microseconds().max(0);
            latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
        }
    }
    seen.events
        .fetch_add(latencies.len() as u64, Ordering::Relaxed);
    seen.latencies_us
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(latencies);
    seen.streams_done.fetch_add(1, Ordering::Relaxed);
    seen.live.fetch_sub(1, Ordering::SeqCst);
}

/// Submits `rate` tasks a second for `seconds`, each followed by its own subscriber, sampling
/// the server's memory every second; returns the samples, and the tasks submitted and refused.
async fn drive(
    addr: &str,
    token: &Arc<str>,
    rate: u64,
    seconds: u64,
    pid: u32,
    seen: &Arc<Seen>,
) -> (Vec<u64>, u64, u64) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .build()
        .expect("a client");
    let base = format!("http://{addr}");
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut next_sample = started;
    let mut during = Vec::new();
    let submitted = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut subscribers = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            during.push(rss_kib(pid));
            next_sample += Duration::from_secs(1);
        }
        let (http, base, token, seen) = (
            http.clone(),
            base.clone(),
            Arc::clone(token),
            Arc::clone(seen),
        );
        let (submitted, failed) = (Arc::clone(&submitted), Arc::clone(&failed));
        subscribers.push(tokio::spawn(async move {
            let reply = http
                .post(format!("{base}/tasks"))
                .bearer_auth(&*token)
                .json(&serde_json::json!({"prompt": "load", "skill": "ops"}))
                .send()
                .await;
            let id = match reply {
                Ok(r) if r.status().as_u16() == 202 => r
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned)),
                _ => None,
            };
            let Some(id) = id else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            submitted.fetch_add(1, Ordering::Relaxed);
            subscribe(http, format!("{base}/tasks/{id}/events"), token, seen).await;
        }));
    }
    for subscriber in subscribers {
        let _ = subscriber.await;
    }
    (
        during,
        submitted.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    )
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shape = Shape::from_args(&args);
    if args.iter().any(|a| a == "--serve") {
        serve(shape);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        // `cargo bench -- --list` and test harness probes: nothing to list.
        return;
    }
    let open_files = raise_open_files();
    let mut child = Command::new(&args[0])
        .args([
            "--serve",
            "--pieces",
            &shape.pieces.to_string(),
            "--piece-ms",
            &shape.piece_ms.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server process");
    let pid = child.id();
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the server's address");
    let mut parts = first.split_whitespace();
    let (addr, token) = (
        parts.next().expect("an address").to_owned(),
        Arc::<str>::from(parts.next().expect("a token")),
    );
    std::thread::sleep(Duration::from_secs(2));
    let idle_before = rss_kib(pid);
    println!(
        "load: {} tasks/s for {} s, answers of {} pieces {} ms apart; open-file limit {open_files}; server pid {pid} at {addr}",
        shape.rate, shape.seconds, shape.pieces, shape.piece_ms
    );
    println!("idle RSS before: {:.1} MiB", kib_to_mib(idle_before));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // A warm-up: a few seconds at a tenth of the rate, so the caches a server fills on its
    // first tasks (the store's pages, buffers, the allocator's arenas) count as idle.
    let warm_up = Seen::default();
    let _ = runtime.block_on(drive(
        &addr,
        &token,
        (shape.rate / 10).max(1),
        5,
        pid,
        &Arc::new(warm_up),
    ));
    std::thread::sleep(Duration::from_secs(10));
    let idle_warm = rss_kib(pid);
    println!("idle RSS after a warm-up: {:.1} MiB", kib_to_mib(idle_warm));
    let seen = Arc::new(Seen::default());
    let (during, submitted, failed) =
        runtime.block_on(drive(&addr, &token, shape.rate, shape.seconds, pid, &seen));
    // The tasks have ended; let them leave memory and the allocator settle.
    std::thread::sleep(Duration::from_secs(10));
    let after = rss_kib(pid);
    drop(child.stdin.take());
    let _ = child.wait();

    let mut latencies = std::mem::take(
        &mut *seen
            .latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    latencies.sort_unstable();
    let peak = during.iter().copied().max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let mean = during.iter().sum::<u64>() as f64 / during.len().max(1) as f64;
    println!(
        "tasks submitted: {submitted} ({failed} refused or failed); streams finished: {}; most subscribers at once: {}; lagged: {}; subscriber errors: {}",
        seen.streams_done.load(Ordering::Relaxed),
        seen.max_live.load(Ordering::Relaxed),
        seen.lagged.load(Ordering::Relaxed),
        seen.errors.load(Ordering::Relaxed)
    );
    println!(
        "events delivered: {}; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        percentile(&latencies, 1.0)
    );
    println!(
        "RSS: idle {:.1} MiB cold, {:.1} MiB warm; during mean {:.1} MiB, peak {:.1} MiB; after {:.1} MiB ({:+.1} % of warm idle, {:+.1} % of cold)",
        kib_to_mib(idle_before),
        kib_to_mib(idle_warm),
        mean / 1024.0,
        kib_to_mib(peak),
        kib_to_mib(after),
        percent(after, idle_warm),
        percent(after, idle_before)
    );
}

#[allow(clippy::cast_precision_loss)]
fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[allow(clippy::cast_precision_loss)]
fn percent(value: u64, base: u64) -> f64 {
    (value as f64 - base as f64) / base.max(1) as f64 * 100.0
}
