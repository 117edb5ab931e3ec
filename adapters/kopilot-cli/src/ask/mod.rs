//! `kopilot ask`: one question to the agent, answered on the terminal (or as JSON Lines) with
//! every command it runs guarded, and anything risky put to the user first.
//!
//! This file wires the crates together; `ui` renders the event stream and asks for approvals,
//! `prompt` says what an approval is for, `markdown` styles the answer, `approver` connects
//! the runtime's approvals to the terminal.

mod approver;
mod markdown;
mod prompt;
mod ui;

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kopilot_core::llm::{ModelSelection, ProviderConfig, select_model};
use kopilot_core::safety::{AuditSink, Mode, Policy};
use kopilot_core::skills::SkillLoader;
use kopilot_core::{Kopilot, Limits, Status, TaskRequest};
use kopilot_fake::{FakeCluster, demo};
use kopilot_k8s::exec::ExecConfig;
use kopilot_k8s::exec::env::VarPattern;
use kopilot_k8s::tools::{K8sConfig, register};
use tokio::sync::mpsc;

use crate::UsageError;
use crate::state::{State, local_user};

pub(crate) use ui::{Output, Renderer, one_line, replay};

const EXAMPLES: &str = "\
Examples:
  # Try it with no cluster and no model: the bundled demo cluster, analyzers only
  kopilot ask --demo --offline \"Find over-provisioned deployments and orphaned PVCs\"

  # Your current kubeconfig context, a model from the environment (see `kopilot config show`)
  export LLM_PROVIDER=openai OPENAI_API_KEY=sk-...
  kopilot ask \"why is checkout crashlooping?\" -n shop

  # Straight to one specialist, and continue the conversation later
  kopilot ask --skill cost_optimization --session q4-costs \"what would rightsizing save?\"
  kopilot ask --session q4-costs \"and in the analytics namespace?\"

  # For scripts: the event stream as JSON Lines (one event per line, as it happens)
  kopilot ask --output json \"list failing pods\" | jq -c 'select(.event.type==\"tool_call\")'

Commands are checked by the safety guard before they run: reads run, changes wait for your
y/N (default No; with no terminal the answer is No), disasters are blocked. Every decision is
written to the audit log in the data directory (see `kopilot config show`).

Exit status: 0 answered; 1 the task failed, was cancelled or was rejected; 2 usage or
configuration error.";

/// Arguments of `kopilot ask`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct AskArgs {
    /// The question, in plain words. `-` (or nothing, with standard input not a terminal)
    /// reads it from standard input.
    #[arg(value_name = "PROMPT")]
    prompt: Option<String>,
    /// Ask one specialist skill directly instead of letting the supervisor choose
    /// (see `kopilot skills list`).
    #[arg(long, value_name = "NAME")]
    skill: Option<String>,
    /// Continue (or start) a conversation: earlier answers of this session are given to the
    /// model.
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Run against the bundled demo cluster, started in this process (nothing else needed).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    demo: bool,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "CONTEXT")]
    context: Option<String>,
    /// More variables to pass to kubectl and its credential plugins, as names or prefixes
    /// (`VAULT_ADDR,TELEPORT_*`), besides the built-in list (cloud credentials, proxies, CA
    /// bundles, locale; see the README). Model providers' keys are never passed.
    #[arg(
        long,
        value_name = "NAMES",
        env = "KOPILOT_KUBECTL_ENV",
        value_delimiter = ','
    )]
    kubectl_env: Vec<VarPattern>,
    /// The namespace the question is about (the agent is told to stay in it).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    namespace: Option<String>,
    /// What may run: read-only (reads only), approve (changes wait for your approval; the
    /// default), full-access (non-destructive changes run without asking). Overrides
    /// SAFETY_MODE.
    #[arg(long, value_enum, value_name = "MODE")]
    mode: Option<ModeArg>,
    /// Have a second model call review the answer, and re-plan once when it scores low.
    #[arg(long)]
    reflect: bool,
    /// Answer without a model, from the deterministic analyzers only.
    #[arg(long)]
    offline: bool,
    /// text: rendered for people (plain when piped); json: the task's events as JSON Lines.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Model turns per agent (default 10, or the skill's own lower limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    max_steps: Option<u16>,
    /// Give up after this long, e.g. 90s, 5m, 1h (default 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Only reads run; everything else is blocked.
    ReadOnly,
    /// Reads run; changes wait for approval; disasters are blocked.
    Approve,
    /// Reads and non-destructive changes run; destructive ones wait for approval.
    FullAccess,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::ReadOnly => Mode::ReadOnly,
            ModeArg::Approve => Mode::Approve,
            ModeArg::FullAccess => Mode::FullAccess,
        }
    }
}

/// Parses `90`, `90s`, `5m`, `1h`, `1h30m`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration; write it like 90s, 5m or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(digits);
        let value: u64 = number.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            _ => return Err(invalid()),
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    if total.is_zero() {
        return Err(format!("`{text}` is zero; give a time above zero"));
    }
    Ok(total)
}

/// Runs `kopilot ask`.
pub(crate) fn run(args: AskArgs) -> anyhow::Result<ExitCode> {
    let prompt = read_prompt(args.prompt.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let code = runtime.block_on(ask(args, prompt));
    // A prompt thread may still be blocked reading the terminal: don't wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

fn read_prompt(arg: Option<&str>) -> anyhow::Result<String> {
    let prompt = match arg {
        Some(text) if text != "-" => text.to_owned(),
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() && arg.is_none() {
                return Err(UsageError(
                    "no question given: write it as an argument, e.g. kopilot ask \"why is checkout crashlooping?\", or pipe it on standard input"
                        .to_owned(),
                )
                .into());
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .context("could not read the question from standard input")?;
            String::from_utf8(bytes).map_err(|e| {
                UsageError(format!(
                    "the question on standard input is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ))
            })?
        }
    };
    let prompt = prompt.trim();
    if prompt.is_empty() {
        return Err(UsageError("the question is empty".to_owned()).into());
    }
    Ok(prompt.to_owned())
}

/// The cluster the tools talk to, and the demo server when `--demo` started one.
struct Cluster {
    exec: ExecConfig,
    demo: Option<(FakeCluster, PathBuf)>,
}

impl Cluster {
    async fn connect(args: &AskArgs, state: &State) -> anyhow::Result<Self> {
        let mut exec = ExecConfig {
            extra_env: args.kubectl_env.clone(),
            ..ExecConfig::default()
        };
        if !args.demo {
            exec.kubeconfig = args.kubeconfig.clone().or_else(|| {
                std::env::var_os("KUBECONFIG")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            });
            exec.context.clone_from(&args.context);
            return Ok(Self { exec, demo: None });
        }
        let cluster = demo::builder()
            .start()
            .await
            .context("could not start the demo cluster")?;
        let path = state
            .dir
            .join(format!("demo-{}.kubeconfig", std::process::id()));
        cluster.write_kubeconfig(&path)?;
        exec.kubeconfig = Some(path.clone());
        exec.context = Some(demo::DEMO_CONTEXT.to_owned());
        Ok(Self {
            exec,
            demo: Some((cluster, path)),
        })
    }

    /// The namespace the kubeconfig context defaults to, when the kubeconfig can be read.
    async fn default_namespace(&self) -> Option<String> {
        let options = kopilot_analyze::snapshot::LiveOptions {
            kubeconfig: self.exec.kubeconfig.clone(),
            context: self.exec.context.clone(),
            ..Default::default()
        };
        options
            .config()
            .await
            .ok()
            .map(|config| config.default_namespace)
    }

    async fn stop(self) {
        if let Some((cluster, path)) = self.demo {
            cluster.stop().await;
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn ask(args: AskArgs, prompt: String) -> anyhow::Result<ExitCode> {
    let policy = Policy::from_env().map_err(|e| UsageError(e.to_string()))?;
    let policy = match args.mode {
        Some(mode) => policy.with_mode(mode.into()),
        None => policy,
    };
    let limits = Limits::from_env().map_err(|e| UsageError(e.to_string()))?;
    let skills = SkillLoader::from_env()
        .and_then(|loader| loader.load())
        .map_err(|e| UsageError(format!("{e:#}")))?;
    if let Some(skill) = &args.skill
        && skills.get(skill).is_none()
    {
        return Err(UsageError(format!(
            "--skill: there is no skill `{skill}`; the skills are: {}",
            skills.names().join(", ")
        ))
        .into());
    }
    // A wrong kubeconfig, context or server fails here, before any task (--demo makes its own).
    if !args.demo {
        crate::preflight::check(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    }
    let model = if args.offline {
        None
    } else {
        let config = ProviderConfig::from_env().map_err(|e| UsageError(e.to_string()))?;
        match select_model(&config)
            .await
            .map_err(|e| UsageError(e.to_string()))?
        {
            ModelSelection::Model(model) => Some(model),
            ModelSelection::Unavailable { reason } => {
                eprintln!("kopilot: {}", crate::escape::line(&reason));
                None
            }
        }
    };

    let state = State::open()?;
    let cluster = Cluster::connect(&args, &state).await?;
    // kubectl and helm act in the context's namespace when given no -n: the guard judges such
    // commands there (a change without -n in a protected namespace is blocked).
    let policy = match cluster.default_namespace().await {
        Some(namespace) => policy.with_default_namespace(namespace),
        None => policy,
    };
    let user = local_user();
    let interactive = std::io::stdin().is_terminal();
    let (asks_tx, asks) = mpsc::channel(4);
    let approver = approver::for_terminal(
        interactive,
        policy.four_eyes(),
        kopilot_core::safety::Identity::new(user.clone()),
        asks_tx,
    );
    let State { store, audit, .. } = state;
    let audit: Arc<dyn AuditSink> = audit;
    let store = Arc::new(store);
    let mut builder = Kopilot::builder()
        .skills(skills)
        .policy(policy)
        .approver(approver)
        .audit(Arc::clone(&audit))
        .store(store)
        .limits(limits)
        .reflection(args.reflect);
    if let Some(model) = &model {
        builder = builder.model(Arc::clone(model));
    }
    let k8s = K8sConfig {
        exec: cluster.exec.clone(),
        enable_shell: false,
    };
    let kopilot = register(builder, &k8s, Arc::clone(&audit))
        .build()
        .map_err(|e| UsageError(e.to_string()))?;

    let mut request = TaskRequest::new(prompt)
        .requester(user.clone())
        .reflect(args.reflect)
        .offline(model.is_none());
    request.max_steps = args.max_steps.map(usize::from);
    request.timeout = args.timeout;
    if let Some(skill) = &args.skill {
        request = request.skill(skill.clone());
    }
    if let Some(session) = &args.session {
        request = request.session(session.clone());
    }
    if let Some(namespace) = &args.namespace {
        request = request.namespace(namespace.clone());
    }
    let handle = kopilot.submit(request);
    let mut renderer = Renderer::live(args.output, args.skill.clone(), interactive);
    let result = ui::drive(&handle, &mut renderer, asks).await;
    // The history must hold the whole task before the process ends.
    kopilot.flush().await;
    cluster.stop().await;
    Ok(exit_code(result.status))
}

/// The exit status for how a task ended: 0 answered, 1 anything else (a live status cannot
/// end `ask`, which waits for the result, but would also be 1).
fn exit_code(status: Status) -> ExitCode {
    match status {
        Status::Succeeded => ExitCode::SUCCESS,
        Status::Failed
        | Status::Cancelled
        | Status::Interrupted
        | Status::Rejected
        | Status::Queued
        | Status::Running
        | Status::WaitingForApproval => ExitCode::from(1),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "m", "5x", "1.5m", "-3s", "0s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
