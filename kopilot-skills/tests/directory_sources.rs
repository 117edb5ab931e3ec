//! Skills from directories: overrides, bad files, duplicates, missing
//! directories, strict mode and ConfigMap-style mounts.

mod common;

use common::{fixture, with_captured_logs};
use kopilot_skills::{
    DirectorySource, Error, InlineSource, Severity, Skill, SkillLoader, SkillOrigin, SkillSource,
};

#[test]
fn directory_file_overrides_builtin_and_the_override_is_logged_and_reported() {
    let dir = fixture("override");
    let (registry, logs) = with_captured_logs(|| {
        SkillLoader::with_builtins()
            .directory(&dir)
            .load()
            .expect("loads")
    });

    let security = registry.entry("security").expect("security loaded");
    assert_eq!(security.skill.display_name, "Security (ACME policy)");
    assert_eq!(
        security.origin,
        SkillOrigin::File(dir.join("security.yaml"))
    );
    assert!(security.active);

    let report = registry.report();
    assert_eq!(report.overrides.len(), 1, "{:#?}", report.overrides);
    let o = &report.overrides[0];
    assert_eq!(o.name, "security");
    assert_eq!(o.replaced, SkillOrigin::Builtin);
    assert_eq!(o.by, SkillOrigin::File(dir.join("security.yaml")));
    assert_eq!(
        report.sources,
        [
            "built-in skills".to_owned(),
            format!("directory {}", dir.display())
        ]
    );

    assert!(logs.contains("skill overridden"), "logs: {logs}");
    assert!(logs.contains("skill=security"), "logs: {logs}");
    assert!(logs.contains("replaced=builtin"), "logs: {logs}");

    // New skills from the directory join the built-ins.
    assert_eq!(
        registry.names(),
        [
            "administration",
            "cost_optimization",
            "gitops",
            "monitoring",
            "networking",
            "security",
            "troubleshooting"
        ]
    );
}

#[test]
fn one_bad_file_is_reported_and_skipped_and_the_rest_load() {
    let dir = fixture("mixed");
    let registry = SkillLoader::new()
        .directory(&dir)
        .load()
        .expect("non-strict load succeeds");
    assert_eq!(registry.names(), ["gitops"]);
    let errors: Vec<_> = registry.report().errors().collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0].origin,
        dir.join("broken.yaml").display().to_string()
    );
    assert_eq!((errors[0].line, errors[0].column), (Some(6), Some(8)));
    // notes.txt is not a skill file and is not mentioned at all.
    assert!(
        !registry
            .report()
            .diagnostics
            .iter()
            .any(|d| d.origin.contains("notes.txt"))
    );
}

#[test]
fn strict_mode_turns_a_bad_file_into_an_error() {
    let err = SkillLoader::new()
        .directory(fixture("mixed"))
        .strict(true)
        .load()
        .expect_err("strict");
    let Error::InvalidSkills { diagnostics } = &err else {
        panic!("wrong error: {err:?}")
    };
    assert_eq!(diagnostics.len(), 1);
    let text = err.to_string();
    assert!(
        text.contains("broken.yaml:6:8: error: unclosed bracket"),
        "{text}"
    );
}

#[test]
fn duplicate_names_within_one_source_are_an_error() {
    let dir = fixture("duplicate");
    let registry = SkillLoader::new()
        .directory(&dir)
        .load()
        .expect("non-strict");
    let kept = registry.entry("capacity").expect("first definition kept");
    assert_eq!(kept.origin, SkillOrigin::File(dir.join("first.yaml")));
    let errors: Vec<_> = registry.report().errors().collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0].origin,
        dir.join("second.yaml").display().to_string()
    );
    assert!(
        errors[0]
            .message
            .contains("duplicate skill name \"capacity\""),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].message.contains("first.yaml"),
        "names the other file: {}",
        errors[0]
    );

    let strict = SkillLoader::new().directory(&dir).strict(true).load();
    assert!(matches!(strict, Err(Error::InvalidSkills { .. })));
}

#[test]
fn duplicates_within_an_inline_source_are_caught_too() {
    let skill = Skill::new("twice", "Twice", "Defined twice.", "Prompt.");
    let registry = SkillLoader::new()
        .source(InlineSource::new("embedder", [skill.clone(), skill]))
        .load()
        .expect("non-strict");
    assert_eq!(registry.names(), ["twice"]);
    assert_eq!(registry.report().errors().count(), 1);
}

#[test]
fn same_name_in_different_sources_is_an_override_not_a_duplicate() {
    let a = Skill::new("shared", "A", "From source a.", "Prompt a.");
    let b = Skill::new("shared", "B", "From source b.", "Prompt b.");
    let registry = SkillLoader::new()
        .source(InlineSource::new("a", [a]))
        .source(InlineSource::new("b", [b]))
        .load()
        .expect("loads");
    assert_eq!(registry.get("shared").expect("present").display_name, "B");
    assert!(!registry.report().has_errors());
    assert_eq!(
        registry.report().overrides[0].by,
        SkillOrigin::Custom("b".into())
    );
}

#[test]
fn invalid_skill_from_code_is_skipped_with_a_diagnostic() {
    let bad = Skill::new("ok_name", "Display", "Description", "");
    let registry = SkillLoader::new()
        .source(InlineSource::new("embedder", [bad]))
        .load()
        .expect("non-strict");
    assert!(registry.is_empty());
    let errors: Vec<_> = registry.report().errors().collect();
    assert_eq!(errors[0].origin, "embedder");
    assert!(
        errors[0]
            .message
            .contains("system_prompt: must not be empty"),
        "{}",
        errors[0]
    );
}

#[test]
fn missing_directory_is_a_clear_diagnostic() {
    let missing = fixture("no_such_dir");
    let registry = SkillLoader::with_builtins()
        .directory(&missing)
        .load()
        .expect("non-strict");
    assert_eq!(registry.names().len(), 6, "built-ins still load");
    let errors: Vec<_> = registry.report().errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        format!(
            "{}: error: skill directory does not exist",
            missing.display()
        )
    );

    let strict = SkillLoader::with_builtins()
        .directory(&missing)
        .strict(true)
        .load();
    assert!(
        strict
            .expect_err("strict")
            .to_string()
            .contains("skill directory does not exist")
    );
}

#[test]
fn a_file_where_a_directory_is_expected_is_reported() {
    let load = DirectorySource::new(fixture("unknown_tool.yaml")).load();
    assert!(load.skills.is_empty());
    assert!(
        load.diagnostics[0].message.contains("not a directory"),
        "{:?}",
        load.diagnostics
    );
}

#[test]
fn warnings_do_not_fail_strict_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixture("unknown_tool.yaml"), dir.path().join("typo.yaml")).expect("copy");
    let registry = SkillLoader::new()
        .directory(dir.path())
        .strict(true)
        .load()
        .expect("warnings only");
    assert_eq!(registry.names(), ["typo_tool"]);
    let diagnostics = &registry.report().diagnostics;
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].severity, Severity::Warning);
}

#[test]
fn oversized_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(fixture("override/gitops.yaml")).expect("fixture");
    text.push_str("# ");
    text.push_str(&"x".repeat(1024 * 1024));
    text.push('\n');
    std::fs::write(dir.path().join("huge.yaml"), text).expect("write");
    let load = DirectorySource::new(dir.path()).load();
    assert!(load.skills.is_empty());
    assert!(
        load.diagnostics[0].message.contains("may be at most"),
        "{:?}",
        load.diagnostics
    );
}

#[test]
fn yml_extension_and_uppercase_extension_are_read_and_hidden_files_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gitops = std::fs::read_to_string(fixture("override/gitops.yaml")).expect("fixture");
    std::fs::write(dir.path().join("a.yml"), &gitops).expect("write");
    std::fs::write(
        dir.path().join("b.YAML"),
        gitops.replace("name: gitops", "name: gitops_b"),
    )
    .expect("write");
    std::fs::write(dir.path().join(".hidden.yaml"), "not: [valid").expect("write");
    let registry = SkillLoader::new()
        .directory(dir.path())
        .strict(true)
        .load()
        .expect("loads");
    assert_eq!(registry.names(), ["gitops", "gitops_b"]);
}

/// A mounted ConfigMap: visible files are symlinks into `..data`, itself a
/// symlink to a timestamped directory.
#[cfg(unix)]
#[test]
fn configmap_layout_with_symlinks_loads() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("tempdir");
    let version = dir.path().join("..2026_11_23_10_00_00.000000001");
    std::fs::create_dir(&version).expect("mkdir");
    std::fs::copy(fixture("override/gitops.yaml"), version.join("gitops.yaml")).expect("copy");
    symlink(
        version.file_name().expect("name"),
        dir.path().join("..data"),
    )
    .expect("symlink");
    symlink("..data/gitops.yaml", dir.path().join("gitops.yaml")).expect("symlink");
    let registry = SkillLoader::new()
        .directory(dir.path())
        .strict(true)
        .load()
        .expect("loads");
    assert_eq!(registry.names(), ["gitops"]);
}
