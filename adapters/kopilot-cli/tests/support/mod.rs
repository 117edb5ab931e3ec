//! Shared by the end-to-end tests: the scripted OpenAI-compatible model server
//! (`kopilot_llm::fake_server`), a fake cluster, a private data directory and HOME, and the real
//! `kopilot` binary run with a clean environment (piped, or on a pseudo-terminal), its JSON
//! event stream parsed into `kopilot_core::Event`s.

#![allow(dead_code, unreachable_pub)]

pub mod events;
mod inspect;
pub mod needs;
pub mod process;
pub mod pty;

use std::ffi::OsString;
use std::path::PathBuf;

use kopilot_fake::{FakeCluster, FakeClusterBuilder};

// Each test file uses its own part of these.
#[allow(unused_imports)]
pub use events::{EventsExt, parse_events};
#[allow(unused_imports)]
pub use kopilot_llm::fake_server::{FakeServer, LAST_TOOL_RESULT, RecordedRequest, Reply, Script};
#[allow(unused_imports)]
pub use needs::{llamacpp_url, require_kubectl};
#[allow(unused_imports)]
pub use process::{Outcome, Running};

/// The local user name the tests give kopilot (`USER` and `LOGNAME`).
pub const TEST_USER: &str = "kopilot-e2e-user";

/// The model name the tests configure (`LLM_MODEL`).
pub const TEST_MODEL: &str = "stub";

/// A port where nothing listens, for the default Ollama (the discard port).
pub const CLOSED_URL: &str = "http://127.0.0.1:9";

/// The system-prompt marker of the supervisor (a line of `kopilot-core`'s prompt).
pub const SUPERVISOR_MARKER: &str = "leads a team of specialists";

/// The system-prompt marker of a built-in skill: the first line of its system prompt.
pub fn skill_marker(name: &str) -> String {
    let yaml = kopilot_skills::builtin_skill_yaml(name)
        .unwrap_or_else(|| panic!("no built-in skill `{name}`"));
    let skill = kopilot_skills::parse_skill(yaml, name)
        .unwrap_or_else(|d| panic!("the built-in skill `{name}` does not parse: {d:?}"));
    skill
        .system_prompt
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// One test's world: servers on a background runtime, a scratch directory for HOME, the data
/// directory and kubeconfigs.
pub struct Scenario {
    pub cluster: Option<FakeCluster>,
    pub stub: Option<FakeServer>,
    pub dir: tempfile::TempDir,
    kubeconfig: Option<PathBuf>,
    extra_env: Vec<(String, String)>,
    // Last: the servers above stop before their runtime goes.
    runtime: tokio::runtime::Runtime,
}

impl Scenario {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime for the test servers");
        let dir = tempfile::tempdir().expect("a scratch directory");
        std::fs::create_dir_all(dir.path().join("home")).expect("HOME");
        Self {
            cluster: None,
            stub: None,
            dir,
            kubeconfig: None,
            extra_env: Vec::new(),
            runtime,
        }
    }

    /// Starts a fake cluster and writes its kubeconfig (passed to kopilot as `--kubeconfig`
    /// by [`Scenario::ask`]).
    pub fn with_cluster(mut self, builder: FakeClusterBuilder) -> Self {
        let cluster = self
            .runtime
            .block_on(builder.start())
            .expect("the fake cluster starts");
        let path = self.dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&path).expect("kubeconfig written");
        self.cluster = Some(cluster);
        self.kubeconfig = Some(path);
        self
    }

    /// Starts the fake model server with `script` and points kopilot at it.
    pub fn with_stub(mut self, script: Script) -> Self {
        let stub = self
            .runtime
            .block_on(FakeServer::start(script))
            .expect("the fake model server starts");
        self.stub = Some(stub);
        self
    }

    /// Sets one more environment variable for kopilot (overrides the defaults).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.extra_env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn cluster(&self) -> &FakeCluster {
        self.cluster.as_ref().expect("the scenario has a cluster")
    }

    pub fn stub(&self) -> &FakeServer {
        self.stub.as_ref().expect("the scenario has a stub")
    }

    pub fn kubeconfig(&self) -> &PathBuf {
        self.kubeconfig
            .as_ref()
            .expect("the scenario has a cluster")
    }

    /// `KOPILOT_DATA_DIR`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn audit_log(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("audit.jsonl")).unwrap_or_default()
    }

    /// Runs a block of async code on the servers' runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The environment kopilot runs with: nothing from the test process but PATH.
    pub fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(String, String)> = vec![
            (
                "HOME".into(),
                self.dir.path().join("home").display().to_string(),
            ),
            ("USER".into(), TEST_USER.into()),
            ("LOGNAME".into(), TEST_USER.into()),
            (
                "KOPILOT_DATA_DIR".into(),
                self.data_dir().display().to_string(),
            ),
            ("OLLAMA_BASE_URL".into(), CLOSED_URL.into()),
        ];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".into(), path.to_string_lossy().into_owned()));
        }
        if let Some(stub) = &self.stub {
            env.extend([
                ("LLM_PROVIDER".into(), "openai".into()),
                ("OPENAI_BASE_URL".into(), stub.base_url()),
                ("OPENAI_API_KEY".into(), "test".into()),
                ("LLM_MODEL".into(), TEST_MODEL.into()),
                // A scripted failure must show at once, not after backoffs.
                ("LLM_MAX_RETRIES".into(), "0".into()),
            ]);
        }
        for (name, value) in &self.extra_env {
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value.clone()));
        }
        env.into_iter()
            .map(|(n, v)| (OsString::from(n), OsString::from(v)))
            .collect()
    }

    /// `kopilot ask --kubeconfig <the fake cluster's> <args>` (no `--kubeconfig` without a
    /// cluster).
    pub fn ask(&self, args: &[&str]) -> process::Invocation {
        let mut argv: Vec<OsString> = vec!["ask".into()];
        if let Some(path) = &self.kubeconfig {
            argv.push("--kubeconfig".into());
            argv.push(path.into());
        }
        argv.extend(args.iter().map(OsString::from));
        process::Invocation {
            args: argv,
            env: self.environment(),
        }
    }

    /// `kopilot <args>` with the scenario's environment.
    pub fn kopilot(&self, args: &[&str]) -> process::Invocation {
        process::Invocation {
            args: args.iter().map(OsString::from).collect(),
            env: self.environment(),
        }
    }
}
