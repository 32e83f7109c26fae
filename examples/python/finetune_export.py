"""Export reviewed conversations to train/validation JSONL for fine-tuning,
then load them with Hugging Face `datasets` — notebook style: each `# %%`
cell runs on its own in Jupyter or VS Code.

    python examples/python/finetune_export.py                      # the bundled sample
    python examples/python/finetune_export.py --dsn URL --user ID  # a database

Without `--dsn` it exports `data/sample.jsonl` (46 conversations and 4
deliberately malformed lines, which are reported, not dropped silently).
With `--dsn` the export runs through the database service (rate limit,
audit trail, a background worker for large sets) and is downloaded.
Only approved conversations go in (scope "all"); the split is
deterministic: a line goes to validation when its SHA-256 says so.
"""

# %% Setup
from __future__ import annotations

import argparse
import hashlib
import os
import pathlib

import lora_export

ROOT = pathlib.Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="finetune-data", help="output directory")
parser.add_argument("--dsn", help="PostgreSQL URL of the platform's database")
parser.add_argument("--user", help="the user the export is made for (with --dsn)")
parser.add_argument("--validation-percent", type=int, default=10)
args = parser.parse_args()

out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
exported = out / "approved.jsonl"
# Typed by the stubs' ExportConfig: a misspelt key (`jsonlFlavour`) fails mypy.
config: lora_export.ExportConfig = {
    "scope": "all",
    "format": "jsonl",
    "jsonlFlavor": "openai",
    "systemPrompt": "You are a helpful, accurate customer-support agent.",
    "includeMetadata": False,
}

# %% Export the approved conversations to one JSONL file
if args.dsn:
    if not args.user:
        parser.error("--dsn needs --user")
    with lora_export.ExportClient(args.dsn, storage_root=out / "files") as client:
        outcome = client.create_export(args.user, {"config": config})
        if outcome["status"] == "queued":
            client.run_worker(f"finetune-example-{os.getpid()}", max_jobs=1, poll_interval=0.1)
        info = client.download(args.user, outcome["export_id"], exported)
        print(f"downloaded {info['file_name']}: {info['size']} bytes, sha256 {(info['sha256'] or '-')[:12]}…")
else:
    summary = lora_export.export(ROOT / "data" / "sample.jsonl", exported, config=config, progress=True)
    print(f"exported {summary.conversations} conversations ({summary.excluded} not approved)")
    for skipped in summary.skipped:
        print(f"  skipped {skipped['location']}: {skipped['reason'][:80]}")

report = lora_export.validate_output("jsonl", exported)
assert report["valid"], report["errors"]

# %% Split into train and validation, deterministically
train, validation = out / "train.jsonl", out / "validation.jsonl"
with open(exported, "rb") as src, open(train, "wb") as t, open(validation, "wb") as v:
    for line in src:
        bucket = int.from_bytes(hashlib.sha256(line).digest()[:4], "big") % 100
        (v if bucket < args.validation_percent else t).write(line)

# %% Load with Hugging Face datasets
from datasets import load_dataset  # noqa: E402  (a notebook cell of its own)

splits = load_dataset("json", data_files={"train": str(train), "validation": str(validation)})
print(splits)
first = splits["train"][0]["messages"]
print("first training example:", [(m["role"], m["content"][:40]) for m in first])
