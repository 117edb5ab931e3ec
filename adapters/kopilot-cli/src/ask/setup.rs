//! What `kopilot ask` and `kopilot chat` share: the flags that shape a task, and the runtime
//! built from them (settings, model, cluster, task store, audit log, the terminal's approver).
//! A chat rebuilds the runtime when `/model` or `/mode` changes it; the rest stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kopilot_core::llm::{ChatModel, ModelSelection, select_model};
use kopilot_core::safety::{Approver, AuditSink, ChannelApprover, Identity, Mode, Policy};
use kopilot_core::skills::SkillRegistry;
use kopilot_core::{Kopilot, Limits, Prices, SqliteStore, TaskRequest};
use kopilot_fake::{FakeCluster, demo};
use kopilot_k8s::exec::ExecConfig;
use kopilot_k8s::exec::env::VarPattern;
use kopilot_k8s::tools::{K8sConfig, register};
use tokio::sync::mpsc;

use super::approver;
use super::ui::{Output, Renderer, Terminal};
use crate::UsageError;
use crate::lines::Lines;
use crate::settings::{ModelFlags, Settings};
use crate::state::{State, local_user};

/// The flags of `ask` and `chat` that shape the tasks.
#[derive(Debug, Args)]
pub(crate) struct TaskArgs {
    /// Ask one specialist skill directly instead of letting the supervisor choose
    /// (see `kopilot skills list`).
    #[arg(long, value_name = "NAME")]
    pub(crate) skill: Option<String>,
    /// Continue (or start) a conversation: earlier answers of this session are given to the
    /// model.
    #[arg(long, value_name = "ID")]
    pub(crate) session: Option<String>,
    /// The namespace the question is about (the agent is told to stay in it).
    #[arg(short = 'n', long = "namespace", value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// Have a second model call review the answer, and re-plan once when it scores low.
    #[arg(long)]
    pub(crate) reflect: bool,
    /// Model turns per agent (default 10, or the skill's own lower limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) max_steps: Option<u16>,
    /// Give up after this long, e.g. 90s, 5m, 1h (default 5m).
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub(crate) timeout: Option<Duration>,
    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,
}

/// The flags that shape the runtime every task runs in: the cluster, the model, the safety
/// mode and the limits (`ask`, `chat` and `serve`).
#[derive(Debug, Args)]
pub(crate) struct RuntimeArgs {
    /// Run against the bundled demo cluster, started in this process (nothing else needed).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    pub(crate) demo: bool,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "CONTEXT")]
    pub(crate) context: Option<String>,
    /// More variables to pass to kubectl and its credential plugins, as names or prefixes
    /// (`VAULT_ADDR,TELEPORT_*`), besides the built-in list (cloud credentials, proxies, CA
    /// bundles, locale; see the README). Model providers' keys are never passed.
    #[arg(
        long,
        value_name = "NAMES",
        env = "KOPILOT_KUBECTL_ENV",
        value_delimiter = ','
    )]
    pub(crate) kubectl_env: Vec<VarPattern>,
    /// What may run: read-only (reads only), approve (changes wait for approval; the
    /// default), full-access (non-destructive changes run without asking). Overrides
    /// SAFETY_MODE.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) mode: Option<ModeArg>,
    /// Answer without a model, from the deterministic analyzers only.
    #[arg(long, conflicts_with_all = ["provider", "model"])]
    pub(crate) offline: bool,
    #[command(flatten)]
    pub(crate) model_flags: ModelFlags,
    /// Stop once the task's model calls have used this many tokens, input plus output
    /// (default: no limit). Overrides KOPILOT_MAX_TOKENS.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_tokens: Option<u64>,
    /// Stop after this many tool calls across all agents (default 50). Overrides
    /// KOPILOT_MAX_TOOL_CALLS.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_tool_calls: Option<u64>,
    /// Stop once the model calls have cost this many dollars. Needs the model's prices in
    /// LLM_PRICES (e.g. LLM_PRICES=input=2.50,output=10.00, dollars per million tokens), which
    /// also put the task's cost in the footer.
    #[arg(long, value_name = "DOLLARS", value_parser = parse_dollars)]
    pub(crate) max_cost: Option<f64>,
}

/// Parses a dollar amount above zero: `0.50`, `$2`.
fn parse_dollars(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_start_matches('$');
    number
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d > 0.0)
        .ok_or_else(|| format!("`{text}` is not an amount of dollars above zero, e.g. 0.50"))
}

/// The model's prices from `LLM_PRICES` (`input=2.50,output=10.00`, dollars per million
/// tokens), if set.
fn model_prices(settings: &Settings) -> Result<Option<Prices>, UsageError> {
    let Some(text) = settings.get("LLM_PRICES") else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        UsageError(format!(
            "LLM_PRICES: {why} in `{text}`; write it as input=2.50,output=10.00 (dollars per \
             million tokens)"
        ))
    };
    let (mut input, mut output) = (None, None);
    for part in text.split(',').map(str::trim) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| invalid(&format!("`{part}` is not key=value")))?;
        let value = value
            .trim()
            .trim_start_matches('$')
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| invalid(&format!("`{}` is not a price", value.trim())))?;
        match key.trim() {
            "input" => input = Some(value),
            "output" => output = Some(value),
            other => return Err(invalid(&format!("unknown key `{other}`"))),
        }
    }
    match (input, output) {
        (Some(input_per_million), Some(output_per_million)) => Ok(Some(Prices {
            input_per_million,
            output_per_million,
        })),
        _ => Err(invalid("both input and output are needed")),
    }
}

impl TaskArgs {
    /// The request for one question, in `session` (else the `--session` given).
    pub(crate) fn request(
        &self,
        prompt: String,
        requester: &str,
        offline: bool,
        session: Option<&str>,
    ) -> TaskRequest {
        let mut request = TaskRequest::new(prompt)
            .requester(requester.to_owned())
            .reflect(self.reflect)
            .offline(offline);
        request.max_steps = self.max_steps.map(usize::from);
        request.timeout = self.timeout;
        if let Some(skill) = &self.skill {
            request = request.skill(skill.clone());
        }
        if let Some(session) = session.or(self.session.as_deref()) {
            request = request.session(session.to_owned());
        }
        if let Some(namespace) = &self.namespace {
            request = request.namespace(namespace.clone());
        }
        request
    }
}

/// `--mode` (and a chat's `/mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
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

/// The cluster the tools talk to, and the demo server when `--demo` started one.
pub(crate) struct Cluster {
    exec: ExecConfig,
    demo: Option<(FakeCluster, PathBuf)>,
}

impl Cluster {
    async fn connect(args: &RuntimeArgs, state: &State) -> anyhow::Result<Self> {
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

/// Everything a task runs with, built once per `ask` or `chat`.
pub(crate) struct Setup {
    pub(crate) settings: Settings,
    /// The model, or `None` for offline mode (asked for, or none answered).
    pub(crate) model: Option<Arc<dyn ChatModel>>,
    policy: Policy,
    limits: Limits,
    skills: SkillRegistry,
    approver: Arc<dyn Approver>,
    audit: Arc<dyn AuditSink>,
    store: Arc<SqliteStore>,
    cluster: Cluster,
    reflect: bool,
    /// Who asks (the local user), for requests and the audit log.
    pub(crate) user: String,
    /// Whether standard input is a terminal (approvals are asked there; else denied).
    pub(crate) interactive: bool,
    /// The model's prices (`LLM_PRICES`), for dollar budgets and the task's cost.
    pub(crate) prices: Option<Prices>,
}

impl Setup {
    /// Reads the settings, picks the model, opens the task store and the audit log, and
    /// connects the cluster (starting the demo one for `--demo`). Returns the terminal the
    /// tasks' approvals are put to.
    pub(crate) async fn new(
        task: &TaskArgs,
        settings: Settings,
    ) -> anyhow::Result<(Self, Terminal)> {
        if let Some(skill) = &task.skill {
            let skills = settings
                .skill_loader()?
                .load()
                .map_err(|e| UsageError(format!("{e:#}")))?;
            if skills.get(skill).is_none() {
                return Err(UsageError(format!(
                    "--skill: there is no skill `{skill}`; the skills are: {}",
                    skills.names().join(", ")
                ))
                .into());
            }
        }
        Self::for_runtime(&task.runtime, task.reflect, settings).await
    }

    /// What [`Setup::new`] does, for a runtime that serves many tasks (`serve`): no skill or
    /// session of its own.
    pub(crate) async fn for_runtime(
        args: &RuntimeArgs,
        reflect: bool,
        settings: Settings,
    ) -> anyhow::Result<(Self, Terminal)> {
        let policy = settings.policy()?;
        let policy = match args.mode {
            Some(mode) => policy.with_mode(mode.into()),
            None => policy,
        };
        let mut limits = settings.limits()?;
        if let Some(tokens) = args.max_tokens {
            limits.budget.tokens = Some(tokens);
        }
        if let Some(calls) = args.max_tool_calls {
            limits.budget.tool_calls = Some(calls);
        }
        let prices = model_prices(&settings)?;
        // The analyzers' prices file is read when the tools are built; a bad one is a
        // configuration error now, not a failure of the first analysis.
        kopilot_analyze::Pricing::from_env().map_err(|e| UsageError(e.to_string()))?;
        if let Some(dollars) = args.max_cost {
            if prices.is_none() {
                return Err(UsageError(
                    "--max-cost needs the model's prices: set LLM_PRICES=input=2.50,output=10.00 \
                     (dollars per million tokens, from your provider's price list)"
                        .to_owned(),
                )
                .into());
            }
            limits.budget.dollars = Some(dollars);
        }
        let skills = settings
            .skill_loader()?
            .load()
            .map_err(|e| UsageError(format!("{e:#}")))?;
        // A wrong kubeconfig, context or server fails here, before any task (--demo makes
        // its own).
        if !args.demo {
            crate::preflight::check(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        }
        let model = if args.offline {
            None
        } else {
            pick_model(&settings).await?
        };

        let state = State::open()?;
        let interrupted = State::mark_interrupted(&state.store).await?;
        if interrupted > 0 {
            let tasks = if interrupted == 1 { "task" } else { "tasks" };
            eprintln!(
                "kopilot: {interrupted} earlier {tasks} ended without a result (the process was \
                 killed); marked interrupted (see `kopilot history`)"
            );
        }
        let cluster = Cluster::connect(args, &state).await?;
        // kubectl and helm act in the context's namespace when given no -n: the guard judges
        // such commands there (a change without -n in a protected namespace is blocked).
        let policy = match cluster.default_namespace().await {
            Some(namespace) => policy.with_default_namespace(namespace),
            None => policy,
        };
        let user = local_user();
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        let (asks_tx, asks) = mpsc::channel(4);
        let approver = approver::for_terminal(
            interactive,
            policy.four_eyes(),
            Identity::new(user.clone()),
            asks_tx,
        );
        let State { store, audit, .. } = state;
        let audit: Arc<dyn AuditSink> = audit;
        let setup = Self {
            settings,
            model,
            policy,
            limits,
            skills,
            approver,
            audit,
            store: Arc::new(store),
            cluster,
            reflect,
            user,
            interactive,
            prices,
        };
        Ok((setup, Terminal::new(asks, Lines::stdin())))
    }

    /// The runtime, with the model and the policy as they are now, its approvals put to this
    /// terminal.
    pub(crate) fn kopilot(&self) -> anyhow::Result<Kopilot> {
        self.build(Kopilot::builder().approver(Arc::clone(&self.approver)))
    }

    /// The runtime with its approvals put to `desk`, where an adapter lists and answers them
    /// by id (`serve`).
    pub(crate) fn kopilot_with_desk(&self, desk: ChannelApprover) -> anyhow::Result<Kopilot> {
        self.build(Kopilot::builder().approval_desk(desk))
    }

    fn build(&self, builder: kopilot_core::KopilotBuilder) -> anyhow::Result<Kopilot> {
        let mut builder = builder
            .skills(self.skills.clone())
            .policy(self.policy.clone())
            .audit(Arc::clone(&self.audit))
            .store(Arc::clone(&self.store) as Arc<dyn kopilot_core::TaskStore>)
            .limits(self.limits)
            .reflection(self.reflect);
        if let Some(prices) = self.prices {
            builder = builder.prices(prices);
        }
        if let Some(model) = &self.model {
            builder = builder.model(Arc::clone(model));
        }
        let k8s = K8sConfig {
            exec: self.cluster.exec.clone(),
            enable_shell: false,
        };
        Ok(register(builder, &k8s, Arc::clone(&self.audit))
            .build()
            .map_err(|e| UsageError(e.to_string()))?)
    }

    /// How a task's events are shown: `output`, the answer of `skill` (else the
    /// supervisor's), approvals on this terminal, and the task's cost when prices are known.
    pub(crate) fn renderer(&self, output: Output, skill: Option<String>) -> Renderer {
        let mut renderer = Renderer::live(output, skill, self.interactive);
        renderer.prices = self.prices;
        renderer
    }

    /// Whether the policy wants four-eyes approvals.
    pub(crate) fn four_eyes(&self) -> bool {
        self.policy.four_eyes()
    }

    /// The kubeconfig and context the tools use (the demo cluster's with `--demo`).
    pub(crate) fn cluster_target(&self) -> (Option<PathBuf>, Option<String>) {
        (
            self.cluster.exec.kubeconfig.clone(),
            self.cluster.exec.context.clone(),
        )
    }

    /// The safety mode now in force.
    pub(crate) fn mode(&self) -> Mode {
        self.policy.mode()
    }

    /// Changes the safety mode for the tasks of runtimes built from now on.
    pub(crate) fn set_mode(&mut self, mode: Mode) {
        self.policy = self.policy.clone().with_mode(mode);
    }

    /// Picks the model again from the settings as they are now (after a `/model`).
    pub(crate) async fn repick_model(&mut self) -> anyhow::Result<()> {
        self.model = pick_model(&self.settings).await?;
        Ok(())
    }

    /// Stops the demo cluster, if one was started.
    pub(crate) async fn stop(self) {
        self.cluster.stop().await;
    }
}

/// The configured model; `None` (with a note) when the default Ollama does not answer.
async fn pick_model(settings: &Settings) -> anyhow::Result<Option<Arc<dyn ChatModel>>> {
    let config = settings.provider_config()?;
    match select_model(&config)
        .await
        .map_err(|e| UsageError(e.to_string()))?
    {
        ModelSelection::Model(model) => Ok(Some(model)),
        ModelSelection::Unavailable { reason } => {
            eprintln!("kopilot: {}", crate::escape::line(&reason));
            Ok(None)
        }
    }
}
