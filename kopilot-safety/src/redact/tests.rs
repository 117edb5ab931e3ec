use super::*;

const CANARY: &str = "c4n4ry-9f2e7d";
const CANARY_B64: &str = "YzRuNHJ5LTlmMmU3ZA==";

fn assert_clean(out: &str) {
    assert!(!out.contains(CANARY), "canary leaked:\n{out}");
    assert!(!out.contains(CANARY_B64), "canary (base64) leaked:\n{out}");
}

#[test]
fn secret_yaml_data_and_string_data() {
    let yaml = format!(
        "apiVersion: v1\ndata:\n  conn: {CANARY_B64}\n  tls.key: {CANARY_B64}\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  url: {CANARY}\ntype: Opaque\n"
    );
    let out = redact(&yaml);
    assert_clean(&out);
    assert!(out.contains("  conn: [REDACTED: secret data]\n"), "{out}");
    assert!(out.contains("  name: db\n"), "metadata must survive: {out}");
    assert!(out.contains("type: Opaque"));
}

#[test]
fn secret_json_multi_line_and_inline_annotation() {
    let json = format!(
        "{{\n    \"apiVersion\": \"v1\",\n    \"data\": {{\n        \"conn\": \"{CANARY_B64}\"\n    }},\n    \"kind\": \"Secret\",\n    \"metadata\": {{\n        \"annotations\": {{\n            \"kubectl.kubernetes.io/last-applied-configuration\": \"{{\\\"apiVersion\\\":\\\"v1\\\",\\\"data\\\":{{\\\"conn\\\":\\\"{CANARY_B64}\\\"}},\\\"kind\\\":\\\"Secret\\\"}}\\n\"\n        }},\n        \"name\": \"db\"\n    }}\n}}\n"
    );
    let out = redact(&json);
    assert_clean(&out);
    assert!(
        out.contains("\"conn\": \"[REDACTED: secret data]\""),
        "{out}"
    );
    assert!(out.contains("\"name\": \"db\""), "{out}");
}

#[test]
fn plain_inline_json_secret() {
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"data\":{{\"a\":\"{CANARY_B64}\"}},\"kind\":\"Secret\",\"stringData\":{{\"b\":\"{CANARY}\"}}}}"
    );
    let out = redact(&json);
    assert_clean(&out);
    assert!(out.contains("\"kind\":\"Secret\""), "{out}");
}

#[test]
fn config_map_data_is_kept() {
    let yaml = "apiVersion: v1\ndata:\n  LOG_LEVEL: debug\nkind: ConfigMap\n";
    assert_eq!(redact(yaml), yaml);
    assert!(matches!(redact(yaml), Cow::Borrowed(_)));
}

#[test]
fn kubeconfig_credentials() {
    let yaml = format!(
        "users:\n- name: admin\n  user:\n    client-certificate-data: LS0tCERT\n    client-key-data: {CANARY_B64}\n    token: {CANARY}\n    password: {CANARY}\n"
    );
    let out = redact(&yaml);
    assert_clean(&out);
    assert!(
        out.contains("client-certificate-data: LS0tCERT"),
        "certificates are public: {out}"
    );
    assert!(out.contains("- name: admin"));
}

#[test]
fn env_values_with_secret_names_in_yaml_json_and_describe() {
    let yaml = format!(
        "    env:\n    - name: DB_PASSWORD\n      value: {CANARY}\n    - name: LOG_LEVEL\n      value: info\n"
    );
    let out = redact(&yaml);
    assert_clean(&out);
    assert!(out.contains("value: info"), "{out}");

    let json = format!(
        "\"env\": [\n  {{\n    \"name\": \"STRIPE_API_KEY\",\n    \"value\": \"{CANARY}\"\n  }}\n]\n"
    );
    assert_clean(&redact(&json));
    assert_clean(&redact(&format!(
        "[{{\"name\":\"GITHUB_TOKEN\",\"value\":\"{CANARY}\"}}]"
    )));

    let describe = format!(
        "    Environment:\n      APP_SECRET:   {CANARY}\n      DB_PASSWORD:  <set to the key 'password' in secret 'db'>  Optional: false\n      PORT:         8080\n"
    );
    let out = redact(&describe);
    assert_clean(&out);
    assert!(
        out.contains("<set to the key 'password' in secret 'db'>"),
        "{out}"
    );
    assert!(out.contains("PORT:         8080"));
}

#[test]
fn env_assignments_in_logs() {
    let text = format!("boot: DB_PASSWORD={CANARY} done");
    assert_eq!(
        redact(&text),
        "boot: DB_PASSWORD=[REDACTED: credential] done"
    );
    let text = format!("starting with DB_PASSWORD={CANARY} api_key=\"{CANARY}\" user=bob");
    let out = redact(&text);
    assert_clean(&out);
    assert!(out.contains("user=bob"));
}

#[test]
fn secret_references_are_not_redacted() {
    let yaml = "      volumes:\n      - secret:\n          secretName: db-creds\n      automountServiceAccountToken: false\n      valueFrom:\n        secretKeyRef:\n          name: db\n";
    assert_eq!(redact(yaml), yaml);
}

#[test]
fn bearer_tokens_and_jwts() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    let text = format!("Authorization: Bearer {CANARY}xyz\nsa token {jwt} end");
    let out = redact(&text);
    assert_clean(&out);
    assert!(!out.contains(jwt), "{out}");
    assert!(out.contains("[REDACTED: token] end"), "{out}");
}

#[test]
fn pem_private_keys_multi_line_and_escaped() {
    let pem = format!(
        "tls.key: |\n  x\n-----BEGIN RSA PRIVATE KEY-----\nMIIE{CANARY}\n-----END RSA PRIVATE KEY-----\nafter\n"
    );
    let out = redact(&pem);
    assert_clean(&out);
    assert!(out.contains("after"));

    let gcp = format!(
        "{{\"type\": \"service_account\", \"private_key_id\": \"{CANARY}\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIE{CANARY}\\n-----END PRIVATE KEY-----\\n\", \"client_email\": \"a@b.iam.gserviceaccount.com\"}}"
    );
    let out = redact(&gcp);
    assert_clean(&out);
    assert!(out.contains("client_email"), "{out}");

    let cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
    assert_eq!(redact(cert), cert);
}

#[test]
fn aws_access_keys() {
    let out = redact("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\nkey AKIAIOSFODNN7EXAMPLE.\n");
    assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
    assert!(out.contains("[REDACTED: AWS access key]."), "{out}");
}

#[test]
fn passwords_in_urls() {
    let text = format!("DATABASE: postgres://app:{CANARY}@db.shop:5432/app?ssl=1");
    let out = redact(&text);
    assert_clean(&out);
    assert!(
        out.contains("postgres://app:[REDACTED: password]@db.shop:5432/app?ssl=1"),
        "{out}"
    );
    let plain = "see https://example.com:8443/path and http://user@host/";
    assert_eq!(redact(plain), plain);
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        ":",
        "=",
        "\"",
        "\":",
        "a:\"",
        "data: {",
        "kind: Secret\ndata: {\"a\": \"",
        "eyJ",
        "eyJ.",
        "Bearer",
        "-----BEGIN ",
        "-----BEGIN PRIVATE KEY-----",
        "://",
        "://@",
        "é:é=é\"é",
        "AKIA",
        "password: \"unterminated",
        "kind: Secret\ndata:\n  ü: ö\n",
        "\u{feff}token=\u{1F600}",
    ] {
        let _ = redact(text);
    }
}

#[test]
fn text_redaction_keeps_values_already_redacted_by_field() {
    let yaml = "apiVersion: v1\ndata:\n  password: \"[REDACTED: secret data]\"\n  b: '[REDACTED: secret data]'\nkind: Secret\n";
    assert_eq!(redact(yaml), yaml);
}

#[test]
fn describe_secret_sizes_are_not_values() {
    let describe =
        "Data\n====\npassword:  23 bytes\ntoken:     1 bytes\napi-key:   hunter2 bytes\n";
    assert_eq!(
        redact(describe),
        "Data\n====\npassword:  23 bytes\ntoken:     1 bytes\napi-key:   [REDACTED: credential]\n"
    );
}

#[test]
fn text_without_separators_or_markers_is_borrowed_untouched() {
    for text in ["web-7d9f8", "250m", "nginx@sha256", "", "a b c\nd"] {
        assert!(
            matches!(redact(text), Cow::Borrowed(t) if t == text),
            "{text}"
        );
    }
    // Each shape still needs no separator to be found.
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    for (text, marker) in [
        (jwt, TOKEN),
        ("Bearer abcdefgh12345678", TOKEN),
        ("AKIAIOSFODNN7EXAMPLE", AWS_KEY),
        (
            "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----",
            PRIVATE_KEY,
        ),
    ] {
        assert!(redact(text).contains(marker), "{text}");
    }
}
