//! The resource types the fake API server serves: names, kinds, short names, categories,
//! verbs and subresources, in the order discovery lists them.

/// Whether objects of a resource live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Objects live in a namespace (`/namespaces/{ns}/...`).
    Namespaced,
    /// Objects are cluster-wide.
    Cluster,
}

/// One resource type served by the fake API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; `""` for the core group.
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Plural resource name used in URLs, e.g. `deployments`.
    pub resource: &'static str,
    /// Singular name, e.g. `deployment`.
    pub singular: &'static str,
    /// Object kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// Namespaced or cluster-wide.
    pub scope: Scope,
    /// Short names kubectl accepts, e.g. `deploy`.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
    /// Verbs the server accepts.
    pub verbs: &'static [&'static str],
    /// Subresources the server serves (`status`, `scale`, `log`).
    pub subresources: &'static [&'static str],
}

impl ResourceType {
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The name kubectl uses in messages: `pods`, `deployments.apps`.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The kind qualified by group, as Status details print it: `Deployment.apps`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether the resource lives in namespaces.
    pub fn is_namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// Whether the server accepts `verb` on this resource.
    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

const RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const RO: &[&str] = &["get", "list"];
const NO_SUB: &[&str] = &[];
const STATUS: &[&str] = &["status"];
const STATUS_SCALE: &[&str] = &["status", "scale"];
const ALL: &[&str] = &["all"];

macro_rules! rt {
    ($g:expr, $v:expr, $res:expr, $sing:expr, $kind:expr, $scope:ident, $short:expr, $cat:expr, $verbs:expr, $sub:expr) => {
        ResourceType {
            group: $g,
            version: $v,
            resource: $res,
            singular: $sing,
            kind: $kind,
            scope: Scope::$scope,
            short_names: $short,
            categories: $cat,
            verbs: $verbs,
            subresources: $sub,
        }
    };
}

/// Every resource type the fake serves, grouped by API group in discovery order.
#[rustfmt::skip]
pub static RESOURCE_TYPES: &[ResourceType] = &[
    // core/v1
    rt!("", "v1", "configmaps", "configmap", "ConfigMap", Namespaced, &["cm"], NO_SUB, RW, NO_SUB),
    rt!("", "v1", "endpoints", "endpoints", "Endpoints", Namespaced, &["ep"], NO_SUB, RW, NO_SUB),
    rt!("", "v1", "events", "event", "Event", Namespaced, &["ev"], NO_SUB, RW, NO_SUB),
    rt!("", "v1", "namespaces", "namespace", "Namespace", Cluster, &["ns"], NO_SUB, RW, STATUS),
    rt!("", "v1", "nodes", "node", "Node", Cluster, &["no"], NO_SUB, RW, STATUS),
    rt!("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", Namespaced, &["pvc"], NO_SUB, RW, STATUS),
    rt!("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", Cluster, &["pv"], NO_SUB, RW, STATUS),
    rt!("", "v1", "pods", "pod", "Pod", Namespaced, &["po"], ALL, RW, &["status", "log"]),
    rt!("", "v1", "secrets", "secret", "Secret", Namespaced, NO_SUB, NO_SUB, RW, NO_SUB),
    rt!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", Namespaced, &["sa"], NO_SUB, RW, NO_SUB),
    rt!("", "v1", "services", "service", "Service", Namespaced, &["svc"], ALL, RW, STATUS),
    // apps/v1
    rt!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", Namespaced, &["ds"], ALL, RW, STATUS),
    rt!("apps", "v1", "deployments", "deployment", "Deployment", Namespaced, &["deploy"], ALL, RW, STATUS_SCALE),
    rt!("apps", "v1", "replicasets", "replicaset", "ReplicaSet", Namespaced, &["rs"], ALL, RW, STATUS_SCALE),
    rt!("apps", "v1", "statefulsets", "statefulset", "StatefulSet", Namespaced, &["sts"], ALL, RW, STATUS_SCALE),
    // authorization.k8s.io/v1 (answered, never stored: `kubectl auth can-i`)
    rt!("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", Cluster, NO_SUB, NO_SUB, &["create"], NO_SUB),
    // autoscaling/v2
    rt!("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", Namespaced, &["hpa"], ALL, RW, STATUS),
    // batch/v1
    rt!("batch", "v1", "cronjobs", "cronjob", "CronJob", Namespaced, &["cj"], ALL, RW, STATUS),
    rt!("batch", "v1", "jobs", "job", "Job", Namespaced, NO_SUB, ALL, RW, STATUS),
    // coordination.k8s.io/v1
    rt!("coordination.k8s.io", "v1", "leases", "lease", "Lease", Namespaced, NO_SUB, NO_SUB, RW, NO_SUB),
    // discovery.k8s.io/v1
    rt!("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", Namespaced, NO_SUB, NO_SUB, RW, NO_SUB),
    // networking.k8s.io/v1
    rt!("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", Namespaced, &["ing"], NO_SUB, RW, STATUS),
    rt!("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", Namespaced, &["netpol"], NO_SUB, RW, NO_SUB),
    // policy/v1
    rt!("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", Namespaced, &["pdb"], NO_SUB, RW, STATUS),
    // rbac.authorization.k8s.io/v1
    rt!("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", Cluster, NO_SUB, NO_SUB, RW, NO_SUB),
    rt!("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", Cluster, NO_SUB, NO_SUB, RW, NO_SUB),
    rt!("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", Namespaced, NO_SUB, NO_SUB, RW, NO_SUB),
    rt!("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", Namespaced, NO_SUB, NO_SUB, RW, NO_SUB),
    // metrics.k8s.io/v1beta1 (read-only, like metrics-server)
    rt!("metrics.k8s.io", "v1beta1", "nodes", "", "NodeMetrics", Cluster, NO_SUB, NO_SUB, RO, NO_SUB),
    rt!("metrics.k8s.io", "v1beta1", "pods", "", "PodMetrics", Namespaced, NO_SUB, NO_SUB, RO, NO_SUB),
];

/// The resource type served at `group`/`version`/`resource`.
pub fn by_resource(group: &str, version: &str, resource: &str) -> Option<&'static ResourceType> {
    RESOURCE_TYPES
        .iter()
        .find(|t| t.group == group && t.version == version && t.resource == resource)
}

/// The resource type for an object's `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCE_TYPES
        .iter()
        .find(|t| t.api_version() == api_version && t.kind == kind)
}

/// The resource type for a kind in any served version (used to resolve owner references).
pub fn by_kind_any_version(group: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCE_TYPES
        .iter()
        .find(|t| t.group == group && t.kind == kind)
}

/// The served API groups in discovery order, each with its versions (one per group here).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for t in RESOURCE_TYPES {
        if !out.iter().any(|(g, v)| *g == t.group && *v == t.version) {
            out.push((t.group, t.version));
        }
    }
    out
}

/// The resource types in one group version.
pub fn in_group_version(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceType> {
    let group = group.to_owned();
    let version = version.to_owned();
    RESOURCE_TYPES
        .iter()
        .filter(move |t| t.group == group && t.version == version)
}

/// The kind a subresource answers with, as discovery reports it.
pub fn subresource_kind(t: &ResourceType, sub: &str) -> (&'static str, &'static str, &'static str) {
    match sub {
        "scale" => ("autoscaling", "v1", "Scale"),
        "log" => ("", "v1", "Pod"),
        _ => (t.group, t.version, t.kind),
    }
}
