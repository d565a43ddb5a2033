//! The extractive summariser (default; no network): picks the node's most important facts (the
//! scheduler ranks them by entity centrality, confidence and source count, without
//! near-duplicates, key figures — quantities and changes — first and sentences garbled by PDF
//! conversion last), mixes in the best findings of its children, at most three per entity, and
//! writes a short readable summary: the main entities, the key figures as stated, the themes,
//! and the findings citing their facts.
//! Deterministic: the same input gives the same summary.

use std::collections::HashMap;

use super::{Draft, Summarizer, SummaryInput, node_label};
use crate::Result;
use crate::model::{EntityId, Finding};

/// Most findings in a summary.
const MAX_FINDINGS: usize = 10;
/// Most findings about one entity.
const PER_ENTITY: usize = 3;
/// Most own findings on one headline measure.
const PER_MEASURE: usize = 2;
/// Findings with figures quoted in the summary text.
const KEY_FIGURES: usize = 4;

/// The extractive summariser.
#[derive(Debug, Clone, Default)]
pub struct Extractive;

fn join_names(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

impl Summarizer for Extractive {
    fn name(&self) -> String {
        "extractive".into()
    }

    fn summarize(&self, input: &SummaryInput) -> Result<Draft> {
        let label = node_label(&input.node);
        // Own facts first (a few), then the children's best findings, round robin.
        let mut findings: Vec<Finding> = Vec::new();
        let mut per_entity: HashMap<EntityId, usize> = HashMap::new();
        let own_quota = if input.children.is_empty() {
            MAX_FINDINGS
        } else {
            4
        };
        let mut per_measure: HashMap<&str, usize> = HashMap::new();
        for f in &input.facts {
            if findings.len() >= own_quota {
                break;
            }
            // At most PER_MEASURE findings on one headline measure (not five on the workforce).
            let measure = super::headline_measure(&f.description);
            if measure.is_some_and(|m| per_measure.get(m).copied().unwrap_or(0) >= PER_MEASURE) {
                continue;
            }
            let n = per_entity.entry(f.subject_id).or_default();
            if *n >= PER_ENTITY {
                continue;
            }
            *n += 1;
            if let Some(m) = measure {
                *per_measure.entry(m).or_default() += 1;
            }
            findings.push(Finding {
                text: f.description.clone(),
                facts: vec![f.id],
                entities: f.entities.clone(),
            });
        }
        let mut round = 0;
        while findings.len() < MAX_FINDINGS {
            let mut any = false;
            for c in &input.children {
                if findings.len() >= MAX_FINDINGS {
                    break;
                }
                if let Some(f) = c.findings.get(round) {
                    any = true;
                    if !findings.iter().any(|x| x.text == f.text) {
                        findings.push(f.clone());
                    }
                }
            }
            if !any {
                break;
            }
            round += 1;
        }

        // Entities by weight: importance of own facts, plus children's entities.
        let mut weight: HashMap<EntityId, f32> = HashMap::new();
        for f in &input.facts {
            for e in &f.entities {
                *weight.entry(*e).or_default() += f.importance;
            }
        }
        for c in &input.children {
            for (i, e) in c.entities.iter().enumerate() {
                *weight.entry(*e).or_default() += 1.0 / (1.0 + i as f32);
            }
        }
        let mut entities: Vec<(EntityId, f32)> = weight.into_iter().collect();
        entities.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let entities: Vec<EntityId> = entities.into_iter().map(|x| x.0).take(12).collect();
        let top_names: Vec<String> = entities
            .iter()
            .filter_map(|e| input.entity_names.get(e).cloned())
            .take(4)
            .collect();

        let themes: Vec<String> = input.themes.iter().take(6).cloned().collect();
        let title = if themes.is_empty() {
            if top_names.is_empty() {
                label.clone()
            } else {
                format!(
                    "{label}: {}",
                    join_names(&top_names[..top_names.len().min(3)])
                )
            }
        } else {
            format!("{label}: {}", themes[..themes.len().min(3)].join(", "))
        };
        let mut text = format!(
            "{label}: {} fact{}",
            input.fact_count,
            if input.fact_count == 1 { "" } else { "s" }
        );
        if !top_names.is_empty() {
            text.push_str(&format!(", mostly about {}", join_names(&top_names)));
        }
        text.push('.');
        // Key figures: the findings that state quantities and changes, as written.
        let mut measures_quoted: Vec<Option<&str>> = Vec::new();
        let figures: Vec<&str> = findings
            .iter()
            .filter(|f| super::figure_weight(&f.text) > 1.0)
            .filter(|f| {
                // One key figure per headline measure.
                let m = super::headline_measure(&f.text);
                let fresh = m.is_none() || !measures_quoted.contains(&m);
                measures_quoted.push(m);
                fresh
            })
            .map(|f| f.text.as_str())
            .take(KEY_FIGURES)
            .collect();
        if !figures.is_empty() {
            text.push_str(" Key figures: ");
            text.push_str(&figures.join(" "));
        }
        if !themes.is_empty() {
            text.push_str(&format!(
                " Themes: {}.",
                themes[..themes.len().min(4)].join(", ")
            ));
        }
        if figures.is_empty()
            && let Some(first) = findings.first()
        {
            text.push_str(&format!(" Highlight: {}", first.text));
        }
        let rating = Some(((input.fact_count as f32 + 1.0).log10() * 2.5).min(10.0));
        Ok(Draft {
            title,
            text,
            findings,
            entities,
            rating,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::InputFact;
    use crate::time::TimeKey;

    fn fact(id: u64, subject: u64, name: &str, desc: &str, imp: f32) -> InputFact {
        InputFact {
            id,
            subject_id: subject,
            subject: name.into(),
            object: String::new(),
            entities: vec![subject],
            description: desc.into(),
            time: "2019".into(),
            importance: imp,
        }
    }

    #[test]
    fn findings_cite_facts_and_stay_diverse() {
        let mut facts: Vec<InputFact> = (0..6)
            .map(|i| {
                fact(
                    i,
                    1,
                    "Audi",
                    &format!("Audi did thing {i}."),
                    2.0 - i as f32 * 0.1,
                )
            })
            .collect();
        facts.push(fact(
            10,
            2,
            "Ingolstadt",
            "Ingolstadt plant went carbon neutral.",
            0.5,
        ));
        let input = SummaryInput {
            node: TimeKey::parse("2019").unwrap(),
            facts,
            children: vec![],
            themes: vec!["electric mobility".into(), "CO2 emissions".into()],
            fact_count: 7,
            entity_names: [(1, "Audi".to_string()), (2, "Ingolstadt".to_string())].into(),
        };
        let d = Extractive.summarize(&input).unwrap();
        assert_eq!(d.title, "2019: electric mobility, CO2 emissions");
        assert!(
            d.text.contains("7 facts, mostly about Audi and Ingolstadt"),
            "{}",
            d.text
        );
        let audi = d
            .findings
            .iter()
            .filter(|f| f.text.starts_with("Audi"))
            .count();
        assert_eq!(audi, PER_ENTITY);
        assert!(d.findings.iter().any(|f| f.facts == vec![10]));
        assert_eq!(d.entities[0], 1);
        // Deterministic.
        assert_eq!(d, Extractive.summarize(&input).unwrap());
    }
}
