//! The shell layer: parses a command line like bash would (with `brush-parser`) and walks every
//! simple command in it, wherever it hides: pipelines, lists, subshells, control flow, function
//! bodies, `$( )`, backticks, process substitutions, here-documents and parameter defaults.
//!
//! Each simple command found is handed, with its context, to [`crate::programs::classify`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use crate::assess::CommandAssessment;
use crate::policy::Policy;
use crate::risk::Risk;

/// Longest command line the guard will look at.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Deepest nesting of brackets, braces and backticks the guard will hand to the parser.
pub const MAX_BRACKET_DEPTH: usize = 48;
/// Deepest nesting of commands inside commands (`$( )`, `sh -c`, `eval`, ...).
pub const MAX_COMMAND_DEPTH: usize = 12;
/// Most simple commands one line may contain, counting nested ones.
pub const MAX_COMMANDS: usize = 256;

/// A word after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The literal value; expansions are kept as their source text.
    pub text: String,
    /// True when part of the value is only known at run time (`$VAR`, `$( )`, `~`, ...).
    pub dynamic: bool,
}

impl Word {
    pub(crate) fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: false,
        }
    }
}

/// A simple command as the classifier sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimpleCommand {
    /// Leading `NAME=value` assignments.
    pub assignments: Vec<(String, Word)>,
    /// Program and arguments.
    pub argv: Vec<Word>,
    /// Files written by redirections.
    pub writes: Vec<Word>,
    /// Files read by redirections.
    pub reads: Vec<Word>,
    /// Whether standard input comes from an earlier command in a pipeline.
    pub piped_input: bool,
    /// Whether any input (pipe, process substitution, command substitution) is produced by a
    /// program that downloads from the network.
    pub downloaded_input: bool,
}

/// Walks a command line and collects one [`CommandAssessment`] per simple command.
pub(crate) struct Walker<'p> {
    pub policy: &'p Policy,
    pub out: Vec<CommandAssessment>,
    commands_seen: usize,
    /// Set when the line is exactly one foreground pipeline of literal simple commands.
    pub plain_pipeline: Option<Vec<Vec<String>>>,
    /// Whether plain lines skip the full parser (always on, except in tests that compare).
    fast_path: bool,
}

/// Programs that fetch from the network; their output must never feed an interpreter.
pub(crate) const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "aria2c", "http", "https", "xh"];

impl<'p> Walker<'p> {
    pub(crate) fn new(policy: &'p Policy) -> Self {
        Self {
            policy,
            out: Vec::new(),
            commands_seen: 0,
            plain_pipeline: None,
            fast_path: true,
        }
    }

    /// Walks a pipeline of literal words found by the fast path.
    fn literal_pipeline(&mut self, stages: &[Vec<String>], depth: usize) {
        let mut downloaded = false;
        for (index, stage) in stages.iter().enumerate() {
            self.commands_seen += 1;
            if self.commands_seen > MAX_COMMANDS {
                if self.commands_seen == MAX_COMMANDS + 1 {
                    self.finding(
                        "(input)",
                        &stage.join(" "),
                        Risk::Critical,
                        format!("contains more than {MAX_COMMANDS} commands"),
                    );
                }
                return;
            }
            let cmd = SimpleCommand {
                argv: stage.iter().map(|w| Word::literal(w.as_str())).collect(),
                piped_input: index > 0,
                downloaded_input: downloaded,
                ..SimpleCommand::default()
            };
            crate::programs::classify(self, &cmd, depth);
            downloaded |= stage
                .iter()
                .any(|w| DOWNLOADERS.contains(&program_basename(w)));
        }
    }

    /// Records a finding that is not tied to one program (parse errors, limits).
    pub(crate) fn finding(&mut self, program: &str, text: &str, risk: Risk, reason: String) {
        self.out
            .push(CommandAssessment::finding(program, text, risk, reason));
    }

    /// Walks one command line at nesting depth `depth`.
    pub(crate) fn line(&mut self, text: &str, depth: usize) {
        if depth > MAX_COMMAND_DEPTH {
            self.finding(
                "(nested)",
                text,
                Risk::Critical,
                format!("commands are nested more than {MAX_COMMAND_DEPTH} levels deep"),
            );
            return;
        }
        if let Err(reason) = precheck(text) {
            self.finding("(input)", text, Risk::Critical, reason);
            return;
        }
        if self.fast_path
            && let Some(stages) = crate::fastpath::split(text)
        {
            self.literal_pipeline(&stages, depth);
            if depth == 0 {
                self.plain_pipeline = Some(stages);
            }
            return;
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            let mut parser = brush_parser::Parser::new(text.as_bytes(), &parser_options());
            parser.parse_program()
        }));
        let program = match parsed {
            Ok(Ok(program)) => program,
            Ok(Err(err)) => {
                self.finding(
                    "(input)",
                    text,
                    Risk::Critical,
                    format!("cannot be parsed as a shell command line: {err}"),
                );
                return;
            }
            Err(_) => {
                self.finding(
                    "(input)",
                    text,
                    Risk::Critical,
                    "the shell parser failed on this input".to_owned(),
                );
                return;
            }
        };
        if program.complete_commands.iter().all(|c| c.0.is_empty()) {
            self.finding(
                "(input)",
                text,
                Risk::Critical,
                "contains no command".to_owned(),
            );
            return;
        }
        if depth == 0 {
            self.plain_pipeline = crate::fastpath::from_program(&program);
        }
        for list in &program.complete_commands {
            self.compound_list(list, depth);
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, depth: usize) {
        for ast::CompoundListItem(and_or, _separator) in &list.0 {
            self.pipeline(&and_or.first, depth);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, depth),
                }
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, depth: usize) {
        let mut downloader_upstream = false;
        for (index, command) in pipeline.seq.iter().enumerate() {
            let piped = index > 0;
            self.command(command, depth, piped, downloader_upstream);
            downloader_upstream |= mentions_downloader(command);
        }
    }

    fn command(&mut self, command: &ast::Command, depth: usize, piped: bool, downloaded: bool) {
        match command {
            ast::Command::Simple(simple) => self.simple(simple, depth, piped, downloaded),
            ast::Command::Compound(compound, redirects) => {
                self.compound(compound, depth);
                if let Some(list) = redirects {
                    let mut holder = SimpleCommand::default();
                    for redirect in &list.0 {
                        self.redirect(redirect, &mut holder, depth);
                    }
                    self.redirect_only(&holder, depth);
                }
            }
            ast::Command::Function(function) => self.function(function, depth),
            ast::Command::ExtendedTest(test, redirects) => {
                self.extended_test(&test.expr, depth);
                if let Some(list) = redirects {
                    let mut holder = SimpleCommand::default();
                    for redirect in &list.0 {
                        self.redirect(redirect, &mut holder, depth);
                    }
                    self.redirect_only(&holder, depth);
                }
            }
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand, depth: usize) {
        match compound {
            ast::CompoundCommand::Arithmetic(a) => self.embedded_text(&a.expr.value, depth),
            ast::CompoundCommand::ArithmeticForClause(f) => {
                for expr in [&f.initializer, &f.condition, &f.updater]
                    .into_iter()
                    .flatten()
                {
                    self.embedded_text(&expr.value, depth);
                }
                self.compound_list(&f.body.list, depth);
            }
            ast::CompoundCommand::BraceGroup(b) => self.compound_list(&b.list, depth),
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list, depth),
            ast::CompoundCommand::ForClause(f) => {
                for word in f.values.iter().flatten() {
                    self.word(&word.value, depth);
                }
                self.compound_list(&f.body.list, depth);
            }
            ast::CompoundCommand::CaseClause(c) => {
                self.word(&c.value.value, depth);
                for item in &c.cases {
                    for pattern in &item.patterns {
                        self.word(&pattern.value, depth);
                    }
                    if let Some(list) = &item.cmd {
                        self.compound_list(list, depth);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, depth);
                self.compound_list(&i.then, depth);
                for clause in i.elses.iter().flatten() {
                    if let Some(condition) = &clause.condition {
                        self.compound_list(condition, depth);
                    }
                    self.compound_list(&clause.body, depth);
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, depth);
                self.compound_list(&w.1.list, depth);
            }
            ast::CompoundCommand::Coprocess(c) => self.command(&c.body, depth, false, false),
        }
    }

    fn function(&mut self, function: &ast::FunctionDefinition, depth: usize) {
        let name = function.fname.value.clone();
        let body_text = function.body.0.to_string();
        if calls_itself(&name, &body_text) {
            self.finding(
                &name,
                &function.to_string(),
                Risk::Critical,
                format!("function `{name}` calls itself: a fork bomb pattern"),
            );
        } else {
            self.finding(
                &name,
                &function.to_string(),
                Risk::High,
                format!("defines a shell function `{name}`, which can shadow other commands"),
            );
        }
        self.compound(&function.body.0, depth);
        if let Some(list) = &function.body.1 {
            let mut holder = SimpleCommand::default();
            for redirect in &list.0 {
                self.redirect(redirect, &mut holder, depth);
            }
            self.redirect_only(&holder, depth);
        }
    }

    fn extended_test(&mut self, expr: &ast::ExtendedTestExpr, depth: usize) {
        match expr {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.extended_test(a, depth);
                self.extended_test(b, depth);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
                self.extended_test(a, depth);
            }
            ast::ExtendedTestExpr::UnaryTest(_, w) => {
                self.word(&w.value, depth);
            }
            ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
                self.word(&a.value, depth);
                self.word(&b.value, depth);
            }
        }
    }

    fn simple(&mut self, simple: &ast::SimpleCommand, depth: usize, piped: bool, downloaded: bool) {
        self.commands_seen += 1;
        if self.commands_seen > MAX_COMMANDS {
            if self.commands_seen == MAX_COMMANDS + 1 {
                self.finding(
                    "(input)",
                    &simple.to_string(),
                    Risk::Critical,
                    format!("contains more than {MAX_COMMANDS} commands"),
                );
            }
            return;
        }
        let mut cmd = SimpleCommand {
            piped_input: piped,
            downloaded_input: downloaded,
            ..SimpleCommand::default()
        };
        let before = self.out.len();
        let mut name_seen = false;
        for item in simple.prefix.iter().flat_map(|p| p.0.iter()) {
            self.item(item, &mut cmd, depth, false);
        }
        if let Some(name) = &simple.word_or_name {
            name_seen = true;
            let word = self.word(&name.value, depth);
            cmd.argv.push(word);
        }
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            self.item(item, &mut cmd, depth, name_seen);
        }
        // `bash -c "$(curl ...)"`, `source <(wget ...)`: downloaded text becomes input.
        if self
            .out
            .get(before..)
            .unwrap_or_default()
            .iter()
            .any(|c| DOWNLOADERS.contains(&c.program.as_str()))
        {
            cmd.downloaded_input = true;
        }
        crate::programs::classify(self, &cmd, depth);
    }

    fn item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        cmd: &mut SimpleCommand,
        depth: usize,
        after_name: bool,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                self.redirect(redirect, cmd, depth);
            }
            ast::CommandPrefixOrSuffixItem::Word(word) => {
                let word = self.word(&word.value, depth);
                cmd.argv.push(word);
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(assignment, raw) => {
                let value = match &assignment.value {
                    ast::AssignmentValue::Scalar(w) => self.word(&w.value, depth),
                    ast::AssignmentValue::Array(values) => {
                        let mut joined = Word::literal("");
                        for (key, value) in values {
                            if let Some(key) = key {
                                self.word(&key.value, depth);
                            }
                            let v = self.word(&value.value, depth);
                            joined.dynamic |= v.dynamic;
                            joined.text.push_str(&v.text);
                            joined.text.push(' ');
                        }
                        joined
                    }
                };
                if after_name {
                    // After the program name an assignment is an ordinary argument
                    // (`export A=b`, `env X=y cmd`).
                    let word = self.word(&raw.value, depth);
                    cmd.argv.push(word);
                } else {
                    cmd.assignments.push((assignment.name.to_string(), value));
                }
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, subshell) => {
                self.compound_list(&subshell.list, depth + 1);
                let marker = match kind {
                    ast::ProcessSubstitutionKind::Read => "<(...)",
                    ast::ProcessSubstitutionKind::Write => ">(...)",
                };
                cmd.argv.push(Word {
                    text: marker.to_owned(),
                    dynamic: true,
                });
            }
        }
    }

    fn redirect(&mut self, redirect: &ast::IoRedirect, cmd: &mut SimpleCommand, depth: usize) {
        match redirect {
            ast::IoRedirect::File(_, kind, target) => match target {
                ast::IoFileRedirectTarget::Filename(word) => {
                    let word = self.word(&word.value, depth);
                    match kind {
                        ast::IoFileRedirectKind::Read => cmd.reads.push(word),
                        ast::IoFileRedirectKind::Write
                        | ast::IoFileRedirectKind::Append
                        | ast::IoFileRedirectKind::Clobber
                        | ast::IoFileRedirectKind::ReadAndWrite => cmd.writes.push(word),
                        ast::IoFileRedirectKind::DuplicateInput
                        | ast::IoFileRedirectKind::DuplicateOutput => {
                            if !is_fd_target(&word.text) {
                                cmd.writes.push(word);
                            }
                        }
                    }
                }
                ast::IoFileRedirectTarget::Fd(_) => {}
                ast::IoFileRedirectTarget::Duplicate(word) => {
                    let word = self.word(&word.value, depth);
                    if !is_fd_target(&word.text) {
                        cmd.writes.push(word);
                    }
                }
                ast::IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                    self.compound_list(&subshell.list, depth + 1);
                }
            },
            ast::IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    self.heredoc(&doc.doc.value, depth);
                }
            }
            ast::IoRedirect::HereString(_, word) => {
                self.word(&word.value, depth);
            }
            ast::IoRedirect::OutputAndError(word, _) => {
                let word = self.word(&word.value, depth);
                cmd.writes.push(word);
            }
        }
    }

    /// Redirections attached to a compound command: classified like a command with no program.
    fn redirect_only(&mut self, holder: &SimpleCommand, depth: usize) {
        if !holder.writes.is_empty() || !holder.reads.is_empty() {
            crate::programs::classify(self, holder, depth);
        }
    }

    /// Text that bash expands (arithmetic, here-document bodies): only its substitutions matter.
    fn embedded_text(&mut self, text: &str, depth: usize) {
        if text.contains("$(") || text.contains('`') || text.contains("${") {
            self.word(text, depth);
        }
    }

    fn heredoc(&mut self, body: &str, depth: usize) {
        let pieces = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse_heredoc(body, &parser_options())
        }));
        match pieces {
            Ok(Ok(pieces)) => {
                self.pieces(body, &pieces, depth, false);
            }
            _ => self.finding(
                "(here-document)",
                body,
                Risk::Critical,
                "a here-document body cannot be parsed".to_owned(),
            ),
        }
    }

    /// Parses one word, walks every command hidden in it, and returns its value.
    pub(crate) fn word(&mut self, raw: &str, depth: usize) -> Word {
        let pieces = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse(raw, &parser_options())
        }));
        match pieces {
            Ok(Ok(pieces)) => self.pieces(raw, &pieces, depth, false),
            Ok(Err(err)) => {
                self.finding(
                    "(word)",
                    raw,
                    Risk::Critical,
                    format!("the word `{raw}` cannot be parsed: {err}"),
                );
                Word {
                    text: raw.to_owned(),
                    dynamic: true,
                }
            }
            Err(_) => {
                self.finding(
                    "(word)",
                    raw,
                    Risk::Critical,
                    format!("the shell parser failed on the word `{raw}`"),
                );
                Word {
                    text: raw.to_owned(),
                    dynamic: true,
                }
            }
        }
    }

    fn pieces(
        &mut self,
        source: &str,
        pieces: &[WordPieceWithSource],
        depth: usize,
        in_double_quotes: bool,
    ) -> Word {
        let mut out = Word::literal(String::new());
        for piece in pieces {
            let raw = source
                .get(piece.start_index..piece.end_index)
                .unwrap_or_default();
            match &piece.piece {
                WordPiece::Text(t) => out.text.push_str(t),
                WordPiece::SingleQuotedText(t) => out.text.push_str(t),
                WordPiece::AnsiCQuotedText(t) => {
                    if t.contains('\\') {
                        out.dynamic = true;
                    }
                    out.text.push_str(t);
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    let inner = self.pieces(source, inner, depth, true);
                    out.dynamic |= inner.dynamic;
                    out.text.push_str(&inner.text);
                }
                WordPiece::EscapeSequence(e) => push_escape(&mut out.text, e, in_double_quotes),
                WordPiece::TildeExpansion(_) => {
                    out.dynamic = true;
                    out.text.push_str(raw);
                }
                WordPiece::ParameterExpansion(_) => {
                    out.dynamic = true;
                    out.text.push_str(raw);
                    // `${x:-$(cmd)}`: the default holds a command too.
                    if let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                        && (inner.contains("$(") || inner.contains('`') || inner.contains("${"))
                    {
                        self.word(inner, depth);
                    }
                }
                WordPiece::CommandSubstitution(inner)
                | WordPiece::BackquotedCommandSubstitution(inner) => {
                    out.dynamic = true;
                    out.text.push_str(raw);
                    self.line(inner, depth + 1);
                }
                WordPiece::ArithmeticExpression(expr) => {
                    out.dynamic = true;
                    out.text.push_str(raw);
                    self.embedded_text(&expr.value, depth);
                }
            }
        }
        out
    }
}

/// Appends what an escape sequence (`\x`) stands for: outside double quotes the escaped
/// character; inside them the backslash stays unless it escapes `$`, `` ` ``, `"`, `\` or a
/// newline; a backslash-newline is a line continuation and stands for nothing.
pub(crate) fn push_escape(text: &mut String, escape: &str, in_double_quotes: bool) {
    let escaped = escape.strip_prefix('\\').unwrap_or(escape);
    if in_double_quotes && !matches!(escaped, "$" | "`" | "\"" | "\\" | "\n") {
        text.push_str(escape);
    } else if escaped != "\n" {
        text.push_str(escaped);
    }
}

pub(crate) fn parser_options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

/// Cheap checks before the parser sees the text: size, NUL bytes and bracket nesting, so
/// pathological input can't exhaust the parser's stack.
fn precheck(text: &str) -> Result<(), String> {
    if text.len() > MAX_LINE_BYTES {
        return Err(format!(
            "command line is {} bytes long; the limit is {MAX_LINE_BYTES}",
            text.len()
        ));
    }
    if text.contains('\0') {
        return Err("contains a NUL byte".to_owned());
    }
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut backticks = 0usize;
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            '`' => backticks += 1,
            _ => {}
        }
    }
    if max > MAX_BRACKET_DEPTH {
        return Err(format!(
            "brackets are nested {max} levels deep; the limit is {MAX_BRACKET_DEPTH}"
        ));
    }
    if backticks > 2 * MAX_BRACKET_DEPTH {
        return Err(format!(
            "contains {backticks} backticks; too many to inspect safely"
        ));
    }
    Ok(())
}

fn is_fd_target(text: &str) -> bool {
    text == "-" || (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
}

fn program_basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Whether a pipeline element runs a downloader (directly, or behind wrappers like `sudo`).
fn mentions_downloader(command: &ast::Command) -> bool {
    match command {
        ast::Command::Simple(simple) => simple
            .word_or_name
            .iter()
            .chain(simple.suffix.iter().flat_map(|s| {
                s.0.iter().filter_map(|i| match i {
                    ast::CommandPrefixOrSuffixItem::Word(w) => Some(w),
                    _ => None,
                })
            }))
            .any(|w| {
                let unquoted = w.value.trim_matches(|c| c == '"' || c == '\'');
                DOWNLOADERS.contains(&program_basename(unquoted))
            }),
        other => {
            let text = other.to_string();
            text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';' | '|' | '&'))
                .any(|t| DOWNLOADERS.contains(&program_basename(t)))
        }
    }
}

/// Whether a function body invokes the function's own name as a command.
fn calls_itself(name: &str, body: &str) -> bool {
    body.split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '{' | '}' | '(' | ')'))
        .any(|token| token == name)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Walker;
    use crate::policy::Policy;

    fn walk(line: &str, fast: bool) -> (Vec<crate::CommandAssessment>, Option<Vec<Vec<String>>>) {
        let policy = Policy::default();
        let mut w = Walker::new(&policy);
        w.fast_path = fast;
        w.line(line, 0);
        (w.out, w.plain_pipeline)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// On every line the fast path accepts, it agrees with the full parser exactly.
        #[test]
        fn the_fast_path_agrees_with_the_parser(
            words in prop::collection::vec(
                prop::sample::select(&[
                    "kubectl", "get", "delete", "pods", "-n", "kube-system", "-nshop", "--namespace=x",
                    "-A", "|", "grep", "-v", "'a b'", "\"c d\"", "sh", "-c", "'kubectl delete pod x'",
                    "curl", "bash", "rm", "-rf", "/", "helm", "uninstall", "xargs", "sudo", "env",
                    "timeout", "5", "jq", ".", "file.txt", "tee", "out", "a''b", "--dry-run=server",
                    "x=1", "''", "/usr/bin/kubectl", "./kubectl", "-o", "yaml", "watch", "eval",
                ][..]),
                1..12,
            ),
        ) {
            let line = words.join(" ");
            if crate::fastpath::split(&line).is_some() {
                prop_assert_eq!(walk(&line, true), walk(&line, false), "{}", line);
            }
        }
    }
}
