//! Connection and identity flags that only Kopilot's configuration may set.
//!
//! The model must not point `kubectl` or `helm` at another cluster, another user or an
//! unverified server: Kopilot injects the kubeconfig and context itself, and these checks keep
//! the model from overriding them. They read the guard's parse of each command
//! ([`CommandAssessment::possible_connection_flags`]: the flags of the guard's reading, and any
//! word that spells one wherever it stands) rather than a table of their own.

use kopilot_core::safety::{CommandAssessment, parse_argv};

use crate::error::{Error, Result};

/// Checks one command, given as its program and arguments, for flags that would override
/// Kopilot's cluster connection or identity, reading it with the guard's own grammar (so every
/// spelling kubectl and helm accept is seen: `--server=x`, `-s x`, `-sx`, `-As x`, ...).
///
/// Programs other than kubectl and helm (directly or behind wrappers such as `timeout`) pass.
///
/// # Errors
///
/// [`Error::ForbiddenFlag`] naming the first such flag.
pub fn check_connection_flags<S: AsRef<str>>(program: &str, args: &[S]) -> Result<()> {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(program);
    argv.extend(args.iter().map(AsRef::as_ref));
    refuse_connection_flags(std::slice::from_ref(&parse_argv(&argv)))
}

/// Refuses when any of the guard's parsed commands could set a connection or identity flag.
///
/// # Errors
///
/// [`Error::ForbiddenFlag`] naming the first such flag.
pub(crate) fn refuse_connection_flags(commands: &[CommandAssessment]) -> Result<()> {
    for command in commands {
        if let Some(flag) = command.possible_connection_flags().first() {
            let owner = &command.program;
            let shown = format!("--{flag}");
            return Err(Error::ForbiddenFlag {
                reason: format!(
                    "{owner}'s cluster connection and identity come from Kopilot's configuration; \
                     drop {shown} and run the command against the configured cluster"
                ),
                flag: shown,
            });
        }
    }
    Ok(())
}

/// Why the guard's parse of a cleared line cannot vouch for the flags it would run with, if it
/// cannot: it holds no command, or a `kubectl`/`helm` command has words only known at run time.
pub(crate) fn unvouched(commands: &[CommandAssessment]) -> Option<String> {
    if commands.is_empty() {
        return Some("the guard's parse of it holds no command".to_owned());
    }
    let command = commands
        .iter()
        .find(|c| matches!(c.program.as_str(), "kubectl" | "helm") && c.has_run_time_words())?;
    Some(format!(
        "{} would get words only known at run time (xargs input, shell expansions), and any of \
         them could point it at another cluster or identity",
        command.program
    ))
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
            vec!["get", "pods", "-As", "https://evil:6443"],
            vec!["get", "pods", "-As=https://evil:6443"],
            vec!["logs", "-f", "-s", "https://evil:6443", "web"],
            vec!["-v6", "-s", "https://evil:6443", "get", "pods"],
            vec!["--user=admin", "get", "pods"],
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
        check_connection_flags("kubectl", &["get", "pods", "-A", "-o", "wide"]).unwrap();
    }

    #[test]
    fn refuses_connection_flags_behind_wrappers() {
        let err =
            check_connection_flags("timeout", &["5", "kubectl", "-shttps://evil", "get", "po"])
                .unwrap_err();
        assert!(matches!(err, Error::ForbiddenFlag { ref flag, .. } if flag == "--server"));
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
