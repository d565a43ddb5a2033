//! `chronorag eval --cache-check`: the hit rate and the wrong-hit rate of the semantic cache on
//! paraphrases of a question set.
//!
//! Questions go in blocks of [`BLOCK`]: every question of a block is asked once (filling the
//! cache), then the paraphrases of the block are asked (a cache holds recent questions; a
//! paraphrase thousands of questions later would measure its size, not its matching). A
//! paraphrase answered from the cache with the answer of its own question, or of another with
//! the same evidence, is a right hit; with the answer of a question whose evidence differs, a
//! wrong hit. Originals answered from another original's answer are counted the same way (two
//! different questions that the cache took for paraphrases).
//!
//! Paraphrases are made by fixed rewrite rules, each reported apart: `frame` (a polite frame
//! around the question), `synonyms` (common words swapped for synonyms), `order` (the time
//! phrase moved to the front). They are deterministic, so the figures repeat.

use std::collections::HashMap;

use serde::Serialize;

use super::Target;
use super::dataset::QuestionSet;
use super::metric::normalise;
use crate::Result;
use crate::query::QueryRequest;
use crate::query::cache::CacheHit;

/// Word swaps of the `synonyms` rule (whole words, first letter's case kept).
const SYNONYMS: &[(&str, &str)] = &[
    ("how many", "what number of"),
    ("how much", "what amount of"),
    ("what was", "what was the figure for"),
    ("total", "overall"),
    ("number", "count"),
    ("increase", "rise"),
    ("increased", "rose"),
    ("decrease", "decline"),
    ("decreased", "declined"),
    ("company", "firm"),
    ("employees", "staff members"),
    ("reported", "stated"),
    ("produced", "manufactured"),
    ("describe", "explain"),
    ("main", "principal"),
    ("goal", "target"),
    ("share", "proportion"),
    ("percentage", "share in percent"),
];

/// Frames of the `frame` rule (the question, first letter lowered, follows).
const FRAMES: &[&str] = &["Could you tell me ", "I would like to know "];

/// Words that start a question and are lower case inside a frame.
const QUESTION_WORDS: &[&str] = &[
    "what",
    "how",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "is",
    "are",
    "was",
    "were",
    "did",
    "does",
    "do",
    "has",
    "have",
    "can",
    "could",
    "in",
    "during",
    "according",
    "describe",
    "list",
    "name",
];

/// The paraphrases of a question: `(rule, text)`, only rules that changed something.
pub fn paraphrases(q: &str) -> Vec<(&'static str, String)> {
    let q = q.trim();
    let mut out = Vec::new();
    if q.is_empty() {
        return out;
    }
    // A question word loses its capital inside the frame; a name ("Audi's …") keeps it.
    let first_word = q.split_whitespace().next().unwrap_or("").to_lowercase();
    let first_lower = if QUESTION_WORDS.contains(&first_word.as_str()) {
        let mut c = q.chars();
        c.next()
            .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    } else {
        q.to_string()
    };
    let frame = FRAMES[q.len() % FRAMES.len()];
    out.push(("frame", format!("{frame}{first_lower}")));
    let mut s = format!(" {} ", q);
    let mut changed = false;
    let mut inserted: Vec<&str> = Vec::new();
    for (a, b) in SYNONYMS {
        // Never rewrite a word another swap put in ("how many" → "what number of" keeps
        // "number").
        if inserted.iter().any(|i| i.contains(a)) {
            continue;
        }
        for (from, to) in [
            (format!(" {a} "), format!(" {b} ")),
            (format!(" {} ", capital(a)), format!(" {} ", capital(b))),
        ] {
            if s.contains(&from) {
                s = s.replacen(&from, &to, 1);
                inserted.push(b);
                changed = true;
                break;
            }
        }
    }
    if changed {
        out.push(("synonyms", s.trim().to_string()));
    }
    if let Some(moved) = time_first(q) {
        out.push(("order", moved));
    }
    out
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// "What was X in 2019?" → "In 2019, what was X?" (a trailing `in|during <year…>` phrase).
fn time_first(q: &str) -> Option<String> {
    let body = q.strip_suffix('?').unwrap_or(q);
    for marker in [" in ", " during "] {
        let Some(i) = body.rfind(marker) else {
            continue;
        };
        let phrase = &body[i + marker.len()..];
        if phrase.is_empty()
            || phrase.split_whitespace().count() > 3
            || !phrase.chars().any(|c| c.is_ascii_digit())
        {
            continue;
        }
        let rest = &body[..i];
        let mut c = rest.chars();
        let first = c.next()?;
        let lowered = first.to_lowercase().collect::<String>() + c.as_str();
        return Some(format!("{} {phrase}, {lowered}?", capital(marker.trim())));
    }
    None
}

/// Questions per block (originals first, then their paraphrases).
pub const BLOCK: usize = 100;

/// A wrong hit, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct WrongHit {
    /// The question asked.
    pub asked: String,
    /// The question whose answer the cache gave.
    pub reused: String,
    /// Their similarity.
    pub similarity: f32,
}

/// Counts of one rule (or of the originals).
#[derive(Debug, Clone, Default, Serialize)]
pub struct HitCounts {
    /// Questions asked.
    pub asked: usize,
    /// Answered by the semantic cache.
    pub hits: usize,
    /// Of those, with the answer of a question whose evidence differs.
    pub wrong: usize,
    /// Answered by the exact cache (the same text asked before).
    pub exact: usize,
}

impl HitCounts {
    /// Counts one answer; returns whether it was a wrong hit.
    fn add(&mut self, hit: Option<&CacheHit>, right: impl Fn(&str) -> bool) -> bool {
        self.asked += 1;
        match hit {
            Some(h) if h.kind == "semantic" => {
                self.hits += 1;
                if !right(&h.question) {
                    self.wrong += 1;
                    return true;
                }
            }
            Some(_) => self.exact += 1,
            None => {}
        }
        false
    }
}

/// The cache check's report.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    /// The budget every question was asked with.
    pub budget: usize,
    /// The originals (a hit here is two different questions taken for paraphrases).
    pub originals: HitCounts,
    /// Paraphrases per rule.
    pub rules: Vec<(String, HitCounts)>,
    /// All paraphrases together.
    pub paraphrases: HitCounts,
    /// The first wrong hits (up to 20).
    pub wrong_examples: Vec<WrongHit>,
}

/// Asks every question of `sets` (up to `limit` per file) and then its paraphrases.
pub fn run(
    target: &dyn Target,
    namespace: &str,
    sets: &[QuestionSet],
    limit: Option<usize>,
    budget: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<CacheReport> {
    let questions: Vec<_> = sets
        .iter()
        .flat_map(|s| s.questions.iter().take(limit.unwrap_or(usize::MAX)))
        .collect();
    // Evidence per question text: a hit is right when the reused question needs the same.
    let mut evidence: HashMap<String, Vec<String>> = HashMap::new();
    for q in &questions {
        let mut ev: Vec<String> = q.evidence.iter().map(|e| normalise(e)).collect();
        ev.sort();
        evidence.insert(normalise(&q.question), ev);
    }
    // Paraphrases asked earlier are in the cache too: each maps to its question's evidence.
    for q in &questions {
        if let Some(ev) = evidence.get(&normalise(&q.question)).cloned() {
            for (_, text) in paraphrases(&q.question) {
                evidence
                    .entry(normalise(&text))
                    .or_insert_with(|| ev.clone());
            }
        }
    }
    let request = |text: &str, q: &super::dataset::Question| QueryRequest {
        query: text.to_string(),
        time: q.time.clone(),
        now: q.now.clone(),
        budget_chars: Some(budget),
        ..Default::default()
    };
    let mut originals = HitCounts::default();
    let mut rules: Vec<(String, HitCounts)> = Vec::new();
    let mut all = HitCounts::default();
    let mut wrong_examples = Vec::new();
    let mut note = |asked: &str, hit: Option<&CacheHit>| {
        if let Some(h) = hit
            && wrong_examples.len() < 20
        {
            wrong_examples.push(WrongHit {
                asked: asked.to_string(),
                reused: h.question.clone(),
                similarity: h.similarity,
            });
        }
    };
    for (b, block) in questions.chunks(BLOCK).enumerate() {
        progress(&format!("questions {}/{}", b * BLOCK, questions.len()));
        for q in block {
            let (_, hit) = target.answer(namespace, &request(&q.question, q))?;
            let own = evidence.get(&normalise(&q.question));
            let right = |other: &str| {
                evidence
                    .get(&normalise(other))
                    .is_some_and(|e| Some(e) == own)
            };
            if originals.add(hit.as_ref(), right) {
                note(&q.question, hit.as_ref());
            }
        }
        for q in block {
            let own = evidence.get(&normalise(&q.question));
            for (rule, text) in paraphrases(&q.question) {
                let (_, hit) = target.answer(namespace, &request(&text, q))?;
                let right = |other: &str| {
                    normalise(other) == normalise(&q.question)
                        || evidence
                            .get(&normalise(other))
                            .is_some_and(|e| Some(e) == own)
                };
                if all.add(hit.as_ref(), right) {
                    note(&text, hit.as_ref());
                }
                let slot = match rules.iter().position(|(r, _)| r == rule) {
                    Some(p) => p,
                    None => {
                        rules.push((rule.to_string(), HitCounts::default()));
                        rules.len() - 1
                    }
                };
                rules[slot].1.add(hit.as_ref(), right);
            }
        }
    }
    Ok(CacheReport {
        budget,
        originals,
        rules,
        paraphrases: all,
        wrong_examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_rewrites_what_it_names() {
        let p = paraphrases("How many employees did Audi have in 2019?");
        let get = |r: &str| p.iter().find(|(k, _)| *k == r).map(|(_, t)| t.clone());
        assert_eq!(
            get("synonyms").as_deref(),
            Some("What number of staff members did Audi have in 2019?")
        );
        assert_eq!(
            get("order").as_deref(),
            Some("In 2019, how many employees did Audi have?")
        );
        assert!(
            get("frame")
                .unwrap()
                .ends_with("how many employees did Audi have in 2019?")
        );
        // Nothing to swap and no trailing time phrase: only the frame.
        let p = paraphrases("Why does Audi build plants?");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "frame");
        assert!(p[0].1.ends_with(" why does Audi build plants?"));
        // A name keeps its capital inside the frame.
        let p = paraphrases("Audi's plants: where are they?");
        assert!(p[0].1.ends_with(" Audi's plants: where are they?"));
    }
}
