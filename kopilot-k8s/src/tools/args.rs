//! Reading the model's arguments: word lists, names and durations, each checked so that no
//! argument can smuggle in a flag or shell syntax.

use serde_json::Value;

use kopilot_core::ToolError;

/// Characters that mean shell syntax in a one-string argument list.
const SHELL_SYNTAX: &[char] = &['|', ';', '&', '$', '`', '<', '>', '\n', '\r'];

/// The `args` argument: a list of strings, or one string split like a shell would (refused if
/// it holds shell syntax). A leading program name (`kubectl`) is dropped.
pub(crate) fn words(args: &Value, program: &str) -> Result<Vec<String>, ToolError> {
    let value = args
        .get("args")
        .ok_or_else(|| ToolError::new("missing required argument \"args\""))?;
    let mut words = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ToolError::new(format!("args[{i}] must be a string")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Value::String(line) => {
            if let Some(bad) = line.chars().find(|c| SHELL_SYNTAX.contains(c)) {
                return Err(ToolError::new(format!(
                    "args contains shell syntax ({bad:?}); pipes, redirections, variables and command lists are not \
                     available: pass the arguments as a list of strings, one command per call"
                )));
            }
            shlex::split(line).ok_or_else(|| ToolError::new("args has an unterminated quote"))?
        }
        _ => return Err(ToolError::new("args must be a list of strings or a string")),
    };
    if words.first().is_some_and(|first| first == program) {
        words.remove(0);
    }
    if words.is_empty() {
        return Err(ToolError::new(format!(
            "args is empty: give the {program} subcommand and its arguments"
        )));
    }
    Ok(words)
}

/// An optional string argument.
pub(crate) fn optional_str<'a>(args: &'a Value, key: &str) -> Result<Option<&'a str>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ToolError::new(format!("{key} must be a string"))),
    }
}

/// A required string argument.
pub(crate) fn required_str<'a>(args: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    optional_str(args, key)?
        .ok_or_else(|| ToolError::new(format!("missing required argument {key:?}")))
}

/// A Kubernetes object name, namespace, container or kind: letters, digits, `-`, `.`, `_`, `/`
/// (`deployment/web`), not starting with `-`.
pub(crate) fn name<'a>(value: &'a str, key: &str) -> Result<&'a str, ToolError> {
    let valid = !value.starts_with('-')
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | ':'));
    if valid {
        Ok(value)
    } else {
        Err(ToolError::new(format!(
            "{key} {value:?} is not a valid Kubernetes name (letters, digits, '-', '.', '/', not starting with '-')"
        )))
    }
}

/// A duration like `10m`, `1h30m`, `45s`.
pub(crate) fn duration<'a>(value: &'a str, key: &str) -> Result<&'a str, ToolError> {
    let valid = value.starts_with(|c: char| c.is_ascii_digit())
        && value.ends_with(['s', 'm', 'h'])
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 's' | 'm' | 'h'));
    if valid {
        Ok(value)
    } else {
        Err(ToolError::new(format!(
            "{key} {value:?} is not a duration like 10m, 1h or 90s"
        )))
    }
}

/// An optional non-negative integer.
pub(crate) fn optional_count(args: &Value, key: &str) -> Result<Option<u64>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| ToolError::new(format!("{key} must be a non-negative integer"))),
    }
}

/// An optional boolean.
pub(crate) fn flag(args: &Value, key: &str) -> Result<bool, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ToolError::new(format!("{key} must be true or false"))),
    }
}
