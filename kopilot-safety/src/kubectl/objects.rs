//! What a kubectl command acts on: resource types (normalised like kubectl's short names and
//! singulars), object names, whether either is only known at run time, and raw API paths.

use crate::assess::Exposure;
use crate::shell::Word;

/// Built-in kinds whose objects live in a namespace (plural names), and `all`.
const NAMESPACED: &[&str] = &[
    "all",
    "bindings",
    "configmaps",
    "controllerrevisions",
    "cronjobs",
    "csistoragecapacities",
    "daemonsets",
    "deployments",
    "endpoints",
    "endpointslices",
    "events",
    "horizontalpodautoscalers",
    "ingresses",
    "jobs",
    "leases",
    "limitranges",
    "localsubjectaccessreviews",
    "networkpolicies",
    "persistentvolumeclaims",
    "poddisruptionbudgets",
    "pods",
    "podtemplates",
    "replicasets",
    "replicationcontrollers",
    "resourceclaims",
    "resourceclaimtemplates",
    "resourcequotas",
    "rolebindings",
    "roles",
    "secrets",
    "serviceaccounts",
    "services",
    "statefulsets",
];

/// Built-in kinds whose objects are cluster-wide.
const CLUSTER_SCOPED: &[&str] = &[
    "apiservices",
    "certificatesigningrequests",
    "clusterrolebindings",
    "clusterroles",
    "clustertrustbundles",
    "componentstatuses",
    "csidrivers",
    "csinodes",
    "customresourcedefinitions",
    "deviceclasses",
    "flowschemas",
    "ingressclasses",
    "ipaddresses",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
    "mutatingwebhookconfigurations",
    "namespaces",
    "nodes",
    "persistentvolumes",
    "priorityclasses",
    "prioritylevelconfigurations",
    "resourceslices",
    "runtimeclasses",
    "servicecidrs",
    "storageclasses",
    "storageversions",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "validatingwebhookconfigurations",
    "volumeattachments",
    "volumeattributesclasses",
];

/// Kinds whose objects hold pod templates, so container environment values and arguments.
const POD_SPEC_KINDS: &[&str] = &[
    "all",
    "controllerrevisions",
    "cronjobs",
    "daemonsets",
    "deployments",
    "jobs",
    "pods",
    "podtemplates",
    "replicasets",
    "replicationcontrollers",
    "statefulsets",
];

/// What the positionals of a kubectl command name.
#[derive(Debug, Default)]
pub(super) struct Objects {
    /// Resource types, normalised to plural names (`deploy` is `deployments`).
    pub resources: Vec<String>,
    /// Object names.
    pub names: Vec<String>,
    /// Whether a resource type is only known at run time (`$T`, `$(...)`, a glob).
    pub dynamic_type: bool,
    /// Whether an object name is only known at run time.
    pub dynamic_name: bool,
}

impl Objects {
    /// Reads `TYPE[,TYPE] NAME...` or `TYPE/NAME...` positionals.
    pub(super) fn read(positionals: &[&Word]) -> Self {
        let mut objects = Self::default();
        let Some(first) = positionals.first() else {
            return objects;
        };
        if first.text.contains('/') {
            for p in positionals {
                match p.text.split_once('/') {
                    Some((kind, name)) => {
                        if p.dynamic && looks_dynamic(kind) {
                            objects.dynamic_type = true;
                        } else {
                            push_unique(&mut objects.resources, &normalise(kind));
                        }
                        objects.dynamic_name |= p.dynamic;
                        objects.names.push(name.to_owned());
                    }
                    // kubectl refuses a mix; a word computed at run time may be anything.
                    None if p.dynamic => {
                        objects.dynamic_type = true;
                        objects.dynamic_name = true;
                    }
                    None => {}
                }
            }
        } else {
            if first.dynamic {
                // A word computed at run time may split into `TYPE/NAME` words of any kind.
                objects.dynamic_type = true;
                objects.dynamic_name = true;
            }
            for kind in first.text.split(',') {
                push_unique(&mut objects.resources, &normalise(kind));
            }
            for p in positionals.iter().skip(1) {
                objects.dynamic_name |= p.dynamic;
                objects.names.push(p.text.clone());
            }
        }
        objects
    }

    /// For `kubectl create SUBCOMMAND NAME`: the subcommand is the type.
    pub(super) fn created(kind: &str, positionals: &[&Word]) -> Self {
        Self {
            resources: vec![normalise(kind)],
            names: positionals.iter().map(|p| p.text.clone()).collect(),
            dynamic_type: false,
            dynamic_name: positionals.iter().any(|p| p.dynamic),
        }
    }

    /// Whether any type is `namespaces`, or could be.
    pub(super) fn may_be_namespaces(&self) -> bool {
        self.dynamic_type || self.resources.iter().any(|r| r == "namespaces")
    }

    /// Whether any type is cluster-scoped, or not known to be namespaced (a custom resource, a
    /// type computed at run time).
    pub(super) fn may_be_cluster_scoped(&self) -> bool {
        self.dynamic_type
            || self
                .resources
                .iter()
                .any(|r| !NAMESPACED.contains(&r.as_str()))
    }

    /// Whether every type is known to be cluster-wide (so no namespace applies).
    pub(super) fn all_cluster_scoped(&self) -> bool {
        !self.dynamic_type
            && !self.resources.is_empty()
            && self
                .resources
                .iter()
                .all(|r| CLUSTER_SCOPED.contains(&r.as_str()))
    }

    /// What sensitive data printing these objects shows.
    pub(super) fn exposure(&self) -> Exposure {
        if self.dynamic_type || self.resources.iter().any(|r| r == "secrets") {
            Exposure::Secrets
        } else if self
            .resources
            .iter()
            .any(|r| POD_SPEC_KINDS.contains(&r.as_str()))
        {
            Exposure::PodSpecs
        } else {
            Exposure::None
        }
    }
}

/// Whether a word's text carries the source of a run-time expansion.
fn looks_dynamic(text: &str) -> bool {
    text.contains(['$', '`', '*', '?', '[', '{', '<', '~'])
}

/// A resource type as kubectl resolves it: lower case, without `.version.group`, short names
/// and singulars mapped to the plural (`po`, `pod`, `Pod`, `pods.v1.` are all `pods`).
pub(super) fn normalise(kind: &str) -> String {
    let lower: std::borrow::Cow<'_, str> = if kind.bytes().any(|b| b.is_ascii_uppercase()) {
        kind.to_ascii_lowercase().into()
    } else {
        kind.into()
    };
    let base = lower.split('.').next().unwrap_or(&lower);
    let short = match base {
        "po" => "pods",
        "ns" => "namespaces",
        "no" => "nodes",
        "svc" => "services",
        "deploy" => "deployments",
        "rs" => "replicasets",
        "sts" => "statefulsets",
        "ds" => "daemonsets",
        "cm" => "configmaps",
        "pvc" => "persistentvolumeclaims",
        "pv" => "persistentvolumes",
        "ing" => "ingresses",
        "cj" => "cronjobs",
        "sa" => "serviceaccounts",
        "hpa" => "horizontalpodautoscalers",
        "pdb" => "poddisruptionbudgets",
        "netpol" => "networkpolicies",
        "ev" => "events",
        "ep" => "endpoints",
        "crd" | "crds" => "customresourcedefinitions",
        "csr" => "certificatesigningrequests",
        "sc" => "storageclasses",
        "pc" => "priorityclasses",
        "rc" => "replicationcontrollers",
        "cs" => "componentstatuses",
        "limits" => "limitranges",
        "quota" => "resourcequotas",
        "endpoints" => "endpoints",
        _ => "",
    };
    if !short.is_empty() {
        return short.to_owned();
    }
    let known = |name: &str| NAMESPACED.contains(&name) || CLUSTER_SCOPED.contains(&name);
    if known(base) {
        return base.to_owned();
    }
    let plural = if let Some(stem) = base.strip_suffix('y') {
        format!("{stem}ies")
    } else if base.ends_with(['s', 'x']) || base.ends_with("ch") || base.ends_with("sh") {
        format!("{base}es")
    } else {
        format!("{base}s")
    };
    if known(&plural) {
        plural
    } else {
        base.to_owned()
    }
}

/// Adds `value` unless it is there.
pub(super) fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

/// What a raw API path (`kubectl get|create|replace|delete --raw PATH`) reaches.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct RawPath {
    /// The namespace in the path (`/api/v1/namespaces/NS/...`), or the namespace object the
    /// path names (`/api/v1/namespaces/NS`).
    pub namespace: Option<String>,
    /// The resource (plural) the path reaches, when it reaches one.
    pub resource: Option<String>,
    /// The object's name, when the path names one (none: the whole collection).
    pub name: Option<String>,
    /// Whether the path goes through the API server's proxy to a service, pod or node.
    pub proxy: bool,
    /// Whether the path is plain enough to read with certainty: absolute, no `..`, `.`, `//`,
    /// percent-encoding or backslash, not computed at run time.
    pub clear: bool,
}

impl RawPath {
    /// Reads a raw path.
    pub(super) fn read(word: &Word) -> Self {
        let text = word.text.as_str();
        let path = text.split(['?', '#']).next().unwrap_or_default();
        let mut raw = Self {
            clear: !word.dynamic
                && path.starts_with('/')
                && !path.contains("//")
                && !path.contains(['%', '\\'])
                && !path.split('/').any(|s| s == "." || s == ".."),
            ..Self::default()
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        raw.proxy = segments.contains(&"proxy");
        let (["api", _, rest @ ..] | ["apis", _, _, rest @ ..]) = segments.as_slice() else {
            return raw;
        };
        match rest {
            ["namespaces"] => raw.resource = Some("namespaces".to_owned()),
            ["namespaces", ns] => {
                raw.resource = Some("namespaces".to_owned());
                raw.name = Some((*ns).to_owned());
                raw.namespace = Some((*ns).to_owned());
            }
            ["namespaces", ns, resource, more @ ..] => {
                raw.namespace = Some((*ns).to_owned());
                raw.resource = Some((*resource).to_owned());
                raw.name = more.first().map(|n| (*n).to_owned());
            }
            [resource, more @ ..] => {
                raw.resource = Some((*resource).to_owned());
                raw.name = more.first().map(|n| (*n).to_owned());
            }
            [] => {}
        }
        raw
    }

    /// What sensitive data the response can carry.
    pub(super) fn exposure(&self) -> Exposure {
        if !self.clear {
            return Exposure::Secrets;
        }
        match self.resource.as_deref() {
            Some("secrets") => Exposure::Secrets,
            Some(r) if POD_SPEC_KINDS.contains(&r) => Exposure::PodSpecs,
            _ => Exposure::None,
        }
    }

    /// Whether a DELETE here removes a whole collection of cluster-wide objects (namespaces
    /// included).
    pub(super) fn is_cluster_collection(&self) -> bool {
        self.name.is_none()
            && self.namespace.is_none()
            && self
                .resource
                .as_deref()
                .is_some_and(|r| !NAMESPACED.contains(&r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_kubectl() {
        for (given, want) in [
            ("po", "pods"),
            ("Pod", "pods"),
            ("pods.v1.", "pods"),
            ("ns", "namespaces"),
            ("Namespace", "namespaces"),
            ("namespaces.v1", "namespaces"),
            ("storageclass", "storageclasses"),
            ("ClusterRoleBinding", "clusterrolebindings"),
            ("networkpolicy", "networkpolicies"),
            ("ingress.networking.k8s.io", "ingresses"),
            (
                "validatingwebhookconfiguration",
                "validatingwebhookconfigurations",
            ),
            ("crd", "customresourcedefinitions"),
            ("widgets.example.com", "widgets"),
        ] {
            assert_eq!(normalise(given), want, "{given}");
        }
    }

    #[test]
    fn reads_raw_paths() {
        let raw = RawPath::read(&Word::literal("/api/v1/namespaces/kube-system"));
        assert_eq!(raw.namespace.as_deref(), Some("kube-system"));
        assert_eq!(raw.resource.as_deref(), Some("namespaces"));
        assert!(raw.clear);
        let raw = RawPath::read(&Word::literal(
            "/apis/apps/v1/namespaces/shop/deployments/web?dryRun=All",
        ));
        assert_eq!(
            (
                raw.namespace.as_deref(),
                raw.resource.as_deref(),
                raw.name.as_deref()
            ),
            (Some("shop"), Some("deployments"), Some("web"))
        );
        assert!(
            RawPath::read(&Word::literal(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            ))
            .is_cluster_collection()
        );
        assert!(!RawPath::read(&Word::literal("/api/v1/namespaces/shop/../kube-system")).clear);
        assert!(!RawPath::read(&Word::literal("/api/v1/namespaces/kube%2Dsystem")).clear);
        assert!(
            RawPath::read(&Word::literal(
                "/api/v1/namespaces/x/services/web:80/proxy/"
            ))
            .proxy
        );
    }
}
