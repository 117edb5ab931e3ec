//! `kopilot chat` (and `kopilot ask` with no question on a terminal): a conversation. Each
//! line is a question, answered as `ask` answers one (same rendering, same guard, same
//! approvals on this terminal), in one session, so the model sees the earlier turns. Lines
//! starting with `/` are commands. Input may be piped (one question per line).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum as _};
use kopilot_core::{Kopilot, Status};

use crate::ask::{ModeArg, Output, Setup, TaskArgs, Terminal, drive};
use crate::settings::Settings;

const EXAMPLES: &str = "\
Examples:
  # A conversation about the demo cluster
  kopilot chat --demo

  # Your cluster, one namespace, a given model
  kopilot chat -n shop --provider openai --model gpt-4o-mini

  # Scripted: one question per line, answers on standard output
  printf 'which pods are failing?\\nand why?\\n' | kopilot chat --demo

In the chat:
  /help                 the commands
  /reset                start a new conversation (a new session)
  /model [NAME]         show or change the model
  /mode [MODE]          show or change what may run: read-only, approve, full-access
  /history              the questions asked in this chat (!N asks number N again, !! the last)
  /exit                 leave (or Ctrl-D)

Ctrl-C cancels the answer being written (a second one quits at once); at the prompt it
clears the line. Changes wait for your y/N as in `kopilot ask`; with standard input piped
they are denied. Exit status: 0 when you leave; with piped input, 1 if a question failed.";

const HELP: &str = "\
/help           this list
/reset          start a new conversation (a new session)
/model [NAME]   show or change the model
/mode [MODE]    show or change what may run: read-only, approve, full-access
/history        the questions asked in this chat (!N asks number N again, !! the last)
/exit           leave (Ctrl-D too)";

/// Arguments of `kopilot chat`.
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub(crate) struct ChatArgs {
    #[command(flatten)]
    task: TaskArgs,
}

/// Runs `kopilot chat`.
pub(crate) fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    run_with(args.task)
}

/// Runs a chat with `ask`'s flags.
pub(crate) fn run_with(args: TaskArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load()?.with_model_flags(&args.runtime.model_flags);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let code = runtime.block_on(chat(args, settings));
    runtime.shutdown_timeout(Duration::from_millis(100));
    code
}

/// A line of input: a question or a command.
#[derive(Debug, PartialEq, Eq)]
enum Input<'a> {
    Question(&'a str),
    Help,
    Reset,
    Model(Option<&'a str>),
    Mode(Option<&'a str>),
    History,
    /// `!N`: question N of `/history` again; `!!`: the last one.
    Again(Option<usize>),
    Exit,
    Unknown(&'a str),
}

impl<'a> Input<'a> {
    fn parse(line: &'a str) -> Self {
        if line == "!!" {
            return Input::Again(None);
        }
        if let Some(n) = line.strip_prefix('!').and_then(|n| n.parse::<usize>().ok()) {
            return Input::Again(Some(n));
        }
        let Some(command) = line.strip_prefix('/') else {
            return Input::Question(line);
        };
        let (name, rest) = command
            .split_once(char::is_whitespace)
            .map_or((command, ""), |(name, rest)| (name, rest.trim()));
        let arg = (!rest.is_empty()).then_some(rest);
        match name {
            "help" | "?" => Input::Help,
            "reset" | "new" => Input::Reset,
            "model" => Input::Model(arg),
            "mode" => Input::Mode(arg),
            "history" => Input::History,
            "exit" | "quit" | "q" => Input::Exit,
            _ => Input::Unknown(name),
        }
    }
}

/// A session id no other chat has: the time, this process and a count of its chats (a
/// `/reset` within the same second must not continue the old conversation).
fn new_session_id() -> String {
    static CHATS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let count = CHATS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let now = time::OffsetDateTime::now_utc();
    format!(
        "chat-{:04}{:02}{:02}-{:02}{:02}{:02}-{}-{count}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        std::process::id()
    )
}

fn mode_name(mode: kopilot_core::safety::Mode) -> String {
    mode.to_string()
}

fn model_name(setup: &Setup) -> String {
    setup.model.as_ref().map_or_else(
        || "none (answers from the analyzers only)".to_owned(),
        |model| model.model().to_owned(),
    )
}

/// A line on standard error (a closed one is ignored).
fn say(text: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

fn prompt() {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "\n› ");
    let _ = stderr.flush();
}

/// The conversation's state: the runtime, the session, the questions asked.
struct Chat {
    setup: Setup,
    terminal: Terminal,
    kopilot: Kopilot,
    args: TaskArgs,
    session: String,
    questions: Vec<String>,
    failed: usize,
}

async fn chat(args: TaskArgs, settings: Settings) -> anyhow::Result<ExitCode> {
    let (setup, terminal) = Setup::new(&args, settings).await?;
    let kopilot = setup.kopilot()?;
    let session = args.session.clone().unwrap_or_else(new_session_id);
    let mut chat = Chat {
        setup,
        terminal,
        kopilot,
        args,
        session,
        questions: Vec::new(),
        failed: 0,
    };
    say(&format!(
        "kopilot chat · model {} · mode {} · session {}",
        crate::escape::line(&model_name(&chat.setup)),
        mode_name(chat.setup.mode()),
        crate::escape::line(&chat.session)
    ));
    say("Ask a question; /help lists the commands; Ctrl-D or /exit leaves.");
    let interactive = chat.setup.interactive;
    let lines = chat.terminal.lines().clone();
    loop {
        if interactive {
            prompt();
        }
        let line = tokio::select! {
            line = lines.next() => line,
            () = chat.terminal.interrupted() => {
                // The terminal has echoed ^C already.
                say(" (Ctrl-D or /exit leaves)");
                continue;
            }
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => {
                if interactive {
                    say("");
                }
                break;
            }
            Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
                say(&format!("kopilot: {err}; type it again"));
                continue;
            }
            Err(err) => {
                say(&format!("kopilot: could not read standard input: {err}"));
                break;
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if !chat.input(Input::parse(text)).await? {
            break;
        }
    }
    chat.kopilot.flush().await;
    let failed = chat.failed;
    chat.setup.stop().await;
    Ok(if failed > 0 && !interactive {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

impl Chat {
    /// Handles one line; `false` to leave.
    async fn input(&mut self, input: Input<'_>) -> anyhow::Result<bool> {
        match input {
            Input::Question(question) => self.ask(question).await,
            Input::Help => say(HELP),
            Input::Reset => {
                self.session = new_session_id();
                say(&format!(
                    "A new conversation (session {}): earlier turns are no longer given to the model.",
                    self.session
                ));
            }
            Input::Model(None) => say(&format!(
                "model: {}",
                crate::escape::line(&model_name(&self.setup))
            )),
            Input::Model(Some(name)) => self.change_model(name).await?,
            Input::Mode(None) => say(&format!(
                "mode: {} (/mode read-only|approve|full-access changes it)",
                mode_name(self.setup.mode())
            )),
            Input::Mode(Some(name)) => match ModeArg::from_str(name, true) {
                Ok(mode) => {
                    self.setup.set_mode(mode.into());
                    self.rebuild().await?;
                    say(&format!("mode: {}", mode_name(self.setup.mode())));
                }
                Err(_) => say(&format!(
                    "kopilot: `{}` is not a mode; use read-only, approve or full-access",
                    crate::escape::line(name)
                )),
            },
            Input::History => {
                if self.questions.is_empty() {
                    say("No questions yet.");
                }
                for (i, question) in self.questions.iter().enumerate() {
                    say(&format!("{:>3}  {}", i + 1, crate::escape::line(question)));
                }
            }
            Input::Again(n) => {
                let index = match n {
                    Some(n) => n.checked_sub(1),
                    None => self.questions.len().checked_sub(1),
                };
                match index.and_then(|i| self.questions.get(i)).cloned() {
                    Some(question) => {
                        say(&format!("› {}", crate::escape::line(&question)));
                        self.ask(&question).await;
                    }
                    None => say("kopilot: no such question; /history lists them"),
                }
            }
            Input::Exit => return Ok(false),
            Input::Unknown(name) => say(&format!(
                "kopilot: unknown command /{}; /help lists them",
                crate::escape::line(name)
            )),
        }
        Ok(true)
    }

    /// One question, answered as `kopilot ask` answers it, in this chat's session.
    async fn ask(&mut self, question: &str) {
        self.questions.push(question.to_owned());
        let request = self.args.request(
            question.to_owned(),
            &self.setup.user,
            self.setup.model.is_none(),
            Some(&self.session),
        );
        let handle = self.kopilot.submit(request);
        let mut renderer = self.setup.renderer(Output::Text, self.args.skill.clone());
        let result = drive(&handle, &mut renderer, &mut self.terminal).await;
        if result.status != Status::Succeeded {
            self.failed += 1;
        }
        // The next question reads this turn from the store.
        self.kopilot.flush().await;
    }

    async fn change_model(&mut self, name: &str) -> anyhow::Result<()> {
        if self.args.runtime.offline {
            say(
                "kopilot: this chat runs without a model (--offline); start it without --offline to use one",
            );
            return Ok(());
        }
        let before = self.setup.settings.clone();
        self.setup.settings.set_model(name, "/model");
        if let Err(err) = self.setup.repick_model().await {
            self.setup.settings = before;
            say(&format!(
                "kopilot: cannot use the model `{}`: {}",
                crate::escape::line(name),
                crate::escape::line(&format!("{err:#}"))
            ));
            return Ok(());
        }
        self.rebuild().await?;
        say(&format!(
            "model: {}",
            crate::escape::line(&model_name(&self.setup))
        ));
        Ok(())
    }

    /// A runtime with the model and mode as they are now; the session and store stay.
    async fn rebuild(&mut self) -> anyhow::Result<()> {
        self.kopilot.flush().await;
        self.kopilot = self.setup.kopilot()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Input;

    #[test]
    fn lines_read_as_questions_or_commands() {
        assert_eq!(Input::parse("why?"), Input::Question("why?"));
        assert_eq!(
            Input::parse("/model  gpt-4o "),
            Input::Model(Some("gpt-4o"))
        );
        assert_eq!(Input::parse("/model"), Input::Model(None));
        assert_eq!(
            Input::parse("/mode read-only"),
            Input::Mode(Some("read-only"))
        );
        assert_eq!(Input::parse("/reset"), Input::Reset);
        assert_eq!(Input::parse("/exit"), Input::Exit);
        assert_eq!(Input::parse("/frobnicate x"), Input::Unknown("frobnicate"));
        assert_eq!(Input::parse("!2"), Input::Again(Some(2)));
        assert_eq!(Input::parse("!!"), Input::Again(None));
        assert_eq!(Input::parse("!important"), Input::Question("!important"));
    }
}
