//! The vector index: a small wrapper around usearch that makes it safe to use as a rebuildable
//! cache behind a server.
//!
//! What the wrapper guarantees (each one a usearch behaviour measured on this machine):
//! - **Capacity ahead of need**: usearch never grows by itself, so every insert reserves room
//!   first (doubling), under the write lock.
//! - **Thread slots**: an index serves only as many concurrent callers as slots reserved; a
//!   counting gate admits at most [`SEARCH_SLOTS`] concurrent searches.
//! - **No panics across FFI**: a panic inside a `filtered_search` predicate would abort the
//!   process; predicates run under `catch_unwind` and a panic becomes an error.
//! - **Room after a compaction**: usearch's `compact` shrinks its node array but keeps the old
//!   insert limit; [`VectorIndex::compact`] reserves again, so later inserts never run past it.
//! - **Exact scoring for small candidate sets**: a filter that passes few keys makes HNSW search
//!   slow and lossy, so callers with a short candidate list call [`VectorIndex::score_exact`].
//! - **One byte per dimension**: vectors are stored as `i8` (unit vector × 127, rounded here, see
//!   [`quantize`]), so the stored vector, its sketch and its exact score all come from the same
//!   bytes. Against half floats this ingested the news corpus 18% faster in 7% less memory with
//!   the same recall. The metric is the inner product, which for these unit vectors is the
//!   cosine without the two norms per pair (another 15% less CPU on the news load). An index
//!   saved with another scalar kind or metric is refused on open and rebuilt.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use super::dot_i8;
use super::sketch::Sketches;
use crate::embed::dot;
use crate::{Error, Result};

/// Refuses an index saved with other dimensions than the namespace's embedder has.
fn check_dims(index: &Index, path: &Path, dims: usize) -> Result<()> {
    if index.dimensions() == dims {
        return Ok(());
    }
    Err(err(format!(
        "{} has {} dimensions, expected {dims}",
        path.display(),
        index.dimensions()
    )))
}

/// Refuses an index saved in another scalar kind than [`options`] sets (the half floats of
/// earlier versions): the caller rebuilds it from the store.
fn check_kind(index: &Index, path: &Path) -> Result<()> {
    if index.scalar_kind() == ScalarKind::I8 && index.metric_kind() == MetricKind::IP {
        return Ok(());
    }
    Err(err(format!(
        "{} stores another scalar kind or metric than i8 inner products; it is rebuilt",
        path.display()
    )))
}

/// The stored form of a vector: each component of the unit vector × 127, rounded. usearch's own
/// conversion truncates instead; rounding here keeps the error to half a step, and the sketches
/// and exact scores read these very bytes back. A zero vector stays zero.
fn quantize(v: &[f32]) -> Vec<i8> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm.is_nan() || norm <= 0.0 {
        return vec![0; v.len()];
    }
    let scale = 127.0 / norm;
    v.iter()
        .map(|x| (x * scale).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

/// The cosine similarity of two quantized unit vectors from usearch's inner-product distance
/// (`1 - a·b`, in integer units of 127²). The inner product is the cosine here because both
/// sides are unit vectors × 127, and it skips the two norms a cosine kernel computes per pair.
fn similarity(distance: f32) -> f32 {
    (1.0 - distance) / (127.0 * 127.0)
}

/// Widens a stored vector into `out` (the inverse of [`quantize`] up to its rounding).
fn widen(raw: &[i8], out: &mut [f32]) {
    for (o, r) in out.iter_mut().zip(raw) {
        *o = f32::from(*r) / 127.0;
    }
}

/// An empty index with room for 1,024 vectors and the search slots, still with usearch's own
/// metric: for a `load` or `view`, which reset the metric, after which [`dot_i8::install`]
/// follows (installing it twice would leak the first closure: usearch frees only the last).
fn bare_index(dims: usize) -> Result<Index> {
    let index = Index::new(&options(dims)).map_err(err)?;
    index
        .reserve_capacity_and_threads(1024, SEARCH_SLOTS)
        .map_err(err)?;
    Ok(index)
}

/// An empty index computing its distances with [`dot_i8`]'s kernels.
fn fresh_index(dims: usize) -> Result<Index> {
    let mut index = bare_index(dims)?;
    dot_i8::install(&mut index, dims);
    Ok(index)
}

/// Reserves room for the index to double (usearch never grows by itself) and the search slots.
fn reserve_for_growth(index: &Index) -> Result<()> {
    let cap = (index.size() * 2).max(1024);
    index
        .reserve_capacity_and_threads(cap, SEARCH_SLOTS)
        .map_err(err)
}

/// Where the sketches of the vectors saved at `path` are saved.
fn sketch_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("sketch")
}

/// Most concurrent searches (thread slots reserved in usearch).
pub const SEARCH_SLOTS: usize = 32;

/// A counting gate.
struct Gate {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Gate {
    fn enter(&self) -> GateGuard<'_> {
        let mut f = self.free.lock();
        while *f == 0 {
            self.cv.wait(&mut f);
        }
        *f -= 1;
        GateGuard(self)
    }
}

struct GateGuard<'a>(&'a Gate);

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.cv.notify_one();
    }
}

/// A usearch index of unit vectors keyed by u64, cosine metric.
pub struct VectorIndex {
    inner: RwLock<Index>,
    dims: usize,
    gate: Gate,
    /// Sign sketches of the stored vectors (see [`Sketches`]); never locked while `inner` is
    /// locked for writing by the same caller in the other order.
    sketches: RwLock<Sketches>,
    /// The file `inner` is a read-only memory-mapped view of ([`VectorIndex::open`]); taken,
    /// and the file loaded into memory, before the first change.
    viewed: Mutex<Option<std::path::PathBuf>>,
    /// Insert one vector after another instead of from several threads (see
    /// [`VectorIndex::set_serial`]).
    serial: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dims", &self.dims)
            .field("len", &self.len())
            .finish()
    }
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Index(format!("vector index: {e}"))
}

/// HNSW neighbours per node (usearch's default). With half-float cosine vectors, 8 ingested the
/// news corpus 19% faster (128.5 s against 158.1 s, back to back), but the test that asks one
/// store over HTTP and in process (`eval_in_process_gives_the_contexts_serve_gives`) then failed
/// once under load on a scoped question. With one-byte inner-product vectors, 8 is no longer
/// faster: 83.5 s against 76.7 s, news recall 0.591 / 0.619 / 0.650 against 0.594 / 0.622 /
/// 0.651 (`chronorag ingest`, back to back, 2026-12-06). Kept at 16.
const CONNECTIVITY: usize = 16;

fn options(dims: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dims,
        metric: MetricKind::IP,
        quantization: ScalarKind::I8,
        connectivity: CONNECTIVITY,
        expansion_add: 20,
        expansion_search: 64,
        multi: false,
    }
}

impl VectorIndex {
    /// An empty index of `dims` dimensions.
    pub fn new(dims: usize) -> Result<Self> {
        Ok(Self::with(fresh_index(dims)?, dims))
    }

    fn with(index: Index, dims: usize) -> Self {
        VectorIndex {
            inner: RwLock::new(index),
            dims,
            gate: Gate {
                free: Mutex::new(SEARCH_SLOTS),
                cv: Condvar::new(),
            },
            sketches: RwLock::new(Sketches::new(dims)),
            viewed: Mutex::new(None),
            serial: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether [`VectorIndex::upsert`] inserts one vector after another. An HNSW graph depends
    /// on the order of its inserts, and inserts from several threads interleave differently on
    /// every run; one after another, the same vectors upserted in the same order into a fresh
    /// or cleared index give the same graph, so the same searches return the same hits. Slower:
    /// `chronorag reindex` of the news store took 48–55 s instead of 34 s (two cores, back to
    /// back), and two such rebuilds gave the same context for all 780 news questions.
    pub fn set_serial(&self, on: bool) {
        self.serial.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Opens an index saved with [`VectorIndex::save`] as a read-only memory-mapped view: only
    /// the pages a search touches are read, so a large index answers in a fraction of the time
    /// a full load takes and costs page cache rather than process memory. The first change
    /// loads it into memory ([`VectorIndex::load`]'s state); the file must not be modified in
    /// place meanwhile ([`VectorIndex::save`] replaces it by a rename, which keeps the view).
    pub fn open(path: &Path, dims: usize) -> Result<Self> {
        let me = Self::with(bare_index(dims)?, dims);
        {
            let mut index = me.inner.write();
            index.view(&path.to_string_lossy()).map_err(err)?;
            check_dims(&index, path, dims)?;
            check_kind(&index, path)?;
            // After the checks: the metric reads `dims` bytes per vector.
            dot_i8::install(&mut index, dims);
        }
        *me.viewed.lock() = Some(path.to_path_buf());
        me.load_sketches(path);
        Ok(me)
    }

    /// Replaces a memory-mapped view by the same index loaded into memory, so it can change.
    /// Callers hold no lock on `inner`.
    fn writable(&self) -> Result<()> {
        let mut viewed = self.viewed.lock();
        let Some(path) = viewed.as_ref() else {
            return Ok(());
        };
        let t = std::time::Instant::now();
        let mut index = bare_index(self.dims)?;
        index.load(&path.to_string_lossy()).map_err(err)?;
        dot_i8::install(&mut index, self.dims);
        tracing::debug!(path = %path.display(), ms = t.elapsed().as_millis() as u64, "vector view loaded for a change");
        reserve_for_growth(&index)?;
        *self.inner.write() = index;
        *viewed = None;
        Ok(())
    }

    /// Whether this is still a read-only view of its file.
    pub fn is_view(&self) -> bool {
        self.viewed.lock().is_some()
    }

    /// The sketches saved beside the vectors at `path`, when there are any for these
    /// dimensions; the ones missing are computed from the vectors on first use.
    fn load_sketches(&self, path: &Path) {
        if let Some(sk) = std::fs::read(sketch_path(path))
            .ok()
            .and_then(|b| Sketches::read_from(&b, self.dims))
        {
            *self.sketches.write() = sk;
        }
    }

    /// Loads an index saved with [`VectorIndex::save`]; fails when its dimensions differ.
    pub fn load(path: &Path, dims: usize) -> Result<Self> {
        let me = Self::with(bare_index(dims)?, dims);
        {
            let mut index = me.inner.write();
            index.load(&path.to_string_lossy()).map_err(err)?;
            check_dims(&index, path, dims)?;
            check_kind(&index, path)?;
            // After the checks: the metric reads `dims` bytes per vector.
            dot_i8::install(&mut index, dims);
            reserve_for_growth(&index)?;
        }
        me.load_sketches(path);
        Ok(me)
    }

    /// Saves to `path` atomically (temporary file, then rename), and the sketches beside it.
    /// The sketches are taken after the vectors, so they are never older than them.
    pub fn save(&self, path: &Path) -> Result<()> {
        // A view unchanged since it was opened from `path` is what `path` already holds.
        if self.viewed.lock().as_deref() != Some(path) {
            let tmp = path.with_extension("tmp");
            self.inner
                .read()
                .save(&tmp.to_string_lossy())
                .map_err(err)?;
            std::fs::rename(&tmp, path)?;
        }
        let sk_path = sketch_path(path);
        let sk_tmp = sk_path.with_extension("sketch-tmp");
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&sk_tmp)?);
            self.sketches.read().write_to(&mut w)?;
            std::io::Write::flush(&mut w)?;
        }
        std::fs::rename(&sk_tmp, &sk_path)?;
        Ok(())
    }

    /// Dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.inner.read().size()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory used.
    pub fn memory_usage(&self) -> usize {
        self.inner.read().memory_usage() + self.sketches.read().memory_usage()
    }

    /// Inserts or replaces vectors. Capacity is reserved and old entries removed under the
    /// exclusive lock; the graph insertions then run in parallel (usearch serves concurrent
    /// writers within its reserved thread slots).
    pub fn upsert(&self, items: &[(u64, Vec<f32>)]) -> Result<()> {
        use rayon::prelude::*;
        if items.is_empty() {
            return Ok(());
        }
        for (_, v) in items {
            if v.len() != self.dims {
                return Err(err(format!(
                    "vector of {} dimensions for a {}-dimensional index",
                    v.len(),
                    self.dims
                )));
            }
        }
        self.writable()?;
        {
            let index = self.inner.write();
            let need = index.size() + items.len();
            if need > index.capacity() {
                let cap = (index.capacity() * 2).max(need + 1024);
                index
                    .reserve_capacity_and_threads(cap, SEARCH_SLOTS)
                    .map_err(err)?;
            }
            for (key, _) in items {
                if index.contains(*key) {
                    index.remove(*key).map_err(err)?;
                }
            }
        }
        let stored: Vec<(u64, Vec<i8>)> = items.iter().map(|(k, v)| (*k, quantize(v))).collect();
        {
            let mut sk = self.sketches.write();
            let mut buf = vec![0.0f32; self.dims];
            for (key, q) in &stored {
                widen(q, &mut buf);
                sk.set(*key, Some(&buf));
            }
        }
        // The gate bounds concurrent users of the thread slots.
        let index = self.inner.read();
        let keep: Vec<&(u64, Vec<i8>)> = stored
            .iter()
            .filter(|(_, q)| q.iter().any(|x| *x != 0)) // nothing to find a zero vector by
            .collect();
        if keep.len() < 64 || self.serial.load(std::sync::atomic::Ordering::Relaxed) {
            let _slot = self.gate.enter();
            for (key, q) in keep {
                index.add(*key, q.as_slice()).map_err(err)?;
            }
            return Ok(());
        }
        keep.par_chunks(32).try_for_each(|part| -> Result<()> {
            let _slot = self.gate.enter();
            for (key, q) in part {
                index.add(*key, q.as_slice()).map_err(err)?;
            }
            Ok(())
        })
    }

    /// Removes vectors (missing keys are ignored).
    pub fn remove(&self, keys: &[u64]) -> Result<()> {
        if keys.iter().any(|k| self.contains(*k)) {
            self.writable()?;
        }
        let index = self.inner.write();
        for k in keys {
            if index.contains(*k) {
                index.remove(*k).map_err(err)?;
            }
        }
        drop(index);
        let mut sk = self.sketches.write();
        for k in keys {
            sk.set(*k, None);
        }
        Ok(())
    }

    /// Whether a key is present.
    pub fn contains(&self, key: u64) -> bool {
        self.inner.read().contains(key)
    }

    /// Approximate nearest neighbours: `(key, cosine similarity)`, best first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>> {
        if k == 0 || query.iter().all(|x| *x == 0.0) {
            return Ok(Vec::new());
        }
        let _slot = self.gate.enter();
        let index = self.inner.read();
        if index.size() == 0 {
            return Ok(Vec::new());
        }
        let m = index.search(quantize(query).as_slice(), k).map_err(err)?;
        Ok(m.keys
            .into_iter()
            .zip(m.distances)
            .map(|(k, d)| (k, similarity(d)))
            .collect())
    }

    /// Nearest neighbours among keys that pass `keep`, as [`VectorIndex::filtered_search`] finds
    /// them, but from a plain search when its hits all pass (a filter that keeps nearly every
    /// key: the active facts of a question without a hard scope). usearch's filter decides which
    /// keys enter the results, not the graph walk, so with every hit passing both walks are the
    /// same; the plain one calls no predicate through the C++ boundary for every key it visits.
    pub fn search_keeping(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<(u64, f32)>> {
        let hits = self.search(query, k)?;
        if hits.iter().all(|(key, _)| keep(*key)) {
            return Ok(hits);
        }
        self.filtered_search(query, k, keep)
    }

    /// Nearest neighbours among keys that pass `keep`. A panic in `keep` is caught (it must not
    /// unwind into C++) and reported as an error.
    pub fn filtered_search(
        &self,
        query: &[f32],
        k: usize,
        keep: &(dyn Fn(u64) -> bool + Sync),
    ) -> Result<Vec<(u64, f32)>> {
        if k == 0 || query.iter().all(|x| *x == 0.0) {
            return Ok(Vec::new());
        }
        let panicked = AtomicBool::new(false);
        let guarded = |key: u64| -> bool {
            if panicked.load(Ordering::Relaxed) {
                return false;
            }
            match catch_unwind(AssertUnwindSafe(|| keep(key))) {
                Ok(b) => b,
                Err(_) => {
                    panicked.store(true, Ordering::Relaxed);
                    false
                }
            }
        };
        let _slot = self.gate.enter();
        let index = self.inner.read();
        if index.size() == 0 {
            return Ok(Vec::new());
        }
        let m = index
            .filtered_search(quantize(query).as_slice(), k, guarded)
            .map_err(err)?;
        if panicked.load(Ordering::Relaxed) {
            return Err(err("the search filter panicked; the search was abandoned"));
        }
        Ok(m.keys
            .into_iter()
            .zip(m.distances)
            .map(|(k, d)| (k, similarity(d)))
            .collect())
    }

    /// Exact cosine similarity of `query` with each of `keys` (missing keys are skipped), best
    /// first, at most `k`.
    pub fn score_exact(&self, query: &[f32], keys: &[u64], k: usize) -> Result<Vec<(u64, f32)>> {
        let index = self.inner.read();
        let mut raw = vec![0i8; self.dims];
        let mut buf = vec![0.0f32; self.dims];
        let mut out = Vec::with_capacity(keys.len());
        for &key in keys {
            // `get` finds nothing (0) for a missing key: no separate `contains` lookup.
            let n = index.get(key, raw.as_mut_slice()).map_err(err)?;
            if n == 0 {
                continue;
            }
            widen(&raw, &mut buf);
            out.push((key, dot(query, &buf)));
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        Ok(out)
    }

    /// Computes the sketches of those of `keys` that have none yet, from the stored vectors
    /// (after a load the index has vectors but no sketches).
    pub fn fill_sketches(&self, keys: &[u64]) -> Result<()> {
        let missing: Vec<u64> = {
            let sk = self.sketches.read();
            keys.iter()
                .copied()
                .filter(|k| *k < super::sketch::MAX_KEY && !sk.is_known(*k))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let mut raw = vec![0i8; self.dims];
        let mut buf = vec![0.0f32; self.dims];
        // In slices, so that searches are not held up for long. Lock order: the index, then the
        // sketches (nothing takes them the other way).
        if let Some(max) = missing
            .iter()
            .copied()
            .filter(|k| *k < super::sketch::MAX_KEY)
            .max()
        {
            self.sketches.write().reserve(max);
        }
        for part in missing.chunks(4096) {
            let index = self.inner.read();
            let mut sk = self.sketches.write();
            for &key in part {
                // An insert since the first look has recorded the newer vector: keep it.
                if sk.is_known(key) {
                    continue;
                }
                let found = index.get(key, raw.as_mut_slice()).map_err(err)?;
                if found == 0 {
                    sk.set(key, None);
                    continue;
                }
                widen(&raw, &mut buf);
                sk.set(key, Some(&buf));
            }
        }
        Ok(())
    }

    /// The `n` keys of `keys` whose sign sketches agree best with `query` (all of them when
    /// there are at most `n`), for [`VectorIndex::score_exact`] to rank. Sketches missing
    /// since a load are computed from the stored vectors first; keys that cannot be sketched
    /// are always kept.
    pub fn shortlist(&self, query: &[f32], keys: &[u64], n: usize) -> Result<Vec<u64>> {
        if keys.len() <= n {
            return Ok(keys.to_vec());
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        self.fill_sketches(keys)?;
        let sk = self.sketches.read();
        let qs = sk.query(query);
        let mut scored: Vec<(u64, f32)> = keys
            .iter()
            .map(|&k| {
                let s = if sk.is_known(k) {
                    sk.score(&qs, k)
                } else {
                    f32::INFINITY
                };
                (k, s)
            })
            .collect();
        let by = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        scored.select_nth_unstable_by(n - 1, by);
        scored.truncate(n);
        Ok(scored.into_iter().map(|(k, _)| k).collect())
    }

    /// Rebuilds the graph without removed entries, dropping their vectors.
    pub fn compact(&self) -> Result<()> {
        self.writable()?;
        let index = self.inner.write();
        if index.size() > 0 {
            index.compact().map_err(err)?;
            // usearch 2.26's compaction leaves a node array of exactly `size()` entries but
            // keeps the old capacity as the insert limit, so later inserts up to that capacity
            // would write past the array. A reservation above the recorded capacity
            // reallocates the array at that size (copying the live nodes) and resets the limit.
            let cap = index.capacity().max(index.size() * 2).max(1024) + 1;
            index
                .reserve_capacity_and_threads(cap, SEARCH_SLOTS)
                .map_err(err)?;
        }
        Ok(())
    }

    /// Removes everything.
    pub fn clear(&self) -> Result<()> {
        *self.viewed.lock() = None;
        let mut index = self.inner.write();
        self.sketches.write().clear();
        // A new index rather than a reset one: its level generator starts over too, so a
        // cleared index fills exactly as a fresh one does (see `set_serial`).
        *index = fresh_index(self.dims)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::l2_normalize;

    fn v(seed: u64, dims: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut out: Vec<f32> = (0..dims)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1000) as f32 / 1000.0 - 0.5
            })
            .collect();
        l2_normalize(&mut out);
        out
    }

    #[test]
    fn grows_past_its_initial_capacity_and_finds_vectors() {
        let idx = VectorIndex::new(32).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=3000).map(|k| (k, v(k, 32))).collect();
        for chunk in items.chunks(500) {
            idx.upsert(chunk).unwrap();
        }
        assert_eq!(idx.len(), 3000);
        let hits = idx.search(&v(1234, 32), 5).unwrap();
        assert_eq!(hits[0].0, 1234);
        assert!((hits[0].1 - 1.0).abs() < 1e-2);
        // Replace and remove.
        idx.upsert(&[(1234, v(99_999, 32))]).unwrap();
        assert_eq!(idx.len(), 3000);
        idx.remove(&[1234, 777_777]).unwrap();
        assert!(!idx.contains(1234));
    }

    #[test]
    fn filtered_and_exact_agree_on_a_small_candidate_set() {
        let idx = VectorIndex::new(16).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=500).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&items).unwrap();
        let q = v(7, 16);
        let cands: Vec<u64> = (1..=500).filter(|k| k % 50 == 0).collect();
        let exact = idx.score_exact(&q, &cands, 3).unwrap();
        let filtered = idx.filtered_search(&q, 3, &|k| k % 50 == 0).unwrap();
        assert_eq!(exact.len(), 3);
        assert!(filtered.iter().all(|(k, _)| k % 50 == 0));
        assert_eq!(exact[0].0, filtered[0].0);
    }

    /// Share of the approximate top `k` that scores at least the exact `k`-th best (ties at the
    /// cut count as hits).
    fn recall_at(idx: &VectorIndex, q: &[f32], keys: &[u64], short: &[u64], k: usize) -> f64 {
        let exact = idx.score_exact(q, keys, k).unwrap();
        let approx = idx.score_exact(q, short, k).unwrap();
        let cut = exact.last().unwrap().1;
        approx.iter().filter(|(_, s)| *s >= cut - 1e-6).count() as f64 / exact.len() as f64
    }

    #[test]
    fn sketches_are_saved_with_the_vectors_and_recomputed_when_missing_or_damaged() {
        let dims = 100;
        let idx = VectorIndex::new(dims).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=300u64)
            .map(|k| {
                let v: Vec<f32> = (0..dims)
                    .map(|d| (k as f32 * 0.37 + d as f32 * 1.3).sin() * 0.5)
                    .collect();
                (k, v)
            })
            .collect();
        idx.upsert(&items).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        idx.save(&path).unwrap();
        assert!(sketch_path(&path).is_file());
        let q: Vec<f32> = (0..dims).map(|d| (d as f32 * 0.7).cos()).collect();
        let scores = |i: &VectorIndex| -> Vec<f32> {
            let sk = i.sketches.read();
            let qs = sk.query(&q);
            items.iter().map(|(k, _)| sk.score(&qs, *k)).collect()
        };
        let built = scores(&idx);
        // Loaded with the vectors: every sketch known at once, the same as the built ones.
        let loaded = VectorIndex::load(&path, dims).unwrap();
        assert!(
            items
                .iter()
                .all(|(k, _)| loaded.sketches.read().is_known(*k))
        );
        assert_eq!(scores(&loaded), built);
        // Damaged or missing: ignored, then computed from the stored vectors when asked.
        let bytes = std::fs::read(sketch_path(&path)).unwrap();
        for damaged in [&bytes[..bytes.len() - 8], &b"CRSKETC1"[..]] {
            std::fs::write(sketch_path(&path), damaged).unwrap();
            let again = VectorIndex::load(&path, dims).unwrap();
            assert!(!again.sketches.read().is_known(1));
            let keys: Vec<u64> = items.iter().map(|(k, _)| *k).collect();
            again.fill_sketches(&keys).unwrap();
            assert!(again.sketches.read().is_known(300));
        }
        std::fs::remove_file(sketch_path(&path)).unwrap();
        let bare = VectorIndex::load(&path, dims).unwrap();
        assert!(!bare.sketches.read().is_known(1));
        // Saved for other dimensions: not used.
        std::fs::write(sketch_path(&path), &bytes).unwrap();
        assert!(Sketches::read_from(&bytes, 256).is_none());
        assert!(Sketches::read_from(&bytes, dims).is_some());
    }

    #[test]
    fn sketch_short_lists_keep_the_exact_top_hits_also_after_a_reload() {
        use crate::embed::Embedder;
        use crate::embed::hash::HashEmbedder;
        let e = HashEmbedder::default();
        let sentences: Vec<String> = crate::synth::Synth::new(7)
            .documents(20_000)
            .flat_map(|d| d.text.split(". ").map(str::to_string).collect::<Vec<_>>())
            .take(12_000)
            .collect();
        assert!(sentences.len() >= 10_000);
        let idx = VectorIndex::new(e.dims()).unwrap();
        let items: Vec<(u64, Vec<f32>)> = sentences
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u64 + 1, e.embed_text(s)))
            .collect();
        idx.upsert(&items).unwrap();
        let keys: Vec<u64> = items.iter().map(|(k, _)| *k).collect();
        let questions = [
            "What was the revenue in the first quarter?",
            "How many units were shipped in Japan?",
            "operating margin of the company",
            "renewable energy share of its electricity",
            "carbon emissions fell compared with a year earlier",
            "the new plant opened",
            "what did the chief executive say",
            "number of employees at the end of the year",
            "women in management positions",
            "order backlog in weeks of production",
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        idx.save(&path).unwrap();
        let reloaded = VectorIndex::load(&path, e.dims()).unwrap();
        for (name, index) in [("built", &idx), ("reloaded", &reloaded)] {
            let mut sum = 0.0;
            for q in questions {
                let qv = e.embed_text(q);
                let short = index.shortlist(&qv, &keys, 800).unwrap();
                assert_eq!(short.len(), 800);
                sum += recall_at(index, &qv, &keys, &short, 100);
            }
            let recall = sum / questions.len() as f64;
            assert!(recall >= 0.9, "{name}: top-100 recall {recall:.3}");
        }
        // Removal clears the sketch: the key's own text short-lists it first (ties go to the
        // smaller key), and after removal it drops out of the short list.
        let qv = e.embed_text(&sentences[0]);
        assert!(idx.shortlist(&qv, &keys, 10).unwrap().contains(&1));
        idx.remove(&[1]).unwrap();
        assert!(!idx.shortlist(&qv, &keys, 10).unwrap().contains(&1));
    }

    #[test]
    fn a_panicking_filter_is_an_error_not_an_abort() {
        let idx = VectorIndex::new(8).unwrap();
        idx.upsert(&[(1, v(1, 8)), (2, v(2, 8))]).unwrap();
        let r = idx.filtered_search(&v(3, 8), 2, &|_| panic!("boom"));
        assert!(r.is_err());
        // Still usable afterwards.
        assert_eq!(idx.search(&v(1, 8), 1).unwrap()[0].0, 1);
    }

    /// Three times as many concurrent callers as thread slots searching `idx` (keys 1..=200 of
    /// [`v`] at 16 dimensions) are all served.
    fn serves_more_callers_than_slots(idx: std::sync::Arc<VectorIndex>) {
        let callers = SEARCH_SLOTS * 3;
        let handles: Vec<_> = (0..callers as u64)
            .map(|t| {
                let idx = idx.clone();
                std::thread::spawn(move || idx.search(&v(t % 200 + 1, 16), 3).unwrap()[0].0)
            })
            .collect();
        // Every caller is served; HNSW is approximate, so allow a rare miss of the exact top hit.
        let hits = handles
            .into_iter()
            .enumerate()
            .map(|(t, h)| (h.join().unwrap() == t as u64 % 200 + 1) as usize)
            .sum::<usize>();
        assert!(hits * 10 >= callers * 9, "{hits} of {callers}");
    }

    #[test]
    fn a_search_keeping_nearly_every_key_finds_what_the_filtered_search_finds() {
        let dims = 16;
        let idx = VectorIndex::new(dims).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=2000).map(|k| (k, v(k, dims))).collect();
        idx.upsert(&items).unwrap();
        for probe in [3u64, 500, 1999] {
            let q = v(probe, dims);
            // Every key passes: the plain search's hits, which are the filtered search's.
            let all = idx.search_keeping(&q, 50, &|_| true).unwrap();
            assert_eq!(all, idx.filtered_search(&q, 50, &|_| true).unwrap());
            assert_eq!(all, idx.search(&q, 50).unwrap());
            assert_eq!(all[0].0, probe);
            // The best hit fails: the filtered search decides, and no failing key comes back.
            let keep = |key: u64| key != probe;
            let some = idx.search_keeping(&q, 50, &keep).unwrap();
            assert_eq!(some, idx.filtered_search(&q, 50, &keep).unwrap());
            assert!(some.iter().all(|(key, _)| *key != probe));
            assert_eq!(some.len(), 50);
        }
    }

    #[test]
    fn serial_inserts_build_the_same_graph_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let dims = 16;
        let items: Vec<(u64, Vec<f32>)> = (1..=3000).map(|k| (k, v(k, dims))).collect();
        let build = |idx: &VectorIndex, name: &str| -> Vec<u8> {
            for part in items.chunks(700) {
                idx.upsert(part).unwrap();
            }
            let p = dir.path().join(name);
            idx.save(&p).unwrap();
            std::fs::read(&p).unwrap()
        };
        let a = VectorIndex::new(dims).unwrap();
        a.set_serial(true);
        let b = VectorIndex::new(dims).unwrap();
        b.set_serial(true);
        let first = build(&a, "a.usearch");
        assert_eq!(first, build(&b, "b.usearch"), "two fresh indexes");
        // A cleared index fills as a fresh one does.
        a.clear().unwrap();
        assert_eq!(a.len(), 0);
        assert_eq!(first, build(&a, "a2.usearch"), "a cleared index");
        assert_eq!(a.search(&v(42, dims), 1).unwrap()[0].0, 42);
    }

    #[test]
    fn many_concurrent_searches_are_served() {
        let idx = VectorIndex::new(16).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=200).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&items).unwrap();
        serves_more_callers_than_slots(std::sync::Arc::new(idx));
    }

    #[test]
    fn a_view_answers_like_a_load_and_becomes_writable_on_the_first_change() {
        let dir = tempfile::tempdir().unwrap();
        let dims = 16;
        let idx = VectorIndex::new(dims).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=300).map(|k| (k, v(k, dims))).collect();
        idx.upsert(&items).unwrap();
        let p = dir.path().join("v.usearch");
        idx.save(&p).unwrap();
        let saved = std::fs::read(&p).unwrap();

        let loaded = VectorIndex::load(&p, dims).unwrap();
        let view = VectorIndex::open(&p, dims).unwrap();
        assert!(view.is_view() && !loaded.is_view());
        assert_eq!(view.len(), 300);
        for k in [1u64, 77, 300] {
            assert_eq!(
                view.search(&v(k, dims), 5).unwrap(),
                loaded.search(&v(k, dims), 5).unwrap()
            );
            assert!(view.contains(k));
        }
        assert_eq!(
            view.score_exact(&v(9, dims), &[3, 9, 27], 2).unwrap(),
            loaded.score_exact(&v(9, dims), &[3, 9, 27], 2).unwrap()
        );
        // Saving an unchanged view over its own file leaves the file as it was.
        view.save(&p).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), saved);
        // Removing keys it does not hold changes nothing and keeps the view.
        view.remove(&[10_000]).unwrap();
        assert!(view.is_view());
        // The first change loads it; old and new vectors are found, removed ones are not.
        view.upsert(&[(1000, v(1000, dims))]).unwrap();
        assert!(!view.is_view());
        view.remove(&[5]).unwrap();
        assert_eq!(view.len(), 300);
        assert_eq!(view.search(&v(1000, dims), 1).unwrap()[0].0, 1000);
        assert_eq!(view.search(&v(77, dims), 1).unwrap()[0].0, 77);
        assert!(!view.contains(5));
        // Its save now writes what it holds; a view of that file holds it too.
        view.save(&p).unwrap();
        let again = VectorIndex::open(&p, dims).unwrap();
        assert_eq!(again.len(), 300);
        assert!(again.contains(1000) && !again.contains(5));
        assert!(VectorIndex::open(&p, 32).is_err());
        // Cleared, a view is an empty writable index.
        again.clear().unwrap();
        assert!(!again.is_view() && again.is_empty());
        again.upsert(&[(1, v(1, dims))]).unwrap();
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn many_concurrent_searches_are_served_by_a_view() {
        let dir = tempfile::tempdir().unwrap();
        let idx = VectorIndex::new(16).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=200).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&items).unwrap();
        let p = dir.path().join("v.usearch");
        idx.save(&p).unwrap();
        let view = VectorIndex::open(&p, 16).unwrap();
        assert!(view.is_view());
        serves_more_callers_than_slots(std::sync::Arc::new(view));
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let idx = VectorIndex::new(16).unwrap();
        idx.upsert(&[(5, v(5, 16)), (6, v(6, 16))]).unwrap();
        let p = dir.path().join("v.usearch");
        idx.save(&p).unwrap();
        let back = VectorIndex::load(&p, 16).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.search(&v(6, 16), 1).unwrap()[0].0, 6);
        back.upsert(&[(7, v(7, 16))]).unwrap();
        assert!(VectorIndex::load(&p, 32).is_err());
    }

    /// usearch forgets a custom metric when it loads or views a file; every way to an index
    /// (new, loaded, viewed, viewed and then changed, cleared) computes its distances with the
    /// kernels of `dot_i8`, and they equal the exact inner product of the stored bytes.
    #[test]
    fn every_index_computes_its_distances_with_the_crates_own_kernel() {
        let dims = 64;
        let calls = || super::dot_i8::tests::CALLS.with(|c| c.get());
        let searched = |idx: &VectorIndex, what: &str| {
            let before = calls();
            let hits = idx.search(&v(3, dims), 3).unwrap();
            assert_eq!(hits[0].0, 3, "{what}");
            assert!(calls() > before, "{what}: usearch's own metric answered");
            let q = quantize(&v(3, dims));
            let mut raw = vec![0i8; dims];
            for (key, sim) in hits {
                idx.inner.read().get(key, raw.as_mut_slice()).unwrap();
                let ip: i32 = q.iter().zip(&raw).map(|(a, b)| *a as i32 * *b as i32).sum();
                assert_eq!(sim, similarity(1.0 - ip as f32), "{what}: key {key}");
            }
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.usearch");
        let idx = VectorIndex::new(dims).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=50u64).map(|k| (k, v(k, dims))).collect();
        idx.upsert(&items).unwrap();
        searched(&idx, "new");
        idx.save(&p).unwrap();
        searched(&VectorIndex::load(&p, dims).unwrap(), "loaded");
        let view = VectorIndex::open(&p, dims).unwrap();
        searched(&view, "viewed");
        view.upsert(&[(51, v(51, dims))]).unwrap();
        assert!(!view.is_view());
        searched(&view, "viewed, then changed");
        view.clear().unwrap();
        view.upsert(&items).unwrap();
        searched(&view, "cleared");
    }

    #[test]
    fn quantizing_rounds_each_component_to_half_a_step_and_keeps_zero() {
        let x = v(42, 256);
        let q = quantize(&x);
        let mut back = vec![0.0; 256];
        widen(&q, &mut back);
        for (a, b) in x.iter().zip(&back) {
            assert!((a - b).abs() <= 0.5 / 127.0 + 1e-6, "{a} widened to {b}");
        }
        // The scale is the vector's norm: a longer vector stores the same bytes.
        let long: Vec<f32> = x.iter().map(|a| a * 3.0).collect();
        assert_eq!(quantize(&long), q);
        assert_eq!(quantize(&[0.0; 8]), vec![0; 8]);
        assert_eq!(quantize(&[0.6, -0.8]), vec![76, -102]);
    }

    #[test]
    fn an_index_saved_with_half_floats_is_refused_so_that_it_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.usearch");
        let old = Index::new(&IndexOptions {
            quantization: ScalarKind::F16,
            ..options(16)
        })
        .unwrap();
        old.reserve(8).unwrap();
        old.add(1, &v(1, 16)).unwrap();
        old.save(&p.to_string_lossy()).unwrap();
        for r in [VectorIndex::load(&p, 16), VectorIndex::open(&p, 16)] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("scalar kind"), "{e}");
        }
    }

    #[test]
    fn inserts_after_a_compaction_land_and_are_found() {
        let idx = VectorIndex::new(16).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (1..=3000).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&items).unwrap();
        let gone: Vec<u64> = (1..=2500).collect();
        idx.remove(&gone).unwrap();
        idx.compact().unwrap();
        assert_eq!(idx.len(), 500);
        // More than the compacted node array holds, fewer than the capacity before the
        // compaction: the inserts that would run past the array.
        let cap = idx.inner.read().capacity();
        let n = (cap - 600) as u64;
        let more: Vec<(u64, Vec<f32>)> = (10_001..10_001 + n).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&more).unwrap();
        assert_eq!(idx.len(), 500 + n as usize);
        for k in [2501u64, 2999, 10_001, 10_000 + n / 2, 10_000 + n] {
            assert_eq!(idx.search(&v(k, 16), 1).unwrap()[0].0, k, "key {k}");
        }
    }
}
