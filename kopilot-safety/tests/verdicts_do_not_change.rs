//! Every verdict stays exactly as it is while the guard is made faster: a fixed corpus (every
//! table case, every critical command behind every indirection, every read joined to every
//! mutation, and thousands of generated plain and shell-flavoured lines) is assessed, and each
//! whole assessment (decision, risk, reasons, and every command's parse) must hash to what it
//! hashed to when the fixture was written.
//!
//! The fixture changes only when a verdict is meant to change, reviewed as such: run with
//! `KOPILOT_WRITE_VERDICT_DIGESTS=1` to rewrite it, and say why in the commit.

mod common;

use kopilot_safety::{Guard, Policy, audit::sha256_hex};

const FIXTURE: &str = "tests/fixtures/verdict_digests.txt";

/// Words the generated lines are made of: plain words the fast path takes, and shell syntax.
const PLAIN: &[&str] = &[
    "kubectl",
    "get",
    "delete",
    "pods",
    "-n",
    "kube-system",
    "-nshop",
    "--namespace=x",
    "-A",
    "|",
    "grep",
    "-v",
    "'a b'",
    "\"c d\"",
    "sh",
    "-c",
    "'kubectl delete pod x'",
    "curl",
    "bash",
    "rm",
    "-rf",
    "/",
    "helm",
    "uninstall",
    "xargs",
    "sudo",
    "env",
    "timeout",
    "5",
    "jq",
    ".",
    "file.txt",
    "tee",
    "out",
    "a''b",
    "--dry-run=server",
    "x=1",
    "''",
    "/usr/bin/kubectl",
    "./kubectl",
    "-o",
    "yaml",
    "watch",
    "eval",
    "secret",
    "json",
    "jsonpath={.data}",
    "--raw",
    "/api/v1/namespaces/kube-system",
    "ns",
    "--all",
    "-l",
    "app=web",
    "apply",
    "-f",
    "-",
    "describe",
    "logs",
    "--tail",
    "10",
    "scale",
    "--replicas=0",
    "deploy/web",
    "create",
    "--from-literal=password=x",
    "echo",
    "kustomize",
    "https://x/y",
    "--post-renderer",
    "template",
    "web",
    "./chart",
    "cat",
    "head",
    "-20",
    "wc",
    "-l",
    "sort",
];
const SHELL: &[&str] = &[
    "kubectl",
    "get",
    "delete",
    "-n",
    "kube-system",
    "|",
    ";",
    "&&",
    "||",
    "&",
    "$(",
    ")",
    "`",
    "'",
    "\"",
    "\\",
    "<<EOF",
    "EOF",
    ">",
    "<",
    "2>&1",
    "sh",
    "-c",
    "{",
    "}",
    "(",
    ")",
    "$x",
    "${y:-z}",
    "$((1+2))",
    "\n",
    "#",
    "*",
    "~",
    "xargs",
    "env",
    "sudo",
    "if",
    "then",
    "fi",
    "for",
    "do",
    "done",
    "case",
    "esac",
    "[[",
    "]]",
    "!",
    "=",
    "a=b",
    "ns",
    "echo",
    "rm",
    "-rf",
    "/",
    "alias",
    "k=kubectl",
    "k",
    "trap",
    "EXIT",
    "eval",
    "<<<",
    "{a,b}",
    "$'\\x41'",
    "k?bectl",
];

/// A small deterministic generator (the corpus must be the same on every run and machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap_or(0) % below
    }
}

fn corpus() -> Vec<String> {
    use common::cases::*;
    let mut lines: Vec<String> = CLASSIFICATION
        .iter()
        .chain(INDIRECT)
        .map(|(line, _, _)| (*line).to_owned())
        .collect();
    for (program, args) in CRITICAL {
        for template in INDIRECTIONS {
            lines.push(hide(template, program, args));
        }
    }
    for read in READS {
        for mutation in MUTATIONS {
            for sep in ["; ", " && ", " | ", " $(", "\n"] {
                let close = if sep == " $(" { ")" } else { "" };
                lines.push(format!("{read}{sep}{mutation}{close}"));
            }
        }
    }
    let mut rng = Lcg(0x6b6f_7069_6c6f_7421);
    for (vocabulary, count) in [(PLAIN, 4000), (SHELL, 2000)] {
        for _ in 0..count {
            let words = 1 + rng.next(12);
            let line: Vec<&str> = (0..words)
                .map(|_| vocabulary[rng.next(vocabulary.len())])
                .collect();
            lines.push(line.join(" "));
        }
    }
    lines
}

/// The digest of one whole assessment (16 hex characters of its JSON's SHA-256).
fn digest(guard: &Guard, line: &str) -> String {
    let assessment = guard.assess(line);
    let json = serde_json::to_string(&assessment).unwrap();
    sha256_hex(json.as_bytes())[..16].to_owned()
}

#[test]
fn every_verdict_of_the_corpus_is_unchanged() {
    let guard = Guard::new(Policy::default());
    let corpus = corpus();
    let digests: Vec<String> = corpus.iter().map(|line| digest(&guard, line)).collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    if std::env::var_os("KOPILOT_WRITE_VERDICT_DIGESTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, digests.join("\n") + "\n").unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(
        expected.len(),
        corpus.len(),
        "the corpus changed size; the fixture belongs to another corpus"
    );
    let changed: Vec<String> = corpus
        .iter()
        .zip(&digests)
        .zip(&expected)
        .enumerate()
        .filter(|(_, ((_, got), want))| got != *want)
        .map(|(i, ((line, _), _))| {
            format!(
                "#{i} {line:?}: now {}",
                serde_json::to_string(&guard.assess(line)).unwrap()
            )
        })
        .collect();
    assert!(
        changed.is_empty(),
        "{} of {} verdicts changed:\n{}",
        changed.len(),
        corpus.len(),
        changed
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
