//! Key encodings of the sled backend. All integers are big-endian so that byte order equals
//! numeric order and facts can be range-scanned by valid time, by entity and by transaction.
//!
//! Every key of a namespace tree starts with a one-byte tag naming its key space:
//!
//! | tag | key | value |
//! |---|---|---|
//! | `META` | name (utf-8) | bytes |
//! | `TX` | tx u64 | [`Tx`](crate::model::Tx) json |
//! | `AUDIT` | seq u64 | [`AuditEntry`](crate::model::AuditEntry) json |
//! | `DOC` | doc u64 | current [`Document`](crate::model::Document) |
//! | `DOC_HIST` | doc u64 · tx u64 | superseded version |
//! | `DOC_HASH` | sha-256 hex | doc u64 |
//! | `DOC_EXT` | external id (utf-8) | doc u64 |
//! | `CHUNK` | chunk u64 | [`Chunk`](crate::model::Chunk) |
//! | `ENT` / `ENT_HIST` | ent u64 (· tx u64) | [`Entity`](crate::model::Entity) |
//! | `ENT_ALIAS` | normalised alias (utf-8) | ent u64 |
//! | `FACT` / `FACT_HIST` | fact u64 (· tx u64) | [`Fact`](crate::model::Fact) |
//! | `FACT_KEY` | 16-byte identity hash | fact u64 |
//! | `FACT_TIME` | valid start i32 · fact u64 | valid end i32 |
//! | `FACT_LONG` | fact u64 | (empty) — facts longer than [`LONG_SPAN_DAYS`] or unbounded |
//! | `FACT_ENT` | ent u64 · valid start i32 · fact u64 | valid end i32 |
//! | `FACT_TX` | tx u64 · fact u64 | (empty) — written before schema version 2 |
//! | `FACT_CHUNK` | chunk u64 · fact u64 | (empty) — written before schema version 2 |
//! | `FACT_TX_SET` | tx u64 | fact u64s: the facts the transaction wrote |
//! | `FACT_CHUNK_SET` | chunk u64 · tx u64 | fact u64s: the facts that transaction linked to the chunk |
//! | `NODE` | time key (utf-8) | [`TimeNode`](crate::model::TimeNode) |
//! | `SUMMARY` | time key · 0x00 · reflects tx u64 | [`Summary`](crate::model::Summary) |
//! | `DIRTY` | time key (utf-8) | tx u64 that dirtied it last |
//! | `CONFLICT` | conflict u64 | [`Conflict`](crate::model::Conflict) |
//!
//! Signed day numbers (`i32`) are stored with the sign bit flipped so that they sort correctly.
//!
//! A transaction's links from facts to itself and to chunks are one key per transaction and per
//! chunk (the `_SET` spaces, lists of big-endian ids) rather than one per link: sled spends
//! about 8 µs on every key it writes whatever its size, and the links were a quarter of a news
//! load's keys. Stores written before keep their per-link keys; readers take both.

/// Key-space tags.
pub mod tag {
    pub const META: u8 = 0x01;
    pub const TX: u8 = 0x02;
    pub const AUDIT: u8 = 0x03;
    pub const DOC: u8 = 0x10;
    pub const DOC_HIST: u8 = 0x11;
    pub const DOC_HASH: u8 = 0x12;
    pub const DOC_EXT: u8 = 0x13;
    pub const CHUNK: u8 = 0x18;
    pub const ENT: u8 = 0x20;
    pub const ENT_HIST: u8 = 0x21;
    pub const ENT_ALIAS: u8 = 0x22;
    pub const FACT: u8 = 0x30;
    pub const FACT_HIST: u8 = 0x31;
    pub const FACT_KEY: u8 = 0x32;
    pub const FACT_TIME: u8 = 0x33;
    pub const FACT_LONG: u8 = 0x34;
    pub const FACT_ENT: u8 = 0x35;
    pub const FACT_TX: u8 = 0x36;
    pub const FACT_CHUNK: u8 = 0x37;
    pub const FACT_TX_SET: u8 = 0x38;
    pub const FACT_CHUNK_SET: u8 = 0x39;
    pub const NODE: u8 = 0x40;
    pub const SUMMARY: u8 = 0x41;
    pub const DIRTY: u8 = 0x42;
    pub const CONFLICT: u8 = 0x60;
}

/// Facts whose valid time spans more days than this (or is unbounded) are listed in `FACT_LONG`,
/// so that a time-range scan can start at `range.start - LONG_SPAN_DAYS` and stay short.
pub const LONG_SPAN_DAYS: i32 = 370;

/// Encodes an `i32` so that big-endian byte order equals numeric order.
pub fn i32_key(v: i32) -> [u8; 4] {
    ((v as u32) ^ 0x8000_0000).to_be_bytes()
}

/// Decodes [`i32_key`].
pub fn i32_from(b: &[u8]) -> i32 {
    (u32::from_be_bytes(b[..4].try_into().expect("4 bytes")) ^ 0x8000_0000) as i32
}

/// Decodes a big-endian `u64`.
pub fn u64_from(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

/// A key builder: a tag followed by parts.
#[derive(Debug, Clone, Default)]
pub struct Key(pub Vec<u8>);

impl Key {
    /// Starts a key in the given key space.
    pub fn new(tag: u8) -> Self {
        let mut v = Vec::with_capacity(24);
        v.push(tag);
        Key(v)
    }
    /// Appends a big-endian u64.
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends a sortable i32.
    pub fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&i32_key(v));
        self
    }
    /// Appends raw bytes.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Appends a string.
    pub fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }
    /// The key bytes.
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// A list of ids as a value: big-endian `u64`s, one after another.
pub fn id_list(ids: &[u64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_be_bytes()).collect()
}

/// Decodes [`id_list`]; `None` when the length is not a multiple of 8.
pub fn id_list_from(b: &[u8]) -> Option<Vec<u64>> {
    b.len()
        .is_multiple_of(8)
        .then(|| b.chunks_exact(8).map(u64_from).collect())
}

/// Shorthand: tag + u64.
pub fn id_key(tag: u8, id: u64) -> Vec<u8> {
    Key::new(tag).u64(id).build()
}

/// Shorthand: tag + u64 + u64 (history versions, by-tx index).
pub fn id2_key(tag: u8, a: u64, b: u64) -> Vec<u8> {
    Key::new(tag).u64(a).u64(b).build()
}

/// The summary key of a node version.
pub fn summary_key(node: &str, reflects_tx: u64) -> Vec<u8> {
    Key::new(tag::SUMMARY)
        .str(node)
        .bytes(&[0])
        .u64(reflects_tx)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i32_keys_sort_numerically() {
        let vals = [i32::MIN, -5, -1, 0, 1, 738_000, i32::MAX];
        for w in vals.windows(2) {
            assert!(i32_key(w[0]) < i32_key(w[1]), "{} !< {}", w[0], w[1]);
            assert_eq!(i32_from(&i32_key(w[0])), w[0]);
        }
    }

    #[test]
    fn u64_keys_sort_numerically() {
        assert!(id_key(tag::FACT, 255) < id_key(tag::FACT, 256));
        assert!(id2_key(tag::FACT_HIST, 1, u64::MAX) < id2_key(tag::FACT_HIST, 2, 0));
        assert_eq!(u64_from(&id_key(tag::TX, 42)[1..]), 42);
    }

    #[test]
    fn id_lists_round_trip() {
        let ids = [0, 7, u64::MAX, 1 << 40];
        assert_eq!(id_list_from(&id_list(&ids)), Some(ids.to_vec()));
        assert_eq!(id_list_from(&[]), Some(vec![]));
        assert_eq!(id_list_from(&[1, 2, 3]), None);
    }

    #[test]
    fn summary_keys_of_one_node_are_contiguous() {
        let a = summary_key("2024", 5);
        let b = summary_key("2024", 6);
        let c = summary_key("2024-Q1", 1);
        assert!(a < b && b < c);
    }
}
