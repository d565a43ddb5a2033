//! Chunk texts with their sentences, kept between queries.
//!
//! Cutting passages reads each candidate chunk from the store (a sled read and a JSON decode)
//! and splits it into sentences; on a warm server most candidates were read by an earlier
//! question. This cache keeps them, bounded in bytes.
//!
//! **Invariants.** A chunk's text changes only when the past is rewritten (erase redacts it;
//! rollback and reindex remove chunks): every such change moves the indexes' `epoch`, and an
//! entry is served only for the epoch it was read at, so erased text never comes back from
//! here. Eviction is by generations (a full generation becomes the old one; an old entry that
//! is used again moves back), which approximates least-recently-used at no cost per hit.

use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap as HashMap;

use crate::Result;
use crate::model::{ChunkId, DocId};
use crate::store::NsStore;

/// A chunk's text and its sentences.
#[derive(Debug)]
pub struct ChunkText {
    /// The document.
    pub doc: DocId,
    /// Byte offset of the chunk in its document.
    pub start: usize,
    /// The text.
    pub text: String,
    /// Sentences as document byte ranges.
    pub sentences: Vec<(usize, usize)>,
    /// Words as chunk-relative byte ranges (the caller's tokenisation).
    pub words: Vec<(u32, u32)>,
}

/// A chunk's sentences and words as chunk-relative byte ranges.
pub type Analysis = (Vec<(usize, usize)>, Vec<(u32, u32)>);

/// How a chunk read from the store is analysed.
pub type Analyse = fn(&str) -> Analysis;

impl ChunkText {
    fn bytes(&self) -> usize {
        self.text.len() + self.sentences.len() * 16 + self.words.len() * 8 + 64
    }
}

fn read(c: crate::model::Chunk, split: Analyse) -> ChunkText {
    let (sentences, words) = split(&c.text);
    ChunkText {
        doc: c.doc,
        start: c.start,
        sentences: sentences
            .into_iter()
            .map(|(s, e)| (c.start + s, c.start + e))
            .collect(),
        words,
        text: c.text,
    }
}

#[derive(Default)]
struct Generations {
    epoch: u64,
    hot: HashMap<ChunkId, Arc<ChunkText>>,
    hot_bytes: usize,
    cold: HashMap<ChunkId, Arc<ChunkText>>,
}

/// The cache of one namespace.
pub struct ChunkTexts {
    inner: Mutex<Generations>,
    /// Bytes one generation may hold (two are kept).
    generation_bytes: usize,
}

impl std::fmt::Debug for ChunkTexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkTexts")
            .field("generation_bytes", &self.generation_bytes)
            .finish()
    }
}

/// Bytes of chunk text a namespace keeps between queries (two generations of half each).
pub const CACHE_BYTES: usize = 32 << 20;

impl Default for ChunkTexts {
    fn default() -> Self {
        ChunkTexts::new(CACHE_BYTES)
    }
}

impl ChunkTexts {
    /// A cache of at most about `bytes` bytes.
    pub fn new(bytes: usize) -> Self {
        ChunkTexts {
            inner: Mutex::new(Generations::default()),
            generation_bytes: bytes / 2,
        }
    }

    /// The chunk `id` as of `epoch` (the indexes' current one), from the cache or the store;
    /// `split` finds the sentences and words of a chunk read from the store.
    pub fn get(
        &self,
        store: &dyn NsStore,
        id: ChunkId,
        epoch: u64,
        split: Analyse,
    ) -> Result<Option<Arc<ChunkText>>> {
        {
            let mut g = self.inner.lock();
            if g.epoch < epoch {
                *g = Generations {
                    epoch,
                    ..Generations::default()
                };
            }
            if g.epoch != epoch {
                // A reader that started before the latest change of the past: not served
                // from, nor kept in, the cache.
                drop(g);
                return Ok(store.chunk(id)?.map(|c| Arc::new(read(c, split))));
            }
            if let Some(c) = g.hot.get(&id) {
                return Ok(Some(c.clone()));
            }
            if let Some(c) = g.cold.remove(&id) {
                self.insert(&mut g, id, c.clone());
                return Ok(Some(c));
            }
        }
        let Some(c) = store.chunk(id)? else {
            return Ok(None);
        };
        let c = Arc::new(read(c, split));
        let mut g = self.inner.lock();
        // Read before a change of the past that happened meanwhile: not kept.
        if g.epoch == epoch {
            self.insert(&mut g, id, c.clone());
        }
        Ok(Some(c))
    }

    /// Reads into the cache, at once, those of `ids` it lacks (one round trip on a store
    /// behind a network, instead of one per chunk); [`ChunkTexts::get`] then finds them.
    pub fn prefetch(
        &self,
        store: &dyn NsStore,
        ids: &[ChunkId],
        epoch: u64,
        split: Analyse,
    ) -> Result<()> {
        let missing: Vec<ChunkId> = {
            let g = self.inner.lock();
            if g.epoch != epoch {
                return Ok(());
            }
            let mut m: Vec<ChunkId> = ids
                .iter()
                .copied()
                .filter(|id| !g.hot.contains_key(id) && !g.cold.contains_key(id))
                .collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        if missing.len() < 2 {
            return Ok(());
        }
        let read_now: Vec<(ChunkId, Arc<ChunkText>)> = missing
            .iter()
            .zip(store.chunks_many(&missing)?)
            .filter_map(|(id, c)| Some((*id, Arc::new(read(c?, split)))))
            .collect();
        let mut g = self.inner.lock();
        // Read before a change of the past that happened meanwhile: not kept.
        if g.epoch == epoch {
            for (id, c) in read_now {
                self.insert(&mut g, id, c);
            }
        }
        Ok(())
    }

    fn insert(&self, g: &mut Generations, id: ChunkId, c: Arc<ChunkText>) {
        let bytes = c.bytes();
        if g.hot_bytes + bytes > self.generation_bytes {
            g.cold = std::mem::take(&mut g.hot);
            g.hot_bytes = 0;
        }
        g.hot_bytes += bytes;
        g.hot.insert(id, c);
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        let g = self.inner.lock();
        g.hot.len() + g.cold.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
