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
//! - **Segments of bounded size**: new vectors go into the newest of a list of HNSW graphs, and
//!   a graph that holds [`SEGMENT_VECTORS`] is sealed (it still loses vectors to removals and
//!   replacements, but takes no new ones) and a new one started. An insert costs more the larger
//!   its graph (longer neighbour lists to prune, more cache misses): in one graph, the news
//!   load's vector inserts took 2.4 times as long per MB over its last tenth as over its first.
//!   A search asks every segment and merges their hits by score; a key lives in one segment.
//!   An index of one segment answers exactly as the single graph of earlier versions did.
//! - **Saved per segment, listed last**: each segment is its own file, written only when it
//!   changed since its last save; the list of a saved index's files (`<name>.segments`) is
//!   replaced by a rename after them, so a crash leaves the previous list and every file it
//!   names. Files of the index that no list names are deleted after the list is written.
//!   The single file of earlier versions (`<name>.usearch`) opens as one segment.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex, RwLock, RwLockWriteGuard};
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

/// The segment file `file` loaded into memory (`view` false) or memory-mapped read-only, its
/// dimensions and kind checked, then [`dot_i8`]'s metric installed.
fn read_segment(file: &Path, dims: usize, view: bool) -> Result<Index> {
    let mut index = bare_index(dims)?;
    let name = file.to_string_lossy();
    if view {
        index.view(&name).map_err(err)?;
    } else {
        index.load(&name).map_err(err)?;
    }
    check_dims(&index, file, dims)?;
    check_kind(&index, file)?;
    // After the checks: the metric reads `dims` bytes per vector.
    dot_i8::install(&mut index, dims);
    if !view {
        reserve_for_growth(&index)?;
    }
    Ok(index)
}

/// Where the sketches of the vectors saved at `path` are saved.
fn sketch_path(path: &Path) -> PathBuf {
    path.with_extension("sketch")
}

/// Where the list of the segment files of the index saved at `path` is saved.
fn list_path(path: &Path) -> PathBuf {
    path.with_extension("segments")
}

/// The list of a saved index's segment files, by name in its folder, oldest segment first.
#[derive(serde::Serialize, serde::Deserialize)]
struct SegmentList {
    segments: Vec<String>,
}

/// Whether `name` is a segment file of the index named `stem`: `<stem>.s<n>.usearch`, or the
/// single file of earlier versions, `<stem>.usearch`. The number of a numbered one.
fn segment_number(name: &str, stem: &str) -> Option<u64> {
    let rest = name.strip_prefix(stem)?.strip_suffix(".usearch")?;
    if rest.is_empty() {
        return Some(0);
    }
    let n = rest.strip_prefix(".s")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The folder and the name stem of an index saved at `path` (`…/facts.usearch`: `…`, `facts`).
fn folder_and_stem(path: &Path) -> Result<(PathBuf, String)> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| err(format!("{}: not a name for an index", path.display())))?;
    Ok((dir, stem.to_string()))
}

/// The segment files of the index saved at `path`: the ones its list names, or the single file
/// of earlier versions; `None` when neither is there. A single file written after the list and
/// not named in it was saved by an earlier version that opened this folder after this one (it
/// rebuilds what it cannot read, and knows no list): that file is the newer index.
fn saved_files(path: &Path) -> Result<Option<Vec<PathBuf>>> {
    let (dir, stem) = folder_and_stem(path)?;
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(single), Some(list)) = (modified(path), modified(&list_path(path)))
        && single > list
    {
        return Ok(Some(vec![path.to_path_buf()]));
    }
    match std::fs::read(list_path(path)) {
        Ok(bytes) => {
            let list: SegmentList = serde_json::from_slice(&bytes)
                .map_err(|e| err(format!("{}: {e}", list_path(path).display())))?;
            if let Some(bad) = list
                .segments
                .iter()
                .find(|n| segment_number(n, &stem).is_none())
            {
                return Err(err(format!(
                    "{} names {bad:?}, not a segment of {stem}",
                    list_path(path).display()
                )));
            }
            Ok(Some(list.segments.iter().map(|n| dir.join(n)).collect()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(path.is_file().then(|| vec![path.to_path_buf()]))
        }
        Err(e) => Err(e.into()),
    }
}

/// Most concurrent searches (thread slots reserved in usearch).
pub const SEARCH_SLOTS: usize = 32;

/// Vectors a segment takes before it is sealed and a new one started (see the module docs).
/// Measured on the hash embedder's vectors of 193,547 news sentences, inserted in batches of
/// 800 on two cores: in one graph each tenth took longer than the one before, 0.25 s for the
/// first and 0.60 s for the last; in segments of 65,536 every tenth took 0.22–0.30 s, in
/// segments of 131,072 0.22–0.48 s. A search asks every segment, so smaller segments cost the
/// queries: on the news store (330k fact vectors), in process, query p50 3.0 ms with one graph,
/// 4.4–5.2 ms with segments of 65,536 (five), 3.6 ms with segments of 131,072 (three); the
/// load's last tenth ran at 83–107% and 99% of its first tenth's rate against 65–68%.
pub const SEGMENT_VECTORS: usize = 131_072;

/// Filter calls after which a filtered search of an index of several segments gives up a
/// segment whose keys pass the filter at a rate under 1 in [`WALK_RATE`] (see
/// [`VectorIndex::filtered_search`]).
const WALK_MIN: usize = 1024;
/// See [`WALK_MIN`].
const WALK_RATE: usize = 64;

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

/// One HNSW graph of the index.
struct Segment {
    index: Index,
    /// The file `index` is a read-only memory-mapped view of; before its first change the
    /// segment is loaded into memory from it ([`Segment::make_writable`]).
    viewed: Option<PathBuf>,
    /// Changes completed so far: bumped after each insert batch or removal has finished.
    version: AtomicU64,
    /// The file holding this segment as of a version, once it was saved or opened.
    saved: Mutex<Option<(PathBuf, u64)>>,
    /// Held shared by the inserts into `index` (which run in parallel) and exclusively by a
    /// save of it: usearch writes a graph out by walking its nodes, and a node an insert has
    /// reserved but not yet made is a null pointer there (a save beside inserts crashed the
    /// process).
    adding: RwLock<()>,
}

impl Segment {
    fn new(index: Index) -> Self {
        Segment {
            index,
            viewed: None,
            version: AtomicU64::new(0),
            saved: Mutex::new(None),
            adding: RwLock::new(()),
        }
    }

    fn changed(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The file that holds this segment as it is now, if there is one.
    fn clean_file(&self) -> Option<PathBuf> {
        let saved = self.saved.lock();
        let (file, version) = saved.as_ref()?;
        (*version == self.version.load(Ordering::SeqCst)).then(|| file.clone())
    }

    /// Replaces a memory-mapped view by the same graph loaded into memory, so it can change.
    fn make_writable(&mut self, dims: usize) -> Result<()> {
        let Some(path) = self.viewed.take() else {
            return Ok(());
        };
        let t = std::time::Instant::now();
        match read_segment(&path, dims, false) {
            Ok(index) => self.index = index,
            Err(e) => {
                self.viewed = Some(path);
                return Err(e);
            }
        }
        tracing::debug!(path = %path.display(), ms = t.elapsed().as_millis() as u64, "vector segment loaded for a change");
        Ok(())
    }
}

/// A usearch index of unit vectors keyed by u64, inner-product metric, in segments.
pub struct VectorIndex {
    /// Never empty; the last one takes new vectors.
    segs: RwLock<Vec<Segment>>,
    dims: usize,
    gate: Gate,
    /// Sign sketches of the stored vectors (see [`Sketches`]); never locked while `segs` is
    /// locked for writing by the same caller in the other order.
    sketches: RwLock<Sketches>,
    /// Insert one vector after another instead of from several threads (see
    /// [`VectorIndex::set_serial`]).
    serial: AtomicBool,
    /// Vectors a segment takes before a new one is started ([`SEGMENT_VECTORS`]).
    segment_vectors: usize,
    /// The number the next segment file written is tried with.
    next_file: AtomicU64,
    /// Held through a save: one save's clean-up must not delete the files another is writing
    /// before its list names them.
    saving: Mutex<()>,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dims", &self.dims)
            .field("len", &self.len())
            .field("segments", &self.segments())
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

/// Hits of several segments as one list, best first (ties: the smaller key), at most `k`. The
/// hits of a single segment are returned in usearch's order.
fn merge(mut parts: Vec<Vec<(u64, f32)>>, k: usize) -> Vec<(u64, f32)> {
    parts.retain(|p| !p.is_empty());
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut all: Vec<(u64, f32)> = parts.into_iter().flatten().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.dedup_by_key(|h| h.0);
    all.truncate(k);
    all
}

/// The stored bytes of `key` into `raw`, from whichever segment holds it; whether one does.
fn get_raw(segs: &[Segment], key: u64, raw: &mut [i8]) -> Result<bool> {
    for seg in segs.iter().rev() {
        // `get` finds nothing (0) for a missing key: no separate `contains` lookup.
        if seg.index.get(key, raw).map_err(err)? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

impl VectorIndex {
    /// An empty index of `dims` dimensions.
    pub fn new(dims: usize) -> Result<Self> {
        Ok(Self::with(vec![Segment::new(fresh_index(dims)?)], dims))
    }

    fn with(segs: Vec<Segment>, dims: usize) -> Self {
        VectorIndex {
            segs: RwLock::new(segs),
            dims,
            gate: Gate {
                free: Mutex::new(SEARCH_SLOTS),
                cv: Condvar::new(),
            },
            sketches: RwLock::new(Sketches::new(dims)),
            serial: AtomicBool::new(false),
            segment_vectors: SEGMENT_VECTORS,
            next_file: AtomicU64::new(1),
            saving: Mutex::new(()),
        }
    }

    /// Whether [`VectorIndex::upsert`] inserts one vector after another. An HNSW graph depends
    /// on the order of its inserts, and inserts from several threads interleave differently on
    /// every run; one after another, the same vectors upserted in the same order into a fresh
    /// or cleared index give the same graph, so the same searches return the same hits. Slower:
    /// `chronorag reindex` of the news store took 48–55 s instead of 34 s (two cores, back to
    /// back), and two such rebuilds gave the same context for all 780 news questions.
    pub fn set_serial(&self, on: bool) {
        self.serial.store(on, Ordering::Relaxed);
    }

    /// Whether an index was saved at `path` ([`VectorIndex::save`], or an earlier version's
    /// single file).
    pub fn exists(path: &Path) -> bool {
        list_path(path).is_file() || path.is_file()
    }

    /// Opens an index saved with [`VectorIndex::save`] as read-only memory-mapped views: only
    /// the pages a search touches are read, so a large index answers in a fraction of the time
    /// a full load takes and costs page cache rather than process memory. A segment's first
    /// change loads that segment into memory; the files must not be modified in place meanwhile
    /// ([`VectorIndex::save`] writes new files and deletes old ones, which keeps the views).
    pub fn open(path: &Path, dims: usize) -> Result<Self> {
        Self::from_files(path, dims, true)
    }

    /// Loads an index saved with [`VectorIndex::save`]; fails when its dimensions differ.
    pub fn load(path: &Path, dims: usize) -> Result<Self> {
        Self::from_files(path, dims, false)
    }

    fn from_files(path: &Path, dims: usize, view: bool) -> Result<Self> {
        let files = saved_files(path)?
            .ok_or_else(|| err(format!("no index is saved at {}", path.display())))?;
        let (_, stem) = folder_and_stem(path)?;
        let mut segs = Vec::with_capacity(files.len().max(1));
        let mut next = 1;
        for file in files {
            let index = read_segment(&file, dims, view)?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            next = next.max(segment_number(name, &stem).unwrap_or(0) + 1);
            let mut seg = Segment::new(index);
            *seg.saved.get_mut() = Some((file.clone(), 0));
            seg.viewed = view.then_some(file);
            segs.push(seg);
        }
        if segs.is_empty() {
            segs.push(Segment::new(fresh_index(dims)?));
        }
        let me = Self::with(segs, dims);
        me.next_file.store(next, Ordering::Relaxed);
        me.load_sketches(path);
        Ok(me)
    }

    /// Whether every segment is still a read-only view of its file.
    pub fn is_view(&self) -> bool {
        self.segs.read().iter().all(|s| s.viewed.is_some())
    }

    /// Number of segments (HNSW graphs).
    pub fn segments(&self) -> usize {
        self.segs.read().len()
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

    /// A file name for a new segment file in `dir` that no file has.
    fn fresh_name(&self, dir: &Path, stem: &str) -> String {
        loop {
            let n = self.next_file.fetch_add(1, Ordering::Relaxed);
            let name = format!("{stem}.s{n}.usearch");
            if !dir.join(&name).exists() {
                return name;
            }
        }
    }

    /// Saves to `path`: each segment changed since it was last saved to a new file (temporary
    /// file, then rename), then the list of segment files by a rename, then the sketches beside
    /// them; files of the index the list does not name are deleted after. The sketches are
    /// taken after the vectors, so they are never older than them.
    pub fn save(&self, path: &Path) -> Result<()> {
        let _one_at_a_time = self.saving.lock();
        let (dir, stem) = folder_and_stem(path)?;
        let mut names = Vec::new();
        {
            let segs = self.segs.read();
            for seg in segs.iter() {
                let here = seg.clean_file().filter(|f| {
                    f.parent() == Some(dir.as_path())
                        && f.file_name()
                            .and_then(|n| n.to_str())
                            .and_then(|n| segment_number(n, &stem))
                            .is_some()
                        && f.is_file()
                });
                if let Some(file) = here {
                    names.push(file.file_name().unwrap().to_string_lossy().into_owned());
                    continue;
                }
                // The version before the write: a change finishing during it leaves the
                // segment changed for the next save.
                let version = seg.version.load(Ordering::SeqCst);
                let name = self.fresh_name(&dir, &stem);
                let tmp = dir.join(format!("{name}.tmp"));
                {
                    let _no_inserts = seg.adding.write();
                    seg.index.save(&tmp.to_string_lossy()).map_err(err)?;
                }
                std::fs::rename(&tmp, dir.join(&name))?;
                *seg.saved.lock() = Some((dir.join(&name), version));
                names.push(name);
            }
        }
        let list = list_path(path);
        let tmp = list.with_extension("segments-tmp");
        let bytes = serde_json::to_vec(&SegmentList {
            segments: names.clone(),
        })
        .map_err(err)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &list)?;
        self.view_sealed()?;
        for entry in std::fs::read_dir(&dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if segment_number(name, &stem).is_some() && !names.iter().any(|n| n == name) {
                let _ = std::fs::remove_file(dir.join(name));
            }
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

    /// Replaces each sealed segment held in memory and saved unchanged by a read-only view of
    /// its file, so that a long load keeps only the newest segment in process memory: a
    /// sealed segment takes no new vectors, and is loaded again only if one of its vectors is
    /// removed or replaced. Called after the list naming the files is written.
    fn view_sealed(&self) -> Result<()> {
        let sealed: Vec<(usize, PathBuf)> = {
            let segs = self.segs.read();
            let last = segs.len() - 1;
            segs.iter()
                .enumerate()
                .filter(|(i, s)| *i < last && s.viewed.is_none())
                .filter_map(|(i, s)| s.clean_file().map(|f| (i, f)))
                .collect()
        };
        for (i, file) in sealed {
            let view = read_segment(&file, self.dims, true)?;
            let mut segs = self.segs.write();
            // Unchanged since the look above (a change in between keeps it in memory).
            if let Some(seg) = segs.get_mut(i)
                && seg.viewed.is_none()
                && seg.clean_file().as_ref() == Some(&file)
            {
                seg.index = view;
                seg.viewed = Some(file);
            }
        }
        Ok(())
    }

    /// Dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.segs.read().iter().map(|s| s.index.size()).sum()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory used.
    pub fn memory_usage(&self) -> usize {
        let segs: usize = self
            .segs
            .read()
            .iter()
            .map(|s| s.index.memory_usage())
            .sum();
        segs + self.sketches.read().memory_usage()
    }

    /// Removes `keys` from every segment that holds one of them (loading a viewed one first).
    fn remove_locked(segs: &mut [Segment], keys: &[u64], dims: usize) -> Result<()> {
        for seg in segs.iter_mut() {
            let held: Vec<u64> = keys
                .iter()
                .copied()
                .filter(|k| seg.index.contains(*k))
                .collect();
            if held.is_empty() {
                continue;
            }
            seg.make_writable(dims)?;
            let r = held
                .iter()
                .try_for_each(|k| seg.index.remove(*k).map(|_| ()).map_err(err));
            seg.changed();
            r?;
        }
        Ok(())
    }

    /// Inserts or replaces vectors. Under the exclusive lock a full newest segment is sealed,
    /// capacity is reserved in the newest and old entries are removed from whichever segment
    /// holds them; the graph insertions into the newest then run in parallel (usearch serves
    /// concurrent writers within its reserved thread slots), under a shared lock downgraded
    /// from the exclusive one, so no other change comes between.
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
        let mut segs = self.segs.write();
        if segs
            .last()
            .is_some_and(|s| s.index.size() >= self.segment_vectors)
        {
            segs.push(Segment::new(fresh_index(self.dims)?));
        }
        let last = segs.len() - 1;
        segs[last].make_writable(self.dims)?;
        {
            let index = &segs[last].index;
            let need = index.size() + items.len();
            if need > index.capacity() {
                let cap = (index.capacity() * 2).max(need + 1024);
                index
                    .reserve_capacity_and_threads(cap, SEARCH_SLOTS)
                    .map_err(err)?;
            }
        }
        let keys: Vec<u64> = items.iter().map(|(k, _)| *k).collect();
        Self::remove_locked(&mut segs, &keys, self.dims)?;
        let stored: Vec<(u64, Vec<i8>)> = items.iter().map(|(k, v)| (*k, quantize(v))).collect();
        {
            let mut sk = self.sketches.write();
            let mut buf = vec![0.0f32; self.dims];
            for (key, q) in &stored {
                widen(q, &mut buf);
                sk.set(*key, Some(&buf));
            }
        }
        let segs = RwLockWriteGuard::downgrade(segs);
        let seg = &segs[last];
        let index = &seg.index;
        let keep: Vec<&(u64, Vec<i8>)> = stored
            .iter()
            .filter(|(_, q)| q.iter().any(|x| *x != 0)) // nothing to find a zero vector by
            .collect();
        let _adding = seg.adding.read();
        // The gate bounds concurrent users of the thread slots.
        let r = if keep.len() < 64 || self.serial.load(Ordering::Relaxed) {
            let _slot = self.gate.enter();
            keep.iter()
                .try_for_each(|(key, q)| index.add(*key, q.as_slice()).map_err(err))
        } else {
            keep.par_chunks(32).try_for_each(|part| -> Result<()> {
                let _slot = self.gate.enter();
                for (key, q) in part {
                    index.add(*key, q.as_slice()).map_err(err)?;
                }
                Ok(())
            })
        };
        seg.changed();
        r
    }

    /// Removes vectors (missing keys are ignored).
    pub fn remove(&self, keys: &[u64]) -> Result<()> {
        if keys.iter().any(|k| self.contains(*k)) {
            Self::remove_locked(&mut self.segs.write(), keys, self.dims)?;
        }
        // Also the sketch of a zero vector, which no graph holds.
        let mut sk = self.sketches.write();
        for k in keys {
            sk.set(*k, None);
        }
        Ok(())
    }

    /// Whether a key is present.
    pub fn contains(&self, key: u64) -> bool {
        self.segs.read().iter().any(|s| s.index.contains(key))
    }

    /// Approximate nearest neighbours: `(key, cosine similarity)`, best first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>> {
        if k == 0 || query.iter().all(|x| *x == 0.0) {
            return Ok(Vec::new());
        }
        let q = quantize(query);
        let _slot = self.gate.enter();
        let segs = self.segs.read();
        let mut parts = Vec::with_capacity(segs.len());
        for seg in segs.iter().filter(|s| s.index.size() > 0) {
            let m = seg.index.search(q.as_slice(), k).map_err(err)?;
            parts.push(
                m.keys
                    .into_iter()
                    .zip(m.distances)
                    .map(|(k, d)| (k, similarity(d)))
                    .collect(),
            );
        }
        Ok(merge(parts, k))
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
        let q = quantize(query);
        let _slot = self.gate.enter();
        let segs = self.segs.read();
        let searched: Vec<&Segment> = segs.iter().filter(|s| s.index.size() > 0).collect();
        // One graph: the caller's routing keeps the filter's pass rate up (see `vector_seeds`
        // in `query::retrieve`). Several: a filter that passes a fair share of the index may
        // pass almost none of one segment's keys (a period's facts sit in the segments filled
        // while it was loaded), and usearch would then walk that whole graph; so a segment's
        // walk is given up once it has called the filter [`WALK_MIN`] times and fewer than one
        // call in [`WALK_RATE`] passed.
        let bounded_walks = searched.len() > 1;
        let mut parts = Vec::with_capacity(searched.len());
        for seg in searched {
            let calls = std::cell::Cell::new(0usize);
            let passed = std::cell::Cell::new(0usize);
            let gave_up = std::cell::Cell::new(false);
            // Once given up every key passes, which fills the results and ends the walk; the
            // keys that do not pass the filter are dropped from them below.
            let bounded = |key: u64| -> bool {
                if gave_up.get() {
                    return true;
                }
                let n = calls.get() + 1;
                calls.set(n);
                if bounded_walks && n >= WALK_MIN && passed.get() * WALK_RATE < n {
                    gave_up.set(true);
                    return true;
                }
                let ok = guarded(key);
                passed.set(passed.get() + usize::from(ok));
                ok
            };
            let m = seg
                .index
                .filtered_search(q.as_slice(), k, bounded)
                .map_err(err)?;
            let spent = gave_up.get();
            let hits: Vec<(u64, f32)> = m
                .keys
                .into_iter()
                .zip(m.distances)
                .filter(|(key, _)| !spent || guarded(*key))
                .map(|(k, d)| (k, similarity(d)))
                .collect();
            if panicked.load(Ordering::Relaxed) {
                return Err(err("the search filter panicked; the search was abandoned"));
            }
            parts.push(hits);
        }
        Ok(merge(parts, k))
    }

    /// Exact cosine similarity of `query` with each of `keys` (missing keys are skipped), best
    /// first, at most `k`.
    pub fn score_exact(&self, query: &[f32], keys: &[u64], k: usize) -> Result<Vec<(u64, f32)>> {
        let segs = self.segs.read();
        let mut raw = vec![0i8; self.dims];
        let mut buf = vec![0.0f32; self.dims];
        let mut out = Vec::with_capacity(keys.len());
        for &key in keys {
            if !get_raw(&segs, key, &mut raw)? {
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
        // In slices, so that searches are not held up for long. Lock order: the segments, then
        // the sketches (nothing takes them the other way).
        if let Some(max) = missing
            .iter()
            .copied()
            .filter(|k| *k < super::sketch::MAX_KEY)
            .max()
        {
            self.sketches.write().reserve(max);
        }
        for part in missing.chunks(4096) {
            let segs = self.segs.read();
            let mut sk = self.sketches.write();
            for &key in part {
                // An insert since the first look has recorded the newer vector: keep it.
                if sk.is_known(key) {
                    continue;
                }
                if !get_raw(&segs, key, &mut raw)? {
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

    /// Rebuilds each segment's graph without its removed entries, dropping their vectors (a
    /// viewed segment is loaded first); segments left empty go, but for the newest.
    pub fn compact(&self) -> Result<()> {
        let mut segs = self.segs.write();
        for seg in segs.iter_mut() {
            seg.make_writable(self.dims)?;
            let index = &seg.index;
            if index.size() > 0 {
                index.compact().map_err(err)?;
                // usearch 2.26's compaction leaves a node array of exactly `size()` entries but
                // keeps the old capacity as the insert limit, so later inserts up to that
                // capacity would write past the array. A reservation above the recorded capacity
                // reallocates the array at that size (copying the live nodes) and resets the
                // limit.
                let cap = index.capacity().max(index.size() * 2).max(1024) + 1;
                index
                    .reserve_capacity_and_threads(cap, SEARCH_SLOTS)
                    .map_err(err)?;
            }
            seg.changed();
        }
        let last = segs.len() - 1;
        let mut i = 0;
        segs.retain(|s| {
            i += 1;
            i - 1 == last || s.index.size() > 0
        });
        Ok(())
    }

    /// Removes everything.
    pub fn clear(&self) -> Result<()> {
        let mut segs = self.segs.write();
        self.sketches.write().clear();
        // A new index rather than a reset one: its level generator starts over too, so a
        // cleared index fills exactly as a fresh one does (see `set_serial`).
        *segs = vec![Segment::new(fresh_index(self.dims)?)];
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::l2_normalize;
    use std::collections::BTreeSet;

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

    /// The bytes of every segment file of the index saved at `p`, oldest first.
    fn saved_bytes(p: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        for f in saved_files(p).unwrap().unwrap() {
            out.extend(std::fs::read(f).unwrap());
        }
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

    /// An index of the 16-dimensional vectors 1..=`n` whose segments take `per_segment` each,
    /// filled in batches of `batch`. Serial inserts, so its graphs, and what the tests below
    /// find in them, are the same on every run.
    fn segmented_by(n: u64, per_segment: usize, batch: usize) -> VectorIndex {
        let mut idx = VectorIndex::new(16).unwrap();
        idx.set_serial(true);
        idx.segment_vectors = per_segment;
        let items: Vec<(u64, Vec<f32>)> = (1..=n).map(|k| (k, v(k, 16))).collect();
        for part in items.chunks(batch) {
            idx.upsert(part).unwrap();
        }
        idx
    }

    /// Vectors 1..=1,600 in four segments, of 500, 500, 500 and 100.
    fn segmented() -> VectorIndex {
        segmented_by(1600, 500, 100)
    }

    fn sizes(idx: &VectorIndex) -> Vec<usize> {
        idx.segs.read().iter().map(|s| s.index.size()).collect()
    }

    #[test]
    fn segments_take_a_bounded_number_of_vectors_and_are_searched_together() {
        let idx = segmented();
        assert_eq!(sizes(&idx), [500, 500, 500, 100]);
        assert_eq!(idx.len(), 1600);
        let keys: Vec<u64> = (1..=1600).collect();
        for probe in [1u64, 499, 501, 1200, 1600] {
            let q = v(probe, 16);
            let hits = idx.search(&q, 10).unwrap();
            assert_eq!(hits.len(), 10);
            assert_eq!(hits[0].0, probe);
            assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
            let segments: BTreeSet<u64> = hits.iter().map(|(k, _)| (k - 1) / 500).collect();
            assert!(segments.len() >= 2, "hits of one segment only: {hits:?}");
            // The merged hits are the exact top 10 (a rare miss of HNSW allowed).
            let exact: BTreeSet<u64> = idx
                .score_exact(&q, &keys, 10)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            let shared = hits.iter().filter(|(k, _)| exact.contains(k)).count();
            assert!(shared >= 9, "{shared} of the exact top 10");
            let odd = idx.filtered_search(&q, 10, &|k| k % 2 == 1).unwrap();
            assert_eq!(odd.len(), 10);
            assert!(odd.iter().all(|(k, _)| k % 2 == 1));
            assert!(odd.windows(2).all(|w| w[0].1 >= w[1].1));
        }
        // A vector replaced in a sealed segment moves to the newest; one removed there is gone.
        idx.upsert(&[(3, v(99_999, 16))]).unwrap();
        assert_eq!(sizes(&idx), [499, 500, 500, 101]);
        assert_eq!(idx.search(&v(99_999, 16), 1).unwrap()[0].0, 3);
        idx.remove(&[700]).unwrap();
        assert!(!idx.contains(700) && idx.contains(701));
        assert_eq!(idx.len(), 1599);
        assert!(
            idx.search(&v(700, 16), 5)
                .unwrap()
                .iter()
                .all(|(k, _)| *k != 700)
        );
        // A full newest segment is sealed at the next insert.
        let more: Vec<(u64, Vec<f32>)> = (2001..=2400).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&more).unwrap();
        idx.upsert(&[(3000, v(3000, 16))]).unwrap();
        assert_eq!(sizes(&idx), [499, 499, 500, 501, 1]);
        // Compaction keeps every segment that holds vectors, and the newest.
        idx.remove(&(501..=1000).collect::<Vec<u64>>()).unwrap();
        idx.remove(&[3000]).unwrap();
        idx.compact().unwrap();
        assert_eq!(sizes(&idx), [499, 500, 501, 0]);
        assert_eq!(idx.search(&v(2222, 16), 1).unwrap()[0].0, 2222);
    }

    /// A filter that passes a fair share of the index but almost none of one segment's keys (a
    /// period loaded long ago) does not walk that segment's graph whole.
    #[test]
    fn a_filtered_walk_gives_up_a_segment_where_almost_nothing_passes() {
        use std::sync::atomic::AtomicUsize;
        let idx = segmented_by(8000, 4000, 1000);
        assert_eq!(sizes(&idx), [4000, 4000]);
        // All of the first segment passes, and three keys of the second.
        let calls = AtomicUsize::new(0);
        let keep = |k: u64| {
            calls.fetch_add(1, Ordering::Relaxed);
            k <= 4000 || [5000, 6000, 7000].contains(&k)
        };
        let hits = idx.filtered_search(&v(6000, 16), 20, &keep).unwrap();
        assert_eq!(hits.len(), 20);
        assert!(
            hits.iter()
                .all(|(k, _)| *k <= 4000 || [5000, 6000, 7000].contains(k))
        );
        // The second segment's walk stopped after WALK_MIN calls (and the results' checks),
        // where a whole walk calls the filter for each of its 4,000 keys.
        let spent = calls.load(Ordering::Relaxed);
        assert!(spent < 3000, "{spent} filter calls");
        // One segment alone is walked as usearch walks it.
        let items: Vec<(u64, Vec<f32>)> = (4001..=8000).map(|k| (k, v(k, 16))).collect();
        let one = VectorIndex::new(16).unwrap();
        one.set_serial(true);
        one.upsert(&items).unwrap();
        calls.store(0, Ordering::Relaxed);
        let hits = one.filtered_search(&v(6000, 16), 20, &keep).unwrap();
        assert_eq!(hits.len(), 3);
        assert!(calls.load(Ordering::Relaxed) >= 3000);
    }

    #[test]
    fn a_save_writes_the_segments_that_changed_and_a_view_loads_the_ones_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.usearch");
        let list = |p: &Path| -> Vec<String> {
            serde_json::from_slice::<SegmentList>(&std::fs::read(list_path(p)).unwrap())
                .unwrap()
                .segments
        };
        let viewed = |i: &VectorIndex| -> Vec<bool> {
            i.segs.read().iter().map(|s| s.viewed.is_some()).collect()
        };
        let idx = segmented();
        let probes = [2u64, 600, 777, 1555];
        let before: Vec<_> = probes
            .iter()
            .map(|k| idx.search(&v(*k, 16), 10).unwrap())
            .collect();
        idx.save(&p).unwrap();
        let first = list(&p);
        assert_eq!(first.len(), 4);
        // Saved, the sealed segments are views of their files and answer as before.
        assert_eq!(viewed(&idx), [true, true, true, false]);
        for (k, hits) in probes.iter().zip(&before) {
            assert_eq!(&idx.search(&v(*k, 16), 10).unwrap(), hits);
        }
        // Left by a crash between a segment's write and the list's; another index's file.
        std::fs::write(dir.path().join("v.s999.usearch"), "orphan").unwrap();
        std::fs::write(dir.path().join("w.s1.usearch"), "other").unwrap();
        idx.save(&p).unwrap();
        assert_eq!(list(&p), first, "nothing changed, nothing written");
        assert!(!dir.path().join("v.s999.usearch").exists());
        assert!(dir.path().join("w.s1.usearch").exists());
        // A change in the second segment: that one alone is written again, its old file goes.
        idx.remove(&[600]).unwrap();
        assert_eq!(viewed(&idx), [true, false, true, false]);
        idx.save(&p).unwrap();
        assert_eq!(viewed(&idx), [true, true, true, false]);
        let second = list(&p);
        assert_eq!(
            (second[0].as_str(), &second[2..]),
            (first[0].as_str(), &first[2..])
        );
        assert_ne!(second[1], first[1]);
        assert!(!dir.path().join(&first[1]).exists());

        // Opened as views, it answers as the built one does.
        let view = VectorIndex::open(&p, 16).unwrap();
        assert!(view.is_view());
        assert_eq!((view.len(), view.segments()), (1599, 4));
        for probe in probes {
            assert_eq!(
                view.search(&v(probe, 16), 10).unwrap(),
                idx.search(&v(probe, 16), 10).unwrap()
            );
        }
        // A change loads the segments it touches, and no other.
        view.upsert(&[(5000, v(5000, 16))]).unwrap();
        assert_eq!(viewed(&view), [true, true, true, false]);
        view.remove(&[5]).unwrap();
        assert_eq!(viewed(&view), [false, true, true, false]);
        view.save(&p).unwrap();
        let third = list(&p);
        assert_eq!(&third[1..3], &second[1..3]);
        let again = VectorIndex::load(&p, 16).unwrap();
        assert!(again.contains(5000) && !again.contains(5) && !again.contains(600));
        assert_eq!(again.len(), 1599);

        // A damaged list is an error (the caller rebuilds the index from the store).
        std::fs::write(list_path(&p), "{\"segments\": [\"../x\"]}").unwrap();
        assert!(VectorIndex::open(&p, 16).is_err());
        std::fs::write(list_path(&p), "{").unwrap();
        assert!(VectorIndex::load(&p, 16).is_err());
    }

    /// Saves running at once, beside inserts, leave a list whose every file is there and
    /// holds what was inserted before the last save began.
    #[test]
    fn concurrent_saves_leave_a_complete_list() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.usearch");
        let mut idx = VectorIndex::new(16).unwrap();
        idx.segment_vectors = 300;
        let idx = std::sync::Arc::new(idx);
        std::thread::scope(|s| {
            s.spawn(|| {
                for part in (1..=3000u64).collect::<Vec<_>>().chunks(100) {
                    let items: Vec<(u64, Vec<f32>)> =
                        part.iter().map(|k| (*k, v(*k, 16))).collect();
                    idx.upsert(&items).unwrap();
                }
            });
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..15 {
                        idx.save(&p).unwrap();
                    }
                });
            }
        });
        idx.save(&p).unwrap();
        let back = VectorIndex::load(&p, 16).unwrap();
        assert_eq!((back.len(), back.segments()), (3000, 10));
        // Every vector is stored whole, and the graphs find them (HNSW is approximate, and
        // graphs built by parallel inserts differ: a rare miss of the exact top hit allowed).
        let mut found = 0;
        for k in (1..=3000u64).step_by(30) {
            let exact = back.score_exact(&v(k, 16), &[k], 1).unwrap();
            assert!(exact[0].1 > 0.99, "key {k}: {exact:?}");
            found += usize::from(back.search(&v(k, 16), 1).unwrap()[0].0 == k);
        }
        assert!(found >= 95, "{found} of 100 found first");
    }

    #[test]
    fn an_earlier_versions_single_file_opens_as_one_segment() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.usearch");
        let idx = VectorIndex::new(16).unwrap();
        idx.upsert(&(1..=50).map(|k| (k, v(k, 16))).collect::<Vec<_>>())
            .unwrap();
        idx.segs.read()[0].index.save(&p.to_string_lossy()).unwrap();
        assert!(VectorIndex::exists(&p));
        let old = VectorIndex::open(&p, 16).unwrap();
        assert_eq!((old.len(), old.segments()), (50, 1));
        assert_eq!(old.search(&v(7, 16), 1).unwrap()[0].0, 7);
        // Saved unchanged, the list names the old file; changed, a new file replaces it.
        old.save(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(list_path(&p)).unwrap(),
            "{\"segments\":[\"old.usearch\"]}"
        );
        old.upsert(&[(51, v(51, 16))]).unwrap();
        old.save(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(list_path(&p)).unwrap(),
            "{\"segments\":[\"old.s1.usearch\"]}"
        );
        assert!(!p.exists());
        assert_eq!(VectorIndex::open(&p, 16).unwrap().len(), 51);
        // An earlier version opening the folder after this one rebuilds its single file, which
        // is then newer than the list: that file is the index.
        std::thread::sleep(std::time::Duration::from_millis(20));
        idx.segs.read()[0].index.save(&p.to_string_lossy()).unwrap();
        let back = VectorIndex::open(&p, 16).unwrap();
        assert_eq!((back.len(), back.contains(51)), (50, false));
        back.save(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(list_path(&p)).unwrap(),
            "{\"segments\":[\"old.usearch\"]}"
        );
        assert!(!dir.path().join("old.s1.usearch").exists());
        assert_eq!(VectorIndex::open(&p, 16).unwrap().len(), 50);
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
            saved_bytes(&p)
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
        let saved = saved_bytes(&p);

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
        assert_eq!(saved_bytes(&p), saved);
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
                assert!(get_raw(&idx.segs.read(), key, &mut raw).unwrap());
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
        let cap = idx.segs.read()[0].index.capacity();
        let n = (cap - 600) as u64;
        let more: Vec<(u64, Vec<f32>)> = (10_001..10_001 + n).map(|k| (k, v(k, 16))).collect();
        idx.upsert(&more).unwrap();
        assert_eq!(idx.len(), 500 + n as usize);
        for k in [2501u64, 2999, 10_001, 10_000 + n / 2, 10_000 + n] {
            assert_eq!(idx.search(&v(k, 16), 1).unwrap()[0].0, k, "key {k}");
        }
    }
}
