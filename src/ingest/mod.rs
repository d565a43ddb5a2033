//! Ingestion: dated text in, one transaction of documents, chunks, entities, facts and time
//! nodes out.
//!
//! Flow: [`input`] (shapes and file readers, document time, [`repair`] of PDF ligature splits)
//! → [`chunk`] → [`extract`] (the
//! `Extractor` trait: rules or LLM) → [`resolve`] (entity resolution against the namespace) →
//! [`pipeline`] (documents known by id, else by content; facts by identity; time nodes; the write
//! set).
//!
//! **Architecture invariant:** extraction runs outside the namespace's writer lock (it is the
//! slow, parallel part); only resolution and the commit run under it.

pub mod chunk;
pub mod extract;
pub mod input;
pub mod pipeline;
pub mod reads;
pub mod repair;
pub mod resolve;
pub mod sentences;

/// Documents per transaction of a bulk load (`chronorag ingest --batch`). Bigger batches are
/// no faster and raise the peak memory, since the store applies a batch at once (news load:
/// 1.50 GB at 128, 1.33 GB at 32, at the same speed).
pub const BATCH_DOCS: usize = 32;
/// Text per transaction of a bulk load, at most (a batch closes at this size).
pub const BATCH_BYTES: usize = 8 << 20;

pub use input::{DocumentInput, PreparedDocument, Rejected};
pub use pipeline::{IngestOptions, IngestReport};
