//! The normaliser's vocabulary: every word the grammar reacts to, classified once per token.
//!
//! Classification lower-cases the word into a small stack buffer (no allocation) and matches
//! it against fixed tables. Words the grammar does not know become [`Lex::Other`].

use crate::time::Granularity;

/// Function words and time words the grammar refers to by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    The,
    Of,
    In,
    During,
    For,
    By,
    Since,
    Until,
    Through,
    Throughout,
    Before,
    After,
    Prior,
    To,
    From,
    Between,
    And,
    Or,
    As,
    At,
    On,
    With,
    Than,
    Vs,
    Over,
    Across,
    Both,
    Either,
    Up,
    Ended,
    Starting,
    Beginning,
    Start,
    End,
    Early,
    Late,
    Mid,
    Middle,
    Close,
    Yearend,
    Season,
    Fiscal,
    Financial,
    Calendar,
    Last,
    Past,
    This,
    Current,
    Next,
    Coming,
    Previous,
    Preceding,
    Following,
    Same,
    Ago,
    Earlier,
    Later,
    Back,
    Today,
    Yesterday,
    Tomorrow,
    Now,
    Right,
    Currently,
    Presently,
    Present,
    Nowadays,
    Moment,
    Recently,
    Lately,
    Latest,
    These,
    Date,
    So,
    Far,
    Onwards,
    Beyond,
    Pre,
    Post,
    No,
    Not,
    Within,
    Circa,
    Effective,
    Time,
    Ytd,
}

/// What a word (or an alphanumeric token such as `Q3`, `3Q23`, `FY2023`, `15th`) means to the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lex {
    /// January = 1 … December = 12, full or abbreviated.
    Month(u32),
    /// Monday … Sunday, full or abbreviated; only skipped before a date.
    Weekday,
    /// `first`…`twelfth`, `1st`, `15th`, …
    Ordinal(u32),
    /// `one` … `twelve`.
    NumWord(u32),
    /// `a` / `an`, a count of one that cannot start a window ("the last a years").
    Article,
    /// `Q3`, `3Q` (number unchecked, so that `Q5` can be reported).
    Quarter(u32),
    /// `3Q23`, `3Q2023`, `2023Q3`, `Q3FY23`: quarter and year in one token.
    QuarterYear(u32, i32),
    /// `H1`, `1H`.
    Half(u32),
    /// `1H24`, `2H2023`.
    HalfYear(u32, i32),
    /// `FY`/`CY` alone (`None`) or fused with a year (`FY2023`, `FY23`).
    YearTag(Option<i32>),
    /// `W28`, `CW28`.
    WeekNo(u32),
    /// `2024W28`.
    YearWeek(i32, u32),
    /// The day of an ISO timestamp such as `15T10` in `2024-07-15T10:00`.
    DayTime(u32),
    /// `1990s`.
    Decade(i32),
    /// year(s), quarter(s), month(s), week(s), day(s); the flag is "plural".
    Unit(Granularity, bool),
    /// `half` / `halves`.
    HalfWord,
    /// `period(s)`.
    Period,
    /// The `s` of a possessive such as `2019's`.
    PossessiveS,
    /// A named keyword.
    Kw(Kw),
    /// A verb or noun that marks a preceding bare number as a year: `2019 was`, `2030 targets`.
    AfterCue,
    /// A unit of measure or counted noun: a preceding bare number is a quantity (`2019 tonnes`).
    Quantity,
    /// A word that introduces a reference number: `page 2019`, `section 2019`.
    NumContext,
    /// Anything else.
    Other,
}

/// Two-digit years: 00–69 are 2000–2069, 70–99 are 1970–1999.
pub(super) fn expand_two_digit_year(yy: u32) -> i32 {
    let yy = yy as i32;
    if yy < 70 { 2000 + yy } else { 1900 + yy }
}

/// Value of an all-digit byte string (saturating; the grammar only uses short ones).
pub(super) fn digits_value(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |acc, b| {
        acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    })
}

/// A 2- or 4-digit year written in digits.
fn year_digits(d: &[u8]) -> Option<i32> {
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match d.len() {
        2 => Some(expand_two_digit_year(digits_value(d))),
        4 => Some(digits_value(d) as i32),
        _ => None,
    }
}

/// Classifies one ASCII alphanumeric word that is not all digits.
pub(super) fn classify(word: &[u8]) -> Lex {
    const MAX: usize = 16;
    if word.len() > MAX {
        return Lex::Other;
    }
    let mut buf = [0u8; MAX];
    let lw = &mut buf[..word.len()];
    lw.copy_from_slice(word);
    lw.make_ascii_lowercase();
    let lw: &[u8] = lw;
    if lw.iter().any(u8::is_ascii_digit) {
        return classify_mixed(lw);
    }
    use Kw::*;
    let kw = match lw {
        b"the" => The,
        b"of" => Of,
        b"in" => In,
        b"during" => During,
        b"for" => For,
        b"by" => By,
        b"since" => Since,
        b"until" | b"till" | b"til" => Until,
        b"through" | b"thru" => Through,
        b"throughout" => Throughout,
        b"before" => Before,
        b"after" => After,
        b"prior" => Prior,
        b"to" => To,
        b"from" => From,
        b"between" => Between,
        b"and" => And,
        b"or" => Or,
        b"as" => As,
        b"at" => At,
        b"on" => On,
        b"with" => With,
        b"than" => Than,
        b"vs" | b"versus" => Vs,
        b"over" => Over,
        b"across" => Across,
        b"both" => Both,
        b"either" => Either,
        b"up" => Up,
        b"ended" | b"ending" => Ended,
        b"starting" | b"commencing" => Starting,
        b"beginning" => Beginning,
        b"start" => Start,
        b"end" => End,
        b"early" => Early,
        b"late" => Late,
        b"mid" => Mid,
        b"middle" => Middle,
        b"close" => Close,
        b"yearend" => Yearend,
        b"spring" | b"summer" | b"autumn" | b"winter" => Season,
        b"fiscal" => Fiscal,
        b"financial" => Financial,
        b"calendar" => Calendar,
        b"last" => Last,
        b"past" => Past,
        b"this" => This,
        b"current" => Current,
        b"next" => Next,
        b"coming" | b"upcoming" => Coming,
        b"previous" => Previous,
        b"preceding" => Preceding,
        b"following" => Following,
        b"same" => Same,
        b"ago" => Ago,
        b"earlier" => Earlier,
        b"later" => Later,
        b"back" => Back,
        b"today" => Today,
        b"yesterday" => Yesterday,
        b"tomorrow" => Tomorrow,
        b"now" => Now,
        b"right" => Right,
        b"currently" => Currently,
        b"presently" => Presently,
        b"present" => Present,
        b"nowadays" => Nowadays,
        b"moment" => Moment,
        b"recently" => Recently,
        b"lately" => Lately,
        b"latest" => Latest,
        b"these" => These,
        b"date" => Date,
        b"so" => So,
        b"far" => Far,
        b"onwards" | b"onward" => Onwards,
        b"beyond" => Beyond,
        b"pre" => Pre,
        b"post" => Post,
        b"no" => No,
        b"not" => Not,
        b"within" => Within,
        b"circa" | b"ca" | b"c" => Circa,
        b"effective" => Effective,
        b"time" => Time,
        b"ytd" => Ytd,
        _ => return classify_other(lw),
    };
    Lex::Kw(kw)
}

/// Months, numbers, units and the cue-word lists.
fn classify_other(lw: &[u8]) -> Lex {
    match lw {
        b"january" | b"jan" => Lex::Month(1),
        b"february" | b"feb" => Lex::Month(2),
        b"march" | b"mar" => Lex::Month(3),
        b"april" | b"apr" => Lex::Month(4),
        b"may" => Lex::Month(5),
        b"june" | b"jun" => Lex::Month(6),
        b"july" | b"jul" => Lex::Month(7),
        b"august" | b"aug" => Lex::Month(8),
        b"september" | b"sep" | b"sept" => Lex::Month(9),
        b"october" | b"oct" => Lex::Month(10),
        b"november" | b"nov" => Lex::Month(11),
        b"december" | b"dec" => Lex::Month(12),
        b"monday" | b"mon" | b"tuesday" | b"tue" | b"tues" | b"wednesday" | b"wed"
        | b"thursday" | b"thu" | b"thur" | b"thurs" | b"friday" | b"fri" | b"saturday" | b"sat"
        | b"sunday" | b"sun" => Lex::Weekday,
        b"a" | b"an" => Lex::Article,
        b"one" => Lex::NumWord(1),
        b"two" => Lex::NumWord(2),
        b"three" => Lex::NumWord(3),
        b"four" => Lex::NumWord(4),
        b"five" => Lex::NumWord(5),
        b"six" => Lex::NumWord(6),
        b"seven" => Lex::NumWord(7),
        b"eight" => Lex::NumWord(8),
        b"nine" => Lex::NumWord(9),
        b"ten" => Lex::NumWord(10),
        b"eleven" => Lex::NumWord(11),
        b"twelve" => Lex::NumWord(12),
        b"first" => Lex::Ordinal(1),
        b"second" => Lex::Ordinal(2),
        b"third" => Lex::Ordinal(3),
        b"fourth" => Lex::Ordinal(4),
        b"fifth" => Lex::Ordinal(5),
        b"sixth" => Lex::Ordinal(6),
        b"seventh" => Lex::Ordinal(7),
        b"eighth" => Lex::Ordinal(8),
        b"ninth" => Lex::Ordinal(9),
        b"tenth" => Lex::Ordinal(10),
        b"eleventh" => Lex::Ordinal(11),
        b"twelfth" => Lex::Ordinal(12),
        b"year" | b"yr" => Lex::Unit(Granularity::Year, false),
        b"years" | b"yrs" => Lex::Unit(Granularity::Year, true),
        b"quarter" | b"qtr" => Lex::Unit(Granularity::Quarter, false),
        b"quarters" | b"qtrs" => Lex::Unit(Granularity::Quarter, true),
        b"month" => Lex::Unit(Granularity::Month, false),
        b"months" => Lex::Unit(Granularity::Month, true),
        b"week" | b"wk" => Lex::Unit(Granularity::Week, false),
        b"weeks" | b"wks" => Lex::Unit(Granularity::Week, true),
        b"day" => Lex::Unit(Granularity::Day, false),
        b"days" => Lex::Unit(Granularity::Day, true),
        b"half" | b"halves" => Lex::HalfWord,
        b"period" | b"periods" => Lex::Period,
        b"fy" | b"cy" => Lex::YearTag(None),
        b"s" => Lex::PossessiveS,
        b"was" | b"is" | b"will" | b"saw" | b"marked" | b"brought" | b"began" | b"proved"
        | b"had" | b"has" | b"were" | b"became" | b"remains" | b"remained" | b"showed"
        | b"report" | b"reports" | b"results" | b"figures" | b"baseline" | b"levels" | b"level"
        | b"target" | b"targets" | b"goal" | b"goals" | b"annual" | b"reporting" | b"budget"
        | b"guidance" | b"outlook" | b"forecast" | b"census" | b"accounts" | b"statements"
        | b"review" => Lex::AfterCue,
        b"tonnes" | b"tonne" | b"tons" | b"ton" | b"t" | b"kt" | b"mt" | b"kg" | b"g" | b"lb"
        | b"lbs" | b"employees" | b"employee" | b"people" | b"persons" | b"person" | b"staff"
        | b"workers" | b"members" | b"customers" | b"clients" | b"users" | b"patients"
        | b"students" | b"children" | b"participants" | b"cars" | b"vehicles" | b"units"
        | b"jobs" | b"hours" | b"hrs" | b"minutes" | b"km" | b"kilometres" | b"kilometers"
        | b"miles" | b"m" | b"m2" | b"m3" | b"mwh" | b"gwh" | b"kwh" | b"twh" | b"mw" | b"gw"
        | b"kw" | b"gj" | b"tj" | b"pj" | b"litres" | b"liters" | b"l" | b"gallons"
        | b"barrels" | b"bbl" | b"dollars" | b"euros" | b"usd" | b"eur" | b"gbp" | b"chf"
        | b"jpy" | b"shares" | b"stores" | b"sites" | b"facilities" | b"locations" | b"plants"
        | b"hectares" | b"ha" | b"acres" | b"patents" | b"suppliers" | b"projects"
        | b"households" | b"homes" | b"trees" | b"points" | b"bp" | b"bps" | b"copies"
        | b"pages" | b"times" | b"meters" | b"metres" | b"percent" | b"pct" | b"pcs"
        | b"pieces" | b"items" | b"products" | b"million" | b"billion" | b"thousand" | b"bn"
        | b"mn" | b"k" | b"cases" | b"deaths" | b"beds" | b"rooms" | b"companies"
        | b"countries" | b"cities" | b"visitors" | b"tickets" | b"passengers" | b"flights"
        | b"per" => Lex::Quantity,
        b"page" | b"pp" | b"p" | b"nos" | b"number" | b"section" | b"sections" | b"sec"
        | b"chapter" | b"ch" | b"para" | b"paragraph" | b"article" | b"art" | b"item"
        | b"figure" | b"fig" | b"table" | b"note" | b"notes" | b"exhibit" | b"appendix"
        | b"annex" | b"rule" | b"tel" | b"phone" | b"fax" | b"ext" | b"isbn" | b"issn" | b"iso"
        | b"din" | b"en" | b"id" | b"ref" | b"line" | b"lines" | b"room" | b"route" | b"flight"
        | b"model" | b"version" | b"v" | b"vol" | b"volume" | b"case" | b"docket" | b"form"
        | b"code" | b"clause" | b"schedule" | b"step" | b"box" => Lex::NumContext,
        _ => Lex::Other,
    }
}

/// Tokens mixing letters and digits: `15th`, `3Q23`, `2023Q3`, `1H24`, `Q3`, `H1`, `FY23`,
/// `W28`, `2024W28`, `1990s`, `15T10`.
fn classify_mixed(lw: &[u8]) -> Lex {
    let nd = lw.iter().take_while(|b| b.is_ascii_digit()).count();
    if nd > 0 {
        let n = digits_value(&lw[..nd]);
        let rest = &lw[nd..];
        return match (nd, rest) {
            (1 | 2, b"st" | b"nd" | b"rd" | b"th") => Lex::Ordinal(n),
            (1, b"q") => Lex::Quarter(n),
            (1, b"h") => Lex::Half(n),
            (4, b"s") if n.is_multiple_of(10) => Lex::Decade(n as i32),
            (1, [b'q', y @ ..]) => year_digits(y).map_or(Lex::Other, |y| Lex::QuarterYear(n, y)),
            (1, [b'h', y @ ..]) => year_digits(y).map_or(Lex::Other, |y| Lex::HalfYear(n, y)),
            (4, [b'q', q]) if q.is_ascii_digit() => Lex::QuarterYear(u32::from(q - b'0'), n as i32),
            (4, [b'w', w @ ..]) if w.len() == 2 && w.iter().all(u8::is_ascii_digit) => {
                Lex::YearWeek(n as i32, digits_value(w))
            }
            (1 | 2, [b't', t @ ..]) if !t.is_empty() && t.iter().all(u8::is_ascii_digit) => {
                Lex::DayTime(n)
            }
            _ => Lex::Other,
        };
    }
    let na = lw.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (head, tail) = lw.split_at(na);
    match (head, tail) {
        (b"q", [q]) => Lex::Quarter(u32::from(q - b'0')),
        (b"q", [q, b'f', b'y', y @ ..]) if q.is_ascii_digit() => {
            year_digits(y).map_or(Lex::Other, |y| Lex::QuarterYear(u32::from(q - b'0'), y))
        }
        (b"h", [h]) => Lex::Half(u32::from(h - b'0')),
        (b"fy" | b"cy", y) => year_digits(y).map_or(Lex::Other, |y| Lex::YearTag(Some(y))),
        (b"w" | b"cw" | b"kw", w)
            if (1..=2).contains(&w.len()) && w.iter().all(u8::is_ascii_digit) =>
        {
            Lex::WeekNo(digits_value(w))
        }
        _ => Lex::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_mixed_tokens() {
        let cases = [
            ("Q3", Lex::Quarter(3)),
            ("q5", Lex::Quarter(5)),
            ("3Q", Lex::Quarter(3)),
            ("3Q23", Lex::QuarterYear(3, 2023)),
            ("3q2023", Lex::QuarterYear(3, 2023)),
            ("2023Q3", Lex::QuarterYear(3, 2023)),
            ("Q3FY23", Lex::QuarterYear(3, 2023)),
            ("H1", Lex::Half(1)),
            ("1H24", Lex::HalfYear(1, 2024)),
            ("FY2023", Lex::YearTag(Some(2023))),
            ("fy99", Lex::YearTag(Some(1999))),
            ("FY", Lex::YearTag(None)),
            ("W28", Lex::WeekNo(28)),
            ("2024W28", Lex::YearWeek(2024, 28)),
            ("15th", Lex::Ordinal(15)),
            ("1990s", Lex::Decade(1990)),
            ("1995s", Lex::Other),
            ("15T10", Lex::DayTime(15)),
            ("H2O", Lex::Other),
            ("Q12", Lex::Other),
            ("COVID19", Lex::Other),
            ("Sept", Lex::Month(9)),
            ("THE", Lex::Kw(Kw::The)),
            ("internationalisation", Lex::Other),
        ];
        for (word, expected) in cases {
            assert_eq!(classify(word.as_bytes()), expected, "{word}");
        }
    }

    #[test]
    fn two_digit_years_pivot_at_70() {
        assert_eq!(expand_two_digit_year(23), 2023);
        assert_eq!(expand_two_digit_year(69), 2069);
        assert_eq!(expand_two_digit_year(70), 1970);
        assert_eq!(expand_two_digit_year(99), 1999);
    }
}
