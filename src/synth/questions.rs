//! Questions with known evidence over a synthetic corpus: the facet kinds retrieval has to get
//! right (issue 10). Every question is built from the documents [`Synth::documents`] writes, and
//! its evidence is the exact sentences that answer it, so recall is measured without judgement.
//!
//! Kinds (one JSON-lines file each, so `chronorag eval` reports them as groups):
//! - `companies`: several companies in one quarter ("Which of A, B and C had the highest
//!   operating margin in Q3 2019?"): each company's sentence of that quarter.
//! - `stepped`: one company, each quarter of a year ("… in each quarter of 2021").
//! - `open`: one company over an open range bounded by the data ("each quarter after Q2 2024",
//!   "each quarter before Q3 2015"): every quarter from the bound to the end of the data.
//! - `compare`: one company, two named quarters ("… in Q2 2019 compared with Q4 2021").

use std::collections::HashMap;

use super::world::Rng;
use super::{FIRST_YEAR, Synth};

/// The measures questions ask about, with the sentence that states each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Measure {
    Revenue,
    Margin,
}

impl Measure {
    fn words(self) -> &'static str {
        match self {
            Measure::Revenue => "revenue",
            Measure::Margin => "operating margin",
        }
    }
}

/// One question of a synthetic set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SynthQuestion {
    /// Id within its kind's file.
    pub id: String,
    /// The question.
    pub question: String,
    /// The sentences that answer it (verbatim in the corpus).
    pub evidence: Vec<String>,
}

/// The questions of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionKind {
    /// File stem and report group (`companies`, `stepped`, `open`, `compare`).
    pub name: &'static str,
    /// Its questions.
    pub questions: Vec<SynthQuestion>,
}

/// Evidence sentences by (company, quarter index, measure).
type Facts = HashMap<(usize, usize, Measure), String>;

/// The sentence of `text` that starts at `start` and ends at the first full stop followed by
/// white space (or the end) after `after` (a figure like "$2.96" is not an end).
fn sentence_from(text: &str, start: usize, after: usize) -> Option<String> {
    let rest = &text[after..];
    let end = rest
        .match_indices('.')
        .map(|(i, _)| after + i + 1)
        .find(|&e| text[e..].chars().next().is_none_or(char::is_whitespace))?;
    Some(text[start..end].to_string())
}

fn quarter_of(time: &str) -> Option<usize> {
    let (y, q) = time.split_once("-Q")?;
    let (y, q): (i32, usize) = (y.parse().ok()?, q.parse().ok()?);
    Some(((y - FIRST_YEAR) as usize) * 4 + q - 1)
}

fn label(q: usize) -> String {
    format!("Q{} {}", q % 4 + 1, FIRST_YEAR + (q / 4) as i32)
}

impl Synth {
    /// Question sets over the corpus of `target_facts` facts, `per_kind` questions of each kind
    /// (fewer when the corpus is too small for a kind).
    pub fn questions(&self, target_facts: usize, per_kind: usize) -> Vec<QuestionKind> {
        let mut docs = self.documents(target_facts);
        let mut facts: Facts = HashMap::new();
        let mut last_quarter = 0usize;
        let names: Vec<(String, String)> = docs
            .companies()
            .iter()
            .map(|c| (c.name.clone(), c.short.clone()))
            .collect();
        for d in docs.by_ref() {
            let (Some(id), Some(time)) = (d.id.as_deref(), d.time.as_deref()) else {
                continue;
            };
            if !id.ends_with("-call") {
                continue;
            }
            let Some(q) = quarter_of(time) else { continue };
            let Some(ci) = names.iter().position(|(n, _)| {
                d.title
                    .as_deref()
                    .is_some_and(|t| t.starts_with(n.as_str()))
            }) else {
                continue;
            };
            last_quarter = last_quarter.max(q);
            let text = d.text.as_str();
            let head = format!("{} (", names[ci].0);
            if let (Some(s), Some(a)) = (text.find(&head), text.find("reported revenue of $"))
                && let Some(sent) = sentence_from(text, s, a + "reported revenue of $".len())
            {
                facts.insert((ci, q, Measure::Revenue), sent);
            }
            if let Some(s) = text.find("Operating margin was ")
                && let Some(a) = text[s..].find("net income reached $")
                && let Some(sent) = sentence_from(text, s, s + a + "net income reached $".len())
            {
                facts.insert((ci, q, Measure::Margin), sent);
            }
        }
        // Quarters every company reported (the corpus ends part-way through a quarter).
        let complete = (0..=last_quarter)
            .rev()
            .find(|&q| (0..names.len()).all(|c| facts.contains_key(&(c, q, Measure::Revenue))))
            .unwrap_or(0);
        let mut r = Rng::new(self.seed, 0x9_e57);
        let n = names.len();
        let short = |c: usize| names[c].1.as_str();
        let get = |c: usize, q: usize, m: Measure| facts.get(&(c, q, m)).cloned();
        let pick_measure = |r: &mut Rng| {
            if r.chance(0.5) {
                Measure::Revenue
            } else {
                Measure::Margin
            }
        };
        let mut kinds = Vec::new();

        // Several companies, one quarter.
        let mut qs = Vec::new();
        if n >= 3 {
            for i in 0..per_kind {
                let q = r.below(complete + 1);
                let m = pick_measure(&mut r);
                let mut cs: Vec<usize> = Vec::new();
                while cs.len() < 3 {
                    let c = r.below(n);
                    if !cs.contains(&c) {
                        cs.push(c);
                    }
                }
                let list = format!("{}, {} and {}", short(cs[0]), short(cs[1]), short(cs[2]));
                let question = match r.below(3) {
                    0 => format!(
                        "Which of {list} had the highest {} in {}?",
                        m.words(),
                        label(q)
                    ),
                    1 => format!("Compare the {} of {list} in {}.", m.words(), label(q)),
                    _ => format!(
                        "Among {list}, which reported the lowest {} for {}?",
                        m.words(),
                        label(q)
                    ),
                };
                let evidence: Option<Vec<String>> = cs.iter().map(|&c| get(c, q, m)).collect();
                if let Some(evidence) = evidence {
                    qs.push(SynthQuestion {
                        id: format!("c{i}"),
                        question,
                        evidence,
                    });
                }
            }
        }
        kinds.push(QuestionKind {
            name: "companies",
            questions: qs,
        });

        // One company, each quarter of a year.
        let mut qs = Vec::new();
        let full_years = (complete + 1) / 4;
        if full_years > 0 {
            for i in 0..per_kind {
                let c = r.below(n);
                let y = r.below(full_years);
                let m = pick_measure(&mut r);
                let year = FIRST_YEAR + y as i32;
                let question = if r.chance(0.5) {
                    format!(
                        "What was {}'s {} in each quarter of {year}?",
                        short(c),
                        m.words()
                    )
                } else {
                    format!(
                        "How did the {} of {} develop quarter by quarter in {year}?",
                        m.words(),
                        short(c)
                    )
                };
                let evidence: Option<Vec<String>> =
                    (y * 4..y * 4 + 4).map(|q| get(c, q, m)).collect();
                if let Some(evidence) = evidence {
                    qs.push(SynthQuestion {
                        id: format!("s{i}"),
                        question,
                        evidence,
                    });
                }
            }
        }
        kinds.push(QuestionKind {
            name: "stepped",
            questions: qs,
        });

        // One company, an open range bounded by the data (two to four quarters).
        let mut qs = Vec::new();
        if complete >= 5 {
            for i in 0..per_kind {
                let c = r.below(n);
                let m = pick_measure(&mut r);
                let k = 2 + r.below(3);
                let (question, range) = if r.chance(0.5) {
                    // After: the last k quarters of the data.
                    let bound = complete - k;
                    (
                        format!(
                            "What was {}'s {} in each quarter after {}?",
                            short(c),
                            m.words(),
                            label(bound)
                        ),
                        bound + 1..complete + 1,
                    )
                } else {
                    (
                        format!(
                            "What was {}'s {} in each quarter before {}?",
                            short(c),
                            m.words(),
                            label(k)
                        ),
                        0..k,
                    )
                };
                let evidence: Option<Vec<String>> = range.map(|q| get(c, q, m)).collect();
                if let Some(evidence) = evidence {
                    qs.push(SynthQuestion {
                        id: format!("o{i}"),
                        question,
                        evidence,
                    });
                }
            }
        }
        kinds.push(QuestionKind {
            name: "open",
            questions: qs,
        });

        // One company, two quarters compared.
        let mut qs = Vec::new();
        if complete >= 1 {
            for i in 0..per_kind {
                let c = r.below(n);
                let m = pick_measure(&mut r);
                let a = r.below(complete + 1);
                let b = r.below(complete + 1);
                if a == b {
                    continue;
                }
                let (a, b) = (a.min(b), a.max(b));
                let question = if r.chance(0.5) {
                    format!(
                        "How did {}'s {} in {} compare with {}?",
                        short(c),
                        m.words(),
                        label(a),
                        label(b)
                    )
                } else {
                    format!(
                        "Was the {} of {} higher in {} or in {}?",
                        m.words(),
                        short(c),
                        label(a),
                        label(b)
                    )
                };
                let evidence: Option<Vec<String>> = [a, b].iter().map(|&q| get(c, q, m)).collect();
                if let Some(evidence) = evidence {
                    qs.push(SynthQuestion {
                        id: format!("p{i}"),
                        question,
                        evidence,
                    });
                }
            }
        }
        kinds.push(QuestionKind {
            name: "compare",
            questions: qs,
        });
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_questions_whose_evidence_is_in_the_corpus() {
        let synth = Synth::new(42);
        let corpus: String = synth
            .documents(6000)
            .map(|d| d.text)
            .collect::<Vec<_>>()
            .join("\n");
        let kinds = synth.questions(6000, 20);
        assert_eq!(
            kinds.iter().map(|k| k.name).collect::<Vec<_>>(),
            ["companies", "stepped", "open", "compare"]
        );
        for k in &kinds {
            assert!(k.questions.len() >= 15, "{}: {}", k.name, k.questions.len());
            for q in &k.questions {
                let want = match k.name {
                    "companies" => 3..=3,
                    "stepped" => 4..=4,
                    "open" => 2..=4,
                    _ => 2..=2,
                };
                assert!(want.contains(&q.evidence.len()), "{q:?}");
                for e in &q.evidence {
                    assert!(e.ends_with('.') && e.len() > 40, "{e:?}");
                    assert!(corpus.contains(e.as_str()), "{e:?} not in the corpus");
                }
                let distinct: std::collections::HashSet<&String> = q.evidence.iter().collect();
                assert_eq!(distinct.len(), q.evidence.len(), "{q:?}");
            }
        }
        // Same seed, same questions.
        assert_eq!(kinds, synth.questions(6000, 20));
    }

    #[test]
    fn sentences_end_after_figures_not_inside_them() {
        let t = "Acme Inc. (NYSE: ACM) reported revenue of $2.96 billion for Q1 2015. Next one.";
        let s = sentence_from(t, 0, t.find("$").unwrap() + 1).unwrap();
        assert_eq!(
            s,
            "Acme Inc. (NYSE: ACM) reported revenue of $2.96 billion for Q1 2015."
        );
    }
}
