//! Secrets in command lines and argument lists, before a line is written to the audit log,
//! an event or the task store: the values of secret-looking flags (`--token`, `--password`,
//! `--docker-password`, `--kube-token`, ...), `--from-literal` values of `create secret`,
//! helm `--set key=value` pairs with secret-looking keys, `KEY=value` words with secret-looking
//! keys, the patch of a Secret, and anything the text redactor recognises by its shape
//! (bearer tokens, JWTs, PEM keys, passwords in URLs).
//!
//! ```
//! use kopilot_safety::redact::redact_command_line;
//!
//! let line = "kubectl create secret generic db --from-literal=password=hunter2 -n shop";
//! assert_eq!(
//!     redact_command_line(line),
//!     "kubectl create secret generic db '--from-literal=password=[REDACTED: credential]' -n shop"
//! );
//! ```

use std::borrow::Cow;

use super::{CREDENTIAL, SECRET_DATA, line::secret_name, redact};

/// The words of one command with secret values replaced.
pub fn redact_argv<S: AsRef<str>>(argv: &[S]) -> Vec<String> {
    let words: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    redact_words(&words).0
}

/// A command line with secret values replaced by markers; borrowed when nothing was secret.
/// Words are found like a shell finds them (quotes, escapes, pipes and lists); a changed word
/// is written back quoted, so the line still reads as the command it was.
pub fn redact_command_line(line: &str) -> Cow<'_, str> {
    let tokens = tokenize(line);
    let mut out = String::new();
    let mut copied = 0;
    for command in tokens.split(|t| t.operator) {
        let words: Vec<&str> = command.iter().map(|t| t.value.as_str()).collect();
        let (redacted, changed) = redact_words(&words);
        for ((token, new), changed) in command.iter().zip(&redacted).zip(changed) {
            if changed {
                out.push_str(line.get(copied..token.start).unwrap_or_default());
                out.push_str(&crate::quote::quote_word(new));
                copied = token.end;
            }
        }
    }
    let line: Cow<'_, str> = if copied == 0 {
        Cow::Borrowed(line)
    } else {
        out.push_str(line.get(copied..).unwrap_or_default());
        Cow::Owned(out)
    };
    // The text redactor as a second line (here-document bodies, tokens in any word).
    match redact(&line) {
        Cow::Borrowed(_) => line,
        Cow::Owned(text) => Cow::Owned(text),
    }
}

/// Redacts one command's words; also says which words changed.
fn redact_words(words: &[&str]) -> (Vec<String>, Vec<bool>) {
    let creates_secret = words.windows(2).any(|w| w == ["create", "secret"]);
    let touches_secret = words
        .iter()
        .any(|w| matches!(w.to_ascii_lowercase().as_str(), "secret" | "secrets"))
        || words
            .iter()
            .any(|w| w.to_ascii_lowercase().starts_with("secret/"));
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut changed = Vec::with_capacity(words.len());
    let mut secret_value_next = false;
    for word in words {
        let mut new = if secret_value_next {
            secret_value_next = false;
            if word.is_empty() {
                (*word).to_owned()
            } else {
                CREDENTIAL.to_owned()
            }
        } else if let Some(flag) = word.strip_prefix("--") {
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (flag, None),
            };
            match (name, value) {
                (_, None) if flag_is_secret(name) => {
                    secret_value_next = true;
                    (*word).to_owned()
                }
                (_, Some(v)) if flag_is_secret(name) && !v.is_empty() => {
                    format!("--{name}={CREDENTIAL}")
                }
                ("from-literal", Some(pair)) => {
                    format!("--{name}={}", literal(pair, creates_secret))
                }
                ("set" | "set-string" | "set-json" | "set-literal", Some(pairs)) => {
                    format!("--{name}={}", helm_values(pairs))
                }
                ("patch" | "patch-file", Some(_)) if touches_secret && name == "patch" => {
                    format!("--{name}={SECRET_DATA}")
                }
                _ => (*word).to_owned(),
            }
        } else {
            assignment(word).unwrap_or_else(|| (*word).to_owned())
        };
        // The value of `--from-literal K=V`, `--set K=V`, `-p PATCH` given as the next word.
        if let Some(previous) = out.last().map(String::as_str) {
            match previous {
                "--from-literal" => new = literal(word, creates_secret),
                "--set" | "--set-string" | "--set-json" | "--set-literal" => {
                    new = helm_values(word);
                }
                "-p" | "--patch" if touches_secret => SECRET_DATA.clone_into(&mut new),
                _ => {}
            }
        }
        if let Cow::Owned(text) = redact(&new) {
            new = text;
        }
        changed.push(new != *word);
        out.push(new);
    }
    (out, changed)
}

/// Whether a flag's value is a secret by the flag's name (`--token`, `--password`,
/// `--docker-password`, `--kube-token`, `--client-secret`; not `--token-file`).
fn flag_is_secret(name: &str) -> bool {
    secret_name(name)
}

/// `KEY=VALUE` with a secret-looking key: the value redacted.
fn assignment(word: &str) -> Option<String> {
    let (key, value) = word.split_once('=')?;
    let plain_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (plain_key && !value.is_empty() && secret_name(key)).then(|| format!("{key}={CREDENTIAL}"))
}

/// `KEY=VALUE` of `--from-literal`: a Secret's values are all secret; elsewhere (a ConfigMap)
/// only secret-looking keys are.
fn literal(pair: &str, creates_secret: bool) -> String {
    match pair.split_once('=') {
        Some((key, value)) if !value.is_empty() && (creates_secret || secret_name(key)) => {
            format!("{key}={CREDENTIAL}")
        }
        _ => pair.to_owned(),
    }
}

/// helm's `a.b=x,c.password=y`: values whose key path holds a secret-looking segment.
fn helm_values(pairs: &str) -> String {
    pairs
        .split(',')
        .map(|pair| match pair.split_once('=') {
            Some((key, value))
                if !value.is_empty()
                    && (secret_name(key) || key.split(['.', '[']).any(secret_name)) =>
            {
                format!("{key}={CREDENTIAL}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One shell word (or operator) and where it is in the line.
struct Token {
    start: usize,
    end: usize,
    /// The word after quote removal (expansions kept as written).
    value: String,
    /// `|`, `;`, `&`, `(`, `)`, `<`, `>`, a newline: separates commands.
    operator: bool,
}

/// Characters that end a word and separate commands (`$(`, `)` and backticks included, so
/// the words of a command substitution are found like any others).
fn is_operator(c: char) -> bool {
    matches!(c, '|' | ';' | '&' | '(' | ')' | '<' | '>' | '\n' | '`')
}

/// Splits a line into words and operators like a shell's tokenizer, well enough to find the
/// words to redact: single and double quotes and backslashes stay inside their word.
fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c == ' ' || c == '\t' {
            chars.next();
            continue;
        }
        if is_operator(c) {
            chars.next();
            tokens.push(Token {
                start,
                end: start + c.len_utf8(),
                value: c.to_string(),
                operator: true,
            });
            continue;
        }
        let mut value = String::new();
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == ' ' || c == '\t' || is_operator(c) {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            match c {
                '\'' => {
                    for (j, q) in chars.by_ref() {
                        end = j + q.len_utf8();
                        if q == '\'' {
                            break;
                        }
                        value.push(q);
                    }
                }
                '"' => {
                    while let Some((j, q)) = chars.next() {
                        end = j + q.len_utf8();
                        match q {
                            '"' => break,
                            '\\' => {
                                if let Some((k, e)) = chars.next() {
                                    end = k + e.len_utf8();
                                    if !matches!(e, '"' | '\\' | '$' | '`') {
                                        value.push('\\');
                                    }
                                    value.push(e);
                                }
                            }
                            other => value.push(other),
                        }
                    }
                }
                '\\' => {
                    if let Some((j, e)) = chars.next() {
                        end = j + e.len_utf8();
                        value.push(e);
                    }
                }
                other => value.push(other),
            }
        }
        tokens.push(Token {
            start,
            end,
            value,
            operator: false,
        });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_in_argv_are_replaced() {
        let redacted = redact_argv(&[
            "kubectl",
            "create",
            "secret",
            "generic",
            "db",
            "--from-literal=user=admin",
            "--from-literal",
            "pw=hunter2",
            "-n",
            "shop",
        ]);
        assert_eq!(
            redacted,
            [
                "kubectl",
                "create",
                "secret",
                "generic",
                "db",
                "--from-literal=user=[REDACTED: credential]",
                "--from-literal",
                "pw=[REDACTED: credential]",
                "-n",
                "shop"
            ]
        );
        assert_eq!(
            redact_argv(&["kubectl", "--token", "abc123", "get", "pods"]),
            ["kubectl", "--token", CREDENTIAL, "get", "pods"]
        );
        assert_eq!(
            redact_argv(&["helm", "install", "x", "--set", "a=1,db.password=s3cret"]),
            [
                "helm",
                "install",
                "x",
                "--set",
                "a=1,db.password=[REDACTED: credential]"
            ]
        );
        assert_eq!(
            redact_argv(&[
                "kubectl",
                "set",
                "env",
                "deploy/web",
                "API_KEY=k-123",
                "LOG=debug"
            ]),
            [
                "kubectl",
                "set",
                "env",
                "deploy/web",
                "API_KEY=[REDACTED: credential]",
                "LOG=debug"
            ]
        );
        assert_eq!(
            redact_argv(&[
                "kubectl",
                "patch",
                "secret",
                "db",
                "-p",
                "{\"data\":{\"x\":\"eA==\"}}"
            ]),
            ["kubectl", "patch", "secret", "db", "-p", SECRET_DATA]
        );
        assert_eq!(
            redact_argv(&[
                "kubectl",
                "create",
                "configmap",
                "c",
                "--from-literal=level=debug"
            ]),
            [
                "kubectl",
                "create",
                "configmap",
                "c",
                "--from-literal=level=debug"
            ]
        );
        assert_eq!(
            redact_argv(&["curl", "-H", "Authorization: Bearer abcdefghijklmnop"]),
            ["curl", "-H", "Authorization: Bearer [REDACTED: token]"]
        );
        assert_eq!(
            redact_argv(&["kubectl", "get", "pods", "--token-file", "/x"]),
            ["kubectl", "get", "pods", "--token-file", "/x"]
        );
    }

    #[test]
    fn command_lines_keep_their_shape() {
        assert_eq!(
            redact_command_line("kubectl get pods -n shop | grep web"),
            "kubectl get pods -n shop | grep web"
        );
        assert!(matches!(
            redact_command_line("kubectl get pods -n shop"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            redact_command_line("DB_PASSWORD='a b' ./start && kubectl --token=\"x y\" get po"),
            "'DB_PASSWORD=[REDACTED: credential]' ./start && kubectl '--token=[REDACTED: credential]' get po"
        );
        assert_eq!(
            redact_command_line("echo $(kubectl create secret generic s --from-literal=k=v)"),
            "echo $(kubectl create secret generic s '--from-literal=k=[REDACTED: credential]')"
        );
        let heredoc = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Secret\ndata:\n  password: aHVudGVyMg==\nEOF";
        let out = redact_command_line(heredoc);
        assert!(!out.contains("aHVudGVyMg=="), "{out}");
    }
}
