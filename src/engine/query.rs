//! `Engine::query`: plan, retrieve, hydrate, assemble.

use std::time::Instant;

use serde::Serialize;

use super::Engine;
use crate::index::NsIndexes;
use crate::index::text::TextKind;
use crate::model::TxId;
use crate::query::cache::{Category, ExactKey, SemanticKey};
use crate::query::context::{self, Block};
use crate::query::facets::{self, FacetEntity, FacetPlan};
use crate::query::passages::{self, Candidate, Cut, Passage, QueryTerms, Unit};
use crate::query::plan::{self, Intent, Mode, Plan};
use crate::query::retrieve::{self, Ctx, Found};
use crate::query::{
    ChunkHit, DEFAULT_BUDGET, DEFAULT_TOP_K, FactView, MAX_BUDGET, PassageHit, QueryRequest,
    QueryResult, SourceRef, Stage, SummaryHit, TimeScope,
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
    ) -> Result<Vec<FactView>> {
        let idx = self.indexes(ns)?;
        let cat = idx.catalog.read();
        hydrate_facts(ns.store().as_ref(), &cat, found, top_k, as_of)
    }

    /// Answers a query: the facts, chunks and summaries inside the question's time scope and
    /// meaning, and an LLM-ready cited context within the budget.
    pub fn query(&self, namespace: &str, req: &QueryRequest) -> Result<QueryResult> {
        // Whether another question is being answered beside this one (then this one keeps its
        // fact stages on one thread: the other core is busy anyway).
        let running = Running::enter(&self.queries_running);
        let alone = running.0 == 0;
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
        // Exact cache: the same request against the same index state and head. `explain`
        // answers carry timings and are always computed.
        let state = idx.state();
        let use_cache = !req.explain;
        let exact_key = (use_cache && self.cache.exact_enabled())
            .then(|| ExactKey::new(namespace, state, head, req));
        let read_category = if req.as_of_tx.is_some() {
            Category::AsOf
        } else {
            Category::Head
        };
        if let Some(k) = &exact_key
            && let Some(hit) = self.cache.get_exact(k, read_category)
        {
            return Ok(hit);
        }
        let cat = idx.catalog.read();

        // Plan.
        // The dated documents visible at the snapshot bound open ranges and give the default
        // "now" (retracted and rolled-back documents do not count).
        let doc_visible = |id: u64, d: &crate::index::graph::DocMeta| match req.as_of_tx {
            None => d.active,
            Some(t) if d.updated_tx <= t => d.active,
            // Added after the snapshot: not there yet (no store read per later document).
            Some(t) if d.added_tx > t => false,
            Some(t) => matches!(
                store.document(id, Some(t)),
                Ok(Some(doc)) if doc.status == crate::model::Status::Active
            ),
        };
        let bounds = cat.data_bounds(&doc_visible);
        let (now, now_source) = match &req.now {
            Some(s) => (Some(plan::parse_now(s)?), Some("parameter".to_string())),
            None => match plan::default_now(bounds.map(|b| b.1).or(cat.latest_fact_end)) {
                Some(k) => (
                    Some(k),
                    Some("latest valid time in the namespace (latest document time)".to_string()),
                ),
                None => (None, None),
            },
        };
        // Planned without a conversational frame ("Could you tell me …"); reported as asked.
        let asked = plan::without_frame(q);
        let (q_scope, semantic) =
            plan::scope_from_question_asked(asked, now.as_ref(), req.now.is_some());
        let mut scope = match &req.time {
            Some(p) => plan::scope_from_param(p, now.as_ref())?,
            None => q_scope,
        };
        // A question asked at an explicit `now` that names no period is about the time it is
        // asked: recent evidence ranks higher, older background still counts (soft).
        if scope.is_none()
            && req.now.is_some()
            && let Some(k) = now
        {
            let mut recent = plan::recent_scope(&k);
            // Say so when the question named a year that the planner took for an event.
            if req.time.is_none()
                && let (Some(event), _) = plan::scope_from_question(asked, now.as_ref())
            {
                recent.reason = format!(
                    "\"{}\" names an event before the year of now ({k}), not a period to search; \
                     asked at {k}: recent evidence ranks higher without excluding older \
                     background (soft scope)",
                    event.text
                );
            }
            scope = Some(recent);
        }
        let (intent, intent_reason) = match req.mode {
            Mode::Specific => (Intent::Specific, "mode=specific was requested".to_string()),
            Mode::Abstract => (Intent::Abstract, "mode=abstract was requested".to_string()),
            Mode::Auto => plan::classify_intent(asked, scope.as_ref()),
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
            facets: FacetPlan::default(),
            now: now.map(|k| k.to_string()),
            now_source,
            as_of_tx: req.as_of_tx.unwrap_or(head),
            fallback: None,
            notes: Vec::new(),
        };
        let mut stages: Vec<Stage> = Vec::new();
        let qv = idx.embedder().embed_one(&semantic)?;

        // Facets: entities of a list × periods, and the measure.
        let resolve = |name: &str| -> Option<(u64, Vec<String>)> {
            let id = store
                .entity_by_alias(&crate::model::normalize_name(name))
                .ok()??;
            let e = store.entity(id, None).ok()??;
            (e.status == crate::model::Status::Active)
                .then(|| (id, e.names().map(str::to_string).collect()))
        };
        plan.facets = facets::plan(asked, scope.as_ref(), now.as_ref(), bounds, &resolve);
        // The lexical query (BM25 over facts and chunks, and the terms passages are cut by)
        // adds back the words of the question's own time expression, bare years left out, when
        // the question asks about one period: a day or month said in the question ("as of
        // December 31, 2020", "in September") is also how the evidence says it, and the scope
        // alone cannot rank within the period. Years stay out: inside a year's scope nearly
        // every passage names it, so they would only flatten the ranking. A question over
        // several periods keeps the stripped words; its facets carry each period. So does a range
        // split into facets ("each quarter after Q1 2024"): the words of its bound name a
        // period it leaves out (synthetic facet questions @4k 0.981 -> 0.992 with this).
        // (Time-LongQA in process: 0.745 / 0.840 / 0.905 against 0.740 / 0.838 / 0.904; news
        // 0.594 / 0.623 / 0.654 against 0.591 / 0.623 / 0.651.)
        let lexical = match scope
            .as_ref()
            .filter(|s| s.intervals.len() <= 1 && plan.facets.periods.len() <= 1)
        {
            Some(s) if s.source == "question" => {
                let words: Vec<&str> = s
                    .text
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| {
                        let year = w.len() == 4 && w.chars().all(|c| c.is_ascii_digit());
                        !w.is_empty() && !year
                    })
                    .collect();
                format!("{semantic} {}", words.join(" "))
            }
            _ => semantic.clone(),
        };

        // Semantic cache: a paraphrase with the same structural plan reuses its answer.
        let semantic_key = (use_cache && self.cache.semantic_enabled()).then(|| {
            let relative = req.as_of_tx.is_none()
                && req.time.is_none()
                && scope.as_ref().map(|s| &s.intervals)
                    != plan::scope_from_question(asked, None)
                        .0
                        .as_ref()
                        .map(|s| &s.intervals);
            let category = match read_category {
                Category::AsOf => Category::AsOf,
                _ if relative => Category::Relative,
                _ => Category::Head,
            };
            SemanticKey::new(
                namespace,
                state,
                head,
                category,
                &structural_plan(&plan, req, budget, top_k),
            )
        });
        if let Some(k) = &semantic_key
            && let Some(hit) = self.cache.get_semantic(k, &qv)
        {
            if let Some(e) = exact_key {
                self.cache.put(Some(e), None, &hit);
            }
            return Ok(hit);
        }

        // Planning, the facets, the embedding and the cache lookups, since the request came.
        if req.explain {
            stages.push(Stage {
                stage: "plan_and_embed".into(),
                ms: started.elapsed().as_secs_f64() * 1000.0,
                kept: 0,
                top: vec![],
            });
        }
        // Retrieve: the local path fused with hybrid chunk search, over the whole scope.
        let want_chunks = CANDIDATES + budget / 400;
        let now_key = now.map(|k| k.interval().end_key());
        // Asked at a given `now` inside its hard scope: recent evidence first within it.
        let recent_start = |scope: Option<&TimeScope>| {
            let (n, s) = (now_key?, scope.filter(|s| s.hard && req.now.is_some())?);
            let hull = s.hull();
            (hull.start_key() < n && n <= hull.end_key())
                .then(|| n.saturating_sub(plan::RECENT_DAYS as i32))
        };
        let run = |scope: Option<&TimeScope>| -> Result<Found> {
            let ctx = Ctx {
                store,
                idx: &idx,
                cat: &cat,
                as_of: req.as_of_tx,
                scope,
                now_key,
                recent_start: recent_start(scope),
                seen: Default::default(),
            };
            retrieve::specific(&ctx, &qv, &lexical, want_chunks, req.explain, alone)
        };
        let tr = Instant::now();
        let mut found = run(scope.as_ref())?;
        if req.explain {
            stages.push(Stage {
                stage: "retrieval".into(),
                ms: tr.elapsed().as_secs_f64() * 1000.0,
                kept: found.facts.len() + found.chunks.len(),
                top: vec![],
            });
        }
        let mut effective = scope.clone();
        if let Some(s) = scope.as_ref().filter(|s| s.hard)
            && found.facts.is_empty()
            && found.chunks.is_empty()
        {
            plan.fallback = Some(format!(
                "nothing inside {} matched; the results below come from outside that period",
                s.text
            ));
            found = run(None)?;
            effective = None;
        }
        stages.append(&mut found.stages);

        // Passages per facet, packed coverage first.
        let t1 = Instant::now();
        // The measure and the single names the question is about weigh more than its other words.
        let weighted: Vec<&str> = plan
            .facets
            .measure
            .iter()
            .map(String::as_str)
            .chain(plan.facets.named.iter().map(String::as_str))
            .collect();
        let weighted = (!weighted.is_empty()).then(|| weighted.join(" "));
        let mut terms = QueryTerms::new(&idx.text, &lexical, weighted.as_deref())?;
        terms.quantity = passages::asks_quantity(asked);
        let facts = hydrate_facts(store, &cat, &found.facts, top_k.max(1) * 3, req.as_of_tx)?;
        let facts = rerank_facts(&terms, facts, top_k)?;

        let summaries = if intent == Intent::Abstract {
            summaries_in_scope(store, &idx, effective.as_ref(), req.as_of_tx, &mut plan)?
        } else {
            Vec::new()
        };
        let ctx = Ctx {
            store,
            idx: &idx,
            cat: &cat,
            as_of: req.as_of_tx,
            scope: effective.as_ref(),
            now_key,
            recent_start: recent_start(effective.as_ref()),
            seen: Default::default(),
        };
        let n_facets = plan.facets.facets.len().max(1);
        let window = window_size(budget, n_facets);
        let need = budget * 5 / 4 / n_facets + window;
        let mut scratch = passages::Scratch::new(store, &cat, &idx.chunk_texts, idx.state().epoch);
        // Per period named in a clause of its own: the stems of that clause.
        let clause_terms: Vec<Option<Vec<String>>> = plan
            .facets
            .periods
            .iter()
            .map(|p| {
                p.clause
                    .as_deref()
                    .map(|c| QueryTerms::new(&idx.text, c, None).map(|t| t.terms))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let mut lists: Vec<context::Blocks> = Vec::with_capacity(n_facets);
        let mut placed_meta: Vec<Vec<(Passage, Option<String>)>> = Vec::with_capacity(n_facets);
        for fi in 0..n_facets {
            let facet = plan.facets.facets.get(fi).cloned();
            let period = facet
                .as_ref()
                .and_then(|f| f.period)
                .filter(|_| plan.facets.periods.len() > 1)
                .map(|p| plan.facets.periods[p].interval);
            let entity = facet
                .as_ref()
                .and_then(|f| f.entity)
                .map(|e| plan.facets.entities[e].clone());
            // The facet's own period, also when it is the question's only one.
            let fit_to = facet
                .as_ref()
                .and_then(|f| f.period)
                .map(|p| plan.facets.periods[p].interval);
            let cands = facet_candidates(
                &ctx,
                &found,
                &summaries,
                &facts,
                period.as_ref(),
                fit_to.as_ref(),
                entity.as_ref(),
                &plan.facets,
                &semantic,
            )?;
            let names = entity.map(|e| e.names).unwrap_or_default();
            let facet_terms = facet
                .as_ref()
                .and_then(|f| f.period)
                .and_then(|p| clause_terms.get(p)?.as_ref().map(|own| (p, own)))
                .map(|(p, own)| {
                    let others: Vec<&String> = clause_terms
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != p)
                        .filter_map(|(_, c)| c.as_ref())
                        .flatten()
                        .collect();
                    terms.in_clause(own, &others)
                });
            let passages::Selected {
                passages,
                mentioned,
                first_tier,
            } = passages::select(
                &mut scratch,
                facet_terms.as_ref().unwrap_or(&terms),
                &cands,
                Cut { window, need },
                LEX_WEIGHT,
                &names,
            )?;
            if let Some(f) = plan.facets.facets.get_mut(fi) {
                f.evidence = !passages.is_empty() && (names.is_empty() || mentioned);
            }
            let mut blocks = Vec::with_capacity(passages.len());
            let mut metas = Vec::with_capacity(passages.len());
            for mut p in passages {
                if p.doc.is_some() {
                    // The context and `passages` show the same text, without layout whitespace.
                    p.text = context::tidy(&p.text);
                }
                let (block, doc_ext) = render(&cat, &p);
                blocks.push(block);
                metas.push((p, doc_ext));
            }
            lists.push(context::Blocks {
                blocks,
                first: first_tier,
            });
            placed_meta.push(metas);
        }
        let packed = context::pack(&lists, budget);
        for (fi, n) in packed.per_facet.iter().enumerate() {
            if let Some(f) = plan.facets.facets.get_mut(fi) {
                f.passages = *n;
                // Evidence: a placed passage of the first ones (those that name the facet's
                // company, when it has one).
                let first = lists[fi].first;
                f.evidence &= packed.placed.iter().any(|&(g, i)| g == fi && i < first);
            }
        }
        let passages: Vec<PassageHit> = packed
            .placed
            .iter()
            .map(|&(f, i)| {
                let (p, doc) = &placed_meta[f][i];
                PassageHit {
                    document: doc.clone(),
                    chunk: p.chunk,
                    unit: p.key.clone(),
                    time: p
                        .doc
                        .and_then(|d| cat.docs.get(&d))
                        .and_then(|d| d.time_label.clone()),
                    facet: f,
                    score: p.score,
                    text: p.text.clone(),
                }
            })
            .collect();
        let chunks = hydrate_chunks(
            store,
            &cat,
            &found.chunks[..found.chunks.len().min(CHUNK_HITS)],
        )?;
        let context = packed.text;
        if req.explain {
            stages.push(Stage {
                stage: "passages_and_context".into(),
                ms: t1.elapsed().as_secs_f64() * 1000.0,
                kept: passages.len(),
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
        let result = QueryResult {
            plan,
            facts,
            chunks,
            summaries,
            passages,
            context,
            explain: req.explain.then_some(stages),
            answer,
            cache: None,
        };
        if use_cache {
            self.cache.miss();
            self.cache
                .put(exact_key, semantic_key.map(|k| (k, qv)), &result);
        }
        Ok(result)
    }

    /// Hit and miss counts of the query caches.
    pub fn cache_stats(&self) -> crate::query::cache::CacheStats {
        self.cache.stats()
    }
}

/// What a semantic cache hit must share with the question it reuses: everything the plan
/// resolved except the wording (time scope, `now`, intent, facet entities, periods and the
/// measure) and every request setting that shapes the answer. The measure is in the key
/// because long entity names can make "revenue" and "gross margin" questions about the same
/// companies embed closer than the threshold (a wrong hit found by the eval identity test).
/// Counts a question as running while it lives; `.0` is how many others were running when it
/// started.
struct Running<'a>(usize, &'a std::sync::atomic::AtomicUsize);

impl<'a> Running<'a> {
    fn enter(n: &'a std::sync::atomic::AtomicUsize) -> Running<'a> {
        Running(n.fetch_add(1, std::sync::atomic::Ordering::AcqRel), n)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.1.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn structural_plan(plan: &Plan, req: &QueryRequest, budget: usize, top_k: usize) -> impl Serialize {
    let scope = plan
        .time_scope
        .as_ref()
        .map(|s| (&s.intervals, s.relation, s.hard, s.granularity));
    let entities: Vec<String> = plan
        .facets
        .entities
        .iter()
        .map(|e| match e.id {
            Some(id) => format!("#{id}"),
            None => e.name.to_lowercase(),
        })
        .collect();
    let periods: Vec<&crate::time::Interval> =
        plan.facets.periods.iter().map(|p| &p.interval).collect();
    serde_json::json!({
        "scope": scope,
        "now": plan.now,
        "intent": plan.intent,
        "entities": entities,
        "periods": periods,
        "step": plan.facets.step,
        "measure": plan.facets.measure,
        "facets": plan.facets.facets.len(),
        "budget": budget,
        "top_k": top_k,
        "mode": req.mode,
        "answer": req.answer,
        "as_of": req.as_of_tx,
        "time": req.time,
    })
}

/// Chunks retrieved for the passages of a question, beyond a share of the budget.
const CANDIDATES: usize = 40;
/// Ranked chunks returned in `chunks`.
const CHUNK_HITS: usize = 20;
/// Share of a chunk's prior from its own lexical score (the rest from retrieval's fused score).
const LEX_WEIGHT: f32 = 0.5;
/// Largest passage window (bytes). Measured on Time-LongQA: 1,100 beat 800 (two- and
/// three-time evidence spans several sentences) and 1,500.
const MAX_WINDOW: usize = 1100;
/// Weight of a chunk dated outside a hard scope, retrieved for an in-scope fact it states.
const FOREIGN_WEIGHT: f32 = 0.5;
/// Prior weight of a time-node summary against passages of the documents themselves.
const SUMMARY_FIT: f32 = 0.5;
/// Least [`time_fit`] of a unit dated to a span that overlaps the period asked.
const MIN_FIT: f32 = 0.7;
/// Candidates sought by full text per facet of a multi-facet question.
const FACET_SEARCH: usize = 30;

/// The target window size: large enough to hold evidence that spans sentences, small enough
/// for every facet to get its share of the budget.
fn window_size(budget: usize, facets: usize) -> usize {
    let share = budget / facets.max(1);
    (share * 3 / 5).clamp(240, MAX_WINDOW)
}

/// A passage as a context block: `[document · time] title` and its text.
fn render(cat: &crate::index::graph::Catalog, p: &Passage) -> (Block, Option<String>) {
    match (p.doc, &p.header) {
        (Some(d), _) => {
            let meta = cat.docs.get(&d);
            let ext = meta.map(|m| m.external_id.clone()).unwrap_or_default();
            let mut header = context::cite(&ext, meta.and_then(|m| m.time_label.as_deref()));
            let cited = header.len();
            if let Some(t) = meta.and_then(|m| m.title.as_deref()) {
                header.push(' ');
                header.push_str(t);
            }
            let title = (header.len() > cited).then_some(cited..header.len());
            (
                Block {
                    span: (d, p.start, p.end),
                    text: format!("{header}\n{}", p.text.trim()),
                    title,
                    day: meta.map(|m| m.vstart),
                },
                Some(ext),
            )
        }
        (None, header) => {
            let key = p.key.clone().unwrap_or_default();
            let code = key
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
            (
                Block {
                    span: (u64::MAX, code, code),
                    text: format!("{}\n{}", header.clone().unwrap_or_default(), p.text.trim()),
                    title: None,
                    day: None,
                },
                None,
            )
        }
    }
}

/// The candidates of one facet: the retrieved chunks inside its period (all of them for a
/// single-facet question), plus, for a multi-facet question, the best chunks of a full-text
/// search for the facet alone (its entity and the measure, inside its period); summaries of
/// periods inside it; hand-asserted facts (no source chunk) inside it.
#[allow(clippy::too_many_arguments)]
fn facet_candidates(
    ctx: &Ctx<'_>,
    found: &Found,
    summaries: &[SummaryHit],
    facts: &[FactView],
    period: Option<&Interval>,
    fit_to: Option<&Interval>,
    entity: Option<&FacetEntity>,
    facets: &FacetPlan,
    semantic: &str,
) -> Result<Vec<Candidate>> {
    let in_period =
        |vs: i32, ve: i32| period.is_none_or(|p| vs < p.end_key() && ve > p.start_key());
    let mut out: Vec<Candidate> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    let best = found.chunks.first().map(|c| c.1).unwrap_or(1.0).max(1e-9);
    let hard = ctx.scope.filter(|s| s.hard);
    for (id, score) in &found.chunks {
        if let Some(m) = ctx.cat.chunks.get(id)
            && in_period(m.vstart, m.vend)
        {
            // A chunk of a document dated outside a hard scope is here for an in-scope fact it
            // states ("In 2019, …" in the 2020 report): it counts, but less than the period's
            // own documents.
            let own = hard.is_none_or(|s| s.overlaps_keys(m.vstart, m.vend));
            seen.push(*id);
            out.push(Candidate {
                unit: Unit::Chunk(*id),
                score: score / best * if own { 1.0 } else { FOREIGN_WEIGHT },
                fit: time_fit(fit_to, m.vstart, m.vend),
            });
        }
    }
    if facets.is_multi() {
        // The facet alone: its entity's name (not the other entities') and the measure.
        let mut query = semantic.to_string();
        for e in &facets.entities {
            if entity.is_none_or(|x| x.name != e.name) {
                query = query.replace(&e.name, " ");
            }
        }
        if let Some(m) = &facets.measure {
            query.push(' ');
            query.push_str(m);
        }
        let hits = ctx
            .idx
            .text
            .search(TextKind::Chunk, &query, period, FACET_SEARCH * 2)?;
        let top = hits.first().map(|h| h.1).unwrap_or(1.0).max(1e-9);
        for (id, score) in hits {
            if seen.contains(&id)
                || !ctx.chunk_visible(id)
                || !ctx.chunk_in_scope(id)
                || ctx
                    .cat
                    .chunks
                    .get(&id)
                    .is_none_or(|m| !in_period(m.vstart, m.vend))
            {
                continue;
            }
            seen.push(id);
            out.push(Candidate {
                unit: Unit::Chunk(id),
                score: 0.8 * score / top,
                fit: ctx
                    .cat
                    .chunks
                    .get(&id)
                    .map_or(1.0, |m| time_fit(fit_to, m.vstart, m.vend)),
            });
            if out.len() >= FACET_SEARCH * 2 {
                break;
            }
        }
    }
    for s in summaries {
        let Ok(k) = TimeKey::parse(&s.node) else {
            continue;
        };
        let iv = k.interval();
        if !in_period(iv.start_key(), iv.end_key()) {
            continue;
        }
        let mut text = s.text.clone();
        for f in s.findings.iter().take(5) {
            text.push_str("\n- ");
            text.push_str(f);
        }
        out.push(Candidate {
            unit: Unit::Whole {
                key: format!("summary:{}", s.node),
                header: format!("## {} — {}", s.node, s.title),
                text,
            },
            score: 0.0,
            // A summary restates what passages say: it enters only when it clearly outranks
            // the passage it would displace.
            fit: SUMMARY_FIT,
        });
    }
    for f in facts.iter().filter(|f| f.sources.is_empty()) {
        if !in_period(f.valid.start_key(), f.valid.end_key()) {
            continue;
        }
        out.push(Candidate {
            unit: Unit::Whole {
                key: format!("fact:{}", f.id),
                header: format!("[fact {} · {}] {}", f.id, f.time, f.subject),
                text: f.description.clone(),
            },
            score: f.score.unwrap_or(0.0).max(0.0),
            fit: 1.0,
        });
    }
    Ok(out)
}

/// How well a unit dated `[vstart, vend)` (day keys) fits the period asked: 1 when it lies
/// inside it, else between [`MIN_FIT`] and 1 by the share of its span inside the period (a
/// yearly report for a question about one quarter: 0.25 of its span, fit 0.78).
fn time_fit(period: Option<&Interval>, vstart: i32, vend: i32) -> f32 {
    let Some(p) = period else { return 1.0 };
    let (ps, pe) = (p.start_key(), p.end_key());
    if vstart >= ps && vend <= pe {
        return 1.0;
    }
    let span = (i64::from(vend) - i64::from(vstart)).max(1) as f32;
    let inside = (i64::from(vend.min(pe)) - i64::from(vstart.max(ps))).max(0) as f32;
    MIN_FIT + (1.0 - MIN_FIT) * (inside / span).clamp(0.0, 1.0)
}

/// Orders facts by what was asked: their retrieval score and how well their description
/// matches the question's terms (a revenue fact before a quote about demand), best `top_k`.
fn rerank_facts(q: &QueryTerms, mut facts: Vec<FactView>, top_k: usize) -> Result<Vec<FactView>> {
    let texts: Vec<&str> = facts.iter().map(|f| f.description.as_str()).collect();
    let lex = passages::score_texts(q, &texts);
    let max_lex = lex.iter().copied().fold(0.0, f32::max).max(1e-6);
    let score = |f: &FactView| f.score.unwrap_or(0.0);
    let max_s = facts.iter().map(score).fold(0.0, f32::max).max(1e-6);
    for (f, l) in facts.iter_mut().zip(lex) {
        f.score = Some(0.5 * score(f) / max_s + 0.5 * l / max_lex);
    }
    facts.sort_by(|a, b| score(b).total_cmp(&score(a)).then(a.id.cmp(&b.id)));
    let mut facts = collapse_repeated(facts);
    facts.truncate(top_k);
    Ok(facts)
}

/// Folds facts that say the same thing (same subject, object and description, whitespace
/// aside) into the best-ranked one, which gains the others' sources: a sentence syndicated in
/// many articles ("New heat records were also set in Alabama …", 9 of the 20 facts for "heat
/// record" on the news store) is one hit citing every document, not nine crowding out the rest.
/// `facts` is best first; the order is kept.
fn collapse_repeated(facts: Vec<FactView>) -> Vec<FactView> {
    let key = |f: &FactView| {
        use crate::model::collapse_spaces as words;
        (
            words(&f.subject),
            words(f.object.as_deref().unwrap_or_default()),
            words(&f.description),
        )
    };
    let mut first: std::collections::HashMap<(String, String, String), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<FactView> = Vec::with_capacity(facts.len());
    for f in facts {
        match first.entry(key(&f)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let kept = &mut out[*e.get()];
                for s in f.sources {
                    if !kept.sources.iter().any(|k| k.chunk == s.chunk) {
                        kept.sources.push(s);
                    }
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(f);
            }
        }
    }
    out
}

/// A chunk as a source: its document's user-facing id and time, from the catalog.
pub(super) fn source_ref(cat: &crate::index::graph::Catalog, c: u64) -> Option<SourceRef> {
    let cm = cat.chunks.get(&c)?;
    let d = cat.docs.get(&cm.doc)?;
    Some(SourceRef {
        document: d.external_id.clone(),
        chunk: c,
        time: d.time_label.clone(),
    })
}

fn hydrate_facts(
    store: &dyn NsStore,
    cat: &crate::index::graph::Catalog,
    found: &[(u64, f32)],
    top_k: usize,
    as_of: Option<TxId>,
) -> Result<Vec<FactView>> {
    let mut out = Vec::with_capacity(top_k);
    let mut names_then: std::collections::HashMap<u64, Option<String>> = Default::default();
    // Read in windows of what is still missing (one round trip each on a networked store).
    let mut loaded: std::collections::VecDeque<Option<crate::model::Fact>> = Default::default();
    let mut next = 0;
    for (i, (_, score)) in found.iter().enumerate() {
        if out.len() >= top_k {
            break;
        }
        if i == next {
            let end = (i + (top_k - out.len()).max(8)).min(found.len());
            let ids: Vec<u64> = found[i..end].iter().map(|(id, _)| *id).collect();
            loaded.extend(store.facts_at(&ids, as_of)?);
            next = end;
        }
        // A fact retracted at the snapshot read is never a hit (a summary computed before the
        // retraction still cites it until the background pass catches up); the next one fills
        // its place.
        let Some(f) = loaded
            .pop_front()
            .expect("loaded ahead")
            .filter(|f| f.is_active())
        else {
            continue;
        };
        // Names as of the snapshot when one is read (an entity renamed or merged since shows
        // its name of then, as on the listing routes); the catalog's current ones otherwise.
        if as_of.is_some() {
            super::read::names_then(store, &f, as_of, &mut names_then)?;
        }
        out.push(FactView::new(
            &f,
            |e| match as_of {
                Some(_) => names_then.get(&e).cloned().flatten(),
                None => cat.entities.get(&e).map(|m| m.name.clone()),
            },
            |c| source_ref(cat, c),
            Some(*score),
        ));
    }
    Ok(out)
}

fn hydrate_chunks(
    store: &dyn NsStore,
    cat: &crate::index::graph::Catalog,
    found: &[(u64, f32)],
) -> Result<Vec<ChunkHit>> {
    let mut out = Vec::with_capacity(found.len());
    let ids: Vec<u64> = found.iter().map(|(id, _)| *id).collect();
    for ((id, score), c) in found.iter().zip(store.chunks_many(&ids)?) {
        let Some(c) = c else { continue };
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
    idx: &NsIndexes,
    scope: Option<&TimeScope>,
    as_of: Option<TxId>,
    plan: &mut Plan,
) -> Result<Vec<SummaryHit>> {
    let granularity = scope
        .map(|s| s.granularity)
        .filter(|g| *g >= Granularity::Month)
        .unwrap_or(Granularity::Year);
    // The nodes' keys alone (a query reads this on every abstract question; decoding every
    // node of a 100k-fact store took a sixth of the query), then the records of those that
    // pass, when their creation must be checked against `as_of`.
    let mut keys: Vec<TimeKey> = idx
        .node_keys(store)?
        .iter()
        .copied()
        .filter(|k| {
            k.granularity() == granularity && scope.is_none_or(|s| s.overlaps(&k.interval()))
        })
        .collect();
    if let Some(t) = as_of {
        let nodes = store.nodes_many(&keys)?;
        keys = keys
            .into_iter()
            .zip(nodes)
            .filter(|(_, n)| n.as_ref().is_some_and(|n| n.added_tx <= t))
            .map(|(k, _)| k)
            .collect();
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
