//! Suppressing findings: namespaces left out of a run ([`crate::AnalyzeOptions`]'s
//! `exclude_namespaces`), and objects that opt out of checks with the annotation
//! [`IGNORE_ANNOTATION`].
//!
//! Whoever can edit an object can annotate it, including someone hiding a privileged pod from
//! the security checks, so what an annotation suppresses is never silent: each dropped finding
//! is listed in the report's `ignored` (check and object, not the text).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::checks::CheckSelection;
use super::findings::{Finding, ObjectRef, SkippedEntry};
use super::index::{Context, name, namespace};

/// The annotation that exempts an object from checks: a comma-separated list of check ids
/// (`security.run_as_root`), families (`reliability.*` or `reliability`), or `*`/`all` for
/// every check. On a workload it may sit on the object or on its pod template; on a Service,
/// PersistentVolumeClaim, PersistentVolume or Node, on the object. Entries that name no check
/// are reported under `skipped` and ignore nothing.
pub const IGNORE_ANNOTATION: &str = "kopilot.dev/ignore";

/// A finding an object's [`IGNORE_ANNOTATION`] suppressed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ignored {
    /// The check whose finding was dropped.
    pub check: String,
    /// The annotated object.
    pub object: ObjectRef,
}

/// What the annotations of one run ignore, by object.
#[derive(Default)]
pub(crate) struct Ignores {
    by_object: BTreeMap<ObjectRef, CheckSelection>,
    /// Annotation entries that name no check.
    pub(crate) problems: BTreeSet<SkippedEntry>,
}

impl Ignores {
    /// Reads every annotated object's list; entries that name no check become problems.
    pub(crate) fn collect(ctx: &Context<'_>) -> Self {
        let mut by_object = BTreeMap::new();
        let mut problems = BTreeSet::new();
        let mut add = |object: ObjectRef, annotations: [Option<&BTreeMap<String, String>>; 2]| {
            let values: Vec<&str> = annotations
                .into_iter()
                .flatten()
                .filter_map(|a| a.get(IGNORE_ANNOTATION))
                .map(String::as_str)
                .collect();
            if values.is_empty() {
                return;
            }
            let mut valid = Vec::new();
            for entry in values.iter().flat_map(|v| v.split(',')) {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                match CheckSelection::parse(&[entry]) {
                    Ok(_) => valid.push(entry),
                    Err(_) => {
                        problems.insert(SkippedEntry {
                            resource: object.to_string(),
                            reason: format!(
                                "annotation {IGNORE_ANNOTATION}: {entry:?} names no check, so it ignores nothing (see --list-checks)"
                            ),
                        });
                    }
                }
            }
            // An annotation of unknown entries only ignores nothing (not everything, as
            // parsing an empty list would).
            if let (false, Ok(selection)) = (valid.is_empty(), CheckSelection::parse(&valid)) {
                by_object.insert(object, selection);
            }
        };
        for w in &ctx.workloads {
            add(w.object.clone(), [w.annotations, w.template_annotations]);
        }
        let snapshot = ctx.snapshot;
        for svc in &snapshot.services {
            let m = &svc.metadata;
            add(
                ObjectRef::new("Service", Some(namespace(m)), name(m)),
                [m.annotations.as_ref(), None],
            );
        }
        for pvc in &snapshot.persistent_volume_claims {
            let m = &pvc.metadata;
            add(
                ObjectRef::new("PersistentVolumeClaim", Some(namespace(m)), name(m)),
                [m.annotations.as_ref(), None],
            );
        }
        for pv in &snapshot.persistent_volumes {
            let m = &pv.metadata;
            add(
                ObjectRef::new("PersistentVolume", None, name(m)),
                [m.annotations.as_ref(), None],
            );
        }
        for node in &snapshot.nodes {
            let m = &node.metadata;
            add(
                ObjectRef::new("Node", None, name(m)),
                [m.annotations.as_ref(), None],
            );
        }
        Self {
            by_object,
            problems,
        }
    }

    /// Drops the findings their object's annotation ignores, and lists them.
    pub(crate) fn apply(&self, findings: &mut Vec<Finding>) -> Vec<Ignored> {
        if self.by_object.is_empty() {
            return Vec::new();
        }
        let mut ignored = Vec::new();
        findings.retain(|f| {
            let drop = self
                .by_object
                .get(&f.object)
                .is_some_and(|s| s.contains(&f.check));
            if drop {
                ignored.push(Ignored {
                    check: f.check.clone(),
                    object: f.object.clone(),
                });
            }
            !drop
        });
        ignored.sort();
        ignored
    }
}
