//! Retrieval: the local path (TG-RAG style) and plain hybrid chunk search, fused.
//!
//! Local path: seed facts by meaning (vector + BM25, reciprocal-rank fused) inside the time
//! scope → personalised PageRank from their entities over the entity graph, walking only
//! in-scope, visible fact edges → each candidate fact scored by its endpoints' PageRank and its
//! similarity → each chunk scored by its facts: Π(1 + similarity) × Σ edge score. Hybrid path:
//! chunk vectors + chunk BM25 inside the scope. The three chunk rankings are fused; the hybrid
//! path alone still answers when the graph finds too little.
//!
//! The chunk searches (vector and BM25) need nothing from the fact stages, so they run on a
//! second thread beside them; their stage timings are reported as measured on that thread.

use rustc_hash::FxHashMap as HashMap;
use std::time::Instant;

use super::Stage;
use super::plan::TimeScope;
use crate::Result;
use crate::index::NsIndexes;
use crate::index::graph::{Catalog, EdgeFact};
use crate::index::text::TextKind;
use crate::model::{ChunkId, FactId, Status, TxId};
use crate::store::NsStore;
use crate::time::Interval;

/// Days over which evidence outside a soft (vague or relative) scope loses a third of its
/// weight; at most half of it is ever lost. Measured on the news set: 30 days beat 7 and 90.
const RECENCY_DAYS: f32 = 30.0;
/// Reciprocal-rank-fusion constant.
const RRF_K: f32 = 60.0;
/// Seeds taken from each seed list.
const SEEDS_PER_LIST: usize = 100;
/// Seeds whose entities start the PageRank.
const PPR_SEEDS: usize = 20;
/// Best fused fact seeds whose source chunks join the chunk candidates whatever their fused
/// rank. Measured in process on one store each, back to back (0 / 2 / 3 / 4 / 5 / 10):
/// Time-LongQA @16k 0.9187 / 0.9201 / 0.9201 / 0.9201 / 0.9196 / 0.918, all three budgets at 3
/// 0.7627 / 0.8551 / 0.9201 against 0.7623 / 0.8554 / 0.9187; news 0.6026 / 0.6295 / 0.6641
/// → 0.6038 / 0.6321 / 0.6654 (two questions gained, none lost: "… Sarina Wiegman previously
/// led which national team to victory at the Uefa Women's Euro 2017?", asked in 2022, whose
/// answer sits in 2022 articles stating a 2017 fact).
const SEED_SOURCES: usize = 3;
/// Weights of the three chunk rankings in the final reciprocal-rank fusion, tuned on the
/// Time-LongQA set with the eval harness (`chronorag eval`): lexical evidence decides most,
/// the graph path and the vectors reorder near-ties.
const GRAPH_WEIGHT: f32 = 0.6;
/// See [`GRAPH_WEIGHT`].
const VECTOR_WEIGHT: f32 = 0.45;
/// See [`GRAPH_WEIGHT`].
const BM25_WEIGHT: f32 = 2.5;
/// Scope candidate lists are enumerated (and filtered) up to this length.
const ENUMERATE_MAX: usize = 65_536;
/// Candidates kept per wanted hit when a large candidate set is narrowed by sign sketches
/// before exact scoring (at least [`RERANK_MIN`]). Measured: the short list of 800 holds 99%
/// of the exact top 100 of 12k synthetic sentences, and forcing every scoped search on the
/// Time-LongQA set through it left evidence recall unchanged (0.670 / 0.777 / 0.862).
const RERANK_PER_HIT: usize = 8;
/// See [`RERANK_PER_HIT`].
const RERANK_MIN: usize = 512;
/// Filters passing at least 1/`HNSW_FROM` of the index go to usearch's filtered HNSW search.
///
/// Exact scoring costs one vector read per candidate (0.5–1 µs, mostly memory); a sketch
/// ~20 ns. usearch's filtered search applies its filter to results, not to the walk: to collect
/// k passing keys when a fraction `s` of the index passes, it expands about `k / s` nodes and
/// scores their neighbours, so it is fast only when `s` is large. Measured on a 100k-fact
/// store: a filter passing 3.5% made it take 7–16 ms where exact scoring of the same 3,300
/// candidates took 3 ms; a filter passing 30% took it 3.5–6 ms, and the sketch path (30k
/// sketches, then 800 exact scores) no less.
const HNSW_FROM: usize = 4;

/// Everything retrieval needs to read one namespace at one snapshot.
pub struct Ctx<'a> {
    /// Records.
    pub store: &'a dyn NsStore,
    /// Indexes.
    pub idx: &'a NsIndexes,
    /// Catalog (read-locked by the caller).
    pub cat: &'a Catalog,
    /// Snapshot (None = current).
    pub as_of: Option<TxId>,
    /// Time scope.
    pub scope: Option<&'a TimeScope>,
    /// Day key of "now" for the soft recency prior.
    pub now_key: Option<i32>,
    /// Set when the question was asked at a given `now` that lies inside its hard scope ("the
    /// world's best airline for 2022" asked in September 2022): the first day key of the recent
    /// window, so that recent evidence ranks higher inside the scope too.
    pub recent_start: Option<i32>,
    /// Visibility of facts that changed after the snapshot, as looked up in the store's
    /// history (an as-of query asks about the same fact many times: seeds, PageRank edges,
    /// candidates).
    pub seen: parking_lot::Mutex<HashMap<FactId, bool>>,
}

/// What retrieval found, before hydration.
#[derive(Debug, Default)]
pub struct Found {
    /// Facts with scores, best first.
    pub facts: Vec<(FactId, f32)>,
    /// Chunks with scores, best first.
    pub chunks: Vec<(ChunkId, f32)>,
    /// Explain stages.
    pub stages: Vec<Stage>,
}

impl Ctx<'_> {
    fn hard(&self) -> Option<&TimeScope> {
        self.scope.filter(|s| s.hard)
    }

    /// Whether a fact is visible at the snapshot.
    pub fn fact_visible(&self, id: FactId) -> bool {
        let Some(m) = self.cat.facts.get(&id) else {
            return false;
        };
        match self.as_of {
            None => m.active,
            Some(t) if m.updated_tx <= t => m.active,
            Some(t) if m.first_tx > t => false,
            Some(t) => {
                if let Some(v) = self.seen.lock().get(&id) {
                    return *v;
                }
                let v = matches!(self.store.fact(id, Some(t)), Ok(Some(f)) if f.status == Status::Active);
                self.seen.lock().insert(id, v);
                v
            }
        }
    }

    /// Whether a fact is inside the hard scope (always true without one).
    pub fn fact_in_scope(&self, id: FactId) -> bool {
        match (self.hard(), self.cat.facts.get(&id)) {
            (None, Some(_)) => true,
            (Some(s), Some(m)) => s.overlaps_keys(m.vstart, m.vend),
            _ => false,
        }
    }

    /// Whether a chunk is visible at the snapshot (it existed and its document was active).
    pub fn chunk_visible(&self, id: ChunkId) -> bool {
        let Some(c) = self.cat.chunks.get(&id) else {
            return false;
        };
        let Some(d) = self.cat.docs.get(&c.doc) else {
            return false;
        };
        match self.as_of {
            None => d.active,
            Some(t) if c.added_tx > t => false,
            Some(t) if d.updated_tx <= t => d.active,
            Some(t) => {
                matches!(self.store.document(c.doc, Some(t)), Ok(Some(d)) if d.status == Status::Active)
            }
        }
    }

    /// Whether a chunk's document time is inside the hard scope (undated chunks are not).
    pub fn chunk_in_scope(&self, id: ChunkId) -> bool {
        match (self.hard(), self.cat.chunks.get(&id)) {
            (None, Some(_)) => true,
            (Some(s), Some(c)) => c.vstart != i32::MIN && s.overlaps_keys(c.vstart, c.vend),
            _ => false,
        }
    }

    /// Soft-scope recency weight in (0, 1] for an item spanning day keys `[s, e)`.
    fn recency(&self, s: i32, e: i32) -> f32 {
        let (Some(scope), Some(now)) = (self.scope, self.now_key) else {
            return 1.0;
        };
        if scope.hard {
            let Some(hs) = self.recent_start else {
                return 1.0;
            };
            let he = now.saturating_add(1);
            if s == i32::MIN || e == i32::MAX || (s < he && hs < e) {
                return 1.0;
            }
            return decay(s, e, (hs, he), RECENCY_DAYS);
        }
        if scope.overlaps_keys(s, e) {
            return 1.0;
        }
        if s == i32::MIN || e == i32::MAX {
            return 0.6;
        }
        // Distance to the scope's period (its hull); the decay is slower for a wide vague
        // window ("recently": 90 days) than for a narrow one ("this week").
        let hull = scope.hull();
        let (hs, he) = (hull.start_key(), hull.end_key().min(now.saturating_add(1)));
        let width = (he.saturating_sub(hs)).clamp(1, 3650) as f32;
        decay(s, e, (hs, he), width.max(RECENCY_DAYS))
    }
}

/// The recency weight in (0.5, 1] of an item spanning day keys `[s, e)` outside the window
/// `[hs, he)`: it halves its excess over 0.5 at `tau` days from the window.
fn decay(s: i32, e: i32, (hs, he): (i32, i32), tau: f32) -> f32 {
    let dist = if e <= hs { hs - e } else { (s - he).max(0) }.max(0) as f32;
    0.5 + 0.5 / (1.0 + dist / tau)
}

fn rrf(lists: &[(&[(u64, f32)], f32)]) -> HashMap<u64, f32> {
    let mut out: HashMap<u64, f32> = HashMap::default();
    for (list, weight) in lists {
        for (rank, (id, _)) in list.iter().enumerate() {
            *out.entry(*id).or_default() += weight / (RRF_K + rank as f32 + 1.0);
        }
    }
    out
}

fn sorted(m: HashMap<u64, f32>) -> Vec<(u64, f32)> {
    let mut v: Vec<(u64, f32)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

struct Timer {
    on: bool,
    t: Instant,
    stages: Vec<Stage>,
}

impl Timer {
    fn lap(&mut self, name: &str, items: &[(u64, f32)], prefix: &str) {
        if !self.on {
            return;
        }
        self.stages.push(Stage {
            stage: name.to_string(),
            ms: self.t.elapsed().as_secs_f64() * 1000.0,
            kept: items.len(),
            top: items
                .iter()
                .take(5)
                .map(|(id, _)| format!("{prefix}:{id}"))
                .collect(),
        });
        self.t = Instant::now();
    }
}

/// How many scope candidates are worth enumerating for a search of `k` hits in `index`. When
/// the candidates are what the filter keeps (`exact`: one period, read at the head), past a
/// quarter of the index ([`HNSW_FROM`]) and past what exact scoring takes whole, the filtered
/// HNSW search takes over anyway, so enumerating more only costs (100k facts: abstract
/// questions over three years enumerated 30k facts to throw them away). Otherwise (several
/// periods, whose hull is enumerated; a snapshot, `as_of`) the filter may keep few of them, and
/// they are filtered first however many (see [`vector_seeds`]).
fn scope_limit(index: &crate::index::vector::VectorIndex, k: usize, exact: bool) -> usize {
    if !exact {
        return ENUMERATE_MAX;
    }
    let rerank = (RERANK_PER_HIT * k).max(RERANK_MIN);
    (index.len() / HNSW_FROM).max(2 * rerank).min(ENUMERATE_MAX)
}

/// Vector search restricted to a candidate predicate: exact over the enumerated candidates that
/// pass it when they are few, exact over a short list picked by sign sketches when they are many
/// but a small part of the index, filtered HNSW search otherwise. `candidates` is the scope's
/// candidate list, complete when it has at most [`ENUMERATE_MAX`] entries. Filtering it first
/// matters for snapshots: a scope can hold thousands of candidates of which only a handful existed
/// at the snapshot, and a filtered HNSW search that finds almost nothing passing its filter walks
/// the whole graph (seconds at 1M facts).
fn vector_seeds(
    index: &crate::index::vector::VectorIndex,
    q: &[f32],
    candidates: Option<Vec<u64>>,
    keep: &(dyn Fn(u64) -> bool + Sync),
    k: usize,
    exact: bool,
) -> Result<Vec<(u64, f32)>> {
    let Some(c) = candidates else {
        // No scope to enumerate: the filter keeps nearly every key (visibility only).
        return index.search_keeping(q, k, keep);
    };
    if c.len() <= scope_limit(index, k, exact) {
        let kept: Vec<u64> = c.into_iter().filter(|id| keep(*id)).collect();
        let rerank = (RERANK_PER_HIT * k).max(RERANK_MIN);
        if kept.len() <= 2 * rerank {
            return index.score_exact(q, &kept, k);
        }
        if kept.len() * HNSW_FROM < index.len() {
            let short = index.shortlist(q, &kept, rerank)?;
            return index.score_exact(q, &short, k);
        }
    }
    index.filtered_search(q, k, keep)
}

/// The local path plus hybrid chunk search. `q` is the query vector, `text` the query text.
pub fn specific(
    ctx: &Ctx<'_>,
    q: &[f32],
    text: &str,
    want_chunks: usize,
    explain: bool,
    alone: bool,
) -> Result<Found> {
    let mut timer = Timer {
        on: explain,
        t: Instant::now(),
        stages: Vec::new(),
    };
    let hard = ctx.hard();
    let hull = hard.map(|s| s.hull());
    std::thread::scope(|scope| {
        // The chunk searches need nothing from the fact stages: they run beside them (the
        // machine has two cores and a query uses one otherwise). When no other question is
        // being answered, the facts' vector search goes first on that thread, while this one
        // runs the facts' BM25 search (the fusion needs both); beside another question the
        // other core is busy anyway, and the hand-off would only add a wait.
        // Without fact vectors (`embed_facts` off) there is nothing to search.
        let alone = alone && !ctx.idx.facts.is_empty();
        let (vec_tx, vec_rx) = std::sync::mpsc::sync_channel(1);
        let chunk_search = scope.spawn(move || {
            if alone {
                let _ = vec_tx.send(fact_vector_seeds(ctx, q, explain));
            }
            chunk_seeds(ctx, q, text, hull.as_ref(), explain)
        });
        let fact_vectors = if alone {
            FactVectors::There(vec_rx)
        } else {
            FactVectors::Here
        };
        specific_inner(
            ctx,
            q,
            text,
            want_chunks,
            &mut timer,
            fact_vectors,
            chunk_search,
        )
    })
}

/// The facts' vector seeds inside the hard scope, with their stage timing.
fn fact_vector_seeds(ctx: &Ctx<'_>, q: &[f32], explain: bool) -> FactSeeds {
    let mut timer = Timer {
        on: explain,
        t: Instant::now(),
        stages: Vec::new(),
    };
    if ctx.idx.facts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let hard = ctx.hard();
    // The hull's facts are the scope's when it is one period and no snapshot hides any.
    let exact = ctx.as_of.is_none() && hard.is_some_and(|s| s.intervals.len() == 1);
    let fact_ok = |id: u64| ctx.fact_in_scope(id) && ctx.fact_visible(id);
    let fact_cands = hard.map(|s| {
        let limit = scope_limit(&ctx.idx.facts, SEEDS_PER_LIST, exact);
        ctx.cat.facts_overlapping(&s.hull(), limit + 1)
    });
    let vec_facts = vector_seeds(
        &ctx.idx.facts,
        q,
        fact_cands,
        &fact_ok,
        SEEDS_PER_LIST,
        exact,
    )?;
    timer.lap("seed_facts_vector", &vec_facts, "fact");
    Ok((vec_facts, timer.stages))
}

/// Chunk seeds by vector and by BM25 inside the hard scope, with their stage timings.
fn chunk_seeds(
    ctx: &Ctx<'_>,
    q: &[f32],
    text: &str,
    hull: Option<&Interval>,
    explain: bool,
) -> ChunkSeeds {
    let mut timer = Timer {
        on: explain,
        t: Instant::now(),
        stages: Vec::new(),
    };
    let hard = ctx.hard();
    let chunk_ok = |id: u64| ctx.chunk_in_scope(id) && ctx.chunk_visible(id);
    // The scope's own chunks: all kept unless a snapshot hides them.
    let exact = ctx.as_of.is_none();
    let chunk_cands: Option<Vec<u64>> = hard.map(|s| {
        ctx.cat
            .chunks
            .iter()
            .filter(|(_, c)| c.vstart != i32::MIN && s.overlaps_keys(c.vstart, c.vend))
            .map(|(id, _)| id)
            .take(scope_limit(&ctx.idx.chunks, SEEDS_PER_LIST, exact) + 1)
            .collect()
    });
    let vec_chunks = vector_seeds(
        &ctx.idx.chunks,
        q,
        chunk_cands,
        &chunk_ok,
        SEEDS_PER_LIST,
        exact,
    )?;
    timer.lap("chunks_vector", &vec_chunks, "chunk");
    let bm25_chunks = bm25_seeds(ctx, TextKind::Chunk, text, hull, &chunk_ok, SEEDS_PER_LIST)?;
    timer.lap("chunks_bm25", &bm25_chunks, "chunk");
    Ok((vec_chunks, bm25_chunks, timer.stages))
}

/// The `k` best BM25 records of a kind inside `hull` that pass `keep`.
fn bm25_seeds(
    ctx: &Ctx<'_>,
    kind: TextKind,
    text: &str,
    hull: Option<&Interval>,
    keep: &dyn Fn(u64) -> bool,
    k: usize,
) -> Result<Vec<(u64, f32)>> {
    top_passing(|n| ctx.idx.text.search(kind, text, hull, n), keep, k)
}

/// The `k` best hits of `search(n)` (the best `n`, best first) that pass `keep`. Asks for a few
/// more than `k` (the fewer asked, the more blocks block-max WAND skips), and again for many
/// more when too many of those fail `keep` (snapshots, hard scopes of several periods).
fn top_passing(
    search: impl Fn(usize) -> Result<Vec<(u64, f32)>>,
    keep: &dyn Fn(u64) -> bool,
    k: usize,
) -> Result<Vec<(u64, f32)>> {
    let mut ask = k + k / 4;
    loop {
        let hits = search(ask)?;
        let full = hits.len() == ask;
        let kept: Vec<(u64, f32)> = hits
            .into_iter()
            .filter(|(id, _)| keep(*id))
            .take(k)
            .collect();
        if kept.len() == k || !full || ask >= 16 * k {
            return Ok(kept);
        }
        ask *= 4;
    }
}

type ChunkSeeds = Result<(Vec<(u64, f32)>, Vec<(u64, f32)>, Vec<Stage>)>;
type FactSeeds = Result<(Vec<(u64, f32)>, Vec<Stage>)>;

/// Where the facts' vector seeds are searched: on this thread, or on the chunk-search thread.
enum FactVectors {
    Here,
    There(std::sync::mpsc::Receiver<FactSeeds>),
}

fn specific_inner(
    ctx: &Ctx<'_>,
    q: &[f32],
    text: &str,
    want_chunks: usize,
    timer: &mut Timer,
    fact_vectors: FactVectors,
    chunk_search: std::thread::ScopedJoinHandle<'_, ChunkSeeds>,
) -> Result<Found> {
    let hard = ctx.hard();
    let hull = hard.map(|s| s.hull());

    // 1. Seed facts: vector (here or on the other thread) + BM25 within the scope.
    let here = match fact_vectors {
        FactVectors::Here => {
            let v = fact_vector_seeds(ctx, q, timer.on)?;
            timer.t = Instant::now();
            Some(v)
        }
        FactVectors::There(_) => None,
    };
    let fact_ok = |id: u64| ctx.fact_in_scope(id) && ctx.fact_visible(id);
    let bm25_facts = bm25_seeds(
        ctx,
        TextKind::Fact,
        text,
        hull.as_ref(),
        &fact_ok,
        SEEDS_PER_LIST,
    )?;
    timer.lap("seed_facts_bm25", &bm25_facts, "fact");
    let (vec_facts, vec_stages) = match fact_vectors {
        FactVectors::There(rx) => rx
            .recv()
            .map_err(|_| crate::Error::Index("fact vector search panicked".into()))??,
        FactVectors::Here => here.unwrap_or_default(),
    };
    if timer.on {
        timer.stages.splice(0..0, vec_stages);
        timer.t = Instant::now();
    }
    let seeds = sorted(rrf(&[(&vec_facts, 1.0), (&bm25_facts, 1.0)]));
    let sim: HashMap<u64, f32> = vec_facts.iter().copied().collect();
    timer.lap("seed_fusion", &seeds, "fact");

    // 2. Personalised PageRank from the seeds' entities over in-scope, visible edges.
    let mut weights: HashMap<u64, f32> = HashMap::default();
    for (id, s) in seeds.iter().take(PPR_SEEDS) {
        if let Some(m) = ctx.cat.facts.get(id) {
            *weights.entry(m.subject).or_default() += s;
            if let Some(o) = m.object {
                *weights.entry(o).or_default() += s;
            }
        }
    }
    // Sorted so that the push order (and so every float sum) is the same in every process.
    let mut seed_entities: Vec<(u64, f32)> = weights.into_iter().collect();
    seed_entities.sort_by_key(|x| x.0);
    // The walk's edge test is `fact_ok`, read from the edge's own copy of the fact's time and
    // status (a snapshot read asks the catalog and the store, as before).
    let hard_keys: Option<Vec<(i32, i32)>> = hard.map(|s| {
        s.intervals
            .iter()
            .map(|iv| (iv.start_key(), iv.end_key()))
            .collect()
    });
    let edge_ok = |e: &EdgeFact| match ctx.as_of {
        None => {
            e.active
                && hard_keys
                    .as_ref()
                    .is_none_or(|ks| ks.iter().any(|&(a, b)| e.vstart < b && e.vend > a))
        }
        Some(_) => fact_ok(e.id),
    };
    let ppr = ctx
        .cat
        .personalized_pagerank(&seed_entities, &edge_ok, 0.15, 1e-4, 5_000);
    let mut top_entities: Vec<(u64, f32)> = ppr.iter().map(|(e, p)| (*e, *p)).collect();
    top_entities.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top_entities.truncate(10);
    timer.lap("pagerank", &top_entities, "entity");
    let max_ppr = top_entities.first().map(|x| x.1).unwrap_or(0.0).max(1e-9);

    // 3. Candidate edges: the seeds plus in-scope facts of the top entities; scored by their
    //    endpoints and their similarity.
    let mut cand: Vec<u64> = seeds.iter().take(2 * SEEDS_PER_LIST).map(|x| x.0).collect();
    for (e, _) in &top_entities {
        cand.extend(
            ctx.cat
                .facts_of(*e)
                .iter()
                .rev()
                .filter(|f| fact_ok(**f))
                .take(100),
        );
    }
    cand.sort_unstable();
    cand.dedup();
    let missing: Vec<u64> = cand
        .iter()
        .copied()
        .filter(|f| !sim.contains_key(f))
        .collect();
    let mut sim = sim;
    if !ctx.idx.facts.is_empty() {
        for (id, s) in ctx.idx.facts.score_exact(q, &missing, missing.len())? {
            sim.insert(id, s);
        }
    }
    let seed_rank: HashMap<u64, f32> = seeds.iter().copied().collect();
    let max_seed = seeds.first().map(|x| x.1).unwrap_or(1.0).max(1e-9);
    let mut fact_scores: Vec<(u64, f32)> = cand
        .iter()
        .filter_map(|id| {
            let m = ctx.cat.facts.get(id)?;
            let endpoints = ppr.get(&m.subject).copied().unwrap_or(0.0)
                + m.object.and_then(|o| ppr.get(&o).copied()).unwrap_or(0.0);
            let s = sim.get(id).copied().unwrap_or(0.0).max(0.0);
            let graph = (endpoints / max_ppr).min(2.0) * (1.0 + s) / 4.0;
            let seed = seed_rank.get(id).copied().unwrap_or(0.0) / max_seed;
            let score = (0.6 * seed + 0.4 * graph)
                * (0.75 + 0.25 * m.confidence)
                * ctx.recency(m.vstart, m.vend);
            Some((*id, score))
        })
        .collect();
    fact_scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    timer.lap("edge_scores", &fact_scores, "fact");

    // 4. Chunks by their edges: Π(1 + sim) × Σ edge score.
    let mut sum: HashMap<u64, f32> = HashMap::default();
    let mut prod: HashMap<u64, f32> = HashMap::default();
    for (id, score) in fact_scores.iter().take(300) {
        let Some(m) = ctx.cat.facts.get(id) else {
            continue;
        };
        let s = sim.get(id).copied().unwrap_or(0.0).clamp(0.0, 1.0);
        for c in &m.sources {
            if !ctx.chunk_visible(*c) {
                continue;
            }
            *sum.entry(*c).or_default() += score;
            *prod.entry(*c).or_insert(1.0) *= 1.0 + s;
        }
    }
    let graph_chunks = sorted(
        sum.into_iter()
            .map(|(c, s)| (c, s * prod.get(&c).copied().unwrap_or(1.0).min(8.0)))
            .collect(),
    );
    timer.lap("chunks_from_edges", &graph_chunks, "chunk");

    // 5. Hybrid chunk search inside the scope (started on its own thread at the beginning).
    let (vec_chunks, bm25_chunks, chunk_stages) = chunk_search
        .join()
        .map_err(|_| crate::Error::Index("chunk search panicked".into()))??;
    if timer.on {
        timer.stages.extend(chunk_stages);
        timer.t = Instant::now();
    }

    // 6. Fuse, with the soft-scope prior.
    let mut fused = rrf(&[
        (&graph_chunks, GRAPH_WEIGHT),
        (&vec_chunks, VECTOR_WEIGHT),
        (&bm25_chunks, BM25_WEIGHT),
    ]);
    if ctx.scope.is_some_and(|s| !s.hard) || ctx.recent_start.is_some() {
        for (c, s) in fused.iter_mut() {
            if let Some(m) = ctx.cat.chunks.get(c) {
                *s *= ctx.recency(m.vstart, m.vend);
            }
        }
    }
    let mut chunks = sorted(fused);
    if let Some(s) = hard
        && s.intervals.len() > 1
    {
        chunks = balance(ctx, s, chunks);
    }
    chunks.truncate(want_chunks.max(1));
    // The chunks that state the best-matching facts are always candidates: passage scoring
    // judges them on their sentences, whatever rank fusion gave them (a fact dated inside a
    // hard scope, stated in an article published after it, reaches the chunk ranking only
    // through the graph path, at a foreign chunk's weight).
    let floor = chunks.last().map(|c| c.1).unwrap_or(0.0);
    for (f, _) in seeds.iter().take(SEED_SOURCES) {
        if let Some(m) = ctx.cat.facts.get(f) {
            for c in &m.sources {
                if ctx.chunk_visible(*c) && !chunks.iter().any(|x| x.0 == *c) {
                    chunks.push((*c, floor));
                }
            }
        }
    }
    timer.lap("chunk_fusion", &chunks, "chunk");
    Ok(Found {
        facts: fact_scores,
        chunks,
        stages: std::mem::take(&mut timer.stages),
    })
}

/// Interleaves chunks so that each period of a multi-period scope gets its share.
fn balance(ctx: &Ctx<'_>, scope: &TimeScope, ranked: Vec<(u64, f32)>) -> Vec<(u64, f32)> {
    let mut per: Vec<Vec<(u64, f32)>> = vec![Vec::new(); scope.intervals.len() + 1];
    for (c, s) in ranked {
        let slot = ctx
            .cat
            .chunks
            .get(&c)
            .and_then(|m| {
                scope
                    .intervals
                    .iter()
                    .position(|iv| m.vstart < iv.end_key() && m.vend > iv.start_key())
            })
            .unwrap_or(scope.intervals.len());
        per[slot].push((c, s));
    }
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let mut any = false;
        for list in &per {
            if let Some(x) = list.get(i) {
                out.push(*x);
                any = true;
            }
        }
        if !any {
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_passing_asks_again_when_the_first_hits_fail_the_filter() {
        // Hits 0..1000, best first; only multiples of 3 pass.
        let asked = std::cell::RefCell::new(Vec::new());
        let search = |n: usize| {
            asked.borrow_mut().push(n);
            Ok((0..1000u64.min(n as u64))
                .map(|i| (i, -(i as f32)))
                .collect())
        };
        let keep = |id: u64| id.is_multiple_of(3);
        let top = top_passing(search, &keep, 100).unwrap();
        assert_eq!(top.len(), 100);
        assert_eq!(top[0].0, 0);
        assert_eq!(top[99].0, 297);
        assert_eq!(*asked.borrow(), vec![125, 500]);
        // Fewer hits than asked: one search, whatever passes.
        asked.borrow_mut().clear();
        let few = |n: usize| {
            asked.borrow_mut().push(n);
            Ok((0..10u64).map(|i| (i, 1.0)).collect())
        };
        assert_eq!(top_passing(few, &keep, 100).unwrap().len(), 4);
        assert_eq!(*asked.borrow(), vec![125]);
        // Everything passes: one search of a few more than k.
        asked.borrow_mut().clear();
        let all = top_passing(search, &|_| true, 100).unwrap();
        assert_eq!(all.len(), 100);
        assert_eq!(*asked.borrow(), vec![125]);
    }
}
