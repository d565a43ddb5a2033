//! `chronorag synth --facts N --seed S --out FILE.jsonl`: writes a deterministic synthetic
//! temporal corpus (earnings calls, sustainability reports, news) as ingestable JSON lines;
//! with `--questions DIR`, also question sets with known evidence over it (one `.jsonl` file per
//! kind, for `chronorag eval`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chronorag::synth::Synth;
use chronorag::{Error, Result};

/// Flags of `synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// About how many facts the corpus yields under the rules extractor (e.g. 10000, 100000, 1000000).
    #[arg(long, default_value_t = 10_000)]
    pub facts: usize,
    /// Seed: the same seed and size give the same corpus, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file (`.jsonl`, one document per line); `-` for standard output.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write question sets with their evidence into this folder: `companies.jsonl`
    /// (several companies, one quarter), `stepped.jsonl` (each quarter of a year), `open.jsonl`
    /// (each quarter after/before a bound, up to the data's end) and `compare.jsonl` (two
    /// quarters). Score them with `chronorag eval --questions DIR`.
    #[arg(long, value_name = "DIR")]
    pub questions: Option<PathBuf>,
    /// Questions per kind written with `--questions`.
    #[arg(long, default_value_t = 100)]
    pub per_kind: usize,
}

/// Runs `synth`.
pub fn run(args: SynthArgs) -> Result<()> {
    if args.facts == 0 {
        return Err(Error::invalid("--facts must be at least 1"));
    }
    if args.questions.is_some() && args.per_kind == 0 {
        return Err(Error::invalid("--per-kind must be at least 1"));
    }
    let to_stdout = args.out.as_os_str() == "-";
    let sink: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::invalid(format!("cannot create {}: {e}", parent.display())))?;
        }
        Box::new(
            std::fs::File::create(&args.out).map_err(|e| {
                Error::invalid(format!("cannot create {}: {e}", args.out.display()))
            })?,
        )
    };
    let mut out = BufWriter::new(sink);
    let mut docs = Synth::new(args.seed).documents(args.facts);
    let (mut n, mut bytes) = (0usize, 0usize);
    for d in docs.by_ref() {
        let line = serde_json::to_string(&d).map_err(|e| Error::Io(e.into()))?;
        bytes += line.len() + 1;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    let msg = format!(
        "wrote {n} documents ({:.1} MB, about {} facts, {} compan{}, seed {}){}",
        bytes as f64 / 1e6,
        docs.expected_facts(),
        docs.companies().len(),
        if docs.companies().len() == 1 {
            "y"
        } else {
            "ies"
        },
        args.seed,
        if to_stdout {
            String::new()
        } else {
            format!(" to {}", args.out.display())
        }
    );
    if to_stdout {
        eprintln!("{msg}");
    } else {
        println!("{msg}");
    }
    if let Some(dir) = &args.questions {
        write_questions(dir, args.facts, args.seed, args.per_kind, to_stdout)?;
    }
    Ok(())
}

fn write_questions(
    dir: &std::path::Path,
    facts: usize,
    seed: u64,
    per_kind: usize,
    quiet_stdout: bool,
) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid(format!("cannot create {}: {e}", dir.display())))?;
    let mut summary = Vec::new();
    for kind in Synth::new(seed).questions(facts, per_kind) {
        let path = dir.join(format!("{}.jsonl", kind.name));
        let mut out = BufWriter::new(
            std::fs::File::create(&path)
                .map_err(|e| Error::invalid(format!("cannot create {}: {e}", path.display())))?,
        );
        for q in &kind.questions {
            let line = serde_json::to_string(q).map_err(|e| Error::Io(e.into()))?;
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        summary.push(format!("{} {}", kind.questions.len(), kind.name));
    }
    let msg = format!(
        "wrote questions ({}) to {}",
        summary.join(", "),
        dir.display()
    );
    if quiet_stdout {
        eprintln!("{msg}");
    } else {
        println!("{msg}");
    }
    Ok(())
}
