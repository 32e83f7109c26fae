//! The seeds' export file name, built only from safe characters.

use chrono::NaiveDate;

use crate::ExportSummary;

/// The longest tier label kept in a file name, in characters.
///
/// ```
/// use lora_export_core::audit::{export_file_name, MAX_TIER_CHARS};
/// let date = chrono::NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
/// let name = export_file_name(&"t".repeat(500), date, 1, "csv");
/// assert_eq!(name.len(), "training-data--2025-10-29-1.csv".len() + MAX_TIER_CHARS);
/// ```
pub const MAX_TIER_CHARS: usize = 64;

/// The longest extension kept in a file name, in characters.
///
/// ```
/// use lora_export_core::audit::{export_file_name, MAX_EXTENSION_CHARS};
/// let date = chrono::NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
/// let name = export_file_name("template", date, 1, &"x".repeat(100));
/// assert!(name.ends_with(&format!(".{}", "x".repeat(MAX_EXTENSION_CHARS))));
/// ```
pub const MAX_EXTENSION_CHARS: usize = 16;

/// The seeds' file name `training-data-{tier}-{YYYY-MM-DD}-{count}.{extension}`.
///
/// The tier and the extension come from data, so each is reduced to
/// `[a-z0-9_-]` (the extension: each of its dot-separated parts, as in
/// `jsonl.gz`): letters are lowercased, every other character (`.`, `/`,
/// spaces, quotes, control characters, anything non-ASCII) becomes `-`,
/// runs of `-` collapse to one, `-` is trimmed from both ends, the result is
/// cut to [`MAX_TIER_CHARS`] / [`MAX_EXTENSION_CHARS`], and an empty result
/// becomes `unknown`. The date is written `YYYY-MM-DD` (years outside
/// 0–9999 keep their digits only). A name is therefore at most 127 bytes of
/// `[a-z0-9_.-]`, never starts with `.` or `-`, and holds no path separator.
///
/// ```
/// use chrono::NaiveDate;
/// use lora_export_core::audit::export_file_name;
/// let date = NaiveDate::from_ymd_opt(2025, 10, 29).unwrap();
/// assert_eq!(export_file_name("template", date, 42, "jsonl"), "training-data-template-2025-10-29-42.jsonl");
/// assert_eq!(export_file_name("Edge Case", date, 3, ".CSV"), "training-data-edge-case-2025-10-29-3.csv");
/// assert_eq!(export_file_name("../../etc/passwd", date, 1, "md"), "training-data-etc-passwd-2025-10-29-1.md");
/// assert_eq!(export_file_name("", date, 0, ""), "training-data-unknown-2025-10-29-0.unknown");
/// assert_eq!(export_file_name("template", date, 3, "jsonl.gz"), "training-data-template-2025-10-29-3.jsonl.gz");
/// ```
pub fn export_file_name(tier_label: &str, date: NaiveDate, count: u64, extension: &str) -> String {
    let tier = slug(tier_label, MAX_TIER_CHARS);
    // Each dot-separated part (`jsonl.gz`) reduced alike, the whole cut.
    let parts = extension.split('.').filter(|part| !part.is_empty());
    let mut ext = parts.map(|part| slug(part, MAX_EXTENSION_CHARS)).collect::<Vec<_>>().join(".");
    ext.truncate(MAX_EXTENSION_CHARS);
    let ext = match ext.trim_end_matches(['.', '-']) {
        "" => slug("", 0),
        trimmed => trimmed.to_owned(),
    };
    let date = slug(&date.format("%Y-%m-%d").to_string(), 16);
    format!("training-data-{tier}-{date}-{count}.{ext}")
}

/// [`export_file_name`] for a finished export: the tier is
/// [`summary.tier_label()`](ExportSummary::tier_label) (the only tier
/// written, `mixed` for several, `none` for an empty export) and the count
/// is the number of conversations written.
///
/// ```
/// use chrono::NaiveDate;
/// use lora_export_core::audit::file_name_for;
/// use lora_export_core::ExportSummary;
///
/// let date = NaiveDate::from_ymd_opt(2025, 11, 2).unwrap();
/// let mut summary = ExportSummary { conversations: 12, ..Default::default() };
/// summary.tier_distribution.insert("template".into(), 10);
/// assert_eq!(file_name_for(&summary, date, "jsonl"), "training-data-template-2025-11-02-12.jsonl");
/// summary.tier_distribution.insert("edge_case".into(), 2);
/// assert_eq!(file_name_for(&summary, date, "md"), "training-data-mixed-2025-11-02-12.md");
/// ```
pub fn file_name_for(summary: &ExportSummary, date: NaiveDate, extension: &str) -> String {
    export_file_name(summary.tier_label(), date, summary.conversations, extension)
}

/// Reduces `raw` to `[a-z0-9_-]`, at most `max` characters, never empty.
fn slug(raw: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max));
    for c in raw.chars().flat_map(char::to_lowercase) {
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if keep {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() > max {
            break;
        }
    }
    out.truncate(max);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "unknown".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 10, 29).unwrap()
    }

    fn name(tier: &str, ext: &str) -> String {
        export_file_name(tier, day(), 7, ext)
    }

    fn assert_safe(file_name: &str) {
        assert!(
            file_name.bytes().all(|b| b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'_' | b'-' | b'.')),
            "unsafe byte in {file_name:?}"
        );
        assert!((1..=2).contains(&file_name.matches('.').count()), "{file_name:?}");
        assert!(!file_name.contains(".."), "{file_name:?}");
        assert!(file_name.starts_with("training-data-"));
        assert!(file_name.len() <= 127);
    }

    #[test]
    fn the_seed_example() {
        assert_eq!(
            export_file_name("template", day(), 42, "jsonl"),
            "training-data-template-2025-10-29-42.jsonl"
        );
    }

    #[test]
    fn underscores_and_digits_survive() {
        assert_eq!(name("edge_case", "jsonl"), "training-data-edge_case-2025-10-29-7.jsonl");
        assert_eq!(name("tier2", "md"), "training-data-tier2-2025-10-29-7.md");
    }

    #[test]
    fn hostile_tiers_are_neutralised() {
        let cases = [
            ("../../etc/passwd", "training-data-etc-passwd-2025-10-29-7.csv"),
            ("..\\..\\windows\\system32", "training-data-windows-system32-2025-10-29-7.csv"),
            ("TEMPLATE", "training-data-template-2025-10-29-7.csv"),
            ("a\"b'c", "training-data-a-b-c-2025-10-29-7.csv"),
            ("line\r\nbreak", "training-data-line-break-2025-10-29-7.csv"),
            ("tab\there", "training-data-tab-here-2025-10-29-7.csv"),
            ("nul\0byte", "training-data-nul-byte-2025-10-29-7.csv"),
            ("Émoji 🎉 ok", "training-data-moji-ok-2025-10-29-7.csv"),
            ("中文", "training-data-unknown-2025-10-29-7.csv"),
            ("שלום", "training-data-unknown-2025-10-29-7.csv"),
            ("e\u{301}dge", "training-data-e-dge-2025-10-29-7.csv"),
            ("\u{202E}fdp.exe", "training-data-fdp-exe-2025-10-29-7.csv"),
            ("", "training-data-unknown-2025-10-29-7.csv"),
            ("---", "training-data-unknown-2025-10-29-7.csv"),
            ("-rf", "training-data-rf-2025-10-29-7.csv"),
            ("; rm -rf /", "training-data-rm-rf-2025-10-29-7.csv"),
            ("$(reboot)", "training-data-reboot-2025-10-29-7.csv"),
            ("x%00y", "training-data-x-00y-2025-10-29-7.csv"),
        ];
        for (tier, expected) in cases {
            let got = name(tier, "csv");
            assert_eq!(got, expected, "tier {tier:?}");
            assert_safe(&got);
        }
    }

    #[test]
    fn hostile_extensions_are_neutralised() {
        assert_eq!(name("template", ".jsonl"), "training-data-template-2025-10-29-7.jsonl");
        assert_eq!(name("template", "JSON"), "training-data-template-2025-10-29-7.json");
        assert_eq!(
            name("template", "csv\r\nX-Evil: 1"),
            "training-data-template-2025-10-29-7.csv-x-evil-1"
        );
        assert_eq!(name("template", "tar.gz"), "training-data-template-2025-10-29-7.tar.gz");
        assert_eq!(name("template", "a..b."), "training-data-template-2025-10-29-7.a.b");
        assert_eq!(name("template", "../x"), "training-data-template-2025-10-29-7.x");
        assert_eq!(name("template", ""), "training-data-template-2025-10-29-7.unknown");
        assert_eq!(name("template", "\"'"), "training-data-template-2025-10-29-7.unknown");
        for ext in ["csv\r\nX-Evil: 1", "tar.gz", "../x", "", "ü", "md\u{0}"] {
            assert_safe(&name("scenario", ext));
        }
    }

    #[test]
    fn lengths_are_bounded() {
        let got = name(&"ab".repeat(1000), &"z".repeat(1000));
        assert_safe(&got);
        assert_eq!(
            got,
            format!("training-data-{}-2025-10-29-7.{}", "ab".repeat(32), "z".repeat(16))
        );
        // A cut that lands on a separator does not leave a trailing `-`.
        let tier = format!("{}-tail", "a".repeat(MAX_TIER_CHARS));
        assert_eq!(name(&tier, "md"), format!("training-data-{}-2025-10-29-7.md", "a".repeat(64)));
        let tier = format!("{} tail", "a".repeat(MAX_TIER_CHARS - 1));
        assert_eq!(name(&tier, "md"), format!("training-data-{}-2025-10-29-7.md", "a".repeat(63)));
        let worst = export_file_name(&"x".repeat(999), day(), u64::MAX, &"y".repeat(99));
        assert_eq!(worst.len(), 127);
    }

    #[test]
    fn dates_and_counts() {
        let d = NaiveDate::from_ymd_opt(2025, 1, 5).unwrap();
        assert_eq!(
            export_file_name("scenario", d, 0, "md"),
            "training-data-scenario-2025-01-05-0.md"
        );
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap();
        let got = export_file_name("scenario", far, u64::MAX, "md");
        assert_eq!(got, format!("training-data-scenario-12345-06-07-{}.md", u64::MAX));
        assert_safe(&got);
    }

    #[test]
    fn names_from_summaries() {
        let mut summary = ExportSummary { conversations: 3, ..ExportSummary::default() };
        assert_eq!(file_name_for(&summary, day(), "json"), "training-data-none-2025-10-29-3.json");
        summary.tier_distribution.insert("edge_case".into(), 3);
        assert_eq!(
            file_name_for(&summary, day(), "json"),
            "training-data-edge_case-2025-10-29-3.json"
        );
        summary.tier_distribution.insert("scenario".into(), 1);
        assert_eq!(file_name_for(&summary, day(), "json"), "training-data-mixed-2025-10-29-3.json");
        summary.tier_distribution.clear();
        summary.tier_distribution.insert("../Evil Tier".into(), 1);
        assert_eq!(
            file_name_for(&summary, day(), "json"),
            "training-data-evil-tier-2025-10-29-3.json"
        );
    }
}
