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
    let maybe_root = out.wants("security.may_run_as_root");
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
        if maybe_root {
            may_run_as_root(w, out);
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

/// Containers whose user the image decides, because nothing in the pod says it must not be
/// root: no `runAsNonRoot: true` and no non-zero `runAsUser`, in the container's or the pod's
/// securityContext (the container's wins). Those set to uid 0 are `security.run_as_root`'s;
/// Windows pods run as a user name, not a uid, and are left out.
fn may_run_as_root(w: &Workload<'_>, out: &mut Out<'_>) {
    let Some(spec) = w.spec else { return };
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") {
        return;
    }
    let pod = spec.security_context.as_ref();
    let pod_user = pod.and_then(|s| s.run_as_user);
    let pod_non_root = pod.and_then(|s| s.run_as_non_root);
    let mut found = Vec::new();
    for c in w.all_containers() {
        let sc = c.security_context.as_ref();
        let user = sc.and_then(|s| s.run_as_user).or(pod_user);
        let non_root = sc.and_then(|s| s.run_as_non_root).or(pod_non_root);
        let reason = match (user, non_root) {
            (Some(_), _) | (None, Some(true)) => continue,
            (None, Some(false)) => "runAsNonRoot is false and no runAsUser is set",
            (None, None) => "neither runAsNonRoot: true nor a non-zero runAsUser is set",
        };
        found.push(json!({"container": c.name, "reason": reason}));
    }
    if found.is_empty() {
        return;
    }
    let names: Vec<&str> = found
        .iter()
        .filter_map(|f| f.get("container").and_then(|c| c.as_str()))
        .collect();
    out.push(
        "security.may_run_as_root",
        Draft {
            object: w.object.clone(),
            message: format!(
                "{}: {} {} may run as root: nothing in the pod forbids it, so the image's user decides",
                w.object,
                plural(names.len(), "container", "containers"),
                names.join(", ")
            ),
            evidence: json_object([("containers", serde_json::Value::Array(found))]),
            recommendation: "Set runAsNonRoot: true (and a non-zero runAsUser if the image has no numeric USER) in the pod's securityContext, so the kubelet refuses to start the container as root.".to_owned(),
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

/// What a value looks like when its shape alone gives it away as a credential, whatever the
/// variable is called: a private key, or a token with a vendor's fixed prefix.
pub(crate) fn secret_value_shape(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    let token = |prefix: &str, min_rest: usize| {
        v.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() >= min_rest
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
    };
    let shapes: [(&[&str], usize, &'static str); 7] = [
        (
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
            20,
            "a GitHub token",
        ),
        (&["glpat-"], 20, "a GitLab token"),
        (
            &["xoxb-", "xoxp-", "xoxa-", "xoxs-", "xapp-"],
            20,
            "a Slack token",
        ),
        (&["sk_live_", "rk_live_"], 20, "a Stripe secret key"),
        (&["sk-ant-", "sk-proj-", "sk-"], 32, "an API secret key"),
        (&["AIza"], 35, "a Google API key"),
        (&["npm_"], 36, "an npm token"),
    ];
    for (prefixes, min_rest, what) in shapes {
        if prefixes.iter().any(|p| token(p, min_rest)) {
            return Some(what);
        }
    }
    // A JSON Web Token: three base64url parts, the first two JSON objects (`{"` is `eyJ`).
    let parts: Vec<&str> = v.split('.').collect();
    if let [header, payload, signature] = parts.as_slice()
        && header.starts_with("eyJ")
        && payload.starts_with("eyJ")
        && !signature.is_empty()
        && v.len() >= 40
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Some("a JSON Web Token");
    }
    None
}

fn secret_env_literal(w: &Workload<'_>, out: &mut Out<'_>) {
    let mut found = Vec::new();
    for c in w.all_containers() {
        for env in c.env.iter().flatten() {
            let Some(value) = env.value.as_deref().filter(|v| !v.is_empty()) else {
                continue;
            };
            // The reason names the variable's name or the value's kind, never the value.
            let reason = if let Some(what) = secret_value_shape(value) {
                format!("the value looks like {what}")
            } else if url_with_password(value) {
                "the value is a URL with a password in it".to_owned()
            } else if secret_name(&env.name) {
                "the name says it holds a secret".to_owned()
            } else {
                continue;
            };
            found.push(json!({
                "container": c.name,
                "variable": env.name,
                "reason": reason,
                "value_length": value.len(),
            }));
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
    fn secret_looking_values() {
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----";
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLWJ5dGVz";
        for (value, what) in [
            (pem, "a private key"),
            ("ghp_0123456789abcdefABCDEF0123456789abcd", "a GitHub token"),
            ("xoxb-1234567890-0987654321-AbCdEfGhIjKl", "a Slack token"),
            (
                "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                "an API secret key",
            ),
            (
                "AIzaSyA1234567890abcdefghijklmnopqrstuv",
                "a Google API key",
            ),
            (jwt, "a JSON Web Token"),
        ] {
            assert_eq!(secret_value_shape(value), Some(what), "{value}");
        }
        for clean in [
            "info",
            "sk-",
            "ghp_short",
            "https://example.com/ghp_0123456789abcdefABCDEF0123456789abcd?x",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "eyJ.eyJ.x",
            "sk-this is a sentence that starts like a key but has spaces",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(secret_value_shape(clean), None, "{clean}");
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
