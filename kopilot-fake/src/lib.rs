//! A loopback fake Kubernetes API server, seeded from YAML, that the real `kubectl` (1.27 to
//! 1.33) and the `kube` client can both talk to. It is the test cluster of this project and
//! the bundled demo cluster ([`demo`], `kopilot demo serve`). Other crates take it as a
//! dev-dependency; only the adapters that offer `--demo` link it into a binary.
//!
//! ```no_run
//! # async fn demo() -> kopilot_fake::Result<()> {
//! use kopilot_fake::FakeCluster;
//!
//! let cluster = FakeCluster::builder()
//!     .seed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n\
//!                 spec: {containers: [{name: app, image: nginx:1.27}]}\n")
//!     .start()
//!     .await?;
//! cluster.write_kubeconfig("/tmp/fake.kubeconfig")?;
//! // kubectl --kubeconfig /tmp/fake.kubeconfig get pods -n shop
//! assert!(cluster.get("v1", "Pod", "shop", "web").is_some());
//! cluster.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! What it serves: `/version` (v1.33.0), aggregated discovery, get/list (label and field
//! selectors) as objects or server-computed Tables, watch (from a resourceVersion, Tables,
//! BOOKMARKs), create, replace, merge/JSON/strategic patch and server-side apply (approximated
//! by a strategic merge), delete with owner cascade, `status` and `scale` subresources, dry
//! runs, pod logs, `metrics.k8s.io`, a minimal OpenAPI v3 and `Status` errors.
//!
//! # Seeding
//! Seed documents are ordinary Kubernetes YAML (multi-document, or `kind: List`). Missing
//! `uid`s are derived from kind, namespace and name (stable across runs); owner references,
//! event subjects and PV claim references without a uid are resolved by name; namespaces
//! used by seeded objects are created. Two extras:
//! - **Pod logs**: a document `apiVersion: fake.kopilot.dev/v1`, `kind: PodLogs`, with
//!   `metadata.name`/`namespace` naming the pod and `containers: [{name, log, previous}]`.
//!   It is never served as an object; `previous` feeds `kubectl logs --previous`.
//! - **Usage metrics**: seed `metrics.k8s.io/v1beta1` `PodMetrics` and `NodeMetrics`
//!   objects; `kubectl top` reads them.
//!
//! With [`FakeClusterBuilder::seed_clock`], every timestamp in the seeds is shifted so that
//! the given instant is "now" when the server starts: ages and restart times look the same
//! on every run.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod access;
mod clock;
mod controller;
pub mod demo;
mod discovery;
mod error;
mod kubeconfig;
#[cfg(feature = "test-util")]
pub mod kubectl;
mod logs;
mod openapi;
mod patch;
mod protobuf;
pub mod registry;
mod replicas;
mod rollout;
mod routing;
mod seed;
pub mod selectors;
mod status;
mod store;
mod tables;
mod tls;
mod validation;
mod watch;
mod writes;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch as shutdown_watch;
use tokio::task::JoinHandle;

pub use access::ForbiddenRule;
pub use patch::{PatchError, json_patch, merge_patch, strategic_merge_patch};
pub use seed::FAKE_API_VERSION;
pub use store::ContainerLogs;

pub use error::{Error, Result};
use routing::App;
use seed::SeedSource;
use store::{ObjectKey, State};

/// Configures and starts a [`FakeCluster`].
#[derive(Debug)]
pub struct FakeClusterBuilder {
    sources: Vec<(String, String)>,
    objects: Vec<Value>,
    logs: Vec<(String, String, String, ContainerLogs)>,
    port: u16,
    context_name: String,
    clock_anchor: Option<String>,
    bookmark_every: Duration,
    forbidden: Vec<ForbiddenRule>,
    tls: bool,
    require_token: bool,
    given_token: Option<String>,
}

impl Default for FakeClusterBuilder {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            objects: Vec::new(),
            logs: Vec::new(),
            port: 0,
            context_name: "kopilot-fake".to_owned(),
            clock_anchor: None,
            bookmark_every: Duration::from_secs(30),
            forbidden: Vec::new(),
            tls: false,
            require_token: false,
            given_token: None,
        }
    }
}

impl FakeClusterBuilder {
    /// Adds seed objects from YAML text (several documents, or `kind: List`).
    #[must_use]
    pub fn seed_yaml(self, yaml: impl Into<String>) -> Self {
        let n = self.sources.len() + 1;
        self.seed_yaml_named(format!("seed #{n}"), yaml)
    }

    /// Adds seed YAML under a name that error messages use (e.g. its file name).
    #[must_use]
    pub fn seed_yaml_named(mut self, name: impl Into<String>, yaml: impl Into<String>) -> Self {
        self.sources.push((name.into(), yaml.into()));
        self
    }

    /// Adds one seed object given as JSON.
    #[must_use]
    pub fn seed_object(mut self, object: Value) -> Self {
        self.objects.push(object);
        self
    }

    /// Sets the log text of one container of a pod.
    #[must_use]
    pub fn pod_logs(
        mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        logs: ContainerLogs,
    ) -> Self {
        self.logs.push((
            namespace.to_owned(),
            pod.to_owned(),
            container.to_owned(),
            logs,
        ));
        self
    }

    /// Listens on this port of 127.0.0.1 instead of a free one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Names the cluster, user and context in written kubeconfigs (default `kopilot-fake`).
    #[must_use]
    pub fn context_name(mut self, name: impl Into<String>) -> Self {
        self.context_name = name.into();
        self
    }

    /// Shifts every timestamp in the seeds so that `anchor` (RFC 3339) is the start time.
    #[must_use]
    pub fn seed_clock(mut self, anchor: impl Into<String>) -> Self {
        self.clock_anchor = Some(anchor.into());
        self
    }

    /// How often watches that allow bookmarks get one (default 30 s).
    #[must_use]
    pub fn bookmark_interval(mut self, every: Duration) -> Self {
        self.bookmark_every = every;
        self
    }

    /// Refuses `verb` (or `*`) on `resource` (e.g. `secrets`, `pods/log`, or `*`) of API
    /// `group` (`""` for core, or `*`) everywhere with a 403 `Forbidden`, as RBAC would;
    /// `kubectl auth can-i` answers accordingly.
    #[must_use]
    pub fn forbid(self, verb: &str, group: &str, resource: &str) -> Self {
        self.forbid_rule(ForbiddenRule {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: None,
        })
    }

    /// Adds a [`ForbiddenRule`] (e.g. one limited to a namespace).
    #[must_use]
    pub fn forbid_rule(mut self, rule: ForbiddenRule) -> Self {
        self.forbidden.push(rule);
        self
    }

    /// Serves HTTPS instead of HTTP, with a CA made at start: the server certificate is valid
    /// for `127.0.0.1` and `localhost`, and written kubeconfigs carry the CA as
    /// `certificate-authority-data`. kubectl runs exec credential plugins and sends bearer
    /// tokens only over TLS.
    #[must_use]
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Refuses every request (401 `Unauthorized`, as an API server does) that does not carry
    /// `Authorization: Bearer` with a token made at start ([`FakeCluster::token`], also written
    /// into kubeconfigs). Needs [`FakeClusterBuilder::tls`]: kubectl sends no token over HTTP.
    #[must_use]
    pub fn require_token(mut self) -> Self {
        self.require_token = true;
        self
    }

    /// Like [`FakeClusterBuilder::require_token`], with this token instead of one made at
    /// start (e.g. an OIDC id-token a test wrote into a kubeconfig).
    #[must_use]
    pub fn require_given_token(mut self, token: impl Into<String>) -> Self {
        self.require_token = true;
        self.given_token = Some(token.into());
        self
    }

    /// Loads the seeds and starts serving on 127.0.0.1. Needs a Tokio runtime.
    pub async fn start(self) -> Result<FakeCluster> {
        if self.require_token && !self.tls {
            return Err(Error::Tls(
                "a required token needs TLS: kubectl sends no credentials over plain HTTP".into(),
            ));
        }
        let tls = if self.tls {
            Some(tls::Tls::generate()?)
        } else {
            None
        };
        let token = match &tls {
            Some(_) if self.given_token.is_some() => self.given_token.clone(),
            Some(tls) if self.require_token => {
                use sha2::{Digest, Sha256};
                let mut hasher = Sha256::new();
                hasher.update(b"kopilot-fake bearer token\0");
                hasher.update(&tls.secret);
                Some(hex::encode(hasher.finalize()))
            }
            _ => None,
        };
        let shift = match &self.clock_anchor {
            Some(anchor) => {
                let t =
                    clock::parse(anchor).ok_or_else(|| Error::BadClockAnchor(anchor.clone()))?;
                Some(clock::now() - t)
            }
            None => None,
        };
        let sources: Vec<SeedSource> = self
            .sources
            .into_iter()
            .map(|(name, text)| SeedSource { name, text })
            .collect();
        let mut docs = seed::parse_sources(&sources)?;
        docs.extend(
            self.objects
                .into_iter()
                .enumerate()
                .map(|(i, o)| (format!("seed object #{}", i + 1), o)),
        );
        let mut state = State::new();
        seed::load(&mut state, docs, shift)?;
        for (ns, pod, container, logs) in self.logs {
            state.logs.insert((ns, pod, container), logs);
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let state = Arc::new(Mutex::new(state));
        let (stop_tx, stop_rx) = shutdown_watch::channel(false);
        let app = Arc::new(App {
            state: state.clone(),
            shutdown: stop_rx.clone(),
            bookmark_every: self.bookmark_every,
            forbidden: self.forbidden,
            token: token.clone(),
        });
        let router = axum::Router::new()
            .fallback(routing::handle)
            .with_state(app);
        let mut graceful = stop_rx;
        let shutdown = async move {
            let _ = graceful.wait_for(|stop| *stop).await;
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = match &tls {
            Some(tls) => {
                let listener = tls.listen(listener);
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, router)
                        .with_graceful_shutdown(shutdown)
                        .await
                    {
                        tracing::warn!(error = %e, "fake API server stopped with an error");
                    }
                })
            }
            None => tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::warn!(error = %e, "fake API server stopped with an error");
                }
            }),
        };
        Ok(FakeCluster {
            url: format!("{scheme}://{addr}"),
            addr,
            state,
            stop: stop_tx,
            task: Some(task),
            context_name: self.context_name,
            ca_pem: tls.map(|tls| tls.ca_pem),
            token,
        })
    }
}

/// A running fake API server. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeCluster {
    url: String,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: shutdown_watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    context_name: String,
    ca_pem: Option<String>,
    token: Option<String>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("objects", &self.objects.len())
            .field("resource_version", &self.resource_version)
            .finish_non_exhaustive()
    }
}

impl FakeCluster {
    /// A builder with no seed objects (only the built-in namespaces).
    pub fn builder() -> FakeClusterBuilder {
        FakeClusterBuilder::default()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (`https://` with [`FakeClusterBuilder::tls`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) of an HTTPS server ([`FakeClusterBuilder::tls`]).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The bearer token the server requires ([`FakeClusterBuilder::require_token`]).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A kubeconfig for this server (cluster, user and context named as configured), with
    /// the CA of an HTTPS server and the token it requires.
    pub fn kubeconfig(&self) -> String {
        kubeconfig::kubeconfig_yaml(
            &self.url,
            &self.context_name,
            self.ca_pem.as_deref(),
            self.token.as_deref(),
        )
    }

    /// Writes [`FakeCluster::kubeconfig`] to `path`, creating parent directories; a new file
    /// is readable by its owner only (it may hold the token), as kubectl writes kubeconfigs.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = path.as_ref();
        let write = || {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(self.kubeconfig().as_bytes())
        };
        write().map_err(|source| Error::WriteKubeconfig {
            path: path.to_owned(),
            source,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The stored object of `kind` in `api_version` (e.g. `"apps/v1"`, `"Deployment"`);
    /// `namespace` is ignored for cluster-scoped kinds.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let t = registry::by_kind(api_version, kind)?;
        self.lock()
            .objects
            .get(&ObjectKey::new(t, namespace, name))
            .cloned()
    }

    /// All stored objects of a kind, in one namespace or (with `None`) everywhere.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(t) = registry::by_kind(api_version, kind) else {
            return Vec::new();
        };
        self.lock().list(t, namespace).cloned().collect()
    }

    /// The current global resourceVersion (it changes only when an object really changes).
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    /// The seeded logs of one container.
    pub fn logs(&self, namespace: &str, pod: &str, container: &str) -> Option<ContainerLogs> {
        self.lock()
            .logs
            .get(&(namespace.to_owned(), pod.to_owned(), container.to_owned()))
            .cloned()
    }

    /// Stops serving: open watches end, in-flight requests finish, then the listener closes.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
