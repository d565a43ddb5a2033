//! The embedded backend on sled 0.34.7: one sled tree per namespace holding its key space
//! ([`SledSpace`]; the records above it are [`RecordNs`]'s), plus a `sys` tree for the schema
//! version, the migration log and the namespace registry. Also here: what only a folder of
//! files has (free-space guards, compaction, backup by copy, the log checkpoint).
//!
//! Atomicity: a transaction is one `Tree::apply_batch`, which sled applies all-or-nothing, also
//! across a crash. Durability: a durable batch flushes the log before `apply` returns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;
use parking_lot::{Mutex, RwLock};

use super::kv::{EntryIter, Expect, KvBatch, KvSpace};
use super::migrations::{self, MigrationRecord};
use super::records::RecordNs;
use super::{NamespaceInfo, NsStore, Store};
use crate::model::TxId;
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
    guards: Arc<RwLock<Guards>>,
    /// Page cache in MiB (kept for reopening after compaction).
    cache_mb: u64,
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

    /// Opens (creating if needed) with a page cache of `cache_mb` MiB (`store_cache_mb`).
    pub fn open_cached(path: &Path, cache_mb: u64) -> Result<Self> {
        Self::open_inner(path, migrations::MIGRATIONS, cache_mb)
    }

    /// Refuses writes when less than `bytes` are free on the store's disk (0 = never).
    pub fn with_min_free_bytes(self, bytes: u64) -> Self {
        *self.guards.write() = Guards {
            path: self.path.clone(),
            min_free_bytes: bytes,
            failed: AtomicBool::new(false),
        };
        self
    }

    /// Opens with an explicit migration list (used by tests of the migrations runner).
    pub fn open_with(path: &Path, migrations: &[migrations::Migration]) -> Result<Self> {
        Self::open_inner(path, migrations, DEFAULT_CACHE_MB)
    }

    fn open_inner(
        path: &Path,
        migrations: &[migrations::Migration],
        cache_mb: u64,
    ) -> Result<Self> {
        recover_compaction(path)?;
        std::fs::create_dir_all(path).map_err(|e| {
            Error::Unavailable(format!("cannot create data folder {}: {e}", path.display()))
        })?;
        let db = open_db_cached(path, cache_mb)?;
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
            guards: Arc::new(RwLock::new(Guards {
                path: path.to_path_buf(),
                min_free_bytes: 0,
                failed: AtomicBool::new(false),
            })),
            cache_mb,
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
        let tree = {
            let mut h = self.handles.write();
            let t = h.db.open_tree(format!("{NS_PREFIX}{name}"))?;
            h.trees.insert(name.to_string(), t.clone());
            t
        };
        drop(tree);
        let space = SledSpace {
            name: name.to_string(),
            handles: self.handles.clone(),
            guards: self.guards.clone(),
        };
        let ns = Arc::new(SledNs::load(name.to_string(), space)?);
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

/// sled's page cache unless configured (`store_cache_mb`), in MiB.
pub const DEFAULT_CACHE_MB: u64 = 256;

/// Opens the sled database in `path` with the default page cache.
pub(crate) fn open_db(path: &Path) -> Result<sled::Db> {
    open_db_cached(path, DEFAULT_CACHE_MB)
}

/// Opens the sled database in `path` with a page cache of `cache_mb` MiB, waiting up to
/// [`LOCK_WAIT`] for its lock.
fn open_db_cached(path: &Path, cache_mb: u64) -> Result<sled::Db> {
    let start = std::time::Instant::now();
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
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
            v.sort_by(|a, b| a.name().cmp(b.name()));
            v
        };
        // Every writer waits; readers keep reading the old database until the swap.
        let _writers: Vec<_> = namespaces.iter().map(|n| n.lock_writes()).collect();
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
        let db = open_db_cached(&self.path, self.cache_mb)?;
        let sys = db.open_tree(SYS_TREE)?;
        let mut trees = HashMap::new();
        for ns in &namespaces {
            trees.insert(
                ns.name().to_string(),
                db.open_tree(format!("{NS_PREFIX}{}", ns.name()))?,
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
        let _writers: Vec<_> = loaded.iter().map(|n| n.lock_writes()).collect();
        let heads = loaded
            .iter()
            .map(|n| (n.name().to_string(), n.head_tx()))
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

/// One namespace's key space on sled: its tree in the current database (compaction swaps the
/// database, so the tree is looked up at each use).
pub struct SledSpace {
    name: String,
    handles: Arc<RwLock<Handles>>,
    guards: Arc<RwLock<Guards>>,
}

/// A namespace on sled.
pub type SledNs = RecordNs<SledSpace>;

impl SledSpace {
    fn tree(&self) -> sled::Tree {
        self.handles.read().trees[&self.name].clone()
    }
}

impl KvSpace for SledSpace {
    type Bytes = sled::IVec;

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.tree().get(key)?)
    }

    fn range<'a>(&'a self, lo: &[u8], hi: Option<&[u8]>) -> EntryIter<'a, sled::IVec> {
        let tree = self.tree();
        let iter = match hi {
            Some(hi) => tree.range(lo.to_vec()..hi.to_vec()),
            None => tree.range(lo.to_vec()..),
        };
        Box::new(iter.map(|kv| kv.map_err(Error::from)))
    }

    fn last(&self, lo: &[u8], hi: &[u8]) -> Result<Option<(sled::IVec, sled::IVec)>> {
        Ok(self.tree().range(lo..hi).next_back().transpose()?)
    }

    fn apply(&self, batch: KvBatch, _expect: &[Expect], durable: bool) -> Result<()> {
        // `expect` holds by construction: this process is the folder's only writer (sled locks
        // it) and every write of a namespace is serialised by its `RecordNs`.
        let mut b = sled::Batch::default();
        // What the batch itself writes, for the conditional removals (rare: job marks).
        let mut written: std::collections::HashMap<Vec<u8>, Option<Vec<u8>>> = Default::default();
        let conditional = !batch.removes_if_at_most.is_empty();
        for (k, v) in batch.writes {
            if conditional {
                written.insert(k.clone(), v.clone());
            }
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        // Read here: every writer of this namespace is serialised by its `RecordNs`.
        for (k, bound) in batch.removes_if_at_most {
            let current = match written.get(&k) {
                Some(v) => v.clone(),
                None => self.get(&k)?.map(|v| v.to_vec()),
            };
            if current.is_some_and(|v| v <= bound) {
                b.remove(k);
            }
        }
        let handles = self.handles.read();
        handles.trees[&self.name].apply_batch(b)?;
        if durable {
            handles.db.flush()?;
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        self.guards.read().check()
    }

    fn note_failure(&self, e: Error) -> Error {
        self.guards.read().note(e)
    }
}
