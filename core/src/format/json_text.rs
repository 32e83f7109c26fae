//! JSON string literals written fast, byte-identical to `serde_json`.
//!
//! Turn contents are most of an export's bytes. `serde_json` looks every
//! byte up in a table and branches on it; this writer copies sixteen bytes
//! at a time into the output, finds the first byte among them that needs
//! an escape (`"`, `\` or a control below U+0020) with one SIMD comparison,
//! and where there is one, cuts the copy there and appends the escape from
//! a table padded to eight bytes — no branch on which escape it is. The
//! escapes themselves are `serde_json`'s: the short forms
//! `\" \\ \b \t \n \f \r`, else `\u00xx` in lowercase hex.

/// Appends `s` to `out` as a JSON string literal, quotes included.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while let Some(block) = bytes[i..].first_chunk::<16>() {
        i += copy_escaped(out, block, 16);
    }
    // The last bytes, in a block padded with spaces (which need no escape).
    while i < bytes.len() {
        let rest = &bytes[i..];
        let mut block = [b' '; 16];
        block[..rest.len()].copy_from_slice(rest);
        i += copy_escaped(out, &block, rest.len());
    }
    out.push(b'"');
}

/// Appends the first `valid` bytes of `block` up to the first that needs
/// an escape, and that one escaped; returns how many bytes it took.
#[inline(always)]
fn copy_escaped(out: &mut Vec<u8>, block: &[u8; 16], valid: usize) -> usize {
    out.extend_from_slice(block);
    let mask = escapes_in(block) & (u32::MAX >> (32 - valid));
    if mask == 0 {
        out.truncate(out.len() - 16 + valid);
        return valid;
    }
    let k = mask.trailing_zeros() as usize;
    let (escape, len) = &ESCAPES[block[k] as usize];
    out.truncate(out.len() - 16 + k);
    out.extend_from_slice(escape);
    out.truncate(out.len() - escape.len() + usize::from(*len));
    k + 1
}

/// A mask with bit `i` set when byte `i` of `block` needs an escape (on
/// other architectures than x86_64, only the lowest such bit is exact).
#[inline]
fn escapes_in(block: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is in the x86_64 baseline, and the unaligned load
        // reads the sixteen bytes of `block`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) as u32
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block.iter().position(|&b| ESCAPES[b as usize].1 != 0).map_or(0, |k| 1 << k)
    }
}

/// Every byte's escape, padded to eight bytes, with its length; a length
/// of 0 for the bytes written as they are.
static ESCAPES: [([u8; 8], u8); 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut table = [([0u8; 8], 0u8); 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = ([b'\\', b'u', b'0', b'0', HEX[b >> 4], HEX[b & 0xF], 0, 0], 6);
        b += 1;
    }
    let short = [
        (b'"', b'"'),
        (b'\\', b'\\'),
        (0x08, b'b'),
        (b'\t', b't'),
        (b'\n', b'n'),
        (0x0C, b'f'),
        (b'\r', b'r'),
    ];
    let mut j = 0;
    while j < short.len() {
        table[short[j].0 as usize] = ([b'\\', short[j].1, 0, 0, 0, 0, 0, 0], 2);
        j += 1;
    }
    table
};

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
