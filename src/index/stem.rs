//! The text index's English stemmer, with the stems of recent words kept per thread.
//!
//! tantivy's `Stemmer` filter runs the Snowball algorithm on every token; a news load stems the
//! same few thousand words millions of times (5–6% of its CPU). [`CachedStemmer`] gives the
//! same tokens (the same `rust_stemmers` algorithm; a test compares them) and looks each word
//! up first in a per-thread table of up to [`CACHE_WORDS`] words, emptied when full.
//!
//! **Invariant:** the tokens are exactly tantivy's `en_stem` analyser's, so indexes written
//! before or after it need no rebuild.

use std::cell::RefCell;

use rustc_hash::FxHashMap as HashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words whose stems a thread keeps.
pub const CACHE_WORDS: usize = 1 << 16;

/// A thread's stemmer and the stems it has computed, by word.
type Stems = (rust_stemmers::Stemmer, HashMap<Box<str>, Box<str>>);

thread_local! {
    static STEMS: RefCell<Stems> = RefCell::new((
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English),
        HashMap::default(),
    ));
}

/// Replaces `word` (lower-cased) by its English stem.
pub fn stem_in_place(word: &mut String) {
    STEMS.with(|cell| {
        let (stemmer, cache) = &mut *cell.borrow_mut();
        if let Some(s) = cache.get(word.as_str()) {
            if **s != **word {
                word.clear();
                word.push_str(s);
            }
            return;
        }
        let stem: Box<str> = stemmer.stem(word).into();
        if cache.len() >= CACHE_WORDS {
            cache.clear();
        }
        cache.insert(word.as_str().into(), stem.clone());
        if *stem != **word {
            word.clear();
            word.push_str(&stem);
        }
    });
}

/// A token filter stemming English words, as tantivy's `Stemmer::new(Language::English)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct CachedStemmer;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter { inner: tokenizer }
    }
}

/// [`CachedStemmer`] over a tokenizer.
#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

/// The token stream of [`CachedStemmerFilter`].
pub struct CachedStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        stem_in_place(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The `en_stem` analyser: simple tokens, longer than 40 bytes dropped, lower-cased, stemmed.
pub fn en_stem() -> tantivy::tokenizer::TextAnalyzer {
    use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(CachedStemmer)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(mut a: tantivy::tokenizer::TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
        let mut s = a.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let t = s.token();
            out.push((t.text.clone(), t.offset_from, t.position));
        }
        out
    }

    #[test]
    fn the_cached_analyser_gives_tantivys_tokens() {
        use tantivy::tokenizer::{
            Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
        };
        let reference = || {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(40))
                .filter(LowerCaser)
                .filter(Stemmer::new(Language::English))
                .build()
        };
        let text = "Deliveries were delivered; the running runners ran. Generously generous \
                    generations CONNECTED connections Ünïcödé naïve café's résumés \
                    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa y's the 2019 report's \
                    figures, figure, figured; sky skies skiing";
        // Twice: the second pass is answered from the cache.
        for _ in 0..2 {
            let (got, want) = (tokens(en_stem(), text), tokens(reference(), text));
            assert!(want.len() > 25, "{}", want.len());
            assert_eq!(got, want);
        }
        // And with the cache emptied while full.
        STEMS.with(|c| {
            let cache = &mut c.borrow_mut().1;
            for i in 0..CACHE_WORDS {
                cache.insert(format!("w{i}").into(), "x".into());
            }
        });
        assert_eq!(tokens(en_stem(), text), tokens(reference(), text));
    }
}
