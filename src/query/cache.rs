//! Query result caches: an exact cache and a category-aware semantic cache.
//!
//! **Exact.** Keyed by the namespace's index state ([`IndexState`]: instance, generation),
//! the head transaction and the normalised request (whitespace of the question collapsed).
//! Any write, summary pass, erase or rebuild moves the generation or the head, so a stale
//! entry is never found again; it ages out of the LRU.
//!
//! **Semantic.** A paraphrase of an earlier question reuses that question's plan and context
//! when (1) everything the plan resolved structurally is identical — namespace, time scope,
//! `now`, intent, facet entities, periods and measure, budget, `top_k`, mode, snapshot — and
//! (2) the embeddings of the two questions (time expressions removed) are at least the
//! category's threshold apart in cosine. The category sets threshold and time to live:
//!
//! | category | when | lives until |
//! |---|---|---|
//! | `as_of` | `as_of_tx` was given | an erase or rebuild (the past does not change otherwise) |
//! | `relative` | the time scope was worked out from `now` ("last quarter", "this week") | `now` moves, or the next write |
//! | `head` | any other read of the current state | the next write |
//!
//! `now` (given or defaulted) is part of every semantic key, so a relative question never
//! outlives its `now`. Every hit says so in [`CacheHit`]: which question it reused and how
//! close it was.
//!
//! Invariant: both caches are bounded in bytes (estimated from the result's texts) and only
//! ever return results computed from the same index state and snapshot the caller would read.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{QueryRequest, QueryResult};
use crate::config::CacheConfig;

/// The state of a namespace's derived indexes a cached answer was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexState {
    /// Unique per opening of the indexes (a deleted and re-created namespace differs).
    pub instance: u64,
    /// Moves on every change of the indexes (commits, summaries, erase, rebuild).
    pub generation: u64,
    /// Moves only when the past changes (erase, rebuild).
    pub epoch: u64,
}

/// The category of a cached read (sets the semantic threshold and the time to live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A read of the current state.
    Head,
    /// A read whose time scope was worked out from `now`.
    Relative,
    /// A read at an explicit `as_of_tx`.
    AsOf,
}

/// How an answer came from the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CacheHit {
    /// `exact` (the same request) or `semantic` (a paraphrase with the same plan).
    pub kind: String,
    /// The category of the read.
    pub category: Category,
    /// The question whose plan and context were reused.
    pub question: String,
    /// Cosine similarity of the two questions' embeddings (1 for an exact hit).
    pub similarity: f32,
}

/// Hit and miss counts since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Answers served by the exact cache.
    pub exact_hits: u64,
    /// Answers served by the semantic cache.
    pub semantic_hits: u64,
    /// Answers computed.
    pub misses: u64,
    /// Bytes held (estimated).
    pub bytes: u64,
}

/// The exact cache's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExactKey {
    namespace: String,
    state: IndexState,
    head: u64,
    request: String,
}

impl ExactKey {
    /// The key of `req` against a namespace at `state` and `head`.
    pub fn new(namespace: &str, state: IndexState, head: u64, req: &QueryRequest) -> Self {
        let mut r = req.clone();
        r.query = crate::model::collapse_spaces(&r.query);
        ExactKey {
            namespace: namespace.to_string(),
            state,
            head,
            request: serde_json::to_string(&r).unwrap_or_default(),
        }
    }
}

/// The semantic cache's key: the structural part of a plan plus what bounds its life.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SemanticKey {
    namespace: String,
    instance: u64,
    epoch: u64,
    /// `(generation, head)` for head and relative reads; `None` for `as_of` reads.
    current: Option<(u64, u64)>,
    category: Category,
    /// Everything else the answer depends on besides the question's wording, serialised.
    plan: String,
}

impl SemanticKey {
    /// A key from the structural parts of a plan (`plan` is any serialisable summary of them).
    pub fn new(
        namespace: &str,
        state: IndexState,
        head: u64,
        category: Category,
        plan: &impl Serialize,
    ) -> Self {
        SemanticKey {
            namespace: namespace.to_string(),
            instance: state.instance,
            epoch: state.epoch,
            current: (category != Category::AsOf).then_some((state.generation, head)),
            category,
            plan: serde_json::to_string(plan).unwrap_or_default(),
        }
    }
}

struct SemanticEntry {
    vector: Vec<f32>,
    question: String,
    result: Arc<QueryResult>,
}

/// Questions kept per semantic key (all questions about one period without named entities
/// share a key; matching scans them, about 0.1 µs per dimension and question).
const PER_KEY: usize = 512;

/// Both caches of an engine.
pub struct QueryCache {
    config: CacheConfig,
    exact: Mutex<Lru<ExactKey, Arc<QueryResult>>>,
    semantic: Mutex<Lru<SemanticKey, Vec<SemanticEntry>>>,
    exact_hits: AtomicU64,
    semantic_hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for QueryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryCache")
            .field("config", &self.config)
            .finish()
    }
}

impl QueryCache {
    /// Caches bounded as `config` says.
    pub fn new(config: CacheConfig) -> Self {
        let exact_bytes = config.exact_mb * 1024 * 1024;
        let semantic_bytes = config.semantic_mb * 1024 * 1024;
        QueryCache {
            config,
            exact: Mutex::new(Lru::new(exact_bytes)),
            semantic: Mutex::new(Lru::new(semantic_bytes)),
            exact_hits: AtomicU64::new(0),
            semantic_hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether the exact cache is on.
    pub fn exact_enabled(&self) -> bool {
        self.config.exact_mb > 0
    }

    /// Whether the semantic cache is on.
    pub fn semantic_enabled(&self) -> bool {
        self.config.semantic && self.config.semantic_mb > 0
    }

    /// The least cosine similarity for a semantic hit in `category`.
    pub fn threshold(&self, category: Category) -> f32 {
        match category {
            Category::Head => self.config.threshold_head,
            Category::Relative => self.config.threshold_relative,
            Category::AsOf => self.config.threshold_as_of,
        }
    }

    /// The cached answer to exactly this request, marked as a hit.
    pub fn get_exact(&self, key: &ExactKey, category: Category) -> Option<QueryResult> {
        let hit = self.exact.lock().get(key)?;
        self.exact_hits.fetch_add(1, Ordering::Relaxed);
        let mut r = (*hit).clone();
        r.cache = Some(CacheHit {
            kind: "exact".into(),
            category,
            question: hit.plan.query.clone(),
            similarity: 1.0,
        });
        Some(r)
    }

    /// The answer to the closest paraphrase under `key`, when close enough.
    pub fn get_semantic(&self, key: &SemanticKey, vector: &[f32]) -> Option<QueryResult> {
        let threshold = self.threshold(key.category);
        let (result, question, sim) = {
            let mut sem = self.semantic.lock();
            let entries = sem.get_ref(key)?;
            let (best, sim) = entries
                .iter()
                .map(|e| (e, cosine(&e.vector, vector)))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            if sim < threshold {
                return None;
            }
            (best.result.clone(), best.question.clone(), sim)
        };
        self.semantic_hits.fetch_add(1, Ordering::Relaxed);
        let mut r = (*result).clone();
        r.cache = Some(CacheHit {
            kind: "semantic".into(),
            category: key.category,
            question,
            similarity: sim,
        });
        Some(r)
    }

    /// Counts an answer that had to be computed.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps a computed answer under its exact key and, with a vector, its semantic key.
    pub fn put(
        &self,
        exact: Option<ExactKey>,
        semantic: Option<(SemanticKey, Vec<f32>)>,
        result: &QueryResult,
    ) {
        let size = estimate(result);
        let shared = Arc::new(result.clone());
        if let Some(k) = exact {
            self.exact
                .lock()
                .put(k.clone(), shared.clone(), size + k.request.len());
        }
        if let Some((k, vector)) = semantic {
            let mut sem = self.semantic.lock();
            let entry = SemanticEntry {
                question: result.plan.query.clone(),
                vector,
                result: shared,
            };
            let added = size + entry.vector.len() * 4 + entry.question.len();
            match sem.get_mut(&k) {
                Some((entries, bytes)) => {
                    if entries.len() >= PER_KEY {
                        entries.remove(0);
                    }
                    entries.push(entry);
                    *bytes += added;
                    sem.recount();
                }
                None => sem.put(k, vec![entry], added),
            }
        }
    }

    /// Hit and miss counts, and the bytes held.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            exact_hits: self.exact_hits.load(Ordering::Relaxed),
            semantic_hits: self.semantic_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: (self.exact.lock().bytes + self.semantic.lock().bytes) as u64,
        }
    }
}

/// Bytes a result holds, roughly (its texts dominate).
fn estimate(r: &QueryResult) -> usize {
    let texts: usize = r.context.len()
        + r.passages.iter().map(|p| p.text.len() + 64).sum::<usize>()
        + r.facts
            .iter()
            .map(|f| {
                f.description.len()
                    + f.subject.len()
                    + f.object.as_ref().map_or(0, String::len)
                    + 160
            })
            .sum::<usize>()
        + r.chunks.iter().map(|c| c.text.len() + 96).sum::<usize>()
        + r.summaries
            .iter()
            .map(|s| s.text.len() + 128)
            .sum::<usize>();
    texts + 1024
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// A least-recently-used map bounded in (estimated) bytes.
struct Lru<K, V> {
    map: HashMap<K, (V, usize, u64)>,
    tick: u64,
    bytes: usize,
    cap: usize,
}

impl<K: Hash + Eq, V: Clone> Lru<K, V> {
    fn get(&mut self, k: &K) -> Option<V> {
        self.get_ref(k).cloned()
    }
}

impl<K: Hash + Eq, V> Lru<K, V> {
    fn new(cap: usize) -> Self {
        Lru {
            map: HashMap::new(),
            tick: 0,
            bytes: 0,
            cap,
        }
    }

    fn get_ref(&mut self, k: &K) -> Option<&V> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.map.get_mut(k)?;
        e.2 = tick;
        Some(&e.0)
    }

    fn get_mut(&mut self, k: &K) -> Option<(&mut V, &mut usize)> {
        self.tick += 1;
        let tick = self.tick;
        let e = self.map.get_mut(k)?;
        e.2 = tick;
        Some((&mut e.0, &mut e.1))
    }

    /// Recomputes the byte total after sizes were changed through [`Lru::get_mut`], evicting
    /// as needed.
    fn recount(&mut self) {
        self.bytes = self.map.values().map(|e| e.1).sum();
        self.evict();
    }

    fn put(&mut self, k: K, v: V, size: usize) {
        if size > self.cap {
            return;
        }
        self.tick += 1;
        if let Some(old) = self.map.insert(k, (v, size, self.tick)) {
            self.bytes -= old.1;
        }
        self.bytes += size;
        self.evict();
    }

    /// Drops the least recently used eighth (at least one entry) until within the cap.
    fn evict(&mut self) {
        while self.bytes > self.cap && !self.map.is_empty() {
            let mut ticks: Vec<u64> = self.map.values().map(|e| e.2).collect();
            ticks.sort_unstable();
            let cut = ticks[(ticks.len() / 8).min(ticks.len() - 1)];
            let mut freed = 0;
            self.map.retain(|_, e| {
                let keep = e.2 > cut;
                if !keep {
                    freed += e.1;
                }
                keep
            });
            self.bytes -= freed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lru_stays_within_its_bytes_and_keeps_the_recently_used() {
        let mut l: Lru<u32, u32> = Lru::new(1000);
        for i in 0..10 {
            l.put(i, i, 100);
        }
        assert_eq!(l.bytes, 1000);
        assert_eq!(l.get(&0), Some(0)); // 0 is now the most recent
        l.put(10, 10, 100);
        assert!(l.bytes <= 1000);
        assert_eq!(l.get(&0), Some(0));
        assert_eq!(l.get(&1), None, "the least recently used went first");
        assert_eq!(l.get(&10), Some(10));
        l.put(11, 11, 5000);
        assert_eq!(l.get(&11), None, "larger than the whole cache: not kept");
    }

    #[test]
    fn cosine_of_parallel_and_orthogonal_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(
            cosine(&[1.0], &[1.0, 0.0]),
            0.0,
            "different dimensions never match"
        );
    }

    #[test]
    fn exact_keys_ignore_whitespace_only() {
        let st = IndexState {
            instance: 1,
            generation: 2,
            epoch: 0,
        };
        let a = QueryRequest {
            query: "What was  Audi's revenue\nin 2019?".into(),
            ..Default::default()
        };
        let b = QueryRequest {
            query: "What was Audi's revenue in 2019?".into(),
            ..Default::default()
        };
        let c = QueryRequest {
            query: "What was Audi's revenue in 2019?".into(),
            budget_chars: Some(4000),
            ..Default::default()
        };
        assert_eq!(ExactKey::new("n", st, 5, &a), ExactKey::new("n", st, 5, &b));
        assert_ne!(ExactKey::new("n", st, 5, &b), ExactKey::new("n", st, 5, &c));
        assert_ne!(ExactKey::new("n", st, 5, &b), ExactKey::new("n", st, 6, &b));
        let later = IndexState {
            generation: 3,
            ..st
        };
        assert_ne!(
            ExactKey::new("n", st, 5, &b),
            ExactKey::new("n", later, 5, &b)
        );
    }

    #[test]
    fn as_of_keys_outlive_writes_and_head_keys_do_not() {
        let st = IndexState {
            instance: 1,
            generation: 2,
            epoch: 0,
        };
        let later = IndexState {
            generation: 9,
            ..st
        };
        let erased = IndexState { epoch: 1, ..later };
        let plan = ("2019", "specific");
        let k = |s, h, c| SemanticKey::new("n", s, h, c, &plan);
        assert_eq!(
            k(st, 5, Category::AsOf),
            k(later, 7, Category::AsOf),
            "the past does not change with writes"
        );
        assert_ne!(k(st, 5, Category::AsOf), k(erased, 7, Category::AsOf));
        assert_ne!(k(st, 5, Category::Head), k(later, 5, Category::Head));
        assert_ne!(k(st, 5, Category::Relative), k(st, 6, Category::Relative));
    }
}
