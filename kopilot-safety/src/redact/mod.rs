//! Redaction of secrets in tool output before the model (or any log) sees it, in two lines.
//!
//! **By field** ([`redact_document`], [`redact_value`], [`redact_output`]): JSON and YAML are
//! parsed and judged by structure: Secret `data`/`stringData` values (by `kind`, by the kind of
//! the list holding them, or by what the caller knows the command reads), the
//! `last-applied-configuration` annotation's copy of them, values of secret-looking keys and of
//! env entries whose `name` looks secret, and every shape below inside any string. What was
//! removed is kept ([`RemovedValues`]) to scrub the same values from a custom-format print
//! (jsonpath, custom-columns) of the same objects. Output that should hold Secrets and does not
//! parse is withheld, never guessed at.
//!
//! **By text shape** ([`redact`]), for everything (and again after the first line): Secret
//! `data`/`stringData` in YAML and JSON text (also inside the `last-applied-configuration`
//! annotation), values of keys whose names look secret (`password`, `token`, `client-key-data`,
//! `*SECRET*`, `*API_KEY*`, … in YAML, JSON, `describe` and `NAME=value` form), container env
//! values whose `name` looks secret, bearer tokens, JWTs, PEM private keys (also `\n`-escaped
//! inside JSON, as in GCP service-account keys), AWS access key ids, and passwords in URLs. Each
//! is replaced by a marker saying what was removed. Text redaction only sees shapes: a value
//! printed bare (`-o jsonpath='{.data.password}'`) or under an innocent name is not recognised.
//!
//! ```
//! let out = kopilot_safety::redact::redact("DB_PASSWORD=hunter2 ./start");
//! assert_eq!(out, "DB_PASSWORD=[REDACTED: credential] ./start");
//! ```

mod argv;
mod line;
mod patterns;
mod structured;

pub use argv::{redact_argv, redact_command_line};

use std::borrow::Cow;

pub use structured::{
    DocumentFormat, MIN_SCRUB_LEN, RedactedDocument, RemovedValues, TOO_DEEP,
    UNREADABLE_ANNOTATION, Unreadable, redact_document, redact_output, redact_value,
};

/// Marker for Secret `data` / `stringData` values.
pub const SECRET_DATA: &str = "[REDACTED: secret data]";
/// Marker for values of secret-looking keys and env variables.
pub const CREDENTIAL: &str = "[REDACTED: credential]";
/// Marker for PEM private keys.
pub const PRIVATE_KEY: &str = "[REDACTED: private key]";
/// Marker for bearer tokens and JWTs.
pub const TOKEN: &str = "[REDACTED: token]";
/// Marker for AWS access key ids.
pub const AWS_KEY: &str = "[REDACTED: AWS access key]";
/// Marker for passwords in URLs.
pub const URL_PASSWORD: &str = "[REDACTED: password]";

/// Returns `text` with secrets replaced by markers; borrows when there was nothing to remove.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !may_hold_secret(text) {
        return Cow::Borrowed(text);
    }
    let secret_kind = mentions_secret_kind(text);
    let mut state = line::State::new(secret_kind);
    let mut in_pem = false;
    let mut out = String::new();
    let mut changed = false;
    for piece in text.split_inclusive('\n') {
        let (body, newline) = piece
            .strip_suffix('\n')
            .map_or((piece, ""), |body| (body, "\n"));
        let redacted = patterns::redact_patterns(&state.redact_line(body), &mut in_pem);
        if !changed && redacted != body {
            changed = true;
            out.reserve(text.len());
            out.push_str(text.get(..offset_of(text, piece)).unwrap_or_default());
        }
        if changed {
            out.push_str(&redacted);
            out.push_str(newline);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether a key, flag or variable name looks like it holds a secret (`password`, `token`,
/// `DB_PASSWORD`, `api-key`, `client-key-data`; not `token_file` or `secretName`).
pub fn is_secret_name(name: &str) -> bool {
    line::secret_name(name)
}

/// Whether any rule could match: every key/value rule needs a `:` or `=`, and every shape its
/// marker. Most short strings (names, quantities, the leaves of a parsed document) have none.
fn may_hold_secret(text: &str) -> bool {
    text.contains([':', '='])
        || ["-----BEGIN ", "earer ", "eyJ", "AKIA", "ASIA"]
            .iter()
            .any(|marker| text.contains(marker))
}

fn offset_of(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

fn mentions_secret_kind(text: &str) -> bool {
    text.contains("kind: Secret")
        || text.contains("\"kind\": \"Secret\"")
        || text.contains("\"kind\":\"Secret\"")
}

#[cfg(test)]
mod tests;
