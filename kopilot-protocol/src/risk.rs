//! The guard's vocabulary as the protocol shows it: [`Risk`] and [`Decision`].
//!
//! `kopilot-safety` decides; these types only name its answers, so approval requests, audit
//! records and events carry the same values everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How dangerous a command is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Reads and pure text filters.
    Low,
    /// Non-destructive mutations (apply, patch, scale, ...).
    Medium,
    /// Destructive or access-granting commands, writes to files, anything unknown.
    High,
    /// Hard-blocked: never runs, whatever the mode or the approver says.
    Critical,
}

impl Risk {
    /// The lowercase name used in JSON and on the terminal.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the guard decided for a whole command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Runs without asking.
    Allow,
    /// Runs only after an explicit, audited human approval.
    Approve,
    /// Never runs.
    Block,
}

impl Decision {
    /// The lowercase name used in JSON and on the terminal.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Approve => "approve",
            Self::Block => "block",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, Risk};

    #[test]
    fn names_in_json_are_lowercase_and_risk_is_ordered() {
        for (risk, name) in [
            (Risk::Low, "low"),
            (Risk::Medium, "medium"),
            (Risk::High, "high"),
            (Risk::Critical, "critical"),
        ] {
            assert_eq!(serde_json::to_string(&risk).unwrap(), format!("\"{name}\""));
            assert_eq!(risk.to_string(), name);
        }
        assert!(Risk::Low < Risk::Medium && Risk::High < Risk::Critical);
        for (decision, name) in [
            (Decision::Allow, "allow"),
            (Decision::Approve, "approve"),
            (Decision::Block, "block"),
        ] {
            assert_eq!(
                serde_json::from_str::<Decision>(&format!("\"{name}\"")).unwrap(),
                decision
            );
        }
    }
}
