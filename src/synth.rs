//! A deterministic generator of realistic temporal corpora, for benchmarks, load tests and
//! demos at any size.
//!
//! The world: listed companies (name, short name, exchange ticker, sector, headquarters), their
//! people (chief executive, chief financial officer, later hires), products and plants. Each
//! company reports every quarter from [`FIRST_YEAR`] on: an **earnings-call summary** dated to the
//! quarter (revenue, units delivered, margins, net income, guidance, product launches, quotes),
//! written with explicit ("in Q3 2024", "the third quarter of 2024", "August 2024") and relative
//! ("last quarter", "a year earlier", "the same quarter last year") time expressions; every fourth
//! quarter also brings a **sustainability report** dated to the year (emissions, renewable share,
//! water, workforce, targets), and now and then a **news item** dated to a day. Figures follow a
//! random walk per company; occasionally a later call **restates** an earlier quarter's revenue
//! (the old figure stays in the old document: a contradiction the database has to order in time).
//!
//! Everything is a function of the seed: the same seed and target give the same documents,
//! byte for byte, on every machine. Size is set in facts: each sentence is written to yield one
//! fact per time expression it states (one at the document time when it states none) under the
//! rules extractor, and documents are produced until the expected count reaches the target
//! (10k, 100k and 1M facts are about 0.9, 9 and 90 MB of text; generating 1M takes about a
//! second).

mod questions;
mod world;
mod writer;

use std::collections::HashSet;

use crate::ingest::DocumentInput;
pub use questions::{QuestionKind, SynthQuestion};
pub use world::{Company, Person, Sector};
use writer::{CompanyState, Writer};

/// First year reported.
pub const FIRST_YEAR: i32 = 2015;
/// Quarters reported per company before more companies are needed (2015-Q1 … 2024-Q4).
pub const QUARTERS: usize = 40;
/// Expected facts per company and quarter (used to size the world).
const FACTS_PER_COMPANY_QUARTER: usize = 15;

/// The generator. See the module documentation.
#[derive(Debug, Clone)]
pub struct Synth {
    seed: u64,
}

impl Synth {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Synth { seed }
    }

    /// How many companies a corpus of `target_facts` facts has.
    pub fn company_count(target_facts: usize) -> usize {
        target_facts
            .div_ceil(QUARTERS * FACTS_PER_COMPANY_QUARTER)
            .max(1)
    }

    /// The companies of a corpus of `target_facts` facts (what its documents talk about).
    pub fn companies(&self, target_facts: usize) -> Vec<Company> {
        let n = Self::company_count(target_facts);
        let mut names = HashSet::new();
        let mut tickers = HashSet::new();
        (0..n)
            .map(|i| world::company(self.seed, i as u64, &mut names, &mut tickers))
            .collect()
    }

    /// Documents holding about `target_facts` facts (under the rules extractor), in time order:
    /// every company's documents of one quarter, then the next quarter.
    pub fn documents(&self, target_facts: usize) -> Documents {
        let companies = self.companies(target_facts);
        let states = companies
            .iter()
            .map(|c| CompanyState {
                revenue: Vec::new(),
                units: c.units0,
                margin: 8.0 + 10.0 * (c.growth + 0.005) / 0.035,
                headcount: (c.units0 / c.sector.units_base * 40_000.0).round(),
                emissions: c.units0 / c.sector.units_base * 2.4,
                renewable: 20.0 + (c.growth * 1000.0).abs(),
                women_mgmt: 14.0,
                hires: Vec::new(),
            })
            .collect();
        Documents {
            seed: self.seed,
            target: target_facts,
            expected: 0,
            companies,
            states,
            quarter: 0,
            next_company: 0,
            pending: Vec::new(),
        }
    }
}

/// The document stream of [`Synth::documents`].
#[derive(Debug, Clone)]
pub struct Documents {
    seed: u64,
    target: usize,
    expected: usize,
    companies: Vec<Company>,
    states: Vec<CompanyState>,
    /// Quarter index from [`FIRST_YEAR`]-Q1 (continues past [`QUARTERS`] when needed).
    quarter: usize,
    next_company: usize,
    pending: Vec<DocumentInput>,
}

impl Documents {
    /// Facts expected from the documents produced so far.
    pub fn expected_facts(&self) -> usize {
        self.expected
    }

    /// The companies the documents talk about.
    pub fn companies(&self) -> &[Company] {
        &self.companies
    }
}

impl Iterator for Documents {
    type Item = DocumentInput;

    fn next(&mut self) -> Option<DocumentInput> {
        loop {
            if let Some(d) = self.pending.pop() {
                return Some(d);
            }
            if self.expected >= self.target {
                return None;
            }
            if self.next_company >= self.companies.len() {
                self.next_company = 0;
                self.quarter += 1;
            }
            let i = self.next_company;
            self.next_company += 1;
            let mut w = Writer::new(self.seed, i, self.quarter);
            let mut docs = w.company_quarter(&self.companies[i], &mut self.states[i]);
            self.expected += w.out.expected;
            docs.reverse();
            self.pending = docs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::writer::thousands;
    use super::*;
    use crate::ingest::extract::rules::RulesExtractor;
    use crate::ingest::extract::{DocContext, Extractor};
    use crate::ingest::input::prepare;
    use crate::ingest::{chunk, sentences};

    #[test]
    fn same_seed_same_documents_other_seed_other_documents() {
        let a: Vec<DocumentInput> = Synth::new(7).documents(3000).collect();
        let b: Vec<DocumentInput> = Synth::new(7).documents(3000).collect();
        let c: Vec<DocumentInput> = Synth::new(8).documents(3000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let ids: HashSet<&str> = a.iter().filter_map(|d| d.id.as_deref()).collect();
        assert_eq!(ids.len(), a.len(), "document ids are unique");
    }

    #[test]
    fn companies_are_distinct_with_tickers() {
        let cs = Synth::new(1).companies(200_000);
        assert_eq!(cs.len(), Synth::company_count(200_000));
        assert!(cs.len() > 200, "{}", cs.len());
        let names: HashSet<&str> = cs.iter().map(|c| c.short.as_str()).collect();
        let tickers: HashSet<&str> = cs.iter().map(|c| c.ticker.as_str()).collect();
        assert_eq!(names.len(), cs.len());
        assert_eq!(tickers.len(), cs.len());
        assert!(cs.iter().all(|c| (3..=5).contains(&c.ticker.len())));
    }

    #[test]
    fn every_document_time_parses_and_relative_times_resolve() {
        for d in Synth::new(3).documents(2000) {
            let p = prepare(d.clone(), None).expect("valid document");
            assert!(p.time.is_some(), "{:?}", d.id);
        }
        let docs: Vec<DocumentInput> = Synth::new(3).documents(2000).collect();
        let call = docs
            .iter()
            .find(|d| d.text.contains("last quarter"))
            .expect("a call with a relative time");
        let p = prepare(call.clone(), None).unwrap();
        let times = crate::time::find_times(&call.text, p.time.as_ref());
        assert!(
            times
                .iter()
                .any(|t| t.kind == crate::time::SpanKind::Relative),
            "{times:?}"
        );
    }

    #[test]
    fn sizes_track_the_target_and_the_rules_extractor_agrees() {
        for target in [500, 5000] {
            let mut docs = Synth::new(11).documents(target);
            let all: Vec<DocumentInput> = docs.by_ref().collect();
            let expected = docs.expected_facts();
            assert!(
                expected >= target && expected < target + 60,
                "{expected} vs {target}"
            );
            let mut facts = 0;
            let mut n_sentences = 0;
            for d in all {
                let p = prepare(d, None).unwrap();
                let text = p.input.text.as_str();
                let spans = chunk::chunk(text, chunk::DEFAULT_CHUNK_CHARS);
                let chunks: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
                n_sentences += chunks
                    .iter()
                    .map(|c| sentences::split(c).len())
                    .sum::<usize>();
                let ctx = DocContext {
                    title: p.title.clone(),
                    time: p.time,
                };
                facts += RulesExtractor
                    .extract(&ctx, &chunks)
                    .unwrap()
                    .iter()
                    .map(|e| e.facts.len())
                    .sum::<usize>();
            }
            let ratio = facts as f64 / target as f64;
            assert!(
                (0.8..1.25).contains(&ratio),
                "{facts} facts for {target} ({ratio:.2})"
            );
            assert!(n_sentences > target / 2, "{n_sentences}");
        }
    }

    #[test]
    fn restatements_and_news_appear() {
        let docs: Vec<DocumentInput> = Synth::new(5).documents(20_000).collect();
        assert!(
            docs.iter()
                .any(|d| d.text.contains(" restated its revenue for Q"))
        );
        assert!(
            docs.iter()
                .any(|d| d.id.as_deref().is_some_and(|i| i.ends_with("-news")))
        );
        assert!(
            docs.iter()
                .any(|d| d.time.as_deref().is_some_and(|t| t.len() == 4))
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-3.0), "0");
    }
}
