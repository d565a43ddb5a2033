//! Context assembly: one text for an LLM prompt, most relevant first, within a character budget,
//! every passage cited `[document id · time] title`.
//!
//! **Coverage first.** Passages come in one ranked list per facet (entity × period); the packer
//! takes every facet's best passage, then every facet's second, and so on, so a comparison of
//! three companies or four quarters never spends its budget on one of them. A passage already
//! placed (the same text serving two facets) is not repeated, nor is a copy of a placed one in
//! another document of about the same date (a news story syndicated by several outlets:
//! [`NEAR_COPY`] of its word 5-grams already placed from documents dated within [`COPY_DAYS`] of
//! it); the same text in reports of different years stays, each citing its year. The last
//! passage that does not fit is cut at a sentence boundary when that leaves little room unused, at a word otherwise,
//! or left out when less than a useful piece would remain.
//!
//! **Budget-stable.** Nothing here depends on the budget except where packing stops, so the
//! context asked at a budget B starts like the context asked at 4B.

/// One block to place: its identity (to skip repeats) and its rendered text.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// What the block is: `(document, start, end)` ranges of two blocks of the same document
    /// that overlap are the same evidence; `(u64::MAX, n, n)` for other units.
    pub span: (u64, usize, usize),
    /// Header line and text, without the trailing blank line.
    pub text: String,
    /// Where the document's title sits in `text` (after the citation on the header line): a
    /// context prints it with the document's first block only, so later blocks of the same
    /// document cost only their citation.
    pub title: Option<std::ops::Range<usize>>,
    /// The document's time as a day key (its start), which tells copies of one story from the
    /// same text in another period; `None` for blocks that are not document passages.
    pub day: Option<i32>,
}

/// One facet's ranked blocks: the first `first` are packed round robin with the other facets'
/// first ones; the rest only fill what all of those leave of the budget (a facet about a
/// company: the passages that do not name it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blocks {
    /// Best first.
    pub blocks: Vec<Block>,
    /// How many blocks come first.
    pub first: usize,
}

/// The packed context and how many blocks each facet got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packed {
    /// The context.
    pub text: String,
    /// Blocks placed per facet (same order as the input lists).
    pub per_facet: Vec<usize>,
    /// Which blocks were placed: `(facet, index in its list)`, in context order.
    pub placed: Vec<(usize, usize)>,
}

/// Share of a passage's word 5-grams that, already placed from documents of about its date,
/// make it a copy.
const NEAR_COPY: f32 = 0.8;

/// Documents dated this many days apart or less can be copies of one story.
const COPY_DAYS: i64 = 7;

/// Fewest word 5-grams a passage needs to be judged a copy (shorter ones are too short to
/// tell).
const MIN_GRAMS: usize = 8;

/// Hashes of the word 5-grams of a block's text (its header line left out), lower-cased.
fn grams(block: &Block) -> Vec<u64> {
    use std::hash::Hasher;
    let body = block.text.split_once('\n').map_or("", |(_, b)| b);
    let words: Vec<u64> = body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut h = rustc_hash::FxHasher::default();
            w.chars()
                .flat_map(char::to_lowercase)
                .for_each(|c| h.write_u32(c as u32));
            h.finish()
        })
        .collect();
    words
        .windows(5)
        .map(|w| {
            let mut h = rustc_hash::FxHasher::default();
            w.iter().for_each(|x| h.write_u64(*x));
            h.finish()
        })
        .collect()
}

/// The 5-grams of the placed blocks, each with the days of the documents it came from.
#[derive(Default)]
struct Placed {
    grams: rustc_hash::FxHashMap<u64, Vec<i32>>,
}

impl Placed {
    fn add(&mut self, day: i32, grams: &[u64]) {
        for g in grams {
            let days = self.grams.entry(*g).or_default();
            if !days.contains(&day) {
                days.push(day);
            }
        }
    }

    /// Whether a block of `day` with these `grams` copies what is placed.
    fn copies(&self, day: i32, grams: &[u64]) -> bool {
        if grams.len() < MIN_GRAMS {
            return false;
        }
        let near = |d: &i32| (i64::from(*d) - i64::from(day)).abs() <= COPY_DAYS;
        let seen = grams
            .iter()
            .filter(|g| self.grams.get(g).is_some_and(|days| days.iter().any(near)))
            .count();
        seen as f32 >= NEAR_COPY * grams.len() as f32
    }
}

/// Smallest piece of a cut passage worth keeping (characters).
const MIN_PIECE: usize = 200;

/// Room a cut may leave unused to end at a sentence (characters); a cut that would leave more
/// ends at a word instead.
const SENTENCE_SLACK: usize = 150;

/// Formats a citation: `[document · time]`.
pub fn cite(document: &str, time: Option<&str>) -> String {
    match time {
        Some(t) => format!("[{document} · {t}]"),
        None => format!("[{document}]"),
    }
}

/// Appends `text` to `out` if it fits in `budget` characters (`used`: the characters `out`
/// holds, kept up to date); cuts it at a sentence (or word) boundary otherwise, keeping at least
/// `min_piece` characters or nothing. Returns whether it all fit.
fn push_bounded(
    out: &mut String,
    used: &mut usize,
    text: &str,
    budget: usize,
    min_piece: usize,
) -> bool {
    let room = budget.saturating_sub(*used);
    let n = text.chars().count();
    if n <= room {
        out.push_str(text);
        *used += n;
        return true;
    }
    // Room for the ellipsis and the blank line that separates a cut piece from the next one.
    const TAIL: &str = "…\n\n";
    let room = room.saturating_sub(TAIL.chars().count());
    if room < min_piece {
        return false;
    }
    let cut = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let end = head
        .rfind(". ")
        .map(|i| i + 1)
        .filter(|&i| i >= min_piece && i + SENTENCE_SLACK >= cut)
        .or_else(|| head.rfind(' '))
        .unwrap_or(cut);
    let piece = text[..end].trim_end();
    out.push_str(piece);
    out.push_str(TAIL);
    *used += piece.chars().count() + TAIL.chars().count();
    false
}

/// A passage's text as the context shows it: trailing spaces cut from every line (Markdown
/// line breaks, PDF conversion), empty lines dropped (a blank line separates passages, not
/// paragraphs of one), runs of spaces and tabs made one space. The budget is characters, so
/// layout whitespace would displace evidence; the words and their order are unchanged.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let mut space = false;
        for c in line.chars() {
            if c == ' ' || c == '\t' {
                space = true;
                continue;
            }
            if space && !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn overlaps(a: (u64, usize, usize), b: (u64, usize, usize)) -> bool {
    a.0 == b.0 && (a == b || (a.0 != u64::MAX && a.1 < b.2 && b.1 < a.2))
}

/// The length the facets' first blocks are cut to when together they do not fit `budget`:
/// the level at which the short ones stay whole and the long ones share the rest equally
/// (`None` when they fit, for one facet, or when the level would leave pieces too short to
/// read).
fn first_round_cap(facets: &[Blocks], budget: usize) -> Option<usize> {
    let mut lens: Vec<usize> = facets
        .iter()
        .filter_map(|l| l.blocks.first())
        .map(|b| b.text.trim_end().chars().count() + 2)
        .collect();
    if lens.len() < 2 || lens.iter().sum::<usize>() <= budget {
        return None;
    }
    lens.sort_unstable();
    let mut room = budget;
    for (i, &len) in lens.iter().enumerate() {
        let left = lens.len() - i;
        if len * left > room {
            let level = room / left;
            return (level >= 2 * MIN_PIECE).then_some(level);
        }
        room -= len;
    }
    None
}

/// Packs the facets' ranked blocks round robin within `budget` characters. When the facets'
/// first blocks together do not fit, the long ones are cut (at a sentence) to what leaves room
/// for the others ([`first_round_cap`]), so that the last facet's best block is not the one
/// left out: a block may be several merged passages of one document, longer than its share.
pub fn pack(facets: &[Blocks], budget: usize) -> Packed {
    let mut out = Packed {
        text: String::with_capacity(budget.min(1 << 20)),
        per_facet: vec![0; facets.len()],
        placed: Vec::new(),
    };
    let mut next = vec![0usize; facets.len()];
    let mut spans: Vec<(u64, usize, usize)> = Vec::new();
    let mut copies = Placed::default();
    // Documents with a block in the context (their title is printed once).
    let mut titled: Vec<u64> = Vec::new();
    let mut cap = first_round_cap(facets, budget);
    // Characters in `out.text` (the budget counts characters, as `budget_chars` says).
    let mut used = 0usize;
    // First the facets' first blocks, then the rest.
    let mut second = false;
    'rounds: loop {
        let mut any = false;
        for (f, list) in facets.iter().enumerate() {
            let end = if second {
                list.blocks.len()
            } else {
                list.first.min(list.blocks.len())
            };
            // This facet's next block that is not a repeat.
            while let Some(b) = list.blocks[..end].get(next[f]) {
                next[f] += 1;
                if spans.iter().any(|s| overlaps(*s, b.span)) {
                    continue;
                }
                let grams = b.day.map(|_| grams(b)).unwrap_or_default();
                if b.day.is_some_and(|day| copies.copies(day, &grams)) {
                    continue;
                }
                any = true;
                let block = match &b.title {
                    Some(r) if b.span.0 != u64::MAX && titled.contains(&b.span.0) => {
                        format!("{}{}\n\n", &b.text[..r.start], b.text[r.end..].trim_end())
                    }
                    _ => format!("{}\n\n", b.text.trim_end()),
                };
                let limit = cap.map_or(budget, |c| budget.min(used + c));
                let whole = push_bounded(&mut out.text, &mut used, &block, limit, MIN_PIECE);
                if whole || out.text.ends_with("…\n\n") {
                    spans.push(b.span);
                    if b.span.0 != u64::MAX && !titled.contains(&b.span.0) {
                        titled.push(b.span.0);
                    }
                    if let Some(day) = b.day {
                        copies.add(day, &grams);
                    }
                    out.per_facet[f] += 1;
                    out.placed.push((f, next[f] - 1));
                }
                if !whole && limit == budget {
                    break 'rounds;
                }
                break;
            }
        }
        // Shares bound the first round only.
        cap = None;
        if !any {
            if second {
                break;
            }
            second = true;
        }
    }
    if used > budget {
        let cut = out
            .text
            .char_indices()
            .nth(budget)
            .map_or(out.text.len(), |(i, _)| i);
        out.text.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    impl From<Vec<Block>> for Blocks {
        /// All blocks first.
        fn from(blocks: Vec<Block>) -> Self {
            let first = blocks.len();
            Blocks { blocks, first }
        }
    }

    #[test]
    fn tidy_drops_layout_whitespace_only() {
        assert_eq!(
            tidy("  Deliveries rose.  \n\n   \nIn 2023   Audi\tdelivered  \n1.9 million cars."),
            "Deliveries rose.\nIn 2023 Audi delivered\n1.9 million cars."
        );
        assert_eq!(tidy(""), "");
        assert_eq!(tidy("one"), "one");
    }

    fn block(doc: u64, start: usize, text: &str) -> Block {
        let cite = format!("[doc-{doc} · 2019]");
        Block {
            span: (doc, start, start + text.len()),
            text: format!("{cite} Report\n{text}"),
            title: Some(cite.len()..cite.len() + " Report".len()),
            // Documents a thousand days apart: the same text in two of them is no copy.
            day: Some(doc as i32 * 1000),
        }
    }

    /// A story syndicated by two outlets days apart is placed once; the same text in reports a
    /// year apart, and a passage too short to judge, are placed each time.
    #[test]
    fn copies_of_one_story_are_placed_once() {
        let story = "The senators announced an agreement on gun safety legislation this week, \
                     but several major reforms were not included in the proposed deal, aides said.";
        let copy = story.replace("aides said", "officials said");
        let dated = |doc: u64, day: i32, text: &str| Block {
            day: Some(day),
            ..block(doc, 0, text)
        };
        let other = "Lawmakers in the state capital passed a budget that raises school funding.";
        let news = Blocks::from(vec![
            dated(1, 100, story),
            dated(2, 103, &copy),
            dated(3, 104, other),
        ]);
        let packed = pack(&[news], 10_000);
        assert!(packed.text.contains("[doc-1 "), "{}", packed.text);
        assert!(
            !packed.text.contains("[doc-2 "),
            "the copy was placed: {}",
            packed.text
        );
        assert!(packed.text.contains("[doc-3 "), "{}", packed.text);

        let reports = Blocks::from(vec![dated(1, 0, story), dated(2, 365, story)]);
        let packed = pack(&[reports], 10_000);
        assert!(packed.text.contains("[doc-1 ") && packed.text.contains("[doc-2 "));

        let short = "Revenue rose.";
        let packed = pack(
            &[Blocks::from(vec![dated(1, 0, short), dated(2, 1, short)])],
            10_000,
        );
        assert!(packed.text.contains("[doc-1 ") && packed.text.contains("[doc-2 "));

        // A block that is no document passage (a summary) is never judged a copy.
        let summary = |n: usize| Block {
            span: (u64::MAX, n, n),
            text: format!("[summary {n}]\n{story}"),
            title: None,
            day: None,
        };
        let packed = pack(&[Blocks::from(vec![summary(1), summary(2)])], 10_000);
        assert!(packed.text.contains("[summary 1]") && packed.text.contains("[summary 2]"));
    }

    /// A document's title is printed with its first block only; every block keeps its citation.
    #[test]
    fn a_title_is_printed_once_per_document() {
        let blocks = vec![
            block(1, 0, "Deliveries rose to 1.9 million cars."),
            block(2, 0, "Emissions fell by 12 percent."),
            block(1, 500, "Revenue reached 69.9 billion euros."),
        ];
        let p = pack(&[blocks.into()], 10_000);
        assert_eq!(
            p.text,
            "[doc-1 · 2019] Report\nDeliveries rose to 1.9 million cars.\n\n\
             [doc-2 · 2019] Report\nEmissions fell by 12 percent.\n\n\
             [doc-1 · 2019]\nRevenue reached 69.9 billion euros.\n\n"
        );
    }

    #[test]
    fn stays_within_budget_and_cites_every_passage() {
        let blocks: Vec<Block> = (0..20)
            .map(|i| {
                block(
                    i,
                    0,
                    &format!("Sentence one of chunk {i}. Sentence two is a bit longer than one. ")
                        .repeat(5),
                )
            })
            .collect();
        for budget in [300, 1000, 4000, 8000] {
            let p = pack(&[blocks.clone().into()], budget);
            let n = p.text.chars().count();
            assert!(n <= budget, "{n} > {budget}");
            assert!(p.text.starts_with("[doc-0 · 2019] Report"));
            for b in p.text.split("\n\n").filter(|b| !b.trim().is_empty()) {
                assert!(b.trim_start().starts_with("[doc-"), "uncited: {b}");
            }
        }
    }

    /// The budget counts characters, as the API's `budget_chars` says: text with many
    /// multi-byte characters fills it as plain ASCII does.
    #[test]
    fn the_budget_counts_characters_not_bytes() {
        let blocks: Vec<Block> = (0..20)
            .map(|i| block(i, 0, &"Umsatz “gut”: 5 € – 7 € · CO₂ −3 %. ".repeat(6)))
            .collect();
        for budget in [1000, 4000] {
            let p = pack(&[blocks.clone().into()], budget);
            let n = p.text.chars().count();
            assert!(n <= budget, "{n} > {budget}");
            assert!(n + MIN_PIECE + 5 >= budget, "{n} characters of {budget}");
            assert!(p.text.len() > budget, "the bytes may exceed the budget");
        }
    }

    /// A facet's blocks after its first ones (passages that do not name the facet's company)
    /// wait until every facet's first ones are placed, and then fill what is left.
    #[test]
    fn blocks_after_the_first_ones_only_fill_what_is_left() {
        let a: Vec<Block> = (0..3).map(|i| block(i, 0, "Acme sold more.")).collect();
        let b: Vec<Block> = (10..13).map(|i| block(i, 0, "Birch sold less.")).collect();
        let facets = [
            Blocks {
                blocks: a,
                first: 1,
            },
            Blocks {
                blocks: b,
                first: 2,
            },
        ];
        let p = pack(&facets, 10_000);
        assert_eq!(
            p.placed,
            vec![(0, 0), (1, 0), (1, 1), (0, 1), (1, 2), (0, 2)]
        );
        assert_eq!(p.per_facet, vec![3, 3]);
        // With room for the three first ones (39, 41 and 41 characters) and not a fourth
        // (pieces under MIN_PIECE are left out), only first ones are placed.
        let p = pack(&facets, 150);
        assert_eq!(p.placed, vec![(0, 0), (1, 0), (1, 1)]);
    }

    #[test]
    fn every_facet_gets_its_best_block_before_any_gets_a_second() {
        let a: Vec<Block> = (0..5)
            .map(|i| block(1, i * 100, &format!("A{i} text.")))
            .collect();
        let b: Vec<Block> = (0..5)
            .map(|i| block(2, i * 100, &format!("B{i} text.")))
            .collect();
        let c: Vec<Block> = vec![block(3, 0, "C0 text.")];
        let p = pack(&[a.into(), b.into(), c.into()], 10_000);
        let order: Vec<&str> = p
            .text
            .split("\n\n")
            .filter_map(|b| b.lines().nth(1))
            .collect();
        assert_eq!(
            &order[..4],
            ["A0 text.", "B0 text.", "C0 text.", "A1 text."]
        );
        assert_eq!(p.per_facet, vec![5, 5, 1]);
    }

    #[test]
    fn a_long_first_block_leaves_room_for_every_other_facet() {
        // Facet A's best block is long (merged passages of one report); B's and C's are short.
        let long = "A sentence about the first quarter of the year. ".repeat(60);
        let a = vec![block(1, 0, &long)];
        let b = vec![block(2, 0, &"B's best passage. ".repeat(20))];
        let c = vec![block(3, 0, &"C's best passage. ".repeat(20))];
        let budget = 2000;
        let p = pack(
            &[a.clone().into(), b.clone().into(), c.clone().into()],
            budget,
        );
        assert!(p.text.chars().count() <= budget);
        assert_eq!(p.per_facet, vec![1, 1, 1], "{}", p.text);
        // The short blocks stay whole; only the long one is cut, at a sentence.
        assert!(
            p.text
                .contains(&"C's best passage. ".repeat(20).trim_end().to_string())
        );
        assert!(p.text.contains("year.…"), "{}", p.text);
        // With room for all, nothing is cut.
        let roomy = pack(&[a.into(), b.into(), c.into()], 10_000);
        assert!(!roomy.text.contains('…'));
    }

    #[test]
    fn the_last_block_is_cut_at_a_sentence_only_when_that_wastes_little_room() {
        // The only sentence end lies far before the budget: the cut ends at a word instead.
        let long = format!("Short one. {}", "word ".repeat(200));
        let (mut out, mut used) = (String::new(), 0);
        assert!(!push_bounded(&mut out, &mut used, &long, 600, 20));
        assert_eq!(used, out.chars().count());
        assert!(
            out.len() > 600 - SENTENCE_SLACK && out.len() <= 600,
            "{}",
            out.len()
        );
        assert!(out.ends_with("word…\n\n"), "{out}");
        // A sentence end close to the budget is where the cut ends.
        let text = format!("{}. {}", "a".repeat(540), "more words ".repeat(10));
        let (mut out, mut used) = (String::new(), 0);
        assert!(!push_bounded(&mut out, &mut used, &text, 600, 20));
        assert_eq!(out, format!("{}.…\n\n", "a".repeat(540)));
    }

    #[test]
    fn repeats_are_skipped_and_a_smaller_budget_is_a_prefix() {
        let shared = block(7, 0, "Shared passage about both.");
        let a = vec![shared.clone(), block(1, 0, "Only A.")];
        let b = vec![shared, block(2, 0, "Only B.")];
        let p = pack(&[a.clone().into(), b.clone().into()], 10_000);
        assert_eq!(p.text.matches("Shared passage").count(), 1);
        assert_eq!(p.per_facet, vec![2, 1]);
        let big = pack(&[a.clone().into(), b.clone().into()], 4_000).text;
        for budget in [40, 60, 90, 120] {
            let small = pack(&[a.clone().into(), b.clone().into()], budget).text;
            let whole: Vec<&str> = small.split("\n\n").filter(|s| !s.ends_with('…')).collect();
            assert!(big.starts_with(&whole.join("\n\n")), "{budget}: {small:?}");
        }
    }
}
