//! The kubectl grammar: global flags anywhere, compound verbs, resource types, namespaces,
//! raw API paths, output formats and kustomizations.

mod objects;
mod rules;

use crate::assess::{CommandAssessment, Exposure, concat};
use crate::flags::{FlagTable, Scanned, command_word_candidates, scan, spelled_flags};
use crate::policy::Policy;
use crate::risk::Risk;
use crate::shell::{SimpleCommand, Word};

use objects::{Objects, RawPath, push_unique};

/// kubectl's persistent flags that take a value.
const ROOT_VALUE_FLAGS: &[&str] = &[
    "as",
    "as-group",
    "as-uid",
    "cache-dir",
    "certificate-authority",
    "client-certificate",
    "client-key",
    "cluster",
    "context",
    "kubeconfig",
    "log-backtrace-at",
    "log-dir",
    "log-file",
    "log-file-max-size",
    "log-flush-frequency",
    "namespace",
    "password",
    "profile",
    "profile-output",
    "request-timeout",
    "server",
    "tls-server-name",
    "token",
    "user",
    "username",
    "v",
    "vmodule",
    "stderrthreshold",
];

/// kubectl's persistent boolean flags.
const ROOT_BOOL_FLAGS: &[&str] = &[
    "add-dir-header",
    "alsologtostderr",
    "disable-compression",
    "insecure-skip-tls-verify",
    "logtostderr",
    "match-server-version",
    "one-output",
    "skip-headers",
    "skip-log-headers",
    "warnings-as-errors",
    "help",
];

/// Subcommand flags that take a value (union over the verbs; `-p` and `-f` depend on the verb).
const VERB_VALUE_FLAGS: &[&str] = &[
    "output",
    "selector",
    "field-selector",
    "filename",
    "kustomize",
    "container",
    "tail",
    "since",
    "since-time",
    "sort-by",
    "template",
    "label-columns",
    "chunk-size",
    "replicas",
    "current-replicas",
    "resource-version",
    "image",
    "type",
    "patch",
    "patch-file",
    "timeout",
    "grace-period",
    "field-manager",
    "overrides",
    "env",
    "from",
    "from-literal",
    "from-file",
    "from-env-file",
    "docker-server",
    "docker-username",
    "docker-password",
    "docker-email",
    "port",
    "target-port",
    "name",
    "protocol",
    "external-ip",
    "load-balancer-ip",
    "session-affinity",
    "cluster-ip",
    "min",
    "max",
    "cpu-percent",
    "limits",
    "requests",
    "to-revision",
    "revision",
    "pod-running-timeout",
    "address",
    "api-group",
    "api-version",
    "for",
    "subresource",
    "prune-allowlist",
    "max-log-requests",
    "limit-bytes",
    "copy-to",
    "target",
    "restart",
    "labels",
    "serviceaccount",
    "role",
    "clusterrole",
    "group",
    "verb",
    "resource",
    "resource-name",
    "schedule",
    "duration",
    "audience",
    "bound-object-kind",
    "bound-object-name",
    "bound-object-uid",
    "hard",
    "scopes",
    "value",
    "description",
    "preemption-policy",
    "min-available",
    "max-unavailable",
    "rule",
    "class",
    "default-backend",
    "annotation",
    "key",
    "cert",
    "output-directory",
    "show-managed-fields-as",
    "image-pull-policy",
    "local-port",
    "pod-selector",
    "skip-wait-for-delete-timeout",
    "path",
    "path-type",
    "output-version",
    "attach-timeout",
    "custom-profile",
    "load-restrictor",
    "helm-command",
    "helm-api-versions",
    "helm-kube-version",
    "mount",
    "reorder",
    "network-name",
    // Checked against every `kubectl ... --help` by tests/kubectl_flags_match_kubectl.rs.
    "categories",
    "verbs",
    "namespaces",
    "proxy-url",
    "auth-provider",
    "auth-provider-arg",
    "exec-api-version",
    "exec-arg",
    "exec-command",
    "exec-env",
    "exec-interactive-mode",
    "retries",
    "aggregation-rule",
    "non-resource-url",
    "clusterip",
    "tcp",
    "external-name",
    "node-port",
    "custom",
    "set-image",
    "concurrency",
    "types",
    "override-type",
    "annotations",
    "keys",
    "accept-hosts",
    "accept-paths",
    "api-prefix",
    "keepalive",
    "reject-methods",
    "reject-paths",
    "unix-socket",
    "www",
    "www-prefix",
];

/// Flags whose presence points kubectl at another cluster or other credentials.
const TARGET_OVERRIDE_FLAGS: &[&str] = &[
    "kubeconfig",
    "context",
    "cluster",
    "server",
    "token",
    "user",
    "username",
    "password",
    "certificate-authority",
    "client-certificate",
    "client-key",
    "insecure-skip-tls-verify",
    "tls-server-name",
];

/// Flags that make kubectl write local files.
const FILE_WRITING_FLAGS: &[&str] = &[
    "log-file",
    "log-dir",
    "profile-output",
    "output-directory",
    "cache-dir",
];

/// Verbs that accept `--dry-run=client|server` and then change nothing.
const DRY_RUN_VERBS: &[&str] = &[
    "apply",
    "create",
    "delete",
    "patch",
    "replace",
    "run",
    "expose",
    "autoscale",
    "label",
    "annotate",
    "set",
    "drain",
    "cordon",
    "uncordon",
    "taint",
    "scale",
    "rollout",
];

/// Verbs with subcommands.
const COMPOUND_VERBS: &[&str] = &[
    "rollout",
    "auth",
    "config",
    "create",
    "set",
    "certificate",
    "top",
    "apply",
    "plugin",
    "cluster-info",
    "alpha",
];

struct Table<'a> {
    verb: &'a str,
}

impl FlagTable for Table<'_> {
    fn long_name(&self, short: char) -> Option<&'static str> {
        Some(match short {
            'n' => "namespace",
            's' => "server",
            'v' => "v",
            'h' => "help",
            'o' => "output",
            'l' => "selector",
            'f' if self.verb == "logs" => "follow",
            'f' => "filename",
            'k' => "kustomize",
            'c' => "container",
            'p' if self.verb == "logs" => "previous",
            'p' => "patch",
            'A' => "all-namespaces",
            'R' => "recursive",
            'w' if self.verb == "proxy" => "www",
            'w' => "watch",
            'P' if self.verb == "proxy" => "www-prefix",
            'u' if self.verb == "proxy" => "unix-socket",
            'r' if self.verb == "create" => "replicas",
            'L' => "label-columns",
            'i' => "stdin",
            't' => "tty",
            'e' => "env",
            'q' => "quiet",
            _ => return None,
        })
    }

    fn takes_value(&self, long: &str) -> bool {
        // `--raw` is a path for get/create/replace/delete, a boolean for `config view`;
        // `--containers` names containers for `set`, and is a boolean for `top pod`;
        // `--prefix` is an environment prefix for `set env`, a boolean for `logs`.
        (long == "raw" && self.verb != "config")
            || (long == "containers" && self.verb != "top")
            || (long == "prefix" && self.verb != "logs")
            || ROOT_VALUE_FLAGS.contains(&long)
            || VERB_VALUE_FLAGS.contains(&long)
    }

    fn normalize<'n>(&self, long: &'n str) -> std::borrow::Cow<'n, str> {
        // kubectl's flag sets read `_` in a long name as `-` (`--as_group` is `--as-group`).
        if long.contains('_') {
            std::borrow::Cow::Owned(long.replace('_', "-"))
        } else {
            std::borrow::Cow::Borrowed(long)
        }
    }
}

fn root_bool(name: &str) -> bool {
    ROOT_BOOL_FLAGS.contains(&name)
}

/// Flags that make kubectl act as another identity.
const IMPERSONATION_FLAGS: &[&str] = &["as", "as-group", "as-uid"];

/// Classifies a kubectl invocation (`args` excludes the program name); `cmd` says where its
/// input comes from and whether its output goes to another program.
pub(crate) fn classify(
    a: &mut CommandAssessment,
    args: &[Word],
    policy: &Policy,
    cmd: &SimpleCommand,
) {
    let root = Table { verb: "" };
    let verbs = command_word_candidates(args, &root, &root_bool);
    if verbs.is_empty() {
        let words: Vec<&Word> = args.iter().collect();
        let scanned = scan(&words, &root);
        a.verb = None;
        a.raise(Risk::Low, "kubectl without a verb only prints help");
        record_flags(a, &scanned);
        apply_global_flags(a, &scanned, None);
        return;
    }
    // Assess every reading of the command path and keep the worst; a connection flag any
    // reading sees counts.
    let mut readings: Vec<Reading<'_>> = verbs
        .into_iter()
        .flat_map(|vi| command_paths(args, vi))
        .collect();
    if readings.len() == 1
        && let Some((path, rest)) = readings.pop()
    {
        // One reading (the common case): assessed in place.
        classify_path(a, &path, &rest, policy, cmd);
        return;
    }
    let mut worst: Option<CommandAssessment> = None;
    let mut connection: Vec<String> = Vec::new();
    for (path, rest) in readings {
        {
            let mut candidate = a.clone();
            classify_path(&mut candidate, &path, &rest, policy, cmd);
            for flag in &candidate.connection_flags {
                push_unique(&mut connection, flag);
            }
            if worst.as_ref().is_none_or(|w| candidate.risk > w.risk) {
                worst = Some(candidate);
            }
        }
    }
    if let Some(w) = worst {
        *a = w;
    }
    a.connection_flags = connection;
}

/// The possible command paths (`["rollout", "restart"]`) starting at verb index `vi`, with the
/// remaining arguments for each.
fn command_paths(args: &[Word], vi: usize) -> Vec<Reading<'_>> {
    let Some(verb) = args.get(vi) else {
        return Vec::new();
    };
    let before = args.get(..vi).unwrap_or_default();
    let after = args.get(vi + 1..).unwrap_or_default();
    let whole = || vec![(vec![verb], before.iter().chain(after).collect())];
    if !COMPOUND_VERBS.contains(&verb.text.as_str()) {
        return whole();
    }
    let table = Table { verb: &verb.text };
    let subs = command_word_candidates(after, &table, &root_bool);
    if subs.is_empty() {
        return whole();
    }
    subs.into_iter()
        .filter_map(|si| {
            let sub = after.get(si)?;
            let rest = before
                .iter()
                .chain(after.get(..si).unwrap_or_default())
                .chain(after.get(si + 1..).unwrap_or_default())
                .collect();
            Some((vec![verb, sub], rest))
        })
        .collect()
}

/// One reading of a command's path (`rollout restart`) and the words after it.
type Reading<'a> = (Vec<&'a Word>, Vec<&'a Word>);

/// Verbs whose first positional is a resource type (`get pods web`, `delete ns/x`).
fn takes_types(verb: &[&str]) -> bool {
    matches!(
        verb,
        ["get"
            | "describe"
            | "delete"
            | "edit"
            | "label"
            | "annotate"
            | "patch"
            | "scale"
            | "autoscale"
            | "expose"
            | "wait"
            | "taint"
            | "explain"
            | "replace"
            | "apply"]
            | ["rollout" | "set", _]
            | [
                "apply",
                "view-last-applied" | "edit-last-applied" | "set-last-applied"
            ]
    )
}

fn classify_path(
    a: &mut CommandAssessment,
    path: &[&Word],
    rest: &[&Word],
    policy: &Policy,
    cmd: &SimpleCommand,
) {
    // A path is one or two words (`get`, `rollout restart`).
    let mut words = [""; 2];
    for (slot, word) in words.iter_mut().zip(path) {
        *slot = &word.text;
    }
    let verb_words = words.get(..path.len().min(2)).unwrap_or_default();
    let verb = match verb_words {
        [one] => (*one).to_owned(),
        more => more.join(" "),
    };
    let table = Table {
        verb: verb_words.first().copied().unwrap_or_default(),
    };
    let scanned = scan(rest, &table);
    record_flags(a, &scanned);
    if path.iter().any(|w| w.dynamic) {
        a.raise(
            Risk::High,
            format!("the kubectl verb `{verb}` is computed at run time"),
        );
    }
    let objects = match verb_words {
        ["create", kind] => Objects::created(kind, &scanned.positionals),
        v if takes_types(v) => Objects::read(&scanned.positionals),
        // Node names for drain and cordon; other verbs name pods, files or paths.
        ["drain" | "cordon" | "uncordon"] => Objects {
            resources: vec!["nodes".to_owned()],
            names: scanned.positionals.iter().map(|p| p.text.clone()).collect(),
            dynamic_type: false,
            dynamic_name: scanned.positionals.iter().any(|p| p.dynamic),
        },
        _ => Objects::default(),
    };
    let raw = scanned
        .value("raw")
        .filter(|_| table.verb != "config")
        .map(RawPath::read);

    let (mut risk, reason) = verb_risk((verb_words, &verb), &scanned, &objects.resources);
    // A dry run makes a change harmless: its reason stands instead of the verb's. kubectl's
    // --raw requests ignore --dry-run (they are sent as they are).
    if risk > Risk::Low
        && raw.is_none()
        && DRY_RUN_VERBS.contains(&verb_words.first().copied().unwrap_or_default())
        && let Some(mode) = scanned.value("dry-run")
        && matches!(mode.text.as_str(), "client" | "server")
        && !mode.dynamic
        && verb != "create token"
    {
        a.raise(
            Risk::Low,
            format!("`kubectl {verb} --dry-run={}` changes nothing", mode.text),
        );
        risk = Risk::Low;
    } else {
        a.raise(risk, reason);
    }
    apply_global_flags(a, &scanned, Some(&verb));

    // Namespaces: -n, namespace objects the command acts on, the namespace of a raw path.
    let namespace = scanned.value("namespace");
    if let Some(ns) = namespace {
        push_unique(&mut a.namespaces, &ns.text);
        if let Some(known) = &ns.known {
            push_unique(&mut a.namespaces, known);
        }
    } else if let Some(ns) = policy.default_namespace()
        && raw.is_none()
        && !objects.all_cluster_scoped()
        && !scanned.is_set("all-namespaces")
    {
        // Without -n, kubectl acts in the kubeconfig context's namespace.
        push_unique(&mut a.namespaces, ns);
    }
    if objects.may_be_namespaces() {
        for name in &objects.names {
            push_unique(&mut a.namespaces, name);
        }
    }
    a.exposure = objects.exposure();
    if scanned.has("filename") || scanned.has("kustomize") {
        // Objects from a file or a kustomization can be of any kind.
        a.exposure = Exposure::Secrets;
    }
    if let Some(raw) = &raw {
        if let Some(ns) = &raw.namespace {
            push_unique(&mut a.namespaces, ns);
        }
        a.exposure = raw.exposure();
        risk = rules::raw(a, &verb, risk, raw);
    }
    rules::output(a, &verb, &scanned, cmd.piped_output, raw.is_some());
    rules::objects_from_input(a, &scanned, cmd, risk);
    rules::kustomize(a, &verb, &scanned);
    if risk > Risk::Low {
        rules::mass(a, &verb, &scanned, &objects);
    }
    a.all_namespaces = scanned.is_set("all-namespaces");
    let dynamic = namespace.filter(|ns| ns.dynamic).map(|ns| ns.text.as_str());
    a.apply_namespace_rules(("kubectl", &verb), risk, dynamic, policy);
    a.resources = objects.resources;
    a.names = objects.names;
    a.verb = Some(verb);
}

/// Keeps the flags as read, and which of them override the cluster connection or identity.
fn record_flags(a: &mut CommandAssessment, scanned: &Scanned) {
    scanned.record(a, &[TARGET_OVERRIDE_FLAGS, IMPERSONATION_FLAGS]);
}

fn apply_global_flags(a: &mut CommandAssessment, scanned: &Scanned, verb: Option<&str>) {
    for flag in IMPERSONATION_FLAGS {
        if scanned.has(flag) && verb != Some("auth can-i") {
            a.raise(
                Risk::High,
                format!("--{flag} impersonates another identity"),
            );
        }
    }
    for flag in TARGET_OVERRIDE_FLAGS {
        if scanned.has(flag) {
            a.raise(
                Risk::High,
                format!("--{flag} points kubectl at another cluster or other credentials"),
            );
        }
    }
    for flag in FILE_WRITING_FLAGS {
        if scanned.has(flag) {
            a.raise(Risk::High, format!("--{flag} writes local files"));
        }
    }
}

/// The risk of a verb path, before namespace and flag escalations.
fn verb_risk(
    (verb, joined): (&[&str], &str),
    scanned: &Scanned,
    resources: &[String],
) -> (Risk, String) {
    let low = |what: &str| (Risk::Low, concat(&["`kubectl ", joined, "` ", what]));
    let medium = |what: &str| (Risk::Medium, concat(&["`kubectl ", joined, "` ", what]));
    let high = |what: &str| (Risk::High, concat(&["`kubectl ", joined, "` ", what]));
    match verb {
        ["get"] if scanned.has("raw") => low("reads a raw API path"),
        ["create"] if scanned.has("raw") => medium("sends a raw POST to the API server"),
        ["replace"] if scanned.has("raw") => medium("sends a raw PUT to the API server"),
        ["delete"] if scanned.has("raw") => high("sends a raw DELETE to the API server"),
        [
            "get" | "describe" | "logs" | "top" | "events" | "explain" | "api-resources"
            | "api-versions" | "version" | "diff" | "wait" | "completion" | "options" | "kustomize"
            | "help",
        ] => low("only reads"),
        ["top", "pod" | "pods" | "po" | "node" | "nodes" | "no"] => low("only reads"),
        ["cluster-info"] => low("only reads"),
        ["cluster-info", "dump"] if scanned.has("output-directory") => {
            high("writes a dump of the cluster to local files")
        }
        ["cluster-info", "dump"] => low("only reads"),
        ["auth", "can-i" | "whoami"] => low("only reads"),
        ["auth", "reconcile"] => high("creates or updates RBAC rules"),
        ["rollout", "status" | "history"] => low("only reads"),
        ["rollout", "restart" | "pause" | "resume"] => medium("changes a rollout"),
        ["rollout", "undo"] => high("rolls a workload back to an older revision"),
        ["config", "view"] if scanned.is_set("raw") => {
            high("prints credentials from the kubeconfig")
        }
        [
            "config",
            "view" | "get-contexts" | "current-context" | "get-clusters" | "get-users",
        ] => low("only reads the kubeconfig"),
        ["config", _] => high("changes the kubeconfig"),
        ["apply", "view-last-applied"] => low("only reads"),
        ["apply", "set-last-applied" | "edit-last-applied"] => medium("changes objects"),
        ["apply", ..] if scanned.has("prune") => {
            high("--prune deletes objects missing from the input")
        }
        ["apply", ..] if scanned.is_set("force") => high("--force deletes and re-creates objects"),
        ["apply", ..] => medium("creates or changes objects"),
        ["create", "token"] => high("mints a service-account token"),
        [
            "create",
            "clusterrolebinding" | "rolebinding" | "clusterrole" | "role",
        ] => high("grants access"),
        ["create", ..] => medium("creates objects"),
        ["replace"] if scanned.is_set("force") => high("--force deletes and re-creates objects"),
        ["replace"] => medium("replaces objects"),
        ["patch" | "edit" | "label" | "annotate" | "scale" | "expose" | "autoscale"] => {
            medium("changes objects")
        }
        ["set", _] => medium("changes objects"),
        ["delete"] => {
            if resources.iter().any(|r| r == "namespaces") {
                high("deletes namespaces and everything in them")
            } else {
                high("deletes objects")
            }
        }
        ["drain"] => high("evicts every pod from a node"),
        ["cordon" | "uncordon"] => high("changes whether a node takes new pods"),
        ["taint"] => high("changes which pods a node accepts"),
        ["exec" | "attach"] => high("runs commands inside a container"),
        ["cp"] => high("copies files into or out of a container"),
        ["debug"] => high("starts a debugging container"),
        ["run"] => high("starts a new pod"),
        ["port-forward" | "proxy"] => high("opens a network tunnel into the cluster"),
        ["certificate", "approve" | "deny"] => high("decides a certificate signing request"),
        ["plugin", "list"] => low("only lists plugins"),
        _ => high("is not a known kubectl command; kubectl plugins are treated as unknown"),
    }
}

/// Whether a long flag name points kubectl at another cluster, other credentials or another
/// identity.
pub(crate) fn is_connection_flag(name: &str) -> bool {
    TARGET_OVERRIDE_FLAGS.contains(&name) || IMPERSONATION_FLAGS.contains(&name)
}

/// Every connection or identity flag a word of `args` (after the program) sets when read as a
/// flag, wherever it stands (see [`spelled_flags`]), with the shorthands of every command path
/// the words may have.
pub(crate) fn spelled_connection_flags(args: &[Word], out: &mut Vec<String>) {
    let mut verbs: Vec<&str> = vec![""];
    for vi in command_word_candidates(args, &Table { verb: "" }, &root_bool) {
        if let Some(verb) = args.get(vi) {
            push_unique_str(&mut verbs, &verb.text);
        }
    }
    let tables: Vec<Table<'_>> = verbs.iter().map(|verb| Table { verb }).collect();
    let tables: Vec<&dyn FlagTable> = tables.iter().map(|t| t as &dyn FlagTable).collect();
    spelled_flags(args, &tables, &root_bool, &mut |name| {
        if is_connection_flag(name) && !out.iter().any(|f| f == name) {
            out.push(name.to_owned());
        }
    });
}

fn push_unique_str<'a>(list: &mut Vec<&'a str>, item: &'a str) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The one reading of `args` (after the program) that kubectl can give them: the positions of
/// the command path's words and the flags and positionals as scanned with that path's flags.
/// `None` when cobra and pflag could read the command path more than one way.
pub(crate) fn read_words(args: &[Word]) -> Option<(Vec<&Word>, Scanned<'_>)> {
    let root = Table { verb: "" };
    let verbs = command_word_candidates(args, &root, &root_bool);
    if verbs.is_empty() {
        let words: Vec<&Word> = args.iter().collect();
        return Some((Vec::new(), scan(&words, &root)));
    }
    let mut readings = verbs.into_iter().flat_map(|vi| command_paths(args, vi));
    let (path, rest) = readings.next()?;
    if readings.next().is_some() {
        return None;
    }
    let table = Table {
        verb: path.first().map_or("", |w| w.text.as_str()),
    };
    let scanned = scan(&rest, &table);
    Some((path, scanned))
}
