//! Whether a model's answer rests on what the tools returned: a task that answers without
//! any tool having run, or with an answer that shares nothing with the tools' output, is
//! flagged in its result, so a user can tell a grounded answer from a fluent guess.
//!
//! The check is deliberately modest: it looks for words of the evidence (object names,
//! numbers, statuses) in the answer, not at whether the answer is right.

use std::collections::HashSet;

use crate::protocol::Warning;

/// The most distinct words kept from the tools' output (the check needs a sample, not all).
const MAX_WORDS: usize = 50_000;

/// What the task's tools returned, as words.
#[derive(Debug, Default)]
pub(super) struct Evidence {
    /// Tool calls that ran and returned something (delegations excluded).
    runs: usize,
    words: HashSet<String>,
}

impl Evidence {
    /// Records the output of a tool call that ran.
    pub(super) fn add(&mut self, output: &str) {
        self.runs += 1;
        for word in words(output).flat_map(with_parts) {
            if self.words.len() >= MAX_WORDS {
                return;
            }
            if is_telling(word) {
                self.words.insert(word.to_ascii_lowercase());
            }
        }
    }

    /// The caveats for `answer` to the question `prompt`: none when the answer quotes the
    /// evidence.
    pub(super) fn warnings(&self, prompt: &str, answer: &str) -> Vec<Warning> {
        if self.runs == 0 {
            return vec![Warning::new(
                Warning::NO_EVIDENCE,
                "no tool ran: nothing in this answer was read from the cluster",
            )];
        }
        let asked: HashSet<String> = words(prompt).map(str::to_ascii_lowercase).collect();
        let quoted = words(answer).flat_map(with_parts).any(|word| {
            let word = word.to_ascii_lowercase();
            self.words.contains(&word) && !asked.contains(&word)
        });
        if quoted {
            Vec::new()
        } else {
            vec![Warning::new(
                Warning::UNGROUNDED,
                "the answer quotes nothing the tools returned (no object name, number or status \
                 from their output): treat it as unverified",
            )]
        }
    }
}

/// Words as names are written in Kubernetes output: letters, digits and `-._/:`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | ':')))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '_' | '/')))
        .filter(|w| !w.is_empty())
}

/// A word and, for a compound name (`checkout-7d9f8b6c5d-x2k4q`, `10.0.3.7`), its parts: an
/// answer may name the Deployment `checkout` of the Pod the tools listed.
fn with_parts(word: &str) -> impl Iterator<Item = &str> {
    let compound = word.contains(['-', '.', '_', '/', ':']);
    std::iter::once(word).chain(
        word.split(['-', '.', '_', '/', ':'])
            .filter(move |part| compound && !part.is_empty()),
    )
}

/// Whether a word of the evidence says something specific: a name, a number, a status; not a
/// column header or a word of ordinary prose.
fn is_telling(word: &str) -> bool {
    if word.bytes().all(|b| b.is_ascii_digit()) {
        // `0` and `1` are in every table; `5` restarts or `37` minutes are not.
        return word != "0" && word != "1";
    }
    if word.chars().count() < 3 {
        return false;
    }
    let lower = word.to_ascii_lowercase();
    !COMMON.contains(&lower.as_str())
}

/// Column headers of kubectl's tables and frequent English words, which every answer may
/// contain whatever the evidence says.
const COMMON: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "was",
    "not",
    "you",
    "can",
    "all",
    "any",
    "has",
    "its",
    "but",
    "use",
    "see",
    "yes",
    "get",
    "log",
    "logs",
    "age",
    "one",
    "two",
    "out",
    "now",
    "new",
    "set",
    "name",
    "namespace",
    "ready",
    "status",
    "restarts",
    "age",
    "node",
    "nodes",
    "type",
    "data",
    "kind",
    "none",
    "true",
    "false",
    "null",
    "from",
    "with",
    "that",
    "this",
    "there",
    "their",
    "they",
    "have",
    "been",
    "were",
    "will",
    "would",
    "should",
    "could",
    "what",
    "which",
    "when",
    "where",
    "about",
    "into",
    "your",
    "than",
    "then",
    "also",
    "only",
    "some",
    "such",
    "each",
    "more",
    "most",
    "other",
    "these",
    "those",
    "here",
    "because",
    "found",
    "resources",
    "pods",
    "pod",
    "deployment",
    "deployments",
    "service",
    "services",
    "cluster",
    "kubectl",
    "error",
    "running",
    "default",
    "image",
    "container",
    "containers",
    "labels",
    "annotations",
    "spec",
    "metadata",
    "items",
    "apiversion",
    "selector",
    "replicas",
    "available",
    "current",
    "desired",
    "up-to-date",
    "cluster-ip",
    "external-ip",
    "port",
    "ports",
];

#[cfg(test)]
mod tests {
    use super::*;

    const GET_PODS: &str = "NAME                        READY   STATUS             RESTARTS   AGE
checkout-7d9f8b6c5d-x2k4q   0/1     CrashLoopBackOff   12         37m
web-6f7d9c8b5d-q2m4x        1/1     Running            0          2d";

    fn codes(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().map(|w| w.code.as_str()).collect()
    }

    #[test]
    fn an_answer_without_any_tool_is_flagged() {
        let evidence = Evidence::default();
        assert_eq!(
            codes(&evidence.warnings("why is checkout failing?", "It is fine.")),
            [Warning::NO_EVIDENCE]
        );
    }

    #[test]
    fn an_answer_that_quotes_the_output_is_not_flagged() {
        let mut evidence = Evidence::default();
        evidence.add(GET_PODS);
        for answer in [
            "checkout-7d9f8b6c5d-x2k4q is in CrashLoopBackOff.",
            "The checkout pod has restarted 12 times.",
            "It has been restarting for 37m.",
            "The checkout-7d9f8b6c5d pods crash.",
            "Its web pod is fine.",
        ] {
            assert!(
                evidence
                    .warnings("why is checkout failing?", answer)
                    .is_empty(),
                "{answer}"
            );
        }
    }

    #[test]
    fn an_answer_that_shares_only_the_question_or_common_words_is_flagged() {
        let mut evidence = Evidence::default();
        evidence.add(GET_PODS);
        for answer in [
            "The checkout is failing because of a problem.",
            "Kubernetes is a container orchestration system. Pods are running.",
            "0 of 1 are ready.",
            "",
        ] {
            assert_eq!(
                codes(&evidence.warnings("why is checkout failing?", answer)),
                [Warning::UNGROUNDED],
                "{answer}"
            );
        }
    }

    #[test]
    fn the_words_kept_are_bounded() {
        let mut evidence = Evidence::default();
        let many = (0..MAX_WORDS + 1_000).fold(String::new(), |mut text, n| {
            use std::fmt::Write as _;
            let _ = write!(text, "pod-{n} ");
            text
        });
        evidence.add(&many);
        assert_eq!(evidence.words.len(), MAX_WORDS);
    }
}
