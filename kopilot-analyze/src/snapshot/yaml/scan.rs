//! The scanner: block structure (indentation, `- ` entries, `key:` lines, comments, document
//! markers) and scalars (plain, single- and double-quoted, literal block), read straight from
//! the text with positions only. Anything outside the handled subset is a [`GiveUp`].

use std::borrow::Cow;

use super::GiveUp;

type Result<T> = std::result::Result<T, GiveUp>;

/// A scalar as written: its type depends on its style.
#[derive(Debug)]
pub(super) enum Scalar<'de> {
    /// Unquoted: null, a boolean, a number or a string, by its text.
    Plain(Cow<'de, str>),
    /// Quoted or a block scalar: always a string.
    Text(Cow<'de, str>),
}

/// What a node turned out to be, with the scanner positioned to read it.
#[derive(Debug)]
pub(super) enum Node<'de> {
    Scalar(Scalar<'de>),
    /// A block mapping whose keys are at column `indent`; its first key is already read.
    Mapping {
        indent: usize,
        first_key: Scalar<'de>,
    },
    /// A block sequence whose `-` are at column `indent`; the scanner is at the first `-`.
    Sequence {
        indent: usize,
    },
    /// `{}`.
    EmptyMapping,
    /// `[]`.
    EmptySequence,
}

/// Where a value is: it decides what may follow on the next lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// After `key:`: a sequence may start at the key's own column (`kubectl`'s style).
    MapValue,
    /// After `- `: a mapping may start on the same line (`- name: x`).
    SeqEntry,
}

/// The next line with content, seen from the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// A line whose content starts at this column.
    Content(usize),
    /// `---` or `...` at column 0.
    Marker,
    /// The end of the text.
    End,
}

pub(super) struct Scanner<'de> {
    text: &'de str,
    pos: usize,
}

/// Characters that cannot start a plain scalar or a plain key here (or that start YAML this
/// reader leaves to the full parser: anchors, aliases, tags, directives, flow collections).
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

/// Longest implicit key YAML allows.
const MAX_KEY_LEN: usize = 1024;

impl<'de> Scanner<'de> {
    pub(super) fn new(text: &'de str) -> Self {
        Self { text, pos: 0 }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    fn peek(&self) -> Option<u8> {
        self.byte(self.pos)
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'de str> {
        self.text.get(from..to).ok_or(GiveUp)
    }

    /// A space, a line break or the end: what must follow `-`, `:` or `---` as indicators.
    fn is_blank_or_end(&self, at: usize) -> bool {
        matches!(self.byte(at), None | Some(b' ' | b'\n'))
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.byte(self.pos - 1) == Some(b'\n')
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Moves past the rest of the current line, which may hold only spaces and a comment.
    fn finish_line(&mut self) -> Result<()> {
        let spaces = self.skip_spaces();
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'#') if spaces > 0 || self.at_line_start() => {
                self.pos = self.line_end(self.pos);
                if self.pos < self.text.len() {
                    self.pos += 1;
                }
                Ok(())
            }
            Some(_) => Err(GiveUp),
        }
    }

    /// The position of the line break ending the line that `at` is on (or the end).
    fn line_end(&self, at: usize) -> usize {
        self.text
            .as_bytes()
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map_or(self.text.len(), |i| at + i)
    }

    /// Skips blank and comment lines (finishing the current line first) and says what the
    /// next line with content is; the scanner is left at that line's start.
    pub(super) fn next_line(&mut self) -> Result<Line> {
        if !self.at_line_start() {
            self.finish_line()?;
        }
        loop {
            let start = self.pos;
            let indent = self.skip_spaces();
            match self.peek() {
                None => return Ok(Line::End),
                Some(b'\n') => self.pos += 1,
                Some(b'#') => {
                    self.pos = self.line_end(self.pos);
                }
                Some(b'\t') => return Err(GiveUp),
                Some(b'-' | b'.') if indent == 0 && self.is_marker(start) => {
                    self.pos = start;
                    return Ok(Line::Marker);
                }
                Some(_) => {
                    self.pos = start;
                    return Ok(Line::Content(indent));
                }
            }
        }
    }

    /// `---` or `...` at `at` (a line start), as a whole token.
    fn is_marker(&self, at: usize) -> bool {
        let three = self.text.as_bytes().get(at..at + 3);
        matches!(three, Some(b"---" | b"...")) && self.is_blank_or_end(at + 3)
    }

    /// At a `---` or `...` line: moves past it (nothing else may be on the line).
    pub(super) fn take_marker(&mut self) -> Result<()> {
        self.pos += 3;
        self.finish_line()
    }

    /// Moves `by` bytes forward on the current line (past indentation).
    pub(super) fn advance(&mut self, by: usize) {
        self.pos += by;
    }

    /// The root of a document, at the start of its first content line (column 0).
    pub(super) fn root(&mut self) -> Result<Node<'de>> {
        if self.at_entry() {
            return Ok(Node::Sequence { indent: 0 });
        }
        match self.key()? {
            Some(first_key) => Ok(Node::Mapping {
                indent: 0,
                first_key,
            }),
            None => Err(GiveUp),
        }
    }

    /// Whether the scanner is at a `-` entry indicator.
    fn at_entry(&self) -> bool {
        self.entry_after(0)
    }

    /// Whether a `-` entry indicator is `by` bytes ahead of the scanner (at a line start:
    /// past the line's indentation).
    pub(super) fn entry_after(&self, by: usize) -> bool {
        self.byte(self.pos + by) == Some(b'-') && self.is_blank_or_end(self.pos + by + 1)
    }

    /// The value after `key:` or `-` (already consumed), whose parent node has its keys or
    /// entries at column `parent`.
    pub(super) fn value(&mut self, parent: usize, place: Place) -> Result<Node<'de>> {
        let spaces = self.skip_spaces();
        match self.peek() {
            None | Some(b'\n') => return self.value_on_next_lines(parent, place),
            Some(b'#') if spaces > 0 => return self.value_on_next_lines(parent, place),
            Some(_) if spaces == 0 => return Err(GiveUp),
            Some(_) => {}
        }
        let key_start = self.pos;
        if place == Place::SeqEntry
            && let Some(first_key) = self.key()?
        {
            // Its keys line up with the first one: the column the key started at.
            return Ok(Node::Mapping {
                indent: self.column_of(key_start),
                first_key,
            });
        }
        self.inline_value(parent)
    }

    /// The column of position `at` (for a mapping that starts after `- `).
    fn column_of(&self, at: usize) -> usize {
        let before = self.text.as_bytes().get(..at).unwrap_or_default();
        before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(at, |nl| at - nl - 1)
    }

    /// A value that starts on the same line as its key or `-`.
    fn inline_value(&mut self, parent: usize) -> Result<Node<'de>> {
        match self.peek() {
            Some(b'\'' | b'"') => self.quoted(parent).map(Scalar::Text),
            Some(b'|') => self.block_scalar(parent, Style::Literal).map(Scalar::Text),
            Some(b'>') => self.block_scalar(parent, Style::Folded).map(Scalar::Text),
            Some(b'[') => return self.empty_flow(b']', Node::EmptySequence),
            Some(b'{') => return self.empty_flow(b'}', Node::EmptyMapping),
            _ if self.at_plain_start() => self.plain(parent).map(Scalar::Plain),
            _ => Err(GiveUp),
        }
        .map(Node::Scalar)
    }

    /// `[]` or `{}` and nothing else on the line (non-empty flow collections give up).
    fn empty_flow(&mut self, close: u8, node: Node<'de>) -> Result<Node<'de>> {
        if self.byte(self.pos + 1) != Some(close) {
            return Err(GiveUp);
        }
        self.pos += 2;
        if !self.is_blank_or_end(self.pos) {
            return Err(GiveUp);
        }
        Ok(node)
    }

    /// A value that starts on a later line: a nested block, a `kubectl`-style sequence at
    /// the key's own column, a scalar on its own line, or nothing (null).
    fn value_on_next_lines(&mut self, parent: usize, place: Place) -> Result<Node<'de>> {
        let line = self.next_line()?;
        let Line::Content(indent) = line else {
            return Ok(Node::Scalar(Scalar::Plain(Cow::Borrowed(""))));
        };
        let start = self.pos;
        self.pos += indent;
        if indent > parent {
            if self.at_entry() {
                return Ok(Node::Sequence { indent });
            }
            if let Some(first_key) = self.key()? {
                return Ok(Node::Mapping { indent, first_key });
            }
            return match self.peek() {
                Some(b'\'' | b'"' | b'[' | b'{') => self.inline_value(parent),
                _ if self.at_plain_start() => {
                    self.plain(parent).map(|s| Node::Scalar(Scalar::Plain(s)))
                }
                _ => Err(GiveUp),
            };
        }
        if indent == parent && place == Place::MapValue && self.at_entry() {
            return Ok(Node::Sequence { indent });
        }
        // Nothing: the line belongs to an enclosing node.
        self.pos = start;
        Ok(Node::Scalar(Scalar::Plain(Cow::Borrowed(""))))
    }

    /// A mapping key (plain or quoted, one line) followed by `:` and a space or line end,
    /// at the scanner. `None` (scanner unmoved) if the line does not start with a key.
    pub(super) fn key(&mut self) -> Result<Option<Scalar<'de>>> {
        let start = self.pos;
        let quoted = match self.peek() {
            Some(b'\'' | b'"') => self.quoted(usize::MAX),
            Some(b) if is_indicator(b) => return Ok(None),
            None | Some(b' ' | b'\n') => return Ok(None),
            Some(_) => return self.plain_key(),
        };
        // A quoted scalar over several lines is a value, never a key.
        let Ok(key) = quoted.map(Scalar::Text) else {
            self.pos = start;
            return Ok(None);
        };
        self.skip_spaces();
        if self.peek() == Some(b':') && self.is_blank_or_end(self.pos + 1) {
            self.pos += 1;
            return Ok(Some(key));
        }
        self.pos = start;
        Ok(None)
    }

    fn plain_key(&mut self) -> Result<Option<Scalar<'de>>> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut at = start;
        loop {
            match bytes.get(at) {
                None | Some(b'\n') => return Ok(None),
                Some(b'\t') => return Err(GiveUp),
                Some(b'#') if bytes.get(at.wrapping_sub(1)) == Some(&b' ') => return Ok(None),
                Some(b':') if self.is_blank_or_end(at + 1) => break,
                Some(_) => at += 1,
            }
        }
        let key = self.slice(start, at)?.trim_end_matches(' ');
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(GiveUp);
        }
        self.pos = at + 1;
        Ok(Some(Scalar::Plain(Cow::Borrowed(key))))
    }

    /// One line of a plain scalar from the scanner: its text (trailing spaces cut) and
    /// whether a comment ends it. The scanner stops after the text.
    fn plain_line(&mut self) -> Result<(&'de str, bool)> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut at = start;
        let mut comment = false;
        loop {
            match bytes.get(at) {
                None | Some(b'\n') => break,
                Some(b'\t') => return Err(GiveUp),
                Some(b'#') if bytes.get(at.wrapping_sub(1)) == Some(&b' ') => {
                    comment = true;
                    break;
                }
                // `a: b` as a value is not valid YAML; as a continuation line it is not
                // plain text either.
                Some(b':') if self.is_blank_or_end(at + 1) => return Err(GiveUp),
                Some(_) => at += 1,
            }
        }
        let line = self.slice(start, at)?.trim_end_matches(' ');
        self.pos = start + line.len();
        Ok((line, comment))
    }

    /// Whether a plain scalar may start at the scanner: not at an indicator, except `-`
    /// followed by text (`-v`, `--port=80`, `-1`).
    fn at_plain_start(&self) -> bool {
        match self.peek() {
            None | Some(b' ' | b'\n' | b'\t') => false,
            Some(b'-') => !self.is_blank_or_end(self.pos + 1),
            Some(b) => !is_indicator(b),
        }
    }

    /// A plain scalar, folded over the following lines indented deeper than `parent`.
    fn plain(&mut self, parent: usize) -> Result<Cow<'de, str>> {
        let (first, mut comment) = self.plain_line()?;
        let mut folded: Option<String> = None;
        while !comment {
            let end_of_text = self.pos;
            let Some(breaks) = self.continuation(parent)? else {
                self.pos = end_of_text;
                break;
            };
            if !self.at_plain_start() {
                return Err(GiveUp);
            }
            let (line, ends_in_comment) = self.plain_line()?;
            comment = ends_in_comment;
            let out = folded.get_or_insert_with(|| first.to_owned());
            fold_breaks(out, breaks);
            out.push_str(line);
        }
        Ok(folded.map_or(Cow::Borrowed(first), Cow::Owned))
    }

    /// After a line's text: if the next non-empty line continues the scalar (indented
    /// deeper than `parent`, not a comment or marker), moves to its text and returns how
    /// many line breaks came before it. `None` otherwise.
    fn continuation(&mut self, parent: usize) -> Result<Option<usize>> {
        self.skip_spaces();
        match self.peek() {
            None => return Ok(None),
            Some(b'\n') => {}
            Some(b'#') => return Ok(None),
            Some(_) => return Err(GiveUp),
        }
        let mut breaks = 0;
        loop {
            // At a line break.
            self.pos += 1;
            breaks += 1;
            let start = self.pos;
            let indent = self.skip_spaces();
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => {}
                Some(b'\t') => return Err(GiveUp),
                Some(b'#') => return Ok(None),
                Some(_) if indent == 0 && self.is_marker(start) => return Ok(None),
                Some(_) if indent <= parent => return Ok(None),
                Some(_) => return Ok(Some(breaks)),
            }
        }
    }

    /// A quoted scalar (at its opening quote, `'` or `"`): `''` in single quotes, escapes in
    /// double quotes, line breaks folded. Lines after the first must be indented deeper
    /// than `parent` (`usize::MAX` for a key: one line only).
    fn quoted(&mut self, parent: usize) -> Result<Cow<'de, str>> {
        let quote = self.peek().ok_or(GiveUp)?;
        self.pos += 1;
        let bytes = self.text.as_bytes();
        let mut run = self.pos;
        let mut out: Option<String> = None;
        loop {
            match bytes.get(self.pos) {
                None => return Err(GiveUp),
                Some(b'\'') if quote == b'\'' && bytes.get(self.pos + 1) == Some(&b'\'') => {
                    let s = out.get_or_insert_with(String::new);
                    s.push_str(self.slice(run, self.pos + 1)?);
                    self.pos += 2;
                    run = self.pos;
                }
                Some(&b) if b == quote => {
                    let last = self.slice(run, self.pos)?;
                    self.pos += 1;
                    return Ok(match out {
                        None => Cow::Borrowed(last),
                        Some(mut s) => {
                            s.push_str(last);
                            Cow::Owned(s)
                        }
                    });
                }
                Some(b'\\') if quote == b'"' => {
                    let s = out.get_or_insert_with(String::new);
                    s.push_str(self.slice(run, self.pos)?);
                    self.escape(s, parent)?;
                    run = self.pos;
                }
                Some(b'\n') => {
                    // White space before a line break is not part of the text (white space
                    // written as escapes is, and was copied already).
                    let s = out.get_or_insert_with(String::new);
                    s.push_str(self.slice(run, self.pos)?.trim_end_matches([' ', '\t']));
                    self.flow_break(s, parent)?;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// At a line break inside a quoted scalar: folds it (and any empty lines) into `out`
    /// and moves to the next line's text, which must be indented deeper than `parent`.
    fn flow_break(&mut self, out: &mut String, parent: usize) -> Result<()> {
        if parent == usize::MAX {
            // A key: one line only.
            return Err(GiveUp);
        }
        let mut breaks = 0;
        loop {
            self.pos += 1;
            breaks += 1;
            let start = self.pos;
            let indent = self.skip_spaces();
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
            match self.peek() {
                None => return Err(GiveUp),
                Some(b'\n') => {}
                Some(_) if indent == 0 && self.is_marker(start) => return Err(GiveUp),
                Some(_) if indent <= parent => return Err(GiveUp),
                Some(_) => break,
            }
        }
        fold_breaks(out, breaks);
        Ok(())
    }

    /// At `\` in a double-quoted scalar: appends what the escape stands for.
    fn escape(&mut self, out: &mut String, parent: usize) -> Result<()> {
        let code = self.byte(self.pos + 1).ok_or(GiveUp)?;
        self.pos += 2;
        let c = match code {
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' | b'\t' => '\t',
            b'n' => '\n',
            b'v' => '\u{b}',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'e' => '\u{1b}',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => self.hex_escape(2)?,
            b'u' => self.hex_escape(4)?,
            b'U' => self.hex_escape(8)?,
            b'\n' => {
                // An escaped line break: nothing is added, the next line's indentation
                // is skipped. Empty lines after it are left to the full parser.
                if parent == usize::MAX {
                    return Err(GiveUp);
                }
                let indent = self.skip_spaces();
                while matches!(self.peek(), Some(b' ' | b'\t')) {
                    self.pos += 1;
                }
                return match self.peek() {
                    Some(b'\n') | None => Err(GiveUp),
                    Some(_) if indent <= parent => Err(GiveUp),
                    Some(_) => Ok(()),
                };
            }
            _ => return Err(GiveUp),
        };
        out.push(c);
        Ok(())
    }

    fn hex_escape(&mut self, digits: usize) -> Result<char> {
        let hex = self.slice(self.pos, self.pos + digits)?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GiveUp);
        }
        self.pos += digits;
        char::from_u32(code).ok_or(GiveUp)
    }

    /// A block scalar (`|` literal or `>` folded; `-`/`+` chomping; an optional
    /// indentation indicator) under a node at column `parent`. The scanner ends at the
    /// start of the first line after it.
    fn block_scalar(&mut self, parent: usize, style: Style) -> Result<Cow<'de, str>> {
        self.pos += 1;
        let mut chomp = Chomp::Clip;
        let mut explicit = None;
        for _ in 0..2 {
            match self.peek() {
                Some(b'-') if chomp == Chomp::Clip => chomp = Chomp::Strip,
                Some(b'+') if chomp == Chomp::Clip => chomp = Chomp::Keep,
                Some(d @ b'1'..=b'9') if explicit.is_none() => {
                    explicit = Some(usize::from(d - b'0'));
                }
                _ => break,
            }
            self.pos += 1;
        }
        if !self.is_blank_or_end(self.pos) {
            return Err(GiveUp);
        }
        self.finish_line()?;
        let indent = match explicit {
            Some(d) => parent.checked_add(d).ok_or(GiveUp)?,
            None => self.detect_block_indent(parent)?,
        };
        let mut out = String::new();
        // Empty lines since the last line of text, and whether that line was "spaced"
        // (began with white space: folding leaves the breaks around such lines alone).
        let mut empty_lines = 0;
        let mut last_spaced: Option<bool> = None;
        loop {
            let start = self.pos;
            let spaces = self.skip_spaces();
            match self.peek() {
                None if spaces == 0 => break,
                None | Some(b'\n') if spaces <= indent => {
                    empty_lines += 1;
                    if self.peek().is_some() {
                        self.pos += 1;
                    }
                    continue;
                }
                // White space beyond the indentation on an otherwise empty line.
                None | Some(b'\n') => return Err(GiveUp),
                Some(_) if spaces < indent => {
                    self.pos = start;
                    break;
                }
                Some(_) => {}
            }
            let text_start = start + indent;
            let end = self.line_end(text_start);
            let line = self.slice(text_start, end)?;
            let spaced = line.starts_with([' ', '\t']);
            match last_spaced {
                // Folding: a single break between two lines of text is a space.
                Some(false) if style == Style::Folded && !spaced && empty_lines == 0 => {
                    out.push(' ');
                }
                Some(false) if style == Style::Folded && !spaced => {
                    push_newlines(&mut out, empty_lines);
                }
                Some(_) => push_newlines(&mut out, empty_lines + 1),
                None => push_newlines(&mut out, empty_lines),
            }
            empty_lines = 0;
            out.push_str(line);
            last_spaced = Some(spaced);
            self.pos = end;
            if self.peek().is_none() {
                // No line break after the last line: how chomping treats that is left to
                // the full parser.
                if chomp != Chomp::Strip {
                    return Err(GiveUp);
                }
                break;
            }
            self.pos += 1;
        }
        if last_spaced.is_none() {
            // Only empty lines (or none): kept breaks are left to the full parser.
            return match chomp {
                Chomp::Keep => Err(GiveUp),
                Chomp::Clip | Chomp::Strip => Ok(Cow::Borrowed("")),
            };
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => push_newlines(&mut out, empty_lines + 1),
        }
        Ok(Cow::Owned(out))
    }

    /// The indentation of a block scalar without an indicator: that of its first non-empty
    /// line, which must be deeper than `parent` (else the scalar is empty). Leading empty
    /// lines with more spaces than that are left to the full parser.
    fn detect_block_indent(&self, parent: usize) -> Result<usize> {
        let bytes = self.text.as_bytes();
        let mut at = self.pos;
        let mut widest_empty = 0;
        loop {
            let start = at;
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let spaces = at - start;
            match bytes.get(at) {
                Some(b'\n') => {
                    widest_empty = widest_empty.max(spaces);
                    at += 1;
                }
                None => return Ok(parent + 1),
                Some(_) if spaces <= parent => return Ok(parent + 1),
                Some(_) if widest_empty > spaces => return Err(GiveUp),
                Some(_) => return Ok(spaces),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Literal,
    Folded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Clip,
    Strip,
    Keep,
}

fn push_newlines(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\n');
    }
}

/// Line folding: one line break between two lines of text is a space; `n` breaks are
/// `n - 1` newlines.
fn fold_breaks(out: &mut String, breaks: usize) {
    if breaks == 1 {
        out.push(' ');
    } else {
        push_newlines(out, breaks.saturating_sub(1));
    }
}
