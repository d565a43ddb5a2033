//! Passages: the pieces a context is made of, cut from the best chunks around their best
//! sentences.
//!
//! Retrieval ranks chunks; a chunk of 900 bytes usually holds one or two sentences that answer
//! and several that do not. So every sentence of the candidate chunks is scored against the
//! question's terms (BM25 with the index's own idf, a bonus for query terms that stand next to
//! each other, more weight on the measure asked and on the single entity names the question is
//! about, such as "the Audi Checkup", on sentences stating a figure when the question asks
//! for a quantity, and, for each period of a question that names its periods in clauses of
//! their own, on the words of that period's clause), its score is combined with its chunk's
//! (`sentence / best sentence + λ · chunk prior`), and the best sentences become **windows**:
//! the sentence plus its neighbours, reaching into the neighbouring chunks of the same document,
//! up to a target size. Windows that overlap or touch in the same document merge. Summaries and
//! source-less facts (hand-asserted ones) are units of their own and compete on the same scale.
//!
//! Measured on Time-LongQA (eval harness): windows of 600–800 bytes ranked this way hold more
//! evidence per character than whole chunks, mostly where the evidence straddles two chunks.

use rustc_hash::FxHashMap as HashMap;

use crate::Result;
use crate::index::chunk_text::{ChunkText, ChunkTexts};
use crate::index::graph::Catalog;
use crate::index::text::TextIndex;
use crate::ingest::sentences;
use crate::model::{ChunkId, DocId};
use crate::store::NsStore;

/// BM25 term saturation.
const K1: f32 = 1.2;
/// BM25 length normalisation.
const B: f32 = 0.75;
/// Weight of the chunk prior against the sentence score.
pub const LAMBDA: f32 = 2.0;
/// Weight of query terms that belong to the measure asked ("gross margin").
const MEASURE_BOOST: f32 = 1.5;
/// Least idf a measure term is weighed with before its boost.
const MEASURE_FLOOR: f32 = 1.0;
/// Terms found in more than this share of records discriminate nothing ("Audi" in Audi's own
/// reports) and are dropped from scoring when the query has others.
const COMMON_IDF: f32 = 0.35;
/// Factor on the score of a sentence that states a figure when the question asks for a
/// quantity. Measured back to back on one store each (×1.7, ×2.5, ×4, ×7, ×13): Time-LongQA
/// 0.725 / 0.822 / 0.892 without it, 0.728 / 0.825 / 0.895 at ×4 (×7 and ×13 the same within
/// 0.001); news 0.590 / 0.615 / 0.647 against 0.592 / 0.621 / 0.649. Applied to every question
/// instead, it costs 0.016 at 4k on Time-LongQA.
const FIGURE_BOOST: f32 = 4.0;
/// Weight of a term in the clause that names a facet's period, for that facet.
const CLAUSE_BOOST: f32 = 1.5;
/// Weight of a term named only in other periods' clauses, for a facet.
const CLAUSE_DAMP: f32 = 0.5;
/// Passages of one document before its further ones weigh less ([`DIVERSITY`] each).
pub const MAX_PER_DOC: usize = 3;
/// Candidates spread over many documents, at least this many with at most [`SPREAD`]
/// candidate chunks each on average (news, notes; not a few yearly reports, which give many
/// chunks each), are cut differently: a document's passages after its first weigh less, and
/// windows are [`MANY_DOCS_WINDOW`] at most. Measured in process on one store each, back to
/// back: news 0.597 / 0.627 / 0.654 → 0.605 / 0.628 / 0.663 (BM25 0.555 / 0.603 / 0.644), and
/// on a store ingested by the final build 0.592 / 0.627 / 0.653 → 0.603 / 0.629 / 0.665;
/// Time-LongQA unchanged in every group. Without the spread condition the news figures were
/// the same within 0.004, but 2 of the 117 Time-LongQA questions without a time lost their
/// evidence (their candidates come from most of the 12 reports).
const MANY_DOCS: usize = 8;
/// See [`MANY_DOCS`].
const SPREAD: usize = 3;
/// Largest window among candidates spread over [`MANY_DOCS`] documents: a news answer is one
/// or two sentences of a short article (news at 800: 0.595 / 0.631 / 0.665, 1,000: 0.599 /
/// 0.624 / 0.662, 900: 0.604 / 0.629 / 0.663, before the spread condition).
const MANY_DOCS_WINDOW: usize = 900;
/// Most of a window that may lie before its matching sentence, outside the spread case of
/// [`MANY_DOCS`] (long reports): a report states its topic (a heading, a lead sentence) and then
/// the details, so a window grows mostly forward. Measured in process on one store each, back to
/// back, with shares of 0 / 0.15 / 0.25 / 0.34 / 0.42 / 1 (centred, before): Time-LongQA @16k
/// 0.910 / 0.915 / 0.919 / 0.919 / 0.919 / 0.917, all three budgets at 0.25 0.761 / 0.855 /
/// 0.919 against 0.757 / 0.853 / 0.917. News keeps centred windows among spread candidates (a
/// quarter there too cost 0.006 at 4k); its few questions over a handful of documents moved
/// 0.628 → 0.632 at 8k.
const BEFORE_SHARE: f32 = 0.25;
/// Weight of each passage of a document beyond [`MAX_PER_DOC`].
const DIVERSITY: f32 = 0.85;
/// Shortest stem that matches a longer stem it begins (see [`stems_match`]).
const STEM_PREFIX: usize = 5;
/// Most bytes two stems may differ by and still match as prefix and extension.
const STEM_SLACK: usize = 3;
/// Whether two stems stand for the same word: one begins the other, both are at least
/// [`STEM_PREFIX`] bytes and they differ by at most [`STEM_SLACK`]. Snowball stems
/// "deliveries" to `deliveri` but "delivered" to `deliv`, "emissions" to `emiss` but "emitted"
/// to `emit`: the first pair matches, the second does not.
fn stems_match(a: &str, b: &str) -> bool {
    a == b
        || (a.len().min(b.len()) >= STEM_PREFIX
            && a.len().abs_diff(b.len()) <= STEM_SLACK
            && (a.starts_with(b) || b.starts_with(a)))
}

/// Windows closer than this (bytes) in one document merge.
const MERGE_GAP: usize = 2;

/// Question words that carry no meaning for matching (beyond the index's stop words).
const QUESTION_WORDS: &[&str] = &[
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "doe",
    "did",
    "do",
    "describ",
    "explain",
    "mention",
    "accord",
    "state",
    "report",
    "sai",
    "said",
    "tell",
    "give",
    "list",
    "name",
    "provid",
    "compar",
    "comparison",
    "between",
    "among",
    "respect",
    "respectively",
    "s",
];

/// The question's terms with their weights.
#[derive(Debug, Clone, Default)]
pub struct QueryTerms {
    /// Analysed terms, deduplicated, in question order.
    pub terms: Vec<String>,
    /// Weight of each (idf, boosted for the measure).
    pub weights: Vec<f32>,
    /// The question asks for a quantity ("how many", "what was the share"): sentences stating a
    /// figure score higher.
    pub quantity: bool,
}

/// Finds the question's terms in passages the way the text index analyses text (alphanumeric
/// runs, at most 40 bytes, lower-cased, English Snowball stems), but stems only the words that
/// could stem to a query term (same first two bytes): most words of a passage are rejected
/// without stemming, which is most of the cost of analysing text.
struct Matcher<'a> {
    q: &'a QueryTerms,
    stemmer: rust_stemmers::Stemmer,
    heads: Vec<[u8; 2]>,
    word: String,
    /// The term index of each lower-cased word stemmed so far (words repeat within a query's
    /// passages, and Snowball is the main cost left).
    seen: HashMap<String, u16>,
}

impl<'a> Matcher<'a> {
    fn new(q: &'a QueryTerms) -> Self {
        let heads = q
            .terms
            .iter()
            .map(|t| {
                let b = t.as_bytes();
                [
                    b.first().copied().unwrap_or(0),
                    b.get(1).copied().unwrap_or(0),
                ]
            })
            .collect();
        Matcher {
            q,
            stemmer: rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
            heads,
            word: String::with_capacity(48),
            seen: HashMap::default(),
        }
    }

    /// Appends `(term index or u16::MAX, base + byte offset)` for every word of `text`.
    fn scan(&mut self, text: &str, base: usize, out: &mut Vec<(u16, usize)>) {
        for (s, e) in words(text) {
            out.push((
                self.term_of(&text[s as usize..e as usize]),
                base + s as usize,
            ));
        }
    }

    /// [`Matcher::scan`] over words found beforehand by [`words`].
    fn scan_words(
        &mut self,
        text: &str,
        words: &[(u32, u32)],
        base: usize,
        out: &mut Vec<(u16, usize)>,
    ) {
        for &(s, e) in words {
            out.push((
                self.term_of(&text[s as usize..e as usize]),
                base + s as usize,
            ));
        }
    }

    fn term_of(&mut self, w: &str) -> u16 {
        // Most words are rejected by their first two bytes before anything is copied.
        let b = w.as_bytes();
        if b.len() >= 2 && b[0].is_ascii() && b[1].is_ascii() {
            let head = [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase()];
            if !self
                .heads
                .iter()
                .any(|h| h[0] == head[0] && (h[1] == head[1] || h[1] == 0))
            {
                return u16::MAX;
            }
        }
        self.word.clear();
        if w.is_ascii() {
            self.word.push_str(w);
            self.word.make_ascii_lowercase();
        } else {
            self.word.extend(w.chars().flat_map(char::to_lowercase));
        }
        let b = self.word.as_bytes();
        let head = [
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ];
        if !self
            .heads
            .iter()
            .any(|h| h[0] == head[0] && (h[1] == head[1] || h[1] == 0))
        {
            return u16::MAX;
        }
        if let Some(&t) = self.seen.get(self.word.as_str()) {
            return t;
        }
        let stem = self.stemmer.stem(&self.word);
        let t = self.q.index_of(&stem).map_or(u16::MAX, |i| i as u16);
        self.seen.insert(self.word.clone(), t);
        t
    }
}

impl QueryTerms {
    /// The terms of `query` as the text index analyses them, without stop words, question words
    /// and (when others remain) terms too common to discriminate; `measure` terms weigh more.
    pub fn new(text: &TextIndex, query: &str, measure: Option<&str>) -> Result<Self> {
        let mut analyzer = text.analyzer()?;
        let mut toks = Vec::new();
        TextIndex::tokens_with(&mut analyzer, query, &mut toks);
        let mut terms: Vec<String> = Vec::new();
        for (t, _) in toks {
            if !terms.contains(&t)
                && !TextIndex::is_stop(&t)
                && !QUESTION_WORDS.contains(&t.as_str())
                && t.len() > 1
            {
                terms.push(t);
            }
        }
        let mut measure_terms = Vec::new();
        if let Some(m) = measure {
            TextIndex::tokens_with(&mut analyzer, m, &mut measure_terms);
        }
        let idf = text.idf(&terms)?;
        let is_measure = |t: &str| measure_terms.iter().any(|(m, _)| m == t);
        let mut pairs: Vec<(String, f32)> = terms.into_iter().zip(idf).collect();
        if pairs.iter().any(|(_, w)| *w > COMMON_IDF) {
            // The measure asked stays however common it is ("revenue" in a store of earnings
            // calls): it is what tells the revenue sentence from others about the same company.
            pairs.retain(|(t, w)| *w > COMMON_IDF || is_measure(t));
        }
        let mut q = QueryTerms::default();
        for (t, w) in pairs {
            let w = if is_measure(&t) {
                w.max(MEASURE_FLOOR) * MEASURE_BOOST
            } else {
                w
            };
            q.terms.push(t);
            q.weights.push(w);
        }
        Ok(q)
    }

    /// The terms as one part of the question weighs them: terms of `own` (the stems of the
    /// clause that names the part's period) count [`CLAUSE_BOOST`] times, terms found only in
    /// other parts' clauses [`CLAUSE_DAMP`] times.
    pub fn in_clause(&self, own: &[String], others: &[&String]) -> QueryTerms {
        let mut q = self.clone();
        for (t, w) in q.terms.iter().zip(q.weights.iter_mut()) {
            if own.contains(t) {
                *w *= CLAUSE_BOOST;
            } else if others.contains(&t) {
                *w *= CLAUSE_DAMP;
            }
        }
        q
    }

    /// Whether nothing is left to match.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The query term `t` (a stem) stands for: the same stem, or a variant of it
    /// ([`stems_match`]: "delivered" for a question about deliveries).
    fn index_of(&self, t: &str) -> Option<usize> {
        self.terms
            .iter()
            .position(|x| x == t)
            .or_else(|| self.terms.iter().position(|x| stems_match(x, t)))
    }
}

/// The words of `text` as the text index's tokenizer sees them (alphanumeric runs), shorter
/// than 40 bytes, as byte ranges.
fn words(text: &str) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        if end - start < 40 {
            out.push((start as u32, end as u32));
        }
    }
    out
}

/// What the chunk-text cache keeps of a chunk: its sentences and words.
fn analyse(text: &str) -> crate::index::chunk_text::Analysis {
    (sentences::split(text), words(text))
}

/// Scores a run of token ids (query-term index or `u16::MAX`) with BM25 plus the adjacency
/// bonus.
fn bm25(q: &QueryTerms, toks: &[u16], avg: f32) -> f32 {
    if toks.is_empty() {
        return 0.0;
    }
    let mut tf = [0u16; 64];
    for &t in toks {
        if (t as usize) < tf.len() {
            tf[t as usize] += 1;
        }
    }
    let norm = K1 * (1.0 - B + B * toks.len() as f32 / avg.max(1.0));
    let mut s = 0.0;
    for (i, w) in q.weights.iter().enumerate().take(tf.len()) {
        let f = f32::from(tf[i]);
        if f > 0.0 {
            s += w * f * (K1 + 1.0) / (f + norm);
        }
    }
    // Query terms next to each other in the question and in the text ("net cash flow").
    for pair in toks.windows(2) {
        let (a, b) = (pair[0] as usize, pair[1] as usize);
        if b == a + 1 && b < q.weights.len() {
            s += 0.5 * (q.weights[a] + q.weights[b]);
        }
    }
    s
}

/// A text unit passages are cut from, with its prior in [0, 1].
#[derive(Debug, Clone)]
pub enum Unit {
    /// A chunk of a document.
    Chunk(ChunkId),
    /// Text that is a passage on its own (a summary, a hand-asserted fact), with its header.
    Whole {
        /// A stable key (`summary:2019`, `fact:12`).
        key: String,
        /// The citation header line.
        header: String,
        /// The text.
        text: String,
    },
}

/// A candidate unit with its retrieval score.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// What.
    pub unit: Unit,
    /// Retrieval score (any scale; normalised by the best candidate).
    pub score: f32,
    /// How well the unit's time fits the period asked, in (0, 1]: 1 for a document dated
    /// inside it, less for one dated to a longer span that only overlaps it (a yearly report
    /// for a quarter). Scales the unit's prior.
    pub fit: f32,
}

/// A passage of the context.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Document of a chunk passage.
    pub doc: Option<DocId>,
    /// Byte range in the document (chunk passages).
    pub start: usize,
    /// End of the range.
    pub end: usize,
    /// The chunk the passage was seeded from.
    pub chunk: Option<ChunkId>,
    /// A whole unit's key.
    pub key: Option<String>,
    /// Header of a whole unit (chunk passages are cited by the caller).
    pub header: Option<String>,
    /// The text.
    pub text: String,
    /// Score (seed sentence / best + λ · prior).
    pub score: f32,
}

/// A document's chunks as loaded so far, sorted by start.
#[derive(Default)]
struct DocText {
    /// Loaded chunks by start offset.
    by_start: std::collections::BTreeMap<usize, std::sync::Arc<ChunkText>>,
    /// Start offset of each loaded chunk.
    starts: HashMap<ChunkId, usize>,
}

/// What one query's facets share while their passages are cut: chunk texts, their sentences
/// and where the query's terms occur in them, each worked out once per query (a question
/// with twelve yearly facets sees many chunks twelve times).
pub struct Scratch<'a> {
    texts: Texts<'a>,
    /// Term occurrences per chunk, for [`Scratch::terms`].
    scans: HashMap<ChunkId, Vec<(u16, usize)>>,
    /// The query terms the scans are of (a different query clears them).
    terms: Vec<String>,
}

impl<'a> Scratch<'a> {
    /// An empty scratch over a namespace's store and catalog, reading chunks through `cache` as
    /// of the indexes' `epoch`.
    pub fn new(
        store: &'a dyn NsStore,
        cat: &'a Catalog,
        cache: &'a ChunkTexts,
        epoch: u64,
    ) -> Self {
        Scratch {
            texts: Texts {
                store,
                cat,
                cache,
                epoch,
                docs: HashMap::default(),
            },
            scans: HashMap::default(),
            terms: Vec::new(),
        }
    }
}

/// Chunk texts and their sentences, looked up once per query.
struct Texts<'a> {
    store: &'a dyn NsStore,
    cat: &'a Catalog,
    cache: &'a ChunkTexts,
    epoch: u64,
    docs: HashMap<DocId, DocText>,
}

impl Texts<'_> {
    /// Loads a chunk (if it exists and belongs to `doc`); returns whether it is there.
    fn load(&mut self, doc: DocId, id: ChunkId) -> Result<bool> {
        let entry = self.docs.entry(doc).or_default();
        if entry.starts.contains_key(&id) {
            return Ok(true);
        }
        if self.cat.chunks.get(&id).is_none_or(|m| m.doc != doc) {
            return Ok(false);
        }
        let Some(c) = self
            .cache
            .get(self.store, id, self.epoch, analyse)?
            .filter(|c| c.doc == doc)
        else {
            return Ok(false);
        };
        let entry = self.docs.entry(doc).or_default();
        entry.starts.insert(id, c.start);
        entry.by_start.insert(c.start, c);
        Ok(true)
    }

    /// A loaded chunk (text, start offset and sentences).
    fn chunk(&self, doc: DocId, id: ChunkId) -> Option<&std::sync::Arc<ChunkText>> {
        let d = self.docs.get(&doc)?;
        let start = *d.starts.get(&id)?;
        d.by_start.get(&start)
    }

    /// The sentences of a loaded chunk as document byte ranges.
    fn sentences_of(&self, doc: DocId, id: ChunkId) -> &[(usize, usize)] {
        self.chunk(doc, id).map_or(&[], |c| c.sentences.as_slice())
    }

    /// The document text of `[start, end)` from the loaded chunks (gaps become a line break).
    fn slice(&self, doc: DocId, start: usize, end: usize) -> String {
        let mut out = String::new();
        let Some(d) = self.docs.get(&doc) else {
            return out;
        };
        for (s, c) in d.by_start.range(..end) {
            let text = c.text.as_str();
            let e = s + text.len();
            if e <= start || *s >= end {
                continue;
            }
            let a = floor(text, start.saturating_sub(*s));
            let b = floor(text, end.min(e) - s);
            if a < b {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&text[a..b]);
            }
        }
        out
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A scored sentence of a candidate chunk.
#[derive(Debug, Clone, Copy)]
struct Seed {
    doc: DocId,
    chunk: ChunkId,
    /// Document byte range of the sentence.
    start: usize,
    end: usize,
    score: f32,
}

/// Sentences of a chunk as document byte ranges.
fn sentence_ranges(start: usize, text: &str) -> Vec<(usize, usize)> {
    sentences::split(text)
        .into_iter()
        .map(|(s, e)| (start + s, start + e))
        .collect()
}

/// How passages are cut.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// Target window size in bytes.
    pub window: usize,
    /// Stop after this many bytes of passages.
    pub need: usize,
}

/// Cuts the passages of one facet from its candidates, best first. `lex_weight` is the share
/// of the chunk prior that comes from the chunk's own lexical score (the rest from its
/// retrieval score). With `mention` names (an entity facet), only units that mention one of
/// them (in their text or their document's title) come first, when any does, and the others
/// only fill what is left of the facet's need (see [`Selected`]).
pub fn select(
    scratch: &mut Scratch<'_>,
    q: &QueryTerms,
    cands: &[Candidate],
    cut: Cut,
    lex_weight: f32,
    mention: &[String],
) -> Result<Selected> {
    if scratch.terms != q.terms {
        scratch.scans.clear();
        scratch.terms = q.terms.clone();
    }
    let Scratch { texts, scans, .. } = scratch;
    let cat = texts.cat;
    let mut matcher = Matcher::new(q);
    let mut ids: Vec<(u16, usize)> = Vec::new();
    // Per unit: sentences (range + term ids) and the unit's own lexical score.
    struct Scored {
        doc: Option<DocId>,
        chunk: Option<ChunkId>,
        sentences: Vec<(usize, usize, Vec<u16>, bool)>,
        lex: f32,
        retrieval: f32,
        fit: f32,
        whole: Option<(String, String, String)>,
        mentions: bool,
    }
    let mut units: Vec<Scored> = Vec::with_capacity(cands.len());
    // The candidate chunks and their neighbours (the windows around seeds) are read at once.
    let wanted: Vec<ChunkId> = cands
        .iter()
        .filter_map(|c| match &c.unit {
            Unit::Chunk(id) => Some(*id),
            _ => None,
        })
        .flat_map(|id| [id.wrapping_sub(1), id, id + 1])
        .filter(|id| cat.chunks.contains_key(id))
        .collect();
    texts
        .cache
        .prefetch(texts.store, &wanted, texts.epoch, analyse)?;
    for c in cands {
        let (doc, chunk, loaded, whole) = match &c.unit {
            Unit::Chunk(id) => {
                let Some(m) = cat.chunks.get(id) else {
                    continue;
                };
                let doc = m.doc;
                if !texts.load(doc, *id)? {
                    continue;
                }
                let loaded = texts.chunk(doc, *id).expect("loaded").clone();
                (Some(doc), Some(*id), Some(loaded), None)
            }
            Unit::Whole { key, header, text } => (
                None,
                None,
                None,
                Some((key.clone(), header.clone(), text.clone())),
            ),
        };
        let (body, base) = match (&loaded, &whole) {
            (Some(c), _) => (c.text.as_str(), c.start),
            (None, Some((_, _, text))) => (text.as_str(), 0),
            (None, None) => continue,
        };
        ids.clear();
        match chunk.and_then(|c| scans.get(&c)) {
            Some(cached) => ids.extend_from_slice(cached),
            None => {
                match &loaded {
                    Some(c) => matcher.scan_words(body, &c.words, base, &mut ids),
                    None => matcher.scan(body, base, &mut ids),
                }
                if let Some(c) = chunk {
                    scans.insert(c, ids.clone());
                }
            }
        }
        let mut sentences = Vec::new();
        let mut k = 0;
        let split;
        let ranges = match &loaded {
            Some(c) => c.sentences.as_slice(),
            None => {
                split = sentence_ranges(base, body);
                split.as_slice()
            }
        };
        for &(s, e) in ranges {
            while k < ids.len() && ids[k].1 < s {
                k += 1;
            }
            let mut sent = Vec::new();
            while k < ids.len() && ids[k].1 < e {
                sent.push(ids[k].0);
                k += 1;
            }
            let fig = q.quantity
                && states_figure(
                    body.get(s.saturating_sub(base)..e.saturating_sub(base))
                        .unwrap_or(""),
                );
            sentences.push((s, e, sent, fig));
        }
        let all: Vec<u16> = ids.iter().map(|x| x.0).collect();
        let mentions = !mention.is_empty()
            && (crate::model::mentions_name(body, mention)
                || doc
                    .and_then(|d| cat.docs.get(&d))
                    .and_then(|d| d.title.as_deref())
                    .is_some_and(|t| crate::model::mentions_name(t, mention)));
        units.push(Scored {
            doc,
            chunk,
            lex: bm25(q, &all, 150.0),
            retrieval: c.score.max(0.0),
            fit: c.fit.clamp(0.0, 1.0),
            sentences,
            whole,
            mentions,
        });
    }
    let mentioned = units.iter().any(|u| u.mentions);
    // With names to mention, the units that do not mention one come second: they only fill
    // what the others leave of the facet's need, scored with the first units' scales.
    let mut others: Vec<Scored> = Vec::new();
    if mentioned {
        let (first, rest): (Vec<Scored>, Vec<Scored>) = units.into_iter().partition(|u| u.mentions);
        units = first;
        others = rest;
    }
    if units.is_empty() {
        return Ok(Selected::default());
    }
    let max_lex = units.iter().map(|u| u.lex).fold(0.0, f32::max).max(1e-6);
    let max_ret = units
        .iter()
        .map(|u| u.retrieval)
        .fold(0.0, f32::max)
        .max(1e-6);
    let n_sent: usize = units.iter().map(|u| u.sentences.len()).sum();
    let avg = units
        .iter()
        .flat_map(|u| u.sentences.iter().map(|s| s.2.len()))
        .sum::<usize>() as f32
        / n_sent.max(1) as f32;
    // Sentence scores, then seeds: those of the units that mention a name (or of all units),
    // then those of the others.
    let first = units.len();
    units.append(&mut others);
    let raw_of = |range: std::ops::Range<usize>| -> Vec<(usize, usize, f32)> {
        let mut raw = Vec::new();
        for ui in range {
            for (si, s) in units[ui].sentences.iter().enumerate() {
                let b = bm25(q, &s.2, avg);
                raw.push((ui, si, if s.3 { b * FIGURE_BOOST } else { b }));
            }
        }
        raw
    };
    let raw = raw_of(0..first);
    let max_sent = raw.iter().map(|x| x.2).fold(0.0, f32::max).max(1e-6);
    let seeds_of = |raw: Vec<(usize, usize, f32)>| -> Vec<(usize, Seed)> {
        let mut seeds: Vec<(usize, Seed)> = raw
            .into_iter()
            .map(|(ui, si, s)| {
                let u = &units[ui];
                let prior =
                    lex_weight * u.lex / max_lex + (1.0 - lex_weight) * u.retrieval / max_ret;
                let (start, end, _, _) = u.sentences[si];
                (
                    ui,
                    Seed {
                        doc: u.doc.unwrap_or(DocId::MAX),
                        chunk: u.chunk.unwrap_or(ChunkId::MAX),
                        start,
                        end,
                        score: s / max_sent + LAMBDA * prior * u.fit,
                    },
                )
            })
            .collect();
        seeds.sort_by(|a, b| {
            b.1.score
                .total_cmp(&a.1.score)
                .then(a.1.chunk.cmp(&b.1.chunk))
                .then(a.1.start.cmp(&b.1.start))
        });
        seeds
    };
    let mut first_seeds = Some(seeds_of(raw));

    // Diversity: a document's seeds weigh less once it has given its share of passages (three,
    // or one among candidates spread over many documents), so a few documents do not fill the
    // context while others have good evidence; with one document in scope (a yearly report)
    // the order is unchanged.
    let mut docs: Vec<DocId> = units.iter().filter_map(|u| u.doc).collect();
    let chunks = docs.len();
    docs.sort_unstable();
    docs.dedup();
    let Shape {
        max_per_doc,
        window: win,
        before,
    } = Shape::of(docs.len(), chunks, cut.window);
    let mut out: Vec<Passage> = Vec::new();
    let mut whole_done: Vec<usize> = Vec::new();
    let mut total = 0usize;
    let mut per_doc: HashMap<DocId, usize> = HashMap::default();
    // Set when the second tier starts (it is empty without names to mention).
    let mut first_tier = 0;
    for _tier in 0..2 {
        // The second tier's sentences are scored only when the first leaves room.
        let mut pool = match first_seeds.take() {
            Some(seeds) => seeds,
            None => {
                first_tier = out.len();
                if total >= cut.need || first == units.len() {
                    break;
                }
                seeds_of(raw_of(first..units.len()))
            }
        };
        while total < cut.need && !pool.is_empty() {
            let effective = |s: &Seed| {
                let n = per_doc.get(&s.doc).copied().unwrap_or(0);
                s.score * DIVERSITY.powi(n.saturating_sub(max_per_doc - 1) as i32)
            };
            let mut best = 0;
            let mut best_score = f32::MIN;
            for (i, (_, s)) in pool.iter().enumerate() {
                // Seeds are sorted by raw score: nothing later can beat the best effective score.
                if s.score <= best_score {
                    break;
                }
                let e = effective(s);
                if e > best_score {
                    best_score = e;
                    best = i;
                }
            }
            let (ui, seed) = pool.remove(best);
            let u = &units[ui];
            if let Some((key, header, body)) = &u.whole {
                if whole_done.contains(&ui) {
                    continue;
                }
                whole_done.push(ui);
                // From the sentence that matched (a summary's key figure, not its opening line).
                let size = cut.window.max(600);
                let from = if body.len() > size && seed.start < body.len() {
                    floor(body, seed.start)
                } else {
                    0
                };
                let text = if from > 0 {
                    format!("…{}", clip(&body[from..], size))
                } else {
                    clip(body, size)
                };
                total += text.len() + header.len() + 2;
                out.push(Passage {
                    doc: None,
                    start: 0,
                    end: 0,
                    chunk: None,
                    key: Some(key.clone()),
                    header: Some(header.clone()),
                    text,
                    score: seed.score,
                });
                continue;
            }
            let doc = seed.doc;
            if out
                .iter()
                .any(|p| p.doc == Some(doc) && p.start <= seed.start && seed.end <= p.end)
            {
                continue;
            }
            let (ws, we) = window(texts, cat, doc, seed, win, before)?;
            // Merge with every passage of the same document it overlaps or touches; the merged
            // passage keeps the place of the best of them.
            let touching: Vec<usize> = out
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.doc == Some(doc) && ws <= p.end + MERGE_GAP && p.start <= we + MERGE_GAP
                })
                .map(|(i, _)| i)
                .collect();
            if let Some(&first) = touching.first() {
                let (mut ns, mut ne) = (ws, we);
                for &i in &touching {
                    ns = ns.min(out[i].start);
                    ne = ne.max(out[i].end);
                    total -= out[i].text.len();
                }
                for &i in touching.iter().skip(1).rev() {
                    out.remove(i);
                }
                let p = &mut out[first];
                p.start = ns;
                p.end = ne;
                p.text = texts.slice(doc, ns, ne);
                total += p.text.len();
                continue;
            }
            *per_doc.entry(doc).or_default() += 1;
            let text = texts.slice(doc, ws, we);
            total += text.len() + 60;
            out.push(Passage {
                doc: Some(doc),
                start: ws,
                end: we,
                chunk: Some(seed.chunk),
                key: None,
                header: None,
                text,
                score: seed.score,
            });
        }
    }
    Ok(Selected {
        passages: out,
        mentioned,
        first_tier,
    })
}

/// How [`select`] cuts a facet's passages, from how its candidates spread over documents.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    /// Passages of a document at full weight.
    max_per_doc: usize,
    /// Largest window (bytes).
    window: usize,
    /// Most of a window before its matching sentence, as a share of the window.
    before: f32,
}

impl Shape {
    /// Candidates spread over many documents (news, notes; see [`MANY_DOCS`]) give one passage
    /// per document at full weight, in centred windows of at most [`MANY_DOCS_WINDOW`]; those
    /// of a few long reports give [`MAX_PER_DOC`], in windows that grow mostly forward
    /// ([`BEFORE_SHARE`]).
    fn of(docs: usize, chunks: usize, window: usize) -> Shape {
        if docs >= MANY_DOCS && chunks <= SPREAD * docs {
            Shape {
                max_per_doc: 1,
                window: window.min(MANY_DOCS_WINDOW),
                before: 1.0,
            }
        } else {
            Shape {
                max_per_doc: MAX_PER_DOC,
                window,
                before: BEFORE_SHARE,
            }
        }
    }
}

/// The passages [`select`] cut for one facet.
#[derive(Debug, Default)]
pub struct Selected {
    /// Best first: those that mention one of the facet's names (when any does), then the
    /// others.
    pub passages: Vec<Passage>,
    /// Whether some passage mentions one of the facet's names.
    pub mentioned: bool,
    /// How many of `passages` come first (all of them without names to mention).
    pub first_tier: usize,
}

/// Whether `question` asks for a quantity: "how many", "how much", "what percentage", "what was
/// the share / number / amount / rate …".
pub fn asks_quantity(question: &str) -> bool {
    // Whole-word phrases, each padded with a space on both sides.
    const CUES: &[&str] = &[
        " how many ",
        " how much ",
        " how high ",
        " how large ",
        " how big ",
        " what proportion ",
        " what share ",
        " what number ",
        " what level ",
        " by what ",
        " percentage ",
        " number of ",
        " total ",
        " figure ",
        " rate ",
        " amount ",
    ];
    // The question's words, lower case, one space apart and around.
    let mut padded = String::with_capacity(question.len() + 2);
    padded.push(' ');
    for c in question.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            padded.push(c);
        } else if !padded.ends_with(' ') {
            padded.push(' ');
        }
    }
    if !padded.ends_with(' ') {
        padded.push(' ');
    }
    CUES.iter().any(|c| padded.contains(c))
}

/// Whether `sentence` states a figure: a number that is not a bare year (a digit run with a
/// separator, a percent sign, or a number outside 1900–2100).
pub fn states_figure(sentence: &str) -> bool {
    let b = sentence.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphabetic()) {
            i += 1;
            continue;
        }
        let start = i;
        let mut sep = false;
        while i < b.len()
            && (b[i].is_ascii_digit()
                || ((b[i] == b',' || b[i] == b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            sep |= !b[i].is_ascii_digit();
            i += 1;
        }
        let run = &sentence[start..i];
        let pct = sentence[i..].trim_start().starts_with('%')
            || sentence[i..].trim_start().starts_with("percent");
        let year =
            !sep && run.len() == 4 && run.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y));
        if pct || sep || (!year && run.len() != 1) {
            return true;
        }
    }
    false
}

/// Lexical scores of short texts (fact descriptions) against the question's terms.
pub fn score_texts(q: &QueryTerms, texts: &[&str]) -> Vec<f32> {
    let mut matcher = Matcher::new(q);
    let mut toks = Vec::new();
    texts
        .iter()
        .map(|t| {
            toks.clear();
            matcher.scan(t, 0, &mut toks);
            let ids: Vec<u16> = toks.iter().map(|x| x.0).collect();
            bm25(q, &ids, 25.0)
        })
        .collect()
}

/// `text` cut to about `max` bytes at a sentence (or word) boundary.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let head = &text[..floor(text, max)];
    let end = head
        .rfind(". ")
        .map(|i| i + 1)
        .filter(|&i| i >= max / 2)
        .or_else(|| head.rfind(' '))
        .unwrap_or(head.len());
    format!("{}…", text[..end].trim_end())
}

/// The window around a seed sentence: its neighbours, alternately after and before, while the
/// window stays within `size` bytes; it may reach into the previous and next chunk of the
/// document.
fn window(
    texts: &mut Texts<'_>,
    cat: &Catalog,
    doc: DocId,
    seed: Seed,
    size: usize,
    before: f32,
) -> Result<(usize, usize)> {
    // Sentences of the seed chunk and its neighbours (chunk ids are consecutive in a document).
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for id in [seed.chunk.wrapping_sub(1), seed.chunk, seed.chunk + 1] {
        if id == ChunkId::MAX
            || (id != seed.chunk && cat.chunks.get(&id).is_none_or(|m| m.doc != doc))
        {
            continue;
        }
        if !texts.load(doc, id)? {
            continue;
        }
        ranges.extend_from_slice(texts.sentences_of(doc, id));
    }
    ranges.sort_unstable();
    let Some(at) = ranges
        .iter()
        .position(|&(s, e)| s <= seed.start && seed.end <= e)
    else {
        return Ok((seed.start, seed.end));
    };
    let (lo, hi) = grow(&ranges, at, size, before);
    Ok((ranges[lo].0, ranges[hi].1))
}

/// The sentences (first and last index into `ranges`, sorted byte ranges) of a window of at
/// most `size` bytes around sentence `at`: it takes the next sentence and the previous one in
/// turn while they fit, and at most `before` × `size` bytes before `at` (1 for a centred
/// window).
fn grow(ranges: &[(usize, usize)], at: usize, size: usize, before: f32) -> (usize, usize) {
    let (mut lo, mut hi) = (at, at);
    let width = |lo: usize, hi: usize| ranges[hi].1 - ranges[lo].0;
    let max_before = before * size as f32;
    loop {
        let mut grew = false;
        if hi + 1 < ranges.len() && width(lo, hi + 1) <= size {
            hi += 1;
            grew = true;
        }
        if lo > 0
            && width(lo - 1, hi) <= size
            && (ranges[at].0 - ranges[lo - 1].0) as f32 <= max_before
        {
            lo -= 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_match_across_snowball_forms() {
        assert!(stems_match("deliveri", "deliv"));
        assert!(stems_match("deliv", "deliveri"));
        assert!(!stems_match("emiss", "emit"), "no shared prefix of 5");
        assert!(!stems_match("car", "carbon"), "too short");
        assert!(!stems_match("product", "productivity"), "too far apart");
        // A passage that says "delivered" matches a question about deliveries.
        let q = QueryTerms {
            terms: vec!["total".into(), "deliveri".into()],
            weights: vec![1.0, 1.0],
            quantity: false,
        };
        let mut m = Matcher::new(&q);
        let mut out = Vec::new();
        m.scan(
            "In 2014 Audi delivered 1,741,129 cars in total.",
            0,
            &mut out,
        );
        let found: Vec<u16> = out.iter().map(|x| x.0).filter(|&t| t != u16::MAX).collect();
        assert_eq!(found, vec![1, 0]);
    }

    fn q(terms: &[(&str, f32)]) -> QueryTerms {
        QueryTerms {
            terms: terms.iter().map(|t| t.0.to_string()).collect(),
            weights: terms.iter().map(|t| t.1).collect(),
            quantity: false,
        }
    }

    #[test]
    fn a_facet_weighs_the_words_of_its_own_clause() {
        let all = q(&[("model", 2.0), ("launch", 3.0), ("product", 4.0)]);
        let own = ["launch".to_string()];
        let other = "product".to_string();
        let facet = all.in_clause(&own, &[&other]);
        assert_eq!(facet.terms, all.terms);
        assert_eq!(
            facet.weights,
            [2.0, 3.0 * CLAUSE_BOOST, 4.0 * CLAUSE_DAMP],
            "shared words keep their weight"
        );
    }

    #[test]
    fn questions_asking_for_a_quantity_are_told_apart() {
        for q in [
            "How many cars did Audi deliver in 2014?",
            "How much did adult admission cost in 1971?",
            "What percentage of Britons believe they could win?",
            "What was the total energy consumption at the Ingolstadt plant in 2019?",
            "What was the recycling rate in 2020?",
            "Nuclear power is to make up what percentage of the UK's electricity by 2025?",
            "What was the number of employees in 2014?",
        ] {
            assert!(asks_quantity(q), "{q}");
        }
        for q in [
            "What is the status of Audi's environmental management certification in 2012?",
            "Which team won the Audi Urban Future Award 2014?",
            "Who became CEO of Acme in 2023?",
            "What are the two primary areas of focus for piloted driving?",
        ] {
            assert!(!asks_quantity(q), "{q}");
        }
    }

    #[test]
    fn a_figure_is_a_number_that_is_not_a_bare_year() {
        for s in [
            "Audi delivered 1,741,129 cars.",
            "The share rose to 12.2 percent.",
            "Emissions fell 7 % against 2019.",
            "Revenue was EUR 53,068 million.",
            "It employed 87 people.",
            "It cost $12.",
        ] {
            assert!(states_figure(s), "{s}");
        }
        for s in [
            "In 2019, Audi opened a plant.",
            "Its strategy for 2025 was set in 2018.",
            "The Q3 report named 3 goals.",
            "No numbers here.",
            "The A4 and the Q7 were updated.",
        ] {
            assert!(!states_figure(s), "{s}");
        }
    }

    #[test]
    fn bm25_rewards_terms_and_adjacency() {
        let q = q(&[("net", 1.0), ("cash", 2.0), ("flow", 1.5)]);
        let none = [u16::MAX; 10];
        assert_eq!(bm25(&q, &none, 10.0), 0.0);
        let apart = [0, u16::MAX, 1, u16::MAX, 2];
        let together = [u16::MAX, 0, 1, 2, u16::MAX];
        assert!(bm25(&q, &together, 5.0) > bm25(&q, &apart, 5.0));
        let one = [1, u16::MAX, u16::MAX, u16::MAX, u16::MAX];
        assert!(bm25(&q, &apart, 5.0) > bm25(&q, &one, 5.0));
    }

    /// The matcher finds exactly the terms the text index's analyser makes.
    #[test]
    fn matcher_agrees_with_the_index_analyser() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "t").unwrap();
        let text = "Revenues rose; the company's revenue-growth and REVENUE were happier. \
                    Flies fly; generously generated generations. Über-Größe x2 2024 CO2.";
        let mut analyzer = idx.analyzer().unwrap();
        let mut toks = Vec::new();
        TextIndex::tokens_with(&mut analyzer, text, &mut toks);
        let q = QueryTerms {
            terms: toks.iter().map(|t| t.0.clone()).collect(),
            weights: vec![1.0; toks.len()],
            quantity: false,
        };
        let mut m = Matcher::new(&q);
        let mut ids = Vec::new();
        m.scan(text, 0, &mut ids);
        assert_eq!(ids.len(), toks.len());
        for ((id, at), (t, off)) in ids.iter().zip(&toks) {
            assert_eq!(*at, *off);
            assert_eq!(q.terms[*id as usize], *t, "at {at}");
        }
    }

    #[test]
    fn a_report_window_grows_mostly_forward() {
        // Ten sentences of 100 bytes; the match is the sixth (index 5).
        let ranges: Vec<(usize, usize)> = (0..10).map(|i| (i * 100, i * 100 + 100)).collect();
        // Centred, 500 bytes: two sentences before, two after.
        assert_eq!(grow(&ranges, 5, 500, 1.0), (3, 7));
        // A quarter before: one sentence before, three after.
        assert_eq!(grow(&ranges, 5, 500, BEFORE_SHARE), (4, 8));
        // At the end of the text (400 bytes) the window fills backwards only as far as allowed.
        assert_eq!(grow(&ranges, 9, 400, BEFORE_SHARE), (8, 9));
        assert_eq!(grow(&ranges, 9, 400, 1.0), (6, 9));
        // Nothing fits beyond the sentence itself.
        assert_eq!(grow(&ranges, 5, 50, 1.0), (5, 5));
    }

    #[test]
    fn candidates_spread_over_many_documents_are_cut_as_news() {
        // Twelve candidate chunks from ten articles: one passage each, short centred windows.
        assert_eq!(
            Shape::of(10, 12, 1100),
            Shape {
                max_per_doc: 1,
                window: MANY_DOCS_WINDOW,
                before: 1.0
            }
        );
        // Forty chunks from two reports, or many chunks per document: report windows.
        for (docs, chunks) in [(2, 40), (10, 31), (MANY_DOCS - 1, MANY_DOCS - 1)] {
            assert_eq!(
                Shape::of(docs, chunks, 1100),
                Shape {
                    max_per_doc: MAX_PER_DOC,
                    window: 1100,
                    before: BEFORE_SHARE
                },
                "{docs} documents, {chunks} chunks"
            );
        }
    }

    #[test]
    fn clip_cuts_at_a_sentence() {
        let t = "First sentence here. Second sentence is longer than the first. Third.";
        assert_eq!(clip(t, 1000), t);
        let c = clip(t, 40);
        assert_eq!(c, "First sentence here.…");
    }
}
