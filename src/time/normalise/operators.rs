//! Open-ended expressions: "since 2020", "after Q1 2024", "before 2019", "until 2019",
//! "by 2025", "from 2020 onwards", and "as of 31 December 2019" (semantics table in the
//! documentation of `normalise`).

use super::context::{Cue, Cx, Denot, Op, Parsed};
use super::lexicon::{Kw, Lex};

impl Cx<'_> {
    /// Open-ended and "as of" expressions starting at `i`.
    pub(super) fn operator(&self, i: usize) -> Parsed<Denot> {
        use Kw::*;
        let Some(Lex::Kw(k)) = self.lex(i) else {
            return None;
        };
        let next = |n: usize, k: Kw| self.kw(i + n, k);
        let (j, op, cue) = match k {
            Since => (i + 1, Op::AfterStart, Cue::Strong),
            After => (i + 1, Op::AfterEnd, Cue::Strong),
            Before => (i + 1, Op::BeforeStart, Cue::Strong),
            Until => (i + 1, Op::BeforeEnd, Cue::Strong),
            Through | By => (i + 1, Op::BeforeEnd, Cue::Weak),
            Up if next(1, To) => (i + 2, Op::BeforeEnd, Cue::Weak),
            Up if next(1, Until) => (i + 2, Op::BeforeEnd, Cue::Strong),
            Prior if next(1, To) => (i + 2, Op::BeforeStart, Cue::Strong),
            Pre => (self.opt_hyphen(i + 1), Op::BeforeStart, Cue::Strong),
            Post => (self.opt_hyphen(i + 1), Op::AfterEnd, Cue::Strong),
            Earlier if next(1, Than) => (i + 2, Op::BeforeStart, Cue::Strong),
            Later if next(1, Than) => (i + 2, Op::AfterEnd, Cue::Strong),
            No | Not if next(1, Later) && next(2, Than) => (i + 3, Op::BeforeEnd, Cue::Strong),
            On if next(1, Or) && next(2, Before) => (i + 3, Op::BeforeEnd, Cue::Strong),
            On if next(1, Or) && next(2, After) => (i + 3, Op::AfterStart, Cue::Strong),
            As if next(1, Of) || next(1, At) => (i + 2, Op::At, Cue::Strong),
            As if next(1, From) => (i + 2, Op::AfterStart, Cue::Strong),
            Starting | Beginning | Effective if !next(1, Of) => {
                let j = i + 1;
                let j = if matches!(self.lex(j), Some(Lex::Kw(In | From | With | On))) {
                    j + 1
                } else {
                    j
                };
                (j, Op::AfterStart, Cue::Strong)
            }
            From => return self.onwards_from(i),
            _ => return None,
        };
        let (e, r) = self.point(j, cue)?;
        Some((e, r.map(|p| Denot::with_op(p, op))))
    }

    /// "from 2020 onwards", "from 2020 on".
    fn onwards_from(&self, i: usize) -> Parsed<Denot> {
        let (e, r) = self.point(i + 1, Cue::Weak)?;
        let p = r.ok()?;
        let end = self
            .onwards(e)
            .or_else(|| (self.kw(e, Kw::On) && self.clause_end(e + 1)).then_some(e + 1))?;
        Some((end, Ok(Denot::with_op(p, Op::AfterStart))))
    }

    /// A postfix that opens the end of a point at `e`: "onwards", "and beyond", "or later".
    pub(super) fn onwards(&self, e: usize) -> Option<usize> {
        if self.kw(e, Kw::Onwards) {
            return Some(e + 1);
        }
        let conj = self.kw(e, Kw::And) || self.kw(e, Kw::Or);
        (conj && (self.kw(e + 1, Kw::Beyond) || self.kw(e + 1, Kw::Later))).then_some(e + 2)
    }
}
