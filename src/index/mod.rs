//! Derived indexes of one namespace: [`text`] (tantivy BM25), [`vector`] (usearch) and [`graph`]
//! (entity graph + catalog). All of them are rebuildable from the store
//! (`chronorag reindex`) and caught up from the transaction log on open: each records the last
//! transaction it reflects.
//!
//! **Architecture invariant:** indexes never hold the only copy of anything. They are updated
//! after the store commit; if the process dies in between, opening replays the missing
//! transactions. Updates are idempotent (upserts keyed by record id).
//!
//! One exception, for speed: an ingest embeds the vectors of its *new* chunks and facts while the
//! store commits them ([`NsIndexes::embed_ahead`]), and applies the committed batch to the
//! catalog and text index while they may still be going in ([`NsIndexes::apply_early`], then
//! [`NsIndexes::apply_late`], which alone moves the index state). Such a vector is invisible
//! until the catalog knows its record (every vector hit passes a catalog check), and a failed
//! commit removes it ([`NsIndexes::forget_ahead`]).

pub mod chunk_text;
pub mod dense;
mod dot_i8;
pub mod graph;
pub mod sketch;
pub mod stem;
pub mod text;
pub mod vector;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::model::{Change, ChunkId, EntityId, Fact, FactId, FactObject, Summary, Tx, TxId};
use crate::store::{NsStore, WriteSet};
use crate::time::{Interval, TimeKey};
use crate::{Error, Result};
use graph::Catalog;
use text::{TextDoc, TextIndex, TextKind};
use vector::VectorIndex;

/// A stable u64 code for a time node (its index id): the hash of its canonical key.
pub fn node_code(key: &TimeKey) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(key.to_string().as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) & ((1 << 56) - 1)
}

#[derive(Debug, Serialize, Deserialize)]
struct VectorCheckpoint {
    tx: TxId,
    embedder: String,
    /// Whether the saved vectors include the facts' ([`IndexSettings::embed_facts`]).
    /// Checkpoints of versions before the setting always did.
    #[serde(default = "saved_with_facts")]
    facts: bool,
}

fn saved_with_facts() -> bool {
    true
}

/// How a namespace's derived indexes are built (from the service's configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexSettings {
    /// Vector inserts one after another (see [`VectorIndex::set_serial`]), from the catch-up
    /// on open on: the same records in the same order give the same graphs.
    pub deterministic: bool,
    /// Embed every fact and keep the facts' vector index, searched for seeds beside the facts'
    /// BM25 and scored for edge weights. Off: facts are found by BM25 and through the graph,
    /// chunks by vector and BM25 as always. See `Config::embed_facts` for what it measured.
    pub embed_facts: bool,
}

/// Sizes of a namespace's indexes (for stats and metrics).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct IndexSizes {
    /// Documents in the text index.
    pub text_docs: u64,
    /// Fact vectors (0 unless the service embeds facts: configuration `embed_facts`).
    pub fact_vectors: u64,
    /// Chunk vectors.
    pub chunk_vectors: u64,
    /// Summary vectors.
    pub summary_vectors: u64,
    /// Entity-to-entity edges in the graph.
    pub graph_edges: u64,
    /// Bytes of memory used by the vector indexes.
    pub vector_bytes: u64,
    /// Estimated bytes of memory these indexes hold (vectors and catalog; what
    /// `index_memory_mb` budgets).
    pub memory_bytes: u64,
}

/// Vectors inserted ahead of their transaction's commit ([`NsIndexes::embed_ahead`]): their
/// records' ids, which the transaction's [`NsIndexes::apply_late`] does not embed again.
#[derive(Debug, Default)]
pub struct Ahead {
    facts: HashSet<FactId>,
    chunks: HashSet<ChunkId>,
}

impl Ahead {
    fn has(&self, kind: TextKind, id: u64) -> bool {
        match kind {
            TextKind::Fact => self.facts.contains(&id),
            TextKind::Chunk => self.chunks.contains(&id),
            TextKind::Summary => false,
        }
    }
}

/// Where applying a transaction reads its records: the write set it was just committed from
/// (the records exactly as the store holds them now), else the store.
pub struct Records<'a> {
    store: &'a dyn NsStore,
    docs: HashMap<u64, &'a crate::model::Document>,
    chunks: HashMap<ChunkId, &'a crate::model::Chunk>,
    entities: HashMap<EntityId, &'a crate::model::Entity>,
    facts: HashMap<FactId, &'a Fact>,
}

impl<'a> Records<'a> {
    /// Every record from the store.
    pub fn store(store: &'a dyn NsStore) -> Self {
        Records {
            store,
            docs: HashMap::new(),
            chunks: HashMap::new(),
            entities: HashMap::new(),
            facts: HashMap::new(),
        }
    }

    /// The records of `ws`, which [`NsStore::commit_keeping`] has just committed and handed back;
    /// any other from the store.
    pub fn committed(store: &'a dyn NsStore, ws: &'a WriteSet) -> Self {
        Records {
            store,
            docs: ws.documents.iter().map(|d| (d.id, d)).collect(),
            chunks: ws.chunks.iter().map(|c| (c.id, c)).collect(),
            entities: ws.entities.iter().map(|e| (e.id, e)).collect(),
            facts: ws.facts.iter().map(|f| (f.id, f)).collect(),
        }
    }

    fn document(&self, id: u64) -> Result<Option<Cow<'a, crate::model::Document>>> {
        match self.docs.get(&id) {
            Some(d) => Ok(Some(Cow::Borrowed(*d))),
            None => Ok(self.store.document(id, None)?.map(Cow::Owned)),
        }
    }

    fn chunk(&self, id: ChunkId) -> Result<Option<Cow<'a, crate::model::Chunk>>> {
        match self.chunks.get(&id) {
            Some(c) => Ok(Some(Cow::Borrowed(*c))),
            None => Ok(self.store.chunk(id)?.map(Cow::Owned)),
        }
    }

    fn entity(&self, id: EntityId) -> Result<Option<Cow<'a, crate::model::Entity>>> {
        match self.entities.get(&id) {
            Some(e) => Ok(Some(Cow::Borrowed(*e))),
            None => Ok(self.store.entity(id, None)?.map(Cow::Owned)),
        }
    }

    fn fact(&self, id: FactId) -> Result<Option<Cow<'a, Fact>>> {
        match self.facts.get(&id) {
            Some(f) => Ok(Some(Cow::Borrowed(*f))),
            None => Ok(self.store.fact(id, None)?.map(Cow::Owned)),
        }
    }
}

/// The derived indexes of one namespace.
pub struct NsIndexes {
    /// BM25 over chunks, facts and summaries.
    pub text: TextIndex,
    /// Fact vectors: empty unless `embed_facts`.
    pub facts: VectorIndex,
    /// Chunk vectors.
    pub chunks: VectorIndex,
    /// Summary vectors.
    pub summaries: VectorIndex,
    /// Catalog and entity graph.
    pub catalog: RwLock<Catalog>,
    /// Chunk texts and sentences kept between queries.
    pub chunk_texts: chunk_text::ChunkTexts,
    embedder: Arc<dyn Embedder>,
    /// Whether facts are embedded ([`IndexSettings::embed_facts`]).
    embed_facts: bool,
    vec_dir: PathBuf,
    /// Where the catalog snapshot is saved (with the vectors).
    catalog_path: PathBuf,
    vec_checkpoint: AtomicU64,
    last_vec_save: Mutex<Instant>,
    /// Unique per opening (see [`NsIndexes::state`]).
    instance: u64,
    /// Moves on every change that can alter a query's answer.
    generation: AtomicU64,
    /// Moves when the past changes (erase, rebuild).
    epoch: AtomicU64,
    /// The store's time-node keys as of a `generation` (see [`NsIndexes::node_keys`]).
    node_keys: Mutex<Option<(u64, Arc<Vec<TimeKey>>)>>,
}

/// Source of [`NsIndexes`] instance numbers.
static INSTANCES: AtomicU64 = AtomicU64::new(1);

impl std::fmt::Debug for NsIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsIndexes")
            .field("vec_dir", &self.vec_dir)
            .finish()
    }
}

/// How often vector indexes are saved while changes come in.
const VECTOR_SAVE_EVERY: Duration = Duration::from_secs(30);
/// Uncommitted text-index changes after which `apply` commits on its own: tantivy's writer
/// holds per-document state until a commit (about 1.6 KB per document, measured), so a bulk load
/// that commits only at the end would grow without bound. Each commit costs 50–150 ms on the
/// loading thread (the news load: 77 commits, 5.6 s, at 5,000; 2.7 s faster at 20,000).
const TEXT_COMMIT_EVERY: usize = 20_000;
/// The catalog from its snapshot, caught up with the transactions committed after it, and
/// how many were replayed. `None` when there is no usable snapshot (missing, unreadable,
/// another format, or ahead of the store): the caller loads from the store.
fn catalog_from_snapshot(path: &Path, store: &dyn NsStore) -> Option<(Catalog, u64)> {
    catch_up_catalog(read_snapshot(path, store.name())?, store)
}

/// The catalog rebuilt from the snapshot at `path`, as it was saved (not yet checked against
/// the store); `None` when it is missing, unreadable or of another format.
fn read_snapshot(path: &Path, namespace: &str) -> Option<Catalog> {
    let t = Instant::now();
    let bytes = std::fs::read(path).ok()?;
    let snap: graph::CatalogSnapshot<'_> = match postcard::from_bytes(&bytes) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(namespace, error = %e, "catalog snapshot unreadable; loading from the store");
            return None;
        }
    };
    let decoded = t.elapsed();
    let c = Catalog::from_snapshot(snap)?;
    tracing::debug!(
        namespace,
        decode_ms = decoded.as_millis() as u64,
        ms = t.elapsed().as_millis() as u64,
        "catalog rebuilt from its snapshot"
    );
    Some(c)
}

/// `c` (from a snapshot) with the transactions committed after it applied, and how many were;
/// `None` when the snapshot is ahead of the store.
fn catch_up_catalog(mut c: Catalog, store: &dyn NsStore) -> Option<(Catalog, u64)> {
    let head = store.head_tx();
    if c.applied_tx > head {
        return None;
    }
    let from = c.applied_tx;
    let mut next = from + 1;
    while next <= head {
        let txs = store.txs(next, head, 256).ok()?;
        let last = txs.last()?.id;
        for tx in &txs {
            apply_catalog(&mut c, &Records::store(store), tx).ok()?;
        }
        next = last + 1;
    }
    c.applied_tx = head;
    Some((c, head - from))
}

/// A namespace's catalog snapshot being read and rebuilt on its own thread, started before the
/// store is open (a command that knows its namespace overlaps the two: at 1M facts each takes
/// a third of a second). [`NsIndexes::open_prefetched`] checks it against the store and
/// catches it up like a snapshot read then.
#[derive(Debug)]
pub struct CatalogPrefetch(std::thread::JoinHandle<Option<Catalog>>);

impl CatalogPrefetch {
    /// Starts reading the snapshot in the namespace index folder `dir`.
    pub fn start(dir: &Path, namespace: &str) -> Self {
        let path = dir.join(CATALOG_FILE);
        let namespace = namespace.to_string();
        CatalogPrefetch(std::thread::spawn(move || read_snapshot(&path, &namespace)))
    }

    fn take(self) -> Option<Catalog> {
        self.0.join().ok().flatten()
    }
}

/// The catalog snapshot's file in a namespace's index folder.
const CATALOG_FILE: &str = "catalog.bin";
/// Records embedded per batch during rebuilds.
const REBUILD_BATCH: usize = 512;

impl NsIndexes {
    /// Opens the indexes of a namespace in `dir`, loading what is on disk and catching up with
    /// the store (or rebuilding what is missing or was built by another embedder). Indexes
    /// that cannot be opened or caught up (files damaged by a crash or by hand) are removed and
    /// rebuilt from the store: they are derived, and a namespace must not stay unreadable
    /// because of them. Only when that rebuild fails too is the error returned.
    pub fn open(dir: &Path, store: &dyn NsStore, embedder: Arc<dyn Embedder>) -> Result<Self> {
        Self::open_prefetched(dir, store, embedder, None, IndexSettings::default())
    }

    /// [`NsIndexes::open`], with the catalog snapshot read ahead by `prefetch` (started on the
    /// same folder), built as `settings` say. Vectors saved under other settings are brought
    /// in line: fact vectors no longer wanted are dropped; wanted but not saved, every vector
    /// is rebuilt from the store.
    pub fn open_prefetched(
        dir: &Path,
        store: &dyn NsStore,
        embedder: Arc<dyn Embedder>,
        prefetch: Option<CatalogPrefetch>,
        settings: IndexSettings,
    ) -> Result<Self> {
        match Self::open_files(dir, store, embedder.clone(), prefetch, settings) {
            Ok(me) => Ok(me),
            Err(e) => {
                tracing::error!(
                    namespace = store.name(),
                    error = %e,
                    "the indexes on disk could not be opened; rebuilding them from the store"
                );
                for sub in ["text", "vectors"] {
                    let p = dir.join(sub);
                    if p.exists() {
                        std::fs::remove_dir_all(&p)?;
                    }
                }
                let catalog = dir.join(CATALOG_FILE);
                if catalog.exists() {
                    std::fs::remove_file(&catalog)?;
                }
                Self::open_files(dir, store, embedder, None, settings)
            }
        }
    }

    fn open_files(
        dir: &Path,
        store: &dyn NsStore,
        embedder: Arc<dyn Embedder>,
        prefetch: Option<CatalogPrefetch>,
        settings: IndexSettings,
    ) -> Result<Self> {
        let dims = embedder.dims();
        let vec_dir = dir.join("vectors");
        std::fs::create_dir_all(&vec_dir)?;
        let text = TextIndex::open(&dir.join("text"), store.name())?;
        let checkpoint: Option<VectorCheckpoint> = std::fs::read(vec_dir.join("checkpoint.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|c: &VectorCheckpoint| {
                c.embedder == embedder.id()
                    && c.tx <= store.head_tx()
                    && (c.facts || !settings.embed_facts)
            });
        let load = |name: &str| -> Result<VectorIndex> {
            let p = vec_dir.join(format!("{name}.usearch"));
            let t = Instant::now();
            let wanted = name != "facts" || settings.embed_facts;
            let v = if wanted && checkpoint.is_some() && VectorIndex::exists(&p) {
                VectorIndex::open(&p, dims)
            } else {
                VectorIndex::new(dims)
            };
            tracing::debug!(
                namespace = store.name(),
                name,
                ms = t.elapsed().as_millis() as u64,
                "vectors loaded"
            );
            v
        };
        // The vectors and the catalog snapshot are read and decoded at once, on three threads:
        // at 1M facts each takes most of a second (measured: vectors 0.70 s, catalog 0.79 s,
        // one after the other).
        let catalog_path = dir.join(CATALOG_FILE);
        let started = Instant::now();
        let ((facts, chunks, summaries), snapshot) = std::thread::scope(|s| {
            let snapshot = s.spawn(|| match prefetch {
                Some(p) => p.take().and_then(|c| catch_up_catalog(c, store)),
                None => catalog_from_snapshot(&catalog_path, store),
            });
            let facts = s.spawn(|| load("facts"));
            let rest = (load("chunks"), load("summaries"));
            let facts = facts
                .join()
                .unwrap_or_else(|_| Err(Error::Index("loading the fact vectors panicked".into())));
            let snapshot = snapshot.join().ok().flatten();
            ((facts, rest.0, rest.1), snapshot)
        });
        let (facts, chunks, summaries) = match (facts, chunks, summaries) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            _ => (
                VectorIndex::new(dims)?,
                VectorIndex::new(dims)?,
                VectorIndex::new(dims)?,
            ),
        };
        // Entity vectors were written by earlier versions but never searched.
        for old in ["entities.usearch", "entities.sketch"] {
            let _ = std::fs::remove_file(vec_dir.join(old));
        }
        let vec_tx = if facts.is_empty() && chunks.is_empty() {
            0
        } else {
            checkpoint.as_ref().map(|c| c.tx).unwrap_or(0)
        };
        let me = NsIndexes {
            text,
            facts,
            chunks,
            summaries,
            catalog: RwLock::new(Catalog::default()),
            chunk_texts: chunk_text::ChunkTexts::default(),
            embedder,
            embed_facts: settings.embed_facts,
            catalog_path,
            vec_dir,
            vec_checkpoint: AtomicU64::new(vec_tx),
            last_vec_save: Mutex::new(Instant::now()),
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            node_keys: Mutex::new(None),
        };
        for v in [&me.facts, &me.chunks, &me.summaries] {
            v.set_serial(settings.deterministic);
        }
        me.install_catalog(store, snapshot, started)?;
        me.catch_up(store)?;
        // Sketches of the loaded vectors, so that no query pays for them (~0.5 s per million).
        {
            // Without fact vectors (`embed_facts` off) there is nothing to sketch: every fact
            // would cost a failed lookup and 64 zero bytes (at 1M facts, 64 MB).
            let cat = me.catalog.read();
            let facts: Vec<u64> = if me.facts.is_empty() {
                Vec::new()
            } else {
                cat.facts.iter().map(|(id, _)| id).collect()
            };
            let chunks: Vec<u64> = cat.chunks.iter().map(|(id, _)| id).collect();
            drop(cat);
            me.facts.fill_sketches(&facts)?;
            me.chunks.fill_sketches(&chunks)?;
        }
        Ok(me)
    }

    /// The last transaction the catalog (and so, after each apply, the indexes) reflects.
    pub fn applied_tx(&self) -> TxId {
        self.catalog.read().applied_tx
    }

    /// What query caches key on: a change of the indexes moves `generation`, a change of the
    /// past (erase, rebuild, removals) also moves `epoch` ([`NsIndexes::chunk_texts`] keys on it).
    pub fn state(&self) -> crate::query::cache::IndexState {
        crate::query::cache::IndexState {
            instance: self.instance,
            generation: self.generation.load(Ordering::Acquire),
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// The key of every time node of `store`, in key order, read again only after a change
    /// (an abstract question lists them to find the periods in scope; scanning and parsing
    /// them from the store on every question took a tenth of its time at 100k facts). Nodes
    /// come only with transactions, which move `generation`; the generation is read before the
    /// store, so the keys kept are never older than the generation they are kept for.
    pub fn node_keys(&self, store: &dyn NsStore) -> Result<Arc<Vec<TimeKey>>> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((g, keys)) = &*self.node_keys.lock()
            && *g == generation
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(store.node_keys()?);
        *self.node_keys.lock() = Some((generation, keys.clone()));
        Ok(keys)
    }

    /// Marks a change visible to queries (`past`: one that rewrites history).
    fn changed(&self, past: bool) {
        if past {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The embedder these vectors were made with.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Installs the catalog read from its snapshot (`snapshot`, see [`catalog_from_snapshot`]),
    /// or loads it from the store records when there was none usable, and saves a fresh
    /// snapshot when it had to catch up.
    fn install_catalog(
        &self,
        store: &dyn NsStore,
        snapshot: Option<(Catalog, u64)>,
        started: Instant,
    ) -> Result<()> {
        if let Some((c, replayed)) = snapshot {
            tracing::info!(
                namespace = store.name(),
                facts = c.facts.len(),
                replayed,
                ms = started.elapsed().as_millis() as u64,
                "catalog loaded from its snapshot"
            );
            *self.catalog.write() = c;
            if replayed > 0 {
                self.save_catalog()?;
            }
            return Ok(());
        }
        self.load_catalog_from_store(store)?;
        tracing::info!(
            namespace = store.name(),
            ms = started.elapsed().as_millis() as u64,
            "catalog loaded from the store"
        );
        if store.head_tx() > 0 {
            self.save_catalog()?;
        }
        Ok(())
    }

    /// Saves the catalog snapshot (atomically: a temporary file renamed over the old one).
    pub fn save_catalog(&self) -> Result<()> {
        let bytes = {
            let c = self.catalog.read();
            postcard::to_stdvec(&c.snapshot())
        }
        .map_err(|e| Error::Index(format!("catalog snapshot: {e}")))?;
        let tmp = self.catalog_path.with_extension("bin.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.catalog_path)?;
        Ok(())
    }

    /// Reloads the catalog from the store records and saves its snapshot afresh (reindex).
    pub fn reload_catalog(&self, store: &dyn NsStore) -> Result<()> {
        self.load_catalog_from_store(store)?;
        self.save_catalog()?;
        self.changed(true);
        Ok(())
    }

    fn load_catalog_from_store(&self, store: &dyn NsStore) -> Result<()> {
        let mut c = Catalog::default();
        let mut after = 0;
        loop {
            let docs = store.documents_all(after, 1000)?;
            let Some(last) = docs.last().map(|d| d.id) else {
                break;
            };
            for d in &docs {
                c.put_doc(d);
                for id in &d.chunks {
                    if let Some(ch) = store.chunk(*id)? {
                        c.put_chunk(&ch);
                    }
                }
            }
            after = last;
        }
        let mut after = 0;
        loop {
            let es = store.entities_all(after, 1000)?;
            let Some(last) = es.last().map(|e| e.id) else {
                break;
            };
            for e in &es {
                c.put_entity(e);
            }
            after = last;
        }
        store.for_each_fact(&mut |f| {
            c.put_fact(&f);
            Ok(())
        })?;
        store.for_each_fact_first_tx(&mut |id, tx| {
            if let Some(m) = c.facts.get_mut(&id) {
                m.first_tx = m.first_tx.min(tx);
            }
        })?;
        c.applied_tx = store.head_tx();
        *self.catalog.write() = c;
        Ok(())
    }

    /// Replays committed transactions the text and vector indexes have not seen yet.
    pub fn catch_up(&self, store: &dyn NsStore) -> Result<()> {
        let head = store.head_tx();
        let text_tx = self.text.checkpoint()?;
        let vec_tx = self.vec_checkpoint.load(Ordering::SeqCst);
        let from = text_tx.min(vec_tx);
        if from >= head {
            return Ok(());
        }
        if from == 0 && head > 50 {
            // Nothing usable on disk: a bulk rebuild is faster than replaying every transaction.
            return self.rebuild(store, text_tx == 0, vec_tx == 0);
        }
        tracing::info!(namespace = store.name(), from, head, "catching up indexes");
        let mut next = from + 1;
        while next <= head {
            let txs = store.txs(next, head, 256)?;
            let Some(last) = txs.last().map(|t| t.id) else {
                break;
            };
            for tx in &txs {
                self.apply_parts(
                    &Records::store(store),
                    tx,
                    tx.id > text_tx,
                    tx.id > vec_tx,
                    &Ahead::default(),
                    false,
                )?;
            }
            next = last + 1;
        }
        self.index_all_summaries(store)?;
        self.commit(head, true)?;
        Ok(())
    }

    /// Applies one committed transaction to every index (the catalog included).
    pub fn apply(&self, store: &dyn NsStore, tx: &Tx) -> Result<()> {
        let records = Records::store(store);
        {
            let mut c = self.catalog.write();
            apply_catalog(&mut c, &records, tx)?;
        }
        let r = self.apply_parts(&records, tx, true, true, &Ahead::default(), false);
        self.applied(tx, r)
    }

    /// The first half of [`NsIndexes::apply`] for a transaction whose new vectors are going in
    /// ahead ([`NsIndexes::embed_ahead`], possibly still running): the catalog and the text
    /// index. [`NsIndexes::apply_late`] must follow; until then the index state (and so the
    /// query cache's key) stays the one before the transaction.
    pub fn apply_early(&self, records: &Records<'_>, tx: &Tx) -> Result<()> {
        {
            let mut c = self.catalog.write();
            apply_catalog(&mut c, records, tx)?;
        }
        self.apply_parts(records, tx, true, false, &Ahead::default(), true)
    }

    /// The second half: the vectors that did not go in ahead, then the state moves on.
    pub fn apply_late(&self, records: &Records<'_>, tx: &Tx, ahead: &Ahead) -> Result<()> {
        let r = self.apply_parts(records, tx, false, true, ahead, false);
        self.applied(tx, r)
    }

    /// Ends applying `tx`: commits the text index when enough is pending and moves the state.
    fn applied(&self, tx: &Tx, r: Result<()>) -> Result<()> {
        let r = r.and_then(|_| {
            if self.text.pending() >= TEXT_COMMIT_EVERY {
                self.text.commit(tx.id)?;
            }
            Ok(())
        });
        // Text rewritten or removed: the past changed (cached chunk texts must go now, not at
        // the purge that follows an erase).
        let past = tx.changes.iter().any(|c| {
            matches!(
                c,
                Change::RedactChunk(_) | Change::EraseChunk(_) | Change::EraseDocument(_)
            )
        });
        self.changed(past);
        r
    }

    /// `own` is true only for [`NsIndexes::apply_early`]: the transaction this process has just
    /// committed, applied for the first time. Anything else (catching up after a crash, a
    /// transaction applied again) may find its records' documents in the text index already: a
    /// commit outside transactions (`commit_derived`, summaries) commits whatever is pending
    /// under the older checkpoint.
    fn apply_parts(
        &self,
        records: &Records<'_>,
        tx: &Tx,
        text: bool,
        vectors: bool,
        ahead: &Ahead,
        own: bool,
    ) -> Result<()> {
        if !text && !vectors {
            return Ok(());
        }
        let mut docs: Vec<TextDoc> = Vec::new();
        // An ingest creates the chunks it adds and the facts it asserts (a fact it finds again
        // is an update): applied right after its own commit, the text index cannot hold them.
        let ingest = own && tx.kind == crate::model::TxKind::Ingest;
        let mut new_ids: BTreeSet<(TextKind, u64)> = BTreeSet::new();
        let mut remove: Vec<(TextKind, u64)> = Vec::new();
        let mut seen: BTreeSet<(u8, u64)> = BTreeSet::new();
        for ch in &tx.changes {
            if ingest {
                match ch {
                    Change::AddChunk(id) => new_ids.insert((TextKind::Chunk, *id)),
                    Change::AssertFact(id) => new_ids.insert((TextKind::Fact, *id)),
                    _ => false,
                };
            }
            match ch {
                Change::AddChunk(id) | Change::RedactChunk(id) => {
                    // Only vectors are wanted, and this one went in ahead: not read at all.
                    if !seen.insert((1, *id)) || (!text && ahead.has(TextKind::Chunk, *id)) {
                        continue;
                    }
                    match self.chunk_doc_of(records, *id)? {
                        Some(d) => docs.push(d),
                        None => remove.push((TextKind::Chunk, *id)),
                    }
                }
                Change::AssertFact(id) => {
                    if !seen.insert((2, *id)) || (!text && ahead.has(TextKind::Fact, *id)) {
                        continue;
                    }
                    // Re-asserting a fact that is already indexed changes nothing here.
                    if tx.kind != crate::model::TxKind::Ingest && self.facts.contains(*id) {
                        continue;
                    }
                    match records.fact(*id)? {
                        Some(f) => docs.push(self.fact_doc_of(records, &f)?),
                        None => remove.push((TextKind::Fact, *id)),
                    }
                }
                Change::EraseFact(id) => remove.push((TextKind::Fact, *id)),
                Change::EraseChunk(id) => remove.push((TextKind::Chunk, *id)),
                _ => {}
            }
        }
        let t0 = std::time::Instant::now();
        // Text and vector indexing are independent; on a small machine running them side by
        // side hides the single-threaded parts of each.
        let text_part = || -> Result<std::time::Duration> {
            if text {
                self.text
                    .put(&docs, |d| new_ids.contains(&(d.kind, d.id)))?;
                for (kind, id) in &remove {
                    self.text.remove(*kind, &[*id])?;
                }
            }
            Ok(t0.elapsed())
        };
        let vector_part = || -> Result<std::time::Duration> {
            if vectors {
                self.embed_docs(&docs, ahead)?;
                for (kind, id) in &remove {
                    match kind {
                        TextKind::Fact => self.facts.remove(&[*id])?,
                        TextKind::Chunk => self.chunks.remove(&[*id])?,
                        TextKind::Summary => self.summaries.remove(&[*id])?,
                    }
                }
            }
            Ok(t0.elapsed())
        };
        let (t_text, t_vec) = rayon::join(text_part, vector_part);
        let (t_text, t_vec) = (t_text?, t_vec?);
        tracing::debug!("apply tx {}: text {t_text:?}, vectors {t_vec:?}", tx.id);
        Ok(())
    }

    /// The vector documents of a write set's new chunks and facts (ids the vector indexes do not
    /// hold yet), built from the write set itself: what [`NsIndexes::apply`] would embed for
    /// them once the store has them. Names come from the write set's entities, then the catalog.
    pub fn ahead_docs(&self, store: &dyn NsStore, ws: &WriteSet) -> Result<Vec<TextDoc>> {
        let records = Records::committed(store, ws);
        let mut out = Vec::new();
        let mut seen: BTreeSet<(u8, u64)> = BTreeSet::new();
        for ch in &ws.changes {
            match ch {
                Change::AddChunk(id) if seen.insert((1, *id)) && !self.chunks.contains(*id) => {
                    if records.chunks.contains_key(id)
                        && let Some(d) = self.chunk_doc_of(&records, *id)?
                    {
                        out.push(d);
                    }
                }
                Change::AssertFact(id)
                    if self.embed_facts && seen.insert((2, *id)) && !self.facts.contains(*id) =>
                {
                    if let Some(f) = records.facts.get(id) {
                        out.push(self.fact_doc_of(&records, f)?);
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Embeds and inserts vectors of records not committed yet ([`NsIndexes::ahead_docs`]).
    /// On an error, the vectors inserted so far are removed again.
    pub fn embed_ahead(&self, docs: &[TextDoc]) -> Result<Ahead> {
        let mut ahead = Ahead::default();
        for d in docs {
            match d.kind {
                TextKind::Fact => ahead.facts.insert(d.id),
                TextKind::Chunk => ahead.chunks.insert(d.id),
                TextKind::Summary => false,
            };
        }
        if let Err(e) = self.embed_docs(docs, &Ahead::default()) {
            let _ = self.forget_ahead(&ahead);
            return Err(e);
        }
        Ok(ahead)
    }

    /// Removes vectors inserted ahead of a commit that failed.
    pub fn forget_ahead(&self, ahead: &Ahead) -> Result<()> {
        let facts: Vec<u64> = ahead.facts.iter().copied().collect();
        let chunks: Vec<u64> = ahead.chunks.iter().copied().collect();
        self.facts.remove(&facts)?;
        self.chunks.remove(&chunks)
    }

    fn embed_docs(&self, docs: &[TextDoc], ahead: &Ahead) -> Result<()> {
        for kind in [TextKind::Chunk, TextKind::Fact, TextKind::Summary] {
            if kind == TextKind::Fact && !self.embed_facts {
                continue;
            }
            let sel: Vec<&TextDoc> = docs
                .iter()
                .filter(|d| d.kind == kind && !ahead.has(kind, d.id))
                .collect();
            if sel.is_empty() {
                continue;
            }
            let texts: Vec<String> = sel
                .iter()
                .map(|d| {
                    if d.title.is_empty() || kind == TextKind::Fact {
                        d.text.clone()
                    } else {
                        format!("{}\n{}", d.title, d.text)
                    }
                })
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vecs = self.embedder.embed(&refs)?;
            let items: Vec<(u64, Vec<f32>)> = sel.iter().map(|d| d.id).zip(vecs).collect();
            match kind {
                TextKind::Chunk => self.chunks.upsert(&items)?,
                TextKind::Fact => self.facts.upsert(&items)?,
                TextKind::Summary => self.summaries.upsert(&items)?,
            }
        }
        Ok(())
    }

    fn chunk_doc(&self, store: &dyn NsStore, id: ChunkId) -> Result<Option<TextDoc>> {
        self.chunk_doc_of(&Records::store(store), id)
    }

    fn chunk_doc_of(&self, records: &Records<'_>, id: ChunkId) -> Result<Option<TextDoc>> {
        let Some(c) = records.chunk(id)? else {
            return Ok(None);
        };
        let title = records
            .document(c.doc)?
            .and_then(|d| d.title.clone())
            .unwrap_or_default();
        let c = c.into_owned();
        Ok(Some(TextDoc {
            kind: TextKind::Chunk,
            id,
            text: c.text,
            title,
            valid: c.time.map(|t| t.interval()).unwrap_or_else(Interval::all),
        }))
    }

    /// The text-index document of a fact: subject, description and object.
    pub fn fact_doc(&self, store: &dyn NsStore, f: &Fact) -> Result<TextDoc> {
        self.fact_doc_of(&Records::store(store), f)
    }

    /// [`NsIndexes::fact_doc`] reading through `records`.
    fn fact_doc_of(&self, records: &Records<'_>, f: &Fact) -> Result<TextDoc> {
        // Names come from the write set being applied (its entities may not be committed or in
        // the catalog yet), then the catalog, which holds every current entity (applied before
        // the indexes); the store is asked only about one both lack.
        let name = |id: EntityId| -> Result<String> {
            if let Some(e) = records.entities.get(&id) {
                return Ok(e.name.clone());
            }
            if let Some(m) = self.catalog.read().entities.get(&id) {
                return Ok(m.name.clone());
            }
            Ok(records
                .store
                .entity(id, None)?
                .map(|e| e.name)
                .unwrap_or_default())
        };
        let subject = name(f.subject)?;
        let object = match &f.object {
            FactObject::Entity(o) => name(*o)?,
            FactObject::Literal(l) => l.clone(),
        };
        let mut text = f.description.clone();
        if !text.contains(&subject) {
            text = format!("{subject}: {text}");
        }
        if !object.is_empty() && !text.contains(&object) {
            text.push_str(" — ");
            text.push_str(&object);
        }
        Ok(TextDoc {
            kind: TextKind::Fact,
            id: f.id,
            text,
            title: subject,
            valid: f.effective_valid(),
        })
    }

    /// Indexes summaries (text and vectors).
    pub fn index_summaries(&self, summaries: &[Summary]) -> Result<()> {
        let docs: Vec<TextDoc> = summaries
            .iter()
            .map(|s| {
                let mut text = s.text.clone();
                for f in &s.findings {
                    text.push('\n');
                    text.push_str(&f.text);
                }
                TextDoc {
                    kind: TextKind::Summary,
                    id: node_code(&s.node),
                    text,
                    title: s.title.clone(),
                    valid: s.node.interval(),
                }
            })
            .collect();
        let r = self
            .text
            .upsert(&docs)
            .and_then(|_| self.embed_docs(&docs, &Ahead::default()));
        self.changed(false);
        r
    }

    /// Re-indexes the current summary of every node (after erase rewrote some).
    pub fn index_all_summaries(&self, store: &dyn NsStore) -> Result<()> {
        let mut all = Vec::new();
        for n in store.nodes()? {
            if let Some(s) = store.summary(&n.key, None)? {
                all.push(s);
            }
        }
        self.index_summaries(&all)
    }

    /// Drops the bytes of removed entries: merges the text index and compacts the vectors.
    pub fn purge(&self, tx: TxId) -> Result<()> {
        self.text.commit(tx)?;
        self.text.purge()?;
        for v in [&self.facts, &self.chunks, &self.summaries] {
            v.compact()?;
        }
        self.changed(true);
        self.save_vectors(tx)
    }

    /// Removes erased chunks from every index.
    pub fn remove_chunks(&self, ids: &[ChunkId]) -> Result<()> {
        self.text.remove(TextKind::Chunk, ids)?;
        self.chunks.remove(ids)?;
        let mut c = self.catalog.write();
        for id in ids {
            c.chunks.remove(id);
        }
        self.changed(true);
        Ok(())
    }

    /// Removes erased facts from every index.
    pub fn remove_facts(&self, ids: &[FactId]) -> Result<()> {
        self.text.remove(TextKind::Fact, ids)?;
        self.facts.remove(ids)?;
        let mut c = self.catalog.write();
        for id in ids {
            c.remove_fact(*id);
        }
        self.changed(true);
        Ok(())
    }

    /// Makes index changes durable and searchable: commits the text index with `tx` as its
    /// checkpoint; saves vectors when `force` or when the last save is old enough.
    pub fn commit(&self, tx: TxId, force: bool) -> Result<()> {
        let r = self.text.commit(tx);
        self.changed(false);
        r?;
        let due = self.last_vec_save.lock().elapsed() >= VECTOR_SAVE_EVERY;
        if force || due {
            self.save_vectors(tx)?;
        }
        Ok(())
    }

    /// Makes derived-data changes made outside transactions (summaries) searchable, without
    /// moving the text index's transaction checkpoint.
    pub fn commit_derived(&self) -> Result<()> {
        let cp = self.text.checkpoint()?;
        let r = self.text.commit(cp);
        self.changed(false);
        r
    }

    /// Saves the vector indexes and their checkpoint.
    pub fn save_vectors(&self, tx: TxId) -> Result<()> {
        for (name, idx) in [
            ("facts", &self.facts),
            ("chunks", &self.chunks),
            ("summaries", &self.summaries),
        ] {
            idx.save(&self.vec_dir.join(format!("{name}.usearch")))?;
        }
        let cp = VectorCheckpoint {
            tx,
            embedder: self.embedder.id(),
            facts: self.embed_facts,
        };
        let tmp = self.vec_dir.join("checkpoint.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(&cp).map_err(|e| Error::Index(e.to_string()))?,
        )?;
        std::fs::rename(&tmp, self.vec_dir.join("checkpoint.json"))?;
        self.save_catalog()?;
        self.vec_checkpoint.store(tx, Ordering::SeqCst);
        *self.last_vec_save.lock() = Instant::now();
        Ok(())
    }

    /// Rebuilds indexes from the store: the text index and/or the vectors.
    pub fn rebuild(&self, store: &dyn NsStore, text: bool, vectors: bool) -> Result<()> {
        let head = store.head_tx();
        tracing::info!(
            namespace = store.name(),
            text,
            vectors,
            "rebuilding indexes"
        );
        if text {
            self.text.clear()?;
        }
        if vectors {
            self.facts.clear()?;
            self.chunks.clear()?;
            self.summaries.clear()?;
        }
        self.changed(true);
        let mut batch: Vec<TextDoc> = Vec::new();
        let flush = |batch: &mut Vec<TextDoc>| -> Result<()> {
            if text {
                // Cleared above, and each record comes once.
                self.text.put(batch, |_| true)?;
            }
            if vectors {
                self.embed_docs(batch, &Ahead::default())?;
            }
            batch.clear();
            Ok(())
        };
        let mut after = 0;
        loop {
            let docs = store.documents_all(after, 200)?;
            let Some(last) = docs.last().map(|d| d.id) else {
                break;
            };
            for d in &docs {
                for id in &d.chunks {
                    if let Some(cd) = self.chunk_doc(store, *id)? {
                        batch.push(cd);
                    }
                }
                if batch.len() >= REBUILD_BATCH {
                    flush(&mut batch)?;
                }
            }
            after = last;
        }
        flush(&mut batch)?;
        let mut err = None;
        // Facts are read for the text index, and for vectors only when they are embedded.
        if text || (vectors && self.embed_facts) {
            store.for_each_fact(&mut |f| {
                match self.fact_doc(store, &f) {
                    Ok(d) => batch.push(d),
                    Err(e) => err = Some(e),
                }
                if batch.len() >= REBUILD_BATCH {
                    flush(&mut batch)?;
                }
                Ok(())
            })?;
        }
        if let Some(e) = err {
            return Err(e);
        }
        flush(&mut batch)?;
        self.index_all_summaries(store)?;
        self.text.commit(head)?;
        self.changed(true);
        if vectors {
            self.save_vectors(head)?;
        }
        Ok(())
    }

    /// An estimate of the memory these indexes hold: the vector indexes' own count and the
    /// catalog's estimate ([`Catalog::approx_bytes`]). The text index is memory-mapped by
    /// tantivy and not counted.
    pub fn memory_estimate(&self) -> u64 {
        (self.facts.memory_usage()
            + self.chunks.memory_usage()
            + self.summaries.memory_usage()
            + self.catalog.read().approx_bytes()) as u64
    }

    /// Sizes for stats and metrics.
    pub fn sizes(&self) -> IndexSizes {
        IndexSizes {
            text_docs: self.text.num_docs(),
            fact_vectors: self.facts.len() as u64,
            chunk_vectors: self.chunks.len() as u64,
            summary_vectors: self.summaries.len() as u64,
            graph_edges: self.catalog.read().edge_count() as u64,
            vector_bytes: (self.facts.memory_usage()
                + self.chunks.memory_usage()
                + self.summaries.memory_usage()) as u64,
            memory_bytes: self.memory_estimate(),
        }
    }
}

/// Applies a transaction's changes to the catalog (entities first, so that facts can name their
/// objects).
pub fn apply_catalog(c: &mut Catalog, store: &Records<'_>, tx: &Tx) -> Result<()> {
    let entities_first = tx.changes.iter().filter(|c| {
        matches!(
            c,
            Change::CreateEntity(_) | Change::UpdateEntity(_) | Change::RetractEntity(_)
        )
    });
    let rest = tx.changes.iter().filter(|c| {
        !matches!(
            c,
            Change::CreateEntity(_) | Change::UpdateEntity(_) | Change::RetractEntity(_)
        )
    });
    for ch in entities_first.chain(rest) {
        match ch {
            Change::AddDocument(id)
            | Change::RetractDocument(id)
            | Change::ReassertDocument(id) => {
                if let Some(d) = store.document(*id)? {
                    c.put_doc(&d);
                }
            }
            Change::EraseDocument(id) => {
                c.docs.remove(id);
            }
            Change::AddChunk(id) | Change::RedactChunk(id) => {
                if let Some(ch) = store.chunk(*id)? {
                    c.put_chunk(&ch);
                }
            }
            Change::CreateEntity(id) | Change::UpdateEntity(id) | Change::RetractEntity(id) => {
                match store.entity(*id)? {
                    Some(e) => c.put_entity(&e),
                    None => c.remove_entity(*id),
                }
            }
            Change::AssertFact(id) | Change::UpdateFact(id) | Change::RetractFact(id) => {
                if let Some(f) = store.fact(*id)? {
                    c.put_fact(&f);
                    // Replayed later (catch-up), the stored fact may be a later version: the
                    // transaction that asserted it is its first.
                    if matches!(ch, Change::AssertFact(_))
                        && let Some(m) = c.facts.get_mut(id)
                    {
                        m.first_tx = m.first_tx.min(tx.id);
                    }
                }
            }
            Change::EraseFact(id) => c.remove_fact(*id),
            Change::EraseChunk(id) => {
                c.chunks.remove(id);
            }
            Change::Conflict(_) => {}
        }
    }
    c.applied_tx = c.applied_tx.max(tx.id);
    Ok(())
}
