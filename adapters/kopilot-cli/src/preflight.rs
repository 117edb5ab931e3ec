//! Before `ask` starts a task on a real cluster: the kubeconfig can be read, the context
//! exists, and the API server answers, so a wrong file, a mistyped context or an unreachable
//! cluster is a usage error (exit 2) naming what is wrong, not a task whose every command
//! fails.
//!
//! The kubeconfig is read as kubectl reads it ([`LiveOptions::kubeconfig`]: `--kubeconfig`,
//! else every file of `KUBECONFIG` merged, missing ones skipped, else `~/.kube/config`, else
//! the in-cluster service account). The API server gets one `GET /version` through the
//! in-process client, which runs the context's credential plugin if it has one, and is given
//! [`REACH_TIMEOUT`] to answer.

use std::path::Path;
use std::time::Duration;

use kopilot_analyze::snapshot::{KubeconfigSource, LiveOptions, LoadedKubeconfig};

use crate::UsageError;

/// How long the API server (and the context's credential plugin, which runs first) has to
/// answer `GET /version`: kubectl's own version probe allows 5 s; a credential plugin that
/// fetches a token (`aws eks get-token`) can take a few more.
pub(crate) const REACH_TIMEOUT: Duration = Duration::from_secs(15);

/// Checks that the cluster `kubeconfig` (a file or a `KUBECONFIG`-style list; `None` for the
/// usual resolution) and `context` (`None` for the current one) name can be used.
///
/// # Errors
///
/// A [`UsageError`] naming the file, the context (with the contexts that exist) or the server.
pub(crate) async fn check(kubeconfig: Option<&Path>, context: Option<&str>) -> anyhow::Result<()> {
    let options = LiveOptions {
        kubeconfig: kubeconfig.map(Path::to_path_buf),
        context: context.map(str::to_owned),
        ..LiveOptions::default()
    };
    let loaded = options
        .kubeconfig()
        .map_err(|e| usage(format!("{}: {}", flag_for(kubeconfig), chain(&e))))?;
    let target = match &loaded {
        Some(loaded) => check_context(loaded, context)?,
        None => no_kubeconfig(context)?,
    };
    let config = options
        .config()
        .await
        .map_err(|e| usage(format!("{target}: {}", chain(&e))))?;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| usage(format!("{target}: cannot build a client for {server}: {e}")))?;
    match tokio::time::timeout(REACH_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        // The server answered, if only to refuse: it is there. Only credentials it rejects
        // outright make every command fail.
        Ok(Err(kube::Error::Api(status))) if status.code != 401 => Ok(()),
        Ok(Err(error)) => Err(usage(format!(
            "{target}: the API server at {server} cannot be used: {}",
            chain(&error)
        ))),
        Err(_) => Err(usage(format!(
            "{target}: the API server at {server} did not answer within {}s (is the cluster up, \
             and reachable from here?)",
            REACH_TIMEOUT.as_secs()
        ))),
    }
}

/// The context the task would use, when the merged kubeconfig has it; else a usage error
/// listing the contexts it has.
fn check_context(loaded: &LoadedKubeconfig, wanted: Option<&str>) -> anyhow::Result<String> {
    let files = match loaded.source {
        KubeconfigSource::Configured | KubeconfigSource::Default => {
            format!("kubeconfig {}", loaded.describe_files())
        }
        KubeconfigSource::Environment => {
            format!("kubeconfig {} (from KUBECONFIG)", loaded.describe_files())
        }
    };
    let names = loaded.context_names();
    let listing = if names.is_empty() {
        "it has no contexts".to_owned()
    } else {
        format!("its contexts are: {}", names.join(", "))
    };
    let Some(name) = loaded.context_name(wanted) else {
        return Err(usage(format!(
            "{files} sets no current-context: pass --context; {listing}"
        )));
    };
    if !names.contains(&name) {
        let how = if wanted.is_some() {
            "--context"
        } else {
            "current-context"
        };
        return Err(usage(format!(
            "{how} `{name}` is not in {files}; {listing}"
        )));
    }
    Ok(format!("context `{name}` ({files})"))
}

/// No kubeconfig file exists: only the in-cluster service account is left, and only when no
/// context was asked for and this runs in a pod.
fn no_kubeconfig(context: Option<&str>) -> anyhow::Result<String> {
    let tried = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => format!(
            "none of the files in KUBECONFIG ({}) exists",
            list.to_string_lossy()
        ),
        None => "KUBECONFIG is not set and ~/.kube/config does not exist".to_owned(),
    };
    if let Some(context) = context {
        return Err(usage(format!(
            "--context `{context}`: no kubeconfig to find it in: {tried}"
        )));
    }
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
        return Err(usage(format!(
            "no cluster configured: {tried}, and this is not a pod (KUBERNETES_SERVICE_HOST is \
             not set); pass --kubeconfig, or --demo to try the bundled demo cluster"
        )));
    }
    Ok("the in-cluster service account".to_owned())
}

fn flag_for(kubeconfig: Option<&Path>) -> &'static str {
    if kubeconfig.is_some() {
        "--kubeconfig"
    } else {
        "kubeconfig"
    }
}

fn usage(message: String) -> anyhow::Error {
    UsageError(message).into()
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
