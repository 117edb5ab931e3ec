use serde_json::json;

use super::*;
use crate::redact::{CREDENTIAL, PRIVATE_KEY, URL_PASSWORD};

const CANARY: &str = "c4n4ry-9f2e7d";
const CANARY_B64: &str = "YzRuNHJ5LTlmMmU3ZA==";

#[track_caller]
fn assert_clean(out: &str) {
    assert!(!out.contains(CANARY), "canary leaked:\n{out}");
    assert!(!out.contains(CANARY_B64), "canary (base64) leaked:\n{out}");
}

fn last_applied(object: &Value) -> String {
    format!("{}\n", serde_json::to_string(object).unwrap())
}

fn secret(kind: bool) -> Value {
    let mut secret = json!({
        "apiVersion": "v1",
        "data": {"password": CANARY_B64, "username": "YXBw"},
        "stringData": {"url": format!("postgres://app:{CANARY}@db/shop")},
        "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"}},
        "type": "Opaque"
    });
    if kind {
        secret["kind"] = json!("Secret");
    }
    secret
}

#[test]
fn secret_data_and_string_data_by_field_with_keys_visible() {
    let mut object = secret(true);
    object["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration": last_applied(&secret(true)),
        "team": "payments"
    });
    let text = serde_json::to_string_pretty(&object).unwrap();
    let out = redact_document(&text, DocumentFormat::Json, Exposure::None).unwrap();
    assert_clean(&out.text);
    let value: Value = serde_json::from_str(&out.text).unwrap();
    assert_eq!(value["data"]["password"], SECRET_DATA);
    assert_eq!(value["data"]["username"], SECRET_DATA);
    assert_eq!(value["stringData"]["url"], SECRET_DATA);
    assert_eq!(value["metadata"]["name"], "db");
    assert_eq!(value["metadata"]["annotations"]["team"], "payments");
    assert_eq!(value["type"], "Opaque");
    // The annotation is still the object as JSON, redacted by the same rules.
    let annotation = value["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .unwrap();
    assert!(annotation.ends_with('\n'));
    let applied: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(applied["data"]["password"], SECRET_DATA);
    assert_eq!(applied["metadata"]["name"], "db");
    // kubectl's layout: four-space indentation.
    assert!(
        out.text.contains("\n    \"data\": {\n        \"password\""),
        "{}",
        out.text
    );
    // What was removed can be scrubbed elsewhere, decoded base64 included.
    assert_eq!(out.removed.scrub(CANARY), CREDENTIAL);
    assert_eq!(out.removed.scrub(CANARY_B64), CREDENTIAL);
}

#[test]
fn secret_list_from_kubectl_yaml() {
    let yaml = format!(
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    password: {CANARY_B64}\n  kind: Secret\n  metadata:\n    name: db\n    namespace: shop\n  type: Opaque\n- apiVersion: v1\n  data:\n    LOG_LEVEL: debug\n  kind: ConfigMap\n  metadata:\n    name: app\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
    );
    let out = redact_document(&yaml, DocumentFormat::Yaml, Exposure::Secrets).unwrap();
    assert_clean(&out.text);
    assert!(
        out.text.contains("password: '[REDACTED: secret data]'")
            || out.text.contains("password: \"[REDACTED: secret data]\""),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("LOG_LEVEL: debug"),
        "ConfigMap data stays: {}",
        out.text
    );
    assert!(out.text.contains("resourceVersion: \"\""), "{}", out.text);
    assert!(
        out.text.starts_with("apiVersion: v1\nitems:\n"),
        "{}",
        out.text
    );
}

#[test]
fn raw_list_items_without_kind() {
    let list = json!({"apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "7"},
        "items": [secret(false), secret(false)]});
    let compact = serde_json::to_string(&list).unwrap();
    // The list's kind says what its items are, whatever the caller knew.
    let out = redact_document(&compact, DocumentFormat::Json, Exposure::None).unwrap();
    assert_clean(&out.text);
    assert!(
        !out.text.contains('\n'),
        "compact stays compact: {}",
        out.text
    );
    let value: Value = serde_json::from_str(&out.text).unwrap();
    assert_eq!(value["items"][1]["data"]["password"], SECRET_DATA);
    assert_eq!(value["items"][1]["metadata"]["name"], "db");

    // A list whose kind says nothing: the caller's exposure decides.
    let list = json!({"kind": "List", "items": [secret(false)]});
    let text = list.to_string();
    let out = redact_document(&text, DocumentFormat::Json, Exposure::Secrets).unwrap();
    assert_clean(&out.text);
    let out = redact_document(&text, DocumentFormat::Json, Exposure::PodSpecs).unwrap();
    let value: Value = serde_json::from_str(&out.text).unwrap();
    assert_eq!(
        value["items"][0]["data"]["username"], "YXBw",
        "not known to be a Secret"
    );
    assert_eq!(
        value["items"][0]["data"]["password"], CREDENTIAL,
        "but the key looks secret"
    );
}

#[test]
fn watch_stream_of_json_values() {
    let event = |t: &str| json!({"type": t, "object": secret(true)}).to_string();
    let text = format!("{}\n{}\n", event("ADDED"), event("MODIFIED"));
    let out = redact_document(&text, DocumentFormat::Json, Exposure::Secrets).unwrap();
    assert_clean(&out.text);
    assert_eq!(out.text.lines().count(), 2, "{}", out.text);
    assert!(out.text.ends_with('\n'));
}

#[test]
fn unreadable_last_applied_annotation_is_replaced_whole() {
    let mut object = secret(true);
    object["metadata"]["annotations"] =
        json!({LAST_APPLIED: format!("{{\"data\":{{\"password\":\"{CANARY_B64}\"")});
    let mut value = object.clone();
    redact_value(&mut value, Exposure::None);
    assert_clean(&value.to_string());
    assert_eq!(
        value["metadata"]["annotations"][LAST_APPLIED],
        UNREADABLE_ANNOTATION
    );
}

#[test]
fn env_values_of_secret_looking_names_in_pod_specs_and_their_last_applied_copy() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27",
            "args": [format!("--db=postgres://app:{CANARY}@db/shop"), "--verbose"],
            "env": [
                {"name": "DB_PASSWORD", "value": CANARY},
                {"name": "API_TOKEN", "value": CANARY},
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "PASSWORD_FILE", "value": "/etc/pw"},
                {"name": "STRIPE_KEY", "valueFrom": {"secretKeyRef": {"name": "stripe", "key": "token"}}}
            ]}]}}}
    });
    let mut value = deployment.clone();
    value["metadata"]["annotations"] = json!({LAST_APPLIED: last_applied(&deployment)});
    let removed = redact_value(&mut value, Exposure::PodSpecs);
    let text = value.to_string();
    assert_clean(&text);
    let container = &value["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["env"][0]["value"], CREDENTIAL);
    assert_eq!(container["env"][2]["value"], "info");
    assert_eq!(
        container["env"][3]["value"], "/etc/pw",
        "a path to a secret is not one"
    );
    assert_eq!(
        container["env"][4]["valueFrom"]["secretKeyRef"]["key"],
        "token"
    );
    assert_eq!(
        container["args"][0],
        format!("--db=postgres://app:{URL_PASSWORD}@db/shop")
    );
    assert_eq!(container["image"], "nginx:1.27");
    // A jsonpath print of the same pod is scrubbed of every removed value.
    let printed =
        format!("{CANARY} {CANARY}\ninfo\n[{{\"name\":\"DB_PASSWORD\",\"value\":\"{CANARY}\"}}]");
    let scrubbed = removed.scrub(&printed);
    assert_clean(&scrubbed);
    assert!(scrubbed.contains("info"));
}

#[test]
fn keys_that_look_secret_and_shapes_inside_strings() {
    let pem = format!("-----BEGIN PRIVATE KEY-----\nMIIE{CANARY}\n-----END PRIVATE KEY-----\n");
    let mut value = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
        "data": {
            "password": CANARY,
            "app.properties": format!("db.user=app\ndb.password={CANARY}\n"),
            "key.pem": pem,
            "log": format!("Authorization: Bearer {CANARY}abc"),
            "LOG_LEVEL": "debug",
            "port": "8080"
        },
        "users": [{"name": "admin", "user": {"client-key-data": CANARY_B64, "token": CANARY,
            "client-certificate-data": "LS0tCERT"}}],
        "spec": {"automountServiceAccountToken": false, "secretName": "db", "tokenPort": 1_234_567}
    });
    redact_value(&mut value, Exposure::None);
    assert_clean(&value.to_string());
    assert_eq!(value["data"]["password"], CREDENTIAL);
    assert_eq!(
        value["data"]["app.properties"],
        format!("db.user=app\ndb.password={CREDENTIAL}\n")
    );
    assert!(
        value["data"]["key.pem"]
            .as_str()
            .unwrap()
            .contains(PRIVATE_KEY)
    );
    assert_eq!(value["data"]["LOG_LEVEL"], "debug");
    assert_eq!(value["data"]["port"], "8080");
    assert_eq!(value["users"][0]["user"]["client-key-data"], CREDENTIAL);
    assert_eq!(
        value["users"][0]["user"]["client-certificate-data"],
        "LS0tCERT"
    );
    assert_eq!(value["spec"]["automountServiceAccountToken"], false);
    assert_eq!(value["spec"]["secretName"], "db");
    assert_eq!(
        value["spec"]["tokenPort"], CREDENTIAL,
        "numbers under secret keys go too"
    );
}

#[test]
fn yaml_multi_document_round_trip_keeps_types() {
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  resourceVersion: \"1006\"\ndata:\n  password: {CANARY_B64}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  flag: \"true\"\n  zip: \"0123\"\n  empty: \"\"\n  script: |\n    echo one\n    echo two\n"
    );
    let out = redact_document(&yaml, DocumentFormat::Yaml, Exposure::Secrets).unwrap();
    assert_clean(&out.text);
    let documents: Vec<Value> = serde_saphyr::from_multiple(&out.text).unwrap();
    assert_eq!(documents.len(), 2, "{}", out.text);
    assert_eq!(documents[0]["data"]["password"], SECRET_DATA);
    assert_eq!(documents[0]["metadata"]["resourceVersion"], "1006");
    assert_eq!(documents[1]["data"]["flag"], "true");
    assert_eq!(documents[1]["data"]["zip"], "0123");
    assert_eq!(documents[1]["data"]["empty"], "");
    assert_eq!(documents[1]["data"]["script"], "echo one\necho two\n");
}

#[test]
fn unparseable_input_is_withheld_for_secrets_and_text_redacted_otherwise() {
    let cut = format!(
        "{{\n    \"kind\": \"Secret\",\n    \"data\": {{\n        \"password\": \"{CANARY_B64}"
    );
    let error = redact_document(&cut, DocumentFormat::Json, Exposure::Secrets).unwrap_err();
    assert_eq!(error.format, DocumentFormat::Json);
    assert!(error.line.is_some());
    assert!(!error.to_string().contains(CANARY_B64));
    let out = redact_output(&cut, DocumentFormat::Json, Exposure::Secrets);
    assert_clean(&out);
    assert!(out.starts_with("[output withheld"), "{out}");

    let yaml = format!("kind: Secret\ndata:\n  password: {CANARY_B64}\n  bad: [unclosed\n");
    let error = redact_document(&yaml, DocumentFormat::Yaml, Exposure::Secrets).unwrap_err();
    assert!(!error.to_string().contains(CANARY_B64), "{error}");
    assert!(
        redact_output(&yaml, DocumentFormat::Yaml, Exposure::Secrets)
            .starts_with("[output withheld")
    );

    let pod = format!("{{\"name\": \"DB_PASSWORD\",\n \"value\": \"{CANARY}\"");
    let out = redact_output(&pod, DocumentFormat::Json, Exposure::PodSpecs);
    assert_clean(&out);
    assert!(
        out.contains("DB_PASSWORD"),
        "text redaction stays the second line: {out}"
    );

    for blank in ["", "\n", "  \n"] {
        assert_eq!(
            redact_output(blank, DocumentFormat::Json, Exposure::Secrets),
            blank
        );
        assert_eq!(
            redact_output(blank, DocumentFormat::Yaml, Exposure::Secrets),
            blank
        );
    }
}

#[test]
fn deep_and_odd_documents_never_panic() {
    let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    assert!(redact_document(&deep, DocumentFormat::Json, Exposure::Secrets).is_ok());
    let mut value = json!("x");
    for _ in 0..(MAX_DEPTH + 5) {
        value = json!({"a": value});
    }
    let mut deep = value;
    redact_value(&mut deep, Exposure::None);
    assert!(deep.to_string().contains(TOO_DEEP));
    let nested = json!({"kind": "Secret", "metadata": {"annotations": {LAST_APPLIED:
        json!({"metadata": {"annotations": {LAST_APPLIED: json!({"kind": "Secret", "data": {"a": CANARY_B64}}).to_string()}}}).to_string()}}});
    let mut value = nested;
    redact_value(&mut value, Exposure::None);
    assert_clean(&value.to_string());
    for text in [
        "null",
        "1",
        "\"x\"",
        "[]",
        "{}",
        "{\"kind\":\"Secret\",\"data\":\"x\"}",
        "{\"kind\":\"Secret\",\"data\":[1]}",
    ] {
        assert!(
            redact_document(text, DocumentFormat::Json, Exposure::Secrets).is_ok(),
            "{text}"
        );
        assert!(
            redact_document(text, DocumentFormat::Yaml, Exposure::Secrets).is_ok(),
            "{text}"
        );
    }
}
