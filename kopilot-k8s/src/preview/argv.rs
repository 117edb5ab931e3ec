//! Rewriting a `kubectl` argv for a preview by the guard's reading of its words
//! ([`ArgvReading`]): the argv of the dry run, and of the read that shows what a `delete` or
//! `rollout restart` acts on. No flag table lives here: which word is the verb, which words are
//! flags and which word holds a flag's value all come from the guard's grammar.

use kopilot_core::safety::{ArgvReading, parse_argv};

/// Flags of `kubectl delete` and `rollout restart` that `kubectl get` does not take, by the long
/// names the guard's grammar gives them (`-i` reads as `stdin`), and `output`, which the read
/// sets itself.
const NOT_FOR_GET: &[&str] = &[
    "all",
    "cascade",
    "force",
    "now",
    "wait",
    "stdin",
    "interactive",
    "grace-period",
    "timeout",
    "field-manager",
    "raw",
    "output",
];

/// The argv with `extra` flags added where kubectl reads them as flags: before the `--` that
/// ends the flags (its words belong to a command run in the cluster), or at the end, so that
/// they come last and win over the same flags given earlier. When the word before that place
/// is a flag the grammar reads without a value, kubectl's own table could still take the next
/// word as its value (a flag the guard does not know to take one); then `extra` also goes right
/// after the command path, where no flag can take it. `None` without a command path.
pub(super) fn with_flags(reading: &ArgvReading<'_>, extra: &[&str]) -> Option<Vec<String>> {
    let argv = reading.argv();
    let at = reading.end_of_flags().unwrap_or(argv.len());
    let dangling = at
        .checked_sub(1)
        .and_then(|before| reading.flags_in(before).last())
        .is_some_and(|flag| flag.value.is_none());
    let after_path = reading.command_path().last()? + 1;
    let mut out = Vec::with_capacity(argv.len() + 2 * extra.len());
    for (i, word) in argv.iter().enumerate() {
        if i == at {
            out.extend(extra.iter().map(|w| (*w).to_owned()));
        }
        if i == after_path && dangling {
            out.extend(extra.iter().map(|w| (*w).to_owned()));
        }
        out.push(word.clone());
    }
    if at == argv.len() {
        out.extend(extra.iter().map(|w| (*w).to_owned()));
    }
    Some(out)
}

/// The `kubectl get … -o yaml` that reads the objects a `delete` or `rollout restart` acts on:
/// the command path replaced by `get`, the flags `get` lacks dropped with their values. `None`
/// when a word holds such a flag together with others (a cluster such as `-iR`), or when the
/// read cannot be read back as one command.
pub(super) fn as_get(reading: &ArgvReading<'_>) -> Option<Vec<String>> {
    let argv = reading.argv();
    let path = reading.command_path();
    let mut dropped: Vec<usize> = Vec::new();
    for flag in reading.flags() {
        if !NOT_FOR_GET.contains(&flag.name.as_str()) {
            continue;
        }
        if reading
            .flags_in(flag.word)
            .any(|f| !NOT_FOR_GET.contains(&f.name.as_str()))
        {
            return None;
        }
        dropped.push(flag.word);
        dropped.extend(flag.value_word);
    }
    let mut out = Vec::with_capacity(argv.len() + 2);
    for (i, word) in argv.iter().enumerate() {
        if path.first() == Some(&i) {
            out.push("get".to_owned());
        } else if !path.contains(&i) && !dropped.contains(&i) {
            out.push(word.clone());
        }
    }
    // The read is read again by the same grammar to find where `-o yaml` goes.
    let parsed = parse_argv(&out);
    with_flags(&parsed.reading()?, &["-o", "yaml"])
}

/// The value of `--replicas` (the one kubectl keeps), when it is an integer.
pub(super) fn replicas(reading: &ArgvReading<'_>) -> Option<i64> {
    reading.flag("replicas")?.value?.parse().ok()
}

#[cfg(test)]
mod tests;
