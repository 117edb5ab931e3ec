//! `kopilot mcp`: the MCP server ([`kopilot_mcp`]) over the same runtime `ask` and `serve`
//! build (model, policy, skills, cluster, task store and audit log from the same settings),
//! on stdin and stdout. Approvals are put to the human at the MCP client through elicitation.
//!
//! Standard output carries the JSON-RPC messages and nothing else: notes and logs go to
//! standard error.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kopilot_core::safety::ChannelApprover;
use kopilot_mcp::McpServer;

use crate::ask::{RuntimeArgs, Setup};
use crate::settings::Settings;

/// How the MCP client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    /// JSON-RPC on standard input and output (the client starts `kopilot mcp`).
    Stdio,
}

/// Serve Kopilot to MCP clients (Claude Desktop, IDEs, other agents) over stdio.
#[derive(Debug, Args)]
#[command(after_help = "\
The client starts this command and talks JSON-RPC on its standard input and output; notes go
to standard error. A client configuration (Claude Desktop's `mcpServers`, say):

  {\"mcpServers\": {\"kopilot\": {\"command\": \"kopilot\", \"args\": [\"mcp\", \"--transport\", \"stdio\"]}}}

Commands that need approval are asked of the person at the client (MCP elicitation); a
client that cannot ask is denied them.")]
pub(crate) struct McpArgs {
    /// The transport.
    #[arg(long, value_enum, default_value = "stdio")]
    transport: Transport,
    /// Review each answer of `ask` with a second model call, and re-plan once when it scores
    /// low.
    #[arg(long)]
    reflect: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub(crate) fn run(args: McpArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let settings = Settings::load()?.with_model_flags(&args.runtime.model_flags);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(serve(args, settings))
}

/// Logs go to standard error only (RUST_LOG decides what; warnings by default).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn serve(args: McpArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let Transport::Stdio = args.transport;
    let mut interrupts = crate::signals::Interrupts::listen()?;
    // The terminal `for_runtime` hands back reads standard input only when asked; it is
    // dropped unused, so the JSON-RPC stream stays whole.
    let (setup, _terminal) = Setup::for_runtime(&args.runtime, args.reflect, settings).await?;
    let desk = ChannelApprover::new().with_four_eyes(setup.four_eyes());
    let kopilot = setup.kopilot_with_desk(desk)?;
    let provider = setup
        .model
        .as_ref()
        .map_or_else(|| "offline".to_owned(), |m| m.model().to_owned());
    let cluster = if args.runtime.demo {
        "the demo cluster"
    } else {
        "the kubeconfig's cluster"
    };
    eprintln!(
        "kopilot: serving MCP on stdio (model: {provider}, {cluster}, mode {})",
        setup.mode().as_str()
    );
    let flush = kopilot.clone();
    let served = tokio::select! {
        served = McpServer::new(kopilot).serve_stdio() => served.context("the MCP session failed"),
        () = interrupts.next() => Ok(()),
    };
    flush.flush().await;
    setup.stop().await;
    served?;
    Ok(ExitCode::SUCCESS)
}
