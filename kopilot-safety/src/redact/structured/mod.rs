//! Redaction by field: JSON and YAML documents are parsed and every value is judged by where
//! it sits, not by how the text around it looks.
//!
//! What is removed, at any depth:
//! - Secret `data` and `stringData` values. An object is a Secret when its `kind` says so, when
//!   it is an item without `kind` of a `SecretList`, or when it has no `kind` and the caller
//!   says the document holds Secrets ([`Exposure::Secrets`], as for a raw API list whose items
//!   carry no `kind`). Keys stay visible.
//! - Values of keys whose names look secret (`password`, `token`, `client-key-data`, ...), and
//!   the `value` of any `{name, value}` pair whose `name` looks secret (container `env`).
//! - Inside every other string: what text redaction finds ([`redact`](super::redact)): PEM
//!   private keys, bearer tokens, JWTs, AWS access key ids, passwords in URLs and
//!   `KEY=value` pairs with secret-looking keys.
//! - JSON held in a string (the `kubectl.kubernetes.io/last-applied-configuration`
//!   annotation) is parsed and redacted by the same rules; a last-applied annotation that does
//!   not parse is replaced whole.
//!
//! Every removed string is remembered in [`RemovedValues`], so that a text printed from the
//! same objects in another shape can be scrubbed of them.

mod document;
mod removed;

use serde_json::{Map, Value};

use super::line::secret_name;
use super::{CREDENTIAL, SECRET_DATA};
use crate::assess::Exposure;

pub use document::{DocumentFormat, RedactedDocument, Unreadable, redact_document, redact_output};
pub use removed::{MIN_SCRUB_LEN, RemovedValues};

/// Marker for a last-applied annotation that could not be read as JSON.
pub const UNREADABLE_ANNOTATION: &str = "[REDACTED: unreadable last-applied-configuration]";
/// Marker for a subtree nested deeper than redaction descends.
pub const TOO_DEEP: &str = "[REDACTED: nested too deep]";

/// The annotation `kubectl apply` keeps a full copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Nesting (objects, arrays and JSON held in strings) below which values are replaced whole.
const MAX_DEPTH: usize = 200;
/// JSON held in strings inside JSON held in strings: how many levels are parsed.
const MAX_EMBEDDED: usize = 4;

/// Redacts a parsed document in place by field; `exposure` says what the command that printed
/// it can show (see the module documentation). Returns every string it removed.
///
/// ```
/// use kopilot_safety::Exposure;
/// use kopilot_safety::redact::redact_value;
///
/// // A raw list response: its items carry no `kind`.
/// let mut list = serde_json::json!({
///     "kind": "SecretList",
///     "items": [{"metadata": {"name": "db"}, "data": {"password": "aHVudGVyMg=="}}]
/// });
/// let removed = redact_value(&mut list, Exposure::Secrets);
/// assert_eq!(list["items"][0]["data"]["password"], "[REDACTED: secret data]");
/// assert_eq!(list["items"][0]["metadata"]["name"], "db");
/// assert_eq!(removed.scrub("pw: hunter2"), "pw: [REDACTED: credential]");
/// ```
pub fn redact_value(value: &mut Value, exposure: Exposure) -> RemovedValues {
    let mut walker = Walker {
        exposure,
        removed: RemovedValues::default(),
        embedded: 0,
    };
    walker.value(value, None, 0);
    walker.removed
}

struct Walker {
    exposure: Exposure,
    removed: RemovedValues,
    /// How many levels of JSON-in-a-string the walk is in.
    embedded: usize,
}

impl Walker {
    /// `kind`: the kind an object without one has (items of a typed list).
    fn value(&mut self, value: &mut Value, kind: Option<&str>, depth: usize) {
        if depth > MAX_DEPTH {
            self.replace(value, TOO_DEEP);
            return;
        }
        match value {
            Value::Object(map) => self.object(map, kind, depth),
            Value::Array(items) => {
                for item in items {
                    self.value(item, None, depth + 1);
                }
            }
            Value::String(text) => self.string(text, depth),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>, inherited: Option<&str>, depth: usize) {
        let own_kind = map.get("kind").and_then(Value::as_str).map(str::to_owned);
        let kind = own_kind.as_deref().or(inherited);
        let secret = match kind {
            Some(kind) => kind == "Secret",
            None => self.exposure == Exposure::Secrets,
        };
        // Items of `FooList` without a `kind` of their own are `Foo`s (a raw list response).
        let item_kind = own_kind
            .as_deref()
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        let env_secret = map
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(secret_name);
        for (key, child) in map.iter_mut() {
            if secret && (key == "data" || key == "stringData") {
                self.secret_data(child, key == "data");
            } else if key == LAST_APPLIED {
                self.last_applied(child, depth);
            } else if (secret_name(key) || (env_secret && key == "value")) && is_scalar(child) {
                self.credential(child);
            } else if key == "items"
                && let Some(item_kind) = &item_kind
                && let Value::Array(items) = child
            {
                for item in items {
                    self.value(item, Some(item_kind), depth + 1);
                }
            } else {
                self.value(child, None, depth + 1);
            }
        }
    }

    /// Every value of a Secret's `data` (base64: its decoded form is remembered too) or
    /// `stringData`.
    fn secret_data(&mut self, data: &mut Value, base64: bool) {
        match data {
            Value::Object(entries) => {
                for value in entries.values_mut() {
                    if let Value::String(text) = value
                        && base64
                    {
                        self.removed.insert_base64(text);
                    }
                    self.replace(value, SECRET_DATA);
                }
            }
            Value::Null => {}
            other => self.replace(other, SECRET_DATA),
        }
    }

    fn last_applied(&mut self, value: &mut Value, depth: usize) {
        if let Value::String(text) = value
            && !self.embedded_json(text, depth)
        {
            self.replace(value, UNREADABLE_ANNOTATION);
        } else if !matches!(value, Value::String(_)) {
            self.value(value, None, depth + 1);
        }
    }

    /// A value under a secret-looking key or env name: replaced unless it is a boolean, null,
    /// empty, a reference or a marker.
    fn credential(&mut self, value: &mut Value) {
        let keep = match &*value {
            Value::String(text) => exempt(text),
            Value::Number(_) => false,
            _ => true,
        };
        if !keep {
            self.replace(value, CREDENTIAL);
        }
    }

    fn string(&mut self, text: &mut String, depth: usize) {
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('[')) && self.embedded_json(text, depth)
        {
            return;
        }
        if let std::borrow::Cow::Owned(redacted) = super::redact(text) {
            self.removed.insert(text);
            *text = redacted;
        }
    }

    /// Parses JSON held in a string and redacts it by field; whether it was JSON. The string is
    /// rewritten (compact, as kubectl writes the annotation) only when something was removed.
    fn embedded_json(&mut self, text: &mut String, depth: usize) -> bool {
        if self.embedded >= MAX_EMBEDDED {
            return false;
        }
        let Ok(mut inner) = serde_json::from_str::<Value>(text) else {
            return false;
        };
        let changes = self.removed.changes();
        self.embedded += 1;
        self.value(&mut inner, None, depth + 1);
        self.embedded -= 1;
        if self.removed.changes() == changes {
            return true;
        }
        let Ok(mut rewritten) = serde_json::to_string(&inner) else {
            return false;
        };
        if text.ends_with('\n') {
            rewritten.push('\n');
        }
        self.removed.insert(text);
        *text = rewritten;
        true
    }

    /// Replaces a value with a marker, remembering the string it held.
    fn replace(&mut self, value: &mut Value, marker: &str) {
        match value {
            Value::String(text) => self.removed.insert(text),
            Value::Number(n) => self.removed.insert(&n.to_string()),
            _ => self.removed.note_change(),
        }
        *value = Value::String(marker.to_owned());
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_))
}

/// Values that say nothing secret even under a secret-looking key (as text redaction keeps them).
fn exempt(text: &str) -> bool {
    text.is_empty()
        || matches!(text, "true" | "false" | "null" | "~")
        || text.starts_with("[REDACTED")
        || text.starts_with("<set to the key")
        || text.bytes().all(|b| b == b'*')
}

#[cfg(test)]
mod tests;
