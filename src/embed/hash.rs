//! The built-in embedder: feature hashing of words, word bigrams and character trigrams into a
//! fixed number of dimensions, with signed buckets (to cancel collisions on average), sub-linear
//! term weights and English stop words removed. Deterministic across runs and machines; no files.

use super::{Embedder, l2_normalize};
use crate::Result;

/// Default dimensions.
pub const DEFAULT_DIMS: usize = 256;

const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "from", "as",
    "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these",
    "those", "which", "who", "whom", "what", "how", "why", "when", "where", "does", "do", "did",
    "has", "have", "had", "will", "would", "can", "could", "should", "may", "might", "not", "no",
    "but", "if", "than", "then", "so", "such", "into", "about", "over", "also", "their", "there",
    "they", "we", "our", "you", "your", "he", "she", "his", "her", "them", "us", "i", "me", "my",
];

/// The feature-hashing embedder.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dims: usize,
}

impl Default for HashEmbedder {
    fn default() -> Self {
        HashEmbedder { dims: DEFAULT_DIMS }
    }
}

impl HashEmbedder {
    /// An embedder with `dims` dimensions (at least 16).
    pub fn new(dims: usize) -> Self {
        HashEmbedder { dims: dims.max(16) }
    }

    fn add(&self, v: &mut [f32], feature: &[u8], seed: u64, weight: f32) {
        let h = fnv1a(feature, seed);
        let idx = (h % self.dims as u64) as usize;
        let sign = if (h >> 63) & 1 == 1 { -1.0 } else { 1.0 };
        v[idx] += sign * weight;
    }

    /// Embeds one text without allocation beyond the output.
    pub fn embed_text(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dims];
        let mut prev: Option<String> = None;
        let mut buf = String::new();
        for raw in text.split(|c: char| !c.is_alphanumeric()) {
            if raw.is_empty() {
                continue;
            }
            buf.clear();
            buf.extend(raw.chars().flat_map(char::to_lowercase));
            let w = buf.as_str();
            if STOP.contains(&w) {
                prev = None;
                continue;
            }
            let w = w.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(w);
            self.add(&mut v, w.as_bytes(), 1, 1.0);
            // Character trigrams with boundary marks catch morphology and spelling variants.
            let marked: Vec<u8> = [b"<", w.as_bytes(), b">"].concat();
            if marked.len() > 4 {
                for tri in marked.windows(3) {
                    self.add(&mut v, tri, 2, 0.35);
                }
            }
            if let Some(p) = &prev {
                let bigram = [p.as_bytes(), b" ", w.as_bytes()].concat();
                self.add(&mut v, &bigram, 3, 0.7);
            }
            prev = Some(w.to_string());
        }
        // Sub-linear term weighting: sqrt of magnitudes, sign kept.
        for x in v.iter_mut() {
            *x = x.signum() * x.abs().sqrt();
        }
        l2_normalize(&mut v);
        v
    }
}

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche so that low bits (the bucket) and the top bit (the sign) are independent.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

impl Embedder for HashEmbedder {
    fn id(&self) -> String {
        format!("hash-v1-{}", self.dims)
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_text(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::dot;

    #[test]
    fn deterministic_unit_vectors() {
        let e = HashEmbedder::default();
        let a = e.embed_text("Audi delivered 1.8 million cars in 2019");
        let b = e.embed_text("Audi delivered 1.8 million cars in 2019");
        assert_eq!(a, b);
        assert_eq!(a.len(), DEFAULT_DIMS);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-4);
        assert!(e.embed_text("the of and").iter().all(|x| *x == 0.0));
    }

    #[test]
    fn similar_texts_score_higher_than_unrelated_ones() {
        let e = HashEmbedder::default();
        let q = e.embed_text("How many cars did Audi deliver?");
        let near = e.embed_text("Audi delivered 1.8 million cars to customers.");
        let far = e.embed_text("Water consumption at the Brussels plant fell.");
        assert!(
            dot(&q, &near) > dot(&q, &far) + 0.1,
            "{} vs {}",
            dot(&q, &near),
            dot(&q, &far)
        );
        // Morphology: "emission" vs "emissions", "electrified" vs "electrification".
        let a = e.embed_text("CO2 emissions");
        let b = e.embed_text("emission of CO2");
        assert!(dot(&a, &b) > 0.5);
    }

    #[test]
    fn identity_names_dimensions() {
        assert_eq!(HashEmbedder::new(128).id(), "hash-v1-128");
    }
}
