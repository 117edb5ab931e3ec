//! Keyword routing: matching a prompt to skills without a model.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

use crate::skill::Skill;

/// Points per word of a matched keyword (a two-word phrase scores 4).
const KEYWORD_WORD_POINTS: u32 = 2;
/// Points when the prompt names the skill itself ("cost optimization").
const NAME_POINTS: u32 = 3;

/// One skill a prompt matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    /// The skill's name.
    pub name: String,
    /// How well it matched; higher is better. Only comparable within one prompt.
    pub score: u32,
    /// The keywords (as written in the skill) that occurred in the prompt;
    /// the skill's own name is listed as `name:<name>` when it matched.
    pub matched: Vec<String>,
}

#[derive(Debug, Clone)]
struct IndexedSkill {
    name: String,
    name_words: Vec<String>,
    keywords: Vec<(String, Vec<String>)>,
}

/// Active skills' keywords, split into normalised words once at load time.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeywordIndex {
    skills: Vec<IndexedSkill>,
}

impl KeywordIndex {
    pub(crate) fn new<'a>(skills: impl Iterator<Item = &'a Skill>) -> Self {
        let mut skills: Vec<IndexedSkill> = skills
            .map(|skill| IndexedSkill {
                name: skill.name.clone(),
                name_words: words(&skill.name),
                keywords: skill
                    .keywords
                    .iter()
                    .map(|k| (k.clone(), words(k)))
                    .filter(|(_, w)| !w.is_empty())
                    .collect(),
            })
            .collect();
        skills.sort_by(|a, b| a.name.cmp(&b.name));
        Self { skills }
    }

    pub(crate) fn route(&self, prompt: &str, limit: usize) -> Vec<RouteMatch> {
        let prompt_words = words(prompt);
        let mut matches: Vec<RouteMatch> = self
            .skills
            .iter()
            .filter_map(|skill| score(skill, &prompt_words))
            .collect();
        matches.sort_by(|a, b| (Reverse(a.score), &a.name).cmp(&(Reverse(b.score), &b.name)));
        matches.truncate(limit);
        matches
    }
}

fn score(skill: &IndexedSkill, prompt: &[String]) -> Option<RouteMatch> {
    let mut total = 0;
    let mut matched = Vec::new();
    if contains_phrase(prompt, &skill.name_words) {
        total += NAME_POINTS;
        matched.push(format!("name:{}", skill.name));
    }
    for (keyword, keyword_words) in &skill.keywords {
        if contains_phrase(prompt, keyword_words) {
            let len = u32::try_from(keyword_words.len()).unwrap_or(u32::MAX);
            total += KEYWORD_WORD_POINTS.saturating_mul(len);
            matched.push(keyword.clone());
        }
    }
    (total > 0).then(|| RouteMatch {
        name: skill.name.clone(),
        score: total,
        matched,
    })
}

fn contains_phrase(haystack: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && haystack
            .windows(phrase.len())
            .any(|window| window == phrase)
}

/// Lowercase words of `text`, split at anything that is not a letter or
/// digit, with simple English plurals reduced ("pods" → "pod",
/// "policies" → "policy") and a trailing "-ing" dropped ("crashlooping" →
/// "crashloop", "restarting" → "restart") so a keyword matches either form.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| singular(&w.to_lowercase()))
        .collect()
}

fn singular(word: &str) -> String {
    // Only where a word of four letters or more is left ("ring" stays "ring").
    if let Some(stem) = word.strip_suffix("ing")
        && stem.chars().count() >= 4
    {
        return stem.to_owned();
    }
    if word.chars().count() <= 3 || word.ends_with("ss") || word.ends_with("us") {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    word.strip_suffix('s').unwrap_or(word).to_owned()
}
