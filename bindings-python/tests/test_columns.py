"""Issue 36: the user's rows as they are — `columns=` maps their names to the
record's fields, `keep_columns=` carries their other columns into the
metadata, and a column neither read nor kept is reported, never dropped in
silence; `None` and NaN mean absent in every input type."""

import io
import json
import math

import datasets
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lora_export


def chat(question, answer):
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def lines(text):
    return [json.loads(line) for line in text.splitlines()]


def hf_rows(n=4):
    """A Hugging Face-style chat dataset: its own names, no id."""
    return [
        {"dialog": chat(f"Question {i}?", f"Answer {i}."), "uid": f"u-{i}", "score": 5.0 + i, "source": "web"}
        for i in range(n)
    ]


def without_nan(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return value


def every_input_type(rows, tmp_path):
    """The same rows as each input `export` takes, by name."""
    table = pa.Table.from_pylist(rows)
    # JSON has no NaN: a JSONL writer writes null.
    jsonl = "".join(json.dumps(without_nan(r)) + "\n" for r in rows)
    (tmp_path / "rows.jsonl").write_text(jsonl)
    pq.write_table(table, tmp_path / "rows.parquet")
    return {
        "dicts": rows,
        "pandas": pd.DataFrame(rows),
        "polars": pl.DataFrame(rows),
        "pyarrow": table,
        "datasets": datasets.Dataset.from_list(rows),
        "jsonl bytes": jsonl.encode(),
        "jsonl path": tmp_path / "rows.jsonl",
        "parquet path": str(tmp_path / "rows.parquet"),
    }


MAPPING = {"dialog": "messages", "uid": "conversation_id", "score": "quality_score"}


def test_columns_maps_the_users_names_in_every_input_type(tmp_path):
    rows = hf_rows()
    expected = None
    for name, given in every_input_type(rows, tmp_path).items():
        summary_out = io.BytesIO()
        summary = lora_export.export(given, summary_out, columns=MAPPING, keep_columns=["source"])
        out = lines(summary_out.getvalue().decode())
        assert summary.conversations == 4, name
        assert summary.ignored_fields == {}, name
        first = out[0]
        assert first["messages"] == chat("Question 0?", "Answer 0."), name
        assert first["metadata"]["conversation_id"] == "u-0", name
        assert first["metadata"]["quality_score"] == 5.0, name
        assert first["metadata"]["user_fields"] == {"source": "web"}, name
        expected = expected or out
        assert out == expected, name


def test_a_dataset_with_a_dialog_column_and_no_id_maps_in_one_argument():
    ds = datasets.Dataset.from_list([{"dialog": chat(f"Q{i}", f"A{i}")} for i in range(3)])
    out = lines(lora_export.to_string(ds, columns={"dialog": "messages"}))
    assert len(out) == 3
    assert all(line["metadata"]["conversation_id"].startswith("sha256:") for line in out)


def test_keep_columns_true_carries_every_other_column_into_the_metadata(tmp_path):
    rows = [{"messages": chat("Hi", "Hello"), "source": "web", "lang": "en", "tags": ["a", "b"], "note": None}]
    for name, given in every_input_type(rows, tmp_path).items():
        meta = lines(lora_export.to_string(given, keep_columns=True))[0]["metadata"]
        assert meta["user_fields"] == {"source": "web", "lang": "en", "tags": ["a", "b"]}, name
    doc = json.loads(lora_export.to_string(rows, format="json", keep_columns=True))
    assert doc["conversations"][0]["metadata"]["user_fields"]["lang"] == "en"


def test_kept_columns_go_to_the_sidecar_of_flavors_that_forbid_extra_keys():
    rows = [{"messages": chat("Hi", "Hello"), "source": "web"}]
    sidecar = io.BytesIO()
    out = lora_export.to_string(rows, config={"jsonlFlavor": "sharegpt"}, keep_columns=["source"], metadata_dest=sidecar)
    assert "source" not in out
    assert json.loads(sidecar.getvalue())["user_fields"] == {"source": "web"}


def test_a_column_named_in_keep_columns_is_the_rows_own_even_with_a_platform_name():
    rows = [{"messages": chat("Hi", "Hello"), "status": "rejected"}]
    out = lines(lora_export.to_string(rows, keep_columns=["status"]))
    assert out[0]["metadata"]["user_fields"] == {"status": "rejected"}
    # Without it, `rejected` is the review status, which the default scope leaves out.
    with pytest.warns(lora_export.LoraExportWarning, match="not approved"):
        assert lora_export.to_string(rows) == ""


def test_columns_neither_read_nor_kept_are_reported_once_in_every_input_type(tmp_path):
    rows = [{"messages": chat(f"Q{i}", f"A{i}"), "lang": "en", "rank": i if i else None} for i in range(3)]
    for name, given in every_input_type(rows, tmp_path).items():
        with pytest.warns(lora_export.LoraExportWarning, match=r"neither read nor kept.*lang \(3\), rank \(2\)") as caught:
            summary = lora_export.export(given, io.BytesIO())
        assert summary.ignored_fields == {"lang": 3, "rank": 2}, name
        assert summary.conversations == 3, name
        assert len([w for w in caught if "neither read nor kept" in str(w.message)]) == 1, name
        assert "lang (3)" in " ".join(summary.warnings), name


def test_a_pandas_index_is_not_a_column_of_the_users():
    df = pd.DataFrame([{"messages": chat(f"Q{i}", f"A{i}"), "keep": i % 2 == 0} for i in range(6)])
    filtered = df[df["keep"]].drop(columns=["keep"])  # its index is 0, 2, 4: stored as __index_level_0__
    assert "__index_level_0__" in pa.Table.from_pandas(filtered).column_names
    summary = lora_export.export(filtered, io.BytesIO())
    assert (summary.conversations, summary.ignored_fields) == (3, {})
    ds = datasets.Dataset.from_pandas(filtered)
    assert lora_export.export(ds, io.BytesIO()).ignored_fields == {}


def test_mapping_errors_name_the_column():
    rows = hf_rows(2)
    with pytest.raises(lora_export.ValidationError) as unknown:
        lora_export.to_string(rows, columns={"dialog": "messages", "score": "quality"})
    assert [(i["path"], i["code"]) for i in unknown.value.issues] == [("columns.score", "invalid_enum")]
    assert "did you mean `quality_score`?" in unknown.value.issues[0]["message"]
    with pytest.raises(lora_export.ValidationError) as twice:
        lora_export.to_string(rows, columns={"dialog": "messages", "uid": "turns"})
    assert [(i["path"], i["code"]) for i in twice.value.issues] == [("columns.uid", "duplicate")]
    with pytest.raises(lora_export.ValidationError) as both:
        lora_export.to_string(rows, columns={"dialog": "messages"}, keep_columns=["dialog"])
    assert both.value.issues[0]["code"] == "conflict"
    with pytest.raises(lora_export.ValidationError, match="keep_columns|keepColumns"):
        lora_export.to_string(rows, keep_columns="source")


def test_a_mapped_column_that_no_row_has_is_an_error_and_a_row_without_it_is_skipped_by_name(tmp_path):
    rows = hf_rows(2)
    for name, given in every_input_type(rows, tmp_path).items():
        with pytest.raises(lora_export.ValidationError) as missing:
            lora_export.to_string(given, columns={"dialog": "messages", "grade": "quality_score"}, keep_columns=True)
        assert [(i["path"], i["code"]) for i in missing.value.issues] == [("columns.grade", "missing_column")], name
    mixed = [{"dialog": chat("Hi", "Hello")}, {"messages": chat("Hi", "Yo")}]
    with pytest.warns(lora_export.LoraExportWarning) as caught:
        summary = lora_export.export(mixed, io.BytesIO(), columns={"dialog": "messages"})
    assert summary.conversations == 1
    assert summary.skipped[0]["reason"] == (
        "conversation has no turns: the column `dialog` (mapped to `messages`) is not in this row"
    )
    assert summary.ignored_fields == {"messages": 1}
    assert any("1 of 2 input records were skipped" in str(w.message) for w in caught)


def test_none_and_nan_mean_absent_in_every_input_type(tmp_path):
    rows = [
        {
            "conversation_id": "a",
            "title": None,
            "persona": None,
            "quality_score": float("nan"),
            "messages": [
                {"role": "user", "content": "Hi", "name": None},
                {"role": "assistant", "content": "Hello", "reasoning_content": None, "weight": None},
            ],
        },
        {
            "conversation_id": "b",
            "title": "T",
            "persona": "P",
            "quality_score": 7.5,
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Yo", "reasoning_content": "think", "weight": 1},
            ],
        },
    ]
    config = {"jsonlFlavor": "together"}  # carries reasoning; its metadata goes to the sidecar

    def export(given):
        sidecar = io.BytesIO()
        out = lines(lora_export.to_string(given, config=config, metadata_dest=sidecar))
        return out, lines(sidecar.getvalue().decode())

    expected, expected_meta = export(rows)
    assert expected_meta[0]["quality_score"] is None and expected_meta[0]["title"] is None
    assert expected[0]["messages"] == chat("Hi", "Hello")
    assert expected[1]["messages"][1] == {"role": "assistant", "content": "Yo", "reasoning": "think", "weight": 1}
    for name, given in every_input_type(rows, tmp_path).items():
        out, meta = export(given)
        assert (out, meta) == (expected, expected_meta), name
        assert not any(isinstance(v, float) and math.isnan(v) for v in meta[0].values()), name