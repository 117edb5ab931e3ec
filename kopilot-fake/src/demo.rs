//! The bundled demo cluster: a small shop (namespaces `storefront`, `payments`, `analytics`,
//! `platform`, plus `kube-system`) with known problems for the analyzers and skills to find.
//! `demo/README.md` in this crate lists every problem and the clean objects beside them.

use super::{FakeCluster, FakeClusterBuilder};

/// The instant the demo fixtures were written for; [`builder`] shifts it to "now".
pub const DEMO_CLOCK_ANCHOR: &str = "2026-01-15T12:00:00Z";

/// The demo cluster's name in kubeconfigs.
pub const DEMO_CONTEXT: &str = "kopilot-demo";

/// The demo cluster's YAML files: (file name, contents).
pub const DEMO_FILES: &[(&str, &str)] = &[
    ("cluster.yaml", include_str!("../demo/cluster.yaml")),
    ("kube-system.yaml", include_str!("../demo/kube-system.yaml")),
    ("storefront.yaml", include_str!("../demo/storefront.yaml")),
    ("payments.yaml", include_str!("../demo/payments.yaml")),
    ("analytics.yaml", include_str!("../demo/analytics.yaml")),
    ("platform.yaml", include_str!("../demo/platform.yaml")),
];

/// A builder seeded with the demo cluster, its clock anchored to now and its kubeconfig
/// context named `kopilot-demo`. Add `.port(..)` or more seeds, then `.start().await`.
pub fn builder() -> FakeClusterBuilder {
    let mut b = FakeCluster::builder()
        .context_name(DEMO_CONTEXT)
        .seed_clock(DEMO_CLOCK_ANCHOR);
    for (name, text) in DEMO_FILES {
        b = b.seed_yaml_named(format!("demo/{name}"), *text);
    }
    b
}
