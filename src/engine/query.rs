//! `Engine::query`: plan, retrieve, hydrate, assemble.

use std::time::Instant;

use super::Engine;
use crate::model::{FactObject, TxId};
use crate::query::plan::{self, Intent, Mode, Plan};
use crate::query::retrieve::{self, Ctx, Found};
use crate::query::{
    ChunkHit, DEFAULT_BUDGET, DEFAULT_TOP_K, FactHit, MAX_BUDGET, QueryRequest, QueryResult,
    SourceRef, Stage, SummaryHit, TimeScope, context,
};
use crate::store::NsStore;
use crate::time::{Granularity, Interval, TimeKey};
use crate::{Error, Result};

/// Longest accepted question (bytes).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Most facts a query may ask for.
pub const MAX_TOP_K: usize = 1000;

impl Engine {
    /// Fact hits for ids (with scores), as of a snapshot, at most `top_k`.
    pub fn hydrate_fact_hits(
        &self,
        ns: &super::Namespace,
        found: &[(u64, f32)],
        top_k: usize,
        as_of: Option<TxId>,
    ) -> Result<Vec<FactHit>> {
        let idx = self.indexes(ns)?;
        let cat = idx.catalog.read();
        hydrate_facts(ns.store().as_ref(), &cat, found, top_k, as_of)
    }

    /// Answers a query: the facts, chunks and summaries inside the question's time scope and
    /// meaning, and an LLM-ready cited context within the budget.
    pub fn query(&self, namespace: &str, req: &QueryRequest) -> Result<QueryResult> {
        let q = req.query.trim();
        if q.is_empty() {
            return Err(Error::invalid("query must not be empty"));
        }
        if q.len() > MAX_QUERY_BYTES {
            return Err(Error::TooLarge(format!(
                "query is {} bytes; the limit is {MAX_QUERY_BYTES}",
                q.len()
            )));
        }
        let budget = req.budget_chars.unwrap_or(DEFAULT_BUDGET);
        if budget == 0 || budget > MAX_BUDGET {
            return Err(Error::invalid(format!(
                "budget_chars must be between 1 and {MAX_BUDGET}"
            )));
        }
        let top_k = req.top_k.unwrap_or(DEFAULT_TOP_K);
        if req.answer && self.llm().is_none() {
            return Err(Error::invalid(
                "answer=true needs an LLM: set [llm] base_url and model in the config file",
            ));
        }
        if top_k > MAX_TOP_K {
            return Err(Error::invalid(format!("top_k must be at most {MAX_TOP_K}")));
        }
        let ns = self.namespace(namespace)?;
        let store = ns.store().as_ref();
        let head = store.head_tx();
        self.check_as_of(head, req.as_of_tx, namespace)?;
        let idx = self.indexes(&ns)?;
        let started = Instant::now();
        let cat = idx.catalog.read();

        // Plan.
        let (now, now_source) = match &req.now {
            Some(s) => (Some(plan::parse_now(s)?), Some("parameter".to_string())),
            None => match plan::default_now(cat.latest_end_as_of(req.as_of_tx)) {
                Some(k) => (
                    Some(k),
                    Some("latest valid time in the namespace (latest document time)".to_string()),
                ),
                None => (None, None),
            },
        };
        let (q_scope, semantic) = plan::scope_from_question(q, now.as_ref());
        let scope = match &req.time {
            Some(p) => plan::scope_from_param(p, now.as_ref())?,
            None => q_scope,
        };
        let (intent, intent_reason) = match req.mode {
            Mode::Specific => (Intent::Specific, "mode=specific was requested".to_string()),
            Mode::Abstract => (Intent::Abstract, "mode=abstract was requested".to_string()),
            Mode::Auto => plan::classify_intent(q, scope.as_ref()),
        };
        let semantic = if semantic.split_whitespace().count() == 0 {
            q.to_string()
        } else {
            semantic
        };
        let mut plan = Plan {
            query: q.to_string(),
            semantic_query: semantic.clone(),
            intent,
            intent_reason,
            time_scope: scope.clone(),
            now: now.map(|k| k.to_string()),
            now_source,
            as_of_tx: req.as_of_tx.unwrap_or(head),
            fallback: None,
            notes: Vec::new(),
        };
        let mut stages: Vec<Stage> = Vec::new();
        let t0 = Instant::now();
        let qv = idx.embedder().embed_one(&semantic)?;
        if req.explain {
            stages.push(Stage {
                stage: "plan_and_embed".into(),
                ms: t0.elapsed().as_secs_f64() * 1000.0,
                kept: 0,
                top: vec![],
            });
        }

        // Retrieve.
        let want_chunks = budget / 350 + 6;
        let now_key = now.map(|k| k.interval().end_key());
        let run = |scope: Option<&TimeScope>| -> Result<Found> {
            let ctx = Ctx {
                store,
                idx: &idx,
                cat: &cat,
                as_of: req.as_of_tx,
                scope,
                now_key,
                seen: Default::default(),
            };
            retrieve::specific(&ctx, &qv, &semantic, want_chunks, req.explain)
        };
        let mut found = run(scope.as_ref())?;
        if let Some(s) = scope.as_ref().filter(|s| s.hard)
            && found.facts.is_empty()
            && found.chunks.is_empty()
        {
            plan.fallback = Some(format!(
                "nothing inside {} matched; the results below come from outside that period",
                s.text
            ));
            found = run(None)?;
        }
        stages.append(&mut found.stages);

        // Hydrate.
        let t1 = Instant::now();
        let facts = hydrate_facts(store, &cat, &found.facts, top_k, req.as_of_tx)?;
        let chunks = hydrate_chunks(store, &cat, &found.chunks)?;
        let summaries = if intent == Intent::Abstract {
            summaries_in_scope(store, scope.as_ref(), req.as_of_tx, &mut plan)?
        } else {
            Vec::new()
        };
        let single_period =
            intent == Intent::Specific && scope.as_ref().is_none_or(|s| s.intervals.len() <= 1);
        let facts_share = if single_period {
            context::FACTS_SHARE
        } else {
            0.0
        };
        let context = context::assemble(&summaries, &facts, &chunks, budget, facts_share);
        if req.explain {
            stages.push(Stage {
                stage: "hydrate_and_context".into(),
                ms: t1.elapsed().as_secs_f64() * 1000.0,
                kept: chunks.len(),
                top: vec![],
            });
            stages.push(Stage {
                stage: "total".into(),
                ms: started.elapsed().as_secs_f64() * 1000.0,
                kept: facts.len(),
                top: vec![],
            });
        }
        drop(cat);
        let answer = match (req.answer, self.llm()) {
            (true, Some(client)) => Some(crate::query::answer::answer(client, q, &context)?),
            _ => None,
        };
        Ok(QueryResult {
            plan,
            facts,
            chunks,
            summaries,
            context,
            explain: req.explain.then_some(stages),
            answer,
        })
    }
}

fn time_label(valid: &Interval, key: Option<TimeKey>) -> String {
    key.or_else(|| TimeKey::from_interval(valid))
        .map(|k| k.to_string())
        .unwrap_or_else(|| valid.to_string())
}

fn hydrate_facts(
    store: &dyn NsStore,
    cat: &crate::index::graph::Catalog,
    found: &[(u64, f32)],
    top_k: usize,
    as_of: Option<TxId>,
) -> Result<Vec<FactHit>> {
    let mut out = Vec::with_capacity(top_k);
    for (id, score) in found.iter().take(top_k) {
        let Some(f) = store.fact(*id, as_of)? else {
            continue;
        };
        let name = |e: u64| cat.entities.get(&e).map(|m| m.name.clone());
        let object = match &f.object {
            FactObject::Entity(e) => name(*e).unwrap_or_default(),
            FactObject::Literal(l) => l.clone(),
        };
        let sources = f
            .sources
            .iter()
            .filter_map(|c| {
                let cm = cat.chunks.get(c)?;
                let d = cat.docs.get(&cm.doc)?;
                Some(SourceRef {
                    document: d.external_id.clone(),
                    chunk: *c,
                    time: d.time_label.clone(),
                })
            })
            .collect();
        let valid = f.effective_valid();
        out.push(FactHit {
            id: f.id,
            subject: name(f.subject).unwrap_or_default(),
            object,
            description: f.description.clone(),
            time: time_label(&valid, f.time_key),
            valid,
            confidence: f.confidence,
            score: *score,
            sources,
        });
    }
    Ok(out)
}

fn hydrate_chunks(
    store: &dyn NsStore,
    cat: &crate::index::graph::Catalog,
    found: &[(u64, f32)],
) -> Result<Vec<ChunkHit>> {
    let mut out = Vec::with_capacity(found.len());
    for (id, score) in found {
        let Some(c) = store.chunk(*id)? else { continue };
        let d = cat.docs.get(&c.doc);
        out.push(ChunkHit {
            id: *id,
            document: d.map(|d| d.external_id.clone()).unwrap_or_default(),
            title: d.and_then(|d| d.title.clone()),
            time: d.and_then(|d| d.time_label.clone()),
            text: c.text,
            score: *score,
        });
    }
    Ok(out)
}

/// The time nodes in scope at the asked granularity (years when nothing narrower is asked),
/// with their summaries as of the snapshot.
fn summaries_in_scope(
    store: &dyn NsStore,
    scope: Option<&TimeScope>,
    as_of: Option<TxId>,
    plan: &mut Plan,
) -> Result<Vec<SummaryHit>> {
    let granularity = scope
        .map(|s| s.granularity)
        .filter(|g| *g >= Granularity::Month)
        .unwrap_or(Granularity::Year);
    let mut keys: Vec<TimeKey> = Vec::new();
    for n in store.nodes()? {
        if n.key.granularity() != granularity || as_of.is_some_and(|t| n.added_tx > t) {
            continue;
        }
        if let Some(s) = scope
            && !s.overlaps(&n.key.interval())
        {
            continue;
        }
        keys.push(n.key);
    }
    keys.sort();
    if keys.len() > 24 {
        plan.notes.push(format!(
            "{} periods are in scope; summaries of the latest 24 are shown",
            keys.len()
        ));
        keys = keys.split_off(keys.len() - 24);
    }
    let mut out = Vec::new();
    for k in keys {
        if let Some(s) = store.summary(&k, as_of)?
            && s.fact_count > 0
        {
            out.push(SummaryHit {
                node: k.to_string(),
                title: s.title,
                text: s.text,
                findings: s.findings.into_iter().map(|f| f.text).collect(),
                reflects_tx: s.reflects_tx,
            });
        }
    }
    if out.is_empty() {
        plan.notes
            .push("no summaries exist yet for the periods in scope".to_string());
    }
    Ok(out)
}
