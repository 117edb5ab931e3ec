//! What the server's HTTP tests share: a server on 127.0.0.1 over a scripted model and a
//! recording tool, with a token of each role, and the calls the tests make to it.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use kopilot_core::llm::ScriptedModel;
use kopilot_core::safety::{ChannelApprover, Policy};
use kopilot_core::skills::{InlineSource, Skill, SkillLoader, SkillRegistry};
use kopilot_core::testing::RecordingTool;
use kopilot_core::{Kopilot, MemoryStore, TaskStore};
use kopilot_server::tokens::{Role, TokenFile, Tokens};
use kopilot_server::{Server, ServerConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// One skill, `ops`, that may run `run_kubectl`.
pub fn skills() -> SkillRegistry {
    let mut skill = Skill::new("ops", "Ops", "Runs kubectl.", "OPS: you run kubectl.");
    skill.tools = vec!["run_kubectl".to_owned()];
    SkillLoader::new()
        .source(InlineSource::new("tests", [skill]))
        .load()
        .unwrap()
}

/// A `run_kubectl` that records what it is given and answers with a pod list.
pub fn kubectl_tool() -> RecordingTool {
    RecordingTool::new("run_kubectl", "kubectl", "NAME   READY\nweb-1  1/1")
}

/// What a test server is made of.
pub struct Setup {
    pub model: ScriptedModel,
    pub tool: RecordingTool,
    pub four_eyes: bool,
    pub config: ServerConfig,
}

impl Setup {
    pub fn new(model: ScriptedModel) -> Self {
        Self {
            model,
            tool: kubectl_tool(),
            four_eyes: false,
            config: ServerConfig {
                subscriber_stall: Duration::from_secs(5),
                ..ServerConfig::default()
            },
        }
    }

    /// Starts the server with a token of each role: `admin`, `alice` (operator), `bob` and
    /// `carol` (approvers), `val` (viewer), and the agents `kubecopilot` and `kubecopilot-2`.
    pub async fn start(self) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let mut file = TokenFile::default();
        let admin = file.add(&path, "admin", Role::Admin).unwrap();
        let alice = file.add(&path, "alice", Role::Operator).unwrap();
        let bob = file.add(&path, "bob", Role::Approver).unwrap();
        let carol = file.add(&path, "carol", Role::Approver).unwrap();
        let viewer = file.add(&path, "val", Role::Viewer).unwrap();
        let agent = file.add(&path, "kubecopilot", Role::Agent).unwrap();
        let other_agent = file.add(&path, "kubecopilot-2", Role::Agent).unwrap();
        file.save(&path).unwrap();
        let store = Arc::new(MemoryStore::default());
        let policy = Policy::builder().four_eyes(self.four_eyes).build().unwrap();
        let kopilot = Kopilot::builder()
            .model(Arc::new(self.model))
            .skills(skills())
            .policy(policy)
            .tool(Arc::new(self.tool.clone()))
            .store(Arc::clone(&store) as Arc<dyn TaskStore>)
            .approval_desk(ChannelApprover::new().with_four_eyes(self.four_eyes))
            .build()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(kopilot, Tokens::open(&path).unwrap(), self.config, addr);
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Running {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            admin,
            alice,
            bob,
            carol,
            viewer,
            agent,
            other_agent,
            tool: self.tool,
            store,
            stop: Some(stop),
            done,
            _dir: dir,
        }
    }
}

/// A running server and what the tests need to talk to it.
pub struct Running {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub alice: String,
    pub bob: String,
    pub carol: String,
    pub viewer: String,
    pub agent: String,
    pub other_agent: String,
    pub tool: RecordingTool,
    pub store: Arc<MemoryStore>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn submit(&self, token: &str, body: Value) -> String {
        let (status, reply) = self.post("/tasks", token, &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
        reply["id"].as_str().unwrap().to_owned()
    }

    /// Submits the read question as `alice` (the `ops` skill).
    pub async fn ask_as_alice(&self) -> String {
        self.submit(
            &self.alice,
            json!({"prompt": "is web healthy?", "skill": "ops"}),
        )
        .await
    }

    /// Every task, as the admin lists them.
    pub async fn tasks(&self) -> Vec<Value> {
        let (status, list) = self.get("/tasks", &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list["tasks"].as_array().unwrap().clone()
    }

    /// Waits until `GET /tasks/{id}` says `status`.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        for _ in 0..1000 {
            let (_, task) = self.get(&format!("/tasks/{id}"), &self.admin).await;
            if task["status"] == status {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("task {id} never reached {status}");
    }

    /// Waits until the tool is running a command (it has been called and has not returned).
    pub async fn wait_for_the_command(&self) {
        for _ in 0..1000 {
            if self.tool.max_concurrent() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(self.tool.max_concurrent(), 1, "the command is running");
    }

    /// Waits for the first pending approval.
    pub async fn pending_approval(&self) -> Value {
        for _ in 0..500 {
            let (status, list) = self.get("/approvals?status=pending", &self.viewer).await;
            assert_eq!(status, StatusCode::OK, "{list}");
            if let Some(first) = list["approvals"].as_array().and_then(|a| a.first()) {
                return first.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no approval was requested");
    }

    /// Stops the server (it drains) and waits for it to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.done)
            .await
            .expect("the server stopped")
            .unwrap()
            .unwrap();
    }
}
