//! The terminal side of a task: its events rendered for people (spinner, streamed answer,
//! one dimmed line per tool call, markdown, footer) or written as JSON Lines, approval
//! prompts, and Ctrl-C.
//!
//! The answer goes to standard output; everything else (progress, tool lines, prompts, the
//! footer) goes to standard error, so `kopilot ask ... > answer.md` keeps only the answer.
//!
//! Everything shown that came from the model, a tool or the cluster goes through
//! `crate::escape` before it is styled: the `dim` and `paint_err` helpers escape what they
//! are given, the spinner escapes its label, the answer is escaped as it streams.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use futures::StreamExt as _;
use kopilot_core::names::{agents, tools};
use kopilot_core::safety::{ApprovalDecision, quote_argv};
use kopilot_core::{Event, EventKind, Exit, Prices, Status, TaskHandle, TaskResult};
use owo_colors::OwoColorize as _;
use serde_json::Value;
use tokio::sync::mpsc;

use super::approver::Ask;
use super::markdown::MarkdownLines;
use super::prompt;
use crate::escape;
use crate::lines::Lines;
use crate::signals::Interrupts;

/// How `kopilot ask` writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// For people: rendered on a terminal, plain text when piped.
    Text,
    /// The task's events as JSON Lines, one per line, as they happen.
    Json,
}

/// `eprintln!` that ignores a closed standard error instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, $($arg)*);
    }};
}

/// `eprint!` plus a flush, ignoring a closed standard error.
macro_rules! say_inline {
    ($($arg:tt)*) => {{
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, $($arg)*);
        let _ = stderr.flush();
    }};
}

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Renders a task's events.
pub(crate) struct Renderer {
    output: Output,
    /// The agent whose text is the answer: the requested skill, else the supervisor.
    answer_agent: String,
    /// Whether approvals are asked on this terminal (else the events say they were denied).
    interactive: bool,
    /// Stream the answer as it is written (standard output is a terminal and this is live).
    live: bool,
    colors: Colors,
    spinner: Option<Spinner>,
    markdown: MarkdownLines,
    /// The answer agent's text since its last action, as streamed.
    streamed: String,
    /// What of it is on the screen yet: the spinner stays until the first visible character.
    answer: AnswerGate,
    calls: HashMap<String, String>,
    task_id: String,
    /// The first error writing to standard output (a closed pipe is not one).
    out_error: Option<std::io::Error>,
    /// The model's prices, for the task's cost in the footer.
    pub(crate) prices: Option<Prices>,
}

/// Where colours (and markdown styling) may be used.
#[derive(Debug, Clone, Copy)]
struct Colors {
    stdout: bool,
    stderr: bool,
}

struct Spinner {
    label: String,
    started: Instant,
    frame: usize,
    shown: bool,
}

fn colors_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl Renderer {
    /// For a task running now.
    pub(crate) fn live(output: Output, skill: Option<String>, interactive: bool) -> Self {
        let err_tty = std::io::stderr().is_terminal();
        let out_tty = std::io::stdout().is_terminal();
        Self {
            output,
            answer_agent: skill.unwrap_or_else(|| agents::SUPERVISOR.to_owned()),
            interactive,
            live: out_tty && output == Output::Text,
            colors: Colors {
                stdout: out_tty && colors_allowed(),
                stderr: err_tty && colors_allowed(),
            },
            spinner: (err_tty && output == Output::Text).then(|| Spinner {
                label: "Starting".to_owned(),
                started: Instant::now(),
                frame: 0,
                shown: false,
            }),
            markdown: MarkdownLines::default(),
            streamed: String::new(),
            answer: AnswerGate::default(),
            calls: HashMap::new(),
            task_id: String::new(),
            out_error: None,
            prices: None,
        }
    }

    /// For replaying a finished task (`kopilot history show`): no spinner, no streaming.
    pub(crate) fn replay(output: Output, skill: Option<String>) -> Self {
        let mut renderer = Self::live(output, skill, false);
        renderer.live = false;
        renderer.spinner = None;
        renderer
    }

    /// `text` escaped as one line, then dimmed on a terminal.
    fn dim(&self, text: &str) -> String {
        let text = escape::line(text);
        if self.colors.stderr {
            text.dimmed().to_string()
        } else {
            text.into_owned()
        }
    }

    /// `text` escaped as one line, then painted on a terminal.
    fn paint_err(&self, text: &str, paint: fn(&str) -> String) -> String {
        let text = escape::line(text);
        if self.colors.stderr {
            paint(&text)
        } else {
            text.into_owned()
        }
    }

    fn clear_spinner(&mut self) {
        if let Some(spinner) = &mut self.spinner
            && spinner.shown
        {
            say_inline!("\r\x1b[2K");
            spinner.shown = false;
        }
    }

    fn set_status(&mut self, label: impl Into<String>) {
        if let Some(spinner) = &mut self.spinner {
            spinner.label = label.into();
        }
        self.tick();
    }

    /// Redraws the spinner (call every ~100 ms).
    pub(crate) fn tick(&mut self) {
        // Once the answer shows, the spinner would draw over its unfinished line.
        if self.answer.shown() {
            return;
        }
        let Some(spinner) = &mut self.spinner else {
            return;
        };
        spinner.frame = (spinner.frame + 1) % SPINNER.len();
        let frame = SPINNER.get(spinner.frame).copied().unwrap_or("*");
        let secs = spinner.started.elapsed().as_secs_f32();
        let label: String = escape::line(&spinner.label).chars().take(100).collect();
        say_inline!(
            "\r\x1b[2K{} {label} {}",
            frame.cyan(),
            format!("{secs:.0}s").dimmed()
        );
        spinner.shown = true;
    }

    /// A line on standard error (clears the spinner first).
    fn note(&mut self, line: &str) {
        self.clear_spinner();
        say!("{line}");
    }

    /// Ends the answer text streamed so far (it was the model thinking aloud before acting).
    fn end_streamed(&mut self) {
        let rest = self.markdown.finish();
        self.show_answer(&rest);
        if let Some(end) = self.answer.end() {
            self.write_out(end);
        }
        self.streamed.clear();
    }

    /// Writes rendered answer text; blank text before the first visible character waits (and
    /// the spinner with it keeps turning), so the spinner goes only when there is something
    /// to read.
    fn show_answer(&mut self, rendered: &str) {
        if let Some(text) = self.answer.push(rendered) {
            self.clear_spinner();
            self.write_out(&text);
        }
    }

    /// Renders one event.
    pub(crate) fn event(&mut self, event: &Event) {
        if self.task_id.is_empty() {
            self.task_id.clone_from(&event.task_id);
        }
        if self.output == Output::Json {
            if let Ok(mut line) = serde_json::to_string(event) {
                line.push('\n');
                self.write_out(&line);
            }
            return;
        }
        let agent = event.agent.as_str();
        let is_answer_agent = agent == self.answer_agent;
        match &event.event {
            EventKind::TaskStarted { model, .. } => {
                let label = match model {
                    Some(model) => format!("Thinking ({model})"),
                    None => "Gathering evidence (no model: analyzers only)".to_owned(),
                };
                self.set_status(label);
            }
            EventKind::Delegated {
                call_id,
                skill,
                task,
            } => {
                self.calls
                    .insert(call_id.clone(), format!("{skill} answered"));
                let line = format!("→ {skill}: {}", one_line(task, 120));
                let line = self.dim(&line);
                self.note(&line);
                self.set_status(format!("{skill} is working"));
            }
            EventKind::Thinking { text } => {
                if is_answer_agent && self.live && !self.streamed.is_empty() {
                    self.end_streamed();
                } else {
                    let line = self.dim(&format!("  {agent}: {}", one_line(text, 140)));
                    self.note(&line);
                }
            }
            EventKind::Delta { text } => {
                if is_answer_agent && self.live {
                    if !self.answer.shown()
                        && let Some(spinner) = &mut self.spinner
                    {
                        "Writing the answer".clone_into(&mut spinner.label);
                    }
                    let lines = if self.colors.stdout {
                        Cow::Owned(self.markdown.push(text))
                    } else {
                        escape::multiline(text)
                    };
                    self.show_answer(&lines);
                    self.streamed.push_str(text);
                } else if !is_answer_agent {
                    self.set_status(format!("{agent} is writing"));
                }
            }
            EventKind::ToolCall {
                call_id,
                tool,
                args,
                ..
            } => {
                if is_answer_agent && self.live && !self.streamed.is_empty() {
                    self.end_streamed();
                }
                let shown = describe_call(tool, args);
                self.set_status(format!("{agent}: {shown}"));
                self.calls.insert(call_id.clone(), shown);
            }
            EventKind::ApprovalRequested {
                command,
                risk,
                reasons,
                ..
            } => {
                if !self.interactive {
                    let head = format!("! needs approval ({risk} risk): {command}");
                    let head = self.paint_err(&head, |t| t.yellow().to_string());
                    self.note(&head);
                    for reason in reasons {
                        let line = self.dim(&format!("    {reason}"));
                        self.note(&line);
                    }
                }
                self.set_status("Waiting for approval");
            }
            EventKind::ApprovalDecided {
                approved,
                decided_by,
                reason,
                ..
            } => {
                let line = if *approved {
                    self.paint_err(&format!("  approved by {decided_by}"), |t| {
                        t.green().to_string()
                    })
                } else {
                    let why = reason.as_deref().unwrap_or("no reason given");
                    self.paint_err(&format!("  denied by {decided_by}: {why}"), |t| {
                        t.red().to_string()
                    })
                };
                self.note(&line);
            }
            EventKind::ToolResult {
                call_id,
                tool,
                ok,
                exit,
                summary,
                duration_ms,
                ..
            } => {
                let shown = self.calls.remove(call_id).unwrap_or_else(|| tool.clone());
                let line = tool_line(
                    &shown,
                    Duration::from_millis(*duration_ms),
                    *ok,
                    *exit,
                    summary.as_deref(),
                );
                let line = self.dim(&line);
                self.note(&line);
                self.set_status(format!("{agent} is thinking"));
            }
            EventKind::Reflection {
                score,
                critique,
                replan,
            } => {
                let then = if *replan { "; trying again" } else { "" };
                let line = self.dim(&format!(
                    "  review: {score}/10 {}{then}",
                    one_line(critique, 120)
                ));
                self.note(&line);
            }
            EventKind::Notification { message } => {
                let line = self.dim(&format!("note: {message}"));
                self.note(&line);
            }
            EventKind::Response(result) => self.response(result),
        }
    }

    fn response(&mut self, result: &TaskResult) {
        self.clear_spinner();
        self.spinner = None;
        let streamed_answer = self.live
            && !self.streamed.trim().is_empty()
            && self.streamed.trim() == result.answer.trim();
        if streamed_answer {
            self.end_streamed();
        } else {
            self.end_streamed();
            if !result.answer.trim().is_empty() {
                let text = if self.colors.stdout {
                    let mut md = MarkdownLines::default();
                    let mut text = md.push(&result.answer);
                    text.push_str(&md.finish());
                    text
                } else {
                    format!("{}\n", escape::multiline(result.answer.trim_end()))
                };
                self.write_out(&text);
            }
        }
        if let Some(error) = &result.error {
            let line = format!("kopilot: the task {}: {error}", result.status);
            let line = self.paint_err(&line, |t| t.red().to_string());
            say!("{line}");
        }
        for refused in &result.refused {
            let line = format!(
                "kopilot: not done ({}, {} risk): {} · {}",
                refused.refusal,
                refused.risk,
                one_line(&escape::line(&refused.command), 110),
                one_line(&escape::line(&refused.reason), 160)
            );
            let line = self.paint_err(&line, |t| t.yellow().to_string());
            say!("{line}");
        }
        for warning in &result.warnings {
            let line = format!("kopilot: warning: {}", warning.message);
            let line = self.paint_err(&line, |t| t.yellow().to_string());
            say!("{line}");
        }
        let secs = Duration::from_millis(result.duration_ms).as_secs_f64();
        let mut footer = format!("— {} in {secs:.1}s", result.status);
        if !result.refused.is_empty() {
            let n = result.refused.len();
            let _ = write!(
                footer,
                " · {n} {} not run",
                if n == 1 { "command" } else { "commands" }
            );
        }
        if !result.warnings.is_empty() {
            let _ = write!(footer, " · unverified answer");
        }
        if result.usage.total() > 0 {
            let _ = write!(
                footer,
                " · {} tokens ({} in, {} out)",
                result.usage.total(),
                result.usage.input_tokens,
                result.usage.output_tokens
            );
            if let Some(prices) = &self.prices {
                let _ = write!(footer, " · ${:.4}", result.usage.cost(prices));
            }
        }
        if !self.task_id.is_empty() {
            let _ = write!(footer, " · task {}", self.task_id);
        }
        let footer = self.dim(&footer);
        say!("{footer}");
    }

    /// Writes to standard output and flushes. A reader that went away (`| head`) is not an
    /// error; any other failure (a full disk) is kept for [`Renderer::output_error`].
    fn write_out(&mut self, text: &str) {
        if text.is_empty() || self.out_error.is_some() {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let written = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush());
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            self.out_error = Some(e);
        }
    }

    /// Why the answer (or the event stream) could not be written to standard output, if it
    /// could not.
    pub(crate) fn output_error(&self) -> Option<&std::io::Error> {
        self.out_error.as_ref()
    }

    /// Puts one approval request to the person at the terminal. Returns whether Ctrl-C ended
    /// the prompt (the request is denied; the caller treats it like any other Ctrl-C).
    async fn ask(&mut self, ask: Ask, interrupts: &mut Interrupts, lines: &Lines) -> bool {
        let Ask {
            request,
            by,
            mut reply,
        } = ask;
        self.clear_spinner();
        let risk = request.risk.to_string();
        let head = if self.colors.stderr {
            format!("\n{} ({risk} risk)", "Approval needed".bold())
        } else {
            format!("\nApproval needed ({risk} risk)")
        };
        say!("{head}");
        for line in prompt::details(
            &request.command,
            &request.reasons,
            &prompt::argv_of(&request),
        ) {
            say!("{line}");
        }
        // The runtime previewed the change (a server-side dry run) before it asked.
        if let Some(preview) = request.preview.as_ref().map(ToString::to_string) {
            say!("  what would change:");
            // The dry run's output comes from the cluster.
            for line in preview.lines() {
                let line = escape::multiline(line);
                let painted = if !self.colors.stderr {
                    line.into_owned()
                } else if line.starts_with('+') {
                    line.green().to_string()
                } else if line.starts_with('-') {
                    line.red().to_string()
                } else {
                    line.dimmed().to_string()
                };
                say!("    {painted}");
            }
        }
        say_inline!("Run it? [y/N] ");
        let decision = tokio::select! {
            answer = lines.next() => match answer {
                Ok(Some(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                    ApprovalDecision::approve(&request, &by)
                }
                Ok(None) => {
                    say!("");
                    ApprovalDecision::deny(&request, &by, "the terminal closed without an answer")
                }
                Ok(Some(_)) => ApprovalDecision::deny(&request, &by, "the user answered no"),
                Err(_) => ApprovalDecision::deny(&request, &by, "the terminal could not be read"),
            },
            () = interrupts.next() => {
                say!("");
                let _ = reply.send(ApprovalDecision::deny(&request, &by, "cancelled with Ctrl-C at the prompt"));
                return true;
            }
            () = tokio::time::sleep(request.remaining()) => {
                say!("");
                ApprovalDecision::deny(&request, &by, "nobody answered before the approval expired")
            }
            () = reply.closed() => {
                say!("");
                return false;
            }
        };
        self.set_status(if decision.approved() {
            "Running the approved command"
        } else {
            "Telling the agent it was not approved"
        });
        let _ = reply.send(decision);
        false
    }
}

/// The answer as it streams, between the spinner and the screen: text with nothing visible
/// in it is held until visible text follows (then both go out, and the spinner goes).
#[derive(Debug, Default)]
struct AnswerGate {
    held: String,
    shown: bool,
    /// The last text written ended a line.
    at_line_start: bool,
}

impl AnswerGate {
    /// Whether answer text is on the screen (the spinner is gone until [`Self::end`]).
    fn shown(&self) -> bool {
        self.shown
    }

    /// Takes rendered text; returns what to write now (clearing the spinner first).
    fn push(&mut self, rendered: &str) -> Option<String> {
        if rendered.is_empty() {
            return None;
        }
        if !self.shown && rendered.trim().is_empty() {
            self.held.push_str(rendered);
            return None;
        }
        self.shown = true;
        self.at_line_start = rendered.ends_with('\n');
        let mut text = std::mem::take(&mut self.held);
        text.push_str(rendered);
        Some(text)
    }

    /// The text so far is finished (the model acts now, or answered): what still has to be
    /// written so the spinner can come back on a line of its own.
    fn end(&mut self) -> Option<&'static str> {
        let newline = self.shown && !self.at_line_start;
        *self = Self::default();
        newline.then_some("\n")
    }
}

/// A tool call as a person would type it.
fn describe_call(tool: &str, args: &Value) -> String {
    let program = match tool {
        tools::RUN_KUBECTL => Some("kubectl"),
        tools::RUN_HELM => Some("helm"),
        _ => None,
    };
    if let Some(program) = program {
        match args.get("args") {
            Some(Value::String(line)) => return format!("{program} {line}"),
            Some(Value::Array(items)) => {
                let mut argv = vec![program.to_owned()];
                argv.extend(
                    items
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
                );
                return quote_argv(&argv);
            }
            _ => {}
        }
    }
    if tool == tools::RUN_SHELL
        && let Some(command) = args.get("command").and_then(Value::as_str)
    {
        return command.to_owned();
    }
    match args {
        Value::Object(map) if map.is_empty() => tool.to_owned(),
        Value::Null => tool.to_owned(),
        other => format!("{tool} {other}"),
    }
}

/// One finished tool call: ✓ or ✗, the call as a person would type it, how long it took, and
/// for a failure how the command ended and why (the event's `exit` and `summary`).
fn tool_line(
    shown: &str,
    took: Duration,
    ok: bool,
    exit: Option<Exit>,
    summary: Option<&str>,
) -> String {
    let failed = !ok || exit.is_some_and(|exit| !exit.success());
    let mark = if failed { "✗" } else { "✓" };
    // Escaped before it is cut: a newline in a command shows instead of ending it.
    let shown = escape::line(shown);
    let mut line = format!(
        "  {mark} {} · {:.1}s",
        one_line(&shown, 110),
        took.as_secs_f64()
    );
    if failed {
        let why = [
            exit.filter(|exit| !exit.success())
                .map(|exit| exit.to_string()),
            summary.map(|s| one_line(s, 140)),
        ];
        for part in why.into_iter().flatten() {
            let _ = write!(line, " · {part}");
        }
    }
    line
}

/// The first line of `text`, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let first = text.trim().lines().next().unwrap_or("");
    let more = text.trim().lines().nth(1).is_some();
    let mut out: String = first.chars().take(max).collect();
    if more || first.chars().count() > max {
        out.push('…');
    }
    out
}

/// The terminal side of tasks: the approval requests to put to the user, Ctrl-C, and the
/// lines typed (answers to prompts; in a chat, the questions too). One per process, kept
/// across the tasks of a chat.
pub(crate) struct Terminal {
    asks: mpsc::Receiver<Ask>,
    interrupts: Option<Interrupts>,
    lines: Lines,
}

impl Terminal {
    /// Listens for Ctrl-C from now on (so it no longer ends the process by itself).
    pub(crate) fn new(asks: mpsc::Receiver<Ask>, lines: Lines) -> Self {
        let interrupts = match Interrupts::listen() {
            Ok(interrupts) => Some(interrupts),
            Err(err) => {
                say!("kopilot: warning: {err:#}; Ctrl-C will end kopilot at once");
                None
            }
        };
        Self {
            asks,
            interrupts,
            lines,
        }
    }

    /// The lines typed on standard input.
    pub(crate) fn lines(&self) -> &Lines {
        &self.lines
    }

    /// The next Ctrl-C (or SIGTERM).
    pub(crate) async fn interrupted(&mut self) {
        next_interrupt(&mut self.interrupts).await;
    }
}

/// Follows the task to its end: renders events, asks for approvals, handles Ctrl-C (the first
/// cancels the task, a second exits at once). Returns the task's result.
pub(crate) async fn drive(
    handle: &TaskHandle,
    renderer: &mut Renderer,
    terminal: &mut Terminal,
) -> TaskResult {
    let Terminal {
        asks,
        interrupts,
        lines,
    } = terminal;
    let mut events = handle.events();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut cancelling = false;
    loop {
        tokio::select! {
            // Events first: the runtime records what led to an approval (the text the model
            // streamed, the tool call) before it asks, so all of it shows above the prompt.
            biased;
            event = events.next() => match event {
                Some(event) => {
                    renderer.event(&event);
                    if let EventKind::Response(result) = event.event {
                        return result;
                    }
                }
                None => return handle.result().await,
            },
            Some(ask) = asks.recv() => {
                if let Some(interrupts) = interrupts {
                    if renderer.ask(ask, interrupts, lines).await {
                        interrupted(&mut cancelling, handle, renderer);
                    }
                } else {
                    let decision = ApprovalDecision::deny(
                        &ask.request,
                        &ask.by,
                        "Ctrl-C cannot be caught, so the prompt could not be cancelled safely",
                    );
                    let _ = ask.reply.send(decision);
                }
            }
            () = next_interrupt(interrupts) => interrupted(&mut cancelling, handle, renderer),
            _ = tick.tick() => renderer.tick(),
        }
    }
}

/// Ctrl-C: the first cancels the task, a second quits at once.
fn interrupted(cancelling: &mut bool, handle: &TaskHandle, renderer: &mut Renderer) {
    if *cancelling {
        renderer.clear_spinner();
        say!("kopilot: interrupted again, quitting");
        std::process::exit(130);
    }
    *cancelling = true;
    handle.cancel();
    renderer.note("Cancelling… (press Ctrl-C again to quit at once)");
}

async fn next_interrupt(interrupts: &mut Option<Interrupts>) {
    match interrupts {
        Some(interrupts) => interrupts.next().await,
        None => std::future::pending().await,
    }
}

/// Renders stored events (for `kopilot history show`).
pub(crate) fn replay(renderer: &mut Renderer, events: &[Event]) -> Option<Status> {
    let mut status = None;
    for event in events {
        renderer.event(event);
        if let EventKind::Response(result) = &event.event {
            status = Some(result.status);
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kopilot_core::Exit;

    use super::{AnswerGate, describe_call, one_line, tool_line};
    use serde_json::json;

    #[test]
    fn tool_calls_read_like_commands() {
        assert_eq!(
            describe_call(
                "run_kubectl",
                &json!({"args": ["get", "pods", "-l", "app=a b"]})
            ),
            "kubectl get pods -l 'app=a b'"
        );
        assert_eq!(
            describe_call("run_kubectl", &json!({"args": "top pods -A"})),
            "kubectl top pods -A"
        );
        assert_eq!(
            describe_call("analyze", &json!({"checks": ["cost.*"]})),
            r#"analyze {"checks":["cost.*"]}"#
        );
        assert_eq!(describe_call("get_metrics", &json!({})), "get_metrics");
    }

    #[test]
    fn failures_say_how_the_command_ended_and_why() {
        let took = Duration::from_millis(250);
        assert_eq!(
            tool_line(
                "kubectl get deploy x",
                took,
                true,
                Some(Exit::Exited { code: 1 }),
                Some("Error from server (NotFound): deployments.apps \"x\" not found"),
            ),
            "  ✗ kubectl get deploy x · 0.2s · exit code 1 · Error from server (NotFound): deployments.apps \"x\" not found"
        );
        assert_eq!(
            tool_line(
                "kubectl delete pod web",
                took,
                false,
                None,
                Some("not run: denied by ann: no")
            ),
            "  ✗ kubectl delete pod web · 0.2s · not run: denied by ann: no"
        );
        assert_eq!(
            tool_line(
                "kubectl get pods -w",
                took,
                true,
                Some(Exit::Cancelled),
                None
            ),
            "  ✗ kubectl get pods -w · 0.2s · cancelled"
        );
        assert_eq!(
            tool_line(
                "kubectl get pods",
                took,
                true,
                Some(Exit::Exited { code: 0 }),
                None
            ),
            "  ✓ kubectl get pods · 0.2s"
        );
    }

    #[test]
    fn the_spinner_stays_until_the_answer_has_a_visible_character() {
        let mut gate = AnswerGate::default();
        // Blank text and the markdown renderer's "nothing yet" keep the spinner.
        assert_eq!(gate.push(""), None);
        assert_eq!(gate.push("\n"), None);
        assert_eq!(gate.push("  "), None);
        assert!(!gate.shown());
        // The first visible text goes out with what was held, and the spinner goes.
        assert_eq!(gate.push("The"), Some("\n  The".to_owned()));
        assert!(gate.shown());
        assert_eq!(gate.push(" \n"), Some(" \n".to_owned()));
        // Finished on a line end: nothing to add; the spinner may come back.
        assert_eq!(gate.end(), None);
        assert!(!gate.shown());
        // Finished mid-line: a newline first, or the spinner would erase the line.
        assert_eq!(
            gate.push("thinking aloud"),
            Some("thinking aloud".to_owned())
        );
        assert_eq!(gate.end(), Some("\n"));
        // Nothing shown at all: nothing to end.
        assert_eq!(gate.push("\n"), None);
        assert_eq!(gate.end(), None);
    }

    #[test]
    fn one_line_cuts_and_says_so() {
        assert_eq!(one_line("short", 10), "short");
        assert_eq!(one_line("first\nsecond", 10), "first…");
        assert_eq!(one_line("ééééé", 3), "ééé…");
    }
}
