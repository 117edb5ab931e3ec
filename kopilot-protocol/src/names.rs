//! The names that tools and agents go by, each spelled once: events, skills, the runtime,
//! the Kubernetes tools and the adapters all use these constants; and what a namespace's name
//! may be, checked the same way by every adapter that takes one.

pub mod tools {
    //! The tools' names: the tools the Kopilot runtime gives a sub-agent.
    //!
    //! A skill lists the tools its sub-agent may call by these names. Two groups:
    //!
    //! - **Read tools** ([`READ_ONLY`]) can only observe the cluster: they read
    //!   objects, logs, events and metrics or run the deterministic analyzers.
    //!   A skill that does not say which tools it wants gets exactly these.
    //! - **Command tools** ([`RUN_KUBECTL`], [`RUN_HELM`], [`RUN_SHELL`]) run a
    //!   command line. Every command passes the guard (`kopilot-safety`) first:
    //!   reads run, mutations wait for an explicit approval, and destructive
    //!   patterns are blocked. A skill opts in to them by listing them; the
    //!   built-in skills list `run_kubectl` (and `administration` also
    //!   `run_helm`) so they can propose fixes, and none lists `run_shell`.
    //!
    //! The supervisor's own routing tool, [`DELEGATE`], is not one of them: a skill cannot
    //! list it.

    /// Run a `kubectl` command line (guarded: reads run, mutations need approval).
    pub const RUN_KUBECTL: &str = "run_kubectl";
    /// Run a `helm` command line (guarded like `run_kubectl`).
    pub const RUN_HELM: &str = "run_helm";
    /// Run an arbitrary shell pipeline (guarded; unknown programs always need approval).
    pub const RUN_SHELL: &str = "run_shell";
    /// Read one object or a list of objects from the API server.
    pub const READ_RESOURCE: &str = "read_resource";
    /// Read a container's logs (bounded, redacted).
    pub const GET_LOGS: &str = "get_logs";
    /// Read events, optionally for one object.
    pub const GET_EVENTS: &str = "get_events";
    /// Read resource usage from the metrics API.
    pub const GET_METRICS: &str = "get_metrics";
    /// Run the deterministic analyzers over a cluster snapshot.
    pub const ANALYZE: &str = "analyze";

    /// The tools that can only observe: the default for a skill that lists none.
    pub const READ_ONLY: &[&str] = &[READ_RESOURCE, GET_LOGS, GET_EVENTS, GET_METRICS, ANALYZE];

    /// Every tool the Kopilot runtime provides out of the box.
    pub const ALL: &[&str] = &[
        RUN_KUBECTL,
        RUN_HELM,
        RUN_SHELL,
        READ_RESOURCE,
        GET_LOGS,
        GET_EVENTS,
        GET_METRICS,
        ANALYZE,
    ];

    /// Whether `name` is one of the tools in [`ALL`].
    pub fn is_known(name: &str) -> bool {
        ALL.contains(&name)
    }

    /// Whether `name` is one of the [`READ_ONLY`] tools.
    pub fn is_read_only(name: &str) -> bool {
        READ_ONLY.contains(&name)
    }

    /// The supervisor's one tool: `delegate(skill, task)` hands a task to a skill's sub-agent.
    pub const DELEGATE: &str = "delegate";
}

pub mod agents {
    //! The agents' names, as the `agent` field of an event shows them (a skill's sub-agent
    //! goes by the skill's name).

    /// The supervisor, which routes a task to skills with `delegate`.
    pub const SUPERVISOR: &str = "supervisor";
    /// The runtime itself: task start, queueing, offline mode, the final response.
    pub const RUNTIME: &str = "kopilot";
}

/// Whether `name` can name a Kubernetes namespace: an RFC 1123 label (lowercase letters,
/// digits and `-`, starting and ending with a letter or digit, at most 63 characters), as the
/// API server requires.
///
/// ```
/// use kopilot_protocol::names::is_namespace_name;
///
/// assert!(is_namespace_name("shop-2"));
/// assert!(!is_namespace_name("bad ns!"));
/// assert!(!is_namespace_name("-shop"));
/// assert!(!is_namespace_name(&"a".repeat(64)));
/// ```
pub fn is_namespace_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::tools;

    #[test]
    fn read_only_tools_are_known_and_delegate_is_not_a_skill_tool() {
        assert!(tools::READ_ONLY.iter().all(|t| tools::is_known(t)));
        assert!(tools::is_read_only(tools::ANALYZE));
        assert!(!tools::is_read_only(tools::RUN_KUBECTL));
        assert!(!tools::is_known(tools::DELEGATE));
    }
}
