//! Facets: the parts a question asks about — each named entity of a list ("which of A, B and
//! C…"), each period (the periods named, bounded ranges split at the granularity of their ends,
//! stepped ranges such as "each quarter after 2023" split into steps, open ranges bounded by the
//! namespace's own data) — and the measure asked ("gross margin").
//!
//! Retrieval seeks evidence per facet (entity × period) and the context is packed facet by facet,
//! so that a comparison of three companies or four quarters never spends its budget on one of
//! them. The plan reports every facet and whether it got evidence.
//!
//! **Architecture invariant:** planning is a pure function of the question, the time scope, the
//! namespace's data bounds and an entity lookup; it reads no clock and no index.

use serde::{Deserialize, Serialize};

use super::plan::TimeScope;
use crate::model::EntityId;
use crate::time::{Granularity, Interval, Relation, TimeKey, find_times};

/// Most periods a question is split into; a finer split is coarsened.
pub const MAX_PERIODS: usize = 16;
/// Most entities of one list.
pub const MAX_ENTITIES: usize = 8;
/// Most facets (entities × periods).
pub const MAX_FACETS: usize = 24;

/// An entity named in the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FacetEntity {
    /// The name as the question writes it.
    pub name: String,
    /// The entity it resolved to in the namespace, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<EntityId>,
    /// Names to look for in passages (the question's form, the entity's name and aliases).
    #[serde(skip)]
    pub names: Vec<String>,
}

/// A period asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FacetPeriod {
    /// `2024-Q3`, `2019`, or an interval `2020-01-01..2023-01-01`.
    pub label: String,
    /// Its days.
    pub interval: Interval,
    /// The words of the clause the question names this period in, when the question names its
    /// periods in clauses of their own ("new models **in 2023** compared to the electrification
    /// plans **in 2021**"): what is asked of this period in particular.
    #[serde(skip)]
    pub clause: Option<String>,
}

/// One entity × period part of the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Facet {
    /// Index into the plan's `entities`, absent for a facet of a period alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<usize>,
    /// Index into the plan's `periods`, absent for a facet of an entity alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<usize>,
    /// Readable label: `Velora · 2024-Q4`.
    pub label: String,
    /// Passages of the context that serve this facet.
    pub passages: usize,
    /// Whether any of them matches the facet's entity and period (after retrieval).
    pub evidence: bool,
}

/// The facets of a question.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FacetPlan {
    /// Entities of a list in the question (empty unless the question names two or more).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<FacetEntity>,
    /// Periods (empty without a time scope; one for a single period).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<FacetPeriod>,
    /// Step of a stepped range ("each quarter …"), when one was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Granularity>,
    /// The measure asked about, when the question names one ("gross margin").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Entity × period facets in question order (a single facet when the question has one part).
    pub facets: Vec<Facet>,
    /// How the facets were derived.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Names in the question that are entities of the namespace but not a listed facet ("the
    /// Audi Checkup"): what the question is about, weighted like the measure when sentences are
    /// scored (a rare name outranks generic measure words such as "took part").
    #[serde(skip)]
    pub named: Vec<String>,
}

impl FacetPlan {
    /// Whether the question has more than one part.
    pub fn is_multi(&self) -> bool {
        self.facets.len() > 1
    }
}

/// Resolves a name written in a question to an entity of the namespace: its id and names.
pub type Resolve<'a> = dyn Fn(&str) -> Option<(EntityId, Vec<String>)> + 'a;

/// Question words, stop words and comparison words: never a measure (nor are [`SUPERLATIVES`]).
const NOT_MEASURE: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "for",
    "by",
    "to",
    "from",
    "with",
    "and",
    "or",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "did",
    "do",
    "does",
    "has",
    "have",
    "had",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "how",
    "why",
    "among",
    "between",
    "than",
    "that",
    "this",
    "these",
    "those",
    "its",
    "their",
    "his",
    "her",
    "it",
    "they",
    "each",
    "every",
    "per",
    "all",
    "both",
    "top",
    "bottom",
    "more",
    "less",
    "higher",
    "lower",
    "better",
    "worse",
    "compare",
    "compared",
    "comparing",
    "comparison",
    "change",
    "changed",
    "changes",
    "evolve",
    "evolved",
    "develop",
    "developed",
    "trend",
    "over",
    "time",
    "period",
    "periods",
    "year",
    "years",
    "quarter",
    "quarters",
    "month",
    "months",
    "week",
    "weeks",
    "annual",
    "annually",
    "yearly",
    "quarterly",
    "monthly",
    "weekly",
    "report",
    "reported",
    "reports",
    "company",
    "companies",
    "s",
    "much",
    "many",
    "there",
    "any",
    // The asker and the asking ("could you tell me", "I would like to know the figure for").
    "i",
    "me",
    "my",
    "we",
    "us",
    "our",
    "you",
    "your",
    "could",
    "would",
    "can",
    "please",
    "tell",
    "know",
    "like",
    "figure",
    "figures",
    "after",
    "before",
    "since",
    "until",
    "during",
    "across",
    "respectively",
    "vs",
    "versus",
    "against",
    "show",
    "shows",
    "list",
    "give",
    "tell",
    "me",
    "about",
    "according",
    "state",
    "stated",
];

/// Superlatives: with "the quarter …" they ask for a step ("the quarter with the highest …").
const SUPERLATIVES: &[&str] = &[
    "highest",
    "lowest",
    "best",
    "worst",
    "most",
    "least",
    "largest",
    "smallest",
    "biggest",
    "greatest",
    "peak",
    "strongest",
    "weakest",
];

fn unit_word(w: &str) -> Option<Granularity> {
    match w {
        "year" | "years" | "annual" | "annually" | "yearly" => Some(Granularity::Year),
        "quarter" | "quarters" | "quarterly" => Some(Granularity::Quarter),
        "month" | "months" | "monthly" => Some(Granularity::Month),
        "week" | "weeks" | "weekly" => Some(Granularity::Week),
        _ => None,
    }
}

/// Words with their byte ranges (letters, digits, apostrophes and hyphens inside words).
fn words(q: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in q.char_indices() {
        let inside =
            c.is_alphanumeric() || ((c == '\'' || c == '’' || c == '-') && start.is_some());
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, q.len()));
    }
    out
}

/// The step asked for, from words outside time expressions: "each/every/per/which/what
/// quarter", "quarterly", or "the quarter … highest".
fn step_of(q: &str, spans: &[(usize, usize)]) -> Option<Granularity> {
    let ws = words(q);
    let lower: Vec<String> = ws.iter().map(|&(s, e)| q[s..e].to_lowercase()).collect();
    let outside = |i: usize| {
        let (s, e) = ws[i];
        !spans.iter().any(|&(a, b)| s < b && a < e)
    };
    let superlative = lower.iter().any(|w| SUPERLATIVES.contains(&w.as_str()));
    for (i, w) in lower.iter().enumerate() {
        let Some(g) = unit_word(w) else { continue };
        if !outside(i) {
            continue;
        }
        if matches!(
            w.as_str(),
            "quarterly" | "monthly" | "weekly" | "yearly" | "annually"
        ) {
            return Some(g);
        }
        let before = |k: usize| i.checked_sub(k).map(|j| lower[j].as_str());
        let cue = |w: Option<&str>| matches!(w, Some("each" | "every" | "per" | "which" | "what"));
        if cue(before(1)) || cue(before(2)) || (before(1) == Some("the") && superlative) {
            return Some(g);
        }
        // "quarter by quarter", "by quarter", "quarter over quarter", "quarter-on-quarter".
        let after = |k: usize| lower.get(i + k).map(String::as_str);
        if before(1) == Some("by")
            || (matches!(after(1), Some("by" | "over" | "on" | "to"))
                && after(2).and_then(unit_word) == Some(g))
        {
            return Some(g);
        }
    }
    None
}

/// Words that make a question a comparison of the ends of a range it names.
const COMPARISON_CUES: &[&str] = &[
    "compare",
    "compared",
    "compares",
    "comparing",
    "comparison",
    "differ",
    "differs",
    "differed",
    "difference",
    "differences",
    "change",
    "changed",
    "changes",
    "evolve",
    "evolved",
    "evolution",
    "contrast",
    "versus",
    "vs",
];

/// Whether the question compares (by [`COMPARISON_CUES`]).
fn compares(q: &str) -> bool {
    words(q)
        .into_iter()
        .any(|(s, e)| COMPARISON_CUES.contains(&q[s..e].to_lowercase().as_str()))
}

/// The calendar units of granularity `g` covering `iv` (bounded), or None when there would be
/// more than `max`.
fn steps(iv: &Interval, g: Granularity, max: usize) -> Option<Vec<TimeKey>> {
    let (start, end) = (iv.start?, iv.end?);
    let mut k = TimeKey::containing(start, g);
    let mut out = Vec::new();
    while k.start() < end {
        if out.len() == max || !k.is_supported() {
            return None;
        }
        out.push(k);
        k = k.shift(1);
    }
    Some(out)
}

/// The period as a label: its calendar unit when it is one, else the interval.
fn label_of(iv: &Interval) -> String {
    TimeKey::from_interval(iv).map_or_else(|| iv.to_string(), |k| k.to_string())
}

/// Clips an open or over-long interval to the namespace's data `[first, end)` (day keys).
fn bounded(iv: &Interval, bounds: Option<(i32, i32)>) -> Interval {
    let Some((first, end)) = bounds else {
        return *iv;
    };
    let day = |k: i32| chrono::NaiveDate::from_num_days_from_ce_opt(k);
    let start = match iv.start {
        Some(s) => Some(s),
        None => day(first),
    };
    let stop = match iv.end {
        Some(e) => Some(e),
        None => day(end),
    };
    Interval::new(start, stop).unwrap_or(*iv)
}

/// The periods of the scope: named periods as they are; bounded ranges split at the
/// granularity of their ends; a stepped range ("each quarter after 2023") split into steps;
/// open ranges bounded by the data. Periods wholly outside the data are dropped (noted).
fn periods(
    scope: &TimeScope,
    step: Option<Granularity>,
    ends_only: bool,
    bounds: Option<(i32, i32)>,
    notes: &mut Vec<String>,
) -> Vec<FacetPeriod> {
    let mut out: Vec<FacetPeriod> = Vec::new();
    let data = bounds.and_then(|(a, b)| {
        let day = |k: i32| chrono::NaiveDate::from_num_days_from_ce_opt(k);
        Interval::new(day(a), day(b)).ok()
    });
    for iv in &scope.intervals {
        let open = iv.start.is_none() || iv.end.is_none();
        let iv = if open { bounded(iv, bounds) } else { *iv };
        let unit = TimeKey::from_interval(&iv).map(|k| k.granularity());
        // The step: asked for, else the granularity of a range's ends, when the range is one
        // the question names ("from 2023-Q4 to 2024-Q3": a hard scope) in months or longer. A
        // relative or vague window ("over the past year", "the past 10 days", the recent days
        // before `now`) asks what happened in it, not in each of its units, and so does a range
        // of days: split per day, each day's share of the budget went to its own best
        // passages, however weak (news with a 14-day window before `now`, in a trial: 0.441 /
        // 0.576 / 0.604 split per day, 0.604 / 0.638 / 0.667 as one period).
        let g = step.or(match (scope.relation, unit) {
            (Relation::Between, None)
                if scope.intervals.len() == 1
                    && scope.hard
                    && scope.granularity >= Granularity::Month =>
            {
                Some(scope.granularity)
            }
            _ => None,
        });
        let split = g
            .filter(|g| unit.is_none_or(|u| u > *g))
            .and_then(|g| steps(&iv, g, MAX_PERIODS));
        // A comparison across a range ("how did X change between 2019 and 2023") compares its
        // ends: the two end units are the facets, not every unit between them.
        let split = split.map(|mut keys| {
            if ends_only && step.is_none() && keys.len() > 2 {
                let last = keys.len() - 1;
                keys.drain(1..last);
                notes.push(format!(
                    "a comparison between {} and {}: evidence is sought for the two ends",
                    keys[0], keys[1]
                ));
            }
            keys
        });
        match split {
            Some(keys) => out.extend(keys.into_iter().map(|k| FacetPeriod {
                label: k.to_string(),
                interval: k.interval(),
                clause: None,
            })),
            None => out.push(FacetPeriod {
                label: label_of(&iv),
                interval: iv,
                clause: None,
            }),
        }
    }
    if let Some(d) = data {
        let before = out.len();
        out.retain(|p| p.interval.overlaps(&d));
        if out.len() < before {
            notes.push(format!(
                "{} period(s) outside the namespace's data ({d}) were left out",
                before - out.len()
            ));
        }
    }
    out.truncate(MAX_PERIODS);
    out
}

/// Words that end a clause of a question: what follows asks about something else
/// ("… in 2023 **compared to** … in 2021").
const CLAUSE_BREAKS: &[&str] = &[
    "compare",
    "compared",
    "comparing",
    "versus",
    "vs",
    "while",
    "whereas",
    "against",
    "than",
    "and",
    "but",
];

/// Gives each period the words of the clause it is named in, when the periods are named in
/// different clauses: the question is cut at sentence marks, commas and [`CLAUSE_BREAKS`]; a
/// period's clause is the words (outside time expressions) of the pieces holding an expression
/// that overlaps it. Periods that share all their pieces, or whose pieces hold no other word,
/// get none.
fn clauses(q: &str, times: &[crate::time::TimeSpan], periods: &mut [FacetPeriod]) {
    if periods.len() < 2 || times.len() < 2 {
        return;
    }
    // Pieces: byte ranges between breaks.
    let ws = words(q);
    let inside_time = |s: usize, e: usize| times.iter().any(|t| s < t.end && e > t.start);
    let mut cuts: Vec<usize> = vec![0];
    for (i, c) in q.char_indices() {
        if matches!(c, '.' | '?' | '!' | ';' | ',' | ':') && !inside_time(i, i + 1) {
            cuts.push(i);
        }
    }
    for &(s, e) in &ws {
        if !inside_time(s, e) && CLAUSE_BREAKS.contains(&q[s..e].to_lowercase().as_str()) {
            cuts.push(s);
        }
    }
    cuts.push(q.len());
    cuts.sort_unstable();
    cuts.dedup();
    // A piece that names a period and no other word ("… in 2021 and 2023") continues the one
    // before it.
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    for w in cuts.windows(2) {
        let (ps, pe) = (w[0], w[1]);
        let bare = !ws.iter().any(|&(s, e)| {
            s >= ps && e <= pe && !inside_time(s, e) && {
                let w = q[s..e].to_lowercase();
                !NOT_MEASURE.contains(&w.as_str()) && !CLAUSE_BREAKS.contains(&w.as_str())
            }
        });
        match pieces.last_mut() {
            Some(last) if bare => last.1 = pe,
            _ => pieces.push((ps, pe)),
        }
    }
    let mut out: Vec<Option<String>> = Vec::with_capacity(periods.len());
    for p in periods.iter() {
        let mut text = String::new();
        for &(ps, pe) in &pieces {
            let holds = times
                .iter()
                .any(|t| t.start >= ps && t.start < pe && t.interval.overlaps(&p.interval));
            if !holds {
                continue;
            }
            for &(s, e) in ws.iter().filter(|&&(s, e)| s >= ps && e <= pe) {
                let w = &q[s..e];
                if !inside_time(s, e) && !NOT_MEASURE.contains(&w.to_lowercase().as_str()) {
                    text.push_str(w);
                    text.push(' ');
                }
            }
        }
        let text = text.trim();
        out.push((!text.is_empty()).then(|| text.to_string()));
    }
    if out.iter().all(|c| *c == out[0]) {
        return;
    }
    for (p, c) in periods.iter_mut().zip(out) {
        p.clause = c;
    }
}

/// Capitalised names in the question, with byte ranges: runs of words that start with a capital
/// letter or a digit-led model name inside a run ("Velora Inc.", "Audi Q4 e-tron"), minus a
/// leading question word. Possessive "'s" is dropped.
fn names(q: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    const LEAD: &[&str] = &[
        "Which", "What", "Who", "How", "When", "Where", "Why", "Did", "Does", "Do", "Is", "Are",
        "Was", "Were", "In", "On", "The", "Among", "Between", "Compare", "Of", "For", "And", "Or",
        "By", "At", "From", "To", "With", "Has", "Have",
    ];
    let ws = words(q);
    let mut out = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for (s, e) in ws {
        let w = &q[s..e];
        let in_time = spans.iter().any(|&(a, b)| s < b && a < e);
        let cap = w.chars().next().is_some_and(char::is_uppercase)
            && !(run.is_none() && LEAD.contains(&w));
        let joins = run.is_some_and(|(_, re)| q[re..s].trim().is_empty() || q[re..s].trim() == ".");
        if cap && !in_time && (run.is_none() || joins) {
            run = Some((run.map_or(s, |r| r.0), e));
        } else {
            if let Some(r) = run.take() {
                out.push(r);
            }
            if cap && !in_time {
                run = Some((s, e));
            }
        }
    }
    if let Some(r) = run {
        out.push(r);
    }
    out.into_iter()
        .map(|(s, e)| {
            let t = &q[s..e];
            let t = t
                .strip_suffix("'s")
                .or_else(|| t.strip_suffix("’s"))
                .unwrap_or(t);
            (s, s + t.len())
        })
        .collect()
}

/// Entities of a list: two or more names separated only by commas, "and", "or", "&", "vs".
fn entity_list(q: &str, names: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let sep = |between: &str| {
        let t = between.trim().trim_matches(',').trim().to_lowercase();
        let t = t.trim_start_matches(',').trim();
        matches!(
            t,
            "" | "and" | "or" | "&" | "vs" | "vs." | "versus" | "as well as"
        )
    };
    let mut best: Vec<(usize, usize)> = Vec::new();
    let mut cur: Vec<(usize, usize)> = Vec::new();
    for &(s, e) in names {
        match cur.last() {
            Some(&(_, pe)) if sep(&q[pe..s]) => cur.push((s, e)),
            _ => {
                if cur.len() > best.len() {
                    best = std::mem::take(&mut cur);
                }
                cur = vec![(s, e)];
            }
        }
    }
    if cur.len() > best.len() {
        best = cur;
    }
    if best.len() >= 2 { best } else { Vec::new() }
}

/// The measure: the question's content words outside names and time expressions.
fn measure_of(q: &str, skip: &[(usize, usize)]) -> Option<String> {
    let words: Vec<String> = words(q)
        .into_iter()
        .filter(|&(s, e)| !skip.iter().any(|&(a, b)| s < b && a < e))
        .map(|(s, e)| q[s..e].to_lowercase())
        .filter(|w| {
            w.chars().any(char::is_alphabetic)
                && !NOT_MEASURE.contains(&w.as_str())
                && !SUPERLATIVES.contains(&w.as_str())
                && w.chars().count() > 1
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Plans the facets of a question. `scope` is the plan's time scope, `bounds` the namespace's
/// data as day keys `[first, end)`, `now` the reference for relative expressions, `resolve`
/// looks a name up among the namespace's entities.
pub fn plan(
    q: &str,
    scope: Option<&TimeScope>,
    now: Option<&TimeKey>,
    bounds: Option<(i32, i32)>,
    resolve: &Resolve<'_>,
) -> FacetPlan {
    let found_times = find_times(q, now);
    let time_spans: Vec<(usize, usize)> = found_times.iter().map(|s| (s.start, s.end)).collect();
    let mut plan = FacetPlan::default();
    let step = step_of(q, &time_spans);
    if let Some(s) = scope {
        let ends_only = s.text.to_lowercase().starts_with("between") && compares(q);
        plan.periods = periods(s, step, ends_only, bounds, &mut plan.notes);
        plan.step = step.filter(|_| plan.periods.len() > 1);
        clauses(q, &found_times, &mut plan.periods);
    }
    let found = names(q, &time_spans);
    let list = entity_list(q, &found);
    for &(s, e) in list.iter().take(MAX_ENTITIES) {
        let name = q[s..e].trim_end_matches('.').to_string();
        let (id, mut names) = match resolve(&name) {
            Some((id, names)) => (Some(id), names),
            None => (None, Vec::new()),
        };
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            names.insert(0, name.clone());
        }
        plan.entities.push(FacetEntity { name, id, names });
    }
    if !plan.entities.is_empty() && plan.entities.iter().all(|e| e.id.is_none()) {
        plan.notes.push(
            "the names listed in the question are not entities of this namespace".to_string(),
        );
    }
    // Names of entities (and of the list) are not the measure; other capitalised words may
    // be ("EBITDA", "CO2").
    let mut skip = time_spans.clone();
    skip.extend(
        found
            .iter()
            .copied()
            .filter(|&(s, e)| list.contains(&(s, e)) || resolve(&q[s..e]).is_some()),
    );
    plan.measure = measure_of(q, &skip);
    plan.named = found
        .iter()
        .filter(|&&(s, e)| !list.contains(&(s, e)) && resolve(&q[s..e]).is_some())
        .map(|&(s, e)| q[s..e].to_string())
        .collect();
    let ents: Vec<Option<usize>> = if plan.entities.is_empty() {
        vec![None]
    } else {
        (0..plan.entities.len()).map(Some).collect()
    };
    let pers: Vec<Option<usize>> = if plan.periods.len() <= 1 {
        vec![(!plan.periods.is_empty()).then_some(0)]
    } else {
        (0..plan.periods.len()).map(Some).collect()
    };
    for p in &pers {
        for e in &ents {
            if plan.facets.len() == MAX_FACETS {
                plan.notes.push(format!(
                    "the question has more than {MAX_FACETS} parts; the first {MAX_FACETS} are sought"
                ));
                return plan;
            }
            let label = [
                e.map(|i| plan.entities[i].name.clone()),
                p.map(|i| plan.periods[i].label.clone()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            plan.facets.push(Facet {
                entity: *e,
                period: *p,
                label: if label.is_empty() {
                    "question".into()
                } else {
                    label
                },
                passages: 0,
                evidence: false,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::plan::scope_from_question;

    fn k(s: &str) -> TimeKey {
        TimeKey::parse(s).unwrap()
    }

    /// Data from 2015-01-01 to the end of 2024.
    fn bounds() -> Option<(i32, i32)> {
        Some((
            k("2015").interval().start_key(),
            k("2024").interval().end_key(),
        ))
    }

    fn known(name: &str) -> Option<(EntityId, Vec<String>)> {
        let all = [
            (1, "Velora Inc."),
            (2, "Cormix AG"),
            (3, "Astion plc"),
            (4, "Audi"),
        ];
        all.iter()
            .find(|(_, n)| {
                n.to_lowercase()
                    .starts_with(&name.to_lowercase().trim_end_matches('.').to_string())
            })
            .map(|(id, n)| (*id, vec![n.to_string()]))
    }

    fn check(
        q: &str,
        now: Option<&str>,
        periods: &[&str],
        entities: &[&str],
        measure: Option<&str>,
    ) {
        let now = now.map(k);
        let (scope, _) = scope_from_question(q, now.as_ref());
        let p = plan(q, scope.as_ref(), now.as_ref(), bounds(), &known);
        let got: Vec<&str> = p.periods.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(got, periods, "{q}");
        let got: Vec<&str> = p.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(got, entities, "{q}");
        assert_eq!(p.measure.as_deref(), measure, "{q}");
        assert_eq!(
            p.facets.len(),
            periods.len().max(1) * entities.len().max(1),
            "{q}"
        );
    }

    #[test]
    fn single_names_are_weighted_but_listed_ones_are_facets() {
        let q = "How many employees took part in the Audi Checkup program in 2012?";
        let (scope, _) = scope_from_question(q, None);
        let checkup = |n: &str| {
            n.eq_ignore_ascii_case("Audi Checkup")
                .then(|| (7, vec!["Audi Checkup".to_string()]))
        };
        let p = plan(q, scope.as_ref(), None, bounds(), &checkup);
        assert_eq!(p.named, ["Audi Checkup"]);
        assert!(p.entities.is_empty());
        assert_eq!(p.measure.as_deref(), Some("employees took part program"));
        // A name the namespace does not know is only a word of the question.
        let p = plan(q, scope.as_ref(), None, bounds(), &|_| None);
        assert!(p.named.is_empty());
        // Listed names are facets of their own, not weights.
        let q = "Which of Velora, Cormix and Astion had the highest gross margin in Q4 2024?";
        let (scope, _) = scope_from_question(q, None);
        let p = plan(q, scope.as_ref(), None, bounds(), &known);
        assert_eq!(p.entities.len(), 3);
        assert!(p.named.is_empty(), "{:?}", p.named);
    }

    #[test]
    fn periods_named_in_clauses_of_their_own_get_those_words() {
        let clauses = |q: &str| -> Vec<Option<String>> {
            let (scope, _) = scope_from_question(q, None);
            let p = plan(q, scope.as_ref(), None, bounds(), &known);
            p.periods.into_iter().map(|p| p.clause).collect()
        };
        let q = "How do the new model launch plans in 2023 compare to the new model productions \
                 commenced in 2020?";
        assert_eq!(
            clauses(q),
            [
                Some("new model launch plans".to_string()),
                Some("new model productions commenced".to_string())
            ]
        );
        // A list of periods shares one clause: no period gets words of its own.
        for q in [
            "What were Audi Group's return on investment (ROI) in 2021 and 2023, respectively?",
            "How did the net cash flow develop between 2019 and 2021?",
            "What was the revenue in 2018, 2019 and 2020?",
        ] {
            assert!(clauses(q).iter().all(Option::is_none), "{q}");
        }
        // One period: nothing to tell apart.
        assert_eq!(clauses("What was the revenue in 2021?"), [None]);
    }

    #[test]
    fn a_window_of_days_or_weeks_is_one_period_unless_each_unit_is_asked() {
        let now = Some("2022-10-06");
        // What happened in the window: one period.
        check(
            "Which state announced over the past 10 days that it is legalizing jaywalking?",
            now,
            &["2022-09-27..2022-10-07"],
            &[],
            Some("announced legalizing jaywalking"),
        );
        let (scope, _) = scope_from_question(
            "What did the city announce in the last two weeks?",
            now.map(k).as_ref(),
        );
        let p = plan(
            "What did the city announce in the last two weeks?",
            scope.as_ref(),
            now.map(k).as_ref(),
            bounds(),
            &known,
        );
        assert_eq!(p.periods.len(), 1, "{:?}", p.periods);
        // Each week asked: the weeks are the facets.
        let q = "How many cases were reported in each week of the past 3 weeks?";
        let (scope, _) = scope_from_question(q, now.map(k).as_ref());
        let p = plan(q, scope.as_ref(), now.map(k).as_ref(), bounds(), &known);
        assert!(p.periods.len() >= 3, "{:?}", p.periods);
        assert!(
            p.periods.iter().all(|p| p.label.contains('W')),
            "{:?}",
            p.periods
        );
    }

    #[test]
    fn facets_of_questions() {
        check(
            "Which of Velora, Cormix and Astion had the highest gross margin in Q4 2024?",
            None,
            &["2024-Q4"],
            &["Velora", "Cormix", "Astion"],
            Some("gross margin"),
        );
        check(
            "What was Velora's revenue in each quarter after 2023?",
            None,
            &["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"],
            &[],
            Some("revenue"),
        );
        check(
            "What was Cormix's operating margin each year before 2018?",
            None,
            &["2015", "2016", "2017"],
            &[],
            Some("operating margin"),
        );
        check(
            "How did the revenue of Velora develop quarter by quarter in 2018?",
            None,
            &["2018-Q1", "2018-Q2", "2018-Q3", "2018-Q4"],
            &[],
            Some("revenue"),
        );
        // A comparison between two years compares its ends; a step asked, or a range
        // without a comparison, keeps every unit.
        check(
            "How did Velora's approach to recycling change between 2019 and 2023?",
            None,
            &["2019", "2023"],
            &[],
            Some("approach recycling"),
        );
        check(
            "How did Velora's revenue develop between 2019 and 2021?",
            None,
            &["2019", "2020", "2021"],
            &[],
            Some("revenue"),
        );
        check(
            "Compare Velora's revenue in each year between 2019 and 2021.",
            None,
            &["2019", "2020", "2021"],
            &[],
            Some("revenue"),
        );
        check(
            "How did Velora's revenue change from Q4 2023 to Q3 2024?",
            None,
            &["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3"],
            &[],
            Some("revenue"),
        );
        check(
            "Which quarter after Q1 2023 had Astion's highest EBITDA?",
            None,
            &[
                "2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4",
            ],
            &[],
            Some("ebitda"),
        );
        check(
            "Compare the revenue of Velora and Cormix in 2021 and 2023.",
            None,
            &["2021", "2023"],
            &["Velora", "Cormix"],
            Some("revenue"),
        );
        // A single period, no list: one facet.
        check(
            "What is Audi's long-term goal for carbon-neutral mobility, as stated in the 2019 \
             Sustainability Report?",
            None,
            &["2019"],
            &[],
            Some("long-term goal carbon-neutral mobility sustainability"),
        );
        // No time at all.
        check(
            "Who drove the RS Q e-tron in the Dakar Rally?",
            None,
            &[],
            &[],
            Some("drove rs e-tron dakar rally"),
        );
        // Before the data: left out.
        check(
            "What was Velora's revenue between 2010 and 2016?",
            None,
            &["2010", "2011", "2012", "2013", "2014", "2015", "2016"][5..],
            &[],
            Some("revenue"),
        );
    }

    #[test]
    fn open_ranges_without_a_step_are_one_period_bounded_by_the_data() {
        let (scope, _) = scope_from_question("What did Velora say before 2017?", None);
        let p = plan(
            "What did Velora say before 2017?",
            scope.as_ref(),
            None,
            bounds(),
            &known,
        );
        assert_eq!(p.periods.len(), 1);
        assert_eq!(p.periods[0].label, "2015-01-01..2017-01-01");
    }

    #[test]
    fn planning_never_panics() {
        for q in [
            "",
            "?",
            "Q4",
            "A, B and C",
            "each quarter",
            "'s",
            "Which of ,, and?",
        ] {
            let (scope, _) = scope_from_question(q, None);
            let _ = plan(q, scope.as_ref(), None, bounds(), &known);
        }
    }
}
