//! Every problem in a skill file is reported with its file, line and column.

mod common;

use common::{fixture, fixture_text};
use kopilot_skills::{
    Diagnostic, Error, Severity, Skill, lint, parse_skill, parse_skill_file, tools,
};
use proptest::prelude::*;

fn single_error(relative: &str) -> Diagnostic {
    let path = fixture(relative);
    match parse_skill_file(&path) {
        Err(Error::InvalidSkills { mut diagnostics }) => {
            assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
            let diagnostic = diagnostics.remove(0);
            assert_eq!(diagnostic.origin, path.display().to_string());
            assert_eq!(diagnostic.severity, Severity::Error);
            diagnostic
        }
        other => panic!("{relative}: expected InvalidSkills, got {other:?}"),
    }
}

fn assert_at(d: &Diagnostic, line: u64, column: u64, needle: &str) {
    assert_eq!((d.line, d.column), (Some(line), Some(column)), "{d}");
    assert!(
        d.message.contains(needle),
        "{:?} does not contain {needle:?}",
        d.message
    );
}

#[test]
fn malformed_yaml_names_line_and_column() {
    let d = single_error("invalid/unterminated_quote.yaml");
    assert_at(&d, 3, 14, "unclosed quote");
    let d = single_error("mixed/broken.yaml");
    assert_at(&d, 6, 8, "unclosed bracket");
    // The rendered form is what terminals and editors link.
    assert!(
        d.to_string()
            .ends_with("mixed/broken.yaml:6:8: error: unclosed bracket '['"),
        "{d}"
    );
}

#[test]
fn unknown_field_is_an_error_not_silently_dropped() {
    let d = single_error("invalid/unknown_field.yaml");
    assert_at(&d, 6, 1, "unknown field `max_step`");
    assert!(
        d.message.contains("max_steps"),
        "lists the accepted fields: {}",
        d.message
    );
}

#[test]
fn empty_prompt_is_an_error() {
    let d = single_error("invalid/empty_prompt.yaml");
    assert_at(&d, 4, 16, "system_prompt: must not be empty");
}

#[test]
fn name_must_be_a_lowercase_identifier() {
    let d = single_error("invalid/bad_name.yaml");
    assert_at(&d, 1, 7, "name: \"Cost-Optimizer\" is not an identifier");
}

#[test]
fn max_steps_is_bounded() {
    let d = single_error("invalid/max_steps_too_high.yaml");
    assert_at(&d, 6, 12, "max_steps: 500 is out of range: use 1 to 50");
}

#[test]
fn missing_required_field_is_named() {
    let d = single_error("invalid/missing_prompt.yaml");
    assert!(d.message.contains("missing field `system_prompt`"), "{d}");
    assert!(d.line.is_some());
}

#[test]
fn analyzer_ids_must_be_dotted() {
    let d = single_error("invalid/bad_analyzer.yaml");
    assert_at(&d, 7, 3, "\"overprovisioned\" is not an analyzer id");
}

#[test]
fn empty_file_is_an_error() {
    let d = parse_skill("# only a comment\n", "empty.yaml").expect_err("empty is invalid");
    assert_eq!(d.origin, "empty.yaml");
    assert!(d.message.contains("the file is empty"), "{d}");
}

#[test]
fn two_documents_in_one_file_are_an_error() {
    let text = format!(
        "{}---\n{}",
        fixture_text("override/gitops.yaml"),
        fixture_text("override/gitops.yaml")
    );
    let d = parse_skill(&text, "two.yaml").expect_err("one skill per file");
    assert!(d.message.contains("multiple YAML documents"), "{d}");
}

#[test]
fn unreadable_file_is_an_error_naming_the_path() {
    let err = parse_skill_file(&fixture("does/not/exist.yaml")).expect_err("missing");
    assert!(matches!(err, Error::Read { .. }));
    assert!(err.to_string().contains("does/not/exist.yaml"), "{err}");
}

#[test]
fn non_utf8_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"name: caf\xe9\n").expect("write");
    let err = parse_skill_file(&path).expect_err("not UTF-8");
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn defaults_apply_when_optional_fields_are_absent() {
    let skill = parse_skill_file(&fixture("override/gitops.yaml")).expect("valid");
    assert_eq!(skill.tools, tools::READ_ONLY);
    assert_eq!(skill.max_steps, kopilot_skills::DEFAULT_MAX_STEPS);
    assert!(skill.enabled);
    assert_eq!(skill.documentation, None);
    assert_eq!(skill.model, None);
    assert!(skill.analyzers.is_empty());
    assert_eq!(skill.examples, ["Which deployments drifted from Git?"]);
}

#[test]
fn unknown_tool_is_a_warning_not_an_error() {
    let path = fixture("unknown_tool.yaml");
    let skill = parse_skill_file(&path).expect("well-formed");
    let diagnostics = lint(&skill, "unknown_tool.yaml");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.severity, Severity::Warning);
    assert!(
        d.message.contains("\"run_kubctl\" is not a built-in tool"),
        "{d}"
    );
}

#[test]
fn skills_built_in_code_meet_the_same_rules() {
    let mut skill = Skill::new("Bad Name", "X", "", "   ");
    skill.max_steps = 0;
    skill.tools = vec!["analyze".into(), "analyze".into()];
    skill.keywords = vec!["Cost".into(), "cost".into()];
    let problems = skill.validate().expect_err("invalid");
    let text = problems.join("\n");
    for needle in [
        "name: \"Bad Name\" is not an identifier",
        "description: must not be empty",
        "system_prompt: must not be empty",
        "max_steps: 0 is out of range",
        "tool \"analyze\" is listed twice",
        "keyword \"cost\" is listed twice",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let errors = lint(&skill, "code");
    assert_eq!(
        errors
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
        problems.len()
    );
    assert!(
        Skill::new("ok_name", "Ok", "Does things.", "Prompt.")
            .validate()
            .is_ok()
    );
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = parse_skill(&text, "fuzz.yaml");
    }

    #[test]
    fn mutated_builtin_never_panics(cut in 0usize..4000, insert in "[\\[\\]{}:'\"\\-#|> \n]{0,3}") {
        let yaml = kopilot_skills::builtin_skill_yaml("troubleshooting").expect("built in");
        let cut = cut.min(yaml.len());
        let cut = (0..=cut).rev().find(|i| yaml.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{insert}{}", &yaml[..cut], &yaml[cut..]);
        if let Err(d) = parse_skill(&mutated, "mutated.yaml") {
            prop_assert!(!d.message.is_empty());
        }
    }
}

#[test]
fn readme_example_is_a_valid_skill() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let start = readme.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("closed block");
    let skill = parse_skill(&readme[start..end], "README.md").expect("README example is valid");
    assert_eq!(skill.name, "gitops");
    assert!(lint(&skill, "README.md").is_empty());
}
