//! Records: the nouns of ChronoRAG. Every record is serde-serialisable and has a stable id that
//! never changes once assigned (ids are allocated per namespace, monotonically, and never reused).
//!
//! Bitemporality lives here: a [`Fact`] has a **valid time** (when it holds in the world, an
//! [`Interval`](crate::time::Interval) at a [`Granularity`](crate::time::Granularity)) and a
//! **transaction time** (the [`TxId`] that asserted it and the one that retracted it, if any).
//! Records are versioned by the transaction that wrote them (`updated_tx`); the store keeps
//! superseded versions so that any read can be made "as of" an earlier transaction.

mod audit;
mod conflict;
mod document;
mod entity;
mod fact;
pub mod slot;
mod summary;
mod tx;
mod view;

pub use audit::AuditEntry;
pub use conflict::Conflict;
pub use document::{Chunk, DocTimeOrigin, Document};
pub use entity::{Entity, EntityKind, mentions_name, normalize_name};
pub use fact::{Fact, FactObject, FactOrigin, collapse_spaces, normalize_text};
pub use summary::{Finding, Summary, TimeNode};
pub use tx::{Change, Counts, Tx, TxKind};
pub use view::{
    AuditEntryView, ChunkView, DocumentInfo, DocumentView, EntityView, FactView, FindingView,
    SourceRef, SummaryView, TxView, time_label,
};

/// Transaction id: per namespace, starting at 1, strictly increasing. `0` means "before anything".
pub type TxId = u64;
/// Fact id (per namespace).
pub type FactId = u64;
/// Entity id (per namespace).
pub type EntityId = u64;
/// Internal document id (per namespace); documents also carry a user-facing string id.
pub type DocId = u64;
/// Chunk id (per namespace); the chunks of one document have consecutive ids.
pub type ChunkId = u64;

/// Lifecycle of a versioned record in transaction time.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    Default,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Currently asserted.
    #[default]
    Active,
    /// Retracted by a later transaction (still readable as of earlier transactions).
    Retracted,
}

/// The namespace names [`validate_namespace`] accepts, as a regular expression (for the API
/// contract; a unit test checks the two agree).
pub const NAMESPACE_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";

/// Checks a namespace name: 1–64 characters of `a-z`, `0-9`, `_`, `-`, starting with a letter or
/// digit. Names never contain `/` or `..`, so they are safe in paths and URLs.
pub fn validate_namespace(name: &str) -> crate::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(crate::Error::invalid(format!(
            "invalid namespace name {name:?}: use 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_pattern_accepts_what_validation_accepts() {
        let re = regex::Regex::new(NAMESPACE_PATTERN).unwrap();
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for name in [
            "default",
            "a",
            "0",
            "acme-2024",
            "x_y",
            &long,
            "",
            "-a",
            "_a",
            "A",
            "a/b",
            "a b",
            "ä",
            &too_long,
            "..",
        ] {
            assert_eq!(
                re.is_match(name),
                validate_namespace(name).is_ok(),
                "{name:?}: the contract's pattern and validate_namespace disagree"
            );
        }
    }
}
