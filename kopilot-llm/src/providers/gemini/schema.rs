//! Translating JSON Schema into the OpenAPI subset Gemini's `parameters` accepts.
//!
//! Gemini rejects keywords it does not know (`additionalProperties`, `$schema`, `$ref`,
//! `const`, `oneOf`, ...), type arrays (`["string", "null"]`) and empty object
//! `properties`. This keeps what it understands and rewrites the rest.

use serde_json::{Map, Value, json};

/// Keywords copied as they are.
const KEPT: &[&str] = &[
    "description",
    "title",
    "enum",
    "required",
    "nullable",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "default",
    "propertyOrdering",
];

/// `format` values Gemini accepts, per type.
fn format_allowed(kind: Option<&str>, format: &str) -> bool {
    matches!(
        (kind, format),
        (Some("string"), "enum" | "date-time")
            | (Some("number"), "float" | "double")
            | (Some("integer"), "int32" | "int64")
    )
}

/// The Gemini form of `schema`; `None` when nothing is left (a tool with no parameters
/// then sends no `parameters` at all).
pub(crate) fn translate(schema: &Value) -> Option<Value> {
    let Value::Object(source) = schema else {
        return None;
    };
    let mut out = Map::new();

    let mut kind = None;
    match source.get("type") {
        Some(Value::String(name)) => kind = Some(name.clone()),
        Some(Value::Array(names)) => {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            if names.contains(&"null") {
                out.insert("nullable".into(), json!(true));
            }
            kind = names
                .iter()
                .find(|name| **name != "null")
                .map(|name| (*name).to_owned());
        }
        _ => {}
    }
    for key in KEPT {
        if let Some(value) = source.get(*key) {
            out.insert((*key).to_owned(), value.clone());
        }
    }
    if let Some(constant) = source.get("const") {
        out.insert("enum".into(), json!([constant]));
    }
    // Gemini enums are strings.
    if let Some(Value::Array(values)) = out.get("enum").cloned() {
        let strings: Vec<Value> = values
            .into_iter()
            .map(|v| match v {
                Value::String(_) => v,
                other => Value::String(other.to_string()),
            })
            .collect();
        out.insert("enum".into(), Value::Array(strings));
        kind.get_or_insert_with(|| "string".to_owned());
    }
    if let Some(Value::String(format)) = source.get("format")
        && format_allowed(kind.as_deref(), format)
    {
        out.insert("format".into(), json!(format));
    }
    if let Some(Value::Object(properties)) = source.get("properties") {
        let translated: Map<String, Value> = properties
            .iter()
            .map(|(name, property)| {
                (
                    name.clone(),
                    translate(property).unwrap_or_else(|| as_text(property)),
                )
            })
            .collect();
        if !translated.is_empty() {
            out.insert("properties".into(), Value::Object(translated));
            kind.get_or_insert_with(|| "object".to_owned());
        }
    }
    if let Some(items) = source.get("items").and_then(translate) {
        out.insert("items".into(), items);
        kind.get_or_insert_with(|| "array".to_owned());
    }
    let alternatives = source.get("anyOf").or_else(|| source.get("oneOf"));
    if let Some(Value::Array(options)) = alternatives {
        let translated: Vec<Value> = options.iter().filter_map(translate).collect();
        if !translated.is_empty() {
            out.insert("anyOf".into(), Value::Array(translated));
        }
    }
    // `required` may only name properties that exist.
    if let Some(Value::Array(required)) = out.get("required").cloned() {
        let known = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|name| {
                name.as_str()
                    .is_some_and(|n| known.is_some_and(|k| k.contains_key(n)))
            })
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    if kind.as_deref() == Some("object") && !out.contains_key("properties") {
        // Gemini rejects an object with no properties (free-form maps included).
        return None;
    }
    if let Some(kind) = kind {
        out.insert("type".into(), json!(kind));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// What a property Gemini cannot describe becomes: text, keeping its description.
fn as_text(property: &Value) -> Value {
    let note = "a JSON object, written as text";
    let description = match property.get("description").and_then(Value::as_str) {
        Some(description) => format!("{description} ({note})"),
        None => note.to_owned(),
    };
    json!({"type": "string", "description": description})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_keywords_are_removed_and_nullable_types_rewritten() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "namespace": {"type": ["string", "null"], "description": "ns"},
                "kind": {"const": "Pod"},
                "limit": {"type": "integer", "format": "uint32", "minimum": 1},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}}
            },
            "required": ["namespace", "missing"]
        });
        let translated = translate(&schema).unwrap();
        assert_eq!(
            translated,
            json!({
                "type": "object",
                "properties": {
                    "namespace": {"type": "string", "nullable": true, "description": "ns"},
                    "kind": {"type": "string", "enum": ["Pod"]},
                    "limit": {"type": "integer", "minimum": 1},
                    "labels": {"type": "string", "description": "a JSON object, written as text"},
                    "ids": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["namespace"]
            })
        );
    }

    #[test]
    fn a_tool_without_parameters_sends_none() {
        assert_eq!(
            translate(&json!({"type": "object", "properties": {}})),
            None
        );
        assert_eq!(
            translate(&json!({"type": "object", "additionalProperties": false})),
            None
        );
    }
}
