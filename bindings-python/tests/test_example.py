"""The notebook-style example runs end to end — on the bundled sample and on
a database — and its train/validation files load with `datasets`."""

import json
import os
import subprocess
import sys

import pytest

import lora_export

from conftest import ROOT, SAMPLE, create_user

EXAMPLE = ROOT / "examples" / "python" / "finetune_export.py"


def run_example(tmp_path, *extra):
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--out", str(out), *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    train = (out / "train.jsonl").read_bytes().splitlines()
    validation = (out / "validation.jsonl").read_bytes().splitlines()
    approved = (out / "approved.jsonl").read_bytes().splitlines()
    assert sorted(train + validation) == sorted(approved) and train and validation
    # datasets printed the DatasetDict it loaded: both splits, every row.
    assert f"num_rows: {len(train)}" in done.stdout
    assert f"num_rows: {len(validation)}" in done.stdout
    for line in train:
        roles = [m["role"] for m in json.loads(line)["messages"]]
        assert roles[0] == "system" and "assistant" in roles
    return done.stdout, approved


def test_the_example_on_the_bundled_sample(tmp_path):
    stdout, approved = run_example(tmp_path)
    assert "skipped" in stdout
    with pytest.warns(lora_export.LoraExportWarning, match="4 of 50 input records were skipped"):
        expected = lora_export.to_string(
            SAMPLE, config={"scope": "all", "jsonlFlavor": "openai", "includeMetadata": False,
                            "systemPrompt": "You are a helpful, accurate customer-support agent."}
        )
    assert b"\n".join(approved) + b"\n" == expected.encode("utf-8")


def test_the_example_on_a_database(database, tmp_path):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root) as client:
        client.migrate(supabase_stand_ins=True)
        client.import_conversations(SAMPLE)
    user = create_user(url)
    stdout, approved = run_example(tmp_path, "--dsn", url, "--user", user)
    assert "downloaded training-data-" in stdout
    with pytest.warns(lora_export.LoraExportWarning, match="4 of 50 input records were skipped"):
        local = lora_export.to_string(
            SAMPLE, config={"scope": "all", "jsonlFlavor": "openai", "includeMetadata": False,
                            "systemPrompt": "You are a helpful, accurate customer-support agent."}
        )
    assert len(approved) == len(local.splitlines())
