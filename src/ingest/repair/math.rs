//! Inline math left by PDF converters, turned back into the plain text it stands for.
//!
//! Converters that rebuild a PDF's layout (MinerU, Nougat, Marker) write units, formulas and
//! symbols they are unsure of as inline LaTeX: "$\mathsf{C O}_{2}$ emissions of
//! $130\;\mathsf{k m}/\mathsf{h}$". Left alone, such a text never matches a search for "CO2" or
//! "km/h", and a context quoting it reads badly. The Audi reports in `time-longqa` carry 1,531
//! such spans.
//!
//! What is rewritten: a span between two `$` on one line (an escaped `\$` opens none) (at most [`MAX_SPAN`] bytes, not part of
//! `$$` display math) that shows LaTeX (a command such as `\mathsf`, a spacing command such as
//! `\;`, or a braced sub- or superscript) and consists only of what this module knows:
//! - font and text commands (`\mathsf{…}`, `\mathrm{…}`, `\text{…}`, …) keep their argument;
//!   spaces count inside `\text` only, as in LaTeX's math mode (`\mathsf{k m}` is "km");
//! - spacing commands become one space, escaped characters (`\%`) themselves, and common symbols
//!   (`\times`, `\rightarrow`, `\prime`, …) their Unicode character;
//! - a subscript of letters and digits is written on the line (`CO_{2}` is "CO2", `NO_{x}` is
//!   "NOx": how chemical formulas are typed), a superscript of digits and signs in superscript
//!   characters (`m^{3}` is "m³"), `^{\circ}` is "°".
//!
//! A span with anything else (an unknown command, a fraction, a subscript that is a formula) is
//! left exactly as it was: this is a repair of text, never a LaTeX renderer. A dollar amount
//! ("$5 million and $3 million") shows no LaTeX and is never touched.
//!
//! **Invariant:** a text without such spans is returned unchanged (borrowed); repairing a
//! repaired text changes nothing.

use std::borrow::Cow;

/// Longest span (bytes between the dollars) that is read as inline math.
const MAX_SPAN: usize = 160;

/// Nesting of braces beyond which a span is left alone.
const MAX_DEPTH: usize = 8;

/// `text` with its inline math spans written as plain text; borrowed when nothing changed.
pub fn plain(text: &str) -> Cow<'_, str> {
    if !text.contains('$') || !(text.contains('\\') || text.contains("_{") || text.contains("^{")) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut from = 0;
    while let Some(open) = text[from..].find('$').map(|p| from + p) {
        // Markdown's escaped dollar ("\$5 million") opens nothing.
        if open > 0 && bytes[open - 1] == b'\\' {
            from = open + 1;
            continue;
        }
        let rest = &text[open + 1..];
        let Some(len) = rest
            .find(['$', '\n'])
            .filter(|&q| rest.as_bytes()[q] == b'$')
        else {
            from = open + 1;
            continue;
        };
        if len == 0 || len > MAX_SPAN {
            from = open + 1;
            continue;
        }
        let end = open + 1 + len + 1;
        let display = (open > 0 && bytes[open - 1] == b'$') || bytes.get(end) == Some(&b'$');
        if !display && let Some(plain) = convert(&rest[..len]) {
            out.push_str(&text[last..open]);
            out.push_str(&plain);
            last = end;
        }
        from = end;
    }
    if last == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// The plain text of one span's inside, or `None` to leave the span as it is.
fn convert(inner: &str) -> Option<String> {
    if !shows_latex(inner) {
        return None;
    }
    let mut out = String::new();
    walk(inner, false, 0, &mut out)?;
    let mut plain = String::with_capacity(out.len());
    for word in out.split(' ').filter(|w| !w.is_empty()) {
        if !plain.is_empty() {
            plain.push(' ');
        }
        plain.push_str(word);
    }
    // A span that says nothing, or that would pair with another dollar, stays as it was.
    (!plain.is_empty() && !plain.contains('$')).then_some(plain)
}

/// A command, a spacing command or a braced sub- or superscript: what a dollar amount never has.
fn shows_latex(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| match w {
        [b'\\', c] => c.is_ascii_alphabetic() || b",;:! %#&".contains(c),
        [b'_' | b'^', b'{'] => true,
        _ => false,
    })
}

/// Writes the plain text of `s` to `out`; `text` is true inside `\text{…}` (spaces count).
fn walk(s: &str, text: bool, depth: usize, out: &mut String) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                let name_len = rest
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(rest.len());
                if name_len == 0 {
                    let e = rest.chars().next()?;
                    rest = &rest[e.len_utf8()..];
                    match e {
                        ',' | ';' | ':' | ' ' | '~' => out.push(' '),
                        '!' => {}
                        '%' | '#' | '&' | '_' | '{' | '}' => out.push(e),
                        _ => return None,
                    }
                    continue;
                }
                let name = &rest[..name_len];
                rest = &rest[name_len..];
                if let Some(in_text) = font(name) {
                    let (arg, after) = argument(rest)?;
                    rest = after;
                    walk(arg, in_text || text, depth + 1, out)?;
                } else if SWITCHES.contains(&name) {
                } else {
                    out.push_str(symbol(name)?);
                }
            }
            '_' | '^' => {
                let (arg, after) = argument(rest)?;
                rest = after;
                let mut script = String::new();
                walk(arg, text, depth + 1, &mut script)?;
                let script = script.trim();
                if c == '_' {
                    if script.is_empty() || !script.chars().all(|c| c.is_ascii_alphanumeric()) {
                        return None;
                    }
                    out.push_str(script);
                } else if script.chars().all(|c| "°′″*".contains(c)) && !script.is_empty() {
                    out.push_str(script);
                } else {
                    let raised: Option<String> = script.chars().map(superscript).collect();
                    match raised {
                        Some(r) if !r.is_empty() => out.push_str(&r),
                        _ => return None,
                    }
                }
            }
            '{' => {
                let (group, after) = argument(&s[s.len() - rest.len() - 1..])?;
                rest = after;
                walk(group, text, depth + 1, out)?;
            }
            '}' | '$' => return None,
            ' ' if !text => {}
            '~' => out.push(' '),
            _ => out.push(c),
        }
    }
    Some(())
}

/// The argument at the start of `s` (spaces skipped): a braced group's inside, a command, or one
/// character; with what follows it.
fn argument(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    let first = s.chars().next()?;
    match first {
        '{' => {
            let mut depth = 0usize;
            for (i, c) in s.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((&s[1..i], &s[i + 1..]));
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        '\\' => {
            let len = s[1..]
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(s.len() - 1);
            let len = if len == 0 {
                1 + s[1..].chars().next()?.len_utf8()
            } else {
                1 + len
            };
            Some((&s[..len], &s[len..]))
        }
        '}' => None,
        c => Some((&s[..c.len_utf8()], &s[c.len_utf8()..])),
    }
}

/// Font and text commands: `Some(true)` when spaces count inside (text mode).
fn font(name: &str) -> Option<bool> {
    match name {
        "mathsf" | "mathrm" | "mathtt" | "mathfrak" | "mathbf" | "mathit" | "mathcal"
        | "mathbb" | "mathsfit" | "boldsymbol" | "pmb" | "operatorname" | "mathnormal" => {
            Some(false)
        }
        "text" | "textrm" | "textit" | "textbf" | "textsf" | "texttt" | "textnormal" | "mbox" => {
            Some(true)
        }
        _ => None,
    }
}

/// Commands that change only the look of what follows.
const SWITCHES: &[&str] = &[
    "sf",
    "bf",
    "rm",
    "it",
    "tt",
    "scriptsize",
    "scriptscriptstyle",
    "scriptstyle",
    "displaystyle",
    "textstyle",
    "left",
    "right",
];

/// The Unicode character a symbol command stands for.
fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "quad" | "qquad" => " ",
        "times" => "×",
        "cdot" => "·",
        "pm" => "±",
        "mp" => "∓",
        "circ" | "degree" => "°",
        "leq" | "le" => "≤",
        "geq" | "ge" => "≥",
        "neq" | "ne" => "≠",
        "approx" => "≈",
        "sim" => "~",
        "ast" => "*",
        "prime" => "′",
        "rightarrow" | "to" => "→",
        "leftarrow" => "←",
        "Rightarrow" => "⇒",
        "searrow" => "↘",
        "nearrow" => "↗",
        "uparrow" => "↑",
        "downarrow" => "↓",
        "gg" => "≫",
        "ll" => "≪",
        "bullet" => "•",
        "blacktriangleright" => "▶",
        "checkmark" => "✓",
        "euro" => "€",
        "textcent" => "¢",
        "infty" => "∞",
        "ldots" | "dots" | "cdots" => "…",
        "mu" => "μ",
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "Delta" => "Δ",
        "Omega" => "Ω",
        "S" => "§",
        _ => return None,
    })
}

/// The superscript character of a digit or sign.
fn superscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        '+' => '⁺',
        '-' => '⁻',
        '=' => '⁼',
        '(' => '⁽',
        ')' => '⁾',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_formulas_from_pdf_converters_become_plain_text() {
        let cases = [
            (
                r"emissions of $\mathsf{C O}_{2}$ fell to $35\,\mathfrak{g}/\mathsf{k m}$.",
                "emissions of CO2 fell to 35 g/km.",
            ),
            (
                r"a top speed of $130\;\mathsf{k m}/\mathsf{h}$ and a range of $50~\mathsf{k m}$",
                "a top speed of 130 km/h and a range of 50 km",
            ),
            (r"$38\ g\ C O_{2}/k m$", "38 g CO2/km"),
            (
                r"water (in $\mathsf{m}^{3}$), at $20^{\circ}$C",
                "water (in m³), at 20°C",
            ),
            (r"$\mathrm{NO}_{x}$ and $12.5\%$", "NOx and 12.5%"),
            (r"$\blacktriangleright$ More", "▶ More"),
            (r"the $\text{e-tron GT}$ car", "the e-tron GT car"),
        ];
        for (input, want) in cases {
            assert_eq!(plain(input), want, "{input}");
            assert_eq!(plain(want), want, "repairing twice changes nothing");
        }
    }

    #[test]
    fn dollars_formulas_and_unknown_commands_stay_as_they_were() {
        for text in [
            "It raised $5 million and $3 million in 2023.",
            // A Markdown-escaped dollar opens no span (here it would pair with "$6").
            r"Fees: \$5 \, and $6.",
            "Shares rose to $12.50, then $13.",
            // A subscript that is a formula, a fraction, unknown or garbled commands.
            r"the sum $x_{i+1}$ over $\frac{a}{b}$",
            r"$\because\angle^{\prime\prime}$ and $\tilde{\mathbf{\Omega}}$",
            // Display math and unbalanced braces.
            r"$$\mathsf{C O}_{2}$$",
            r"$\mathsf{C O$ and $}_{2}$",
            // A span across lines is no span.
            "$\\mathsf{C\nO}$",
            "a lone $ sign \\mathsf{x}",
        ] {
            let fixed = plain(text);
            assert!(matches!(fixed, Cow::Borrowed(_)), "{text} -> {fixed}");
        }
    }
}
