//! Risk levels, decisions and modes: the vocabulary of the guard. [`Risk`] and [`Decision`]
//! are the protocol's types (`kopilot-protocol`), so events and approvals carry the same values.

use std::fmt;
use std::str::FromStr;

pub use kopilot_protocol::{Decision, Risk};
use serde::{Deserialize, Serialize};

/// How much the guard lets through without a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

    /// The stricter of two modes: what a request that may only narrow the policy gets
    /// (`read-only` is the strictest, `full-access` the most lenient).
    ///
    /// ```
    /// use kopilot_safety::Mode;
    ///
    /// assert_eq!(Mode::FullAccess.stricter(Mode::ReadOnly), Mode::ReadOnly);
    /// assert_eq!(Mode::Approve.stricter(Mode::FullAccess), Mode::Approve);
    /// ```
    #[must_use]
    pub const fn stricter(self, other: Mode) -> Mode {
        const fn leniency(mode: Mode) -> u8 {
            match mode {
                Mode::ReadOnly => 0,
                Mode::Approve => 1,
                Mode::FullAccess => 2,
            }
        }
        if leniency(other) < leniency(self) {
            other
        } else {
            self
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
