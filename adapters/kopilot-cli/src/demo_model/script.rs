//! The script file of `kopilot demo model`: YAML (JSON is YAML too), read into the fake
//! server's [`Script`], with errors that name the file, the line and column, and the reply.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use kopilot_llm::fake_server::{Reply, Script};
use serde::Deserialize;
use serde_json::{Value, json};
use serde_saphyr::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    routes: Vec<Spanned<RouteFile>>,
}

/// One route: which requests it takes, and its replies in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    name: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    replies: Vec<Spanned<ReplyFile>>,
}

/// One reply, as written: exactly one of `tool`, `calls`, `answer` and `fail`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyFile {
    tool: Option<String>,
    arguments: Option<Value>,
    calls: Option<Vec<CallFile>>,
    text: Option<String>,
    answer: Option<String>,
    fail: Option<u16>,
    message: Option<String>,
    delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallFile {
    tool: String,
    #[serde(default = "no_arguments")]
    arguments: Value,
}

fn no_arguments() -> Value {
    json!({})
}

/// A script file that could not be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScriptError {
    /// `FILE`, `FILE:LINE:COLUMN`, or `FILE:LINE:COLUMN: route N (NAME), reply M`.
    pub(crate) place: String,
    pub(crate) problem: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.problem)
    }
}

impl std::error::Error for ScriptError {}

/// What the script answers, and a summary to print.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) script: Script,
    /// `(route name, marker, replies)`, in order.
    pub(crate) routes: Vec<(String, Option<String>, usize)>,
}

/// Reads and checks the script at `path`.
pub(crate) fn load(path: &Path) -> Result<Loaded, ScriptError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| ScriptError {
        place: shown.clone(),
        problem: format!("could not read the script: {err}"),
    })?;
    parse(&text, &shown)
}

/// Parses the script `text`, read from `origin` (for errors).
pub(crate) fn parse(text: &str, origin: &str) -> Result<Loaded, ScriptError> {
    let file: ScriptFile = serde_saphyr::from_str(text).map_err(|err| yaml_error(&err, origin))?;
    if file.routes.is_empty() {
        return Err(ScriptError {
            place: origin.to_owned(),
            problem: "the script has no routes (see `kopilot demo model --help`)".to_owned(),
        });
    }
    let mut script = Script::new();
    let mut routes = Vec::new();
    let count = file.routes.len();
    for (index, route) in file.routes.into_iter().enumerate() {
        let number = index + 1;
        let name = route
            .value
            .name
            .clone()
            .unwrap_or_else(|| format!("route {number}"));
        let at_route = |problem: String| ScriptError {
            place: format!(
                "{}: route {number} ({name})",
                position(origin, &route.referenced)
            ),
            problem,
        };
        let replies = route
            .value
            .replies
            .iter()
            .enumerate()
            .map(|(i, reply)| {
                reply_of(&reply.value).map_err(|problem| ScriptError {
                    place: format!(
                        "{}: route {number} ({name}), reply {}",
                        position(origin, &reply.referenced),
                        i + 1
                    ),
                    problem,
                })
            })
            .collect::<Result<Vec<Reply>, ScriptError>>()?;
        match &route.value.marker {
            Some(marker) if marker.is_empty() => {
                return Err(at_route(
                    "the marker is empty; leave `marker` out for a route that takes every request"
                        .to_owned(),
                ));
            }
            Some(marker) => script = script.route(&name, marker, replies),
            None if number < count => {
                return Err(at_route(format!(
                    "a route without a marker takes every request, so the {} after it would \
                     never answer; put it last",
                    if count - number == 1 {
                        "route".to_owned()
                    } else {
                        format!("{} routes", count - number)
                    }
                )));
            }
            None => script = script.any_named(&name, replies),
        }
        routes.push((name, route.value.marker, route.value.replies.len()));
    }
    Ok(Loaded { script, routes })
}

/// The reply `file` describes, or what is wrong with it.
fn reply_of(file: &ReplyFile) -> Result<Reply, String> {
    let given: Vec<&str> = [
        ("tool", file.tool.is_some()),
        ("calls", file.calls.is_some()),
        ("answer", file.answer.is_some()),
        ("fail", file.fail.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    let misplaced = |key: &str, set: bool, with: &str| {
        if set {
            Err(format!("`{key}` goes with {with} only"))
        } else {
            Ok(())
        }
    };
    misplaced(
        "arguments",
        file.arguments.is_some() && file.tool.is_none(),
        "`tool`",
    )?;
    misplaced(
        "text",
        file.text.is_some() && file.tool.is_none() && file.calls.is_none(),
        "`tool` or `calls` (an answer's text is `answer`)",
    )?;
    misplaced(
        "message",
        file.message.is_some() && file.fail.is_none(),
        "`fail`",
    )?;
    let reply = match (given.as_slice(), file) {
        (
            ["tool"],
            ReplyFile {
                tool: Some(tool),
                arguments,
                ..
            },
        ) => Reply::tool_call(tool, arguments.clone().unwrap_or_else(no_arguments)),
        (
            ["calls"],
            ReplyFile {
                calls: Some(calls), ..
            },
        ) => {
            if calls.is_empty() {
                return Err("`calls` is empty; give at least one tool call".to_owned());
            }
            Reply::tool_calls(calls.iter().map(|c| (c.tool.as_str(), c.arguments.clone())))
        }
        (
            ["answer"],
            ReplyFile {
                answer: Some(answer),
                ..
            },
        ) => Reply::text(answer.clone()),
        (
            ["fail"],
            ReplyFile {
                fail: Some(status),
                message,
                ..
            },
        ) => {
            if !(400..=599).contains(status) {
                return Err(format!(
                    "`fail: {status}` is not an HTTP error status (400 to 599)"
                ));
            }
            let kind = if *status >= 500 {
                "server_error"
            } else {
                "invalid_request_error"
            };
            let message = message
                .clone()
                .unwrap_or_else(|| format!("scripted failure (HTTP {status})"));
            Reply::error(*status, &message, kind, None)
        }
        ([], _) => {
            return Err(
                "say what to reply: `tool` (with `arguments`), `calls`, `answer` or `fail`"
                    .to_owned(),
            );
        }
        _ => {
            return Err(format!(
                "give one of `tool`, `calls`, `answer` and `fail`, not {}",
                given
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
    };
    let reply = match &file.text {
        Some(text) => reply.with_text(text.clone()),
        None => reply,
    };
    Ok(match file.delay_ms {
        Some(ms) => reply.after(Duration::from_millis(ms)),
        None => reply,
    })
}

/// `origin:LINE:COLUMN`, or `origin` when the position is unknown.
fn position(origin: &str, location: &serde_saphyr::Location) -> String {
    match (location.line(), location.column()) {
        (0, _) => origin.to_owned(),
        (line, column) => format!("{origin}:{line}:{column}"),
    }
}

fn yaml_error(err: &serde_saphyr::Error, origin: &str) -> ScriptError {
    let message = err.without_snippet().to_string();
    let Some(location) = err.location() else {
        return ScriptError {
            place: origin.to_owned(),
            problem: message,
        };
    };
    // The library appends the position to its message; we print it in front instead.
    let suffix = format!(" at line {}, column {}", location.line(), location.column());
    ScriptError {
        place: position(origin, &location),
        problem: message.strip_suffix(&suffix).unwrap_or(&message).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{ScriptError, parse};

    fn error(yaml: &str) -> ScriptError {
        parse(yaml, "s.yaml").expect_err("the script should be refused")
    }

    #[test]
    fn the_help_example_parses_into_its_routes() {
        let loaded = parse(super::super::EXAMPLE, "help").unwrap();
        let names: Vec<(&str, Option<&str>, usize)> = loaded
            .routes
            .iter()
            .map(|(n, m, r)| (n.as_str(), m.as_deref(), *r))
            .collect();
        assert_eq!(
            names,
            [
                ("supervisor", Some("leads a team of specialists"), 2),
                ("troubleshooting", Some("troubleshooting specialist"), 3),
                ("route 3", None, 1),
            ]
        );
    }

    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../../README.md");
        let example = readme
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the README has a YAML example");
        let loaded = parse(example, "README.md").unwrap();
        assert_eq!(loaded.routes.len(), 3);
    }

    #[test]
    fn json_is_accepted_too() {
        let loaded = parse(
            r#"{"routes": [{"replies": [{"tool": "run_kubectl", "arguments": {"args": ["get", "pods"]}}, {"answer": "ok"}]}]}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(loaded.routes, [("route 1".to_owned(), None, 2)]);
    }

    #[test]
    fn a_yaml_error_names_the_file_line_and_column() {
        let e = error("routes:\n  - replies:\n      - answer: hi\n        colour: blue\n");
        assert_eq!(e.place, "s.yaml:4:9", "{e}");
        assert!(e.problem.contains("colour"), "{e}");
        let e = error("routes: [\n");
        assert!(e.place.starts_with("s.yaml:"), "{e}");
    }

    #[test]
    fn a_bad_reply_is_named_by_route_and_number_with_its_position() {
        let script = "routes:\n  - name: sup\n    marker: lead\n    replies:\n      - answer: a\n      - answer: b\n        tool: run_kubectl\n";
        let e = error(script);
        assert_eq!(e.place, "s.yaml:6:9: route 1 (sup), reply 2", "{e}");
        assert!(
            e.problem.contains("not `tool` and `answer`"),
            "{}",
            e.problem
        );
        for (reply, problem) in [
            ("{}", "say what to reply"),
            ("{fail: 200}", "not an HTTP error status"),
            ("{answer: x, text: y}", "`text` goes with `tool` or `calls`"),
            ("{answer: x, message: y}", "`message` goes with `fail`"),
            ("{answer: x, arguments: {}}", "`arguments` goes with `tool`"),
            ("{calls: []}", "`calls` is empty"),
        ] {
            let e = error(&format!("routes:\n  - replies:\n      - {reply}\n"));
            assert_eq!(e.place, "s.yaml:3:9: route 1 (route 1), reply 1", "{e}");
            assert!(e.problem.contains(problem), "{reply}: {e}");
        }
    }

    #[test]
    fn routes_that_could_never_answer_are_refused() {
        let e = error("routes:\n  - replies: []\n  - marker: x\n");
        assert_eq!(e.place, "s.yaml:2:5: route 1 (route 1)", "{e}");
        assert!(e.problem.contains("put it last"), "{e}");
        let e = error("routes:\n  - marker: \"\"\n");
        assert!(e.problem.contains("marker is empty"), "{e}");
        let e = error("routes: []\n");
        assert_eq!(e.place, "s.yaml");
        assert!(e.problem.contains("no routes"), "{e}");
    }
}
