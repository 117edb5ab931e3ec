//! The policy the guard applies: mode, protected namespaces, extra hard blocks, extra filters.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::risk::Mode;

/// Namespaces that no mutation may touch unless the policy says otherwise.
pub const DEFAULT_PROTECTED_NAMESPACES: &[&str] =
    &["kube-system", "kube-public", "kube-node-lease"];

/// How long an approval request waits for a decision by default.
pub const DEFAULT_APPROVAL_TTL: Duration = Duration::from_secs(600);

/// The rules the [`crate::Guard`] applies.
///
/// ```
/// use kopilot_safety::{Mode, Policy};
///
/// let policy = Policy::builder()
///     .mode(Mode::ReadOnly)
///     .protected_namespaces(["kube-system", "payments"])
///     .hard_block("kubectl delete --all")
///     .build()?;
/// assert_eq!(policy.mode(), Mode::ReadOnly);
/// # Ok::<(), kopilot_safety::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    mode: Mode,
    protected_namespaces: Vec<String>,
    hard_block: Vec<BlockPattern>,
    read_only_filters: Vec<String>,
    require_approval_destructive: bool,
    four_eyes: bool,
    approval_ttl: Duration,
    default_namespace: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            protected_namespaces: DEFAULT_PROTECTED_NAMESPACES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            hard_block: Vec::new(),
            read_only_filters: Vec::new(),
            require_approval_destructive: true,
            four_eyes: false,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            default_namespace: None,
        }
    }
}

impl Policy {
    /// A builder starting from the default policy.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Self::default(),
        }
    }

    /// The policy from the process environment (see [`Policy::from_lookup`]).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The policy from environment-style variables read through `lookup`:
    ///
    /// - `SAFETY_POLICY_FILE`: a YAML policy file read first (see [`Policy::from_yaml_file`]);
    /// - `SAFETY_MODE`: `read-only`, `approve` (default) or `full-access`;
    /// - `SAFETY_PROTECTED_NAMESPACES`: a JSON list, e.g. `["kube-system","payments"]`;
    /// - `SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE`: `true` (default) or `false`;
    /// - `SAFETY_HARD_BLOCK`: a JSON list of extra block patterns;
    /// - `SAFETY_READ_ONLY_FILTERS`: a JSON list of extra text-filter programs;
    /// - `SAFETY_FOUR_EYES`: `true` or `false` (default).
    ///
    /// Variables override the file. A bad value is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut builder = match lookup("SAFETY_POLICY_FILE").filter(|v| !v.trim().is_empty()) {
            Some(path) => PolicyBuilder {
                policy: Self::from_yaml_file(Path::new(&path))?,
            },
            None => Self::builder(),
        };
        if let Some(v) = lookup("SAFETY_MODE").filter(|v| !v.trim().is_empty()) {
            let mode = v.parse().map_err(|_| Error::InvalidEnv {
                var: "SAFETY_MODE".to_owned(),
                reason: format!("`{v}` is not one of read-only, approve, full-access"),
            })?;
            builder = builder.mode(mode);
        }
        if let Some(v) = lookup("SAFETY_PROTECTED_NAMESPACES") {
            builder = builder.protected_namespaces(json_list("SAFETY_PROTECTED_NAMESPACES", &v)?);
        }
        if let Some(v) = lookup("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE") {
            builder = builder
                .require_approval_destructive(env_bool("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE", &v)?);
        }
        if let Some(v) = lookup("SAFETY_HARD_BLOCK") {
            for pattern in json_list("SAFETY_HARD_BLOCK", &v)? {
                builder = builder.hard_block(pattern);
            }
        }
        if let Some(v) = lookup("SAFETY_READ_ONLY_FILTERS") {
            for program in json_list("SAFETY_READ_ONLY_FILTERS", &v)? {
                builder = builder.read_only_filter(program);
            }
        }
        if let Some(v) = lookup("SAFETY_FOUR_EYES") {
            builder = builder.four_eyes(env_bool("SAFETY_FOUR_EYES", &v)?);
        }
        builder.build().map_err(|e| match e {
            Error::InvalidPolicy(reason) => Error::InvalidEnv {
                var: "SAFETY_*".to_owned(),
                reason,
            },
            other => other,
        })
    }

    /// The policy from a YAML file. Every key is optional; unknown keys are an error:
    ///
    /// ```yaml
    /// mode: approve                 # read-only | approve | full-access
    /// protected_namespaces: [kube-system, kube-public, kube-node-lease, payments]
    /// hard_block: ["kubectl delete --all", "helm uninstall *"]
    /// read_only_filters: [yq]
    /// require_approval_destructive: true
    /// four_eyes: false
    /// approval_ttl_secs: 600
    /// ```
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::PolicyFileIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml_str(&text).map_err(|e| match e {
            Error::PolicyFileFormat { message, .. } | Error::InvalidPolicy(message) => {
                Error::PolicyFileFormat {
                    path: path.to_owned(),
                    message,
                }
            }
            other => other,
        })
    }

    /// The policy from YAML text (see [`Policy::from_yaml_file`]).
    pub fn from_yaml_str(text: &str) -> Result<Self> {
        let file: PolicyFile =
            serde_saphyr::from_str(text).map_err(|e| Error::PolicyFileFormat {
                path: "<string>".into(),
                message: e.to_string(),
            })?;
        let mut builder = Self::builder();
        if let Some(mode) = file.mode {
            builder = builder.mode(mode);
        }
        if let Some(ns) = file.protected_namespaces {
            builder = builder.protected_namespaces(ns);
        }
        for pattern in file.hard_block.unwrap_or_default() {
            builder = builder.hard_block(pattern);
        }
        for program in file.read_only_filters.unwrap_or_default() {
            builder = builder.read_only_filter(program);
        }
        if let Some(v) = file.require_approval_destructive {
            builder = builder.require_approval_destructive(v);
        }
        if let Some(v) = file.four_eyes {
            builder = builder.four_eyes(v);
        }
        if let Some(secs) = file.approval_ttl_secs {
            builder = builder.approval_ttl(Duration::from_secs(secs));
        }
        builder.build()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// This policy in another mode, everything else kept (a `--mode` flag over `SAFETY_MODE`).
    ///
    /// ```
    /// use kopilot_safety::{Mode, Policy};
    /// let policy = Policy::default().with_mode(Mode::ReadOnly);
    /// assert_eq!(policy.mode(), Mode::ReadOnly);
    /// ```
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// This policy for a cluster connection whose kubeconfig context defaults to `namespace`:
    /// a kubectl or helm command without `-n` acts there, so a change without `-n` is judged
    /// as a change in that namespace (blocked when it is protected). Adapters set it from the
    /// kubeconfig they run commands with.
    ///
    /// ```
    /// use kopilot_safety::{Decision, Guard, Policy};
    /// let guard = Guard::new(Policy::default().with_default_namespace("kube-system"));
    /// assert_eq!(guard.assess("kubectl delete pod coredns-1").decision, Decision::Block);
    /// ```
    #[must_use]
    pub fn with_default_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.default_namespace = Some(namespace.into());
        self
    }

    /// The namespace commands without `-n` act in, when the adapter said.
    pub fn default_namespace(&self) -> Option<&str> {
        self.default_namespace.as_deref()
    }

    /// The protected namespaces.
    pub fn protected_namespaces(&self) -> &[String] {
        &self.protected_namespaces
    }

    /// Whether `namespace` is protected.
    pub fn is_protected(&self, namespace: &str) -> bool {
        self.protected_namespaces.iter().any(|p| p == namespace)
    }

    /// The extra hard-block patterns.
    pub fn hard_block_patterns(&self) -> &[BlockPattern] {
        &self.hard_block
    }

    /// Extra programs treated as read-only text filters.
    pub fn read_only_filters(&self) -> &[String] {
        &self.read_only_filters
    }

    /// Whether high-risk commands need approval in `full-access` mode (always true unless the
    /// policy explicitly turned it off; `read-only` and `approve` modes ignore it).
    pub fn require_approval_destructive(&self) -> bool {
        self.require_approval_destructive
    }

    /// Whether the approver must be someone other than the requester.
    pub fn four_eyes(&self) -> bool {
        self.four_eyes
    }

    /// How long an approval request may wait.
    pub fn approval_ttl(&self) -> Duration {
        self.approval_ttl
    }
}

/// Builds a [`Policy`]; see [`Policy::builder`].
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Sets the mode.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.policy.mode = mode;
        self
    }

    /// Replaces the protected namespaces.
    #[must_use]
    pub fn protected_namespaces<I, S>(mut self, namespaces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy.protected_namespaces = namespaces.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a hard-block pattern (see [`BlockPattern`]).
    #[must_use]
    pub fn hard_block(mut self, pattern: impl Into<String>) -> Self {
        self.policy
            .hard_block
            .push(BlockPattern::unchecked(pattern.into()));
        self
    }

    /// Adds a program to treat as a read-only text filter (like `grep`).
    #[must_use]
    pub fn read_only_filter(mut self, program: impl Into<String>) -> Self {
        self.policy.read_only_filters.push(program.into());
        self
    }

    /// Whether high-risk commands need approval in `full-access` mode (default `true`).
    #[must_use]
    pub fn require_approval_destructive(mut self, yes: bool) -> Self {
        self.policy.require_approval_destructive = yes;
        self
    }

    /// Whether the approver must differ from the requester (default `false`).
    #[must_use]
    pub fn four_eyes(mut self, yes: bool) -> Self {
        self.policy.four_eyes = yes;
        self
    }

    /// How long approval requests wait (default 10 minutes).
    #[must_use]
    pub fn approval_ttl(mut self, ttl: Duration) -> Self {
        self.policy.approval_ttl = ttl;
        self
    }

    /// Checks the settings and returns the policy.
    pub fn build(mut self) -> Result<Policy> {
        for ns in &self.policy.protected_namespaces {
            if ns.trim().is_empty() {
                return Err(Error::InvalidPolicy(
                    "a protected namespace name is empty".to_owned(),
                ));
            }
        }
        let mut patterns = Vec::with_capacity(self.policy.hard_block.len());
        for pattern in self.policy.hard_block {
            patterns.push(BlockPattern::parse(&pattern.source)?);
        }
        self.policy.hard_block = patterns;
        for program in &self.policy.read_only_filters {
            if program.is_empty() || program.contains(['/', ' ']) {
                return Err(Error::InvalidPolicy(format!(
                    "read-only filter `{program}` must be a bare program name"
                )));
            }
        }
        if self.policy.approval_ttl.is_zero() {
            return Err(Error::InvalidPolicy(
                "approval TTL must be above zero".to_owned(),
            ));
        }
        Ok(self.policy)
    }
}

/// An extra hard-block rule: words separated by spaces. The first is a program name; the rule
/// matches a command running that program whose arguments include every other word, in any
/// order. Words may use `*` and `?` wildcards. `kubectl delete --all` blocks
/// `kubectl -n x delete pods --all`; `helm uninstall *` blocks every `helm uninstall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPattern {
    source: String,
    program: String,
    words: Vec<String>,
}

impl BlockPattern {
    fn unchecked(source: String) -> Self {
        Self {
            source,
            program: String::new(),
            words: Vec::new(),
        }
    }

    /// Parses a pattern; it must name a program.
    pub fn parse(source: &str) -> Result<Self> {
        let mut words = source.split_whitespace().map(str::to_owned);
        let program = words
            .next()
            .ok_or_else(|| Error::InvalidPolicy("a hard-block pattern is empty".to_owned()))?;
        Ok(Self {
            source: source.to_owned(),
            program,
            words: words.collect(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a command (program base name and arguments) matches.
    pub fn matches(&self, program: &str, args: &[String]) -> bool {
        glob_match(&self.program, program)
            && self
                .words
                .iter()
                .all(|w| args.iter().any(|a| glob_match(w, a)))
    }
}

/// `*` matches any run of characters, `?` any one character; everything else is literal.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    mode: Option<Mode>,
    protected_namespaces: Option<Vec<String>>,
    hard_block: Option<Vec<String>>,
    read_only_filters: Option<Vec<String>>,
    require_approval_destructive: Option<bool>,
    four_eyes: Option<bool>,
    approval_ttl_secs: Option<u64>,
}

fn json_list(var: &str, value: &str) -> Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(value).map_err(|e| Error::InvalidEnv {
        var: var.to_owned(),
        reason: format!("expected a JSON list of strings such as [\"a\",\"b\"]: {e}"),
    })
}

fn env_bool(var: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidEnv {
            var: var.to_owned(),
            reason: format!("`{value}` is not a boolean (true or false)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("*", ""));
        assert!(glob_match("kube-*", "kube-system"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*x*y", "axbxy"));
        assert!(!glob_match("kube-*", "kube"));
    }
}
