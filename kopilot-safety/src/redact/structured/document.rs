//! Whole outputs: parse JSON (one value or a stream, as `--watch` prints) or YAML (one or more
//! `---` documents), redact by field, and write them back in the same format.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{RemovedValues, redact_value};
use crate::assess::Exposure;
use crate::redact::redact;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// JSON: one value, or several one after the other.
    Json,
    /// YAML: one or more documents separated by `---`.
    Yaml,
}

impl fmt::Display for DocumentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "JSON",
            Self::Yaml => "YAML",
        })
    }
}

/// A document redacted by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedDocument {
    /// The document written back in its format (JSON keeps kubectl's layout: compact when it
    /// came compact, indented by four spaces otherwise).
    pub text: String,
    /// What was removed.
    pub removed: RemovedValues,
}

/// Why a text could not be read as a document. It never quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it is not readable {format}{}", at(*line, *column))]
pub struct Unreadable {
    /// The format it was read as.
    pub format: DocumentFormat,
    /// Where reading stopped (1-based), when known.
    pub line: Option<u64>,
    /// The column there (1-based), when known.
    pub column: Option<u64>,
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (stopped at line {line}, column {column})"),
        (Some(line), None) => format!(" (stopped at line {line})"),
        _ => String::new(),
    }
}

/// Parses `text` as `format`, redacts every document by field ([`redact_value`]) and writes
/// it back. Blank text is returned as it is.
///
/// # Errors
///
/// [`Unreadable`] when the text is not `format` (for instance cut at an output limit).
pub fn redact_document(
    text: &str,
    format: DocumentFormat,
    exposure: Exposure,
) -> Result<RedactedDocument, Unreadable> {
    if text.trim().is_empty() {
        return Ok(RedactedDocument {
            text: text.to_owned(),
            removed: RemovedValues::default(),
        });
    }
    let mut documents = match format {
        DocumentFormat::Json => read_json(text)?,
        DocumentFormat::Yaml => read_yaml(text)?,
    };
    let mut removed = RemovedValues::default();
    for document in &mut documents {
        removed.extend(redact_value(document, exposure));
    }
    let mut out = match format {
        DocumentFormat::Json => {
            write_json(&documents, text.trim().lines().count() <= documents.len())
        }
        DocumentFormat::Yaml => write_yaml(&documents),
    }
    .map_err(|()| Unreadable {
        format,
        line: None,
        column: None,
    })?;
    if text.ends_with('\n') && !out.ends_with('\n') {
        out.push('\n');
    } else if !text.ends_with('\n') && out.ends_with('\n') {
        out.pop();
    }
    Ok(RedactedDocument { text: out, removed })
}

/// The output of a command that printed `format`, ready for the model: redacted by field, then
/// by text shape ([`redact`]) as a second line. When it cannot be parsed, Secret-exposed output
/// ([`Exposure::Secrets`]) is withheld with a note saying why; other output gets text
/// redaction only.
pub fn redact_output(text: &str, format: DocumentFormat, exposure: Exposure) -> String {
    match redact_document(text, format, exposure) {
        Ok(document) => redact(&document.text).into_owned(),
        Err(unreadable) if exposure == Exposure::Secrets => withheld(&unreadable),
        Err(_) => redact(text).into_owned(),
    }
}

/// The note that replaces Secret-exposed output that cannot be parsed.
pub(crate) fn withheld(why: &Unreadable) -> String {
    format!(
        "[output withheld: it can hold Secret values and {why}, so redaction cannot find them; \
         it may have been cut at the output limit: narrow the query (one object, a namespace, -l) \
         and ask again]\n"
    )
}

fn read_json(text: &str) -> Result<Vec<Value>, Unreadable> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Unreadable {
            format: DocumentFormat::Json,
            line: u64::try_from(e.line()).ok().filter(|l| *l > 0),
            column: u64::try_from(e.column()).ok().filter(|c| *c > 0),
        })
}

fn read_yaml(text: &str) -> Result<Vec<Value>, Unreadable> {
    // The error's text can quote the input: only its position is kept.
    serde_saphyr::from_multiple::<Value>(text)
        .map(|documents| documents.into_iter().filter(|d| !d.is_null()).collect())
        .map_err(|e| {
            let location = e.location();
            Unreadable {
                format: DocumentFormat::Yaml,
                line: location.map(|l| l.line()),
                column: location.map(|l| l.column()),
            }
        })
}

fn write_json(documents: &[Value], compact: bool) -> Result<String, ()> {
    let mut out = Vec::new();
    for document in documents {
        if compact {
            serde_json::to_writer(&mut out, document).map_err(|_| ())?;
        } else {
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            document.serialize(&mut serializer).map_err(|_| ())?;
        }
        out.push(b'\n');
    }
    String::from_utf8(out).map_err(|_| ())
}

fn write_yaml(documents: &[Value]) -> Result<String, ()> {
    let mut out = String::new();
    for (i, document) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_saphyr::to_string(document).map_err(|_| ())?);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}
