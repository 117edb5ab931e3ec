//! Label selectors, as the API server reads them: the query syntax
//! (`app=web,tier in (a,b),!canary`), selector objects (`matchLabels`/`matchExpressions`, as
//! JSON or as the typed `LabelSelector`) and plain maps (a Service's `spec.selector`), parsed
//! once into one [`LabelSelector`] and matched against labels held either way. The analyzers
//! and the fake API server (`kopilot-fake`) both use this one.
//!
//! ```
//! use kopilot_analyze::selector::LabelSelector;
//! use serde_json::json;
//!
//! let selector = LabelSelector::parse("app=web,tier in (front,edge),!canary")?;
//! let pod = json!({"metadata": {"labels": {"app": "web", "tier": "edge"}}});
//! assert!(selector.matches(&pod));
//! assert_eq!(selector.to_query(), "app=web,tier in (front,edge),!canary");
//! # Ok::<(), kopilot_analyze::selector::SelectorError>(())
//! ```

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;
use serde_json::Value;

/// A selector string that could not be parsed; the message names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

impl SelectorError {
    /// An error with this message (for selector syntaxes built on this one, such as field
    /// selectors).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

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
    /// A `matchExpressions` operator the API does not define: it selects nothing.
    Unknown {
        operator: String,
        values: Vec<String>,
    },
}

/// A parsed label selector: every requirement must hold. With no requirements it selects
/// everything (as an empty `matchLabels` does).
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

    /// Builds the selector equivalent to a `matchLabels`/`matchExpressions` object given as
    /// JSON (as in a Deployment's `spec.selector`), or a plain map (a Service's
    /// `spec.selector`). Label values that are not strings are left out.
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
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let operator = e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                requirements.push((key.to_owned(), expression(operator, values)));
            }
        }
        Self { requirements }
    }

    /// Builds the selector of a typed `LabelSelector` (a PodDisruptionBudget's, a
    /// Deployment's). An empty one selects everything.
    pub fn from_api(selector: &ApiLabelSelector) -> Self {
        let mut requirements: Vec<(String, LabelOp)> = selector
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), LabelOp::Equals(v.clone())))
            .collect();
        requirements.extend(selector.match_expressions.iter().flatten().map(|e| {
            (
                e.key.clone(),
                expression(&e.operator, e.values.clone().unwrap_or_default()),
            )
        }));
        Self { requirements }
    }

    /// A Service's `spec.selector`, or `None` when it is empty: a Service without a selector
    /// manages its endpoints by hand and selects no pods.
    pub fn from_service_selector(selector: &BTreeMap<String, String>) -> Option<Self> {
        if selector.is_empty() {
            return None;
        }
        Some(Self {
            requirements: selector
                .iter()
                .map(|(k, v)| (k.clone(), LabelOp::Equals(v.clone())))
                .collect(),
        })
    }

    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The selector in query syntax, as `status.selector` of a Scale shows it and as messages
    /// quote it (`app=web,tier=front`).
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
                LabelOp::Unknown { operator, values } => {
                    format!("{k} {operator} ({})", values.join(","))
                }
            })
            .collect();
        parts.join(",")
    }

    /// Whether an object's `metadata.labels` (JSON) satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        self.matches_labels(object.pointer("/metadata/labels"))
    }

    /// Whether a label map given as JSON (an object, or nothing) satisfies every requirement.
    pub fn matches_labels(&self, labels: Option<&Value>) -> bool {
        self.matches_with(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }

    /// Whether a typed label map (or nothing) satisfies every requirement.
    pub fn matches_map(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches_with(|k| labels.and_then(|l| l.get(k)).map(String::as_str))
    }

    fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
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
                LabelOp::Unknown { .. } => false,
            }
        })
    }
}

/// One `matchExpressions` entry.
fn expression(operator: &str, values: Vec<String>) -> LabelOp {
    match operator {
        "In" => LabelOp::In(values),
        "NotIn" => LabelOp::NotIn(values),
        "Exists" => LabelOp::Exists,
        "DoesNotExist" => LabelOp::DoesNotExist,
        other => LabelOp::Unknown {
            operator: other.to_owned(),
            values,
        },
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

#[cfg(test)]
mod tests;
