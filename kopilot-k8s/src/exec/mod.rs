//! Running cleared commands: argv pipelines (never a shell string unless the `run_shell` policy
//! flag is on), with Kopilot's kubeconfig and context injected, the environment kubectl and its
//! credential plugins need and no model provider's key ([`mod@env`]), closed stdin, a timeout
//! and cancellation that kill the whole process group, an output cap, and an audit record per
//! execution.
//!
//! ```no_run
//! # async fn demo(cleared: kopilot_core::safety::ClearedCommand) -> kopilot_k8s::Result<()> {
//! use std::sync::Arc;
//! use kopilot_core::safety::NullAuditSink;
//! use kopilot_k8s::exec::{ExecConfig, Executor};
//! use tokio_util::sync::CancellationToken;
//!
//! let config = ExecConfig {
//!     kubeconfig: Some("/etc/kopilot/kubeconfig".into()),
//!     context: Some("staging".into()),
//!     ..ExecConfig::default()
//! };
//! let executor = Executor::new(config, Arc::new(NullAuditSink));
//! let out = executor.run(cleared, &CancellationToken::new(), Some("task-1")).await?;
//! println!("{}", out.stdout);
//! # Ok(())
//! # }
//! ```

mod capture;
pub mod env;
mod flags;
mod spawn;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kopilot_core::safety::{AuditSink, ClearedCommand};
use tokio_util::sync::CancellationToken;

pub use flags::check_connection_flags;

use crate::error::{Error, Result};

/// The default time a command may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);

/// The default number of output bytes kept per stream (standard output, standard error).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 2 * 1024 * 1024;

/// How commands are run. Everything here comes from Kopilot's configuration, never from the
/// model.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The `kubectl` binary; `None` looks for `kubectl` on the search path.
    pub kubectl: Option<PathBuf>,
    /// The `helm` binary; `None` looks for `helm` on the search path.
    pub helm: Option<PathBuf>,
    /// `PATH` for finding programs and for the children; `None` uses this process's `PATH`.
    pub search_path: Option<OsString>,
    /// The kubeconfig given to children as `KUBECONFIG`; `None` leaves it unset (the tools'
    /// default, `~/.kube/config` under [`ExecConfig::home`]).
    pub kubeconfig: Option<PathBuf>,
    /// The context injected as `kubectl --context` / `helm --kube-context`.
    pub context: Option<String>,
    /// `HOME` for children (where `kubectl` keeps its discovery cache); `None` uses this
    /// process's `HOME`.
    pub home: Option<PathBuf>,
    /// Variables of this process passed to children besides [`env::KUBECTL_ENV`] (e.g. a
    /// credential plugin's own settings); [`env::WITHHELD`] wins over them.
    pub extra_env: Vec<env::VarPattern>,
    /// How long a command may run before its process group is killed.
    pub timeout: Duration,
    /// Output bytes kept per stream; the rest is read, counted and discarded.
    pub max_output_bytes: usize,
    /// Whether a cleared line that is not a plain pipeline may run through `sh -c`.
    pub run_shell: bool,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            kubectl: None,
            helm: None,
            search_path: None,
            kubeconfig: None,
            context: None,
            home: None,
            extra_env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            run_shell: false,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The last stage exited with this code.
    Exited(i32),
    /// The last stage was killed by a signal it did not get from Kopilot.
    Signalled,
    /// It ran past the timeout; its process group was killed.
    TimedOut,
    /// The task was cancelled; its process group was killed.
    Cancelled,
}

impl Ending {
    /// The exit code, when it exited.
    pub fn exit_code(self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// Whether it exited with code 0.
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output of the last stage (lossy UTF-8, at most the cap).
    pub stdout: String,
    /// Standard error of every stage (lossy UTF-8, at most the cap).
    pub stderr: String,
    /// How it ended.
    pub ending: Ending,
    /// Bytes read from standard output, including discarded ones.
    pub stdout_bytes: u64,
    /// Bytes read from standard error, including discarded ones.
    pub stderr_bytes: u64,
    /// Bytes discarded past the cap (both streams).
    pub discarded_bytes: u64,
    /// Wall-clock time.
    pub duration: Duration,
}

/// Runs cleared commands; see the [module documentation](self).
#[derive(Clone)]
pub struct Executor {
    config: Arc<ExecConfig>,
    audit: Arc<dyn AuditSink>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor with this configuration, auditing every execution to `audit`.
    pub fn new(config: ExecConfig, audit: Arc<dyn AuditSink>) -> Self {
        Self {
            config: Arc::new(config),
            audit,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ExecConfig {
        &self.config
    }

    /// Runs a cleared command.
    ///
    /// A plain pipeline runs as argv stages wired with pipes. Anything else is refused unless
    /// [`ExecConfig::run_shell`] is on, in which case it runs as `sh -c LINE` (with `KUBECONFIG`
    /// set, but no context injected: the guard's assessment is all that stands before it).
    /// Either way, a command that could set a connection or identity flag anywhere in the line
    /// (as the guard parsed it, or as any word spells one: see
    /// [`CommandAssessment::possible_connection_flags`](kopilot_core::safety::CommandAssessment::possible_connection_flags))
    /// is refused, and so is a line whose parse holds no command or gives `kubectl` or `helm`
    /// words only known at run time (`xargs` input, shell expansions), which could be any flag.
    ///
    /// # Errors
    ///
    /// [`Error::NotAPipeline`], [`Error::EmptyCommand`], [`Error::Unparsed`],
    /// [`Error::ForbiddenFlag`] (a `kubectl`/`helm` command could set a connection flag),
    /// [`Error::ProgramNotFound`],
    /// [`Error::Spawn`]. A command that runs and fails is not an error: see
    /// [`ExecOutput::ending`].
    pub async fn run(
        &self,
        command: ClearedCommand,
        cancel: &CancellationToken,
        task_id: Option<&str>,
    ) -> Result<ExecOutput> {
        let stages = match command.pipeline() {
            Some(stages) => stages.to_vec(),
            None if self.config.run_shell => vec![vec![
                "sh".to_owned(),
                "-c".to_owned(),
                command.line().to_owned(),
            ]],
            None => {
                return Err(Error::NotAPipeline {
                    line: command.line().to_owned(),
                });
            }
        };
        if stages.is_empty() || stages.iter().any(Vec::is_empty) {
            return Err(Error::EmptyCommand {
                line: command.line().to_owned(),
            });
        }
        let shell = command.pipeline().is_none();
        // Every command the guard found (nested ones too) counts, shell lines included.
        let commands = &command.assessment().commands;
        if let Some(why) = flags::unvouched(commands) {
            return Err(Error::Unparsed {
                line: command.line().to_owned(),
                why,
            });
        }
        flags::refuse_connection_flags(commands)?;
        self.run_stages(stages, !shell, cancel, task_id).await
    }

    /// Runs argv stages (already checked) and audits the execution.
    pub(crate) async fn run_stages(
        &self,
        stages: Vec<Vec<String>>,
        inject_context: bool,
        cancel: &CancellationToken,
        task_id: Option<&str>,
    ) -> Result<ExecOutput> {
        spawn::run_pipeline(self, stages, inject_context, cancel, task_id).await
    }
}

#[cfg(test)]
mod tests;
