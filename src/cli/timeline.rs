//! `chronorag summarize` and `chronorag timeline [NODE]`.

use chronorag::{Config, Engine, Result};

/// Flags of `summarize`.
#[derive(Debug, clap::Args)]
pub struct SummarizeArgs {
    /// Namespace (all when omitted).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `timeline`.
#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// A time node: `2019`, `2019-Q3`, `2019-07`, `2024-W28`, `2019-07-15` (default: list the years).
    pub node: Option<String>,
    /// Namespace.
    #[arg(long, short = 'n', default_value = chronorag::engine::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Read the timeline as it was after this transaction.
    #[arg(long = "as-of-tx")]
    pub as_of_tx: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `summarize`.
pub fn summarize(cfg: Config, args: SummarizeArgs) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let names = match &args.namespace {
        Some(n) => vec![n.clone()],
        None => engine.namespace_names()?,
    };
    for name in names {
        let r = engine.summarize(&name)?;
        if args.json {
            println!("{}", serde_json::json!({"namespace": name, "report": r}));
        } else {
            println!(
                "{name}: recomputed {} summaries, {} unchanged, in {:.2} s",
                r.recomputed.len(),
                r.unchanged,
                r.seconds
            );
        }
    }
    engine.flush()
}

/// Runs `timeline`.
pub fn timeline(cfg: Config, args: TimelineArgs) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let t = engine.timeline(&args.namespace, args.node.as_deref(), args.as_of_tx)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&t).expect("json"));
        return Ok(());
    }
    println!("{}", t.label);
    if t.stale {
        println!(
            "(stale: data changed in tx {}; run `chronorag summarize` or wait for the service)",
            t.stale_since_tx.unwrap_or_default()
        );
    }
    match &t.summary {
        Some(s) => {
            println!("{}\n\n{}\n", s.title, s.text);
            if !s.findings.is_empty() {
                println!("key findings:");
                for f in &s.findings {
                    let cites: Vec<String> = f.facts.iter().map(|x| format!("fact {x}")).collect();
                    println!("  - {} [{}]", f.text, cites.join(", "));
                }
            }
            println!(
                "\n(summary by {}, reflects tx {})",
                s.summarizer, s.reflects_tx
            );
        }
        None if t.node != "all" => println!("(no summary yet)"),
        None => {}
    }
    if !t.children.is_empty() {
        println!("\nperiods:");
        for c in &t.children {
            println!(
                "  {:<12} {:>7} facts  {}",
                c.node,
                c.fact_count,
                c.title.as_deref().unwrap_or("(not summarised)")
            );
        }
    }
    Ok(())
}
