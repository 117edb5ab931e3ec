//! A kubeconfig that points kubectl, k9s or the kube client at the fake server.

use base64::Engine as _;

/// Kubeconfig YAML for the server at `url`, with cluster, user and context all named `name`:
/// over HTTPS with the CA `ca_pem` as `certificate-authority-data`, and the bearer `token` the
/// server requires, if any (kubectl sends no credentials over `http://`, and then the fake
/// needs none).
pub(crate) fn kubeconfig_yaml(
    url: &str,
    name: &str,
    ca_pem: Option<&str>,
    token: Option<&str>,
) -> String {
    let ca = ca_pem.map_or(String::new(), |pem| {
        format!(
            "    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(pem)
        )
    });
    let user = token.map_or_else(
        || "  user: {}\n".to_owned(),
        |token| format!("  user:\n    token: {token}\n"),
    );
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {name}\n  cluster:\n    server: {url}\n{ca}\
         users:\n\
         - name: {name}\n{user}\
         contexts:\n\
         - name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: default\n\
         current-context: {name}\n\
         preferences: {{}}\n"
    )
}
