//! `kopilot demo serve`: runs the bundled demo cluster (a fake Kubernetes API server on
//! 127.0.0.1) until interrupted, so kubectl, k9s or kopilot itself can be pointed at it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kopilot_fake::demo;

use crate::signals::Interrupts;

/// Arguments of `kopilot demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(subcommand)]
    command: DemoCommand,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Serve the demo cluster on 127.0.0.1 until Ctrl-C.
    ///
    /// The demo cluster is a small shop (namespaces storefront, payments, analytics,
    /// platform and kube-system) with known problems to find: over-provisioned and idle
    /// deployments, an orphaned PVC and a Released PV, a crashlooping pod, an image-pull
    /// failure, a pending pod, an OOMKilled container, a service without endpoints, a
    /// NotReady node and one under memory pressure. It answers kubectl (get, describe, logs,
    /// top, scale, patch, apply, delete, rollout ...) like a real cluster; changes live in
    /// memory and are gone when it stops.
    ///
    /// With --tls it serves HTTPS with a CA made at start (written into the kubeconfig as
    /// certificate-authority-data; the server certificate is valid for 127.0.0.1 and
    /// localhost) and requires the bearer token it writes there too: kubectl runs exec
    /// credential plugins only over TLS, so this is the way to try a kubeconfig that uses one.
    ///
    /// Example:
    ///   kopilot demo serve --port 6443 --write-kubeconfig ./demo.kubeconfig
    ///   kubectl --kubeconfig ./demo.kubeconfig get pods -A
    ///   kopilot demo serve --tls --write-kubeconfig ./demo-tls.kubeconfig
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    // Its help is on `ModelArgs` (the script format), in demo_model.rs.
    Model(crate::demo_model::ModelArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port to listen on (127.0.0.1 only); a free port is chosen when omitted.
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Where to write a kubeconfig for the demo cluster (context `kopilot-demo`).
    /// Default: kopilot's data directory ($XDG_DATA_HOME/kopilot or
    /// ~/.local/share/kopilot), or the temp directory when there is no home.
    #[arg(long, value_name = "FILE")]
    write_kubeconfig: Option<PathBuf>,
    /// Serve HTTPS with a CA made at start, and require the bearer token written into the
    /// kubeconfig (plain HTTP with no credentials is the default).
    #[arg(long)]
    tls: bool,
}

/// Runs `kopilot demo ...`.
pub(crate) fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DemoCommand::Serve(serve) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("could not start the async runtime")?;
            runtime.block_on(serve_demo(serve))
        }
        DemoCommand::Model(model) => crate::demo_model::run(&model),
    }
}

fn default_kubeconfig_path() -> PathBuf {
    match crate::state::data_dir() {
        Ok(dir) => dir.path.join("demo.kubeconfig"),
        Err(_) => std::env::temp_dir().join("kopilot-demo.kubeconfig"),
    }
}

async fn serve_demo(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut builder = demo::builder();
    if let Some(port) = args.port {
        builder = builder.port(port);
    }
    if args.tls {
        builder = builder.tls().require_token();
    }
    let cluster = builder
        .start()
        .await
        .context("could not start the demo cluster")?;
    let path = args
        .write_kubeconfig
        .unwrap_or_else(default_kubeconfig_path);
    cluster.write_kubeconfig(&path)?;
    // Listen before saying "press Ctrl-C": an early Ctrl-C must stop us cleanly, not kill us.
    let mut interrupt = Interrupts::listen()?;
    let shown = path.display();
    println!("Kopilot demo cluster serving at {}", cluster.url());
    println!(
        "Kubeconfig written to {shown} (context {})",
        demo::DEMO_CONTEXT
    );
    println!();
    println!("Try:");
    println!("  kubectl --kubeconfig {shown} get pods -A");
    println!("  kubectl --kubeconfig {shown} describe pod -n storefront -l app=cart");
    println!("  kubectl --kubeconfig {shown} top pods -A");
    println!();
    println!("Changes are kept in memory only. Press Ctrl-C to stop.");
    interrupt.next().await;
    println!("Stopping the demo cluster.");
    cluster.stop().await;
    Ok(ExitCode::SUCCESS)
}
