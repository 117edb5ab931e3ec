//! Serves the demo cluster and writes a kubeconfig, like `kopilot demo serve`.
//!
//! ```text
//! cargo run -p kopilot-fake --example demo_server -- /tmp/demo.kubeconfig
//! kubectl --kubeconfig /tmp/demo.kubeconfig get pods -A
//! ```

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo.kubeconfig".to_owned());
    let cluster = kopilot_fake::demo::builder().start().await?;
    cluster.write_kubeconfig(&path)?;
    println!(
        "serving {} (kubeconfig: {path}); Ctrl-C stops",
        cluster.url()
    );
    tokio::signal::ctrl_c().await?;
    cluster.stop().await;
    Ok(())
}
