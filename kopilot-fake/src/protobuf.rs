//! Decoding kubectl's protobuf request bodies for the simple kinds its generators send:
//! `kubectl create namespace|configmap|secret|serviceaccount` POST a `k8s\0` envelope
//! (`runtime.Unknown{typeMeta, raw}`) and do not retry in JSON after a 415; so does
//! `kubectl auth can-i` (a `SelfSubjectAccessReview`). Other kinds
//! (e.g. `kubectl create deployment`) are refused with a 415 that says to use `-f`.

use base64_free::encode_base64;
use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// One protobuf field: number and payload.
enum Field<'a> {
    Varint(u32, u64),
    Bytes(u32, &'a [u8]),
    Fixed,
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let tag = read_varint(buf, &mut pos)?;
        let number = u32::try_from(tag >> 3).map_err(|_| "field number out of range")?;
        match tag & 7 {
            0 => out.push(Field::Varint(number, read_varint(buf, &mut pos)?)),
            1 => {
                pos += 8;
                out.push(Field::Fixed);
            }
            2 => {
                let len = usize::try_from(read_varint(buf, &mut pos)?)
                    .map_err(|_| "length out of range")?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or("truncated field")?;
                out.push(Field::Bytes(
                    number,
                    buf.get(pos..end).ok_or("truncated field")?,
                ));
                pos = end;
            }
            5 => {
                pos += 4;
                out.push(Field::Fixed);
            }
            w => return Err(format!("unsupported wire type {w}")),
        }
    }
    if pos > buf.len() {
        return Err("truncated message".into());
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a string field is not UTF-8".to_owned())
}

fn map_entry(bytes: &[u8]) -> Result<(String, &[u8]), String> {
    let mut key = String::new();
    let mut value: &[u8] = &[];
    for f in fields(bytes)? {
        match f {
            Field::Bytes(1, k) => key = text(k)?,
            Field::Bytes(2, v) => value = v,
            _ => {}
        }
    }
    Ok((key, value))
}

fn object_meta(bytes: &[u8]) -> Result<Value, String> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    for f in fields(bytes)? {
        match f {
            Field::Bytes(1, v) => {
                meta.insert("name".into(), json!(text(v)?));
            }
            Field::Bytes(2, v) => {
                meta.insert("generateName".into(), json!(text(v)?));
            }
            Field::Bytes(3, v) => {
                meta.insert("namespace".into(), json!(text(v)?));
            }
            Field::Bytes(11, v) => {
                let (k, val) = map_entry(v)?;
                labels.insert(k, json!(text(val)?));
            }
            Field::Bytes(12, v) => {
                let (k, val) = map_entry(v)?;
                annotations.insert(k, json!(text(val)?));
            }
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Ok(Value::Object(meta))
}

/// Decodes a protobuf request body into the JSON object it encodes.
pub(crate) fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the k8s protobuf magic")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for f in fields(envelope)? {
        match f {
            Field::Bytes(1, type_meta) => {
                for t in fields(type_meta)? {
                    match t {
                        Field::Bytes(1, v) => api_version = text(v)?,
                        Field::Bytes(2, v) => kind = text(v)?,
                        _ => {}
                    }
                }
            }
            Field::Bytes(2, r) => raw = r,
            _ => {}
        }
    }
    if (api_version.as_str(), kind.as_str())
        == ("authorization.k8s.io/v1", "SelfSubjectAccessReview")
    {
        return access_review(raw);
    }
    if !matches!(
        (api_version.as_str(), kind.as_str()),
        (
            "v1",
            "Namespace" | "ConfigMap" | "Secret" | "ServiceAccount"
        )
    ) {
        return Err(format!(
            "protobuf is decoded only for v1 Namespace, ConfigMap, Secret and ServiceAccount, not {api_version} {kind}"
        ));
    }
    let mut object = Map::new();
    object.insert("apiVersion".into(), json!(api_version));
    object.insert("kind".into(), json!(kind));
    let mut data = Map::new();
    let mut string_data = Map::new();
    for f in fields(raw)? {
        match (kind.as_str(), f) {
            (_, Field::Bytes(1, meta)) => {
                object.insert("metadata".into(), object_meta(meta)?);
            }
            ("ConfigMap", Field::Bytes(2, entry)) => {
                let (k, v) = map_entry(entry)?;
                data.insert(k, json!(text(v)?));
            }
            ("Secret", Field::Bytes(2, entry)) => {
                let (k, v) = map_entry(entry)?;
                data.insert(k, json!(encode_base64(v)));
            }
            ("Secret", Field::Bytes(3, t)) => {
                object.insert("type".into(), json!(text(t)?));
            }
            ("Secret", Field::Bytes(4, entry)) => {
                let (k, v) = map_entry(entry)?;
                string_data.insert(k, json!(text(v)?));
            }
            ("ConfigMap", Field::Varint(4, v)) | ("Secret", Field::Varint(5, v)) => {
                object.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    // Secrets store stringData merged into data, base64-encoded, as the API server does.
    for (k, v) in string_data {
        data.insert(
            k,
            json!(encode_base64(v.as_str().unwrap_or_default().as_bytes())),
        );
    }
    if !data.is_empty() {
        object.insert("data".into(), Value::Object(data));
    }
    Ok(Value::Object(object))
}

/// `SelfSubjectAccessReview{spec{resourceAttributes}}`, as `kubectl auth can-i` sends it.
fn access_review(raw: &[u8]) -> Result<Value, String> {
    const NAMES: [&str; 7] = [
        "namespace",
        "verb",
        "group",
        "version",
        "resource",
        "subresource",
        "name",
    ];
    let mut attributes = Map::new();
    for f in fields(raw)? {
        let Field::Bytes(2, spec) = f else { continue };
        for g in fields(spec)? {
            let Field::Bytes(1, attrs) = g else { continue };
            for h in fields(attrs)? {
                if let Field::Bytes(n, v) = h
                    && let Some(name) = usize::try_from(n)
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .and_then(|i| NAMES.get(i))
                {
                    attributes.insert((*name).to_owned(), json!(text(v)?));
                }
            }
        }
    }
    Ok(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": attributes},
    }))
}

/// Standard base64 without pulling in a crate for it.
mod base64_free {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub(super) fn encode_base64(input: &[u8]) -> String {
        let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
        for chunk in input.chunks(3) {
            let b = [
                chunk.first().copied().unwrap_or(0),
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    let index = ((n >> (18 - 6 * i)) & 63) as usize;
                    out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_namespace_envelope() {
        let type_meta = [field(1, b"v1"), field(2, b"Namespace")].concat();
        let label = [field(1, b"team"), field(2, b"shop")].concat();
        let meta = [field(1, b"x"), field(11, &label)].concat();
        let raw = field(1, &meta);
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"team": "shop"}}})
        );
    }

    #[test]
    fn refuses_other_kinds_and_garbage() {
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta)].concat();
        assert!(decode(&body).unwrap_err().contains("apps/v1 Deployment"));
        assert!(decode(b"nope").is_err());
        assert!(decode(&[MAGIC, &[0x0a, 0xff]].concat()).is_err());
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(encode_base64(b"hunter2"), "aHVudGVyMg==");
        assert_eq!(encode_base64(b"abc"), "YWJj");
        assert_eq!(encode_base64(b"ab"), "YWI=");
    }
}
