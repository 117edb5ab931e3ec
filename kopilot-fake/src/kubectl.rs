//! The real `kubectl` against a [`FakeCluster`], for tests (feature `test-util`): a started
//! cluster with its kubeconfig in a scratch directory, and kubectl runs with a private
//! discovery cache, a clean environment and a 30 s limit.
//!
//! Tests that run kubectl are `#[ignore = "needs kubectl"]` and call [`require_kubectl`]
//! first, so a run that asked for them fails, saying why, where kubectl is missing.
//!
//! ```no_run
//! # async fn t() -> kopilot_fake::Result<()> {
//! use kopilot_fake::kubectl::{Harness, require_kubectl};
//!
//! require_kubectl();
//! let h = Harness::demo().await?;
//! let run = h.kubectl(&["get", "pods", "-n", "storefront"]).await?.ok();
//! assert!(run.stdout.contains("NAME"));
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::{Error, FakeCluster, Result, demo};

/// How long one kubectl run may take before it is killed.
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `kubectl` is on `PATH`.
pub fn kubectl_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("kubectl").is_file()))
}

/// Fails the test, saying why, when kubectl is not on `PATH`. Every test that calls it is
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
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

// The checks are assertions: a test may call them only for the check and drop the run.
#[allow(clippy::return_self_not_must_use)]
impl Run {
    /// Fails the test with both streams unless the run succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "kubectl failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Fails the test unless the run failed.
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
#[derive(Debug)]
pub struct Harness {
    /// The cluster.
    pub cluster: FakeCluster,
    /// The scratch directory (kubeconfig, kubectl's cache, files from [`Harness::file`]).
    pub dir: tempfile::TempDir,
    /// The kubeconfig naming the cluster.
    pub kubeconfig: PathBuf,
}

impl Harness {
    /// The demo cluster.
    pub async fn demo() -> Result<Self> {
        Self::from_cluster(demo::builder().start().await?)
    }

    /// A cluster seeded with `yaml`.
    pub async fn with_yaml(yaml: &str) -> Result<Self> {
        Self::from_cluster(FakeCluster::builder().seed_yaml(yaml).start().await?)
    }

    /// Wraps a started cluster, writing its kubeconfig into a new scratch directory.
    pub fn from_cluster(cluster: FakeCluster) -> Result<Self> {
        let dir = tempfile::tempdir().map_err(|source| Error::Scratch {
            path: std::env::temp_dir(),
            source,
        })?;
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig)?;
        Ok(Self {
            cluster,
            dir,
            kubeconfig,
        })
    }

    /// Writes a file in the scratch directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> Result<String> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).map_err(|source| Error::Scratch {
            path: path.clone(),
            source,
        })?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// Runs kubectl with this cluster's kubeconfig and a fresh cache, killed after 30 s.
    pub async fn kubectl(&self, args: &[&str]) -> Result<Run> {
        self.kubectl_stdin(args, None).await
    }

    /// [`Harness::kubectl`] with `stdin` written to its standard input.
    pub async fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Result<Run> {
        let failed = |source| Error::Kubectl {
            args: args.join(" "),
            source,
        };
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
        let mut child = cmd.spawn().map_err(failed)?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).await.map_err(failed)?;
            drop(pipe);
        }
        let output = tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| Error::KubectlTimeout {
                args: args.join(" "),
                limit: KUBECTL_TIMEOUT,
            })?
            .map_err(failed)?;
        Ok(Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The first line of `text` containing `needle`; fails the test when there is none.
#[track_caller]
pub fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    let line = text.lines().find(|l| l.contains(needle));
    assert!(line.is_some(), "no line contains {needle:?} in:\n{text}");
    line.unwrap_or_default()
}

/// The whitespace-separated columns of a line.
pub fn cols(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}
