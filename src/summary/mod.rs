//! Time-node summaries: every node of the calendar hierarchy that facts use carries a summary of
//! what happened in it, kept current incrementally.
//!
//! - [`Summarizer`] is the trait; [`extractive::Extractive`] is the built-in default (no network);
//!   `llm::LlmSummarizer` asks an OpenAI-compatible endpoint and falls back to the extractive one.
//! - [`scheduler`] recomputes dirty nodes only, bottom-up (days → months → quarters → years), and
//!   skips a node whose input hash is unchanged (no recompute, no LLM call).
//!
//! Summaries are derived data: they are written outside transactions, versioned by the
//! transaction whose state they reflect, so reading a node as of transaction T returns the newest
//! summary that reflects a transaction ≤ T. Findings cite their facts (lineage).

pub mod extractive;
pub mod llm;
pub mod scheduler;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{EntityId, FactId, Finding, Summary};
use crate::time::{Granularity, TimeKey};

/// A fact offered to a summariser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputFact {
    /// Fact id (findings cite it).
    pub id: FactId,
    /// Subject entity.
    pub subject_id: EntityId,
    /// Subject name.
    pub subject: String,
    /// Object (entity name or literal).
    pub object: String,
    /// The fact's entities.
    pub entities: Vec<EntityId>,
    /// Description.
    pub description: String,
    /// Valid time label.
    pub time: String,
    /// Importance in [0, ∞): centrality of its entities, confidence, source count.
    pub importance: f32,
}

/// What a summariser gets for one node.
#[derive(Debug, Clone)]
pub struct SummaryInput {
    /// The node.
    pub node: TimeKey,
    /// The node's own most important facts (valid time exactly this node), best first,
    /// near-duplicates removed.
    pub facts: Vec<InputFact>,
    /// The current summaries of its children.
    pub children: Vec<Summary>,
    /// Distinctive terms of the node's facts ("electric mobility", "CO2 emissions"), best first.
    pub themes: Vec<String>,
    /// Number of facts inside the node (its own and its descendants').
    pub fact_count: u64,
    /// Names of entities, for display.
    pub entity_names: std::collections::HashMap<EntityId, String>,
}

/// A summary as a summariser writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Title.
    pub title: String,
    /// Readable text.
    pub text: String,
    /// Key findings, each citing facts.
    pub findings: Vec<Finding>,
    /// Entities involved, most important first.
    pub entities: Vec<EntityId>,
    /// Importance rating in [0, 10], when given.
    pub rating: Option<f32>,
}

/// Writes the summary of one time node.
pub trait Summarizer: Send + Sync {
    /// Identity recorded on summaries (`extractive`, `llm:<model>`); part of the input hash.
    fn name(&self) -> String;
    /// Summarises a node.
    fn summarize(&self, input: &SummaryInput) -> Result<Draft>;
}

/// A readable label of a node: "2019", "Q3 2019", "July 2019", "week 28 of 2024", "15 July 2024".
pub fn node_label(k: &TimeKey) -> String {
    use crate::time::MONTH_NAMES as MONTHS;
    use chrono::Datelike;
    let s = k.start();
    match k.granularity() {
        Granularity::Year => format!("{}", s.year()),
        Granularity::Quarter => format!("Q{} {}", s.month0() / 3 + 1, s.year()),
        Granularity::Month => format!("{} {}", MONTHS[s.month0() as usize], s.year()),
        Granularity::Week => {
            let w = s.iso_week();
            format!("week {} of {}", w.week(), w.year())
        }
        Granularity::Day => format!("{} {} {}", s.day(), MONTHS[s.month0() as usize], s.year()),
    }
}

/// Units a figure is stated in ("1.8 million", "12 percent", "3,200 employees").
const UNITS: &[&str] = &[
    "%",
    "percent",
    "per",
    "million",
    "billion",
    "thousand",
    "trillion",
    "tonnes",
    "tons",
    "t",
    "kg",
    "g",
    "gwh",
    "mwh",
    "kwh",
    "twh",
    "km",
    "vehicles",
    "cars",
    "units",
    "employees",
    "people",
    "staff",
    "euros",
    "eur",
    "dollars",
    "usd",
    "m",
    "bn",
    "co2",
    "cubic",
    "liters",
    "litres",
    "hours",
    "sites",
    "plants",
    "models",
    "points",
    "percentage",
];

/// Words that state a change ("rose", "down 3%", "compared with").
const CHANGE: &[&str] = &[
    "increase",
    "increased",
    "increases",
    "decrease",
    "decreased",
    "rose",
    "risen",
    "fell",
    "fallen",
    "grew",
    "grown",
    "growth",
    "declined",
    "decline",
    "dropped",
    "up",
    "down",
    "compared",
    "higher",
    "lower",
    "reduced",
    "reduction",
    "improved",
    "doubled",
    "halved",
];

/// How much a sentence is a key figure: it states a quantity (a number with a unit or a
/// currency, not a bare year) and, better, a change. 1 when it states none.
pub fn figure_weight(text: &str) -> f32 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let clean = |w: &str| -> String {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '%')
            .to_lowercase()
    };
    let mut figure = false;
    for (i, w) in words.iter().enumerate() {
        let c = clean(w);
        if !c.chars().next().is_some_and(|ch| ch.is_ascii_digit()) {
            if (w.starts_with('€') || w.starts_with('$'))
                && w.chars().nth(1).is_some_and(|ch| ch.is_ascii_digit())
            {
                figure = true;
            }
            continue;
        }
        if c.ends_with('%') {
            figure = true;
            continue;
        }
        let year = c.len() == 4 && c.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y));
        if year {
            continue;
        }
        let unit = |k: usize| words.get(i + k).map(|n| clean(n)).unwrap_or_default();
        if UNITS.contains(&unit(1).as_str())
            || (i > 0 && matches!(clean(words[i - 1]).as_str(), "eur" | "usd" | "€" | "$"))
        {
            figure = true;
        }
    }
    if !figure {
        return 1.0;
    }
    let change = words.iter().any(|w| CHANGE.contains(&clean(w).as_str()));
    if change { 2.5 } else { 2.0 }
}

/// The headline measure a sentence is about, when it names one of the measures reports and
/// news lead with (deliveries, revenue, profit, CO2, energy, water, waste, workforce,
/// production, investment): key figures are picked one per measure.
pub fn headline_measure(text: &str) -> Option<&'static str> {
    const MEASURES: &[(&str, &str)] = &[
        ("deliver", "deliveries"),
        ("revenue", "revenue"),
        ("sales", "sales"),
        ("profit", "profit"),
        ("margin", "margin"),
        ("income", "income"),
        ("co2", "co2"),
        ("emission", "co2"),
        ("carbon", "co2"),
        ("energy", "energy"),
        ("electricity", "energy"),
        ("renewable", "energy"),
        ("water", "water"),
        ("waste", "waste"),
        ("employ", "workforce"),
        ("workforce", "workforce"),
        ("staff", "workforce"),
        ("produc", "production"),
        ("invest", "investment"),
    ];
    let lower = text.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).find_map(|w| {
        MEASURES
            .iter()
            .find(|(stem, _)| w.starts_with(stem))
            .map(|(_, m)| *m)
    })
}

/// Whether a sentence looks garbled by PDF conversion: words fused across a line or column
/// break ("CenThe advent"), or one very long run-on sentence.
pub fn garbled(text: &str) -> bool {
    if text.len() > 360 {
        return true;
    }
    text.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphabetic());
        let cs: Vec<char> = w.chars().collect();
        // A lower-case run of two or more letters followed by a capital inside one word;
        // "e-tron", "iPhone", "McLaren" pass.
        cs.windows(3).enumerate().any(|(i, x)| {
            i >= 1 && x[0].is_lowercase() && x[1].is_lowercase() && x[2].is_uppercase()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_garble() {
        for (s, w) in [
            ("Audi delivered 1.8 million cars in 2019.", 2.0),
            ("CO2 emissions fell 12% from 2018.", 2.5),
            (
                "Revenue was EUR 55.7 billion, up from EUR 59.2 billion.",
                2.5,
            ),
            ("The strategy was presented in May 2019.", 1.0),
            ("The company employed 90,783 people.", 2.0),
            ("See page 12 of the 2019 report.", 1.0),
        ] {
            assert_eq!(figure_weight(s), w, "{s}");
        }
        assert!(garbled(
            "the new Audi Brand Experience CenThe advent of electric mobility"
        ));
        assert!(!garbled(
            "The Audi e-tron and the McLaren; iPhone users in Ingolstadt."
        ));
        assert!(garbled(&"word ".repeat(80)));
    }

    #[test]
    fn labels() {
        for (k, want) in [
            ("2019", "2019"),
            ("2019-Q3", "Q3 2019"),
            ("2019-07", "July 2019"),
            ("2024-W28", "week 28 of 2024"),
            ("2024-07-15", "15 July 2024"),
        ] {
            assert_eq!(node_label(&TimeKey::parse(k).unwrap()), want);
        }
    }
}
