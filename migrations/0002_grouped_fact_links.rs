//! Migration 0002: schema version 2, where a transaction's links from facts to itself and to
//! chunks are one key per transaction and per chunk (`FACT_TX_SET`, `FACT_CHUNK_SET` in
//! `src/store/keys.rs`) instead of one key per link.
//!
//! Nothing is converted: the per-link keys written before stay and are read beside the lists,
//! and erasing a fact removes it from both. The version is what changes: a binary written
//! before it does not read the lists, and so refuses a store that may hold them instead of
//! missing its links.

use crate::Result;

/// Applies the migration.
pub fn apply(_db: &sled::Db, _sys: &sled::Tree) -> Result<String> {
    Ok(
        "fact links are written as one list per transaction and per chunk from now on; \
        links written before stay as they are"
            .to_string(),
    )
}
