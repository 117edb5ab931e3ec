//! Classifies one simple command: unwraps wrappers (`sudo`, `env`, `timeout`, `xargs`, `sh -c`,
//! ...), then hands the program to its grammar (kubectl, helm, text filters) or to the rules for
//! dangerous and unknown programs.

use std::borrow::Cow;

use crate::assess::{CommandAssessment, concat};
use crate::filters;
use crate::risk::Risk;
use crate::shell::{DOWNLOADERS, Script, SimpleCommand, Stdin, Walker, Word};

/// Directories a trusted program may be run from by absolute path.
const TRUSTED_DIRS: &[&str] = &[
    "/usr/bin",
    "/bin",
    "/usr/local/bin",
    "/usr/sbin",
    "/sbin",
    "/usr/local/sbin",
    "/opt/homebrew/bin",
    "/snap/bin",
];

/// Shells and interpreters: they run whatever code they are given.
const INTERPRETERS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "csh", "tcsh", "python", "python2",
    "python3", "perl", "ruby", "node", "php", "lua", "busybox",
];
const POSIX_SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "ash", "mksh"];

/// Programs that only print or wait.
const HARMLESS: &[&str] = &[
    "echo", "printf", "true", "false", "sleep", "date", "pwd", "cd", ":", "test", "[", "unset",
    "set", "whoami", "hostname", "uname", "basename", "dirname", "seq", "expr",
];

/// Builtins that set variables: harmless unless they set one that changes what runs.
const VARIABLE_BUILTINS: &[&str] = &["export", "declare", "typeset", "readonly", "local"];

pub(crate) fn classify(w: &mut Walker<'_>, cmd: &SimpleCommand, depth: usize) {
    let mut a = CommandAssessment::new("", Vec::new());
    for (name, _) in &cmd.assignments {
        check_variable(&mut a, name);
    }
    for file in &cmd.writes {
        check_write(&mut a, file);
    }
    for file in &cmd.reads {
        a.raise(
            Risk::High,
            format!(
                "reads the local file `{}`, which could expose secrets",
                file.text
            ),
        );
    }
    if cmd.argv.is_empty() {
        for (name, value) in &cmd.assignments {
            w.set_var(name, known_value(value));
        }
        a.program = if cmd.writes.is_empty() && cmd.reads.is_empty() {
            a.raise(Risk::Low, "only sets shell variables");
            "(assignment)".to_owned()
        } else {
            "(redirection)".to_owned()
        };
        w.out.push(a);
        return;
    }
    let mut args: Cow<'_, [Word]> = Cow::Borrowed(&cmd.argv);
    let mut expansions = 0;
    // Unwrap wrappers until a real program is reached.
    loop {
        let Some(first) = args.first() else {
            a.raise(Risk::Low, "a wrapper with no command only prints");
            w.out.push(a);
            return;
        };
        let name = basename(&first.text);
        a.program.clear();
        a.program.push_str(name);
        a.argv = args.iter().map(|word| word.text.clone()).collect();
        if let Some(how) = first.disguise {
            a.program.clone_from(&first.text);
            a.raise(
                Risk::Critical,
                format!(
                    "the program name `{}` is written with {how}, which hides what runs",
                    first.text
                ),
            );
            w.out.push(a);
            return;
        }
        if first.dynamic {
            a.program.clone_from(&first.text);
            a.raise(
                Risk::High,
                format!(
                    "the program `{}` is computed at run time; its arguments are assessed as if it were kubectl or helm",
                    first.text
                ),
            );
            w.out.push(a);
            let rest = args.get(1..).unwrap_or_default();
            for program in ["kubectl", "helm"] {
                classify_as(w, cmd, &first.text, program, rest, depth);
            }
            embedded_programs(w, cmd, &first.text, rest, depth);
            return;
        }
        if !first.text.contains('/')
            && expansions < MAX_ALIAS_EXPANSIONS
            && let Some(value) = w.alias(&first.text)
        {
            // An alias defined earlier in the line: what it stands for runs.
            a.raise(
                Risk::Low,
                format!(
                    "`{}` is an alias defined in this line; what it stands for is assessed",
                    first.text
                ),
            );
            let rest = args.get(1..).unwrap_or_default();
            if value.contains(['|', ';', '&', '<', '>', '(', ')', '`', '\n']) {
                // The value holds shell syntax: it is read again as a command line.
                let mut line = value;
                for word in rest {
                    line.push(' ');
                    if word.dynamic {
                        line.push_str(&word.text);
                    } else {
                        line.push_str(&crate::quote::quote_word(&word.text));
                    }
                }
                w.out.push(a);
                w.line(&line, depth + 1);
                return;
            }
            let mut expanded = w.alias_words(&value, depth);
            expanded.extend_from_slice(rest);
            args = Cow::Owned(expanded);
            expansions += 1;
            continue;
        }
        check_path(&mut a, &first.text);
        check_patterns(w, &mut a, name, &args);
        // A script this line wrote, run by its path.
        a = match run_written(w, a, &first.text, cmd, depth) {
            Some(back) => back,
            None => return,
        };
        let rest: &[Word] = args.get(1..).unwrap_or_default();
        // What a wrapper runs: the words of the next round (the current ones stay borrowed).
        let next: Vec<Word>;
        match name {
            "sudo" | "doas" => {
                a.raise(
                    Risk::High,
                    format!("`{name}` runs the command as another user"),
                );
                next = skip_options(
                    rest,
                    &[
                        "u",
                        "g",
                        "C",
                        "D",
                        "h",
                        "p",
                        "r",
                        "t",
                        "T",
                        "U",
                        "user",
                        "group",
                        "close-from",
                        "chdir",
                        "host",
                        "prompt",
                        "role",
                        "type",
                        "command-timeout",
                        "other-user",
                    ],
                );
                if next.is_empty() {
                    a.raise(
                        Risk::High,
                        format!("`{name}` without a command opens a root shell"),
                    );
                }
            }
            "env" => match unwrap_env(&mut a, rest) {
                EnvCommand::Run(inner) => {
                    if inner.is_empty() {
                        a.raise(
                            Risk::High,
                            "`env` without a command prints the environment, which may hold secrets",
                        );
                    }
                    next = inner;
                }
                EnvCommand::Split { script, after } => {
                    if script.dynamic {
                        a.raise(
                            Risk::High,
                            "`env -S` splits text computed at run time into the command it runs, which cannot be checked",
                        );
                    } else {
                        a.raise(
                            Risk::Low,
                            "`env -S` splits its argument into the command it runs; that command is assessed",
                        );
                    }
                    w.out.push(a);
                    let mut quoted_after = String::new();
                    for word in after {
                        quoted_after.push(' ');
                        quoted_after.push_str(&crate::quote::quote_word(&word.text));
                    }
                    w.line(&format!("env {}{quoted_after}", script.text), depth + 1);
                    if let Some(known) = &script.known {
                        w.line(&format!("env {known}{quoted_after}"), depth + 1);
                    }
                    return;
                }
            },
            "timeout" => {
                let after = skip_options(rest, &["s", "k", "signal", "kill-after"]);
                next = after.get(1..).unwrap_or_default().to_vec();
            }
            "nice" => next = skip_options(rest, &["n", "adjustment"]),
            "ionice" => {
                next = skip_options(
                    rest,
                    &[
                        "c",
                        "n",
                        "p",
                        "P",
                        "u",
                        "class",
                        "classdata",
                        "pid",
                        "pgid",
                        "uid",
                    ],
                );
            }
            "stdbuf" => {
                next = skip_options(rest, &["i", "o", "e", "input", "output", "error"]);
            }
            "nohup" | "builtin" | "setsid" => next = skip_options(rest, &[]),
            "time" => {
                if rest
                    .iter()
                    .any(|word| word.text == "-o" || word.text.starts_with("--output"))
                {
                    a.raise(Risk::High, "`time -o` writes a local file");
                }
                next = skip_options(rest, &["f", "o", "format", "output"]);
            }
            "exec" => next = skip_options(rest, &["a"]),
            "command" => {
                if rest
                    .first()
                    .is_some_and(|word| word.text == "-v" || word.text == "-V")
                {
                    a.raise(Risk::Low, "`command -v` only looks a program up");
                    w.out.push(a);
                    return;
                }
                next = skip_options(rest, &[]);
            }
            "xargs" => {
                match unwrap_xargs(&mut a, rest, &cmd.stdin) {
                    XargsCommand::Echo => {
                        // xargs runs `echo` by default.
                        a.raise(Risk::Low, "`xargs` without a command only echoes its input");
                        w.out.push(a);
                        return;
                    }
                    XargsCommand::Run(inner) => next = inner,
                    XargsCommand::Each(runs) => {
                        a.raise(
                            Risk::Low,
                            "`xargs` runs its command once per input line; each run is assessed",
                        );
                        w.out.push(a);
                        for argv in runs {
                            let nested = SimpleCommand {
                                argv,
                                downloaded_input: cmd.downloaded_input,
                                ..SimpleCommand::default()
                            };
                            classify(w, &nested, depth + 1);
                        }
                        return;
                    }
                }
            }
            "watch" => {
                let exec = rest
                    .iter()
                    .any(|word| word.text == "-x" || word.text == "--exec");
                let inner = skip_options(
                    rest,
                    &[
                        "n",
                        "d",
                        "interval",
                        "differences",
                        "q",
                        "equexit",
                        "s",
                        "shell",
                    ],
                );
                if exec {
                    next = inner;
                } else {
                    let script = inner
                        .iter()
                        .map(|word| word.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    a.raise(Risk::Low, "`watch` runs its arguments as a command line; each command in it is assessed");
                    w.out.push(a);
                    w.line(&script, depth + 1);
                    return;
                }
            }
            "eval" => {
                let join = |value: fn(&Word) -> Option<&str>| {
                    rest.iter()
                        .map(value)
                        .collect::<Option<Vec<_>>>()
                        .map(|words| words.join(" "))
                };
                let run = ScriptRun {
                    script: Script {
                        text: join(|w| Some(w.text.as_str())).unwrap_or_default(),
                        dynamic: rest.iter().any(|word| word.dynamic),
                    },
                    known: join(|w| {
                        if w.dynamic {
                            w.known.as_deref()
                        } else {
                            Some(&w.text)
                        }
                    }),
                    args: &[],
                    stdin: cmd.stdin.clone(),
                };
                runs_script(
                    w,
                    a,
                    &run,
                    [
                        "`eval` runs text computed at run time, which cannot be checked".to_owned(),
                        "`eval` runs its arguments as a command line; each command in it is assessed".to_owned(),
                    ],
                    depth,
                );
                return;
            }
            "su" | "runuser" | "sg" | "script" | "flock" => {
                let what = match name {
                    "script" => "`script` records a terminal session into a local file",
                    "flock" => "`flock` runs a command while holding a lock on a local file",
                    _ => "runs the command as another user or group",
                };
                if what.starts_with('`') {
                    a.raise(Risk::High, what);
                } else {
                    a.raise(Risk::High, format!("`{name}` {what}"));
                }
                let script = rest
                    .windows(2)
                    .find(|p| {
                        p.first()
                            .is_some_and(|f| f.text == "-c" || f.text == "--command")
                    })
                    .and_then(|p| p.get(1))
                    .cloned();
                w.out.push(a);
                match script {
                    Some(script) => w.line(&script.text, depth + 1),
                    None => embedded_programs(w, cmd, name, rest, depth),
                }
                return;
            }
            "trap" => {
                // `trap [-lp] [[ACTION] SIGNAL...]`: ACTION is a command line run later.
                let operands: Vec<&Word> = rest
                    .iter()
                    .skip_while(|word| matches!(word.text.as_str(), "-p" | "-l" | "-lp" | "-pl"))
                    .skip_while(|word| word.text == "--")
                    .collect();
                match operands.as_slice() {
                    [action, _signal, ..] if action.text != "-" && !action.text.is_empty() => {
                        let run = ScriptRun::word(action, cmd.stdin.clone());
                        runs_script(
                            w,
                            a,
                            &run,
                            [
                                "`trap` sets an action computed at run time, which cannot be checked".to_owned(),
                                "`trap` runs its action when the signal arrives; the action is assessed".to_owned(),
                            ],
                            depth,
                        );
                    }
                    _ => {
                        a.raise(Risk::Low, "`trap` only lists or resets signal actions");
                        w.out.push(a);
                    }
                }
                return;
            }
            "ssh" => {
                a.raise(Risk::High, "`ssh` runs commands on another machine");
                let remote = skip_options(
                    rest,
                    &[
                        "B", "b", "c", "D", "E", "e", "F", "I", "i", "J", "L", "l", "m", "O", "o",
                        "p", "Q", "R", "S", "W", "w",
                    ],
                );
                w.out.push(a);
                // The words after the host are joined into a command line for the remote shell.
                if let Some((_host, words)) = remote.split_first()
                    && !words.is_empty()
                {
                    let line = words
                        .iter()
                        .map(|word| word.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    w.line(&line, depth + 1);
                }
                return;
            }
            "find" => {
                classify_find(w, a, rest, depth);
                return;
            }
            _ => {
                a.run_time_words = rest.iter().any(|word| word.dynamic);
                classify_program(w, a, name, rest, cmd, depth);
                return;
            }
        }
        args = Cow::Owned(next);
    }
}

/// A program that is not a wrapper.
fn classify_program(
    w: &mut Walker<'_>,
    mut a: CommandAssessment,
    name: &str,
    rest: &[Word],
    cmd: &SimpleCommand,
    depth: usize,
) {
    let policy = w.policy;
    match name {
        "kubectl" => crate::kubectl::classify(&mut a, rest, policy, cmd),
        "helm" => crate::helm::classify(&mut a, rest, policy),
        _ if INTERPRETERS.contains(&name) => {
            classify_interpreter(w, a, name, rest, cmd, depth);
            return;
        }
        _ if filters::is_filter(name, policy) => filters::classify(&mut a, name, rest),
        _ if HARMLESS.contains(&name) => {
            a.raise(Risk::Low, concat(&["`", name, "` only prints or waits"]));
        }
        _ if VARIABLE_BUILTINS.contains(&name) => {
            for word in rest {
                if let Some((var, value)) = word.text.split_once('=') {
                    check_variable(&mut a, var);
                    w.set_var(var, known_value(&word.tail(value)));
                }
            }
            a.raise(Risk::Low, format!("`{name}` only sets shell variables"));
        }
        "source" | "." => {
            if let Some(file) = rest.first() {
                let Some(back) = run_written(w, a, &file.text, cmd, depth) else {
                    return;
                };
                a = back;
            }
            a.raise(
                Risk::High,
                "runs a local script that the guard cannot inspect",
            );
            if cmd.downloaded_input {
                a.raise(Risk::Critical, "runs code downloaded from the network");
            }
        }
        "alias" => {
            a.raise(Risk::High, "`alias` can shadow other commands");
            for word in rest.iter().filter(|word| !word.dynamic) {
                if let Some((alias, value)) = word.text.split_once('=') {
                    w.define_alias(alias, value);
                }
            }
        }
        "rm" => classify_rm(&mut a, rest),
        "dd" => {
            if rest.iter().any(|word| {
                word.text
                    .strip_prefix("of=")
                    .is_some_and(|dev| dev.starts_with("/dev/") && !is_harmless_device(dev))
            }) {
                a.raise(Risk::Critical, "`dd` writes raw data to a device");
            } else {
                a.raise(Risk::High, "`dd` copies raw data between files");
            }
        }
        "mkfs" | "mke2fs" | "mkswap" | "wipefs" => {
            a.raise(Risk::Critical, format!("`{name}` erases or formats a disk"));
        }
        _ if name.starts_with("mkfs.") => {
            a.raise(Risk::Critical, format!("`{name}` formats a disk"));
        }
        "shutdown" | "reboot" | "halt" | "poweroff" => {
            a.raise(Risk::Critical, format!("`{name}` stops the machine"));
        }
        "init" | "telinit"
            if rest
                .iter()
                .any(|word| matches!(word.text.as_str(), "0" | "6")) =>
        {
            a.raise(
                Risk::Critical,
                format!("`{name}` stops or restarts the machine"),
            );
        }
        "systemctl"
            if rest.iter().any(|word| {
                matches!(
                    word.text.as_str(),
                    "poweroff" | "reboot" | "halt" | "kexec" | "suspend" | "hibernate"
                )
            }) =>
        {
            a.raise(Risk::Critical, "`systemctl` stops or restarts the machine");
        }
        "chmod" | "chown" | "chgrp" => {
            let recursive = rest.iter().any(|word| {
                word.text == "--recursive"
                    || (word.text.starts_with('-')
                        && !word.text.starts_with("--")
                        && word.text.contains('R'))
            });
            if recursive && rest.iter().any(|word| is_root_path(&word.text)) {
                a.raise(
                    Risk::Critical,
                    format!("`{name} -R` on the root of the filesystem"),
                );
            } else {
                a.raise(
                    Risk::High,
                    format!("`{name}` changes local file permissions"),
                );
            }
        }
        "kill" if rest.iter().any(|word| word.text == "-1") => {
            a.raise(Risk::Critical, "`kill -1` signals every process");
        }
        "tee" => filters::classify(&mut a, name, rest),
        _ if DOWNLOADERS.contains(&name) => {
            a.raise(Risk::High, format!("`{name}` talks to the network"));
        }
        _ => {
            a.raise(
                Risk::High,
                format!("`{name}` is not a known program; unknown programs always need a human"),
            );
            w.out.push(a);
            // A program the guard does not know may run its arguments (`flock f kubectl ...`,
            // `strace -f rm -rf /`): a program named among them is assessed too.
            embedded_programs(w, cmd, name, rest, depth);
            return;
        }
    }
    w.out.push(a);
    if name == "kubectl"
        && let Some(inner) = container_command(rest)
    {
        // What runs inside the container is a command line of its own: `rm -rf /` there is
        // as much a disaster as here, whoever approves the `kubectl exec`.
        let inner = SimpleCommand {
            argv: inner.to_vec(),
            downloaded_input: cmd.downloaded_input,
            ..SimpleCommand::default()
        };
        classify(w, &inner, depth + 1);
    }
}

/// The command a `kubectl exec|debug|run ... -- CMD ARGS` runs in a container: the words after
/// the first `--`, when one of the words before it is one of those verbs. (A false match only
/// adds an assessment, which can only make the verdict stricter.)
fn container_command(rest: &[Word]) -> Option<&[Word]> {
    let dashes = rest.iter().position(|word| word.text == "--")?;
    let (before, after) = rest.split_at(dashes);
    let runs_in_container = before
        .iter()
        .any(|word| matches!(word.text.as_str(), "exec" | "debug" | "run"));
    let command = after.get(1..)?;
    (runs_in_container && !command.is_empty()).then_some(command)
}

fn classify_interpreter(
    w: &mut Walker<'_>,
    mut a: CommandAssessment,
    name: &str,
    rest: &[Word],
    cmd: &SimpleCommand,
    depth: usize,
) {
    let is_shell = POSIX_SHELLS.contains(&name)
        || (name == "busybox"
            && rest
                .first()
                .is_some_and(|w| POSIX_SHELLS.contains(&w.text.as_str())));
    let rest = if name == "busybox" {
        rest.get(1..).unwrap_or_default()
    } else {
        rest
    };
    if cmd.downloaded_input {
        a.raise(
            Risk::Critical,
            format!("pipes code downloaded from the network into `{name}`"),
        );
        w.out.push(a);
        return;
    }
    if !is_shell {
        if rest.is_empty() && matches!(cmd.stdin, Stdin::Pipe(None)) {
            a.raise(
                Risk::Critical,
                format!(
                    "pipes text computed at run time into `{name}` as its program, so the guard cannot see what runs"
                ),
            );
        } else {
            a.raise(
                Risk::High,
                format!("`{name}` runs code that the guard cannot inspect"),
            );
        }
        w.out.push(a);
        return;
    }
    match shell_source(rest) {
        ShellSource::Argument(Some((script, args))) => runs_script(
            w,
            a,
            &ScriptRun {
                args,
                ..ScriptRun::word(script, cmd.stdin.clone())
            },
            [
                format!("`{name} -c` runs text computed at run time, which cannot be checked"),
                format!(
                    "`{name} -c` runs its argument as a command line; each command in it is assessed"
                ),
            ],
            depth,
        ),
        ShellSource::Argument(None) => {
            a.raise(
                Risk::Low,
                format!("`{name} -c` without a command line runs nothing"),
            );
            w.out.push(a);
        }
        ShellSource::File(file) => {
            let Some(mut a) = run_written(w, a, &file.text, cmd, depth) else {
                return;
            };
            a.raise(
                Risk::High,
                format!("`{name}` runs a local script that the guard cannot inspect"),
            );
            w.out.push(a);
        }
        ShellSource::Stdin => match cmd.stdin.clone() {
            Stdin::Pipe(Some(script)) | Stdin::Text(script) => runs_script(
                w,
                a,
                &ScriptRun::of(&script, Stdin::Inherited),
                [
                    format!(
                        "part of the script `{name}` reads from its input is computed at run time, which cannot be checked"
                    ),
                    format!(
                        "`{name}` runs the script it is given on its input; each command in it is assessed"
                    ),
                ],
                depth,
            ),
            Stdin::Pipe(None) => {
                a.raise(
                        Risk::Critical,
                        format!(
                            "pipes text computed at run time into `{name}`, so the guard cannot see the script it runs"
                        ),
                    );
                w.out.push(a);
            }
            Stdin::File => {
                a.raise(
                    Risk::High,
                    format!("`{name}` runs a local script that the guard cannot inspect"),
                );
                w.out.push(a);
            }
            Stdin::Inherited => {
                a.raise(
                    Risk::High,
                    format!(
                        "`{name}` runs commands from its input, which the guard cannot inspect"
                    ),
                );
                w.out.push(a);
            }
        },
    }
}

/// A command line some program runs: its text, what is known of the parts computed at run
/// time, the positional parameters it gets (`sh -c SCRIPT $0 $1 ...`) and its input.
struct ScriptRun<'a> {
    script: Script,
    known: Option<String>,
    args: &'a [Word],
    stdin: Stdin,
}

impl ScriptRun<'_> {
    /// A script given as literal text or text on standard input.
    fn of(script: &Script, stdin: Stdin) -> Self {
        Self {
            script: script.clone(),
            known: None,
            args: &[],
            stdin,
        }
    }

    /// A script given as one word.
    fn word(word: &Word, stdin: Stdin) -> Self {
        Self {
            script: Script {
                text: word.text.clone(),
                dynamic: word.dynamic,
            },
            known: word.known.clone(),
            args: &[],
            stdin,
        }
    }
}

/// Records `a` for a program that runs `run`'s script, with the first reason (high) when part
/// of it is computed at run time or the second (low) when it is all known, then walks the
/// script as the command line it is, and, when the guard knows what the computed parts give
/// (`eval "$(echo ...)"`, `X='...'; sh -c "$X"`), that text as well.
fn runs_script(
    w: &mut Walker<'_>,
    mut a: CommandAssessment,
    run: &ScriptRun<'_>,
    [dynamic_reason, known_reason]: [String; 2],
    depth: usize,
) {
    if run.script.dynamic {
        a.raise(Risk::High, dynamic_reason);
    } else {
        a.raise(Risk::Low, known_reason);
    }
    w.out.push(a);
    w.script_with_args(&run.script.text, depth + 1, run.stdin.clone(), run.args);
    if let Some(known) = &run.known
        && *known != run.script.text
    {
        w.script_with_args(known, depth + 1, run.stdin.clone(), run.args);
    }
}

/// A word's value when the guard knows it: its text when literal, else what its expansions
/// are known to give.
fn known_value(word: &Word) -> Option<&str> {
    if word.dynamic {
        word.known.as_deref()
    } else {
        Some(&word.text)
    }
}

/// Runs the script file at `path` when this line wrote it (recording `a` and walking the
/// script); gives `a` back when the guard does not know the file.
fn run_written(
    w: &mut Walker<'_>,
    a: CommandAssessment,
    path: &str,
    cmd: &SimpleCommand,
    depth: usize,
) -> Option<CommandAssessment> {
    let Some(script) = w.written_script(path).cloned() else {
        return Some(a);
    };
    runs_script(
        w,
        a,
        &ScriptRun::of(&script, cmd.stdin.clone()),
        [
            format!(
                "part of `{path}`, written earlier in this line, is computed at run time, which cannot be checked"
            ),
            format!("runs `{path}`, written earlier in this line; each command in it is assessed"),
        ],
        depth,
    );
    None
}

/// Most alias expansions one command goes through (an alias may name another).
const MAX_ALIAS_EXPANSIONS: usize = 8;

/// Where a POSIX shell reads the commands it runs.
enum ShellSource<'a> {
    /// `-c`: the first operand after the options (`None` when there is none), and the operands
    /// after it (`$0`, `$1`, ...).
    Argument(Option<(&'a Word, &'a [Word])>),
    /// An operand names a script file.
    File(&'a Word),
    /// Standard input (no operand, or `-s`).
    Stdin,
}

/// Reads a shell's options like bash does: `-c` (alone or in a cluster like `-ec`) takes the
/// first operand after all options as the command line; `-s` reads standard input whatever
/// the operands; `-o NAME`, `-O NAME`, `--rcfile FILE` and `--init-file FILE` take a value.
fn shell_source(rest: &[Word]) -> ShellSource<'_> {
    let mut command = false;
    let mut stdin = false;
    let mut iter = rest.iter();
    while let Some(word) = iter.next() {
        let t = word.text.as_str();
        if t == "--" || t == "-" {
            break;
        }
        if matches!(t, "--rcfile" | "--init-file") {
            iter.next();
            continue;
        }
        if t.starts_with("--") {
            continue;
        }
        if let Some(cluster) = t.strip_prefix('-').or_else(|| t.strip_prefix('+'))
            && !cluster.is_empty()
        {
            command |= t.starts_with('-') && cluster.contains('c');
            stdin |= t.starts_with('-') && cluster.contains('s');
            if cluster.ends_with(['o', 'O']) {
                iter.next();
            }
            continue;
        }
        // The first operand.
        return if command {
            ShellSource::Argument(Some((word, iter.as_slice())))
        } else if stdin {
            ShellSource::Stdin
        } else {
            ShellSource::File(word)
        };
    }
    if command {
        ShellSource::Argument(iter.next().map(|word| (word, iter.as_slice())))
    } else {
        ShellSource::Stdin
    }
}

fn classify_find(w: &mut Walker<'_>, mut a: CommandAssessment, rest: &[Word], depth: usize) {
    a.raise(Risk::High, "`find` walks the local filesystem");
    if rest.iter().any(|word| word.text == "-delete") {
        a.raise(Risk::High, "`find -delete` deletes local files");
    }
    w.out.push(a);
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        if matches!(word.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let inner: Vec<Word> = rest
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|x| x.text != ";" && x.text != "+")
                .cloned()
                .collect();
            i += inner.len() + 2;
            let nested = SimpleCommand {
                argv: inner,
                ..SimpleCommand::default()
            };
            classify(w, &nested, depth + 1);
        } else {
            i += 1;
        }
    }
}

fn classify_rm(a: &mut CommandAssessment, rest: &[Word]) {
    let mut recursive = false;
    let mut no_preserve = false;
    let mut targets = Vec::new();
    let mut options_done = false;
    for word in rest {
        let t = word.text.as_str();
        if !options_done && t == "--" {
            options_done = true;
        } else if !options_done && t.starts_with("--") {
            recursive |= t == "--recursive";
            no_preserve |= t == "--no-preserve-root";
        } else if !options_done && t.starts_with('-') && t.len() > 1 {
            recursive |= t.contains('r') || t.contains('R');
        } else {
            targets.push(word);
        }
    }
    if no_preserve {
        a.raise(
            Risk::Critical,
            "`rm --no-preserve-root` can erase the whole filesystem",
        );
    }
    if recursive {
        for target in &targets {
            if is_root_path(&target.text) || is_home(&target.text) {
                a.raise(
                    Risk::Critical,
                    format!("`rm -r {}` erases the filesystem", target.text),
                );
            }
        }
    }
    a.raise(Risk::High, "`rm` deletes local files");
}

fn is_root_path(path: &str) -> bool {
    let trimmed = path.trim_end_matches('*').trim_end_matches('/');
    trimmed.is_empty() && path.starts_with('/') || matches!(path, "/." | "/.." | "/*" | "/.*")
}

fn is_home(path: &str) -> bool {
    matches!(
        path.trim_end_matches('/').trim_end_matches("/*"),
        "~" | "$HOME" | "${HOME}"
    )
}

fn is_harmless_device(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/zero"
    ) || path.starts_with("/dev/fd/")
}

fn check_write(a: &mut CommandAssessment, file: &Word) {
    let path = file.text.as_str();
    if !file.dynamic && is_harmless_device(path) {
        return;
    }
    if !file.dynamic && is_block_device(path) {
        a.raise(
            Risk::Critical,
            format!("writes directly to the device `{path}`"),
        );
    } else {
        a.raise(Risk::High, format!("writes to the file `{path}`"));
    }
}

fn is_block_device(path: &str) -> bool {
    [
        "/dev/sd",
        "/dev/hd",
        "/dev/vd",
        "/dev/xvd",
        "/dev/nvme",
        "/dev/mmcblk",
        "/dev/dm-",
        "/dev/mapper/",
        "/dev/disk/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Variables whose value changes which code runs or which cluster is used.
fn check_variable(a: &mut CommandAssessment, name: &str) {
    let upper = name.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "PATH"
            | "IFS"
            | "BASH_ENV"
            | "ENV"
            | "PROMPT_COMMAND"
            | "SHELLOPTS"
            | "BASHOPTS"
            | "PS4"
            | "EDITOR"
            | "VISUAL"
            | "PAGER"
    ) || upper.starts_with("LD_")
        || upper.starts_with("DYLD_")
    {
        a.raise(
            Risk::High,
            format!("setting `{name}` changes which code runs"),
        );
    } else if upper.starts_with("KUBE") || upper.starts_with("HELM_") {
        a.raise(
            Risk::High,
            format!(
                "setting `{name}` changes the cluster, credentials or behaviour of kubectl/helm"
            ),
        );
    }
}

fn check_path(a: &mut CommandAssessment, program: &str) {
    if !program.contains('/') {
        return;
    }
    let dir = program.rsplit_once('/').map_or("", |(d, _)| d);
    if program.starts_with('/') {
        if !TRUSTED_DIRS.contains(&dir) {
            a.raise(
                Risk::High,
                format!("runs `{program}` from an unexpected directory"),
            );
        }
    } else {
        a.raise(Risk::High, format!("runs `{program}` by a relative path"));
    }
}

fn check_patterns(w: &Walker<'_>, a: &mut CommandAssessment, name: &str, args: &[Word]) {
    if w.policy.hard_block_patterns().is_empty() {
        return;
    }
    let rest: Vec<String> = args.iter().skip(1).map(|word| word.text.clone()).collect();
    for pattern in w.policy.hard_block_patterns() {
        if pattern.matches(name, &rest) {
            a.raise(
                Risk::Critical,
                format!(
                    "matches the policy's hard-block pattern `{}`",
                    pattern.as_str()
                ),
            );
        }
    }
}

pub(crate) fn basename(program: &str) -> &str {
    // `/` is ASCII, so the byte after it starts a character.
    match program.bytes().rposition(|b| b == b'/') {
        Some(slash) => &program[slash + 1..],
        None => program,
    }
}

/// Assesses `args` as the arguments of `program`, for a program name computed at run time
/// (`$K delete ns kube-system`). Reasons say what was assumed.
fn classify_as(
    w: &mut Walker<'_>,
    cmd: &SimpleCommand,
    shown: &str,
    program: &str,
    args: &[Word],
    depth: usize,
) {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(Word::literal(program));
    argv.extend_from_slice(args);
    nested(w, cmd, argv, &format!("if `{shown}` runs {program}"), depth);
}

/// Assesses the first program with rules of its own named in the arguments of a program
/// that may run them (an unknown program, `flock FILE CMD`, a program computed at run time).
/// A false match can only make the verdict stricter.
fn embedded_programs(
    w: &mut Walker<'_>,
    cmd: &SimpleCommand,
    outer: &str,
    args: &[Word],
    depth: usize,
) {
    // A glob (`k?bectl`) counts when it can match such a program's name; a bare `*` (as in
    // `ls *`) would match every name and is taken for the file names it is.
    let Some(at) = args.iter().position(|word| {
        let name = basename(&word.text);
        if word.disguise == Some(crate::expand::GLOB) {
            if name.chars().all(|c| matches!(c, '*' | '?' | '.')) {
                return false;
            }
            PROGRAMS_WITH_RULES
                .iter()
                .chain(INTERPRETERS)
                .chain(DOWNLOADERS)
                .any(|program| crate::expand::glob_matches(name, program))
                || crate::expand::glob_matches(name, "mkfs.ext4")
        } else {
            !word.dynamic && has_rules(name)
        }
    }) else {
        return;
    };
    let argv = args.get(at..).unwrap_or_default().to_vec();
    let inner = basename(argv.first().map_or("", |word| word.text.as_str())).to_owned();
    nested(w, cmd, argv, &format!("`{outer}` may run `{inner}`"), depth);
}

/// Classifies `argv` as a nested command with `cmd`'s input, prefixing the reasons it adds.
fn nested(w: &mut Walker<'_>, cmd: &SimpleCommand, argv: Vec<Word>, why: &str, depth: usize) {
    let before = w.out.len();
    let inner = SimpleCommand {
        argv,
        stdin: cmd.stdin.clone(),
        piped_output: cmd.piped_output,
        downloaded_input: cmd.downloaded_input,
        ..SimpleCommand::default()
    };
    classify(w, &inner, depth + 1);
    for assessment in w.out.iter_mut().skip(before) {
        for reason in &mut assessment.reasons {
            *reason = format!("{why}: {reason}");
        }
    }
}

/// Programs the guard has rules of its own for (a grammar, a wrapper it unwraps, or a disaster
/// it knows), besides interpreters, downloaders and `mkfs.*`.
const PROGRAMS_WITH_RULES: &[&str] = &[
    "kubectl",
    "helm",
    "sudo",
    "doas",
    "env",
    "timeout",
    "nice",
    "ionice",
    "stdbuf",
    "nohup",
    "setsid",
    "time",
    "exec",
    "command",
    "builtin",
    "xargs",
    "watch",
    "eval",
    "su",
    "runuser",
    "ssh",
    "find",
    "source",
    ".",
    "rm",
    "dd",
    "mkfs",
    "mke2fs",
    "mkswap",
    "wipefs",
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "init",
    "telinit",
    "systemctl",
    "chmod",
    "chown",
    "chgrp",
    "kill",
    "trap",
    "flock",
];

/// Whether the guard has rules of its own for a program.
fn has_rules(name: &str) -> bool {
    PROGRAMS_WITH_RULES.contains(&name)
        || name.starts_with("mkfs.")
        || INTERPRETERS.contains(&name)
        || DOWNLOADERS.contains(&name)
}

/// What `env ARGS` runs.
enum EnvCommand {
    /// The command after options and assignments (empty: `env` prints the environment).
    Run(Vec<Word>),
    /// `-S STRING` / `--split-string=STRING`: the string is split into more arguments.
    Split {
        /// The string.
        script: Word,
        /// The arguments after it.
        after: Vec<Word>,
    },
}

/// Reads GNU `env`'s options (also in clusters such as `-iS'...'` or `-vS...`) and assignments.
fn unwrap_env(a: &mut CommandAssessment, rest: &[Word]) -> EnvCommand {
    let mut iter = rest.iter();
    while let Some(word) = iter.next() {
        let t = word.text.as_str();
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (flag, value) = match long.split_once('=') {
                Some((flag, value)) => (flag, Some(value)),
                None => (long, None),
            };
            match flag {
                "split-string" => {
                    let script = match value {
                        Some(v) => word.tail(v),
                        None => iter.next().cloned().unwrap_or_else(|| Word::literal("")),
                    };
                    return EnvCommand::Split {
                        script,
                        after: iter.cloned().collect(),
                    };
                }
                "unset" | "chdir" | "argv0" if value.is_none() => {
                    iter.next();
                }
                _ => {}
            }
            continue;
        }
        if let Some(cluster) = t.strip_prefix('-')
            && !cluster.is_empty()
        {
            for (i, c) in cluster.char_indices() {
                let attached = cluster.get(i + c.len_utf8()..).unwrap_or_default();
                match c {
                    'S' => {
                        let script = if attached.is_empty() {
                            iter.next().cloned().unwrap_or_else(|| Word::literal(""))
                        } else {
                            word.tail(attached)
                        };
                        return EnvCommand::Split {
                            script,
                            after: iter.cloned().collect(),
                        };
                    }
                    'u' | 'C' | 'a' => {
                        if attached.is_empty() {
                            iter.next();
                        }
                        break;
                    }
                    _ => {}
                }
            }
            continue;
        }
        if let Some((var, _)) = t.split_once('=')
            && !var.is_empty()
        {
            check_variable(a, var);
            continue;
        }
        let mut inner = vec![word.clone()];
        inner.extend(iter.cloned());
        return EnvCommand::Run(inner);
    }
    EnvCommand::Run(iter.cloned().collect())
}

/// What `xargs ARGS` runs.
enum XargsCommand {
    /// Nothing but `echo`.
    Echo,
    /// One command: its words, with the input's words appended.
    Run(Vec<Word>),
    /// One command per input line (`-I`), with the line put in place of the replace string.
    Each(Vec<Vec<Word>>),
}

/// Most runs of an `xargs -I` command the guard assesses one by one.
const MAX_XARGS_RUNS: usize = 32;

/// Reads `xargs`'s options and builds what it runs from its input: the input's words when the
/// guard knows the text (`echo kube-system | xargs kubectl delete ns`), otherwise a word known
/// only at run time, so a name, verb or namespace from the input is never taken as safe.
fn unwrap_xargs(a: &mut CommandAssessment, rest: &[Word], stdin: &Stdin) -> XargsCommand {
    let mut replace: Option<String> = None;
    let mut from_file = false;
    let mut split_lines = false;
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        let t = word.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let (flag, inline) = if let Some(long) = t.strip_prefix("--") {
            match long.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (long.to_owned(), None),
            }
        } else {
            let mut chars = t.chars().skip(1);
            let flag = chars.next().map(String::from).unwrap_or_default();
            let attached: String = chars.collect();
            (flag, (!attached.is_empty()).then_some(attached))
        };
        let takes_value = matches!(
            flag.as_str(),
            "a" | "d"
                | "E"
                | "I"
                | "L"
                | "n"
                | "P"
                | "s"
                | "arg-file"
                | "delimiter"
                | "eof"
                | "max-lines"
                | "max-args"
                | "max-procs"
                | "max-chars"
                | "process-slot-var"
        );
        let value = match inline {
            Some(v) => Some(v),
            None if takes_value => {
                i += 1;
                rest.get(i).map(|w| w.text.clone())
            }
            None => None,
        };
        match flag.as_str() {
            "a" | "arg-file" => from_file = true,
            "I" => replace = value,
            "i" | "replace" => replace = Some(value.unwrap_or_else(|| "{}".to_owned())),
            "0" | "null" | "d" | "delimiter" => split_lines = true,
            _ => {}
        }
        i += 1;
    }
    if from_file {
        a.raise(Risk::High, "`xargs -a` reads a local file");
    }
    let command = rest.get(i..).unwrap_or_default().to_vec();
    if command.is_empty() {
        return XargsCommand::Echo;
    }
    let known = stdin
        .script()
        .filter(|script| !script.dynamic && !from_file)
        .map(|script| script.text.as_str());
    if let Some(repl) = replace {
        let lines: Vec<Word> = match known {
            Some(text) => text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| Word::literal(line.trim()))
                .collect(),
            None => vec![Word::unknown("<input line>")],
        };
        if lines.len() > MAX_XARGS_RUNS {
            a.raise(
                Risk::High,
                format!("`xargs` would run its command more than {MAX_XARGS_RUNS} times"),
            );
        }
        let runs = lines
            .iter()
            .take(MAX_XARGS_RUNS)
            .map(|line| {
                command
                    .iter()
                    .map(|word| {
                        if word.text.contains(&repl) {
                            Word {
                                text: word.text.replace(&repl, &line.text),
                                dynamic: word.dynamic || line.dynamic,
                                disguise: word.disguise,
                                known: None,
                            }
                        } else {
                            word.clone()
                        }
                    })
                    .collect()
            })
            .collect();
        return XargsCommand::Each(runs);
    }
    let mut argv = command;
    match known {
        Some(text) if split_lines => {
            argv.extend(
                text.split(['\n', '\0'])
                    .filter(|w| !w.is_empty())
                    .map(Word::literal),
            );
        }
        Some(text) => argv.extend(xargs_words(text).into_iter().map(Word::literal)),
        None => {
            if argv.len() == 1
                && argv
                    .first()
                    .is_some_and(|p| matches!(basename(&p.text), "kubectl" | "helm"))
            {
                a.raise(
                    Risk::High,
                    "`xargs` supplies the verb from its input, so it cannot be checked",
                );
            }
            argv.push(Word::unknown("<input>"));
        }
    }
    XargsCommand::Run(argv)
}

/// Splits `xargs` input into words: blanks and newlines separate, quotes and backslashes quote.
fn xargs_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    word.push(q);
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Drops leading options (and the values of options in `with_value`) and returns the rest.
fn skip_options(args: &[Word], with_value: &[&str]) -> Vec<Word> {
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let t = word.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let name = t.trim_start_matches('-');
        let takes_value = !name.contains('=')
            && (with_value.contains(&name)
                || (!t.starts_with("--")
                    && name
                        .chars()
                        .last()
                        .is_some_and(|c| with_value.contains(&c.to_string().as_str()))));
        i += if takes_value { 2 } else { 1 };
    }
    args.get(i..).unwrap_or_default().to_vec()
}
