//! The synthetic world: a seeded random generator, word lists, sectors, people and companies.

use std::collections::HashSet;

/// SplitMix64: a small, fast, well-mixed deterministic generator.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        r.next_u64();
        r
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform in [lo, hi).
    pub(super) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }
}

pub(super) const SYLLABLES_A: &[&str] = &[
    "Vel", "Cor", "Ast", "Bren", "Hal", "Nor", "Lum", "Tar", "Kel", "Mar", "Sol", "Orv", "Quin",
    "Dal", "Fen", "Gar", "Isk", "Jor", "Lan", "Mer", "Nov", "Pel", "Rav", "Sten", "Tor", "Ul",
    "Var", "Wes", "Zan", "Cal",
];
pub(super) const SYLLABLES_B: &[&str] = &[
    "ora", "ex", "ion", "ant", "ara", "ia", "ix", "on", "eon", "ova", "yn", "eta", "is", "ar",
    "enza", "ost", "um", "iva", "ent", "ada", "ence", "ir", "une", "ay", "en", "ith", "os", "ura",
    "al", "eda",
];
pub(super) const LEGAL: &[&str] = &["Inc.", "Corp.", "AG", "plc", "Group", "SE"];
pub(super) const EXCHANGES: &[&str] = &["NASDAQ", "NYSE", "XETRA", "LSE", "TSX"];
pub(super) const FIRST_NAMES: &[&str] = &[
    "Anna", "Markus", "Priya", "Daniel", "Sofia", "Jonas", "Elena", "Tomas", "Laura", "Henrik",
    "Maya", "Lukas", "Claire", "Rafael", "Ingrid", "Oliver", "Yuki", "Mateo", "Hannah", "Victor",
    "Amara", "Felix", "Nadia", "Samuel", "Leonie", "Arjun", "Camille", "Diego", "Freya", "Kenji",
];
pub(super) const LAST_NAMES: &[&str] = &[
    "Keller",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Brandt",
    "Castillo",
    "Novak",
    "Harrington",
    "Tanaka",
    "Schreiber",
    "Oduya",
    "Fischer",
    "Marchetti",
    "Andersen",
    "Kowalski",
    "Delgado",
    "Whitfield",
    "Bergmann",
    "Sato",
    "Lambert",
    "Rossi",
    "Nakamura",
    "Hoffmann",
    "Quinlan",
    "Petrov",
    "Almeida",
    "Vogel",
    "Eriksen",
    "Duarte",
    "Winslow",
];
pub(super) const PLACES: &[&str] = &[
    "Ingolstadt",
    "Austin",
    "Shenzhen",
    "Monterrey",
    "Gdansk",
    "Pune",
    "Leipzig",
    "Valencia",
    "Nagoya",
    "Tianjin",
    "Kecskemet",
    "Chattanooga",
    "Curitiba",
    "Bratislava",
    "Chennai",
    "Toulouse",
    "Brno",
    "Rayong",
    "Queretaro",
    "Ulsan",
    "Linz",
    "Eindhoven",
    "Sheffield",
    "Ostrava",
];
pub(super) const REGIONS: &[&str] = &[
    "Europe",
    "North America",
    "China",
    "India",
    "Latin America",
    "Southeast Asia",
    "Japan",
    "the Middle East",
];
pub(super) use crate::time::MONTH_NAMES as MONTHS;
pub(super) const ORDINALS: &[&str] = &["first", "second", "third", "fourth"];
pub(super) const NEWSWIRES: &[&str] = &[
    "Reuters",
    "Bloomberg",
    "the Financial Times",
    "Handelsblatt",
];

/// A sector: what a company's name says, what it sells and counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sector {
    /// Word in company names ("Motors").
    pub name_word: &'static str,
    /// What the unit metric counts ("vehicles").
    pub unit: &'static str,
    /// The verb of the unit metric ("delivered").
    pub verb: &'static str,
    /// Typical units per quarter.
    pub units_base: f64,
    /// Typical revenue per unit (dollars).
    pub revenue_per_unit: f64,
    /// Product family words ("EX", "Terra").
    pub product_words: [&'static str; 3],
}

pub(super) const SECTORS: &[Sector] = &[
    Sector {
        name_word: "Motors",
        unit: "vehicles",
        verb: "delivered",
        units_base: 180_000.0,
        revenue_per_unit: 42_000.0,
        product_words: ["EX", "Terra", "Volt"],
    },
    Sector {
        name_word: "Energy",
        unit: "GWh",
        verb: "generated",
        units_base: 9_000.0,
        revenue_per_unit: 180_000.0,
        product_words: ["SolarMax", "GridCore", "Helix"],
    },
    Sector {
        name_word: "Robotics",
        unit: "units",
        verb: "shipped",
        units_base: 24_000.0,
        revenue_per_unit: 55_000.0,
        product_words: ["Arm", "Rover", "Pick"],
    },
    Sector {
        name_word: "Semiconductor",
        unit: "units",
        verb: "shipped",
        units_base: 2_600_000.0,
        revenue_per_unit: 900.0,
        product_words: ["Nano", "Core", "Edge"],
    },
    Sector {
        name_word: "Logistics",
        unit: "customers",
        verb: "served",
        units_base: 310_000.0,
        revenue_per_unit: 6_500.0,
        product_words: ["Route", "Dock", "Flow"],
    },
    Sector {
        name_word: "Foods",
        unit: "tons",
        verb: "sold",
        units_base: 420_000.0,
        revenue_per_unit: 3_100.0,
        product_words: ["Harvest", "Crisp", "Gold"],
    },
];

/// A person of the synthetic world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// Role ("chief executive officer").
    pub role: String,
}

/// A company of the synthetic world.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    /// Legal name ("Velora Motors Inc.").
    pub name: String,
    /// Short name used in running text ("Velora").
    pub short: String,
    /// Exchange ticker ("VLRM").
    pub ticker: String,
    /// Exchange ("NASDAQ").
    pub exchange: String,
    /// Sector.
    pub sector: Sector,
    /// Headquarters.
    pub headquarters: String,
    /// Plants.
    pub plants: Vec<String>,
    /// Products (launched over time).
    pub products: Vec<String>,
    /// Chief executive officer.
    pub ceo: Person,
    /// Chief financial officer.
    pub cfo: Person,
    /// Quarterly revenue growth drift.
    pub(super) growth: f64,
    /// Units in the first quarter.
    pub(super) units0: f64,
}

/// Company number `index` of the world of `seed`; `names` and `tickers` hold those already
/// taken (a new company never reuses one).
pub(super) fn company(
    seed: u64,
    index: u64,
    names: &mut HashSet<String>,
    tickers: &mut HashSet<String>,
) -> Company {
    let mut r = Rng::new(seed, 1_000_003 + index);
    let sector = *r.pick(SECTORS);
    let mut short;
    let mut attempt = 0;
    loop {
        short = format!("{}{}", r.pick(SYLLABLES_A), r.pick(SYLLABLES_B));
        if attempt > 8 {
            short.push_str(r.pick::<&str>(SYLLABLES_B));
        }
        attempt += 1;
        if names.insert(short.clone()) {
            break;
        }
    }
    let name = format!("{short} {} {}", sector.name_word, r.pick(LEGAL));
    let mut ticker: String = short
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase();
    ticker.push(sector.name_word.as_bytes()[0] as char);
    while !tickers.insert(ticker.clone()) {
        if ticker.len() >= 5 {
            ticker.truncate(3);
        }
        ticker.push((b'A' + r.below(26) as u8) as char);
    }
    let person = |r: &mut Rng, role: &str| Person {
        name: format!("{} {}", r.pick(FIRST_NAMES), r.pick(LAST_NAMES)),
        role: role.to_string(),
    };
    let ceo = person(&mut r, "chief executive officer");
    let cfo = person(&mut r, "chief financial officer");
    let mut plants = Vec::new();
    while plants.len() < 3 {
        let p = r.pick(PLACES).to_string();
        if !plants.contains(&p) {
            plants.push(p);
        }
    }
    let products = (0..12)
        .map(|i| {
            format!(
                "{short} {}{}",
                sector.product_words[i % 3],
                2 + i / 3 + r.below(2)
            )
        })
        .collect();
    Company {
        headquarters: r.pick(PLACES).to_string(),
        exchange: r.pick(EXCHANGES).to_string(),
        growth: r.range(-0.005, 0.03),
        units0: sector.units_base * r.range(0.4, 1.6),
        name,
        short,
        ticker,
        sector,
        plants,
        products,
        ceo,
        cfo,
    }
}
