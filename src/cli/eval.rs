//! `chronorag eval`: evidence recall at several budgets and query latency on a question set,
//! beside a plain BM25 baseline built in the same run. See `docs/EVALUATION.md`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chronorag::eval::report::{self, EvalReport, FileInfo};
use chronorag::eval::{self, EvalOptions, Progress, ScratchDir, dataset};
use chronorag::query::Mode;
use chronorag::{Config, Engine, Error, Result};

/// Flags of `eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Question files or folders: Time-LongQA `.json` files, or `.jsonl` with one
    /// `{"question", "evidence": [..], "time"?: {..}}` per line.
    #[arg(long, required = true, num_args = 1..)]
    pub qa: Vec<PathBuf>,
    /// Corpus files or folders (.txt, .md, .jsonl). Ingested first when the namespace is empty;
    /// the baseline is built from it (from the stored documents when omitted).
    #[arg(long, num_args = 1..)]
    pub corpus: Vec<PathBuf>,
    /// Namespace to query (and to ingest the corpus into).
    #[arg(long, short = 'n', default_value = "eval")]
    pub namespace: String,
    /// At most this many questions per question file.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Context budgets in characters, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4000,8000,16000")]
    pub budgets: Vec<usize>,
    /// Retrieval mode for every question.
    #[arg(long, default_value = "auto", value_parser = ["auto", "specific", "abstract"])]
    pub mode: String,
    /// Query ChronoRAG once, at the largest budget, and cut that context to each smaller budget
    /// (faster; underestimates recall at the smaller budgets). Default: one query per budget.
    #[arg(long)]
    pub single_query: bool,
    /// Skip the BM25 baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Write one JSON line per question (recall per budget, latency) to this file.
    #[arg(long)]
    pub details: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Ask a running `chronorag serve` at this URL (e.g. http://127.0.0.1:7070) instead of
    /// opening the data folder: the corpus is ingested and the questions asked over HTTP, the
    /// path RAG applications call. Without it, the engine runs in this process with the same
    /// defaults, and summaries are brought up to date after ingest as `serve` does.
    #[arg(long)]
    pub server: Option<String>,
    /// Ablation: do not bring time-node summaries up to date before asking (in process only),
    /// to measure what summaries add. `serve` computes them in the background, so figures for
    /// users are measured without this flag
    #[arg(long, conflicts_with = "server")]
    pub no_summaries: bool,
    /// Measure the semantic cache instead of recall: ask every question, then paraphrases of
    /// it made by fixed rules, and report per rule how many were answered from the cache and
    /// how many of those reused the answer of a question with other evidence (wrong hits).
    /// Uses the first budget. Run it on a server or engine whose cache is fresh
    #[arg(long, conflicts_with_all = ["single_query", "details"])]
    pub cache_check: bool,
    /// Environment variable holding the API key for `--server` (when its auth is on).
    #[arg(long, default_value = "CHRONORAG_API_KEY")]
    pub api_key_env: String,
}

/// Progress on stderr: an updating line on a terminal, a line every few seconds otherwise.
struct Reporter {
    tty: bool,
    last: Instant,
    phase: String,
}

impl Reporter {
    fn new() -> Self {
        Reporter {
            tty: std::io::stderr().is_terminal(),
            last: Instant::now() - Duration::from_secs(60),
            phase: String::new(),
        }
    }

    fn update(&mut self, p: Progress<'_>) {
        let finished = p.done >= p.total;
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        };
        if !finished && p.phase == self.phase && self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        self.phase = p.phase.to_string();
        let pct = 100.0 * p.done as f64 / p.total.max(1) as f64;
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(
                err,
                "\r\x1b[2Keval: {} {}/{} ({pct:.0}%)",
                p.phase, p.done, p.total
            );
            if finished {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "eval: {} {}/{} ({pct:.0}%)", p.phase, p.done, p.total);
        }
    }

    fn note(&self, msg: &str) {
        eprintln!("eval: {msg}");
    }
}

fn parse_mode(s: &str) -> Result<Mode> {
    match s {
        "auto" => Ok(Mode::Auto),
        "specific" => Ok(Mode::Specific),
        "abstract" => Ok(Mode::Abstract),
        other => Err(Error::invalid(format!("unknown mode {other:?}"))),
    }
}

/// Runs `eval`.
pub fn run(cfg: Config, args: EvalArgs) -> Result<()> {
    let started = Instant::now();
    let mut budgets = args.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    if budgets.is_empty() || budgets[0] == 0 {
        return Err(Error::invalid("--budgets must be positive numbers"));
    }
    let opts = EvalOptions {
        namespace: args.namespace.clone(),
        budgets,
        mode: parse_mode(&args.mode)?,
        limit: args.limit,
        per_budget: !args.single_query,
        baseline: !args.no_baseline,
    };
    let sets = dataset::load(&args.qa)?;
    let mut rep = Reporter::new();
    rep.note(&format!(
        "{} question files, {} questions with evidence",
        sets.len(),
        sets.iter().map(|s| s.questions.len()).sum::<usize>()
    ));

    // The target: a server over HTTP, or the engine in this process.
    let http = args
        .server
        .as_deref()
        .map(|url| eval::HttpTarget::new(url, std::env::var(&args.api_key_env).ok()));
    let engine = match (&http, args.corpus.is_empty()) {
        (Some(_), _) => None,
        (None, true) => Some(Engine::open_existing(cfg)?),
        (None, false) => Some(Engine::open(cfg)?),
    };
    let existing = match (&http, &engine) {
        (Some(h), _) => h.documents(&opts.namespace)?,
        (None, Some(e)) => match e.stats(Some(&opts.namespace)) {
            Ok(s) => s.totals.documents,
            Err(Error::NotFound(_)) => 0,
            Err(e) => return Err(e),
        },
        (None, None) => unreachable!("an engine or a server"),
    };
    // The raw corpus: ingested when the namespace is empty, and the baseline's input.
    let mut ingest = None;
    let mut texts: Option<Vec<String>> = None;
    if !args.corpus.is_empty() {
        let (docs, rejected) = eval::read_corpus(&args.corpus)?;
        for r in &rejected {
            rep.note(&format!("skipped {r}"));
        }
        // The baseline reads the documents as sent, as a plain BM25 over them would.
        texts = Some(docs.iter().map(|d| d.text_as_sent().to_string()).collect());
        if existing == 0 {
            rep.note(&format!(
                "ingesting {} documents into namespace {:?}{}",
                docs.len(),
                opts.namespace,
                if http.is_some() { " over HTTP" } else { "" }
            ));
            let mut t = match (&http, &engine) {
                (Some(h), _) => h.ingest(&opts.namespace, &docs, &mut |p| rep.update(p))?,
                (None, Some(e)) => {
                    eval::ingest_timed(e, &opts.namespace, docs, &mut |p| rep.update(p))?
                }
                (None, None) => unreachable!("an engine or a server"),
            };
            t.rejected.extend(rejected);
            ingest = Some(t);
        } else {
            rep.note(&format!(
                "namespace {:?} already has {existing} documents; not ingesting --corpus again",
                opts.namespace
            ));
        }
    } else if existing == 0 {
        return Err(Error::invalid(format!(
            "namespace {:?} is empty: give --corpus to ingest one first",
            opts.namespace
        )));
    }
    // Questions are answered from the state `serve` settles in: summaries up to date.
    match (&http, &engine) {
        (Some(h), _) => h.settle(&opts.namespace)?,
        (None, Some(_)) if args.no_summaries => {
            rep.note("summaries not brought up to date (--no-summaries)");
        }
        (None, Some(e)) => {
            let s = eval::settle(e, &opts.namespace)?;
            rep.note(&format!("summaries brought up to date in {s:.1} s"));
        }
        (None, None) => {}
    }

    if args.cache_check {
        let target: &dyn eval::Target = match (&http, &engine) {
            (Some(h), _) => h,
            (None, Some(e)) => e,
            (None, None) => unreachable!("an engine or a server"),
        };
        let report = eval::cache_check::run(
            target,
            &opts.namespace,
            &sets,
            opts.limit,
            opts.budgets[0],
            &mut |m| rep.note(m),
        )?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("report serialises")
            );
        } else {
            print_cache_report(&report);
        }
        return Ok(());
    }

    let scratch = ScratchDir::new("chronorag-eval-bm25")?;
    let baseline = if opts.baseline {
        let (texts, source) = match (texts, &engine) {
            (Some(t), _) => (t, eval::BaselineSource::CorpusFiles),
            (None, Some(e)) => (
                eval::stored_texts(e, &opts.namespace)?,
                eval::BaselineSource::StoredDocuments,
            ),
            (None, None) => {
                return Err(Error::invalid(
                    "--server needs --corpus for the baseline (or --no-baseline)",
                ));
            }
        };
        rep.note(&format!(
            "building the BM25 baseline over {} {source}",
            texts.len()
        ));
        Some(eval::build_baseline(scratch.path(), &texts, source)?)
    } else {
        None
    };

    let target: &dyn eval::Target = match (&http, &engine) {
        (Some(h), _) => h,
        (None, Some(e)) => e,
        (None, None) => unreachable!("an engine or a server"),
    };
    let results = eval::run(
        target,
        &sets,
        baseline.as_ref().map(|(b, _)| b),
        &opts,
        &mut |p| rep.update(p),
    )?;
    if let Some(path) = &args.details {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for r in &results {
            serde_json::to_writer(&mut f, r).map_err(|e| Error::Io(e.into()))?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
    }
    let (rows, per_file) = report::rows(&sets, &results, &opts.budgets);
    let report = EvalReport {
        namespace: opts.namespace.clone(),
        budgets: opts.budgets.clone(),
        mode: opts.mode,
        query_per_budget: opts.per_budget,
        files: sets.iter().map(FileInfo::of).collect(),
        ingest,
        baseline_build: baseline.map(|(_, t)| t),
        rows,
        per_file,
        seconds: started.elapsed().as_secs_f64(),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        );
    } else {
        print_readable(&report);
    }
    Ok(())
}

fn print_cache_report(r: &eval::cache_check::CacheReport) {
    println!(
        "Semantic cache check: every question, then its paraphrases, at budget {}",
        r.budget
    );
    println!(
        "{:<26} {:>6} {:>8} {:>9} {:>10} {:>11}",
        "asked", "n", "exact", "semantic", "hit rate", "wrong hits"
    );
    let row = |label: &str, c: &eval::cache_check::HitCounts| {
        let rate = |a: usize, b: usize| {
            if b == 0 {
                "-".to_string()
            } else {
                format!("{:.3}", a as f64 / b as f64)
            }
        };
        println!(
            "{:<26} {:>6} {:>8} {:>9} {:>10} {:>5} ({})",
            label,
            c.asked,
            c.exact,
            c.hits,
            rate(c.hits, c.asked),
            c.wrong,
            rate(c.wrong, c.hits)
        );
    };
    row("originals", &r.originals);
    for (rule, c) in &r.rules {
        row(&format!("paraphrases: {rule}"), c);
    }
    row("paraphrases: all", &r.paraphrases);
    for w in r.wrong_examples.iter().take(5) {
        println!(
            "wrong hit ({:.3}): {:?} got the answer of {:?}",
            w.similarity, w.asked, w.reused
        );
    }
    println!(
        "hit rate: semantic hits / asked; wrong hits: hits that reused the answer of a question \
         with other evidence (share of hits in brackets)"
    );
}

fn print_readable(r: &EvalReport) {
    let skipped: usize = r.files.iter().map(|f| f.skipped).sum();
    let asked: usize = r.rows.last().map(|row| row.questions).unwrap_or(0);
    println!(
        "ChronoRAG evaluation: namespace {:?}, {} question files, {asked} questions asked \
         ({skipped} without evidence skipped), mode {:?}",
        r.namespace,
        r.files.len(),
        r.mode
    );
    match &r.ingest {
        Some(i) => println!(
            "ingest:   {} documents, {:.2} MB in {:.1} s ({:.3} MB/s): {} chunks, {} facts, {} entities{}",
            i.documents,
            i.bytes as f64 / 1e6,
            i.seconds,
            i.mb_per_s,
            i.chunks,
            i.facts,
            i.entities,
            if i.rejected.is_empty() {
                String::new()
            } else {
                format!(", {} inputs rejected", i.rejected.len())
            }
        ),
        None => println!("ingest:   skipped (the namespace already had documents)"),
    }
    if let Some(b) = &r.baseline_build {
        println!(
            "baseline: BM25 over {} windows of ≤1,200 chars from {} {}, indexed in {:.2} s",
            b.chunks, b.documents, b.source, b.seconds
        );
    }
    println!(
        "recall:   mean evidence recall with the context cut to each budget ({})\n",
        if r.query_per_budget {
            "chronorag queried once per budget"
        } else {
            "chronorag queried once at the largest budget, context cut to each budget"
        }
    );
    print!("{}", report::table(&r.rows, &r.budgets));
    let errors: usize = r.rows.last().map(|row| row.chronorag.errors).unwrap_or(0);
    if errors > 0 {
        println!("\n{errors} chronorag queries failed (scored 0); see --details");
    }
    println!("\ntotal time: {:.1} s", r.seconds);
}
