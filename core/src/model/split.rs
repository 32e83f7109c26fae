//! Deterministic splits: a conversation's part is decided by a seeded hash
//! of its `conversation_id` alone, so it does not move when the data grows
//! or is reordered, nor when the format or the system prompt changes.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{ErrorKind, Issue, Result};

/// Named parts and their shares, e.g. `train=0.9,validation=0.1`.
///
/// ```
/// use lora_export_core::dataset::SplitSpec;
/// let split = SplitSpec::parse("train=0.9,validation=0.1").unwrap();
/// assert_eq!(split.names().collect::<Vec<_>>(), ["train", "validation"]);
/// // The same id lands in the same part for the same seed, whatever else changes.
/// assert_eq!(split.part_of("conv-1", 42), split.part_of("conv-1", 42));
/// assert!(SplitSpec::parse("train=0.9,validation=0.2").is_err(), "shares sum to 1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SplitSpec {
    parts: Vec<(String, f64)>,
}

/// How far the shares may sum from 1.
const SUM_TOLERANCE: f64 = 1e-9;

/// The most parts a split may have: each part keeps a shard (a file and,
/// compressed, an encoder of about 1 MB) open while the export runs.
pub const MAX_SPLIT_PARTS: usize = 16;

impl SplitSpec {
    /// Parts from `(name, share)` pairs: names are lowercase identifiers
    /// (`[a-z][a-z0-9_]*`, at most 64 characters, each once), shares are
    /// greater than 0 and sum to 1; at most [`MAX_SPLIT_PARTS`] parts.
    /// `CONFIG_ERROR` (400 as a request) with every problem otherwise.
    pub fn new<S: Into<String>>(parts: impl IntoIterator<Item = (S, f64)>) -> Result<SplitSpec> {
        let parts: Vec<(String, f64)> = parts.into_iter().map(|(n, s)| (n.into(), s)).collect();
        if parts.len() > MAX_SPLIT_PARTS {
            return Err(too_many_parts(parts.len()));
        }
        let mut issues = Vec::new();
        if parts.is_empty() {
            issues.push(Issue::new("split", "required", "a split needs at least one part"));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, share) in &parts {
            let path = format!("split.{name}");
            let valid = name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                let message = format!("part name `{name}` is not [a-z][a-z0-9_]* (at most 64)");
                issues.push(Issue::new(&path, "invalid_name", message));
            }
            if !seen.insert(name.as_str()) {
                issues.push(Issue::new(
                    &path,
                    "duplicate",
                    format!("part `{name}` is named twice"),
                ));
            }
            if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
                let message = format!("the share of `{name}` must be in (0, 1], not {share}");
                issues.push(Issue::new(&path, "out_of_range", message));
            }
        }
        let sum: f64 = parts.iter().map(|(_, s)| s).sum();
        if issues.is_empty() && (sum - 1.0).abs() > SUM_TOLERANCE {
            let message = format!("the shares sum to {sum}, not 1");
            issues.push(Issue::new("split", "bad_sum", message));
        }
        if issues.is_empty() {
            Ok(SplitSpec { parts })
        } else {
            Err(ErrorKind::InvalidRequest(issues).into())
        }
    }

    /// Parses `name=share,name=share` (the CLI's `--split`); more than
    /// [`MAX_SPLIT_PARTS`] items are refused before any is read.
    pub fn parse(text: &str) -> Result<SplitSpec> {
        let items = || text.split(',').map(str::trim).filter(|s| !s.is_empty());
        let count = items().count();
        if count > MAX_SPLIT_PARTS {
            return Err(too_many_parts(count));
        }
        let mut parts = Vec::new();
        for item in items() {
            let Some((name, share)) = item.split_once('=') else {
                let issue = Issue::new("split", "invalid", format!("`{item}` is not name=share"));
                return Err(ErrorKind::InvalidRequest(vec![issue]).into());
            };
            let share: f64 = share.trim().parse().map_err(|_| {
                let issue = Issue::new(
                    format!("split.{}", name.trim()),
                    "invalid_type",
                    format!("`{share}` is not a number"),
                );
                crate::Error::from(ErrorKind::InvalidRequest(vec![issue]))
            })?;
            parts.push((name.trim().to_owned(), share));
        }
        SplitSpec::new(parts)
    }

    /// One part, `train`, with everything.
    pub fn single(name: &str) -> SplitSpec {
        SplitSpec { parts: vec![(name.to_owned(), 1.0)] }
    }

    /// The parts' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().map(|(n, _)| n.as_str())
    }

    /// The parts' shares, in order.
    pub fn shares(&self) -> impl Iterator<Item = f64> + '_ {
        self.parts.iter().map(|(_, s)| *s)
    }

    /// The index of the part `conversation_id` belongs to under `seed`: the
    /// first 8 bytes of SHA-256(`seed` as 8 little-endian bytes ‖ id) as a
    /// fraction of 2⁶⁴, against the cumulative shares. SHA-256 so that the
    /// assignment is the same on every platform and in every version.
    pub fn part_of(&self, conversation_id: &str, seed: u64) -> usize {
        let digest = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(conversation_id.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let point = u64::from_be_bytes(first) as f64 / 2f64.powi(64);
        let mut cumulative = 0.0;
        for (i, (_, share)) in self.parts.iter().enumerate() {
            cumulative += share;
            if point < cumulative {
                return i;
            }
        }
        self.parts.len() - 1
    }
}

/// The `too_many_parts` refusal of a split of `count` parts.
fn too_many_parts(count: usize) -> crate::Error {
    let message = format!("{count} parts; a split has at most {MAX_SPLIT_PARTS}");
    ErrorKind::InvalidRequest(vec![Issue::new("split", "too_many_parts", message)]).into()
}

impl fmt::Display for SplitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(|(n, s)| format!("{n}={s}")).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_close_to_the_spec_and_names_are_checked() {
        let split = SplitSpec::parse("train=0.8, validation=0.1 ,test=0.1").unwrap();
        let mut counts = [0usize; 3];
        for i in 0..20_000 {
            counts[split.part_of(&format!("conv-{i}"), 7)] += 1;
        }
        assert!((15_600..16_400).contains(&counts[0]), "{counts:?}");
        assert!((1_800..2_200).contains(&counts[1]) && (1_800..2_200).contains(&counts[2]));
        let other_seed = (0..1000).filter(|i| {
            let id = format!("conv-{i}");
            split.part_of(&id, 7) != split.part_of(&id, 8)
        });
        assert!(other_seed.count() > 100, "the seed changes the assignment");
        for bad in
            ["Train=1", "a=0.5,a=0.5", "train=0", "train=1.5", "train=x", "train", "a-b=1", ""]
        {
            assert!(SplitSpec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(split.to_string(), "train=0.8,validation=0.1,test=0.1");
    }
}
