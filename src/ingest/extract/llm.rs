//! The LLM extractor: asks an OpenAI-compatible chat model for the entities and the timestamped
//! relations of each chunk (the TG-RAG temporal quadruples), checks the reply by hand and
//! normalises each timestamp with the crate's time normaliser.
//!
//! Per chunk:
//! 1. system + user prompt (document title and time, the chunk) → a JSON reply;
//! 2. an invalid reply (not JSON, or failing [validation](read_reply)) is retried **once**, with
//!    the model's previous reply and what was wrong with it;
//! 3. a reply still invalid, or a request that fails (refused, timed out, HTTP error), makes the
//!    chunk fall back to the [`RulesExtractor`] ([`Extraction::fell_back`]; the pipeline counts
//!    them), with a `tracing` warning that gives the reason.
//!
//! After [`BREAKER_LIMIT`] request failures in a row within one document, its remaining chunks
//! fall back without asking, so a dead endpoint costs one timeout per worker, not one per chunk.
//!
//! Concurrency: the chunks of a document are spread over at most [`LlmConfig::concurrency`]
//! scoped threads (plain OS threads that wait on the network, not rayon workers, so the rayon
//! pool that runs the pipeline is never blocked on its own tasks), and the shared [`LlmClient`]
//! keeps the number of requests in flight across all documents within the same limit.
//!
//! [`LlmConfig::concurrency`]: crate::llm::LlmConfig::concurrency

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::Value;

use super::rules::RulesExtractor;
use super::{DocContext, EntityMention, ExtractedFact, ExtractedObject, Extraction, Extractor};
use crate::Result;
use crate::llm::{ChatMessage, LlmClient, parse_json_reply};
use crate::model::{EntityKind, normalize_name};
use crate::time::{Granularity, Interval, Relation, SpanKind, TimeKey, parse_time};

/// Longest description accepted (characters).
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Default for [`LlmExtractor::with_max_relations`].
pub const DEFAULT_MAX_RELATIONS: usize = 40;
/// Request failures in a row after which the rest of a document falls back without asking.
pub const BREAKER_LIMIT: usize = 3;

/// Confidence of a fact with an explicit time (the rules extractor's scale).
const CONFIDENCE_EXPLICIT: f32 = 0.8;
/// Confidence of a fact with an explicit but open-ended time ("before 2020").
const CONFIDENCE_OPEN: f32 = 0.65;
/// Confidence lost when the time was relative ("last quarter").
const RELATIVE_PENALTY: f32 = 0.05;
/// Confidence of a fact that inherits the document time.
const CONFIDENCE_INHERITED: f32 = 0.5;

/// The LLM extractor.
#[derive(Debug, Clone)]
pub struct LlmExtractor {
    client: Arc<LlmClient>,
    max_relations: usize,
}

impl LlmExtractor {
    /// An extractor asking through `client` (its `concurrency` bounds the requests in flight).
    pub fn new(client: Arc<LlmClient>) -> Self {
        LlmExtractor {
            client,
            max_relations: DEFAULT_MAX_RELATIONS,
        }
    }

    /// At most `n` relations per chunk (at least 1); a reply with more is invalid.
    pub fn with_max_relations(mut self, n: usize) -> Self {
        self.max_relations = n.max(1);
        self
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> String {
        SYSTEM_PROMPT.replace("{max_relations}", &self.max_relations.to_string())
    }

    /// The user prompt for one chunk.
    pub fn user_prompt(doc: &DocContext, chunk: &str) -> String {
        let title = doc.title.as_deref().filter(|t| !t.trim().is_empty());
        let time = doc.time.map(|t| t.to_string());
        format!(
            "Document title: {}\nDocument time: {}\n\nText:\n\"\"\"\n{}\n\"\"\"",
            title.unwrap_or("(none)"),
            time.as_deref().unwrap_or("unknown"),
            chunk.trim()
        )
    }

    /// One chunk through the model: `Err` carries why it must fall back.
    fn ask(
        &self,
        doc: &DocContext,
        chunk: &str,
        failures: &AtomicUsize,
    ) -> Result<Extraction, String> {
        if failures.load(Ordering::SeqCst) >= BREAKER_LIMIT {
            return Err(format!(
                "not asked: {BREAKER_LIMIT} requests in a row failed for this document"
            ));
        }
        let mut messages = vec![
            ChatMessage::system(self.system_prompt()),
            ChatMessage::user(Self::user_prompt(doc, chunk)),
        ];
        let reply = self.send(&messages, failures)?;
        let problem = match read_reply(&reply, doc, self.max_relations) {
            Ok(ex) => return Ok(ex),
            Err(problem) => problem,
        };
        tracing::debug!(%problem, "invalid llm extraction reply; asking once more");
        messages.push(ChatMessage::assistant(reply));
        messages.push(ChatMessage::user(correction(&problem)));
        let reply = self.send(&messages, failures)?;
        read_reply(&reply, doc, self.max_relations)
            .map_err(|problem| format!("the reply was still invalid after one retry: {problem}"))
    }

    /// One request; counts request failures in a row for the document's breaker.
    fn send(&self, messages: &[ChatMessage], failures: &AtomicUsize) -> Result<String, String> {
        match self.client.chat(messages) {
            Ok(reply) => {
                failures.store(0, Ordering::SeqCst);
                Ok(reply)
            }
            Err(e) => {
                failures.fetch_add(1, Ordering::SeqCst);
                Err(e.to_string())
            }
        }
    }
}

impl Extractor for LlmExtractor {
    fn name(&self) -> &str {
        "llm"
    }

    fn extract(&self, doc: &DocContext, chunks: &[&str]) -> Result<Vec<Extraction>> {
        let failures = AtomicUsize::new(0);
        let outcomes: Vec<Mutex<Option<Result<Extraction, String>>>> =
            chunks.iter().map(|_| Mutex::new(None)).collect();
        let workers = self
            .client
            .config()
            .concurrency
            .clamp(1, chunks.len().max(1));
        let next = AtomicUsize::new(0);
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(chunk) = chunks.get(i) else { break };
                *outcomes[i].lock() = Some(self.ask(doc, chunk, &failures));
            }
        };
        if workers == 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..workers {
                    s.spawn(work);
                }
            });
        }

        let outcomes: Vec<Result<Extraction, String>> = outcomes
            .into_iter()
            .map(|o| {
                o.into_inner()
                    .unwrap_or_else(|| Err("not processed".into()))
            })
            .collect();
        // The rules see the whole document (its main subject), as they would without the LLM.
        let rules = if outcomes.iter().any(Result::is_err) {
            RulesExtractor.extract(doc, chunks)?
        } else {
            Vec::new()
        };
        Ok(outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| match o {
                Ok(ex) => ex,
                Err(reason) => {
                    tracing::warn!(chunk = i, %reason, "llm extraction fell back to the rules");
                    let mut ex = rules.get(i).cloned().unwrap_or_default();
                    ex.fell_back = true;
                    ex
                }
            })
            .collect())
    }
}

/// The instructions. `{max_relations}` is filled in.
const SYSTEM_PROMPT: &str = r#"You extract a temporal knowledge graph from text. Reply with one JSON object and nothing else, in this form:
{"entities": [{"name": "...", "type": "organization|person|product|place|money|percent|quantity|ticker|concept|other", "aliases": ["..."]}],
 "relations": [{"source": "...", "target": "...", "target_is_value": false, "description": "...", "timestamp": "...", "granularity": "day|month|quarter|year"}]}

Entities: every organisation, person, product, place, ticker or concept the text names. "aliases" lists other names the text uses for the same entity (a ticker, a short name, an abbreviation).

Relations: each is one fact stated in the text.
- "source": the entity the fact is about, exactly as named in "entities".
- "target": another entity from "entities", or a value (an amount, a percentage, a quantity, a short phrase); set "target_is_value": true for values.
- "description": one self-contained sentence stating the fact with its figures, at most 500 characters.
- "timestamp": when the fact holds, as a calendar period: "2024-07-15" (a day), "2024-07" (a month), "2024-Q3" (a quarter) or "2024" (a year); phrases such as "March 2021" or "Q3 2024" are also understood. Resolve relative expressions ("last quarter", "a year earlier", "this year") against the document time and write the resolved period. Plans, targets and forecasts ("by 2030 we will ...") are stated at the document time: use the document time as the timestamp and keep the target in the description. If no time can be determined from the text or the document time, write "unknown".
- "granularity": the size of the period in "timestamp".

Only facts the text states; do not invent any. At most {max_relations} relations: keep the most informative ones. If the text states no facts, reply {"entities": [], "relations": []}."#;

/// What the model is told after an invalid reply.
fn correction(problem: &str) -> String {
    format!(
        "Your reply was invalid: {problem}\nReply again with only the corrected JSON object, in the form given above."
    )
}

/// The reply as the model is asked to write it.
#[derive(Debug, Deserialize)]
struct RawReply {
    #[serde(default)]
    entities: Vec<RawEntity>,
    relations: Vec<RawRelation>,
}

#[derive(Debug, Deserialize)]
struct RawEntity {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct RawRelation {
    source: String,
    target: String,
    #[serde(default)]
    target_is_value: Option<bool>,
    description: String,
    #[serde(default)]
    timestamp: Value,
    #[serde(default)]
    granularity: Option<String>,
}

/// Reads and checks a reply; `Err` says what is wrong, in words the model can act on.
///
/// Checks: the JSON shape; non-empty entity names, sources and targets; descriptions non-empty
/// and at most [`MAX_DESCRIPTION_CHARS`]; at most `max_relations` relations; timestamps strings
/// (or numbers, read as years). Entity types map to [`EntityKind`] (unknown ones to `Other`);
/// sources and entity targets that are not listed are added as entities; a relation whose time
/// is unknown inherits the document time, or is dropped when the document has none.
fn read_reply(text: &str, doc: &DocContext, max_relations: usize) -> Result<Extraction, String> {
    let raw: RawReply = parse_json_reply(text).map_err(|e| format!("the reply {e}"))?;
    if raw.relations.len() > max_relations {
        return Err(format!(
            "it has {} relations; give at most {max_relations}, the most informative ones",
            raw.relations.len()
        ));
    }
    let mut entities = Entities::default();
    for (i, e) in raw.entities.iter().enumerate() {
        let name = clean(&e.name);
        if name.is_empty() {
            return Err(format!("entities[{i}].name is empty"));
        }
        let aliases = e.aliases.iter().flatten().map(|a| clean(a));
        entities.add(&name, kind_of(e.kind.as_deref()), aliases);
    }
    let mut facts = Vec::with_capacity(raw.relations.len());
    for (i, r) in raw.relations.iter().enumerate() {
        let source = clean(&r.source);
        let target = clean(&r.target);
        let description = clean(&r.description);
        if source.is_empty() {
            return Err(format!("relations[{i}].source is empty"));
        }
        if target.is_empty() {
            return Err(format!("relations[{i}].target is empty"));
        }
        if description.is_empty() {
            return Err(format!("relations[{i}].description is empty"));
        }
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "relations[{i}].description has {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"
            ));
        }
        let timestamp = match &r.timestamp {
            Value::Null => None,
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                return Err(format!(
                    "relations[{i}].timestamp must be a string such as \"2024-Q3\" or \"unknown\", not {other}"
                ));
            }
        };
        let hint = r.granularity.as_deref().and_then(Granularity::parse);
        let Some(time) = fact_time(timestamp.as_deref(), hint, doc) else {
            tracing::debug!(relation = i, "dropped: no timestamp and no document time");
            continue;
        };
        let subject = entities.canonical(&source, EntityKind::Other);
        let is_value = r.target_is_value.unwrap_or_else(|| {
            !entities.knows(&target) && target.chars().any(|c| c.is_ascii_digit())
        });
        let object = if is_value {
            ExtractedObject::Literal(target)
        } else {
            ExtractedObject::Entity(entities.canonical(&target, EntityKind::Other))
        };
        facts.push(ExtractedFact {
            subject,
            object,
            description,
            valid: time.valid,
            granularity: time.granularity,
            time_key: time.key,
            time_inherited: time.inherited,
            confidence: time.confidence,
        });
    }
    Ok(Extraction {
        entities: entities.list,
        facts,
        fell_back: false,
    })
}

use crate::model::collapse_spaces as clean;

/// The entity kind for a type the model wrote.
fn kind_of(t: Option<&str>) -> EntityKind {
    let t = t.unwrap_or("").trim().to_ascii_lowercase();
    match t.as_str() {
        "organization" | "organisation" | "org" | "company" | "corporation" | "institution"
        | "agency" | "team" | "government" => EntityKind::Organization,
        "person" | "people" | "individual" | "executive" => EntityKind::Person,
        "product" | "brand" | "model" | "programme" | "program" | "service" => EntityKind::Product,
        "place" | "location" | "country" | "city" | "region" | "site" | "gpe" => EntityKind::Place,
        "money" | "amount" | "currency" => EntityKind::Money,
        "percent" | "percentage" => EntityKind::Percent,
        "quantity" | "number" | "metric" | "measure" => EntityKind::Quantity,
        "ticker" | "stock" | "symbol" => EntityKind::Ticker,
        "concept" | "topic" => EntityKind::Concept,
        _ => EntityKind::Other,
    }
}

/// The entities of one reply, deduplicated by normalised name, aliases included.
#[derive(Default)]
struct Entities {
    list: Vec<EntityMention>,
    /// Normalised name or alias → index in `list`.
    by_name: HashMap<String, usize>,
}

impl Entities {
    fn add(&mut self, name: &str, kind: EntityKind, aliases: impl Iterator<Item = String>) {
        let key = normalize_name(name);
        let i = match self.by_name.get(&key) {
            Some(&i) => i,
            None => {
                self.list.push(EntityMention {
                    name: name.to_string(),
                    kind,
                    aliases: vec![],
                });
                self.by_name.insert(key, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        if self.list[i].kind == EntityKind::Other {
            self.list[i].kind = kind;
        }
        for a in aliases {
            let akey = normalize_name(&a);
            if akey.is_empty() || a == self.list[i].name || self.list[i].aliases.contains(&a) {
                continue;
            }
            self.by_name.entry(akey).or_insert(i);
            self.list[i].aliases.push(a);
        }
    }

    fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(&normalize_name(name))
    }

    /// The listed name `name` refers to (directly or as an alias), adding it when unknown.
    fn canonical(&mut self, name: &str, kind: EntityKind) -> String {
        match self.by_name.get(&normalize_name(name)) {
            Some(&i) => self.list[i].name.clone(),
            None => {
                self.add(name, kind, std::iter::empty());
                name.to_string()
            }
        }
    }
}

/// The valid time of one relation.
#[derive(Debug, Clone, PartialEq)]
struct FactTime {
    valid: Interval,
    granularity: Granularity,
    key: Option<TimeKey>,
    inherited: bool,
    confidence: f32,
}

/// Normalises a relation's timestamp: a canonical key, else a time expression resolved against
/// the document time; "unknown" or unreadable inherits the document time; None when there is no
/// time at all (the relation is dropped). A `hint` coarser than the timestamp widens it to the
/// enclosing period ("2024-07-15" with granularity "quarter" → 2024-Q3).
fn fact_time(ts: Option<&str>, hint: Option<Granularity>, doc: &DocContext) -> Option<FactTime> {
    let explicit = ts
        .filter(|t| !is_unknown(t))
        .and_then(|t| parse_explicit(t, doc));
    match explicit {
        Some(mut t) => {
            if let (Some(h), Some(k)) = (hint, t.key)
                && h > k.granularity()
            {
                let wider = TimeKey::containing(k.start(), h);
                t.key = Some(wider);
                t.valid = wider.interval();
                t.granularity = h;
            }
            Some(t)
        }
        None => {
            if let Some(t) = ts.filter(|t| !is_unknown(t)) {
                tracing::debug!(
                    timestamp = t,
                    "unreadable timestamp; using the document time"
                );
            }
            let dt = doc.time?;
            Some(FactTime {
                valid: dt.interval(),
                granularity: dt.granularity(),
                key: Some(dt),
                inherited: true,
                confidence: CONFIDENCE_INHERITED,
            })
        }
    }
}

fn is_unknown(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    matches!(
        t.as_str(),
        "" | "unknown" | "none" | "null" | "n/a" | "na" | "unspecified" | "not specified"
    )
}

/// A timestamp the normaliser can place.
fn parse_explicit(t: &str, doc: &DocContext) -> Option<FactTime> {
    if let Ok(k) = TimeKey::parse(t) {
        return Some(FactTime {
            valid: k.interval(),
            granularity: k.granularity(),
            key: Some(k),
            inherited: false,
            confidence: CONFIDENCE_EXPLICIT,
        });
    }
    let span = parse_time(t, doc.time.as_ref()).ok()?;
    // "currently", "recently": no better than the document time.
    if span.kind == SpanKind::Vague {
        return None;
    }
    let penalty = if span.kind == SpanKind::Relative {
        RELATIVE_PENALTY
    } else {
        0.0
    };
    let (key, confidence) = match span.relation {
        Relation::At | Relation::Between => (
            span.key.or_else(|| TimeKey::from_interval(&span.interval)),
            CONFIDENCE_EXPLICIT - penalty,
        ),
        Relation::After | Relation::Before => (None, CONFIDENCE_OPEN - penalty),
    };
    Some(FactTime {
        valid: span.interval,
        granularity: span.granularity,
        key,
        inherited: false,
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(t: Option<&str>) -> DocContext {
        DocContext {
            title: Some("Crocs Q3 2024 results".into()),
            time: t.map(|t| TimeKey::parse(t).unwrap()),
        }
    }

    fn rel(source: &str, target: &str, desc: &str, ts: &str) -> String {
        serde_json::json!({"source": source, "target": target, "description": desc, "timestamp": ts})
            .to_string()
    }

    fn reply(entities: &str, relations: &[String]) -> String {
        format!(
            "{{\"entities\": [{entities}], \"relations\": [{}]}}",
            relations.join(",")
        )
    }

    #[test]
    fn timestamps_are_normalised_or_inherited() {
        let d = doc(Some("2024-Q3"));
        let check = |ts: Option<&str>, hint: Option<Granularity>, key: &str, inherited: bool| {
            let t = fact_time(ts, hint, &d).unwrap();
            assert_eq!(t.key.map(|k| k.to_string()).as_deref(), Some(key), "{ts:?}");
            assert_eq!(t.inherited, inherited, "{ts:?}");
        };
        check(Some("2024-Q3"), None, "2024-Q3", false);
        check(Some("Q3 2024"), None, "2024-Q3", false);
        check(Some("March 2021"), None, "2021-03", false);
        check(Some("2023"), None, "2023", false);
        check(Some("last quarter"), None, "2024-Q2", false);
        check(
            Some("2024-07-15"),
            Some(Granularity::Quarter),
            "2024-Q3",
            false,
        );
        check(Some("2024-Q3"), Some(Granularity::Day), "2024-Q3", false);
        check(Some("unknown"), None, "2024-Q3", true);
        check(None, None, "2024-Q3", true);
        check(Some("the good old days"), None, "2024-Q3", true);
        let inherited = fact_time(Some("unknown"), None, &d).unwrap();
        let explicit = fact_time(Some("2024-Q3"), None, &d).unwrap();
        assert!(inherited.confidence < explicit.confidence);
        assert_eq!(fact_time(Some("unknown"), None, &doc(None)), None);
        assert!(fact_time(Some("2019"), None, &doc(None)).is_some());
    }

    #[test]
    fn replies_are_validated() {
        let d = doc(Some("2024-Q3"));
        let ok_rel = rel(
            "Crocs",
            "$1 billion",
            "Crocs had revenue of $1 billion.",
            "2024-Q3",
        );
        let check = |text: &str, needle: &str| {
            let e = read_reply(text, &d, 3).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        };
        check("no json here", "is not JSON");
        check(r#"{"entities": []}"#, "missing field `relations`");
        check(&reply(r#"{"name": " "}"#, &[]), "entities[0].name is empty");
        check(
            &reply("", &[rel("", "x", "d", "2024")]),
            "relations[0].source is empty",
        );
        check(
            &reply("", &[rel("a", "", "d", "2024")]),
            "relations[0].target is empty",
        );
        check(
            &reply("", &[ok_rel.clone(), rel("a", "b", "", "2024")]),
            "relations[1].description is empty",
        );
        check(
            &reply("", &[rel("a", "b", &"x".repeat(501), "2024")]),
            "501 characters",
        );
        check(&reply("", &vec![ok_rel.clone(); 4]), "at most 3");
        check(
            r#"{"relations": [{"source": "a", "target": "b", "description": "d", "timestamp": {"y": 1}}]}"#,
            "timestamp must be a string",
        );
        assert!(read_reply(&reply("", &vec![ok_rel; 3]), &d, 3).is_ok());
    }

    #[test]
    fn entities_are_typed_merged_and_completed() {
        let d = doc(Some("2024-Q3"));
        let text = reply(
            r#"{"name": "Crocs, Inc.", "type": "Company", "aliases": ["CROX", "Crocs", "CROX"]},
               {"name": "crocs inc", "type": "organization", "aliases": null},
               {"name": "Gizmo", "type": "spaceship"}"#,
            &[
                rel("Crocs", "HEYDUDE", "Crocs owns HEYDUDE.", "2024"),
                rel("Andrew Rees", "12.5%", "Andrew Rees said margins grew 12.5%.", "2024"),
                r#"{"source": "CROX", "target": "Nasdaq", "target_is_value": true, "description": "CROX trades on Nasdaq.", "timestamp": 2024}"#.to_string(),
            ],
        );
        let ex = read_reply(&text, &d, 10).unwrap();
        let names: Vec<(&str, EntityKind)> = ex
            .entities
            .iter()
            .map(|e| (e.name.as_str(), e.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Crocs, Inc.", EntityKind::Organization),
                ("Gizmo", EntityKind::Other),
                ("HEYDUDE", EntityKind::Other),
                ("Andrew Rees", EntityKind::Other),
            ]
        );
        assert_eq!(ex.entities[0].aliases, vec!["CROX", "Crocs"]);
        // Aliases resolve to the listed name; unknown targets with digits are values.
        assert_eq!(ex.facts[0].subject, "Crocs, Inc.");
        assert_eq!(
            ex.facts[0].object,
            ExtractedObject::Entity("HEYDUDE".into())
        );
        assert_eq!(ex.facts[1].object, ExtractedObject::Literal("12.5%".into()));
        assert_eq!(ex.facts[2].subject, "Crocs, Inc.");
        assert_eq!(
            ex.facts[2].object,
            ExtractedObject::Literal("Nasdaq".into())
        );
        assert_eq!(ex.facts[2].time_key.unwrap().to_string(), "2024");
    }

    #[test]
    fn undated_relations_of_undated_documents_are_dropped() {
        let text = reply(
            "",
            &[
                rel("a", "b", "a met b.", "unknown"),
                rel("a", "c", "a met c.", "2020"),
            ],
        );
        let ex = read_reply(&text, &doc(None), 5).unwrap();
        assert_eq!(ex.facts.len(), 1);
        assert_eq!(ex.facts[0].time_key.unwrap().to_string(), "2020");
    }

    #[test]
    fn prompts_carry_the_document_and_the_limit() {
        let p = LlmExtractor::user_prompt(&doc(Some("2024-Q3")), " Revenue rose. ");
        assert!(p.contains("Document title: Crocs Q3 2024 results"));
        assert!(p.contains("Document time: 2024-Q3"));
        assert!(p.contains("\"\"\"\nRevenue rose.\n\"\"\""));
        let p = LlmExtractor::user_prompt(&DocContext::default(), "x");
        assert!(p.contains("Document title: (none)") && p.contains("Document time: unknown"));
        assert!(SYSTEM_PROMPT.contains("{max_relations}"));
    }
}
