//! The shell layer: parses a command line like bash would (with `brush-parser`) and walks every
//! simple command in it, wherever it hides: pipelines, lists, subshells, control flow, function
//! bodies, `$( )`, backticks, process substitutions, here-documents and parameter defaults.
//!
//! Each simple command found is handed, with its context, to [`crate::programs::classify`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};

use crate::assess::CommandAssessment;
use crate::expand::Marked;
use crate::policy::Policy;
use crate::programs::basename;
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
    /// True when part of the value is only known at run time (`$VAR`, `$( )`, `~`, a glob
    /// pattern, ...).
    pub dynamic: bool,
    /// How the word's text is disguised from a plain reading, when it is: `a glob pattern`,
    /// `brace expansion` or `ANSI-C quoting`. A program name written so is never run.
    pub disguise: Option<&'static str>,
    /// For a word computed at run time: its value, when the guard knows what its expansions
    /// give (a variable set to literal text earlier in the line, `$(echo ...)`). Rules that
    /// read a value check this one too; it never makes a word count as literal.
    pub known: Option<String>,
}

impl Word {
    pub(crate) fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: false,
            disguise: None,
            known: None,
        }
    }

    /// A word only known at run time, shown as `text`.
    pub(crate) fn unknown(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: true,
            disguise: None,
            known: None,
        }
    }

    /// The part of this word that ends it (`value` of `--flag=value` or `-nvalue`), with what
    /// is known of it. The part before is literal flag text, so it is as long in `known`.
    pub(crate) fn tail(&self, value: &str) -> Self {
        let prefix = self.text.len().saturating_sub(value.len());
        Self {
            text: value.to_owned(),
            dynamic: self.dynamic,
            disguise: self.disguise,
            known: self
                .known
                .as_deref()
                .and_then(|k| k.get(prefix..))
                .map(str::to_owned),
        }
    }
}

/// Text that reaches a program's standard input and that a shell would run as a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Script {
    /// The text, with run-time expansions kept as their source.
    pub text: String,
    /// Whether part of it is only known at run time.
    pub dynamic: bool,
}

/// Where a simple command's standard input comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// The caller's (the executor's closed standard input).
    #[default]
    Inherited,
    /// A pipe from the previous command: its text when the guard knows it (`echo`, `printf`,
    /// `cat` of a here-document), `None` when it is computed at run time.
    Pipe(Option<Script>),
    /// A here-document or here-string.
    Text(Script),
    /// A file (`< file`).
    File,
}

impl Stdin {
    /// The text arriving on standard input, when the guard knows it.
    pub(crate) fn script(&self) -> Option<&Script> {
        match self {
            Self::Pipe(Some(script)) | Self::Text(script) => Some(script),
            Self::Pipe(None) | Self::Inherited | Self::File => None,
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
    /// Where standard input comes from.
    pub stdin: Stdin,
    /// Whether standard output goes to a later command in a pipeline.
    pub piped_output: bool,
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
    /// The standard input of the compound command being walked (a `{ ...; }` or `( ... )` in a
    /// pipeline, a `sh -c` script): what its simple commands read unless they redirect.
    stdin_context: Stdin,
    /// Files this line writes with text the guard knows (`echo ... > x.sh`, `cat > x.sh <<EOF`),
    /// so that running them later in the line (`sh x.sh`, `. x.sh`, `./x.sh`) is assessed.
    written: Vec<(String, Script)>,
    /// Aliases this line defines (`alias k=kubectl`): their values as shell text, expanded
    /// where they are used.
    aliases: Vec<(String, String)>,
    /// Variables the line set to text the guard knows (`NS=kube-system`), in order.
    vars: Vec<(String, String)>,
    /// What the last simple command walked printed, when known (for `$(...)`).
    last_printed: Option<Script>,
}

/// Programs that fetch from the network; their output must never feed an interpreter.
pub(crate) const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "aria2c", "http", "https", "xh"];

impl<'p> Walker<'p> {
    pub(crate) fn new(policy: &'p Policy) -> Self {
        Self {
            policy,
            // Room for a pipeline of three without growing (and, at ~270 bytes a command, below
            // the size at which glibc consolidates its free lists on every allocation).
            out: Vec::with_capacity(3),
            commands_seen: 0,
            plain_pipeline: None,
            fast_path: true,
            stdin_context: Stdin::Inherited,
            written: Vec::new(),
            aliases: Vec::new(),
            vars: Vec::new(),
            last_printed: None,
        }
    }

    /// Walks a pipeline of literal words found by the fast path.
    fn literal_pipeline(&mut self, stages: Vec<Vec<String>>, depth: usize) -> Vec<Vec<String>> {
        let mut downloaded = false;
        let mut upstream: Option<Option<Script>> = None;
        let last = stages.len().saturating_sub(1);
        let mut back = Vec::with_capacity(stages.len());
        let mut stages = stages.into_iter().enumerate();
        for (index, stage) in stages.by_ref() {
            if !self.count_command(|| stage.join(" ")) {
                back.push(stage);
                break;
            }
            // The words move into the command and back out, uncopied.
            let cmd = SimpleCommand {
                argv: stage.into_iter().map(Word::literal).collect(),
                stdin: upstream
                    .take()
                    .map_or_else(|| self.stdin_context.clone(), Stdin::Pipe),
                piped_output: index < last,
                downloaded_input: downloaded,
                ..SimpleCommand::default()
            };
            upstream = Some(self.stage(&cmd, depth));
            downloaded |= cmd
                .argv
                .iter()
                .any(|w| DOWNLOADERS.contains(&basename(&w.text)));
            back.push(cmd.argv.into_iter().map(|w| w.text).collect());
        }
        back.extend(stages.map(|(_, stage)| stage));
        back
    }

    /// Counts one more simple command; false (after recording why, once) past the limit.
    fn count_command(&mut self, text: impl FnOnce() -> String) -> bool {
        self.commands_seen += 1;
        if self.commands_seen <= MAX_COMMANDS {
            return true;
        }
        if self.commands_seen == MAX_COMMANDS + 1 {
            self.finding(
                "(input)",
                &text(),
                Risk::Critical,
                format!("contains more than {MAX_COMMANDS} commands"),
            );
        }
        false
    }

    /// Classifies one simple command and returns what it prints, when that is known text.
    fn stage(&mut self, cmd: &SimpleCommand, depth: usize) -> Option<Script> {
        crate::programs::classify(self, cmd, depth);
        self.last_printed = None;
        let printed = printed(cmd)?;
        if is_tee(cmd) {
            // `tee FILE...` writes its input to each file as well.
            for file in cmd.argv.iter().skip(1) {
                if !file.dynamic && !file.text.starts_with('-') {
                    self.remember_file(&file.text, &printed);
                }
            }
        }
        if cmd.writes.is_empty() {
            self.last_printed = Some(printed.clone());
            return Some(printed);
        }
        for file in cmd.writes.iter().filter(|file| !file.dynamic) {
            self.remember_file(&file.text, &printed);
        }
        None
    }

    /// Records that `path` now holds `script` (appended to what it held, which can only make
    /// the assessment of running it stricter).
    pub(crate) fn remember_file(&mut self, path: &str, script: &Script) {
        let path = path.strip_prefix("./").unwrap_or(path);
        match self.written.iter_mut().find(|(p, _)| p == path) {
            Some((_, known)) => {
                known.text.push_str(&script.text);
                known.dynamic |= script.dynamic;
            }
            None => self.written.push((path.to_owned(), script.clone())),
        }
    }

    /// What this line wrote into `path`, when the guard knows it.
    pub(crate) fn written_script(&self, path: &str) -> Option<&Script> {
        let path = path.strip_prefix("./").unwrap_or(path);
        self.written
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, script)| script)
    }

    /// Defines an alias for the rest of the line: `value` is shell text, read again (quotes,
    /// globs, expansions and all) wherever the alias is used.
    pub(crate) fn define_alias(&mut self, name: &str, value: &str) {
        self.aliases.retain(|(n, _)| n != name);
        self.aliases.push((name.to_owned(), value.to_owned()));
    }

    /// The shell text an alias stands for, when `name` is one.
    pub(crate) fn alias(&self, name: &str) -> Option<String> {
        self.aliases
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
    }

    /// The words of an alias's value, read as the shell reads them where it is used.
    pub(crate) fn alias_words(&mut self, value: &str, depth: usize) -> Vec<Word> {
        raw_words(value)
            .iter()
            .flat_map(|word| self.words(word, depth))
            .collect()
    }

    /// Walks `text` as a script run by a shell whose standard input is `stdin`.
    pub(crate) fn script(&mut self, text: &str, depth: usize, stdin: Stdin) {
        let saved = std::mem::replace(&mut self.stdin_context, stdin);
        self.line(text, depth);
        self.stdin_context = saved;
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
            let stages = self.literal_pipeline(stages, depth);
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
        let mut upstream: Option<Option<Script>> = None;
        let last = pipeline.seq.len().saturating_sub(1);
        for (index, command) in pipeline.seq.iter().enumerate() {
            let stdin = upstream
                .take()
                .map_or_else(|| self.stdin_context.clone(), Stdin::Pipe);
            let output = self.command(command, depth, stdin, index < last, downloader_upstream);
            upstream = Some(output);
            // Only a stage with one after it feeds a later stage's input.
            if index < last && !downloader_upstream {
                downloader_upstream = mentions_downloader(command);
            }
        }
    }

    /// Walks one element of a pipeline; returns what it prints when that is known text.
    fn command(
        &mut self,
        command: &ast::Command,
        depth: usize,
        stdin: Stdin,
        piped_output: bool,
        downloaded: bool,
    ) -> Option<Script> {
        match command {
            ast::Command::Simple(simple) => {
                self.simple(simple, depth, stdin, piped_output, downloaded)
            }
            ast::Command::Compound(compound, redirects) => {
                // What a group or subshell reads, each command in it may read.
                let saved = std::mem::replace(&mut self.stdin_context, stdin);
                self.compound(compound, depth);
                self.stdin_context = saved;
                if let Some(list) = redirects {
                    let mut holder = SimpleCommand::default();
                    for redirect in &list.0 {
                        self.redirect(redirect, &mut holder, depth);
                    }
                    self.redirect_only(&holder, depth);
                }
                None
            }
            ast::Command::Function(function) => {
                self.function(function, depth);
                None
            }
            ast::Command::ExtendedTest(test, redirects) => {
                self.extended_test(&test.expr, depth);
                if let Some(list) = redirects {
                    let mut holder = SimpleCommand::default();
                    for redirect in &list.0 {
                        self.redirect(redirect, &mut holder, depth);
                    }
                    self.redirect_only(&holder, depth);
                }
                None
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
                    self.words(&word.value, depth);
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
            ast::CompoundCommand::Coprocess(c) => {
                self.command(&c.body, depth, Stdin::Inherited, false, false);
            }
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

    fn simple(
        &mut self,
        simple: &ast::SimpleCommand,
        depth: usize,
        stdin: Stdin,
        piped_output: bool,
        downloaded: bool,
    ) -> Option<Script> {
        if !self.count_command(|| simple.to_string()) {
            return None;
        }
        let mut cmd = SimpleCommand {
            stdin,
            piped_output,
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
            let words = self.words(&name.value, depth);
            cmd.argv.extend(words);
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
        self.stage(&cmd, depth)
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
                let words = self.words(&word.value, depth);
                cmd.argv.extend(words);
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
                    let words = self.words(&raw.value, depth);
                    cmd.argv.extend(words);
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
                cmd.argv.push(Word::unknown(marker));
            }
        }
    }

    fn redirect(&mut self, redirect: &ast::IoRedirect, cmd: &mut SimpleCommand, depth: usize) {
        match redirect {
            ast::IoRedirect::File(fd, kind, target) => match target {
                ast::IoFileRedirectTarget::Filename(word) => {
                    let word = self.word(&word.value, depth);
                    let on_stdin = fd.is_none_or(|fd| fd == 0);
                    match kind {
                        ast::IoFileRedirectKind::Read => {
                            if on_stdin {
                                cmd.stdin = Stdin::File;
                            }
                            cmd.reads.push(word);
                        }
                        ast::IoFileRedirectKind::ReadAndWrite => {
                            if on_stdin {
                                cmd.stdin = Stdin::File;
                            }
                            cmd.writes.push(word);
                        }
                        ast::IoFileRedirectKind::Write
                        | ast::IoFileRedirectKind::Append
                        | ast::IoFileRedirectKind::Clobber => cmd.writes.push(word),
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
            ast::IoRedirect::HereDocument(fd, doc) => {
                let body = &doc.doc.value;
                if doc.requires_expansion {
                    self.heredoc(body, depth);
                }
                if fd.is_none_or(|fd| fd == 0) {
                    let text = if doc.remove_tabs {
                        body.split_inclusive('\n')
                            .map(|line| line.trim_start_matches('\t'))
                            .collect()
                    } else {
                        body.clone()
                    };
                    cmd.stdin = Stdin::Text(Script {
                        dynamic: doc.requires_expansion && text.contains(['$', '`']),
                        text,
                    });
                }
            }
            ast::IoRedirect::HereString(fd, word) => {
                let word = self.word(&word.value, depth);
                if fd.is_none_or(|fd| fd == 0) {
                    cmd.stdin = Stdin::Text(Script {
                        text: format!("{}\n", word.text),
                        dynamic: word.dynamic,
                    });
                }
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
        // Only `$`, backquotes and backslashes mean something in a here-document's body; text
        // without them is read as it is and hides no command.
        if !body.contains(['$', '`', '\\']) {
            return;
        }
        let pieces = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse_heredoc(body, &parser_options())
        }));
        match pieces {
            Ok(Ok(pieces)) => {
                self.pieces(body, &pieces, depth, false, &mut Vec::new());
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
        self.parse_word(raw, depth, None)
    }

    /// Like [`Walker::word`], then brace expansion: `kube-{system,x}` is two words, as bash
    /// makes it. A brace expansion too large to look at is one word known only at run time.
    pub(crate) fn words(&mut self, raw: &str, depth: usize) -> Vec<Word> {
        if !raw.contains('{') {
            return vec![self.parse_word(raw, depth, None)];
        }
        let mut marked = Vec::new();
        let word = self.parse_word(raw, depth, Some(&mut marked));
        if !crate::expand::has_brace_expansion(&marked) {
            return vec![word];
        }
        match crate::expand::braces(&marked) {
            Some(texts) => texts
                .into_iter()
                .map(|text| Word {
                    text,
                    dynamic: word.dynamic,
                    disguise: Some("brace expansion"),
                    known: None,
                })
                .collect(),
            None => vec![Word {
                text: word.text,
                dynamic: true,
                disguise: Some("brace expansion"),
                known: None,
            }],
        }
    }

    /// Parses a word; `marked` (when given) receives each character of the value with whether
    /// it was quoted, for brace expansion.
    fn parse_word(&mut self, raw: &str, depth: usize, marked: Option<&mut Marked>) -> Word {
        // A word of letters, digits and `-_./:=,@%+` only holds no quote, expansion, glob or
        // escape: the shell reads it as the text it is, unquoted.
        if !raw.is_empty() && raw.bytes().all(crate::fastpath::plain) {
            if let Some(marked) = marked {
                marked.extend(raw.chars().map(|c| (c, false)));
            }
            return Word::literal(raw);
        }
        let pieces = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse(raw, &parser_options())
        }));
        match pieces {
            Ok(Ok(pieces)) => {
                let mut sink = Vec::new();
                let marked = marked.unwrap_or(&mut sink);
                self.pieces(raw, &pieces, depth, false, marked)
            }
            Ok(Err(err)) => {
                self.finding(
                    "(word)",
                    raw,
                    Risk::Critical,
                    format!("the word `{raw}` cannot be parsed: {err}"),
                );
                Word::unknown(raw)
            }
            Err(_) => {
                self.finding(
                    "(word)",
                    raw,
                    Risk::Critical,
                    format!("the shell parser failed on the word `{raw}`"),
                );
                Word::unknown(raw)
            }
        }
    }

    fn pieces(
        &mut self,
        source: &str,
        pieces: &[WordPieceWithSource],
        depth: usize,
        in_double_quotes: bool,
        marked: &mut Marked,
    ) -> Word {
        let mut out = Word::literal(String::new());
        // What the word's value is when every expansion in it is known.
        let mut known = Some(String::new());
        let mut push = |out: &mut Word, text: &str, quoted: bool| {
            out.text.push_str(text);
            marked.extend(text.chars().map(|c| (c, quoted)));
        };
        let add = |known: &mut Option<String>, text: Option<&str>| match (known.as_mut(), text) {
            (Some(k), Some(text)) => k.push_str(text),
            _ => *known = None,
        };
        for piece in pieces {
            let raw = source
                .get(piece.start_index..piece.end_index)
                .unwrap_or_default();
            match &piece.piece {
                WordPiece::Text(t) => {
                    if !in_double_quotes && is_glob(t) {
                        out.dynamic = true;
                        out.disguise = Some(crate::expand::GLOB);
                    }
                    push(&mut out, t, in_double_quotes);
                    add(&mut known, Some(t));
                }
                WordPiece::SingleQuotedText(t) => {
                    push(&mut out, t, true);
                    add(&mut known, Some(t));
                }
                WordPiece::AnsiCQuotedText(t) => {
                    out.disguise = Some("ANSI-C quoting");
                    if let Some(decoded) = crate::expand::ansi_c(t) {
                        push(&mut out, &decoded, true);
                        add(&mut known, Some(&decoded));
                    } else {
                        out.dynamic = true;
                        push(&mut out, raw, true);
                        add(&mut known, None);
                    }
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    let mut inner_marked = Vec::new();
                    let inner = self.pieces(source, inner, depth, true, &mut inner_marked);
                    out.dynamic |= inner.dynamic;
                    out.disguise = out.disguise.or(inner.disguise);
                    push(&mut out, &inner.text, true);
                    add(
                        &mut known,
                        if inner.dynamic {
                            inner.known.as_deref()
                        } else {
                            Some(&inner.text)
                        },
                    );
                }
                WordPiece::EscapeSequence(e) => {
                    let mut text = String::new();
                    push_escape(&mut text, e, in_double_quotes);
                    push(&mut out, &text, true);
                    add(&mut known, Some(&text));
                }
                WordPiece::TildeExpansion(_) => {
                    out.dynamic = true;
                    push(&mut out, raw, true);
                    add(&mut known, None);
                }
                WordPiece::ParameterExpansion(_) => {
                    out.dynamic = true;
                    push(&mut out, raw, true);
                    let value = self.var(raw).map(str::to_owned);
                    add(&mut known, value.as_deref());
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
                    push(&mut out, raw, true);
                    let output = self.line_output(inner, depth + 1);
                    // The shell drops the output's trailing newlines.
                    add(
                        &mut known,
                        output
                            .as_ref()
                            .filter(|o| !o.dynamic)
                            .map(|o| o.text.trim_end_matches('\n')),
                    );
                }
                WordPiece::ArithmeticExpression(expr) => {
                    out.dynamic = true;
                    push(&mut out, raw, true);
                    add(&mut known, None);
                    self.embedded_text(&expr.value, depth);
                }
            }
        }
        if out.dynamic {
            out.known = known;
        }
        out
    }

    /// Walks a command line and returns what it prints, when it is one command whose output
    /// the guard knows (`echo`, `printf`, `cat` of a here-document).
    fn line_output(&mut self, text: &str, depth: usize) -> Option<Script> {
        let seen = self.commands_seen;
        self.last_printed = None;
        self.line(text, depth);
        let printed = self.last_printed.take();
        (self.commands_seen == seen + 1)
            .then_some(printed)
            .flatten()
    }

    /// The value of a parameter expansion (`$X`, `${X}`, `$1`) when the line set it to text the
    /// guard knows.
    fn var(&self, raw: &str) -> Option<&str> {
        let name = raw.strip_prefix('$')?;
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            return None;
        }
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or, with `None`, forgets) a variable's known value for the rest of the line.
    pub(crate) fn set_var(&mut self, name: &str, value: Option<&str>) {
        self.vars.retain(|(n, _)| n != name);
        if let Some(value) = value {
            self.vars.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Walks `text` as a script run by a shell given positional parameters (`sh -c SCRIPT
    /// $0 $1 ...`), whose values are known where their words are.
    pub(crate) fn script_with_args(
        &mut self,
        text: &str,
        depth: usize,
        stdin: Stdin,
        args: &[Word],
    ) {
        let saved = self.vars.clone();
        for i in 0..10 {
            let value = args.get(i).and_then(|w| {
                (!w.dynamic)
                    .then_some(w.text.as_str())
                    .or(w.known.as_deref())
            });
            self.set_var(&i.to_string(), value);
        }
        self.script(text, depth, stdin);
        self.vars = saved;
    }
}

/// Whether unquoted text holds a glob pattern (`*`, `?`, or a `[...]` bracket expression),
/// which the shell replaces with matching file names at run time.
fn is_glob(text: &str) -> bool {
    text.contains(['*', '?'])
        || text
            .find('[')
            .is_some_and(|open| text.get(open + 1..).is_some_and(|rest| rest.contains(']')))
}

/// Splits shell text into words as they are written (quotes and escapes kept, for
/// [`Walker::words`] to read), at unquoted blanks.
fn raw_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t' | '\n') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (None | Some('"'), '\\') => {
                word.push(c);
                word.extend(chars.next());
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_tee(cmd: &SimpleCommand) -> bool {
    cmd.argv
        .first()
        .is_some_and(|first| !first.dynamic && basename(&first.text) == "tee")
}

/// What a simple command prints (to its output, or the file it redirects to), when that is
/// text the guard knows: `echo` and `printf` of their arguments, `cat` of its here-document,
/// here-string or piped text.
fn printed(cmd: &SimpleCommand) -> Option<Script> {
    let (first, rest) = cmd.argv.split_first()?;
    if first.dynamic {
        return None;
    }
    let program = basename(&first.text);
    if !matches!(program, "echo" | "printf" | "cat" | "tee") {
        return None;
    }
    if program == "tee" {
        return cmd.stdin.script().cloned();
    }
    let args: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
    let dynamic = rest.iter().any(|w| w.dynamic);
    let text = match program {
        "echo" => crate::expand::echo(&args),
        "printf" => crate::expand::printf(&args)?,
        _ if args.iter().all(|a| *a == "-") => return cmd.stdin.script().cloned(),
        _ => return None,
    };
    Some(Script { text, dynamic })
}

/// Classifies one argv (no shell) and returns the assessment of its outermost program.
pub(crate) fn parse_argv<S: AsRef<str>>(policy: &Policy, argv: &[S]) -> CommandAssessment {
    let mut walker = Walker::new(policy);
    let cmd = SimpleCommand {
        argv: argv.iter().map(|w| Word::literal(w.as_ref())).collect(),
        ..SimpleCommand::default()
    };
    crate::programs::classify(&mut walker, &cmd, 0);
    walker.out.into_iter().next().unwrap_or_else(|| {
        CommandAssessment::finding(
            "(input)",
            "",
            Risk::Critical,
            "contains no command".to_owned(),
        )
    })
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
                DOWNLOADERS.contains(&basename(unquoted))
            }),
        other => {
            let text = other.to_string();
            text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';' | '|' | '&'))
                .any(|t| DOWNLOADERS.contains(&basename(t)))
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
