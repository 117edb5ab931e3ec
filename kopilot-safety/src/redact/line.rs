//! Key/value redaction, one line at a time, with the little state that YAML blocks, multi-line
//! JSON objects and env `name`/`value` pairs need.

use super::{CREDENTIAL, SECRET_DATA};

/// What the previous lines opened.
#[derive(Debug, Clone, Copy)]
enum Block {
    None,
    /// A YAML `data:` block of a Secret: deeper lines are its entries.
    YamlData {
        indent: usize,
    },
    /// A YAML block scalar (`key: |`) of a secret-looking key: deeper lines are its value.
    YamlScalar {
        indent: usize,
    },
    /// A JSON `"data": {` object of a Secret, this deep in braces.
    JsonData {
        depth: u32,
    },
}

/// Redaction state carried from line to line.
#[derive(Debug)]
pub(super) struct State {
    secret_kind: bool,
    block: Block,
    /// Lines left in which a `value` key belongs to a secret-looking env `name`.
    pending_env_value: u8,
}

impl State {
    pub(super) fn new(secret_kind: bool) -> Self {
        Self {
            secret_kind,
            block: Block::None,
            pending_env_value: 0,
        }
    }

    pub(super) fn redact_line(&mut self, line: &str) -> String {
        self.pending_env_value = self.pending_env_value.saturating_sub(1);
        let indent = line.len() - line.trim_start().len();
        let blank = line.trim().is_empty();
        match self.block {
            Block::YamlData { indent: block } if blank || indent > block => {
                return redact_yaml_entry(line, SECRET_DATA);
            }
            Block::YamlScalar { indent: block } if blank || indent > block => {
                return String::new();
            }
            Block::JsonData { depth } => {
                let mut out = String::with_capacity(line.len());
                let rest = self.json_data(line, depth, &mut out);
                out.push_str(&self.scan(rest));
                return out;
            }
            _ => self.block = Block::None,
        }
        self.scan(line)
    }

    /// Redacts string values of a JSON Secret `data` object until it closes; returns the rest of
    /// the line after the closing brace.
    fn json_data<'a>(&mut self, line: &'a str, mut depth: u32, out: &mut String) -> &'a str {
        // Inside a JSON string (an annotation), quotes are escaped: `\"`.
        let mut in_string = false;
        let mut escaped_quotes = false;
        let mut is_value = false;
        let mut after_colon = false;
        let mut escaped = false;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if in_string {
                let closes = if escaped_quotes {
                    c == '\\' && chars.peek().is_some_and(|&(_, next)| next == '"')
                } else if escaped {
                    escaped = false;
                    false
                } else if c == '\\' {
                    escaped = true;
                    false
                } else {
                    c == '"'
                };
                if closes {
                    in_string = false;
                    if is_value {
                        out.push_str(SECRET_DATA);
                    }
                    out.push(c);
                    if escaped_quotes && let Some((_, quote)) = chars.next() {
                        out.push(quote);
                    }
                } else if !is_value {
                    out.push(c);
                }
                continue;
            }
            out.push(c);
            match c {
                '"' | '\\' => {
                    if c == '\\' {
                        if chars.peek().is_none_or(|&(_, next)| next != '"') {
                            continue;
                        }
                        if let Some((_, quote)) = chars.next() {
                            out.push(quote);
                        }
                    }
                    in_string = true;
                    escaped_quotes = c == '\\';
                    is_value = after_colon;
                    after_colon = false;
                }
                ':' => after_colon = true,
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.block = Block::None;
                        return line.get(i + 1..).unwrap_or_default();
                    }
                }
                c if c.is_whitespace() => {}
                _ => after_colon = false,
            }
        }
        if in_string && is_value {
            out.push_str(SECRET_DATA);
        }
        self.block = Block::JsonData { depth };
        ""
    }

    /// Finds `key: value`, `"key": "value"` and `KEY=value` pairs and redacts the values of
    /// secret-looking keys.
    fn scan(&mut self, line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        let mut copied = 0;
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let sep = bytes.get(i).copied().unwrap_or_default();
            if sep != b':' && sep != b'=' {
                i += 1;
                continue;
            }
            let Some(key) = key_before(line, i, sep) else {
                i += 1;
                continue;
            };
            let (start, end, raw) = value_after(line, i + 1, sep);
            let action = self.classify(key, raw, sep, line);
            match action {
                Action::Keep => {
                    i += 1;
                    continue;
                }
                Action::Replace(marker) => {
                    out.push_str(line.get(copied..start).unwrap_or_default());
                    out.push_str(marker);
                    copied = end;
                }
                Action::JsonObject => {
                    out.push_str(line.get(copied..start).unwrap_or_default());
                    let rest = line.get(start..).unwrap_or_default();
                    let remainder = self.json_data(rest, 0, &mut out);
                    out.push_str(&self.scan(remainder));
                    return out;
                }
            }
            i = end.max(i + 1);
        }
        out.push_str(line.get(copied..).unwrap_or_default());
        out
    }

    fn classify(&mut self, key: &str, value: &str, sep: u8, line: &str) -> Action {
        let indent = line.len() - line.trim_start().len();
        if self.secret_kind && (key == "data" || key == "stringData") && sep == b':' {
            if value.is_empty() {
                self.block = Block::YamlData { indent };
                return Action::Keep;
            }
            if value.starts_with('{') {
                return Action::JsonObject;
            }
        }
        if key == "name" {
            self.pending_env_value = if secret_name(value) { 2 } else { 0 };
            return Action::Keep;
        }
        if key == "value" && self.pending_env_value > 0 {
            self.pending_env_value = 0;
            return redact_value(value);
        }
        if secret_name(key) {
            if matches!(value, "|" | "|-" | "|+" | ">" | ">-" | ">+") {
                self.block = Block::YamlScalar { indent };
                return Action::Keep;
            }
            return redact_value(value);
        }
        Action::Keep
    }
}

enum Action {
    Keep,
    Replace(&'static str),
    JsonObject,
}

fn redact_value(value: &str) -> Action {
    let exempt = value.is_empty()
        || matches!(
            value,
            "true" | "false" | "null" | "~" | "{" | "[" | "{}" | "[]"
        )
        || value.starts_with("[REDACTED")
        || value.starts_with("<set to the key")
        || value.starts_with("<none>")
        || value.starts_with("secretKeyRef")
        || value.bytes().all(|b| b == b'*')
        || is_byte_count(value);
    if exempt {
        Action::Keep
    } else {
        Action::Replace(CREDENTIAL)
    }
}

/// `describe secret` shows each value's size (`password:  23 bytes`), not the value.
fn is_byte_count(value: &str) -> bool {
    value
        .strip_suffix(" bytes")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a key or env name looks like it holds a secret.
pub(crate) fn secret_name(name: &str) -> bool {
    const MAX: usize = 80;
    let name = name.trim_matches(|c| c == '"' || c == '\'');
    if name.len() > MAX {
        return false;
    }
    // Lower-cased on the stack: this runs for every key of every parsed document.
    let mut buffer = [0u8; MAX];
    let Some(lower) = buffer.get_mut(..name.len()) else {
        return false;
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    let lower: &[u8] = lower;
    let exempt_suffix: [&[u8]; 9] = [
        b"name", b"ref", b"refs", b"names", b"seconds", b"path", b"file", b"kind", b"type",
    ];
    if exempt_suffix.iter().any(|suffix| lower.ends_with(suffix)) {
        return false;
    }
    let needles: [&[u8]; 14] = [
        b"password",
        b"passwd",
        b"secret",
        b"token",
        b"api_key",
        b"apikey",
        b"api-key",
        b"private_key",
        b"private-key",
        b"privatekey",
        b"client-key-data",
        b"credential",
        b"access_key",
        b"access-key",
    ];
    needles
        .iter()
        .any(|needle| lower.windows(needle.len()).any(|w| w == *needle))
}

/// The key just before a separator at `sep_at`, if there is one.
fn key_before(line: &str, sep_at: usize, sep: u8) -> Option<&str> {
    let head = line.get(..sep_at)?;
    let (head, quoted) = match head.strip_suffix('"') {
        Some(inner) if sep == b':' => (inner.strip_suffix('\\').unwrap_or(inner), true),
        _ => (head, false),
    };
    let start = head
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map_or(0, |i| i + 1);
    let key = head.get(start..)?;
    if key.is_empty() {
        return None;
    }
    if quoted && !head.get(..start)?.ends_with('"') {
        return None;
    }
    // `https://…` is not a key; `a=b` needs no space before `=`; YAML needs `: ` or `:` at end.
    let next = line.as_bytes().get(sep_at + 1).copied();
    if sep == b':' && !matches!(next, None | Some(b' ' | b'\t' | b'"' | b'{' | b'\'')) {
        return None;
    }
    Some(key)
}

/// The value after a separator: byte range to replace (inside quotes when quoted) and its text.
fn value_after(line: &str, from: usize, sep: u8) -> (usize, usize, &str) {
    let rest = line.get(from..).unwrap_or_default();
    let skipped = rest.len() - rest.trim_start().len();
    let start = from + skipped;
    let tail = line.get(start..).unwrap_or_default();
    if let Some(quote) = tail.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let inner = tail.get(1..).unwrap_or_default();
        let mut end = inner.len();
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                end = i;
                break;
            }
        }
        let value = inner.get(..end).unwrap_or_default();
        return (start + 1, start + 1 + end, value);
    }
    let stop = if sep == b'=' {
        tail.find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"' | '\'' | '}'))
    } else if line.contains('{') {
        tail.find([',', '}'])
    } else {
        None
    };
    let end = stop.unwrap_or(tail.len());
    let value = tail.get(..end).unwrap_or_default().trim_end();
    (start, start + value.len(), value)
}

/// Redacts the value of one entry of a YAML Secret `data` block.
fn redact_yaml_entry(line: &str, marker: &str) -> String {
    if line.trim().is_empty() {
        return line.to_owned();
    }
    match line.find(": ") {
        // Already redacted (by field, before this second line): kept as it is, quotes and all.
        Some(colon)
            if line
                .get(colon + 2..)
                .is_some_and(|v| v.trim().trim_matches(['"', '\'']).starts_with("[REDACTED")) =>
        {
            line.to_owned()
        }
        Some(colon) => format!("{}: {marker}", line.get(..colon).unwrap_or_default()),
        None if line.trim_end().ends_with(':') => line.to_owned(),
        None => String::new(),
    }
}
