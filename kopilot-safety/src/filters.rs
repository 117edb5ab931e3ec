//! Pure text filters (`grep`, `head`, `jq`, ...): low risk while they only transform their input.
//! File operands are local reads (secrets could reach the model) and output files are writes.

use crate::assess::{CommandAssessment, concat};
use crate::policy::Policy;
use crate::risk::Risk;
use crate::shell::Word;

/// How one filter program reads its arguments.
struct Spec {
    name: &'static str,
    /// Options that take a value.
    value_flags: &'static [&'static str],
    /// Options whose value (or presence) reads local files.
    reading_flags: &'static [&'static str],
    /// Options whose value is written to.
    writing_flags: &'static [&'static str],
    /// Leading operands that are not files (grep's pattern, jq's filter, tr's sets).
    leading_operands: usize,
    /// Options that replace the leading operands (`grep -e`, `jq -f`).
    operand_replacing_flags: &'static [&'static str],
    /// Whether operands after the leading ones are output files rather than inputs.
    operands_are_outputs: bool,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "grep",
        value_flags: &[
            "e",
            "f",
            "m",
            "A",
            "B",
            "C",
            "d",
            "D",
            "regexp",
            "file",
            "max-count",
            "after-context",
            "before-context",
            "context",
            "include",
            "exclude",
            "exclude-dir",
            "label",
            "binary-files",
            "devices",
            "directories",
            "exclude-from",
            "group-separator",
        ],
        reading_flags: &[
            "f",
            "file",
            "r",
            "R",
            "recursive",
            "dereference-recursive",
            "exclude-from",
        ],
        writing_flags: &[],
        leading_operands: 1,
        operand_replacing_flags: &["e", "f", "regexp", "file"],
        operands_are_outputs: false,
    },
    Spec {
        name: "head",
        value_flags: &["n", "c", "lines", "bytes"],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "tail",
        value_flags: &[
            "n",
            "c",
            "lines",
            "bytes",
            "pid",
            "s",
            "sleep-interval",
            "max-unchanged-stats",
        ],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "wc",
        value_flags: &["files0-from"],
        reading_flags: &["files0-from"],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "sort",
        value_flags: &[
            "k",
            "t",
            "S",
            "T",
            "o",
            "key",
            "field-separator",
            "buffer-size",
            "temporary-directory",
            "output",
            "parallel",
            "batch-size",
            "compress-program",
            "random-source",
            "files0-from",
        ],
        reading_flags: &["random-source", "files0-from"],
        writing_flags: &[
            "o",
            "output",
            "T",
            "temporary-directory",
            "compress-program",
        ],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "jq",
        value_flags: &[
            "indent",
            "f",
            "from-file",
            "L",
            "arg",
            "argjson",
            "slurpfile",
            "rawfile",
        ],
        reading_flags: &["f", "from-file", "L", "slurpfile", "rawfile"],
        writing_flags: &[],
        leading_operands: 1,
        operand_replacing_flags: &["f", "from-file"],
        operands_are_outputs: false,
    },
    Spec {
        name: "cut",
        value_flags: &[
            "d",
            "f",
            "c",
            "b",
            "delimiter",
            "fields",
            "characters",
            "bytes",
            "output-delimiter",
        ],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "tr",
        value_flags: &[],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: usize::MAX,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "uniq",
        value_flags: &["f", "s", "w", "skip-fields", "skip-chars", "check-chars"],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "cat",
        value_flags: &[],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "tac",
        value_flags: &["s", "separator"],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "column",
        value_flags: &[
            "s",
            "o",
            "c",
            "N",
            "R",
            "E",
            "W",
            "H",
            "l",
            "d",
            "separator",
            "output-separator",
            "output-width",
            "table-columns",
            "table-right",
            "table-hide",
            "table-wrap",
            "table-name",
        ],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "nl",
        value_flags: &["b", "d", "f", "h", "i", "l", "n", "s", "v", "w"],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: false,
    },
    Spec {
        name: "tee",
        value_flags: &["output-error"],
        reading_flags: &[],
        writing_flags: &[],
        leading_operands: 0,
        operand_replacing_flags: &[],
        operands_are_outputs: true,
    },
];

/// Aliases of filters with the same grammar.
fn spec_for(name: &str) -> Option<&'static Spec> {
    let name = match name {
        "egrep" | "fgrep" => "grep",
        other => other,
    };
    SPECS.iter().find(|s| s.name == name)
}

/// Whether `name` is a text filter (built in, or added by the policy).
pub(crate) fn is_filter(name: &str, policy: &Policy) -> bool {
    spec_for(name).is_some() || policy.read_only_filters().iter().any(|f| f == name)
}

/// Classifies a filter's arguments.
pub(crate) fn classify(a: &mut CommandAssessment, name: &str, args: &[Word]) {
    let Some(spec) = spec_for(name) else {
        // A policy-added filter: trusted to only transform text, but file operands still read.
        a.raise(
            Risk::Low,
            concat(&["`", name, "` is a read-only filter by policy"]),
        );
        return;
    };
    let mut operands: Vec<&Word> = Vec::new();
    let mut replaced = false;
    let mut iter = args.iter();
    let mut options_done = false;
    while let Some(word) = iter.next() {
        let t = word.text.as_str();
        if options_done || t == "-" || !t.starts_with('-') {
            operands.push(word);
            continue;
        }
        if t == "--" {
            options_done = true;
            continue;
        }
        // Each flag of the word as (name, value written inline), without copying either.
        let mut flag = |n: &str, inline: Option<&str>, iter: &mut std::slice::Iter<'_, Word>| {
            let mut value = inline;
            if value.is_none() && spec.value_flags.contains(&n) {
                value = iter.next().map(|w| w.text.as_str());
                // jq's --arg/--argjson/--slurpfile/--rawfile take two values.
                if spec.name == "jq" && matches!(n, "arg" | "argjson" | "slurpfile" | "rawfile") {
                    value = iter.next().map(|w| w.text.as_str());
                }
            }
            if spec.operand_replacing_flags.contains(&n) {
                replaced = true;
            }
            if spec.reading_flags.contains(&n) {
                let what = value.map_or_else(|| format!("-{n}"), |v| format!("`{v}`"));
                a.raise(
                    Risk::High,
                    format!("`{name}` reads local files ({what}), which could expose secrets"),
                );
            }
            if spec.writing_flags.contains(&n) {
                let what = value.unwrap_or("a file");
                a.raise(Risk::High, format!("`{name}` writes to `{what}`"));
            }
        };
        if let Some(long) = t.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => flag(n, Some(v), &mut iter),
                None => flag(long, None, &mut iter),
            }
        } else {
            let cluster = t.get(1..).unwrap_or_default();
            for (i, c) in cluster.char_indices() {
                let n = cluster.get(i..i + c.len_utf8()).unwrap_or_default();
                if spec.value_flags.contains(&n) {
                    let rest = cluster.get(i + c.len_utf8()..).unwrap_or_default();
                    flag(n, (!rest.is_empty()).then_some(rest), &mut iter);
                    break;
                }
                flag(n, None, &mut iter);
            }
        }
    }
    let skip = if replaced { 0 } else { spec.leading_operands };
    for file in operands.into_iter().skip(skip) {
        if spec.operands_are_outputs {
            if !matches!(
                file.text.as_str(),
                "/dev/null" | "/dev/stdout" | "/dev/stderr"
            ) {
                a.raise(
                    Risk::High,
                    format!("`{name}` writes to the file `{}`", file.text),
                );
            }
        } else if name == "uniq" && a.reasons.iter().any(|r| r.contains("reads the local file")) {
            a.raise(
                Risk::High,
                format!("`uniq` writes its output to the file `{}`", file.text),
            );
        } else {
            a.raise(
                Risk::High,
                format!(
                    "`{name}` reads the local file `{}`, which could expose secrets",
                    file.text
                ),
            );
        }
    }
    if a.risk == Risk::Low {
        a.raise(Risk::Low, concat(&["`", name, "` only filters text"]));
    }
}
