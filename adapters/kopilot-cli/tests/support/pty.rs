//! Running kopilot with standard input and standard error on a pseudo-terminal, as a person
//! at a terminal would (standard output stays piped, like `kopilot ask -o json > events`, or
//! is the terminal too), answering each `[y/N]` prompt from a list.

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::process::{Drained, Invocation, Outcome, binary, drain};

/// What the prompt ends with.
pub const PROMPT_END: &str = "[y/N]";

/// A kopilot run on a terminal.
pub struct PtyOutcome {
    pub outcome: Outcome,
    /// Everything kopilot wrote to the terminal (standard error and the echo of our answers).
    pub screen: String,
    /// How many `[y/N]` prompts appeared.
    pub prompts: usize,
}

/// Runs `invocation` on a pseudo-terminal, answering the n-th prompt with `answers[n]` (and
/// any prompt beyond the list with an empty line, the default No), for at most `limit`.
pub fn run_on_pty(invocation: &Invocation, answers: &[&str], limit: Duration) -> PtyOutcome {
    run(invocation, answers, limit, true, &[PROMPT_END], "\n")
}

/// What `kopilot chat` shows when it waits for the next question.
pub const CHAT_PROMPT: &str = "\u{203a} ";

/// Runs `kopilot chat` on a pseudo-terminal with standard output piped, typing `lines` in
/// order, one at each prompt (the chat's `›` and approvals' `[y/N]` alike); after the last
/// one, Ctrl-D (the end of input).
pub fn run_chat_on_pty(invocation: &Invocation, lines: &[&str], limit: Duration) -> PtyOutcome {
    run(
        invocation,
        lines,
        limit,
        true,
        &[CHAT_PROMPT, PROMPT_END],
        "\u{4}",
    )
}

/// [`run_on_pty`] with standard output on the terminal too (what a person sees of
/// `kopilot ask` in text mode: the answer rendered as it streams); `outcome.stdout` is empty,
/// everything is in `screen`.
pub fn run_all_on_pty(invocation: &Invocation, answers: &[&str], limit: Duration) -> PtyOutcome {
    run(invocation, answers, limit, false, &[PROMPT_END], "\n")
}

fn run(
    invocation: &Invocation,
    answers: &[&str],
    limit: Duration,
    pipe_stdout: bool,
    markers: &[&str],
    beyond: &str,
) -> PtyOutcome {
    let (pty, pts) = pty_process::blocking::open().expect("a pseudo-terminal");
    pty.resize(pty_process::Size::new(40, 160))
        .expect("terminal size");
    let mut command = pty_process::blocking::Command::new(binary())
        .args(&invocation.args)
        .env_clear()
        .envs(invocation.env.iter().cloned())
        .env("TERM", "xterm-256color");
    if pipe_stdout {
        command = command.stdout(Stdio::piped());
    }
    let mut child = command
        .spawn(pts)
        .expect("kopilot starts on the pseudo-terminal");
    let started = Instant::now();
    let stdout: Option<Drained> = child.stdout.take().map(drain);

    let pty = Arc::new(pty);
    let screen = Arc::new(Mutex::new(String::new()));
    let prompts = Arc::new(Mutex::new(0_usize));
    let answers: Vec<String> = answers.iter().map(|a| format!("{a}\n")).collect();
    let markers: Vec<String> = markers.iter().map(|m| (*m).to_owned()).collect();
    let beyond = beyond.to_owned();
    let reader = {
        let (pty, screen, prompts) = (Arc::clone(&pty), Arc::clone(&screen), Arc::clone(&prompts));
        std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            loop {
                // EIO once the last process holding the terminal is gone.
                let n = match (&*pty).read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut text = screen.lock().unwrap_or_else(PoisonError::into_inner);
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                let seen: usize = markers
                    .iter()
                    .map(|m| text.matches(m.as_str()).count())
                    .sum();
                drop(text);
                let mut answered = prompts.lock().unwrap_or_else(PoisonError::into_inner);
                while *answered < seen {
                    let answer = answers.get(*answered).unwrap_or(&beyond);
                    let _ = (&*pty).write_all(answer.as_bytes());
                    *answered += 1;
                }
            }
        })
    };

    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on kopilot") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kopilot did not finish within {limit:?} on the terminal\nscreen:\n{}\nstdout:\n{}",
                screen.lock().unwrap_or_else(PoisonError::into_inner),
                stdout.as_ref().map(Drained::so_far).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    // The reader ends when the terminal closes; a grandchild still holding it must not hang us.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let screen = screen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let prompts = *prompts.lock().unwrap_or_else(PoisonError::into_inner);
    PtyOutcome {
        outcome: Outcome {
            code: status.code(),
            stdout: stdout
                .map(|s| s.finish(Duration::from_secs(5)))
                .unwrap_or_default(),
            stderr: screen.clone(),
            elapsed,
        },
        screen,
        prompts,
    }
}
