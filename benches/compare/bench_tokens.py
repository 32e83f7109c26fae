"""Token counts: our export_dataset beside the libraries a user counts with,
in one process, on the same conversations (run by `run.py --tokens`).

    python bench_tokens.py DATASET.jsonl COUNT RUNS OUT_DIR TOKENIZER_JSON

Writes the first COUNT conversations of DATASET to a JSONL file and takes
the texts of the approved ones (what the export counts) into memory. Then,
in rounds — one warm-up, then RUNS — alternates, each timed with
perf_counter around the call alone:

- ``export_dataset(path, tokenizer=TOKENIZER_JSON)`` (read, count on every
  core, write the dataset) and ``tokenizers``' ``encode_batch`` of every
  content in one batch (counting only, on every core: the texts are in
  memory before the clock starts);
- ``export_dataset(path, tokenizer="o200k_base")`` and tiktoken's
  ``encode_ordinary_batch`` of every role and content with 2 threads,
  summed as OpenAI's cookbook counts a chat (3 per message, 3 to prime the
  reply).

Both exports write full contents (``includeFullContent``) and no system
prompt, so that the totals must equal the libraries' sums. Prints one JSON
object: each variant's seconds per round, the totals, and the versions.
"""

import json
import sys
import time
from pathlib import Path

import orjson
import tiktoken
import tokenizers

import lora_export

# tiktoken's encoding from the BPE file cargo fetched (tiktoken cannot
# download it here), as the tests build it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from test_tokens import reference_encoding  # noqa: E402

CONFIG = {"includeFullContent": True, "systemPrompt": None}


def ours(path, dest, tokenizer):
    summary = lora_export.export_dataset(path, dest, format="jsonl", config=CONFIG,
                                         tokenizer=tokenizer, overwrite=True)
    return summary.tokens["total"]


def hf_count(tokenizer, texts):
    return sum(len(e) for e in tokenizer.encode_batch(texts, add_special_tokens=False))


def tiktoken_count(encoding, texts, messages, conversations):
    lengths = encoding.encode_ordinary_batch(texts, num_threads=2)
    return sum(len(ids) for ids in lengths) + 3 * messages + 3 * conversations


def main():
    dataset, count, runs, out_dir, tokenizer_json = (
        sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    with open(dataset, "rb") as src:
        for line in src:
            lines.append(line)
            if len(lines) == count:
                break
    path = out_dir / "input.jsonl"
    path.write_bytes(b"".join(lines))
    contents, roles_and_contents, conversations = [], [], 0
    for line in lines:
        conversation = orjson.loads(line)
        if conversation["status"] != "approved":
            continue
        conversations += 1
        for turn in conversation["turns"]:
            content = turn.get("content") or ""
            contents.append(content)
            roles_and_contents += [turn["role"], content]
    messages = len(contents)
    input_bytes = sum(len(line) for line in lines)
    del lines
    hf = tokenizers.Tokenizer.from_file(tokenizer_json)
    o200k = reference_encoding("o200k_base")
    dest = str(out_dir / "dataset")
    variants = {
        "export_dataset(tokenizer.json)": lambda: ours(str(path), dest, tokenizer_json),
        "tokenizers encode_batch": lambda: hf_count(hf, contents),
        "export_dataset(o200k_base)": lambda: ours(str(path), dest, "o200k_base"),
        "tiktoken encode_ordinary_batch": lambda: tiktoken_count(
            o200k, roles_and_contents, messages, conversations),
    }
    seconds = {name: [] for name in variants}
    totals = {}
    for round_ in range(runs + 1):
        for name, fn in variants.items():
            start = time.perf_counter()
            total = fn()
            took = time.perf_counter() - start
            if round_ == 0:
                totals[name] = total
            else:
                seconds[name].append(took)
    print(json.dumps({
        "count": count,
        "conversations": conversations,
        "messages": messages,
        "input_bytes": input_bytes,
        "content_bytes": sum(len(c.encode()) for c in contents),
        "seconds": seconds,
        "totals": totals,
        "versions": {"tokenizers": tokenizers.__version__, "tiktoken": tiktoken.__version__,
                     "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
