//! The text index: tantivy BM25 over chunks, facts and summaries of one namespace, with the
//! namespace and the valid time as indexed fields so that time filters run inside the index.
//!
//! Each record is one tantivy document keyed by `key = kind << 56 | id` (upserts delete by key).
//! The last transaction reflected is stored as the payload of each tantivy commit, so the
//! checkpoint is atomic with the data it describes.
//!
//! Each kind has its own text and title fields, so that a search is a plain union of term
//! queries that tantivy scores with a pruning threshold (the worst score still in the top k;
//! block-max WAND when every term has postings in the segment, which a title term rarely has);
//! a filter on a `kind` field would turn it into an intersection scored exhaustively. BM25's
//! statistics stay those of the whole namespace (document frequency and length summed over the
//! kinds), so the split changes speed, not scores.

use std::path::Path;

use parking_lot::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TokenStream;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term, doc};

use crate::time::Interval;
use crate::{Error, Result};

/// What a text-index document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextKind {
    /// A chunk of a document.
    Chunk = 1,
    /// A fact (its description plus entity names).
    Fact = 2,
    /// A time-node summary (id = [`crate::index::node_code`]).
    Summary = 3,
}

impl TextKind {
    fn from_u64(v: u64) -> Option<Self> {
        match v {
            1 => Some(TextKind::Chunk),
            2 => Some(TextKind::Fact),
            3 => Some(TextKind::Summary),
            _ => None,
        }
    }
}

/// The key of a record in the text and vector indexes.
pub fn index_key(kind: TextKind, id: u64) -> u64 {
    ((kind as u64) << 56) | (id & ((1 << 56) - 1))
}

/// Splits an index key.
pub fn split_key(key: u64) -> Option<(TextKind, u64)> {
    TextKind::from_u64(key >> 56).map(|k| (k, key & ((1 << 56) - 1)))
}

/// One document to index.
#[derive(Debug, Clone)]
pub struct TextDoc {
    /// What it is.
    pub kind: TextKind,
    /// Record id.
    pub id: u64,
    /// Body text.
    pub text: String,
    /// Title (document title for chunks).
    pub title: String,
    /// Valid time (facts), document time (chunks) or node interval (summaries).
    pub valid: Interval,
}

struct Fields {
    key: Field,
    kind: Field,
    ns: Field,
    /// Body text, one field per kind (indexed by `kind as usize - 1`).
    text: [Field; 3],
    /// Title, one field per kind.
    title: [Field; 3],
    vstart: Field,
    vend: Field,
}

impl Fields {
    fn text(&self, kind: TextKind) -> Field {
        self.text[kind as usize - 1]
    }

    fn title(&self, kind: TextKind) -> Field {
        self.title[kind as usize - 1]
    }

    /// The fields of every kind that play the same role as `field` (itself when it is not a
    /// per-kind field).
    fn siblings(&self, field: Field) -> Vec<Field> {
        if self.text.contains(&field) {
            self.text.to_vec()
        } else if self.title.contains(&field) {
            self.title.to_vec()
        } else {
            vec![field]
        }
    }
}

/// BM25 statistics of the whole namespace for a per-kind field: a term's document frequency
/// and the token count summed over the kinds, as if every kind shared one field.
struct NamespaceStats<'a> {
    searcher: &'a tantivy::Searcher,
    f: &'a Fields,
}

impl tantivy::query::Bm25StatisticsProvider for NamespaceStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut n = 0;
        for f in self.f.siblings(field) {
            n += self.searcher.total_num_tokens(f)?;
        }
        Ok(n)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let siblings = self.f.siblings(term.field());
        let text = std::str::from_utf8(term.serialized_value_bytes());
        let (true, Ok(text)) = (siblings.len() > 1, text) else {
            return self.searcher.doc_freq(term);
        };
        let mut n = 0;
        for f in siblings {
            n += self.searcher.doc_freq(&Term::from_field_text(f, text))?;
        }
        Ok(n)
    }
}

/// The tantivy index of one namespace.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// Documents added or deleted since the last commit.
    pending: std::sync::atomic::AtomicUsize,
    f: Fields,
    namespace: String,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("namespace", &self.namespace)
            .finish()
    }
}

fn err(e: impl std::fmt::Display) -> Error {
    let msg = e.to_string();
    if msg.contains("Read-only file system") || msg.contains("No space left") {
        Error::Unavailable(format!(
            "the data folder cannot take writes (text index): {msg}"
        ))
    } else {
        Error::Index(format!("text index: {msg}"))
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let f = Fields {
        key: b.add_u64_field("key", INDEXED | FAST | STORED),
        kind: b.add_u64_field("kind", INDEXED | FAST),
        ns: b.add_text_field("ns", STRING),
        text: ["chunk_text", "fact_text", "summary_text"]
            .map(|name| b.add_text_field(name, text_opts.clone())),
        title: ["chunk_title", "fact_title", "summary_title"]
            .map(|name| b.add_text_field(name, text_opts.clone())),
        vstart: b.add_i64_field("vstart", INDEXED | FAST),
        vend: b.add_i64_field("vend", INDEXED | FAST),
    };
    (b.build(), f)
}

impl TextIndex {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path, namespace: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (schema, f) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(err)?;
        let index = match Index::open(directory.clone()) {
            Ok(index) if index.schema() == schema => index,
            Ok(_) => {
                // Built by an older version with other fields: the index is a cache of the
                // store, so start it afresh (checkpoint 0) and let the caller rebuild it.
                tracing::info!(namespace, "text index has an older layout; rebuilding it");
                drop(directory);
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                let directory = tantivy::directory::MmapDirectory::open(dir).map_err(err)?;
                Index::create(directory, schema, tantivy::IndexSettings::default()).map_err(err)?
            }
            Err(_) => Index::open_or_create(directory, schema).map_err(err)?,
        };
        // The same tokens as tantivy's own `en_stem`, with stems kept per thread.
        index
            .tokenizers()
            .register("en_stem", super::stem::en_stem());
        let writer = index
            .writer_with_num_threads(1, 64 * 1024 * 1024)
            .map_err(err)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(TextIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            pending: std::sync::atomic::AtomicUsize::new(0),
            f,
            namespace: namespace.to_string(),
        })
    }

    /// The last transaction this index reflects (0 when new).
    pub fn checkpoint(&self) -> Result<u64> {
        let metas = self.index.load_metas().map_err(err)?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| p.strip_prefix("tx:"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// Adds or replaces documents (visible after [`TextIndex::commit`]).
    pub fn upsert(&self, docs: &[TextDoc]) -> Result<()> {
        self.put(docs, |_| false)
    }

    /// Adds or replaces documents, where `new` tells the ones the index cannot hold yet
    /// (records created by the transaction being applied): no delete is queued for those.
    /// Queued deletes are applied to every segment at the next commit and held in memory until
    /// then (the news load with 20,000 documents between commits peaked at 0.98 GB RSS with
    /// them, 0.92 GB without).
    pub fn put(&self, docs: &[TextDoc], new: impl Fn(&TextDoc) -> bool) -> Result<()> {
        let w = self.writer.lock();
        self.pending
            .fetch_add(docs.len(), std::sync::atomic::Ordering::Relaxed);
        for d in docs {
            let key = index_key(d.kind, d.id);
            if !new(d) {
                w.delete_term(Term::from_field_u64(self.f.key, key));
            }
            w.add_document(doc!(
                self.f.key => key,
                self.f.kind => d.kind as u64,
                self.f.ns => self.namespace.as_str(),
                self.f.text(d.kind) => d.text.as_str(),
                self.f.title(d.kind) => d.title.as_str(),
                self.f.vstart => i64::from(d.valid.start_key()),
                self.f.vend => i64::from(d.valid.end_key()),
            ))
            .map_err(err)?;
        }
        Ok(())
    }

    /// Documents added or removed since the last commit. The writer keeps state for each until
    /// the next commit, so bulk loads commit now and then to keep memory bounded.
    pub fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Removes documents by kind and id.
    pub fn remove(&self, kind: TextKind, ids: &[u64]) -> Result<()> {
        let w = self.writer.lock();
        self.pending
            .fetch_add(ids.len(), std::sync::atomic::Ordering::Relaxed);
        for id in ids {
            w.delete_term(Term::from_field_u64(self.f.key, index_key(kind, *id)));
        }
        Ok(())
    }

    /// Removes everything (for a rebuild).
    pub fn clear(&self) -> Result<()> {
        self.writer.lock().delete_all_documents().map_err(err)?;
        Ok(())
    }

    /// Commits pending changes with `tx` as the checkpoint and makes them searchable.
    pub fn commit(&self, tx: u64) -> Result<()> {
        let mut w = self.writer.lock();
        let mut prepared = w.prepare_commit().map_err(err)?;
        prepared.set_payload(&format!("tx:{tx}"));
        prepared.commit().map_err(err)?;
        self.pending.store(0, std::sync::atomic::Ordering::Relaxed);
        drop(w);
        self.reader.reload().map_err(err)?;
        Ok(())
    }

    /// Merges the segments a bulk load left behind, when they are worth it: all of them into one
    /// when the segments beside the largest hold at least a tenth of the documents (a search
    /// looks every term up once per segment: on the news store, ten segments after loading
    /// 4,714 articles, query p50 fell from 6.2 to 4.8–5.2 ms once merged, in 1.4 s), else the
    /// small ones into one when there are more than two. A store that took a few documents
    /// since its last merge is not rewritten. Nothing is merged below `min_segments` segments.
    /// The index's own writer is not held during the merge (it runs on tantivy's merge thread);
    /// callers serialise it with [`TextIndex::purge`], which merges the same segments.
    /// Returns the number of segments merged.
    pub fn merge_after_load(&self, min_segments: usize) -> Result<usize> {
        let mut sizes: Vec<(tantivy::index::SegmentId, u32)> = self
            .index
            .searchable_segment_metas()
            .map_err(err)?
            .iter()
            .map(|m| (m.id(), m.num_docs()))
            .collect();
        if sizes.len() < min_segments.max(2) {
            return Ok(0);
        }
        sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
        let total: u64 = sizes.iter().map(|s| u64::from(s.1)).sum();
        let rest = total - u64::from(sizes[0].1);
        let ids: Vec<tantivy::index::SegmentId> = if rest * 10 >= total {
            sizes.iter().map(|s| s.0).collect()
        } else if sizes.len() > 2 {
            sizes[1..].iter().map(|s| s.0).collect()
        } else {
            return Ok(0);
        };
        // The merge runs on tantivy's merge thread; this index's writer stays free meanwhile.
        let merging = self.writer.lock().merge(&ids);
        merging.wait().map_err(err)?;
        let collecting = self.writer.lock().garbage_collect_files();
        collecting.wait().map_err(err)?;
        self.reader.reload().map_err(err)?;
        Ok(ids.len())
    }

    /// Physically drops deleted documents: merges all segments and collects garbage files (used
    /// by erase, so that erased text leaves the index files).
    pub fn purge(&self) -> Result<()> {
        let mut w = self.writer.lock();
        let ids = self.index.searchable_segment_ids().map_err(err)?;
        let has_deletes = self
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .any(|s| s.num_deleted_docs() > 0);
        if !ids.is_empty() && (ids.len() > 1 || has_deletes) {
            w.merge(&ids).wait().map_err(err)?;
        }
        w.garbage_collect_files().wait().map_err(err)?;
        drop(w);
        self.reader.reload().map_err(err)?;
        Ok(())
    }

    /// Number of searchable documents.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Analyzed terms of a query text (lower-cased, stemmed), deduplicated, at most 48.
    pub fn terms(&self, text: &str) -> Result<Vec<String>> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.f.text[0])
            .map_err(err)?;
        let mut stream = analyzer.token_stream(text);
        let mut out: Vec<String> = Vec::new();
        while stream.advance() {
            let t = &stream.token().text;
            if !out.iter().any(|x| x == t) && !STOP.contains(&t.as_str()) {
                out.push(t.clone());
            }
            if out.len() >= 48 {
                break;
            }
        }
        Ok(out)
    }

    /// The analyser of the text field (lower-casing, stemming), to tokenise passages with the
    /// index's own vocabulary.
    pub fn analyzer(&self) -> Result<tantivy::tokenizer::TextAnalyzer> {
        self.index.tokenizer_for_field(self.f.text[0]).map_err(err)
    }

    /// Every analysed term of `text` in order (stop words kept) with its byte offset.
    pub fn tokens_with(
        analyzer: &mut tantivy::tokenizer::TextAnalyzer,
        text: &str,
        out: &mut Vec<(String, usize)>,
    ) {
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.offset_from));
        }
    }

    /// BM25's inverse document frequency of each analysed term over every record of the
    /// namespace (chunks, facts and summaries), as tantivy computes it.
    pub fn idf(&self, terms: &[String]) -> Result<Vec<f32>> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs().max(1) as f32;
        terms
            .iter()
            .map(|t| {
                let mut df = 0.0f32;
                for f in self.f.text {
                    df += searcher
                        .doc_freq(&Term::from_field_text(f, t))
                        .map_err(err)? as f32;
                }
                Ok((1.0 + (n - df + 0.5) / (df + 0.5)).ln())
            })
            .collect()
    }

    /// Whether `term` is a stop word of the query analyser.
    pub fn is_stop(term: &str) -> bool {
        STOP.contains(&term)
    }

    /// BM25 search over one kind, restricted to records whose time overlaps `within`.
    /// Returns `(id, score)`, best first.
    pub fn search(
        &self,
        kind: TextKind,
        query: &str,
        within: Option<&Interval>,
        limit: usize,
    ) -> Result<Vec<(u64, f32)>> {
        let terms = self.terms(query)?;
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            for (field, boost) in [(self.f.text(kind), 1.0f32), (self.f.title(kind), 0.3)] {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                ));
                let q: Box<dyn Query> = if boost == 1.0 {
                    q
                } else {
                    Box::new(tantivy::query::BoostQuery::new(q, boost))
                };
                should.push((Occur::Should, q));
            }
        }
        // A plain union of term queries, scored with a pruning threshold. Scoped, a document
        // that would enter the top is kept when its time overlaps (two fast-field reads for it,
        // instead of range queries that scan the whole time columns of every segment: 19% of an
        // abstract question's CPU at 100k facts).
        let q = BooleanQuery::new(should);
        let searcher = self.reader.searcher();
        let stats = NamespaceStats {
            searcher: &searcher,
            f: &self.f,
        };
        let top_docs = TopDocs::with_limit(limit);
        let top = match within {
            None => searcher.search_with_statistics_provider(&q, &top_docs, &stats),
            Some(iv) => {
                let filtered = Overlapping {
                    limit,
                    start: iv.start.map_or(i64::MIN, |_| i64::from(iv.start_key())),
                    end: iv.end.map_or(i64::MAX, |_| i64::from(iv.end_key())),
                };
                searcher.search_with_statistics_provider(&q, &filtered, &stats)
            }
        }
        .map_err(err)?;
        let mut out = Vec::with_capacity(top.len());
        // Opening a fast-field column decodes its header: once per segment, not per hit.
        let mut cols: Vec<Option<tantivy::columnar::Column<u64>>> =
            vec![None; searcher.segment_readers().len()];
        for (score, addr) in top {
            let slot = &mut cols[addr.segment_ord as usize];
            if slot.is_none() {
                *slot = Some(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .u64("key")
                        .map_err(err)?,
                );
            }
            let Some(col) = slot.as_ref() else { continue };
            if let Some(key) = col.first(addr.doc_id)
                && let Some((_, id)) = split_key(key)
            {
                out.push((id, score));
            }
        }
        Ok(out)
    }

    /// Documents of a kind whose text contains `needle` as a term (used by erase checks).
    pub fn count_term(&self, kind: TextKind, term: &str) -> Result<usize> {
        let terms = self.terms(term)?;
        let Some(t) = terms.first() else {
            return Ok(0);
        };
        let q = TermQuery::new(
            Term::from_field_text(self.f.text(kind), t),
            IndexRecordOption::Basic,
        );
        self.reader
            .searcher()
            .search(&q, &tantivy::collector::Count)
            .map_err(err)
    }
}

/// The best `limit` documents whose valid time `[vstart, vend)` overlaps `[start, end)` (day
/// keys). Like tantivy's `TopDocs`, each segment is searched with a pruning threshold (the
/// worst score still in the segment's top `limit`): only the documents that beat it are handed
/// on and read from the time columns. Making tantivy use block-max WAND here too (by leaving
/// out the terms a field lacks) was slower: with a narrow scope the threshold stays low, and
/// WAND's pivoting took 22% of an abstract question's CPU at 100k facts.
struct Overlapping {
    limit: usize,
    start: i64,
    end: i64,
}

/// A scored document; ordered best first (higher score, then lower address), as `TopDocs`.
#[derive(Clone, Copy)]
struct Hit(tantivy::Score, tantivy::DocAddress);

impl PartialEq for Hit {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

struct OverlappingSegment {
    segment: tantivy::SegmentOrdinal,
    vstart: tantivy::columnar::Column<i64>,
    vend: tantivy::columnar::Column<i64>,
    start: i64,
    end: i64,
    limit: usize,
    /// The segment's best so far; the heap's top is the worst of them.
    top: std::collections::BinaryHeap<Hit>,
}

impl OverlappingSegment {
    /// The score a document must beat to enter.
    fn threshold(&self) -> tantivy::Score {
        match self.top.peek() {
            Some(h) if self.top.len() >= self.limit => h.0,
            _ => tantivy::Score::MIN,
        }
    }
}

impl tantivy::collector::Collector for Overlapping {
    type Fruit = Vec<(tantivy::Score, tantivy::DocAddress)>;
    type Child = OverlappingSegment;

    fn for_segment(
        &self,
        segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        Ok(OverlappingSegment {
            segment,
            vstart: ff.i64("vstart")?,
            vend: ff.i64("vend")?,
            start: self.start,
            end: self.end,
            limit: self.limit,
            top: std::collections::BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn collect_segment(
        &self,
        weight: &dyn tantivy::query::Weight,
        segment: u32,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<Vec<(tantivy::Score, tantivy::DocAddress)>> {
        use tantivy::collector::SegmentCollector;
        let mut seg = self.for_segment(segment, reader)?;
        let alive = reader.alive_bitset();
        weight.for_each_pruning(tantivy::Score::MIN, reader, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                seg.collect(doc, score);
            }
            seg.threshold()
        })?;
        Ok(seg.harvest())
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Vec<(tantivy::Score, tantivy::DocAddress)>>,
    ) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<Hit> = fruits
            .into_iter()
            .flatten()
            .map(|(s, a)| Hit(s, a))
            .collect();
        all.sort_unstable();
        all.truncate(self.limit);
        Ok(all.into_iter().map(|h| (h.0, h.1)).collect())
    }
}

impl tantivy::collector::SegmentCollector for OverlappingSegment {
    type Fruit = Vec<(tantivy::Score, tantivy::DocAddress)>;

    fn collect(&mut self, doc: tantivy::DocId, score: tantivy::Score) {
        if self.limit == 0 || (self.top.len() >= self.limit && score <= self.threshold()) {
            return;
        }
        if self.vstart.first(doc).is_some_and(|s| s < self.end)
            && self.vend.first(doc).is_some_and(|e| e > self.start)
        {
            self.top.push(Hit(
                score,
                tantivy::DocAddress {
                    segment_ord: self.segment,
                    doc_id: doc,
                },
            ));
            if self.top.len() > self.limit {
                self.top.pop();
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut v = self.top.into_vec();
        v.sort_unstable();
        v.into_iter().map(|h| (h.0, h.1)).collect()
    }
}

/// Stop words dropped from queries (after stemming).
const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "from", "as",
    "is", "are", "was", "were", "be", "been", "it", "it", "this", "that", "these", "those",
    "which", "who", "what", "how", "why", "when", "where", "doe", "do", "did", "has", "have",
    "had", "will", "would", "can", "could", "should", "may", "not", "but", "if", "than", "so",
    "into", "about", "their", "there", "they", "we", "our", "you", "your", "its", "accord",
    "state",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeKey;

    fn d(kind: TextKind, id: u64, text: &str, key: &str) -> TextDoc {
        TextDoc {
            kind,
            id,
            text: text.into(),
            title: "Report".into(),
            valid: TimeKey::parse(key).unwrap().interval(),
        }
    }

    #[test]
    fn bm25_with_time_and_kind_filters() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        idx.upsert(&[
            d(
                TextKind::Chunk,
                1,
                "Audi delivered electric cars in Brussels",
                "2019",
            ),
            d(
                TextKind::Chunk,
                2,
                "Audi delivered electric cars in Ingolstadt",
                "2021",
            ),
            d(TextKind::Fact, 3, "Audi delivered electric cars", "2019"),
            d(TextKind::Chunk, 4, "Water use fell at the plants", "2019"),
        ])
        .unwrap();
        idx.commit(7).unwrap();
        assert_eq!(idx.checkpoint().unwrap(), 7);
        let all = idx
            .search(TextKind::Chunk, "electric car deliveries?", None, 10)
            .unwrap();
        assert_eq!(
            all.iter()
                .map(|x| x.0)
                .collect::<std::collections::BTreeSet<_>>(),
            [1, 2].into()
        );
        let y2019 = TimeKey::parse("2019").unwrap().interval();
        let scoped = idx
            .search(TextKind::Chunk, "electric cars", Some(&y2019), 10)
            .unwrap();
        assert_eq!(scoped.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1]);
        let q2_2021 = TimeKey::parse("2021-Q2").unwrap().interval();
        let scoped = idx
            .search(TextKind::Chunk, "electric cars", Some(&q2_2021), 10)
            .unwrap();
        assert_eq!(scoped.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2]);
        // Open ends: since mid-2020 holds only the 2021 record, until mid-2020 only the 2019 one.
        let mid = chrono::NaiveDate::from_ymd_opt(2020, 7, 1);
        for (iv, want) in [
            (Interval::new(mid, None).unwrap(), 2),
            (Interval::new(None, mid).unwrap(), 1),
        ] {
            let scoped = idx
                .search(TextKind::Chunk, "electric cars", Some(&iv), 10)
                .unwrap();
            assert_eq!(scoped.iter().map(|x| x.0).collect::<Vec<_>>(), vec![want]);
        }
        let facts = idx
            .search(TextKind::Fact, "electric cars", None, 10)
            .unwrap();
        assert_eq!(facts.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3]);
        // Punctuation-only or stop-word queries are not errors.
        assert!(
            idx.search(TextKind::Chunk, "?? : AND OR \"", None, 10)
                .unwrap()
                .is_empty()
        );
    }

    /// The scoped search prunes (time read only for would-be hits) yet returns
    /// exactly the top of "every match in scope, best first": checked over several segments,
    /// with deleted documents, against the unscoped search filtered by hand.
    #[test]
    fn a_scoped_search_returns_the_best_matches_in_scope() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        let words = [
            "revenue",
            "margin",
            "deliveries",
            "emissions",
            "water",
            "staff",
        ];
        let years = ["2019", "2020", "2021", "2019-Q3", "2021-06"];
        let mut n = 0u64;
        for seg in 0..3u64 {
            let mut docs = Vec::new();
            for i in 0..120u64 {
                n += 1;
                let mut text = String::new();
                for (w, word) in words.iter().enumerate() {
                    for _ in 0..((n * (w as u64 + 3) + i) % 4) {
                        text.push_str(word);
                        text.push(' ');
                    }
                }
                text.push_str("the report");
                let key = years[((n * 7 + seg) % years.len() as u64) as usize];
                docs.push(d(TextKind::Chunk, n, &text, key));
            }
            idx.upsert(&docs).unwrap();
            idx.commit(seg + 1).unwrap();
        }
        // Replace a few (their old versions stay in the segments as deleted documents).
        idx.upsert(&[
            d(TextKind::Chunk, 5, "revenue revenue revenue margin", "2020"),
            d(TextKind::Chunk, 200, "water", "2019"),
        ])
        .unwrap();
        idx.commit(9).unwrap();
        let in_scope: std::collections::HashMap<u64, Interval> = (1..=n)
            .map(|id| {
                let key = match id {
                    5 => "2020",
                    200 => "2019",
                    _ => years[((id * 7 + (id - 1) / 120) % years.len() as u64) as usize],
                };
                (id, TimeKey::parse(key).unwrap().interval())
            })
            .collect();
        for query in ["revenue margin", "emissions water staff", "deliveries"] {
            let all = idx.search(TextKind::Chunk, query, None, 1000).unwrap();
            for scope in ["2019", "2020", "2021-Q2"] {
                let iv = TimeKey::parse(scope).unwrap().interval();
                for limit in [1, 5, 40] {
                    let got = idx
                        .search(TextKind::Chunk, query, Some(&iv), limit)
                        .unwrap();
                    let want: Vec<(u64, f32)> = all
                        .iter()
                        .filter(|(id, _)| in_scope[id].overlaps(&iv))
                        .take(limit)
                        .copied()
                        .collect();
                    assert_eq!(got, want, "{query} in {scope}, top {limit}");
                }
            }
        }
    }

    #[test]
    fn segments_a_load_left_are_merged_only_when_it_is_worth_it() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        let segments = |idx: &TextIndex| idx.index.searchable_segment_metas().unwrap().len();
        let load = |from: u64, n: u64, tx: u64| {
            idx.upsert(
                &(from..from + n)
                    .map(|i| {
                        d(
                            TextKind::Chunk,
                            i,
                            &format!("record {i} of the load"),
                            "2019",
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            idx.commit(tx).unwrap();
        };
        // A load in five commits: five segments, merged into one.
        for b in 0..5 {
            load(b * 100, 100, b + 1);
        }
        assert_eq!(segments(&idx), 5);
        assert_eq!(idx.merge_after_load(6).unwrap(), 0, "below the minimum");
        assert_eq!(idx.merge_after_load(2).unwrap(), 5);
        assert_eq!(segments(&idx), 1);
        assert_eq!(idx.checkpoint().unwrap(), 5, "the commit's payload is kept");
        // One small write since: the big segment is not rewritten for it.
        load(1000, 3, 6);
        assert_eq!(segments(&idx), 2);
        assert_eq!(idx.merge_after_load(2).unwrap(), 0);
        // Small writes pile up: they merge with each other, not into the big segment.
        load(2000, 3, 7);
        load(3000, 3, 8);
        assert_eq!(idx.merge_after_load(2).unwrap(), 3);
        assert_eq!(segments(&idx), 2);
        // Every record is still found once.
        assert_eq!(idx.num_docs(), 509);
        let hits = idx
            .search(TextKind::Chunk, "record 2001", None, 600)
            .unwrap();
        assert!(hits.iter().any(|h| h.0 == 2001));
    }

    #[test]
    fn scores_use_the_whole_namespace_s_statistics_across_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        idx.upsert(&[
            d(
                TextKind::Chunk,
                1,
                "zebracorn apples in the orchard",
                "2019",
            ),
            d(TextKind::Chunk, 2, "pears in the orchard", "2019"),
        ])
        .unwrap();
        idx.commit(1).unwrap();
        let score = |idx: &TextIndex| idx.search(TextKind::Chunk, "zebracorn", None, 5).unwrap()[0];
        let alone = score(&idx);
        assert_eq!(alone.0, 1);
        // Facts that use the word make it less rare for chunks too: the kinds have their own
        // fields but share document frequencies, as one field did.
        idx.upsert(
            &(10..20)
                .map(|i| d(TextKind::Fact, i, "zebracorn grew", "2019"))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        idx.commit(2).unwrap();
        let shared = score(&idx);
        assert_eq!(shared.0, 1);
        assert!(shared.1 < alone.1, "{shared:?} vs {alone:?}");
        // The scoped search (an intersection) scores the same as the unscoped one (a union).
        let y2019 = TimeKey::parse("2019").unwrap().interval();
        let scoped = idx
            .search(TextKind::Chunk, "zebracorn", Some(&y2019), 5)
            .unwrap()[0];
        assert_eq!(scoped.0, 1);
        assert!(
            (scoped.1 - shared.1).abs() < 1e-5,
            "{scoped:?} vs {shared:?}"
        );
        assert_eq!(idx.idf(&["zebracorn".into()]).unwrap().len(), 1);
    }

    #[test]
    fn an_index_of_an_older_layout_starts_afresh_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        {
            // One shared "text" field, as before the per-kind fields.
            let mut b = Schema::builder();
            let text = b.add_text_field("text", tantivy::schema::TEXT);
            let index = Index::create_in_dir(dir.path(), b.build()).unwrap();
            let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            w.add_document(doc!(text => "old layout")).unwrap();
            let mut p = w.prepare_commit().unwrap();
            p.set_payload("tx:9");
            p.commit().unwrap();
        }
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        assert_eq!(
            idx.checkpoint().unwrap(),
            0,
            "nothing of the old index is trusted"
        );
        assert_eq!(idx.num_docs(), 0);
        idx.upsert(&[d(TextKind::Chunk, 1, "new layout", "2019")])
            .unwrap();
        idx.commit(3).unwrap();
        assert_eq!(
            idx.search(TextKind::Chunk, "layout", None, 5)
                .unwrap()
                .len(),
            1
        );
        drop(idx);
        // Reopened with the current layout: kept.
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        assert_eq!(idx.checkpoint().unwrap(), 3);
    }

    #[test]
    fn upsert_replaces_and_remove_deletes_and_purge_drops_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        idx.upsert(&[d(TextKind::Chunk, 1, "zebracorn secret text", "2019")])
            .unwrap();
        idx.commit(1).unwrap();
        idx.upsert(&[d(TextKind::Chunk, 1, "replaced text", "2019")])
            .unwrap();
        idx.commit(2).unwrap();
        assert_eq!(idx.count_term(TextKind::Chunk, "zebracorn").unwrap(), 0);
        assert_eq!(idx.num_docs(), 1);
        idx.remove(TextKind::Chunk, &[1]).unwrap();
        idx.commit(3).unwrap();
        assert_eq!(idx.num_docs(), 0);
        idx.purge().unwrap();
        // Reopen: the checkpoint survives.
        drop(idx);
        let idx = TextIndex::open(dir.path(), "default").unwrap();
        assert_eq!(idx.checkpoint().unwrap(), 3);
    }
}
