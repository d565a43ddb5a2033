//! The embedded backend on sled 0.34.7: one sled tree per namespace (keys in [`super::keys`]),
//! plus a `sys` tree for the schema version, the migration log and the namespace registry.
//!
//! Atomicity: a transaction is one `Tree::apply_batch`, which sled applies all-or-nothing, also
//! across a crash. Durability: `WriteSet::durable` flushes the log before `commit` returns.
//! Visibility: readers never see a record version newer than the published head, because every
//! versioned read resolves against a snapshot transaction id.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::Utc;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::commit::{self, AuditHead};
use super::keys::{self, Key, LONG_SPAN_DAYS, id_key, id2_key, summary_key, tag};
use super::migrations::{self, MigrationRecord};
use super::{
    AuditVerify, FactCursor, FactScan, IdKind, NamespaceInfo, NsStore, Page, Stats, Store, WriteSet,
};
use crate::model::{
    AuditEntry, Chunk, ChunkId, Counts, DocId, Document, Entity, EntityId, Fact, FactId,
    FactObject, Status, Summary, TimeNode, Tx, TxId, normalize_name,
};
use crate::time::TimeKey;
use crate::{Error, Result};

const SYS_TREE: &str = "sys";
const NS_PREFIX: &str = "ns/";

/// The sled-backed [`Store`].
pub struct SledStore {
    handles: Arc<RwLock<Handles>>,
    path: PathBuf,
    schema_version: u32,
    namespaces: RwLock<HashMap<String, Arc<SledNs>>>,
    /// Serialises namespace creation with compaction.
    admin_lock: Mutex<()>,
    guards: RwLock<Arc<Guards>>,
}

/// The open sled database. Compaction replaces it (under every writer's lock); readers holding
/// a tree clone finish on the old one.
struct Handles {
    db: sled::Db,
    sys: sled::Tree,
    trees: HashMap<String, sled::Tree>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Bytes free for unprivileged users on the file system holding `path` (None when unknown).
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Write guards shared by a store and its namespaces.
#[derive(Debug)]
struct Guards {
    /// The store folder (for free-space checks).
    path: PathBuf,
    /// Writes are refused when less than this is free.
    min_free_bytes: u64,
    /// Set after a write failed in the storage layer: sled does not recover from that in-process,
    /// so writes are refused until a restart (reads keep working).
    failed: AtomicBool,
}

impl Guards {
    fn check(&self) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Error::Unavailable(
                "an earlier write failed in the storage layer (disk full or read-only?); \
                 writes are refused until chronorag is restarted with a writable data folder \
                 that has space. Reads keep working; nothing acknowledged was lost."
                    .into(),
            ));
        }
        if self.min_free_bytes > 0
            && let Some(free) = free_bytes(&self.path)
            && free < self.min_free_bytes
        {
            return Err(Error::Unavailable(format!(
                "the disk holding {} is nearly full ({} bytes free, {} required): writes are \
                 refused until space is freed; reads keep working",
                self.path.display(),
                free,
                self.min_free_bytes
            )));
        }
        Ok(())
    }

    /// Marks the store failed when a write error came from the storage layer.
    fn note(&self, e: Error) -> Error {
        if matches!(e, Error::Unavailable(_) | Error::Io(_) | Error::Store(_)) {
            self.failed.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "a write failed; refusing writes until restart");
        }
        e
    }
}

impl SledStore {
    /// Opens (or creates) the store in `path`, applying pending migrations. Fails with
    /// [`Error::SchemaTooNew`] when the store was written by a newer binary.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, migrations::MIGRATIONS)
    }

    /// Refuses writes when less than `bytes` are free on the store's disk (0 = never).
    pub fn with_min_free_bytes(self, bytes: u64) -> Self {
        let guards = Arc::new(Guards {
            path: self.path.clone(),
            min_free_bytes: bytes,
            failed: AtomicBool::new(false),
        });
        for ns in self.namespaces.read().values() {
            *ns.guards.write() = guards.clone();
        }
        *self.guards.write() = guards;
        self
    }

    /// Opens with an explicit migration list (used by tests of the migrations runner).
    pub fn open_with(path: &Path, migrations: &[migrations::Migration]) -> Result<Self> {
        recover_compaction(path)?;
        std::fs::create_dir_all(path).map_err(|e| {
            Error::Unavailable(format!("cannot create data folder {}: {e}", path.display()))
        })?;
        let db = open_db(path)?;
        let sys = db.open_tree(SYS_TREE)?;
        let schema_version = migrations::run(&db, &sys, path, migrations)?;
        let store = SledStore {
            handles: Arc::new(RwLock::new(Handles {
                db,
                sys,
                trees: HashMap::new(),
            })),
            path: path.to_path_buf(),
            schema_version,
            namespaces: RwLock::new(HashMap::new()),
            admin_lock: Mutex::new(()),
            guards: RwLock::new(Arc::new(Guards {
                path: path.to_path_buf(),
                min_free_bytes: 0,
                failed: AtomicBool::new(false),
            })),
        };
        for info in store.namespaces()? {
            store.load_ns(&info.name)?;
        }
        Ok(store)
    }

    fn load_ns(&self, name: &str) -> Result<Arc<SledNs>> {
        if let Some(ns) = self.namespaces.read().get(name) {
            return Ok(ns.clone());
        }
        let mut map = self.namespaces.write();
        if let Some(ns) = map.get(name) {
            return Ok(ns.clone());
        }
        let ns = Arc::new(SledNs::load(
            name.to_string(),
            self.handles.clone(),
            self.guards.read().clone(),
        )?);
        map.insert(name.to_string(), ns.clone());
        Ok(ns)
    }
}

/// How long opening waits for the folder's lock to be released: a store dropped in this
/// process (or a process that just exited) lets go of it only when sled's flusher thread,
/// which wakes every 500 ms, notices.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens and closes the sled database at `path` (not open elsewhere): sled replays the log
/// written since its last snapshot whenever a database opens, and writes a new snapshot then.
/// After a bulk load that replay is most of the next open (1M facts: 2.7 s against 0.35 s);
/// calling this when a bulk writer closes pays it there instead.
pub fn checkpoint(path: &Path) -> Result<()> {
    let db = open_db(path)?;
    db.flush()?;
    drop(db);
    Ok(())
}

/// Opens the sled database in `path`, waiting up to [`LOCK_WAIT`] for its lock.
pub(crate) fn open_db(path: &Path) -> Result<sled::Db> {
    let start = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .open()
        {
            Ok(db) => return Ok(db),
            Err(e) => {
                let err = open_error(path, e);
                let locked =
                    matches!(&err, Error::Unavailable(m) if m.contains("in use by another"));
                if !locked || start.elapsed() >= LOCK_WAIT {
                    return Err(err);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

fn open_error(path: &Path, e: sled::Error) -> Error {
    let msg = e.to_string();
    if msg.contains("lock") || msg.contains("WouldBlock") || msg.contains("temporarily unavailable")
    {
        Error::Unavailable(format!(
            "the data folder {} is in use by another chronorag process",
            path.display()
        ))
    } else {
        match e {
            sled::Error::Io(io) => {
                Error::Unavailable(format!("cannot open the store in {}: {io}", path.display()))
            }
            other => Error::Store(format!(
                "cannot open the store in {}: {other}",
                path.display()
            )),
        }
    }
}

/// Sibling folders used while compacting (see [`SledStore::compact`]).
fn compact_dirs(path: &Path) -> (PathBuf, PathBuf) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (
        path.with_file_name(format!("{name}.compact-new")),
        path.with_file_name(format!("{name}.compact-old")),
    )
}

/// Writes every tree of `db` into a new database at `to` (compaction and backup; the caller
/// holds the locks that keep writers out).
fn copy_db(db: &sled::Db, to: &Path) -> Result<()> {
    db.flush()?;
    let fresh = sled::Config::new()
        .path(to)
        .cache_capacity(64 * 1024 * 1024)
        .open()?;
    fresh.import(db.export());
    fresh.flush()?;
    Ok(())
}

/// Finishes or discards a compaction interrupted by a crash: a complete new copy replaces a
/// missing store; an incomplete copy and a leftover old copy are removed.
fn recover_compaction(path: &Path) -> Result<()> {
    let (new, old) = compact_dirs(path);
    let complete = new.join("COMPLETE").exists();
    if new.exists() {
        if !path.exists() && complete {
            std::fs::remove_file(new.join("COMPLETE"))?;
            std::fs::rename(&new, path)?;
            tracing::warn!(path = %path.display(), "finished an interrupted compaction");
        } else {
            std::fs::remove_dir_all(&new)?;
        }
    }
    if old.exists() && path.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

impl SledStore {
    fn db(&self) -> sled::Db {
        self.handles.read().db.clone()
    }

    fn sys(&self) -> sled::Tree {
        self.handles.read().sys.clone()
    }
}

impl Store for SledStore {
    fn namespaces(&self) -> Result<Vec<NamespaceInfo>> {
        let mut out = Vec::new();
        for kv in self.sys().scan_prefix(NS_PREFIX.as_bytes()) {
            let (_, v) = kv?;
            out.push(serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    fn namespace(&self, name: &str) -> Result<Option<Arc<dyn NsStore>>> {
        crate::model::validate_namespace(name)?;
        if self
            .sys()
            .get(format!("{NS_PREFIX}{name}").as_bytes())?
            .is_none()
        {
            return Ok(None);
        }
        Ok(Some(self.load_ns(name)?))
    }

    fn create_namespace(&self, name: &str) -> Result<Arc<dyn NsStore>> {
        crate::model::validate_namespace(name)?;
        let _admin = self.admin_lock.lock();
        let key = format!("{NS_PREFIX}{name}");
        if self.sys().get(key.as_bytes())?.is_none() {
            let info = NamespaceInfo {
                name: name.to_string(),
                created_at: Utc::now(),
            };
            // Create the tree first: a namespace is listed only once its tree exists.
            self.db().open_tree(format!("{NS_PREFIX}{name}"))?;
            let _ = self.sys().compare_and_swap(
                key.as_bytes(),
                None as Option<&[u8]>,
                Some(serde_json::to_vec(&info)?),
            )?;
            self.db().flush()?;
        }
        Ok(self.load_ns(name)?)
    }

    fn schema_version(&self) -> u32 {
        self.schema_version
    }

    fn migrations(&self) -> Result<Vec<MigrationRecord>> {
        migrations::applied(&self.sys())
    }

    fn flush(&self) -> Result<()> {
        self.db().flush()?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db().size_on_disk()?)
    }

    fn compact(&self) -> Result<(u64, u64)> {
        let _admin = self.admin_lock.lock();
        let namespaces: Vec<Arc<SledNs>> = {
            let map = self.namespaces.read();
            let mut v: Vec<_> = map.values().cloned().collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        };
        // Every writer waits; readers keep reading the old database until the swap.
        let _writers: Vec<_> = namespaces.iter().map(|n| n.commit_lock.lock()).collect();
        let before = self.db().size_on_disk()?;
        let (new_dir, old_dir) = compact_dirs(&self.path);
        if new_dir.exists() {
            std::fs::remove_dir_all(&new_dir)?;
        }
        copy_db(&self.db(), &new_dir)?;
        std::fs::write(new_dir.join("COMPLETE"), b"")?;
        // Swap: the old folder moves aside, the copy takes its place, handles switch over.
        std::fs::rename(&self.path, &old_dir)?;
        std::fs::remove_file(new_dir.join("COMPLETE"))?;
        std::fs::rename(&new_dir, &self.path)?;
        let db = open_db(&self.path)?;
        let sys = db.open_tree(SYS_TREE)?;
        let mut trees = HashMap::new();
        for ns in &namespaces {
            trees.insert(
                ns.name.clone(),
                db.open_tree(format!("{NS_PREFIX}{}", ns.name))?,
            );
        }
        let after = db.size_on_disk()?;
        *self.handles.write() = Handles { db, sys, trees };
        std::fs::remove_dir_all(&old_dir)?;
        Ok((before, after))
    }

    fn backup(&self, dest: &Path) -> Result<std::collections::BTreeMap<String, TxId>> {
        if dest.exists() {
            return Err(Error::invalid(format!(
                "backup destination {} already exists: give a new folder",
                dest.display()
            )));
        }
        // No namespace is created and no transaction commits while the copy is made, so the
        // copy is one state of the store; readers keep reading.
        let _admin = self.admin_lock.lock();
        let names: Vec<String> = self.namespaces()?.into_iter().map(|n| n.name).collect();
        let loaded: Vec<Arc<SledNs>> = names
            .iter()
            .map(|n| self.load_ns(n))
            .collect::<Result<_>>()?;
        let _writers: Vec<_> = loaded.iter().map(|n| n.commit_lock.lock()).collect();
        let heads = loaded
            .iter()
            .map(|n| (n.name.clone(), n.head_tx()))
            .collect();
        let partial = dest.with_file_name(format!(
            "{}.partial",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        if let Err(e) = copy_db(&self.db(), &partial) {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
        // Complete copies only appear under the destination's name.
        std::fs::rename(&partial, dest)?;
        Ok(heads)
    }
}

/// One namespace on sled.
pub struct SledNs {
    name: String,
    handles: Arc<RwLock<Handles>>,
    guards: RwLock<Arc<Guards>>,
    head: AtomicU64,
    next_ids: [AtomicU64; 6],
    commit_lock: Mutex<AuditHead>,
}

const ID_NAMES: [&str; 6] = [
    "next_doc",
    "next_chunk",
    "next_entity",
    "next_fact",
    "next_job",
    "next_conflict",
];
const STAT_NAMES: [&str; 5] = [
    "count_documents",
    "count_chunks",
    "count_facts",
    "count_entities",
    "count_time_nodes",
];

fn id_slot(kind: IdKind) -> usize {
    match kind {
        IdKind::Document => 0,
        IdKind::Chunk => 1,
        IdKind::Entity => 2,
        IdKind::Fact => 3,
        IdKind::Job => 4,
        IdKind::Conflict => 5,
    }
}

fn meta_key(name: &str) -> Vec<u8> {
    Key::new(tag::META).str(name).build()
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(v)?)
}

fn dec<T: DeserializeOwned>(b: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(b)?)
}

fn u64_val(v: Option<sled::IVec>) -> u64 {
    v.map(|b| keys::u64_from(&b)).unwrap_or(0)
}

/// Stat deltas of one commit, in the order of [`STAT_NAMES`].
type StatDelta = [i64; 5];

impl SledNs {
    /// The namespace's tree in the current database.
    fn tree(&self) -> sled::Tree {
        self.handles.read().trees[&self.name].clone()
    }

    fn db(&self) -> sled::Db {
        self.handles.read().db.clone()
    }

    fn load(name: String, handles: Arc<RwLock<Handles>>, guards: Arc<Guards>) -> Result<Self> {
        let tree = {
            let mut h = handles.write();
            let t = h.db.open_tree(format!("{NS_PREFIX}{name}"))?;
            h.trees.insert(name.clone(), t.clone());
            t
        };
        let head = u64_val(tree.get(meta_key("head_tx"))?);
        let next_ids = [
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[0]))?).max(1)),
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[1]))?).max(1)),
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[2]))?).max(1)),
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[3]))?).max(1)),
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[4]))?).max(1)),
            AtomicU64::new(u64_val(tree.get(meta_key(ID_NAMES[5]))?).max(1)),
        ];
        let audit_head = match tree.scan_prefix([tag::AUDIT]).next_back() {
            Some(kv) => {
                let (_, v) = kv?;
                let e: AuditEntry = dec(&v)?;
                AuditHead {
                    seq: e.seq,
                    hash: e.hash,
                }
            }
            None => AuditHead::default(),
        };
        Ok(SledNs {
            name,
            handles,
            guards: RwLock::new(guards),
            head: AtomicU64::new(head),
            next_ids,
            commit_lock: Mutex::new(audit_head),
        })
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.tree().get(key)? {
            Some(v) => Ok(Some(dec(&v)?)),
            None => Ok(None),
        }
    }

    /// The version of a versioned record visible at `as_of`: the current one when it is not newer,
    /// else the newest history version with tx <= as_of.
    fn versioned<T: DeserializeOwned>(
        &self,
        cur_tag: u8,
        hist_tag: u8,
        id: u64,
        as_of: Option<TxId>,
        updated: impl Fn(&T) -> TxId,
    ) -> Result<Option<T>> {
        let cur: Option<T> = self.get(&id_key(cur_tag, id))?;
        let snapshot = as_of.unwrap_or(u64::MAX).min(self.head_tx());
        match cur {
            Some(c) if updated(&c) <= snapshot => Ok(Some(c)),
            Some(_) | None => {
                // Newer than the snapshot (or erased): look in history.
                let lo = id2_key(hist_tag, id, 0);
                let hi = id2_key(hist_tag, id, snapshot);
                match self.tree().range(lo..=hi).next_back() {
                    Some(kv) => Ok(Some(dec(&kv?.1)?)),
                    None => Ok(None),
                }
            }
        }
    }

    fn stat(&self, i: usize) -> Result<u64> {
        Ok(u64_val(self.tree().get(meta_key(STAT_NAMES[i]))?))
    }

    fn write_versioned(
        &self,
        batch: &mut sled::Batch,
        cur_tag: u8,
        hist_tag: u8,
        id: u64,
        new: Vec<u8>,
        old: Option<(&sled::IVec, TxId)>,
    ) {
        if let Some((old_bytes, old_tx)) = old {
            batch.insert(id2_key(hist_tag, id, old_tx), old_bytes.as_ref());
        }
        batch.insert(id_key(cur_tag, id), new);
    }

    fn remove_prefix(&self, batch: &mut sled::Batch, prefix: &[u8]) -> Result<u64> {
        let mut n = 0;
        for kv in self.tree().scan_prefix(prefix) {
            let (k, _) = kv?;
            batch.remove(k);
            n += 1;
        }
        Ok(n)
    }

    fn fact_time_keys(f: &Fact) -> (i32, i32, bool) {
        let s = f.valid.start_key();
        let e = f.valid.end_key();
        let long = f.valid.start.is_none()
            || f.valid.end.is_none()
            || f.valid.days().is_none_or(|d| d > LONG_SPAN_DAYS as i64);
        (s, e, long)
    }

    fn fact_entities(f: &Fact) -> Vec<EntityId> {
        let mut v = vec![f.subject];
        if let FactObject::Entity(o) = f.object
            && o != f.subject
        {
            v.push(o);
        }
        v
    }

    fn commit_inner(&self, mut ws: WriteSet, audit: &mut AuditHead) -> Result<Tx> {
        let tx = ws.tx;
        let mut batch = sled::Batch::default();
        let mut delta: StatDelta = [0; 5];
        let active = |s: Status| i64::from(s == Status::Active);

        for d in &mut ws.documents {
            d.updated_tx = tx;
            let old = self.tree().get(id_key(tag::DOC, d.id))?;
            let old_doc: Option<Document> = old.as_ref().map(|b| dec(b)).transpose()?;
            let was = old_doc.as_ref().map(|o| active(o.status)).unwrap_or(0);
            delta[0] += active(d.status) - was;
            delta[1] += (active(d.status) - was) * d.chunks.len() as i64;
            if old_doc.is_none() {
                batch.insert(
                    Key::new(tag::DOC_HASH).str(&d.content_hash).build(),
                    &d.id.to_be_bytes(),
                );
                batch.insert(
                    Key::new(tag::DOC_EXT).str(&d.external_id).build(),
                    &d.id.to_be_bytes(),
                );
            }
            let old_pair = old.as_ref().zip(old_doc.as_ref().map(|o| o.updated_tx));
            self.write_versioned(&mut batch, tag::DOC, tag::DOC_HIST, d.id, enc(d)?, old_pair);
        }
        for c in &ws.chunks {
            batch.insert(id_key(tag::CHUNK, c.id), enc(c)?);
        }
        for e in &mut ws.entities {
            e.updated_tx = tx;
            let old = self.tree().get(id_key(tag::ENT, e.id))?;
            let old_e: Option<Entity> = old.as_ref().map(|b| dec(b)).transpose()?;
            delta[3] += active(e.status) - old_e.as_ref().map(|o| active(o.status)).unwrap_or(0);
            if e.status == Status::Active {
                for name in e.names() {
                    let n = normalize_name(name);
                    if !n.is_empty() {
                        batch.insert(
                            Key::new(tag::ENT_ALIAS).str(&n).build(),
                            &e.id.to_be_bytes(),
                        );
                    }
                }
            }
            let old_pair = old.as_ref().zip(old_e.as_ref().map(|o| o.updated_tx));
            self.write_versioned(&mut batch, tag::ENT, tag::ENT_HIST, e.id, enc(e)?, old_pair);
        }
        for f in &mut ws.facts {
            f.updated_tx = tx;
            let old = self.tree().get(id_key(tag::FACT, f.id))?;
            let old_f: Option<Fact> = old.as_ref().map(|b| dec(b)).transpose()?;
            delta[2] += active(f.status) - old_f.as_ref().map(|o| active(o.status)).unwrap_or(0);
            let (s, e, long) = Self::fact_time_keys(f);
            let old_sources: BTreeSet<ChunkId> = old_f
                .as_ref()
                .map(|o| o.sources.iter().copied().collect())
                .unwrap_or_default();
            if old_f.is_none() {
                batch.insert(
                    Key::new(tag::FACT_KEY).bytes(&f.identity()).build(),
                    &f.id.to_be_bytes(),
                );
                batch.insert(
                    Key::new(tag::FACT_TIME).i32(s).u64(f.id).build(),
                    &keys::i32_key(e),
                );
                if long {
                    batch.insert(id_key(tag::FACT_LONG, f.id), &[]);
                }
                for ent in Self::fact_entities(f) {
                    batch.insert(
                        Key::new(tag::FACT_ENT).u64(ent).i32(s).u64(f.id).build(),
                        &keys::i32_key(e),
                    );
                }
            }
            for src in &f.sources {
                if !old_sources.contains(src) {
                    batch.insert(id2_key(tag::FACT_CHUNK, *src, f.id), &[]);
                }
            }
            batch.insert(id2_key(tag::FACT_TX, tx, f.id), &[]);
            let old_pair = old.as_ref().zip(old_f.as_ref().map(|o| o.updated_tx));
            self.write_versioned(
                &mut batch,
                tag::FACT,
                tag::FACT_HIST,
                f.id,
                enc(f)?,
                old_pair,
            );
        }
        for n in &ws.nodes {
            let k = Key::new(tag::NODE).str(&n.key.to_string()).build();
            if !self.tree().contains_key(&k)? {
                delta[4] += 1;
            }
            batch.insert(k, enc(n)?);
        }
        let dirty = commit::dirtied(&ws);
        for k in &dirty {
            batch.insert(
                Key::new(tag::DIRTY).str(&k.to_string()).build(),
                &tx.to_be_bytes(),
            );
        }
        for c in &ws.conflicts {
            batch.insert(id_key(tag::CONFLICT, c.id), enc(c)?);
        }
        for c in &ws.chunk_rewrites {
            batch.insert(id_key(tag::CHUNK, c.id), enc(c)?);
        }
        for s in &ws.summary_rewrites {
            batch.insert(summary_key(&s.node.to_string(), s.reflects_tx), enc(s)?);
        }
        let erased = self.erase_into(&mut batch, &ws, &mut delta)?;
        let commit::Sealed {
            tx: record,
            audit: entry,
        } = commit::seal(&mut ws, &dirty, erased, audit);
        batch.insert(id_key(tag::TX, tx), enc(&record)?);
        batch.insert(id_key(tag::AUDIT, entry.seq), enc(&entry)?);

        batch.insert(meta_key("head_tx"), &tx.to_be_bytes());
        for (i, name) in ID_NAMES.iter().enumerate() {
            batch.insert(
                meta_key(name),
                &self.next_ids[i].load(Ordering::SeqCst).to_be_bytes(),
            );
        }
        for (i, name) in STAT_NAMES.iter().enumerate() {
            if delta[i] != 0 {
                let v = (self.stat(i)? as i64 + delta[i]).max(0) as u64;
                batch.insert(meta_key(name), &v.to_be_bytes());
            }
        }

        self.tree().apply_batch(batch)?;
        if ws.durable {
            self.db().flush()?;
        }
        self.head.store(tx, Ordering::SeqCst);
        audit.advance(&entry);
        Ok(record)
    }

    /// Physical removal: every version and every key derived from the erased records.
    fn erase_into(
        &self,
        batch: &mut sled::Batch,
        ws: &WriteSet,
        delta: &mut StatDelta,
    ) -> Result<u64> {
        let mut n = 0;
        for &id in &ws.erase.facts {
            if let Some(f) = self.get::<Fact>(&id_key(tag::FACT, id))? {
                if f.status == Status::Active {
                    delta[2] -= 1;
                }
                let (s, _, _) = Self::fact_time_keys(&f);
                batch.remove(Key::new(tag::FACT_KEY).bytes(&f.identity()).build());
                batch.remove(Key::new(tag::FACT_TIME).i32(s).u64(id).build());
                batch.remove(id_key(tag::FACT_LONG, id));
                for ent in Self::fact_entities(&f) {
                    batch.remove(Key::new(tag::FACT_ENT).u64(ent).i32(s).u64(id).build());
                }
                for src in &f.sources {
                    batch.remove(id2_key(tag::FACT_CHUNK, *src, id));
                }
            }
            // History versions may cite other sources: drop their chunk links too.
            for kv in self.tree().scan_prefix(id_key(tag::FACT_HIST, id)) {
                let (k, v) = kv?;
                let old: Fact = dec(&v)?;
                for src in &old.sources {
                    batch.remove(id2_key(tag::FACT_CHUNK, *src, id));
                }
                batch.remove(k);
            }
            batch.remove(id_key(tag::FACT, id));
            n += 1;
        }
        for &id in &ws.erase.chunks {
            batch.remove(id_key(tag::CHUNK, id));
            n += 1;
        }
        for &id in &ws.erase.documents {
            if let Some(d) = self.get::<Document>(&id_key(tag::DOC, id))? {
                if d.status == Status::Active {
                    delta[0] -= 1;
                    delta[1] -= d.chunks.len() as i64;
                }
                batch.remove(Key::new(tag::DOC_HASH).str(&d.content_hash).build());
                batch.remove(Key::new(tag::DOC_EXT).str(&d.external_id).build());
            }
            n += self.remove_prefix(batch, &id_key(tag::DOC_HIST, id))?;
            batch.remove(id_key(tag::DOC, id));
            n += 1;
        }
        for &id in &ws.erase.entities {
            let mut names = BTreeSet::new();
            if let Some(e) = self.get::<Entity>(&id_key(tag::ENT, id))? {
                if e.status == Status::Active {
                    delta[3] -= 1;
                }
                names.extend(e.names().map(normalize_name));
            }
            for kv in self.tree().scan_prefix(id_key(tag::ENT_HIST, id)) {
                let (k, v) = kv?;
                let old: Entity = dec(&v)?;
                names.extend(old.names().map(normalize_name));
                batch.remove(k);
            }
            for name in names {
                let k = Key::new(tag::ENT_ALIAS).str(&name).build();
                if self.tree().get(&k)?.map(|v| keys::u64_from(&v)) == Some(id) {
                    batch.remove(k);
                }
            }
            batch.remove(id_key(tag::ENT, id));
            n += 1;
        }
        Ok(n)
    }

    fn scan_facts_range(
        &self,
        lo: Vec<u8>,
        hi: Vec<u8>,
        key_start: usize,
        scan: &FactScan,
        long: bool,
        out: &mut Vec<Fact>,
    ) -> Result<Option<FactCursor>> {
        let (qs, qe) = (scan.valid.start_key(), scan.valid.end_key());
        for kv in self.tree().range(lo..hi) {
            let (k, v) = kv?;
            let (start, id) = if long {
                (i32::MIN, keys::u64_from(&k[1..]))
            } else {
                (
                    keys::i32_from(&k[key_start..]),
                    keys::u64_from(&k[key_start + 4..]),
                )
            };
            if !long {
                let end = keys::i32_from(&v);
                if !(start < qe && end > qs) {
                    continue;
                }
                // Long facts are also in this index; they were listed from `FACT_LONG`.
                if start == i32::MIN
                    || end == i32::MAX
                    || i64::from(end) - i64::from(start) > i64::from(LONG_SPAN_DAYS)
                {
                    continue;
                }
            }
            if let Some(c) = scan.cursor
                && c.long == long
                && (start, id) <= (c.start, c.id)
            {
                continue;
            }
            let Some(f) = self.fact(id, scan.as_of)? else {
                continue;
            };
            if !scan.include_retracted && f.status != Status::Active {
                continue;
            }
            if long {
                if !f.valid.overlaps(&scan.valid) {
                    continue;
                }
                if let Some(ent) = scan.entity
                    && !Self::fact_entities(&f).contains(&ent)
                {
                    continue;
                }
            }
            out.push(f);
            if out.len() >= scan.limit {
                return Ok(Some(FactCursor { start, id, long }));
            }
        }
        Ok(None)
    }
}

impl NsStore for SledNs {
    fn name(&self) -> &str {
        &self.name
    }

    fn head_tx(&self) -> TxId {
        self.head.load(Ordering::SeqCst)
    }

    fn alloc_ids(&self, kind: IdKind, n: u64) -> u64 {
        self.next_ids[id_slot(kind)].fetch_add(n, Ordering::SeqCst)
    }

    fn commit(&self, ws: WriteSet) -> Result<Tx> {
        ws.check()?;
        let guards = self.guards.read().clone();
        guards.check()?;
        let mut audit = self.commit_lock.lock();
        let head = self.head_tx();
        if ws.tx != head + 1 {
            return Err(Error::Conflict(format!(
                "write set was built for transaction {} but the next transaction is {}",
                ws.tx,
                head + 1
            )));
        }
        self.commit_inner(ws, &mut audit)
            .map_err(|e| guards.note(e))
    }

    fn append_audit(
        &self,
        action: &str,
        actor: &str,
        reason: Option<String>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        let guards = self.guards.read().clone();
        guards.check()?;
        let mut audit = self.commit_lock.lock();
        let entry = audit.next(AuditEntry {
            seq: 0,
            tx: None,
            at: Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            reason,
            counts: Counts::default(),
            details,
            prev_hash: String::new(),
            hash: String::new(),
        });
        self.tree()
            .insert(id_key(tag::AUDIT, entry.seq), enc(&entry)?)?;
        self.db().flush()?;
        audit.advance(&entry);
        Ok(entry)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(Stats {
            documents: self.stat(0)?,
            chunks: self.stat(1)?,
            facts: self.stat(2)?,
            entities: self.stat(3)?,
            time_nodes: self.stat(4)?,
            transactions: self.head_tx(),
        })
    }

    fn tx(&self, id: TxId) -> Result<Option<Tx>> {
        self.get(&id_key(tag::TX, id))
    }

    fn txs(&self, from: TxId, to: TxId, limit: usize) -> Result<Vec<Tx>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        for kv in self
            .tree()
            .range(id_key(tag::TX, from)..=id_key(tag::TX, to))
        {
            out.push(dec(&kv?.1)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn audit(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(id_key(tag::AUDIT, from)..id_key(tag::AUDIT, u64::MAX))
        {
            out.push(dec(&kv?.1)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn verify_audit(&self) -> Result<AuditVerify> {
        let entries = self.tree().scan_prefix([tag::AUDIT]).map(|kv| {
            let (k, v) = kv?;
            let entry = serde_json::from_slice::<AuditEntry>(&v).map_err(|e| e.to_string());
            Ok((keys::u64_from(&k[1..]), entry))
        });
        commit::verify_chain(entries, || self.commit_lock.lock().seq)
    }

    fn document(&self, id: DocId, as_of: Option<TxId>) -> Result<Option<Document>> {
        self.versioned(tag::DOC, tag::DOC_HIST, id, as_of, |d: &Document| {
            d.updated_tx
        })
    }

    fn document_by_external(&self, external_id: &str) -> Result<Option<DocId>> {
        Ok(self
            .tree()
            .get(Key::new(tag::DOC_EXT).str(external_id).build())?
            .map(|v| keys::u64_from(&v)))
    }

    fn document_by_hash(&self, hash: &str) -> Result<Option<DocId>> {
        Ok(self
            .tree()
            .get(Key::new(tag::DOC_HASH).str(hash).build())?
            .map(|v| keys::u64_from(&v)))
    }

    fn documents(&self, after: DocId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Document>> {
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(id_key(tag::DOC, after.saturating_add(1))..id_key(tag::DOC_HIST, 0))
        {
            let id = keys::u64_from(&kv?.0[1..]);
            if let Some(d) = self.document(id, as_of)?
                && d.status == Status::Active
            {
                out.push(d);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn documents_all(&self, after: DocId, limit: usize) -> Result<Vec<Document>> {
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(id_key(tag::DOC, after.saturating_add(1))..id_key(tag::DOC_HIST, 0))
            .take(limit)
        {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn chunk(&self, id: ChunkId) -> Result<Option<Chunk>> {
        self.get(&id_key(tag::CHUNK, id))
    }

    fn entities_all(&self, after: EntityId, limit: usize) -> Result<Vec<Entity>> {
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(id_key(tag::ENT, after.saturating_add(1))..id_key(tag::ENT_HIST, 0))
            .take(limit)
        {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn entity(&self, id: EntityId, as_of: Option<TxId>) -> Result<Option<Entity>> {
        self.versioned(tag::ENT, tag::ENT_HIST, id, as_of, |e: &Entity| {
            e.updated_tx
        })
    }

    fn entity_by_alias(&self, normalized: &str) -> Result<Option<EntityId>> {
        Ok(self
            .tree()
            .get(Key::new(tag::ENT_ALIAS).str(normalized).build())?
            .map(|v| keys::u64_from(&v)))
    }

    fn entities(&self, after: EntityId, limit: usize, as_of: Option<TxId>) -> Result<Vec<Entity>> {
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(id_key(tag::ENT, after.saturating_add(1))..id_key(tag::ENT_HIST, 0))
        {
            let id = keys::u64_from(&kv?.0[1..]);
            if let Some(e) = self.entity(id, as_of)?
                && e.status == Status::Active
            {
                out.push(e);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn fact(&self, id: FactId, as_of: Option<TxId>) -> Result<Option<Fact>> {
        self.versioned(tag::FACT, tag::FACT_HIST, id, as_of, |f: &Fact| {
            f.updated_tx
        })
    }

    fn fact_by_identity(&self, identity: &[u8; 16]) -> Result<Option<FactId>> {
        Ok(self
            .tree()
            .get(Key::new(tag::FACT_KEY).bytes(identity).build())?
            .map(|v| keys::u64_from(&v)))
    }

    fn facts(&self, scan: &FactScan) -> Result<Page<Fact>> {
        let mut items = Vec::new();
        if scan.limit == 0 {
            return Ok(Page { items, next: None });
        }
        let (qs, qe) = (scan.valid.start_key(), scan.valid.end_key());
        // 1. Long facts (few): filtered one by one.
        if scan.cursor.is_none_or(|c| c.long) {
            let lo = match scan.cursor {
                Some(c) => id_key(tag::FACT_LONG, c.id),
                None => id_key(tag::FACT_LONG, 0),
            };
            let hi = vec![tag::FACT_LONG + 1];
            if let Some(next) = self.scan_facts_range(lo, hi, 1, scan, true, &mut items)? {
                return Ok(Page {
                    items,
                    next: Some(next),
                });
            }
        }
        // 2. Short facts: range over valid start in [qs - LONG_SPAN_DAYS, qe).
        let from = qs.saturating_sub(LONG_SPAN_DAYS);
        let resume = scan.cursor.filter(|c| !c.long);
        let (lo, hi, key_start) = match scan.entity {
            Some(ent) => {
                let lo = match resume {
                    Some(c) => Key::new(tag::FACT_ENT)
                        .u64(ent)
                        .i32(c.start)
                        .u64(c.id)
                        .build(),
                    None => Key::new(tag::FACT_ENT).u64(ent).i32(from).build(),
                };
                (lo, Key::new(tag::FACT_ENT).u64(ent).i32(qe).build(), 9)
            }
            None => {
                let lo = match resume {
                    Some(c) => Key::new(tag::FACT_TIME).i32(c.start).u64(c.id).build(),
                    None => Key::new(tag::FACT_TIME).i32(from).build(),
                };
                (lo, Key::new(tag::FACT_TIME).i32(qe).build(), 1)
            }
        };
        let next = self.scan_facts_range(lo, hi, key_start, scan, false, &mut items)?;
        Ok(Page { items, next })
    }

    fn facts_changed(&self, from: TxId, to: TxId) -> Result<Vec<(TxId, FactId)>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        let lo = id2_key(tag::FACT_TX, from, 0);
        let hi = id2_key(tag::FACT_TX, to, u64::MAX);
        for kv in self.tree().range(lo..=hi) {
            let (k, _) = kv?;
            out.push((keys::u64_from(&k[1..]), keys::u64_from(&k[9..])));
        }
        Ok(out)
    }

    fn facts_of_chunk(&self, chunk: ChunkId) -> Result<Vec<FactId>> {
        let mut out = Vec::new();
        for kv in self.tree().scan_prefix(id_key(tag::FACT_CHUNK, chunk)) {
            out.push(keys::u64_from(&kv?.0[9..]));
        }
        Ok(out)
    }

    fn for_each_fact(&self, f: &mut dyn FnMut(Fact) -> Result<()>) -> Result<()> {
        for kv in self.tree().scan_prefix([tag::FACT]) {
            f(dec(&kv?.1)?)?;
        }
        Ok(())
    }

    fn for_each_fact_first_tx(&self, f: &mut dyn FnMut(FactId, TxId)) -> Result<()> {
        // History keys are tag · fact · tx, so the first key of each fact is its first version.
        let mut last = None;
        for kv in self.tree().scan_prefix([tag::FACT_HIST]) {
            let (k, _) = kv?;
            if k.len() != 17 {
                return Err(Error::Store("corrupt fact history key".into()));
            }
            let id = keys::u64_from(&k[1..9]);
            if last != Some(id) {
                f(id, keys::u64_from(&k[9..17]));
                last = Some(id);
            }
        }
        Ok(())
    }

    fn node(&self, key: &TimeKey) -> Result<Option<TimeNode>> {
        self.get(&Key::new(tag::NODE).str(&key.to_string()).build())
    }

    fn nodes(&self) -> Result<Vec<TimeNode>> {
        let mut out = Vec::new();
        for kv in self.tree().scan_prefix([tag::NODE]) {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn dirty_nodes(&self) -> Result<Vec<(TimeKey, TxId)>> {
        let mut out = Vec::new();
        for kv in self.tree().scan_prefix([tag::DIRTY]) {
            let (k, v) = kv?;
            let key = std::str::from_utf8(&k[1..])
                .map_err(|e| Error::Store(format!("corrupt dirty key: {e}")))?;
            out.push((TimeKey::parse(key)?, keys::u64_from(&v)));
        }
        Ok(out)
    }

    fn summary(&self, key: &TimeKey, as_of: Option<TxId>) -> Result<Option<Summary>> {
        let node = key.to_string();
        let lo = summary_key(&node, 0);
        let hi = summary_key(&node, as_of.unwrap_or(u64::MAX));
        match self.tree().range(lo..=hi).next_back() {
            Some(kv) => Ok(Some(dec(&kv?.1)?)),
            None => Ok(None),
        }
    }

    fn summary_versions(&self, key: &TimeKey) -> Result<Vec<Summary>> {
        let node = key.to_string();
        let mut out = Vec::new();
        for kv in self
            .tree()
            .range(summary_key(&node, 0)..=summary_key(&node, u64::MAX))
        {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn put_summaries(&self, summaries: &[Summary]) -> Result<()> {
        let guards = self.guards.read().clone();
        guards.check()?;
        // Serialised with commits so that a dirty mark set by a concurrent commit is not lost.
        let _guard = self.commit_lock.lock();
        let mut batch = sled::Batch::default();
        for s in summaries {
            let node = s.node.to_string();
            batch.insert(summary_key(&node, s.reflects_tx), enc(s)?);
            let dk = Key::new(tag::DIRTY).str(&node).build();
            if let Some(v) = self.tree().get(&dk)?
                && keys::u64_from(&v) <= s.reflects_tx
            {
                batch.remove(dk);
            }
        }
        self.tree().apply_batch(batch)?;
        self.db().flush()?;
        Ok(())
    }

    fn conflicts(&self) -> Result<Vec<crate::model::Conflict>> {
        let mut out = Vec::new();
        for kv in self.tree().scan_prefix([tag::CONFLICT]) {
            out.push(dec(&kv?.1)?);
        }
        Ok(out)
    }

    fn clear_dirty(&self, nodes: &[(TimeKey, TxId)]) -> Result<()> {
        let guards = self.guards.read().clone();
        guards.check()?;
        let _guard = self.commit_lock.lock();
        let mut batch = sled::Batch::default();
        for (k, tx) in nodes {
            let dk = Key::new(tag::DIRTY).str(&k.to_string()).build();
            if let Some(v) = self.tree().get(&dk)?
                && keys::u64_from(&v) <= *tx
            {
                batch.remove(dk);
            }
        }
        self.tree().apply_batch(batch)?;
        Ok(())
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tree()
            .get(meta_key(&format!("x/{key}")))?
            .map(|v| v.to_vec()))
    }

    fn meta_put(&self, key: &str, value: &[u8]) -> Result<()> {
        let guards = self.guards.read().clone();
        guards.check()?;
        let _guard = self.commit_lock.lock();
        self.tree().insert(meta_key(&format!("x/{key}")), value)?;
        self.db().flush()?;
        Ok(())
    }

    fn meta_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        let p = meta_key(&format!("x/{prefix}"));
        for kv in self.tree().scan_prefix(&p) {
            let (k, v) = kv?;
            let name = String::from_utf8_lossy(&k[3..]).into_owned();
            out.push((name, v.to_vec()));
        }
        Ok(out)
    }

    fn meta_remove(&self, key: &str) -> Result<()> {
        let guards = self.guards.read().clone();
        guards.check()?;
        let _guard = self.commit_lock.lock();
        self.tree().remove(meta_key(&format!("x/{key}")))?;
        self.db().flush()?;
        Ok(())
    }
}
