//! Reading and rewriting a `kubectl` argv for a preview: where the verb is, which value the
//! `--replicas` flag has, and the argv of the dry run or of the equivalent read.

/// Global and verb flags that take their value as the next word when written without `=`.
/// Used only to find the verb; a word this list misses makes the verb search fail, and the
/// preview is skipped rather than guessed.
const VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "-s",
    "--server",
    "--context",
    "--cluster",
    "--user",
    "--kubeconfig",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--cache-dir",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--request-timeout",
    "--tls-server-name",
    "-v",
    "--v",
    "--vmodule",
    "--log-file",
    "--log-dir",
    "--profile",
    "--profile-output",
    "--username",
    "--password",
];

/// Flags of `kubectl delete` (and `rollout restart`) that `kubectl get` does not have; a value
/// after a space belongs to the flag for the ones in [`STRIP_WITH_VALUE`].
const STRIP_FLAGS: &[&str] = &[
    "--all",
    "--cascade",
    "--force",
    "--now",
    "--wait",
    "-i",
    "--interactive",
    "--grace-period",
    "--timeout",
    "--field-manager",
    "--raw",
];

/// Of [`STRIP_FLAGS`], those whose value may follow as the next word.
const STRIP_WITH_VALUE: &[&str] = &["--grace-period", "--timeout", "--field-manager", "--raw"];

/// The positions of the first `words.len()` non-flag words after the program, when they are
/// exactly `words` (the verb the guard read); `None` otherwise.
pub(super) fn verb_positions(argv: &[String], words: &[&str]) -> Option<Vec<usize>> {
    let mut found = Vec::with_capacity(words.len());
    let mut at = 1;
    while found.len() < words.len() {
        let word = argv.get(at)?;
        if word == "--" {
            return None;
        }
        if word.starts_with('-') {
            let takes_next = !word.contains('=') && VALUE_FLAGS.contains(&word.as_str());
            at += if takes_next { 2 } else { 1 };
            continue;
        }
        if word != words.get(found.len())? {
            return None;
        }
        found.push(at);
        at += 1;
    }
    Some(found)
}

/// `argv` with `extra` inserted before a `--` (whose words belong to a command run in the
/// cluster), or appended.
pub(super) fn with_flags(argv: &[String], extra: &[&str]) -> Vec<String> {
    let end = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
    let mut out: Vec<String> = argv.get(..end).unwrap_or_default().to_vec();
    out.extend(extra.iter().map(|w| (*w).to_owned()));
    out.extend(argv.get(end..).unwrap_or_default().iter().cloned());
    out
}

/// The `kubectl get … -o yaml` that reads the objects a `delete` or `rollout restart` acts on:
/// the verb words at `positions` replaced by `get`, flags `get` lacks dropped.
pub(super) fn as_get(argv: &[String], positions: &[usize]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + 3);
    let mut skip_next = false;
    for (at, word) in argv.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        if positions.first() == Some(&at) {
            out.push("get".to_owned());
            continue;
        }
        if positions.contains(&at) {
            continue;
        }
        let name = word.split_once('=').map_or(word.as_str(), |(name, _)| name);
        if STRIP_FLAGS.contains(&name) {
            skip_next = !word.contains('=') && STRIP_WITH_VALUE.contains(&name);
            continue;
        }
        // `-o name` and the like: the read asks for YAML itself.
        if name == "-o" || name == "--output" {
            skip_next = !word.contains('=');
            continue;
        }
        if word.starts_with("-o") && !word.starts_with("--") {
            continue;
        }
        out.push(word.clone());
    }
    with_flags(&out, &["-o", "yaml"])
}

/// The value of `--replicas`, when given as an integer.
pub(super) fn replicas(argv: &[String]) -> Option<i64> {
    let mut words = argv.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            return None;
        }
        if let Some(value) = word.strip_prefix("--replicas=") {
            return value.parse().ok();
        }
        if word == "--replicas" {
            return words.next()?.parse().ok();
        }
    }
    None
}

/// Whether a flag named `flag` (long form, e.g. `--prune`) is present.
pub(super) fn has_flag(argv: &[String], flag: &str) -> bool {
    argv.iter()
        .take_while(|w| *w != "--")
        .any(|w| w == flag || w.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(words: &str) -> Vec<String> {
        words.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn finds_the_verb_past_global_flags_with_values() {
        let argv = v("kubectl -n delete delete pod x");
        assert_eq!(verb_positions(&argv, &["delete"]), Some(vec![3]));
        let argv = v("kubectl --namespace=shop rollout restart deploy/web");
        assert_eq!(
            verb_positions(&argv, &["rollout", "restart"]),
            Some(vec![2, 3])
        );
        assert_eq!(verb_positions(&v("kubectl get pods"), &["delete"]), None);
    }

    #[test]
    fn flags_go_before_a_double_dash() {
        let argv = v("kubectl create job j --image=busybox -- echo hi");
        assert_eq!(
            with_flags(&argv, &["--dry-run=server"]).join(" "),
            "kubectl create job j --image=busybox --dry-run=server -- echo hi"
        );
    }

    #[test]
    fn delete_becomes_a_get_without_delete_only_flags() {
        let argv = v(
            "kubectl delete pods -l app=web -n shop --grace-period 0 --force --cascade=orphan -o name --wait=false",
        );
        let positions = verb_positions(&argv, &["delete"]).unwrap();
        assert_eq!(
            as_get(&argv, &positions).join(" "),
            "kubectl get pods -l app=web -n shop -o yaml"
        );
        let argv = v("kubectl rollout restart deploy/web -n shop --field-manager x");
        let positions = verb_positions(&argv, &["rollout", "restart"]).unwrap();
        assert_eq!(
            as_get(&argv, &positions).join(" "),
            "kubectl get deploy/web -n shop -o yaml"
        );
    }

    #[test]
    fn reads_replicas_in_both_spellings() {
        assert_eq!(
            replicas(&v("kubectl scale deploy/web --replicas=5")),
            Some(5)
        );
        assert_eq!(
            replicas(&v("kubectl scale deploy/web --replicas 0")),
            Some(0)
        );
        assert_eq!(replicas(&v("kubectl scale deploy/web --replicas=x")), None);
        assert!(has_flag(&v("kubectl apply -f x --prune=true"), "--prune"));
        assert!(!has_flag(
            &v("kubectl apply -f x --prune-allowlist=a"),
            "--prune"
        ));
    }
}
