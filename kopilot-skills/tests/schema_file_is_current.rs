//! The committed JSON Schema matches the one generated from the Rust types.

use kopilot_skills::{skill_schema, skill_schema_json};

#[test]
fn committed_schema_matches_generated() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("skill.schema.json");
    let committed = std::fs::read_to_string(&path).expect("skill.schema.json is committed");
    assert!(
        committed == skill_schema_json(),
        "{} is stale; regenerate it with `cargo run -p kopilot-cli -- skills schema > kopilot-skills/skill.schema.json`",
        path.display()
    );
}

#[test]
fn schema_describes_the_rules() {
    let schema = skill_schema();
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown fields are rejected"
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        required,
        ["name", "display_name", "description", "system_prompt"]
    );
    let props = &schema["properties"];
    assert_eq!(props["name"]["pattern"], "^[a-z][a-z0-9_]*$");
    assert_eq!(props["max_steps"]["minimum"], 1);
    assert_eq!(props["max_steps"]["maximum"], 50);
    assert_eq!(props["max_steps"]["default"], 8);
    assert_eq!(
        props["tools"]["default"],
        serde_json::json!(kopilot_skills::tools::READ_ONLY)
    );
    assert_eq!(props["system_prompt"]["minLength"], 1);
}
