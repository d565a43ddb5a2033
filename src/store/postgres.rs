//! The PostgreSQL backend (`--store postgres://…`): a namespace's ordered key space is its rows
//! of `chronorag_records` ([`PgSpace`]); the records above it are [`RecordNs`]'s, the same as on
//! sled. The schema is `migrations/postgres/*.sql`, applied in order when a store opens.
//!
//! Atomicity: a batch is one PostgreSQL transaction. Durability: PostgreSQL's own (a batch is
//! on disk when its COMMIT returns, with the server's default `synchronous_commit`), so every
//! batch is durable. Several servers may share a database: every write of a namespace first
//! locks the namespace's registry row, so writes of one namespace are serialised across servers,
//! and a commit checks inside that transaction that the head it was built on is still the head
//! ([`Expect`]); a server whose view is behind gets [`Error::Conflict`] and reloads its head.
//!
//! Calls are synchronous (the [`super::NsStore`] contract): each runs on this module's own small
//! tokio runtime and the caller waits on a channel, so it may be called from any thread,
//! including from inside another runtime. Connections are pooled; a connection that broke (a
//! restarted server) is dropped and the next call opens a new one. Reads that fail on a broken
//! connection are tried again once on a fresh one; a write is never retried (its outcome is
//! unknown to the caller, who gets [`Error::Unavailable`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use tokio_postgres::{Client, NoTls, Statement};

use super::kv::{Entry, EntryIter, Expect, KvBatch, KvSpace, after};
use super::migrations::MigrationRecord;
use super::records::RecordNs;
use super::{NamespaceInfo, NsStore, Store};
use crate::model::TxId;
use crate::{Error, Result};

/// The SQL migrations: schema version, name, script.
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "grouped_fact_links",
        include_str!("../../migrations/postgres/0002_grouped_fact_links.sql"),
    ),
];

/// Serialises migrations of servers starting at once (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6368_726f_6e6f;

/// How long opening a connection may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most connections one server opens to the database (all may stay open while idle): calls
/// beyond it wait for one to come free, so a burst of requests cannot exhaust the
/// database's `max_connections` (100 by default) that several servers share.
pub const MAX_CONNECTIONS: usize = 16;
/// Most idle connections kept open.
const MAX_IDLE: usize = MAX_CONNECTIONS;

/// Rows per page of a range scan: the first page is small (most scans read a few rows), later
/// ones grow.
const FIRST_PAGE: i64 = 64;
const MAX_PAGE: i64 = 2048;

/// True for a `postgres://` or `postgresql://` URL.
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` without its password (in the user part or as a `password=` parameter), for messages
/// and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut out = match rest.split_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => format!("{scheme}://{rest}"),
    };
    if let Some(q) = query {
        let kept: Vec<String> = q
            .split('&')
            .map(|kv| {
                if kv.to_ascii_lowercase().starts_with("password=") {
                    "password=…".to_string()
                } else {
                    kv.to_string()
                }
            })
            .collect();
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    out
}

/// A connection and the statements prepared on it.
struct Conn {
    client: Client,
    stmts: HashMap<&'static str, Statement>,
}

impl Conn {
    async fn stmt(&mut self, sql: &'static str) -> std::result::Result<Statement, PgError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }
}

type PgError = tokio_postgres::Error;

/// The connection pool and the runtime its connections live on.
struct Pool {
    config: tokio_postgres::Config,
    shown: String,
    idle: Mutex<Vec<Conn>>,
    /// One permit per connection in use ([`MAX_CONNECTIONS`]).
    permits: Arc<tokio::sync::Semaphore>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.idle.lock().clear();
        if let Some(rt) = self.rt.take() {
            // Dropping a runtime may happen inside another one (a server shutting down).
            rt.shutdown_background();
        }
    }
}

impl Pool {
    fn new(url: &str) -> Result<Arc<Pool>> {
        let mut config = url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| Error::Config(format!("invalid PostgreSQL URL {}: {e}", redact(url))))?;
        if config.get_connect_timeout().is_none() {
            // An unreachable host fails a call in seconds instead of hanging it.
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chronorag-pg")
            .enable_all()
            .build()?;
        Ok(Arc::new(Pool {
            config,
            shown: redact(url),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
            rt: Some(rt),
        }))
    }

    fn error(&self, e: PgError) -> Error {
        let Some(db) = e.as_db_error() else {
            // No answer from the server: a lost connection, a refused one, a restart.
            return Error::Unavailable(format!("PostgreSQL at {} is unreachable: {e}", self.shown));
        };
        let code = db.code().code();
        // 08: connection exceptions; 57: operator intervention (shutting down, starting up);
        // 53: insufficient resources (disk full, too many connections).
        if e.is_closed() || ["08", "57", "53"].iter().any(|c| code.starts_with(c)) {
            Error::Unavailable(format!(
                "PostgreSQL at {} is unavailable: {} (SQLSTATE {code})",
                self.shown,
                db.message()
            ))
        } else if code.starts_with("40") {
            // Serialization failure or deadlock: nothing was applied.
            Error::Conflict(format!(
                "PostgreSQL refused a concurrent write ({}); nothing was applied: retry it",
                db.message()
            ))
        } else {
            Error::Store(format!("PostgreSQL: {} (SQLSTATE {code})", db.message()))
        }
    }

    async fn checkout(&self) -> std::result::Result<Conn, PgError> {
        loop {
            let c = self.idle.lock().pop();
            match c {
                Some(c) if c.client.is_closed() => continue,
                Some(c) => return Ok(c),
                None => break,
            }
        }
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a PostgreSQL connection closed");
            }
        });
        Ok(Conn {
            client,
            stmts: HashMap::new(),
        })
    }

    fn checkin(&self, c: Conn) {
        let mut idle = self.idle.lock();
        if !c.client.is_closed() && idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }

    /// Runs `f` on a pooled connection and waits for it. `retry`: try once more on a fresh
    /// connection when the first one turned out broken (reads only).
    fn run<T, F, Fut>(self: &Arc<Self>, retry: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (Conn, std::result::Result<T, PgError>)> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.clone();
        let rt = self
            .rt
            .as_ref()
            .expect("the runtime lives as long as the pool");
        rt.spawn(async move {
            // Held until the connection is back in the pool (or dropped).
            let Ok(_permit) = pool.permits.clone().acquire_owned().await else {
                let _ = tx.send(Err(Error::Unavailable(
                    "the PostgreSQL pool is closed".into(),
                )));
                return;
            };
            let mut attempts = if retry { 2 } else { 1 };
            let result = loop {
                attempts -= 1;
                let conn = match pool.checkout().await {
                    Ok(c) => c,
                    Err(e) if attempts > 0 => {
                        tracing::debug!(error = %e, "retrying a PostgreSQL connection");
                        continue;
                    }
                    Err(e) => break Err(pool.error(e)),
                };
                let (conn, r) = f(conn).await;
                let broken = conn.client.is_closed();
                pool.checkin(conn);
                match r {
                    Err(e) if broken && attempts > 0 => {
                        tracing::debug!(error = %e, "retrying a read on a new connection");
                    }
                    Err(e) => break Err(pool.error(e)),
                    Ok(v) => break Ok(v),
                }
            };
            let _ = tx.send(result);
        });
        rx.recv().map_err(|_| {
            Error::Unavailable(format!(
                "the PostgreSQL worker for {} stopped during a call",
                self.shown
            ))
        })?
    }
}

/// The channel every commit is announced on (`pg_notify` inside the commit's transaction, so
/// listeners hear of it only once it is committed).
const COMMITS_CHANNEL: &str = "chronorag_commits";

/// Commits announced by the database, for a follower to wake on: one connection per server
/// listens (`LISTEN chronorag_commits`, outside the pool's bound), reconnecting after a
/// second when it breaks; polling covers the gaps.
#[derive(Default)]
struct Notifier {
    /// Announcements heard, and how many of them the follower has taken.
    counts: Mutex<(u64, u64)>,
    heard: parking_lot::Condvar,
    started: std::sync::atomic::AtomicBool,
}

impl Notifier {
    fn hear(&self) {
        self.counts.lock().0 += 1;
        self.heard.notify_all();
    }

    /// Starts listening on the pool's runtime (once).
    fn start(self: &Arc<Self>, pool: &Arc<Pool>) {
        if self.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let Some(rt) = pool.rt.as_ref() else { return };
        let (me, config) = (self.clone(), pool.config.clone());
        rt.spawn(async move {
            loop {
                if let Err(e) = me.listen(&config).await {
                    tracing::debug!(error = %e, "listening for commits failed; polling meanwhile");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    /// One listening connection, until it breaks.
    async fn listen(&self, config: &tokio_postgres::Config) -> std::result::Result<(), PgError> {
        let (client, mut connection) = config.connect(NoTls).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(tokio_postgres::AsyncMessage::Notification(_))) => {
                        if tx.send(()).is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {COMMITS_CHANNEL}"))
            .await?;
        // Commits made while no connection listened are found by the next poll; wake the
        // follower for them now.
        self.hear();
        while rx.recv().await.is_some() {
            self.hear();
        }
        drop(client);
        Ok(())
    }

    /// Waits for an announcement the follower has not taken yet, or `timeout`.
    fn wait(&self, timeout: std::time::Duration) {
        let mut c = self.counts.lock();
        if c.0 == c.1 {
            let _ = self.heard.wait_for(&mut c, timeout);
        }
        c.1 = c.0;
    }
}

/// The PostgreSQL-backed [`Store`].
pub struct PgStore {
    pool: Arc<Pool>,
    notifier: Arc<Notifier>,
    schema_version: u32,
    namespaces: RwLock<HashMap<String, Arc<PgNs>>>,
    admin_lock: Mutex<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.pool.shown)
            .finish()
    }
}

/// A namespace on PostgreSQL.
pub type PgNs = RecordNs<PgSpace>;

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations. Fails with
    /// [`Error::SchemaTooNew`] when a newer binary wrote the schema, and with
    /// [`Error::Unavailable`] when the server cannot be reached.
    pub fn open(url: &str) -> Result<Self> {
        let pool = Pool::new(url)?;
        let schema_version = migrate(&pool)?;
        Ok(PgStore {
            pool,
            notifier: Arc::default(),
            schema_version,
            namespaces: RwLock::new(HashMap::new()),
            admin_lock: Mutex::new(()),
        })
    }

    /// Where the store is (the URL without its password).
    pub fn shown_url(&self) -> &str {
        &self.pool.shown
    }

    fn load_ns(&self, name: &str) -> Result<Arc<PgNs>> {
        if let Some(ns) = self.namespaces.read().get(name) {
            return Ok(ns.clone());
        }
        let mut map = self.namespaces.write();
        if let Some(ns) = map.get(name) {
            return Ok(ns.clone());
        }
        let space = PgSpace {
            namespace: Arc::from(name),
            pool: self.pool.clone(),
        };
        let ns = Arc::new(PgNs::load(name.to_string(), space)?);
        map.insert(name.to_string(), ns.clone());
        Ok(ns)
    }

    fn exists(&self, name: &str) -> Result<bool> {
        let name = name.to_string();
        self.pool.run(true, move |mut c| {
            let name = name.clone();
            async move {
                let r = async {
                    let s = c
                        .stmt("SELECT 1 FROM chronorag_namespaces WHERE namespace = $1")
                        .await?;
                    Ok(c.client.query_opt(&s, &[&name]).await?.is_some())
                }
                .await;
                (c, r)
            }
        })
    }

    fn sizes(&self) -> Result<u64> {
        self.pool.run(true, |c| async move {
            let r = c
                .client
                .query_one(
                    "SELECT (pg_total_relation_size('chronorag_records') \
                     + pg_total_relation_size('chronorag_namespaces'))::bigint",
                    &[],
                )
                .await
                .map(|row| row.get::<_, i64>(0).max(0) as u64);
            (c, r)
        })
    }
}

/// Creates database `name` on the server at `admin_url` unless it exists, and returns the URL of
/// that database (`admin_url` with its database replaced). For tests and benchmarks.
#[doc(hidden)]
pub fn ensure_database(admin_url: &str, name: &str) -> Result<String> {
    // Lower case, so that the unquoted name PostgreSQL folds is the name looked up.
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid(format!(
            "invalid database name {name:?}: use lower-case letters, digits and _"
        )));
    }
    let pool = Pool::new(admin_url)?;
    let owned = name.to_string();
    pool.run(false, move |c| {
        let name = owned.clone();
        async move {
            let r = async {
                let exists = c
                    .client
                    .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                    .await?
                    .is_some();
                if !exists {
                    // Two callers may race: a duplicate is fine.
                    if let Err(e) = c
                        .client
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .await
                        && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                        && e.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
                    {
                        return Err(e);
                    }
                }
                Ok(())
            }
            .await;
            (c, r)
        }
    })?;
    let base = match admin_url.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => base.to_string(),
        _ => admin_url.trim_end_matches('/').to_string(),
    };
    Ok(format!("{base}/{name}"))
}

/// Applies the pending SQL migrations in one transaction, under an advisory lock so that
/// servers starting at once do not race; returns the schema version.
fn migrate(pool: &Arc<Pool>) -> Result<u32> {
    let supported = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let shown = pool.shown.clone();
    let found = pool.run(false, move |mut c| async move {
        let r = async {
            let tx = c.client.transaction().await?;
            tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            // Checked first: a role without CREATE rights on the schema may still use a
            // database whose tables exist.
            let exists: bool = tx
                .query_one("SELECT to_regclass('chronorag_schema') IS NOT NULL", &[])
                .await?
                .get(0);
            if !exists {
                tx.batch_execute(
                    "CREATE TABLE chronorag_schema (\
                         version    integer     NOT NULL PRIMARY KEY,\
                         name       text        NOT NULL,\
                         applied_at timestamptz NOT NULL DEFAULT now(),\
                         changed    text        NOT NULL)",
                )
                .await?;
            }
            let current: i32 = tx
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM chronorag_schema",
                    &[],
                )
                .await?
                .get(0);
            let current = current as u32;
            if current > supported {
                tx.rollback().await?;
                return Ok(Err(current));
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO chronorag_schema (version, name, changed) VALUES ($1, $2, $3)",
                    &[
                        &(*version as i32),
                        name,
                        &format!("applied migrations/postgres/{version:04}_{name}.sql"),
                    ],
                )
                .await?;
                tracing::info!(version, name, "applied PostgreSQL migration");
            }
            tx.commit().await?;
            Ok(Ok(current.max(supported)))
        }
        .await;
        (c, r)
    })?;
    found.map_err(|found| Error::SchemaTooNew {
        path: shown,
        found,
        supported,
    })
}

impl Store for PgStore {
    fn wait_for_change(&self, timeout: std::time::Duration) {
        self.notifier.start(&self.pool);
        self.notifier.wait(timeout);
    }

    fn namespaces(&self) -> Result<Vec<NamespaceInfo>> {
        self.pool.run(true, |c| async move {
            let r = c
                .client
                .query(
                    "SELECT namespace, created_at FROM chronorag_namespaces ORDER BY namespace",
                    &[],
                )
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|row| NamespaceInfo {
                            name: row.get(0),
                            created_at: row.get::<_, DateTime<Utc>>(1),
                        })
                        .collect()
                });
            (c, r)
        })
    }

    fn namespace(&self, name: &str) -> Result<Option<Arc<dyn NsStore>>> {
        crate::model::validate_namespace(name)?;
        if let Some(ns) = self.namespaces.read().get(name) {
            return Ok(Some(ns.clone()));
        }
        if !self.exists(name)? {
            return Ok(None);
        }
        Ok(Some(self.load_ns(name)?))
    }

    fn create_namespace(&self, name: &str) -> Result<Arc<dyn NsStore>> {
        crate::model::validate_namespace(name)?;
        let _admin = self.admin_lock.lock();
        let owned = name.to_string();
        self.pool.run(false, move |c| {
            let name = owned.clone();
            async move {
                let r = c
                    .client
                    .execute(
                        "INSERT INTO chronorag_namespaces (namespace) VALUES ($1) \
                         ON CONFLICT (namespace) DO NOTHING",
                        &[&name],
                    )
                    .await
                    .map(|_| ());
                (c, r)
            }
        })?;
        Ok(self.load_ns(name)?)
    }

    fn schema_version(&self) -> u32 {
        self.schema_version
    }

    fn migrations(&self) -> Result<Vec<MigrationRecord>> {
        self.pool.run(true, |c| async move {
            let r = c
                .client
                .query(
                    "SELECT version, name, applied_at, changed FROM chronorag_schema \
                     ORDER BY version",
                    &[],
                )
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|row| MigrationRecord {
                            version: row.get::<_, i32>(0) as u32,
                            name: row.get(1),
                            applied_at: row.get(2),
                            changed: row.get(3),
                        })
                        .collect()
                });
            (c, r)
        })
    }

    fn flush(&self) -> Result<()> {
        // Every batch is durable when its COMMIT returns.
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        self.sizes()
    }

    fn compact(&self) -> Result<(u64, u64)> {
        let _admin = self.admin_lock.lock();
        let before = self.sizes()?;
        self.pool.run(false, |c| async move {
            let r = c
                .client
                .batch_execute("VACUUM (ANALYZE) chronorag_records")
                .await;
            (c, r)
        })?;
        Ok((before, self.sizes()?))
    }

    fn backup(&self, _dest: &std::path::Path) -> Result<std::collections::BTreeMap<String, TxId>> {
        Err(Error::invalid(format!(
            "the store is the PostgreSQL database at {}: back it up with PostgreSQL's own tools \
             (pg_dump for a copy, pg_basebackup with WAL archiving for point-in-time recovery)",
            self.pool.shown
        )))
    }
}

/// One namespace's rows of `chronorag_records`.
pub struct PgSpace {
    namespace: Arc<str>,
    pool: Arc<Pool>,
}

impl PgSpace {
    /// Up to `limit` entries with `lo <= key < hi`, ascending.
    fn page(&self, lo: Vec<u8>, hi: Option<Vec<u8>>, limit: i64) -> Result<Vec<Entry<Vec<u8>>>> {
        let ns = self.namespace.clone();
        self.pool.run(true, move |mut c| {
            let (ns, lo, hi) = (ns.clone(), lo.clone(), hi.clone());
            async move {
                let r = async {
                    let rows = match &hi {
                        Some(hi) => {
                            let s = c
                                .stmt(
                                    "SELECT key, value FROM chronorag_records \
                                     WHERE namespace = $1 AND key >= $2 AND key < $3 \
                                     ORDER BY key LIMIT $4",
                                )
                                .await?;
                            c.client.query(&s, &[&&*ns, &lo, hi, &limit]).await?
                        }
                        None => {
                            let s = c
                                .stmt(
                                    "SELECT key, value FROM chronorag_records \
                                     WHERE namespace = $1 AND key >= $2 \
                                     ORDER BY key LIMIT $3",
                                )
                                .await?;
                            c.client.query(&s, &[&&*ns, &lo, &limit]).await?
                        }
                    };
                    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
                }
                .await;
                (c, r)
            }
        })
    }
}

/// A range scan read page by page.
struct PgRange<'a> {
    space: &'a PgSpace,
    next: Option<Vec<u8>>,
    hi: Option<Vec<u8>>,
    buf: VecDeque<Entry<Vec<u8>>>,
    page: i64,
}

impl Iterator for PgRange<'_> {
    type Item = Result<Entry<Vec<u8>>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.buf.pop_front() {
            return Some(Ok(e));
        }
        let lo = self.next.take()?;
        match self.space.page(lo, self.hi.clone(), self.page) {
            Ok(rows) => {
                if rows.len() as i64 == self.page {
                    self.next = rows.last().map(|(k, _)| after(k));
                    self.page = (self.page * 4).min(MAX_PAGE);
                }
                self.buf = rows.into();
                self.buf.pop_front().map(Ok)
            }
            Err(e) => Some(Err(e)),
        }
    }
}

impl KvSpace for PgSpace {
    type Bytes = Vec<u8>;

    fn remote(&self) -> bool {
        true
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (ns, key) = (self.namespace.clone(), key.to_vec());
        self.pool.run(true, move |mut c| {
            let (ns, key) = (ns.clone(), key.clone());
            async move {
                let r = async {
                    let s = c
                        .stmt(
                            "SELECT value FROM chronorag_records \
                             WHERE namespace = $1 AND key = $2",
                        )
                        .await?;
                    Ok(c.client
                        .query_opt(&s, &[&&*ns, &key])
                        .await?
                        .map(|row| row.get(0)))
                }
                .await;
                (c, r)
            }
        })
    }

    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.len() < 2 {
            return keys.iter().map(|k| self.get(k)).collect();
        }
        let (ns, wanted) = (self.namespace.clone(), Arc::new(keys.to_vec()));
        let found: HashMap<Vec<u8>, Vec<u8>> = {
            let wanted = wanted.clone();
            self.pool.run(true, move |mut c| {
                let (ns, wanted) = (ns.clone(), wanted.clone());
                async move {
                    let r = async {
                        let s = c
                            .stmt(
                                "SELECT key, value FROM chronorag_records \
                                 WHERE namespace = $1 AND key = ANY($2)",
                            )
                            .await?;
                        let rows = c.client.query(&s, &[&&*ns, &*wanted]).await?;
                        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
                    }
                    .await;
                    (c, r)
                }
            })?
        };
        Ok(wanted.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn range<'a>(&'a self, lo: &[u8], hi: Option<&[u8]>) -> EntryIter<'a, Vec<u8>> {
        Box::new(PgRange {
            space: self,
            next: Some(lo.to_vec()),
            hi: hi.map(<[u8]>::to_vec),
            buf: VecDeque::new(),
            page: FIRST_PAGE,
        })
    }

    fn last(&self, lo: &[u8], hi: &[u8]) -> Result<Option<Entry<Vec<u8>>>> {
        let (ns, lo, hi) = (self.namespace.clone(), lo.to_vec(), hi.to_vec());
        self.pool.run(true, move |mut c| {
            let (ns, lo, hi) = (ns.clone(), lo.clone(), hi.clone());
            async move {
                let r = async {
                    let s = c
                        .stmt(
                            "SELECT key, value FROM chronorag_records \
                             WHERE namespace = $1 AND key >= $2 AND key < $3 \
                             ORDER BY key DESC LIMIT 1",
                        )
                        .await?;
                    Ok(c.client
                        .query_opt(&s, &[&&*ns, &lo, &hi])
                        .await?
                        .map(|row| (row.get(0), row.get(1))))
                }
                .await;
                (c, r)
            }
        })
    }

    fn apply(&self, batch: KvBatch, expect: &[Expect], _durable: bool) -> Result<()> {
        // Later writes of a key win.
        let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for (k, v) in batch.writes {
            last.insert(k, v);
        }
        let (mut put_keys, mut put_values, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in last {
            match v {
                Some(v) => {
                    put_keys.push(k);
                    put_values.push(v);
                }
                None => removed.push(k),
            }
        }
        let (bounded_keys, bounds): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
            batch.removes_if_at_most.into_iter().unzip();
        let ns = self.namespace.clone();
        let announce = batch.announce;
        let expect = expect.to_vec();
        let writes = Arc::new((put_keys, put_values, removed, expect, bounded_keys, bounds));
        let outcome = self.pool.run(false, move |mut c| {
            let (ns, writes) = (ns.clone(), writes.clone());
            async move {
                let r = async {
                    let (put_keys, put_values, removed, expect, bounded_keys, bounds) = &*writes;
                    let tx = c.client.transaction().await?;
                    // Serialises the namespace's writes across servers.
                    let locked = tx
                        .query_opt(
                            "SELECT 1 FROM chronorag_namespaces WHERE namespace = $1 FOR UPDATE",
                            &[&&*ns],
                        )
                        .await?;
                    if locked.is_none() {
                        return Ok(Err(format!(
                            "namespace {ns:?} no longer exists in the database"
                        )));
                    }
                    for ex in expect {
                        let found: Option<Vec<u8>> = tx
                            .query_opt(
                                "SELECT value FROM chronorag_records \
                                 WHERE namespace = $1 AND key = $2",
                                &[&&*ns, &ex.key],
                            )
                            .await?
                            .map(|row| row.get(0));
                        if found != ex.expected {
                            tx.rollback().await?;
                            return Ok(Err(format!(
                                "another server wrote to namespace {ns:?} first; this write \
                                 was not applied: retry it"
                            )));
                        }
                    }
                    if !removed.is_empty() {
                        tx.execute(
                            "DELETE FROM chronorag_records \
                             WHERE namespace = $1 AND key = ANY($2)",
                            &[&&*ns, removed],
                        )
                        .await?;
                    }
                    if !put_keys.is_empty() {
                        tx.execute(
                            "INSERT INTO chronorag_records (namespace, key, value) \
                             SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS t(k, v) \
                             ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value",
                            &[&&*ns, put_keys, put_values],
                        )
                        .await?;
                    }
                    if !bounded_keys.is_empty() {
                        tx.execute(
                            "DELETE FROM chronorag_records r \
                             USING unnest($2::bytea[], $3::bytea[]) AS t(k, bound) \
                             WHERE r.namespace = $1 AND r.key = t.k AND r.value <= t.bound",
                            &[&&*ns, bounded_keys, bounds],
                        )
                        .await?;
                    }
                    if announce {
                        // Delivered to the other servers' followers once (and only if) it
                        // commits.
                        tx.execute("SELECT pg_notify($1, $2)", &[&COMMITS_CHANNEL, &&*ns])
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(Ok(()))
                }
                .await;
                (c, r)
            }
        })?;
        outcome.map_err(Error::Conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/chronorag"),
            "postgres://app@db.internal:5432/chronorag"
        );
        assert_eq!(redact("postgres://localhost/x"), "postgres://localhost/x");
        assert_eq!(
            redact("postgres://h/db?user=u&password=pw&sslmode=disable"),
            "postgres://h/db?user=u&password=…&sslmode=disable"
        );
        assert!(is_postgres_url("postgresql://h/db"));
        assert!(!is_postgres_url("./chronorag-data"));
    }

    #[test]
    fn a_bad_url_is_a_config_error_naming_it_without_the_password() {
        let e = PgStore::open("postgres://u:pw@host:notaport/db").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        assert!(!msg.contains("pw"), "{msg}");
    }
}
