//! `kopilot safety assess`: the guard from the command line, for people and for scripts. The
//! human output quotes the command line (and the reasons quote its words), so it is escaped
//! (`crate::escape`); `--json` is JSON, which escapes control characters itself.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kopilot_safety::{
    Assessment, CommandAssessment, Decision, Exposure, Guard, Mode, ParsedFlag, Policy, Risk,
};
use owo_colors::{OwoColorize, Stream};

use crate::escape;

/// Inspect what the guard decides for a command line.
#[derive(Debug, Args)]
pub(crate) struct SafetyArgs {
    #[command(subcommand)]
    command: SafetyCommand,
}

#[derive(Debug, Subcommand)]
enum SafetyCommand {
    /// Assess a command line: decision (allow, approve, block), risk and reasons.
    #[command(after_help = ASSESS_EXAMPLES)]
    Assess(AssessArgs),
}

const ASSESS_EXAMPLES: &str = "\
Examples:
  kopilot safety assess \"kubectl get pods -A | grep -v Running\"
  kopilot safety assess --mode read-only \"kubectl scale deploy/web --replicas=3 -n shop\"
  kopilot safety assess --json \"kubectl delete ns kube-system\"
  echo 'kubectl get pods; rm -rf /' | kopilot safety assess -
  printf '%s\\n' '{\"command\":\"kubectl get pods\"}' '{\"command\":\"helm uninstall web\"}' \\
    | kopilot safety assess --json -

Exit status: 0 when the assessment completed (whatever the verdict), 2 for usage errors.
The policy starts from SAFETY_POLICY_FILE, SAFETY_MODE, SAFETY_PROTECTED_NAMESPACES,
SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE, SAFETY_HARD_BLOCK and SAFETY_READ_ONLY_FILTERS;
flags override them.";

#[derive(Debug, Args)]
struct AssessArgs {
    /// Safety mode: read-only, approve or full-access [default: SAFETY_MODE, else approve].
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    mode: Option<Mode>,

    /// Comma-separated protected namespaces [default: SAFETY_PROTECTED_NAMESPACES, else
    /// kube-system,kube-public,kube-node-lease].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    protected_namespaces: Option<Vec<String>>,

    /// A YAML policy file (overrides SAFETY_POLICY_FILE).
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,

    /// Print JSON. With `-` as the command: read JSON Lines `{"command":"..."}` from stdin and
    /// write one verdict line per input line, in order.
    #[arg(long)]
    json: bool,

    /// The command line, quoted as one argument; `-` reads it from stdin.
    #[arg(value_name = "COMMAND", allow_hyphen_values = true, num_args = 1..)]
    command: Vec<String>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse::<Mode>().map_err(|e| e.to_string())
}

pub(crate) fn run(args: SafetyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SafetyCommand::Assess(args) => assess(&args),
    }
}

fn assess(args: &AssessArgs) -> anyhow::Result<ExitCode> {
    let guard = Guard::new(policy(args)?);
    let command = match args.command.as_slice() {
        [one] => one.as_str(),
        _ => {
            return Err(crate::UsageError(
                "pass the command line as one quoted argument, e.g. kopilot safety assess \"kubectl get pods -n shop\"".to_owned(),
            )
            .into());
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if command == "-" && args.json {
        batch(&guard, std::io::stdin().lock(), &mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let assessment = if command == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading the command line from stdin")?;
        while bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        guard.assess_bytes(&bytes)
    } else {
        guard.assess(command)
    };
    if args.json {
        serde_json::to_writer(&mut out, &Verdict::of(&assessment))?;
        writeln!(out)?;
    } else {
        print_human(&mut out, &assessment)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn policy(args: &AssessArgs) -> anyhow::Result<Policy> {
    let policy_file = args.policy.as_ref().map(|p| p.display().to_string());
    // The environment and the configuration file, as `ask` reads them.
    let settings = crate::settings::Settings::load()?;
    let base = Policy::from_lookup(|name| {
        if name == "SAFETY_POLICY_FILE" && policy_file.is_some() {
            return policy_file.clone();
        }
        settings.get(name)
    })
    .map_err(|e| crate::UsageError(e.to_string()))?;
    let mut builder = Policy::builder()
        .mode(args.mode.unwrap_or(base.mode()))
        .protected_namespaces(
            args.protected_namespaces
                .clone()
                .unwrap_or_else(|| base.protected_namespaces().to_vec()),
        )
        .require_approval_destructive(base.require_approval_destructive())
        .four_eyes(base.four_eyes())
        .approval_ttl(base.approval_ttl());
    for pattern in base.hard_block_patterns() {
        builder = builder.hard_block(pattern.as_str());
    }
    for program in base.read_only_filters() {
        builder = builder.read_only_filter(program.clone());
    }
    if args
        .protected_namespaces
        .as_ref()
        .is_some_and(|n| n.iter().any(|s| s.trim().is_empty()))
    {
        bail!(crate::UsageError(
            "--protected-namespaces: a namespace name is empty".to_owned()
        ));
    }
    builder
        .build()
        .map_err(|e| crate::UsageError(e.to_string()).into())
}

/// Reads JSON Lines from `input` and writes one verdict per line. Output is buffered and
/// flushed whenever the input has nothing more buffered (so a program that writes one line
/// and waits gets its verdict at once), not once per line.
fn batch(guard: &Guard, input: impl Read, out: &mut impl Write) -> anyhow::Result<()> {
    let mut input = std::io::BufReader::with_capacity(64 * 1024, input);
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = Vec::new();
    for number in 1.. {
        if input.buffer().is_empty() {
            // The next read may wait for more input: what was assessed goes out first.
            out.flush()?;
        }
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        match serde_json::from_slice::<Request<'_>>(&line) {
            Ok(Request {
                command: Some(command),
            }) => {
                serde_json::to_writer(&mut out, &Verdict::of(&guard.assess(&command)))?;
            }
            Ok(Request { command: None }) => {
                write_rejected(
                    &mut out,
                    number,
                    "the object has no string field \"command\"",
                )?;
            }
            Err(e) if e.is_data() => {
                // Valid JSON of another shape (rare): say which.
                let object = matches!(
                    serde_json::from_slice::<serde_json::Value>(&line),
                    Ok(serde_json::Value::Object(_))
                );
                let why = if object {
                    "the object has no string field \"command\""
                } else {
                    "expected a JSON object like {\"command\":\"...\"}"
                };
                write_rejected(&mut out, number, why)?;
            }
            Err(e) => write_rejected(&mut out, number, &format!("not valid JSON: {e}"))?,
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// One input line of the batch mode; `command` is borrowed when it has no escapes.
#[derive(serde::Deserialize)]
struct Request<'a> {
    #[serde(default, borrow)]
    command: Option<std::borrow::Cow<'a, str>>,
}

fn write_rejected(out: &mut impl Write, line: usize, why: &str) -> anyhow::Result<()> {
    let reasons = [format!("input line {line}: {why}")];
    serde_json::to_writer(
        out,
        &Verdict {
            command: None,
            commands: Vec::new(),
            decision: Decision::Block,
            reasons: &reasons,
            risk: Risk::Critical,
        },
    )?;
    Ok(())
}

/// The JSON verdict (keys in alphabetical order, as the output has always had them).
#[derive(serde::Serialize)]
struct Verdict<'a> {
    command: Option<&'a str>,
    commands: Vec<CommandVerdict<'a>>,
    decision: Decision,
    reasons: &'a [String],
    risk: Risk,
}

impl<'a> Verdict<'a> {
    fn of(a: &'a Assessment) -> Self {
        Self {
            command: Some(&a.command),
            commands: a.commands.iter().map(CommandVerdict::of).collect(),
            decision: a.decision,
            reasons: &a.reasons,
            risk: a.risk,
        }
    }
}

/// One command as the guard parsed it; the parse's optional parts only when present.
#[derive(serde::Serialize)]
struct CommandVerdict<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    all_namespaces: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    connection_flags: &'a [String],
    #[serde(skip_serializing_if = "Exposure::is_none")]
    exposure: Exposure,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flags: Vec<FlagVerdict<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    names: &'a [String],
    namespaces: &'a [String],
    program: &'a str,
    reasons: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    resources: &'a [String],
    risk: Risk,
    verb: Option<&'a str>,
}

impl<'a> CommandVerdict<'a> {
    fn of(c: &'a CommandAssessment) -> Self {
        Self {
            all_namespaces: c.all_namespaces,
            connection_flags: &c.connection_flags,
            exposure: c.exposure,
            flags: c.flags.iter().map(FlagVerdict::of).collect(),
            names: &c.names,
            namespaces: &c.namespaces,
            program: &c.program,
            reasons: &c.reasons,
            resources: &c.resources,
            risk: c.risk,
            verb: c.verb.as_deref(),
        }
    }
}

#[derive(serde::Serialize)]
struct FlagVerdict<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dynamic: bool,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
}

impl<'a> FlagVerdict<'a> {
    fn of(f: &'a ParsedFlag) -> Self {
        Self {
            dynamic: f.dynamic,
            name: &f.name,
            value: f.value.as_deref(),
        }
    }
}

fn print_human(out: &mut impl Write, a: &Assessment) -> std::io::Result<()> {
    let decision = a.decision.as_str().to_uppercase();
    let styled = match a.decision {
        Decision::Allow => format!(
            "{}",
            decision.if_supports_color(Stream::Stdout, |t| t.green())
        ),
        Decision::Approve => format!(
            "{}",
            decision.if_supports_color(Stream::Stdout, |t| t.yellow())
        ),
        Decision::Block => format!(
            "{}",
            decision.if_supports_color(Stream::Stdout, |t| t.red())
        ),
    };
    writeln!(
        out,
        "{styled} ({} risk): {}",
        a.risk,
        escape::line(&a.command)
    )?;
    for reason in &a.reasons {
        writeln!(out, "  - {}", escape::line(reason))?;
    }
    if a.commands.len() > 1 || a.commands.iter().any(|c| !c.namespaces.is_empty()) {
        writeln!(out, "  commands:")?;
        for c in &a.commands {
            let verb = c
                .verb
                .as_deref()
                .map(|v| format!(" {}", escape::line(v)))
                .unwrap_or_default();
            let ns = if c.namespaces.is_empty() {
                String::new()
            } else {
                format!("  [namespaces: {}]", escape::line(&c.namespaces.join(", ")))
            };
            let all = if c.all_namespaces {
                "  [all namespaces]"
            } else {
                ""
            };
            writeln!(
                out,
                "    {:<8} {}{verb}{ns}{all}",
                c.risk.as_str(),
                escape::line(&c.program)
            )?;
        }
    }
    Ok(())
}
