//! An [`Embedder`] over any OpenAI-compatible `POST {base_url}/embeddings` endpoint (OpenAI,
//! Ollama, vLLM, text-embeddings-inference, LM Studio...).
//!
//! Texts are sent in batches of [`OpenAiEmbedConfig::batch_size`]; the vectors of a reply are put
//! back in input order by their `index`, checked (count, dimensions, finite values) and
//! L2-normalised. Empty texts are not sent: they get the zero vector, as with the other
//! embedders.
//!
//! **Dimensions** are needed before the first text is embedded (the namespace records
//! [`Embedder::id`] when it is opened). When [`OpenAiEmbedConfig::dims`] is not set,
//! [`OpenAiEmbedder::new`] makes one probe request (one short text) and learns them from the
//! reply; set `dims` to open without a network round trip.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Embedder, l2_normalize};
use crate::llm::http::{Endpoint, quote};
use crate::{Error, Result};

/// Text embedded by the probe request that learns the dimensions.
const PROBE_TEXT: &str = "dimension probe";

/// Settings of the embeddings endpoint.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiEmbedConfig {
    /// Base URL of the OpenAI-compatible API, up to and including `/v1`.
    pub base_url: String,
    /// Embedding model name.
    pub model: String,
    /// API key sent as a bearer token (prefer `api_key_env`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Environment variable holding the API key, used when `api_key` is not set (e.g.
    /// `OPENAI_API_KEY`; not set by default: no key is sent unless one is named).
    pub api_key_env: Option<String>,
    /// Vector dimensions; learned by a probe request in [`OpenAiEmbedder::new`] when not set.
    pub dims: Option<usize>,
    /// Per-request timeout in seconds.
    pub timeout_secs: u64,
    /// Texts per request.
    pub batch_size: usize,
}

impl Default for OpenAiEmbedConfig {
    fn default() -> Self {
        OpenAiEmbedConfig {
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: String::new(),
            api_key: None,
            api_key_env: None,
            dims: None,
            timeout_secs: 60,
            batch_size: 64,
        }
    }
}

impl std::fmt::Debug for OpenAiEmbedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_env", &self.api_key_env)
            .field("dims", &self.dims)
            .field("timeout_secs", &self.timeout_secs)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

/// The OpenAI-compatible embedder.
#[derive(Debug)]
pub struct OpenAiEmbedder {
    model: String,
    dims: usize,
    batch_size: usize,
    endpoint: Endpoint,
}

impl OpenAiEmbedder {
    /// Checks the config and builds the embedder; when `dims` is not configured, makes one probe
    /// request to learn them (so a dead endpoint fails here, with a clear [`Error::Embed`]).
    pub fn new(cfg: OpenAiEmbedConfig) -> Result<Self> {
        if cfg.model.trim().is_empty() {
            return Err(Error::Config(
                "embedder model is empty: name the embedding model (e.g. \"text-embedding-3-small\" or \"nomic-embed-text\")".into(),
            ));
        }
        if cfg.batch_size == 0 {
            return Err(Error::Config(
                "embedder batch_size must be at least 1".into(),
            ));
        }
        if cfg.dims == Some(0) {
            return Err(Error::Config("embedder dims must be at least 1".into()));
        }
        let endpoint = Endpoint::new(
            "embedder",
            &cfg.base_url,
            cfg.api_key.as_deref(),
            cfg.api_key_env.as_deref(),
            cfg.timeout_secs,
        )
        .map_err(Error::Config)?;
        let mut e = OpenAiEmbedder {
            model: cfg.model,
            dims: cfg.dims.unwrap_or(0),
            batch_size: cfg.batch_size,
            endpoint,
        };
        if cfg.dims.is_none() {
            let probe = e.request(&[PROBE_TEXT])?;
            e.dims = probe.first().map_or(0, Vec::len);
            if e.dims == 0 {
                return Err(Error::Embed(format!(
                    "{} returned an empty vector for the dimension probe",
                    e.endpoint.url("/embeddings")
                )));
            }
        }
        Ok(e)
    }

    /// One request: the raw vectors of `texts`, in input order, with count and (once known)
    /// dimensions checked.
    fn request(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let url = self.endpoint.url("/embeddings");
        let body = json!({"model": self.model, "input": texts});
        let reply = self
            .endpoint
            .post_json("/embeddings", &body)
            .map_err(Error::Embed)?;
        let bad = |what: String| Error::Embed(format!("{url} answered {what}"));
        let data = reply.get("data").and_then(Value::as_array).ok_or_else(|| {
            bad(format!(
                "without a data array: {}",
                quote(&reply.to_string())
            ))
        })?;
        if data.len() != texts.len() {
            return Err(bad(format!(
                "{} vectors for {} texts",
                data.len(),
                texts.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (pos, item) in data.iter().enumerate() {
            // Servers that omit `index` answer in input order.
            let index = match item.get("index") {
                None => pos,
                Some(v) => v
                    .as_u64()
                    .map(|i| i as usize)
                    .filter(|&i| i < texts.len())
                    .ok_or_else(|| bad(format!("data[{pos}] with a bad index {v}")))?,
            };
            let vector: Vec<f32> = item
                .get("embedding")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    bad(format!(
                        "data[{pos}] without an embedding array (base64 encoding is not supported)"
                    ))
                })?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32).filter(|f| f.is_finite()))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    bad(format!(
                        "data[{pos}] with a non-numeric or non-finite value"
                    ))
                })?;
            if self.dims != 0 && vector.len() != self.dims {
                return Err(bad(format!(
                    "{}-dimensional vectors, but dims = {} (configured or learned when the embedder was opened); check the model name or the dims setting",
                    vector.len(),
                    self.dims
                )));
            }
            if out[index].replace(vector).is_some() {
                return Err(bad(format!("index {index} twice")));
            }
        }
        // Every slot is filled: as many items as texts, each index in range and seen once.
        Ok(out.into_iter().flatten().collect())
    }
}

impl Embedder for OpenAiEmbedder {
    fn id(&self) -> String {
        format!("openai-{}-{}", self.model, self.dims)
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![vec![0.0; self.dims]; texts.len()];
        // Empty texts are rejected by some servers and carry no meaning: they keep zeros.
        let todo: Vec<usize> = (0..texts.len())
            .filter(|&i| !texts[i].trim().is_empty())
            .collect();
        for batch in todo.chunks(self.batch_size) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            for (&i, mut v) in batch.iter().zip(self.request(&inputs)?) {
                l2_normalize(&mut v);
                out[i] = v;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_before_any_request() {
        let cfg = |f: fn(&mut OpenAiEmbedConfig)| {
            let mut c = OpenAiEmbedConfig {
                model: "m".into(),
                dims: Some(8),
                ..OpenAiEmbedConfig::default()
            };
            f(&mut c);
            c
        };
        for (c, needle) in [
            (cfg(|c| c.model.clear()), "model is empty"),
            (cfg(|c| c.batch_size = 0), "batch_size"),
            (cfg(|c| c.dims = Some(0)), "dims"),
            (cfg(|c| c.base_url = "ftp://x".into()), "base_url"),
        ] {
            let e = OpenAiEmbedder::new(c).unwrap_err();
            assert!(matches!(&e, Error::Config(m) if m.contains(needle)), "{e}");
        }
        // With dims configured nothing is sent: a dead endpoint still opens.
        let e = OpenAiEmbedder::new(cfg(|c| c.base_url = "http://127.0.0.1:9/v1".into())).unwrap();
        assert_eq!(e.id(), "openai-m-8");
        assert_eq!(e.embed(&["", "  "]).unwrap(), vec![vec![0.0; 8]; 2]);
    }
}
