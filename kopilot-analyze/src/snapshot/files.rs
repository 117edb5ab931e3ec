//! Loading a snapshot from files: YAML or JSON, one or many documents, `kind: List`
//! (what `kubectl get -o yaml|json` writes) and typed lists (`PodList` from `--raw`).
//! Kinds the analyzers do not use (ConfigMaps, Secrets, side documents) are ignored.

use std::path::Path;

use serde_json::Value;

use super::kinds::Kind;
use super::{ClusterSnapshot, SnapshotSource, direct};
use crate::error::{Error, Result};

impl ClusterSnapshot {
    /// Reads one or more files into one snapshot. Errors name the file (and the document
    /// and object) and say what is wrong.
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut snapshot = Self::default();
        let mut names = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|source| Error::SnapshotRead {
                path: path.to_owned(),
                source,
            })?;
            let name = path.display().to_string();
            snapshot.add_text(&name, &text)?;
            names.push(name);
        }
        snapshot.source = SnapshotSource::Files { files: names };
        Ok(snapshot)
    }

    /// Parses YAML or JSON text (named `name` in errors) into a new snapshot.
    pub fn from_yaml_str(name: &str, text: &str) -> Result<Self> {
        let mut snapshot = Self::default();
        snapshot.add_text(name, text)?;
        snapshot.source = SnapshotSource::Files {
            files: vec![name.to_owned()],
        };
        Ok(snapshot)
    }

    /// Adds every object in YAML or JSON text (named `name` in errors) to this snapshot.
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<()> {
        // Objects go straight from the text into their types when the text has the shapes
        // `kubectl` writes; otherwise (and for every error) through `serde_json::Value`.
        if let Some(mut objects) = direct::parse(text, || yaml_options(text.len())) {
            self.append_objects(&mut objects);
            return Ok(());
        }
        let documents = parse_documents(name, text)?;
        for (i, doc) in documents.into_iter().enumerate() {
            let place = format!("{name}: document {}", i + 1);
            self.add_document(&place, doc)?;
        }
        Ok(())
    }

    /// Adds one parsed object (or list of objects); `place` says where it came from.
    pub fn add_document(&mut self, place: &str, doc: Value) -> Result<()> {
        let Value::Object(mut map) = doc else {
            if doc.is_null() {
                return Ok(());
            }
            return Err(object_error(
                place,
                "expected a Kubernetes object (a mapping with apiVersion and kind)",
            ));
        };
        let kind = match map.get("kind") {
            Some(Value::String(k)) => k.clone(),
            Some(_) => return Err(object_error(place, "`kind` is not a string")),
            None => {
                return Err(object_error(
                    place,
                    "has no `kind`: not a Kubernetes object",
                ));
            }
        };
        let api_version = match map.get("apiVersion") {
            Some(Value::String(v)) => v.clone(),
            Some(_) => return Err(object_error(place, "`apiVersion` is not a string")),
            None => {
                return Err(object_error(place, format!("{kind} has no `apiVersion`")));
            }
        };
        if let Some(item_kind) = kind.strip_suffix("List") {
            let items = match map.remove("items") {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => return Err(object_error(place, format!("{kind}.items is not a list"))),
            };
            for (j, mut item) in items.into_iter().enumerate() {
                // Typed lists (`PodList`) leave apiVersion and kind off their items.
                if let (Value::Object(m), false) = (&mut item, item_kind.is_empty()) {
                    m.entry("kind")
                        .or_insert_with(|| Value::String(item_kind.to_owned()));
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::String(api_version.clone()));
                }
                self.add_document(&format!("{place}, item {}", j + 1), item)?;
            }
            return Ok(());
        }
        self.add_typed(place, &api_version, &kind, Value::Object(map))
    }

    fn add_typed(&mut self, place: &str, api_version: &str, kind: &str, doc: Value) -> Result<()> {
        let Some(target) = Kind::of(api_version, kind) else {
            return Ok(());
        };
        // Deserializing by value moves the strings instead of copying them; the few fields an
        // error message needs are kept aside first.
        let (kind, ns, name) = identity(&doc);
        target.read(doc, self).map_err(|e| {
            let what = match (ns, name) {
                (Some(ns), Some(name)) => format!("{kind} {ns}/{name}"),
                (None, Some(name)) => format!("{kind} {name}"),
                _ => format!("{kind} without metadata.name"),
            };
            object_error(place, format!("{what}: {e}"))
        })
    }
}

/// Kind, namespace and name of an object, for error messages.
fn identity(doc: &Value) -> (String, Option<String>, Option<String>) {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("object");
    let meta = doc.get("metadata");
    let field = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (kind.to_owned(), field("namespace"), field("name"))
}

fn object_error(place: &str, message: impl Into<String>) -> Error {
    Error::SnapshotObject {
        place: place.to_owned(),
        message: message.into(),
    }
}

/// JSON fast path (a single object, as `kubectl get -o json` writes); YAML otherwise, with
/// the parser's limits raised in proportion to the input so large dumps load.
pub(super) fn parse_documents(name: &str, text: &str) -> Result<Vec<Value>> {
    if looks_like_json(text) {
        let value = serde_json::from_str(text).map_err(|source| Error::SnapshotJson {
            file: name.to_owned(),
            source,
        })?;
        return Ok(vec![value]);
    }
    serde_saphyr::from_multiple_with_options(text, yaml_options(text.len())).map_err(|source| {
        Error::SnapshotYaml {
            file: name.to_owned(),
            source: Box::new(source),
        }
    })
}

/// A single JSON object, as `kubectl get -o json` writes; anything else is read as YAML.
pub(super) fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// The YAML parser's options, with its limits raised in proportion to the input (`len`
/// bytes) so large dumps load.
fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = budget.max_events.max(len / 2);
    budget.max_nodes = budget.max_nodes.max(len / 2);
    budget.max_documents = budget.max_documents.max(len / 16);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}
