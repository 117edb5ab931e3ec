//! The tools' argument types: their JSON Schemas are the tools' input schemas. Each mirrors
//! the runtime tool of the same name (whose own schema still checks the arguments when the
//! task runs). None names a context, kubeconfig or server: the server's configuration decides
//! the cluster. None can approve anything.

use kopilot_core::TaskRequest;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `analyze`'s arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeArgs {
    /// Check ids or prefixes such as "cost.*"; empty or absent means all checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// Namespaces to look at; empty or absent means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Namespaces whose findings to leave out (cluster-scoped findings stay).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_namespaces: Vec<String>,
}

/// `read_resource`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadResourceArgs {
    /// Resource kind or plural, e.g. deployment, pods, ingress.networking.k8s.io.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// Its namespace; omit for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `get_logs`' arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetLogsArgs {
    /// Pod name (or kind/name, e.g. deployment/web).
    pub pod: String,
    /// The pod's namespace.
    pub namespace: String,
    /// Container name, for pods with more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Lines from the end (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5000))]
    pub tail: Option<u32>,
    /// Only newer lines, e.g. 10m, 1h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Logs of the previous (crashed) container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<bool>,
}

/// `get_events`' arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetEventsArgs {
    /// Omit for all namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only events about the object with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

/// `get_metrics`' arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMetricsArgs {
    /// Omit for all namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A command's words after the program name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Words {
    /// A list of words (preferred): `["get", "pods", "-n", "shop"]`.
    List(Vec<String>),
    /// One string, split like a shell would: `"get pods -n shop"`.
    Line(String),
}

/// `run_kubectl`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubectlArgs {
    /// The arguments after `kubectl`: a list of strings (preferred), or one string split like
    /// a shell would. `--context`, `--kubeconfig` and `--server` are refused: the server's
    /// configuration decides the cluster.
    pub args: Words,
}

/// `assess_command`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessArgs {
    /// The command line to assess, e.g. `kubectl delete pod web-1 -n shop`.
    pub command: String,
}

/// `ask`'s arguments.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskArgs {
    /// The question or instruction, in plain words.
    pub prompt: String,
    /// The namespace the question is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Answer with this skill directly (the supervisor steps aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// Continue a conversation: earlier turns of the session are given to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Answer from the deterministic analyzers only, even when a model is configured.
    #[serde(default)]
    pub offline: bool,
}

impl AskArgs {
    /// The task request, in the name of `requester` (the MCP client).
    pub(crate) fn into_request(self, requester: String) -> TaskRequest {
        let mut request = TaskRequest::new(self.prompt)
            .requester(requester)
            .offline(self.offline);
        request.namespace = self.namespace;
        request.skill = self.skill;
        request.session_id = self.session_id;
        request
    }
}
