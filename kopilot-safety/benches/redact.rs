//! Benchmarks of `redact::redact`, which every tool result, event and audit record passes
//! through: a ~200 KB `kubectl get secrets,pods -A -o yaml` (Secrets with `data`, last-applied
//! annotations and TLS keys; pods with secret and plain env values) and a ~2 MB application log
//! (mostly plain lines, some with bearer tokens, JWTs, passwords in URLs and `KEY=value`
//! credentials). Each input is checked once to hold secrets that redaction removes, so the
//! benchmark measures real work.
//!
//! The same objects are also redacted by field (`redact::redact_output`: parse, redact, write
//! back, then text redaction as the second line), as YAML and as kubectl's indented JSON.
//!
//! Run: `cargo bench -p kopilot-safety --bench redact`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kopilot_safety::Exposure;
use kopilot_safety::redact::{DocumentFormat, redact, redact_output};

/// A value that must never survive redaction (base64 of `kopilot-bench-canary`).
const CANARY_B64: &str = "a29waWxvdC1iZW5jaC1jYW5hcnk=";
const CANARY: &str = "kopilot-bench-canary";

fn secret(out: &mut String, ns: &str, i: usize) {
    let _ = write!(
        out,
        r#"- apiVersion: v1
  data:
    password: {CANARY_B64}
    username: YXBwLXVzZXIte2l9
    config.json: eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlIjp7ImF1dGgiOiJZV1J0YVc0NmMyVmpjbVYwIn19fQ==
  kind: Secret
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {{"apiVersion":"v1","data":{{"password":"{CANARY_B64}"}},"kind":"Secret","metadata":{{"annotations":{{}},"name":"db-{i}","namespace":"{ns}"}},"type":"Opaque"}}
    creationTimestamp: "2026-10-15T22:07:05Z"
    labels:
      app.kubernetes.io/name: db-{i}
      app.kubernetes.io/part-of: shop
    name: db-{i}
    namespace: {ns}
    resourceVersion: "{rv}"
    uid: 6f1c2a9e-{i:04}-4b61-9a2e-0c5d8e7f{i:04}
  type: Opaque
"#,
        rv = 1000 + i
    );
}

fn tls_secret(out: &mut String, ns: &str, i: usize) {
    let _ = write!(
        out,
        r#"- apiVersion: v1
  data:
    tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSEJmcEVnY01GdE1BMEdDU3FHU0liM0RRRUJCUVVBTUJFeER6QU5CZ05WQkFNTUJuUmwKYzNRdFkyRXdIaGNOTWpZd01UQXhNREF3TURBd1doY05Nall3TVRBeE1EQXdNREF3V2pBUk1ROHdEUVlEVlFRRApEQVowWlhOMExXTmhNRnd3RFFZSktvWklodmNOQVFFQkJRQURTd0F3U0FKQkFNeTZzVQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==
    tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVNDQktjd2dnU2pBZ0VBQW9JQkFRQzd2YmtXCi0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K
  kind: Secret
  metadata:
    creationTimestamp: "2026-10-15T22:07:05Z"
    name: shop-tls-{i}
    namespace: {ns}
    resourceVersion: "{rv}"
    uid: 1d2e3f4a-{i:04}-4c5d-8e9f-a0b1c2d3{i:04}
  type: kubernetes.io/tls
"#,
        rv = 2000 + i
    );
}

fn pod(out: &mut String, ns: &str, i: usize) {
    let _ = write!(
        out,
        r#"- apiVersion: v1
  kind: Pod
  metadata:
    creationTimestamp: "2026-11-20T08:00:00Z"
    generateName: web-7d9f8c6b5-
    labels:
      app: web-{i}
      pod-template-hash: 7d9f8c6b5
    name: web-7d9f8c6b5-{i:05}
    namespace: {ns}
    ownerReferences:
    - apiVersion: apps/v1
      blockOwnerDeletion: true
      controller: true
      kind: ReplicaSet
      name: web-7d9f8c6b5
      uid: 0a1b2c3d-4e5f-6789-abcd-ef0123456789
    resourceVersion: "{rv}"
    uid: 9e8d7c6b-{i:04}-4a3b-2c1d-0e9f8a7b{i:04}
  spec:
    containers:
    - env:
      - name: LOG_LEVEL
        value: info
      - name: DB_PASSWORD
        value: {CANARY}
      - name: DATABASE_URL
        value: postgres://app:{CANARY}@db.{ns}.svc:5432/shop
      - name: STRIPE_API_KEY
        valueFrom:
          secretKeyRef:
            key: api-key
            name: stripe
      image: registry.example/web:1.27.{i}
      imagePullPolicy: IfNotPresent
      name: web
      ports:
      - containerPort: 8080
        name: http
        protocol: TCP
      readinessProbe:
        httpGet:
          path: /healthz/ready
          port: 8080
      resources:
        limits:
          memory: 512Mi
        requests:
          cpu: 250m
          memory: 256Mi
    nodeName: shop-worker-{node}
    restartPolicy: Always
    serviceAccountName: web
  status:
    conditions:
    - lastTransitionTime: "2026-11-20T08:00:05Z"
      status: "True"
      type: Ready
    containerStatuses:
    - image: registry.example/web:1.27.{i}
      name: web
      ready: true
      restartCount: 0
      started: true
      state:
        running:
          startedAt: "2026-11-20T08:00:03Z"
    phase: Running
    podIP: 10.244.{node}.{ip}
"#,
        rv = 3000 + i,
        node = i % 6,
        ip = i % 250
    );
}

/// About 200 KB of `kubectl get secrets,pods -A -o yaml`.
fn cluster_yaml() -> String {
    let mut out = String::from("apiVersion: v1\nitems:\n");
    let mut i = 0;
    while out.len() < 200 * 1024 {
        let ns = ["storefront", "payments", "analytics", "platform"][i % 4];
        if i % 3 == 0 {
            secret(&mut out, ns, i);
        } else if i % 7 == 1 {
            tls_secret(&mut out, ns, i);
        } else {
            pod(&mut out, ns, i);
        }
        i += 1;
    }
    out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    out
}

/// About 2 MB of an application's log: one line in 20 carries a secret.
fn app_log() -> String {
    let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDp3ZWIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
    let mut out = String::with_capacity(2 * 1024 * 1024 + 256);
    let mut i = 0usize;
    while out.len() < 2 * 1024 * 1024 {
        let ts = format!(
            "2026-11-23T10:{:02}:{:02}.{:03}Z",
            (i / 60) % 60,
            i % 60,
            i % 1000
        );
        let _ = match i % 20 {
            3 => writeln!(
                out,
                "{ts} INFO  auth: calling payments with Authorization: Bearer {jwt}"
            ),
            7 => writeln!(
                out,
                "{ts} DEBUG db: connecting to postgres://app:{CANARY}@db:5432/shop?sslmode=require"
            ),
            11 => writeln!(
                out,
                "{ts} WARN  boot: env DB_PASSWORD={CANARY} API_TOKEN={CANARY} REGION=eu-west-1"
            ),
            15 => writeln!(
                out,
                "{ts} INFO  s3: using AKIAIOSFODNN7EXAMPLE for bucket shop-assets"
            ),
            _ => writeln!(
                out,
                "{ts} INFO  http: GET /api/v1/products/{} 200 {}ms user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\" trace_id={:016x}",
                i % 977,
                i % 230,
                i.wrapping_mul(0x9e37_79b9)
            ),
        };
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let yaml = cluster_yaml();
    let log = app_log();
    for (what, input) in [("yaml", &yaml), ("log", &log)] {
        let out = redact(input);
        assert!(
            !out.contains(CANARY) && !out.contains(CANARY_B64),
            "the {what} input still holds the canary after redaction"
        );
        assert!(
            out.len() != input.len(),
            "nothing was redacted in the {what} input"
        );
    }
    let mut group = c.benchmark_group("redact");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(yaml.len() as u64));
    group.bench_function("secrets_pods_yaml_200k", |b| {
        b.iter(|| redact(black_box(&yaml)).len());
    });
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).expect("the YAML parses");
    let json = serde_json::to_string_pretty(&parsed).expect("JSON");
    for (what, input, format) in [
        ("yaml", &yaml, DocumentFormat::Yaml),
        ("json", &json, DocumentFormat::Json),
    ] {
        let out = redact_output(input, format, Exposure::Secrets);
        assert!(
            !out.contains(CANARY)
                && !out.contains(CANARY_B64)
                && !out.starts_with("[output withheld"),
            "the {what} input is not redacted by field"
        );
    }
    group.bench_function("secrets_pods_yaml_200k_by_field", |b| {
        b.iter(|| redact_output(black_box(&yaml), DocumentFormat::Yaml, Exposure::Secrets).len());
    });
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("secrets_pods_json_by_field", |b| {
        b.iter(|| redact_output(black_box(&json), DocumentFormat::Json, Exposure::Secrets).len());
    });
    group.bench_function("secrets_pods_json_text", |b| {
        b.iter(|| redact(black_box(&json)).len());
    });
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("app_log_2m", |b| b.iter(|| redact(black_box(&log)).len()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
