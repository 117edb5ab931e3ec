//! Process mechanics: finding programs, spawning argv stages in one process group with pipes
//! between them, waiting with a timeout and cancellation, killing the group, auditing.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kopilot_core::safety::AuditEvent;
use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::capture::SharedCapture;
use super::flags::program_name;
use super::{Ending, ExecConfig, ExecOutput, Executor};
use crate::error::{Error, Result};

/// How long readers may keep going after the processes are gone (a process that left the group
/// could hold a pipe open for ever).
const READER_GRACE: Duration = Duration::from_secs(2);

/// A `PATH` for when this process has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

pub(super) async fn run_pipeline(
    executor: &Executor,
    stages: Vec<Vec<String>>,
    inject_context: bool,
    cancel: &CancellationToken,
    task_id: Option<&str>,
) -> Result<ExecOutput> {
    let config = executor.config();
    let search_path = config
        .search_path
        .clone()
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_else(|| OsString::from(FALLBACK_PATH));
    let mut argvs = Vec::with_capacity(stages.len());
    for stage in &stages {
        argvs.push(prepare_stage(config, &search_path, stage, inject_context)?);
    }
    let started = Instant::now();
    let stdout_capture = SharedCapture::new(config.max_output_bytes);
    let stderr_capture = SharedCapture::new(config.max_output_bytes);
    let spawned = spawn_stages(
        config,
        &search_path,
        &argvs,
        &stdout_capture,
        &stderr_capture,
    );
    let (mut children, readers) = match spawned {
        Ok(spawned) => spawned,
        Err((error, mut children, readers)) => {
            let pgid = children.first().and_then(Child::id);
            kill_all(pgid, &mut children).await;
            finish_readers(readers).await;
            record(
                executor,
                &argvs,
                None,
                Some("spawn error"),
                started,
                &stdout_capture.take(),
                &stderr_capture.take(),
                task_id,
            );
            return Err(error);
        }
    };

    let pgid = children.first().and_then(Child::id);
    // If our caller stops waiting (the task was cancelled and this future dropped), the
    // group is still killed and the execution still audited.
    let mut abandoned = Abandoned {
        executor,
        argvs: &argvs,
        pgid,
        started,
        stdout: &stdout_capture,
        stderr: &stderr_capture,
        task_id,
        armed: true,
    };
    let waited = tokio::select! {
        statuses = futures::future::join_all(children.iter_mut().map(Child::wait)) => Some(statuses),
        () = tokio::time::sleep(config.timeout) => None,
        () = cancel.cancelled() => None,
    };
    // Always kill the group: background processes left behind must not outlive the command.
    kill_all(pgid, &mut children).await;
    finish_readers(readers).await;
    abandoned.armed = false;

    let ending = match waited {
        Some(statuses) => match statuses.last() {
            Some(Ok(status)) => status.code().map_or(Ending::Signalled, Ending::Exited),
            Some(Err(_)) | None => Ending::Signalled,
        },
        None if cancel.is_cancelled() => Ending::Cancelled,
        None => Ending::TimedOut,
    };
    let stdout = stdout_capture.take();
    let stderr = stderr_capture.take();
    let outcome = match ending {
        Ending::Exited(_) => None,
        Ending::Signalled => Some("signal"),
        Ending::TimedOut => Some("timeout"),
        Ending::Cancelled => Some("cancelled"),
    };
    record(
        executor,
        &argvs,
        ending.exit_code(),
        outcome,
        started,
        &stdout,
        &stderr,
        task_id,
    );
    let discarded =
        (stdout.total - stdout.kept.len() as u64) + (stderr.total - stderr.kept.len() as u64);
    Ok(ExecOutput {
        stdout: String::from_utf8_lossy(&stdout.kept).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.kept).into_owned(),
        ending,
        stdout_bytes: stdout.total,
        stderr_bytes: stderr.total,
        discarded_bytes: discarded,
        duration: started.elapsed(),
    })
}

/// The argv actually run: the program resolved to a path, and for `kubectl`/`helm` the
/// configured context put first.
fn prepare_stage(
    config: &ExecConfig,
    search_path: &OsString,
    stage: &[String],
    inject_context: bool,
) -> Result<Vec<String>> {
    let Some((program, args)) = stage.split_first() else {
        return Err(Error::EmptyCommand {
            line: String::new(),
        });
    };
    let name = program_name(program);
    let configured = match name {
        "kubectl" if !program.contains('/') => config.kubectl.clone(),
        "helm" if !program.contains('/') => config.helm.clone(),
        _ => None,
    };
    let path = match configured {
        Some(path) if is_executable(&path) => path,
        Some(path) => {
            return Err(Error::ProgramNotFound {
                program: program.clone(),
                searched: format!("configured path {}", path.display()),
            });
        }
        None => find_program(program, search_path)?,
    };
    let mut argv = Vec::with_capacity(stage.len() + 2);
    argv.push(path.to_string_lossy().into_owned());
    if inject_context && let Some(context) = &config.context {
        match name {
            "kubectl" => argv.extend(["--context".to_owned(), context.clone()]),
            "helm" => argv.extend(["--kube-context".to_owned(), context.clone()]),
            _ => {}
        }
    }
    argv.extend(args.iter().cloned());
    Ok(argv)
}

fn find_program(program: &str, search_path: &OsString) -> Result<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(Error::ProgramNotFound {
                program: program.to_owned(),
                searched: "the path as given".to_owned(),
            })
        };
    }
    std::env::split_paths(search_path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| Error::ProgramNotFound {
            program: program.to_owned(),
            searched: format!("PATH={}", search_path.to_string_lossy()),
        })
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

type Spawned = (Vec<Child>, Vec<JoinHandle<()>>);

/// A spawn failure, with whatever was started before it (to be killed).
type SpawnFailure = (Error, Vec<Child>, Vec<JoinHandle<()>>);

fn spawn_stages(
    config: &ExecConfig,
    search_path: &OsString,
    argvs: &[Vec<String>],
    stdout_capture: &SharedCapture,
    stderr_capture: &SharedCapture,
) -> std::result::Result<Spawned, SpawnFailure> {
    let mut children: Vec<Child> = Vec::with_capacity(argvs.len());
    let mut readers = Vec::with_capacity(argvs.len() + 1);
    let mut group: Option<u32> = None;
    let mut previous_stdout: Option<Stdio> = None;
    let last = argvs.len().saturating_sub(1);
    for (index, argv) in argvs.iter().enumerate() {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(child_env(config, search_path))
            .stdin(previous_stdout.take().unwrap_or_else(Stdio::null))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(group.map_or(0, |pgid| i32::try_from(pgid).unwrap_or(0)));
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                let error = Error::Spawn {
                    program: program.clone(),
                    source,
                };
                return Err((error, children, readers));
            }
        };
        if group.is_none() {
            group = child.id();
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(stderr_capture.clone().drain(stderr)));
        }
        if let Some(stdout) = child.stdout.take() {
            if index == last {
                readers.push(tokio::spawn(stdout_capture.clone().drain(stdout)));
            } else {
                match stdout.try_into() {
                    Ok(stdio) => previous_stdout = Some(stdio),
                    Err(source) => {
                        children.push(child);
                        let error = Error::Spawn {
                            program: program.clone(),
                            source,
                        };
                        return Err((error, children, readers));
                    }
                }
            }
        }
        children.push(child);
    }
    Ok((children, readers))
}

/// What kubectl, helm and their credential plugins need (see [`super::env`]), with `PATH`,
/// `HOME` and `KUBECONFIG` from the configuration: no model keys or other secrets of this
/// process.
fn child_env(config: &ExecConfig, search_path: &OsString) -> BTreeMap<OsString, OsString> {
    let mut env = super::env::passed_vars(std::env::vars_os(), &config.extra_env);
    env.insert(OsString::from("PATH"), search_path.clone());
    if let Some(home) = config
        .home
        .clone()
        .map(PathBuf::into_os_string)
        .or_else(|| std::env::var_os("HOME"))
    {
        env.insert(OsString::from("HOME"), home);
    }
    if let Some(kubeconfig) = &config.kubeconfig {
        env.insert(
            OsString::from("KUBECONFIG"),
            kubeconfig.clone().into_os_string(),
        );
    }
    env
}

/// Kills the process group of the first stage (children and grandchildren alike), then each
/// stage directly, and reaps them.
/// Kills the group and audits the execution as cancelled when dropped while armed.
struct Abandoned<'a> {
    executor: &'a Executor,
    argvs: &'a [Vec<String>],
    pgid: Option<u32>,
    started: Instant,
    stdout: &'a SharedCapture,
    stderr: &'a SharedCapture,
    task_id: Option<&'a str>,
    armed: bool,
}

impl Drop for Abandoned<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // The direct children die with their handles (`kill_on_drop`); the rest of the
        // group is killed here, synchronously, since there is no runtime to wait on.
        if let Some(pgid) = self.pgid {
            kill_group(pgid);
        }
        record(
            self.executor,
            self.argvs,
            None,
            Some("cancelled"),
            self.started,
            &self.stdout.take(),
            &self.stderr.take(),
            self.task_id,
        );
    }
}

async fn kill_all(group: Option<u32>, children: &mut [Child]) {
    if let Some(pgid) = group {
        kill_group(pgid);
    }
    for child in children.iter_mut() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Sends SIGKILL to the process group `pgid` (children and grandchildren alike) with one
/// system call: no `kill` program to find (distroless images have none) and nothing to wait
/// for, so it is also safe in `Drop`. A group that is already gone is not an error; 0 (which
/// would mean our own group) is never signalled.
fn kill_group(pgid: u32) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) else {
        return;
    };
    match kill_process_group(pid, Signal::KILL) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
        Err(error) => tracing::warn!(%error, pgid, "could not kill the process group"),
    }
}

async fn finish_readers(readers: Vec<JoinHandle<()>>) {
    for mut reader in readers {
        if tokio::time::timeout(READER_GRACE, &mut reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    executor: &Executor,
    argvs: &[Vec<String>],
    exit_code: Option<i32>,
    outcome: Option<&str>,
    started: Instant,
    stdout: &super::capture::Captured,
    stderr: &super::capture::Captured,
    task_id: Option<&str>,
) {
    let mut hasher = Sha256::new();
    hasher.update(&stdout.kept);
    hasher.update(&stderr.kept);
    let (argv, argv_sha256) = kopilot_core::safety::audit::recorded_argv(argvs);
    let event = AuditEvent::Execution {
        argv,
        argv_sha256,
        exit_code,
        outcome: outcome.map(str::to_owned),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        stdout_bytes: stdout.total,
        stderr_bytes: stderr.total,
        output_sha256: hex::encode(hasher.finalize()),
        task_id: task_id.map(str::to_owned),
    };
    if let Err(error) = executor.audit.record(&event) {
        tracing::error!(%error, "could not audit an execution");
    }
}
