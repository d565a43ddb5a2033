//! `chronorag ingest PATH...`: bulk ingest of `.txt`, `.md` and `.jsonl` files and folders, with
//! a progress bar on a terminal (plain lines otherwise) and a final report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chronorag::ingest::input::{self, ReadItem};
use chronorag::ingest::{IngestOptions, IngestReport, PreparedDocument, Rejected};
use chronorag::{Config, Engine, Result};

/// Flags of `ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Files or folders (recursive) of .txt, .md and .jsonl documents.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Namespace to ingest into (created when missing).
    #[arg(long, short = 'n', default_value = chronorag::engine::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Extractor: `rules` (built in, no network) or `llm` (OpenAI-compatible endpoint from the config).
    #[arg(long, value_parser = ["rules", "llm"])]
    pub extractor: Option<String>,
    /// Documents per transaction. Each batch lands whole or not at all; re-running an interrupted
    /// ingest skips what already landed. A batch also closes at 8 MB of text. Bigger batches
    /// are no faster and raise the peak memory (the store applies each batch at once).
    #[arg(long, default_value_t = chronorag::ingest::BATCH_DOCS)]
    pub batch: usize,
    /// Who the transactions are recorded as.
    #[arg(long, default_value = "cli")]
    pub actor: String,
    /// Why (recorded on every transaction).
    #[arg(long)]
    pub reason: Option<String>,
    /// Print the final report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not update time-node summaries at the end (run `chronorag summarize` later).
    #[arg(long)]
    pub no_summaries: bool,
}

/// The embedded store's page cache for a bulk load when the configuration sets none, in MiB. A
/// load writes; sled's cache holds about 2.5 times its nominal size while it does (its nodes
/// and their keys and values are separate allocations), and it read little back. The news file
/// (2026-12-07, seventh session, one series): 64 MiB, peak RSS 0.94 GB in 43.7 s; 32 MiB, 0.88
/// GB in 43.3 s; the 256 MiB of `serve`, 1.38 and 1.41 GB in 42.7 and 39.7 s.
pub const BULK_STORE_CACHE_MB: u64 = 64;

/// What the reader side of `ingest` hands over with each item, in input order.
enum Read {
    /// A batch's documents (given beside this), and the bytes they were read from.
    Batch(u64),
    /// An input that could not be read as a document.
    Rejected(Rejected),
    /// A file was read to its end.
    FileDone,
}

/// How the reader side hands an item over (see `Engine::ingest_in_stages`).
type Emit<'a> = dyn FnMut(Option<Vec<PreparedDocument>>, Read) -> bool + 'a;

/// Runs `ingest`.
pub fn run(mut cfg: Config, args: IngestArgs) -> Result<()> {
    cfg.store_cache_mb.get_or_insert(BULK_STORE_CACHE_MB);
    let engine = Engine::open(cfg)?;
    let extractor = engine.extractor(args.extractor.as_deref())?;
    let (files, mut early_rejects) = input::list_files(&args.paths)?;
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let opts = IngestOptions {
        actor: args.actor.clone(),
        reason: args.reason.clone(),
        // One index commit at the end (engine.flush below) instead of one per batch.
        commit_indexes: false,
        ..IngestOptions::default()
    };
    let mut progress = Progress::new(total_bytes, files.len(), args.json);
    let mut report = IngestReport::default();
    let started = Instant::now();
    let batch_size = args.batch.max(1);
    let mut failure = None;

    // The files are read, and each batch extracted, on a second thread while this one commits
    // the batch before it; the transactions keep the input's order.
    engine.ingest_in_stages(
        &args.namespace,
        &opts,
        extractor.as_ref(),
        |emit| {
            let mut batch: Vec<PreparedDocument> = Vec::new();
            let mut batch_bytes = 0u64;
            // False once the committing side has stopped (a batch failed): nothing more is read.
            let hand_over =
                |emit: &mut Emit<'_>, batch: &mut Vec<PreparedDocument>, bytes: &mut u64| {
                    batch.is_empty()
                        || emit(
                            Some(std::mem::take(batch)),
                            Read::Batch(std::mem::take(bytes)),
                        )
                };
            // Documents are batched as the file is read: a large JSON-lines file is never held
            // whole.
            for file in &files {
                let mut open = true;
                input::read_file(&file.path, Some(&file.id), &mut |it| {
                    open = match it {
                        ReadItem::Document { doc, bytes, .. } => {
                            batch_bytes += bytes as u64;
                            batch.push(*doc);
                            let full = batch.len() >= batch_size
                                || batch_bytes >= chronorag::ingest::BATCH_BYTES as u64;
                            !full || hand_over(emit, &mut batch, &mut batch_bytes)
                        }
                        ReadItem::Rejected(r) => emit(None, Read::Rejected(r)),
                    };
                    if open {
                        input::Flow::Continue(())
                    } else {
                        input::Flow::Break(())
                    }
                });
                if !open || !emit(None, Read::FileDone) {
                    return;
                }
            }
            hand_over(emit, &mut batch, &mut batch_bytes);
        },
        || true,
        // A failed batch stops the load: nothing after it is written.
        |result, item| {
            match (result, item) {
                (Some(Ok(r)), Read::Batch(bytes)) => {
                    progress.advance(bytes, &r);
                    report.absorb(r);
                }
                (Some(Err(e)), _) => {
                    failure = Some(e);
                    return std::ops::ControlFlow::Break(());
                }
                (_, Read::Rejected(r)) => {
                    progress.note(&format!("skipped {r}"));
                    report.rejected.push(r);
                }
                (_, Read::FileDone) => progress.file_done(),
                (None, Read::Batch(_)) => {}
            }
            std::ops::ControlFlow::Continue(())
        },
    );
    progress.finish();
    if report.documents > 0 && failure.is_none() && !args.no_summaries {
        let r = engine.summarize(&args.namespace)?;
        if !args.json {
            eprintln!(
                "summaries: {} recomputed, {} unchanged ({:.2} s)",
                r.recomputed.len(),
                r.unchanged,
                r.seconds
            );
        }
    }
    // Make index checkpoints durable so the next open does not replay this ingest.
    engine.flush()?;
    early_rejects.append(&mut report.rejected);
    report.rejected = early_rejects;
    let secs = started.elapsed().as_secs_f64();
    let tenths = tenth_rates(&progress.marks);
    print_report(&engine, &args, &report, secs, tenths)?;
    // Closing checkpoints the store's log: the next open does not replay this ingest.
    engine.close()?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The load's rate (MB/s) over the first and over the last tenth of its bytes, from the
/// `(bytes done, seconds)` marks taken after each batch; the time at a tenth's boundary is
/// interpolated between the marks around it. A load whose rate falls as the store grows shows
/// it here (issue 11 asks the last tenth to keep 80% of the first). None without two marks.
fn tenth_rates(marks: &[(u64, f64)]) -> Option<(f64, f64)> {
    let &(total, _) = marks.last()?;
    if marks.len() < 2 || total == 0 {
        return None;
    }
    let at = |b: f64| -> f64 {
        let mut prev = (0u64, 0.0f64);
        for &(x, t) in marks {
            if x as f64 >= b {
                let span = (x - prev.0) as f64;
                return if span > 0.0 {
                    prev.1 + (t - prev.1) * (b - prev.0 as f64) / span
                } else {
                    t
                };
            }
            prev = (x, t);
        }
        prev.1
    };
    let tenth = total as f64 / 10.0;
    let first = at(tenth);
    let last = at(total as f64) - at(total as f64 - tenth);
    (first > 0.0 && last > 0.0).then(|| (tenth / first / 1e6, tenth / last / 1e6))
}

fn print_report(
    engine: &Engine,
    args: &IngestArgs,
    r: &IngestReport,
    secs: f64,
    tenths: Option<(f64, f64)>,
) -> Result<()> {
    let mb = r.bytes as f64 / 1e6;
    let stats = engine.stats(Some(&args.namespace)).ok();
    if args.json {
        let v = serde_json::json!({
            "namespace": args.namespace,
            "documents": r.documents,
            "chunks": r.chunks,
            "facts": r.facts,
            "facts_merged": r.facts_merged,
            "entities": r.entities,
            "time_nodes": r.time_nodes,
            "duplicates": r.duplicates,
            "fallbacks": r.fallbacks,
            "bytes": r.bytes,
            "seconds": secs,
            "mb_per_s": if secs > 0.0 { mb / secs } else { 0.0 },
            "first_tenth_mb_per_s": tenths.map(|t| t.0),
            "last_tenth_mb_per_s": tenths.map(|t| t.1),
            "last_tx": r.tx,
            "rejected": r.rejected,
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        return Ok(());
    }
    println!("ingested into namespace {:?}:", args.namespace);
    println!(
        "  documents   {:>10}   (skipped duplicates: {})",
        r.documents, r.duplicates
    );
    println!("  chunks      {:>10}", r.chunks);
    println!(
        "  facts       {:>10}   (merged into existing: {})",
        r.facts, r.facts_merged
    );
    println!("  entities    {:>10}", r.entities);
    println!("  time nodes  {:>10}", r.time_nodes);
    if r.conflicts + r.invalidated > 0 {
        println!(
            "  contradictions: conflicts to review {} (`chronorag conflicts`), older facts ended by newer ones {}",
            r.conflicts, r.invalidated
        );
    }
    if r.fallbacks > 0 {
        println!("  llm fallbacks to rules: {}", r.fallbacks);
    }
    println!(
        "  {:.1} MB in {:.2} s ({:.2} MB/s)",
        mb,
        secs,
        if secs > 0.0 { mb / secs } else { 0.0 }
    );
    if let Some((first, last)) = tenths {
        println!(
            "  first tenth of the input {first:.2} MB/s, last tenth {last:.2} MB/s ({:.0}%)",
            100.0 * last / first
        );
    }
    if let Some(s) = stats.and_then(|s| s.namespaces.into_values().next()) {
        println!(
            "  namespace now holds {} documents, {} facts, {} entities, {} time nodes",
            s.documents, s.facts, s.entities, s.time_nodes
        );
    }
    if !r.rejected.is_empty() {
        println!("rejected inputs ({}):", r.rejected.len());
        for x in &r.rejected {
            println!("  {x}");
        }
    }
    Ok(())
}

/// Progress: a bar on a terminal, a plain line every few seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    total_bytes: u64,
    done_bytes: u64,
    docs: u64,
    facts: u64,
    files_total: usize,
    files_done: usize,
    started: Instant,
    last_line: Instant,
    /// `(bytes done, seconds since the start)` after each batch.
    marks: Vec<(u64, f64)>,
}

impl Progress {
    fn new(total_bytes: u64, files: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(total_bytes);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) ETA {eta} {msg}",
                )
                .expect("template"),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            bar,
            quiet,
            total_bytes,
            done_bytes: 0,
            docs: 0,
            facts: 0,
            files_total: files,
            files_done: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            marks: Vec::new(),
        }
    }

    fn advance(&mut self, bytes: u64, r: &IngestReport) {
        self.done_bytes += bytes;
        self.docs += r.documents + r.duplicates;
        self.facts += r.facts;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.marks.push((self.done_bytes, secs));
        let msg = format!(
            "{} docs, {} facts, {:.0} facts/s",
            self.docs,
            self.facts,
            self.facts as f64 / secs
        );
        if let Some(b) = &self.bar {
            b.set_position(self.done_bytes);
            b.set_message(msg);
        } else if !self.quiet && self.last_line.elapsed() >= Duration::from_secs(2) {
            self.last_line = Instant::now();
            let rate = self.done_bytes as f64 / secs;
            let eta = if rate > 0.0 {
                (self.total_bytes.saturating_sub(self.done_bytes)) as f64 / rate
            } else {
                0.0
            };
            eprintln!(
                "progress: {}/{} files, {:.1}/{:.1} MB, {msg}, ETA {:.0} s",
                self.files_done,
                self.files_total,
                self.done_bytes as f64 / 1e6,
                self.total_bytes as f64 / 1e6,
                eta
            );
        }
    }

    fn file_done(&mut self) {
        self.files_done += 1;
    }

    fn note(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tenth_rates;

    #[test]
    fn tenth_rates_interpolate_between_batches() {
        // 1 MB per second throughout, in batches that do not meet the tenths' boundaries.
        let steady: Vec<(u64, f64)> = (1..=7).map(|i| (i * 3_000_000, i as f64 * 3.0)).collect();
        let (first, last) = tenth_rates(&steady).unwrap();
        assert!(
            (first - 1.0).abs() < 1e-9 && (last - 1.0).abs() < 1e-9,
            "{first} {last}"
        );
        // The same bytes, but the last batch took twice as long: the last tenth (2.1 of its
        // 3 MB) ran at half the rate.
        let mut slower = steady.clone();
        slower[6].1 = 24.0;
        let (first, last) = tenth_rates(&slower).unwrap();
        assert!((first - 1.0).abs() < 1e-9, "{first}");
        assert!((last - 0.5).abs() < 1e-9, "{last}");
        assert!(tenth_rates(&steady[..1]).is_none());
        assert!(tenth_rates(&[]).is_none());
    }
}
