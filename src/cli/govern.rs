//! Governance commands: facts (list, assert, correct, retract), entities (merge, rename),
//! history, diff, revert, rollback, audit (and verify), erase, conflicts.

use chronorag::engine::FactListParams;
use chronorag::governance::edit::{FactInput, FactPatch, ObjectInput};
use chronorag::{Config, Engine, Error, Result};

fn default_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "local".into())
    )
}

/// Flags shared by governance commands.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Namespace.
    #[arg(long, short = 'n', default_value = chronorag::engine::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Who is doing this (recorded on the transaction; default cli:$USER).
    #[arg(long)]
    pub actor: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl Common {
    fn actor(&self) -> String {
        self.actor.clone().unwrap_or_else(default_actor)
    }
}

/// `facts` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FactsCommand {
    /// List facts by valid time and entity, as of a transaction.
    List {
        #[command(flatten)]
        common: Common,
        /// Entity id or name.
        #[arg(long)]
        entity: Option<String>,
        /// Valid from the start of this period.
        #[arg(long)]
        from: Option<String>,
        /// Valid until the end of this period.
        #[arg(long)]
        to: Option<String>,
        /// Read as of this transaction.
        #[arg(long = "as-of-tx")]
        as_of_tx: Option<u64>,
        /// Include retracted facts.
        #[arg(long)]
        include_retracted: bool,
        /// Most facts to print.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Assert a fact by hand.
    Assert {
        #[command(flatten)]
        common: Common,
        /// Subject entity (name or id).
        #[arg(long)]
        subject: String,
        /// What the fact says.
        #[arg(long)]
        description: String,
        /// Valid time ("2024-Q3", "Q3 2024", "from 2018 to 2020").
        #[arg(long)]
        time: String,
        /// Object entity (name or id).
        #[arg(long, conflicts_with = "value")]
        object: Option<String>,
        /// Object value (a literal).
        #[arg(long)]
        value: Option<String>,
        /// Confidence in [0, 1] (default 1).
        #[arg(long)]
        confidence: Option<f32>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Correct a fact: retract it and assert the corrected copy in one transaction.
    Correct {
        #[command(flatten)]
        common: Common,
        /// Fact id.
        id: u64,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New valid time.
        #[arg(long)]
        time: Option<String>,
        /// New object entity.
        #[arg(long, conflicts_with = "value")]
        object: Option<String>,
        /// New object value.
        #[arg(long)]
        value: Option<String>,
        /// New subject.
        #[arg(long)]
        subject: Option<String>,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Retract a fact.
    Retract {
        #[command(flatten)]
        common: Common,
        /// Fact id.
        id: u64,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
}

/// `entities` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EntitiesCommand {
    /// Merge entities into one.
    Merge {
        #[command(flatten)]
        common: Common,
        /// The surviving entity (id or name).
        #[arg(long)]
        into: String,
        /// Entities to merge into it (ids or names).
        #[arg(required = true)]
        from: Vec<String>,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Rename an entity (the old name stays an alias).
    Rename {
        #[command(flatten)]
        common: Common,
        /// Entity (id or name).
        entity: String,
        /// New name.
        name: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Print the audit log of a namespace.
    Log {
        #[command(flatten)]
        common: Common,
        /// First sequence number.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Most entries.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Verify every namespace's hash chain; exits non-zero when it is broken.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn object(object: Option<String>, value: Option<String>) -> Option<ObjectInput> {
    object
        .map(ObjectInput::Entity)
        .or(value.map(ObjectInput::Literal))
}

fn print_tx(json: bool, what: &str, tx: &chronorag::model::Tx, extra: serde_json::Value) {
    if json {
        println!(
            "{}",
            serde_json::json!({"tx": tx.id, "kind": tx.kind, "counts": tx.counts, "extra": extra})
        );
    } else {
        println!(
            "{what}: transaction {} ({} by {})",
            tx.id,
            tx.kind.name(),
            tx.actor
        );
        if !extra.is_null() {
            println!("  {extra}");
        }
    }
}

/// Runs `facts`.
pub fn facts(cfg: Config, cmd: FactsCommand) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    match cmd {
        FactsCommand::List {
            common,
            entity,
            from,
            to,
            as_of_tx,
            include_retracted,
            limit,
        } => {
            let list = engine.facts(
                &common.namespace,
                &FactListParams {
                    entity,
                    from,
                    to,
                    as_of_tx,
                    include_retracted,
                    limit: Some(limit),
                    cursor: None,
                },
            )?;
            if common.json {
                println!("{}", serde_json::to_string_pretty(&list).expect("json"));
            } else {
                for f in &list.facts {
                    println!(
                        "{:>7}  [{}] {}{} — {}",
                        f.id,
                        f.time,
                        f.subject,
                        if f.status == chronorag::model::Status::Active {
                            ""
                        } else {
                            " (retracted)"
                        },
                        f.description
                    );
                }
                if list.next.is_some() {
                    println!("(more: raise --limit or narrow --from/--to)");
                }
            }
        }
        FactsCommand::Assert {
            common,
            subject,
            description,
            time,
            object: o,
            value,
            confidence,
            reason,
        } => {
            let input = FactInput {
                subject,
                object: object(o, value),
                description,
                time,
                confidence,
            };
            let (tx, ids) =
                engine.assert_facts(&common.namespace, &[input], &common.actor(), reason)?;
            print_tx(
                common.json,
                "asserted",
                &tx,
                serde_json::json!({"facts": ids}),
            );
        }
        FactsCommand::Correct {
            common,
            id,
            description,
            time,
            object: o,
            value,
            subject,
            reason,
        } => {
            let patch = FactPatch {
                subject,
                object: object(o, value),
                description,
                time,
                confidence: None,
            };
            let (tx, new_id) = engine.correct_fact(
                &common.namespace,
                id,
                &patch,
                &common.actor(),
                Some(reason),
            )?;
            print_tx(
                common.json,
                "corrected",
                &tx,
                serde_json::json!({"retracted": id, "fact": new_id}),
            );
        }
        FactsCommand::Retract { common, id, reason } => {
            let tx = engine.retract_fact(&common.namespace, id, &common.actor(), Some(reason))?;
            print_tx(common.json, "retracted", &tx, serde_json::Value::Null);
        }
    }
    engine.flush()
}

/// Runs `entities`.
pub fn entities(cfg: Config, cmd: EntitiesCommand) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    match cmd {
        EntitiesCommand::Merge {
            common,
            into,
            from,
            reason,
        } => {
            let (tx, moved) = engine.merge_entities(
                &common.namespace,
                &into,
                &from,
                &common.actor(),
                Some(reason),
            )?;
            print_tx(
                common.json,
                "merged",
                &tx,
                serde_json::json!({"facts_moved": moved}),
            );
        }
        EntitiesCommand::Rename {
            common,
            entity,
            name,
            reason,
        } => {
            let tx =
                engine.rename_entity(&common.namespace, &entity, &name, &common.actor(), reason)?;
            print_tx(common.json, "renamed", &tx, serde_json::Value::Null);
        }
    }
    engine.flush()
}

/// Runs `history`.
pub fn history(cfg: Config, common: Common, limit: usize) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let txs = engine.transactions(&common.namespace, None, limit)?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&txs).expect("json"));
        return Ok(());
    }
    for t in txs {
        let c = &t.counts;
        println!(
            "{:>6}  {}  {:<15} {:<14} docs+{} facts+{} -{} ~{} entities+{} erased {}{}",
            t.id,
            t.at.format("%Y-%m-%d %H:%M:%S"),
            t.kind.name(),
            t.actor,
            c.documents,
            c.facts_asserted,
            c.facts_retracted,
            c.facts_updated,
            c.entities,
            c.erased,
            t.reason.map(|r| format!("  — {r}")).unwrap_or_default()
        );
    }
    Ok(())
}

/// Runs `diff`.
pub fn diff(cfg: Config, common: Common, from: u64, to: Option<u64>) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let head = engine.namespace(&common.namespace)?.store().head_tx();
    let d = engine.diff(&common.namespace, from, to.unwrap_or(head))?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&d).expect("json"));
    } else {
        print!("{}", d.to_text());
    }
    Ok(())
}

/// Runs `revert` / `rollback`.
pub fn undo(
    cfg: Config,
    common: Common,
    revert: Option<u64>,
    to: Option<u64>,
    reason: Option<String>,
) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let tx = match (revert, to) {
        (Some(t), None) => engine.revert(&common.namespace, t, &common.actor(), reason)?,
        (None, Some(t)) => engine.rollback(&common.namespace, t, &common.actor(), reason)?,
        _ => return Err(Error::invalid("give a transaction to revert or --to")),
    };
    let _ = engine.summarize(&common.namespace);
    print_tx(common.json, "done", &tx, serde_json::Value::Null);
    engine.flush()
}

/// Runs `audit`.
pub fn audit(cfg: Config, cmd: AuditCommand) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    match cmd {
        AuditCommand::Log {
            common,
            from,
            limit,
        } => {
            let entries = engine.audit(&common.namespace, from, limit)?;
            if common.json {
                println!("{}", serde_json::to_string_pretty(&entries).expect("json"));
            } else {
                for e in entries {
                    println!(
                        "{:>6}  {}  tx {:<6} {:<15} {:<14} {}  {}",
                        e.seq,
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.tx.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                        e.action,
                        e.actor,
                        e.reason.unwrap_or_default(),
                        &e.hash[..12]
                    );
                }
            }
            Ok(())
        }
        AuditCommand::Verify { json } => {
            let r = engine.verify_audit()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).expect("json"));
            } else {
                for (ns, v) in &r.namespaces {
                    match &v.problem {
                        None => println!("{ns}: ok ({} entries)", v.entries),
                        Some(p) => {
                            println!("{ns}: BROKEN at entry {} — {p}", v.first_bad.unwrap_or(0))
                        }
                    }
                }
            }
            if r.ok {
                Ok(())
            } else {
                Err(Error::Conflict(format!(
                    "the audit chain is broken at {}",
                    r.first_bad.unwrap_or_default()
                )))
            }
        }
    }
}

/// Runs `erase`.
pub fn erase(
    cfg: Config,
    common: Common,
    document: Option<String>,
    entity: Option<String>,
    reason: String,
) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let r = match (document, entity) {
        (Some(d), None) => {
            engine.erase_document(&common.namespace, &d, &common.actor(), Some(reason))?
        }
        (None, Some(e)) => {
            engine.erase_entity(&common.namespace, &e, &common.actor(), Some(reason))?
        }
        _ => return Err(Error::invalid("give --document or --entity")),
    };
    if common.json {
        println!("{}", serde_json::to_string_pretty(&r).expect("json"));
    } else {
        println!(
            "erased in transaction {}: {} documents, {} chunks, {} facts, {} entities; {} summary versions scrubbed; store {} -> {} bytes",
            r.tx,
            r.documents,
            r.chunks,
            r.facts,
            r.entities,
            r.summary_versions_scrubbed,
            r.store_bytes.0,
            r.store_bytes.1
        );
    }
    engine.flush()
}

/// Runs `conflicts`.
pub fn conflicts(cfg: Config, common: Common) -> Result<()> {
    let engine = Engine::open_existing(cfg)?;
    let list = engine.conflicts(&common.namespace, None)?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&list).expect("json"));
        return Ok(());
    }
    if list.is_empty() {
        println!("no open conflicts");
    }
    for c in list {
        println!("conflict {} ({}):", c.conflict.id, c.conflict.reason);
        println!(
            "  fact {} [{}] {}",
            c.existing_fact.id, c.existing_fact.time, c.existing_fact.description
        );
        println!(
            "  fact {} [{}] {}",
            c.incoming_fact.id, c.incoming_fact.time, c.incoming_fact.description
        );
    }
    Ok(())
}
