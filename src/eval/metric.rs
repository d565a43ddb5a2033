//! The Time-LongQA retrieval metric: **evidence recall at a budget**.
//!
//! For each question, the context a system returns is cut to `N` characters (N = 4,000, 8,000,
//! 16,000 by default) and normalised: lower case, every run of characters other than
//! `a-z0-9$%.` becomes one space. An evidence text is **found** when
//!
//! 1. its normalised form is a substring of the normalised context, or
//! 2. at least 80% of its word trigrams occur in the context (evidence of fewer than three words
//!    has no trigrams, so only rule 1 applies to it), or
//! 3. for paraphrased evidence (`QA_2time`, `QA_3time`): at least 70% of its distinct content
//!    words (4+ letters, only letters, not a stop word) occur among the context's words.
//!
//! A *word* is a token of the normalised text with leading and trailing dots removed, so that a
//! sentence-final word ("2050.") matches the same word mid-sentence; dots inside a token
//! ("4.2", "a.b") stay.
//!
//! A question's recall is the share of its evidence texts found; a report gives the mean over
//! questions. Everything here is pure and deterministic.

use std::collections::HashSet;

/// Share of an evidence text's word trigrams that must occur in the context.
pub const TRIGRAM_SHARE: f64 = 0.8;
/// Share of a paraphrased evidence text's content words that must occur in the context.
pub const CONTENT_WORD_SHARE: f64 = 0.7;
/// Shortest content word (letters).
pub const MIN_CONTENT_WORD: usize = 4;
/// The default budgets (characters).
pub const DEFAULT_BUDGETS: [usize; 3] = [4000, 8000, 16000];

/// Common English stop words, never counted as content words (all of 4+ letters; shorter words
/// are excluded by length anyway).
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "also",
    "among",
    "around",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "could",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "every",
    "from",
    "further",
    "have",
    "having",
    "here",
    "hers",
    "herself",
    "himself",
    "into",
    "itself",
    "just",
    "more",
    "most",
    "much",
    "must",
    "myself",
    "only",
    "other",
    "ours",
    "ourselves",
    "over",
    "same",
    "should",
    "some",
    "such",
    "than",
    "that",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "under",
    "until",
    "very",
    "what",
    "when",
    "where",
    "which",
    "while",
    "whom",
    "whose",
    "will",
    "with",
    "within",
    "would",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "well",
    "many",
    "like",
    "made",
    "make",
    "were",
    "whether",
    "upon",
    "onto",
    "across",
    "along",
    "already",
    "since",
    "still",
    "towards",
    "toward",
    "though",
    "although",
    "however",
    "thus",
    "therefore",
];

/// Lower-cases `text` and turns every run of characters other than `a-z0-9$%.` into one space;
/// the result has no leading or trailing space.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '$' | '%' | '.') {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// The first `n` characters of `text` (all of it when shorter).
pub fn cut_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// The words of a normalised text: tokens with leading and trailing dots removed, empty ones
/// dropped.
fn words(normalised: &str) -> Vec<&str> {
    normalised
        .split(' ')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether a word is a content word: only letters, at least [`MIN_CONTENT_WORD`] of them, not a
/// stop word.
fn is_content_word(w: &str) -> bool {
    w.len() >= MIN_CONTENT_WORD
        && w.bytes().all(|b| b.is_ascii_lowercase())
        && !STOP_WORDS.contains(&w)
}

fn trigrams(words: &[&str]) -> HashSet<String> {
    words
        .windows(3)
        .map(|w| format!("{} {} {}", w[0], w[1], w[2]))
        .collect()
}

/// An evidence text, normalised once for many contexts.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The normalised text.
    pub normalised: String,
    trigrams: HashSet<String>,
    content_words: HashSet<String>,
}

impl Evidence {
    /// Prepares an evidence text.
    pub fn new(text: &str) -> Self {
        let normalised = normalise(text);
        let words = words(&normalised);
        Evidence {
            trigrams: trigrams(&words),
            content_words: words
                .iter()
                .filter(|w| is_content_word(w))
                .map(|w| w.to_string())
                .collect(),
            normalised,
        }
    }

    /// Whether the evidence is empty after normalisation (it can never be found).
    pub fn is_empty(&self) -> bool {
        self.normalised.is_empty()
    }

    /// Share of this evidence's word trigrams that occur in `ctx` (None below three words).
    pub fn trigram_share(&self, ctx: &Context) -> Option<f64> {
        if self.trigrams.is_empty() {
            return None;
        }
        let hit = self
            .trigrams
            .iter()
            .filter(|t| ctx.trigrams.contains(*t))
            .count();
        Some(hit as f64 / self.trigrams.len() as f64)
    }

    /// Share of this evidence's content words that occur in `ctx` (None when it has none).
    pub fn content_word_share(&self, ctx: &Context) -> Option<f64> {
        if self.content_words.is_empty() {
            return None;
        }
        let hit = self
            .content_words
            .iter()
            .filter(|w| ctx.words.contains(*w))
            .count();
        Some(hit as f64 / self.content_words.len() as f64)
    }

    /// Whether this evidence is found in `ctx`; `paraphrased` enables the content-word rule.
    pub fn found_in(&self, ctx: &Context, paraphrased: bool) -> bool {
        if self.is_empty() {
            return false;
        }
        if ctx.normalised.contains(&self.normalised) {
            return true;
        }
        if self.trigram_share(ctx).is_some_and(|s| s >= TRIGRAM_SHARE) {
            return true;
        }
        paraphrased
            && self
                .content_word_share(ctx)
                .is_some_and(|s| s >= CONTENT_WORD_SHARE)
    }
}

/// A context cut to a budget and normalised, ready to be matched against evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The normalised text.
    pub normalised: String,
    trigrams: HashSet<String>,
    words: HashSet<String>,
}

impl Context {
    /// Cuts `text` to `budget` characters, then normalises it.
    pub fn new(text: &str, budget: usize) -> Self {
        let normalised = normalise(cut_chars(text, budget));
        let words = words(&normalised);
        Context {
            trigrams: trigrams(&words),
            words: words.iter().map(|w| w.to_string()).collect(),
            normalised,
        }
    }
}

/// Lower-cases `text` and turns every run of characters other than letters and digits into one
/// space, with a space at both ends (the news set's normalisation; the spaces make a substring
/// test a whole-word test).
pub fn normalise_alnum(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Multiple choice: whether the right option occurs in the context cut to `budget` characters
/// (as whole words, after [`normalise_alnum`]), and whether it occurs before every wrong option
/// that occurs ("first right").
pub fn choice_at(context: &str, budget: usize, options: &[String], right: usize) -> (bool, bool) {
    let ctx = normalise_alnum(cut_chars(context, budget));
    let pos: Vec<Option<usize>> = options
        .iter()
        .map(|o| {
            let o = normalise_alnum(o);
            if o.trim().is_empty() {
                None
            } else {
                ctx.find(&o)
            }
        })
        .collect();
    let Some(Some(at)) = pos.get(right).copied() else {
        return (false, false);
    };
    let first = pos
        .iter()
        .enumerate()
        .all(|(i, p)| i == right || p.is_none_or(|p| p > at));
    (true, first)
}

/// A question's recall: the share of its evidence found in `ctx` (0 when it has none).
pub fn recall(evidence: &[Evidence], ctx: &Context, paraphrased: bool) -> f64 {
    if evidence.is_empty() {
        return 0.0;
    }
    let found = evidence
        .iter()
        .filter(|e| e.found_in(ctx, paraphrased))
        .count();
    found as f64 / evidence.len() as f64
}

/// A question's recall at each budget, from one context (cut to each budget in turn).
pub fn recall_at(
    evidence: &[Evidence],
    context: &str,
    budgets: &[usize],
    paraphrased: bool,
) -> Vec<f64> {
    budgets
        .iter()
        .map(|&b| recall(evidence, &Context::new(context, b), paraphrased))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_whole_words_and_first_right_is_ordered() {
        let opts: Vec<String> = ["Europe", "Asia", "5", "Squid Game"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ctx = "The EU (Europe) will require it; Asia may follow. In 2015 there were 55.";
        assert_eq!(choice_at(ctx, 1000, &opts, 0), (true, true));
        assert_eq!(choice_at(ctx, 1000, &opts, 1), (true, false));
        assert_eq!(
            choice_at(ctx, 1000, &opts, 2),
            (false, false),
            "5 is not in 2015 or 55"
        );
        assert_eq!(
            choice_at("the “Squid-Game” season", 1000, &opts, 3),
            (true, true)
        );
        assert_eq!(
            choice_at(ctx, 10, &opts, 0),
            (false, false),
            "cut before it"
        );
    }

    fn found(evidence: &str, context: &str, budget: usize, paraphrased: bool) -> bool {
        Evidence::new(evidence).found_in(&Context::new(context, budget), paraphrased)
    }

    #[test]
    fn normalisation_keeps_only_a_z_digits_dollar_percent_dot() {
        for (input, want) in [
            ("Audi Q4 e-tron", "audi q4 e tron"),
            ("  Revenue: $4.2bn (+12%)!  ", "revenue $4.2bn 12%"),
            ("CO₂ emissions — 2019", "co emissions 2019"),
            ("Kössler\n\tand   Wortmann", "k ssler and wortmann"),
            ("A.B.", "a.b."),
            ("", ""),
            ("—…", ""),
        ] {
            assert_eq!(normalise(input), want, "{input:?}");
        }
    }

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut_chars("äöüabc", 4), "äöüa");
        assert_eq!(cut_chars("abc", 10), "abc");
        assert_eq!(cut_chars("abc", 0), "");
    }

    #[test]
    fn substring_rule_ignores_case_and_punctuation() {
        let ctx = "[r2019 · 2019] Report\nIn the long term, we are pursuing a vision of \
                   Carbon-Neutral mobility by 2050.";
        assert!(found(
            "We are pursuing a vision of carbon neutral mobility",
            ctx,
            16000,
            false
        ));
        assert!(!found("a vision of fossil mobility", ctx, 16000, false));
    }

    #[test]
    fn trigram_rule_needs_eighty_percent() {
        // 10 words → 8 trigrams; changing the last word breaks 1 (7/8 = 87.5%), changing a
        // middle word breaks 3 (5/8 = 62.5%).
        let ev = "one two three four five six seven eight nine ten";
        let ctx_one_off = "xx one two three four five six seven eight nine eleven yy";
        let ctx_middle_off = "xx one two three four CHANGED six seven eight nine ten yy";
        assert!(found(ev, ctx_one_off, 16000, false));
        assert!(!found(ev, ctx_middle_off, 16000, false));
        let e = Evidence::new(ev);
        let share = e.trigram_share(&Context::new(ctx_one_off, 16000)).unwrap();
        assert!((share - 7.0 / 8.0).abs() < 1e-9, "{share}");
        // Trigrams may come from different places in the context.
        assert!(found(
            "alpha beta gamma delta",
            "alpha beta gamma. and later beta gamma delta",
            16000,
            false
        ));
    }

    #[test]
    fn short_evidence_has_no_trigrams() {
        let e = Evidence::new("net zero");
        assert_eq!(e.trigram_share(&Context::new("net zero", 100)), None);
        assert!(found("net zero", "we aim for net zero", 100, false));
        assert!(!found("net zero", "we aim for zero net", 100, false));
    }

    #[test]
    fn content_word_rule_only_for_paraphrased_evidence() {
        // Content words: audi, delivered, vehicles, china, increase (5); "2023" and "in" are not.
        let ev = "In 2023, Audi delivered 729,042 vehicles in China, a 13% increase.";
        let e = Evidence::new(ev);
        assert_eq!(e.content_words.len(), 5, "{:?}", e.content_words);
        // 4 of 5 (80%) in a different order and wording.
        let ctx = "China: the company's vehicles were delivered to buyers, said Audi.";
        assert!(found(ev, ctx, 16000, true));
        assert!(!found(ev, ctx, 16000, false));
        // 3 of 5 (60%) is not enough.
        let ctx = "China: vehicles were sold by Audi.";
        assert!(!found(ev, ctx, 16000, true));
    }

    #[test]
    fn stop_words_are_not_content_words() {
        let e = Evidence::new("Which would have been there with them");
        assert!(e.content_words.is_empty(), "{:?}", e.content_words);
        assert_eq!(e.content_word_share(&Context::new("anything", 100)), None);
    }

    #[test]
    fn budgets_cut_the_context_before_matching() {
        let filler = "x".repeat(5000);
        let ctx = format!("{filler} the evidence sentence is right here at the end");
        let ev = [Evidence::new("the evidence sentence is right here")];
        assert_eq!(
            recall_at(&ev, &ctx, &[4000, 8000, 16000], false),
            vec![0.0, 1.0, 1.0]
        );
    }

    #[test]
    fn recall_is_the_share_of_evidence_found() {
        let ev = [
            Evidence::new("first piece of evidence here"),
            Evidence::new("second piece of evidence there"),
            Evidence::new("third one is missing entirely"),
        ];
        let ctx = Context::new(
            "first piece of evidence here. second piece of evidence there.",
            16000,
        );
        assert!((recall(&ev, &ctx, false) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(recall(&[], &ctx, false), 0.0);
        assert!(!Evidence::new("—").found_in(&ctx, true));
    }
}
