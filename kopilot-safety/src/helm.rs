//! The helm grammar: global flags anywhere, verbs and subcommands, namespaces, dry runs.

use crate::assess::{CommandAssessment, concat};
use crate::flags::{FlagTable, command_word_candidates, scan, spelled_flags};
use crate::policy::Policy;
use crate::risk::Risk;
use crate::shell::Word;

const ROOT_VALUE_FLAGS: &[&str] = &[
    "burst-limit",
    "kube-apiserver",
    "kube-as-group",
    "kube-as-user",
    "kube-ca-file",
    "kube-context",
    "kube-tls-server-name",
    "kube-token",
    "kubeconfig",
    "namespace",
    "qps",
    "registry-config",
    "repository-cache",
    "repository-config",
    "content-cache",
];
const ROOT_BOOL_FLAGS: &[&str] = &["debug", "kube-insecure-skip-tls-verify", "help"];
const VERB_VALUE_FLAGS: &[&str] = &[
    "output",
    "values",
    "set",
    "set-string",
    "set-file",
    "set-json",
    "set-literal",
    "version",
    "timeout",
    "description",
    "post-renderer",
    "post-renderer-args",
    "repo",
    "username",
    "password",
    "ca-file",
    "cert-file",
    "key-file",
    "keyring",
    "max",
    "offset",
    "filter",
    "selector",
    "revision",
    "history-max",
    "name-template",
    "label",
    "labels",
    "destination",
    "untardir",
    "app-version",
    "api-versions",
    "kube-version",
    "show-only",
    "output-dir",
    "template",
    "max-col-width",
];
const TARGET_OVERRIDE_FLAGS: &[&str] = &[
    "kube-apiserver",
    "kube-context",
    "kube-token",
    "kubeconfig",
    "kube-ca-file",
    "kube-insecure-skip-tls-verify",
    "kube-tls-server-name",
];
/// Flags that make helm act as another identity.
const IMPERSONATION_FLAGS: &[&str] = &["kube-as-user", "kube-as-group"];
const COMPOUND_VERBS: &[&str] = &[
    "get",
    "show",
    "inspect",
    "repo",
    "plugin",
    "registry",
    "dependency",
    "dep",
];

struct Table;

impl FlagTable for Table {
    fn long_name(&self, short: char) -> Option<&'static str> {
        Some(match short {
            'n' => "namespace",
            'h' => "help",
            'o' => "output",
            'f' => "values",
            'A' => "all-namespaces",
            'a' => "all",
            'l' => "selector",
            'q' => "short",
            'm' => "max",
            'd' => "destination",
            _ => return None,
        })
    }

    fn takes_value(&self, long: &str) -> bool {
        ROOT_VALUE_FLAGS.contains(&long) || VERB_VALUE_FLAGS.contains(&long)
    }
}

fn root_bool(name: &str) -> bool {
    ROOT_BOOL_FLAGS.contains(&name)
}

/// Classifies a helm invocation (`args` excludes the program name).
pub(crate) fn classify(a: &mut CommandAssessment, args: &[Word], policy: &Policy) {
    let verbs = command_word_candidates(args, &Table, &root_bool);
    if verbs.is_empty() {
        a.raise(Risk::Low, "helm without a verb only prints help");
        return;
    }
    let mut worst: Option<CommandAssessment> = None;
    let mut connection: Vec<String> = Vec::new();
    for vi in verbs {
        let Some(verb) = args.get(vi) else { continue };
        let before = args.get(..vi).unwrap_or_default();
        let after = args.get(vi + 1..).unwrap_or_default();
        let mut paths: Vec<(Vec<&Word>, Vec<&Word>)> = Vec::new();
        if COMPOUND_VERBS.contains(&verb.text.as_str()) {
            let subs = command_word_candidates(after, &Table, &root_bool);
            for si in &subs {
                if let Some(sub) = after.get(*si) {
                    let rest = before
                        .iter()
                        .chain(after.get(..*si).unwrap_or_default())
                        .chain(after.get(si + 1..).unwrap_or_default())
                        .collect();
                    paths.push((vec![verb, sub], rest));
                }
            }
            if subs.is_empty() {
                paths.push((vec![verb], after.iter().collect()));
            }
        } else {
            paths.push((vec![verb], before.iter().chain(after).collect()));
        }
        for (path, rest) in paths {
            let mut candidate = a.clone();
            classify_path(&mut candidate, &path, &rest, policy);
            for flag in &candidate.connection_flags {
                if !connection.contains(flag) {
                    connection.push(flag.clone());
                }
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

fn classify_path(a: &mut CommandAssessment, path: &[&Word], rest: &[&Word], policy: &Policy) {
    let words: Vec<&str> = path.iter().map(|w| w.text.as_str()).collect();
    let verb = words.join(" ");
    a.verb = Some(verb.clone());
    if path.iter().any(|w| w.dynamic) {
        a.raise(
            Risk::High,
            format!("the helm verb `{verb}` is computed at run time"),
        );
    }
    let scanned = scan(rest, &Table);
    scanned.record(a, &[TARGET_OVERRIDE_FLAGS, IMPERSONATION_FLAGS]);
    let low = |what: &str| (Risk::Low, concat(&["`helm ", &verb, "` ", what]));
    let medium = |what: &str| (Risk::Medium, concat(&["`helm ", &verb, "` ", what]));
    let high = |what: &str| (Risk::High, concat(&["`helm ", &verb, "` ", what]));
    let (mut risk, reason) = match words.as_slice() {
        [
            "list" | "ls" | "status" | "history" | "hist" | "template" | "version" | "search"
            | "env" | "lint" | "verify" | "completion" | "help",
        ] => low("only reads"),
        ["get" | "show" | "inspect", ..] => low("only reads"),
        ["dependency" | "dep", "list" | "ls"] => low("only reads"),
        ["repo" | "plugin", "list" | "ls"] => low("only reads"),
        ["install" | "upgrade"] => medium("installs or upgrades a release"),
        ["test"] => medium("runs a release's test pods"),
        ["uninstall" | "delete" | "del" | "un"] => high("removes a release and its objects"),
        ["rollback"] => high("rolls a release back"),
        ["repo", _] => high("changes the local chart repositories"),
        ["plugin", _] => high("installs or changes helm plugins (local programs)"),
        ["registry", _] => high("stores or removes registry credentials"),
        ["push"] => high("publishes a chart"),
        ["pull" | "fetch" | "package" | "create"] => high("writes local files"),
        ["dependency" | "dep", _] => high("downloads charts into local files"),
        _ => high("is not a known helm command"),
    };
    a.raise(risk, reason.clone());

    if matches!(words.as_slice(), ["install" | "upgrade"]) {
        let dry = scanned
            .flags
            .iter()
            .rev()
            .find(|f| f.name == "dry-run")
            .map(|f| {
                f.value
                    .as_ref()
                    .map_or(Some("client"), |v| (!v.dynamic).then_some(v.text.as_str()))
            });
        if let Some(Some(mode @ ("client" | "server" | "true"))) = dry {
            a.lower(
                &reason,
                Risk::Low,
                format!("`helm {verb} --dry-run={mode}` changes nothing"),
            );
            risk = Risk::Low;
        }
    }
    // Flags that run or read local things, on every verb that takes them.
    for (flag, what) in [
        (
            "post-renderer",
            "--post-renderer runs a local program (helm 3) or plugin (helm 4) over the manifests",
        ),
        (
            "post-renderer-args",
            "--post-renderer-args runs a local program",
        ),
        (
            "output-dir",
            "--output-dir writes the rendered manifests to local files",
        ),
        ("set-file", "--set-file reads local files into the values"),
        (
            "dependency-update",
            "--dependency-update downloads charts into the chart directory",
        ),
    ] {
        if scanned.has(flag) {
            a.raise(Risk::High, what);
            risk = risk.max(Risk::High);
        }
    }
    for flag in IMPERSONATION_FLAGS {
        if scanned.has(flag) {
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
                format!("--{flag} points helm at another cluster or other credentials"),
            );
        }
    }
    let namespace = scanned.value("namespace");
    if let Some(ns) = namespace {
        a.namespaces.push(ns.text.clone());
        if let Some(known) = &ns.known {
            a.namespaces.push(known.clone());
        }
    } else if let Some(ns) = policy.default_namespace()
        && !scanned.is_set("all-namespaces")
    {
        // Without -n, helm acts in the kubeconfig context's namespace.
        a.namespaces.push(ns.to_owned());
    }
    a.all_namespaces = scanned.is_set("all-namespaces");
    let dynamic = namespace.filter(|ns| ns.dynamic).map(|ns| ns.text.as_str());
    a.apply_namespace_rules(("helm", &verb), risk, dynamic, policy);
}

/// Every connection or identity flag a word of `args` (after the program) sets when read as a
/// flag, wherever it stands (see [`spelled_flags`]).
pub(crate) fn spelled_connection_flags(args: &[Word], out: &mut Vec<String>) {
    spelled_flags(args, &[&Table], &root_bool, &mut |name| {
        let connection =
            TARGET_OVERRIDE_FLAGS.contains(&name) || IMPERSONATION_FLAGS.contains(&name);
        if connection && !out.iter().any(|f| f == name) {
            out.push(name.to_owned());
        }
    });
}
