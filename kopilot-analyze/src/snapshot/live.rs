//! Loading a snapshot from a live API server through `kube`: every list runs concurrently,
//! pages through `continue` tokens, and a resource the caller may not list (403), or that
//! the cluster does not serve (404, e.g. no metrics-server), lands in
//! [`ClusterSnapshot::skipped`] while the rest goes on.

use std::ffi::OsStr;
use std::fmt::Debug;
use std::path::PathBuf;

use futures::future::join_all;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use super::metrics::{NodeMetrics, PodMetrics};
use super::plugin_env;
use super::{ClusterSnapshot, Skipped, SnapshotSource};
use crate::error::{Error, Result};

/// Objects per list page.
const PAGE_SIZE: u32 = 500;

/// Which namespaces to list namespaced resources in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NamespaceScope {
    /// Every namespace (one cluster-wide list per resource).
    #[default]
    All,
    /// Only these namespaces (one list per resource and namespace).
    Only(Vec<String>),
}

/// How to load a live snapshot.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Namespaces to list.
    pub namespaces: NamespaceScope,
    /// The kubeconfig to use instead of the usual resolution (`KUBECONFIG`, `~/.kube/config`,
    /// then the in-cluster service account): one file, or a list of files separated as in
    /// `KUBECONFIG` (`a:b`), merged as kubectl merges them (see [`LiveOptions::kubeconfig`]).
    pub kubeconfig: Option<std::path::PathBuf>,
    /// A kubeconfig context instead of the current one.
    pub context: Option<String>,
}

/// The kubeconfig files a client reads, merged as kubectl merges them.
#[derive(Debug, Clone)]
pub struct LoadedKubeconfig {
    /// The merge of every file that exists: for clusters, users and contexts, the first file
    /// to name one wins whole; `current-context` comes from the first file that sets it.
    pub merged: kube::config::Kubeconfig,
    /// The files read, in order.
    pub read: Vec<PathBuf>,
    /// The files of the list that do not exist, skipped as kubectl skips them.
    pub missing: Vec<PathBuf>,
    /// Where the list came from: `--kubeconfig`-style configuration, `KUBECONFIG`, or the
    /// default `~/.kube/config`.
    pub source: KubeconfigSource,
}

/// Where a kubeconfig list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// [`LiveOptions::kubeconfig`].
    Configured,
    /// The `KUBECONFIG` variable.
    Environment,
    /// `~/.kube/config`.
    Default,
}

impl LoadedKubeconfig {
    /// The context that applies: `wanted`, else the merged `current-context`.
    pub fn context_name<'a>(&'a self, wanted: Option<&'a str>) -> Option<&'a str> {
        wanted.or(self.merged.current_context.as_deref())
    }

    /// The names of the contexts, in the order of the merged files.
    pub fn context_names(&self) -> Vec<&str> {
        self.merged
            .contexts
            .iter()
            .map(|named| named.name.as_str())
            .collect()
    }

    /// The files read, as one line (`a.yaml, b.yaml`).
    pub fn describe_files(&self) -> String {
        self.read
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads every file of `list` (paths separated as in `KUBECONFIG`; empty entries are
/// ignored) and merges them as kubectl does: a file that does not exist is skipped, a file
/// that cannot be read or parsed is an error naming it, and the first file to set a cluster,
/// user or context (by name) or `current-context` wins. Relative paths inside a file are
/// resolved against its directory. `Ok(None)` when no file of the list exists.
///
/// # Errors
///
/// [`Error::KubeConfig`] naming the file that cannot be read or parsed, or the two that
/// cannot be merged.
pub fn read_kubeconfig_list(
    list: &OsStr,
    source: KubeconfigSource,
) -> Result<Option<LoadedKubeconfig>> {
    let mut merged: Option<kube::config::Kubeconfig> = None;
    let mut read = Vec::new();
    let mut missing = Vec::new();
    for path in std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()) {
        // kubectl skips only a file that does not exist; anything else is an error.
        match std::fs::metadata(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                missing.push(path);
                continue;
            }
            _ => {}
        }
        let mut file =
            kube::config::Kubeconfig::read_from(&path).map_err(|e| Error::KubeConfig {
                message: format!("cannot read kubeconfig {}", path.display()),
                source: e.into(),
            })?;
        // kubectl takes an empty `current-context` as unset, so a later file may set it.
        if file.current_context.as_deref() == Some("") {
            file.current_context = None;
        }
        merged = Some(match merged {
            None => file,
            Some(earlier) => earlier.merge(file).map_err(|e| Error::KubeConfig {
                message: format!(
                    "cannot merge kubeconfig {} with the files before it",
                    path.display()
                ),
                source: e.into(),
            })?,
        });
        read.push(path);
    }
    Ok(merged.map(|merged| LoadedKubeconfig {
        merged,
        read,
        missing,
        source,
    }))
}

/// Keeps model providers' keys and Kopilot's settings ([`plugin_env::WITHHELD`]) from the
/// exec credential plugins the in-process client starts, which otherwise inherit this whole
/// process's environment. A variable the kubeconfig sets for its plugin (`exec.env`) stays.
fn withhold_from_plugins(kubeconfig: &mut kube::config::Kubeconfig) {
    let withheld = plugin_env::withheld_names(std::env::vars_os());
    if withheld.is_empty() {
        return;
    }
    for named in &mut kubeconfig.auth_infos {
        let Some(exec) = named.auth_info.as_mut().and_then(|user| user.exec.as_mut()) else {
            continue;
        };
        let set_by_kubeconfig: Vec<&str> = exec
            .env
            .iter()
            .flatten()
            .filter_map(|pair| pair.get("name").map(String::as_str))
            .collect();
        let mut drop: Vec<String> = withheld
            .iter()
            .filter(|name| !set_by_kubeconfig.contains(&name.as_str()))
            .cloned()
            .collect();
        drop.extend(exec.drop_env.take().unwrap_or_default());
        exec.drop_env = Some(drop);
    }
}

impl LiveOptions {
    /// Builds a `kube` client from these options.
    pub async fn client(&self) -> Result<(Client, String)> {
        let config = self.config().await?;
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| Error::KubeConfig {
            message: format!("cannot build a client for {server}"),
            source: e.into(),
        })?;
        Ok((client, server))
    }

    /// The kubeconfig these options read, as kubectl would: [`LiveOptions::kubeconfig`],
    /// else `KUBECONFIG`, else `~/.kube/config` (each a list merged by
    /// [`read_kubeconfig_list`], missing files skipped). `Ok(None)` when there is none, which
    /// is when a client falls back to the in-cluster service account.
    ///
    /// # Errors
    ///
    /// [`Error::KubeConfig`]: a file cannot be read, parsed or merged, or
    /// [`LiveOptions::kubeconfig`] names files none of which exists.
    pub fn kubeconfig(&self) -> Result<Option<LoadedKubeconfig>> {
        let (list, source) = if let Some(list) = &self.kubeconfig {
            (list.clone().into_os_string(), KubeconfigSource::Configured)
        } else if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            (list, KubeconfigSource::Environment)
        } else if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            (
                PathBuf::from(home)
                    .join(".kube")
                    .join("config")
                    .into_os_string(),
                KubeconfigSource::Default,
            )
        } else {
            return Ok(None);
        };
        let loaded = read_kubeconfig_list(&list, source)?;
        if loaded.is_none() && source == KubeconfigSource::Configured {
            let paths = std::env::split_paths(&list).count();
            let what = if paths > 1 {
                "none of the kubeconfig files exists"
            } else {
                "the kubeconfig file does not exist"
            };
            return Err(Error::KubeConfig {
                message: format!("{what}: {}", list.to_string_lossy()),
                source: Box::new(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file",
                )),
            });
        }
        Ok(loaded)
    }

    /// The client configuration these options resolve to (cluster, credentials, and the
    /// context's default namespace, which kubectl and helm use when given no `-n`): the
    /// merged kubeconfig of [`LiveOptions::kubeconfig`], or, when there is none and no
    /// context was asked for, the in-cluster service account.
    pub async fn config(&self) -> Result<kube::Config> {
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let Some(loaded) = self.kubeconfig()? else {
            if let Some(context) = &self.context {
                return Err(Error::KubeConfig {
                    message: format!(
                        "no kubeconfig (KUBECONFIG or ~/.kube/config) to find context {context} in"
                    ),
                    source: Box::new(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such file",
                    )),
                });
            }
            return kube::Config::incluster().map_err(|e| Error::KubeConfig {
                message: "no kubeconfig (KUBECONFIG or ~/.kube/config), and not in a pod (the in-cluster service account)".into(),
                source: e.into(),
            });
        };
        let files = loaded.describe_files();
        let mut merged = loaded.merged;
        withhold_from_plugins(&mut merged);
        kube::Config::from_custom_kubeconfig(merged, &options)
            .await
            .map_err(|e| Error::KubeConfig {
                message: format!("kubeconfig {files}"),
                source: e.into(),
            })
    }
}

impl ClusterSnapshot {
    /// Connects with [`LiveOptions::client`] and lists everything (see [`Self::load_with_client`]).
    pub async fn load_live(options: &LiveOptions) -> Result<Self> {
        let (client, server) = options.client().await?;
        let mut snapshot =
            Box::pin(Self::load_with_client(client, &server, &options.namespaces)).await?;
        snapshot.source = SnapshotSource::Live {
            server,
            context: options.context.clone(),
        };
        Ok(snapshot)
    }

    /// Lists every resource the analyzers need through `client`, concurrently. Fails only
    /// when the server cannot be reached at all (`/version`); a list that fails is recorded
    /// in [`ClusterSnapshot::skipped`].
    #[allow(deprecated)]
    pub async fn load_with_client(
        client: Client,
        server: &str,
        scope: &NamespaceScope,
    ) -> Result<Self> {
        client
            .apiserver_version()
            .await
            .map_err(|source| Error::ClusterUnreachable {
                server: server.to_owned(),
                source: Box::new(source),
            })?;
        let c = &client;
        let (core, apps, rest) = futures::join!(
            futures::future::join5(
                list_cluster(c, "namespaces"),
                list_cluster(c, "nodes"),
                list_namespaced(c, scope, "pods"),
                list_namespaced(c, scope, "services"),
                list_namespaced(c, scope, "endpoints"),
            ),
            futures::future::join5(
                list_namespaced(c, scope, "deployments.apps"),
                list_namespaced(c, scope, "statefulsets.apps"),
                list_namespaced(c, scope, "daemonsets.apps"),
                list_namespaced(c, scope, "replicasets.apps"),
                list_namespaced(c, scope, "jobs.batch"),
            ),
            futures::future::join5(
                futures::future::join3(
                    list_namespaced(c, scope, "cronjobs.batch"),
                    list_namespaced(c, scope, "persistentvolumeclaims"),
                    list_cluster(c, "persistentvolumes"),
                ),
                futures::future::join3(
                    list_namespaced(c, scope, "horizontalpodautoscalers.autoscaling"),
                    list_namespaced(c, scope, "poddisruptionbudgets.policy"),
                    list_namespaced(c, scope, "events"),
                ),
                futures::future::join3(
                    list_namespaced(c, scope, "ingresses.networking.k8s.io"),
                    list_namespaced(c, scope, "networkpolicies.networking.k8s.io"),
                    list_namespaced(c, scope, "endpointslices.discovery.k8s.io"),
                ),
                list_namespaced::<PodMetrics>(c, scope, "pods.metrics.k8s.io"),
                list_cluster::<NodeMetrics>(c, "nodes.metrics.k8s.io"),
            ),
        );
        let mut s = Self::default();
        let mut skipped = Vec::new();
        take(core.0, &mut s.namespaces, &mut skipped);
        take(core.1, &mut s.nodes, &mut skipped);
        take(core.2, &mut s.pods, &mut skipped);
        take(core.3, &mut s.services, &mut skipped);
        take(core.4, &mut s.endpoints, &mut skipped);
        take(apps.0, &mut s.deployments, &mut skipped);
        take(apps.1, &mut s.stateful_sets, &mut skipped);
        take(apps.2, &mut s.daemon_sets, &mut skipped);
        take(apps.3, &mut s.replica_sets, &mut skipped);
        take(apps.4, &mut s.jobs, &mut skipped);
        let ((cron, pvc, pv), (hpa, pdb, events), (ing, netpol, slices), pm, nm) = rest;
        take(cron, &mut s.cron_jobs, &mut skipped);
        take(pvc, &mut s.persistent_volume_claims, &mut skipped);
        take(pv, &mut s.persistent_volumes, &mut skipped);
        take(hpa, &mut s.horizontal_pod_autoscalers, &mut skipped);
        take(pdb, &mut s.pod_disruption_budgets, &mut skipped);
        take(events, &mut s.events, &mut skipped);
        take(ing, &mut s.ingresses, &mut skipped);
        take(netpol, &mut s.network_policies, &mut skipped);
        take(slices, &mut s.endpoint_slices, &mut skipped);
        take(pm, &mut s.pod_metrics, &mut skipped);
        take(nm, &mut s.node_metrics, &mut skipped);
        s.skipped = skipped;
        s.source = SnapshotSource::Live {
            server: server.to_owned(),
            context: None,
        };
        Ok(s)
    }
}

fn take<K>(list: Listed<K>, into: &mut Vec<K>, skipped: &mut Vec<Skipped>) {
    into.extend(list.items);
    skipped.extend(list.skipped);
}

/// What one resource's lists produced.
struct Listed<K> {
    items: Vec<K>,
    skipped: Vec<Skipped>,
}

async fn list_cluster<K>(client: &Client, resource: &str) -> Listed<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let api: Api<K> = Api::all(client.clone());
    match list_pages(&api).await {
        Ok(items) => Listed {
            items,
            skipped: Vec::new(),
        },
        Err(e) => Listed {
            items: Vec::new(),
            skipped: vec![skipped(resource.to_owned(), &e)],
        },
    }
}

async fn list_namespaced<K>(client: &Client, scope: &NamespaceScope, resource: &str) -> Listed<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    match scope {
        NamespaceScope::All => list_cluster(client, resource).await,
        NamespaceScope::Only(namespaces) => {
            let results = join_all(namespaces.iter().map(|ns| async move {
                let api: Api<K> = Api::namespaced(client.clone(), ns);
                (ns, list_pages(&api).await)
            }))
            .await;
            let mut listed = Listed {
                items: Vec::new(),
                skipped: Vec::new(),
            };
            for (ns, result) in results {
                match result {
                    Ok(items) => listed.items.extend(items),
                    Err(e) => listed
                        .skipped
                        .push(skipped(format!("{resource} in namespace {ns}"), &e)),
                }
            }
            listed
        }
    }
}

async fn list_pages<K>(api: &Api<K>) -> std::result::Result<Vec<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(items),
        }
    }
}

fn skipped(resource: String, error: &kube::Error) -> Skipped {
    let reason = match error {
        kube::Error::Api(status) if status.code == 403 => {
            format!("forbidden by RBAC: {}", status.message)
        }
        kube::Error::Api(status) if status.code == 404 => {
            "not served by this cluster (404)".to_owned()
        }
        kube::Error::Api(status) => format!(
            "the API server answered {} {}: {}",
            status.code, status.reason, status.message
        ),
        other => format!("the list failed: {other}"),
    };
    Skipped { resource, reason }
}
