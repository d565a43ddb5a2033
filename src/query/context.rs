//! Context assembly: one text for an LLM prompt, most relevant first, within a character
//! budget, every passage cited `[document id · time]`.
//!
//! Layout: for abstract questions the summaries of the periods come first; then up to a tenth
//! of the budget of key facts (one line each, cited); then the best chunks, whole where they fit
//! and cut at a sentence boundary where the budget ends.

use super::{ChunkHit, FactHit, SummaryHit};

/// Share of the budget the key-facts block may take (single-period questions; comparisons need
/// the room for passages from each period).
pub const FACTS_SHARE: f64 = 0.1;
/// Share of the budget summaries may take.
const SUMMARY_SHARE: f64 = 0.35;

fn cite(document: &str, time: Option<&str>) -> String {
    match time {
        Some(t) => format!("[{document} · {t}]"),
        None => format!("[{document}]"),
    }
}

/// Appends `text` to `out` if it fits in `budget`; cuts it at a sentence (or word) boundary
/// otherwise, keeping at least `min_piece` characters or nothing. Returns whether it all fit.
fn push_bounded(out: &mut String, text: &str, budget: usize, min_piece: usize) -> bool {
    let room = budget.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return true;
    }
    // Room for the ellipsis and the blank line that separates a cut piece from the next one.
    const TAIL: &str = "…\n\n";
    let room = room.saturating_sub(TAIL.len());
    if room < min_piece {
        return false;
    }
    let mut cut = room;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    let end = head
        .rfind(". ")
        .map(|i| i + 1)
        .filter(|&i| i >= min_piece)
        .or_else(|| head.rfind(' '))
        .unwrap_or(cut);
    out.push_str(text[..end].trim_end());
    out.push_str(TAIL);
    false
}

/// Builds the context.
pub fn assemble(
    summaries: &[SummaryHit],
    facts: &[FactHit],
    chunks: &[ChunkHit],
    budget: usize,
    facts_share: f64,
) -> String {
    let mut out = String::with_capacity(budget.min(1 << 20));
    if !summaries.is_empty() {
        let limit = ((budget as f64) * SUMMARY_SHARE) as usize;
        for s in summaries {
            let mut block = format!("## {} — {}\n{}\n", s.node, s.title, s.text);
            for f in s.findings.iter().take(5) {
                block.push_str("- ");
                block.push_str(f);
                block.push('\n');
            }
            block.push('\n');
            if !push_bounded(&mut out, &block, limit, 120) {
                break;
            }
        }
    }
    if !facts.is_empty() {
        let limit = out.len() + ((budget as f64) * facts_share) as usize;
        let mut block = String::from("Key facts:\n");
        let mut n = 0;
        for f in facts {
            let src = f.sources.first();
            let line = format!(
                "- {} {} ({})\n",
                f.description,
                cite(
                    src.map(|s| s.document.as_str()).unwrap_or("manual"),
                    Some(&f.time)
                ),
                f.subject
            );
            if out.len() + block.len() + line.len() > limit.min(budget) {
                break;
            }
            block.push_str(&line);
            n += 1;
        }
        if n > 0 {
            block.push('\n');
            out.push_str(&block);
        }
    }
    for c in chunks {
        let header = cite(&c.document, c.time.as_deref());
        let title = c
            .title
            .as_deref()
            .map(|t| format!(" {t}"))
            .unwrap_or_default();
        let passage = format!("{header}{title}\n{}\n\n", c.text.trim());
        if !push_bounded(&mut out, &passage, budget, 200) {
            break;
        }
    }
    if out.len() > budget {
        let mut cut = budget;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeKey;

    fn chunk(id: u64, text: &str) -> ChunkHit {
        ChunkHit {
            id,
            document: format!("doc-{id}"),
            title: Some("Report".into()),
            time: Some("2019".into()),
            text: text.into(),
            score: 1.0,
        }
    }

    #[test]
    fn stays_within_budget_and_cites_every_passage() {
        let chunks: Vec<ChunkHit> = (0..20)
            .map(|i| {
                chunk(
                    i,
                    &format!("Sentence one of chunk {i}. Sentence two is a bit longer than one. ")
                        .repeat(5),
                )
            })
            .collect();
        for budget in [300, 1000, 4000, 8000] {
            let ctx = assemble(&[], &[], &chunks, budget, FACTS_SHARE);
            assert!(ctx.len() <= budget, "{} > {budget}", ctx.len());
            assert!(ctx.starts_with("[doc-0 · 2019] Report"));
            for block in ctx.split("\n\n").filter(|b| !b.trim().is_empty()) {
                assert!(block.trim_start().starts_with("[doc-"), "uncited: {block}");
            }
        }
    }

    #[test]
    fn a_cut_summary_is_set_apart_from_the_next_passage() {
        let s = SummaryHit {
            node: "2023".into(),
            title: "Acme in 2023".into(),
            text: "Acme grew revenue every quarter of the year. ".repeat(40),
            findings: vec![],
            reflects_tx: 1,
        };
        let ctx = assemble(&[s], &[], &[chunk(1, "Body text.")], 2000, FACTS_SHARE);
        assert!(ctx.starts_with("## 2023 — Acme in 2023\n"), "{ctx}");
        assert!(
            ctx.contains("…\n\n[doc-1 · 2019] Report\nBody text."),
            "{ctx}"
        );
        assert!(ctx.len() <= 2000);
    }

    #[test]
    fn facts_come_first_and_take_a_bounded_share() {
        let k = TimeKey::parse("2019").unwrap();
        let facts: Vec<FactHit> = (0..50)
            .map(|i| FactHit {
                id: i,
                subject: "Audi".into(),
                object: String::new(),
                description: format!("Audi did thing number {i} in 2019."),
                valid: k.interval(),
                time: "2019".into(),
                confidence: 0.8,
                score: 1.0,
                sources: vec![super::super::SourceRef {
                    document: "r2019".into(),
                    chunk: 1,
                    time: Some("2019".into()),
                }],
            })
            .collect();
        let ctx = assemble(&[], &facts, &[chunk(1, "Body text.")], 2000, 0.2);
        assert!(ctx.starts_with("Key facts:\n- Audi did thing number 0"));
        let facts_part = ctx.split("\n\n").next().unwrap();
        assert!(facts_part.len() <= 420, "{}", facts_part.len());
        assert!(ctx.contains("[doc-1 · 2019] Report\nBody text."));
    }
}
