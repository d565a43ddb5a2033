//! Configuration: one [`Config`] struct, read from an optional TOML file, then environment
//! variables, then command-line flags (later wins). Every field has a default that runs the
//! embedded service with no network.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::embed::openai::OpenAiEmbedConfig;
use crate::llm::LlmConfig;
use crate::{Error, Result};

/// The default data folder.
pub const DEFAULT_DATA_DIR: &str = "./chronorag-data";

/// Everything configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store and the indexes live.
    pub data_dir: PathBuf,
    /// Where the records live instead of `data_dir/store`: a PostgreSQL URL
    /// (`postgres://user:password@host:5432/database`), shared by every server pointed at it.
    /// The derived indexes stay in `data_dir`. Unset: the embedded sled store.
    pub store: Option<String>,
    /// Fact extractor: `rules` (built in) or `llm`.
    pub extractor: String,
    /// Embedder: `hash` (built in), `minilm` or `openai`.
    pub embedder: String,
    /// Folder of the all-MiniLM-L6-v2 model (`embedder = "minilm"`; installed by
    /// `scripts/install-model.sh`).
    pub minilm_dir: PathBuf,
    /// Accept a namespace embedded with another embedder and re-embed it on open.
    pub reembed: bool,
    /// Summariser: `extractive` (built in) or `llm`.
    pub summarizer: String,
    /// Writes are refused (503, reads keep working) when the data folder's disk has less than
    /// this many bytes free, so that a full disk never corrupts the store.
    pub min_free_disk_bytes: u64,
    /// Page cache of the embedded store (sled), in MiB. Unset: 256 (see [`Config::store_cache`]),
    /// and 64 for `chronorag ingest`, whose bulk load writes more than it reads back (the news
    /// load's peak RSS 0.94 against 1.38–1.41 GB, 43.7 against 39.7–42.7 s). Smaller saves
    /// memory at some speed: at 1M facts a 64 MiB cache made ingest 15% slower and abstract
    /// questions' p95 54.6 against 35.7 ms (2026-12-05). Not used with PostgreSQL.
    pub store_cache_mb: Option<u64>,
    /// Build the vector indexes one insert after another, so that the same records ingested in
    /// the same order, or rebuilt by `chronorag reindex`, answer every question with the same
    /// context (parallel inserts build a slightly different HNSW graph on every run: two
    /// rebuilds of the news store gave different contexts for 714 of 780 questions, recall
    /// within ±0.003). Costs insert speed: a rebuild of the news store took 48–55 s instead of
    /// 34 s on two cores. For evaluations, audits and tests that compare runs.
    pub deterministic_indexes: bool,
    /// Embed every fact, and search the facts by vector beside BM25 (their similarity to the
    /// question then also weighs the graph's edges). Off by default: with the built-in
    /// embedder it moved no evaluation beyond one ingest's spread (2026-12-07, one store each,
    /// in process: news 0.603 / 0.633 / 0.667 with it, 0.603 / 0.633 / 0.669 without;
    /// Time-LongQA 0.7629 / 0.8545 / 0.9201 and 0.7637 / 0.8551 / 0.9199; synthetic facet
    /// questions 0.992 / 1 / 1 both), while a news load spent a quarter of its CPU and a sixth
    /// of its peak memory on the facts' vectors (eight or nine per chunk), and queries were
    /// slower. Chunks are embedded either way. Turning it on for a namespace built without it
    /// rebuilds that namespace's vectors on its next open; turning it off drops its fact
    /// vectors.
    pub embed_facts: bool,
    /// Most namespaces the store may hold; creating one more is refused (409). Each namespace
    /// costs disk and, while its indexes are open, memory and threads.
    pub max_namespaces: usize,
    /// Most namespaces whose derived indexes are kept open at once; the least recently used
    /// idle one is flushed and closed when another opens (it reopens on its next use, in
    /// milliseconds for a small namespace). Bounds memory and threads with many namespaces.
    pub max_open_namespaces: usize,
    /// Memory budget, in MiB, for the derived indexes of all open namespaces together (their
    /// estimated size: vectors and catalog; the text index is memory-mapped and not counted).
    /// When a namespace opens past it, the least recently used idle namespaces are flushed and
    /// closed until the rest fit; the one just opened always stays. 0 (the default): no
    /// budget, only `max_open_namespaces`.
    pub index_memory_mb: u64,
    /// Query result caches.
    pub cache: CacheConfig,
    /// The HTTP service.
    pub server: ServerConfig,
    /// The OpenAI-compatible chat endpoint (`extractor = "llm"`, LLM summaries and answers).
    pub llm: LlmConfig,
    /// The OpenAI-compatible embeddings endpoint (`embedder = "openai"`).
    pub openai_embed: OpenAiEmbedConfig,
}

/// Query result caches (see `query::cache`): an exact cache and a semantic cache that lets a
/// paraphrase reuse an earlier question's plan and context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Memory for exact answers (MiB; 0 turns the exact cache off).
    pub exact_mb: usize,
    /// Whether paraphrases may reuse an earlier question's answer.
    pub semantic: bool,
    /// Memory for the semantic cache (MiB).
    pub semantic_mb: usize,
    /// Least cosine similarity of two questions about the current state.
    pub threshold_head: f32,
    /// Least cosine similarity of two questions whose period is relative to `now`.
    pub threshold_relative: f32,
    /// Least cosine similarity of two questions read at an `as_of_tx`.
    pub threshold_as_of: f32,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            exact_mb: 64,
            semantic: true,
            semantic_mb: 32,
            threshold_head: 0.9,
            threshold_relative: 0.95,
            threshold_as_of: 0.9,
        }
    }
}

/// Settings of `chronorag serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: String,
    /// Keys file (TOML); authentication is off without it (allowed on loopback only).
    pub auth_file: Option<PathBuf>,
    /// Largest request body in bytes (413 above).
    pub max_body_bytes: usize,
    /// Milliseconds a read request may take (503 after).
    pub request_timeout_ms: u64,
    /// Concurrent requests per API key (429 above).
    pub max_concurrent_per_key: usize,
    /// Documents per ingest request (413 above).
    pub max_documents_per_request: usize,
    /// Ingest bodies larger than this become jobs (202 + job id) instead of waiting.
    pub async_threshold_bytes: usize,
    /// `Host` names `POST /mcp` accepts besides the loopback ones, on a server bound to a
    /// loopback address without API keys (for example the name a reverse proxy forwards).
    pub mcp_allowed_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:7070".into(),
            auth_file: None,
            max_body_bytes: 64 * 1024 * 1024,
            request_timeout_ms: 30_000,
            max_concurrent_per_key: 256,
            max_documents_per_request: 10_000,
            async_threshold_bytes: 4 * 1024 * 1024,
            mcp_allowed_hosts: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store: None,
            extractor: "rules".into(),
            embedder: "hash".into(),
            minilm_dir: PathBuf::from(crate::embed::DEFAULT_MINILM_DIR),
            reembed: false,
            summarizer: "extractive".into(),
            min_free_disk_bytes: 64 * 1024 * 1024,
            store_cache_mb: None,
            deterministic_indexes: false,
            embed_facts: false,
            max_namespaces: 1_000,
            max_open_namespaces: 32,
            index_memory_mb: 0,
            cache: CacheConfig::default(),
            server: ServerConfig::default(),
            llm: LlmConfig::default(),
            openai_embed: OpenAiEmbedConfig::default(),
        }
    }
}

impl Config {
    /// A default config with the given data folder.
    pub fn with_data_dir(dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: dir.into(),
            ..Config::default()
        }
    }

    /// Reads a TOML config file; unknown keys are an error (so typos are not silently ignored).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// The sled store folder.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The embedded store's page cache in MiB: `store_cache_mb`, else
    /// [`crate::store::DEFAULT_CACHE_MB`].
    pub fn store_cache(&self) -> u64 {
        self.store_cache_mb
            .unwrap_or(crate::store::DEFAULT_CACHE_MB)
    }

    /// Checks `store`: unset, or a PostgreSQL URL this binary can use; and `store_cache_mb`.
    pub fn check_store(&self) -> Result<()> {
        if !(8..=1 << 20).contains(&self.store_cache()) {
            return Err(Error::Config(format!(
                "store_cache_mb = {} is out of range: give 8 to 1048576 (MiB; default {})",
                self.store_cache(),
                crate::store::DEFAULT_CACHE_MB
            )));
        }
        match &self.store {
            None => Ok(()),
            Some(s) if self.postgres_url().is_none() => Err(Error::Config(format!(
                "store {:?} is not a PostgreSQL URL: give postgres://user:password@host:5432/db, \
                 or leave `store` unset to keep the records in the data folder",
                // It may hold a password.
                s.split_once('@').map_or(s.as_str(), |(_, host)| host)
            ))),
            Some(_) if !cfg!(feature = "postgres") => Err(Error::Config(
                "this chronorag was built without PostgreSQL support: rebuild with \
                 `--features postgres` (on by default)"
                    .into(),
            )),
            Some(_) => Ok(()),
        }
    }

    /// The PostgreSQL URL when the records live in PostgreSQL (`store`), None for sled.
    pub fn postgres_url(&self) -> Option<&str> {
        self.store
            .as_deref()
            .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
    }

    /// The folder of a namespace's derived indexes.
    pub fn index_dir(&self, namespace: &str) -> PathBuf {
        self.data_dir.join("index").join(namespace)
    }
}
