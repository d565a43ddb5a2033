//! The query planner: what a question asks, in time and in kind.
//!
//! - **Time scope** from explicit `time` parameters (which win) or from the question, resolved
//!   against `now` (a parameter; default the latest valid time in the namespace). Explicit periods
//!   ("in 2019", "Q3 2023", "between 2018 and 2020", "before 2019") scope **hard**: facts outside
//!   them are not evidence. Relative and vague ones ("last quarter", "recently", "this week")
//!   scope **soft**: they become a recency prior around their period.
//! - **Intent**: `specific` (facts about entities) or `abstract` (trends, comparisons, overviews),
//!   by cue words, overridable by `mode`.
//!
//! The plan says what it applied and why, so users can see how their question was read.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::time::{
    Granularity, Interval, Relation, SpanKind, TimeKey, TimeSpan, find_times, parse_time,
};
use crate::{Error, Result};

/// Explicit time parameters of a query (`at`, or `from` and/or `to`). On the wire either an
/// object with those fields or a string, which is `at` ("2023", "Q3 2024").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeParam {
    /// One period: "2019", "2024-Q3", "Q3 2024", "2024-07-15".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Start of a range (its period's start, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End of a range (its period's end, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl schemars::JsonSchema for TimeParam {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeParam".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The question's time scope: a string is one period (`\"2023\"`, `\"Q3 2024\"`, the same as `{\"at\": ...}`); an object has `at`, or `from` and/or `to`.",
            "oneOf": [
                {"type": "string", "maxLength": 256},
                {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "at": {"type": "string", "description": "One period: \"2019\", \"2024-Q3\", \"Q3 2024\", \"2024-07-15\""},
                        "from": {"type": "string", "description": "Start of a range (its period's start, inclusive)"},
                        "to": {"type": "string", "description": "End of a range (its period's end, inclusive)"}
                    }
                }
            ]
        })
    }
}

/// The object form of [`TimeParam`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeFields {
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

impl<'de> Deserialize<'de> for TimeParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TimeParam;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a period (\"2023\", \"Q3 2024\") or an object with `at`, or `from` and/or `to`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<TimeParam, E> {
                Ok(TimeParam {
                    at: Some(s.to_string()),
                    ..TimeParam::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                m: A,
            ) -> std::result::Result<TimeParam, A::Error> {
                let f = TimeFields::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
                Ok(TimeParam {
                    at: f.at,
                    from: f.from,
                    to: f.to,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Retrieval mode.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Decide from the question.
    #[default]
    Auto,
    /// Facts about entities (local path).
    Specific,
    /// Trends and comparisons over periods (global path, summaries).
    Abstract,
}

/// How the time scope restricts evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeScope {
    /// The periods asked about (one, or several for comparisons: "2021 and 2023").
    pub intervals: Vec<Interval>,
    /// Calendar units of the periods, when they are units.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<TimeKey>,
    /// The granularity asked at.
    pub granularity: Granularity,
    /// at / before / after / between.
    pub relation: Relation,
    /// Hard (only evidence inside counts) or soft (a recency prior).
    pub hard: bool,
    /// `parameter` or `question`.
    pub source: String,
    /// The text it came from.
    pub text: String,
    /// Why it was applied this way.
    pub reason: String,
}

impl TimeScope {
    /// Whether a valid time overlaps any of the scope's periods.
    pub fn overlaps(&self, iv: &Interval) -> bool {
        self.intervals.iter().any(|s| s.overlaps(iv))
    }

    /// Whether day keys `[s, e)` overlap any period.
    pub fn overlaps_keys(&self, s: i32, e: i32) -> bool {
        self.intervals
            .iter()
            .any(|iv| s < iv.end_key() && e > iv.start_key())
    }

    /// The hull of all periods.
    pub fn hull(&self) -> Interval {
        let mut it = self.intervals.iter();
        let first = *it.next().unwrap_or(&Interval::all());
        it.fold(first, |acc, iv| acc.hull(iv))
    }
}

/// Intent of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    /// Facts about entities.
    Specific,
    /// Trends, comparisons, overviews.
    Abstract,
}

/// What the planner understood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    /// The question.
    pub query: String,
    /// The question without its time expressions (what is matched by meaning).
    pub semantic_query: String,
    /// Specific or abstract.
    pub intent: Intent,
    /// Why.
    pub intent_reason: String,
    /// The time scope, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_scope: Option<TimeScope>,
    /// The parts of the question (entities of a list × periods, the measure), and whether each
    /// got evidence in the context.
    pub facets: super::facets::FacetPlan,
    /// The reference date relative expressions were resolved against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Where `now` came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_source: Option<String>,
    /// The transaction-time snapshot read.
    pub as_of_tx: u64,
    /// Set when nothing inside a hard scope matched and results come from outside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Other notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Parses a `now` parameter ("2024-08-15", "2024-Q3", "Q3 2024") into a calendar unit.
pub fn parse_now(s: &str) -> Result<TimeKey> {
    if let Ok(k) = TimeKey::parse(s.trim()) {
        return Ok(k);
    }
    let span = parse_time(s, None)?;
    span.key
        .or_else(|| TimeKey::from_interval(&span.interval))
        .ok_or_else(|| Error::invalid(format!("`now` must name one date or period, got {s:?}")))
}

fn param_interval(s: &str, reference: Option<&TimeKey>) -> Result<TimeSpan> {
    if let Ok(k) = TimeKey::parse(s.trim()) {
        return Ok(TimeSpan {
            start: 0,
            end: s.len(),
            text: s.to_string(),
            interval: k.interval(),
            granularity: k.granularity(),
            relation: Relation::At,
            kind: SpanKind::Explicit,
            key: Some(k),
        });
    }
    Ok(parse_time(s, reference)?)
}

/// Builds the time scope from explicit parameters.
pub fn scope_from_param(p: &TimeParam, reference: Option<&TimeKey>) -> Result<Option<TimeScope>> {
    if p.at.is_some() && (p.from.is_some() || p.to.is_some()) {
        return Err(Error::invalid(
            "give either time.at or time.from/time.to, not both",
        ));
    }
    if let Some(at) = &p.at {
        let s = param_interval(at, reference)?;
        return Ok(Some(TimeScope {
            intervals: vec![s.interval],
            keys: s.key.into_iter().collect(),
            granularity: s.granularity,
            relation: s.relation,
            hard: true,
            source: "parameter".into(),
            text: at.clone(),
            reason: "explicit time parameter (hard scope)".into(),
        }));
    }
    if p.from.is_none() && p.to.is_none() {
        return Ok(None);
    }
    let from = p
        .from
        .as_deref()
        .map(|f| param_interval(f, reference))
        .transpose()?;
    let to =
        p.to.as_deref()
            .map(|t| param_interval(t, reference))
            .transpose()?;
    let start = from.as_ref().and_then(|f| f.interval.start);
    let end = to.as_ref().and_then(|t| t.interval.end);
    let interval = Interval::new(start, end).map_err(|_| {
        Error::Time(crate::time::TimeError::EmptyRange(format!(
            "time.to ({}) is before time.from ({})",
            p.to.clone().unwrap_or_default(),
            p.from.clone().unwrap_or_default()
        )))
    })?;
    let granularity = from
        .as_ref()
        .or(to.as_ref())
        .map(|s| s.granularity)
        .unwrap_or(Granularity::Day);
    let relation = match (&from, &to) {
        (Some(_), Some(_)) => Relation::Between,
        (Some(_), None) => Relation::After,
        _ => Relation::Before,
    };
    Ok(Some(TimeScope {
        intervals: vec![interval],
        keys: vec![],
        granularity,
        relation,
        hard: true,
        source: "parameter".into(),
        text: format!(
            "{}..{}",
            p.from.clone().unwrap_or_default(),
            p.to.clone().unwrap_or_default()
        ),
        reason: "explicit time parameters (hard scope)".into(),
    }))
}

/// Conversational frames around a question, lower case ("Could you tell me …").
const FRAMES: &[&str] = &[
    "could you tell me",
    "can you tell me",
    "could you please tell me",
    "can you please tell me",
    "please tell me",
    "tell me",
    "i would like to know",
    "i'd like to know",
    "i want to know",
    "do you know",
    "please",
];

/// The question without a conversational frame at its start ("Could you tell me what …" →
/// "what …"): the frame carries no meaning for retrieval or for the caches.
pub fn without_frame(q: &str) -> &str {
    let t = q.trim_start();
    for f in FRAMES {
        if t.len() > f.len()
            && t.is_char_boundary(f.len())
            && t[..f.len()].eq_ignore_ascii_case(f)
            && t[f.len()..].starts_with([' ', ',', ':'])
        {
            return t[f.len()..].trim_start_matches([' ', ',', ':']);
        }
    }
    t
}

/// Builds the time scope from the question's own time expressions; also returns the question
/// with those expressions removed.
pub fn scope_from_question(q: &str, now: Option<&TimeKey>) -> (Option<TimeScope>, String) {
    scope_from_question_asked(q, now, false)
}

/// [`scope_from_question`] for a question asked at a `now` the caller gave (`asked_now`), as a
/// news reader asks: there a year used as an adjective before `now`'s year names an event
/// ("the 2020 election", "Euro 2017", "the 1973 decision") whose news is asked about now, not a
/// period to search. It leaves the scope (its words stay in the query), so the question gets the
/// recency scope of `now`. Without an explicit `now` (the default is the newest data) such a
/// year stays a hard scope: "the 2019 report" names where the evidence is.
pub fn scope_from_question_asked(
    q: &str,
    now: Option<&TimeKey>,
    asked_now: bool,
) -> (Option<TimeScope>, String) {
    const PREPOSITIONS: &[&str] = &[
        "in",
        "during",
        "for",
        "of",
        "since",
        "before",
        "after",
        "by",
        "from",
        "between",
        "until",
        "at",
        "on",
        "as",
        "through",
        "throughout",
        "within",
        "over",
    ];
    let mut spans = find_times(q, now);
    // "by 2026" beside a named period ("the target by 2026 stated in 2021", "the goal for
    // hybrids by 2020 in the 2012 report") is a deadline the evidence states, not a period to
    // search: the named periods scope the question and the deadline stays in its words.
    // Measured on Time-LongQA: +0.002 / +0.001 / +0.001; news and synthetic facets unchanged.
    let deadline = |s: &TimeSpan| {
        s.interval.start.is_none()
            && s.interval.end.is_some()
            && (s.text.to_lowercase().starts_with("by ")
                || q[..s.start].trim_end().to_lowercase().ends_with(" by"))
    };
    // A deadline alone does not make the question's other years mere adjectives: in "electric
    // by 2025, according to the company's 2018 strategy" the 2018 strategy is what is asked.
    // Nor does a year after a possessive ("Audi's 2021 strategy"): it is an adjective like the
    // bare years below, and leaves them their say ("… compare to its 2012 deliveries").
    let possessive = |s: &TimeSpan| {
        let before = q[..s.start].trim_end();
        is_year_text(s) && (before.ends_with("'s") || before.ends_with("\u{2019}s"))
    };
    let explicit = spans
        .iter()
        .any(|s| s.kind == SpanKind::Explicit && !deadline(s) && !possessive(s));
    // Years used as adjectives name a period too ("the 2019 report"); beside another explicit
    // time only those before a capitalised word count ("for 2013 …, as stated in Audi's 2012
    // Corporate Responsibility Report").
    let bare = bare_years(q, &spans);
    // Where every time found ends, to tell the last item of a list of times.
    let ends: Vec<usize> = spans.iter().chain(&bare).map(|s| s.end).collect();
    let extra: Vec<TimeSpan> = bare
        .into_iter()
        .filter(|s| {
            let next = q[s.end..].trim_start_matches([',', ' ']);
            let next = next.strip_prefix("and ").unwrap_or(next);
            // The last item of a list of times ("2023, 2020 August and 2018").
            let prev = q[..s.start].trim_end();
            let prev = prev
                .strip_suffix(" and")
                .or_else(|| prev.strip_suffix(" or"))
                .or_else(|| prev.strip_suffix(','))
                .map(str::trim_end);
            let ends_list = prev.is_some_and(|p| {
                // "2020 August" (a month after its year) ends where its year does.
                let word = p.rsplit(' ').next().unwrap_or("");
                let p = if crate::time::MONTH_NAMES
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(word))
                {
                    p[..p.len() - word.len()].trim_end()
                } else {
                    p
                };
                ends.contains(&p.len())
            });
            // "the Corporate Responsibility Report 2014": the year of a report's title.
            let titles = prev_word_is_report(&q[..s.start]);
            !explicit
                || ends_list
                || titles
                || next.chars().next().is_some_and(char::is_uppercase)
                || (next.len() >= 4 && next.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        })
        .collect();
    // Adjective years before the year of a given `now` name events (see above).
    let now_year_start = now
        .filter(|_| asked_now)
        .and_then(|n| TimeKey::year(n.start().year()).ok())
        .map(|k| k.interval().start_key());
    let events: Vec<usize> = extra
        .iter()
        .filter(|s| now_year_start.is_some_and(|y| s.interval.end_key() <= y))
        .map(|s| s.start)
        .collect();
    if !extra.is_empty() {
        spans.extend(extra);
        spans.sort_by_key(|s| s.start);
    }
    spans.retain(|s| !events.contains(&s.start));
    // Which expressions scope the question. An explicit period is a hard scope, with two
    // exceptions that keep it a soft one (and its words in the query):
    // - beside a recency expression anchored at `now` ("this week", "recently"), the recency
    //   decides when; the named period qualifies a subject ("the 2020 election", "her funeral
    //   in 1997") reported now;
    // - a period after `now` ("merge in 2024" asked in 2022) is a plan or a forecast, stated
    //   before it happens.
    let anchored_elsewhere = if now.is_some() {
        find_times(q, None)
    } else {
        Vec::new()
    };
    let recency = |s: &TimeSpan| {
        s.kind != SpanKind::Explicit
            && matches!(
                s.granularity,
                Granularity::Day | Granularity::Week | Granularity::Month
            )
            && !NOT_RECENCY.contains(&s.text.to_lowercase().as_str())
            && !anchored_elsewhere
                .iter()
                .any(|u| u.start == s.start && u.end == s.end)
            && now.is_some_and(|n| s.interval.start_key() < n.interval().end_key())
    };
    let future = |s: &TimeSpan| {
        s.interval.start.is_some()
            && now.is_some_and(|n| s.interval.start_key() >= n.interval().end_key())
    };
    let mut present: Vec<&TimeSpan> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Explicit && !future(s))
        .collect();
    if present.iter().any(|s| !deadline(s)) {
        present.retain(|s| !deadline(s));
    }
    // A baseline ("compared to the baseline year 2015", "relative to 2018") beside another
    // named period is what a figure is measured against, stated in the other period's report.
    let baseline = |s: &TimeSpan| {
        let before = q[..s.start].trim_end().to_lowercase();
        ["relative to", "baseline", "baseline year", "base year"]
            .iter()
            .any(|w| before.ends_with(w))
    };
    if present.iter().any(|s| !baseline(s)) {
        present.retain(|s| !baseline(s));
    }
    // A year that names the report a question asks about ("according to the 2018 Annual
    // Report", "as mentioned in the 2012 and 2019 reports", "its Corporate Responsibility
    // Report 2014") is where the evidence is; a period reaching past every report named is
    // what they look ahead to ("production starting in 2020 according to the 2018 report"),
    // not a period to search. An earlier one stays ("its achievements in 2021 and its targets,
    // as stated in the 2023 report": the 2021 report states the achievements).
    let reports = report_years(q, &present);
    if let Some(latest) = present
        .iter()
        .zip(&reports)
        .filter(|(_, r)| **r)
        .map(|(s, _)| s.interval.end_key())
        .max()
    {
        let mut report = reports.into_iter();
        present.retain(|s| report.next().unwrap_or(true) || s.interval.end_key() <= latest);
    }
    let recent: Vec<&TimeSpan> = spans.iter().filter(|s| recency(s)).collect();
    let (chosen, hard): (Vec<&TimeSpan>, bool) = if !present.is_empty() && recent.is_empty() {
        (present, true)
    } else if !present.is_empty() {
        (recent, false)
    } else {
        (spans.iter().collect(), false)
    };
    let mut semantic = String::with_capacity(q.len());
    let mut last = 0;
    for s in chosen.iter().copied() {
        let before = q[last..s.start].trim_end();
        // Drop the preposition that introduced the time expression ("in 2019").
        let before = match before.rsplit_once(char::is_whitespace) {
            Some((head, w)) if PREPOSITIONS.contains(&w.to_lowercase().as_str()) => head,
            None if PREPOSITIONS.contains(&before.to_lowercase().as_str()) => "",
            _ => before,
        };
        semantic.push_str(before);
        semantic.push(' ');
        last = s.end;
    }
    semantic.push_str(&q[last..]);
    let semantic = crate::model::collapse_spaces(&semantic);
    if chosen.is_empty() {
        return (None, semantic);
    }
    let granularity = chosen
        .iter()
        .map(|s| s.granularity)
        .max()
        .unwrap_or(Granularity::Year);
    let relation = if chosen.len() > 1 {
        Relation::At
    } else {
        chosen[0].relation
    };
    let text = chosen
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let reason = if hard {
        if chosen.len() > 1 {
            format!(
                "the question names {} periods ({text}); evidence must fall in one of them (hard scope)",
                chosen.len()
            )
        } else {
            format!(
                "the question names an explicit period ({text}); evidence must fall inside it (hard scope)"
            )
        }
    } else if chosen.iter().all(|s| future(s)) {
        format!(
            "\"{text}\" lies after now: a plan or forecast is stated before it, so it ranks evidence without excluding any (soft scope)"
        )
    } else {
        format!(
            "\"{text}\" is relative or vague; it ranks recent evidence higher without excluding older background (soft scope)"
        )
    };
    let mut intervals: Vec<Interval> = Vec::new();
    for s in &chosen {
        if !intervals.contains(&s.interval) {
            intervals.push(s.interval);
        }
    }
    let scope = TimeScope {
        intervals,
        keys: chosen.iter().filter_map(|s| s.key).collect(),
        granularity,
        relation,
        hard,
        source: "question".into(),
        text,
        reason,
    };
    (Some(scope), semantic)
}

/// Expressions anchored at `now` that mean "as things stand", not "in recent news": beside an
/// explicit period they leave it the scope ("currently offered as of 2023").
const NOT_RECENCY: &[&str] = &[
    "currently",
    "current",
    "now",
    "today",
    "to date",
    "at present",
    "presently",
    "nowadays",
];

/// Days before `now` that a question naming no period is taken to be about (soft).
pub const RECENT_DAYS: u64 = 30;

/// The soft scope of a question asked at `now` that names no period: the [`RECENT_DAYS`] up to
/// the end of `now`.
pub fn recent_scope(now: &TimeKey) -> TimeScope {
    let end = now.end();
    let start = end
        .checked_sub_days(chrono::Days::new(RECENT_DAYS))
        .unwrap_or(end);
    let interval = Interval::new(Some(start), Some(end)).unwrap_or_else(|_| now.interval());
    TimeScope {
        intervals: vec![interval],
        keys: vec![],
        granularity: Granularity::Day,
        relation: Relation::Between,
        hard: false,
        source: "now".into(),
        text: format!("the {RECENT_DAYS} days up to {now}"),
        reason: format!(
            "the question names no period and is asked at {now}: recent evidence ranks higher \
             without excluding older background (soft scope)"
        ),
    }
}

/// Whether a span is a bare four-digit year as written ("2019", not "in 2019" or "FY2019").
fn is_year_text(s: &TimeSpan) -> bool {
    s.text.len() == 4 && s.text.bytes().all(|c| c.is_ascii_digit())
}

/// Whether `before` ends with the word "report" (or "report of", "report in").
fn prev_word_is_report(before: &str) -> bool {
    let before = before.trim_end().to_lowercase();
    let before = before
        .strip_suffix(" of")
        .or_else(|| before.strip_suffix(" in"))
        .unwrap_or(&before);
    before.ends_with("report")
}

/// Which of `spans` (in question order) name a report: a year before "report" (with
/// "annual", "sustainability", "corporate responsibility" or "integrated" between), after
/// "report" or "report of", or listed before one that does ("the 2012 and 2019 Annual
/// Reports").
fn report_years(q: &str, spans: &[&TimeSpan]) -> Vec<bool> {
    const KINDS: &[&str] = &[
        "annual ",
        "sustainability ",
        "corporate responsibility ",
        "integrated ",
    ];
    let mut out = vec![false; spans.len()];
    for i in (0..spans.len()).rev() {
        let s = spans[i];
        if !is_year_text(s) {
            continue;
        }
        let after = q[s.end..].trim_start().to_lowercase();
        let after = KINDS
            .iter()
            .find_map(|k| after.strip_prefix(k))
            .unwrap_or(&after);
        let listed = spans.get(i + 1).is_some_and(|n| {
            out[i + 1]
                && matches!(
                    q[s.end..n.start].trim().trim_start_matches(',').trim(),
                    "" | "and" | "or" | "&"
                )
        });
        out[i] = after.starts_with("report") || prev_word_is_report(&q[..s.start]) || listed;
    }
    out
}

/// Years written as adjectives ("the 2019 report", "Audi's 2021 targets"): in a question they
/// name the period asked about, even without a preposition. Only whole 4-digit tokens in
/// 1900–2100 that do not overlap another time expression count.
fn bare_years(q: &str, taken: &[TimeSpan]) -> Vec<TimeSpan> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        // "2021,2022 and 2023": a comma straight before another year separates a list.
        let list_comma = b.get(i + 4) == Some(&b',')
            && b.len() >= i + 9
            && b[i + 5..i + 9].iter().all(u8::is_ascii_digit)
            && b.get(i + 9).is_none_or(|c| !c.is_ascii_digit());
        // A comma before a digit joins a number ("2014,500"); before a space it ends a clause
        // ("the Award 2014, and who won").
        let digit_comma =
            b.get(i + 4) == Some(&b',') && b.get(i + 5).is_some_and(u8::is_ascii_digit);
        let is_tok = b[i..i + 4].iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && (list_comma
                || b.get(i + 4)
                    .is_none_or(|c| !c.is_ascii_alphanumeric() && !digit_comma));
        if is_tok
            && let Ok(y) = q[i..i + 4].parse::<i32>()
            && (1900..=2100).contains(&y)
            && !taken.iter().any(|t| i < t.end && t.start < i + 4)
            && let Ok(k) = TimeKey::year(y)
        {
            out.push(TimeSpan {
                start: i,
                end: i + 4,
                text: q[i..i + 4].to_string(),
                interval: k.interval(),
                granularity: Granularity::Year,
                relation: Relation::At,
                kind: SpanKind::Explicit,
                key: Some(k),
            });
            i += 4;
            continue;
        }
        i += 1;
    }
    out
}

/// Decides the intent of a question by cue words; returns the intent and why.
pub fn classify_intent(q: &str, scope: Option<&TimeScope>) -> (Intent, String) {
    let lower = q.to_lowercase();
    const CUES: &[&str] = &[
        "how did",
        "how has",
        "how have",
        "evolve",
        "evolution",
        "trend",
        "over the years",
        "over time",
        "changed",
        "change over",
        "compare",
        "comparison",
        "comparing",
        "overview",
        "summar",
        "what happened",
        "key developments",
        "main themes",
        "themes",
        "developments",
        "progress",
        "history of",
        "year over year",
        "year-over-year",
        "shift",
        "differ",
    ];
    if let Some(c) = CUES.iter().find(|c| lower.contains(*c)) {
        return (
            Intent::Abstract,
            format!(
                "the question asks about change or comparison (\"{}\")",
                c.trim()
            ),
        );
    }
    if let Some(s) = scope
        && s.intervals.len() > 1
    {
        return (
            Intent::Abstract,
            "the question spans several periods".to_string(),
        );
    }
    (
        Intent::Specific,
        "the question asks for facts about specific entities".to_string(),
    )
}

/// The default reference date: the latest valid time in the namespace (a day key), from the
/// last day covered by any bounded fact or dated document.
pub fn default_now(latest_end_key: Option<i32>) -> Option<TimeKey> {
    let end = latest_end_key?;
    let day = NaiveDate::from_num_days_from_ce_opt(end.checked_sub(1)?)?;
    Some(TimeKey::day(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> TimeKey {
        TimeKey::parse(s).unwrap()
    }

    #[test]
    fn conversational_frames_are_not_part_of_the_question() {
        assert_eq!(
            without_frame("Could you tell me what Audi delivered?"),
            "what Audi delivered?"
        );
        assert_eq!(
            without_frame("I would like to know, who led Audi"),
            "who led Audi"
        );
        assert_eq!(without_frame("please: list the plants"), "list the plants");
        // Only whole frames at the start.
        assert_eq!(without_frame("Tell meetings apart"), "Tell meetings apart");
        assert_eq!(without_frame("Why tell me this?"), "Why tell me this?");
        assert_eq!(without_frame("please"), "please");
    }

    #[test]
    fn explicit_periods_scope_hard() {
        let (s, sem) = scope_from_question("What did Audi deliver in 2019?", None);
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2019").interval()]);
        assert_eq!(sem, "What did Audi deliver ?");
        let (s, _) = scope_from_question("How did emissions change between 2018 and 2020?", None);
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.relation, Relation::Between);
        assert_eq!(s.hull(), k("2018").interval().hull(&k("2020").interval()));
    }

    #[test]
    fn two_years_are_two_periods_not_a_range() {
        let (s, _) = scope_from_question(
            "Comparing new models in 2023 to plans in 2021, how is Audi progressing?",
            None,
        );
        let s = s.unwrap();
        assert_eq!(s.intervals.len(), 2);
        assert!(!s.overlaps(&k("2022").interval()));
        assert!(s.overlaps(&k("2021-05").interval()));
    }

    #[test]
    fn a_deadline_beside_a_named_period_is_not_a_period() {
        // "by 2020" is the goal's deadline; the 2012 report is where to look.
        let (s, sem) = scope_from_question(
            "What goal did Audi set regarding hybrid vehicles by 2020, as mentioned in the 2012 report?",
            None,
        );
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2012").interval()]);
        assert!(sem.contains("by 2020"), "{sem}");
        // Alone, "by 2020" still scopes the question (everything up to the end of 2020).
        let (s, _) = scope_from_question("Which sites were carbon neutral by 2020?", None);
        let s = s.unwrap();
        assert!(s.overlaps(&k("2019").interval()));
        assert!(!s.overlaps(&k("2021").interval()));
        // "before 2020" beside a year is a range of its own, not a deadline.
        let (s, _) = scope_from_question(
            "How did deliveries in 2023 compare to the years before 2020?",
            None,
        );
        assert!(s.unwrap().overlaps(&k("2015").interval()));
        // Beside a deadline alone, a year before a lower-case noun is the period asked.
        let (s, sem) = scope_from_question(
            "What percentage of Audi's vehicles are projected to be electric by 2025, according \
             to the company's 2018 strategy?",
            None,
        );
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2018").interval()]);
        assert!(sem.contains("by 2025"), "{sem}");
    }

    #[test]
    fn a_baseline_beside_a_named_period_is_not_a_period() {
        let (s, sem) = scope_from_question(
            "By what percentage does Audi aim to reduce CO2 emissions per vehicle by 2025, \
             compared to the baseline year 2015, according to the 2023 Annual Report?",
            None,
        );
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2023").interval()]);
        assert!(sem.contains("baseline year 2015"), "{sem}");
        // Alone, a baseline year is still the period asked.
        let (s, _) = scope_from_question("What were emissions in the base year 2015?", None);
        assert_eq!(s.unwrap().intervals, vec![k("2015").interval()]);
    }

    #[test]
    fn relative_periods_scope_soft_against_now() {
        let (s, _) = scope_from_question("What happened last quarter?", Some(&k("2024-08-15")));
        let s = s.unwrap();
        assert!(!s.hard);
        assert_eq!(s.intervals, vec![k("2024-Q2").interval()]);
        let (s, _) = scope_from_question("What happened last quarter?", None);
        assert!(s.is_none(), "relative expressions need a reference");
    }

    #[test]
    fn recency_beside_a_named_period_decides_when() {
        let now = k("2022-08-19");
        // News asked "now": the year qualifies what is reported this week.
        let (s, sem) = scope_from_question(
            "Rudy Giuliani appeared before a grand jury investigating the 2020 election this week. Where?",
            Some(&now),
        );
        let s = s.unwrap();
        assert!(!s.hard, "{s:?}");
        assert!(s.overlaps(&k("2022-08-18").interval()));
        assert!(!s.overlaps(&k("2020").interval()));
        assert!(sem.contains("2020 election"), "{sem}");
        let (s, _) = scope_from_question(
            "A 1952 baseball card recently sold at auction. How much?",
            Some(&now),
        );
        assert!(!s.unwrap().hard);
        // "As things stand" is no recency: the named period stays the hard scope.
        let (s, _) = scope_from_question(
            "Which countries does Audi currently serve as of 2021?",
            Some(&now),
        );
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2021").interval()]);
        // Without a `now`, nothing is anchored at it.
        let (s, _) = scope_from_question("What happened this week in 2020?", None);
        assert!(s.unwrap().hard);
        // An anaphor resolved against the named period is no recency either.
        let (s, _) = scope_from_question(
            "What did Audi deliver in March 2020 and the month before?",
            Some(&now),
        );
        assert!(s.unwrap().hard);
    }

    #[test]
    fn an_adjective_year_before_a_given_now_names_an_event() {
        let now = k("2022-07-28");
        for q in [
            "What percentage of Americans feel that Donald Trump acted unethically in trying to hold on to his office after the 2020 election?",
            "Sarina Wiegman previously led which national team to victory at the Uefa Women's Euro 2017?",
            "What was the case in which SCOTUS overturned Roe v. Wade, the 1973 decision?",
        ] {
            let (s, sem) = scope_from_question_asked(q, Some(&now), true);
            assert!(s.is_none(), "{q}: {s:?}");
            assert!(sem.contains("20") || sem.contains("1973"), "{sem}");
            // Without a given `now` (the default is the newest data), the year is the scope.
            let (s, _) = scope_from_question_asked(q, Some(&now), false);
            assert!(s.unwrap().hard, "{q}");
        }
        // A year introduced as a period stays one; so does the year of `now`.
        let (s, _) = scope_from_question_asked("Which team won the cup in 2020?", Some(&now), true);
        assert_eq!(s.unwrap().intervals, vec![k("2020").interval()]);
        let (s, _) =
            scope_from_question_asked("Which team won the 2022 Stanley Cup?", Some(&now), true);
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2022").interval()]);
    }

    #[test]
    fn a_period_after_now_is_a_plan_not_a_wall() {
        let now = k("2022-10-20");
        let (s, sem) =
            scope_from_question("Which two supermarkets plan to merge in 2024?", Some(&now));
        let s = s.unwrap();
        assert!(!s.hard, "{s:?}");
        assert!(s.reason.contains("after now"), "{}", s.reason);
        assert!(!sem.contains("2024"));
        // Before `now` it is the usual hard scope; without `now` nothing is in the future.
        let (s, _) = scope_from_question("Which supermarkets merged in 2021?", Some(&now));
        assert!(s.unwrap().hard);
        let (s, _) = scope_from_question("Which two supermarkets plan to merge in 2024?", None);
        assert!(s.unwrap().hard);
        // "By 2025" is open at its start: not wholly after `now`.
        let (s, _) = scope_from_question("How much coal will be burnt by 2025?", Some(&now));
        assert!(s.unwrap().hard);
    }

    #[test]
    fn parameters_win_and_are_checked() {
        let p = TimeParam {
            at: Some("Q3 2023".into()),
            ..Default::default()
        };
        let s = scope_from_param(&p, None).unwrap().unwrap();
        assert_eq!(s.intervals, vec![k("2023-Q3").interval()]);
        let p = TimeParam {
            from: Some("2018".into()),
            to: Some("2020".into()),
            ..Default::default()
        };
        let s = scope_from_param(&p, None).unwrap().unwrap();
        assert_eq!(s.intervals[0].to_string(), "2018-01-01..2021-01-01");
        let p = TimeParam {
            from: Some("2021".into()),
            to: Some("2019".into()),
            ..Default::default()
        };
        assert!(matches!(scope_from_param(&p, None), Err(Error::Time(_))));
        let p = TimeParam {
            at: Some("Q5 2023".into()),
            ..Default::default()
        };
        assert!(scope_from_param(&p, None).is_err());
        let p = TimeParam {
            at: Some("2019".into()),
            from: Some("2018".into()),
            ..Default::default()
        };
        assert!(matches!(scope_from_param(&p, None), Err(Error::Invalid(_))));
    }

    #[test]
    fn year_lists_glued_by_commas_are_periods() {
        for q in [
            "What were the total revenues of the Audi Group in 2021,2022 and 2023?",
            "What were the operating profit for the Audi Group in 2022,2019 and 2017?",
        ] {
            let (s, _) = scope_from_question(q, None);
            assert_eq!(s.unwrap().intervals.len(), 3, "{q}");
        }
        let (s, _) = scope_from_question(
            "When will the main key figures for 2013 be revised, as mentioned in Audi Group's \
             2012 Corporate Responsibility Report?",
            None,
        );
        // The year of the report it names: the figures for 2013 are what that report says.
        assert_eq!(s.unwrap().intervals, vec![k("2012").interval()]);
        let (s, _) = scope_from_question("How many of the 2,019 employees left in 2020?", None);
        assert_eq!(s.unwrap().intervals, vec![k("2020").interval()]);
    }

    #[test]
    fn adjective_years_in_questions_scope_hard() {
        let (s, sem) = scope_from_question(
            "What is Audi's goal, as stated in the 2019 Sustainability Report?",
            None,
        );
        let s = s.unwrap();
        assert!(s.hard);
        assert_eq!(s.intervals, vec![k("2019").interval()]);
        assert!(!sem.contains("2019"));
        let (s, _) = scope_from_question("How many of the 2,019 employees left?", None);
        assert!(s.is_none());
    }

    #[test]
    fn a_bare_year_that_ends_a_list_of_times_counts() {
        for q in [
            "What were Audi's vehicle delivery numbers in China for 2023 , 2020 August and 2018?",
            "Deliveries in Q1 2023, Q3 2022 or 2018?",
        ] {
            let (s, _) = scope_from_question(q, None);
            let s = s.unwrap();
            assert_eq!(s.intervals.len(), 3, "{q}: {:?}", s.intervals);
            assert!(s.intervals.contains(&k("2018").interval()), "{q}");
        }
        // A year after an explicit time but not in a list stays out ("in 2019 we sold 2000").
        let (s, _) =
            scope_from_question("How many cars did Audi sell in 2019 with 2000 staff?", None);
        assert_eq!(s.unwrap().intervals, vec![k("2019").interval()]);
    }

    /// Asserts that `q` is scoped to exactly the years `want` (in any order).
    fn assert_scoped_to(q: &str, want: &[&str]) {
        let (s, _) = scope_from_question(q, None);
        let mut got: Vec<Interval> = s.expect(q).intervals;
        got.sort_by_key(|i| i.start);
        let want: Vec<Interval> = want.iter().map(|y| k(y).interval()).collect();
        assert_eq!(got, want, "{q}");
    }

    #[test]
    fn years_in_lists_and_after_possessives_scope_the_question() {
        for (q, want) in [
            (
                "How does Audi's 2021 electric vehicle strategy (by 2026) compare to its 2012 \
                 vehicle delivery numbers?",
                &["2012", "2021"][..],
            ),
            (
                "How do Audi's 2023 electric vehicle deliveries compare to those in 2022?",
                &["2022", "2023"],
            ),
            (
                "How do Audi's investment commitments compare across 2018, 2020, and 2022?",
                &["2018", "2020", "2022"],
            ),
            (
                "What are the targets as stated in the 2019, 2022, and 2023 annual reports?",
                &["2019", "2022", "2023"],
            ),
            (
                "Did the sites fulfill the criteria in both 2021, 2022, and 2023?",
                &["2021", "2022", "2023"],
            ),
            (
                "What was the prize money for the Audi Urban Future Award 2014, and how many teams \
                 competed?",
                &["2014"],
            ),
        ] {
            assert_scoped_to(q, want);
        }
    }

    #[test]
    fn a_question_naming_a_report_searches_that_report() {
        for (q, want) in [
            (
                "What new model is expected to be produced starting in 2020 according to the \
                 2018 Annual Report?",
                &["2018"][..],
            ),
            (
                "What were the CO2 targets for 2025 and 2030, as mentioned in the 2012 and 2019 \
                 Annual Reports, respectively?",
                &["2012", "2019"],
            ),
            (
                "What were the achievements in 2021 and the targets for 2025 as stated in the \
                 2023 report?",
                &["2021", "2023"],
            ),
            (
                "What did the annual report in 2021 say, and how did the 2014 Annual Report \
                 differ?",
                &["2014", "2021"],
            ),
            (
                "What changed in 2013 according to the Corporate Responsibility Report 2014?",
                &["2013", "2014"],
            ),
        ] {
            assert_scoped_to(q, want);
        }
    }

    #[test]
    fn between_names_its_ends_in_either_order() {
        let (s, _) = scope_from_question("Which plan compares between 2021 and 2017?", None);
        let want = k("2017").interval().hull(&k("2021").interval());
        assert_eq!(s.unwrap().intervals, vec![want]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Arbitrary questions, time parameters and `now` values: the planner never panics, and
        /// every scope it builds is non-empty.
        #[test]
        fn planner_never_panics(q in "\\PC{0,120}", at in "\\PC{0,20}", now in "[0-9A-Za-z -]{0,16}") {
            let reference = parse_now(&now).ok();
            let (scope, semantic) = scope_from_question(&q, reference.as_ref());
            let _ = classify_intent(&q, scope.as_ref());
            proptest::prop_assert!(semantic.len() <= q.len() + 1);
            if let Some(s) = scope {
                proptest::prop_assert!(!s.intervals.is_empty());
            }
            let p = TimeParam { at: Some(at.clone()), ..Default::default() };
            let _ = scope_from_param(&p, reference.as_ref());
            let p = TimeParam { from: Some(at), to: Some(now), ..Default::default() };
            if let Ok(Some(s)) = scope_from_param(&p, reference.as_ref()) {
                proptest::prop_assert!(s.intervals[0].days().is_none_or(|d| d > 0));
            }
        }
    }

    #[test]
    fn intent_by_cues() {
        assert_eq!(
            classify_intent("How did Audi's strategy evolve from 2021 to 2024?", None).0,
            Intent::Abstract
        );
        assert_eq!(
            classify_intent("What was Audi's revenue in 2019?", None).0,
            Intent::Specific
        );
    }

    #[test]
    fn default_now_is_the_last_covered_day() {
        let end = k("2023").interval().end_key();
        assert_eq!(default_now(Some(end)).unwrap().to_string(), "2023-12-31");
        assert!(default_now(None).is_none());
    }
}
