//! What a `kubectl` command waiting for approval would change, shown before anyone approves it.
//!
//! [`preview`] runs the same command with `--dry-run=server -o yaml` (the API server validates
//! and computes the result, and stores nothing), reads the current version of each object the
//! dry run returns, and diffs the two with the fields every write changes left out
//! (`resourceVersion`, `managedFields`, `generation`, `uid`, `creationTimestamp`, `status`, and
//! the `kubectl.kubernetes.io/last-applied-configuration` annotation, a one-line copy of the
//! whole object).
//! A new object shows as added in full; `delete` lists the objects that would go, in full, as
//! removed.
//!
//! Only a single plain `kubectl` mutation is previewed: `apply`, `create`, `patch`, `replace`,
//! `scale`, `set`, `label`, `annotate`, `delete`, `rollout restart` and `autoscale`. Anything
//! else (pipelines, `helm`, shell lines, reads, `edit`, `apply --prune`, lines the guard blocks)
//! gives `None`. Every command the preview runs goes through the [`Guard`] first and must be
//! cleared as low risk; if one is not, the preview stops and gives `None`: it never runs
//! anything the guard did not clear. Everything in a [`ChangePreview`] has passed through
//! [`redact`]: a changed Secret value shows as a changed line with a marker, never the value.
//!
//! Two verbs cannot be dry-run exactly as written, and their previews say so in
//! [`ChangePreview::notes`]: `kubectl scale` prints the object as it was before scaling (the
//! preview sets `spec.replicas` on it after the server accepted the dry run), and
//! `kubectl rollout restart` has no `--dry-run` (the preview reads the objects and shows the
//! `restartedAt` annotation it would set).
//!
//! ```no_run
//! # async fn demo(executor: kopilot_k8s::exec::Executor) -> kopilot_k8s::Result<()> {
//! use kopilot_core::safety::{Guard, Policy};
//! use kopilot_k8s::preview::preview;
//!
//! let guard = Guard::new(Policy::default());
//! if let Some(change) = preview(&executor, &guard, "kubectl scale deploy/web -n shop --replicas=5").await? {
//!     println!("{change}"); // a unified-style diff: -  replicas: 3 / +  replicas: 5
//! }
//! # Ok(())
//! # }
//! ```

mod argv;
mod diff;
mod objects;

use kopilot_core::preview::ChangePreviewer;
pub use kopilot_core::protocol::{ChangeAction, ChangePreview, ObjectChange};

use kopilot_core::safety::{
    Assessment, Decision, Guard, RequestContext, Risk, Verdict, quote_argv,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::exec::{Ending, ExecOutput, Executor};
use crate::redact::redact;
use objects::Identity;

/// The requester recorded in the audit for the commands a preview runs (see [`preview_for`] to
/// name the real one).
pub const PREVIEW_REQUESTER: &str = "kopilot change preview";

/// The runtime's [`ChangePreviewer`] for `kubectl` mutations: [`preview_for`] through its
/// executor, with the runtime's guard. [`register`](crate::tools::register) installs one.
#[derive(Clone)]
pub struct KubectlPreviewer {
    exec: Executor,
}

impl KubectlPreviewer {
    /// A previewer running its dry runs and reads through `exec`.
    pub fn new(exec: Executor) -> Self {
        Self { exec }
    }
}

#[async_trait::async_trait]
impl ChangePreviewer for KubectlPreviewer {
    async fn preview(
        &self,
        guard: &Guard,
        command: &str,
        ctx: &RequestContext,
        cancel: &CancellationToken,
    ) -> std::result::Result<Option<ChangePreview>, String> {
        preview_for(&self.exec, guard, command, ctx, cancel)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Previews `command_line` with a fresh cancellation token, auditing as [`PREVIEW_REQUESTER`].
///
/// # Errors
///
/// As [`preview_for`].
pub async fn preview(
    exec: &Executor,
    guard: &Guard,
    command_line: &str,
) -> Result<Option<ChangePreview>> {
    let ctx = RequestContext::new(kopilot_core::safety::Identity::new(PREVIEW_REQUESTER));
    preview_for(exec, guard, command_line, &ctx, &CancellationToken::new()).await
}

/// Previews `command_line`: `Ok(None)` when it is not a previewable `kubectl` mutation or a
/// command the preview needs is not cleared as low risk by `guard`; a [`ChangePreview`]
/// otherwise (with [`ChangePreview::failure`] set when the dry run failed, timed out or was
/// cancelled). The commands it runs are audited under `ctx`.
///
/// # Errors
///
/// What [`Executor::run`] returns when a command cannot be started (e.g.
/// [`Error::ProgramNotFound`](crate::Error::ProgramNotFound)).
pub async fn preview_for(
    exec: &Executor,
    guard: &Guard,
    command_line: &str,
    ctx: &RequestContext,
    cancel: &CancellationToken,
) -> Result<Option<ChangePreview>> {
    let Some(target) = Target::of(&guard.assess(command_line)) else {
        return Ok(None);
    };
    let mut runner = Runner {
        exec,
        guard,
        ctx,
        cancel,
        ran: Vec::new(),
    };
    let mut preview = ChangePreview {
        command: redact(command_line).into_owned(),
        ran: Vec::new(),
        changes: Vec::new(),
        failure: None,
        notes: Vec::new(),
    };
    let done = match &target {
        Target::DryRun(argv) | Target::Scale { dry_run: argv, .. } => {
            dry_run(&mut runner, &target, argv, &mut preview).await?
        }
        Target::Delete { dry_run, read } => {
            delete(&mut runner, dry_run, read, &mut preview).await?
        }
        Target::Restart { read } => restart(&mut runner, read, &mut preview).await?,
    };

    if done.is_none() {
        return Ok(None);
    }
    preview.ran = runner.ran.iter().map(|l| redact(l).into_owned()).collect();
    Ok(Some(preview))
}

/// How to preview a command: the argv of each command the preview runs, rewritten from the
/// guard's reading of the command's words.
enum Target {
    /// `--dry-run=server -o yaml` shows the result.
    DryRun(Vec<String>),
    /// `kubectl scale --replicas N` (N when readable): the dry run, then N set on the objects.
    Scale {
        dry_run: Vec<String>,
        replicas: Option<i64>,
    },
    /// `kubectl delete`: the dry run names the objects, the read shows them.
    Delete {
        dry_run: Vec<String>,
        read: Vec<String>,
    },
    /// `kubectl rollout restart` (no dry run): the read shows the objects.
    Restart { read: Vec<String> },
}

impl Target {
    fn of(assessment: &Assessment) -> Option<Self> {
        if assessment.decision == Decision::Block || assessment.risk == Risk::Low {
            return None;
        }
        let [stage] = assessment.pipeline.as_deref()? else {
            return None;
        };
        let [command] = assessment.commands.as_slice() else {
            return None;
        };
        // Only the configured `kubectl` (resolved by the executor), never a path from the line:
        // the dry run runs before anyone approved anything. The words rewritten are the ones
        // the guard read, and they must be the stage's.
        if stage.first().map(String::as_str) != Some("kubectl")
            || command.program != "kubectl"
            || command.argv != *stage
        {
            return None;
        }
        let reading = command.reading()?;
        let path: Vec<&str> = reading
            .command_path()
            .iter()
            .filter_map(|at| stage.get(*at).map(String::as_str))
            .collect();
        // The verb the guard assessed is the one rewritten, or there is no preview.
        if command.verb.as_deref() != Some(path.join(" ").as_str()) {
            return None;
        }
        let dry_run =
            |output: &str| argv::with_flags(&reading, &["--dry-run=server", "-o", output]);
        Some(match path.as_slice() {
            ["apply"] if reading.flag("prune").is_none() => Self::DryRun(dry_run("yaml")?),
            ["create", sub @ ..] if sub != ["token"] => Self::DryRun(dry_run("yaml")?),
            ["patch" | "replace" | "label" | "annotate" | "autoscale"] | ["set", _] => {
                Self::DryRun(dry_run("yaml")?)
            }
            ["scale"] => Self::Scale {
                dry_run: dry_run("yaml")?,
                replicas: argv::replicas(&reading),
            },
            ["delete"] => Self::Delete {
                dry_run: dry_run("name")?,
                read: argv::as_get(&reading)?,
            },
            ["rollout", "restart"] => Self::Restart {
                read: argv::as_get(&reading)?,
            },
            _ => return None,
        })
    }
}

/// Runs commands for a preview, each only once the guard has cleared it as low risk.
struct Runner<'a> {
    exec: &'a Executor,
    guard: &'a Guard,
    ctx: &'a RequestContext,
    cancel: &'a CancellationToken,
    ran: Vec<String>,
}

impl Runner<'_> {
    /// The output, or `None` when the guard did not clear `argv` as low risk.
    async fn run(&mut self, argv: &[String]) -> Result<Option<ExecOutput>> {
        let line = quote_argv(argv);
        let cleared = match self.guard.check(&line, self.ctx) {
            Verdict::Allowed(cleared) if cleared.assessment().risk == Risk::Low => cleared,
            Verdict::Allowed(_) | Verdict::NeedsApproval(_) | Verdict::Blocked(_) => {
                return Ok(None);
            }
        };
        self.ran.push(line);
        let output = self
            .exec
            .run(cleared, self.cancel, self.ctx.task_id.as_deref())
            .await?;
        Ok(Some(output))
    }

    /// The current version of an object; `Ok(None)` inside when it does not exist. The outer
    /// `None`: the guard refused the read.
    async fn current(&mut self, id: &Identity) -> Result<Option<Result<Option<Value>, String>>> {
        let mut argv = vec!["kubectl".to_owned(), "get".to_owned(), id.kubectl_type()];
        argv.push(id.name.clone());
        if let Some(ns) = &id.namespace {
            argv.extend(["-n".to_owned(), ns.clone()]);
        }
        argv.extend(["-o", "yaml", "--ignore-not-found"].map(str::to_owned));
        let Some(output) = self.run(&argv).await? else {
            return Ok(None);
        };
        if let Some(failure) = failure_of(&output) {
            return Ok(Some(Err(failure)));
        }
        Ok(Some(
            objects::parse(&output.stdout).map(|found| found.into_iter().next()),
        ))
    }
}

/// Why a run did not produce usable output, redacted; `None` when it did.
fn failure_of(output: &ExecOutput) -> Option<String> {
    let why = match output.ending {
        Ending::Exited(0) if output.discarded_bytes > 0 => format!(
            "the output was larger than the output cap ({} bytes discarded)",
            output.discarded_bytes
        ),
        Ending::Exited(0) => return None,
        Ending::Exited(code) => {
            let said = output.stderr.trim();
            if said.is_empty() {
                format!("kubectl exited with code {code}")
            } else {
                said.to_owned()
            }
        }
        Ending::Signalled => "kubectl was killed by a signal".to_owned(),
        Ending::TimedOut => format!("timed out after {:?}", output.duration),
        Ending::Cancelled => "cancelled".to_owned(),
    };
    Some(redact(&why).into_owned())
}

/// Objects in a successful run's output, or the failure recorded in `preview`.
fn objects_of(output: &ExecOutput, preview: &mut ChangePreview) -> Option<Vec<Value>> {
    if let Some(failure) = failure_of(output) {
        preview.failure = Some(failure);
        return None;
    }
    match objects::parse(&output.stdout) {
        Ok(found) => Some(found),
        Err(e) => {
            preview.failure =
                Some(redact(&format!("could not read kubectl's YAML: {e}")).into_owned());
            None
        }
    }
}

/// `Some(())` when the preview is complete (possibly with a failure); `None` when the guard
/// refused a command and there is no preview.
type Done = Option<()>;

/// The dry run `argv` of `target`; for `kubectl scale`, the objects it prints (as they were)
/// are shown with the `--replicas` value set, when readable.
async fn dry_run(
    runner: &mut Runner<'_>,
    target: &Target,
    argv: &[String],
    preview: &mut ChangePreview,
) -> Result<Done> {
    let Some(output) = runner.run(argv).await? else {
        return Ok(None);
    };
    let Some(found) = objects_of(&output, preview) else {
        return Ok(Some(()));
    };
    if let Target::Scale { replicas, .. } = target {
        match replicas {
            Some(_) => preview.notes.push(
                "kubectl scale prints objects as they were; the server accepted the dry run and \
                 the new replica count is shown as it would be set"
                    .to_owned(),
            ),
            None => preview.notes.push(
                "the --replicas value could not be read; only the current objects are shown"
                    .to_owned(),
            ),
        }
    }
    for object in found {
        let after = match target {
            Target::Scale {
                replicas: Some(replicas),
                ..
            } => objects::with_replicas(&object, *replicas),
            _ => object,
        };
        let Some(id) = Identity::of(&after) else {
            preview.notes.push(
                "the dry run returned an object without kind or name; it is not shown".to_owned(),
            );
            continue;
        };
        let before = match runner.current(&id).await? {
            None => return Ok(None),
            Some(Ok(before)) => before,
            Some(Err(failure)) => {
                preview.notes.push(format!(
                    "could not read the current {} {}: {failure}",
                    id.kind,
                    redact(&id.name)
                ));
                continue;
            }
        };
        preview
            .changes
            .extend(objects::change(before.as_ref(), Some(&after)));
    }
    Ok(Some(()))
}

async fn delete(
    runner: &mut Runner<'_>,
    dry_run: &[String],
    read: &[String],
    preview: &mut ChangePreview,
) -> Result<Done> {
    let Some(output) = runner.run(dry_run).await? else {
        return Ok(None);
    };
    if let Some(failure) = failure_of(&output) {
        preview.failure = Some(failure);
        return Ok(Some(()));
    }
    let mut names: Vec<String> = output
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Ok(Some(()));
    }
    let Some(read) = runner.run(read).await? else {
        return Ok(None);
    };
    let found = match failure_of(&read) {
        Some(failure) => {
            preview
                .notes
                .push(format!("could not read the objects: {failure}"));
            Vec::new()
        }
        None => objects::parse(&read.stdout).unwrap_or_default(),
    };
    for object in &found {
        let Some(id) = Identity::of(object) else {
            continue;
        };
        let Some(at) = names.iter().position(|n| *n == id.kubectl_name()) else {
            continue;
        };
        names.remove(at);
        preview.changes.extend(objects::change(Some(object), None));
    }
    for name in names {
        preview.notes.push(format!(
            "{} would also be deleted (it could not be read for the preview)",
            redact(&name)
        ));
    }
    if preview.changes.iter().any(|c| c.kind == "Namespace") {
        preview
            .notes
            .push("deleting a namespace deletes every object in it".to_owned());
    }
    Ok(Some(()))
}

async fn restart(
    runner: &mut Runner<'_>,
    read: &[String],
    preview: &mut ChangePreview,
) -> Result<Done> {
    let Some(output) = runner.run(read).await? else {
        return Ok(None);
    };
    let Some(found) = objects_of(&output, preview) else {
        return Ok(Some(()));
    };
    let now = time::OffsetDateTime::now_utc();
    let now = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    preview.notes.push(
        "kubectl rollout restart has no dry run; shown is the restartedAt annotation it would set \
         on each pod template, which makes the controller replace every pod"
            .to_owned(),
    );
    for object in &found {
        let after = objects::with_restarted_at(object, &now);
        preview
            .changes
            .extend(objects::change(Some(object), Some(&after)));
    }
    Ok(Some(()))
}
