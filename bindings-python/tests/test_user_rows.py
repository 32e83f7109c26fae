"""Issue 36: the user's rows read as they are — a Hugging Face chat dataset
without ids, a DataFrame whose columns share a platform field's name but not
its meaning, `None` and NaN as absent, nothing invented in the output — and
loud: a skipped row warns, an empty input is an error."""

import hashlib
import io
import json

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lora_export


def chat(question, answer):
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def lines(text):
    return [json.loads(line) for line in text.splitlines()]


def derived(messages):
    canonical = json.dumps(messages, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_a_chat_dataset_without_ids_exports_every_row_with_ids_derived_from_the_turns():
    rows = [{"messages": chat(f"Question {i}?", f"Answer {i}.")} for i in range(5)]
    ds = datasets.Dataset.from_list(rows)
    out = lines(lora_export.to_string(ds))
    assert len(out) == 5
    assert [line["metadata"]["conversation_id"] for line in out] == [derived(r["messages"]) for r in rows]
    assert lora_export.to_string(rows) == lora_export.to_string(ds)


def test_fields_the_rows_lack_are_not_invented():
    rows = [{"conversation_id": "a", "messages": chat("Hi", "Hello")}]
    meta = lines(lora_export.to_string(rows, config={"includeTimestamps": True, "includeQualityScores": True}))[0]["metadata"]
    # Same keys on every line (Arrow readers), but null: the row had none of these.
    assert (meta["title"], meta["tier"], meta["quality_score"], meta["created_at"], meta["updated_at"]) == (None,) * 5
    doc = json.loads(lora_export.to_string(rows, format="json"))
    assert {"title", "status", "tier"}.isdisjoint(doc["conversations"][0])
    assert "average_quality_score" not in doc["summary"] and doc["summary"]["tier_distribution"] == {}
    md = lora_export.to_string(rows, format="markdown")
    assert "Tier" not in md and "Status" not in md and "1970" not in md


def test_none_in_a_list_of_dicts_means_absent_as_nan_does_in_a_dataframe():
    rows = [
        {"conversation_id": "a", "title": None, "quality_score": None, "tier": None, "messages": chat("Hi", "Hello")},
        {"conversation_id": "b", "title": "T", "quality_score": float("nan"), "tier": "scenario", "messages": chat("Hi", "Yo")},
    ]
    assert lines(lora_export.to_string(rows)) == lines(lora_export.to_string(pd.DataFrame(rows)))
    assert len(lines(lora_export.to_string(rows))) == 2


def test_columns_named_as_platform_fields_with_the_users_meaning_are_kept_not_refused():
    df = pd.DataFrame(
        {
            "id": [101, 102],
            "status": ["done", "todo"],
            "quality_score": [87.0, np.nan],
            "category": ["books", "games"],
            "turns": [2, 2],
            "messages": [chat("Hi", "Hello"), chat("Bye", "Ciao")],
        }
    )
    with pytest.warns(lora_export.LoraExportWarning, match="kept as their own in the metadata's user_fields"):
        out = lines(lora_export.to_string(df))
    assert len(out) == 2
    first = out[0]["metadata"]
    assert first["conversation_id"] == derived(chat("Hi", "Hello"))
    assert first["user_fields"] == {"id": 101, "status": "done", "quality_score": 87.0, "category": "books", "turns": 2}
    assert out[1]["metadata"]["user_fields"]["status"] == "todo"


def test_a_skipped_row_is_loud():
    rows = [{"messages": chat("Hi", "Hello")}, {"messages": []}, {"messages": [{"role": "robot", "content": "beep"}]}]
    with pytest.warns(lora_export.LoraExportWarning, match=r"2 of 3 input records were skipped \(1 × conversation has no turns, 1 × not a valid conversation\)"):
        summary = lora_export.export(rows, io.BytesIO())
    assert summary.conversations == 1


def test_an_empty_input_is_an_error_unless_allowed():
    for empty in ([], pd.DataFrame({"messages": []}), b""):
        with pytest.raises(lora_export.NoConversationsError, match="no conversations"):
            lora_export.to_string(empty)
        assert lora_export.to_string(empty, allow_empty=True) == ""


def test_a_parquet_path_is_read_as_parquet(tmp_path):
    rows = [{"messages": chat(f"Q{i}", f"A{i}"), "source": "web"} for i in range(3)]
    table = pa.Table.from_pylist(rows)
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    keep = {"keep_columns": ["source"]}
    assert lora_export.to_string(str(path), **keep) == lora_export.to_string(table, **keep)
    assert len(lines(lora_export.to_string(path, **keep))) == 3


def test_a_sharegpt_jsonl_file_is_read_as_turns(tmp_path):
    rows = [
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
        {"system": "Be brief.", "conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]},
    ]
    path = tmp_path / "sharegpt.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = lines(lora_export.to_string(path, config={"includeMetadata": False}))
    assert out[0]["messages"] == chat("Hi", "Hello")
    assert out[1]["messages"] == [{"role": "system", "content": "Be brief."}] + chat("2+2?", "4")


def test_a_dataset_dict_names_the_split_to_export():
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list([{"messages": chat("Hi", "Hello")}])})
    with pytest.raises(TypeError, match=r"dd\[\"train\"\]"):
        lora_export.to_string(dd)
    assert len(lines(lora_export.to_string(dd["train"]))) == 1


def test_metadata_with_absent_fields_loads_with_datasets(tmp_path):
    # The first rows lack title, tier and score, later ones have them: the
    # null-valued keys keep one schema for Arrow's JSON reader.
    rows = [{"messages": chat(f"Q{i}", f"A{i}")} for i in range(3000)]
    rows += [{"messages": chat(f"Q{i}", "A"), "title": "T", "tier": "scenario", "quality_score": 7} for i in range(3000)]
    dest = tmp_path / "train.jsonl"
    lora_export.export(rows, dest, config={"includeQualityScores": True, "includeTimestamps": True})
    ds = datasets.load_dataset("json", data_files=str(dest), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 6000
    assert ds[0]["metadata"]["title"] is None and ds[5999]["metadata"]["title"] == "T"
    assert ds[5999]["metadata"]["quality_score"] == 7
