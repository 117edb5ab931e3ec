//! `kopilot demo model`: a scripted OpenAI-compatible model server as a process
//! (`kopilot_llm::fake_server`), for black-box tests written in other languages.

mod script;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use kopilot_llm::fake_server::FakeServer;

use crate::UsageError;
use crate::signals::Interrupts;

/// The script example shown in `--help` and checked by the tests.
macro_rules! example {
    () => {
        r#"routes:
  - name: supervisor
    marker: "leads a team of specialists"
    replies:
      - tool: delegate
        arguments: {skill: troubleshooting, task: "List the pods in storefront."}
      - answer: "The specialist found: {{last_tool_result}}"
  - name: troubleshooting
    marker: "troubleshooting specialist"
    replies:
      - tool: run_kubectl
        arguments: {args: [get, pods, -n, storefront]}
        text: "Let me look."
      - fail: 503
        message: "overloaded, try again"
        delay_ms: 200
      - answer: "Pods in storefront: {{last_tool_result}}"
  - replies:
      - answer: "Hello from the scripted model."
"#
    };
}

#[cfg(test)]
const EXAMPLE: &str = example!();

/// Arguments of `kopilot demo model`.
#[derive(Debug, Args)]
#[command(
    about = "Serve a scripted OpenAI-compatible model (for tests) until Ctrl-C.",
    long_about = concat!(
"Serve a scripted OpenAI-compatible model (POST /v1/chat/completions) until Ctrl-C or
SIGTERM, for black-box tests. The first line on standard output is the base URL to give
as OPENAI_BASE_URL (e.g. http://127.0.0.1:41234/v1); with --addr 127.0.0.1:0 a free port
is chosen. Replies are streamed as OpenAI's SSE when the request asks for a stream, and
sent as one JSON completion otherwise.

The script (YAML; JSON works too) is a list of routes. A request goes to the first route
whose `marker` its system prompt contains; a route without a marker (last) takes every
other request. Each route answers with its `replies` in order, one per request:

  tool: NAME            call the tool NAME with `arguments` (a mapping; default {})
  calls: [{tool, arguments}, ...]   several tool calls in one turn
  text: TEXT            with `tool` or `calls`: text written alongside the calls
  answer: TEXT          answer with TEXT; {{last_tool_result}} is replaced by the last
                        tool result the request carries
  fail: STATUS          answer HTTP STATUS (400-599) with OpenAI's error body and
                        `message` (optional)
  delay_ms: N           wait N milliseconds first (any reply)

`name` (optional) names a route in logs and errors. When a route has no replies left, or no
route matches, the request is answered with HTTP 400 saying so. A script that cannot be
read exits with status 2, naming the file, the line and column, the route and the reply.

Example script:

", example!(), "
Example:
  kopilot demo model --addr 127.0.0.1:0 --script model.yaml
  OPENAI_BASE_URL=<first line> LLM_PROVIDER=openai_compatible kopilot ask --demo \"...\""
    )
)]
pub(crate) struct ModelArgs {
    /// Address to listen on (an IP and port; port 0 picks a free one). Loopback only,
    /// unless --allow-non-loopback.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The script file (YAML or JSON; see above).
    #[arg(long, value_name = "FILE")]
    script: PathBuf,
    /// Listen on an address other machines may reach. The fake model answers anyone,
    /// without authentication, and records what it is sent.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Log every request on standard error (RUST_LOG, when set, says what to log instead).
    #[arg(long, short)]
    verbose: bool,
}

/// Runs `kopilot demo model`.
pub(crate) fn run(args: &ModelArgs) -> anyhow::Result<ExitCode> {
    if !args.addr.ip().is_loopback() && !args.allow_non_loopback {
        return Err(UsageError(format!(
            "--addr {}: not a loopback address. The scripted model answers anyone without \
             authentication and records every request it is sent; serve it on 127.0.0.1 (or \
             ::1), or pass --allow-non-loopback if other machines must reach it",
            args.addr
        ))
        .into());
    }
    let loaded = script::load(&args.script).map_err(|err| UsageError(format!("--script {err}")))?;
    init_logging(args.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(serve(args.addr, loaded))
}

async fn serve(addr: SocketAddr, loaded: script::Loaded) -> anyhow::Result<ExitCode> {
    // Listen before saying where we serve: an early Ctrl-C must stop us cleanly.
    let mut interrupt = Interrupts::listen()?;
    let server = FakeServer::bind(addr, loaded.script)
        .await
        .with_context(|| format!("could not listen on {addr}"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", server.base_url())?;
    stdout.flush()?;
    drop(stdout);
    for (name, marker, replies) in &loaded.routes {
        let takes = match marker {
            Some(marker) => format!("system prompts containing {marker:?}"),
            None => "every other request".to_owned(),
        };
        eprintln!("route {name}: {replies} replies for {takes}");
    }
    eprintln!(
        "Scripted model serving at {}. Press Ctrl-C to stop.",
        server.base_url()
    );
    interrupt.next().await;
    let requests = server.requests().len();
    let unanswered = server.unanswered().len();
    let leftover = server.leftover();
    server.shutdown().await;
    let leftover = if leftover.is_empty() {
        "none".to_owned()
    } else {
        leftover
            .iter()
            .map(|(route, n)| format!("{n} of {route}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "Stopped after {requests} requests ({unanswered} without a scripted reply); replies left: {leftover}."
    );
    Ok(ExitCode::SUCCESS)
}

/// Logs on standard error: each request at debug level with --verbose, or as RUST_LOG says.
fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) if verbose => EnvFilter::new("kopilot_llm=debug"),
        Err(_) => EnvFilter::new("warn"),
    };
    // A second subscriber cannot be installed; the first one stays and that is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
