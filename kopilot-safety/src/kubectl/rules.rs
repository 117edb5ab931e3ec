//! kubectl rules that look past the verb: raw API paths, output formats, kustomizations, and
//! mutations of many objects at once (`--all`, selectors, names computed at run time).

use super::objects::{Objects, RawPath};
use crate::assess::{CommandAssessment, Exposure, OutputFormat};
use crate::flags::Scanned;
use crate::risk::Risk;
use crate::shell::SimpleCommand;

/// Raw requests (`kubectl create|replace|delete --raw PATH`): what the path reaches decides.
/// Returns the risk after these rules.
pub(super) fn raw(a: &mut CommandAssessment, verb: &str, risk: Risk, raw: &RawPath) -> Risk {
    let shown = format!("kubectl {verb} --raw");
    if verb == "get" {
        if !raw.clear {
            a.raise(
                Risk::High,
                format!("`{shown}` reads an API path that cannot be read with certainty (computed at run time, or with `..`, `//`, `%` or `\\`)"),
            );
        } else if raw.proxy {
            a.raise(
                Risk::High,
                format!("`{shown}` sends a request through the API server's proxy to a service, pod or node, which may act on it"),
            );
        }
        return a.risk;
    }
    if risk == Risk::Low {
        return risk;
    }
    if !raw.clear {
        a.raise(
            Risk::Critical,
            format!("`{shown}` changes an API path that cannot be read with certainty (computed at run time, or with `..`, `//`, `%` or `\\`)"),
        );
    } else if verb == "delete" && raw.is_cluster_collection() {
        let what = raw.resource.as_deref().unwrap_or("objects");
        a.raise(
            Risk::Critical,
            format!("`{shown}` on a whole collection deletes every `{what}` in the cluster"),
        );
    }
    a.risk
}

/// Output formats: kubectl's own formats are reads; `*-file` formats read a local file; Secrets
/// printed in a custom shape, or piped to another program, escape redaction.
pub(super) fn output(
    a: &mut CommandAssessment,
    verb: &str,
    scanned: &Scanned,
    piped_output: bool,
    raw: bool,
) {
    let format = scanned.value("output");
    if verb == "kustomize" {
        // `kubectl kustomize -o PATH` writes the build to a file or directory.
        if let Some(path) = format {
            a.raise(
                Risk::High,
                format!("`kubectl kustomize -o` writes the build to `{}`", path.text),
            );
        }
        return;
    }
    let kind = a.output_format();
    let shown = format.map_or("", |f| f.text.as_str());
    match &kind {
        OutputFormat::LocalFile(path) => a.raise(
            Risk::High,
            format!("`-o {shown}` reads the local file `{path}`, which could expose secrets"),
        ),
        OutputFormat::Unknown => a.raise(
            Risk::High,
            format!("`-o {shown}` is not an output format kubectl's guard knows (json, yaml, wide, name, jsonpath=, go-template=, custom-columns=)"),
        ),
        OutputFormat::Table
        | OutputFormat::Document(_)
        | OutputFormat::Fields
        | OutputFormat::Template => {}
    }
    if a.exposure == Exposure::Secrets {
        let prints_values = raw || matches!(kind, OutputFormat::Document(_));
        if matches!(kind, OutputFormat::Fields | OutputFormat::Template) {
            a.raise(
                Risk::High,
                format!("`-o {shown}` prints fields of Secrets (or of objects whose kind is not known) in a custom shape that redaction cannot check; use -o json or -o yaml, whose secret values are redacted"),
            );
        } else if piped_output && prints_values {
            a.raise(
                Risk::High,
                "pipes Secret data into another program, whose output redaction cannot check",
            );
        }
    }
}

/// Kustomize builds (`kubectl kustomize`, `-k`): plugins, exec functions, helm, containers and
/// files outside the kustomization run or read local things; remote sources are fetched.
pub(super) fn kustomize(a: &mut CommandAssessment, verb: &str, scanned: &Scanned) {
    let target = if verb == "kustomize" {
        scanned.positionals.first().copied()
    } else {
        scanned.value("kustomize")
    };
    if verb != "kustomize" && target.is_none() {
        return;
    }
    for (flag, what) in [
        (
            "enable-alpha-plugins",
            "runs kustomize plugins (local programs)",
        ),
        ("enable-exec", "runs exec functions (local programs)"),
        ("enable-helm", "runs the helm program"),
        ("helm-command", "runs the program it names as helm"),
        ("mount", "mounts local files into function containers"),
        ("network", "gives function containers network access"),
        ("env", "passes environment variables to functions"),
        (
            "as-current-user",
            "runs function containers as the current user",
        ),
    ] {
        if scanned.has(flag) {
            a.raise(Risk::High, format!("kustomize --{flag} {what}"));
        }
    }
    if let Some(restrictor) = scanned.value("load-restrictor")
        && (restrictor.dynamic || restrictor.text != "LoadRestrictionsRootOnly")
    {
        a.raise(
            Risk::High,
            format!(
                "kustomize --load-restrictor {} reads files outside the kustomization's directory",
                restrictor.text
            ),
        );
    }
    if let Some(target) = target
        && (target.dynamic || is_remote(&target.text))
    {
        a.raise(
            Risk::High,
            format!(
                "builds the kustomization `{}`, which is fetched from the network or computed at run time",
                target.text
            ),
        );
    }
}

/// Whether a kustomization target may be remote (a URL, a git address, or a path whose first
/// segment looks like a host such as `github.com/org/repo`).
fn is_remote(target: &str) -> bool {
    if target.contains("://")
        || target.starts_with("git@")
        || target.contains("?ref=")
        || target.contains("?version=")
        || target.contains("//")
    {
        return true;
    }
    let mut segments = target.split('/');
    let first = segments.next().unwrap_or_default();
    first.contains('.') && !first.starts_with('.') && segments.next().is_some()
}

/// Changes of objects chosen by `--all`, a selector or a name computed at run time: on
/// namespaces they can reach a protected namespace, and a delete of a cluster-scoped kind
/// that way can empty the cluster of it.
pub(super) fn mass(a: &mut CommandAssessment, verb: &str, scanned: &Scanned, objects: &Objects) {
    let how = if scanned.is_set("all") {
        Some("--all")
    } else if scanned.has("selector") {
        Some("a label selector")
    } else if scanned.has("field-selector") {
        Some("a field selector")
    } else if objects.dynamic_name {
        Some("names computed at run time")
    } else {
        None
    };
    let Some(how) = how else {
        return;
    };
    if objects.dynamic_type {
        a.raise(
            Risk::Critical,
            format!(
                "`kubectl {verb}` of objects whose type is computed at run time can reach protected namespaces or remove cluster-wide objects in bulk"
            ),
        );
        return;
    }
    if objects.may_be_namespaces() {
        a.raise(
            Risk::Critical,
            format!(
                "`kubectl {verb}` on namespaces chosen by {how} can reach the protected namespaces"
            ),
        );
    }
    if verb == "delete" && objects.may_be_cluster_scoped() {
        let kinds = objects.resources.join(", ");
        a.raise(
            Risk::Critical,
            format!(
                "`kubectl delete` of {kinds} chosen by {how} can remove cluster-wide objects in bulk"
            ),
        );
    }
    if verb == "drain" {
        a.raise(
            Risk::Critical,
            format!("`kubectl drain` of nodes chosen by {how} can evict every workload"),
        );
    }
}

/// Objects a change reads from elsewhere: a manifest downloaded from the network is unseen
/// (high); a manifest given on standard input as text the guard knows (`-f -` with a
/// here-document) is searched for the namespaces it names, so a protected one counts.
pub(super) fn objects_from_input(
    a: &mut CommandAssessment,
    scanned: &Scanned,
    cmd: &SimpleCommand,
    risk: Risk,
) {
    if risk == Risk::Low {
        return;
    }
    for file in scanned.flags.iter().filter(|f| f.name == "filename") {
        let Some(value) = &file.value else { continue };
        if value.text.contains("://") {
            a.raise(
                Risk::High,
                format!(
                    "applies objects downloaded from `{}`, which the guard cannot see",
                    value.text
                ),
            );
        }
        if value.text == "-"
            && let Some(script) = cmd.stdin.script()
        {
            for namespace in manifest_namespaces(&script.text) {
                if !a.namespaces.contains(&namespace) {
                    a.namespaces.push(namespace);
                }
            }
        }
    }
}

/// The namespaces a YAML or JSON manifest names: `namespace:` keys, and the names of
/// `Namespace` objects. A plain line scan, so it sees them in any document of the stream.
fn manifest_namespaces(text: &str) -> Vec<String> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        let mut found = Vec::new();
        json_namespaces(&value, &mut found);
        return found;
    }
    let clean = |v: &str| {
        v.trim()
            .trim_end_matches(',')
            .trim_matches(|c| c == '"' || c == '\'')
            .to_owned()
    };
    let mut found = Vec::new();
    let mut namespace_kind = false;
    for line in text.lines() {
        let line = line.trim().trim_start_matches("- ").trim_start_matches('"');
        if line == "---" {
            namespace_kind = false;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim_end_matches('"');
        let value = clean(value);
        match key {
            "namespace" if !value.is_empty() => found.push(value),
            "kind" => namespace_kind = value == "Namespace",
            "name" if namespace_kind && !value.is_empty() => found.push(value),
            _ => {}
        }
    }
    found
}

/// `namespace` values anywhere in a JSON manifest, and the names of `Namespace` objects.
fn json_namespaces(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("kind").and_then(serde_json::Value::as_str) == Some("Namespace")
                && let Some(name) = map
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(serde_json::Value::as_str)
            {
                found.push(name.to_owned());
            }
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("namespace", serde_json::Value::String(ns)) => found.push(ns.clone()),
                    _ => json_namespaces(child, found),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                json_namespaces(item, found);
            }
        }
        _ => {}
    }
}
