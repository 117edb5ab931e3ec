//! Running the real `kopilot` binary: with piped streams, a time limit, and (while it runs)
//! a view of what it has printed so far and a way to send it signals.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kopilot_core::{Event, TaskResult};

use super::events::{EventsExt, parse_events};

/// The kopilot binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_kopilot")
}

/// A kopilot command line and its environment (nothing else is inherited).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

impl Invocation {
    /// Sets one environment variable (replacing the scenario's value).
    #[must_use]
    pub fn env_var(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(&self.args)
            .env_clear()
            .envs(self.env.iter().cloned());
        cmd
    }

    /// Starts it with standard input closed (not a terminal).
    pub fn spawn(&self) -> Running {
        self.spawn_with_stdin(None)
    }

    /// Starts it with `stdin` piped in (then closed), or closed when `None`.
    pub fn spawn_with_stdin(&self, stdin: Option<&str>) -> Running {
        let mut cmd = self.command();
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kopilot starts");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("stdin written");
        }
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        Running {
            child,
            started: Instant::now(),
            stdout,
            stderr,
            args: self.args.clone(),
        }
    }

    /// Runs it to the end (at most `limit`) with standard input closed.
    pub fn run(&self, limit: Duration) -> Outcome {
        self.spawn().wait(limit)
    }
}

/// A stream being read on its own thread, so the child never blocks on a full pipe.
pub struct Drained {
    text: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

pub fn drain(mut source: impl Read + Send + 'static) -> Drained {
    let text = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&text);
    let thread = std::thread::spawn(move || {
        let mut buf = [0_u8; 8192];
        loop {
            match source.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&buf[..n]),
            }
        }
    });
    Drained {
        text,
        thread: Some(thread),
    }
}

impl Drained {
    /// What was read so far.
    pub fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }

    /// Waits (at most `limit`) for the end of the stream, then returns all of it.
    pub fn finish(mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        if let Some(thread) = self.thread.take() {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.so_far()
    }
}

/// A kopilot process that is running.
pub struct Running {
    pub child: Child,
    pub started: Instant,
    pub stdout: Drained,
    pub stderr: Drained,
    args: Vec<OsString>,
}

impl Running {
    /// Waits until stdout satisfies `ready` (checked every 20 ms); panics after `limit`.
    pub fn wait_for_stdout(&mut self, limit: Duration, what: &str, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.stdout.so_far();
            if ready(&out) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "kopilot ended ({status}) before {what}\nstdout:\n{out}\nstderr:\n{}",
                    self.stderr.so_far()
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "no {what} within {limit:?}\nstdout:\n{out}\nstderr:\n{}",
                    self.stderr.so_far()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`INT`, `TERM`) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// Waits for the process to end (killing it after `limit`, which fails the test).
    pub fn wait(mut self, limit: Duration) -> Outcome {
        let deadline = self.started + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait on kopilot") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "kopilot {:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.args,
                    self.stdout.so_far(),
                    self.stderr.so_far()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let ended = Instant::now();
        Outcome {
            code: status.code(),
            elapsed: ended - self.started,
            stdout: self.stdout.finish(Duration::from_secs(5)),
            stderr: self.stderr.finish(Duration::from_secs(5)),
        }
    }
}

/// How a kopilot run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From start to exit.
    pub elapsed: Duration,
}

impl Outcome {
    /// Panics, showing both streams, unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The JSON event stream on stdout (`--output json`), checked line by line.
    #[track_caller]
    pub fn events(&self) -> Vec<Event> {
        parse_events(&self.stdout, &self.stderr)
    }

    /// The terminal `response` event's result.
    #[track_caller]
    pub fn result(&self) -> TaskResult {
        self.events().result()
    }
}
