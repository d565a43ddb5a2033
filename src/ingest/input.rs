//! Ingest input: the document shape callers send, and readers for `.txt`, `.md` and `.jsonl`
//! files and directories of them. Bad inputs are reported with file and line, never fatal to the
//! rest of a batch.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::DocTimeOrigin;
use crate::time::{Relation, SpanKind, TimeKey, find_times, parse_time};
use crate::{Error, Result};

/// Largest accepted document text (bytes). Bigger inputs are rejected with a clear reason.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// One document to ingest (the JSON shape of the API and of `.jsonl` lines; its JSON Schema is
/// `schema/document.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// User-facing id: any text of at most 512 bytes (a URL with query string and fragment, a path,
    /// a key) that is not blank and holds no control or invisible formatting (bidi, zero-width)
    /// characters; percent-encode it in URL paths. A document is known by it: sent again with the
    /// same content it is a duplicate, with other content refused. Derived from the content hash
    /// when absent (and the document is then known by its content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub id: Option<String>,
    /// The document text (UTF-8, at most 16 MiB). Must not be blank.
    #[schemars(length(min = 1))]
    pub text: String,
    /// The document's own time, naming one period: an ISO date (2024-07-15), month (2024-07), ISO
    /// week (2024-W28), quarter (2024-Q3) or year (2024), or an expression such as "Q3 2024",
    /// "March 2021", "FY2023". Relative expressions in the text resolve against it; facts without
    /// an explicit time inherit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Title, kept with every chunk. Defaults to the first Markdown heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where the document came from (path, URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form metadata. When `time` is absent, the first of the fields time, date, published,
    /// published_at, publication_date, period, quarter, year, timestamp, created gives the document
    /// time.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// A document ready for the pipeline: validated, with its time resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedDocument {
    /// The input.
    pub input: DocumentInput,
    /// The resolved title.
    pub title: Option<String>,
    /// The resolved time.
    pub time: Option<TimeKey>,
    /// Where the time came from.
    pub time_origin: DocTimeOrigin,
    /// The text as sent, when [`super::repair`] changed it (`input.text` is the repaired one).
    pub as_sent: Option<AsSentDocument>,
}

/// A document's text as sent, beside the repaired text ingest reads.
#[derive(Debug, Clone, PartialEq)]
pub struct AsSentDocument {
    /// Content hash of the text as sent: a document is known by what was sent, so sending it
    /// again is recognised as a duplicate, also by stores made before the repair existed.
    pub hash: String,
    /// The text as sent.
    pub text: String,
}

impl PreparedDocument {
    /// The document's text as it was sent (before repair).
    pub fn text_as_sent(&self) -> &str {
        self.as_sent.as_ref().map_or(&self.input.text, |a| &a.text)
    }

    /// The input as it was sent: what to post to a server, which repairs it itself.
    pub fn input_as_sent(&self) -> DocumentInput {
        let mut input = self.input.clone();
        if let Some(a) = &self.as_sent {
            input.text = a.text.clone();
        }
        input
    }
}

/// An input that was rejected, with where and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rejected {
    /// File (or `request`).
    pub file: String,
    /// 1-based line for `.jsonl` files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

const METADATA_TIME_KEYS: &[&str] = &[
    "time",
    "date",
    "published",
    "published_at",
    "publication_date",
    "period",
    "quarter",
    "year",
    "timestamp",
    "created",
];

/// Validates an input, repairs PDF ligature splits in its text ([`super::repair`]) and resolves
/// its time and title. The time comes from, in order: the `time`
/// field, the metadata, the title, the file name (given, else the file name of `source`, else
/// the `id`), a dateline in the first lines; else undated.
/// The wall clock is never used.
pub fn prepare(mut input: DocumentInput, file_name: Option<&str>) -> Result<PreparedDocument> {
    if input.text.trim().is_empty() {
        return Err(Error::invalid("empty text"));
    }
    if input.text.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge(format!(
            "text is {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
            input.text.len()
        )));
    }
    let mut as_sent = None;
    if let std::borrow::Cow::Owned(text) = super::repair::repair(&input.text) {
        let sent = std::mem::replace(&mut input.text, text);
        as_sent = Some(AsSentDocument {
            hash: super::pipeline::content_hash(&sent),
            text: sent,
        });
    }
    if let Some(id) = &input.id {
        validate_doc_id(id)?;
    }
    let title = input
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| markdown_title(&input.text));
    let (time, origin) = if let Some(t) = &input.time {
        (Some(time_key_of(t)?), DocTimeOrigin::Given)
    } else if let Some(k) = metadata_time(&input.metadata)? {
        (Some(k), DocTimeOrigin::Metadata)
    } else if let Some(k) = title.as_deref().and_then(time_in_text) {
        (Some(k), DocTimeOrigin::Text)
    } else if let Some(k) = file_name
        // Posted over HTTP, a document read from a file names it in `source` or `id`: the same
        // document gets the same time whichever way it arrives.
        .or(input.source.as_deref())
        .and_then(time_in_file_name)
        .or_else(|| input.id.as_deref().and_then(time_in_file_name))
    {
        (Some(k), DocTimeOrigin::Filename)
    } else if let Some(k) = dateline(&input.text) {
        (Some(k), DocTimeOrigin::Text)
    } else {
        (None, DocTimeOrigin::None)
    };
    Ok(PreparedDocument {
        input,
        title,
        time,
        time_origin: origin,
        as_sent,
    })
}

/// Longest document id, in bytes.
pub const MAX_DOC_ID_BYTES: usize = 512;

/// Whether `c` may not appear in an id: control characters, and the invisible formatting
/// characters that reorder or hide text (bidi embeddings, overrides and isolates, the
/// directional marks, zero-width characters), which could make a citation display as another
/// document's id.
pub fn is_spoofing_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Checks a user-facing document id. Ids are the user's own (a URL with query string and
/// fragment, a path, a database key): any text of 1–512 bytes that is not only whitespace and
/// holds no control or invisible formatting character ([`is_spoofing_char`]). In HTTP paths an
/// id is percent-encoded.
pub fn validate_doc_id(id: &str) -> Result<()> {
    let problem = if id.trim().is_empty() {
        Some("it is empty".to_string())
    } else if id.len() > MAX_DOC_ID_BYTES {
        Some(format!("it is {} bytes long", id.len()))
    } else {
        id.chars()
            .find(|c| is_spoofing_char(*c))
            .map(|c| format!("it contains the character U+{:04X}", c as u32))
    };
    match problem {
        None => Ok(()),
        Some(why) => {
            let mut shown: String = id.chars().take(60).collect();
            if shown.len() < id.len() {
                shown.push('…');
            }
            Err(Error::invalid(format!(
                "invalid document id {shown:?}: {why}; an id is 1–{MAX_DOC_ID_BYTES} bytes of \
                 text without control or invisible formatting characters"
            )))
        }
    }
}

/// Parses a document time given as a calendar unit or a time expression naming one period.
pub fn time_key_of(s: &str) -> Result<TimeKey> {
    if let Ok(k) = TimeKey::parse(s.trim()) {
        return Ok(k);
    }
    let span = parse_time(s, None)?;
    if span.relation != Relation::At {
        return Err(Error::invalid(format!(
            "document time {s:?} must name one period (a date, month, quarter or year), not a range"
        )));
    }
    span.key
        .or_else(|| TimeKey::from_interval(&span.interval))
        .ok_or_else(|| {
            Error::invalid(format!(
                "document time {s:?} is not a single calendar period"
            ))
        })
}

fn metadata_time(meta: &serde_json::Map<String, serde_json::Value>) -> Result<Option<TimeKey>> {
    for key in METADATA_TIME_KEYS {
        let Some(v) = meta.get(*key) else { continue };
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => continue,
        };
        // RFC 3339 timestamps: take the date part.
        let s = if s.len() > 10 && s.as_bytes().get(10) == Some(&b'T') {
            s[..10].to_string()
        } else {
            s
        };
        return time_key_of(&s).map(Some).map_err(|e| {
            Error::invalid(format!("metadata field {key:?} is not a usable time: {e}"))
        });
    }
    Ok(None)
}

/// The first explicit, single-period time expression in a short text (a title); in a title a
/// bare year ("Sustainability Report 2019") counts too.
fn time_in_text(text: &str) -> Option<TimeKey> {
    find_times(text, None)
        .into_iter()
        .filter(|s| s.kind == SpanKind::Explicit && s.relation == Relation::At)
        .find_map(|s| s.key)
        .or_else(|| {
            text.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.len() == 4)
                .filter_map(|w| w.parse::<i32>().ok())
                .find(|y| (1900..=2100).contains(y))
                .and_then(|y| TimeKey::year(y).ok())
        })
}

/// A time in a file name: `report-2019.md`, `call_2024-Q3.txt`, `2024-07-15-notes.md`.
pub fn time_in_file_name(name: &str) -> Option<TimeKey> {
    let stem = Path::new(name).file_stem()?.to_str()?;
    let spaced: String = stem
        .chars()
        .map(|c| if c == '_' || c == '.' { ' ' } else { c })
        .collect();
    // Whole tokens that are calendar keys (2024-Q3, 2024-07-15, 2024-07).
    for tok in spaced.split(' ') {
        for (i, _) in tok.match_indices(|c: char| c.is_ascii_digit()) {
            if i > 0 && tok.as_bytes()[i - 1].is_ascii_digit() {
                continue;
            }
            for len in [10, 7, 4] {
                if let Some(cand) = tok.get(i..i + len)
                    && tok
                        .as_bytes()
                        .get(i + len)
                        .is_none_or(|b| !b.is_ascii_digit())
                    && let Ok(k) = TimeKey::parse(&cand.to_ascii_uppercase())
                    && (1900..=2100).contains(&k.year_of())
                {
                    return Some(k);
                }
            }
        }
    }
    None
}

/// A dateline: a short line among the first few that is, or starts with, a date.
fn dateline(text: &str) -> Option<TimeKey> {
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
    {
        if line.len() > 120 {
            continue;
        }
        if let Some(k) = find_times(line, None)
            .into_iter()
            .filter(|s| {
                s.kind == SpanKind::Explicit
                    && s.relation == Relation::At
                    && s.granularity <= crate::time::Granularity::Month
            })
            .find_map(|s| s.key)
        {
            return Some(k);
        }
    }
    None
}

/// A title from the first Markdown headings: the first with several words (a one-word heading
/// such as "PROGRESS" is usually a section label), else the first with letters in it.
pub fn markdown_title(text: &str) -> Option<String> {
    let headings: Vec<&str> = text
        .lines()
        .take(40)
        .filter_map(|l| l.trim().strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .filter(|l| l.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .collect();
    headings
        .iter()
        .find(|l| l.split_whitespace().count() >= 2)
        .or(headings.first())
        .map(|l| l.chars().take(200).collect())
}

/// One item produced by reading paths: a document with its file, or a rejected input.
#[derive(Debug)]
pub enum ReadItem {
    /// A document read from `file` (at `line` for `.jsonl`).
    Document {
        /// The document.
        doc: Box<PreparedDocument>,
        /// Its file.
        file: String,
        /// Bytes of input it was read from (the file; the line for `.jsonl`), for progress.
        bytes: usize,
    },
    /// An input that could not be read.
    Rejected(Rejected),
}

/// A file to ingest, with the document id its text documents get: the path relative to the
/// folder given (`:` between folders), or the file name for a file given directly. Stable ids
/// make re-runs and later erasure by id easy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file.
    pub path: PathBuf,
    /// Document id for `.txt` / `.md` files.
    pub id: String,
}

fn file_id(root: Option<&Path>, file: &Path) -> String {
    let rel = root
        .and_then(|r| file.strip_prefix(r).ok())
        .unwrap_or_else(|| Path::new(file.file_name().unwrap_or(file.as_os_str())));
    let id: String = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":")
        .replace("..", "_")
        .chars()
        .filter(|c| !c.is_control() && *c != '\\')
        .take(200)
        .collect();
    if id.is_empty() { "file".into() } else { id }
}

/// Lists the files under `paths` (recursively, sorted) with a supported extension.
pub fn list_files(paths: &[PathBuf]) -> Result<(Vec<InputFile>, Vec<Rejected>)> {
    let mut files = Vec::new();
    let mut rejected = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            files.extend(found.into_iter().map(|f| InputFile {
                id: file_id(Some(p), &f),
                path: f,
            }));
        } else if p.is_file() {
            if supported(p) {
                files.push(InputFile {
                    id: file_id(None, p),
                    path: p.clone(),
                });
            } else {
                rejected.push(Rejected {
                    file: p.display().to_string(),
                    line: None,
                    reason: "unsupported file type (use .txt, .md or .jsonl)".into(),
                });
            }
        } else {
            rejected.push(Rejected {
                file: p.display().to_string(),
                line: None,
                reason: "no such file or directory".into(),
            });
        }
    }
    Ok((files, rejected))
}

fn supported(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("txt" | "md" | "markdown" | "jsonl")
    )
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file() && supported(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// What an `emit` callback of [`read_file`] answers: read on, or stop reading.
pub type Flow = std::ops::ControlFlow<()>;

/// Reads one file into documents (or rejections), calling `emit` for each until it answers
/// [`Flow::Break`] (a caller whose write failed stops reading a large file there). `id` is the
/// document id of a `.txt` / `.md` file (`.jsonl` lines carry their own).
pub fn read_file(path: &Path, id: Option<&str>, emit: &mut dyn FnMut(ReadItem) -> Flow) {
    let file = path.display().to_string();
    let reject = |reason: String| Rejected {
        file: file.clone(),
        line: None,
        reason,
    };
    let is_jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = emit(ReadItem::Rejected(reject(format!("cannot open: {e}"))));
            return;
        }
    };
    if is_jsonl {
        read_jsonl(BufReader::new(f), &file, emit);
        return;
    }
    let mut bytes = Vec::new();
    if let Err(e) = f
        .take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
    {
        let _ = emit(ReadItem::Rejected(reject(format!("cannot read: {e}"))));
        return;
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        let _ = emit(ReadItem::Rejected(reject(format!(
            "file is larger than {MAX_DOCUMENT_BYTES} bytes"
        ))));
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let _ = emit(ReadItem::Rejected(reject(format!(
                "invalid UTF-8 at byte {}",
                e.utf8_error().valid_up_to()
            ))));
            return;
        }
    };
    let size = text.len();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    let input = DocumentInput {
        id: id.map(str::to_string),
        text,
        source: Some(file.clone()),
        ..DocumentInput::default()
    };
    let _ = match prepare(input, name.as_deref()) {
        Ok(doc) => emit(ReadItem::Document {
            doc: Box::new(doc),
            file,
            bytes: size,
        }),
        Err(e) => emit(ReadItem::Rejected(reject(e.to_string()))),
    };
}

/// Reads JSON lines (one [`DocumentInput`] per line); blank lines are skipped. Stops when `emit`
/// answers [`Flow::Break`].
pub fn read_jsonl(reader: impl BufRead, file: &str, emit: &mut dyn FnMut(ReadItem) -> Flow) {
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line_no = 0;
    'lines: loop {
        buf.clear();
        line_no += 1;
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let _ = emit(ReadItem::Rejected(Rejected {
                    file: file.to_string(),
                    line: Some(line_no),
                    reason: format!("cannot read: {e}"),
                }));
                break;
            }
        }
        let reject = |reason: String| {
            ReadItem::Rejected(Rejected {
                file: file.to_string(),
                line: Some(line_no),
                reason,
            })
        };
        // What each line gave; reading stops when the caller says so.
        let item = 'line: {
            let line = match std::str::from_utf8(&buf) {
                Ok(l) => l.trim(),
                Err(e) => {
                    break 'line reject(format!("invalid UTF-8 at byte {}", e.valid_up_to()));
                }
            };
            if line.is_empty() {
                continue 'lines;
            }
            if line.len() > MAX_DOCUMENT_BYTES {
                break 'line reject(format!("line is larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            let input: DocumentInput = match serde_json::from_str(line) {
                Ok(d) => d,
                Err(e) => {
                    break 'line reject(format!("invalid JSON: {e}"));
                }
            };
            let size = buf.len();
            match prepare(input, None) {
                Ok(mut doc) => {
                    if doc.input.source.is_none() {
                        doc.input.source = Some(format!("{file}:{line_no}"));
                    }
                    ReadItem::Document {
                        doc: Box::new(doc),
                        file: format!("{file}:{line_no}"),
                        bytes: size,
                    }
                }
                Err(e) => reject(e.to_string()),
            }
        };
        if emit(item).is_break() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy;

    fn prep(
        text: &str,
        time: Option<&str>,
        title: Option<&str>,
        file: Option<&str>,
    ) -> PreparedDocument {
        prepare(
            DocumentInput {
                text: text.into(),
                time: time.map(Into::into),
                title: title.map(Into::into),
                ..Default::default()
            },
            file,
        )
        .unwrap()
    }

    #[test]
    fn a_repaired_document_keeps_its_text_as_sent() {
        let sent = r"The fi rst $\mathsf{C O}_{2}$ fi gure";
        let d = prep(sent, Some("2024"), None, None);
        assert_eq!(d.input.text, "The first CO2 figure");
        assert_eq!(d.text_as_sent(), sent);
        assert_eq!(d.input_as_sent().text, sent);
        assert_eq!(
            d.as_sent.as_ref().unwrap().hash,
            crate::ingest::pipeline::content_hash(sent)
        );
        let plain = prep("Nothing to repair.", Some("2024"), None, None);
        assert!(plain.as_sent.is_none());
        assert_eq!(plain.input_as_sent(), plain.input);
    }

    #[test]
    fn time_sources_in_order() {
        let d = prep(
            "Body.",
            Some("Q3 2024"),
            Some("Report 2019"),
            Some("x-2018.md"),
        );
        assert_eq!(d.time.unwrap().to_string(), "2024-Q3");
        assert_eq!(d.time_origin, DocTimeOrigin::Given);
        let d = prep(
            "Body.",
            None,
            Some("Audi Sustainability Report 2019"),
            Some("x-2018.md"),
        );
        assert_eq!(d.time.unwrap().to_string(), "2019");
        assert_eq!(d.time_origin, DocTimeOrigin::Text);
        let d = prep(
            "Body text without dates.",
            None,
            None,
            Some("audi-sustainability-2017.md"),
        );
        assert_eq!(d.time.unwrap().to_string(), "2017");
        assert_eq!(d.time_origin, DocTimeOrigin::Filename);
        let d = prep(
            "BERLIN, March 3, 2024\nThe company said...",
            None,
            None,
            None,
        );
        assert_eq!(d.time.unwrap().to_string(), "2024-03-03");
        let d = prep("Nothing dated here.", None, None, Some("notes.txt"));
        assert_eq!(d.time, None);
        assert_eq!(d.time_origin, DocTimeOrigin::None);
    }

    #[test]
    fn metadata_time_is_used_and_checked() {
        let mut meta = serde_json::Map::new();
        meta.insert("published".into(), "2023-05-17T10:00:00Z".into());
        let d = prepare(
            DocumentInput {
                text: "x y z".into(),
                metadata: meta,
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(d.time.unwrap().to_string(), "2023-05-17");
        let mut meta = serde_json::Map::new();
        meta.insert("date".into(), "2023-02-30".into());
        let err = prepare(
            DocumentInput {
                text: "x".into(),
                metadata: meta,
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("date"), "{err}");
    }

    #[test]
    fn bad_inputs_are_rejected_with_reasons() {
        assert!(
            prepare(
                DocumentInput {
                    text: "  \n".into(),
                    ..Default::default()
                },
                None
            )
            .is_err()
        );
        let e = prepare(
            DocumentInput {
                text: "x".into(),
                time: Some("Q5 2023".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Time(_) | Error::Invalid(_)), "{e:?}");
        assert!(validate_doc_id("report-2019").is_ok());
    }

    /// Ids are the user's: URLs and paths are accepted; what could spoof a citation is not.
    #[test]
    fn document_ids_accept_urls_and_refuse_spoofing() {
        for ok in [
            "report-2019",
            "https://example.com/news/a?x=1&y=%20#frag",
            "a/b/../c",
            "C:\\reports\\2019.md",
            "日本語の記事",
            &"x".repeat(MAX_DOC_ID_BYTES),
        ] {
            assert!(validate_doc_id(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "   ",
            "a\nb",
            "a\u{0}b",
            "invoice\u{202E}fdp.exe",
            "x\u{2066}y",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            &"x".repeat(MAX_DOC_ID_BYTES + 1),
        ] {
            let e = validate_doc_id(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid document id"), "{bad:?}: {e}");
            assert!(e.len() < 300, "the message must not echo a huge id: {e}");
        }
    }

    #[test]
    fn file_names_give_times() {
        for (name, want) in [
            ("audi-sustainability-2019.md", Some("2019")),
            ("call_2024-Q3.txt", Some("2024-Q3")),
            ("2024-07-15-notes.md", Some("2024-07-15")),
            ("notes.txt", None),
            ("v12345.txt", None),
        ] {
            assert_eq!(
                time_in_file_name(name).map(|k| k.to_string()).as_deref(),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn a_posted_document_gets_the_time_its_file_would_give() {
        let doc = |id: Option<&str>, source: Option<&str>| DocumentInput {
            id: id.map(str::to_string),
            source: source.map(str::to_string),
            text: "Some text without any date.".into(),
            ..Default::default()
        };
        let from_file = prepare(doc(None, None), Some("audi-sustainability-2019.md")).unwrap();
        let by_source =
            prepare(doc(None, Some("/data/audi-sustainability-2019.md")), None).unwrap();
        let by_id = prepare(doc(Some("audi-sustainability-2019.md"), None), None).unwrap();
        for p in [&from_file, &by_source, &by_id] {
            assert_eq!(p.time.map(|k| k.to_string()).as_deref(), Some("2019"));
            assert_eq!(p.time_origin, DocTimeOrigin::Filename);
        }
        let undated = prepare(doc(Some("notes"), Some("https://example.com/a")), None).unwrap();
        assert_eq!(undated.time, None);
    }

    #[test]
    fn file_ids_are_stable_relative_paths() {
        let root = Path::new("/data/corpus");
        assert_eq!(
            file_id(Some(root), Path::new("/data/corpus/a/b/x-2019.md")),
            "a:b:x-2019.md"
        );
        assert_eq!(
            file_id(None, Path::new("/elsewhere/notes.txt")),
            "notes.txt"
        );
        assert!(
            validate_doc_id(&file_id(
                Some(root),
                Path::new("/data/corpus/..weird../f.md")
            ))
            .is_ok()
        );
    }

    #[test]
    fn jsonl_reports_bad_lines_and_keeps_good_ones() {
        let data = "{\"text\": \"Good one.\", \"time\": \"2020\"}\n{broken\n\n{\"text\": \"\"}\n{\"text\": \"Also good.\", \"bogus\": 1}\n{\"text\": \"Fine.\"}\n";
        let mut docs = 0;
        let mut bad = Vec::new();
        read_jsonl(data.as_bytes(), "x.jsonl", &mut |it| {
            match it {
                ReadItem::Document { .. } => docs += 1,
                ReadItem::Rejected(r) => bad.push(r),
            }
            Flow::Continue(())
        });
        assert_eq!(docs, 2);
        let lines: Vec<_> = bad.iter().map(|r| r.line.unwrap()).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert!(bad[0].reason.contains("invalid JSON"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Arbitrary bytes (with line breaks, JSON fragments, invalid UTF-8): the reader never
        /// panics, every line is either a document or a rejection with its line number.
        #[test]
        fn jsonl_reader_never_panics(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::num::u8::ANY, 0..80),
                    "[ -~]{0,60}".prop_map(|s| s.into_bytes()),
                    r#"\{"text": "[a-z ]{0,30}"(, "time": "[0-9Q-]{0,10}")?(, "id": "[a-z./]{0,8}")?\}"#.prop_map(|s| s.into_bytes()),
                ],
                0..12,
            )
        ) {
            let mut data = Vec::new();
            for l in &lines {
                data.extend_from_slice(l);
                data.push(b'\n');
            }
            let mut n = 0usize;
            read_jsonl(&data[..], "fuzz.jsonl", &mut |it| {
                n += 1;
                if let ReadItem::Rejected(r) = it {
                    assert!(r.line.is_some());
                    assert!(!r.reason.is_empty());
                }
                Flow::Continue(())
            });
            proptest::prop_assert!(n <= lines.len() + data.iter().filter(|b| **b == b'\n').count());
        }
    }

    #[test]
    fn jsonl_reading_stops_when_the_caller_says_so() {
        let data = "{\"text\": \"One.\"}\n{broken\n{\"text\": \"Two.\"}\n{\"text\": \"Three.\"}\n";
        let mut seen = Vec::new();
        read_jsonl(data.as_bytes(), "x.jsonl", &mut |it| {
            seen.push(matches!(it, ReadItem::Document { .. }));
            // Stop after the second document.
            if seen.iter().filter(|d| **d).count() == 2 {
                Flow::Break(())
            } else {
                Flow::Continue(())
            }
        });
        assert_eq!(seen, vec![true, false, true], "line 4 is never read");
    }

    #[test]
    fn jsonl_rejects_invalid_utf8_lines() {
        let mut data = b"{\"text\": \"ok\"}\n".to_vec();
        data.extend_from_slice(b"{\"text\": \"\xff\xfe\"}\n");
        let mut bad = Vec::new();
        read_jsonl(&data[..], "x.jsonl", &mut |it| {
            if let ReadItem::Rejected(r) = it {
                bad.push(r)
            }
            Flow::Continue(())
        });
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, Some(2));
        assert!(bad[0].reason.contains("UTF-8"));
    }
}
