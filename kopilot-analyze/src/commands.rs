//! The fix commands findings suggest. Names come from the cluster or from a snapshot file,
//! which anyone can write: every word is quoted for a POSIX shell (so a name cannot add shell
//! syntax to a command a human or the agent runs), and a command whose object name,
//! namespace or container is not a valid Kubernetes name (one starting with `-` would be read
//! as a flag) is not suggested at all.

use kopilot_safety::quote_argv;

/// The command line of `words`, when every one of `names` is a valid Kubernetes name.
pub(crate) fn suggest(words: &[&str], names: &[&str]) -> Option<String> {
    names
        .iter()
        .all(|name| is_object_name(name))
        .then(|| quote_argv(words))
}

/// `kind/name` targets (`deployment/web`): the name part must be valid.
pub(crate) fn target_name(target: &str) -> &str {
    target.split_once('/').map_or(target, |(_, name)| name)
}

/// What the API server accepts as an object name, namespace or container name (a DNS-1123
/// subdomain): lower-case letters, digits, `-` and `.`, starting and ending with a letter or
/// digit, at most 253 characters.
fn is_object_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= 253
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_every_word_and_refuses_names_that_are_not_names() {
        assert_eq!(
            suggest(
                &["kubectl", "delete", "pvc", "data-0", "-n", "shop"],
                &["data-0", "shop"]
            )
            .as_deref(),
            Some("kubectl delete pvc data-0 -n shop")
        );
        assert_eq!(
            suggest(
                &[
                    "kubectl",
                    "patch",
                    "hpa",
                    "web",
                    "--type",
                    "merge",
                    "-p",
                    r#"{"spec":{"minReplicas":2}}"#
                ],
                &["web"]
            )
            .as_deref(),
            Some(r#"kubectl patch hpa web --type merge -p '{"spec":{"minReplicas":2}}'"#)
        );
        for crafted in [
            "x; rm -rf ~",
            "$(curl evil)",
            "-all",
            "a b",
            "Web",
            "",
            "x'",
        ] {
            assert_eq!(
                suggest(&["kubectl", "delete", "pvc", crafted], &[crafted]),
                None,
                "{crafted}"
            );
        }
        assert_eq!(target_name("deployment/web"), "web");
    }
}
