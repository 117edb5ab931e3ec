//! What a command waiting for approval would change ([`ChangePreview`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a command waiting for approval would change, as the approver is shown it: the objects
/// a server-side dry run says it would create, change or delete, each with a redacted diff.
/// A Kubernetes crate makes it (`kopilot_k8s::preview`); the runtime attaches it to the
/// approval request and its `approval_requested` event, so every adapter shows the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangePreview {
    /// The command previewed (redacted).
    pub command: String,
    /// The commands run to build the preview, in order (redacted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ran: Vec<String>,
    /// What would happen to each object, in the order the dry run returned them.
    #[serde(default)]
    pub changes: Vec<ObjectChange>,
    /// When the dry run itself failed: what kubectl said (redacted). The command would most
    /// likely fail the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Caveats about how the preview was made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What would happen to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ObjectChange {
    /// `apps/v1`, `v1`, ….
    pub api_version: String,
    /// `Deployment`, `Secret`, ….
    pub kind: String,
    /// The namespace, for namespaced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// Created, changed, unchanged or deleted.
    pub action: ChangeAction,
    /// Unified-style diff of the object as YAML (hunks headed `@@ -a,b +c,d @@`, lines starting
    /// with ` `, `-` or `+`), redacted; empty when nothing changes.
    pub diff: String,
}

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// It does not exist yet and would be created.
    Create,
    /// It exists and would change.
    Update,
    /// It exists and would stay as it is.
    #[serde(rename = "unchanged")]
    NoChange,
    /// It exists and would be deleted.
    Delete,
}

impl ChangeAction {
    /// A word for people: `create`, `update`, `unchanged`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::NoChange => "unchanged",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for ChangePreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Preview of `{}`:", self.command)?;
        if let Some(failure) = &self.failure {
            writeln!(
                f,
                "the server rejected the dry run:\n{}",
                failure.trim_end()
            )?;
        }
        if self.failure.is_none() && self.changes.is_empty() {
            writeln!(f, "no objects would be touched")?;
        }
        for change in &self.changes {
            let place = change
                .namespace
                .as_deref()
                .map_or_else(String::new, |ns| format!(" -n {ns}"));
            writeln!(
                f,
                "{} {} {}{place}",
                change.action.as_str(),
                change.kind,
                change.name
            )?;
            f.write_str(&change.diff)?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}
