//! The environment of what Kopilot runs for a cluster: kubectl and helm (through
//! `kopilot-k8s`'s executor) and the exec credential plugins they start, and the plugins the
//! in-process client starts ([`LiveOptions::config`](super::LiveOptions::config)). It lives here,
//! in the lowest crate that starts a credential plugin; `kopilot_k8s::exec::env` re-exports it.
//!
//! The executor starts children from an empty environment, sets `PATH`, `HOME` and
//! `KUBECONFIG` from its configuration, then passes on the variables of this process that
//! [`KUBECTL_ENV`] names (cloud credentials for the EKS, GKE and AKS credential plugins,
//! proxies, CA bundles, the in-pod service address, locale), plus those the embedder adds
//! (`ExecConfig::extra_env`; in the CLI, `KOPILOT_KUBECTL_ENV`). Whatever [`WITHHELD`] names
//! (model providers' keys and Kopilot's own settings) is never passed, whichever list names
//! it: kubectl and its plugins run code and talk to the network, and have no use for the key
//! of the model that drives them. The in-process client's credential plugins get this
//! process's environment without the [`WITHHELD`] variables.
//!
//! ```
//! use kopilot_analyze::snapshot::plugin_env::{VarPattern, is_passed};
//!
//! let extra: Vec<VarPattern> = VarPattern::parse_list("VAULT_ADDR,TELEPORT_*").unwrap();
//! assert!(is_passed("AWS_PROFILE", &extra));
//! assert!(is_passed("TELEPORT_PROXY", &extra));
//! assert!(!is_passed("OPENAI_API_KEY", &extra));
//! // GOOGLE_* is passed for the GKE plugin, but Gemini's key is withheld.
//! assert!(is_passed("GOOGLE_APPLICATION_CREDENTIALS", &extra));
//! assert!(!is_passed("GOOGLE_API_KEY", &extra));
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;

/// A variable name (`HTTPS_PROXY`), or every name that starts with a prefix (`AWS_*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarPattern {
    /// Exactly this name.
    Name(Cow<'static, str>),
    /// Every name starting with this (written with a trailing `*`).
    Prefix(Cow<'static, str>),
}

impl VarPattern {
    const fn name(name: &'static str) -> Self {
        Self::Name(Cow::Borrowed(name))
    }

    const fn prefix(prefix: &'static str) -> Self {
        Self::Prefix(Cow::Borrowed(prefix))
    }

    /// Whether `name` is this name, or starts with this prefix (case-sensitive, as Unix
    /// variable names are).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Name(exact) => name == exact.as_ref(),
            Self::Prefix(prefix) => name.starts_with(prefix.as_ref()),
        }
    }

    /// Like [`VarPattern::matches`], ignoring ASCII case: how [`WITHHELD`] is applied, so
    /// `openai_api_key` is withheld too.
    fn matches_ignoring_case(&self, name: &str) -> bool {
        let name = name.to_ascii_uppercase();
        match self {
            Self::Name(exact) => name == exact.to_ascii_uppercase(),
            Self::Prefix(prefix) => name.starts_with(&prefix.to_ascii_uppercase()),
        }
    }

    /// Reads one pattern: a variable name (letters, digits and `_`, not starting with a
    /// digit), optionally ending in `*`.
    ///
    /// # Errors
    ///
    /// [`EnvPatternError`] for anything else: an empty pattern, a bare `*` (which would pass
    /// every secret of this process), a `*` anywhere but at the end, a character a variable
    /// name cannot hold, or a pattern that only matches [`WITHHELD`] names.
    pub fn parse(text: &str) -> Result<Self, EnvPatternError> {
        let text = text.trim();
        let error = |why: &str| EnvPatternError {
            pattern: text.to_owned(),
            why: why.to_owned(),
        };
        let (stem, is_prefix) = match text.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (text, false),
        };
        if text.is_empty() {
            return Err(error("it is empty"));
        }
        if stem.is_empty() {
            return Err(error(
                "a bare `*` would pass every variable of this process, secrets included; name the variables or prefixes kubectl needs",
            ));
        }
        if stem.contains('*') {
            return Err(error("`*` may only end a pattern (a prefix, like AWS_*)"));
        }
        if stem.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(error("a variable name cannot start with a digit"));
        }
        if let Some(bad) = stem
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(error(&format!(
                "`{bad}` cannot be part of a variable name (letters, digits and _ only)"
            )));
        }
        let pattern = if is_prefix {
            Self::Prefix(Cow::Owned(stem.to_owned()))
        } else {
            Self::Name(Cow::Owned(stem.to_owned()))
        };
        // A name or prefix that only ever matches withheld names would silently do nothing.
        let probe = match &pattern {
            Self::Name(name) => name.as_ref(),
            Self::Prefix(prefix) => prefix.as_ref(),
        };
        if let Some(rule) = WITHHELD.iter().find(|rule| match rule {
            Self::Name(_) => !is_prefix && rule.matches_ignoring_case(probe),
            Self::Prefix(_) => rule.matches_ignoring_case(probe),
        }) {
            return Err(error(&format!(
                "it names model providers' keys or Kopilot's own settings ({rule}), which kubectl is never given"
            )));
        }
        Ok(pattern)
    }

    /// Reads a comma-separated list of patterns (`VAULT_ADDR,TELEPORT_*`); blank entries are
    /// skipped, so an empty text is an empty list.
    ///
    /// # Errors
    ///
    /// The first pattern [`VarPattern::parse`] refuses.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, EnvPatternError> {
        text.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Self::parse)
            .collect()
    }
}

impl fmt::Display for VarPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Prefix(prefix) => write!(f, "{prefix}*"),
        }
    }
}

impl std::str::FromStr for VarPattern {
    type Err = EnvPatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A pattern of variables to pass that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pattern}` is not a variable name or prefix to pass to kubectl: {why}")]
pub struct EnvPatternError {
    /// The pattern as given.
    pub pattern: String,
    /// Why it cannot be used.
    pub why: String,
}

/// One entry of [`KUBECTL_ENV`]: what is passed, and who needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedVar {
    /// The variables.
    pub pattern: VarPattern,
    /// Who reads them.
    pub why: &'static str,
}

const fn pass(pattern: VarPattern, why: &'static str) -> PassedVar {
    PassedVar { pattern, why }
}

const LOCALE: &str = "locale and time zone of messages and timestamps";
const USER: &str = "the local user, for credential plugins and their caches";
const PROXY: &str = "proxies, read by kubectl (Go's net/http) and by credential plugins";
const CA: &str = "extra CA certificates, for kubectl and for credential plugins";
const IN_POD: &str = "the API server's address inside a pod (kubectl's in-cluster configuration)";

/// The variables of this process passed to kubectl, helm and their exec credential plugins,
/// besides `PATH`, `HOME` and `KUBECONFIG`, which the executor sets from its configuration.
/// [`WITHHELD`] wins over this list.
pub const KUBECTL_ENV: &[PassedVar] = &[
    pass(VarPattern::name("LANG"), LOCALE),
    pass(VarPattern::name("LANGUAGE"), LOCALE),
    pass(VarPattern::prefix("LC_"), LOCALE),
    pass(VarPattern::name("TZ"), LOCALE),
    pass(VarPattern::name("USER"), USER),
    pass(VarPattern::name("LOGNAME"), USER),
    pass(
        VarPattern::name("TMPDIR"),
        "where credential plugins write temporary files",
    ),
    pass(
        VarPattern::prefix("XDG_"),
        "where credential plugins keep their configuration and token caches",
    ),
    pass(VarPattern::name("HTTPS_PROXY"), PROXY),
    pass(VarPattern::name("https_proxy"), PROXY),
    pass(VarPattern::name("HTTP_PROXY"), PROXY),
    pass(VarPattern::name("http_proxy"), PROXY),
    pass(VarPattern::name("NO_PROXY"), PROXY),
    pass(VarPattern::name("no_proxy"), PROXY),
    pass(VarPattern::name("ALL_PROXY"), PROXY),
    pass(VarPattern::name("all_proxy"), PROXY),
    pass(VarPattern::name("SSL_CERT_FILE"), CA),
    pass(VarPattern::name("SSL_CERT_DIR"), CA),
    pass(VarPattern::name("REQUESTS_CA_BUNDLE"), CA),
    pass(VarPattern::name("CURL_CA_BUNDLE"), CA),
    pass(VarPattern::name("KUBERNETES_SERVICE_HOST"), IN_POD),
    pass(VarPattern::name("KUBERNETES_SERVICE_PORT"), IN_POD),
    pass(
        VarPattern::name("KUBECACHEDIR"),
        "kubectl's discovery and HTTP cache directory",
    ),
    pass(
        VarPattern::prefix("AWS_"),
        "EKS: `aws eks get-token` and aws-iam-authenticator (profile, region, role, SSO, web identity)",
    ),
    pass(
        VarPattern::prefix("GOOGLE_"),
        "GKE: gke-gcloud-auth-plugin (application default credentials, project)",
    ),
    pass(
        VarPattern::prefix("CLOUDSDK_"),
        "GKE: gcloud's configuration (account, project, config directory)",
    ),
    pass(
        VarPattern::name("USE_GKE_GCLOUD_AUTH_PLUGIN"),
        "GKE: whether gcloud writes kubeconfigs for the plugin",
    ),
    pass(
        VarPattern::prefix("AZURE_"),
        "AKS: kubelogin and the Azure CLI (tenant, client, federated token, config directory)",
    ),
    pass(
        VarPattern::prefix("AAD_"),
        "AKS: kubelogin's service principal and user login settings",
    ),
];

/// Never passed to a command, whatever [`KUBECTL_ENV`] or an extension says (matched ignoring
/// ASCII case): the keys of model providers (those Kopilot reads and the other common ones)
/// and Kopilot's own settings.
pub const WITHHELD: &[VarPattern] = &[
    // Kopilot's own settings and the model it talks to.
    VarPattern::prefix("KOPILOT_"),
    VarPattern::prefix("LLM_"),
    VarPattern::prefix("OPENAI_"),
    VarPattern::prefix("AZURE_OPENAI_"),
    VarPattern::prefix("ANTHROPIC_"),
    VarPattern::prefix("GEMINI_"),
    VarPattern::prefix("OLLAMA_"),
    // Other model providers' keys, including those that sit under a cloud's prefix.
    VarPattern::name("GOOGLE_API_KEY"),
    VarPattern::prefix("GOOGLE_GENERATIVE_AI_"),
    VarPattern::prefix("GOOGLE_GENAI_"),
    VarPattern::name("AWS_BEARER_TOKEN_BEDROCK"),
    VarPattern::prefix("AZURE_AI_"),
    VarPattern::prefix("AZURE_INFERENCE_"),
    VarPattern::prefix("MISTRAL_"),
    VarPattern::prefix("GROQ_"),
    VarPattern::prefix("COHERE_"),
    VarPattern::name("CO_API_KEY"),
    VarPattern::prefix("DEEPSEEK_"),
    VarPattern::prefix("OPENROUTER_"),
    VarPattern::prefix("HF_"),
    VarPattern::prefix("HUGGING"),
    VarPattern::prefix("TOGETHER_"),
    VarPattern::prefix("FIREWORKS_"),
    VarPattern::prefix("PERPLEXITY_"),
    VarPattern::name("PPLX_API_KEY"),
    VarPattern::prefix("XAI_"),
    VarPattern::prefix("REPLICATE_"),
    VarPattern::prefix("VOYAGE_"),
    VarPattern::prefix("AI21_"),
    VarPattern::prefix("CEREBRAS_"),
    VarPattern::name("NVIDIA_API_KEY"),
];

/// Whether the variable `name` of this process is passed to commands, given the embedder's
/// `extra` patterns. (`PATH`, `HOME` and `KUBECONFIG` are set by the executor instead.)
pub fn is_passed(name: &str, extra: &[VarPattern]) -> bool {
    if is_withheld(name) {
        return false;
    }
    KUBECTL_ENV.iter().any(|entry| entry.pattern.matches(name))
        || extra.iter().any(|pattern| pattern.matches(name))
}

/// Whether [`WITHHELD`] names the variable `name`.
pub fn is_withheld(name: &str) -> bool {
    WITHHELD
        .iter()
        .any(|pattern| pattern.matches_ignoring_case(name))
}

/// The names of `inherited` that [`WITHHELD`] names (those that are not UTF-8 too, which no
/// rule can vouch for): what the in-process client removes from its credential plugins'
/// environment.
pub fn withheld_names(inherited: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<String> {
    inherited
        .into_iter()
        .filter_map(|(name, _)| match name.into_string() {
            Ok(name) if is_withheld(&name) => Some(name),
            Ok(_) => None,
            Err(name) => Some(name.to_string_lossy().into_owned()),
        })
        .collect()
}

/// The variables of `inherited` that [`is_passed`] lets through; names that are not UTF-8
/// are dropped.
pub fn passed_vars(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    extra: &[VarPattern],
) -> BTreeMap<OsString, OsString> {
    inherited
        .into_iter()
        .filter(|(name, _)| name.to_str().is_some_and(|name| is_passed(name, extra)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(names: &[&str]) -> Vec<(OsString, OsString)> {
        names
            .iter()
            .map(|n| (OsString::from(*n), OsString::from(format!("value-of-{n}"))))
            .collect()
    }

    fn passed(names: &[&str], extra: &[VarPattern]) -> Vec<String> {
        passed_vars(vars(names), extra)
            .into_keys()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn credential_plugins_proxies_and_in_pod_settings_pass() {
        let wanted = [
            // EKS
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            // GKE
            "GOOGLE_APPLICATION_CREDENTIALS",
            "CLOUDSDK_CONFIG",
            "CLOUDSDK_CORE_PROJECT",
            "USE_GKE_GCLOUD_AUTH_PLUGIN",
            // AKS
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AAD_SERVICE_PRINCIPAL_CLIENT_ID",
            // Proxies, both spellings
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "NO_PROXY",
            "no_proxy",
            // In a pod
            "KUBERNETES_SERVICE_HOST",
            "KUBERNETES_SERVICE_PORT",
            // CA bundles, user, locale, caches
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "USER",
            "LOGNAME",
            "LANG",
            "LC_ALL",
            "TZ",
            "TMPDIR",
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
        ];
        let mut expected: Vec<String> = wanted.iter().map(|n| (*n).to_owned()).collect();
        expected.sort();
        assert_eq!(passed(&wanted, &[]), expected);
    }

    #[test]
    fn model_keys_and_kopilot_settings_are_withheld_even_under_a_passed_prefix() {
        let secrets = [
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "AZURE_OPENAI_API_KEY",
            "AZURE_OPENAI_ENDPOINT",
            "ANTHROPIC_API_KEY",
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "GOOGLE_GENERATIVE_AI_API_KEY",
            "AWS_BEARER_TOKEN_BEDROCK",
            "AZURE_AI_API_KEY",
            "MISTRAL_API_KEY",
            "GROQ_API_KEY",
            "COHERE_API_KEY",
            "CO_API_KEY",
            "DEEPSEEK_API_KEY",
            "OPENROUTER_API_KEY",
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HUGGINGFACE_API_KEY",
            "TOGETHER_API_KEY",
            "XAI_API_KEY",
            "LLM_PROVIDER",
            "KOPILOT_DATA_DIR",
            "KOPILOT_KUBECTL_ENV",
            // Case does not get a key past.
            "openai_api_key",
            "Anthropic_Api_Key",
        ];
        // Even an embedder's patterns that overlap them do not pass them.
        let extra = [
            VarPattern::Prefix("A".into()),
            VarPattern::Prefix("G".into()),
            VarPattern::Prefix("O".into()),
            VarPattern::Prefix("o".into()),
            VarPattern::Prefix("H".into()),
            VarPattern::Prefix("K".into()),
            VarPattern::Prefix("L".into()),
            VarPattern::Prefix("M".into()),
            VarPattern::Prefix("C".into()),
            VarPattern::Prefix("D".into()),
            VarPattern::Prefix("T".into()),
            VarPattern::Prefix("X".into()),
            VarPattern::Name("GOOGLE_API_KEY".into()),
        ];
        assert_eq!(passed(&secrets, &extra), Vec::<String>::new());
        for name in secrets {
            assert!(is_withheld(name), "{name}");
        }
    }

    #[test]
    fn everything_else_of_this_process_stays_behind() {
        let others = [
            "GITHUB_TOKEN",
            "VAULT_TOKEN",
            "DATABASE_URL",
            "SSH_AUTH_SOCK",
            "CARGO_HOME",
            "PWD",
            "SHELL",
            "LD_PRELOAD",
            "KUBECTL_EXTERNAL_DIFF",
            "KUBECONFIG",
            "PATH",
            "HOME",
        ];
        assert_eq!(passed(&others, &[]), Vec::<String>::new());
    }

    #[test]
    fn an_extension_adds_names_and_prefixes() {
        let extra = VarPattern::parse_list(" VAULT_ADDR , TELEPORT_*,,").unwrap();
        assert_eq!(
            extra,
            [
                VarPattern::Name("VAULT_ADDR".into()),
                VarPattern::Prefix("TELEPORT_".into())
            ]
        );
        assert_eq!(
            passed(
                &["VAULT_ADDR", "VAULT_TOKEN", "TELEPORT_PROXY", "TELEPORT"],
                &extra
            ),
            ["TELEPORT_PROXY", "VAULT_ADDR"]
        );
        assert_eq!(VarPattern::parse_list("").unwrap(), []);
        assert_eq!(extra[1].to_string(), "TELEPORT_*");
    }

    #[test]
    fn unusable_patterns_are_refused_saying_why() {
        for (text, why) in [
            ("*", "bare `*`"),
            ("  ", "empty"),
            ("A*B", "may only end"),
            ("AWS**", "may only end"),
            ("1ABC", "digit"),
            ("MY-VAR", "`-`"),
            ("A=B", "`=`"),
            ("OPENAI_API_KEY", "model providers"),
            ("openai_*", "model providers"),
            ("GOOGLE_API_KEY", "model providers"),
            ("KOPILOT_*", "model providers"),
            ("HUGGINGFACE_TOKEN", "model providers"),
        ] {
            let error = VarPattern::parse(text).unwrap_err();
            assert!(error.to_string().contains(why), "{text}: {error}");
            assert!(error.to_string().contains(text.trim()), "{text}: {error}");
        }
        // A prefix that only partly overlaps a withheld one is fine; the keys still stay out.
        let open = VarPattern::parse("OPEN*").unwrap();
        assert!(is_passed("OPENSHIFT_TOKEN", std::slice::from_ref(&open)));
        assert!(!is_passed("OPENAI_API_KEY", &[open]));
        // An exact name under a withheld prefix cannot be asked for; one merely near it can.
        assert!(VarPattern::parse("GOOGLE_API_KEYRING").is_ok());
        assert!(VarPattern::parse("AWS_BEARER_TOKEN_BEDROCK").is_err());
    }

    #[test]
    fn the_table_documents_every_entry_and_no_entry_is_withheld_whole() {
        for entry in KUBECTL_ENV {
            assert!(!entry.why.is_empty(), "{}", entry.pattern);
            let stem = match &entry.pattern {
                VarPattern::Name(name) | VarPattern::Prefix(name) => name.as_ref(),
            };
            assert!(!is_withheld(stem), "{} is withheld whole", entry.pattern);
        }
    }
}
