//! `kopilot ask`: one question to the agent, answered on the terminal (or as JSON Lines) with
//! every command it runs guarded, and anything risky put to the user first.
//!
//! This file reads the question and runs one task; `setup` builds the runtime from the flags
//! and settings (shared with `kopilot chat`), `ui` renders the event stream and asks for
//! approvals, `prompt` says what an approval is for, `markdown` styles the answer, `approver`
//! connects the runtime's approvals to the terminal.

mod approver;
mod markdown;
mod prompt;
mod setup;
mod ui;

use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use kopilot_core::{Status, TaskResult};

use crate::UsageError;
use crate::settings::Settings;

pub(crate) use setup::{ModeArg, RuntimeArgs, Setup, TaskArgs};
pub(crate) use ui::{Output, Renderer, Terminal, drive, one_line, replay};

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

Exit status: 0 answered, nothing refused; 3 answered, but a command it wanted to run was
blocked or not approved (listed under the answer, and in the JSON result's `refused`); 1 the
task failed, was cancelled or interrupted, or the answer could not be written; 2 usage or
configuration error (a bad flag or variable, an unknown skill).";

/// Arguments of `kopilot ask`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct AskArgs {
    /// The question, in plain words. `-` (or nothing, with standard input not a terminal)
    /// reads it from standard input; nothing, on a terminal, starts a chat (`kopilot chat`).
    #[arg(value_name = "PROMPT")]
    prompt: Option<String>,
    #[command(flatten)]
    pub(crate) task: TaskArgs,
    /// text: rendered for people (plain when piped); json: the task's events as JSON Lines.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
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
    // No question, on a terminal: a conversation instead of one question.
    if args.prompt.is_none() && std::io::stdin().is_terminal() && args.output == Output::Text {
        return crate::chat_cmd::run_with(args.task);
    }
    let settings = Settings::load()?.with_model_flags(&args.task.runtime.model_flags);
    let prompt = read_prompt(args.prompt.as_deref(), settings.limits()?.max_prompt_bytes)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let code = runtime.block_on(ask(args, prompt, settings));
    // A prompt thread may still be blocked reading the terminal: don't wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// The question from the argument or standard input, at most `max` bytes (standard input is
/// read no further than that).
fn read_prompt(arg: Option<&str>, max: usize) -> anyhow::Result<String> {
    let too_long = |what: &str| {
        UsageError(format!(
            "the question {what} is longer than {max} bytes, the limit (KOPILOT_MAX_PROMPT_BYTES); \
             shorten it, or raise the limit if you mean it"
        ))
    };
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
                .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut bytes)
                .context("could not read the question from standard input")?;
            if bytes.len() > max {
                return Err(too_long("on standard input").into());
            }
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
    if prompt.len() > max {
        return Err(too_long("given").into());
    }
    Ok(prompt.to_owned())
}

async fn ask(args: AskArgs, prompt: String, settings: Settings) -> anyhow::Result<ExitCode> {
    let (setup, mut terminal) = Setup::new(&args.task, settings).await?;
    let kopilot = setup.kopilot()?;
    let request = args
        .task
        .request(prompt, &setup.user, setup.model.is_none(), None);
    let handle = kopilot.submit(request);
    let mut renderer = setup.renderer(args.output, args.task.skill.clone());
    let result = ui::drive(&handle, &mut renderer, &mut terminal).await;
    // The history must hold the whole task before the process ends.
    kopilot.flush().await;
    setup.stop().await;
    if let Some(error) = renderer.output_error() {
        eprintln!(
            "kopilot: could not write to standard output: {error}; the task's result is in the \
             history: kopilot history show {}",
            handle.id()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(exit_code(&result))
}

/// The exit status for how a task ended (the contract in `--help` and the README): 0
/// answered with nothing refused; 3 answered, but a command it wanted to run was blocked or
/// not approved (the result's `refused` says which); 1 failed, cancelled or interrupted; 2 a
/// request refused before it ran (an unknown skill), like any usage error. A live status
/// cannot end `ask`, which waits for the result, but would be 1.
pub(crate) fn exit_code(result: &TaskResult) -> ExitCode {
    match result.status {
        Status::Succeeded if result.refused.is_empty() => ExitCode::SUCCESS,
        Status::Succeeded => ExitCode::from(3),
        Status::Rejected => ExitCode::from(2),
        Status::Failed
        | Status::Cancelled
        | Status::Interrupted
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
