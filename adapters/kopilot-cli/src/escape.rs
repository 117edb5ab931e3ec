//! Text from the model, a tool or the cluster made safe to print: every character that could
//! steer the terminal (C0 and C1 controls, DEL) or disguise what is shown (bidirectional
//! overrides, zero-width and other invisible characters) is written as a visible escape such
//! as `\x1b`, `\r` or `\u{202e}`, so a person sees it and the terminal never acts on it.
//!
//! Escape before styling: Kopilot's own colour codes are added to the escaped text, so they
//! keep working and nothing the model wrote ever does. Escaping is per character with no
//! state, so a streamed delta that ends in the middle of a sequence is as safe as a whole one.

use std::borrow::Cow;

/// For text shown on one line (the spinner, tool-call lines, the approval prompt's fields,
/// reasons, table cells): newlines and tabs are escaped too.
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    escape(text, Layout::OneLine)
}

/// For text shown as written (answers, tool output, previews): newlines and tabs are kept, the
/// rest is escaped. A tab only moves the cursor right, so it can neither hide nor overwrite.
pub(crate) fn multiline(text: &str) -> Cow<'_, str> {
    escape(text, Layout::Lines)
}

/// One argv word shown so that exactly one word reads back from it: [`line()`] escaping,
/// backslashes doubled (a real ESC shows `\x1b`, a typed backslash `\\x1b`), and in double
/// quotes (`"` as `\"`) when it is empty or holds a double quote or whitespace that shows as
/// blank (a space, not a tab or newline, which are escaped).
pub(crate) fn word(text: &str) -> String {
    let blank = |c: char| c.is_whitespace() && !needs_escape(c, Layout::OneLine);
    let quoted = text.is_empty() || text.chars().any(|c| blank(c) || c == '"');
    let mut out = String::with_capacity(text.len() + 2);
    if quoted {
        out.push('"');
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            c if needs_escape(c, Layout::OneLine) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    OneLine,
    Lines,
}

fn escape(text: &str, layout: Layout) -> Cow<'_, str> {
    // Runs on every streamed delta: borrow unless something needs escaping.
    let Some(first) = text.find(|c| needs_escape(c, layout)) else {
        return Cow::Borrowed(text);
    };
    let (clean, rest) = text.split_at(first);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(clean);
    for c in rest.chars() {
        if needs_escape(c, layout) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char, layout: Layout) -> bool {
    match c {
        '\n' | '\t' => layout == Layout::OneLine,
        // C0 controls (ESC, CR, BEL, backspace, ...), DEL, and the C1 controls (U+0080 to
        // U+009F), which some terminals read as CSI, OSC and the like.
        '\0'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}' => true,
        _ => disguises(c),
    }
}

/// Characters that change how the text around them reads without being seen: bidirectional
/// marks, embeddings, overrides and isolates, zero-width and other invisible characters,
/// line and paragraph separators, and the tag characters (invisible ASCII look-alikes).
fn disguises(c: char) -> bool {
    matches!(c,
        '\u{ad}'                      // soft hyphen
        | '\u{34f}'                   // combining grapheme joiner
        | '\u{61c}'                   // Arabic letter mark
        | '\u{115f}' | '\u{1160}'     // Hangul fillers
        | '\u{17b4}' | '\u{17b5}'     // Khmer inherent vowels
        | '\u{180e}'                  // Mongolian vowel separator
        | '\u{200b}'..='\u{200f}'     // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{2028}'..='\u{202e}'     // line and paragraph separators; embeddings, overrides
        | '\u{2060}'..='\u{206f}'     // word joiner, invisible operators, isolates, ...
        | '\u{3164}' | '\u{ffa0}'     // Hangul fillers
        | '\u{feff}'                  // zero-width no-break space (BOM)
        | '\u{fff9}'..='\u{fffb}'     // interlinear annotation
        | '\u{e0000}'..='\u{e007f}' // tags
    )
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = match c {
        '\n' => write!(out, r"\n"),
        '\r' => write!(out, r"\r"),
        '\t' => write!(out, r"\t"),
        '\0'..='\x7f' => write!(out, r"\x{:02x}", u32::from(c)),
        _ => write!(out, r"\u{{{:x}}}", u32::from(c)),
    };
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{line, multiline, word};

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        for text in ["", "kubectl get pods -n shop", "€ 3× — naïve 日本語 ❤️ 👍🏽"]
        {
            assert!(
                matches!(line(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
        assert!(matches!(multiline("a\n\tb\n"), Cow::Borrowed("a\n\tb\n")));
    }

    #[test]
    fn escape_sequences_show_as_text() {
        assert_eq!(line("\x1b]0;pwned\x07"), r"\x1b]0;pwned\x07");
        assert_eq!(line("a\x1b[2Jb"), r"a\x1b[2Jb");
        assert_eq!(line("\0\x08\x7f"), r"\x00\x08\x7f");
        assert_eq!(multiline("ok\rfake\n"), "ok\\rfake\n");
    }

    #[test]
    fn c1_controls_are_escaped() {
        assert_eq!(
            line("\u{9b}2J \u{9d}0;x\u{9c}"),
            r"\u{9b}2J \u{9d}0;x\u{9c}"
        );
        assert_eq!(
            line("\u{80}\u{85}\u{9f}\u{a0}"),
            "\\u{80}\\u{85}\\u{9f}\u{a0}"
        );
    }

    #[test]
    fn characters_that_disguise_text_are_escaped() {
        assert_eq!(line("pod\u{202e}bew"), r"pod\u{202e}bew");
        assert_eq!(
            line("\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}"),
            r"\u{202a}\u{202b}\u{202c}\u{202d}\u{2066}\u{2067}\u{2068}\u{2069}"
        );
        assert_eq!(line("\u{200e}\u{200f}\u{61c}"), r"\u{200e}\u{200f}\u{61c}");
        assert_eq!(
            line("a\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{ad}b"),
            r"a\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{ad}b"
        );
        assert_eq!(line("x\u{e0041}\u{2028}"), r"x\u{e0041}\u{2028}");
    }

    #[test]
    fn one_line_escapes_layout_and_multiline_keeps_it() {
        assert_eq!(line("a\nb\tc\r\n"), r"a\nb\tc\r\n");
        assert_eq!(multiline("a\nb\tc\r\n"), "a\nb\tc\\r\n");
        assert_eq!(
            multiline("# Title\n\x1b[31mred\x1b[0m\n"),
            "# Title\n\\x1b[31mred\\x1b[0m\n"
        );
    }

    #[test]
    fn a_string_of_only_controls_is_all_escaped() {
        let all: String = ('\0'..='\x1f').chain(['\x7f']).collect();
        let escaped = line(&all);
        assert!(escaped.chars().all(|c| c.is_ascii_graphic()), "{escaped}");
        assert_eq!(escaped.matches('\\').count(), 33, "{escaped}");
        assert!(escaped.starts_with(r"\x00\x01"), "{escaped}");
        assert_eq!(multiline("\x1b\x1b"), r"\x1b\x1b");
    }

    #[test]
    fn escaping_a_stream_piece_by_piece_equals_escaping_it_whole() {
        let text = "answer \x1b]0;pwned\x07 and \x1b[2J\r\u{202e}done\n";
        let pieces: String = text
            .split_inclusive(['\x1b', ';', '\r'])
            .map(|piece| multiline(piece).into_owned())
            .collect();
        assert_eq!(pieces, multiline(text));
    }

    #[test]
    fn words_read_back_as_exactly_one_argument() {
        assert_eq!(word("delete"), "delete");
        assert_eq!(word("pod\x1b[2Kweb"), r"pod\x1b[2Kweb");
        assert_eq!(word(r"pod\x1b[2Kweb"), r"pod\\x1b[2Kweb");
        assert_eq!(word("app=a b"), r#""app=a b""#);
        assert_eq!(word("web "), r#""web ""#);
        assert_eq!(word(""), r#""""#);
        assert_eq!(word(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(word("a\nb\r"), r"a\nb\r");
        assert_eq!(word("a\u{a0}b"), "\"a\u{a0}b\"");
        assert_eq!(word("x\u{202e}y"), r"x\u{202e}y");
    }
}
