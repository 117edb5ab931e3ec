//! What the approval prompt says about the command, escaped: the command on one line, why it
//! needs approval, and, when the command holds anything unusual, the argv it will run as, one
//! word per line, so nothing in an argument (an escape sequence, a carriage return, a
//! right-to-left override, a space that joins two words into one) can pass for something else.

use kopilot_core::safety::{ApprovalRequest, Guard, Policy};

use crate::escape;

/// Longer words are listed: on one line they run past the edge of the terminal.
const LONG_WORD: usize = 200;

/// The argv the request's command runs as: one list per pipeline stage, or per simple command
/// when the line is not a plain pipeline. The one place to read it from the request once the
/// request carries it; until then, the guard's own parse of the command line.
pub(super) fn argv_of(request: &ApprovalRequest) -> Vec<Vec<String>> {
    parse_argv(&request.command)
}

fn parse_argv(command: &str) -> Vec<Vec<String>> {
    let assessment = Guard::new(Policy::default()).assess(command);
    match assessment.pipeline {
        Some(stages) => stages,
        None => assessment
            .commands
            .into_iter()
            .map(|c| c.argv)
            .filter(|argv| !argv.is_empty())
            .collect(),
    }
}

/// The lines under the prompt's heading, escaped and unstyled.
pub(super) fn details(command: &str, reasons: &[String], argv: &[Vec<String>]) -> Vec<String> {
    let mut lines = vec![format!("  command: {}", escape::line(command))];
    for reason in reasons {
        lines.push(format!("  why:     {}", escape::line(reason)));
    }
    if !is_unusual(command, argv) {
        return lines;
    }
    if argv.is_empty() {
        lines.push("  argv:    (the guard could not split this line into words)".to_owned());
    }
    for (stage, words) in argv.iter().enumerate() {
        lines.push(if argv.len() == 1 {
            "  argv:".to_owned()
        } else {
            format!("  argv ({} of {}):", stage + 1, argv.len())
        });
        for (index, word) in words.iter().enumerate() {
            lines.push(format!("    [{index}] {}", escape::word(word)));
        }
    }
    lines
}

/// Whether anything in the command is outside what reads unambiguously on one line: only
/// plain words (ASCII letters, digits and `-_./:=,@%+`, at most [`LONG_WORD`] long)
/// separated by single spaces.
fn is_unusual(command: &str, argv: &[Vec<String>]) -> bool {
    let plain = |word: &str| {
        !word.is_empty()
            && word.len() <= LONG_WORD
            && word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b))
    };
    argv.is_empty()
        || !command.split(' ').all(plain)
        || !argv.iter().flatten().all(|word| plain(word))
}

#[cfg(test)]
mod tests {
    use super::{details, parse_argv};

    fn shown(command: &str) -> Vec<String> {
        details(
            command,
            &["`kubectl delete` deletes objects".to_owned()],
            &parse_argv(command),
        )
    }

    #[test]
    fn a_plain_command_is_one_line() {
        assert_eq!(
            shown("kubectl delete deployment web -n shop"),
            [
                "  command: kubectl delete deployment web -n shop",
                "  why:     `kubectl delete` deletes objects",
            ]
        );
    }

    #[test]
    fn hidden_characters_get_the_argv_one_word_per_line_escaped() {
        let lines = shown("kubectl delete pod 'web\x1b[2K\rapi' '\u{202e}x' -n shop");
        assert_eq!(
            lines,
            [
                r"  command: kubectl delete pod 'web\x1b[2K\rapi' '\u{202e}x' -n shop",
                "  why:     `kubectl delete` deletes objects",
                "  argv:",
                "    [0] kubectl",
                "    [1] delete",
                "    [2] pod",
                r"    [3] web\x1b[2K\rapi",
                r"    [4] \u{202e}x",
                "    [5] -n",
                "    [6] shop",
            ]
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.contains(['\x1b', '\r', '\u{202e}']))
        );
    }

    #[test]
    fn a_space_inside_an_argument_shows_where_the_word_ends() {
        let lines = shown("kubectl label pod web 'team=a b'");
        assert!(
            lines.contains(&r#"    [4] "team=a b""#.to_owned()),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_long_argument_is_listed() {
        let long = "a".repeat(201);
        let lines = shown(&format!("kubectl annotate pod web note={long}"));
        assert_eq!(lines.len(), 2 + 1 + 5, "{lines:#?}");
        assert_eq!(
            shown(&format!("kubectl get pod {}", "a".repeat(200))).len(),
            2
        );
    }

    #[test]
    fn a_pipeline_gets_one_block_per_stage() {
        let lines = shown("kubectl get pods -o name | xargs kubectl delete");
        assert_eq!(
            lines[2..],
            [
                "  argv (1 of 2):",
                "    [0] kubectl",
                "    [1] get",
                "    [2] pods",
                "    [3] -o",
                "    [4] name",
                "  argv (2 of 2):",
                "    [0] xargs",
                "    [1] kubectl",
                "    [2] delete",
            ]
        );
    }
}
