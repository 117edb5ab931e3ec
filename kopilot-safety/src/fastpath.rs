//! Plain pipelines: lines an executor can run as argv stages, without a shell.
//!
//! [`from_program`] reads them off the full parser's AST. [`split`] is a fast path for the
//! commonest command lines: one pipeline of plain words, optionally with
//! single-quoted or simple double-quoted parts. Anything that needs the shell grammar (any
//! metacharacter, expansion, escape, keyword, assignment or comment) returns `None`, and the
//! line goes to the full parser. The fast path must agree with the full parser on everything it
//! accepts; a property test in `shell.rs` checks that.

use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use crate::shell::{parser_options, push_escape};

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

/// The line as argv pipelines, when it is exactly one foreground pipeline of simple commands whose
/// words are all literal and that has no assignments or redirections.
pub(crate) fn from_program(program: &ast::Program) -> Option<Vec<Vec<String>>> {
    let [list] = program.complete_commands.as_slice() else {
        return None;
    };
    let [ast::CompoundListItem(and_or, ast::SeparatorOperator::Sequence)] = list.0.as_slice()
    else {
        return None;
    };
    if !and_or.additional.is_empty() || and_or.first.bang || and_or.first.timed.is_some() {
        return None;
    }
    let mut stages = Vec::new();
    for command in &and_or.first.seq {
        let ast::Command::Simple(simple) = command else {
            return None;
        };
        if simple.prefix.is_some() {
            return None;
        }
        let mut argv = Vec::new();
        let name = simple.word_or_name.as_ref()?;
        argv.push(literal_word(&name.value)?);
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            // After the program name, `a=b` is an ordinary argument (`kubectl set image x app=y`).
            let (ast::CommandPrefixOrSuffixItem::Word(word)
            | ast::CommandPrefixOrSuffixItem::AssignmentWord(_, word)) = item
            else {
                return None;
            };
            argv.push(literal_word(&word.value)?);
        }
        stages.push(argv);
    }
    Some(stages)
}

/// The value of a word that holds no expansion of any kind.
fn literal_word(raw: &str) -> Option<String> {
    let pieces = catch_unwind(AssertUnwindSafe(|| {
        brush_parser::word::parse(raw, &parser_options())
    }))
    .ok()?
    .ok()?;
    let mut text = String::new();
    if !literal_pieces(&pieces, &mut text, false) {
        return None;
    }
    Some(text)
}

fn literal_pieces(pieces: &[WordPieceWithSource], text: &mut String, quoted: bool) -> bool {
    for piece in pieces {
        match &piece.piece {
            WordPiece::Text(t) => {
                if !quoted && t.contains(['*', '?', '[']) {
                    return false;
                }
                text.push_str(t);
            }
            WordPiece::SingleQuotedText(t) => text.push_str(t),
            WordPiece::DoubleQuotedSequence(inner) => {
                if !literal_pieces(inner, text, true) {
                    return false;
                }
            }
            WordPiece::EscapeSequence(e) => push_escape(text, e, quoted),
            _ => return false,
        }
    }
    true
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
