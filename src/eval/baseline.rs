//! The baseline to beat: plain BM25 over 1,200-character chunks of the raw documents.
//!
//! Each document is split into consecutive windows of at most [`WINDOW_CHARS`] characters, cut
//! at the last whitespace inside the window (a hard cut only when a window has none). The
//! windows go into a tantivy index (in a folder the caller owns) with tantivy's `en_stem`
//! analyser; a question's terms (the same analyser, deduplicated) are OR-ed into one BM25 query.
//! The context is the best windows, concatenated (blank line between) until the budget is
//! reached; the scorer cuts it to each budget, so for the baseline a context built for 16k and
//! cut to 4k is exactly the context built for 4k.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::TokenStream;
use tantivy::{Index, IndexReader, ReloadPolicy, Term, doc};

use crate::{Error, Result};

/// Window size of the baseline chunks (characters).
pub const WINDOW_CHARS: usize = 1200;

fn err(e: impl std::fmt::Display) -> Error {
    Error::Index(format!("baseline index: {e}"))
}

/// Splits `text` into consecutive windows of at most `max_chars` characters, cut at whitespace
/// where possible. Windows are trimmed; empty ones are dropped.
pub fn windows(text: &str, max_chars: usize) -> Vec<&str> {
    let max_chars = max_chars.max(1);
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let end = match rest.char_indices().nth(max_chars) {
            None => rest.len(),
            Some((limit, _)) => {
                let window = &rest[..limit];
                // Cut at the last whitespace when the next character does not already start one.
                if rest[limit..].starts_with(char::is_whitespace) {
                    limit
                } else {
                    match window.rfind(char::is_whitespace) {
                        Some(i) if i > 0 => i,
                        _ => limit,
                    }
                }
            }
        };
        let piece = rest[..end].trim();
        if !piece.is_empty() {
            out.push(piece);
        }
        rest = rest[end..].trim_start();
    }
    out
}

/// A BM25 index over fixed-size windows of a corpus.
pub struct Bm25Baseline {
    index: Index,
    reader: IndexReader,
    text: Field,
    chunks: Vec<String>,
}

impl std::fmt::Debug for Bm25Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Baseline")
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

impl Bm25Baseline {
    /// Indexes `documents` (raw texts) in `dir` (created if needed; should be empty).
    pub fn build<'a>(dir: &Path, documents: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut b = Schema::builder();
        let text = b.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("en_stem")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        let ord = b.add_u64_field("ord", FAST);
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(err)?;
        let index = Index::create(directory, b.build(), Default::default()).map_err(err)?;
        let mut writer: tantivy::IndexWriter = index
            .writer_with_num_threads(1, 64 * 1024 * 1024)
            .map_err(err)?;
        let mut chunks = Vec::new();
        for d in documents {
            for w in windows(d, WINDOW_CHARS) {
                writer
                    .add_document(doc!(text => w, ord => chunks.len() as u64))
                    .map_err(err)?;
                chunks.push(w.to_string());
            }
        }
        writer.commit().map_err(err)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        reader.reload().map_err(err)?;
        Ok(Bm25Baseline {
            index,
            reader,
            text,
            chunks,
        })
    }

    /// Number of windows indexed.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// Whether nothing was indexed.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The best `limit` windows for `query`, as `(window index, score)`, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<(usize, f32)>> {
        let mut analyzer = self.index.tokenizer_for_field(self.text).map_err(err)?;
        let mut stream = analyzer.token_stream(query);
        let mut terms: Vec<String> = Vec::new();
        while stream.advance() {
            let t = &stream.token().text;
            if !terms.contains(t) {
                terms.push(t.clone());
            }
        }
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let should: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.text, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&BooleanQuery::new(should), &TopDocs::with_limit(limit))
            .map_err(err)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let col = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("ord")
                .map_err(err)?;
            if let Some(i) = col.first(addr.doc_id) {
                out.push((i as usize, score));
            }
        }
        Ok(out)
    }

    /// The context for `query`: the best windows, concatenated until `budget` characters are
    /// reached (the last window whole; the scorer cuts).
    pub fn context(&self, query: &str, budget: usize) -> Result<String> {
        let limit = budget / (WINDOW_CHARS / 2) + 2;
        let mut out = String::new();
        let mut chars = 0;
        for (i, _) in self.search(query, limit)? {
            if chars >= budget {
                break;
            }
            if !out.is_empty() {
                out.push_str("\n\n");
                chars += 2;
            }
            out.push_str(&self.chunks[i]);
            chars += self.chunks[i].chars().count();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cut_at_whitespace_and_cover_the_text() {
        let text = "alpha beta gamma delta epsilon zeta eta theta";
        let ws = windows(text, 12);
        assert!(ws.iter().all(|w| w.chars().count() <= 12), "{ws:?}");
        assert_eq!(ws.join(" "), text);
        assert_eq!(ws[0], "alpha beta");
        // No whitespace: hard cuts.
        assert_eq!(windows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Multi-byte characters count as one.
        assert_eq!(windows("ää ää", 2), ["ää", "ää"]);
        assert!(windows("   ", 5).is_empty());
    }

    #[test]
    fn bm25_ranks_the_matching_window_first_and_fills_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let filler = "Generic words about nothing in particular. ".repeat(60);
        let doc = format!(
            "{filler}\n\nAudi delivered 1.8 million cars in 2018 from Ingolstadt.\n\n{filler}"
        );
        let b = Bm25Baseline::build(dir.path(), [doc.as_str()]).unwrap();
        assert!(b.len() >= 3, "{}", b.len());
        let q = "How many cars did Audi deliver, in particular?";
        let hits = b.search(q, 5).unwrap();
        assert!(b.chunks[hits[0].0].contains("Audi delivered"));
        assert!(hits.len() >= 3, "{hits:?}");
        let ctx = b.context(q, 2000).unwrap();
        assert!(ctx.contains("Audi delivered 1.8 million cars"));
        assert!(ctx.chars().count() >= 2000, "{}", ctx.len());
        assert!(b.context("zzzz qqqq", 2000).unwrap().is_empty());
        assert!(b.context("", 2000).unwrap().is_empty());
    }
}
