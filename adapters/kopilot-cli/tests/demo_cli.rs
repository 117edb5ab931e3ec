//! `kopilot demo serve`: starts the demo cluster, writes a kubeconfig that the real kubectl
//! can use, serves until interrupted and exits 0.

#[path = "support/needs.rs"]
mod needs;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `kopilot demo serve` child, killed when dropped, with its stdout lines on a channel.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(args: &[&str], envs: &[(&str, &Path)]) -> Self {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("kopilot"));
        cmd.args(["demo", "serve"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Lines up to and including the first that contains `needle` (waits up to 30 s).
    fn wait_for(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let done = line.contains(needle);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no line containing {needle:?} ({e}); saw {seen:?}"),
            }
        }
    }

    fn interrupt_and_wait(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("kopilot demo serve did not exit within 10 s of SIGINT");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kopilot demo serve --port P --write-kubeconfig <dir>/demo.kubeconfig`, once it says it
/// serves; the server and the kubeconfig's path.
fn serve_with_a_written_kubeconfig(dir: &Path) -> (Server, PathBuf) {
    let kubeconfig = dir.join("demo.kubeconfig");
    let port = free_port().to_string();
    let server = Server::start(
        &[
            "--port",
            &port,
            "--write-kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        &[],
    );
    let banner = server.wait_for("Press Ctrl-C").join("\n");
    assert!(
        banner.contains(&format!("serving at http://127.0.0.1:{port}")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!(
            "kubectl --kubeconfig {} get pods -A",
            kubeconfig.display()
        )),
        "{banner}"
    );
    let written = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        written.contains(&format!("server: http://127.0.0.1:{port}"))
            && written.contains("kopilot-demo"),
        "{written}"
    );
    (server, kubeconfig)
}

#[test]
fn serve_writes_a_kubeconfig_and_exits_zero_on_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = serve_with_a_written_kubeconfig(dir.path());
    let status = server.interrupt_and_wait();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
#[ignore = "needs kubectl"]
fn kubectl_uses_the_kubeconfig_that_serve_writes() {
    needs::require_kubectl();
    let dir = tempfile::tempdir().unwrap();
    let (server, kubeconfig) = serve_with_a_written_kubeconfig(dir.path());
    let out = Command::new("timeout")
        .args(["30", "kubectl", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "pods", "-A"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("NAMESPACE"), "{stdout}");
    assert!(
        stdout.contains("CrashLoopBackOff") && stdout.contains("payments"),
        "{stdout}"
    );
    let status = server.interrupt_and_wait();
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn without_a_path_the_kubeconfig_goes_to_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[], &[("XDG_DATA_HOME", dir.path())]);
    let banner = server.wait_for("Press Ctrl-C").join("\n");
    let expected = dir.path().join("kopilot").join("demo.kubeconfig");
    assert!(
        banner.contains(&format!("Kubeconfig written to {}", expected.display())),
        "{banner}"
    );
    assert!(
        std::fs::read_to_string(&expected)
            .unwrap()
            .contains("current-context: kopilot-demo")
    );
    assert!(server.interrupt_and_wait().success());
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("kopilot"))
        .args(["demo", "serve", "--port", &port, "--write-kubeconfig"])
        .arg(dir.path().join("k"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("could not listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
