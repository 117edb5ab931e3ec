//! `FakeClusterBuilder::tls`: HTTPS with a CA made at start, written into the kubeconfig as
//! `certificate-authority-data`, so clients verify the server (no `insecure-skip-tls-verify`);
//! `require_token`: 401 without the bearer token, as an API server answers. The in-process
//! client (kube, through `kopilot-analyze`'s `LiveOptions`) authenticates with the kubeconfig's
//! token, and with a legacy `auth-provider: oidc` user's id-token, as kubectl does.

use std::os::unix::fs::PermissionsExt as _;

use base64::Engine as _;
use kopilot_analyze::snapshot::LiveOptions;
use kopilot_fake::FakeCluster;

const SEED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n\
                    data: {mode: fast}\n";

async fn configmaps(kubeconfig: &std::path::Path) -> Result<usize, String> {
    let options = LiveOptions {
        kubeconfig: Some(kubeconfig.to_owned()),
        ..LiveOptions::default()
    };
    let (client, _) = options.client().await.map_err(|e| format!("{e:#?}"))?;
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "shop");
    api.list(&kube::api::ListParams::default())
        .await
        .map(|list| list.items.len())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_kubeconfig_carries_the_ca_and_the_token_and_a_client_without_the_token_gets_401() {
    let cluster = FakeCluster::builder()
        .seed_yaml(SEED)
        .tls()
        .require_token()
        .start()
        .await
        .unwrap();
    assert!(cluster.url().starts_with("https://127.0.0.1:"));
    let ca = cluster.ca_pem().expect("a CA").to_owned();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let token = cluster.token().expect("a token").to_owned();
    let text = cluster.kubeconfig();
    assert!(
        text.contains(&format!(
            "certificate-authority-data: {}",
            base64::engine::general_purpose::STANDARD.encode(&ca)
        )),
        "{text}"
    );
    assert!(text.contains(&format!("token: {token}")), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(configmaps(&path).await, Ok(1));

    // The same server by the name `localhost`, which its certificate also names.
    let by_name = dir.path().join("by-name");
    std::fs::write(
        &by_name,
        text.replace("https://127.0.0.1:", "https://localhost:"),
    )
    .unwrap();
    assert_eq!(configmaps(&by_name).await, Ok(1));

    let anonymous = dir.path().join("anonymous");
    std::fs::write(
        &anonymous,
        text.replace(&format!("    token: {token}\n"), "    {}\n")
            .replace("  user:\n    {}", "  user: {}"),
    )
    .unwrap();
    let error = configmaps(&anonymous).await.unwrap_err();
    assert!(
        error.contains("401") || error.contains("Unauthorized"),
        "{error}"
    );

    // Without the CA, the server's certificate is not trusted.
    let untrusted = dir.path().join("untrusted");
    std::fs::write(
        &untrusted,
        text.lines()
            .filter(|l| !l.contains("certificate-authority-data"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    assert!(configmaps(&untrusted).await.is_err());
    cluster.stop().await;
}

/// A JWT whose payload is `claims` (the signature is not checked by clients).
fn jwt(claims: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims),
        b64("signature")
    )
}

#[tokio::test]
async fn a_legacy_oidc_auth_provider_authenticates_with_its_id_token() {
    // Valid until 2100.
    let id_token = jwt(r#"{"iss":"https://issuer.example","sub":"ada","exp":4102444800}"#);
    let cluster = FakeCluster::builder()
        .seed_yaml(SEED)
        .tls()
        .require_given_token(&id_token)
        .start()
        .await
        .unwrap();
    let text = cluster.kubeconfig().replace(
        &format!("    token: {id_token}\n"),
        &format!(
            "    auth-provider:\n      name: oidc\n      config:\n        client-id: kubectl\n\
             \x20       idp-issuer-url: https://issuer.example\n        id-token: {id_token}\n"
        ),
    );
    assert!(text.contains("auth-provider"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oidc");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(configmaps(&path).await, Ok(1));

    // Another user's id-token is refused.
    let other = jwt(r#"{"iss":"https://issuer.example","sub":"eve","exp":4102444800}"#);
    std::fs::write(&path, text.replace(&id_token, &other)).unwrap();
    let error = configmaps(&path).await.unwrap_err();
    assert!(
        error.contains("401") || error.contains("Unauthorized"),
        "{error}"
    );
    cluster.stop().await;
}
