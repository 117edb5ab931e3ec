//! Field selectors (`metadata.name=web,status.phase!=Failed`), parsed once and matched against
//! objects. Label selectors are `kopilot-analyze`'s, the one implementation the analyzers use
//! too; they are re-exported here beside field selectors.

use serde_json::Value;

pub use kopilot_analyze::selector::{LabelSelector, SelectorError};

/// A parsed field selector: `path=value` and `path!=value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses the `fieldSelector` query syntax. An empty string selects everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (path, equal, value) = if let Some((p, v)) = part.split_once("!=") {
                (p, false, v)
            } else if let Some((p, v)) = part.split_once("==") {
                (p, true, v)
            } else if let Some((p, v)) = part.split_once('=') {
                (p, true, v)
            } else {
                return Err(SelectorError::new(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            let path = path.trim();
            if path.is_empty() || !path.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(SelectorError::new(format!(
                    "field label not supported: {path}"
                )));
            }
            terms.push((path.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { terms })
    }

    /// The value required for `path` by an equality term, if there is one.
    pub fn required(&self, path: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|(p, eq, _)| *eq && p == path)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether every term holds; a missing field reads as the empty string.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(path, equal, value)| {
            let actual = field_value(object, path);
            (actual == *value) == *equal
        })
    }
}

/// The string value at a dotted path (`status.phase`), `""` when absent.
pub fn field_value(object: &Value, path: &str) -> String {
    let mut cur = object;
    for seg in path.split('.') {
        match cur.get(seg) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_selectors_compare_dotted_paths() {
        let p = json!({"metadata": {"name": "p", "namespace": "shop"}, "spec": {"nodeName": "n1"},
                       "status": {"phase": "Running"}});
        let f =
            FieldSelector::parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed")
                .unwrap();
        assert!(f.matches(&p));
        assert!(
            !FieldSelector::parse("metadata.name==q")
                .unwrap()
                .matches(&p)
        );
        assert!(FieldSelector::parse("spec.missing=").unwrap().matches(&p));
        assert_eq!(
            FieldSelector::parse("metadata.name=p")
                .unwrap()
                .required("metadata.name"),
            Some("p")
        );
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
