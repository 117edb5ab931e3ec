//! Label selectors (`app=web,tier in (a,b),!canary`) and field selectors
//! (`metadata.name=web,status.phase!=Failed`), parsed once and matched against objects.

use serde_json::Value;

/// A selector string that could not be parsed; the message names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<(String, LabelOp)>,
}

impl LabelSelector {
    /// Parses the `labelSelector` query syntax. An empty string selects everything.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(Self { requirements })
    }

    /// Builds the selector equivalent to a `matchLabels`/`matchExpressions` object
    /// (as in a Deployment's `spec.selector`), or a plain map (a Service's `spec.selector`).
    pub fn from_object(selector: &Value) -> Self {
        let mut requirements = Vec::new();
        let labels = selector
            .get("matchLabels")
            .or_else(|| (selector.get("matchExpressions").is_none()).then_some(selector));
        if let Some(Value::Object(map)) = labels {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    requirements.push((k.clone(), LabelOp::Equals(v.to_owned())));
                }
            }
        }
        if let Some(Value::Array(exprs)) = selector.get("matchExpressions") {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let op = match e.get("operator").and_then(Value::as_str) {
                    Some("In") => LabelOp::In(values),
                    Some("NotIn") => LabelOp::NotIn(values),
                    Some("Exists") => LabelOp::Exists,
                    _ => LabelOp::DoesNotExist,
                };
                requirements.push((key, op));
            }
        }
        Self { requirements }
    }

    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The selector in query syntax, as `status.selector` of a Scale shows it.
    pub fn to_query(&self) -> String {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|(k, op)| match op {
                LabelOp::Equals(v) => format!("{k}={v}"),
                LabelOp::NotEquals(v) => format!("{k}!={v}"),
                LabelOp::In(vs) => format!("{k} in ({})", vs.join(",")),
                LabelOp::NotIn(vs) => format!("{k} notin ({})", vs.join(",")),
                LabelOp::Exists => k.clone(),
                LabelOp::DoesNotExist => format!("!{k}"),
                LabelOp::GreaterThan(n) => format!("{k}>{n}"),
                LabelOp::LessThan(n) => format!("{k}<{n}"),
            })
            .collect();
        parts.join(",")
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.matches_labels(labels)
    }

    /// Whether a label map (a JSON object, or nothing) satisfies every requirement.
    pub fn matches_labels(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|(key, op)| {
            let value = get(key);
            match op {
                LabelOp::Equals(v) => value == Some(v.as_str()),
                LabelOp::NotEquals(v) => value != Some(v.as_str()),
                LabelOp::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                LabelOp::NotIn(vs) => value.is_none_or(|x| !vs.iter().any(|v| v == x)),
                LabelOp::Exists => value.is_some(),
                LabelOp::DoesNotExist => value.is_none(),
                LabelOp::GreaterThan(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x > *n),
                LabelOp::LessThan(n) => value
                    .and_then(|x| x.parse::<i64>().ok())
                    .is_some_and(|x| x < *n),
            }
        })
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

fn parse_requirement(part: &str) -> Result<(String, LabelOp), SelectorError> {
    let bad = |why: &str| SelectorError(format!("unable to parse requirement: {why}: \"{part}\""));
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(key).map_err(|e| bad(&e))?;
        return Ok((key.to_owned(), LabelOp::DoesNotExist));
    }
    for (word, negate) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = part.split_once(word) {
            let key = key.trim();
            check_key(key).map_err(|e| bad(&e))?;
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| bad("expected a parenthesised value list"))?;
            let values: Vec<String> = inner
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let op = if negate {
                LabelOp::NotIn(values)
            } else {
                LabelOp::In(values)
            };
            return Ok((key.to_owned(), op));
        }
    }
    for (sym, kind) in [("!=", 0u8), ("==", 1), ("=", 1), (">", 2), ("<", 3)] {
        if let Some((key, value)) = part.split_once(sym) {
            let key = key.trim();
            let value = value.trim();
            check_key(key).map_err(|e| bad(&e))?;
            let op = match kind {
                0 => LabelOp::NotEquals(value.to_owned()),
                1 => LabelOp::Equals(value.to_owned()),
                2 => LabelOp::GreaterThan(value.parse().map_err(|_| bad("expected an integer"))?),
                _ => LabelOp::LessThan(value.parse().map_err(|_| bad("expected an integer"))?),
            };
            return Ok((key.to_owned(), op));
        }
    }
    check_key(part).map_err(|e| bad(&e))?;
    Ok((part.to_owned(), LabelOp::Exists))
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("empty key".into());
    }
    let ok = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label key {key:?}"))
    }
}

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
                return Err(SelectorError(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            let path = path.trim();
            if path.is_empty() || !path.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(SelectorError(format!("field label not supported: {path}")));
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

    #[allow(clippy::needless_pass_by_value)]
    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "labels": labels}, "status": {"phase": "Running"}})
    }

    #[test]
    fn equality_forms_all_match() {
        let p = pod(json!({"app": "web", "tier": "front"}));
        for s in [
            "app=web",
            "app==web",
            "app=web,tier=front",
            "app!=db",
            " app = web ",
        ] {
            assert!(LabelSelector::parse(s).unwrap().matches(&p), "{s}");
        }
        for s in ["app=db", "app!=web", "app=web,tier=back"] {
            assert!(!LabelSelector::parse(s).unwrap().matches(&p), "{s}");
        }
    }

    #[test]
    fn set_based_and_existence() {
        let p = pod(json!({"app": "web", "tier": "front"}));
        assert!(
            LabelSelector::parse("tier in (front,back)")
                .unwrap()
                .matches(&p)
        );
        assert!(
            !LabelSelector::parse("tier notin (front, back)")
                .unwrap()
                .matches(&p)
        );
        assert!(
            LabelSelector::parse("env notin (prod)")
                .unwrap()
                .matches(&p)
        );
        assert!(!LabelSelector::parse("env in (prod)").unwrap().matches(&p));
        assert!(LabelSelector::parse("app,!canary").unwrap().matches(&p));
        assert!(!LabelSelector::parse("!app").unwrap().matches(&p));
        assert!(
            LabelSelector::parse("app in (web),tier")
                .unwrap()
                .matches(&p)
        );
    }

    #[test]
    fn not_equals_matches_objects_without_the_label() {
        let p = pod(json!({}));
        assert!(LabelSelector::parse("app!=web").unwrap().matches(&p));
        assert!(!LabelSelector::parse("app=web").unwrap().matches(&p));
    }

    #[test]
    fn bad_selectors_are_errors_naming_the_part() {
        let err = LabelSelector::parse("tier in front").unwrap_err();
        assert!(err.to_string().contains("tier in front"), "{err}");
        assert!(LabelSelector::parse("a b=c").is_err());
        assert!(LabelSelector::parse("=x").is_err());
    }

    #[test]
    fn selector_objects_match_like_query_strings() {
        let sel = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]
        }));
        assert!(sel.matches(&pod(json!({"app": "web", "tier": "front"}))));
        assert!(!sel.matches(&pod(json!({"app": "web", "tier": "back"}))));
        assert_eq!(sel.to_query(), "app=web,tier in (front)");
        let svc = LabelSelector::from_object(&json!({"app": "api"}));
        assert!(svc.matches(&pod(json!({"app": "api"}))));
    }

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
