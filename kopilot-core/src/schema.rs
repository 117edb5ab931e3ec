//! A small JSON Schema validator for tool arguments.
//!
//! It understands the keywords tool schemas use: `type` (one or a list), `properties`,
//! `required`, `additionalProperties: false`, `enum`, `const`, `items`, `minItems`, `maxItems`,
//! `minLength`, `maxLength`, `minimum`, `maximum`, `anyOf` and `oneOf` (as "at least one").
//! Other keywords are ignored, so a schema that uses them is validated less strictly, never
//! more.

use serde_json::Value;

/// Checks `value` against `schema`; returns every problem found, each with its JSON path.
pub fn validate(schema: &Value, value: &Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    check(schema, value, "$", &mut problems, 0);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

const MAX_DEPTH: usize = 32;

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
    let Some(schema) = schema.as_object() else {
        return;
    };
    if depth > MAX_DEPTH {
        out.push(format!("{path}: nested too deeply"));
        return;
    }
    if let Some(t) = schema.get("type")
        && !type_matches(t, value)
    {
        out.push(format!(
            "{path}: expected {}, got {}",
            type_names(t),
            kind(value)
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!(
            "{path}: must be one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        out.push(format!("{path}: must be {c}"));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.iter().any(|o| validate(o, value).is_ok())
        {
            out.push(format!("{path}: matches none of the allowed shapes"));
        }
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = name.as_str()
                    && !map.contains_key(name)
                {
                    out.push(format!("{path}: missing required property `{name}`"));
                }
            }
            for (name, v) in map {
                match properties.and_then(|p| p.get(name)) {
                    Some(sub) => check(sub, v, &format!("{path}.{name}"), out, depth + 1),
                    None => {
                        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                            out.push(format!("{path}: unknown property `{name}`"));
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                out.push(format!("{path}: needs at least {min} items"));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                out.push(format!("{path}: allows at most {max} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), out, depth + 1);
                }
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                out.push(format!("{path}: must be at least {min} characters"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                out.push(format!("{path}: must be at most {max} characters"));
            }
        }
        Value::Number(n) => {
            if let (Some(min), Some(x)) =
                (schema.get("minimum").and_then(Value::as_f64), n.as_f64())
                && x < min
            {
                out.push(format!("{path}: must be at least {min}"));
            }
            if let (Some(max), Some(x)) =
                (schema.get("maximum").and_then(Value::as_f64), n.as_f64())
                && x > max
            {
                out.push(format!("{path}: must be at most {max}"));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn type_matches(t: &Value, value: &Value) -> bool {
    match t {
        Value::String(name) => one_type(name, value),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .any(|n| one_type(n, value)),
        _ => true,
    }
}

fn one_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

fn type_names(t: &Value) -> String {
    match t {
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        other => other.as_str().unwrap_or("?").to_owned(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::validate;

    #[test]
    fn validates_the_usual_keywords() {
        let schema = json!({
            "type": "object",
            "properties": {
                "args": {"type": ["string", "array"], "items": {"type": "string"}},
                "tail": {"type": "integer", "minimum": 1, "maximum": 1000},
                "mode": {"enum": ["a", "b"]},
            },
            "required": ["args"],
            "additionalProperties": false,
        });
        assert!(validate(&schema, &json!({"args": "get pods"})).is_ok());
        assert!(
            validate(
                &schema,
                &json!({"args": ["get", "pods"], "tail": 5, "mode": "a"})
            )
            .is_ok()
        );
        let errors = validate(&schema, &json!({"tail": 0, "mode": "c", "x": 1})).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.contains("missing required property `args`")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("$.tail: must be at least 1")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("$.mode: must be one of")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("unknown property `x`")),
            "{errors:?}"
        );
        let errors = validate(&schema, &json!({"args": [1]})).unwrap_err();
        assert_eq!(errors, ["$.args[0]: expected string, got a number"]);
        assert!(validate(&schema, &json!("text")).is_err());
    }
}
