//! Shared helpers: start a fake cluster and run the real kubectl against it with a timeout
//! and a fresh discovery cache.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use kopilot_core::safety::{ClearedCommand, Guard, Policy, RequestContext, Verdict};
use kopilot_k8s::fake::{FakeCluster, demo};

/// Whether `kubectl` is on PATH.
pub fn kubectl_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("kubectl").is_file()))
}

/// Fails the test, saying why, when kubectl is not on PATH. Every test that calls it is
/// `#[ignore = "needs kubectl"]`: it runs only when asked for (`--run-ignored`, as `.ci/run`
/// does), and a test that was asked for and cannot do its job fails instead of passing.
#[track_caller]
pub fn require_kubectl() {
    assert!(
        kubectl_on_path(),
        "kubectl is not on PATH: this test runs the real kubectl against the fake API server. \
         Install kubectl, or leave out the ignored tests (no --run-ignored / --ignored)"
    );
}

/// What one kubectl run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the run succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "kubectl failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the run failed.
    #[track_caller]
    pub fn failed(self) -> Self {
        assert_ne!(
            self.code, 0,
            "kubectl unexpectedly succeeded\nstdout:\n{}",
            self.stdout
        );
        self
    }
}

/// A running fake cluster with a kubeconfig and a private kubectl cache directory.
pub struct Harness {
    pub cluster: FakeCluster,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Harness {
    /// The demo cluster.
    pub async fn demo() -> anyhow::Result<Self> {
        Self::from_cluster(demo::builder().start().await?)
    }

    /// A cluster seeded with `yaml`.
    pub async fn with_yaml(yaml: &str) -> anyhow::Result<Self> {
        Self::from_cluster(FakeCluster::builder().seed_yaml(yaml).start().await?)
    }

    pub fn from_cluster(cluster: FakeCluster) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig)?;
        Ok(Self {
            cluster,
            dir,
            kubeconfig,
        })
    }

    /// Writes a file in the scratch directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> anyhow::Result<String> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// Runs kubectl with this cluster's kubeconfig and a fresh cache, killed after 30 s.
    pub async fn kubectl(&self, args: &[&str]) -> anyhow::Result<Run> {
        self.kubectl_stdin(args, None).await
    }

    pub async fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Run> {
        use tokio::io::AsyncWriteExt;
        let cache = self.dir.path().join("cache");
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).await?;
            drop(pipe);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .map_err(|_| anyhow::anyhow!("kubectl {args:?} did not finish within 30 s"))??;
        Ok(Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The first line of `text` containing `needle`.
#[track_caller]
pub fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{text}"))
}

/// The whitespace-separated columns of a line.
pub fn cols(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Clears a tool's planned command lines through the default guard, as the runtime would;
/// panics on any line the guard does not allow outright.
pub fn cleared_by_default_guard(lines: &[String]) -> Vec<ClearedCommand> {
    let guard = Guard::new(Policy::default());
    lines
        .iter()
        .map(|line| {
            match guard.check(
                line,
                &RequestContext::new(kopilot_core::safety::Identity::new("test")),
            ) {
                Verdict::Allowed(command) => command,
                other => panic!("{line} was not allowed: {other:?}"),
            }
        })
        .collect()
}
