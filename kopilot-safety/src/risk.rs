//! Risk levels, decisions and modes: the vocabulary of the guard.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How dangerous a command is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// How much the guard lets through without a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Only low-risk commands run; everything else is blocked.
    ReadOnly,
    /// Low runs; medium and high wait for approval; critical is blocked. The default.
    #[default]
    Approve,
    /// Low and medium run; high waits for approval; critical is blocked.
    FullAccess,
}

impl Mode {
    /// The kebab-case name accepted by `--mode` and `SAFETY_MODE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::Approve => "approve",
            Self::FullAccess => "full-access",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "read-only" | "readonly" => Ok(Self::ReadOnly),
            "approve" => Ok(Self::Approve),
            "full-access" => Ok(Self::FullAccess),
            _ => Err(crate::Error::InvalidMode(s.to_owned())),
        }
    }
}
