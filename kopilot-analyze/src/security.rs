//! Security checks: privileged containers, host access (hostPath, host network, PID, IPC,
//! host ports), containers set to run as uid 0, and secrets written into env literals.
//! Evidence never contains a secret's value.

use serde_json::json;

use super::index::{Context, Workload};
use super::{Draft, Out, json_object};

pub(crate) fn run(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    // Asked once per run, not once per workload.
    let privileged_wanted = out.wants("security.privileged");
    let host = out.wants("security.host_access");
    let root = out.wants("security.run_as_root");
    let secrets = out.wants("security.secret_env_literal");
    for w in &ctx.workloads {
        if privileged_wanted {
            privileged(w, out);
        }
        if host {
            host_access(w, out);
        }
        if root {
            run_as_root(w, out);
        }
        if secrets {
            secret_env_literal(w, out);
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        one.to_owned()
    } else {
        many.to_owned()
    }
}

fn privileged(w: &Workload<'_>, out: &mut Out<'_>) {
    let names: Vec<&str> = w
        .all_containers()
        .filter(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true))
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        return;
    }
    out.push(
        "security.privileged",
        Draft {
            object: w.object.clone(),
            message: format!("{}: {} {} {} privileged", w.object, plural(names.len(), "container", "containers"), names.join(", "), plural(names.len(), "is", "are")),
            evidence: json!({ "privileged_containers": names }),
            recommendation: "A privileged container is root on the node. Drop privileged and grant only the capabilities it needs (securityContext.capabilities.add), or confine it with a Pod Security admission level.".to_owned(),
            command: None,
            monthly_cost: None,
        },
    );
}

fn host_access(w: &Workload<'_>, out: &mut Out<'_>) {
    let Some(spec) = w.spec else { return };
    let mut what = Vec::new();
    for (on, label) in [
        (spec.host_network, "hostNetwork"),
        (spec.host_pid, "hostPID"),
        (spec.host_ipc, "hostIPC"),
    ] {
        if on == Some(true) {
            what.push(label.to_owned());
        }
    }
    let host_paths: Vec<_> = spec
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| {
            v.host_path
                .as_ref()
                .map(|h| json!({"volume": v.name, "path": h.path}))
        })
        .collect();
    for h in &host_paths {
        what.push(format!(
            "hostPath {}",
            h.get("path").and_then(|p| p.as_str()).unwrap_or_default()
        ));
    }
    let host_ports: Vec<_> = w
        .all_containers()
        .flat_map(|c| {
            c.ports.iter().flatten().filter_map(move |p| {
                p.host_port
                    .map(|hp| json!({"container": c.name, "host_port": hp}))
            })
        })
        .collect();
    if !host_ports.is_empty() {
        what.push(format!(
            "{} host {}",
            host_ports.len(),
            plural(host_ports.len(), "port", "ports")
        ));
    }
    if what.is_empty() {
        return;
    }
    out.push(
        "security.host_access",
        Draft {
            object: w.object.clone(),
            message: format!("{}: uses the host: {}", w.object, what.join(", ")),
            evidence: json!({
                "host_network": spec.host_network == Some(true),
                "host_pid": spec.host_pid == Some(true),
                "host_ipc": spec.host_ipc == Some(true),
                "host_paths": host_paths,
                "host_ports": host_ports,
            }),
            recommendation: "Host namespaces and hostPath mounts let a compromised container reach the node. Keep them only for node agents that need them, mount hostPath read-only and as narrowly as possible.".to_owned(),
            command: None,
            monthly_cost: None,
        },
    );
}

fn run_as_root(w: &Workload<'_>, out: &mut Out<'_>) {
    let pod_user = w
        .spec
        .and_then(|s| s.security_context.as_ref())
        .and_then(|s| s.run_as_user);
    let names: Vec<&str> = w
        .all_containers()
        .filter(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.run_as_user)
                .or(pod_user)
                == Some(0)
        })
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        return;
    }
    out.push(
        "security.run_as_root",
        Draft {
            object: w.object.clone(),
            message: format!("{}: {} {} {} set to run as root (runAsUser: 0)", w.object, plural(names.len(), "container", "containers"), names.join(", "), plural(names.len(), "is", "are")),
            evidence: json!({ "containers": names, "pod_run_as_user": pod_user }),
            recommendation: "Run as a non-root user (runAsUser > 0 and runAsNonRoot: true); use an image built for it.".to_owned(),
            command: None,
            monthly_cost: None,
        },
    );
}

/// Last name segments that describe a secret rather than hold it (`PASSWORD_FILE`).
const ABOUT: &[&str] = &[
    "FILE", "PATH", "DIR", "TTL", "SECONDS", "EXPIRY", "LENGTH", "NAME", "ENABLED", "TYPE",
    "HEADER", "REF", "ID", "URL", "ENDPOINT",
];
/// Name segments that say a variable holds a secret.
const WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PASSPHRASE",
];

/// Whether an environment variable name says it holds a secret (`DB_PASSWORD`, `API_KEY`),
/// and not merely something about one (`PASSWORD_FILE`, `TOKEN_TTL`).
pub(crate) fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let parts: Vec<&str> = upper
        .split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.last().is_some_and(|l| ABOUT.contains(l)) {
        return false;
    }
    parts.iter().any(|p| WORDS.contains(p))
        || parts.windows(2).any(|pair| matches!(pair, [a, "KEY"] if matches!(*a, "API" | "ACCESS" | "PRIVATE" | "SECRET" | "SIGNING" | "ENCRYPTION")))
}

/// Whether a value is a URL with a password in it (`postgres://app:pw@db/app`).
pub(crate) fn url_with_password(value: &str) -> bool {
    value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split('/').next().unwrap_or_default();
        authority.rsplit_once('@').is_some_and(|(userinfo, _)| {
            userinfo
                .split_once(':')
                .is_some_and(|(_, pw)| !pw.is_empty())
        })
    })
}

fn secret_env_literal(w: &Workload<'_>, out: &mut Out<'_>) {
    let mut found = Vec::new();
    for c in w.all_containers() {
        for env in c.env.iter().flatten() {
            let Some(value) = env.value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            if secret_name(&env.name) || url_with_password(value) {
                found.push(
                    json!({"container": c.name, "variable": env.name, "value_length": value.len()}),
                );
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let names: Vec<&str> = found
        .iter()
        .filter_map(|f| f.get("variable").and_then(|v| v.as_str()))
        .collect();
    let message = format!(
        "{}: {} {} a secret as a literal value",
        w.object,
        names.join(", "),
        plural(names.len(), "holds", "hold")
    );
    out.push(
        "security.secret_env_literal",
        Draft {
            object: w.object.clone(),
            message,
            evidence: json_object([("variables", serde_json::Value::Array(found))]),
            recommendation: "Anyone who can read the workload can read the value. Move it into a Secret, reference it with valueFrom.secretKeyRef, and rotate it, since it has been exposed.".to_owned(),
            command: None,
            monthly_cost: None,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names() {
        for yes in [
            "DB_PASSWORD",
            "FRAUD_API_TOKEN",
            "API_KEY",
            "aws-secret-access-key",
            "GITHUB_TOKEN",
            "PRIVATE_KEY",
            "apikey",
            "SECRET",
        ] {
            assert!(secret_name(yes), "{yes}");
        }
        for no in [
            "PASSWORD_FILE",
            "TOKEN_TTL",
            "SECRET_NAME",
            "AWS_ACCESS_KEY_ID",
            "LOG_LEVEL",
            "KEYCLOAK_URL",
            "MONKEY",
            "TOKENIZER_THREADS",
        ] {
            assert!(!secret_name(no), "{no}");
        }
    }

    #[test]
    fn urls_with_passwords() {
        assert!(url_with_password("postgres://app:s3cret@db:5432/app"));
        assert!(!url_with_password("postgres://app@db:5432/app"));
        assert!(!url_with_password("http://example.com/a:b@c"));
        assert!(!url_with_password("redis://cart-redis:6379/0"));
    }
}
