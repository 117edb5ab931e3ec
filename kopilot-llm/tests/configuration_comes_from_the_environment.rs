//! `ProviderConfig::from_lookup` reads the documented variables, names the variable at
//! fault, and never shows a key.

use std::collections::HashMap;
use std::time::Duration;

use kopilot_llm::{Error, ProviderChoice, ProviderConfig, ProviderKind};

fn config(vars: &[(&str, &str)]) -> kopilot_llm::Result<ProviderConfig> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ProviderConfig::from_lookup(|name| vars.get(name).cloned())
}

fn setting_of(error: Error) -> String {
    match error {
        Error::Config { setting, .. } => setting,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn nothing_set_defaults_to_local_ollama() {
    let config = config(&[]).unwrap();
    assert_eq!(config.kind(), ProviderKind::Ollama);
    assert_eq!(config.choice(), ProviderChoice::Defaulted);
    assert_eq!(config.base_url(), "http://localhost:11434/");
    assert_eq!(config.transport().max_retries, 3);
}

#[test]
fn an_explicit_provider_is_marked_explicit() {
    let config = config(&[
        ("LLM_PROVIDER", "Ollama"),
        ("OLLAMA_BASE_URL", "http://gpu-box:11434"),
    ])
    .unwrap();
    assert_eq!(config.choice(), ProviderChoice::Explicit);
    assert_eq!(config.base_url(), "http://gpu-box:11434/");
}

#[test]
fn an_unknown_provider_names_the_variable_and_the_choices() {
    let error = config(&[("LLM_PROVIDER", "watsonx")]).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("LLM_PROVIDER:"), "{message}");
    assert!(
        message.contains("watsonx") && message.contains("openai_compatible"),
        "{message}"
    );
}

#[test]
fn each_provider_names_its_missing_key() {
    for (provider, variable) in [
        ("openai", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
        ("gemini", "GEMINI_API_KEY"),
    ] {
        let error = config(&[("LLM_PROVIDER", provider)]).unwrap_err();
        assert_eq!(setting_of(error), variable);
    }
    let azure = config(&[("LLM_PROVIDER", "azure_openai")]).unwrap_err();
    assert_eq!(setting_of(azure), "AZURE_OPENAI_ENDPOINT");
    let azure = config(&[
        ("LLM_PROVIDER", "azure_openai"),
        ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ("AZURE_OPENAI_API_KEY", "k"),
    ])
    .unwrap_err();
    assert_eq!(setting_of(azure), "AZURE_OPENAI_DEPLOYMENT");
    let compatible = config(&[("LLM_PROVIDER", "openai_compatible")]).unwrap_err();
    assert_eq!(setting_of(compatible), "OPENAI_BASE_URL");
}

#[test]
fn every_documented_variable_is_read() {
    let azure = config(&[
        ("LLM_PROVIDER", "azure_openai"),
        ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ("AZURE_OPENAI_API_KEY", "azure-secret"),
        ("AZURE_OPENAI_DEPLOYMENT", "gpt4o-prod"),
        ("AZURE_OPENAI_API_VERSION", "2025-01-01-preview"),
        ("LLM_TIMEOUT_SECS", "30"),
        ("LLM_MAX_RETRIES", "5"),
    ])
    .unwrap();
    assert_eq!(azure.model(), "gpt4o-prod");
    assert_eq!(azure.azure_api_version(), "2025-01-01-preview");
    assert_eq!(azure.api_key().unwrap().expose(), "azure-secret");
    assert_eq!(azure.transport().request_timeout, Duration::from_secs(30));
    assert_eq!(
        azure.transport().stream_idle_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(azure.transport().max_retries, 5);

    let gemini = config(&[
        ("LLM_PROVIDER", "gemini"),
        ("GEMINI_API_KEY", "g"),
        ("GEMINI_MODEL", "gemini-2.5-pro"),
        ("GEMINI_BASE_URL", "https://gateway.example/gemini"),
    ])
    .unwrap();
    assert_eq!(gemini.model(), "gemini-2.5-pro");
    assert_eq!(gemini.base_url(), "https://gateway.example/gemini");

    let anthropic = config(&[
        ("LLM_PROVIDER", "anthropic"),
        ("ANTHROPIC_API_KEY", "a"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:8080"),
        ("LLM_MODEL", "claude-haiku-4-5"),
    ])
    .unwrap();
    assert_eq!(anthropic.model(), "claude-haiku-4-5");
    assert_eq!(anthropic.base_url(), "http://127.0.0.1:8080/");

    let openai = config(&[("LLM_PROVIDER", "openai"), ("OPENAI_API_KEY", "sk")]).unwrap();
    assert_eq!(openai.base_url(), "https://api.openai.com/v1");
}

#[test]
fn bad_values_name_their_variable() {
    let cases = [
        (vec![("LLM_TIMEOUT_SECS", "soon")], "LLM_TIMEOUT_SECS"),
        (vec![("LLM_TIMEOUT_SECS", "0")], "LLM_TIMEOUT_SECS"),
        (vec![("LLM_MAX_RETRIES", "-1")], "LLM_MAX_RETRIES"),
        (
            vec![("OLLAMA_BASE_URL", "localhost:11434 ")],
            "OLLAMA_BASE_URL",
        ),
        (vec![("OLLAMA_BASE_URL", "ftp://host")], "OLLAMA_BASE_URL"),
        (
            vec![
                ("LLM_PROVIDER", "openai_compatible"),
                ("OPENAI_BASE_URL", "not a url"),
            ],
            "OPENAI_BASE_URL",
        ),
    ];
    for (vars, variable) in cases {
        let error = config(&vars).unwrap_err();
        assert_eq!(setting_of(error), variable, "{vars:?}");
    }
}

#[test]
fn keys_never_show_in_debug_output() {
    let config = config(&[
        ("LLM_PROVIDER", "openai"),
        ("OPENAI_API_KEY", "sk-very-secret-123"),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-very-secret-123"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn the_builder_checks_what_it_builds() {
    let error = ProviderConfig::builder(ProviderKind::Anthropic)
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config { .. }));
    let error = ProviderConfig::builder(ProviderKind::Ollama)
        .base_url("::")
        .build()
        .unwrap_err();
    assert_eq!(setting_of(error), "base_url");
    let config = ProviderConfig::builder(ProviderKind::OpenAiCompatible)
        .base_url("http://127.0.0.1:8080")
        .model("smollm2")
        .max_retries(0)
        .build()
        .unwrap();
    assert_eq!(config.choice(), ProviderChoice::Explicit);
    assert!(config.api_key().is_none());
}
