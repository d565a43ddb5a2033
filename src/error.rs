//! The crate's one error type. Every layer returns [`Result`]; the API layer maps each variant to
//! an HTTP status and a stable machine-readable `code`, the CLI prints the message and exits non-zero.

use crate::time::TimeError;

/// Everything that can go wrong inside ChronoRAG.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something malformed (bad JSON shape, bad name, empty text...).
    #[error("{0}")]
    Invalid(String),
    /// A time expression or time parameter could not be understood or is impossible.
    #[error("invalid time: {0}")]
    Time(#[from] TimeError),
    /// The named thing does not exist (namespace, fact, document, transaction, node...).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. a stale edit, an id reused).
    #[error("{0}")]
    Conflict(String),
    /// A body, a document or a batch is larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// The caller's key lacks the role the operation needs (checked above the engine, e.g. per
    /// MCP tool call over HTTP).
    #[error("{0}")]
    Forbidden(String),
    /// The store was written by a newer ChronoRAG than this binary.
    #[error(
        "the store in {path} has schema version {found}, but this chronorag supports up to version {supported}; upgrade chronorag to open it"
    )]
    SchemaTooNew {
        /// Where the store lives.
        path: String,
        /// Version found on disk.
        found: u32,
        /// Highest version this binary knows.
        supported: u32,
    },
    /// The store is temporarily unable to take writes (read-only folder, disk full, shutting down).
    #[error("{0}")]
    Unavailable(String),
    /// The embedded store failed.
    #[error("store: {0}")]
    Store(String),
    /// A derived index (text, vector, graph) failed.
    #[error("index: {0}")]
    Index(String),
    /// The embedder failed (model missing, remote error...).
    #[error("embedder: {0}")]
    Embed(String),
    /// The configured LLM endpoint failed or answered nonsense.
    #[error("llm: {0}")]
    Llm(String),
    /// Configuration is wrong (unknown option, unreadable file...).
    #[error("config: {0}")]
    Config(String),
    /// File system error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A stable, machine-readable code for the variant (used in API error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_request",
            Error::Time(_) => "invalid_time",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::TooLarge(_) => "too_large",
            Error::Forbidden(_) => "forbidden",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Unavailable(_) => "unavailable",
            Error::Store(_) => "store_error",
            Error::Index(_) => "index_error",
            Error::Embed(_) => "embedder_error",
            Error::Llm(_) => "llm_error",
            Error::Config(_) => "config_error",
            Error::Io(_) => "io_error",
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Io(io) => classify_io(io),
            other => Error::Store(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Store(format!("corrupt record: {e}"))
    }
}

/// Disk full and read-only file systems are conditions, not bugs: report them as `Unavailable`.
fn classify_io(io: std::io::Error) -> Error {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::StorageFull | ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => {
            Error::Unavailable(format!("the data folder cannot take writes: {io}"))
        }
        _ => Error::Io(io),
    }
}
