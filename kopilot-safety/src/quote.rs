//! Turning argv back into a command line the guard (and a shell) reads the same way.

/// Quotes each argument so that a shell splits the result back into exactly these words.
///
/// ```
/// assert_eq!(
///     kopilot_safety::quote_argv(&["kubectl", "get", "pods", "-l", "app in (a,b)"]),
///     "kubectl get pods -l 'app in (a,b)'"
/// );
/// ```
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote_word(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quotes one word for a POSIX shell (single quotes, with `'` written as `'\''`).
pub fn quote_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
