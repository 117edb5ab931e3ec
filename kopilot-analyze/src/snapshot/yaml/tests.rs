//! The fast reader against serde-saphyr: wherever the fast reader answers, the answer must
//! be serde-saphyr's; where it is not sure, it must give up rather than guess.

use std::fmt::Write as _;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::from_documents;

const KUBECTL: &str = include_str!("../../../tests/fixtures/kubectl-get-o-yaml.yaml");

/// serde-saphyr's reading of `text`, empty documents left out (as the fast reader does).
fn full(text: &str) -> Option<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).ok()?;
    Some(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn fast(text: &str) -> Option<Vec<Value>> {
    from_documents::<Value>(text)
}

/// The fast reader must read `text` and agree with serde-saphyr.
#[track_caller]
fn agrees(text: &str) -> Vec<Value> {
    let expected = full(text).unwrap_or_else(|| panic!("serde-saphyr rejects:\n{text}"));
    let got = fast(text).unwrap_or_else(|| panic!("the fast reader gave up on:\n{text}"));
    assert_eq!(got, expected, "for:\n{text}");
    got
}

/// The fast reader must leave `text` to serde-saphyr.
#[track_caller]
fn gives_up(text: &str) {
    assert_eq!(fast(text), None, "the fast reader answered for:\n{text}");
}

/// Whatever the text, the fast reader either gives up or agrees with serde-saphyr.
fn never_disagrees(text: &str) -> std::result::Result<(), String> {
    match (fast(text), full(text)) {
        (None, _) => Ok(()),
        (Some(got), Some(expected)) if got == expected => Ok(()),
        (Some(got), expected) => Err(format!(
            "fast: {got:?}\nserde-saphyr: {expected:?}\nfor: {text:?}"
        )),
    }
}

#[test]
fn reads_what_kubectl_writes() {
    let docs = agrees(KUBECTL);
    assert_eq!(docs.len(), 3);
    let items = docs[0]["items"].as_array().unwrap();
    assert!(items.len() > 20, "{} items", items.len());
    // The awkward strings kubectl wrote for the applied Deployment came through.
    let lit = items
        .iter()
        .find(|i| i["metadata"]["name"] == "lit")
        .unwrap();
    let notes = &lit["metadata"]["annotations"];
    assert_eq!(notes["lead"], "  leading spaces\nsecond");
    assert_eq!(notes["note"], "line one\nline two\n  indented three\n");
    assert_eq!(notes["tabby"], "tab\there");
    assert_eq!(notes["uni"], "héllo wörld ✓ 日本");
    assert!(
        notes["long"]
            .as_str()
            .unwrap()
            .ends_with("for a while longer")
    );
    let container = &lit["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["env"][0]["value"], "multi\n\nblank lines\n\n\n");
    assert_eq!(
        container["args"],
        json!([
            "--port=8080",
            "-v",
            "a: b",
            "#hash",
            "- dash",
            "",
            "null",
            "~"
        ])
    );
    // A scheduler message kubectl folded over five lines in single quotes.
    let pending = docs[1]["items"][0]["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap();
    assert!(pending.contains("{node-role.kubernetes.io/control-plane: }, 1 node(s)"));
}

#[test]
fn scalars_are_typed_like_serde_saphyr_or_left_to_it() {
    let sure = [
        "123",
        "-5",
        "0",
        "-0",
        "1.5",
        "-0.25",
        "true",
        "False",
        "TRUE",
        "null",
        "~",
        "",
        "Null",
        "abc",
        "a b",
        "100m",
        "2Gi",
        "10.244.1.5",
        "2026-01-01",
        "nginx:1.25",
        "1e",
        ".",
        "12:30",
        "-v",
        "--port=8080",
        "a#b",
        "http://x/y?z=1",
        "9223372036854775808",
        "'quoted'",
        "'it''s'",
        "\"1\"",
        "\"a\\tb\\u00e9\\x41\"",
        "''",
        "\"\"",
        "{}",
        "[]",
    ];
    for s in sure {
        agrees(&format!("k: {s}\n"));
    }
    let unsure = [
        "0123",
        "007",
        "1e3",
        "1.",
        ".5",
        "+1",
        "0x1F",
        "0o17",
        "0b1",
        ".inf",
        "-.Inf",
        ".nan",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "n",
        "1_000",
        "-9223372036854775809",
        "inf",
        "NaN",
        "18446744073709551616",
    ];
    for s in unsure {
        gives_up(&format!("k: {s}\n"));
    }
}

#[test]
fn folds_multi_line_scalars_like_serde_saphyr() {
    for text in [
        "k: a very long plain\n  value over\n  three lines\nnext: x\n",
        "k: plain with\n\n  an empty line\n",
        "k: plain # with a comment\nj: 'single\n  quoted\n\n\n  lines'\n",
        "k: \"double \\\"quoted\\\"\n  folded \\t\n  and\\\n  joined\"\n",
        "- first\n  folded\n- 'second\n  folded'\n",
        "k:\n  value on its own line\n  and the next\n",
        "k:\n  'quoted on its own line'\n",
    ] {
        agrees(text);
    }
}

#[test]
fn reads_block_scalars_like_serde_saphyr() {
    for text in [
        "k: |\n  a\n  b\nj: x\n",
        "k: |-\n  a\n\n  b\n\n\nj: x\n",
        "k: |+\n  a\n\n\nj: x\n",
        "k: |2-\n    lead\n  x\n",
        "k: |\n\n  after an empty line\n",
        "k: |\n    deeper\n      and more\n    back\n",
        "- |\n  in a list\n- |-\n  strip\n",
        "k: |\nj: empty block\n",
        "k: |\n  # not a comment\n  tab\there\n",
        "a:\n  b: |\n    nested\n  c: d\n",
        // Folded: single breaks between lines of text become spaces.
        "k: >-\n  registry.example/a@sha256:0000\nj: x\n",
        "k: >\n  one\n  two\n\n  three\n\n\n  four\n",
        "k: >\n  text\n    spaced\n  text\n\n    spaced\n\n  end\n",
        "k: >+\n  kept\n\n\nj: x\n",
        "k: >2\n   lead\n  x\n",
        "- >\n  in a\n  list\n",
    ] {
        agrees(text);
    }
}

#[test]
fn reads_block_structure_like_serde_saphyr() {
    for text in [
        // kubectl's sequences at their key's column, and indented ones.
        "a:\n- x\n- z\nb:\n  - 1\n  - 2\n",
        "items:\n- name: a\n  ports:\n  - 80\n  - 443\n  env: []\n- name: b\n  meta: {}\n",
        "- a\n-\n  b: c\n- - \n",
        "a:\nb: ~\nc:\n",
        "'quoted key': 1\n\"dq key\": 2\nk:{\"type\":\"Ready\"}: 3\n.: {}\n",
        "# leading comment\n\na: 1 # trailing\n  # indented comment\nb:   2\n\n# end\n",
        "---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n---\n- 3\n",
        "a:\n  b:\n    c:\n      d: deep\n  e: back\n",
        "list:\n-\n  a: 1\n- b: 2\n  c:\n  - nested\n",
    ] {
        if text.contains("- - ") {
            gives_up(text);
        } else {
            agrees(text);
        }
    }
}

#[test]
fn leaves_everything_else_to_serde_saphyr() {
    for text in [
        // Anchors, aliases, tags, merge keys, flow collections, folded blocks.
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: {b: c}\n",
        "a: [1, 2]\n",
        "? complex\n: key\n",
        "%YAML 1.2\n---\na: 1\n",
        "--- a\n",
        // Tabs, carriage returns, a byte order mark, control characters.
        "a:\tb\n",
        "a:\n\t- b\n",
        "a: b\r\n",
        "\u{feff}a: b\n",
        "a: \"\u{1}\"\n",
        // Duplicate keys, a scalar document, an indented root.
        "a: 1\na: 2\n",
        "just text\n",
        "  a: 1\n",
        // Not YAML.
        "a: b: c\n",
        "a:\n  b\n c: d\n",
        "a: 'unterminated\n",
        "a:\n  - x\n  y: z\n",
        "- a\nb: c\n",
        "a: 1\n  b: 2\n",
        "a: |\n  x\n   \n",
    ] {
        gives_up(text);
        never_disagrees(text).unwrap();
    }
}

#[test]
fn deep_nesting_is_left_to_serde_saphyr() {
    let mut text = String::new();
    for depth in 0..100 {
        text.push_str(&" ".repeat(depth * 2));
        text.push_str("k:\n");
    }
    gives_up(&text);
}

#[test]
fn large_mappings_still_catch_duplicate_keys() {
    let mut text = String::new();
    for i in 0..200 {
        writeln!(text, "key{i}: {i}").unwrap();
    }
    agrees(&text);
    text.push_str("key7: again\n");
    gives_up(&text);
}

/// A few kubectl objects, small enough to mutate many times.
fn sample() -> &'static str {
    let start = KUBECTL
        .find("- apiVersion: apps/v1\n  kind: Deployment")
        .unwrap();
    let rest = &KUBECTL[start..];
    let end = rest
        .find("\n- apiVersion: apps/v1\n  kind: ReplicaSet")
        .unwrap();
    &rest[..end]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Small edits to real kubectl output (a character inserted, deleted or replaced with
    /// one that matters to YAML): the fast reader gives up or agrees, never differs.
    #[test]
    fn edited_kubectl_output_never_reads_differently(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(vec![
            " ", "\n", ":", "-", "#", "'", "\"", "|", "\t", "a", "0", "- ", ": ", "\n  ", "\\",
        ])), 1..4)
    ) {
        let mut text = format!("items:\n{}\n", sample());
        for (at, op, piece) in edits {
            let mut at = at.index(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match op {
                0 => text.insert_str(at, piece),
                1 => {
                    if let Some(c) = text[at..].chars().next() {
                        text.replace_range(at..at + c.len_utf8(), "");
                    }
                }
                _ => {
                    if let Some(c) = text[at..].chars().next() {
                        text.replace_range(at..at + c.len_utf8(), piece);
                    }
                }
            }
        }
        never_disagrees(&text).map_err(TestCaseError::fail)?;
    }

    /// Arbitrary text made of the characters that matter to YAML: no panic, no hang, and
    /// never an answer serde-saphyr would not give.
    #[test]
    fn yaml_like_noise_never_reads_differently(text in "[a-z0-9:\\- #'\"|>\n\t{}\\[\\]&*!%@,?.~\\\\]{0,120}") {
        never_disagrees(&text).map_err(TestCaseError::fail)?;
    }

    /// Plain scalars made of number-ish characters: typed like serde-saphyr or left to it.
    #[test]
    fn number_like_plain_scalars_never_read_differently(s in "[-+._0-9eExXoObB]{1,8}|[a-zA-Z.~]{1,6}") {
        never_disagrees(&format!("k: {s}\nl:\n- {s}\n")).map_err(TestCaseError::fail)?;
    }

    /// Scalars over several lines in every style, with empty lines, comments, escapes and
    /// indentation that is sometimes not deep enough: read like serde-saphyr or left to it.
    #[test]
    fn multi_line_scalars_never_read_differently(
        style in 0..5u8,
        lines in prop::collection::vec(("[a-z #:'\\\"é\t-]{0,12}", 0..3usize, 0..5usize), 1..5),
        nested in any::<bool>(),
    ) {
        let (open, close) = match style {
            0 => ("", ""),
            1 => ("'", "'"),
            2 => ("\"", "\""),
            3 => ("|", ""),
            _ => (">", ""),
        };
        let parent = if nested { "  " } else { "" };
        let mut text = if nested { "outer:\n".to_owned() } else { String::new() };
        text.push_str(parent);
        text.push_str("k: ");
        text.push_str(open);
        for (i, (words, empty_lines, indent)) in lines.iter().enumerate() {
            if i > 0 || style >= 3 {
                text.push_str(&"\n".repeat(1 + empty_lines));
                text.push_str(parent);
                text.push_str(&" ".repeat(*indent));
            }
            let words = match style {
                1 => words.replace('\'', "''"),
                2 => words.replace('"', "\\\""),
                _ => words.clone(),
            };
            text.push_str(&words);
        }
        text.push_str(close);
        text.push('\n');
        text.push_str(parent);
        text.push_str("after: x\n");
        never_disagrees(&text).map_err(TestCaseError::fail)?;
    }

    /// Strings of every kind written by serde-saphyr's own serializer read back the same.
    #[test]
    fn strings_serde_saphyr_writes_read_back(values in prop::collection::vec("(?s).{0,40}", 1..6)) {
        let doc = json!({"values": values, "nested": {"first": values[0]}});
        let text = serde_saphyr::to_string(&doc).unwrap();
        never_disagrees(&text).map_err(TestCaseError::fail)?;
    }
}
