//! OpenAI's encodings (`o200k_base`, `cl100k_base`): bpe-openai's byte-pair
//! counter on the pieces of bpe-openai's pre-tokenizer, searched with a
//! cache of this thread's.
//!
//! bpe-openai's own `Tokenizer::count` takes its regex's search cache from
//! the regex's shared pool once per piece (a word, a number, a run of
//! spaces); from any thread but the first that is a lock and an unlock, 9%
//! of a token-counted export's samples in `perf` while the batch is counted
//! on every core. Here each thread keeps its own cache per encoding, and
//! the pieces and counts are bpe-openai's: the patterns are its (0.3.2), and
//! `tests/python/test_tokens.py` checks every count against tiktoken.

use std::cell::RefCell;
use std::sync::LazyLock;
use std::thread::LocalKey;

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};

/// One of OpenAI's encodings, built once per process on first use.
#[derive(Clone)]
pub(super) struct Encoding {
    bpe: &'static bpe_openai::Tokenizer,
    pieces: &'static Pieces,
    cache: &'static LocalKey<RefCell<Option<Box<Cache>>>>,
}

impl Encoding {
    /// `o200k_base` or `cl100k_base`; `None` for another name.
    pub(super) fn named(name: &str) -> Option<Encoding> {
        match name {
            "o200k_base" => Some(Encoding {
                bpe: bpe_openai::o200k_base(),
                pieces: &O200K_PIECES,
                cache: &O200K_CACHE,
            }),
            "cl100k_base" => Some(Encoding {
                bpe: bpe_openai::cl100k_base(),
                pieces: &CL100K_PIECES,
                cache: &CL100K_CACHE,
            }),
            _ => None,
        }
    }

    /// Tokens in `text` as tiktoken's `encode_ordinary` makes them.
    pub(super) fn count(&self, text: &str) -> u64 {
        self.cache.with(|cache| {
            let mut cache = cache.borrow_mut();
            let cache = cache.get_or_insert_with(|| Box::new(self.pieces.regex.create_cache()));
            self.pieces
                .split(cache, text)
                .map(|piece| self.bpe.bpe.count(piece.as_bytes()) as u64)
                .sum()
        })
    }
}

/// An encoding's pre-tokenizer: bpe-openai's patterns, the second a
/// look-ahead that gives back its last character (its rewrite of
/// tiktoken's `\s+(?!\S)`).
struct Pieces {
    regex: Regex,
    lookahead: [bool; 3],
}

impl Pieces {
    fn new(first: &str) -> Pieces {
        let regex = Regex::new_many(&[first, "\\s+\\s", "\\s+"]).expect("bpe-openai's patterns");
        Pieces { regex, lookahead: [false, true, false] }
    }

    /// The pieces of `text`, as bpe-openai's `Pretokenizer::split` gives them.
    fn split<'a>(&'a self, cache: &'a mut Cache, text: &'a str) -> impl Iterator<Item = &'a str> {
        let mut last = 0;
        std::iter::from_fn(move || {
            let input = Input::new(&text[last..]).anchored(Anchored::Yes);
            let found = self.regex.search_with(cache, &input)?;
            let start = last;
            let mut end = last + found.end();
            if self.lookahead[found.pattern().as_usize()] {
                end -= text[start..end].chars().next_back().map_or(0, char::len_utf8);
            }
            last = end;
            Some(&text[start..end])
        })
    }
}

static O200K_PIECES: LazyLock<Pieces> = LazyLock::new(|| {
    Pieces::new(
        &[
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
            "\\s*[\\r\\n]+",
            "\\s+$",
        ]
        .join("|"),
    )
});

static CL100K_PIECES: LazyLock<Pieces> = LazyLock::new(|| {
    Pieces::new(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$",
    )
});

// Boxed: a cache is kilobytes, and the Python and Node modules are loaded
// with dlopen, where a library's thread-locals must fit glibc's small
// static TLS surplus (mimalloc's initial-exec thread-local puts them there):
// unboxed, importing the Python module failed with "cannot allocate memory
// in static TLS block".
thread_local! {
    static O200K_CACHE: RefCell<Option<Box<Cache>>> = const { RefCell::new(None) };
    static CL100K_CACHE: RefCell<Option<Box<Cache>>> = const { RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces and counts are bpe-openai's own, text by text, on what
    /// its patterns split on (tiktoken's are checked in
    /// tests/python/test_tokens.py).
    #[test]
    fn counts_are_bpe_openais() {
        let texts = [
            "",
            "Hello, world!",
            "  leading and trailing spaces   ",
            "line\n\n  next\r\n\tTAB  \n",
            "I'm sure they'll've DONE it's 12345678 times",
            "naïve café — 東京 👩‍💻 e\u{301} ‼️",
            "<|endoftext|> path/to/file.rs:42",
            "   ",
            "\n",
        ];
        for name in ["o200k_base", "cl100k_base"] {
            let encoding = Encoding::named(name).unwrap();
            for text in texts {
                let theirs: Vec<&str> = encoding.bpe.split(text).collect();
                let mut cache = encoding.pieces.regex.create_cache();
                let ours: Vec<&str> = encoding.pieces.split(&mut cache, text).collect();
                assert_eq!(ours, theirs, "{name}: {text:?}");
                assert_eq!(
                    encoding.count(text),
                    encoding.bpe.count(text) as u64,
                    "{name}: {text:?}"
                );
            }
        }
    }
}
