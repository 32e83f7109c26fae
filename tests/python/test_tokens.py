"""Token counts match the reference implementations: Python's tiktoken for
OpenAI's o200k_base and cl100k_base (given the very BPE files the Rust crate
ships, from disk: tiktoken cannot download here) with OpenAI's documented
chat overhead, and Hugging Face's `tokenizers` on the tokenizer.json this
repository ships. Conversations over --max-tokens are skipped with their count.

Run by scripts/test.sh with LORA_EXPORT_BIN pointing at the `lora-export`
command built with the `tokenizers` feature.
"""

import glob
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.jsonl"
TOKENIZER_JSON = ROOT / "tests" / "tokenizer" / "tokenizer.json"


def export(out, *flags):
    binary = os.environ.get("LORA_EXPORT_BIN")
    if not binary:
        pytest.skip("LORA_EXPORT_BIN is not set (scripts/test.sh sets it)")
    done = subprocess.run(
        [binary, "--input", str(SAMPLE), "--format", "jsonl", "--output", str(out), *flags],
        capture_output=True, text=True, check=True,
    )
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    return json.loads(done.stderr), lines


def local_bpe(name):
    """The BPE file tiktoken-rs ships, from cargo's registry."""
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(glob.glob(f"{home}/registry/src/*/tiktoken-rs-*/assets/{name}.tiktoken"))
    assert found, f"no {name}.tiktoken under {home}/registry (cargo fetched tiktoken-rs)"
    return found[-1]


def reference_encoding(name):
    import tiktoken
    import tiktoken.load
    import tiktoken_ext.openai_public as public

    path = local_bpe(name)
    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = lambda *args, **kwargs: tiktoken.load.load_tiktoken_bpe(path)
    try:
        return tiktoken.Encoding(**getattr(public, name)())
    finally:
        public.load_tiktoken_bpe = original


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_openai_counts_match_tiktoken_with_the_chat_overhead(tmp_path, name):
    encoding = reference_encoding(name)
    prompt = "You are a support agent. <|endoftext|> is text here."
    summary, lines = export(tmp_path / "out.jsonl", "--tokenizer", name,
                            "--config", json.dumps({"systemPrompt": prompt}))
    expected = []
    for line in lines:
        # OpenAI's cookbook (num_tokens_from_messages): 3 per message, its
        # role and content, and 3 to prime the reply.
        count = 3 + sum(3 + len(encoding.encode_ordinary(m["role"]))
                        + len(encoding.encode_ordinary(m["content"])) for m in line["messages"])
        assert line["messages"][0]["role"] == "system"
        assert line["metadata"]["token_count"] == count, line["metadata"]["conversation_id"]
        expected.append(count)
    with_prompt = [l for l in lines if l["messages"][0]["content"] == prompt]
    assert 0 < len(with_prompt) < len(lines), "ours first, unless a conversation has its own"
    tokens = summary["tokens"]
    assert (tokens["tokenizer"], tokens["conversations"]) == (name, len(lines))
    assert (tokens["total"], tokens["max"]) == (sum(expected), max(expected))
    ordered = sorted(expected)
    assert tokens["p50"] == ordered[(len(ordered) + 1) // 2 - 1]


def test_tokenizer_json_counts_match_hugging_face_tokenizers(tmp_path):
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(TOKENIZER_JSON))
    summary, lines = export(tmp_path / "out.jsonl", "--tokenizer", str(TOKENIZER_JSON))
    for line in lines:
        count = sum(len(reference.encode(m["content"], add_special_tokens=False).ids)
                    for m in line["messages"])
        assert line["metadata"]["token_count"] == count
    assert summary["tokens"]["total"] == sum(l["metadata"]["token_count"] for l in lines)


def test_max_tokens_skips_what_a_trainer_would_truncate(tmp_path):
    full, lines = export(tmp_path / "all.jsonl", "--tokenizer", "o200k_base")
    limit = sorted(l["metadata"]["token_count"] for l in lines)[len(lines) // 2]
    summary, kept = export(tmp_path / "kept.jsonl", "--tokenizer", "o200k_base",
                           "--max-tokens", str(limit))
    assert all(l["metadata"]["token_count"] <= limit for l in kept)
    too_long = [s for s in summary["skipped"] if s["reason"].startswith("too long")]
    assert len(too_long) == len(lines) - len(kept) == summary["tokens"]["over_max_tokens"] > 0
    assert f"is over max_tokens {limit}" in too_long[0]["reason"]


def test_a_dataset_counts_tokens_across_its_splits(tmp_path):
    binary = os.environ.get("LORA_EXPORT_BIN")
    if not binary:
        pytest.skip("LORA_EXPORT_BIN is not set")
    done = subprocess.run(
        [binary, "--input", str(SAMPLE), "--format", "jsonl", "--output", str(tmp_path / "ds"),
         "--split", "train=0.5,validation=0.5", "--tokenizer", "o200k_base"],
        capture_output=True, text=True, check=True,
    )
    summary = json.loads(done.stderr)
    counts = []
    for name in (tmp_path / "ds").glob("*.jsonl"):
        counts += [json.loads(l)["metadata"]["token_count"] for l in name.read_text("utf-8").splitlines()]
    assert summary["export"]["tokens"]["total"] == sum(counts)
    assert summary["export"]["tokens"]["conversations"] == len(counts) == 32
