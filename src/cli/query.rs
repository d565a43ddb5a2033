//! `chronorag query "…"`: ask a question from the command line.

use chronorag::query::{Mode, QueryRequest, QueryResult, TimeParam};
use chronorag::{Config, Engine, Error, Result};

/// Flags of `query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The question.
    pub query: String,
    /// Namespace.
    #[arg(long, short = 'n', default_value = chronorag::engine::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Only evidence in this period ("2019", "2024-Q3", "Q3 2024"); wins over times in the question.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub at: Option<String>,
    /// Only evidence from this period on.
    #[arg(long)]
    pub from: Option<String>,
    /// Only evidence up to the end of this period.
    #[arg(long)]
    pub to: Option<String>,
    /// The date relative expressions ("last quarter") refer to (default: the latest valid time in the namespace).
    #[arg(long)]
    pub now: Option<String>,
    /// Read the database as it was after this transaction.
    #[arg(long = "as-of-tx")]
    pub as_of_tx: Option<u64>,
    /// auto, specific or abstract.
    #[arg(long, default_value = "auto", value_parser = ["auto", "specific", "abstract"])]
    pub mode: String,
    /// Context budget in characters.
    #[arg(long, default_value_t = chronorag::query::DEFAULT_BUDGET)]
    pub budget: usize,
    /// Facts to return (the same default as the HTTP API).
    #[arg(long, default_value_t = chronorag::query::DEFAULT_TOP_K)]
    pub top_k: usize,
    /// Show per-stage timings and candidates.
    #[arg(long)]
    pub explain: bool,
    /// Print the whole result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `query`.
pub fn run(cfg: Config, args: QueryArgs) -> Result<()> {
    let engine = Engine::open_existing_for(cfg, &args.namespace)?;
    let time = if args.at.is_some() || args.from.is_some() || args.to.is_some() {
        Some(TimeParam {
            at: args.at.clone(),
            from: args.from.clone(),
            to: args.to.clone(),
        })
    } else {
        None
    };
    let mode = match args.mode.as_str() {
        "specific" => Mode::Specific,
        "abstract" => Mode::Abstract,
        "auto" => Mode::Auto,
        other => return Err(Error::invalid(format!("unknown mode {other:?}"))),
    };
    let req = QueryRequest {
        query: args.query.clone(),
        time,
        now: args.now.clone(),
        as_of_tx: args.as_of_tx,
        mode,
        budget_chars: Some(args.budget),
        top_k: Some(args.top_k),
        explain: args.explain,
        answer: false,
    };
    let res = engine.query(&args.namespace, &req)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&res).expect("json"));
    } else {
        print_readable(&res);
    }
    // The open store and indexes are left to the exit instead of being taken apart piece by
    // piece (at 1M facts that was about a sixth of the command); whatever opening them wrote
    // to the store (the embedder's name on a first open) is flushed first.
    engine.store().flush()?;
    std::mem::forget(engine);
    Ok(())
}

fn print_readable(r: &QueryResult) {
    let p = &r.plan;
    println!("question: {}", p.query);
    println!("intent:   {:?} — {}", p.intent, p.intent_reason);
    match &p.time_scope {
        Some(s) => println!(
            "time:     {} ({}) — {}",
            s.intervals
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if s.hard { "hard" } else { "soft" },
            s.reason
        ),
        None => println!("time:     no time scope"),
    }
    if let Some(now) = &p.now {
        println!(
            "now:      {now} ({})",
            p.now_source.as_deref().unwrap_or("")
        );
    }
    println!("as of tx: {}", p.as_of_tx);
    if let Some(f) = &p.fallback {
        println!("note:     {f}");
    }
    for n in &p.notes {
        println!("note:     {n}");
    }
    if !r.summaries.is_empty() {
        println!("\nsummaries:");
        for s in &r.summaries {
            println!("  {} — {}", s.node, s.title);
        }
    }
    println!("\nfacts:");
    for f in &r.facts {
        let src = f
            .sources
            .first()
            .map(|s| s.document.as_str())
            .unwrap_or("manual");
        println!("  [{}] {} · {} · {}", f.time, f.subject, f.description, src);
    }
    if r.facts.is_empty() {
        println!("  (none)");
    }
    println!("\ncontext ({} chars):\n{}", r.context.len(), r.context);
    if let Some(stages) = &r.explain {
        println!("explain:");
        for s in stages {
            println!(
                "  {:<22} {:>8.2} ms  kept {:>5}  {}",
                s.stage,
                s.ms,
                s.kept,
                s.top.join(" ")
            );
        }
    }
}
