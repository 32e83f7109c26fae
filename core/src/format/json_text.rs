//! JSON string literals written fast, byte-identical to `serde_json`.
//!
//! Turn contents are most of an export's bytes. `serde_json` looks every
//! byte up in a table; this writer finds the next byte that needs an escape
//! (`"`, `\` or a control below U+0020) sixteen bytes at a time and copies
//! the clean run before it whole. The escapes themselves are `serde_json`'s: the short
//! forms `\" \\ \b \t \n \f \r`, else `\u00xx` in lowercase hex.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask with the high bit set in the lowest byte of `word` (little
/// endian: the first in the text) that is `"`, `\` or below 0x20, if any.
/// Bytes above that one may be flagged wrongly (a borrow carries upward),
/// the lowest flagged byte never is, and a clean word gives 0.
#[inline]
fn escape_mask(word: u64) -> u64 {
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    below_space | zero_in(word ^ (ONES * b'"' as u64)) | zero_in(word ^ (ONES * b'\\' as u64))
}

/// The escape of one byte, or `None` when it is written as is.
#[inline]
fn escape_of(b: u8) -> Option<&'static [u8]> {
    Some(match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        b'\t' => b"\\t",
        b'\n' => b"\\n",
        0x0C => b"\\f",
        b'\r' => b"\\r",
        0x00..=0x1F => &CONTROL[b as usize],
        _ => return None,
    })
}

/// `\u00xx` for every control byte, indexed by the byte.
static CONTROL: [[u8; 6]; 32] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 6]; 32];
    let mut b = 0;
    while b < 32 {
        table[b] = [b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xF]];
        b += 1;
    }
    table
};

/// Appends `s` to `out` as a JSON string literal, quotes included.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut clean_from = 0;
    let mut i = next_escape(bytes, 0);
    while i < bytes.len() {
        if let Some(escape) = escape_of(bytes[i]) {
            out.extend_from_slice(&bytes[clean_from..i]);
            out.extend_from_slice(escape);
            clean_from = i + 1;
        }
        i = next_escape(bytes, i + 1);
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// The index of the first byte at or after `from` that needs an escape, or
/// `bytes.len()`: sixteen bytes at a time with SSE2 (part of every x86_64
/// CPU), then eight at a time, then one.
fn next_escape(bytes: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let from = {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        let mut i = from;
        // SAFETY: SSE2 is in the x86_64 baseline, and each unaligned load
        // reads the sixteen bytes `i..i + 16`, which the loop condition keeps
        // inside `bytes`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let last_control = _mm_set1_epi8(0x1F);
            while i + 16 <= bytes.len() {
                let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast::<__m128i>());
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);
                let special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
                let mask = _mm_movemask_epi8(_mm_or_si128(control, special)) as u32;
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
        i
    };
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mask = escape_mask(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| escape_of(b).is_some()).map_or(bytes.len(), |p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn every_ascii_byte_is_escaped_as_serde_json_does() {
        for b in 0u8..=0x7F {
            let s = format!("ab{}cdefghijk{}", b as char, b as char);
            assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "byte {b:#04x}");
        }
    }

    #[test]
    fn runs_of_every_length_around_the_word_size() {
        for n in 0..40 {
            for at in 0..=n {
                let mut s = "é".repeat(n);
                s.insert(at * 2, '"');
                assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_match_serde_json(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn control_heavy_strings_match_serde_json(s in "[\\x00-\\x20\"\\\\a-z\u{7f}\u{80}-\u{10ffff}]{0,64}") {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
