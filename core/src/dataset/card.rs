//! The dataset card: a `README.md` whose YAML front matter declares the
//! configs, the `data_files` of each split, the features (where the format
//! fixes them) and the sizes, as the Hugging Face Hub and
//! `datasets.load_dataset(dir)` read it.

use std::fmt::Write as _;

use super::SplitSummary;
use crate::model::{ExportConfig, Format, JsonlFlavor};

/// The card of a dataset whose splits are `splits`, files named
/// `{split}-NNNNN-of-NNNNN.{extension}`. Split names are quoted: a split of
/// the user's own may be named `null`, `true` or `2024`, which YAML would
/// read as another type (the names hold no quote or backslash:
/// [`check_split_names`](super::check_split_names)).
pub(crate) fn dataset_card(
    config: &ExportConfig,
    splits: &[SplitSummary],
    extension: &str,
    about: &str,
) -> String {
    let mut yaml = String::from("---\nconfigs:\n- config_name: default\n  data_files:\n");
    for split in splits {
        let _ = writeln!(
            yaml,
            "  - split: \"{}\"\n    path: \"{}-*.{extension}\"",
            split.name, split.name
        );
    }
    yaml.push_str("dataset_info:\n");
    if let Some(features) = features(config) {
        yaml.push_str(features);
    }
    yaml.push_str("  splits:\n");
    for split in splits {
        let _ = writeln!(
            yaml,
            "  - name: \"{}\"\n    num_examples: {}\n    num_bytes: {}",
            split.name, split.conversations, split.bytes
        );
    }
    let stored: u64 = splits.iter().flat_map(|s| &s.files).map(|f| f.bytes).sum();
    let _ = writeln!(yaml, "  download_size: {stored}\n---\n");
    yaml.push_str("# Training conversations\n\n");
    yaml.push_str(about);
    yaml.push_str("\n\n| split | conversations | files |\n|---|---:|---:|\n");
    for split in splits {
        let _ =
            writeln!(yaml, "| {} | {} | {} |", split.name, split.conversations, split.files.len());
    }
    yaml
}

/// The features when the format fixes them: OpenAI chat JSONL without
/// metadata is `messages: [{role, content}]`. Other shapes vary with the
/// options (metadata keys, flavors), so `datasets` infers them.
fn features(config: &ExportConfig) -> Option<&'static str> {
    let fixed = config.format == Format::Jsonl
        && config.jsonl_flavor == JsonlFlavor::Openai
        && !config.include_metadata;
    fixed.then_some(
        "  features:\n  - name: messages\n    list:\n    - name: role\n      dtype: string\n    - name: content\n      dtype: string\n",
    )
}
