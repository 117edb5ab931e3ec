//! `kopilot skills`: list, show, validate and describe skill definitions.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use kopilot_skills::{
    Diagnostic, Error as SkillsError, LoadReport, RegisteredSkill, SkillLoader, SkillRegistry,
    lint, parse_skill_file, skill_schema_json,
};
use serde_json::json;

use crate::UsageError;

const SKILLS_ABOUT: &str = "\
A skill is a YAML file that turns the general model into a Kubernetes specialist: a system
prompt, a quick reference, the tools it may use and the analyzers it relies on. Six skills are
built in (security, administration, networking, monitoring, troubleshooting,
cost_optimization). Add your own by putting *.yaml files in a directory listed in SKILL_DIRS
(':'-separated; ';' on Windows); a file with a built-in's name replaces it. ENABLED_SKILLS, a
JSON list such as '[\"security\",\"networking\"]', limits which skills are active.";

const SKILLS_EXAMPLES: &str = "\
Examples:
  kopilot skills list
  SKILL_DIRS=./my-skills kopilot skills list --json
  kopilot skills show cost_optimization
  kopilot skills validate ./my-skills ./other/triage.yaml
  kopilot skills schema > skill.schema.json";

/// List, show and validate skills (the YAML definitions of the specialist sub-agents).
#[derive(Debug, Args)]
#[command(long_about = SKILLS_ABOUT, after_help = SKILLS_EXAMPLES)]
pub(crate) struct SkillsArgs {
    #[command(subcommand)]
    command: SkillsCommand,
}

#[derive(Debug, Subcommand)]
enum SkillsCommand {
    /// List the active skills (built-ins plus SKILL_DIRS, limited by ENABLED_SKILLS).
    #[command(after_help = LIST_HELP)]
    List(ListArgs),
    /// Show one skill in full: metadata, system prompt and documentation.
    #[command(after_help = SHOW_HELP)]
    Show(ShowArgs),
    /// Check skill files or directories; print every problem as FILE:LINE:COLUMN.
    #[command(after_help = VALIDATE_HELP)]
    Validate(ValidateArgs),
    /// Print the JSON Schema of the skill file format.
    #[command(after_help = SCHEMA_HELP)]
    Schema,
}

const LIST_HELP: &str = "\
Examples:
  kopilot skills list
  kopilot skills list --all          # include skills that are loaded but not active
  kopilot skills list --json | jq '.skills[].name'

Files in SKILL_DIRS that fail to load are reported on stderr and skipped; overrides of
built-in skills are noted on stderr too. Exit status: 0, or 2 when SKILL_DIRS or
ENABLED_SKILLS cannot be used.";

const SHOW_HELP: &str = "\
Examples:
  kopilot skills show troubleshooting
  kopilot skills show security --json

Exit status: 0, or 2 when the skill is unknown (the known names are listed).";

const VALIDATE_HELP: &str = "\
Examples:
  kopilot skills validate ./skills/triage.yaml
  kopilot skills validate ./skills            # every *.yaml / *.yml file in the directory

Each problem is printed as FILE:LINE:COLUMN: error: MESSAGE (warnings, such as a tool name the
runtime does not provide, are printed but do not fail). Exit status: 0 when every file is
valid, 1 when any file is invalid.";

const SCHEMA_HELP: &str = "\
Point your editor's YAML language server at the schema to get completion and checks:
  kopilot skills schema > skill.schema.json
  # first line of a skill file:
  # yaml-language-server: $schema=./skill.schema.json";

#[derive(Debug, Args)]
struct ListArgs {
    /// Print JSON: the skills, the overrides and any load problems.
    #[arg(long)]
    json: bool,
    /// Include skills that are loaded but not active (disabled, or not in ENABLED_SKILLS).
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The skill's name, e.g. `cost_optimization`.
    name: String,
    /// Print the skill as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Skill files or directories of skill files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Runs a `kopilot skills` subcommand.
pub(crate) fn run(args: &SkillsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &args.command {
        SkillsCommand::List(list) => run_list(list, &mut out),
        SkillsCommand::Show(show) => run_show(show, &mut out),
        SkillsCommand::Validate(validate) => run_validate(validate, &mut out),
        SkillsCommand::Schema => {
            out.write_all(skill_schema_json().as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads skills as the runtime would: built-ins, SKILL_DIRS, ENABLED_SKILLS (from the
/// environment or the configuration file).
fn load_from_env() -> anyhow::Result<SkillRegistry> {
    let loader = crate::settings::Settings::load()?.skill_loader()?;
    loader.load().map_err(|err| match err {
        SkillsError::UnknownEnabledSkills { .. } | SkillsError::InvalidEnvironment { .. } => {
            UsageError(err.to_string()).into()
        }
        other => anyhow::Error::new(other).context("cannot load skills"),
    })
}

/// Overrides and load problems, on stderr so stdout stays clean for pipes.
fn report_to_stderr(report: &LoadReport) {
    for o in &report.overrides {
        eprintln!(
            "note: skill {} from {} overrides the one from {}",
            o.name, o.by, o.replaced
        );
    }
    for diagnostic in &report.diagnostics {
        eprintln!("{diagnostic}");
    }
}

fn run_list(args: &ListArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let registry = load_from_env()?;
    let shown: Vec<&RegisteredSkill> = registry.all().filter(|r| args.all || r.active).collect();
    if args.json {
        let skills: Vec<_> = shown.iter().map(|r| skill_json(r)).collect();
        let report = registry.report();
        let body = json!({
            "skills": skills,
            "overrides": report.overrides,
            "diagnostics": report.diagnostics,
        });
        serde_json::to_writer_pretty(&mut *out, &body)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    report_to_stderr(registry.report());
    if shown.is_empty() {
        writeln!(out, "No active skills (check ENABLED_SKILLS).")?;
        return Ok(ExitCode::SUCCESS);
    }
    let name_width = shown
        .iter()
        .map(|r| r.skill.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let origins: Vec<String> = shown.iter().map(|r| r.origin.to_string()).collect();
    let origin_width = origins.iter().map(String::len).max().unwrap_or(6).max(6);
    let status = |r: &RegisteredSkill| if r.active { "active" } else { "inactive" };
    if args.all {
        writeln!(
            out,
            "{:name_width$}  {:8}  {:origin_width$}  DESCRIPTION",
            "NAME", "STATUS", "SOURCE"
        )?;
    } else {
        writeln!(
            out,
            "{:name_width$}  {:origin_width$}  DESCRIPTION",
            "NAME", "SOURCE"
        )?;
    }
    for (r, origin) in shown.iter().zip(&origins) {
        let description = first_sentence(&r.skill.description);
        if args.all {
            writeln!(
                out,
                "{:name_width$}  {:8}  {origin:origin_width$}  {description}",
                r.skill.name,
                status(r)
            )?;
        } else {
            writeln!(
                out,
                "{:name_width$}  {origin:origin_width$}  {description}",
                r.skill.name
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first sentence of a description, cut to a table-friendly length.
fn first_sentence(text: &str) -> String {
    const MAX_CHARS: usize = 90;
    let sentence = text.split_once(": ").map_or(text, |(head, _)| head);
    let sentence = sentence.split_once(". ").map_or(sentence, |(head, _)| head);
    let sentence = sentence.trim().trim_end_matches('.');
    if sentence.chars().count() <= MAX_CHARS {
        sentence.to_owned()
    } else {
        let cut: String = sentence.chars().take(MAX_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

fn skill_json(r: &RegisteredSkill) -> serde_json::Value {
    let mut value = serde_json::to_value(&r.skill).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("active".into(), json!(r.active));
        map.insert("origin".into(), json!(r.origin.to_string()));
        map.insert("content_hash".into(), json!(r.skill.content_hash()));
    }
    value
}

fn run_show(args: &ShowArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let registry = load_from_env()?;
    let Some(entry) = registry.entry(&args.name) else {
        let known: Vec<&str> = registry.all().map(|r| r.skill.name.as_str()).collect();
        return Err(UsageError(format!(
            "unknown skill {:?}; known skills: {}",
            args.name,
            known.join(", ")
        ))
        .into());
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &skill_json(entry))?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let skill = &entry.skill;
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    writeln!(out, "{} ({})", skill.display_name, skill.name)?;
    writeln!(out, "Source:      {}", entry.origin)?;
    let active = if entry.active {
        "yes"
    } else if skill.enabled {
        "no (not in ENABLED_SKILLS)"
    } else {
        "no (enabled: false)"
    };
    writeln!(out, "Active:      {active}")?;
    writeln!(out, "Tools:       {}", list(&skill.tools))?;
    writeln!(out, "Analyzers:   {}", list(&skill.analyzers))?;
    writeln!(out, "Keywords:    {}", list(&skill.keywords))?;
    writeln!(out, "Max steps:   {}", skill.max_steps)?;
    writeln!(
        out,
        "Model:       {}",
        skill.model.as_deref().unwrap_or("(runtime default)")
    )?;
    writeln!(out, "Hash:        {}", skill.content_hash())?;
    writeln!(
        out,
        "\nDescription\n-----------\n{}",
        skill.description.trim_end()
    )?;
    if !skill.examples.is_empty() {
        writeln!(out, "\nExamples\n--------")?;
        for example in &skill.examples {
            writeln!(out, "- {example}")?;
        }
    }
    writeln!(
        out,
        "\nSystem prompt\n-------------\n{}",
        skill.system_prompt.trim_end()
    )?;
    if let Some(doc) = &skill.documentation {
        writeln!(out, "\nDocumentation\n-------------\n{}", doc.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Per-file verdicts of one `validate` run.
#[derive(Default)]
struct Validation {
    valid: BTreeSet<PathBuf>,
    invalid: BTreeSet<String>,
}

fn run_validate(args: &ValidateArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut validation = Validation::default();
    for path in &args.paths {
        if path.is_dir() {
            validate_dir(path, &mut validation, out)?;
        } else {
            validate_file(path, &mut validation, out)?;
        }
    }
    for path in &validation.valid {
        writeln!(out, "ok: {}", path.display())?;
    }
    let (valid, invalid) = (validation.valid.len(), validation.invalid.len());
    writeln!(
        out,
        "{} file(s) checked: {valid} valid, {invalid} invalid",
        valid + invalid
    )?;
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn validate_file(path: &Path, v: &mut Validation, out: &mut impl Write) -> anyhow::Result<()> {
    let origin = path.display().to_string();
    let diagnostics = match parse_skill_file(path) {
        Ok(skill) => lint(&skill, &origin),
        Err(SkillsError::InvalidSkills { diagnostics }) => diagnostics,
        Err(err) => vec![Diagnostic::error(origin.clone(), error_chain(&err))],
    };
    print_diagnostics(&diagnostics, out)?;
    if diagnostics.iter().any(Diagnostic::is_error) {
        v.invalid.insert(origin);
    } else {
        v.valid.insert(path.to_path_buf());
    }
    Ok(())
}

fn validate_dir(dir: &Path, v: &mut Validation, out: &mut impl Write) -> anyhow::Result<()> {
    // The loader applies every rule, duplicate names across files included.
    let registry = SkillLoader::new()
        .directory(dir)
        .load()
        .with_context(|| format!("cannot validate {}", dir.display()))?;
    let diagnostics = &registry.report().diagnostics;
    print_diagnostics(diagnostics, out)?;
    let failed: BTreeSet<&str> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.origin.as_str())
        .collect();
    v.invalid.extend(failed.iter().map(|o| (*o).to_owned()));
    for entry in registry.all() {
        if let kopilot_skills::SkillOrigin::File(path) = &entry.origin
            && !failed.contains(path.display().to_string().as_str())
        {
            v.valid.insert(path.clone());
        }
    }
    Ok(())
}

fn print_diagnostics(diagnostics: &[Diagnostic], out: &mut impl Write) -> anyhow::Result<()> {
    for diagnostic in diagnostics {
        writeln!(out, "{diagnostic}")?;
    }
    Ok(())
}

fn error_chain(err: &dyn std::error::Error) -> String {
    std::iter::successors(Some(err), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
