//! What each tool is: its name, description for the model, JSON Schema and command line.

use serde_json::{Value, json};

use kopilot_core::ToolError;
use kopilot_core::names::tools;

use super::args;

/// Which Kubernetes tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// `run_kubectl {args}`.
    RunKubectl,
    /// `run_helm {args}`.
    RunHelm,
    /// `get_logs {pod, namespace, container, tail, since, previous}`.
    GetLogs,
    /// `get_events {namespace, object}`.
    GetEvents,
    /// `read_resource {kind, name, namespace}`.
    ReadResource,
    /// `get_metrics {namespace}`.
    GetMetrics,
    /// `run_shell {command}`.
    RunShell,
}

/// Lines of a pod's log returned when the model does not say.
const DEFAULT_TAIL: u64 = 200;

impl ToolKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::RunKubectl,
        Self::RunHelm,
        Self::GetLogs,
        Self::GetEvents,
        Self::ReadResource,
        Self::GetMetrics,
        Self::RunShell,
    ];

    /// The tool name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RunKubectl => tools::RUN_KUBECTL,
            Self::RunHelm => tools::RUN_HELM,
            Self::GetLogs => tools::GET_LOGS,
            Self::GetEvents => tools::GET_EVENTS,
            Self::ReadResource => tools::READ_RESOURCE,
            Self::GetMetrics => tools::GET_METRICS,
            Self::RunShell => tools::RUN_SHELL,
        }
    }

    /// The description, written for the model.
    pub fn description(self) -> &'static str {
        match self {
            Self::RunKubectl => {
                "Run one kubectl command against the configured cluster, e.g. args [\"get\", \"pods\", \"-n\", \"shop\", \"-o\", \"wide\"]. Give the arguments after `kubectl` as a list of strings. No pipes, redirections or shell syntax. The cluster, context and credentials are fixed by configuration: --kubeconfig, --context, --server, --token, --as and similar flags are refused. Reads run at once; changes may need human approval. What you see of secrets: -o json, -o yaml, config view and get --raw JSON are redacted by field: Secret data/stringData values (keys, types and metadata stay), the copy in the last-applied-configuration annotation, values of keys and env variables whose names look secret (password, token, secret, api key, private key, credential), and PEM private keys, JWTs, bearer tokens, AWS access key ids and URL passwords inside any value; such output that cannot be parsed (e.g. cut at the output limit) is withheld when it can hold Secrets. Custom formats (jsonpath, custom-columns, go-template, template, *-file) are refused for Secrets, the kubeconfig and objects of unknown kind (-f, -k). For pods and workloads, jsonpath and custom-columns run together with a -o json read of the same objects, and every value that read redacts (4 characters or more) is removed from their output; go-template is refused, and so are jsonpath filters with < or >. Everything else (custom formats on other kinds, tables, describe, exec, logs) gets text-shape redaction only: a value under an innocent name (CONFIG=...) or printed bare is not recognised."
            }
            Self::RunHelm => {
                "Run one helm command against the configured cluster, e.g. args [\"list\", \"-A\"] or [\"history\", \"web\", \"-n\", \"shop\"]. Give the arguments after `helm` as a list of strings; no shell syntax; --kube-context, --kubeconfig and other connection flags are refused. Changes may need human approval. Output gets text-shape redaction only (Secret data in manifests and secret-looking keys in values are recognised by their YAML shape)."
            }
            Self::GetLogs => {
                "Read a pod's logs (kubectl logs). Give pod and namespace; optionally container (required for multi-container pods), tail (lines, default 200), since (e.g. 10m, 1h) and previous=true for the last crashed container. Log lines get text-shape redaction only: KEY=value pairs whose key looks secret, bearer tokens, JWTs, PEM private keys, AWS access key ids and URL passwords are removed; anything else the application prints reaches you as printed."
            }
            Self::GetEvents => {
                "List Kubernetes events, newest last: in one namespace (or all when namespace is omitted), optionally only those about one object (its name). Use this to see why pods are pending, crashing, failing probes or being evicted. Messages get text-shape redaction only."
            }
            Self::ReadResource => {
                "Read one Kubernetes object as YAML: kind (e.g. deployment, pod, service, configmap, ingress), name and namespace (omit for cluster-scoped kinds such as node). The object is redacted by field before it is shown: Secret data/stringData values (keys stay), the last-applied-configuration copy, values of keys and env variables whose names look secret, and PEM keys, JWTs, bearer tokens, AWS key ids and URL passwords inside any value."
            }
            Self::GetMetrics => {
                "Show current CPU and memory use of pods (kubectl top pods) in a namespace, or in all namespaces when omitted. Needs metrics-server in the cluster."
            }
            Self::RunShell => {
                "Run a shell command line (sh -c) on the operator's machine, with kubectl and helm configured for the cluster. Every line is checked by the safety policy; prefer run_kubectl when a single command will do. Its output gets text-shape redaction only: nothing is parsed, so a secret printed bare (jsonpath, base64 -d, a file) reaches you as printed."
            }
        }
    }

    /// The JSON Schema of the arguments.
    pub fn parameters(self) -> Value {
        let args = json!({
            "description": "The arguments after the program name: a list of strings (preferred), or one string split like a shell would.",
            "anyOf": [
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
                {"type": "string", "minLength": 1}
            ]
        });
        match self {
            Self::RunKubectl | Self::RunHelm => json!({
                "type": "object",
                "properties": {"args": args},
                "required": ["args"],
                "additionalProperties": false
            }),
            Self::GetLogs => json!({
                "type": "object",
                "properties": {
                    "pod": {"type": "string", "description": "Pod name (or kind/name, e.g. deployment/web)."},
                    "namespace": {"type": "string"},
                    "container": {"type": "string", "description": "Container name, for pods with more than one."},
                    "tail": {"type": "integer", "minimum": 1, "maximum": 5000, "description": "Lines from the end (default 200)."},
                    "since": {"type": "string", "description": "Only newer lines, e.g. 10m, 1h."},
                    "previous": {"type": "boolean", "description": "Logs of the previous (crashed) container."}
                },
                "required": ["pod", "namespace"],
                "additionalProperties": false
            }),
            Self::GetEvents => json!({
                "type": "object",
                "properties": {
                    "namespace": {"type": "string", "description": "Omit for all namespaces."},
                    "object": {"type": "string", "description": "Only events about the object with this name."}
                },
                "additionalProperties": false
            }),
            Self::ReadResource => json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "description": "Resource kind or plural, e.g. deployment, pods, ingress.networking.k8s.io."},
                    "name": {"type": "string"},
                    "namespace": {"type": "string", "description": "Omit for cluster-scoped kinds."}
                },
                "required": ["kind", "name"],
                "additionalProperties": false
            }),
            Self::GetMetrics => json!({
                "type": "object",
                "properties": {"namespace": {"type": "string", "description": "Omit for all namespaces."}},
                "additionalProperties": false
            }),
            Self::RunShell => json!({
                "type": "object",
                "properties": {"command": {"type": "string", "minLength": 1}},
                "required": ["command"],
                "additionalProperties": false
            }),
        }
    }

    /// The argv this tool runs for these arguments (not for `run_shell`).
    pub(crate) fn argv(self, a: &Value) -> Result<Vec<String>, ToolError> {
        let mut argv = vec![self.program().to_owned()];
        match self {
            Self::RunKubectl => argv.extend(args::words(a, "kubectl")?),
            Self::RunHelm => argv.extend(args::words(a, "helm")?),
            Self::GetLogs => {
                argv.push("logs".to_owned());
                argv.push(args::name(args::required_str(a, "pod")?, "pod")?.to_owned());
                namespace(&mut argv, a, true)?;
                if let Some(container) = args::optional_str(a, "container")? {
                    argv.extend([
                        "-c".to_owned(),
                        args::name(container, "container")?.to_owned(),
                    ]);
                }
                let tail = args::optional_count(a, "tail")?.unwrap_or(DEFAULT_TAIL);
                argv.push(format!("--tail={tail}"));
                if let Some(since) = args::optional_str(a, "since")? {
                    argv.push(format!("--since={}", args::duration(since, "since")?));
                }
                if args::flag(a, "previous")? {
                    argv.push("--previous".to_owned());
                }
            }
            Self::GetEvents => {
                argv.extend(["get".to_owned(), "events".to_owned()]);
                if !namespace(&mut argv, a, false)? {
                    argv.push("--all-namespaces".to_owned());
                }
                if let Some(object) = args::optional_str(a, "object")? {
                    let object = args::name(object, "object")?;
                    let object = object.rsplit('/').next().unwrap_or(object);
                    argv.push(format!("--field-selector=involvedObject.name={object}"));
                }
                argv.push("--sort-by=.lastTimestamp".to_owned());
            }
            Self::ReadResource => {
                argv.push("get".to_owned());
                argv.push(args::name(args::required_str(a, "kind")?, "kind")?.to_owned());
                argv.push(args::name(args::required_str(a, "name")?, "name")?.to_owned());
                namespace(&mut argv, a, false)?;
                argv.extend(["-o".to_owned(), "yaml".to_owned()]);
            }
            Self::GetMetrics => {
                argv.extend(["top".to_owned(), "pods".to_owned()]);
                if !namespace(&mut argv, a, false)? {
                    argv.push("--all-namespaces".to_owned());
                }
            }
            Self::RunShell => {
                return Err(ToolError::new("run_shell runs a command line, not an argv"));
            }
        }
        Ok(argv)
    }

    fn program(self) -> &'static str {
        if self == Self::RunHelm {
            "helm"
        } else {
            "kubectl"
        }
    }
}

/// Adds `-n NS` when given (required when `required`); whether it was.
fn namespace(argv: &mut Vec<String>, a: &Value, required: bool) -> Result<bool, ToolError> {
    let ns = if required {
        Some(args::required_str(a, "namespace")?)
    } else {
        args::optional_str(a, "namespace")?
    };
    match ns {
        Some(ns) => {
            argv.extend(["-n".to_owned(), args::name(ns, "namespace")?.to_owned()]);
            Ok(true)
        }
        None => Ok(false),
    }
}
