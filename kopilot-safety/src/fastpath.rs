//! A fast path for the commonest command lines: one pipeline of plain words, optionally with
//! single-quoted or simple double-quoted parts. Anything that needs the shell grammar (any
//! metacharacter, expansion, escape, keyword, assignment or comment) returns `None`, and the
//! line goes to the full parser. The fast path must agree with the full parser on everything it
//! accepts; a property test in `shell.rs` checks that.

/// Splits `line` into pipeline stages of literal words, or `None` when the line needs the full
/// shell parser.
pub(crate) fn split(line: &str) -> Option<Vec<Vec<String>>> {
    let mut stages: Vec<Vec<String>> = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => end_word(&mut stages, &mut word, &mut in_word),
            '|' => {
                end_word(&mut stages, &mut word, &mut in_word);
                // `||` and empty stages need the real grammar.
                if stages.last().is_none_or(Vec::is_empty) {
                    return None;
                }
                stages.push(Vec::new());
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        '\0' => return None,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' | '\\' | '!' | '\0' => return None,
                        other => word.push(other),
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c) => {
                in_word = true;
                word.push(c);
            }
            _ => return None,
        }
    }
    end_word(&mut stages, &mut word, &mut in_word);
    if stages.iter().any(Vec::is_empty) {
        return None;
    }
    for stage in &stages {
        let first = stage.first()?;
        // Assignments and reserved words belong to the full grammar.
        if first.contains('=') || RESERVED.contains(&first.as_str()) {
            return None;
        }
    }
    Some(stages)
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "function", "time", "coproc", "in",
];

fn end_word(stages: &mut [Vec<String>], word: &mut String, in_word: &mut bool) {
    if *in_word {
        if let Some(stage) = stages.last_mut() {
            stage.push(std::mem::take(word));
        }
        *in_word = false;
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn plain_lines() {
        assert_eq!(
            split("kubectl get pods -A | grep -v Running").unwrap(),
            [
                vec!["kubectl", "get", "pods", "-A"],
                vec!["grep", "-v", "Running"]
            ]
        );
        assert_eq!(
            split("kubectl get pods -l 'app in (a,b)' -o \"wide\"").unwrap(),
            [vec![
                "kubectl",
                "get",
                "pods",
                "-l",
                "app in (a,b)",
                "-o",
                "wide"
            ]]
        );
        assert_eq!(split("a''b").unwrap(), [vec!["ab"]]);
        assert_eq!(split("''").unwrap(), [vec![""]]);
    }

    #[test]
    fn anything_else_goes_to_the_parser() {
        for line in [
            "",
            "a || b",
            "| a",
            "a |",
            "a | | b",
            "a; b",
            "a && b",
            "a & b",
            "a > f",
            "a < f",
            "$x",
            "a $(b)",
            "a `b`",
            "a\\ b",
            "a \"$x\"",
            "a 'b",
            "a \"b",
            "X=1 a",
            "if a",
            "a # c",
            "a\nb",
            "~/x",
            "a *",
            "a {b,c}",
            "a [x]",
            "(a)",
            "!a",
            "a\0",
            "time a",
            "a | X=1 b",
        ] {
            assert!(split(line).is_none(), "{line:?}");
        }
    }
}
