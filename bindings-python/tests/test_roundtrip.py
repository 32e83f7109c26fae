"""What goes in comes back out: the JSON document through `json`, the CSV
through `csv` (utf-8-sig) and `pandas.read_csv`, the JSONL through `json`
and Hugging Face `datasets` — including a set whose first rows have a null
persona and later rows a string."""

import csv
import json
import os
import sys

import pandas as pd
import pytest

import lora_export

from conftest import conversation

# The shared inputs hold malformed records on purpose: each export that skips
# them raises a LoraExportWarning (issue 36), which these tests do not test.
pytestmark = pytest.mark.filterwarnings("ignore:.* input records were skipped:lora_export.LoraExportWarning")



def tricky_records():
    contents = [
        'He said "hi", then left',
        "line one\nline two\r\nline three",
        "tabs\tand, commas; ünïcödé ✓ 🚀",
        "=SUM(A1:A2) looks like a formula",
        "",
        "x" * 5000,
    ]
    records = []
    for i, text in enumerate(contents):
        record = conversation(i)
        record["turns"] = [
            {"role": "user", "content": text},
            {"role": "assistant", "content": f"reply {i}: {text[::-1]}"},
        ]
        records.append(record)
    return records


def turns_of(records):
    return [(r["conversation_id"], n + 1, t["content"]) for r in records for n, t in enumerate(r["turns"])]


def test_json_document_round_trips_through_json(tmp_path):
    records = tricky_records()
    lora_export.export(records, tmp_path / "out.json", format="json")
    document = json.loads((tmp_path / "out.json").read_text("utf-8"))
    assert document["conversations"][0]["conversation_id"] == "syn-0000000"
    got = [
        (c["conversation_id"], n + 1, t["content"])
        for c in document["conversations"]
        for n, t in enumerate(c["turns"])
    ]
    assert got == turns_of(records)


def test_jsonl_round_trips_through_json():
    records = tricky_records()
    chunks = lora_export.iter_export(records)
    lines = b"".join(chunks).decode().splitlines()
    # The record with an empty turn is what OpenAI's trainer refuses: it is
    # skipped and listed, not written.
    written = [r for r in records if all(t["content"] for t in r["turns"])]
    assert [[m["content"] for m in json.loads(line)["messages"]] for line in lines] == [
        [t["content"] for t in r["turns"]] for r in written
    ]
    assert chunks.summary is not None
    (skipped,) = chunks.summary.skipped
    assert skipped["conversation_id"] == "syn-0000004"
    assert skipped["reason"] == "openai flavor: turn 1 has empty content (missing_content)"


CSV_CONFIG = {"csvFormulaGuard": False}


def test_csv_round_trips_through_the_csv_module(tmp_path):
    records = tricky_records()
    path = tmp_path / "out.csv"
    lora_export.export(records, path, format="csv", config=CSV_CONFIG)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["conversation_id"], int(r["turn_number"]), r["content"]) for r in rows] == turns_of(records)


def test_csv_round_trips_through_pandas(tmp_path):
    records = tricky_records()
    path = tmp_path / "out.csv"
    lora_export.export(records, path, format="csv", config=CSV_CONFIG)
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    got = list(zip(frame["conversation_id"], frame["turn_number"].astype(int), frame["content"]))
    assert got == turns_of(records)


def test_pandas_records_export_like_the_dicts_they_came_from():
    records = [conversation(i) for i in range(20)]
    for r in records[:10]:
        r["persona"] = None
    frame = pd.DataFrame.from_records(records)
    from_frame = lora_export.to_string(frame.to_dict("records"))
    assert from_frame == lora_export.to_string(records)


@pytest.fixture
def offline_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    datasets.disable_progress_bars()
    return datasets


def test_datasets_loads_jsonl_whose_persona_is_null_first_then_a_string(tmp_path, offline_datasets):
    nulls = 3000
    records = [conversation(i, persona=None if i < nulls else "Busy professional") for i in range(6000)]
    path = tmp_path / "train.jsonl"
    lora_export.export(records, path)
    loaded = offline_datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == 6000
    personas = loaded["metadata"]
    assert personas[0]["persona"] is None, "an absent persona is null, never an invented \"\""
    assert personas[-1]["persona"] == "Busy professional"
    assert loaded[10]["messages"][0]["content"] == records[10]["turns"][0]["content"]


def test_a_datasets_dataset_is_an_input(tmp_path, offline_datasets):
    records = [conversation(i) for i in range(50)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    dataset = offline_datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert lora_export.to_string(dataset) == lora_export.to_string(records)
