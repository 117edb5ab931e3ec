//! [`Status`]: one enum for the whole life of a task.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is in its life, from submission to its end.
///
/// The server's filters, the operator's phases and the CLI's exit codes all map from this one
/// enum. The first three are live states; the other five are terminal ([`Status::is_terminal`])
/// and are the status of a task's result.
///
/// ```
/// use kopilot_protocol::Status;
///
/// assert!(Status::Succeeded.is_terminal());
/// assert!(!Status::WaitingForApproval.is_terminal());
/// assert_eq!("waiting_for_approval".parse(), Ok(Status::WaitingForApproval));
/// assert_eq!(Status::Rejected.to_string(), "rejected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Submitted, waiting for a free slot (the runtime runs a bounded number of tasks at once).
    Queued,
    /// Running: a model call, a tool, or the analyzers.
    Running,
    /// Running, and paused until a human answers an approval request.
    WaitingForApproval,
    /// It answered.
    Succeeded,
    /// It could not answer: a model error, a limit reached, ... (the failure's code says which).
    Failed,
    /// Someone cancelled it.
    Cancelled,
    /// It was running when the process stopped (found after a restart).
    Interrupted,
    /// It was refused before it ran (an empty prompt, an unknown skill).
    Rejected,
}

impl Status {
    /// Every status, in the order of a task's life (the terminal ones last).
    pub const ALL: [Status; 8] = [
        Status::Queued,
        Status::Running,
        Status::WaitingForApproval,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
        Status::Interrupted,
        Status::Rejected,
    ];

    /// The snake_case name used in JSON (`waiting_for_approval`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::WaitingForApproval => "waiting_for_approval",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Rejected => "rejected",
        }
    }

    /// Whether the task has ended: nothing follows a terminal status.
    pub const fn is_terminal(self) -> bool {
        match self {
            Self::Queued | Self::Running | Self::WaitingForApproval => false,
            Self::Succeeded
            | Self::Failed
            | Self::Cancelled
            | Self::Interrupted
            | Self::Rejected => true,
        }
    }

    /// Whether the task ended with an answer.
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Succeeded)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`Status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a task status (", self.0)?;
        for (i, status) in Status::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(status.as_str())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownStatus {}

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Reads a status name leniently: any case, `-` or `_`, surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn names_round_trip_through_json_and_from_str() {
        for status in Status::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), status);
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert_eq!(
            " Waiting-For-Approval ".parse(),
            Ok(Status::WaitingForApproval)
        );
        let err = "done".parse::<Status>().unwrap_err().to_string();
        assert!(err.contains("`done`") && err.contains("rejected"), "{err}");
    }

    #[test]
    fn only_endings_are_terminal() {
        let terminal: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                Status::Succeeded,
                Status::Failed,
                Status::Cancelled,
                Status::Interrupted,
                Status::Rejected
            ]
        );
        assert!(Status::Succeeded.is_success());
        assert!(!Status::Failed.is_success());
    }
}
