//! Classifies one simple command: unwraps wrappers (`sudo`, `env`, `timeout`, `xargs`, `sh -c`,
//! ...), then hands the program to its grammar (kubectl, helm, text filters) or to the rules for
//! dangerous and unknown programs.

use crate::assess::CommandAssessment;
use crate::filters;
use crate::risk::Risk;
use crate::shell::{DOWNLOADERS, SimpleCommand, Walker, Word};

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
    let mut a = CommandAssessment::new("", cmd.argv.iter().map(|word| word.text.clone()).collect());
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
        a.program = if cmd.writes.is_empty() && cmd.reads.is_empty() {
            a.raise(Risk::Low, "only sets shell variables");
            "(assignment)".to_owned()
        } else {
            "(redirection)".to_owned()
        };
        w.out.push(a);
        return;
    }
    let mut args: Vec<Word> = cmd.argv.clone();
    // Unwrap wrappers until a real program is reached.
    loop {
        let Some(first) = args.first().cloned() else {
            a.raise(Risk::Low, "a wrapper with no command only prints");
            w.out.push(a);
            return;
        };
        let name = basename(&first.text).to_owned();
        a.program.clone_from(&name);
        a.argv = args.iter().map(|word| word.text.clone()).collect();
        if first.dynamic {
            a.program.clone_from(&first.text);
            a.raise(
                Risk::High,
                format!("the program `{}` is computed at run time", first.text),
            );
            w.out.push(a);
            return;
        }
        check_path(&mut a, &first.text);
        check_patterns(w, &mut a, &name, &args);
        let rest: Vec<Word> = args.get(1..).unwrap_or_default().to_vec();
        match name.as_str() {
            "sudo" | "doas" => {
                a.raise(
                    Risk::High,
                    format!("`{name}` runs the command as another user"),
                );
                args = skip_options(
                    &rest,
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
                if args.is_empty() {
                    a.raise(
                        Risk::High,
                        format!("`{name}` without a command opens a root shell"),
                    );
                }
            }
            "env" => {
                let mut inner = Vec::new();
                let mut iter = rest.iter();
                while let Some(word) = iter.next() {
                    let t = word.text.as_str();
                    if inner.is_empty() && (t == "-S" || t.starts_with("--split-string")) {
                        let script = if t == "-S" {
                            iter.next().map(|w| w.text.clone())
                        } else {
                            t.split_once('=').map(|(_, v)| v.to_owned())
                        };
                        a.raise(Risk::Low, "`env -S` runs its argument as a command line; each command in it is assessed");
                        w.out.push(a);
                        if let Some(script) = script {
                            w.line(&script, depth + 1);
                        }
                        return;
                    }
                    if inner.is_empty() && matches!(t, "-u" | "--unset" | "-C" | "--chdir") {
                        iter.next();
                        continue;
                    }
                    if inner.is_empty() && t.starts_with('-') {
                        continue;
                    }
                    if inner.is_empty() && t.contains('=') && !t.starts_with('=') {
                        if let Some((var, _)) = t.split_once('=') {
                            check_variable(&mut a, var);
                        }
                        continue;
                    }
                    inner.push(word.clone());
                }
                if inner.is_empty() {
                    a.raise(
                        Risk::High,
                        "`env` without a command prints the environment, which may hold secrets",
                    );
                }
                args = inner;
            }
            "timeout" => {
                let after = skip_options(&rest, &["s", "k", "signal", "kill-after"]);
                args = after.get(1..).unwrap_or_default().to_vec();
            }
            "nice" => args = skip_options(&rest, &["n", "adjustment"]),
            "ionice" => {
                args = skip_options(
                    &rest,
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
            "stdbuf" => args = skip_options(&rest, &["i", "o", "e", "input", "output", "error"]),
            "nohup" | "builtin" | "setsid" => args = skip_options(&rest, &[]),
            "time" => {
                if rest
                    .iter()
                    .any(|word| word.text == "-o" || word.text.starts_with("--output"))
                {
                    a.raise(Risk::High, "`time -o` writes a local file");
                }
                args = skip_options(&rest, &["f", "o", "format", "output"]);
            }
            "exec" => args = skip_options(&rest, &["a"]),
            "command" => {
                if rest
                    .first()
                    .is_some_and(|word| word.text == "-v" || word.text == "-V")
                {
                    a.raise(Risk::Low, "`command -v` only looks a program up");
                    w.out.push(a);
                    return;
                }
                args = skip_options(&rest, &[]);
            }
            "xargs" => {
                if rest
                    .iter()
                    .any(|word| word.text == "-a" || word.text.starts_with("--arg-file"))
                {
                    a.raise(Risk::High, "`xargs -a` reads a local file");
                }
                args = skip_options(
                    &rest,
                    &[
                        "a",
                        "d",
                        "E",
                        "I",
                        "L",
                        "n",
                        "P",
                        "s",
                        "arg-file",
                        "delimiter",
                        "eof",
                        "replace",
                        "max-lines",
                        "max-args",
                        "max-procs",
                        "max-chars",
                        "process-slot-var",
                    ],
                );
                if args.is_empty() {
                    // xargs runs `echo` by default.
                    a.raise(Risk::Low, "`xargs` without a command only echoes its input");
                    w.out.push(a);
                    return;
                }
                if args.len() == 1
                    && args
                        .first()
                        .is_some_and(|p| matches!(basename(&p.text), "kubectl" | "helm"))
                {
                    a.raise(
                        Risk::High,
                        "`xargs` supplies the verb from its input, so it cannot be checked",
                    );
                }
            }
            "watch" => {
                let exec = rest
                    .iter()
                    .any(|word| word.text == "-x" || word.text == "--exec");
                let inner = skip_options(
                    &rest,
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
                    args = inner;
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
                let script = rest
                    .iter()
                    .map(|word| word.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if rest.iter().any(|word| word.dynamic) {
                    a.raise(
                        Risk::High,
                        "`eval` runs text computed at run time, which cannot be checked",
                    );
                } else {
                    a.raise(Risk::Low, "`eval` runs its arguments as a command line; each command in it is assessed");
                }
                w.out.push(a);
                w.line(&script, depth + 1);
                return;
            }
            "su" => {
                a.raise(Risk::High, "`su` runs the command as another user");
                let script = rest
                    .windows(2)
                    .find(|p| {
                        p.first()
                            .is_some_and(|f| f.text == "-c" || f.text == "--command")
                    })
                    .and_then(|p| p.get(1))
                    .map(|word| word.text.clone());
                w.out.push(a);
                if let Some(script) = script {
                    w.line(&script, depth + 1);
                }
                return;
            }
            "find" => {
                classify_find(w, a, &rest, depth);
                return;
            }
            _ => {
                classify_program(w, &mut a, &name, &rest, cmd, depth);
                return;
            }
        }
    }
}

/// A program that is not a wrapper.
fn classify_program(
    w: &mut Walker<'_>,
    a: &mut CommandAssessment,
    name: &str,
    rest: &[Word],
    cmd: &SimpleCommand,
    depth: usize,
) {
    let policy = w.policy;
    match name {
        "kubectl" => crate::kubectl::classify(a, rest, policy),
        "helm" => crate::helm::classify(a, rest, policy),
        _ if INTERPRETERS.contains(&name) => {
            classify_interpreter(w, a, name, rest, cmd, depth);
            return;
        }
        _ if filters::is_filter(name, policy) => filters::classify(a, name, rest),
        _ if HARMLESS.contains(&name) => {
            a.raise(Risk::Low, format!("`{name}` only prints or waits"));
        }
        _ if VARIABLE_BUILTINS.contains(&name) => {
            for word in rest {
                if let Some((var, _)) = word.text.split_once('=') {
                    check_variable(a, var);
                }
            }
            a.raise(Risk::Low, format!("`{name}` only sets shell variables"));
        }
        "source" | "." => {
            a.raise(
                Risk::High,
                "runs a local script that the guard cannot inspect",
            );
            if cmd.downloaded_input {
                a.raise(Risk::Critical, "runs code downloaded from the network");
            }
        }
        "alias" => a.raise(Risk::High, "`alias` can shadow other commands"),
        "rm" => classify_rm(a, rest),
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
        "tee" => filters::classify(a, name, rest),
        _ if DOWNLOADERS.contains(&name) => {
            a.raise(Risk::High, format!("`{name}` talks to the network"));
        }
        _ => a.raise(
            Risk::High,
            format!("`{name}` is not a known program; unknown programs always need a human"),
        ),
    }
    w.out.push(a.clone());
    if name == "kubectl"
        && let Some(inner) = container_command(rest)
    {
        // What runs inside the container is a command line of its own: `rm -rf /` there is
        // as much a disaster as here, whoever approves the `kubectl exec`.
        let inner = SimpleCommand {
            assignments: Vec::new(),
            argv: inner.to_vec(),
            writes: Vec::new(),
            reads: Vec::new(),
            piped_input: false,
            downloaded_input: cmd.downloaded_input,
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
    a: &mut CommandAssessment,
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
    // Find `-c STRING` (also inside clusters like `-ec` or `-lc`).
    let mut script: Option<&Word> = None;
    let mut operands = 0usize;
    let mut iter = rest.iter().enumerate();
    while let Some((i, word)) = iter.next() {
        let t = word.text.as_str();
        if is_shell
            && t.starts_with('-')
            && !t.starts_with("--")
            && t.contains('c')
            && script.is_none()
        {
            script = rest.get(i + 1);
            break;
        }
        if t == "-o" || t == "+o" {
            iter.next();
            continue;
        }
        if t.starts_with('-') || t.starts_with('+') {
            continue;
        }
        operands += 1;
    }
    if cmd.downloaded_input {
        a.raise(
            Risk::Critical,
            format!("pipes code downloaded from the network into `{name}`"),
        );
        w.out.push(a.clone());
        return;
    }
    if let Some(script) = script {
        if script.dynamic {
            a.raise(
                Risk::High,
                format!("`{name} -c` runs text computed at run time, which cannot be checked"),
            );
        } else {
            a.raise(Risk::Low, format!("`{name} -c` runs its argument as a command line; each command in it is assessed"));
        }
        w.out.push(a.clone());
        w.line(&script.text, depth + 1);
        return;
    }
    if !is_shell {
        a.raise(
            Risk::High,
            format!("`{name}` runs code that the guard cannot inspect"),
        );
    } else if operands > 0 {
        a.raise(
            Risk::High,
            format!("`{name}` runs a local script that the guard cannot inspect"),
        );
    } else if cmd.piped_input {
        a.raise(
            Risk::High,
            format!("`{name}` runs the commands piped into it, which the guard cannot inspect"),
        );
    } else {
        a.raise(
            Risk::High,
            format!("`{name}` runs commands from its input, which the guard cannot inspect"),
        );
    }
    w.out.push(a.clone());
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
    program.rsplit('/').next().unwrap_or(program)
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
