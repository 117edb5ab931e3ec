//! The crate's error type.

/// Errors of `kopilot-k8s`: running a cleared command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program a command needs is neither configured nor on `PATH`.
    #[error("program {program:?} not found (looked in: {searched})")]
    ProgramNotFound {
        /// The program name as written in the command.
        program: String,
        /// Where it was looked for.
        searched: String,
    },
    /// A program was found but could not be started.
    #[error("could not start {program:?}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A cleared command is not a plain pipeline of literal words and shell execution is off.
    #[error(
        "refusing to run {line:?}: it is not a plain pipeline of literal words and shell execution is disabled"
    )]
    NotAPipeline {
        /// The command line.
        line: String,
    },
    /// A command sets a connection or identity flag that only Kopilot's configuration may set.
    #[error("refusing {flag:?}: {reason}")]
    ForbiddenFlag {
        /// The flag as given.
        flag: String,
        /// Why it is refused.
        reason: String,
    },
    /// The guard's parse of a cleared command cannot vouch for what it would run: it holds no
    /// command, or a `kubectl`/`helm` command has words only known at run time (shell
    /// expansions, `xargs` input), any of which could be a connection flag.
    #[error("refusing to run {line:?}: {why}")]
    Unparsed {
        /// The command line.
        line: String,
        /// What the parse cannot vouch for.
        why: String,
    },
    /// A command has no program to run.
    #[error("empty command {line:?}")]
    EmptyCommand {
        /// The command line.
        line: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
