//! The summary scheduler: recomputes the summaries of dirty time nodes only, bottom-up, and never
//! recomputes a node whose input is unchanged.
//!
//! A transaction marks the nodes of the facts it touched, and their ancestors, dirty (in the
//! store, atomically with the transaction). This pass takes the dirty set, computes each node's
//! input (its own most important facts, its children's current summaries, its themes), hashes
//! it, and calls the summariser only when the hash differs from the node's latest summary.
//! Levels run in order (days, weeks, months, quarters, years) so that parents see their
//! children's fresh summaries. Cost per node is bounded: a node reads at most [`POOL`] of its own
//! facts, plus one summary per child.
//!
//! **Invariant:** a summary is a function of its node's own active facts and its children's
//! summaries only (centrality and themes are computed inside the node), so a change elsewhere
//! never makes it stale, and the same state always gives the same summary — which is what makes
//! summaries after a rollback equal to the summaries as of the rollback target.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::extractive::Extractive;
use super::{InputFact, Summarizer, SummaryInput};
use crate::Result;
use crate::index::NsIndexes;
use crate::model::{Fact, FactId, FactObject, Summary, TxId};
use crate::store::NsStore;
use crate::time::{Granularity, TimeKey};

/// Own facts considered per node (ranked by a cheap importance first).
pub const POOL: usize = 600;
/// Facts handed to the summariser per node.
const INPUT_FACTS: usize = 30;

/// What a summarisation pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, schemars::JsonSchema)]
pub struct SummarizeReport {
    /// Nodes whose summary was recomputed, in order.
    pub recomputed: Vec<String>,
    /// Dirty nodes whose input was unchanged (no recompute).
    pub unchanged: u64,
    /// Nodes where the configured summariser failed and the extractive one was used.
    pub fallbacks: u64,
    /// Seconds taken.
    pub seconds: f64,
}

fn level(g: Granularity) -> u8 {
    match g {
        Granularity::Day => 0,
        Granularity::Week => 1,
        Granularity::Month => 2,
        Granularity::Quarter => 3,
        Granularity::Year => 4,
    }
}

/// Most facts a [`PoolCache`] keeps: ten full pools, enough for the large nodes one batch
/// touches (a document's quarter and year). Past it, it starts again empty. At 20,000 a 1M-fact
/// store held 65 MB more after a full pass.
const POOL_CACHE_FACTS: usize = 6_000;

/// A pooled fact as a node's input reads it: the record and what its description alone
/// decides (its terms and weights).
#[derive(Debug)]
struct Pooled {
    fact: Fact,
    terms: Vec<String>,
    /// [`super::figure_weight`], × 1.4 when the description states a headline measure.
    figures: f32,
    /// 1 for a description of sentence length, 0.7 outside it, 0.3 for garbled text.
    shape: f32,
    /// [`boilerplate_penalty`].
    boilerplate: f32,
}

impl Pooled {
    fn of(fact: Fact) -> Self {
        let d = &fact.description;
        let figures = super::figure_weight(d)
            * if super::headline_measure(d).is_some() {
                1.4
            } else {
                1.0
            };
        let shape = if super::garbled(d) {
            0.3
        } else if (50..=300).contains(&d.len()) {
            1.0
        } else {
            0.7
        };
        Pooled {
            terms: terms_of(d),
            figures,
            shape,
            boilerplate: boilerplate_penalty(d),
            fact,
        }
    }
}

/// The pooled facts of earlier passes over a namespace, by id. A node's pool changes little
/// from one pass to the next (a year of a 1M-fact store holds 100k facts, and one more
/// document moves a few of its best 600), and reading those facts from the store and working
/// out their terms again was most of what the summaries of one more document cost. An entry
/// is used only for the version the catalog names (`updated_tx`), and none survives a change
/// of the past or a reopening of the indexes ([`NsIndexes::state`]), so a pass reads exactly
/// what it would read from the store. Owned by the namespace's summary lock: one pass at a
/// time.
#[derive(Debug, Default)]
pub struct PoolCache {
    /// The indexes' instance and epoch the entries hold for.
    state: Option<(u64, u64)>,
    facts: HashMap<FactId, Arc<Pooled>>,
}

impl PoolCache {
    /// Entries kept.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether it keeps none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    fn get(&self, id: FactId, updated_tx: TxId) -> Option<&Arc<Pooled>> {
        self.facts
            .get(&id)
            .filter(|p| p.fact.updated_tx == updated_tx)
    }

    fn keep(&mut self, new: Vec<Arc<Pooled>>) {
        if self.facts.len() + new.len() > POOL_CACHE_FACTS {
            self.facts.clear();
        }
        for p in new.into_iter().take(POOL_CACHE_FACTS) {
            self.facts.insert(p.fact.id, p);
        }
    }
}

/// What a pass does with one dirty node.
enum Outcome {
    /// The node no longer exists: its dirty mark is cleared.
    Gone(TimeKey, TxId),
    /// Its input is unchanged: cleared up to this transaction.
    Unchanged(TimeKey, TxId),
    /// A new summary (`true`: written by the fallback summariser).
    Written(Summary, bool),
}

/// Runs one pass over the dirty nodes of a namespace.
pub fn run(
    store: &dyn NsStore,
    idx: &NsIndexes,
    summarizer: &dyn Summarizer,
    cache: &mut PoolCache,
) -> Result<SummarizeReport> {
    let started = Instant::now();
    let state = idx.state();
    if cache.state != Some((state.instance, state.epoch)) {
        cache.facts.clear();
        cache.state = Some((state.instance, state.epoch));
    }
    let mut report = SummarizeReport::default();
    let dirty = store.dirty_nodes()?;
    if dirty.is_empty() {
        return Ok(report);
    }
    // The keys alone are needed (the children of dirty nodes): listing them still grows with
    // the number of nodes, but no node record is read or decoded.
    let keys: Vec<TimeKey> = store.node_keys()?;
    let mut children: HashMap<TimeKey, Vec<TimeKey>> = HashMap::new();
    for k in &keys {
        if let Some(p) = k.parent() {
            children.entry(p).or_default().push(*k);
        }
    }
    let known: BTreeSet<TimeKey> = keys.into_iter().collect();
    let mut by_level: BTreeMap<u8, Vec<(TimeKey, TxId)>> = BTreeMap::new();
    for (k, t) in dirty {
        by_level
            .entry(level(k.granularity()))
            .or_default()
            .push((k, t));
    }
    let fallback = Extractive;
    let mut any_written = false;
    for (_, keys) in by_level {
        let mut written: Vec<Summary> = Vec::new();
        let mut cleared: Vec<(TimeKey, TxId)> = Vec::new();
        // The nodes of one level depend only on their own facts and on the level below, which
        // is written: they are computed in parallel, and taken in their order. The facts they
        // read anew join the cache after the level.
        let shared: &PoolCache = cache;
        let outcomes: Vec<Result<(Outcome, Vec<Arc<Pooled>>)>> = keys
            .par_iter()
            .map(|&(k, dirty_tx)| {
                if !known.contains(&k) {
                    return Ok((Outcome::Gone(k, dirty_tx), Vec::new()));
                }
                let kids: Vec<Summary> = children
                    .get(&k)
                    .map(|v| {
                        let mut v = v.clone();
                        v.sort();
                        v
                    })
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| store.summary(c, None).transpose())
                    .filter(|s| s.as_ref().is_ok_and(|s| s.fact_count > 0))
                    .collect::<Result<_>>()?;
                let (input, reflects, read) = build_input(store, idx, shared, k, kids)?;
                let hash = input_hash(&summarizer.name(), &input);
                let latest = store.summary(&k, None)?;
                if latest.as_ref().is_some_and(|s| s.input_hash == hash) {
                    return Ok((Outcome::Unchanged(k, reflects.max(dirty_tx)), read));
                }
                let (draft, fell_back) = match summarizer.summarize(&input) {
                    Ok(d) => (d, false),
                    Err(e) => {
                        tracing::warn!(node = %k, error = %e, "summariser failed; using the extractive one");
                        (fallback.summarize(&input)?, true)
                    }
                };
                let written = Outcome::Written(
                    Summary {
                        node: k,
                        title: draft.title,
                        text: draft.text,
                        findings: draft.findings,
                        entities: draft.entities,
                        rating: draft.rating,
                        summarizer: summarizer.name(),
                        input_hash: hash,
                        fact_count: input.fact_count,
                        reflects_tx: reflects,
                        version_tx: reflects,
                    },
                    fell_back,
                );
                Ok((written, read))
            })
            .collect();
        let mut read = Vec::new();
        let mut results = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            let (outcome, r) = o?;
            read.extend(r);
            results.push(outcome);
        }
        cache.keep(read);
        for outcome in results {
            match outcome {
                Outcome::Gone(k, tx) => cleared.push((k, tx)),
                Outcome::Unchanged(k, tx) => {
                    report.unchanged += 1;
                    cleared.push((k, tx));
                }
                Outcome::Written(summary, fell_back) => {
                    if fell_back {
                        report.fallbacks += 1;
                    }
                    report.recomputed.push(summary.node.to_string());
                    written.push(summary);
                }
            }
        }
        if !written.is_empty() {
            store.put_summaries(&written)?;
            idx.index_summaries(&written)?;
            any_written = true;
        }
        if !cleared.is_empty() {
            store.clear_dirty(&cleared)?;
        }
    }
    // Only a pass that wrote something changes what queries see (and the caches' key).
    if any_written {
        idx.commit_derived()?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Gathers a node's input; returns it with the transaction its facts reflect.
///
/// Ranking: a cheap importance (confidence, sources, entity centrality) picks a bounded pool of
/// the node's own facts; the pool's distinctive terms (frequent in the pool, rare in the
/// namespace) are its themes; each pooled fact is then scored by importance times how much of
/// the themes it covers, with boilerplate ("please refer to page 12") pushed down and facts with
/// figures pushed up; near-duplicates are dropped.
///
/// Pooled facts come from `cache` when it holds the version the catalog names, else from the
/// store; those read from the store are returned for the cache.
fn build_input(
    store: &dyn NsStore,
    idx: &NsIndexes,
    cache: &PoolCache,
    k: TimeKey,
    children: Vec<Summary>,
) -> Result<(SummaryInput, TxId, Vec<Arc<Pooled>>)> {
    let (pool, own_count, reflects, names) = {
        let cat = idx.catalog.read();
        let mut own: Vec<(FactId, f32)> = cat
            .facts_at(&k)
            .iter()
            .filter_map(|id| {
                let m = cat.facts.get(id)?;
                if !m.active {
                    return None;
                }
                let imp = m.confidence
                    * (1.0 + 0.3 * (1.0 + m.sources.len() as f32).ln())
                    * if m.inherited { 1.0 } else { 1.1 };
                Some((*id, imp))
            })
            .collect();
        let own_count = own.len() as u64;
        // The pool: the POOL best in linear time, then sorted (a year node of a large store
        // holds 100k facts, of which only the pool is kept).
        let order = |a: &(FactId, f32), b: &(FactId, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if own.len() > POOL {
            own.select_nth_unstable_by(POOL - 1, order);
            own.truncate(POOL);
        }
        own.sort_by(order);
        let versions: Vec<TxId> = own
            .iter()
            .map(|(id, _)| cat.facts.get(id).map_or(0, |m| m.updated_tx))
            .collect();
        let names: HashMap<u64, String> = own
            .iter()
            .filter_map(|(id, _)| cat.facts.get(id))
            .flat_map(|m| std::iter::once(m.subject).chain(m.object))
            .chain(children.iter().flat_map(|c| c.entities.iter().copied()))
            .filter_map(|e| cat.entities.get(&e).map(|m| (e, m.name.clone())))
            .collect();
        (
            own.into_iter().zip(versions).collect::<Vec<_>>(),
            own_count,
            cat.applied_tx,
            names,
        )
    };
    let missing: Vec<FactId> = pool
        .iter()
        .filter(|((id, _), v)| cache.get(*id, *v).is_none())
        .map(|((id, _), _)| *id)
        .collect();
    let read: Vec<Arc<Pooled>> = store
        .facts_current(&missing)?
        .into_iter()
        .flatten()
        .map(|f| Arc::new(Pooled::of(f)))
        .collect();
    let fresh: HashMap<FactId, &Arc<Pooled>> = read.iter().map(|p| (p.fact.id, p)).collect();
    // In pool order; a fact the store no longer has is left out, as before.
    let loaded: Vec<(&Pooled, f32)> = pool
        .iter()
        .filter_map(|((id, imp), v)| {
            let p = cache.get(*id, *v).or_else(|| fresh.get(id).copied())?;
            Some((p.as_ref(), *imp))
        })
        .collect();
    let mut texts: Vec<Vec<String>> = loaded.iter().map(|(p, _)| p.terms.clone()).collect();
    for c in &children {
        texts.extend(c.findings.iter().map(|f| terms_of(&f.text)));
    }
    // Words of the node's most frequent subjects ("audi") are not themes.
    let mut subject_counts: HashMap<u64, usize> = HashMap::new();
    for (p, _) in &loaded {
        *subject_counts.entry(p.fact.subject).or_default() += 1;
    }
    let mut top_subjects: Vec<(u64, usize)> = subject_counts.into_iter().collect();
    top_subjects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let exclude: BTreeSet<String> = top_subjects
        .iter()
        .take(3)
        .filter_map(|(e, _)| names.get(e))
        .flat_map(|n| terms_of(n))
        .collect();
    let weighted: Vec<(String, f32)> = theme_weights(&texts)
        .into_iter()
        .filter(|(t, _)| !t.split(' ').any(|w| exclude.contains(w)))
        .collect();
    let themes = pick_themes(&weighted);
    let theme_w: HashMap<&str, f32> = weighted
        .iter()
        .take(40)
        .map(|(t, w)| (t.as_str(), *w))
        .collect();
    let max_w = weighted.first().map(|x| x.1).unwrap_or(1.0).max(1e-6);
    // Centrality of entities inside this node: how many of its pooled facts mention each.
    let mut local_degree: HashMap<u64, f32> = HashMap::new();
    for (p, _) in &loaded {
        for e in p.fact.entities() {
            *local_degree.entry(e).or_default() += 1.0;
        }
    }
    let mut ranked: Vec<(usize, f32)> = loaded
        .iter()
        .enumerate()
        .map(|(i, (p, imp))| {
            let (f, terms) = (&p.fact, &p.terms);
            let object_degree = match f.object {
                FactObject::Entity(o) => local_degree.get(&o).copied().unwrap_or(0.0),
                _ => 0.0,
            };
            let centrality =
                object_degree.max(local_degree.get(&f.subject).copied().unwrap_or(0.0) * 0.5);
            let imp = imp * (1.0 + 0.1 * (1.0 + centrality).ln());
            let cover: f32 = terms
                .iter()
                .filter_map(|t| theme_w.get(t.as_str()))
                .sum::<f32>()
                / max_w
                / (terms.len().max(4) as f32).sqrt();
            // Key figures first ("delivered 1.8 million cars", "CO2 fell 12%"); sentences
            // garbled by PDF conversion last (see `Pooled`).
            (i, imp * (0.3 + cover) * p.figures * p.shape * p.boilerplate)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut facts: Vec<InputFact> = Vec::new();
    let mut seen: Vec<BTreeSet<&str>> = Vec::new();
    for (i, score) in ranked {
        if facts.len() >= INPUT_FACTS {
            break;
        }
        let (f, terms) = (&loaded[i].0.fact, &loaded[i].0.terms);
        let words: BTreeSet<&str> = terms
            .iter()
            .filter(|t| !t.contains(' '))
            .map(String::as_str)
            .collect();
        let near_dup = seen.iter().any(|s| {
            let inter = s.intersection(&words).count() as f32;
            let union = s.union(&words).count().max(1) as f32;
            inter / union >= 0.6
        });
        if near_dup {
            continue;
        }
        seen.push(words);
        let object_name = match &f.object {
            FactObject::Entity(e) => names.get(e).cloned().unwrap_or_default(),
            FactObject::Literal(l) => l.clone(),
        };
        let entities: Vec<_> = f.entities().collect();
        facts.push(InputFact {
            id: f.id,
            subject_id: f.subject,
            subject: names.get(&f.subject).cloned().unwrap_or_default(),
            object: object_name,
            entities,
            description: f.description.clone(),
            time: k.to_string(),
            importance: (score * 1000.0).round() / 1000.0,
        });
    }
    let fact_count = own_count + children.iter().map(|c| c.fact_count).sum::<u64>();
    Ok((
        SummaryInput {
            node: k,
            facts,
            children,
            themes,
            fact_count,
            entity_names: names,
        },
        reflects,
        read,
    ))
}

/// Boilerplate (cross-references, legal notes, navigation) is not a finding.
fn boilerplate_penalty(s: &str) -> f32 {
    const CUES: &[&str] = &[
        "refer to",
        "see page",
        "on page",
        "pages ",
        "please ",
        "www.",
        "http",
        "excerpt",
        "footnote",
        "for further information",
        "for more information",
        "can be found",
        "is available",
        "table of contents",
        "gri ",
        "this report",
        "reporting period",
    ];
    let lower = s.to_lowercase();
    let mut hits = CUES.iter().filter(|c| lower.contains(*c)).count();
    // Table and formula debris from converted PDFs.
    if s.contains('=') || s.contains('|') || s.contains("$v") {
        hits += 2;
    }
    // Text repeated within itself (a conversion artefact).
    if s.len() > 120 {
        let floor = |mut i: usize| {
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let head = floor(40);
        if s[head..].contains(&s[..head]) {
            hits += 2;
        }
    }
    1.0 / (1.0 + hits as f32 * 1.5)
}

/// The hash of everything a summary depends on.
pub fn input_hash(summarizer: &str, input: &SummaryInput) -> String {
    let mut h = Sha256::new();
    h.update(summarizer.as_bytes());
    h.update(input.node.to_string().as_bytes());
    h.update(input.fact_count.to_be_bytes());
    for f in &input.facts {
        h.update(f.id.to_be_bytes());
        h.update(f.description.as_bytes());
        h.update(f.importance.to_be_bytes());
    }
    for c in &input.children {
        h.update(c.node.to_string().as_bytes());
        h.update(c.input_hash.as_bytes());
    }
    for t in &input.themes {
        h.update(t.as_bytes());
    }
    hex::encode(h.finalize())
}

const THEME_STOP: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "its",
    "our",
    "their",
    "which",
    "also",
    "been",
    "will",
    "into",
    "more",
    "than",
    "such",
    "all",
    "not",
    "but",
    "can",
    "per",
    "year",
    "years",
    "report",
    "page",
    "pages",
    "percent",
    "well",
    "new",
    "other",
    "these",
    "those",
    "both",
    "each",
    "within",
    "through",
    "there",
    "they",
    "them",
    "who",
    "what",
    "when",
    "where",
    "how",
    "about",
    "over",
    "under",
    "between",
    "after",
    "before",
    "during",
    "since",
    "while",
    "already",
    "further",
    "first",
    "second",
    "total",
    "number",
    "part",
    "example",
    "including",
    "around",
    "million",
    "billion",
    "thousand",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "quarter",
    "half",
    "company",
    "group",
    "would",
    "could",
    "should",
    "must",
    "many",
    "much",
    "some",
    "any",
    "one",
    "two",
    "three",
    "used",
    "use",
    "previous",
    "prior",
    "prior-year",
    "compared",
    "compare",
    "excerpt",
    "fiscal",
    "today",
    "current",
    "currently",
    "based",
    "within",
    "among",
    "addition",
    "additional",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "figure",
    "figures",
    "table",
    "see",
    "refer",
    "information",
    "further",
    "following",
    "respective",
    "respectively",
    "various",
    "relevant",
    "respect",
    "regard",
    "regarding",
    "area",
    "areas",
    "field",
    "fields",
    "level",
    "levels",
    "way",
    "ways",
    "made",
    "make",
    "take",
    "taken",
    "set",
    "well",
    "only",
    "even",
    "just",
    "most",
    "less",
    "high",
    "higher",
    "low",
    "lower",
    "large",
    "larger",
    "period",
    "reporting",
    "end",
    "i.e",
    "e.g",
    "etc",
    "approximately",
    "mathsf",
    "mathrm",
    "text",
    "rm",
    "friday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "saturday",
    "sunday",
    "net",
    "annual",
    "yearly",
    "date",
    "dates",
    "time",
    "times",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "2nd",
    "3rd",
    "4th",
    "rst",
    "erent",
    "ned",
    "nancial",
    "ts",
    "eld",
];

/// Content terms of a text: lower-case words (3+ letters, not stop words, not numbers) and the
/// bigrams of adjacent ones.
fn terms_of(text: &str) -> Vec<String> {
    // The stop list as a set, built once: a pass reads hundreds of texts per node, and a scan
    // of the list per word was a third of a pass's time at a million facts.
    static STOP: std::sync::LazyLock<rustc_hash::FxHashSet<&'static str>> =
        std::sync::LazyLock::new(|| THEME_STOP.iter().copied().collect());
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-').to_lowercase())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut seen: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
    let mut prev: Option<&String> = None;
    for w in &words {
        let ok = w.chars().count() >= 3
            && w.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && !STOP.contains(w.as_str());
        if !ok {
            prev = None;
            continue;
        }
        if seen.insert(w.clone()) {
            out.push(w.clone());
        }
        if let Some(p) = prev {
            let b = format!("{p} {w}");
            if seen.insert(b.clone()) {
                out.push(b);
            }
        }
        prev = Some(w);
    }
    out
}

/// Terms weighted by how many of the node's texts contain them (bigrams preferred), best first.
/// Terms in fewer than three texts are ignored (for tiny nodes: two). Only the node's own facts
/// and its children count: a summary depends on nothing outside its node, so a change elsewhere
/// never makes it stale (and the same state always gives the same themes).
fn theme_weights(texts: &[Vec<String>]) -> Vec<(String, f32)> {
    let mut df: HashMap<&str, f32> = HashMap::new();
    for t in texts {
        for term in t {
            *df.entry(term.as_str()).or_default() += 1.0;
        }
    }
    let min_df = if texts.len() >= 20 { 3.0 } else { 2.0 };
    let mut cands: Vec<(&str, f32)> = df.into_iter().filter(|(_, n)| *n >= min_df).collect();
    cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    cands.truncate(300);
    let mut out: Vec<(String, f32)> = Vec::new();
    for (term, n) in cands {
        let bigram_bonus = if term.contains(' ') { 1.6 } else { 1.0 };
        out.push((term.to_string(), n * bigram_bonus));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The six best themes, without repeating a word.
fn pick_themes(weighted: &[(String, f32)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (t, _) in weighted {
        let words: Vec<&str> = t.split(' ').collect();
        let overlaps = out.iter().any(|o| {
            let ow: Vec<&str> = o.split(' ').collect();
            words.iter().any(|w| ow.contains(w))
        });
        if overlaps {
            continue;
        }
        out.push(t.clone());
        if out.len() >= 6 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::terms_of;

    #[test]
    fn terms_are_content_words_and_their_bigrams_in_first_seen_order() {
        // Stop words and short words break a bigram; a term seen again is not repeated.
        assert_eq!(
            terms_of("The electric mobility of the electric mobility fleet, and CO2 emissions."),
            [
                "electric",
                "mobility",
                "electric mobility",
                "fleet",
                "mobility fleet",
                "co2",
                "emissions",
                "co2 emissions"
            ]
        );
        assert!(terms_of("the and for of 2024 12").is_empty());
    }
}
