//! The writer: one company's documents of one quarter (earnings call, sometimes news, a
//! sustainability report every fourth quarter), with the facts each sentence is expected to yield.

use super::FIRST_YEAR;
use super::world::{
    Company, FIRST_NAMES, LAST_NAMES, MONTHS, NEWSWIRES, ORDINALS, Person, REGIONS, Rng,
};
use crate::ingest::DocumentInput;

#[derive(Debug, Clone)]
pub(super) struct CompanyState {
    /// Revenue (billions) per quarter index, as first reported.
    pub(super) revenue: Vec<f64>,
    pub(super) units: f64,
    pub(super) margin: f64,
    pub(super) headcount: f64,
    pub(super) emissions: f64,
    pub(super) renewable: f64,
    pub(super) women_mgmt: f64,
    pub(super) hires: Vec<Person>,
}

/// Quarter index → (year, quarter 1–4).
pub(super) fn year_quarter(q: usize) -> (i32, usize) {
    (FIRST_YEAR + (q / 4) as i32, q % 4 + 1)
}

/// A whole number with thousands separators ("1,234,567"); negative numbers print as 0.
pub(super) fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Sentences written so far, and the facts they are expected to yield.
#[derive(Default)]
pub(super) struct Out {
    pub(super) expected: usize,
    sentences: Vec<String>,
}

impl Out {
    /// Adds a sentence that states `times` time expressions (yields max(1, times) facts).
    fn say(&mut self, times: usize, s: String) {
        self.expected += times.clamp(1, 3);
        self.sentences.push(s);
    }

    /// The sentences as text, a paragraph break every `paragraph_every` sentences.
    fn take_text(&mut self, paragraph_every: usize) -> String {
        let mut text = String::new();
        for (i, s) in self.sentences.drain(..).enumerate() {
            if i > 0 {
                text.push_str(if i % paragraph_every == 0 {
                    "\n\n"
                } else {
                    " "
                });
            }
            text.push_str(&s);
        }
        text
    }
}

/// A quarter, written one of three ways.
fn qlabel(r: &mut Rng, year: i32, qn: usize) -> String {
    match r.below(3) {
        0 => format!("Q{qn} {year}"),
        1 => format!("the {} quarter of {year}", ORDINALS[qn - 1]),
        _ => format!("the {} quarter of fiscal {year}", ORDINALS[qn - 1]),
    }
}

/// Writes one company's documents for one quarter, counting the facts it expects.
pub(super) struct Writer {
    r: Rng,
    q: usize,
    year: i32,
    qn: usize,
    pub(super) out: Out,
}

impl Writer {
    pub(super) fn new(seed: u64, company: usize, quarter: usize) -> Self {
        let (year, qn) = year_quarter(quarter);
        Writer {
            r: Rng::new(seed, ((company as u64) << 20) ^ quarter as u64),
            q: quarter,
            year,
            qn,
            out: Out::default(),
        }
    }

    fn month_in_quarter(&mut self) -> &'static str {
        MONTHS[(self.qn - 1) * 3 + self.r.below(3)]
    }

    pub(super) fn company_quarter(
        &mut self,
        c: &Company,
        st: &mut CompanyState,
    ) -> Vec<DocumentInput> {
        let mut docs = vec![self.earnings_call(c, st)];
        if self.r.chance(0.25) {
            docs.push(self.news(c, st));
        }
        if self.qn == 4 {
            docs.push(self.sustainability(c, st));
        }
        docs
    }

    fn earnings_call(&mut self, c: &Company, st: &mut CompanyState) -> DocumentInput {
        let (year, qn, q) = (self.year, self.qn, self.q);
        // Move the figures.
        let season = [0.96, 1.0, 1.01, 1.04][qn - 1];
        st.units *= 1.0 + c.growth + self.r.range(-0.04, 0.04);
        let units = st.units * season;
        let revenue = units * c.sector.revenue_per_unit * self.r.range(0.97, 1.03) / 1e9;
        st.revenue.push(revenue);
        st.margin = (st.margin + self.r.range(-1.2, 1.2)).clamp(-5.0, 35.0);
        let net = revenue * 1000.0 * st.margin / 100.0 * 0.72;
        let s = c.short.clone();

        // Headline with the ticker; one explicit time, maybe one relative.
        let label = qlabel(&mut self.r, year, qn);
        if q >= 4 {
            let prev = st.revenue[q - 4];
            let change = (revenue / prev - 1.0) * 100.0;
            let dir = if change >= 0.0 { "up" } else { "down" };
            self.out.say(
                2,
                format!(
                    "{} ({}: {}) reported revenue of ${revenue:.2} billion for {label}, {dir} {:.1}% from ${prev:.2} billion a year earlier.",
                    c.name,
                    c.exchange,
                    c.ticker,
                    change.abs()
                ),
            );
        } else {
            self.out.say(
                1,
                format!(
                    "{} ({}: {}) reported revenue of ${revenue:.2} billion for {label}.",
                    c.name, c.exchange, c.ticker
                ),
            );
        }
        // Units, against last quarter.
        if q >= 1 {
            let prev_units = st.units / (1.0 + c.growth) * [0.96, 1.0, 1.01, 1.04][(qn + 2) % 4];
            self.out.say(
                2,
                format!(
                    "The company {} {} {} in Q{qn} {year}, compared with {} last quarter.",
                    c.sector.verb,
                    thousands(units),
                    c.sector.unit,
                    thousands(prev_units)
                ),
            );
        } else {
            self.out.say(
                1,
                format!(
                    "The company {} {} {} in Q{qn} {year} across its markets.",
                    c.sector.verb,
                    thousands(units),
                    c.sector.unit
                ),
            );
        }
        let region = *self.r.pick(REGIONS);
        self.out.say(
            0,
            format!(
                "Demand in {region} was particularly strong, and the order backlog at the end of the period covered roughly {} weeks of production.",
                4 + self.r.below(20)
            ),
        );
        self.out.say(
            1,
            format!(
                "Operating margin was {:.1}% in {}, while net income reached ${net:.0} million.",
                st.margin,
                qlabel(&mut self.r, year, qn)
            ),
        );
        if q >= 4 {
            self.out.say(
                1,
                format!(
                    "Gross profit grew faster than sales compared with the same quarter last year, and the share of services in revenue rose to {:.1}%.",
                    self.r.range(4.0, 25.0)
                ),
            );
        }
        // A quote from the chief executive (no time: stated at the document time).
        let product = c.products[(q / 4).min(c.products.len() - 1)].clone();
        let place = c.plants[self.r.below(c.plants.len())].clone();
        let quote = *self.r.pick(&[
            "We saw strong demand for the {p} across our markets",
            "Customers are responding well to the {p}, and our {pl} plant is running at full capacity",
            "The {p} is now our best-selling product and we keep investing in {pl}",
            "Our teams delivered a solid quarter and the {p} keeps gaining share",
        ]);
        let quote = quote.replace("{p}", &product).replace("{pl}", &place);
        self.out.say(
            0,
            format!(
                "\"{quote},\" said {}, the {} of {s}.",
                c.ceo.name, c.ceo.role
            ),
        );
        self.out.say(
            0,
            format!(
                "{}, the company's {}, said free cash flow was ${:.0} million and that the balance sheet remains strong.",
                c.cfo.name,
                c.cfo.role,
                net * self.r.range(0.5, 1.3)
            ),
        );
        // Launches, plants and people, dated to a month.
        if q % 4 == 1 {
            let month = self.month_in_quarter();
            self.out.say(
                1,
                format!(
                    "{s} launched the {product} in {month} {year} at its plant in {place}, where it added a new assembly line."
                ),
            );
        }
        if self.r.chance(0.5) {
            self.out.say(
                1,
                format!(
                    "Production at the {place} plant rose {:.1}% in {}, helped by higher automation and fewer supply bottlenecks.",
                    self.r.range(1.0, 12.0),
                    qlabel(&mut self.r, year, qn)
                ),
            );
        }
        if self.r.chance(0.12) {
            let hire = Person {
                name: format!("{} {}", self.r.pick(FIRST_NAMES), self.r.pick(LAST_NAMES)),
                role: self
                    .r
                    .pick(&[
                        "chief technology officer",
                        "head of sustainability",
                        "chief operating officer",
                        "head of sales",
                    ])
                    .to_string(),
            };
            let month = self.month_in_quarter();
            self.out.say(
                1,
                format!(
                    "{} joined {s} as {} in {month} {year}, reporting to {}.",
                    hire.name, hire.role, c.ceo.name
                ),
            );
            st.hires.push(hire);
        }
        // Occasionally restate an earlier quarter (the old figure stays in the old document).
        if q >= 2 && self.r.chance(0.08) {
            let back = 1 + self.r.below(2);
            let (py, pq) = year_quarter(q - back);
            let old = st.revenue[q - back];
            let new = old * self.r.range(0.95, 1.05);
            self.out.say(
                1,
                format!(
                    "{s} restated its revenue for Q{pq} {py} to ${new:.2} billion from the ${old:.2} billion it reported originally, citing a change in revenue recognition."
                ),
            );
        }
        // Guidance: a future period, stated at the document time.
        let (ny, nq) = year_quarter(q + 1);
        let mid = revenue * (1.0 + c.growth);
        self.out.say(
            1,
            format!(
                "For Q{nq} {ny}, management expects revenue between ${:.2} billion and ${:.2} billion.",
                mid * 0.97,
                mid * 1.03
            ),
        );
        st.headcount *= 1.0 + c.growth * 0.5 + self.r.range(-0.01, 0.01);
        let month = MONTHS[qn * 3 - 1];
        self.out.say(
            1,
            format!(
                "The company employed {} people at the end of {month} {year}.",
                thousands(st.headcount)
            ),
        );
        let title = format!("{} Q{qn} {year} earnings call", c.name);
        DocumentInput {
            id: Some(format!(
                "{}-{year}-q{qn}-call",
                c.ticker.to_ascii_lowercase()
            )),
            text: self.out.take_text(4),
            time: Some(format!("{year}-Q{qn}")),
            title: Some(title),
            source: Some("synthetic".into()),
            metadata: metadata(c, "earnings_call"),
        }
    }

    fn news(&mut self, c: &Company, st: &CompanyState) -> DocumentInput {
        let (year, qn) = (self.year, self.qn);
        let m = (qn - 1) * 3 + self.r.below(3);
        let day = 1 + self.r.below(28);
        let wire = *self.r.pick(NEWSWIRES);
        let month = MONTHS[m];
        let s = c.short.clone();
        let region = *self.r.pick(REGIONS);
        self.out.say(
            1,
            format!(
                "{s} shares moved after {wire} reported on {month} {day}, {year} that the company is in talks to expand in {region}."
            ),
        );
        let est = st.units * self.r.range(0.9, 1.1);
        self.out.say(
            1,
            format!(
                "According to {wire}, {s} {} about {} {} in Q{qn} {year}, a figure the company did not confirm.",
                c.sector.verb,
                thousands(est),
                c.sector.unit
            ),
        );
        self.out.say(
            0,
            format!(
                "Analysts said the plan would put pressure on competitors and could lift margins at the plant in {}.",
                c.plants[0]
            ),
        );
        let date = format!("{year}-{:02}-{day:02}", m + 1);
        DocumentInput {
            id: Some(format!("{}-{date}-news", c.ticker.to_ascii_lowercase())),
            text: self.out.take_text(3),
            time: Some(date),
            title: Some(format!("{s} in talks to expand in {region}")),
            source: Some("synthetic".into()),
            metadata: metadata(c, "news"),
        }
    }

    fn sustainability(&mut self, c: &Company, st: &mut CompanyState) -> DocumentInput {
        let year = self.year;
        let s = c.short.clone();
        let prev = st.emissions;
        st.emissions *= self.r.range(0.86, 1.02);
        let change = (st.emissions / prev - 1.0) * 100.0;
        self.out.say(
            2,
            format!(
                "{s} emitted {:.2} million tonnes of CO2 equivalent in {year}, {} {:.1}% from {}.",
                st.emissions,
                if change <= 0.0 { "down" } else { "up" },
                change.abs(),
                year - 1
            ),
        );
        st.renewable = (st.renewable + self.r.range(1.0, 7.0)).min(100.0);
        self.out.say(
            1,
            format!(
                "Renewable electricity covered {:.0}% of the group's energy use in fiscal {year}.",
                st.renewable
            ),
        );
        self.out.say(
            1,
            format!(
                "Water withdrawal at the plant in {} fell to {:.2} million cubic meters in {year}.",
                c.plants[1],
                st.emissions * self.r.range(0.8, 1.2)
            ),
        );
        let before = st.women_mgmt;
        st.women_mgmt = (st.women_mgmt + self.r.range(0.0, 2.0)).min(50.0);
        self.out.say(
            2,
            format!(
                "Women held {:.1}% of management positions in {year}, compared with {:.1}% the prior year.",
                st.women_mgmt, before
            ),
        );
        self.out.say(
            1,
            format!(
                "{s} aims to reach net zero emissions across its plants by {}, and it plans to source all electricity from renewables.",
                year + 10 + self.r.below(16) as i32
            ),
        );
        self.out.say(
            0,
            format!(
                "The report was prepared under the guidance of {}, who oversees sustainability at {s} and chairs its climate committee.",
                st.hires
                    .iter()
                    .rev()
                    .find(|h| h.role.contains("sustainability"))
                    .unwrap_or(&c.ceo)
                    .name
            ),
        );
        let title = format!("{} Sustainability Report {year}", c.name);
        DocumentInput {
            id: Some(format!(
                "{}-{year}-sustainability",
                c.ticker.to_ascii_lowercase()
            )),
            text: format!("# {title}\n\n{}", self.out.take_text(3)),
            time: Some(year.to_string()),
            title: Some(title),
            source: Some("synthetic".into()),
            metadata: metadata(c, "sustainability_report"),
        }
    }
}

fn metadata(c: &Company, kind: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("company".into(), c.name.clone().into());
    m.insert("ticker".into(), c.ticker.clone().into());
    m.insert("kind".into(), kind.into());
    m
}
