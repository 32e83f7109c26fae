"""Token counts match the reference implementations: Python's tiktoken for
OpenAI's o200k_base and cl100k_base (given the very BPE files the Rust crate
ships, from disk: tiktoken cannot download here) with OpenAI's documented
chat overhead, and Hugging Face's `tokenizers` on the tokenizer.json this
repository ships. Conversations over --max-tokens are skipped with their count.

Run by scripts/test.sh with LORA_EXPORT_BIN pointing at the `lora-export`
command built with the `tokenizers` feature.
"""

import base64
import glob
import gzip
import hashlib
import json
import os
import pathlib
import random
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample.jsonl"
TOKENIZER_JSON = ROOT / "tests" / "tokenizer" / "tokenizer.json"


def export(out, *flags, source=SAMPLE):
    binary = os.environ.get("LORA_EXPORT_BIN")
    if not binary:
        pytest.skip("LORA_EXPORT_BIN is not set (scripts/test.sh sets it)")
    done = subprocess.run(
        [binary, "--input", str(source), "--format", "jsonl", "--output", str(out), *flags],
        capture_output=True, text=True, check=True,
    )
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    return json.loads(done.stderr), lines


def reference_encoding(name):
    """tiktoken's encoding from the BPE file bpe-openai ships (gzipped, in
    cargo's registry: tiktoken cannot download here), checked against the
    SHA-256 tiktoken expects of OpenAI's file."""
    import tiktoken
    import tiktoken_ext.openai_public as public

    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(glob.glob(f"{home}/registry/src/*/bpe-openai-*/data/{name}.tiktoken.gz"))
    assert found, f"no {name}.tiktoken.gz under {home}/registry (cargo fetched bpe-openai)"
    data = gzip.decompress(pathlib.Path(found[-1]).read_bytes())

    def load(url, expected_hash):
        assert hashlib.sha256(data).hexdigest() == expected_hash, f"{found[-1]} is not {url}"
        return {base64.b64decode(token): int(rank)
                for token, rank in (line.split() for line in data.splitlines() if line)}

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = load
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


# Pieces the pre-tokenizers split on: runs of spaces, tabs and newlines
# before a word or at the end, contractions in either case, digit runs,
# letters of several scripts and cases, marks, emoji, punctuation, the
# special token as text.
PIECES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "'s", "'LL", "'Re", "'d",
          "1", "123", "12345", "word", "Word", "WORD", "wOrD", "été", "Ünïcödé", "straße",
          "中文", "日本語", "한국어", "Ελληνικά", "кириллица", "e\u0301", "🙂", "🚀🚀",
          "...", "?!", "/", "//", "-", "—", "\"", "(x)", "<|endoftext|>", "\u00a0", "\u3000"]


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_openai_counts_match_tiktoken_on_adversarial_texts(tmp_path, name):
    """Counts without token ids (bpe-openai) equal tiktoken's encode_ordinary
    on texts made of what its regex splits on, whitespace at either end."""
    encoding = reference_encoding(name)
    rng = random.Random(38)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))) for _ in range(400)]
    # A turn of whitespace alone is skipped (empty), not counted.
    texts = [text for text in texts + PIECES if text.strip()]
    source = tmp_path / "in.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for i, text in enumerate(texts):
            turns = [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]
            out.write(json.dumps({"conversation_id": f"c{i}", "status": "approved",
                                  "turns": turns}) + "\n")
    _, lines = export(tmp_path / "out.jsonl", "--tokenizer", name, "--config",
                      json.dumps({"includeFullContent": True, "systemPrompt": None}),
                      source=source)
    assert len(lines) == len(texts)
    for line in lines:
        count = 3 + sum(3 + len(encoding.encode_ordinary(m["role"]))
                        + len(encoding.encode_ordinary(m["content"])) for m in line["messages"])
        assert line["metadata"]["token_count"] == count, line["messages"][0]["content"]


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


CHAT = ROOT / "tests" / "tokenizer" / "chat"


def reference_render(template, messages, bos_token=None, eos_token=None):
    """transformers' apply_chat_template rendering (_compile_jinja_template):
    a sandboxed jinja2 with trim_blocks, lstrip_blocks, loop controls, its
    tojson and raise_exception; only the special tokens the model has."""
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    tokens = {k: v for k, v in (("bos_token", bos_token), ("eos_token", eos_token)) if v}
    return env.from_string(template).render(messages=messages, add_generation_prompt=False,
                                            **tokens)


def template_of(config):
    """The chat template, bos and eos of a tokenizer_config.json, or a template file."""
    if config.suffix != ".json":
        return config.read_text("utf-8"), None, None
    data = json.loads(config.read_text("utf-8"))
    template = data["chat_template"]
    if isinstance(template, list):
        template = next(t["template"] for t in template if t["name"] == "default")
    token = lambda t: t["content"] if isinstance(t, dict) else t
    return template, token(data.get("bos_token")), token(data.get("eos_token"))


@pytest.mark.parametrize("config", ["llama3_tokenizer_config.json",
                                    "chatml_tokenizer_config.json", "qwen2.jinja"])
def test_chat_template_counts_match_transformers_rendering(tmp_path, config):
    from tokenizers import Tokenizer

    tokenizer = CHAT / "tokenizer.json"
    reference = Tokenizer.from_file(str(tokenizer))
    template, bos, eos = template_of(CHAT / config)
    summary, lines = export(tmp_path / "out.jsonl", "--tokenizer", str(tokenizer),
                            "--chat-template", str(CHAT / config),
                            "--config", json.dumps({"systemPrompt": "Be brief."}))
    assert lines
    for line in lines:
        # apply_chat_template(messages, tokenize=True): the rendered text,
        # encoded without added special tokens (the template writes them).
        text = reference_render(template, line["messages"], bos, eos)
        count = len(reference.encode(text, add_special_tokens=False).ids)
        assert line["metadata"]["token_count"] == count, line["metadata"]["conversation_id"]
    assert summary["tokens"]["chat_template"] == str(CHAT / config)
    assert summary["tokens"]["total"] == sum(l["metadata"]["token_count"] for l in lines)


def test_max_tokens_counts_the_chat_template_tokens(tmp_path):
    """Counted on contents alone, every conversation fits the longest
    content's count; rendered by the template, those whose template tokens
    take them over the limit are skipped — the rows a trainer truncates."""
    tokenizer, config = CHAT / "tokenizer.json", CHAT / "llama3_tokenizer_config.json"
    _, plain = export(tmp_path / "plain.jsonl", "--tokenizer", str(tokenizer))
    limit = max(l["metadata"]["token_count"] for l in plain)
    summary, kept = export(tmp_path / "kept.jsonl", "--tokenizer", str(tokenizer),
                           "--chat-template", str(config), "--max-tokens", str(limit))
    assert 0 < summary["tokens"]["over_max_tokens"] == len(plain) - len(kept)
    assert all(l["metadata"]["token_count"] <= limit for l in kept)
