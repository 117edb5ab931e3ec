//! Event order and replay, a transcript snapshot of one full scripted run, reflection,
//! sessions, offline mode, and the queue under load.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kopilot_core::llm::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, Message, ScriptedModel, ToolCall,
    response_to_events,
};
use kopilot_core::testing::{RecordingTool, RoutedModel};
use kopilot_core::{EventKind, Kopilot, Limits, MemoryStore, Status, TaskRequest};
use serde_json::json;
use support::*;

fn scripted_run() -> (Kopilot, Arc<ScriptedModel>) {
    let supervisor = Arc::new(
        ScriptedModel::new("sup")
            .with_piece_chars(6)
            .then_call_tool(
                "delegate",
                json!({"skill": "beta", "task": "why is web crashing?"}),
            )
            .then_answer("web is crashlooping: OOMKilled 5 times."),
    );
    let beta = Arc::new(
        ScriptedModel::new("beta")
            .with_piece_chars(6)
            .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
            .then_answer("web-1 OOMKilled, 5 restarts"),
    );
    let model = RoutedModel::new()
        .route(SUPERVISOR, supervisor.clone())
        .route("BETA-SKILL", beta);
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new(
            "run_kubectl",
            "kubectl",
            "web-1 0/1 CrashLoopBackOff 5",
        )))
        .build()
        .unwrap();
    (kopilot, supervisor)
}

#[tokio::test]
async fn events_have_strictly_increasing_seq_and_replay_from_any_point() {
    let (kopilot, _) = scripted_run();
    let task = kopilot.submit(TaskRequest::new("why is web crashing?").requester("alice"));
    let live: Vec<_> = task.events().collect().await;
    assert!(
        live.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "seq strictly increasing by one"
    );
    assert_eq!(live[0].seq, 1);
    assert!(live.last().unwrap().is_terminal());
    assert!(live.iter().all(|e| e.task_id == task.id()));
    // A late subscriber gets the backlog; a subscriber from seq 3 gets exactly the rest.
    let late: Vec<_> = task.events().collect().await;
    assert_eq!(late, live);
    let from3: Vec<_> = task.events_from(3).collect().await;
    assert_eq!(from3, live[2..]);
    let beyond: Vec<_> = task.events_from(10_000).collect().await;
    assert!(beyond.is_empty());
    // The store has them too, once the writer caught up.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stored = kopilot.store().events(task.id(), 1).await.unwrap();
    assert_eq!(stored, live);
    let record = kopilot.store().task(task.id()).await.unwrap().unwrap();
    assert_eq!(record.status(), Some(Status::Succeeded));
}

#[tokio::test]
async fn transcript_of_a_full_scripted_run() {
    let (kopilot, _) = scripted_run();
    let task = kopilot.submit(TaskRequest::new("why is web crashing?").requester("alice"));
    let events: Vec<_> = task.events().collect().await;
    // Normalise what changes between runs: ids, times, durations.
    let normalised: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap();
            v["task_id"] = json!("t-X");
            v["ts"] = json!("T");
            if let Some(d) = v["event"].get_mut("duration_ms") {
                *d = json!(0);
            }
            if let Some(d) = v["event"].get_mut("approval_id") {
                *d = json!("a-X");
            }
            v
        })
        .collect();
    insta::assert_json_snapshot!("full_scripted_run", normalised);
}

#[tokio::test]
async fn reflection_below_the_threshold_replans_once() {
    let supervisor = Arc::new(
        ScriptedModel::new("sup")
            .then_answer("web is broken.")
            .then_answer("{\"score\": 3, \"critique\": \"no evidence\"}")
            .then_answer("web-1 was OOMKilled 5 times; raise its memory limit."),
    );
    let model = RoutedModel::new()
        .route(SUPERVISOR, supervisor.clone())
        .route("You review answers", supervisor.clone());
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("why is web crashing?").reflect(true));
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded);
    assert_eq!(
        result.answer,
        "web-1 was OOMKilled 5 times; raise its memory limit."
    );
    assert_eq!(
        transcript(&all_events(&task).await),
        ["task_started", "reflection:3:replan", "response:succeeded"]
    );
    let last = supervisor.requests().pop().unwrap();
    let Some(Message::User { content }) = last.messages.last() else {
        panic!()
    };
    assert!(
        content.contains("scored this answer 3/10: no evidence"),
        "{content}"
    );
}

#[tokio::test]
async fn reflection_at_or_above_the_threshold_keeps_the_answer() {
    let supervisor = Arc::new(
        ScriptedModel::new("sup")
            .then_answer("good answer")
            .then_answer("Score: {\"score\": 9, \"critique\": \"fine\"}"),
    );
    let model = RoutedModel::new()
        .route(SUPERVISOR, supervisor.clone())
        .route("You review answers", supervisor);
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .reflection(true)
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("q"));
    assert_eq!(task.result().await.answer, "good answer");
    assert_eq!(
        transcript(&all_events(&task).await),
        ["task_started", "reflection:9:keep", "response:succeeded"]
    );
}

#[tokio::test]
async fn a_session_sees_its_earlier_turns() {
    let alpha = Arc::new(
        ScriptedModel::new("a")
            .then_answer("3 idle pods in shop")
            .then_answer("They are web-1, web-2 and web-3."),
    );
    let model = RoutedModel::new().route("ALPHA-SKILL", alpha.clone());
    let store = Arc::new(MemoryStore::default());
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .store(store)
        .build()
        .unwrap();
    let first = kopilot.submit(
        TaskRequest::new("any idle pods?")
            .skill("alpha")
            .session("s1"),
    );
    assert_eq!(first.result().await.status, Status::Succeeded);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = kopilot.submit(TaskRequest::new("which ones?").skill("alpha").session("s1"));
    assert_eq!(second.result().await.status, Status::Succeeded);
    let request = &alpha.requests()[1];
    assert_eq!(
        request.messages,
        [
            Message::user("any idle pods?"),
            Message::assistant("3 idle pods in shop"),
            Message::user("which ones?")
        ]
    );
    // Another session starts fresh.
    let alpha2 = Arc::new(ScriptedModel::new("a").then_answer("fresh"));
    let kopilot2 = Kopilot::builder()
        .model(Arc::new(
            RoutedModel::new().route("ALPHA-SKILL", alpha2.clone()),
        ))
        .skills(skills())
        .store(kopilot.store().clone())
        .build()
        .unwrap();
    kopilot2
        .submit(TaskRequest::new("hello").skill("alpha").session("s2"))
        .result()
        .await;
    assert_eq!(alpha2.requests()[0].messages.len(), 1);
}

#[tokio::test]
async fn offline_mode_routes_by_keywords_and_answers_from_findings() {
    let finding = |value| serde_json::from_value::<kopilot_core::Finding>(value).unwrap();
    let web = finding(json!({
        "check": "health.crashloop", "severity": "critical",
        "object": {"kind": "Deployment", "namespace": "shop", "name": "web"},
        "message": "web is crashlooping (5 restarts)", "evidence": {"restarts": 5},
        "recommendation": "raise the memory limit",
        "command": "kubectl set resources deployment/web -n shop --limits=memory=512Mi"
    }));
    let analyze = RecordingTool::new(
        "analyze",
        "kubectl get pods,deployments -A",
        "{\"findings\":[...]}",
    )
    .with_findings(vec![web, finding(json!({
        "check": "health.crashloop", "severity": "high",
        "object": {"kind": "Pod", "namespace": "kube-system", "name": "coredns-1"},
        "message": "coredns-1 is crashlooping", "evidence": {},
        "recommendation": "look at its logs",
        "command": "kubectl delete pod coredns-1 -n kube-system"
    }))])
        .with_parameters(json!({"type": "object", "properties": {"checks": {"type": "array", "items": {"type": "string"}}}}));
    let kopilot = Kopilot::builder()
        .skills(skills())
        .tool(Arc::new(analyze.clone()))
        .build()
        .unwrap();
    assert!(!kopilot.has_model());
    let task = kopilot.submit(TaskRequest::new("why is web broken? it keeps crashing"));
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    assert!(
        result.answer.contains("no language model was used"),
        "{}",
        result.answer
    );
    assert!(
        result.answer.contains("Skills consulted: beta"),
        "{}",
        result.answer
    );
    assert!(result.answer.contains("web is crashlooping (5 restarts)"));
    assert!(
        result.answer.contains(
            "Fix (needs approval, medium risk): `kubectl set resources deployment/web -n shop --limits=memory=512Mi`"
        ),
        "{}",
        result.answer
    );
    // The question names web: coredns is only "also noticed", in one line, and its command
    // (which the policy would block, being in a protected namespace) is no fix on offer.
    let asked = result.answer.find("### Asked about").expect(&result.answer);
    let also = result
        .answer
        .find("### Also noticed (1)")
        .expect(&result.answer);
    assert!(asked < also, "{}", result.answer);
    assert!(
        result.answer[also..]
            .contains("- high **Pod/coredns-1 in `kube-system`** `health.crashloop`: coredns-1 is crashlooping"),
        "{}",
        result.answer
    );
    assert!(
        !result.answer.contains("kubectl delete pod coredns-1"),
        "{}",
        result.answer
    );
    assert_eq!(result.findings.len(), 2);
    assert_eq!(
        analyze.executed().len(),
        1,
        "the analyzer ran through the guard"
    );
}

#[tokio::test]
async fn offline_mode_without_an_analyze_tool_fails_clearly() {
    let kopilot = Kopilot::builder().skills(skills()).build().unwrap();
    let result = kopilot.submit(TaskRequest::new("anything")).result().await;
    assert_eq!(result.status, Status::Failed);
    let error = result.error.unwrap();
    assert!(error.message.contains("no `analyze` tool is registered"));
    assert_eq!(error.code, kopilot_core::ErrorCode::AnalyzersUnavailable);
}

/// A model that calls the tool on the first turn and answers on the second, for any task.
struct TwoStep;

#[async_trait::async_trait]
impl ChatModel for TwoStep {
    fn model(&self) -> &'static str {
        "two-step"
    }
    async fn chat_stream(&self, request: &ChatRequest) -> kopilot_core::llm::Result<ChatStream> {
        let response = if matches!(request.messages.last(), Some(Message::User { .. })) {
            ChatResponse::tool_calls(vec![ToolCall::new(
                "c",
                "run_kubectl",
                json!({"args": "get pods"}),
            )])
        } else {
            ChatResponse::text("done")
        };
        Ok(Box::pin(futures::stream::iter(
            response_to_events(&response, 64).into_iter().map(Ok),
        )))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_complete_within_the_concurrency_limit() {
    let tool =
        RecordingTool::new("run_kubectl", "kubectl", "ok").with_delay(Duration::from_millis(2));
    let kopilot = Kopilot::builder()
        .model(Arc::new(TwoStep))
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .limits(Limits {
            max_concurrent_tasks: 5,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|i| kopilot.submit(TaskRequest::new(format!("task {i}")).skill("alpha")))
        .collect();
    let mut queued_notices = 0;
    for task in &tasks {
        let result = task.result().await;
        assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
        let events: Vec<_> = task.events().collect().await;
        queued_notices += usize::from(events.iter().any(|e| matches!(&e.event, EventKind::Notification { message } if message.starts_with("queued"))));
        assert!(kopilot.running_tasks() <= 5);
    }
    assert_eq!(tool.executed().len(), 1000);
    assert!(
        tool.max_concurrent() <= 5,
        "{} tool runs overlapped",
        tool.max_concurrent()
    );
    assert!(tool.max_concurrent() >= 2, "tasks did run concurrently");
    assert!(
        queued_notices > 900,
        "queued tasks say so in their stream ({queued_notices})"
    );
    assert_eq!(kopilot.running_tasks(), 0);
}

/// A store that takes its time with every write, like a disk under load.
struct SlowStore(MemoryStore);

#[async_trait::async_trait]
impl kopilot_core::TaskStore for SlowStore {
    async fn create(&self, task: &kopilot_core::TaskRecord) -> kopilot_core::Result<()> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.0.create(task).await
    }
    async fn append(&self, event: &kopilot_core::Event) -> kopilot_core::Result<()> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.0.append(event).await
    }
    async fn finish(
        &self,
        task_id: &str,
        result: &kopilot_core::TaskResult,
    ) -> kopilot_core::Result<()> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.0.finish(task_id, result).await
    }
    async fn task(&self, task_id: &str) -> kopilot_core::Result<Option<kopilot_core::TaskRecord>> {
        self.0.task(task_id).await
    }
    async fn tasks(&self, limit: usize) -> kopilot_core::Result<Vec<kopilot_core::TaskRecord>> {
        self.0.tasks(limit).await
    }
    async fn events(
        &self,
        task_id: &str,
        from_seq: u64,
    ) -> kopilot_core::Result<Vec<kopilot_core::Event>> {
        self.0.events(task_id, from_seq).await
    }
    async fn session(
        &self,
        session_id: &str,
        limit: usize,
    ) -> kopilot_core::Result<Vec<kopilot_core::TaskRecord>> {
        self.0.session(session_id, limit).await
    }
    async fn mark_interrupted(&self) -> kopilot_core::Result<usize> {
        self.0.mark_interrupted().await
    }
}

#[tokio::test]
async fn flush_waits_until_the_store_holds_the_whole_task() {
    use kopilot_core::TaskStore as _;
    let store = Arc::new(SlowStore(MemoryStore::default()));
    let kopilot = Kopilot::builder()
        .model(Arc::new(
            ScriptedModel::new("m")
                .with_piece_chars(4)
                .then_answer("all twelve pods are running"),
        ))
        .skills(skills())
        .store(store.clone())
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("how are my pods?").skill("beta"));
    let live: Vec<_> = task.events().collect().await;
    // The writes lag behind the task (20 ms each): right after the end, the store is behind.
    kopilot.flush().await;
    let stored = store.events(task.id(), 1).await.unwrap();
    assert_eq!(stored, live, "every event is stored after flush");
    let record = store
        .task(task.id())
        .await
        .unwrap()
        .expect("the task is stored");
    assert_eq!(record.status(), Some(Status::Succeeded));
}

#[tokio::test]
async fn a_namespace_scope_reaches_the_model_and_the_offline_analyzers() {
    use kopilot_core::TaskStore as _;
    // With a model: the question it gets names the namespace; the stored prompt stays as asked.
    let model = Arc::new(ScriptedModel::new("m").then_answer("web is fine"));
    let store = Arc::new(MemoryStore::default());
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .store(store.clone())
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("is web healthy?")
            .skill("beta")
            .namespace("shop"),
    );
    assert_eq!(task.result().await.status, Status::Succeeded);
    let asked = format!("{:?}", model.requests()[0].messages);
    assert!(asked.contains("the `shop` namespace"), "{asked}");
    kopilot.flush().await;
    let record = store.task(task.id()).await.unwrap().unwrap();
    assert_eq!(record.prompt, "is web healthy?");

    // Offline: the analyzers are asked about that namespace only.
    let analyze = RecordingTool::new("analyze", "kubectl get pods -A", "{\"findings\":[]}");
    let offline = Kopilot::builder()
        .skills(skills())
        .tool(Arc::new(analyze))
        .build()
        .unwrap();
    let task = offline.submit(TaskRequest::new("why is web crashing?").namespace("shop"));
    let events: Vec<_> = task.events().collect().await;
    let args = events
        .iter()
        .find_map(|e| match &e.event {
            EventKind::ToolCall { tool, args, .. } if tool == "analyze" => Some(args.clone()),
            _ => None,
        })
        .expect("offline mode called analyze");
    assert_eq!(args["namespaces"], json!(["shop"]), "{args}");
}
