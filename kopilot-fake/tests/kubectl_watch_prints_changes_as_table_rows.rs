//! `kubectl get -w` gets Table rows for every change and the watch stays open.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::Harness;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_watch_prints_a_row_per_change() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let mut child = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&h.kubeconfig)
        .arg("--cache-dir")
        .arg(h.dir.path().join("watch-cache"))
        .args(["get", "deploy", "-n", "payments", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut read = async || -> anyhow::Result<String> {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await??;
        line.ok_or_else(|| anyhow::anyhow!("kubectl closed the watch"))
    };
    let header = read().await?;
    assert!(
        header.starts_with("NAME") && header.contains("UP-TO-DATE"),
        "{header}"
    );
    let initial = [read().await?, read().await?];
    assert!(
        initial[0].starts_with("fraud-detector") && initial[1].starts_with("payments-api"),
        "{initial:?}"
    );
    h.kubectl(&[
        "scale",
        "deploy/payments-api",
        "-n",
        "payments",
        "--replicas=4",
    ])
    .await?
    .ok();
    let change = read().await?;
    let cols: Vec<&str> = change.split_whitespace().collect();
    assert_eq!(cols[..4], ["payments-api", "4/4", "4", "4"], "{change}");
    assert!(child.try_wait()?.is_none(), "the watch is held open");
    child.kill().await?;
    Ok(())
}
