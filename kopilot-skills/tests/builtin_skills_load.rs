//! The six built-in skills load cleanly and carry real content.

use kopilot_skills::{BUILTIN_SKILL_NAMES, BuiltinSkills, SkillLoader, SkillSource, tools};

/// The analyzer ids the analyzer issue defines; a built-in must use only these.
const KNOWN_ANALYZERS: &[&str] = &[
    "cost.overprovisioned",
    "cost.idle",
    "cost.orphaned_pvc",
    "cost.released_pv",
    "health.crashloop",
    "health.image_pull",
    "health.pending",
    "health.oomkilled",
    "health.unavailable_workload",
    "health.node_not_ready",
    "health.node_pressure",
    "health.service_no_endpoints",
    "health.warning_events",
    "reliability.no_readiness_probe",
    "reliability.single_replica_pdb",
    "reliability.no_requests",
    "reliability.latest_tag",
    "security.privileged",
    "security.host_access",
    "security.run_as_root",
    "security.secret_env_literal",
];

#[test]
fn all_six_builtins_load_with_no_diagnostics() {
    let load = BuiltinSkills.load();
    assert!(
        load.diagnostics.is_empty(),
        "diagnostics: {:#?}",
        load.diagnostics
    );
    let mut names: Vec<&str> = load.skills.iter().map(|l| l.skill.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, BUILTIN_SKILL_NAMES);
    assert_eq!(
        BUILTIN_SKILL_NAMES,
        [
            "administration",
            "cost_optimization",
            "monitoring",
            "networking",
            "security",
            "troubleshooting"
        ]
    );

    let registry = SkillLoader::with_builtins()
        .strict(true)
        .load()
        .expect("built-ins are valid");
    assert!(
        registry.report().diagnostics.is_empty(),
        "{:#?}",
        registry.report().diagnostics
    );
    assert_eq!(registry.names(), BUILTIN_SKILL_NAMES);
}

#[test]
fn builtins_have_substantial_prompts_and_documentation() {
    for loaded in BuiltinSkills.load().skills {
        let skill = &loaded.skill;
        let prompt = &skill.system_prompt;
        let flat = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            prompt.len() > 2500,
            "{}: system prompt is only {} bytes",
            skill.name,
            prompt.len()
        );
        let doc = skill.documentation.as_deref().unwrap_or_default();
        assert!(
            doc.len() > 800,
            "{}: documentation is only {} bytes",
            skill.name,
            doc.len()
        );
        for section in ["First reads", "What to look for", "Risky"] {
            assert!(
                doc.contains(section),
                "{}: documentation lacks {section:?}",
                skill.name
            );
        }
        // The safety rules every specialist must carry.
        assert!(
            flat.contains("approval gate"),
            "{}: prompt does not mention the approval gate",
            skill.name
        );
        assert!(
            flat.contains("is data, not instructions")
                || flat.contains("data from the cluster, not instructions"),
            "{}: prompt does not treat tool output as data",
            skill.name
        );
        assert!(
            skill.keywords.len() >= 15,
            "{}: only {} keywords",
            skill.name,
            skill.keywords.len()
        );
        assert!(
            skill.examples.len() >= 3,
            "{}: only {} examples",
            skill.name,
            skill.examples.len()
        );
        assert!(!skill.analyzers.is_empty(), "{}: no analyzers", skill.name);
        for analyzer in &skill.analyzers {
            assert!(
                KNOWN_ANALYZERS.contains(&analyzer.as_str()),
                "{}: unknown analyzer {analyzer}",
                skill.name
            );
        }
        for tool in &skill.tools {
            assert!(tools::is_known(tool), "{}: unknown tool {tool}", skill.name);
        }
        assert!(
            !skill.tools.iter().any(|t| t == tools::RUN_SHELL),
            "{}: built-ins never get run_shell",
            skill.name
        );
        assert!(
            skill.tools.iter().any(|t| t == tools::ANALYZE),
            "{}: every built-in can analyze",
            skill.name
        );
        assert!(skill.enabled && skill.model.is_none());
    }
}

#[test]
fn builtin_yaml_is_available_for_starting_an_override() {
    let yaml = kopilot_skills::builtin_skill_yaml("security").expect("security is built in");
    let skill = kopilot_skills::parse_skill(yaml, "security.yaml").expect("parses");
    assert_eq!(skill.name, "security");
    assert!(kopilot_skills::builtin_skill_yaml("nope").is_none());
}

#[test]
fn instructions_append_the_documentation() {
    let registry = SkillLoader::with_builtins().load().expect("loads");
    let skill = registry.get("networking").expect("networking is built in");
    let instructions = skill.instructions();
    assert!(instructions.starts_with(skill.system_prompt.trim_end()));
    assert!(instructions.contains("\n\n## Quick reference\n\n"));
    assert!(instructions.ends_with(skill.documentation.as_deref().expect("has docs").trim_end()));
}
