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
///
/// It reads bytes: every character it acts on is ASCII, so a word's unquoted parts are slices
/// of the line, copied once into a string of their exact length.
pub(crate) fn split(line: &str) -> Option<Vec<Vec<String>>> {
    let bytes = line.as_bytes();
    // An upper bound on the words: one more than the blanks and bars.
    let bound = 1 + bytes
        .iter()
        .filter(|b| matches!(b, b' ' | b'\t' | b'|'))
        .count();
    let mut words: Vec<String> = Vec::with_capacity(bound);
    // Where each stage after the first starts in `words`.
    let mut cuts: Vec<usize> = Vec::new();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b' ' | b'\t' => at += 1,
            b'|' => {
                // `||` and empty stages need the real grammar.
                if words.len() == cuts.last().copied().unwrap_or(0) {
                    return None;
                }
                cuts.push(words.len());
                at += 1;
            }
            _ => {
                let (word, end) = read_word(line, at)?;
                words.push(word);
                at = end;
            }
        }
    }
    if words.len() == cuts.last().copied().unwrap_or(0) {
        return None;
    }
    // Assignments and reserved words belong to the full grammar.
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    for start in starts {
        let first = words.get(start).map_or("", String::as_str);
        if first.contains('=') || RESERVED.contains(&first) {
            return None;
        }
    }
    if cuts.is_empty() {
        return Some(vec![words]);
    }
    let mut stages = Vec::with_capacity(cuts.len() + 1);
    for &cut in cuts.iter().rev() {
        stages.push(words.split_off(cut));
    }
    stages.push(words);
    stages.reverse();
    Some(stages)
}

/// Bytes a word may hold outside quotes.
pub(crate) fn plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&byte)
}

/// The word starting at `start` and where it ends, or `None` when it needs the full parser.
fn read_word(line: &str, start: usize) -> Option<(String, usize)> {
    let bytes = line.as_bytes();
    let mut at = start;
    while bytes.get(at).copied().is_some_and(plain) {
        at += 1;
    }
    if !matches!(bytes.get(at), Some(b'\'' | b'"')) {
        return ends_word(bytes, at).then(|| (line[start..at].to_owned(), at));
    }
    // Quoted parts: the value is built from the pieces between the quotes.
    let mut word = String::with_capacity(at - start + 8);
    word.push_str(&line[start..at]);
    loop {
        match bytes.get(at) {
            Some(&quote @ (b'\'' | b'"')) => {
                let from = at + 1;
                let rest = line.get(from..)?;
                let text = rest.get(..rest.find(char::from(quote))?)?;
                // In double quotes, `$`, backquotes, backslashes and `!` mean something.
                let special: &[char] = if quote == b'"' {
                    &['$', '`', '\\', '!', '\0']
                } else {
                    &['\0']
                };
                if text.contains(special) {
                    return None;
                }
                word.push_str(text);
                at = from + text.len() + 1;
            }
            Some(&byte) if plain(byte) => {
                let from = at;
                while bytes.get(at).copied().is_some_and(plain) {
                    at += 1;
                }
                word.push_str(&line[from..at]);
            }
            _ => return ends_word(bytes, at).then_some((word, at)),
        }
    }
}

/// Whether a word may end before `at`: at the end of the line, a blank or a bar.
fn ends_word(bytes: &[u8], at: usize) -> bool {
    matches!(bytes.get(at), None | Some(b' ' | b'\t' | b'|'))
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "function", "time", "coproc", "in",
];

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
    // The shape first (simple commands of words only), so that no word is parsed for a line
    // that is not a plain pipeline anyway.
    let mut simples = Vec::with_capacity(and_or.first.seq.len());
    for command in &and_or.first.seq {
        let ast::Command::Simple(simple) = command else {
            return None;
        };
        if simple.prefix.is_some() || simple.word_or_name.is_none() {
            return None;
        }
        let words = simple.suffix.iter().flat_map(|s| s.0.iter());
        // After the program name, `a=b` is an ordinary argument (`kubectl set image x app=y`).
        if !words.clone().all(|item| {
            matches!(
                item,
                ast::CommandPrefixOrSuffixItem::Word(_)
                    | ast::CommandPrefixOrSuffixItem::AssignmentWord(_, _)
            )
        }) {
            return None;
        }
        simples.push(simple);
    }
    let mut stages = Vec::with_capacity(simples.len());
    for simple in simples {
        let mut argv = Vec::new();
        let name = simple.word_or_name.as_ref()?;
        argv.push(literal_word(&name.value)?);
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
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
