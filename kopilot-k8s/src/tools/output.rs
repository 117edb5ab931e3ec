//! What each planned kubectl command may print, and how its output is redacted before the model
//! sees it. The decision reads the guard's own parse of the command ([`parse_argv`]): its
//! verb, flags and [`Exposure`] (Secrets, pod specs, or nothing known to be sensitive).
//!
//! | output | Secrets, kubeconfig, kind unknown | pods and workloads | other kinds |
//! |---|---|---|---|
//! | `-o json`, `-o yaml`, `config view`, `get --raw` JSON | by field | by field | by field |
//! | `-o jsonpath`, `-o custom-columns` | refused | scrubbed (below) | text |
//! | `-o go-template`, `--template`, `*-file` formats | refused | refused | text |
//! | tables, `-o wide`, `-o name`, `describe`, logs | text | text | text |
//!
//! "By field" is [`redact_document`]; Secret-exposed output that does not parse is withheld.
//! "Scrubbed": the tool plans a second read of the same objects with `-o json` (the guard and
//! the audit see it), redacts that by field, and removes every value that redaction removed
//! (raw and JSON-escaped) from the custom print. "Text" is [`redact`], which every output also
//! passes as a second line.
//!
//! Limits, said here so that nobody reads more into it:
//! - Scrubbing removes values of 4 bytes or more ([`MIN_SCRUB_LEN`]): shorter ones cannot be
//!   told apart from the rest of the print.
//! - The JSON read and the custom print are two reads: a value written to the cluster between
//!   them is not known to the scrubber.
//! - A jsonpath filter is evaluated by kubectl on the unredacted objects. Ordering comparisons
//!   (`<`, `>`) are refused, since they reveal a value one comparison at a time; an equality
//!   filter (`?(@.value=="guess")`) still confirms a guessed value. `--sort-by` over an env
//!   value orders rows by it.
//! - Kinds the guard knows nothing sensitive about (ConfigMaps, custom resources) get text
//!   redaction only in custom formats: a value printed bare is not recognised.
//!
//! [`redact`]: crate::redact::redact
//! [`MIN_SCRUB_LEN`]: kopilot_core::safety::redact::MIN_SCRUB_LEN

use kopilot_core::ToolError;
use kopilot_core::safety::redact::{DocumentFormat, RemovedValues, redact_document, redact_output};
use kopilot_core::safety::{CommandAssessment, Exposure, OutputFormat, parse_argv};

/// How one planned command's standard output is redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reading {
    /// Text redaction only.
    Text,
    /// A whole-object format, redacted by field.
    Document(DocumentFormat, Exposure),
    /// A raw API response: by field when it is JSON; otherwise withheld (Secrets) or text.
    Raw(Exposure),
    /// The `-o json` read of the objects a custom print shows; never shown itself.
    Companion,
    /// A custom print, scrubbed of what redaction removed from the companion read.
    Scrubbed,
}

/// One command of a plan and how its output is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) argv: Vec<String>,
    pub(super) reading: Reading,
}

/// The commands a `run_kubectl` call runs (`argv` starts with `kubectl`), each with how its
/// output is read; refused, with a reason the model can act on, when no redaction can see what
/// the output format prints.
pub(super) fn plan_kubectl(argv: Vec<String>) -> Result<Vec<Step>, ToolError> {
    let a = parse_argv(&argv);
    // The kubeconfig (with --raw: its tokens, keys and passwords) is as sensitive as a Secret,
    // and YAML unless asked otherwise.
    let kubeconfig = a.verb.as_deref() == Some("config view");
    let exposure = if kubeconfig {
        Exposure::Secrets
    } else {
        a.exposure
    };
    let shown = a
        .flag("output")
        .and_then(|f| f.value.clone())
        .map_or_else(|| "--template".to_owned(), |o| format!("-o {o}"));
    let reading = if a.flag("raw").is_some_and(|f| f.value.is_some()) {
        Reading::Raw(exposure)
    } else {
        let format = match a.output_format() {
            OutputFormat::Table if kubeconfig => OutputFormat::Document(DocumentFormat::Yaml),
            format => format,
        };
        match (format, exposure) {
            (OutputFormat::Table, _)
            | (
                OutputFormat::Fields
                | OutputFormat::Template
                | OutputFormat::LocalFile(_)
                | OutputFormat::Unknown,
                Exposure::None,
            ) => Reading::Text,
            (OutputFormat::Document(format), exposure) => Reading::Document(format, exposure),
            (
                OutputFormat::Fields
                | OutputFormat::Template
                | OutputFormat::LocalFile(_)
                | OutputFormat::Unknown,
                Exposure::Secrets,
            ) => {
                return Err(ToolError::new(format!(
                    "`{shown}` is refused for Secrets, the kubeconfig, and objects whose kind is \
                     only known at run time (from -f, -k or a type computed at run time): \
                     redaction cannot see what a custom format prints. Use -o json or -o yaml \
                     (Secret data values and credentials are redacted; keys, types and metadata \
                     stay visible), describe (sizes only), or read_resource."
                )));
            }
            (
                OutputFormat::Template | OutputFormat::LocalFile(_) | OutputFormat::Unknown,
                Exposure::PodSpecs,
            ) => {
                return Err(ToolError::new(format!(
                    "`{shown}` is refused for pods and workloads: a template can transform the \
                     values it prints (printf, slice, index, files) past what redaction \
                     recognises, and container env values can be secrets. Use -o jsonpath or -o \
                     custom-columns (values that -o json would redact are removed from their \
                     output), or -o json / -o yaml."
                )));
            }
            (OutputFormat::Fields, Exposure::PodSpecs) => return scrubbed(argv, &a, &shown),
        }
    };
    Ok(vec![Step { argv, reading }])
}

/// A jsonpath or custom-columns read of pods or workloads, planned after a `-o json` read of the
/// same objects.
fn scrubbed(argv: Vec<String>, a: &CommandAssessment, shown: &str) -> Result<Vec<Step>, ToolError> {
    if a.verb.as_deref() != Some("get") {
        return Err(ToolError::new(format!(
            "`{shown}` on pods and workloads is only accepted for `kubectl get`: to check what a \
             custom format prints, the tool reads the same objects again as JSON, which would \
             apply a change twice. Use -o json, -o yaml or -o name."
        )));
    }
    if ["watch", "watch-only"].iter().any(|name| {
        a.flag(name)
            .is_some_and(|f| f.value.as_deref() != Some("false"))
    }) {
        return Err(ToolError::new(format!(
            "`{shown}` on pods and workloads cannot be combined with --watch: what it prints is \
             checked against one JSON read of the same objects, and watched objects change. Use \
             --watch with -o json or -o yaml, or drop --watch."
        )));
    }
    if compares_order(
        a.flag("output")
            .and_then(|f| f.value.as_deref())
            .unwrap_or_default(),
    ) {
        return Err(ToolError::new(format!(
            "`{shown}` is refused: a jsonpath filter that compares with <, >, <= or >= on pods \
             and workloads could reveal a secret env value one comparison at a time. Filter with \
             == on names (e.g. ?(@.name==\"app\")), or use -o json."
        )));
    }
    let mut companion = argv.clone();
    companion.extend(["-o".to_owned(), "json".to_owned()]);
    let check = parse_argv(&companion);
    let same_objects = check.output_format() == OutputFormat::Document(DocumentFormat::Json)
        && check.verb == a.verb
        && check.resources == a.resources
        && check.names == a.names
        && check.namespaces == a.namespaces
        && check.all_namespaces == a.all_namespaces;
    if !same_objects {
        return Err(ToolError::new(format!(
            "`{shown}` on pods and workloads could not be checked (the same read as JSON does \
             not read the same objects); use -o json or -o yaml."
        )));
    }
    Ok(vec![
        Step {
            argv: companion,
            reading: Reading::Companion,
        },
        Step {
            argv,
            reading: Reading::Scrubbed,
        },
    ])
}

/// Whether a jsonpath or custom-columns spec holds a filter with an ordering comparison.
fn compares_order(spec: &str) -> bool {
    let mut rest = spec;
    while let Some(start) = rest.find("?(") {
        let filter = rest.get(start..).unwrap_or_default();
        let end = filter.find(")]").unwrap_or(filter.len());
        if filter.get(..end).unwrap_or_default().contains(['<', '>']) {
            return true;
        }
        rest = filter.get(2..).unwrap_or_default();
    }
    false
}

/// What a companion read left for the custom print it checks.
#[derive(Debug)]
pub(super) enum Check {
    /// Not run yet (a plan without a companion).
    None,
    /// The values to scrub.
    Removed(RemovedValues),
    /// Why the custom print cannot be checked.
    Failed(String),
}

impl Check {
    /// The companion's output read by field.
    pub(super) fn of(stdout: &str, exit_ok: bool, truncated: bool) -> Self {
        if !exit_ok {
            return Self::Failed("the same objects could not be read as JSON".to_owned());
        }
        if truncated {
            return Self::Failed(
                "the same objects read as JSON exceeded the output limit".to_owned(),
            );
        }
        match redact_document(stdout, DocumentFormat::Json, Exposure::PodSpecs) {
            Ok(document) => Self::Removed(document.removed),
            Err(why) => Self::Failed(format!("the same objects read as JSON: {why}")),
        }
    }
}

/// One command's standard output, redacted as its reading says (text redaction follows on the
/// whole tool result).
pub(super) fn redact_stdout(stdout: &str, reading: &Reading, check: &Check) -> String {
    match reading {
        Reading::Text | Reading::Companion => stdout.to_owned(),
        Reading::Document(format, exposure) => redact_output(stdout, *format, *exposure),
        Reading::Raw(exposure) => {
            let trimmed = stdout.trim_start();
            if trimmed.starts_with('{')
                || trimmed.starts_with('[')
                || *exposure == Exposure::Secrets
            {
                redact_output(stdout, DocumentFormat::Json, *exposure)
            } else {
                stdout.to_owned()
            }
        }
        Reading::Scrubbed => match check {
            _ if stdout.trim().is_empty() => stdout.to_owned(),
            Check::Removed(removed) => removed.scrub(stdout).into_owned(),
            Check::Failed(why) => withheld_custom(why),
            Check::None => withheld_custom("no JSON read of the same objects was planned"),
        },
    }
}

fn withheld_custom(why: &str) -> String {
    format!(
        "[output withheld: it prints fields of pods or workloads, whose env values can be \
         secrets, and could not be checked ({why}); narrow the query (one object, -l) or use -o \
         json]\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(line: &str) -> Result<Vec<Step>, String> {
        let mut argv = vec!["kubectl".to_owned()];
        argv.extend(shlex::split(line).unwrap());
        plan_kubectl(argv).map_err(|e| e.message)
    }

    fn reading(line: &str) -> Reading {
        let steps = plan(line).unwrap();
        assert_eq!(steps.len(), 1, "{line}: {steps:?}");
        steps.into_iter().next().unwrap().reading
    }

    #[test]
    fn secrets_only_in_shapes_redaction_understands() {
        for line in [
            "get secret db -n shop -o jsonpath={.data.password}",
            "get secrets -o jsonpath-as-json={.items}",
            "get secret db -o go-template={{.data.password}}",
            "get secret db --template={{.data.password}}",
            "get secret db -o template --template={{.data}}",
            "get secret db -o custom-columns=P:.data.password",
            "get secret db -o jsonpath-file=/tmp/t",
            "get secret/db -o=jsonpath={.data}",
            "get -f secrets.yaml -o jsonpath={.data}",
            "get pods,secrets -o jsonpath={..data}",
        ] {
            let error = plan(line).unwrap_err();
            assert!(error.contains("refused for Secrets"), "{line}: {error}");
            assert!(error.contains("Use -o json or -o yaml"), "{line}: {error}");
        }
        assert_eq!(
            reading("get secret db -o json"),
            Reading::Document(DocumentFormat::Json, Exposure::Secrets)
        );
        assert_eq!(
            reading("get secrets -oyaml"),
            Reading::Document(DocumentFormat::Yaml, Exposure::Secrets)
        );
        for line in [
            "get secrets",
            "get secret db -o wide",
            "get secret db -o name",
            "describe secret db",
        ] {
            assert_eq!(reading(line), Reading::Text, "{line}");
        }
    }

    #[test]
    fn raw_reads_know_what_their_path_reaches() {
        assert_eq!(
            reading("get --raw /api/v1/namespaces/shop/secrets"),
            Reading::Raw(Exposure::Secrets)
        );
        assert_eq!(
            reading("get --raw /api/v1/namespaces/shop/pods/web"),
            Reading::Raw(Exposure::PodSpecs)
        );
        assert_eq!(reading("get --raw /healthz"), Reading::Raw(Exposure::None));
        assert_eq!(
            reading("config view --raw -o json"),
            Reading::Document(DocumentFormat::Json, Exposure::Secrets)
        );
        assert_eq!(
            reading("config view --raw"),
            Reading::Document(DocumentFormat::Yaml, Exposure::Secrets)
        );
        let error = plan("config view --raw -o jsonpath={.users[0].user.token}").unwrap_err();
        assert!(error.contains("the kubeconfig"), "{error}");
    }

    #[test]
    fn custom_prints_of_pods_are_checked_against_a_json_read() {
        let steps =
            plan("get pods -n shop -o jsonpath={.items[*].spec.containers[*].env}").unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].reading, Reading::Companion);
        assert_eq!(
            steps[0].argv.join(" "),
            "kubectl get pods -n shop -o jsonpath={.items[*].spec.containers[*].env} -o json"
        );
        assert_eq!(steps[1].reading, Reading::Scrubbed);
        assert_eq!(
            plan("get deploy web -o custom-columns=N:.metadata.name")
                .unwrap()
                .len(),
            2
        );
        for (line, why) in [
            (
                "get pods -o go-template={{.kind}}",
                "a template can transform",
            ),
            ("get pods --template={{.kind}}", "a template can transform"),
            (
                "get pods -o jsonpath-file=/tmp/t",
                "a template can transform",
            ),
            ("get pods -w -o jsonpath={.metadata.name}", "--watch"),
            (
                "get pods -o jsonpath={.items[*].spec.containers[*].env[?(@.value>\"m\")].name}",
                "one comparison at a time",
            ),
            (
                "create deployment web --image=nginx -o jsonpath={.spec}",
                "only accepted for `kubectl get`",
            ),
        ] {
            let error = plan(line).unwrap_err();
            assert!(error.contains(why), "{line}: {error}");
        }
        assert!(!compares_order("{.items[?(@.name==\"a\")].status}"));
        assert!(compares_order("{.x[?(@.v<=\"a\")]}"));
        // Kinds with nothing known to be sensitive: any kubectl format, text redaction.
        assert_eq!(
            reading("get nodes -o jsonpath={.items[*].metadata.name}"),
            Reading::Text
        );
        assert_eq!(
            reading("get configmaps -o go-template={{.kind}}"),
            Reading::Text
        );
    }

    #[test]
    fn scrubbing_and_withholding() {
        let pods = r#"{"kind":"PodList","items":[{"spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"hunter2-secret"},{"name":"LOG","value":"info"}]}]}}]}"#;
        let check = Check::of(pods, true, false);
        assert_eq!(
            redact_stdout("hunter2-secret info", &Reading::Scrubbed, &check),
            "[REDACTED: credential] info"
        );
        for check in [
            Check::of(pods, false, false),
            Check::of(pods, true, true),
            Check::of("{\"items\": [", true, false),
            Check::None,
        ] {
            let out = redact_stdout("hunter2-secret info", &Reading::Scrubbed, &check);
            assert!(out.starts_with("[output withheld"), "{out}");
        }
        assert_eq!(redact_stdout("", &Reading::Scrubbed, &Check::None), "");
        let raw = redact_stdout(
            "{\"kind\":\"Secret\",\"data\":{\"a\":\"aHVudGVyMg==\"}",
            &Reading::Raw(Exposure::Secrets),
            &Check::None,
        );
        assert!(raw.starts_with("[output withheld"), "{raw}");
        assert_eq!(
            redact_stdout("ok", &Reading::Raw(Exposure::None), &Check::None),
            "ok"
        );
    }
}
