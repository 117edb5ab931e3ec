//! SKILL_DIRS and ENABLED_SKILLS, read through a lookup closure (no process env mutation).

mod common;

use common::{env, fixture};
use kopilot_skills::{Error, SkillLoader, parse_enabled_skills, parse_skill_dirs};

fn dirs(paths: &[std::path::PathBuf]) -> String {
    std::env::join_paths(paths)
        .expect("joinable")
        .into_string()
        .expect("utf-8")
}

#[test]
fn skill_dirs_adds_directories_in_order() {
    let value = dirs(&[fixture("override"), fixture("duplicate")]);
    let loader = SkillLoader::from_lookup(env(&[("SKILL_DIRS", value)])).expect("valid env");
    let registry = loader.load().expect("loads");
    assert!(registry.get("gitops").is_some());
    assert!(registry.get("capacity").is_some());
    assert_eq!(registry.report().sources.len(), 3);
    assert_eq!(registry.report().overrides.len(), 1);
}

#[test]
fn skill_dirs_separator_follows_the_platform() {
    let sep = if cfg!(windows) { ';' } else { ':' };
    let parsed = parse_skill_dirs(&format!("/a{sep}{sep}/b/c{sep}"));
    assert_eq!(
        parsed,
        [
            std::path::PathBuf::from("/a"),
            std::path::PathBuf::from("/b/c")
        ]
    );
}

#[test]
fn missing_directory_in_skill_dirs_is_reported() {
    let value = fixture("not_there").display().to_string();
    let registry = SkillLoader::from_lookup(env(&[("SKILL_DIRS", value.clone())]))
        .expect("valid env")
        .load()
        .expect("non-strict");
    let errors: Vec<_> = registry.report().errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].origin, value);
}

#[test]
fn enabled_skills_limits_the_active_set() {
    let lookup = env(&[("ENABLED_SKILLS", r#"["security", "networking"]"#.to_owned())]);
    let registry = SkillLoader::from_lookup(lookup)
        .expect("valid")
        .load()
        .expect("loads");
    assert_eq!(registry.names(), ["networking", "security"]);
    assert!(
        registry.get("cost_optimization").is_none(),
        "inactive skills are not looked up"
    );
    let inactive = registry.entry("cost_optimization").expect("still loaded");
    assert!(!inactive.active);
    assert_eq!(registry.all().count(), 6);
    assert_eq!(registry.catalogue().len(), 2);
    assert_eq!(registry.manifest().skills.len(), 2);
    assert!(
        registry.route("reduce our cloud costs", 3).is_empty(),
        "inactive skills are not routed"
    );
}

#[test]
fn enabled_skills_can_name_directory_skills() {
    let lookup = env(&[
        ("SKILL_DIRS", fixture("override").display().to_string()),
        ("ENABLED_SKILLS", r#"["gitops"]"#.to_owned()),
    ]);
    let registry = SkillLoader::from_lookup(lookup)
        .expect("valid")
        .load()
        .expect("loads");
    assert_eq!(registry.names(), ["gitops"]);
}

#[test]
fn empty_list_disables_everything_and_blank_means_unset() {
    let none =
        SkillLoader::from_lookup(env(&[("ENABLED_SKILLS", "[]".to_owned())])).expect("valid");
    assert!(none.load().expect("loads").is_empty());
    let blank =
        SkillLoader::from_lookup(env(&[("ENABLED_SKILLS", "  ".to_owned())])).expect("valid");
    assert_eq!(blank.load().expect("loads").names().len(), 6);
}

#[test]
fn bad_json_in_enabled_skills_is_an_error_naming_the_variable() {
    for value in [
        "security,networking",
        r#"{"security": true}"#,
        "[\"security\"",
    ] {
        let err = SkillLoader::from_lookup(env(&[("ENABLED_SKILLS", value.to_owned())]))
            .expect_err("invalid value");
        assert!(
            matches!(&err, Error::InvalidEnvironment { variable, .. } if variable == "ENABLED_SKILLS")
        );
        let text = err.to_string();
        assert!(
            text.starts_with("environment variable ENABLED_SKILLS: expected a JSON list"),
            "{text}"
        );
    }
    let err = parse_enabled_skills(r#"["Security"]"#).expect_err("not an identifier");
    assert!(
        err.to_string().contains("\"Security\" is not a skill name"),
        "{err}"
    );
}

#[test]
fn unknown_name_in_enabled_skills_is_an_error_listing_known_names() {
    let lookup = env(&[("ENABLED_SKILLS", r#"["security", "finops"]"#.to_owned())]);
    let err = SkillLoader::from_lookup(lookup)
        .expect("parses")
        .load()
        .expect_err("finops is unknown");
    let Error::UnknownEnabledSkills { unknown, known, .. } = &err else {
        panic!("wrong error {err:?}")
    };
    assert_eq!(unknown, &["finops"]);
    assert_eq!(known.len(), 6);
    let text = err.to_string();
    assert!(
        text.starts_with("environment variable ENABLED_SKILLS names unknown skill(s): finops"),
        "{text}"
    );
    assert!(
        text.contains("known skills: administration, cost_optimization"),
        "{text}"
    );
}

#[test]
fn unknown_enabled_skill_mentions_files_that_were_skipped() {
    let lookup = env(&[
        ("SKILL_DIRS", fixture("mixed").display().to_string()),
        ("ENABLED_SKILLS", r#"["half_written"]"#.to_owned()),
    ]);
    let err = SkillLoader::from_lookup(lookup)
        .expect("parses")
        .load()
        .expect_err("skipped skill");
    assert!(err.to_string().contains("broken.yaml:6:8"), "{err}");
}

#[test]
fn code_list_replaces_the_environment_list() {
    let lookup = env(&[("ENABLED_SKILLS", r#"["security"]"#.to_owned())]);
    let registry = SkillLoader::from_lookup(lookup)
        .expect("valid")
        .enabled_skills(["monitoring"])
        .load()
        .expect("loads");
    assert_eq!(registry.names(), ["monitoring"]);
    let err = SkillLoader::with_builtins()
        .enabled_skills(["nope"])
        .load()
        .expect_err("unknown");
    assert!(
        err.to_string()
            .starts_with("the enabled skills list names unknown skill(s): nope"),
        "{err}"
    );
}

#[test]
fn enabled_false_in_the_file_keeps_a_skill_inactive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("override/gitops.yaml")).expect("fixture");
    std::fs::write(
        dir.path().join("gitops.yaml"),
        format!("{text}enabled: false\n"),
    )
    .expect("write");
    let registry = SkillLoader::new()
        .directory(dir.path())
        .load()
        .expect("loads");
    assert!(registry.get("gitops").is_none());
    assert!(!registry.entry("gitops").expect("loaded").active);
}
