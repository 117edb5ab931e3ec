//! Embedding Kopilot: a scripted model, a custom tool and a custom approver, one task, and its
//! events printed as they happen.
//!
//! Run it with `cargo run -p kopilot-core --features test-util --example embed`. It needs no
//! cluster and no model key: `ScriptedModel` plays the model's part.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::safety::{
    ApprovalDecision, ApprovalRequest, Approver, ClearedCommand, Identity, quote_argv,
};
use kopilot_core::{Kopilot, Plan, TaskRequest, Tool, ToolContext, ToolError, ToolOutput};
use serde_json::{Value, json};

/// A custom tool: scales a deployment. It plans the exact kubectl line, so the guard (and the
/// approver) see what it would do; here it only pretends to run it.
struct ScaleDeployment;

#[async_trait]
impl Tool for ScaleDeployment {
    fn name(&self) -> &'static str {
        "scale_deployment"
    }

    fn description(&self) -> &'static str {
        "Scale a deployment to a number of replicas."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 50}
            },
            "required": ["name", "namespace", "replicas"],
            "additionalProperties": false
        })
    }

    fn plan(&self, args: &Value) -> Result<Plan, ToolError> {
        let text = |k: &str| {
            args.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let replicas = args.get("replicas").and_then(Value::as_u64).unwrap_or(0);
        Ok(Plan::command(quote_argv(&[
            "kubectl".to_owned(),
            "scale".to_owned(),
            format!("deployment/{}", text("name")),
            format!("--replicas={replicas}"),
            "-n".to_owned(),
            text("namespace"),
        ])))
    }

    async fn execute(
        &self,
        _args: &Value,
        cleared: Vec<ClearedCommand>,
        _ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let line = cleared
            .first()
            .map(ClearedCommand::line)
            .unwrap_or_default();
        let approver = cleared
            .first()
            .and_then(|c| c.approval())
            .map(|a| a.decided_by().to_string())
            .unwrap_or_default();
        Ok(ToolOutput::text(format!(
            "(pretend) ran `{line}`, approved by {approver}: deployment.apps/web scaled"
        )))
    }
}

/// A custom approver: approves changes in the `shop` namespace only, as the shop's owner (an
/// identity this program established, as an adapter would from a login).
struct ShopOnly {
    owner: Identity,
}

#[async_trait]
impl Approver for ShopOnly {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        if request.command.contains("-n shop") {
            ApprovalDecision::approve(request, &self.owner)
        } else {
            ApprovalDecision::deny(
                request,
                &self.owner,
                "only the shop namespace is mine to approve",
            )
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = ScriptedModel::new("scripted-demo")
        // The supervisor hands the question to a specialist...
        .then_call_tool(kopilot_core::names::tools::DELEGATE, json!({"skill": "administration", "task": "Scale web in shop to 3 replicas."}))
        // ...which calls the custom tool...
        .then_call_tool("scale_deployment", json!({"name": "web", "namespace": "shop", "replicas": 3}))
        // ...and reports back; the supervisor writes the final answer.
        .then_answer("Scaled `web` in `shop` to 3 replicas (approved by shop-owner).")
        .then_answer("Done: `web` in `shop` now runs 3 replicas. Command: `kubectl scale deployment/web --replicas=3 -n shop`.");

    let mut skills = kopilot_core::skills::SkillLoader::with_builtins().load()?;
    // Let the administration skill use the custom tool.
    skills = {
        let mut admin = skills
            .get("administration")
            .cloned()
            .ok_or("no administration skill")?;
        admin.tools.push("scale_deployment".to_owned());
        kopilot_core::skills::SkillLoader::with_builtins()
            .source(kopilot_core::skills::InlineSource::new("example", [admin]))
            .load()?
    };

    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills)
        .tool(Arc::new(ScaleDeployment))
        .approver(Arc::new(ShopOnly {
            owner: Identity::new("shop-owner"),
        }))
        .build()?;

    let task =
        kopilot.submit(TaskRequest::new("Scale web in shop to 3 replicas").requester("alice"));
    let mut events = task.events();
    while let Some(event) = events.next().await {
        println!("{}", serde_json::to_string(&event)?);
    }
    let result = task.result().await;
    eprintln!("\n{}: {}", result.status, result.answer);
    if result.status != kopilot_core::Status::Succeeded {
        return Err(format!("the task ended {}: {:?}", result.status, result.error).into());
    }
    Ok(())
}
