//! Tests of the one label selector: the query syntax and JSON objects (as the fake API server
//! reads them) and typed selectors and Service maps (as the analyzers read them).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use serde_json::json;

use super::*;

#[allow(clippy::needless_pass_by_value)]
fn pod(labels: Value) -> Value {
    json!({"metadata": {"name": "p", "labels": labels}, "status": {"phase": "Running"}})
}

#[test]
fn equality_forms_all_match() {
    let p = pod(json!({"app": "web", "tier": "front"}));
    for s in [
        "app=web",
        "app==web",
        "app=web,tier=front",
        "app!=db",
        " app = web ",
    ] {
        assert!(LabelSelector::parse(s).unwrap().matches(&p), "{s}");
    }
    for s in ["app=db", "app!=web", "app=web,tier=back"] {
        assert!(!LabelSelector::parse(s).unwrap().matches(&p), "{s}");
    }
}

#[test]
fn set_based_and_existence() {
    let p = pod(json!({"app": "web", "tier": "front"}));
    assert!(
        LabelSelector::parse("tier in (front,back)")
            .unwrap()
            .matches(&p)
    );
    assert!(
        !LabelSelector::parse("tier notin (front, back)")
            .unwrap()
            .matches(&p)
    );
    assert!(
        LabelSelector::parse("env notin (prod)")
            .unwrap()
            .matches(&p)
    );
    assert!(!LabelSelector::parse("env in (prod)").unwrap().matches(&p));
    assert!(LabelSelector::parse("app,!canary").unwrap().matches(&p));
    assert!(!LabelSelector::parse("!app").unwrap().matches(&p));
    assert!(
        LabelSelector::parse("app in (web),tier")
            .unwrap()
            .matches(&p)
    );
}

#[test]
fn not_equals_matches_objects_without_the_label() {
    let p = pod(json!({}));
    assert!(LabelSelector::parse("app!=web").unwrap().matches(&p));
    assert!(!LabelSelector::parse("app=web").unwrap().matches(&p));
}

#[test]
fn bad_selectors_are_errors_naming_the_part() {
    let err = LabelSelector::parse("tier in front").unwrap_err();
    assert!(err.to_string().contains("tier in front"), "{err}");
    assert!(LabelSelector::parse("a b=c").is_err());
    assert!(LabelSelector::parse("=x").is_err());
}

#[test]
fn selector_objects_match_like_query_strings() {
    let sel = LabelSelector::from_object(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]
    }));
    assert!(sel.matches(&pod(json!({"app": "web", "tier": "front"}))));
    assert!(!sel.matches(&pod(json!({"app": "web", "tier": "back"}))));
    assert_eq!(sel.to_query(), "app=web,tier in (front)");
    let svc = LabelSelector::from_object(&json!({"app": "api"}));
    assert!(svc.matches(&pod(json!({"app": "api"}))));
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn expressions_and_labels() {
    let sel = ApiLabelSelector {
        match_labels: Some(labels(&[("app", "web")])),
        match_expressions: Some(vec![
            LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["front".into(), "edge".into()]),
            },
            LabelSelectorRequirement {
                key: "canary".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
        ]),
    };
    let selector_matches = |sel: &ApiLabelSelector, l: Option<&BTreeMap<String, String>>| {
        LabelSelector::from_api(sel).matches_map(l)
    };
    // A Service's map selector; an empty one selects nothing.
    let map_matches = |sel: &BTreeMap<String, String>, l: Option<&BTreeMap<String, String>>| {
        LabelSelector::from_service_selector(sel).is_some_and(|s| s.matches_map(l))
    };
    assert!(selector_matches(
        &sel,
        Some(&labels(&[("app", "web"), ("tier", "edge")]))
    ));
    assert!(!selector_matches(
        &sel,
        Some(&labels(&[("app", "web"), ("tier", "back")]))
    ));
    assert!(!selector_matches(
        &sel,
        Some(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("canary", "1")
        ]))
    ));
    assert!(selector_matches(&ApiLabelSelector::default(), None));
    assert!(!map_matches(&BTreeMap::new(), Some(&labels(&[("a", "b")]))));
    assert!(map_matches(
        &labels(&[("a", "b")]),
        Some(&labels(&[("a", "b"), ("c", "d")]))
    ));
}

#[test]
fn unknown_operators_select_nothing_from_either_form() {
    let api = ApiLabelSelector {
        match_labels: None,
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: "Like".into(),
            values: Some(vec!["front".into()]),
        }]),
    };
    let labels: BTreeMap<String, String> = [("tier".to_owned(), "front".to_owned())].into();
    assert!(!LabelSelector::from_api(&api).matches_map(Some(&labels)));
    assert!(!LabelSelector::from_api(&api).matches_map(None));
    let object = LabelSelector::from_object(&json!({
        "matchExpressions": [{"key": "tier", "operator": "Like", "values": ["front"]}]
    }));
    assert!(!object.matches(&pod(json!({"tier": "front"}))));
    assert!(!object.matches(&pod(json!({}))));
    assert_eq!(object, LabelSelector::from_api(&api));
}

#[test]
fn typed_and_json_selectors_are_the_same_selector() {
    let api = ApiLabelSelector {
        match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: "NotIn".into(),
            values: Some(vec!["back".into()]),
        }]),
    };
    let object = LabelSelector::from_object(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]
    }));
    assert_eq!(LabelSelector::from_api(&api), object);
    assert_eq!(object.to_query(), "app=web,tier notin (back)");
    let service: BTreeMap<String, String> = [
        ("app".to_owned(), "web".to_owned()),
        ("tier".to_owned(), "front".to_owned()),
    ]
    .into();
    assert_eq!(
        LabelSelector::from_service_selector(&service).map(|s| s.to_query()),
        Some("app=web,tier=front".to_owned())
    );
}
