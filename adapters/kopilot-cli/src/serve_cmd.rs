//! `kopilot serve`: the HTTP server ([`kopilot_server`]) over the same runtime `ask` builds
//! (model, policy, skills, cluster, task store and audit log from the same settings), with
//! approvals decided over HTTP instead of at a terminal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use futures::future::BoxFuture;
use kopilot_core::safety::ChannelApprover;
use kopilot_server::tokens::{Role, TokenFile, Tokens};
use kopilot_server::{AgentWebhook, ReadyCheck, Server, ServerConfig, WebhookConfig};

use crate::UsageError;
use crate::ask::{RuntimeArgs, Setup};
use crate::settings::Settings;
use crate::tokens_cmd::TokensFileArg;

/// Serve Kopilot over HTTP: tasks, live events, approvals, skills, health.
#[derive(Debug, Args)]
#[command(after_help = "\
Every request but /health, /healthz, /readyz and /metrics needs a bearer token. The first start
makes a tokens file with an admin token and prints it once; add more with `kopilot tokens add`.

  kopilot serve --demo
  TOKEN=kopilot_...   # printed at the first start
  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\
       -d '{\"prompt\":\"why is checkout crashlooping?\"}' http://127.0.0.1:8080/tasks
  curl -N -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/tasks/<id>/events
  curl -s -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/approvals")]
pub(crate) struct ServeArgs {
    /// The address to listen on. Anything but loopback serves the network: put TLS in front.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "KOPILOT_ADDR"
    )]
    addr: SocketAddr,
    #[command(flatten)]
    tokens: TokensFileArg,
    /// Also answer requests whose Host is this name (DNS-rebinding protection lets only
    /// loopback names and the bound address through by default). Repeat or comma-separate.
    #[arg(long, value_name = "HOST", value_delimiter = ',')]
    allow_host: Vec<String>,
    /// Also answer browser requests from this origin (`https://console.example.com`), with
    /// CORS headers for it (CORS is off otherwise). Repeat or comma-separate.
    #[arg(long, value_name = "ORIGIN", value_delimiter = ',')]
    allow_origin: Vec<String>,
    /// Requests per second each token may send (bursts of up to 200 allowed); 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 20.0)]
    rate: f64,
    /// Review each answer with a second model call, and re-plan once when it scores low.
    #[arg(long)]
    reflect: bool,
    /// Serve `POST /webhook` (signed Alertmanager notifications become read-only
    /// investigations), with the HMAC-SHA256 secret read from this environment variable
    /// (never given as a flag's value).
    #[arg(long, value_name = "VAR")]
    webhook_secret_env: Option<String>,
    /// Serve KubeCopilot's agent contract (`POST /asyncchat`, `DELETE /cancel/{queue_id}`,
    /// for `agent` tokens): each task's chunks and final response are POSTed to URL/chunk and
    /// URL/response.
    #[arg(long, value_name = "URL")]
    agent_webhook: Option<String>,
    /// The bearer token sent with every --agent-webhook delivery, read from this environment
    /// variable.
    #[arg(long, value_name = "VAR", requires = "agent_webhook")]
    agent_webhook_token_env: Option<String>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// The value of the environment variable `var` a flag names: a usage error (exit 2) when it
/// is unset, empty or not UTF-8.
fn secret_from_env(flag: &str, var: &str) -> Result<String, UsageError> {
    if var.is_empty() || var.contains('=') || var.contains('\0') {
        return Err(UsageError(format!(
            "{flag}: `{var}` is not an environment variable name"
        )));
    }
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        Ok(_) => Err(UsageError(format!(
            "{flag}: the environment variable {var} is empty"
        ))),
        Err(std::env::VarError::NotPresent) => Err(UsageError(format!(
            "{flag}: the environment variable {var} is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(UsageError(format!(
            "{flag}: the environment variable {var} is not UTF-8"
        ))),
    }
}

/// `/webhook`'s and `/asyncchat`'s configuration from the flags (issue 20's webhook section).
fn hooks_of(args: &ServeArgs) -> Result<(Option<WebhookConfig>, Option<AgentWebhook>), UsageError> {
    let webhook = args
        .webhook_secret_env
        .as_deref()
        .map(|var| secret_from_env("--webhook-secret-env", var))
        .transpose()?
        .map(|secret| WebhookConfig::new(secret.into_bytes()));
    let agent = match &args.agent_webhook {
        None => None,
        Some(url) => {
            let mut agent =
                AgentWebhook::new(url).map_err(|e| UsageError(format!("--agent-webhook: {e}")))?;
            if let Some(var) = &args.agent_webhook_token_env {
                agent = agent.token(secret_from_env("--agent-webhook-token-env", var)?);
            }
            Some(agent)
        }
    };
    Ok((webhook, agent))
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        return Err(UsageError(format!("--rate: `{}` is not a rate", args.rate)).into());
    }
    let hooks = hooks_of(&args)?;
    let settings = Settings::load()?.with_model_flags(&args.runtime.model_flags);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(serve(args, settings, hooks))
}

/// The tokens file, made with an admin token (printed once) when there is none yet.
fn open_tokens(path: &std::path::Path) -> anyhow::Result<Tokens> {
    if TokenFile::load(path)
        .map_err(|e| UsageError(e.to_string()))?
        .is_none()
    {
        let mut file = TokenFile::default();
        let token = file.add(path, "admin", Role::Admin)?;
        file.save(path)?;
        eprintln!(
            "kopilot: no tokens file yet; made {} with an admin token, shown only now:\n\n    {token}\n\nMake more with `kopilot tokens add --name NAME --role viewer|operator|approver|admin|agent`.",
            path.display()
        );
    }
    Tokens::open(path).map_err(|e| UsageError(e.to_string()).into())
}

/// `/readyz`'s cluster check: the same pre-flight `ask` runs (kubeconfig, context, the API
/// server's `/version`).
struct ClusterReady {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
}

impl ReadyCheck for ClusterReady {
    fn name(&self) -> &'static str {
        "cluster"
    }

    fn check(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            crate::preflight::check(self.kubeconfig.as_deref(), self.context.as_deref())
                .await
                .map(|()| "the API server answers".to_owned())
                .map_err(|e| format!("{e:#}"))
        })
    }
}

async fn serve(
    args: ServeArgs,
    settings: Settings,
    (webhook, agent_webhook): (Option<WebhookConfig>, Option<AgentWebhook>),
) -> anyhow::Result<ExitCode> {
    let tokens = open_tokens(&args.tokens.resolve()?)?;
    let mut interrupts = crate::signals::Interrupts::listen()?;
    let (setup, _terminal) = Setup::for_runtime(&args.runtime, args.reflect, settings).await?;
    let desk = ChannelApprover::new().with_four_eyes(setup.four_eyes());
    let kopilot = setup.kopilot_with_desk(desk)?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| UsageError(format!("--addr {}: cannot listen there: {e}", args.addr)))?;
    let addr = listener.local_addr()?;
    let provider = setup
        .model
        .as_ref()
        .map_or_else(|| "offline".to_owned(), |m| m.model().to_owned());
    let mut hooks = String::new();
    if webhook.is_some() {
        hooks.push_str(", signed /webhook");
    }
    if let Some(agent) = &agent_webhook {
        hooks.push_str(", /asyncchat delivering to ");
        hooks.push_str(agent.base.as_str());
    }
    let config = ServerConfig {
        allowed_hosts: args.allow_host,
        allowed_origins: args.allow_origin,
        rate_per_second: (args.rate > 0.0).then_some(args.rate),
        provider: provider.clone(),
        webhook,
        agent_webhook,
        ..ServerConfig::default()
    };
    let (kubeconfig, context) = setup.cluster_target();
    let server =
        Server::new(kopilot, tokens.clone(), config, addr).with_check(Arc::new(ClusterReady {
            kubeconfig,
            context,
        }));
    let cluster = if args.runtime.demo {
        "the demo cluster"
    } else {
        "the kubeconfig's cluster"
    };
    eprintln!(
        "kopilot: serving http://{addr} (model: {provider}, {cluster}, mode {}, tokens {}{hooks}); Ctrl-C or SIGTERM drains and stops",
        setup.mode().as_str(),
        tokens.path().display()
    );
    server
        .serve(listener, async move { interrupts.next().await })
        .await
        .context("the server failed")?;
    eprintln!("kopilot: stopped");
    setup.stop().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_a_set_variable_only() {
        let error = secret_from_env("--webhook-secret-env", "KOPILOT_TEST_SURELY_UNSET_VAR_7f3a")
            .unwrap_err();
        assert!(error.0.contains("--webhook-secret-env"), "{error}");
        assert!(
            error
                .0
                .contains("KOPILOT_TEST_SURELY_UNSET_VAR_7f3a is not set"),
            "{error}"
        );
        assert!(secret_from_env("--agent-webhook-token-env", "").is_err());
        assert!(secret_from_env("--agent-webhook-token-env", "A=B").is_err());
        // PATH is set wherever the tests run.
        assert!(secret_from_env("--webhook-secret-env", "PATH").is_ok());
    }
}
