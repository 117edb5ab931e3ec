//! The result of looking at a command line: one [`CommandAssessment`] per simple command and the
//! line's overall [`Assessment`].

use serde::{Deserialize, Serialize};

use crate::redact::DocumentFormat;
use crate::risk::{Decision, Risk};

/// What the guard found about one simple command of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAssessment {
    /// The program, by its base name (`kubectl`, not `/usr/bin/kubectl`); for findings that
    /// are not a program (parse errors, limits) a description in parentheses.
    pub program: String,
    /// The words of the command after quote removal (after unwrapping `sudo`, `env`, ...).
    pub argv: Vec<String>,
    /// The verb for programs with a grammar (`delete`, `rollout restart`, `install`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// Resource types named (`pods`, `deployments`), for kubectl.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Namespaces the command targets (from `-n`, or namespace objects it acts on).
    pub namespaces: Vec<String>,
    /// Whether the command spans all namespaces (`-A`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_namespaces: bool,
    /// Object names the command acts on (kubectl positionals after the type, or `type/name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The flags as the program's grammar reads them, in order (kubectl and helm only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<ParsedFlag>,
    /// Flags that point kubectl or helm at another cluster, user or identity (`--server`, `-s`,
    /// `--kubeconfig`, `--context`, `--token`, `--as`, `--kube-context`, ...), by long name.
    /// An executor that owns the connection refuses commands that set any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connection_flags: Vec<String>,
    /// What sensitive data the command's output can carry.
    #[serde(default, skip_serializing_if = "Exposure::is_none")]
    pub exposure: Exposure,
    /// How dangerous it is.
    pub risk: Risk,
    /// Why, in plain words, most severe first.
    pub reasons: Vec<String>,
    /// The risk each reason stands for (parallel to `reasons`).
    #[serde(skip)]
    pub(crate) reason_risks: Vec<Risk>,
    /// Whether an argument's text is only known at run time ([`Self::has_run_time_words`]).
    #[serde(skip)]
    pub(crate) run_time_words: bool,
}

impl CommandAssessment {
    pub(crate) fn new(program: &str, argv: Vec<String>) -> Self {
        Self {
            program: program.to_owned(),
            argv,
            verb: None,
            resources: Vec::new(),
            namespaces: Vec::new(),
            all_namespaces: false,
            names: Vec::new(),
            flags: Vec::new(),
            connection_flags: Vec::new(),
            exposure: Exposure::None,
            risk: Risk::Low,
            reasons: Vec::new(),
            reason_risks: Vec::new(),
            run_time_words: false,
        }
    }

    pub(crate) fn finding(program: &str, text: &str, risk: Risk, reason: String) -> Self {
        let mut a = Self::new(program, vec![text.to_owned()]);
        a.raise(risk, reason);
        a
    }

    /// Raises the risk to at least `risk` and records why.
    pub(crate) fn raise(&mut self, risk: Risk, reason: impl Into<String>) {
        self.risk = self.risk.max(risk);
        let reason = reason.into();
        if !self.reasons.contains(&reason) {
            let at = self
                .reason_risks
                .iter()
                .position(|r| *r < risk)
                .unwrap_or(self.reasons.len());
            self.reasons.insert(at, reason);
            self.reason_risks.insert(at, risk);
        }
    }

    /// The namespace rules shared by kubectl and helm, applied once the verb's risk is known:
    /// a namespace computed at run time may be protected (high), and anything but a read in a
    /// protected namespace or across all namespaces is never allowed (critical).
    pub(crate) fn apply_namespace_rules(
        &mut self,
        (program, verb): (&str, &str),
        verb_risk: Risk,
        dynamic_namespace: Option<&str>,
        policy: &crate::policy::Policy,
    ) {
        if verb_risk == Risk::Low {
            return;
        }
        if let Some(ns) = dynamic_namespace {
            self.raise(
                Risk::High,
                format!("the namespace `{ns}` is computed at run time and may be protected"),
            );
        }
        let mut i = 0;
        while let Some(ns) = self.namespaces.get(i) {
            if policy.is_protected(ns) {
                let reason = format!("`{program} {verb}` changes the protected namespace `{ns}`");
                self.raise(Risk::Critical, reason);
            }
            i += 1;
        }
        if self.all_namespaces {
            self.raise(
                Risk::Critical,
                format!("`{program} {verb}` across all namespaces (-A) is never allowed"),
            );
        }
    }

    /// Takes back the reason `old` (the verb's, when a dry run makes the verb harmless) and
    /// gives `reason` instead. Every other finding (an untrusted program path, a hard-block
    /// pattern, a flag) stays, and so does its risk.
    pub(crate) fn lower(&mut self, old: &str, risk: Risk, reason: String) {
        if let Some(at) = self.reasons.iter().position(|r| r == old) {
            self.reasons.remove(at);
            self.reason_risks.remove(at);
        }
        self.risk = self.reason_risks.iter().copied().max().unwrap_or(Risk::Low);
        self.raise(risk, reason);
    }

    /// The reasons that explain its risk: above-low reasons when the risk is above low.
    pub(crate) fn significant_reasons(&self) -> impl Iterator<Item = &String> {
        let floor = if self.risk > Risk::Low {
            Risk::Medium
        } else {
            Risk::Low
        };
        self.reasons
            .iter()
            .zip(&self.reason_risks)
            .filter(move |(_, r)| **r >= floor)
            .map(|(reason, _)| reason)
    }
}

/// One flag as a program's grammar read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFlag {
    /// The long name without dashes; shorthands are mapped (`-n` is `namespace`).
    pub name: String,
    /// Its value, for flags that take one (`--output=json`, `-o json`, `-ojson`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the value is only known at run time (`-n "$NS"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
}

/// What sensitive data the output of a command can carry, as far as its grammar tells.
/// Ordered: `None < PodSpecs < Secrets`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Nothing known to be sensitive.
    #[default]
    None,
    /// Pod templates (pods and the workloads that hold them): container environment values
    /// and arguments can hold secrets.
    PodSpecs,
    /// Secret objects, or objects whose kind the guard cannot know (read from a file, a
    /// kustomization, a raw API path, or of a type computed at run time).
    Secrets,
}

impl Exposure {
    /// Whether nothing sensitive is known.
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }
}

impl CommandAssessment {
    /// Whether an argument's text is only known at run time: a shell expansion (`$NS`,
    /// `$(…)`, a glob) or the words `xargs` reads from its input. [`Self::argv`] holds such a
    /// word as its source text (or a placeholder such as `<input>`), and it can turn out to be
    /// any flag, so a reading of the words ([`Self::reading`],
    /// [`Self::possible_connection_flags`]) cannot vouch for it.
    pub fn has_run_time_words(&self) -> bool {
        self.run_time_words
    }

    /// The last value of a flag (by long name), as the program reads it.
    pub fn flag(&self, name: &str) -> Option<&ParsedFlag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }

    /// What kubectl's output flags (`-o`, `--template`) make it print.
    pub fn output_format(&self) -> OutputFormat {
        let Some(flag) = self.flag("output") else {
            return if self.flag("template").is_some() {
                OutputFormat::Template
            } else {
                OutputFormat::Table
            };
        };
        let text = flag.value.as_deref().unwrap_or_default();
        let (name, arg) = match text.split_once('=') {
            Some((name, arg)) => (name, Some(arg)),
            None => (text, None),
        };
        // A run-time expansion after the `=` cannot change the format's name before it.
        if flag.dynamic && name.contains(['$', '`', '*', '?', '[', '{', '~']) {
            return OutputFormat::Unknown;
        }
        match (name, arg) {
            ("json", None) => OutputFormat::Document(DocumentFormat::Json),
            ("yaml" | "kyaml", None) => OutputFormat::Document(DocumentFormat::Yaml),
            ("wide" | "name" | "plaintext" | "plaintext-openapiv2", None) => OutputFormat::Table,
            ("jsonpath" | "jsonpath-as-json" | "custom-columns", _) => OutputFormat::Fields,
            ("go-template" | "template", _) => OutputFormat::Template,
            ("jsonpath-file" | "go-template-file" | "templatefile" | "custom-columns-file", _) => {
                OutputFormat::LocalFile(
                    arg.map(str::to_owned)
                        .or_else(|| self.flag("template").and_then(|t| t.value.clone()))
                        .unwrap_or_else(|| "(from --template)".to_owned()),
                )
            }
            _ => OutputFormat::Unknown,
        }
    }
}

/// What kubectl's output flags make it print ([`CommandAssessment::output_format`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputFormat {
    /// A table, `wide`, `name` (or no `-o`): no field values beyond what the table shows.
    Table,
    /// Whole objects as JSON or YAML, which redaction reads by field.
    Document(DocumentFormat),
    /// Fields in a shape the caller chose, without transformation: jsonpath, custom-columns.
    Fields,
    /// A template language that can transform what it prints: go-template, template.
    Template,
    /// A template or column spec read from a local file (its path).
    LocalFile(String),
    /// A format the guard does not know, or one computed at run time.
    Unknown,
}

/// The guard's verdict on a whole command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The command line as given.
    pub command: String,
    /// What happens to it under the policy.
    pub decision: Decision,
    /// The most severe risk of any command in it.
    pub risk: Risk,
    /// Why: the reasons of the most severe commands, then the policy's.
    pub reasons: Vec<String>,
    /// Every simple command found, in order.
    pub commands: Vec<CommandAssessment>,
    /// The line as argv pipelines when it is one plain foreground pipeline of literal words
    /// (what an executor can run without a shell); `None` otherwise.
    #[serde(skip)]
    pub pipeline: Option<Vec<Vec<String>>>,
}

impl Assessment {
    /// Namespaces targeted by any command in the line, deduplicated, in order.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for ns in self.commands.iter().flat_map(|c| c.namespaces.iter()) {
            if !out.contains(&ns.as_str()) {
                out.push(ns);
            }
        }
        out
    }
}

/// Joins `parts` into one string allocated once at its final length: the reasons on the hot path
/// are built this way instead of with `format!`, whose machinery and regrowing cost more than
/// the rest of a typical reason's assessment.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}
