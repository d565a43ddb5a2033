//! The LLM summariser: asks an OpenAI-compatible chat endpoint for `{title, summary, findings[],
//! rating}` as JSON, validates it (findings may only cite facts it was given), retries once with
//! the error, and otherwise fails so that the scheduler falls back to the extractive summary.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;

use super::{Draft, Summarizer, SummaryInput, node_label};
use crate::llm::{ChatMessage, LlmClient, parse_json_reply};
use crate::model::{EntityId, Finding};
use crate::{Error, Result};

/// The LLM summariser.
pub struct LlmSummarizer {
    client: Arc<LlmClient>,
}

impl std::fmt::Debug for LlmSummarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSummarizer")
            .field("model", &self.client.config().model)
            .finish()
    }
}

impl LlmSummarizer {
    /// A summariser over a shared client.
    pub fn new(client: Arc<LlmClient>) -> Self {
        LlmSummarizer { client }
    }
}

#[derive(Debug, Deserialize)]
struct Reply {
    title: String,
    summary: String,
    #[serde(default)]
    findings: Vec<ReplyFinding>,
    #[serde(default)]
    rating: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ReplyFinding {
    Cited {
        text: String,
        #[serde(default)]
        facts: Vec<u64>,
    },
    Plain(String),
}

const SYSTEM: &str = "You summarise what happened in one period of a temporal knowledge graph. \
Reply with one JSON object and nothing else: {\"title\": \"...\", \"summary\": \"...\", \
\"findings\": [{\"text\": \"...\", \"facts\": [ids]}], \"rating\": 0-10}. \
The title names the period and its main themes (at most 120 characters). The summary is 2-5 \
sentences (at most 1500 characters). Each finding is one key development, citing the ids of the \
facts it rests on; cite only ids from the list you are given. At most 8 findings. The rating says \
how eventful the period was. Use only the facts and period summaries given.";

fn prompt(input: &SummaryInput) -> String {
    let mut p = format!(
        "Period: {} ({} facts in it)\n",
        node_label(&input.node),
        input.fact_count
    );
    if !input.children.is_empty() {
        p.push_str("\nSummaries of its sub-periods:\n");
        for c in &input.children {
            p.push_str(&format!(
                "- {}: {} — {}\n",
                node_label(&c.node),
                c.title,
                c.text
            ));
        }
    }
    if !input.facts.is_empty() {
        p.push_str("\nIts most important facts (id: fact):\n");
        for f in &input.facts {
            p.push_str(&format!("- {}: {}\n", f.id, f.description));
        }
    }
    if !input.themes.is_empty() {
        p.push_str(&format!("\nFrequent themes: {}\n", input.themes.join(", ")));
    }
    p
}

fn validate(reply: Reply, input: &SummaryInput) -> Result<Draft> {
    let title = reply.title.trim().to_string();
    let text = reply.summary.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::Llm("`title` must be 1-200 characters".into()));
    }
    if text.is_empty() || text.chars().count() > 3000 {
        return Err(Error::Llm("`summary` must be 1-3000 characters".into()));
    }
    if let Some(r) = reply.rating
        && !(0.0..=10.0).contains(&r)
    {
        return Err(Error::Llm("`rating` must be between 0 and 10".into()));
    }
    // Cited ids: the node's own facts and the facts its children's findings cite.
    let mut known: HashMap<u64, Vec<EntityId>> = input
        .facts
        .iter()
        .map(|f| (f.id, f.entities.clone()))
        .collect();
    for c in &input.children {
        for f in &c.findings {
            for id in &f.facts {
                known.entry(*id).or_insert_with(|| f.entities.clone());
            }
        }
    }
    let mut findings = Vec::new();
    for f in reply.findings.into_iter().take(10) {
        let (text, facts) = match f {
            ReplyFinding::Cited { text, facts } => (text, facts),
            ReplyFinding::Plain(text) => (text, vec![]),
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        let facts: Vec<u64> = facts
            .into_iter()
            .filter(|id| known.contains_key(id))
            .collect();
        if facts.is_empty() {
            // Findings must rest on facts (lineage); an uncited one is dropped.
            continue;
        }
        let entities: Vec<EntityId> = facts
            .iter()
            .flat_map(|id| known[id].iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        findings.push(Finding {
            text,
            facts,
            entities,
        });
    }
    if findings.is_empty() && !known.is_empty() {
        return Err(Error::Llm(
            "no finding cites a fact from the list (give each finding the ids of its facts)".into(),
        ));
    }
    let mut weight: HashMap<EntityId, usize> = HashMap::new();
    for f in &findings {
        for e in &f.entities {
            *weight.entry(*e).or_default() += 1;
        }
    }
    let mut entities: Vec<(EntityId, usize)> = weight.into_iter().collect();
    entities.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Draft {
        title,
        text,
        findings,
        entities: entities.into_iter().map(|e| e.0).collect(),
        rating: reply.rating,
    })
}

impl Summarizer for LlmSummarizer {
    fn name(&self) -> String {
        format!("llm:{}", self.client.config().model)
    }

    fn summarize(&self, input: &SummaryInput) -> Result<Draft> {
        let mut messages = vec![
            ChatMessage::system(SYSTEM),
            ChatMessage::user(prompt(input)),
        ];
        let first = self.client.chat(&messages)?;
        let err = match parse_json_reply::<Reply>(&first)
            .map_err(Error::Llm)
            .and_then(|r| validate(r, input))
        {
            Ok(d) => return Ok(d),
            Err(e) => e,
        };
        messages.push(ChatMessage::assistant(first));
        messages.push(ChatMessage::user(format!(
            "Your reply was invalid: {err}\nReply again with only the corrected JSON object."
        )));
        let second = self.client.chat(&messages)?;
        parse_json_reply::<Reply>(&second)
            .map_err(Error::Llm)
            .and_then(|r| validate(r, input))
    }
}
