"""A dataset export — split, sharded, zstd-compressed, with its card — is
what Hugging Face `datasets.load_dataset(dir)` loads: every split by its
name, the exact counts of the summary, the rows the files hold. A changed
system prompt moves no conversation to another split.

Run by scripts/test.sh with LORA_EXPORT_BIN pointing at the built `export`
example; nothing is downloaded (HF_DATASETS_OFFLINE).
"""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.jsonl"


def export_dataset(out, *flags):
    binary = os.environ.get("LORA_EXPORT_BIN")
    if not binary:
        pytest.skip("LORA_EXPORT_BIN is not set (scripts/test.sh sets it)")
    done = subprocess.run(
        [binary, "--input", str(SAMPLE), "--format", "jsonl", "--output", str(out), *flags],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stderr)


def load(path):
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets

    return datasets.load_dataset(str(path), cache_dir=str(path.parent / "hf-cache"))


def ids(split):
    return {row["metadata"]["conversation_id"] for row in split}


def test_load_dataset_reads_every_split_of_a_sharded_zstd_export(tmp_path):
    flags = ["--split", "train=0.6,validation=0.2,test=0.2", "--seed", "7", "--dedupe",
             "--shard-records", "5", "--compress", "zstd"]
    summary = export_dataset(tmp_path / "ds", *flags)
    loaded = load(tmp_path / "ds")
    assert list(loaded) == ["train", "validation", "test"]
    for part in summary["splits"]:
        assert loaded[part["name"]].num_rows == part["conversations"]
        assert all(f["name"].endswith(".jsonl.zst") for f in part["files"])
    assert len(summary["splits"][0]["files"]) > 1, "train is sharded"
    assert sum(p["conversations"] for p in summary["splits"]) == 32
    assert loaded["train"][0]["messages"][0]["role"] in ("system", "user")
    every = [ids(loaded[name]) for name in loaded]
    assert sum(map(len, every)) == len(set().union(*every)), "no conversation is in two splits"

    # Another system prompt, no shards, gzip: the same conversations in each split.
    again = export_dataset(tmp_path / "again", "--split", "train=0.6,validation=0.2,test=0.2",
                           "--seed", "7", "--compress", "gzip",
                           "--config", '{"systemPrompt": "You are a careful support agent."}')
    reloaded = load(tmp_path / "again")
    for name in loaded:
        assert ids(reloaded[name]) == ids(loaded[name])
    assert reloaded["train"][0]["messages"][0] == {
        "role": "system", "content": "You are a careful support agent."}
    assert again["seed"] == 7


def test_the_card_declares_the_features_when_the_format_fixes_them(tmp_path):
    export_dataset(tmp_path / "ds", "--split", "train=0.5,validation=0.5",
                   "--config", '{"includeMetadata": false}')
    card = (tmp_path / "ds" / "README.md").read_text("utf-8")
    assert card.startswith("---\nconfigs:\n- config_name: default\n")
    assert "  features:\n  - name: messages\n" in card
    loaded = load(tmp_path / "ds")
    assert set(loaded["train"].features) == {"messages"}
