//! A fast reader for the YAML that `kubectl get -o yaml` writes, for large snapshot files.
//!
//! `serde-saphyr` reads any YAML but takes several seconds for a dump of a large cluster.
//! This reader handles the block style that `kubectl` (and YAML serializers like it) write —
//! block mappings and sequences (including sequences at their key's own column), plain,
//! quoted and literal scalars over several lines, comments, `{}`/`[]` and `---`
//! documents — straight into the caller's types, borrowing strings from the text.
//!
//! It is a fast path, not a second YAML implementation: on anything else (anchors,
//! aliases, tags, flow collections, folded block scalars, tabs, duplicate keys, deep
//! nesting, a plain scalar whose type YAML 1.1 and 1.2 might read differently, or any
//! error) it gives up, and the caller reads the text with `serde-saphyr`. Where it does
//! answer, the answer is the one `serde-saphyr` gives (the tests compare the two).

mod de;
mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Deserialize;

/// Why the fast reader stopped: the caller falls back to the full parser, which words
/// the error if there is one.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not handled by the fast YAML reader")
    }
}

impl std::error::Error for GiveUp {}

impl serde::de::Error for GiveUp {
    fn custom<T: fmt::Display>(_: T) -> Self {
        GiveUp
    }
}

/// Every non-empty document of `text` as a `T`, or `None` when the fast reader does not
/// handle the text (or it is not valid YAML, or does not fit `T`).
pub(crate) fn from_documents<'de, T: Deserialize<'de>>(text: &'de str) -> Option<Vec<T>> {
    if !only_plain_characters(text) {
        return None;
    }
    de::documents(text).ok()
}

/// No control characters (other than tab and line feed), carriage returns, byte order
/// marks or characters some YAML versions treat as line breaks: such text is left to the
/// full parser.
fn only_plain_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t' {
            at += 1;
            continue;
        }
        if b < 0x80 {
            return false;
        }
        match text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c)
                if !matches!(
                    c,
                    '\u{80}'
                        ..='\u{9f}'
                            | '\u{2028}'
                            | '\u{2029}'
                            | '\u{feff}'
                            | '\u{fffe}'
                            | '\u{ffff}'
                ) =>
            {
                at += c.len_utf8();
            }
            _ => return false,
        }
    }
    true
}
