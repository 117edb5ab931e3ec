//! The fast way to read a snapshot file: each object is deserialized straight from the
//! text into its typed Kubernetes object, with no `serde_json::Value` tree in between.
//!
//! An object's type is known from its `apiVersion` and `kind`, which `kubectl` (and the API
//! server) write before the other fields. When they come first, the rest of the object is
//! handed to the typed deserializer as it is read; fields that come before them are kept as
//! values and replayed. A `kind: List` is recognised by its `items`, which `kubectl`
//! writes before `kind` (keys in alphabetical order): its items are read on the chance that
//! it is a list and dropped if it is not.
//!
//! This way gives up ([`parse`] returns `None`) on anything it is not sure of (a list item
//! without `kind` whose list kind is not known yet, duplicate keys, a non-list with `items`
//! before `kind`) and on every error; the caller then reads the text the general way
//! ([`super::files`]), which handles every shape and words the error.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::Value;

use super::ClusterSnapshot;
use super::kinds::Kind;

/// The objects of `text` (JSON or YAML, as [`super::files`] tells them apart), or `None`
/// when the fast way gave up.
pub(super) fn parse(
    text: &str,
    yaml_options: impl FnOnce() -> serde_saphyr::Options,
) -> Option<ClusterSnapshot> {
    if super::files::looks_like_json(text) {
        return serde_json::from_str::<Document>(text).ok().map(|d| d.0);
    }
    // `kubectl`'s block style through the fast reader; anything else through serde-saphyr.
    let documents: Vec<Document> = match super::yaml::from_documents(text) {
        Some(documents) => documents,
        None => serde_saphyr::from_multiple_with_options(text, yaml_options()).ok()?,
    };
    let mut documents = documents.into_iter();
    let mut snapshot = documents.next().map(|d| d.0).unwrap_or_default();
    for mut d in documents {
        snapshot.append_objects(&mut d.0);
    }
    Some(snapshot)
}

/// The objects of one document.
struct Document(ClusterSnapshot);

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        let mut snapshot = ClusterSnapshot::default();
        from.deserialize_any(ObjectVisitor {
            into: &mut snapshot,
            defaults: None,
        })?;
        Ok(Document(snapshot))
    }
}

/// The error that makes the fast way give up (its text is never shown).
fn give_up<E: de::Error>() -> E {
    E::custom("not handled by the direct reader")
}

fn is_list(kind: &str) -> bool {
    kind.ends_with("List")
}

/// Reads one object (or list of objects, or null) into `into`.
struct ObjectVisitor<'a> {
    into: &'a mut ClusterSnapshot,
    /// `(kind, apiVersion)` for the items of a typed list (`PodList`), which leave them off.
    defaults: Option<(&'a str, &'a str)>,
}

impl<'de> DeserializeSeed<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, from: D) -> Result<(), D::Error> {
        from.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let into = self.into;
        let mut api_version: Option<String> = None;
        let mut kind: Option<String> = None;
        // Fields read before the type was known, replayed to the typed deserializer.
        let mut fields: Vec<(String, Value)> = Vec::new();
        let mut items_read = false;
        loop {
            if let (Some(a), Some(k)) = (&api_version, &kind)
                && !is_list(k)
            {
                if items_read {
                    return Err(give_up());
                }
                if let Some(target) = Kind::of(a, k) {
                    let rest = Replay::new(fields, Some(&mut map));
                    return target.read(MapAccessDeserializer::new(rest), into);
                }
                // A kind the analyzers do not use.
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            }
            let Some(key) = map.next_key::<Key<'de>>()? else {
                break;
            };
            match key {
                Key::ApiVersion if api_version.is_none() => {
                    api_version = Some(string_value(&mut map)?);
                }
                Key::Kind if kind.is_none() => kind = Some(string_value(&mut map)?),
                Key::ApiVersion | Key::Kind => return Err(give_up()),
                Key::Items if !items_read && kind.as_deref().is_none_or(is_list) => {
                    // A typed list's items take its kind; known only if it came first.
                    let defaults = match (&kind, &api_version) {
                        (Some(k), Some(a)) => k
                            .strip_suffix("List")
                            .filter(|k| !k.is_empty())
                            .map(|k| (k, a.as_str())),
                        _ => None,
                    };
                    map.next_value_seed(Items {
                        into: &mut *into,
                        defaults,
                    })?;
                    items_read = true;
                }
                _ if kind.as_deref().is_some_and(is_list) => {
                    map.next_value::<IgnoredAny>()?;
                }
                other => fields.push((other.into_name(), map.next_value::<Value>()?)),
            }
        }
        // The end of the object: a list whose items were read, or an object whose kind or
        // apiVersion came last or was left to its list.
        let (default_kind, default_api_version) = self.defaults.unzip();
        let kind = kind.as_deref().or(default_kind);
        let api_version = api_version.as_deref().or(default_api_version);
        match (api_version, kind) {
            (Some(_), Some(k)) if is_list(k) && self.defaults.is_none() => Ok(()),
            (Some(a), Some(k)) if !is_list(k) && !items_read => match Kind::of(a, k) {
                Some(target) => target.read(
                    MapAccessDeserializer::new(Replay::<A>::new(fields, None)),
                    into,
                ),
                None => Ok(()),
            },
            _ => Err(give_up()),
        }
    }
}

/// An `apiVersion` or `kind` value, which must be a string.
fn string_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    match map.next_value::<Value>()? {
        Value::String(s) => Ok(s),
        _ => Err(give_up()),
    }
}

/// The items of a list: each an object (or null).
struct Items<'a> {
    into: &'a mut ClusterSnapshot,
    defaults: Option<(&'a str, &'a str)>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, from: D) -> Result<(), D::Error> {
        from.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of Kubernetes objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq
            .next_element_seed(ObjectVisitor {
                into: &mut *self.into,
                defaults: self.defaults,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// A key of an object's top level: the ones that decide its type, or any other.
enum Key<'de> {
    ApiVersion,
    Kind,
    Items,
    Other(Cow<'de, str>),
}

impl Key<'_> {
    fn into_name(self) -> String {
        match self {
            Key::ApiVersion => "apiVersion".to_owned(),
            Key::Kind => "kind".to_owned(),
            Key::Items => "items".to_owned(),
            Key::Other(name) => name.into_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        from.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl KeyVisitor {
    fn known(name: &str) -> Option<Key<'static>> {
        match name {
            "apiVersion" => Some(Key::ApiVersion),
            "kind" => Some(Key::Kind),
            "items" => Some(Key::Items),
            _ => None,
        }
    }
}

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Self::known(v).unwrap_or(Key::Other(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Self::known(v).unwrap_or_else(|| Key::Other(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Self::known(&v).unwrap_or(Key::Other(Cow::Owned(v))))
    }
}

/// The fields read before the type was known, then the rest of the object.
struct Replay<'m, A> {
    fields: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
    rest: Option<&'m mut A>,
}

impl<'m, A> Replay<'m, A> {
    fn new(fields: Vec<(String, Value)>, rest: Option<&'m mut A>) -> Self {
        Self {
            fields: fields.into_iter(),
            value: None,
            rest,
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((key, value)) = self.fields.next() {
            self.value = Some(value);
            return seed.deserialize(key.into_deserializer()).map(Some);
        }
        match &mut self.rest {
            Some(rest) => rest.next_key_seed(seed),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if let Some(value) = self.value.take() {
            return seed.deserialize(value).map_err(de::Error::custom);
        }
        match &mut self.rest {
            Some(rest) => rest.next_value_seed(seed),
            None => Err(give_up()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The demo cluster's files and the analyzer fixture.
    fn demo_and_fixture() -> impl Iterator<Item = (&'static str, &'static str)> {
        kopilot_fake::demo::DEMO_FILES.iter().copied().chain([(
            "fixture.yaml",
            include_str!("../../tests/fixtures/cluster.yaml"),
        )])
    }

    fn options() -> serde_saphyr::Options {
        serde_saphyr::Options::default()
    }

    /// The general reader: every document through `serde_json::Value`.
    fn general(text: &str) -> ClusterSnapshot {
        let mut s = ClusterSnapshot::default();
        for (i, doc) in super::super::files::parse_documents("t", text)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            s.add_document(&format!("document {i}"), doc).unwrap();
        }
        s
    }

    fn documents(text: &str) -> Vec<Value> {
        super::super::files::parse_documents("t", text).unwrap()
    }

    /// The direct reader must handle `text` itself and agree with the general one.
    fn agrees(what: &str, text: &str) -> ClusterSnapshot {
        let direct =
            parse(text, options).unwrap_or_else(|| panic!("{what}: the direct reader gave up"));
        direct.assert_same_objects(&general(text), what);
        direct
    }

    #[test]
    fn demo_and_fixture_files_read_the_same_both_ways() {
        let mut total = 0;
        for (name, text) in demo_and_fixture() {
            total += agrees(name, text).object_count();
        }
        assert!(total > 200, "{total} objects");
    }

    #[test]
    fn kubectl_lists_in_yaml_and_json_read_the_same_both_ways() {
        // `kubectl get -o yaml|json` writes keys in alphabetical order: `items` before `kind`.
        let mut items = Vec::new();
        for (_, text) in demo_and_fixture() {
            items.extend(documents(text));
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
        let json_text = serde_json::to_string_pretty(&list).unwrap();
        assert!(json_text.find("\"items\"") < json_text.find("\"kind\": \"List\""));
        let from_json = agrees("json list", &json_text);
        assert!(from_json.pods.len() > 20);
        let yaml_text = serde_saphyr::to_string(&list).unwrap();
        let from_yaml = agrees("yaml list", &yaml_text);
        from_yaml.assert_same_objects(&from_json, "yaml vs json");
    }

    #[test]
    fn typed_lists_and_fields_before_kind_read_the_same_both_ways() {
        // The API server's own order: kind and apiVersion first, items without them.
        let pods = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},
            "items":[{"metadata":{"name":"p1","namespace":"shop","labels":{"app":"a"}},
                      "spec":{"containers":[{"name":"c","image":"x:1","resources":{"requests":{"cpu":"10m"}}}]}},
                     {"kind":"Pod","metadata":{"name":"p2","namespace":"shop"}},
                     null]}"#;
        assert_eq!(agrees("typed list", pods).pods.len(), 2);
        // Fields before apiVersion and kind are replayed to the typed object.
        let late = "metadata: {name: web, namespace: shop}\nspec: {replicas: 3}\nkind: Deployment\napiVersion: apps/v1\n\
                    ---\nspec: {podCIDR: 10.0.0.0/24}\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n";
        let s = agrees("late kind", late);
        assert_eq!(
            s.deployments[0].spec.as_ref().and_then(|s| s.replicas),
            Some(3)
        );
        assert_eq!(s.nodes.len(), 1);
        // Kinds the analyzers do not use are skipped, lists inside lists are read.
        let nested = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n  data: {a: b}\n\
                      - apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}\n";
        assert_eq!(agrees("nested", nested).namespaces.len(), 1);
    }

    #[test]
    fn shapes_it_is_not_sure_of_are_left_to_the_general_reader() {
        for text in [
            // A typed list whose kind comes after its items: the items' kind is not known.
            r#"{"items":[{"metadata":{"name":"p1"}}],"kind":"PodList","apiVersion":"v1"}"#,
            // `items` in something that is not a list.
            "items: [{apiVersion: v1, kind: Namespace, metadata: {name: a}}]\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
            // A duplicate kind.
            "apiVersion: v1\nkind: Pod\nkind: Node\nmetadata: {name: p}\n",
            // Not an object, no kind, a wrong type.
            "- 1\n- 2\n",
            "foo: bar\n",
            "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {unschedulable: sometimes}\n",
            "apiVersion: 1\nkind: Pod\n",
        ] {
            assert!(parse(text, options).is_none(), "{text}");
        }
    }
}
