//! Connection and identity flags that only Kopilot's configuration may set.
//!
//! The model must not point `kubectl` or `helm` at another cluster, another user or an
//! unverified server: Kopilot injects the kubeconfig and context itself, and these checks keep
//! the model from overriding them.

use crate::error::{Error, Result};

/// `kubectl` flags the model may not pass (long forms; `-s` is handled separately).
const KUBECTL_FORBIDDEN: &[&str] = &[
    "--kubeconfig",
    "--server",
    "--token",
    "--context",
    "--cluster",
    "--user",
    "--username",
    "--password",
    "--as",
    "--as-group",
    "--as-uid",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--insecure-skip-tls-verify",
    "--tls-server-name",
];

/// `helm` flags the model may not pass.
const HELM_FORBIDDEN: &[&str] = &[
    "--kubeconfig",
    "--kube-context",
    "--kube-apiserver",
    "--kube-token",
    "--kube-as-user",
    "--kube-as-group",
    "--kube-ca-file",
    "--kube-insecure-skip-tls-verify",
    "--kube-tls-server-name",
];

/// Checks the arguments (without the program name) of a `kubectl` or `helm` command for flags
/// that would override Kopilot's cluster connection or identity.
///
/// `program` is the program's file name (`kubectl`, `helm`); other programs pass unchecked.
///
/// # Errors
///
/// [`Error::ForbiddenFlag`] naming the first such flag.
pub fn check_connection_flags<S: AsRef<str>>(program: &str, args: &[S]) -> Result<()> {
    let (forbidden, owner) = match program_name(program) {
        "kubectl" => (KUBECTL_FORBIDDEN, "kubectl"),
        "helm" => (HELM_FORBIDDEN, "helm"),
        _ => return Ok(()),
    };
    for arg in args {
        let arg = arg.as_ref();
        if arg == "--" {
            break;
        }
        let name = arg.split_once('=').map_or(arg, |(name, _)| name);
        let short_server = owner == "kubectl" && arg.starts_with("-s") && !arg.starts_with("--");
        if short_server || forbidden.contains(&name) {
            let shown = if short_server { "-s" } else { name };
            return Err(Error::ForbiddenFlag {
                flag: shown.to_owned(),
                reason: format!(
                    "{owner}'s cluster connection and identity come from Kopilot's configuration; \
                     drop {shown} and run the command against the configured cluster"
                ),
            });
        }
    }
    Ok(())
}

/// The file name of a program path (`/usr/bin/kubectl` → `kubectl`).
pub(crate) fn program_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_connection_flags_in_every_spelling() {
        for args in [
            vec!["get", "pods", "--kubeconfig", "/tmp/x"],
            vec!["get", "pods", "--kubeconfig=/tmp/x"],
            vec!["--server=https://evil:6443", "get", "pods"],
            vec!["-s", "https://evil:6443", "get", "pods"],
            vec!["-shttps://evil", "get", "pods"],
            vec!["get", "pods", "--token", "abc"],
            vec!["get", "pods", "--context=prod"],
            vec!["get", "pods", "--as=system:admin"],
            vec!["get", "pods", "--as-group", "system:masters"],
            vec!["get", "pods", "--certificate-authority=/ca"],
            vec!["get", "pods", "--insecure-skip-tls-verify"],
        ] {
            let err = check_connection_flags("kubectl", &args).unwrap_err();
            assert!(
                matches!(err, Error::ForbiddenFlag { .. }),
                "{args:?} gave {err}"
            );
            assert!(err.to_string().contains("Kopilot's configuration"));
        }
    }

    #[test]
    fn allows_ordinary_flags_and_words_after_double_dash() {
        check_connection_flags("kubectl", &["get", "pods", "-n", "shop", "-o", "yaml"]).unwrap();
        check_connection_flags("kubectl", &["logs", "web", "--since=1h", "--tail", "50"]).unwrap();
        check_connection_flags("kubectl", &["exec", "web", "--", "env", "--token"]).unwrap();
        check_connection_flags("grep", &["--token"]).unwrap();
    }

    #[test]
    fn refuses_helm_connection_flags() {
        let err = check_connection_flags("/usr/bin/helm", &["list", "--kube-context", "prod"])
            .unwrap_err();
        assert_eq!(
            err.to_string().split(':').next(),
            Some("refusing \"--kube-context\"")
        );
        check_connection_flags("helm", &["list", "-A"]).unwrap();
    }
}
