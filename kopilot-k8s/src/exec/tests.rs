use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kopilot_core::safety::{AuditEvent, Guard, MemoryAuditSink, Policy, RequestContext, Verdict};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn executor(config: ExecConfig) -> (Executor, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::default());
    (Executor::new(config, audit.clone()), audit)
}

async fn run(executor: &Executor, stages: &[&[&str]]) -> Result<ExecOutput> {
    let stages = stages.iter().map(|s| argv(s)).collect();
    executor
        .run_stages(stages, true, &CancellationToken::new(), Some("t1"))
        .await
}

/// Whether a process is gone (or a zombie nobody reaped: dead either way).
fn process_is_dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn pipeline_stages_are_wired_with_pipes() {
    let (exec, _) = executor(ExecConfig::default());
    let out = run(
        &exec,
        &[
            &["printf", "alpha\\nbeta\\ngamma\\n"],
            &["grep", "-v", "beta"],
            &["tr", "a-z", "A-Z"],
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.stdout, "ALPHA\nGAMMA\n");
    assert_eq!(out.ending, Ending::Exited(0));
}

#[tokio::test]
async fn exit_code_and_stderr_are_reported() {
    let (exec, _) = executor(ExecConfig::default());
    let out = run(&exec, &[&["sh", "-c", "echo oops >&2; exit 3"]])
        .await
        .unwrap();
    assert_eq!(out.ending, Ending::Exited(3));
    assert_eq!(out.stderr, "oops\n");
    assert!(!out.ending.success());
}

#[tokio::test]
async fn timeout_kills_children_and_grandchildren() {
    let (exec, audit) = executor(ExecConfig {
        timeout: Duration::from_millis(500),
        ..ExecConfig::default()
    });
    let out = run(&exec, &[&["sh", "-c", "sleep 100 & echo $!; sleep 100"]])
        .await
        .unwrap();
    assert_eq!(out.ending, Ending::TimedOut);
    assert!(
        out.duration < Duration::from_secs(10),
        "took {:?}",
        out.duration
    );
    let grandchild = out.stdout.trim();
    assert!(!grandchild.is_empty(), "the shell printed no pid");
    // The kill is synchronous with run's return, but give the kernel a moment to tear down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        process_is_dead(grandchild),
        "grandchild {grandchild} survived"
    );
    let events = audit.events();
    assert!(
        matches!(events.last(), Some(AuditEvent::Execution { outcome: Some(o), exit_code: None, .. }) if o == "timeout")
    );
}

#[tokio::test]
async fn cancellation_kills_the_group_at_once() {
    let (exec, _) = executor(ExecConfig::default());
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let out = exec
        .run_stages(
            vec![argv(&["sh", "-c", "sleep 100 & echo $!; sleep 100"])],
            true,
            &cancel,
            None,
        )
        .await
        .unwrap();
    assert_eq!(out.ending, Ending::Cancelled);
    assert!(
        out.duration < Duration::from_secs(5),
        "took {:?}",
        out.duration
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(process_is_dead(out.stdout.trim()));
}

#[tokio::test]
async fn a_caller_that_stops_waiting_still_kills_the_group_and_audits_it() {
    let (exec, audit) = executor(ExecConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!("sleep 100 & echo $! > {}; sleep 100", pid_file.display());
    // The task was cancelled and its future dropped: no cancel token fires, nobody waits.
    let dropped = tokio::time::timeout(
        Duration::from_millis(500),
        run(&exec, &[&["sh", "-c", &script]]),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the command should still have been running"
    );
    let grandchild = std::fs::read_to_string(&pid_file).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        process_is_dead(grandchild.trim()),
        "grandchild {grandchild} survived its dropped run"
    );
    let events = audit.events();
    assert!(
        matches!(events.last(), Some(AuditEvent::Execution { outcome: Some(o), exit_code: None, .. }) if o == "cancelled"),
        "{events:?}"
    );
}

#[tokio::test]
async fn output_past_the_cap_is_counted_and_discarded() {
    let (exec, audit) = executor(ExecConfig {
        max_output_bytes: 1000,
        ..ExecConfig::default()
    });
    let out = run(&exec, &[&["head", "-c", "300000", "/dev/zero"]])
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1000);
    assert_eq!(out.stdout_bytes, 300_000);
    assert_eq!(out.discarded_bytes, 299_000);
    let Some(AuditEvent::Execution {
        stdout_bytes,
        output_sha256,
        ..
    }) = audit.events().pop()
    else {
        panic!("no execution record");
    };
    assert_eq!(stdout_bytes, 300_000);
    assert_eq!(output_sha256, hex::encode(Sha256::digest(vec![0_u8; 1000])));
}

/// `NAME=value` lines of `env` as pairs.
fn env_pairs(stdout: &str) -> Vec<(&str, &str)> {
    stdout.lines().filter_map(|l| l.split_once('=')).collect()
}

#[tokio::test]
async fn environment_is_scrubbed() {
    assert!(
        std::env::var_os("CARGO_MANIFEST_DIR").is_some() || std::env::vars_os().count() > 3,
        "the test process needs variables of its own for this test to mean anything"
    );
    let (exec, _) = executor(ExecConfig {
        kubeconfig: Some("/etc/kopilot/kubeconfig".into()),
        home: Some("/tmp/kopilot-home".into()),
        ..ExecConfig::default()
    });
    let out = run(&exec, &[&["env"]]).await.unwrap();
    let pairs = env_pairs(&out.stdout);
    for (name, _) in &pairs {
        assert!(
            ["PATH", "HOME", "KUBECONFIG"].contains(name) || env::is_passed(name, &[]),
            "{name} leaked into the child environment"
        );
        assert!(
            !env::is_withheld(name),
            "{name} is withheld, yet was passed"
        );
        // Cargo's own variables are in every test process: none is on the list.
        assert!(!name.starts_with("CARGO"), "{name} leaked");
    }
    assert!(out.stdout.contains("KUBECONFIG=/etc/kopilot/kubeconfig\n"));
    assert!(out.stdout.contains("HOME=/tmp/kopilot-home\n"));
    // And what the list names is passed, unchanged.
    for (name, value) in std::env::vars() {
        if env::is_passed(&name, &[]) && !["PATH", "HOME", "KUBECONFIG"].contains(&name.as_str()) {
            assert!(
                pairs.contains(&(name.as_str(), value.as_str())),
                "{name} was not passed"
            );
        }
    }
}

#[tokio::test]
async fn the_configured_extension_passes_more() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it for tests");
    let (exec, _) = executor(ExecConfig {
        extra_env: env::VarPattern::parse_list("CARGO_MANIFEST_*,CARGO_PKG_NAME").unwrap(),
        ..ExecConfig::default()
    });
    let out = run(&exec, &[&["env"]]).await.unwrap();
    let pairs = env_pairs(&out.stdout);
    assert!(pairs.contains(&("CARGO_MANIFEST_DIR", manifest_dir.as_str())));
    assert!(pairs.contains(&("CARGO_PKG_NAME", "kopilot-k8s")));
    assert!(!pairs.iter().any(|(n, _)| *n == "CARGO_PKG_VERSION"));
}

/// The variable that makes [`env_probe_in_a_child_process`] run: the file it writes the
/// child's environment to.
const PROBE_OUT: &str = "KOPILOT_TEST_ENV_PROBE_OUT";

/// This test binary, run again as a child process with a chosen environment (setting
/// variables in a running test process is unsound): runs `env` through the executor and
/// writes what it printed. Does nothing when not run so.
#[tokio::test]
async fn env_probe_in_a_child_process() {
    let Some(out_file) = std::env::var_os(PROBE_OUT) else {
        return;
    };
    let (exec, _) = executor(ExecConfig {
        extra_env: env::VarPattern::parse_list("VAULT_ADDR,PROBE_*").unwrap(),
        ..ExecConfig::default()
    });
    let out = run(&exec, &[&["env"]]).await.unwrap();
    std::fs::write(out_file, out.stdout).unwrap();
}

#[test]
fn cloud_credentials_pass_and_provider_keys_of_this_process_never_do() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("env.txt");
    let passed = [
        ("AWS_PROFILE", "prod-admin"),
        ("AWS_REGION", "eu-west-1"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/gcp/key.json"),
        ("CLOUDSDK_CORE_PROJECT", "shop-prod"),
        ("AZURE_TENANT_ID", "0000-tenant"),
        ("AAD_LOGIN_METHOD", "workloadidentity"),
        ("HTTPS_PROXY", "http://proxy.corp:3128"),
        ("no_proxy", "10.0.0.0/8,.svc"),
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
        ("KUBERNETES_SERVICE_PORT", "443"),
        ("SSL_CERT_FILE", "/etc/ssl/corp.pem"),
        ("VAULT_ADDR", "https://vault.corp"),
        ("PROBE_EXTRA", "yes"),
    ];
    let withheld = [
        ("OPENAI_API_KEY", "sk-canary-openai"),
        ("ANTHROPIC_API_KEY", "sk-ant-canary"),
        ("AZURE_OPENAI_API_KEY", "canary-azure-openai"),
        ("GEMINI_API_KEY", "canary-gemini"),
        ("GOOGLE_API_KEY", "canary-google"),
        ("AWS_BEARER_TOKEN_BEDROCK", "canary-bedrock"),
        ("MISTRAL_API_KEY", "canary-mistral"),
        ("HF_TOKEN", "canary-hf"),
        ("KOPILOT_AUDIT_KEY", "canary-kopilot"),
        ("GITHUB_TOKEN", "canary-github"),
        ("VAULT_TOKEN", "canary-vault"),
    ];
    let probe = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "exec::tests::env_probe_in_a_child_process",
            "--exact",
            "--test-threads=1",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(PROBE_OUT, &out_file)
        .envs(passed)
        .envs(withheld)
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "the probe failed: {}\n{}{}",
        probe.status,
        String::from_utf8_lossy(&probe.stdout),
        String::from_utf8_lossy(&probe.stderr)
    );
    let seen = std::fs::read_to_string(&out_file).expect("the probe ran and wrote the env");
    let pairs = env_pairs(&seen);
    for pair in passed {
        assert!(pairs.contains(&pair), "{} was not passed:\n{seen}", pair.0);
    }
    for (name, value) in withheld {
        assert!(!seen.contains(value), "{name} reached the command:\n{seen}");
    }
    assert!(!seen.contains(PROBE_OUT), "{seen}");
}

#[tokio::test]
async fn stdin_is_closed() {
    let (exec, _) = executor(ExecConfig::default());
    let out = run(&exec, &[&["cat"]]).await.unwrap();
    assert_eq!((out.stdout.as_str(), out.ending), ("", Ending::Exited(0)));
}

#[tokio::test]
async fn missing_programs_are_named() {
    let (exec, audit) = executor(ExecConfig {
        kubectl: Some("/nonexistent/kubectl".into()),
        ..ExecConfig::default()
    });
    let err = run(&exec, &[&["no-such-program-kopilot"]])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ProgramNotFound { program, .. } if program == "no-such-program-kopilot"),
        "{err}"
    );
    let err = run(&exec, &[&["kubectl", "get", "pods"]])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/kubectl"), "{err}");
    assert!(audit.events().is_empty(), "nothing ran, nothing to audit");
}

fn fake_kubectl(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("kubectl");
    std::fs::write(&path, "#!/bin/sh\necho \"$@\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn context_and_configured_binary_are_injected() {
    let dir = tempfile::tempdir().unwrap();
    let (exec, audit) = executor(ExecConfig {
        kubectl: Some(fake_kubectl(dir.path())),
        context: Some("staging".into()),
        ..ExecConfig::default()
    });
    let guard = Guard::new(Policy::default());
    let Verdict::Allowed(cleared) = guard.check(
        "kubectl get pods -n shop",
        &RequestContext::new(kopilot_core::safety::Identity::new("test")),
    ) else {
        panic!("the default policy should allow a read");
    };
    let out = exec
        .run(cleared, &CancellationToken::new(), Some("t9"))
        .await
        .unwrap();
    assert_eq!(out.stdout, "--context staging get pods -n shop\n");
    let Some(AuditEvent::Execution {
        argv,
        exit_code,
        task_id,
        ..
    }) = audit.events().pop()
    else {
        panic!("no execution record");
    };
    assert_eq!(
        argv.first().and_then(|a| a.get(1)).map(String::as_str),
        Some("--context")
    );
    assert_eq!((exit_code, task_id.as_deref()), (Some(0), Some("t9")));
}

#[tokio::test]
async fn connection_flags_in_a_cleared_command_are_refused() {
    let (exec, audit) = executor(ExecConfig::default());
    let guard = Guard::new(Policy::default());
    let ctx = RequestContext::new(kopilot_core::safety::Identity::new("test"));
    for line in [
        // The guard reads these as connection flags (and asks for approval, given here).
        "kubectl get pods --server=https://10.0.0.1",
        "kubectl get pods -As https://10.0.0.1",
        // The guard's table takes `--server-print` to need a value; kubectl does not.
        "kubectl get pods --server-print -s https://10.0.0.1",
        // kubectl reads `_` as `-` in flag names.
        "kubectl get pods --insecure_skip_tls_verify",
    ] {
        let cleared = guard
            .authorize(
                line,
                &ctx,
                &kopilot_core::safety::ApproveAll::new("approver"),
            )
            .await
            .unwrap_or_else(|refusal| panic!("{line}: {refusal}"));
        let err = exec
            .run(cleared, &CancellationToken::new(), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ForbiddenFlag { .. }), "{line}: {err}");
    }
    assert!(
        !audit
            .events()
            .iter()
            .any(|e| matches!(e, AuditEvent::Execution { .. })),
        "nothing ran"
    );
}

#[tokio::test]
async fn kubectl_words_only_known_at_run_time_are_refused() {
    let (exec, audit) = executor(ExecConfig::default());
    let guard = Guard::new(Policy::default());
    let ctx = RequestContext::new(kopilot_core::safety::Identity::new("test"));
    // What `xargs` reads comes from the cluster, and could be `--server=https://evil`.
    for line in [
        "kubectl get pods -o name | xargs kubectl get",
        "kubectl get cm flags -o jsonpath={.data.args} | xargs -I{} kubectl get pods {}",
    ] {
        let cleared = guard
            .authorize(
                line,
                &ctx,
                &kopilot_core::safety::ApproveAll::new("approver"),
            )
            .await
            .unwrap_or_else(|refusal| panic!("{line}: {refusal}"));
        let err = exec
            .run(cleared, &CancellationToken::new(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Unparsed { ref why, .. } if why.contains("run time")),
            "{line}: {err}"
        );
    }
    assert!(
        !audit
            .events()
            .iter()
            .any(|e| matches!(e, AuditEvent::Execution { .. })),
        "nothing ran"
    );
}
