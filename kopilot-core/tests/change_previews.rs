//! Approval requests carry what the command would change: the runtime asks its previewer
//! before it asks anyone, with its own guard and the requester marked as a preview, and the
//! approver, the desk's pending list and the `approval_requested` event all get the same preview.

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::preview::ChangePreviewer;
use kopilot_core::protocol::{ChangeAction, ChangePreview, ObjectChange};
use kopilot_core::safety::{ApproveAll, Guard, RequestContext};
use kopilot_core::testing::RecordingTool;
use kopilot_core::{EventKind, Kopilot, Status, TaskRequest};
use serde_json::json;
use support::*;
use tokio_util::sync::CancellationToken;

/// Answers with a fixed diff, or an error, and records what it was asked.
#[derive(Default)]
struct FakePreviewer {
    fail: bool,
    asked: Mutex<Vec<(String, String, bool)>>,
}

#[async_trait]
impl ChangePreviewer for FakePreviewer {
    async fn preview(
        &self,
        guard: &Guard,
        command: &str,
        ctx: &RequestContext,
        _cancel: &CancellationToken,
    ) -> Result<Option<ChangePreview>, String> {
        // The runtime's own guard: it knows the command needs approval.
        let needs_approval =
            guard.assess(command).decision == kopilot_core::safety::Decision::Approve;
        self.asked.lock().unwrap().push((
            command.to_owned(),
            ctx.requester.to_string(),
            needs_approval,
        ));
        if self.fail {
            return Err("kubectl is not installed".to_owned());
        }
        Ok(Some(ChangePreview {
            command: command.to_owned(),
            ran: vec![
                "kubectl scale deploy/web --replicas=2 -n shop --dry-run=server -o yaml".into(),
            ],
            changes: vec![ObjectChange {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web".into(),
                action: ChangeAction::Update,
                diff: "@@ -1,1 +1,1 @@\n-  replicas: 3\n+  replicas: 2\n".into(),
            }],
            failure: None,
            notes: Vec::new(),
        }))
    }
}

async fn scale_with(previewer: Arc<FakePreviewer>) -> Vec<kopilot_core::Event> {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool(
                "run_kubectl",
                json!({"args": "scale deploy/web --replicas=2 -n shop"}),
            )
            .then_answer("Scaled."),
    );
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .approver(Arc::new(ApproveAll::new("bob")))
        .previewer(previewer)
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("scale web")
            .skill("alpha")
            .requester("alice"),
    );
    assert_eq!(task.result().await.status, Status::Succeeded);
    all_events(&task).await
}

fn preview_of(events: &[kopilot_core::Event]) -> Option<ChangePreview> {
    events.iter().find_map(|e| match &e.event {
        EventKind::ApprovalRequested { preview, .. } => Some(preview.clone()),
        _ => None,
    })?
}

#[tokio::test]
async fn the_approval_request_and_its_event_carry_the_preview() {
    let previewer = Arc::new(FakePreviewer::default());
    let events = scale_with(Arc::clone(&previewer)).await;
    let preview = preview_of(&events).expect("the event carries a preview");
    assert_eq!(preview.changes[0].name, "web");
    assert!(preview.changes[0].diff.contains("+  replicas: 2"));
    let asked = previewer.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [(
            "kubectl scale deploy/web --replicas=2 -n shop".to_owned(),
            "alice (change preview)".to_owned(),
            true
        )]
    );
}

#[tokio::test]
async fn a_preview_that_fails_tells_the_approver_why() {
    let previewer = Arc::new(FakePreviewer {
        fail: true,
        ..FakePreviewer::default()
    });
    let events = scale_with(previewer).await;
    let preview = preview_of(&events).expect("the event says why there is no preview");
    assert_eq!(
        preview.failure.as_deref(),
        Some("no preview: kubectl is not installed")
    );
    assert!(preview.changes.is_empty());
}

#[tokio::test]
async fn reads_are_not_previewed() {
    let previewer = Arc::new(FakePreviewer::default());
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
            .then_answer("Fine."),
    );
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .previewer(Arc::clone(&previewer) as _)
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("pods?").skill("alpha"));
    assert_eq!(task.result().await.status, Status::Succeeded);
    assert!(previewer.asked.lock().unwrap().is_empty());
}
