//! The environment a command runs with: what kubectl and its exec credential plugins need,
//! and never a model provider's key. The table lives in `kopilot-analyze`, whose in-process
//! client starts credential plugins too (see its documentation there):
//! [`KUBECTL_ENV`] is passed, [`WITHHELD`] never is, and [`ExecConfig::extra_env`](super::ExecConfig::extra_env)
//! adds to the first.
//!
//! ```
//! use kopilot_k8s::exec::env::{VarPattern, is_passed};
//!
//! let extra = VarPattern::parse_list("VAULT_ADDR").unwrap();
//! assert!(is_passed("AWS_PROFILE", &extra) && is_passed("VAULT_ADDR", &extra));
//! assert!(!is_passed("OPENAI_API_KEY", &extra));
//! ```

pub use kopilot_analyze::snapshot::plugin_env::{
    EnvPatternError, KUBECTL_ENV, PassedVar, VarPattern, WITHHELD, is_passed, is_withheld,
    passed_vars, withheld_names,
};
