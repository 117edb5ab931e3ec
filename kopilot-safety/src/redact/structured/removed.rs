//! The strings redaction removed from a document, kept to scrub them from the same data
//! printed in a shape that cannot be parsed (a jsonpath or custom-columns output).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use crate::redact::CREDENTIAL;

/// Removed values shorter than this are not remembered: scrubbing `1` or `abc` from a text
/// would tear up everything else in it, so such values cannot be scrubbed reliably.
pub const MIN_SCRUB_LEN: usize = 4;

/// The strings a redaction removed (each at least [`MIN_SCRUB_LEN`] bytes; the base64 `data`
/// of Secrets also decoded). Its `Debug` shows how many, never what.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct RemovedValues {
    values: BTreeSet<String>,
    /// Every removal, remembered or not (a short value, a whole subtree).
    changes: usize,
}

impl fmt::Debug for RemovedValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemovedValues")
            .field("values", &self.values.len())
            .field("changes", &self.changes)
            .finish()
    }
}

impl RemovedValues {
    /// How many distinct strings are remembered.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// How many values redaction replaced, remembered or not.
    pub fn changes(&self) -> usize {
        self.changes
    }

    /// Adds the values of `other`.
    pub fn extend(&mut self, other: Self) {
        self.changes += other.changes;
        self.values.extend(other.values);
    }

    pub(super) fn insert(&mut self, value: &str) {
        self.changes += 1;
        let trimmed = value.trim();
        if trimmed.len() >= MIN_SCRUB_LEN {
            self.values.insert(trimmed.to_owned());
        }
    }

    /// A Secret's base64 `data` value: the text, and its decoded form when it decodes.
    pub(super) fn insert_base64(&mut self, value: &str) {
        if let Some(bytes) = decode_base64(value) {
            let decoded = String::from_utf8_lossy(&bytes);
            let trimmed = decoded.trim();
            if trimmed.len() >= MIN_SCRUB_LEN {
                self.values.insert(trimmed.to_owned());
            }
        }
    }

    pub(super) fn note_change(&mut self) {
        self.changes += 1;
    }

    /// Replaces every remembered value in `text` (as printed raw, or inside a JSON string as
    /// Go's or serde's encoders escape it) by [`CREDENTIAL`]; longer values first, so a value
    /// that contains another is replaced whole.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut forms: Vec<String> = Vec::with_capacity(self.values.len());
        for value in &self.values {
            forms.push(value.clone());
            let json = serde_json::to_string(value).unwrap_or_default();
            let inner = json
                .get(1..json.len().saturating_sub(1))
                .unwrap_or_default()
                .to_owned();
            let go = go_escape(&inner);
            for form in [inner, go] {
                if form != *value {
                    forms.push(form);
                }
            }
        }
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        let mut out = Cow::Borrowed(text);
        for form in &forms {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), CREDENTIAL));
            }
        }
        out
    }
}

/// serde's JSON string escaping turned into Go's (`encoding/json` also escapes `<`, `>`, `&`,
/// U+2028 and U+2029).
fn go_escape(serde_escaped: &str) -> String {
    let mut out = String::with_capacity(serde_escaped.len());
    for c in serde_escaped.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (padding optional, line breaks ignored); `None` when it is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let mut padding = false;
    for byte in text.bytes() {
        let digit = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b'\n' | b'\r' => continue,
            _ => return None,
        };
        if padding {
            return None;
        }
        buffer = (buffer << 6) | u32::from(digit);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(
            decode_base64("a29waWxvdC1jYW5hcnktMzFiOGYwYzI=").as_deref(),
            Some(b"kopilot-canary-31b8f0c2".as_slice())
        );
        assert_eq!(decode_base64("aGk").as_deref(), Some(b"hi".as_slice()));
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(decode_base64("aG=k"), None);
    }

    #[test]
    fn scrubs_raw_and_escaped_forms_longest_first() {
        let mut removed = RemovedValues::default();
        removed.insert("p<w>\"d&1");
        removed.insert("abc");
        removed.insert("hunter2");
        removed.insert("hunter2-long");
        assert_eq!(removed.len(), 3, "values under 4 bytes are not kept");
        assert_eq!(
            removed.scrub("a hunter2-long b hunter2 abc"),
            "a [REDACTED: credential] b [REDACTED: credential] abc"
        );
        for printed in [
            "p<w>\"d&1",
            "\"p<w>\\\"d&1\"",
            "\"p\\u003cw\\u003e\\\"d\\u00261\"",
        ] {
            assert!(
                !removed.scrub(printed).contains("d&1")
                    && !removed.scrub(printed).contains("d\\u00261"),
                "{printed}: {}",
                removed.scrub(printed)
            );
        }
        assert!(matches!(removed.scrub("nothing here"), Cow::Borrowed(_)));
        assert_eq!(
            format!("{removed:?}"),
            "RemovedValues { values: 3, changes: 4 }"
        );
    }
}
