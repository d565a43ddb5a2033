//! Aggregation of per-question results into the evaluation report, and its printed table.
//!
//! Rows are report groups (`one-time` pools every `one_time_YYYY.json`; then `two-time`,
//! `three-time`, `no-time`, other files by name) plus `all` (every question pooled). Recall is
//! the mean over the questions of a row; latency percentiles are nearest-rank over the same
//! questions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::dataset::{Group, QuestionSet};
use super::{BaselineBuild, IngestTiming, Outcome, QuestionResult};
use crate::query::Mode;

/// The scores of one system on one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Mean recall per budget (characters → recall in [0, 1]).
    pub recall: BTreeMap<usize, f64>,
    /// Median query latency (milliseconds).
    pub p50_ms: f64,
    /// 95th-percentile query latency (milliseconds).
    pub p95_ms: f64,
    /// Mean query latency (milliseconds).
    pub mean_ms: f64,
    /// Queries that failed (scored 0).
    pub errors: usize,
}

/// One row of the report: a group of question files, one file, or everything.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Group label, file name or `all`.
    pub name: String,
    /// Questions scored.
    pub questions: usize,
    /// ChronoRAG.
    pub chronorag: Scores,
    /// The BM25 baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Scores>,
}

/// The whole evaluation report (printed as a table, or as JSON with `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Namespace queried.
    pub namespace: String,
    /// Budgets (characters).
    pub budgets: Vec<usize>,
    /// Retrieval mode.
    pub mode: Mode,
    /// Whether ChronoRAG was queried once per budget (else once at the largest, then cut).
    pub query_per_budget: bool,
    /// Question files and how many of their questions were skipped (no evidence).
    pub files: Vec<FileInfo>,
    /// The ingest of `--corpus` (None when the namespace already had documents).
    pub ingest: Option<IngestTiming>,
    /// The baseline index build.
    pub baseline_build: Option<BaselineBuild>,
    /// Rows per group, then `all`.
    pub rows: Vec<Row>,
    /// Rows per question file.
    pub per_file: Vec<Row>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// A question file in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    /// File name.
    pub name: String,
    /// Group label.
    pub group: String,
    /// Questions in the file with evidence.
    pub questions: usize,
    /// Questions skipped (no evidence or no question text).
    pub skipped: usize,
}

impl FileInfo {
    /// Describes a loaded question set.
    pub fn of(set: &QuestionSet) -> Self {
        FileInfo {
            name: set.name.clone(),
            group: set.group.label().to_string(),
            questions: set.questions.len(),
            skipped: set.skipped,
        }
    }
}

/// The nearest-rank percentile `p` (0–100) of `values` (0 when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Aggregates outcomes of one system.
pub fn scores(outcomes: &[&Outcome], budgets: &[usize]) -> Scores {
    let n = outcomes.len().max(1) as f64;
    let recall = budgets
        .iter()
        .enumerate()
        .map(|(i, &b)| (b, outcomes.iter().map(|o| o.recall[i]).sum::<f64>() / n))
        .collect();
    let ms: Vec<f64> = outcomes.iter().map(|o| o.ms).collect();
    Scores {
        recall,
        p50_ms: percentile(&ms, 50.0),
        p95_ms: percentile(&ms, 95.0),
        mean_ms: ms.iter().sum::<f64>() / n,
        errors: outcomes.iter().filter(|o| o.error.is_some()).count(),
    }
}

/// A multiple-choice row scored by "first right" instead of "right choice in context".
fn first_right_row(name: &str, results: &[&QuestionResult], budgets: &[usize]) -> Option<Row> {
    let swap = |o: &Outcome| -> Option<Outcome> {
        Some(Outcome {
            recall: o.first_right.clone()?,
            ..o.clone()
        })
    };
    let ours: Vec<Outcome> = results.iter().filter_map(|r| swap(&r.chronorag)).collect();
    if ours.is_empty() {
        return None;
    }
    let theirs: Vec<Outcome> = results
        .iter()
        .filter_map(|r| r.baseline.as_ref().and_then(swap))
        .collect();
    Some(Row {
        name: format!("{name} (first right)"),
        questions: ours.len(),
        chronorag: scores(&ours.iter().collect::<Vec<_>>(), budgets),
        baseline: (!theirs.is_empty()).then(|| scores(&theirs.iter().collect::<Vec<_>>(), budgets)),
    })
}

fn row(name: &str, results: &[&QuestionResult], budgets: &[usize]) -> Row {
    let ours: Vec<&Outcome> = results.iter().map(|r| &r.chronorag).collect();
    let theirs: Vec<&Outcome> = results.iter().filter_map(|r| r.baseline.as_ref()).collect();
    Row {
        name: name.to_string(),
        questions: results.len(),
        chronorag: scores(&ours, budgets),
        baseline: (!theirs.is_empty()).then(|| scores(&theirs, budgets)),
    }
}

/// Rows per group (in the order one-time, two-time, three-time, no-time, others), then `all`;
/// and rows per file (in input order).
pub fn rows(
    sets: &[QuestionSet],
    results: &[QuestionResult],
    budgets: &[usize],
) -> (Vec<Row>, Vec<Row>) {
    let mut groups: Vec<Group> = sets.iter().map(|s| s.group.clone()).collect();
    groups.sort();
    groups.dedup();
    let mut by_group = Vec::new();
    for g in &groups {
        let rs: Vec<&QuestionResult> = results.iter().filter(|r| r.group == g.label()).collect();
        if !rs.is_empty() {
            by_group.push(row(g.label(), &rs, budgets));
            by_group.extend(first_right_row(g.label(), &rs, budgets));
        }
    }
    if !results.is_empty() {
        let all: Vec<&QuestionResult> = results.iter().collect();
        by_group.push(row("all", &all, budgets));
    }
    let mut by_file = Vec::new();
    for s in sets {
        let rs: Vec<&QuestionResult> = results.iter().filter(|r| r.file == s.name).collect();
        if !rs.is_empty() {
            by_file.push(row(&s.name, &rs, budgets));
        }
    }
    (by_group, by_file)
}

fn kb(b: usize) -> String {
    if b.is_multiple_of(1000) {
        format!("{}k", b / 1000)
    } else {
        b.to_string()
    }
}

fn cells(s: Option<&Scores>, budgets: &[usize]) -> String {
    let mut out = String::new();
    for b in budgets {
        match s.and_then(|s| s.recall.get(b)) {
            Some(r) => write!(out, " {:>6.3}", r).unwrap(),
            None => out.push_str("      -"),
        }
    }
    match s {
        Some(s) => write!(out, " {:>7.1} {:>7.1}", s.p50_ms, s.p95_ms).unwrap(),
        None => out.push_str("       -       -"),
    }
    out
}

/// Renders the rows as a fixed-width table.
pub fn table(rows: &[Row], budgets: &[usize]) -> String {
    let width = budgets.len() * 7 + 16;
    let mut out = String::new();
    writeln!(
        out,
        "{:<20} {:>6} │{:^width$}│{:^width$}",
        "", "", "chronorag", "bm25 baseline (1,200-char chunks)"
    )
    .unwrap();
    let mut head = String::new();
    for b in budgets {
        write!(head, " {:>6}", format!("@{}", kb(*b))).unwrap();
    }
    head.push_str("  p50 ms  p95 ms");
    writeln!(out, "{:<20} {:>6} │{head}│{head}", "questions", "n").unwrap();
    for r in rows {
        writeln!(
            out,
            "{:<20} {:>6} │{}│{}",
            r.name,
            r.questions,
            cells(Some(&r.chronorag), budgets),
            cells(r.baseline.as_ref(), budgets)
        )
        .unwrap();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::dataset::Question;

    fn outcome(recall: [f64; 2], ms: f64) -> Outcome {
        Outcome {
            recall: recall.to_vec(),
            first_right: None,
            ms,
            error: None,
            contexts: Vec::new(),
        }
    }

    fn result(file: &str, group: &str, r: [f64; 2], ms: f64) -> QuestionResult {
        QuestionResult {
            file: file.into(),
            group: group.into(),
            id: "1".into(),
            question: "q".into(),
            chronorag: outcome(r, ms),
            baseline: Some(outcome([0.0, 0.5], ms * 2.0)),
        }
    }

    fn set(name: &str) -> QuestionSet {
        QuestionSet {
            path: name.into(),
            name: name.into(),
            group: Group::of_file(std::path::Path::new(name)),
            questions: vec![Question {
                id: "1".into(),
                question: "q".into(),
                evidence: vec!["e".into()],
                time: None,
                paraphrased: false,
                now: None,
                choices: None,
            }],
            skipped: 0,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn rows_pool_one_time_files_and_end_with_all() {
        let sets = [
            set("QA_2time.json"),
            set("one_time_2019.json"),
            set("one_time_2020.json"),
        ];
        let results = [
            result("one_time_2019.json", "one-time", [1.0, 1.0], 10.0),
            result("one_time_2020.json", "one-time", [0.0, 1.0], 30.0),
            result("QA_2time.json", "two-time", [0.5, 0.5], 20.0),
        ];
        let budgets = [4000, 8000];
        let (groups, files) = rows(&sets, &results, &budgets);
        let names: Vec<&str> = groups.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["one-time", "two-time", "all"]);
        assert_eq!(groups[0].questions, 2);
        assert_eq!(groups[0].chronorag.recall[&4000], 0.5);
        assert_eq!(groups[0].chronorag.recall[&8000], 1.0);
        assert_eq!(groups[2].questions, 3);
        assert_eq!(groups[2].chronorag.p50_ms, 20.0);
        assert_eq!(groups[2].baseline.as_ref().unwrap().p95_ms, 60.0);
        assert_eq!(files.len(), 3);
        let t = table(&groups, &budgets);
        assert!(t.contains("@4k"), "{t}");
        assert!(
            t.lines()
                .any(|l| l.starts_with("one-time") && l.contains("0.500")),
            "{t}"
        );
    }
}
