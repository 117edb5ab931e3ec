//! A kubeconfig that points kubectl, k9s or the kube client at the fake server.

/// Kubeconfig YAML for a plain-HTTP server at `url`, with cluster, user and context all
/// named `name` (kubectl sends no credentials over `http://`, and the fake needs none).
pub(crate) fn kubeconfig_yaml(url: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {name}\n  cluster:\n    server: {url}\n\
         users:\n\
         - name: {name}\n  user: {{}}\n\
         contexts:\n\
         - name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\n\
         current-context: {name}\n\
         preferences: {{}}\n"
    )
}
