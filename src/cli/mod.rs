//! Argument parsing and dispatch for the `chronorag` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use chronorag::{Config, Engine, Error, Result};

mod eval;
mod govern;
mod ingest;
mod query;
mod serve;
mod stats;
mod synth;
mod timeline;

/// ChronoRAG: a temporal knowledge-graph RAG database.
///
/// Ingest dated text, ask time-scoped questions, and govern what the database knows (every change
/// is a transaction you can inspect, diff, roll back and audit).
#[derive(Debug, Parser)]
#[command(name = "chronorag", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Data folder (store and indexes) [default: `data_dir` of the config file, else
    /// ./chronorag-data]
    #[arg(long, global = true, env = "CHRONORAG_DATA")]
    pub data: Option<PathBuf>,

    /// Keep the records in PostgreSQL instead of the data folder: a URL such as
    /// postgres://user:password@host:5432/chronorag. Several servers may share one database;
    /// each keeps its own derived indexes in its data folder [default: `store` of the config
    /// file, else the embedded store in the data folder]
    #[arg(long, global = true, env = "CHRONORAG_STORE")]
    pub store: Option<String>,

    /// Configuration file (TOML); flags and environment variables override it.
    #[arg(long, global = true, env = "CHRONORAG_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty store in the data folder (idempotent).
    Init,
    /// Ingest .txt, .md and .jsonl files or folders of them.
    Ingest(ingest::IngestArgs),
    /// Ask a question: facts, chunks and a cited context, scoped in time and meaning.
    Query(query::QueryArgs),
    /// List, assert, correct and retract facts.
    #[command(subcommand)]
    Facts(govern::FactsCommand),
    /// Merge and rename entities.
    #[command(subcommand)]
    Entities(govern::EntitiesCommand),
    /// List transactions, newest first.
    History {
        #[command(flatten)]
        common: govern::Common,
        /// Most transactions.
        #[arg(long, default_value_t = 30)]
        limit: usize,
    },
    /// What changed between two transactions (facts, entities, summaries).
    Diff {
        #[command(flatten)]
        common: govern::Common,
        /// From this transaction (exclusive).
        from: u64,
        /// To this transaction (inclusive; default: the latest).
        to: Option<u64>,
    },
    /// Undo one transaction exactly, as a new transaction.
    Revert {
        #[command(flatten)]
        common: govern::Common,
        /// The transaction to undo.
        tx: u64,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Undo everything after a transaction, as a new transaction (nothing is deleted).
    Rollback {
        #[command(flatten)]
        common: govern::Common,
        /// The transaction to return to.
        #[arg(long)]
        to: u64,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Print or verify the hash-chained audit log.
    #[command(subcommand)]
    Audit(govern::AuditCommand),
    /// Erase a document or an entity for a privacy request (removes the content everywhere and
    /// compacts the store; leaves a tombstone in the audit log).
    Erase {
        #[command(flatten)]
        common: govern::Common,
        /// Document id.
        #[arg(long, conflicts_with = "entity")]
        document: Option<String>,
        /// Entity id or name.
        #[arg(long)]
        entity: Option<String>,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// List contradicting facts kept for review.
    Conflicts {
        #[command(flatten)]
        common: govern::Common,
    },
    /// Recompute the summaries of time nodes changed since the last pass.
    Summarize(timeline::SummarizeArgs),
    /// Show a time node (year, quarter, month, week, day): summary, periods inside, top facts.
    Timeline(timeline::TimelineArgs),
    /// Rebuild a namespace's derived indexes (text, vectors, graph) from the store.
    Reindex(ReindexArgs),
    /// Print record counts (documents, chunks, facts, entities, time nodes, transactions).
    Stats(stats::StatsArgs),
    /// Run the HTTP API service (prints where it listens; stops cleanly on SIGINT/SIGTERM).
    Serve(serve::ServeArgs),
    /// Manage API keys for `serve --auth`.
    #[command(subcommand)]
    Keys(serve::KeysCommand),
    /// Measure retrieval quality (evidence recall at budgets) and latency against a BM25 baseline.
    Eval(eval::EvalArgs),
    /// Write a deterministic synthetic temporal corpus (JSON lines) of about N facts.
    Synth(synth::SynthArgs),
    /// Print the HTTP API's OpenAPI 3.1 description (the same as `schema/openapi.json` and
    /// `GET /openapi.json`), generated from the route table, the query structs and the wire types.
    Openapi,
    /// Copy the store into a new folder as one consistent snapshot (indexes are rebuilt on
    /// restore). For a data folder a running server holds, use its `POST /v1/admin/backup`.
    Backup {
        /// The backup folder to create (must not exist, or be empty; outside the data folder).
        dest: std::path::PathBuf,
    },
    /// Serve ChronoRAG's tools to an AI agent over the Model Context Protocol (stdio: JSON-RPC
    /// messages one per line on stdin/stdout, logs on stderr). Tools: query, timeline,
    /// entity_facts, history, diff; ingest and rollback with --allow-writes. Add it to an agent
    /// as the command `chronorag --data DIR mcp`.
    Mcp {
        /// Namespace the tools use when a call names none.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// Offer the tools that write (ingest, rollback).
        #[arg(long)]
        allow_writes: bool,
    },
    /// Write one namespace's whole history as JSON lines (documents, chunks, entities, facts,
    /// edits, retractions and erasures, each with its transaction), to move it between
    /// versions or backends. Indexes and summaries are not written: `import` recomputes them.
    Export {
        /// Namespace to export.
        #[arg(long, short = 'n', default_value = "default")]
        namespace: String,
        /// The file to write (must not exist).
        out: std::path::PathBuf,
    },
    /// Replay an `export` file into a namespace (the exported namespace's name unless
    /// --namespace) that has no transactions yet, or only the file's first ones (an interrupted
    /// import is re-run; a later export catches up an earlier one): same records, ids,
    /// transactions and times; its own audit chain; indexes built as it goes. The file is
    /// checked whole before any write.
    Import {
        /// Namespace to import into (default: the one named in the file).
        #[arg(long, short = 'n')]
        namespace: Option<String>,
        /// A file written by `export`.
        file: std::path::PathBuf,
    },
    /// Restore a backup into the data folder (`--data`), which must not hold a store yet:
    /// copies it, runs migrations, verifies the audit chains and rebuilds the indexes.
    Restore {
        /// A folder made by `backup` (holds `backup.json` and `store/`).
        snapshot: std::path::PathBuf,
    },
}

/// Flags of `reindex`.
#[derive(Debug, clap::Args)]
pub struct ReindexArgs {
    /// Namespace (all when omitted).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Accept a change of embedder and re-embed every record.
    #[arg(long)]
    pub reembed: bool,
}

impl Cli {
    /// The effective configuration: file, then flags.
    pub fn load_config(&self) -> Result<Config> {
        let mut cfg = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        // The flag (or CHRONORAG_DATA) wins over the file, which wins over the default.
        if let Some(d) = &self.data {
            cfg.data_dir = d.clone();
        }
        if let Some(s) = &self.store {
            cfg.store = Some(s.clone());
        }
        cfg.check_store()?;
        Ok(cfg)
    }
}

/// Entry point: parse, run, map errors to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        crate::restore_sigpipe();
    }
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHRONORAG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Invalid(_) | Error::Time(_) | Error::Config(_) => 2,
        Error::NotFound(_) => 3,
        Error::SchemaTooNew { .. } => 4,
        Error::Unavailable(_) => 5,
        _ => 1,
    }
}

fn run(cli: Cli) -> Result<()> {
    let cfg = cli.load_config()?;
    match cli.command {
        Command::Init => {
            let engine = Engine::open(cfg)?;
            let ns = engine.namespace_or_create(chronorag::engine::DEFAULT_NAMESPACE)?;
            engine.flush()?;
            let at = match engine.config().postgres_url() {
                #[cfg(feature = "postgres")]
                Some(url) => format!(
                    "PostgreSQL at {} (indexes in {})",
                    chronorag::store::postgres::redact(url),
                    engine.config().data_dir.display()
                ),
                _ => engine.config().data_dir.display().to_string(),
            };
            println!(
                "initialised ChronoRAG store in {at} (schema version {}, namespace {:?})",
                engine.store().schema_version(),
                ns.name()
            );
            Ok(())
        }
        Command::Stats(args) => stats::run(cfg, args),
        Command::Backup { dest } => {
            let engine = Engine::open_existing(cfg)?;
            let r = engine.backup(&dest)?;
            println!(
                "backed up {} namespaces ({:.1} MB) into {} in {:.1} s: {}",
                r.manifest.namespaces.len(),
                r.bytes as f64 / 1e6,
                r.dest.display(),
                r.seconds,
                r.manifest
                    .namespaces
                    .iter()
                    .map(|(n, t)| format!("{n} at tx {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
        Command::Mcp {
            namespace,
            allow_writes,
        } => {
            let engine = std::sync::Arc::new(Engine::open(cfg)?);
            eprintln!(
                "chronorag mcp: serving {} on stdio (namespace {namespace:?}, writes {})",
                engine.config().data_dir.display(),
                if allow_writes { "allowed" } else { "off" }
            );
            let server = chronorag::mcp::ChronoMcp::new(
                engine.clone(),
                chronorag::mcp::Scope::local(&namespace, allow_writes),
            );
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(chronorag::mcp::serve_stdio(server))?;
            engine.flush()?;
            Ok(())
        }
        Command::Export { namespace, out } => {
            let engine = Engine::open_existing(cfg)?;
            let r = engine.export_namespace(&namespace, &out, &|done, all| {
                eprintln!("export: {done}/{all} transactions");
            })?;
            println!(
                "exported namespace {:?} into {} ({:.1} MB, {:.1} s): {} transactions, {} document \
                 versions, {} chunks, {} entity versions, {} fact versions",
                r.namespace,
                out.display(),
                r.bytes as f64 / 1e6,
                r.seconds,
                r.transactions,
                r.documents,
                r.chunks,
                r.entities,
                r.facts
            );
            Ok(())
        }
        Command::Import { namespace, file } => {
            let engine = Engine::open(cfg)?;
            let r = engine.import_namespace(namespace.as_deref(), &file, &|done, all| {
                eprintln!("import: {done}/{all} transactions");
            })?;
            let s = engine.summarize(&r.namespace)?;
            let audit = engine.namespace(&r.namespace)?.store().verify_audit()?;
            println!(
                "imported {} into namespace {:?} in {:.1} s: {} transactions ({} already \
                 there), {} document versions, {} chunks, {} entity versions, {} fact versions; \
                 {} summaries computed; audit chain {} ({} entries)",
                file.display(),
                r.namespace,
                r.seconds,
                r.transactions,
                r.already_there,
                r.documents,
                r.chunks,
                r.entities,
                r.facts,
                s.recomputed.len(),
                if audit.ok { "verified" } else { "BROKEN" },
                audit.entries
            );
            Ok(())
        }
        Command::Restore { snapshot } => {
            let (_engine, r) = Engine::restore(cfg, &snapshot)?;
            println!(
                "restored {} namespaces from {} (made by ChronoRAG {} on {}) into {} in {:.1} s; \
                 audit chains verified ({} entries), indexes rebuilt",
                r.manifest.namespaces.len(),
                snapshot.display(),
                r.manifest.chronorag,
                r.manifest.created_at,
                r.data_dir.display(),
                r.seconds,
                r.audit_entries
            );
            Ok(())
        }
        Command::Ingest(args) => ingest::run(cfg, args),
        Command::Query(args) => query::run(cfg, args),
        Command::Eval(args) => eval::run(cfg, args),
        Command::Synth(args) => synth::run(args),
        Command::Openapi => {
            print!("{}", chronorag::api::openapi::render());
            Ok(())
        }
        Command::Summarize(args) => timeline::summarize(cfg, args),
        Command::Facts(cmd) => govern::facts(cfg, cmd),
        Command::Entities(cmd) => govern::entities(cfg, cmd),
        Command::History { common, limit } => govern::history(cfg, common, limit),
        Command::Diff { common, from, to } => govern::diff(cfg, common, from, to),
        Command::Revert { common, tx, reason } => govern::undo(cfg, common, Some(tx), None, reason),
        Command::Rollback { common, to, reason } => {
            govern::undo(cfg, common, None, Some(to), reason)
        }
        Command::Audit(cmd) => govern::audit(cfg, cmd),
        Command::Erase {
            common,
            document,
            entity,
            reason,
        } => govern::erase(cfg, common, document, entity, reason),
        Command::Conflicts { common } => govern::conflicts(cfg, common),
        Command::Timeline(args) => timeline::timeline(cfg, args),
        Command::Reindex(args) => {
            let mut cfg = cfg;
            cfg.reembed = args.reembed;
            let engine = Engine::open_existing(cfg)?;
            let names = match &args.namespace {
                Some(n) => vec![n.clone()],
                None => engine.namespace_names()?,
            };
            for name in names {
                let started = std::time::Instant::now();
                let sizes = engine.reindex(&name, args.reembed)?;
                println!(
                    "reindexed {name:?} in {:.1} s: {} text documents, {} fact / {} chunk / {} summary vectors, {} graph edges",
                    started.elapsed().as_secs_f64(),
                    sizes.text_docs,
                    sizes.fact_vectors,
                    sizes.chunk_vectors,
                    sizes.summary_vectors,
                    sizes.graph_edges
                );
            }
            Ok(())
        }
        Command::Serve(args) => serve::run(cfg, args),
        Command::Keys(cmd) => serve::keys(cmd),
    }
}
