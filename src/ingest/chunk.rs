//! Chunking: cuts a document into pieces of at most `max_chars` bytes at paragraph boundaries,
//! else at sentence boundaries, else at whitespace. Chunks cover the text without overlap (so the
//! document can be reassembled) and each keeps its byte offset. The title is not repeated in the
//! chunk text; it is stored on the document and shown with every chunk.

use super::sentences;

/// Default chunk size in bytes.
pub const DEFAULT_CHUNK_CHARS: usize = 900;

/// A chunk's byte range in the document text (trimmed of surrounding whitespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpan {
    /// Start byte.
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
}

/// Splits text into chunk spans of at most `max_chars` bytes (a single sentence longer than that
/// is cut at whitespace).
pub fn chunk(text: &str, max_chars: usize) -> Vec<ChunkSpan> {
    let max = max_chars.max(64);
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    for (ps, pe) in paragraphs(text) {
        if pe - ps <= max {
            pieces.push((ps, pe));
            continue;
        }
        for (ss, se) in sentences::split(&text[ps..pe]) {
            let (ss, se) = (ps + ss, ps + se);
            if se - ss <= max {
                pieces.push((ss, se));
            } else {
                hard_split(text, ss, se, max, &mut pieces);
            }
        }
    }
    // Greedily pack consecutive pieces.
    let mut out: Vec<ChunkSpan> = Vec::new();
    for (s, e) in pieces {
        match out.last_mut() {
            Some(last) if e - last.start <= max => last.end = e,
            _ => out.push(ChunkSpan { start: s, end: e }),
        }
    }
    out
}

/// Paragraphs: runs of text separated by blank lines; trimmed byte ranges.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if let Some(s) = start.take() {
                out.push((s, end));
            }
        } else {
            let lead = line.len() - line.trim_start().len();
            if start.is_none() {
                start = Some(pos + lead);
            }
            end = pos + lead + trimmed.len();
        }
        pos += line.len();
    }
    if let Some(s) = start {
        out.push((s, end));
    }
    out
}

fn hard_split(text: &str, mut s: usize, e: usize, max: usize, out: &mut Vec<(usize, usize)>) {
    while e - s > max {
        let mut cut = s + max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(ws) = text[s..cut].rfind(char::is_whitespace)
            && ws > max / 2
        {
            cut = s + ws;
        }
        out.push((s, cut));
        s = cut;
        while s < e && text.as_bytes()[s].is_ascii_whitespace() {
            s += 1;
        }
    }
    if s < e {
        out.push((s, e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_paragraphs_and_limits() {
        let text = "Para one is short.\n\nPara two is also short.\n\n".to_string()
            + &"A sentence that repeats. ".repeat(20);
        let spans = chunk(&text, 120);
        for c in &spans {
            assert!(c.end - c.start <= 120, "{c:?}");
            let t = &text[c.start..c.end];
            assert_eq!(t, t.trim());
        }
        // Small paragraphs are packed together; sentences are not cut.
        assert!(
            text[spans[0].start..spans[0].end]
                .starts_with("Para one is short.\n\nPara two is also short.")
        );
        for c in &spans[1..] {
            assert!(text[c.start..c.end].ends_with('.'));
        }
    }

    #[test]
    fn covers_all_words_in_order() {
        let text = "Alpha beta. Gamma delta epsilon.\n\nZeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega.";
        let spans = chunk(text, 64);
        let rebuilt: Vec<&str> = spans
            .iter()
            .flat_map(|c| text[c.start..c.end].split_whitespace())
            .collect();
        let original: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(rebuilt, original);
        assert!(spans.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn long_unbroken_text_is_cut_on_char_boundaries() {
        let text = "é".repeat(500);
        let spans = chunk(&text, 100);
        assert!(spans.len() >= 10);
        for c in spans {
            assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
        }
    }
}
