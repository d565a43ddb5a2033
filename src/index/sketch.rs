//! Sign sketches: two bits per dimension (positive, negative) of every stored vector, kept in
//! memory next to the vector index, so that a large candidate set can be narrowed to a short
//! list by a few popcounts per candidate before the short list is scored exactly.
//!
//! Why: a scope of tens of thousands of candidates is too many to score exactly (each one is a
//! vector read from the index) and too few of the index for usearch's filtered search, which
//! applies its filter to results, not to the walk. A sketch is 2·⌈dims/64⌉ words (64 bytes at
//! 256 dimensions); the query side keeps its magnitudes in three tiers, so the estimate is
//! `Σ tier weight × (agreeing signs − disagreeing signs)` over the dimensions both use.
//!
//! Sketches are a cache of the index, keyed densely by the vector's key: filled on insert,
//! cleared on removal, and filled lazily (from the stored vectors) after a load. Keys at or
//! above [`MAX_KEY`] are never sketched; callers score them exactly.

/// Keys at or above this are not sketched (memory is dense in the key).
pub const MAX_KEY: u64 = 1 << 28;

/// Sketches of one index.
#[derive(Debug, Default)]
pub struct Sketches {
    /// Words per mask.
    words: usize,
    /// Per key: `words` positive-mask words, then `words` negative-mask words.
    data: Vec<u64>,
    /// One bit per key: its sketch is known (a key without a vector has the zero sketch).
    known: Vec<u64>,
}

/// First bytes of a saved sketch file (format 1).
const FILE_MAGIC: &[u8; 8] = b"CRSKETC1";

/// The query side: per tier, its weight and its positive and negative masks.
pub struct QuerySketch {
    tiers: Vec<(f32, Vec<u64>, Vec<u64>)>,
}

impl Sketches {
    /// Empty sketches for `dims` dimensions.
    pub fn new(dims: usize) -> Self {
        Sketches {
            words: dims.div_ceil(64),
            data: Vec::new(),
            known: Vec::new(),
        }
    }

    /// Writes the sketches (saved beside the vectors, so that an open does not recompute them).
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        w.write_all(FILE_MAGIC)?;
        for n in [self.words, self.known.len(), self.data.len()] {
            w.write_all(&(n as u64).to_le_bytes())?;
        }
        for word in self.known.iter().chain(&self.data) {
            w.write_all(&word.to_le_bytes())?;
        }
        Ok(())
    }

    /// Sketches written by [`Sketches::write_to`] for `dims` dimensions; `None` when the bytes
    /// are not such a file or are for another number of dimensions.
    pub fn read_from(bytes: &[u8], dims: usize) -> Option<Sketches> {
        let rest = bytes.strip_prefix(FILE_MAGIC.as_slice())?;
        let mut words = rest
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        let w = usize::try_from(words.next()?).ok()?;
        let known_len = usize::try_from(words.next()?).ok()?;
        let data_len = usize::try_from(words.next()?).ok()?;
        // Checked arithmetic: a damaged header must not overflow.
        let keys = data_len.checked_div(2 * w.max(1))?;
        let total = known_len
            .checked_add(data_len)
            .and_then(|n| n.checked_add(3))
            .and_then(|n| n.checked_mul(8))?;
        if w != dims.div_ceil(64)
            || keys.checked_mul(2 * w) != Some(data_len)
            || known_len != keys.div_ceil(64)
            || rest.len() != total
        {
            return None;
        }
        let known: Vec<u64> = words.by_ref().take(known_len).collect();
        let data: Vec<u64> = words.take(data_len).collect();
        Some(Sketches {
            words: w,
            data,
            known,
        })
    }

    /// Bytes of memory used.
    pub fn memory_usage(&self) -> usize {
        (self.data.capacity() + self.known.capacity()) * 8
    }

    /// Whether `key`'s sketch is known.
    pub fn is_known(&self, key: u64) -> bool {
        key < MAX_KEY
            && self
                .known
                .get((key / 64) as usize)
                .is_some_and(|w| w & (1 << (key % 64)) != 0)
    }

    /// Records `key`'s vector (`None`: the key has no vector). Keys at or above [`MAX_KEY`]
    /// are ignored.
    pub fn set(&mut self, key: u64, v: Option<&[f32]>) {
        let w = self.words;
        let Some(slot) = self.known_slot(key) else {
            return;
        };
        slot.fill(0);
        if let Some(v) = v {
            for (d, x) in v.iter().enumerate() {
                if *x > 0.0 {
                    slot[d / 64] |= 1 << (d % 64);
                } else if *x < 0.0 {
                    slot[w + d / 64] |= 1 << (d % 64);
                }
            }
        }
    }

    /// The masks of `key` (room made, the key marked known), or None at or above [`MAX_KEY`].
    fn known_slot(&mut self, key: u64) -> Option<&mut [u64]> {
        if key >= MAX_KEY {
            return None;
        }
        self.reserve(key);
        let k = key as usize;
        let w = self.words;
        self.known[k / 64] |= 1 << (k % 64);
        Some(&mut self.data[k * 2 * w..(k + 1) * 2 * w])
    }

    /// Makes room for keys up to `key` (growing by a quarter at least, so that ascending
    /// inserts do not copy the arena each time). Keys at or above [`MAX_KEY`] are ignored.
    pub fn reserve(&mut self, key: u64) {
        if key >= MAX_KEY {
            return;
        }
        let w = self.words.max(1);
        let have = self.data.len() / (2 * w);
        let need = key as usize + 1;
        if need > have {
            let keys = need.max(have + have / 4).max(1024);
            self.data.resize(keys * 2 * w, 0);
            self.known.resize(keys.div_ceil(64), 0);
        }
    }

    /// Forgets every sketch.
    pub fn clear(&mut self) {
        self.data = Vec::new();
        self.known = Vec::new();
    }

    /// The query's sketch: its non-zero dimensions in three tiers by magnitude, each weighted
    /// by its mean magnitude.
    pub fn query(&self, q: &[f32]) -> QuerySketch {
        let mut nz: Vec<(usize, f32)> = q
            .iter()
            .enumerate()
            .filter(|(_, x)| **x != 0.0)
            .map(|(d, x)| (d, *x))
            .collect();
        nz.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        let per = nz.len().div_ceil(3).max(1);
        let tiers = nz
            .chunks(per)
            .map(|tier| {
                let mut pos = vec![0u64; self.words];
                let mut neg = vec![0u64; self.words];
                for (d, x) in tier {
                    if *x > 0.0 {
                        pos[d / 64] |= 1 << (d % 64);
                    } else {
                        neg[d / 64] |= 1 << (d % 64);
                    }
                }
                let weight = tier.iter().map(|(_, x)| x.abs()).sum::<f32>() / tier.len() as f32;
                (weight, pos, neg)
            })
            .collect();
        QuerySketch { tiers }
    }

    /// The estimated similarity of a known key with the query.
    pub fn score(&self, q: &QuerySketch, key: u64) -> f32 {
        let w = self.words;
        let k = key as usize;
        let (xp, xn) = self.data[k * 2 * w..(k + 1) * 2 * w].split_at(w);
        let mut s = 0.0;
        for (weight, qp, qn) in &q.tiers {
            let mut agree = 0u32;
            let mut differ = 0u32;
            for i in 0..w {
                agree += (qp[i] & xp[i]).count_ones() + (qn[i] & xn[i]).count_ones();
                differ += (qp[i] & xn[i]).count_ones() + (qn[i] & xp[i]).count_ones();
            }
            s += weight * (agree as f32 - differ as f32);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_sketch_file_is_refused_without_panicking() {
        let mut s = Sketches::new(64);
        s.set(3, Some(&[0.5; 64]));
        let mut bytes = Vec::new();
        s.write_to(&mut bytes).unwrap();
        assert!(Sketches::read_from(&bytes, 64).is_some());
        // Huge lengths in the header, a truncated body, another magic.
        let mut huge = bytes.clone();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        huge[24..32].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(Sketches::read_from(&huge, 64).is_none());
        assert!(Sketches::read_from(&bytes[..bytes.len() - 1], 64).is_none());
        assert!(Sketches::read_from(b"CRSKETC2", 64).is_none());
        assert!(Sketches::read_from(&[], 64).is_none());
    }

    #[test]
    fn agreeing_signs_score_above_opposite_ones_and_unknown_keys_are_unknown() {
        let mut s = Sketches::new(100);
        let q = [0.9, -0.3, 0.0, 0.1];
        let mut v = vec![0.0; 100];
        v[..4].copy_from_slice(&q);
        s.set(5, Some(&v));
        let neg: Vec<f32> = v.iter().map(|x| -x).collect();
        s.set(3000, Some(&neg));
        s.set(7, None);
        let mut qv = vec![0.0; 100];
        qv[..4].copy_from_slice(&q);
        let qs = s.query(&qv);
        assert!(s.score(&qs, 5) > 0.0);
        assert!(s.score(&qs, 3000) < 0.0);
        assert_eq!(s.score(&qs, 7), 0.0);
        assert!(s.is_known(7) && s.is_known(3000) && !s.is_known(6) && !s.is_known(1 << 40));
        // The heavy dimension weighs more than the light one.
        let mut a = vec![0.0; 100];
        a[0] = 0.5;
        let mut b = vec![0.0; 100];
        b[3] = 0.5;
        s.set(1, Some(&a));
        s.set(2, Some(&b));
        assert!(s.score(&qs, 1) > s.score(&qs, 2));
        s.set(MAX_KEY, Some(&a));
        assert!(!s.is_known(MAX_KEY));
        s.clear();
        assert!(!s.is_known(5));
    }
}
