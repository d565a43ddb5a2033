//! Question sets: the Time-LongQA JSON files and a simple JSON-lines format for your own sets.
//!
//! Formats read (by file name and content):
//!
//! - `one_time_YYYY.json`, `QA_notime.json` and any other `.json` object of objects:
//!   `{"1": {"Question", "OriginalText", ...}, ...}`; the question is `Question` (or `question`),
//!   the evidence is `OriginalText` (a string or a list of strings).
//! - `QA_2time.json`, `QA_3time.json`: `{"1": {"question", "answer", "original text from YYYY
//!   report", ...}}`; the evidence is every field whose name starts with `original text`
//!   (case-insensitive, `_` read as a space). Their evidence is paraphrased, so the metric's
//!   content-word rule applies to them.
//! - `*.jsonl`: one `{"question", "evidence": [..], "time"?: {"at"|"from"|"to"}, "paraphrased"?:
//!   bool}` per line; blank lines are skipped.
//!
//! Questions without any evidence cannot be scored; they are counted as skipped.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::query::TimeParam;
use crate::{Error, Result};

/// The group a question file reports under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// `one_time_YYYY.json`: evidence in one year's report.
    OneTime,
    /// `QA_2time.json`: evidence in two years.
    TwoTime,
    /// `QA_3time.json`: evidence in three years.
    ThreeTime,
    /// `QA_notime.json`: no time in the question.
    NoTime,
    /// Any other file, by file stem.
    Other(String),
}

impl Group {
    /// The group of a question file, from its name.
    pub fn of_file(path: &Path) -> Group {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("questions");
        let lower = stem.to_ascii_lowercase();
        if lower.starts_with("one_time") {
            Group::OneTime
        } else if lower == "qa_2time" {
            Group::TwoTime
        } else if lower == "qa_3time" {
            Group::ThreeTime
        } else if lower == "qa_notime" {
            Group::NoTime
        } else if matches!(lower.as_str(), "questions" | "qa" | "dev" | "test") {
            // A generic file name: report under the folder's name ("news-2022").
            let folder = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|s| s.to_str())
                .unwrap_or(stem);
            Group::Other(folder.to_string())
        } else {
            Group::Other(stem.to_string())
        }
    }

    /// The label used in reports (`one-time`, `two-time`, `three-time`, `no-time`, or the stem).
    pub fn label(&self) -> &str {
        match self {
            Group::OneTime => "one-time",
            Group::TwoTime => "two-time",
            Group::ThreeTime => "three-time",
            Group::NoTime => "no-time",
            Group::Other(s) => s,
        }
    }

    /// Whether the evidence of this group is paraphrased (the content-word rule applies).
    pub fn paraphrased(&self) -> bool {
        matches!(self, Group::TwoTime | Group::ThreeTime)
    }
}

/// One question with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Its id within the file (JSON key or line number).
    pub id: String,
    /// The question text.
    pub question: String,
    /// The evidence texts.
    pub evidence: Vec<String>,
    /// An explicit time scope to query with (JSONL sets only).
    pub time: Option<TimeParam>,
    /// Whether the content-word rule applies to its evidence.
    pub paraphrased: bool,
    /// The date the question is asked at (`now` of the query), when the set gives one.
    pub now: Option<String>,
    /// Multiple-choice questions: the options and the right one (scored by whether the right
    /// option occurs in the context instead of by evidence).
    pub choices: Option<Choices>,
}

/// The options of a multiple-choice question.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    /// The options, in order.
    pub options: Vec<String>,
    /// Index of the right one.
    pub right: usize,
}

/// The questions of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionSet {
    /// The file.
    pub path: PathBuf,
    /// Its file name (e.g. `one_time_2019.json`).
    pub name: String,
    /// Its report group.
    pub group: Group,
    /// The questions that have evidence, in file order.
    pub questions: Vec<Question>,
    /// Questions skipped because they have no evidence (or no question text).
    pub skipped: usize,
}

/// Loads question sets from files and folders (a folder: every `.json` and `.jsonl` file in it,
/// not recursive, sorted by name).
pub fn load(paths: &[PathBuf]) -> Result<Vec<QuestionSet>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|f| f.is_file() && is_question_file(f))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::invalid(format!(
                    "no .json or .jsonl question files in {}",
                    p.display()
                )));
            }
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(Error::NotFound(format!(
                "question file or folder {} does not exist",
                p.display()
            )));
        }
    }
    files.iter().map(|f| load_file(f)).collect()
}

fn is_question_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json" | "jsonl")
    )
}

/// Loads one question file (`.json` or `.jsonl`).
pub fn load_file(path: &Path) -> Result<QuestionSet> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let group = Group::of_file(path);
    let is_jsonl = path.extension().and_then(|e| e.to_str()) == Some("jsonl");
    let (questions, skipped) = if is_jsonl {
        parse_jsonl(&text, group.paraphrased())
    } else {
        parse_json(&text, group.paraphrased())
    }
    .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    Ok(QuestionSet {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_path_buf(),
        group,
        questions,
        skipped,
    })
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

fn is_evidence_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase().replace('_', " ");
    k == "originaltext" || k == "original text" || k.starts_with("original text")
}

/// Parses a Time-LongQA style JSON object of questions; returns the questions and the number
/// skipped.
pub fn parse_json(text: &str, paraphrased: bool) -> Result<(Vec<Question>, usize)> {
    let root: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("not a JSON object of questions: {e}")))?;
    let mut out = Vec::with_capacity(root.len());
    let mut skipped = 0;
    for (id, v) in root {
        let Some(obj) = v.as_object() else {
            skipped += 1;
            continue;
        };
        let question = obj
            .get("Question")
            .or_else(|| obj.get("question"))
            .and_then(|q| q.as_str())
            .unwrap_or("")
            .trim()
            .to_string();
        let evidence: Vec<String> = obj
            .iter()
            .filter(|(k, _)| is_evidence_key(k) || k.as_str() == "evidence")
            .flat_map(|(_, v)| strings(v))
            .filter(|s| !s.trim().is_empty())
            .collect();
        if question.is_empty() || evidence.is_empty() {
            skipped += 1;
            continue;
        }
        out.push(Question {
            id,
            question,
            evidence,
            time: None,
            paraphrased,
            now: None,
            choices: None,
        });
    }
    // JSON objects keep insertion order only with serde_json's `preserve_order`; sort numeric
    // ids numerically so runs with `--limit` are stable and readable.
    out.sort_by(|a, b| match (a.id.parse::<u64>(), b.id.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.id.cmp(&b.id),
    });
    Ok((out, skipped))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonlQuestion {
    #[serde(default)]
    id: Option<serde_json::Value>,
    question: String,
    #[serde(default)]
    evidence: Vec<String>,
    #[serde(default)]
    time: Option<TimeParam>,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    paraphrased: Option<bool>,
    #[serde(default)]
    choices: Option<Vec<String>>,
    /// The right choice's index (multiple choice), or a free-text answer (ignored).
    #[serde(default)]
    answer: Option<serde_json::Value>,
}

/// Parses the JSON-lines question format; returns the questions and the number skipped.
pub fn parse_jsonl(text: &str, paraphrased: bool) -> Result<(Vec<Question>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: JsonlQuestion = serde_json::from_str(line)
            .map_err(|e| Error::invalid(format!("line {}: {e}", i + 1)))?;
        let evidence: Vec<String> = q
            .evidence
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect();
        let choices = match (q.choices, &q.answer) {
            (Some(options), Some(a)) => {
                let right = a
                    .as_u64()
                    .map(|r| r as usize)
                    .filter(|r| *r < options.len());
                match right {
                    Some(right) => Some(Choices { options, right }),
                    None => {
                        return Err(Error::invalid(format!(
                            "line {}: `answer` must be the index of the right choice (0-{})",
                            i + 1,
                            options.len().saturating_sub(1)
                        )));
                    }
                }
            }
            (Some(_), None) => {
                return Err(Error::invalid(format!(
                    "line {}: `choices` needs `answer`, the index of the right choice",
                    i + 1
                )));
            }
            _ => None,
        };
        if q.question.trim().is_empty() || (evidence.is_empty() && choices.is_none()) {
            skipped += 1;
            continue;
        }
        let id = match q.id {
            Some(serde_json::Value::String(s)) => s,
            Some(v) => v.to_string(),
            None => (i + 1).to_string(),
        };
        out.push(Question {
            id,
            question: q.question.trim().to_string(),
            evidence,
            time: q.time,
            paraphrased: q.paraphrased.unwrap_or(paraphrased),
            now: q.now,
            choices,
        });
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_file_names() {
        for (name, group, label, para) in [
            ("qa/one_time_2019.json", Group::OneTime, "one-time", false),
            ("QA_2time.json", Group::TwoTime, "two-time", true),
            ("QA_3time.json", Group::ThreeTime, "three-time", true),
            ("QA_notime.json", Group::NoTime, "no-time", false),
            ("mine.jsonl", Group::Other("mine".into()), "mine", false),
        ] {
            let g = Group::of_file(Path::new(name));
            assert_eq!(g, group);
            assert_eq!(g.label(), label);
            assert_eq!(g.paraphrased(), para);
        }
    }

    #[test]
    fn one_time_format() {
        let text = r#"{
            "2": {"Question": "Q two?", "Answer": "A", "OriginalText": "Text two.", "chunk_id": "2019---2"},
            "10": {"Question": "Q ten?", "Answer": "A", "OriginalText": "Text ten."},
            "1": {"Question": "Q one?", "Answer": ["a", "b"], "OriginalText": "Text one."}
        }"#;
        let (qs, skipped) = parse_json(text, false).unwrap();
        assert_eq!(skipped, 0);
        let ids: Vec<&str> = qs.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "10"]);
        assert_eq!(qs[0].question, "Q one?");
        assert_eq!(qs[0].evidence, ["Text one."]);
        assert!(!qs[0].paraphrased);
    }

    #[test]
    fn multi_time_format_takes_every_original_text_field() {
        let text = r#"{
            "1": {"question": "Compare?", "answer": "x",
                  "original text from 2023 report": "Twenty three.",
                  "original_text_from_2021_report": "Twenty one."},
            "2": {"question": "No evidence?", "answer": "x"}
        }"#;
        let (qs, skipped) = parse_json(text, true).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(qs.len(), 1);
        let mut ev = qs[0].evidence.clone();
        ev.sort();
        assert_eq!(ev, ["Twenty one.", "Twenty three."]);
        assert!(qs[0].paraphrased);
    }

    #[test]
    fn jsonl_format() {
        let text = concat!(
            r#"{"question": "What was revenue in Q3 2024?", "evidence": ["Revenue was $4.2 billion."], "time": {"at": "2024-Q3"}}"#,
            "\n\n",
            r#"{"question": "Empty?", "evidence": []}"#,
            "\n",
            r#"{"question": "Para?", "evidence": ["a", "b"], "paraphrased": true}"#,
            "\n"
        );
        let (qs, skipped) = parse_jsonl(text, false).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].id, "1");
        assert_eq!(
            qs[0].time.as_ref().and_then(|t| t.at.as_deref()),
            Some("2024-Q3")
        );
        assert!(!qs[0].paraphrased);
        assert_eq!(qs[1].id, "4");
        assert!(qs[1].paraphrased);
        let err = parse_jsonl("{\"question\": 1}\n", false).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn multiple_choice_format() {
        let text = concat!(
            r#"{"question": "Which show?", "now": "2022-06-16", "choices": ["A", "Squid Game"], "answer": 1}"#,
            "\n"
        );
        let (qs, skipped) = parse_jsonl(text, false).unwrap();
        assert_eq!((qs.len(), skipped), (1, 0));
        assert_eq!(qs[0].now.as_deref(), Some("2022-06-16"));
        let c = qs[0].choices.as_ref().unwrap();
        assert_eq!(
            (c.options[c.right].as_str(), c.options.len()),
            ("Squid Game", 2)
        );
        for bad in [
            r#"{"question": "q", "choices": ["a"], "answer": 3}"#,
            r#"{"question": "q", "choices": ["a"]}"#,
        ] {
            assert!(parse_jsonl(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            Group::of_file(Path::new("/data/news-2022/questions.jsonl")).label(),
            "news-2022"
        );
    }

    #[test]
    fn folders_load_sorted_and_missing_paths_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("QA_2time.json"),
            r#"{"1": {"question": "q", "original text from 2020 report": "e"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.jsonl"),
            "{\"question\": \"q\", \"evidence\": [\"e\"]}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let sets = load(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["QA_2time.json", "b.jsonl"]);
        assert_eq!(sets[0].group, Group::TwoTime);
        assert!(matches!(
            load(&[dir.path().join("missing.json")]),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn time_longqa_files_load_when_present() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/time-longqa/qa");
        if !dir.is_dir() {
            assert!(
                std::env::var_os("CHRONORAG_TEST_STRICT").is_none_or(|v| v != "1"),
                "cannot run (CHRONORAG_TEST_STRICT=1): Time-LongQA is not at {}",
                dir.display()
            );
            eprintln!("SKIPPED: Time-LongQA is not at {}", dir.display());
            return;
        }
        let sets = load(&[dir]).unwrap();
        assert_eq!(sets.len(), 15);
        let total: usize = sets.iter().map(|s| s.questions.len()).sum();
        assert!(total > 2000, "{total}");
        let three = sets.iter().find(|s| s.group == Group::ThreeTime).unwrap();
        assert!(three.questions.iter().all(|q| q.evidence.len() >= 2));
        assert!(three.skipped > 0);
    }
}
