//! Markdown for a terminal, one line at a time, so an answer can be styled as it streams:
//! headings bold, list bullets, `code` and fenced blocks in colour, **bold** kept bold, quotes
//! dimmed. Tables and everything else pass through unchanged. Plain output (a pipe, a file)
//! gets the markdown as written.
//!
//! Each line is escaped (`crate::escape`) before it is read as markdown and styled, so the
//! styling is ours and no control character the model wrote reaches the terminal, in code
//! blocks and inline code too.

use owo_colors::OwoColorize as _;

use crate::escape;

/// Styles complete lines; keeps the state that spans lines (inside a code fence or not).
#[derive(Debug, Default)]
pub(crate) struct MarkdownLines {
    in_fence: bool,
    partial: String,
}

impl MarkdownLines {
    /// Adds streamed text; returns the styled complete lines it finished (each with `\n`).
    pub(crate) fn push(&mut self, text: &str) -> String {
        self.partial.push_str(text);
        let Some(last_newline) = self.partial.rfind('\n') else {
            return String::new();
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let mut out = String::with_capacity(complete.len() + 32);
        for line in complete.lines() {
            out.push_str(&self.line(line));
            out.push('\n');
        }
        out
    }

    /// Styles what is left (a last line without a newline) and resets.
    pub(crate) fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.partial);
        let out = if rest.is_empty() {
            String::new()
        } else {
            format!("{}\n", self.line(&rest))
        };
        self.in_fence = false;
        out
    }

    /// One line, escaped then styled.
    fn line(&mut self, line: &str) -> String {
        let line = escape::multiline(line);
        let line = line.as_ref();
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            self.in_fence = !self.in_fence;
            return line.dimmed().to_string();
        }
        if self.in_fence {
            return line.cyan().to_string();
        }
        if let Some(heading) = heading(trimmed) {
            return inline(heading).bold().underline().to_string();
        }
        if matches!(trimmed, "---" | "***" | "___") {
            return "─".repeat(40).dimmed().to_string();
        }
        if let Some(quote) = trimmed.strip_prefix('>') {
            return format!("│ {}", quote.trim_start()).dimmed().to_string();
        }
        let indent = &line[..line.len() - trimmed.len()];
        for bullet in ["- ", "* ", "+ "] {
            if let Some(item) = trimmed.strip_prefix(bullet) {
                return format!("{indent}• {}", inline(item));
            }
        }
        format!("{indent}{}", inline(trimmed))
    }
}

fn heading(line: &str) -> Option<&str> {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&hashes) {
        line.get(hashes..)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(str::trim)
    } else {
        None
    }
}

/// `code` in cyan, **strong** in bold; unmatched markers are left as written.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let code = rest.find('`');
        let strong = rest.find("**");
        match (code, strong) {
            (Some(c), s) if s.is_none_or(|s| c < s) => {
                let after = &rest[c + 1..];
                if let Some(end) = after.find('`') {
                    out.push_str(&rest[..c]);
                    out.push_str(&(&after[..end]).cyan().to_string());
                    rest = &after[end + 1..];
                } else {
                    out.push_str(rest);
                    break;
                }
            }
            (_, Some(s)) => {
                let after = &rest[s + 2..];
                if let Some(end) = after.find("**") {
                    out.push_str(&rest[..s]);
                    out.push_str(&inline(&after[..end]).bold().to_string());
                    rest = &after[end + 2..];
                } else {
                    out.push_str(rest);
                    break;
                }
            }
            _ => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::MarkdownLines;

    fn strip(styled: &str) -> String {
        let mut out = String::new();
        let mut chars = styled.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn lines_come_out_only_when_complete() {
        let mut md = MarkdownLines::default();
        assert_eq!(md.push("## Find"), "");
        let out = md.push("ings\n- one `kubectl get` **now**\nrest");
        assert_eq!(strip(&out), "Findings\n• one kubectl get now\n");
        assert!(out.contains('\u{1b}'), "styled: {out:?}");
        assert_eq!(strip(&md.finish()), "rest\n");
        assert_eq!(md.finish(), "");
    }

    #[test]
    fn fenced_code_is_not_read_as_markdown() {
        let mut md = MarkdownLines::default();
        let out = md.push("```sh\n# not a heading\n- not a bullet\n```\n# heading\n");
        assert_eq!(
            strip(&out),
            "```sh\n# not a heading\n- not a bullet\n```\nheading\n"
        );
    }

    #[test]
    fn the_models_control_characters_are_escaped_and_the_styling_kept() {
        let mut md = MarkdownLines::default();
        let mut out =
            md.push("## Ti\x1b]0;pwned\x07tle\n- `rm \x1b[2J` **b\rold**\n```\n\x1b[31mred\n");
        out.push_str(&md.push("```\nlast \u{202e}"));
        out.push_str(&md.push("\x1b[8m line"));
        out.push_str(&md.finish());
        assert_eq!(
            strip(&out),
            concat!(
                "Ti\\x1b]0;pwned\\x07tle\n",
                "• rm \\x1b[2J b\\rold\n",
                "```\n",
                "\\x1b[31mred\n",
                "```\n",
                "last \\u{202e}\\x1b[8m line\n"
            )
        );
        // Only our own styling: every ESC starts one of owo-colors' SGR codes.
        for sequence in out.split('\u{1b}').skip(1) {
            let code: String = sequence.chars().take_while(|c| *c != 'm').collect();
            assert!(
                code.starts_with('[') && code[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "{code:?} in {out:?}"
            );
            assert!(!["[2J", "[31", "[8"].contains(&code.as_str()), "{code:?}");
        }
    }

    #[test]
    fn unmatched_markers_and_multibyte_text_survive() {
        let mut md = MarkdownLines::default();
        let out = md.push("cost `x and **y — 3× €\n  * nested\n");
        assert_eq!(strip(&out), "cost `x and **y — 3× €\n  • nested\n");
    }
}
