//! Migration 0001: sets up schema version 1.
//!
//! Version 1 is the first on-disk format: a `sys` tree (schema version, migration log, namespace
//! registry) and one tree per namespace with the key spaces described in `src/store/keys.rs`.
//! There is nothing to convert; the migration records when the store was created.

use crate::Result;

/// Applies the migration.
pub fn apply(_db: &sled::Db, sys: &sled::Tree) -> Result<String> {
    if sys.get(b"created_at")?.is_none() {
        sys.insert(b"created_at", chrono::Utc::now().to_rfc3339().as_bytes())?;
    }
    Ok("created the sys tree (schema version, migration log, namespace registry)".to_string())
}
