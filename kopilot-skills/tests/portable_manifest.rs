//! The portable manifest and the content hash behind it.

mod common;

use common::fixture;
use kopilot_skills::{MANIFEST_FORMAT, PortableManifest, SkillLoader, parse_skill_file};

#[test]
fn content_hash_ignores_formatting_and_is_pinned() {
    let block = parse_skill_file(&fixture("hashing/block_style.yaml")).expect("valid");
    let flow = parse_skill_file(&fixture("hashing/flow_style.yml")).expect("valid");
    assert_eq!(block, flow);
    assert_eq!(block.content_hash(), flow.content_hash());
    // Pinned: consumers compare hashes across releases. If this changes, the
    // canonical form changed (a field was added or renamed): say so in the
    // changelog. The hash below is SHA-256 of exactly this JSON, computed
    // independently (`printf %s '<json>' | sha256sum`).
    let canonical = r#"{"name":"hash_probe","display_name":"Hash probe","description":"Used to check that the content hash ignores formatting.","system_prompt":"Line one.\nLine two.\n","tools":["analyze","get_events"],"analyzers":[],"keywords":["probe"],"examples":[],"max_steps":4,"enabled":true}"#;
    assert_eq!(serde_json::to_string(&block).expect("json"), canonical);
    assert_eq!(
        block.content_hash(),
        "sha256:83265c80c4c1f1a4e98518033b58e16048118fd785f64fdfe07ce5dbd1de565c"
    );
}

#[test]
fn content_hash_changes_with_any_field() {
    let skill = parse_skill_file(&fixture("hashing/block_style.yaml")).expect("valid");
    let mut changed = skill.clone();
    changed.max_steps = 5;
    assert_ne!(skill.content_hash(), changed.content_hash());
    let mut changed = skill.clone();
    changed.system_prompt.push('.');
    assert_ne!(skill.content_hash(), changed.content_hash());
    let mut changed = skill.clone();
    changed.documentation = Some("More.".into());
    assert_ne!(skill.content_hash(), changed.content_hash());
}

#[test]
fn manifest_lists_active_skills_and_round_trips_through_json() {
    let registry = SkillLoader::with_builtins()
        .enabled_skills(["security", "monitoring"])
        .load()
        .expect("loads");
    let manifest = registry.manifest();
    assert_eq!(manifest.format, MANIFEST_FORMAT);
    let names: Vec<&str> = manifest.skills.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["monitoring", "security"]);
    let security = &manifest.skills[1];
    let skill = registry.get("security").expect("active");
    assert_eq!(security.content_hash, skill.content_hash());
    assert_eq!(security.tools, skill.tools);
    assert_eq!(security.analyzers, skill.analyzers);
    assert_eq!(security.examples, skill.examples);

    let json = serde_json::to_value(&manifest).expect("serialises");
    let fields: Vec<&str> = json["skills"][0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for field in [
        "name",
        "display_name",
        "description",
        "tools",
        "analyzers",
        "examples",
        "content_hash",
    ] {
        assert!(fields.contains(&field), "missing {field} in {fields:?}");
    }
    assert!(
        json["skills"][0].get("system_prompt").is_none(),
        "prompts stay out of the manifest"
    );
    let back: PortableManifest = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, manifest);
}

#[test]
fn manifest_is_stable_between_loads() {
    let a = SkillLoader::with_builtins()
        .load()
        .expect("loads")
        .manifest();
    let b = SkillLoader::with_builtins()
        .load()
        .expect("loads")
        .manifest();
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
}

#[test]
fn catalogue_is_name_and_description_sorted_by_name() {
    let registry = SkillLoader::with_builtins().load().expect("loads");
    let catalogue = registry.catalogue();
    assert_eq!(catalogue.len(), 6);
    assert!(catalogue.windows(2).all(|w| w[0].name < w[1].name));
    let cost = catalogue
        .iter()
        .find(|e| e.name == "cost_optimization")
        .expect("present");
    assert!(cost.description.contains("over-provisioned"));
}
