//! The configuration file (`~/.config/kopilot/config.yaml`, `KOPILOT_CONFIG`, `--config`) and
//! the `--provider` / `--model` flags: a flag beats the variable, the variable beats the file,
//! the file beats the default; `config show` names the file and line each value came from; an
//! unknown key or a bad value is a usage error naming the file, the line and the key.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use kopilot_core::EventKind;
use serde_json::Value;
use support::{Reply, Scenario, Script};

const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A scripted model answering every request with one text.
fn answering(text: &str) -> Script {
    Script::new().any(std::iter::repeat_n(Reply::text(text), 12))
}

/// The scenario's model settings removed from the environment (blank counts as unset), so
/// the file is what configures the model.
fn without_model_env(scenario: Scenario) -> Scenario {
    [
        "LLM_PROVIDER",
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "LLM_MODEL",
    ]
    .iter()
    .fold(scenario, |s, var| s.env(var, ""))
}

/// Writes `text` as the default configuration file (under the scenario's HOME).
fn write_default_config(scenario: &Scenario, text: &str) -> PathBuf {
    let dir = scenario.dir.path().join("home/.config/kopilot");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The model named in the task's `task_started` event and in the request the model server got.
#[track_caller]
fn models_used(scenario: &Scenario, out: &support::Outcome) -> (String, String) {
    out.expect_code(0);
    let events = out.events();
    let started = match &events[0].event {
        EventKind::TaskStarted { model, .. } => model.clone().unwrap_or_default(),
        other => panic!("first event is not task_started: {other:?}"),
    };
    let requests = scenario.stub().requests();
    let sent = requests
        .last()
        .and_then(|r| r.body["model"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (started, sent)
}

fn model_file(scenario: &Scenario, model: &str) -> String {
    format!(
        "# kopilot settings\nllm_provider: openai\nopenai_base_url: {}\nopenai_api_key: from-file-key\nllm_model: {model}\n",
        scenario.stub().base_url()
    )
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let scenario = without_model_env(Scenario::new().with_stub(answering("All good.")));
    write_default_config(&scenario, &model_file(&scenario, "from-file"));
    let ask = |extra: &[&str], env: Option<(&str, &str)>| {
        // The bundled demo cluster: `ask` checks the cluster before a task starts.
        let mut args = vec!["--demo", "--skill", "troubleshooting", "--output", "json"];
        args.extend_from_slice(extra);
        args.push("is anything wrong?");
        let mut invocation = scenario.ask(&args);
        if let Some((name, value)) = env {
            invocation = invocation.env_var(name, value);
        }
        invocation.run(RUN_LIMIT)
    };

    let file = ask(&[], None);
    assert_eq!(
        models_used(&scenario, &file),
        ("from-file".into(), "from-file".into())
    );
    let env = ask(&[], Some(("LLM_MODEL", "from-env")));
    assert_eq!(
        models_used(&scenario, &env),
        ("from-env".into(), "from-env".into())
    );
    let flag = ask(&["--model", "from-flag"], Some(("LLM_MODEL", "from-env")));
    assert_eq!(
        models_used(&scenario, &flag),
        ("from-flag".into(), "from-flag".into())
    );
    // The file's key was the one sent.
    let auth = scenario.stub().requests()[0].authorization.clone();
    assert_eq!(auth.as_deref(), Some("Bearer from-file-key"));

    // --provider beats LLM_PROVIDER: the environment says ollama (nothing listens there).
    let provider = ask(
        &["--provider", "openai_compatible", "--model", "m"],
        Some(("LLM_PROVIDER", "ollama")),
    );
    assert_eq!(models_used(&scenario, &provider), ("m".into(), "m".into()));
    let without = ask(&[], Some(("LLM_PROVIDER", "ollama")));
    assert_ne!(
        without.code,
        Some(0),
        "ollama at a closed port answered?\n{}",
        without.stderr
    );
}

#[test]
fn config_show_names_the_file_and_line_of_each_value_it_supplied() {
    let scenario = without_model_env(Scenario::new().with_stub(answering("unused")));
    let path = write_default_config(
        &scenario,
        &format!(
            "{}safety_mode: read-only\n",
            model_file(&scenario, "from-file")
        ),
    );
    let out = scenario
        .kopilot(&["config", "show", "--json"])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).expect("JSON rows");
    let row = |setting: &str| {
        rows.iter()
            .find(|r| r["setting"] == setting)
            .unwrap_or_else(|| panic!("no row {setting}: {}", out.stdout))
            .clone()
    };
    let file = path.display().to_string();
    assert_eq!(row("file")["value"], file.as_str());
    assert_eq!(row("file")["source"], "default location");
    for (setting, value, line, key) in [
        ("provider", "openai", 2, "llm_provider"),
        ("model", "from-file", 5, "llm_model"),
        ("mode", "read-only", 6, "safety_mode"),
    ] {
        assert_eq!(row(setting)["value"], value, "{}", out.stdout);
        assert_eq!(
            row(setting)["source"],
            format!("file {file}:{line}: {key}").as_str(),
            "{}",
            out.stdout
        );
    }
    // The key is masked, and its source named.
    let key = row("API key");
    assert!(
        !key["value"].as_str().unwrap().contains("from-file"),
        "{key}"
    );
    assert_eq!(
        key["source"],
        format!("file {file}:4: openai_api_key").as_str()
    );

    // The environment beats the file, and config show says so.
    let out = scenario
        .kopilot(&["config", "show", "--json"])
        .env_var("LLM_MODEL", "from-env")
        .run(RUN_LIMIT);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).expect("JSON rows");
    let model = rows.iter().find(|r| r["setting"] == "model").unwrap();
    assert_eq!(model["value"], "from-env");
    assert_eq!(model["source"], "env LLM_MODEL");
}

#[test]
fn kopilot_config_and_the_flag_name_another_file_which_must_exist() {
    let scenario = without_model_env(Scenario::new().with_stub(answering("From elsewhere.")));
    // A default file that would fail: neither of the others reads it.
    write_default_config(&scenario, "not_a_setting: 1\n");
    let other = scenario.dir.path().join("other.yaml");
    std::fs::write(&other, model_file(&scenario, "named")).unwrap();
    let other_s = other.display().to_string();

    let by_var = scenario
        .ask(&["--demo", "--skill", "troubleshooting", "-o", "json", "hi"])
        .env_var("KOPILOT_CONFIG", &other_s)
        .run(RUN_LIMIT);
    assert_eq!(models_used(&scenario, &by_var).0, "named");
    let by_flag = scenario
        .kopilot(&[
            "--config",
            &other_s,
            "ask",
            "--demo",
            "--skill",
            "troubleshooting",
            "-o",
            "json",
            "hi",
        ])
        .run(RUN_LIMIT);
    assert_eq!(models_used(&scenario, &by_flag).0, "named");

    let missing = scenario.dir.path().join("missing.yaml");
    let out = scenario
        .kopilot(&["config", "show", "--config", &missing.display().to_string()])
        .run(RUN_LIMIT);
    out.expect_code(2);
    assert!(out.stderr.contains("missing.yaml"), "{}", out.stderr);
    // And the default file, when read, is checked.
    let out = scenario.kopilot(&["config", "show"]).run(RUN_LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("config.yaml:1: unknown key `not_a_setting`"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_keys_and_bad_values_are_usage_errors_naming_file_line_and_key() {
    let scenario = Scenario::new();
    let path = scenario.dir.path().join("config.yaml");
    let file = path.display().to_string();
    for (text, expected) in [
        (
            "llm_provider: openai\nllm_modle: gpt-4o\n",
            format!("{file}:2: unknown key `llm_modle`"),
        ),
        (
            "# timeouts\n\nllm_timeout_secs: soon\n",
            format!("{file}:3: llm_timeout_secs: `soon` is not a whole number"),
        ),
        (
            "safety_mode: yolo\n",
            format!("{file}:1: safety_mode: `yolo` is not one of read-only, approve, full-access"),
        ),
        (
            "llm_provider: skynet\n",
            format!("{file}:1: llm_provider: unknown provider `skynet`"),
        ),
        (
            "llm_model: [a, b]\n",
            format!("{file}:1: llm_model: give one value"),
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        for command in [
            vec!["ask", "--demo", "--offline", "hi"],
            vec!["config", "show"],
            vec!["safety", "assess", "kubectl get pods"],
        ] {
            let out = scenario
                .kopilot(&command)
                .env_var("KOPILOT_CONFIG", &file)
                .run(RUN_LIMIT);
            out.expect_code(2);
            assert!(
                out.stderr.contains(&expected),
                "{command:?} with {text:?}: expected `{expected}` in\n{}",
                out.stderr
            );
        }
    }
    // A value that is fine alone but wrong with the rest is still traced to the file: the
    // provider from the file needs a key nobody gave.
    std::fs::write(&path, "llm_provider: anthropic\n").unwrap();
    let out = scenario
        .kopilot(&["ask", "--demo", "hi"])
        .env_var("KOPILOT_CONFIG", &file)
        .run(RUN_LIMIT);
    out.expect_code(2);
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{}", out.stderr);
}

#[test]
fn a_bad_provider_flag_is_a_usage_error_listing_the_providers() {
    let scenario = Scenario::new();
    let out = scenario.ask(&["--provider", "skynet", "hi"]).run(RUN_LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr.contains("--provider") && out.stderr.contains("openai_compatible"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_variable_that_is_not_unicode_is_an_error_not_a_fall_back_to_the_file() {
    use std::os::unix::ffi::OsStringExt as _;
    let scenario = Scenario::new();
    write_default_config(&scenario, "enabled_skills: [security]\n");
    let mut invocation = scenario.kopilot(&["skills", "list"]);
    invocation.env.push((
        "ENABLED_SKILLS".into(),
        std::ffi::OsString::from_vec(vec![b'[', 0xff, b']']),
    ));
    let out = invocation.run(RUN_LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("ENABLED_SKILLS: the value is not valid Unicode"),
        "{}",
        out.stderr
    );
}
