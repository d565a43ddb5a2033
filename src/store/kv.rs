//! What a backend provides: one namespace's ordered key-value space, read by key and by key
//! range, written by atomic batches. Everything about records (their keys in [`super::keys`],
//! versions, lookups, counts, erasure, the audit chain) lives above it, in
//! [`super::records::RecordNs`], once for every backend.
//!
//! **Invariant:** keys order byte-wise (memcmp, shorter first on a common prefix), as sled and
//! PostgreSQL's `bytea` both do; the record layout relies on it for every range scan.
//!
//! **Invariant:** [`KvSpace::apply`] writes a whole batch or nothing, also across a crash, and
//! when it returns with `durable` set the batch is on disk.

use crate::{Error, Result};

/// One write of a batch: a put (`Some`) or a removal (`None`). Later writes of a key win.
pub type KvWrite = (Vec<u8>, Option<Vec<u8>>);

/// The writes of one atomic batch, in order.
#[derive(Debug, Default)]
pub struct KvBatch {
    /// The writes, in the order they were made.
    pub writes: Vec<KvWrite>,
    /// Removals that happen only while the key's value is at most the bound (byte order),
    /// checked inside the batch's transaction, after `writes`: a mark another process moved
    /// past the bound meanwhile stays.
    pub removes_if_at_most: Vec<(Vec<u8>, Vec<u8>)>,
    /// A transaction: a backend shared with other processes tells them once it is applied
    /// (what their followers wait for; see `Store::wait_for_change`). Metadata writes (job
    /// progress, leases, checkpoints) are not announced.
    pub announce: bool,
}

impl KvBatch {
    /// Puts `value` under `key`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl AsRef<[u8]>) {
        self.writes
            .push((key.into(), Some(value.as_ref().to_vec())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), None));
    }

    /// Removes `key` if its value is then at most `bound` (byte order).
    pub fn remove_if_at_most(&mut self, key: impl Into<Vec<u8>>, bound: impl AsRef<[u8]>) {
        self.removes_if_at_most
            .push((key.into(), bound.as_ref().to_vec()));
    }

    /// True when the batch writes nothing.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.removes_if_at_most.is_empty()
    }
}

/// A condition the backend checks inside the batch's own transaction: `key` still holds
/// `expected` (`None`: absent). A backend shared by several processes must check it (it is how
/// two servers committing the same transaction id are told apart); an embedded backend whose
/// writers are serialised in this process may rely on that instead.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The key checked.
    pub key: Vec<u8>,
    /// The value it must still hold.
    pub expected: Option<Vec<u8>>,
}

/// An entry: key and value.
pub type Entry<B> = (B, B);

/// A lazily read ascending run of entries.
pub type EntryIter<'a, B> = Box<dyn Iterator<Item = Result<Entry<B>>> + 'a>;

/// One namespace's ordered key space in a backend.
pub trait KvSpace: Send + Sync + 'static {
    /// Bytes as the backend hands them out (sled's shared buffers, or owned vectors).
    type Bytes: AsRef<[u8]> + std::ops::Deref<Target = [u8]> + Send + 'static;

    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Self::Bytes>>;

    /// The values under `keys`, in their order. Backends with a round trip per call read them
    /// at once.
    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Self::Bytes>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// The entries with `lo <= key < hi` (`hi` None: to the end), ascending, read lazily.
    fn range<'a>(&'a self, lo: &[u8], hi: Option<&[u8]>) -> EntryIter<'a, Self::Bytes>;

    /// The greatest entry with `lo <= key < hi`.
    fn last(&self, lo: &[u8], hi: &[u8]) -> Result<Option<Entry<Self::Bytes>>>;

    /// Applies `batch` atomically, after checking every `expect` (failing with
    /// [`Error::Conflict`] and writing nothing when one does not hold). With `durable`, the
    /// batch is on disk when this returns.
    fn apply(&self, batch: KvBatch, expect: &[Expect], durable: bool) -> Result<()>;

    /// True when each call costs a round trip to another process (a database server): the
    /// records above then keep what the last commit wrote, which the indexes read right after.
    fn remote(&self) -> bool {
        false
    }

    /// Refuses writes the backend cannot take now (a nearly full disk, an earlier failure).
    fn check_writable(&self) -> Result<()> {
        Ok(())
    }

    /// Called with the error of a failed write; returns the error to report.
    fn note_failure(&self, e: Error) -> Error {
        e
    }
}

/// The first key after every key starting with `prefix` (None: no such key, the prefix is all
/// 0xFF).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The first key after `key` itself: `lo..=key` is `lo..after(key)`.
pub fn after(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.extend_from_slice(key);
    k.push(0);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_first_key_past_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert!(after(&[1, 2]).as_slice() > [1u8, 2].as_slice());
        assert!(after(&[1, 2]).as_slice() < [1u8, 2, 0, 0].as_slice());
    }
}
