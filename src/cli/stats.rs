//! `chronorag stats`.

use chronorag::{Config, Engine, Result};

/// Flags of `stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// Only this namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Print JSON (at least: documents, chunks, facts, entities, time_nodes).
    #[arg(long)]
    pub json: bool,
}

/// Runs `stats`.
pub fn run(cfg: Config, args: StatsArgs) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let stats = engine.stats(args.namespace.as_deref())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&stats).expect("stats serialise")
        );
        return Ok(());
    }
    println!(
        "ChronoRAG store at {} (schema version {}, {} on disk)",
        stats.data_dir,
        stats.schema_version,
        human_bytes(stats.size_on_disk)
    );
    println!(
        "{:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "namespace", "documents", "chunks", "facts", "entities", "time_nodes", "transactions"
    );
    for (name, s) in &stats.namespaces {
        println!(
            "{:<20} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
            name, s.documents, s.chunks, s.facts, s.entities, s.time_nodes, s.transactions
        );
    }
    if stats.namespaces.is_empty() {
        println!("(no namespaces)");
    }
    Ok(())
}

/// Formats a byte count for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
