//! `kopilot analyze`: runs the deterministic analyzers over a live cluster or snapshot files
//! and prints the findings as a table, Markdown or JSON. No model is involved.
//!
//! Object names, event messages and annotations come from the cluster, so the table and the
//! Markdown are rendered from an escaped report (`crate::escape`); JSON escapes for itself.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use kopilot_analyze::render::{self, Painter};
use kopilot_analyze::snapshot::prometheus::{self, DEFAULT_WINDOW};
use kopilot_analyze::snapshot::{ClusterSnapshot, LiveOptions, NamespaceScope, Skipped};
use kopilot_analyze::{AnalyzeOptions, CHECKS, CheckSelection, Pricing, Report, Severity, analyze};
use owo_colors::{OwoColorize as _, Stream};

use crate::UsageError;
use crate::escape;

const EXAMPLES: &str = "\
Examples:
  # Everything, on the current kubeconfig context, as a table
  kopilot analyze

  # Cost checks in one namespace, rightsizing from 7 days of Prometheus history
  kopilot analyze -n shop --checks 'cost.*' --prometheus http://prometheus.monitoring:9090

  # From files (kubectl get -o yaml dumps, manifests, lists); '-' reads standard input
  kubectl get pods,deploy,svc,pvc,pv,nodes,events -A -o yaml > cluster.yaml
  kopilot analyze --snapshot cluster.yaml --output markdown > report.md

  # In CI: JSON for tools, exit status 1 when anything high or worse is found
  kopilot analyze -o json --fail-on high | jq '.summary'

  # Leave out namespaces nobody on the team manages
  kopilot analyze --exclude-namespace kube-system,kube-public

  # The checks and their severities
  kopilot analyze --list-checks

Exit status: 0 when the analysis completed (whatever it found), 1 when --fail-on is met
or the cluster cannot be reached, 2 for usage errors and unreadable files.";

/// Arguments of `kopilot analyze`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct AnalyzeArgs {
    /// Analyze the objects in FILE instead of a live cluster (YAML or JSON, several
    /// documents, `kind: List`, `kubectl get -o yaml|json` output; `-` reads standard
    /// input). Repeat to combine files.
    #[arg(long = "snapshot", value_name = "FILE")]
    snapshots: Vec<PathBuf>,
    /// Kubeconfig file for a live cluster (default: KUBECONFIG, ~/.kube/config, then the
    /// in-cluster service account).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "CONTEXT")]
    context: Option<String>,
    /// Only these namespaces (repeat or separate with commas). Cluster-scoped findings
    /// (nodes, PersistentVolumes) are left out then. Default: all namespaces.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        value_delimiter = ','
    )]
    namespaces: Vec<String>,
    /// All namespaces (the default; kept for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespaces")]
    all_namespaces: bool,
    /// Leave out findings about objects in NS (repeat or separate with commas), such as a
    /// `kube-system` nobody on the team manages. Cluster-scoped findings stay. To silence
    /// checks on one object, annotate it: `kopilot.dev/ignore: "check-id,family.*"`.
    #[arg(long = "exclude-namespace", value_name = "NS", value_delimiter = ',')]
    exclude_namespaces: Vec<String>,
    /// Checks to run: ids and prefixes such as `cost.*` or `security`, separated by commas
    /// (default: all). See --list-checks.
    #[arg(long, value_name = "ID,PREFIX.*", value_delimiter = ',')]
    checks: Vec<String>,
    /// Prometheus base URL for usage history (p95 CPU and max memory per container);
    /// rightsizing uses it instead of one metrics-server sample.
    #[arg(long, value_name = "URL", env = "PROMETHEUS_URL")]
    prometheus: Option<String>,
    /// History window for --prometheus, in Prometheus syntax (7d, 36h, 2w).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_WINDOW)]
    prometheus_window: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Exit with status 1 when a finding is at least this severe.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<SeverityArg>,
    /// Unit prices for cost estimates: a YAML or JSON file with any of cpu_per_vcpu_hour,
    /// memory_per_gib_hour, storage_per_gib_month and currency (the same file the agent's
    /// `analyze` tool reads). Default: AWS us-east-1 on-demand list prices (Fargate per vCPU
    /// and GiB, EBS gp3 storage).
    #[arg(long, value_name = "FILE", env = "KOPILOT_PRICES")]
    prices: Option<PathBuf>,
    /// Price of one vCPU-hour, over the prices file (default: $0.04048).
    #[arg(long, value_name = "PRICE")]
    cpu_hour_price: Option<f64>,
    /// Price of one GiB-hour of memory, over the prices file (default: $0.004445).
    #[arg(long, value_name = "PRICE")]
    memory_gib_hour_price: Option<f64>,
    /// Price of one GiB-month of persistent storage, over the prices file (default: $0.08).
    #[arg(long, value_name = "PRICE")]
    storage_gib_month_price: Option<f64>,
    /// Print the checks (id, severity, what each finds) and exit.
    #[arg(long)]
    list_checks: bool,
    /// After the findings, the model's explanation of them (the model as for `kopilot ask`).
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    model_flags: crate::settings::ModelFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Grouped by severity; coloured on a terminal.
    Table,
    /// Markdown, for tickets.
    Markdown,
    /// JSON: findings, summary, skipped.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Info => Severity::Info,
        }
    }
}

/// Colours on a terminal that supports them (honours NO_COLOR / FORCE_COLOR).
struct Colours;

impl Painter for Colours {
    fn severity(&self, severity: Severity, text: &str) -> String {
        let styled = text.if_supports_color(Stream::Stdout, |t| match severity {
            Severity::Critical => t.bright_red().bold().to_string(),
            Severity::High => t.red().bold().to_string(),
            Severity::Medium => t.yellow().bold().to_string(),
            Severity::Low => t.cyan().bold().to_string(),
            Severity::Info => t.bold().to_string(),
        });
        styled.to_string()
    }
    fn dim(&self, text: &str) -> String {
        text.if_supports_color(Stream::Stdout, |t| t.dimmed().to_string())
            .to_string()
    }
    fn bold(&self, text: &str) -> String {
        text.if_supports_color(Stream::Stdout, |t| t.bold().to_string())
            .to_string()
    }
}

fn price(flag: &str, value: Option<f64>, default: f64) -> anyhow::Result<f64> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Some(v) => {
            Err(UsageError(format!("--{flag} must be a price of 0 or more, not {v}")).into())
        }
    }
}

/// Runs `kopilot analyze`.
pub(crate) fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if args.list_checks {
        let mut out = String::new();
        for c in CHECKS {
            let _ = writeln!(out, "{:<32} {:<9} {}", c.id, c.severity, c.description);
        }
        print(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.explain && args.output == OutputFormat::Json {
        return Err(UsageError(
            "--explain writes text after the findings; use it without --output json".to_owned(),
        )
        .into());
    }
    let checks =
        CheckSelection::parse(&args.checks).map_err(|e| UsageError(format!("--checks: {e}")))?;
    let defaults = match args.prices.as_deref().filter(|p| !p.as_os_str().is_empty()) {
        Some(path) => Pricing::from_file(path)
            .map_err(|e| UsageError(format!("--prices (KOPILOT_PRICES): {e}")))?,
        None => Pricing::default(),
    };
    let pricing = Pricing {
        cpu_per_vcpu_hour: price(
            "cpu-hour-price",
            args.cpu_hour_price,
            defaults.cpu_per_vcpu_hour,
        )?,
        memory_per_gib_hour: price(
            "memory-gib-hour-price",
            args.memory_gib_hour_price,
            defaults.memory_per_gib_hour,
        )?,
        storage_per_gib_month: price(
            "storage-gib-month-price",
            args.storage_gib_month_price,
            defaults.storage_per_gib_month,
        )?,
        currency: defaults.currency,
    };
    if let Some(url) = &args.prometheus {
        prometheus::validate_window(&args.prometheus_window)
            .map_err(|e| UsageError(format!("--prometheus-window: {e}")))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(UsageError(format!(
                "--prometheus: {url:?} must start with http:// or https://"
            ))
            .into());
        }
    }
    check_namespace_names("--namespace", &args.namespaces)?;
    check_namespace_names("--exclude-namespace", &args.exclude_namespaces)?;
    let live = args.snapshots.is_empty();
    if !live && (args.kubeconfig.is_some() || args.context.is_some()) {
        return Err(UsageError(
            "--kubeconfig and --context are for a live cluster; they cannot be combined with --snapshot".to_owned(),
        )
        .into());
    }
    let mut snapshot = if live {
        None
    } else {
        Some(read_snapshots(&args.snapshots)?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let snapshot = runtime.block_on(async {
        let mut snapshot = match snapshot.take() {
            Some(s) => s,
            None => load_live(&args).await?,
        };
        if let Some(url) = &args.prometheus {
            match prometheus::fetch_history(url, &args.prometheus_window, &args.namespaces).await {
                Ok(history) => snapshot.history = Some(history),
                Err(e) => {
                    eprintln!(
                        "kopilot: warning: {}; rightsizing falls back to metrics-server samples",
                        escape::line(&e.to_string())
                    );
                    snapshot.skipped.push(Skipped {
                        resource: "prometheus".to_owned(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        anyhow::Ok(snapshot)
    })?;
    check_namespaces_exist(&snapshot, &args.namespaces)?;
    let options = AnalyzeOptions {
        checks,
        namespaces: args.namespaces,
        exclude_namespaces: args.exclude_namespaces,
        pricing,
    };
    let mut report = analyze(&snapshot, &options);
    let facts = args.explain.then(|| render::json(&report));
    if args.output != OutputFormat::Json {
        escape_for_terminal(&mut report);
    }
    let text = match args.output {
        OutputFormat::Json => render::json(&report),
        OutputFormat::Markdown => render::markdown(&report),
        OutputFormat::Table if std::io::stdout().is_terminal() => render::table(&report, &Colours),
        OutputFormat::Table => render::table(&report, &render::Plain),
    };
    print(&text)?;
    if let Some(facts) = facts {
        runtime.block_on(crate::explain::explain(&facts, &args.model_flags))?;
    }
    match args.fail_on {
        Some(threshold) if report.has_findings_at_least(threshold.into()) => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Escapes, as one line each, the texts the table and the Markdown show (the evidence is
/// only in the JSON).
fn escape_for_terminal(report: &mut Report) {
    fn escape(text: &mut String) {
        if let Cow::Owned(escaped) = escape::line(text) {
            *text = escaped;
        }
    }
    for finding in &mut report.findings {
        escape(&mut finding.check);
        escape(&mut finding.object.kind);
        escape(&mut finding.object.name);
        escape(&mut finding.message);
        escape(&mut finding.recommendation);
        for text in [&mut finding.object.namespace, &mut finding.command]
            .into_iter()
            .flatten()
        {
            escape(text);
        }
    }
    for skipped in &mut report.skipped {
        escape(&mut skipped.resource);
        escape(&mut skipped.reason);
    }
    for ignored in &mut report.ignored {
        escape(&mut ignored.object.kind);
        escape(&mut ignored.object.name);
        if let Some(ns) = &mut ignored.object.namespace {
            escape(ns);
        }
    }
    for ns in &mut report.summary.excluded_namespaces {
        escape(ns);
    }
    for note in &mut report.summary.notes {
        escape(note);
    }
    escape(&mut report.summary.usage_source);
    escape(&mut report.summary.currency);
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("could not write the report")
        }
        _ => Ok(()),
    }
}

fn read_snapshots(paths: &[PathBuf]) -> anyhow::Result<ClusterSnapshot> {
    let mut files = Vec::new();
    let mut snapshot = ClusterSnapshot::default();
    for path in paths {
        let (name, text) = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| UsageError(format!("could not read standard input: {e}")))?;
            ("<stdin>".to_owned(), text)
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!(
                    "could not read snapshot file {}: {e}",
                    path.display()
                ))
            })?;
            (path.display().to_string(), text)
        };
        snapshot
            .add_text(&name, &text)
            .map_err(|e| UsageError(format!("{:#}", anyhow::Error::from(e))))?;
        files.push(name);
    }
    snapshot.source = kopilot_analyze::snapshot::SnapshotSource::Files { files };
    Ok(snapshot)
}

async fn load_live(args: &AnalyzeArgs) -> anyhow::Result<ClusterSnapshot> {
    let options = LiveOptions {
        namespaces: if args.namespaces.is_empty() {
            NamespaceScope::All
        } else {
            NamespaceScope::Only(args.namespaces.clone())
        },
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
    };
    match ClusterSnapshot::load_live(&options).await {
        Ok(s) => Ok(s),
        Err(e @ kopilot_analyze::Error::KubeConfig { .. }) => {
            Err(UsageError(format!("{:#}", anyhow::Error::from(e))).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Namespace names given with `flag` must be names the API server accepts.
fn check_namespace_names(flag: &str, names: &[String]) -> anyhow::Result<()> {
    for ns in names {
        if ns.trim().is_empty() {
            return Err(UsageError(format!("{flag}: an empty namespace name")).into());
        }
        if !kopilot_core::names::is_namespace_name(ns) {
            return Err(UsageError(format!(
                "{flag}: {ns:?} is not a namespace name (lowercase letters, digits and '-', \
                 starting and ending with a letter or digit, at most 63 characters)"
            ))
            .into());
        }
    }
    Ok(())
}

/// A namespace asked for with `-n` that the cluster does not have is an error, not an empty
/// report (which `--fail-on` would pass). Only a live cluster whose namespaces could be listed
/// can tell; snapshot files need not hold Namespace objects.
fn check_namespaces_exist(snapshot: &ClusterSnapshot, wanted: &[String]) -> anyhow::Result<()> {
    let live = matches!(
        snapshot.source,
        kopilot_analyze::snapshot::SnapshotSource::Live { .. }
    );
    if !live || snapshot.skipped.iter().any(|s| s.resource == "namespaces") {
        return Ok(());
    }
    let known: Vec<&str> = snapshot
        .namespaces
        .iter()
        .filter_map(|ns| ns.metadata.name.as_deref())
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|ns| !known.contains(ns))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "no namespace {} in the cluster (it has: {})",
        missing
            .iter()
            .map(|ns| format!("`{ns}`"))
            .collect::<Vec<_>>()
            .join(", "),
        known.join(", ")
    )
}
