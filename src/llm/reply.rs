//! Reading a JSON value out of a model's reply. Models asked for JSON still wrap it in
//! ```` ```json ```` fences or put a sentence before or after it; this finds the value and keeps
//! "not JSON at all" apart from "JSON of the wrong shape", because the caller tells the model
//! which one it was.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Most candidate start positions tried in a reply full of braces.
const MAX_CANDIDATES: usize = 32;

/// Finds the first JSON object or array in `text` (inside code fences, after leading prose,
/// before trailing prose) and deserialises it into `T`.
///
/// The error completes the phrase "the reply ...": `is not JSON: ...` when no JSON value could
/// be read, `does not match the expected shape: ...` when one was read but `T` rejects it.
pub fn parse_json_reply<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = find_json(text)?;
    serde_json::from_value(value).map_err(|e| format!("does not match the expected shape: {e}"))
}

/// The first JSON object or array in `text`.
fn find_json(text: &str) -> Result<Value, String> {
    let body = strip_fences(text);
    let mut first_err: Option<String> = None;
    for i in top_level_openings(body).into_iter().take(MAX_CANDIDATES) {
        // Reads one value and ignores whatever follows it (trailing prose).
        let mut values = serde_json::Deserializer::from_str(&body[i..]).into_iter::<Value>();
        match values.next() {
            Some(Ok(v)) => return Ok(v),
            Some(Err(e)) => {
                first_err.get_or_insert_with(|| e.to_string());
            }
            None => {}
        }
    }
    Err(match first_err {
        Some(e) => format!("is not JSON: {e}"),
        None => "is not JSON: it contains no JSON object".to_string(),
    })
}

/// Byte offsets of the `{` and `[` that are not nested inside an earlier bracket, so that a
/// truncated or broken object is reported as such instead of one of its inner objects being
/// taken for the answer. Quotes count only inside brackets (prose has apostrophes).
fn top_level_openings(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '{' | '[' => {
                if depth == 0 {
                    out.push(i);
                }
                depth += 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            '"' if depth > 0 => in_string = true,
            _ => {}
        }
    }
    out
}

/// The inside of the first ```` ``` ```` fenced block (any language tag), or the text itself.
fn strip_fences(text: &str) -> &str {
    let Some(open) = text.find("```") else {
        return text.trim();
    };
    let after = &text[open + 3..];
    // Skip the language tag line ("json", "JSON", "") up to the newline.
    let body_start = after.find('\n').map_or(0, |n| n + 1);
    let body = &after[body_start..];
    match body.find("```") {
        Some(close) => body[..close].trim(),
        None => body.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct T {
        a: u32,
    }

    fn check(text: &str, expected: Result<T, &str>) {
        let got = parse_json_reply::<T>(text);
        match (got, expected) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{text}"),
            (Err(g), Err(e)) => assert!(g.contains(e), "{text}: {g}"),
            (g, e) => panic!("{text}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn json_is_found_around_fences_and_prose() {
        check(r#"{"a":1}"#, Ok(T { a: 1 }));
        check("```json\n{\"a\": 2}\n```", Ok(T { a: 2 }));
        check("```\n{\"a\": 3}\n```\nHope this helps!", Ok(T { a: 3 }));
        check(
            "Sure! Here is the JSON:\n{\"a\": 4} Let me know.",
            Ok(T { a: 4 }),
        );
        check("Set {braces} aside: {\"a\": 5}", Ok(T { a: 5 }));
        check("```JSON\n{\"a\": 6}", Ok(T { a: 6 }));
    }

    #[test]
    fn failures_say_which_kind() {
        check("I cannot help with that.", Err("contains no JSON object"));
        check("{\"a\": 1, \"b\": [1, 2", Err("is not JSON"));
        check(
            "{\"b\": 1}",
            Err("does not match the expected shape: missing field `a`"),
        );
        check("", Err("is not JSON"));
        // A truncated or broken object is not mistaken for one of its inner objects.
        check(
            "Here:\n{\"b\": [{\"a\": 1}], \"c\": \"}{\", \"d\": [",
            Err("is not JSON: EOF while parsing"),
        );
        check(
            "{\"b\": [{\"a\": 1},], \"c\": 2}",
            Err("is not JSON: trailing comma"),
        );
    }
}
