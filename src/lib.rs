//! ChronoRAG: a temporal knowledge-graph RAG database.
//!
//! Dated text goes in; facts with valid time come out into a bi-level temporal graph (a knowledge
//! graph whose edges carry time, plus a calendar hierarchy of time nodes with summaries);
//! questions get a subgraph scoped both in time and in meaning. Every change is a transaction that
//! can be inspected, diffed, rolled back and audited, and any read can be made "as of" an earlier
//! transaction.
//!
//! Start at [`Engine`]: one core function per operation, shared by the HTTP API, the CLI and the
//! tests. See `ARCHITECTURE.md` for the map.
#![warn(missing_docs)]

pub mod api;
pub mod config;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod governance;
pub mod index;
pub mod ingest;
pub mod llm;
pub mod mcp;
pub mod model;
pub mod query;
pub mod store;
pub mod summary;
pub mod synth;
pub mod time;

pub use config::Config;
pub use engine::Engine;
pub use error::{Error, Result};
