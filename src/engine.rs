//! The engine: the one place that ties the store, the derived indexes, ingestion, retrieval and
//! governance together. Every operation the product offers is one method here, called alike by
//! the HTTP API, the CLI and the tests.
//!
//! **Architecture invariant:** the engine knows nothing of HTTP or of the terminal. It takes and
//! returns domain types and [`crate::Result`].

mod backup;
mod governance;
mod jobs;
mod query;
mod read;
mod timeline;
mod transfer;

pub use crate::model::FactView;
pub use crate::model::{DocumentView, EntityView};
pub use backup::{BackupManifest, BackupReport, RestoreReport};
pub use governance::{ConflictView, EraseReport, VerifyReport};
pub use jobs::{JOB_LEASE, JOB_RESCAN, Job, JobProgress, JobState};
pub use read::{FactList, FactListParams};
pub use timeline::{SUMMARY_MAX_WAIT, SUMMARY_QUIET};
pub use timeline::{TimelineChild, TimelineNode};
pub use transfer::{
    EXPORT_FORMAT, EXPORT_VERSION, ExportEnd, ExportHeader, ExportTx, TransferReport,
};

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::config::Config;
use crate::embed::Embedder;
use crate::embed::hash::HashEmbedder;
use crate::embed::openai::OpenAiEmbedder;
use crate::index::{IndexSizes, NsIndexes};
use crate::ingest::extract::Extractor;
use crate::ingest::extract::llm::LlmExtractor;
use crate::ingest::extract::rules::RulesExtractor;
use crate::ingest::{IngestOptions, IngestReport, PreparedDocument, pipeline};
use crate::llm::LlmClient;
use crate::model::{Tx, TxId};
use crate::store::{NsStore, SledStore, Stats, Store};
use crate::summary::Summarizer;
use crate::summary::extractive::Extractive;
use crate::{Error, Result};

/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

const EMBEDDER_META: &str = "embedder";

/// A namespace at run time: its records, its writer lock and its derived indexes.
pub struct Namespace {
    store: Arc<dyn NsStore>,
    /// Serialises writers of this namespace (one transaction is built at a time).
    write_lock: Mutex<()>,
    /// Open while in use; closed again by [`Engine::indexes`] when more than
    /// `max_open_namespaces` are open and this one is the least recently used idle one.
    indexes: RwLock<Option<Arc<NsIndexes>>>,
    index_init: Mutex<()>,
    /// The engine's use clock when the indexes were last asked for.
    last_used: std::sync::atomic::AtomicU64,
    /// One summarisation pass at a time, with the pooled facts of earlier passes.
    summary_lock: Mutex<crate::summary::scheduler::PoolCache>,
    /// Set when this namespace's indexes could neither follow a commit nor be rebuilt: its
    /// writes are refused (reads continue) until a restart or `reindex`; other namespaces
    /// are not affected.
    writes_refused: Mutex<Option<String>>,
}

impl Namespace {
    /// The namespace's records.
    pub fn store(&self) -> &Arc<dyn NsStore> {
        &self.store
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        self.store.name()
    }

    /// Takes the writer lock.
    pub fn lock_writer(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.write_lock.lock()
    }
}

/// Store-wide statistics.
#[derive(Debug, Clone, Serialize)]
pub struct StoreStats {
    /// The data folder.
    pub data_dir: String,
    /// Schema version of the store.
    pub schema_version: u32,
    /// Bytes on disk.
    pub size_on_disk: u64,
    /// Totals over all namespaces.
    #[serde(flatten)]
    pub totals: Stats,
    /// Per namespace.
    pub namespaces: std::collections::BTreeMap<String, Stats>,
}

/// Text segments at which the summary worker, after writes, merges them (a load over HTTP
/// leaves one per commit until tantivy's policy merges eight of a size).
const IDLE_MERGE_SEGMENTS: usize = 4;

/// A duration as whole milliseconds for an atomic setting: at least 1, saturating.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A name for this process among the servers sharing a store.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{host}-{}-{nanos:x}", std::process::id())
}

/// The database.
pub struct Engine {
    config: Config,
    store: Arc<dyn Store>,
    namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    extractor: Arc<dyn Extractor>,
    embedder: Arc<dyn Embedder>,
    summarizer: Arc<dyn Summarizer>,
    llm: Option<Arc<LlmClient>>,
    summary_requests: Mutex<Option<std::sync::mpsc::Sender<String>>>,
    /// Summary passes the background worker has run (one per namespace per pass).
    summary_passes: std::sync::atomic::AtomicU64,
    job_queue: Mutex<Option<std::sync::mpsc::Sender<(String, u64)>>>,
    /// This server among those sharing a store: `host-pid-nanos`, the owner of its job leases.
    instance: String,
    /// How long this server's job leases last (milliseconds).
    job_lease_ms: std::sync::atomic::AtomicU64,
    /// How often the follower polls a shared store (milliseconds).
    follow_every_ms: std::sync::atomic::AtomicU64,
    /// The memory budget of the open namespaces' indexes in bytes (`index_memory_mb`; 0: none).
    index_budget: std::sync::atomic::AtomicU64,
    writes_refused: Mutex<Option<String>>,
    stopping: std::sync::atomic::AtomicBool,
    ingest_listener: Mutex<Option<IngestListener>>,
    /// Ticks once per `indexes()` call; orders namespaces by recent use.
    use_clock: std::sync::atomic::AtomicU64,
    /// Exact and semantic query caches (keyed on index state and head: never stale).
    cache: crate::query::cache::QueryCache,
    /// Catalog snapshots read ahead of the store's open ([`Engine::open_existing_for`]), taken
    /// by the first `indexes()` of their namespace.
    prefetched: Mutex<HashMap<String, crate::index::CatalogPrefetch>>,
    /// Questions being answered now (see [`crate::query::retrieve::specific`]'s `alone`).
    queries_running: std::sync::atomic::AtomicUsize,
}

/// Called after every ingest with its report (the API counts documents and facts for metrics).
pub type IngestListener = Box<dyn Fn(&IngestReport) + Send + Sync>;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_dir", &self.config.data_dir)
            .finish()
    }
}

/// Opens the store `config` names: PostgreSQL when `store` is a URL, else sled in the data
/// folder.
fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    config.check_store()?;
    #[cfg(feature = "postgres")]
    if let Some(url) = config.postgres_url() {
        let store = crate::store::postgres::PgStore::open(url)?;
        tracing::info!(store = store.shown_url(), "records in PostgreSQL");
        return Ok(Arc::new(store));
    }
    let cache_mb = config.store_cache();
    let store = SledStore::open_cached(&config.store_dir(), cache_mb)?
        .with_min_free_bytes(config.min_free_disk_bytes);
    tracing::debug!(cache_mb, "embedded store opened");
    Ok(Arc::new(store))
}

impl Engine {
    /// Opens (creating if needed) the database in `config.data_dir`.
    pub fn open(config: Config) -> Result<Self> {
        let llm = if config.llm.model.trim().is_empty() {
            None
        } else {
            Some(Arc::new(LlmClient::new(config.llm.clone())?))
        };
        let extractor = make_extractor(&config, None, llm.as_ref())?;
        let embedder = make_embedder(&config)?;
        let summarizer = make_summarizer(&config, llm.as_ref())?;
        let store = open_store(&config)?;
        let index_budget = config.index_memory_mb.saturating_mul(1 << 20);
        Ok(Engine {
            cache: crate::query::cache::QueryCache::new(config.cache.clone()),
            config,
            store,
            namespaces: RwLock::new(HashMap::new()),
            extractor,
            embedder,
            summarizer,
            llm,
            summary_requests: Mutex::new(None),
            summary_passes: std::sync::atomic::AtomicU64::new(0),
            job_queue: Mutex::new(None),
            instance: instance_id(),
            job_lease_ms: std::sync::atomic::AtomicU64::new(jobs::JOB_LEASE.as_millis() as u64),
            follow_every_ms: std::sync::atomic::AtomicU64::new(
                timeline::FOLLOW_EVERY.as_millis() as u64
            ),
            index_budget: std::sync::atomic::AtomicU64::new(index_budget),
            writes_refused: Mutex::new(None),
            stopping: std::sync::atomic::AtomicBool::new(false),
            ingest_listener: Mutex::new(None),
            use_clock: Default::default(),
            prefetched: Mutex::new(HashMap::new()),
            queries_running: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Flushes everything, merges the text segments a bulk load left behind
    /// ([`crate::index::text::TextIndex::merge_after_load`]), closes the database and checkpoints
    /// its log ([`crate::store::checkpoint`]), so that the next open does not replay what this
    /// engine wrote. For bulk writers (the
    /// `ingest` command); a clone of the engine's store still held elsewhere makes the
    /// checkpoint wait for it and then give up with an error.
    pub fn close(self) -> Result<()> {
        self.flush()?;
        // Text segments a bulk load left behind are merged: every later search is faster.
        let open: Vec<Arc<Namespace>> = self.namespaces.read().values().cloned().collect();
        for ns in open {
            if let Err(e) = Self::merge_text(&ns, 2) {
                tracing::warn!(namespace = ns.store.name(), error = %e, "merging text segments failed");
            }
        }
        let dir = self.config.store_dir();
        let sled = self.config.postgres_url().is_none();
        drop(self);
        if sled {
            crate::store::checkpoint(&dir)?;
        }
        Ok(())
    }

    /// Merges a namespace's text segments when it has at least `min_segments` and a merge is
    /// worth it ([`crate::index::text::TextIndex::merge_after_load`]), under the namespace's
    /// writer lock: erase merges the same segments to drop erased text, and two merges of one
    /// segment cannot run at once. A write that arrives meanwhile waits for the merge (about
    /// 2 s on the news store, once per tenth of growth).
    fn merge_text(ns: &Namespace, min_segments: usize) -> Result<()> {
        let _writer = ns.lock_writer();
        let Some(idx) = ns.indexes.read().clone() else {
            return Ok(());
        };
        let t = std::time::Instant::now();
        let merged = idx.text.merge_after_load(min_segments)?;
        if merged > 0 {
            tracing::info!(
                namespace = ns.store.name(),
                segments = merged,
                seconds = t.elapsed().as_secs_f64(),
                "merged text segments"
            );
        }
        Ok(())
    }

    /// After writes settle (the summary worker, having brought summaries up to date): merges
    /// the namespace's text segments if a load left [`IDLE_MERGE_SEGMENTS`] or more (failures
    /// are logged; the index stays as it was).
    pub fn merge_text_when_idle(&self, namespace: &str) {
        let ns = self.namespaces.read().get(namespace).cloned();
        if let Some(ns) = ns
            && let Err(e) = Self::merge_text(&ns, IDLE_MERGE_SEGMENTS)
        {
            tracing::warn!(namespace, error = %e, "merging text segments failed");
        }
    }

    /// Opens an existing database; fails with a clear message when there is none.
    pub fn open_existing(config: Config) -> Result<Self> {
        if config.postgres_url().is_none() && !config.store_dir().exists() {
            return Err(Error::NotFound(format!(
                "no ChronoRAG store in {} (run `chronorag --data {} init` first)",
                config.data_dir.display(),
                config.data_dir.display()
            )));
        }
        Self::open(config)
    }

    /// [`Engine::open_existing`] for a command about one namespace: its catalog snapshot is
    /// read and rebuilt on another thread while the store opens.
    pub fn open_existing_for(config: Config, namespace: &str) -> Result<Self> {
        let dir = config.index_dir(namespace);
        let prefetch = (crate::model::validate_namespace(namespace).is_ok()
            && (config.postgres_url().is_some() || config.store_dir().exists())
            && dir.join("catalog.bin").exists())
        .then(|| crate::index::CatalogPrefetch::start(&dir, namespace));
        let engine = Self::open_existing(config)?;
        if let Some(p) = prefetch {
            engine.prefetched.lock().insert(namespace.to_string(), p);
        }
        Ok(engine)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The shared LLM client, when one is configured.
    pub fn llm(&self) -> Option<&Arc<LlmClient>> {
        self.llm.as_ref()
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    fn wrap(&self, ns: Arc<dyn NsStore>) -> Arc<Namespace> {
        let name = ns.name().to_string();
        if let Some(n) = self.namespaces.read().get(&name) {
            return n.clone();
        }
        self.namespaces
            .write()
            .entry(name)
            .or_insert_with(|| {
                Arc::new(Namespace {
                    store: ns,
                    write_lock: Mutex::new(()),
                    indexes: RwLock::new(None),
                    index_init: Mutex::new(()),
                    last_used: Default::default(),
                    summary_lock: Mutex::new(Default::default()),
                    writes_refused: Mutex::new(None),
                })
            })
            .clone()
    }

    /// An existing namespace; [`Error::NotFound`] when it does not exist.
    pub fn namespace(&self, name: &str) -> Result<Arc<Namespace>> {
        crate::model::validate_namespace(name)?;
        if let Some(n) = self.namespaces.read().get(name) {
            return Ok(n.clone());
        }
        match self.store.namespace(name)? {
            Some(ns) => Ok(self.wrap(ns)),
            None => Err(Error::NotFound(format!(
                "namespace {name:?} does not exist"
            ))),
        }
    }

    /// A namespace, created when missing (namespaces are created on first write).
    pub fn namespace_or_create(&self, name: &str) -> Result<Arc<Namespace>> {
        match self.namespace(name) {
            Err(Error::NotFound(_)) => {
                let max = self.config.max_namespaces;
                if self.store.namespaces()?.len() >= max {
                    return Err(Error::Conflict(format!(
                        "namespace {name:?} cannot be created: the store already holds the \
                         maximum of {max} namespaces (max_namespaces)"
                    )));
                }
                let ns = self.store.create_namespace(name)?;
                Ok(self.wrap(ns))
            }
            other => other,
        }
    }

    /// Names of every namespace.
    pub fn namespace_names(&self) -> Result<Vec<String>> {
        Ok(self
            .store
            .namespaces()?
            .into_iter()
            .map(|n| n.name)
            .collect())
    }

    /// The derived indexes of a namespace, opened (and caught up) on first use. Refuses to open
    /// vectors made by another embedder unless `reembed` is configured.
    pub fn indexes(&self, ns: &Namespace) -> Result<Arc<NsIndexes>> {
        use std::sync::atomic::Ordering::Relaxed;
        ns.last_used
            .store(self.use_clock.fetch_add(1, Relaxed) + 1, Relaxed);
        if let Some(i) = ns.indexes.read().as_ref() {
            return Ok(i.clone());
        }
        let init = ns.index_init.lock();
        if let Some(i) = ns.indexes.read().as_ref() {
            return Ok(i.clone());
        }
        let id = self.embedder.id();
        match ns.store.meta_get(EMBEDDER_META)? {
            Some(v) if v != id.as_bytes() && !self.config.reembed => {
                return Err(Error::Conflict(format!(
                    "namespace {:?} was embedded with {:?} but this service is configured with {:?}; \
                     vectors of two embedders are not comparable. Configure the same embedder, or \
                     re-embed with `chronorag reindex --reembed --namespace {}`",
                    ns.name(),
                    String::from_utf8_lossy(&v),
                    id,
                    ns.name()
                )));
            }
            Some(v) if v == id.as_bytes() => {}
            _ => ns.store.meta_put(EMBEDDER_META, id.as_bytes())?,
        }
        if self.shared_store() {
            // Other servers may have written since this namespace was loaded.
            ns.store.refresh()?;
        }
        let prefetch = self.prefetched.lock().remove(ns.name());
        let idx = Arc::new(NsIndexes::open_prefetched(
            &self.config.index_dir(ns.name()),
            ns.store.as_ref(),
            self.embedder.clone(),
            prefetch,
            crate::index::IndexSettings {
                deterministic: self.config.deterministic_indexes,
                embed_facts: self.config.embed_facts,
            },
        )?);
        *ns.indexes.write() = Some(idx.clone());
        drop(init);
        self.close_idle_indexes(ns.name());
        Ok(idx)
    }

    /// Closes the least recently used idle namespaces' indexes while more than
    /// `max_open_namespaces` are open, or while their estimated memory together exceeds
    /// `index_memory_mb` (never `keep`, never one in use: a writer, a summariser or a reader
    /// holding them). Their state is committed first, so reopening replays nothing.
    fn close_idle_indexes(&self, keep: &str) {
        use std::sync::atomic::Ordering::Relaxed;
        let max = self.config.max_open_namespaces.max(1);
        let budget = self.index_budget.load(Relaxed);
        let mut open: Vec<(Arc<Namespace>, u64)> = self
            .namespaces
            .read()
            .values()
            .filter_map(|n| {
                let idx = n.indexes.read();
                let idx = idx.as_ref()?;
                // Estimating walks the catalog: only with a budget to check.
                let bytes = if budget > 0 { idx.memory_estimate() } else { 0 };
                Some((n.clone(), bytes))
            })
            .collect();
        let mut count = open.len();
        let mut total: u64 = open.iter().map(|(_, b)| b).sum();
        let over = |count: usize, total: u64| count > max || (budget > 0 && total > budget);
        if !over(count, total) {
            return;
        }
        open.retain(|(n, _)| n.name() != keep);
        open.sort_by_key(|(n, _)| n.last_used.load(Relaxed));
        for (ns, bytes) in open {
            if !over(count, total) {
                break;
            }
            let (Some(_writer), Some(_summary)) =
                (ns.write_lock.try_lock(), ns.summary_lock.try_lock())
            else {
                continue;
            };
            let mut slot = ns.indexes.write();
            let Some(idx) = slot.as_ref() else { continue };
            if Arc::strong_count(idx) > 1 {
                continue;
            }
            if let Err(e) = idx.commit(idx.applied_tx(), true) {
                tracing::warn!(
                    "namespace {:?}: indexes kept open, flush failed: {e}",
                    ns.name()
                );
                continue;
            }
            *slot = None;
            count -= 1;
            total -= bytes;
            tracing::debug!(
                "namespace {:?}: idle indexes closed ({bytes} bytes estimated)",
                ns.name()
            );
        }
    }

    /// Sets the indexes' memory budget in bytes (`index_memory_mb` counts in MiB; tests use
    /// namespaces smaller than one).
    #[doc(hidden)]
    pub fn set_index_memory_budget(&self, bytes: u64) {
        self.index_budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The estimated memory of all open namespaces' indexes together (what `index_memory_mb`
    /// budgets).
    pub fn open_index_bytes(&self) -> u64 {
        let open: Vec<Arc<NsIndexes>> = self
            .namespaces
            .read()
            .values()
            .filter_map(|n| n.indexes.read().clone())
            .collect();
        open.iter().map(|i| i.memory_estimate()).sum()
    }

    /// How many namespaces have their indexes open.
    pub fn open_index_count(&self) -> usize {
        self.namespaces
            .read()
            .values()
            .filter(|n| n.indexes.read().is_some())
            .count()
    }

    /// Statistics of the whole store, or of one namespace.
    pub fn stats(&self, namespace: Option<&str>) -> Result<StoreStats> {
        let names = match namespace {
            Some(n) => vec![self.namespace(n)?.name().to_string()],
            None => self.namespace_names()?,
        };
        let mut totals = Stats::default();
        let mut per = std::collections::BTreeMap::new();
        for name in names {
            let s = self.namespace(&name)?.store().stats()?;
            totals.documents += s.documents;
            totals.chunks += s.chunks;
            totals.facts += s.facts;
            totals.entities += s.entities;
            totals.time_nodes += s.time_nodes;
            totals.transactions += s.transactions;
            per.insert(name, s);
        }
        Ok(StoreStats {
            data_dir: self.config.data_dir.display().to_string(),
            schema_version: self.store.schema_version(),
            size_on_disk: self.store.size_on_disk()?,
            totals,
            namespaces: per,
        })
    }

    /// Sizes of a namespace's indexes.
    pub fn index_sizes(&self, namespace: &str) -> Result<IndexSizes> {
        let ns = self.namespace(namespace)?;
        Ok(self.indexes(&ns)?.sizes())
    }

    /// Sizes of a namespace's indexes if they are open (never opens them).
    pub fn open_index_sizes(&self, namespace: &str) -> Option<IndexSizes> {
        let ns = self.namespaces.read().get(namespace).cloned()?;
        ns.indexes.read().as_ref().map(|i| i.sizes())
    }

    /// The configured extractor, or the one named (`rules`, `llm`).
    pub fn extractor(&self, name: Option<&str>) -> Result<Arc<dyn Extractor>> {
        match name {
            None => Ok(self.extractor.clone()),
            Some(n) => make_extractor(&self.config, Some(n), self.llm.as_ref()),
        }
    }

    /// Ingests documents into a namespace (created when missing) as one transaction, with the
    /// configured extractor.
    pub fn ingest(
        &self,
        namespace: &str,
        docs: Vec<PreparedDocument>,
        opts: &IngestOptions,
    ) -> Result<IngestReport> {
        self.ingest_with(namespace, docs, opts, self.extractor.as_ref())
    }

    /// Ingests documents with a given extractor. Extraction runs in parallel outside the writer
    /// lock; resolution and the commit run under it. Nothing changes when every document is a
    /// duplicate (the report then has no `tx`).
    pub fn ingest_with(
        &self,
        namespace: &str,
        docs: Vec<PreparedDocument>,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
    ) -> Result<IngestReport> {
        pipeline::ensure_some(&docs)?;
        self.check_writable()?;
        let batch = Self::stage(docs, opts, extractor)?;
        self.ingest_staged(namespace, batch, opts, extractor)
    }

    /// Ingests a stream of batches in their order, one transaction each, in three stages: a
    /// second thread runs `read` and chunks and extracts each batch it yields
    /// (`Engine::stage`); this one builds each batch's write set while the batch before it
    /// commits on a third ([`crate::ingest::reads`]: the build sees that batch as if committed);
    /// at most one staged batch waits, and one commits, at a time. The result is the same as
    /// ingesting the batches one after the other: a batch whose build no longer matches the
    /// store when it commits (another writer came first, or the batch before it failed) is built
    /// again under the writer lock. A store shared by several servers builds every batch under
    /// the lock.
    ///
    /// `read` hands over items with `emit(docs, tag)` (`docs` None for an item that is only a
    /// `tag`: a rejection, the end of a file), which answers false once the consuming side has
    /// stopped. Before each transaction `proceed` is asked, and the load stops there when it
    /// answers false. `apply` gets each item on this thread with the result of its transaction
    /// (None without documents) and stops the load with `Break`; nothing after that item is
    /// written. Returns false when `proceed` or `apply` stopped the load; whether `read` handed
    /// over everything it had is the caller's to tell.
    pub fn ingest_in_stages<T: Send>(
        &self,
        namespace: &str,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
        read: impl FnOnce(&mut dyn FnMut(Option<Vec<PreparedDocument>>, T) -> bool) + Send,
        proceed: impl Fn() -> bool,
        mut apply: impl FnMut(Option<Result<IngestReport>>, T) -> std::ops::ControlFlow<()>,
    ) -> bool {
        type Staged<T> = (Option<Result<StagedBatch>>, T);
        let (send, receive) = std::sync::mpsc::sync_channel::<Staged<T>>(1);
        let ahead = !self.shared_store();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                read(&mut |docs, tag| {
                    let staged = docs.map(|d| Self::stage(d, opts, extractor));
                    send.send((staged, tag)).is_ok()
                });
            });
            let mut flight: Option<Flight<'_, T>> = None;
            // Leaving the loop drops the receiver, so the reader's next hand-over fails and it
            // stops.
            for (staged, tag) in receive {
                let batch = match staged {
                    // An item without documents (a rejection, the end of a file) waits for the
                    // batch committing before it, which goes on committing meanwhile (a folder of
                    // small files ends a file between most batches).
                    None => {
                        match flight.as_mut() {
                            Some(f) => f.3.push(tag),
                            None => {
                                if apply(None, tag).is_break() {
                                    return false;
                                }
                            }
                        }
                        continue;
                    }
                    Some(Err(e)) => {
                        if land(&mut flight, &mut apply).is_none()
                            || apply(Some(Err(e)), tag).is_break()
                        {
                            return false;
                        }
                        continue;
                    }
                    Some(Ok(batch)) => batch,
                };
                if !proceed() {
                    land(&mut flight, &mut apply);
                    return false;
                }
                // Build against the batch still committing, if any (its failure to build is
                // left to the commit, which builds again under the lock).
                let prev = flight.as_ref().and_then(|f| f.2.as_ref());
                let on = prev.map(|p| p.tx);
                let built = ahead
                    .then(|| self.build_ahead(namespace, &batch, opts, extractor, prev))
                    .and_then(|b| b.ok());
                let Some(landed) = land(&mut flight, &mut apply) else {
                    return false;
                };
                // Kept only when built on the batch before as that batch committed (or on the
                // store, when none was committing); the commit checks the head again.
                let built = built.filter(|_| on.is_none() || landed == on);
                let pending = built.as_ref().map(BuiltAhead::pending);
                let handle = scope
                    .spawn(move || self.commit_staged(namespace, batch, built, opts, extractor));
                flight = Some((handle, tag, pending, Vec::new()));
            }
            land(&mut flight, &mut apply).is_some()
        })
    }

    /// The first half of [`Engine::ingest_with`]: chunks documents and extracts their facts (in
    /// parallel, touching no store); `extractor` and `opts` must be the ones passed to
    /// [`Engine::ingest_staged`].
    fn stage(
        docs: Vec<PreparedDocument>,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
    ) -> Result<StagedBatch> {
        pipeline::ensure_some(&docs)?;
        let t0 = std::time::Instant::now();
        let (staged, rejected) = pipeline::stage(docs, extractor, opts.chunk_chars);
        Ok(StagedBatch {
            staged,
            rejected,
            took: t0.elapsed(),
        })
    }

    /// The second half of [`Engine::ingest_with`]: resolves and commits a staged batch as one
    /// transaction, under the namespace's writer lock.
    fn ingest_staged(
        &self,
        namespace: &str,
        batch: StagedBatch,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
    ) -> Result<IngestReport> {
        self.commit_staged(namespace, batch, None, opts, extractor)
            .0
    }

    /// Builds a staged batch's write set outside the writer lock, for the transaction after
    /// `prev` (the batch committing) or after the store's head.
    fn build_ahead(
        &self,
        namespace: &str,
        batch: &StagedBatch,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
        prev: Option<&crate::ingest::reads::Pending>,
    ) -> Result<BuiltAhead> {
        let ns = self.namespace_or_create(namespace)?;
        let idx = self.indexes(&ns)?;
        let t = std::time::Instant::now();
        let tx = match prev {
            Some(p) => p.tx + 1,
            None => ns.store.head_tx() + 1,
        };
        let built = Self::build_batch(&ns, &idx, tx, &batch.staged, opts, extractor, prev)?;
        Ok(BuiltAhead {
            built,
            idx,
            took: t.elapsed(),
        })
    }

    /// Builds the write set of transaction `tx` from a staged batch (see [`pipeline::build`]).
    fn build_batch(
        ns: &Namespace,
        idx: &NsIndexes,
        tx: TxId,
        staged: &[pipeline::Staged],
        opts: &IngestOptions,
        extractor: &dyn Extractor,
        prev: Option<&crate::ingest::reads::Pending>,
    ) -> Result<pipeline::Built> {
        // Only the filed facts the catalog holds as active and overlapping are read from the
        // store: a slot gathers a fact per period ("Acme reported revenue of # in #"), and
        // reading whole slots grew with the store (a third of the build at 1M facts).
        let slots = |subject: u64, slot: &str, valid: &crate::time::Interval| -> Vec<u64> {
            let hash = crate::model::slot::slot_hash(subject, slot);
            let catalog = idx.catalog.read();
            let mut ids: Vec<u64> = catalog
                .facts_in_slot(hash)
                .iter()
                .copied()
                .filter(|id| {
                    catalog
                        .facts
                        .get(id)
                        .is_none_or(|m| m.active && m.overlaps(valid))
                })
                .collect();
            drop(catalog);
            // The batch committing files its facts after the catalog's (once applied, they are
            // in both); they are all candidates.
            for id in prev.map(|p| p.in_slot(hash)).unwrap_or_default() {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            ids
        };
        let reads = crate::ingest::reads::Reads {
            store: ns.store.as_ref(),
            prev,
        };
        pipeline::build(reads, tx, staged, extractor.name(), opts, &slots)
    }

    /// Commits a staged batch as one transaction under the namespace's writer lock, from the
    /// write set built ahead when it still fits the store's head, else built now. Answers with
    /// the report and, when the write set built ahead was committed, its transaction.
    fn commit_staged(
        &self,
        namespace: &str,
        batch: StagedBatch,
        ahead: Option<BuiltAhead>,
        opts: &IngestOptions,
        extractor: &dyn Extractor,
    ) -> (Result<IngestReport>, Option<TxId>) {
        let mut from_ahead = None;
        let report = (|| {
            self.check_writable()?;
            let ns = self.namespace_or_create(namespace)?;
            self.check_ns_writable(&ns)?;
            let idx = self.indexes(&ns)?;
            let StagedBatch {
                staged,
                rejected,
                took: t_stage,
            } = batch;
            let t0 = std::time::Instant::now() - t_stage;
            let _writer = self.lock_writer_current(&ns, &idx)?;
            let tx = ns.store.head_tx() + 1;
            let (built, t_build) = match ahead {
                Some(a) if a.built.ws.tx == tx => {
                    from_ahead = Some(tx);
                    (a.built, a.took)
                }
                _ => {
                    let t = std::time::Instant::now();
                    let b = Self::build_batch(&ns, &idx, tx, &staged, opts, extractor, None)?;
                    (b, t.elapsed())
                }
            };
            drop(staged);
            let pipeline::Built { ws, mut report, .. } = built;
            report.rejected.extend(rejected);
            if ws.documents.is_empty() {
                return Ok(report);
            }
            let t_build_done = t0.elapsed();
            self.commit_built(
                &ns,
                &idx,
                ws,
                report,
                opts,
                t0,
                (t_stage, t_build, t_build_done),
            )
        })();
        (report, from_ahead)
    }

    /// Commits a built write set; the caller holds the namespace's writer lock.
    #[allow(clippy::too_many_arguments)]
    fn commit_built(
        &self,
        ns: &Namespace,
        idx: &NsIndexes,
        ws: crate::store::WriteSet,
        mut report: IngestReport,
        opts: &IngestOptions,
        t0: std::time::Instant,
        (t_stage, t_build, t_build_done): (
            std::time::Duration,
            std::time::Duration,
            std::time::Duration,
        ),
    ) -> Result<IngestReport> {
        // The new records' vectors are embedded and inserted on the other core while the store
        // commits (the commit is one thread's work); readers cannot see them before the catalog
        // knows their records. A failed commit takes them out again.
        // Once committed, the catalog and the text index take the transaction on this side
        // while the vectors may still be going in; the index state moves on only after both.
        let ahead = idx.ahead_docs(ns.store.as_ref(), &ws)?;
        // On threads of their own, not the thread pool's: a bulk load's next batch is
        // extracted on the pool meanwhile, and a commit queued behind it would wait for it.
        let (committed, (ahead, t_vectors)) = std::thread::scope(|scope| {
            let vectors = scope.spawn(|| {
                let t = std::time::Instant::now();
                (idx.embed_ahead(&ahead), t.elapsed())
            });
            let committed = (|| {
                let t = std::time::Instant::now();
                let (tx, ws) = ns.store.commit_keeping(ws)?;
                let t_store = t.elapsed();
                let records = crate::index::Records::committed(ns.store.as_ref(), &ws);
                let early = idx.apply_early(&records, &tx);
                Ok::<_, Error>((tx, ws, early, t_store, t.elapsed() - t_store))
            })();
            let vectors = vectors.join().unwrap_or_else(|_| {
                (
                    Err(Error::Index("embedding ahead of a commit panicked".into())),
                    std::time::Duration::ZERO,
                )
            });
            (committed, vectors)
        });
        let (committed, stored, early, t_store, t_early) = match committed {
            Ok(c) => c,
            Err(e) => {
                if let Ok(a) = &ahead
                    && let Err(again) = idx.forget_ahead(a)
                {
                    tracing::warn!(error = %again, "removing vectors of a failed commit");
                }
                return Err(e);
            }
        };
        // Vectors that failed to go in ahead are embedded again with the transaction.
        let ahead = ahead.unwrap_or_default();
        let t_commit = t0.elapsed();
        report.tx = Some(committed.id);
        let records = crate::index::Records::committed(ns.store.as_ref(), &stored);
        let applied = early.and_then(|_| idx.apply_late(&records, &committed, &ahead));
        self.after_apply(ns, idx, &committed, opts.commit_indexes, applied)?;
        tracing::debug!(
            "ingest tx {}: extract {:?}, build {:?}, store (with catalog and text, beside the vectors) {:?} (store commit {:?}, catalog and text {:?}; vectors {:?}), indexes {:?}",
            committed.id,
            t_stage,
            t_build,
            t_commit - t_build_done,
            t_store,
            t_early,
            t_vectors,
            t0.elapsed() - t_commit
        );
        self.request_summaries(ns.name());
        self.note_ingest(&report);
        Ok(report)
    }

    /// Sets the function told about every ingest (metrics).
    pub fn set_ingest_listener(&self, f: IngestListener) {
        *self.ingest_listener.lock() = Some(f);
    }

    fn note_ingest(&self, r: &IngestReport) {
        if let Some(f) = self.ingest_listener.lock().as_ref() {
            f(r);
        }
    }

    /// Brings the derived indexes up to a committed transaction.
    ///
    /// If the indexes cannot follow a durable commit, the transaction stays committed. When the
    /// cause is the disk (full or read-only under the index files), the whole engine refuses
    /// further writes (reads keep working) until a restart indexes the transaction. Any other
    /// failure concerns this namespace only: its indexes are rebuilt from the store at once;
    /// if even that fails, this namespace alone refuses writes until a restart or `reindex`.
    fn after_commit(&self, ns: &Namespace, idx: &NsIndexes, tx: &Tx, commit: bool) -> Result<()> {
        let applied = idx.apply(ns.store.as_ref(), tx);
        self.after_apply(ns, idx, tx, commit, applied)
    }

    /// [`Engine::after_commit`] once the indexes have tried to apply `tx` (`applied`).
    fn after_apply(
        &self,
        ns: &Namespace,
        idx: &NsIndexes,
        tx: &Tx,
        commit: bool,
        applied: Result<()>,
    ) -> Result<()> {
        let r = applied.and_then(|_| {
            if commit {
                idx.commit(tx.id, false)
            } else {
                Ok(())
            }
        });
        let Err(e) = r else { return Ok(()) };
        if self.shared_store() && matches!(e, Error::Unavailable(_)) {
            // The shared store could not be read (PostgreSQL restarting, say): nothing is wrong
            // with this server's disk. The transaction is applied again (idempotently) by the
            // next follower pass or write once the store answers.
            idx.catalog.write().applied_tx = tx.id.saturating_sub(1);
            tracing::warn!(
                namespace = ns.name(),
                tx = tx.id,
                error = %e,
                "the indexes could not read a committed transaction from the shared store; \
                 it will be applied when the store answers"
            );
            return Err(Error::Unavailable(format!(
                "transaction {} of namespace {:?} was stored durably, but this server could not \
                 read it back to index it ({e}); it is indexed as soon as the store answers",
                tx.id,
                ns.name()
            )));
        }
        if matches!(e, Error::Unavailable(_) | Error::Io(_)) {
            let why = format!(
                "transaction {} of namespace {:?} was stored durably, but the indexes could not be \
                 updated ({e}); it will be indexed when chronorag restarts with a writable data \
                 folder. Writes are refused until then; reads keep working.",
                tx.id,
                ns.name()
            );
            tracing::error!("{why}");
            *self.writes_refused.lock() = Some(why.clone());
            return Err(Error::Unavailable(why));
        }
        tracing::error!(
            "namespace {:?}: the indexes could not follow transaction {} ({e}); rebuilding them \
             from the store",
            ns.name(),
            tx.id
        );
        match idx.rebuild(ns.store.as_ref(), true, true) {
            Ok(()) => Ok(()),
            Err(again) => {
                let why = format!(
                    "transaction {} of namespace {:?} was stored durably, but its indexes could \
                     not be updated ({e}) nor rebuilt ({again}). Writes to this namespace are \
                     refused until `chronorag reindex --namespace {}` or a restart; reads keep \
                     working.",
                    tx.id,
                    ns.name(),
                    ns.name()
                );
                tracing::error!("{why}");
                *ns.writes_refused.lock() = Some(why.clone());
                Err(Error::Unavailable(why))
            }
        }
    }

    /// True when other processes may write the store too (PostgreSQL).
    pub fn shared_store(&self) -> bool {
        self.config.postgres_url().is_some()
    }

    /// Locks a namespace's writer. With a store shared by several servers, it then brings this
    /// server's view up to the store's head first, so that the write is built on it (a write
    /// built on a stale head would be refused with a conflict).
    fn lock_writer_current<'a>(
        &self,
        ns: &'a Namespace,
        idx: &NsIndexes,
    ) -> Result<parking_lot::MutexGuard<'a, ()>> {
        let guard = ns.lock_writer();
        if self.shared_store() {
            self.apply_others(ns, idx)?;
        }
        Ok(guard)
    }

    /// Reads the store's head again and applies to the indexes the transactions they miss
    /// (committed by another server). The caller holds the namespace's writer lock.
    fn apply_others(&self, ns: &Namespace, idx: &NsIndexes) -> Result<u64> {
        let head = ns.store.refresh()?;
        let mut next = idx.catalog.read().applied_tx + 1;
        let mut applied = 0;
        while next <= head {
            let txs = ns.store.txs(next, head, 256)?;
            let Some(last) = txs.last().map(|t| t.id) else {
                break;
            };
            for tx in &txs {
                self.after_commit(ns, idx, tx, false)?;
                if tx.changes.iter().any(|c| {
                    matches!(
                        c,
                        crate::model::Change::EraseDocument(_)
                            | crate::model::Change::EraseChunk(_)
                            | crate::model::Change::EraseFact(_)
                            | crate::model::Change::RedactChunk(_)
                    )
                }) {
                    // Another server erased or redacted: the summaries it rewrote are indexed
                    // again and the erased text leaves this server's index files too.
                    idx.index_all_summaries(ns.store.as_ref())?;
                    idx.purge(tx.id)?;
                }
                applied += 1;
            }
            next = last + 1;
        }
        if applied > 0 {
            idx.commit(idx.applied_tx(), false)?;
            tracing::debug!(
                namespace = ns.name(),
                applied,
                head,
                "followed the shared store"
            );
            self.request_summaries(ns.name());
        }
        Ok(applied)
    }

    /// Brings every namespace whose indexes are open here up to the shared store's head
    /// (see [`Engine::start_follower`]); returns how many transactions were applied. Nothing
    /// to do with the embedded store.
    pub fn follow_store(&self) -> Result<u64> {
        if !self.shared_store() {
            return Ok(0);
        }
        let open: Vec<(Arc<Namespace>, Arc<NsIndexes>)> = self
            .namespaces
            .read()
            .values()
            .filter_map(|ns| Some((ns.clone(), ns.indexes.read().clone()?)))
            .collect();
        let mut applied = 0;
        for (ns, idx) in open {
            let _writer = ns.lock_writer();
            applied += self.apply_others(&ns, &idx)?;
        }
        Ok(applied)
    }

    /// Fails when writes are refused after an index failure (engine-wide for disk conditions).
    pub fn check_writable(&self) -> Result<()> {
        match self.writes_refused.lock().as_ref() {
            Some(why) => Err(Error::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Fails when writes to this namespace are refused (engine-wide or for it alone).
    fn check_ns_writable(&self, ns: &Namespace) -> Result<()> {
        self.check_writable()?;
        match ns.writes_refused.lock().as_ref() {
            Some(why) => Err(Error::Unavailable(why.clone())),
            None => Ok(()),
        }
    }

    /// Rebuilds a namespace's indexes from the store (text and vectors; the graph is always
    /// rebuilt on open). With `reembed`, also accepts a change of embedder.
    pub fn reindex(&self, namespace: &str, reembed: bool) -> Result<IndexSizes> {
        let ns = self.namespace(namespace)?;
        if reembed {
            ns.store
                .meta_put(EMBEDDER_META, self.embedder.id().as_bytes())?;
        }
        let idx = self.indexes(&ns)?;
        let _writer = ns.lock_writer();
        idx.reload_catalog(ns.store.as_ref())?;
        idx.rebuild(ns.store.as_ref(), true, true)?;
        *ns.writes_refused.lock() = None;
        Ok(idx.sizes())
    }

    /// Checks an `as_of` read against the namespace's head (`head`, as this server knows it).
    /// With a shared store, a transaction after it may have been committed by another server
    /// moments ago (a client passing on the `tx` a write returned): this server catches up
    /// first, so such a read sees that write. Fails with [`Error::Invalid`] when `as_of` is
    /// still after the head.
    pub fn check_as_of(&self, head: TxId, as_of: Option<TxId>, namespace: &str) -> Result<()> {
        let Some(t) = as_of else { return Ok(()) };
        if t <= head {
            return Ok(());
        }
        let head = if self.shared_store() {
            self.catch_up(namespace)?
        } else {
            head
        };
        if t > head {
            return Err(Error::invalid(format!(
                "as_of_tx {t} is after the latest transaction ({head}) of namespace \
                 {namespace:?}; ask for {head} or an earlier one, or leave as_of_tx out to read \
                 the latest state"
            )));
        }
        Ok(())
    }

    /// Brings one namespace up to the shared store's head now (its indexes too, when open)
    /// instead of at the follower's next round; returns the head.
    fn catch_up(&self, namespace: &str) -> Result<TxId> {
        let ns = self.namespace(namespace)?;
        let _writer = ns.lock_writer();
        let idx = ns.indexes.read().clone();
        match idx {
            Some(idx) => {
                self.apply_others(&ns, &idx)?;
            }
            None => {
                ns.store.refresh()?;
            }
        }
        Ok(ns.store.head_tx())
    }

    /// Flushes everything to disk (store and index checkpoints).
    pub fn flush(&self) -> Result<()> {
        self.store.flush()?;
        let open: Vec<Arc<Namespace>> = self.namespaces.read().values().cloned().collect();
        for ns in open {
            let _writer = ns.lock_writer();
            let idx = ns.indexes.read().clone();
            if let Some(idx) = idx {
                idx.commit(idx.applied_tx(), true)?;
            }
        }
        Ok(())
    }
}

fn need_llm(llm: Option<&Arc<LlmClient>>, what: &str) -> Result<Arc<LlmClient>> {
    llm.cloned().ok_or_else(|| {
        Error::Config(format!(
            "{what} needs an LLM: set [llm] base_url and model in the config file \
             (any OpenAI-compatible endpoint: Ollama, vLLM, llama.cpp server, OpenAI)"
        ))
    })
}

fn make_extractor(
    config: &Config,
    name: Option<&str>,
    llm: Option<&Arc<LlmClient>>,
) -> Result<Arc<dyn Extractor>> {
    match name.unwrap_or(config.extractor.as_str()) {
        "rules" => Ok(Arc::new(RulesExtractor)),
        "llm" => Ok(Arc::new(LlmExtractor::new(need_llm(
            llm,
            "extractor = \"llm\"",
        )?))),
        other => Err(Error::Config(format!(
            "unknown extractor {other:?} (available: rules, llm)"
        ))),
    }
}

fn make_embedder(config: &Config) -> Result<Arc<dyn Embedder>> {
    match config.embedder.as_str() {
        "hash" => Ok(Arc::new(HashEmbedder::default())),
        #[cfg(feature = "minilm")]
        "minilm" => Ok(Arc::new(crate::embed::minilm::MiniLmEmbedder::load(
            &config.minilm_dir,
        )?)),
        #[cfg(not(feature = "minilm"))]
        "minilm" => Err(Error::Config(
            "embedder \"minilm\" is not in this build: build with `cargo build --release \
             --features minilm` (and install the model with scripts/install-model.sh), or use \
             embedder = \"hash\" or \"openai\""
                .into(),
        )),
        "openai" => Ok(Arc::new(OpenAiEmbedder::new(config.openai_embed.clone())?)),
        other => Err(Error::Config(format!(
            "unknown embedder {other:?} (available: hash, minilm, openai)"
        ))),
    }
}

fn make_summarizer(config: &Config, llm: Option<&Arc<LlmClient>>) -> Result<Arc<dyn Summarizer>> {
    match config.summarizer.as_str() {
        "extractive" => Ok(Arc::new(Extractive)),
        "llm" => Ok(Arc::new(crate::summary::llm::LlmSummarizer::new(need_llm(
            llm,
            "summarizer = \"llm\"",
        )?))),
        other => Err(Error::Config(format!(
            "unknown summarizer {other:?} (available: extractive, llm)"
        ))),
    }
}

/// The batch committing in [`Engine::ingest_in_stages`]: its commit (which answers with the
/// transaction it committed from the write set built ahead, if it did), its item, what it
/// writes, and the items without documents that came after it (handed over after it).
type Flight<'s, T> = (
    std::thread::ScopedJoinHandle<'s, (Result<IngestReport>, Option<TxId>)>,
    T,
    Option<crate::ingest::reads::Pending>,
    Vec<T>,
);

/// Waits for the batch committing, if any, and hands its result to `apply`. None when `apply`
/// stops the load; else the transaction it committed from the write set built ahead, if it did.
fn land<T>(
    flight: &mut Option<Flight<'_, T>>,
    apply: &mut impl FnMut(Option<Result<IngestReport>>, T) -> std::ops::ControlFlow<()>,
) -> Option<Option<TxId>> {
    let Some((handle, tag, _, after)) = flight.take() else {
        return Some(None);
    };
    let (report, built_tx) = handle
        .join()
        .unwrap_or_else(|_| (Err(Error::Store("an ingest commit panicked".into())), None));
    if apply(Some(report), tag).is_break() {
        return None;
    }
    for tag in after {
        if apply(None, tag).is_break() {
            return None;
        }
    }
    Some(built_tx)
}

/// Documents chunked and extracted by [`Engine::stage`], ready for [`Engine::ingest_staged`].
#[derive(Debug)]
struct StagedBatch {
    staged: Vec<pipeline::Staged>,
    rejected: Vec<crate::ingest::Rejected>,
    took: std::time::Duration,
}

/// A batch's write set built outside the writer lock while the batch before it committed
/// ([`Engine::ingest_in_stages`]).
struct BuiltAhead {
    built: pipeline::Built,
    /// The indexes it was built with (their catalog names the entities it does not carry).
    idx: Arc<NsIndexes>,
    took: std::time::Duration,
}

impl BuiltAhead {
    /// What it writes, for building the batch after it while it commits.
    /// Taken once the batch before it has landed, so the catalog knows that batch's entities.
    fn pending(&self) -> crate::ingest::reads::Pending {
        let cat = self.idx.catalog.read();
        let name = |id: crate::model::EntityId| cat.entities.get(&id).map(|e| e.name.clone());
        crate::ingest::reads::Pending::of(&self.built.ws, &name)
    }
}
