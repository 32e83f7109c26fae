"""Parquet written by the Rust writer (``format="parquet"``) read back by
the readers people use: pyarrow, polars, DuckDB and Hugging Face
``datasets`` — each gets the rows that went in, with the same schema in
every file (docs/formats.md, "Parquet")."""

import datetime

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

import lora_export

TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
RECORDS = [
    {
        "conversation_id": "tools",
        "title": "Weather",
        "status": "approved",
        "qualityScore": 8.5,
        "persona": "Student",
        "category": ["weather", "tools"],
        "createdAt": "2025-10-29T10:00:00Z",
        "tools": TOOLS,
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And here?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "Call it.",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": {"city": "Paris"}}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            {"role": "assistant", "content": "18C.", "weight": 0},
        ],
    },
    {"conversation_id": "pair", "prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
]


def message(**fields):
    m = dict.fromkeys(
        ["role", "content", "parts", "tool_calls", "tool_call_id", "name", "reasoning", "weight"]
    )
    m.update(fields)
    return m


def text_part(text):
    return {"type": "text", "text": text, "url": None, "detail": None}


CREATED = datetime.datetime(2025, 10, 29, 10, 0, tzinfo=datetime.timezone.utc)
EXPECTED = [
    {
        "conversation_id": "tools",
        "messages": [
            message(role="developer", content="Be brief."),
            message(
                role="user",
                content="And here?",
                parts=[
                    text_part("And here?"),
                    {"type": "image", "text": None, "url": "https://example.com/a.png", "detail": None},
                ],
            ),
            message(
                role="assistant",
                reasoning="Call it.",
                tool_calls=[{"id": "c1", "name": "weather", "arguments": '{"city":"Paris"}'}],
            ),
            message(role="tool", content="18C", tool_call_id="c1"),
            message(role="assistant", content="18C.", weight=0),
        ],
        "tools": '[{"function":{"name":"weather","parameters":{"type":"object"}},"type":"function"}]',
        "chosen": None,
        "rejected": None,
        "title": "Weather",
        "status": "approved",
        "tier": None,
        "category": ["weather", "tools"],
        "quality_score": 8.5,
        "persona": "Student",
        "emotion": None,
        "topic": None,
        "created_at": CREATED,
        "updated_at": None,
        "user_fields": None,
    },
    {
        "conversation_id": "pair",
        "messages": [message(role="user", content="Capital of France?")],
        "tools": None,
        "chosen": [message(role="assistant", content="Paris.")],
        "rejected": [message(role="assistant", content="Lyon.")],
        "title": None,
        "status": None,
        "tier": None,
        "category": [],
        "quality_score": None,
        "persona": None,
        "emotion": None,
        "topic": None,
        "created_at": None,
        "updated_at": None,
        "user_fields": None,
    },
]


@pytest.fixture
def parquet_file(tmp_path):
    path = tmp_path / "train.parquet"
    summary = lora_export.export(RECORDS, path, format="parquet", config={"scope": "all_data"})
    assert summary.conversations == 2 and summary.dropped_fields == {}
    return path


def test_pyarrow_reads_the_rows_that_went_in(parquet_file):
    assert parquet_file.read_bytes()[:4] == b"PAR1"
    table = pq.read_table(parquet_file)
    assert table.to_pylist() == EXPECTED
    assert str(table.schema.field("messages").type).startswith("list<item: struct<role: string")


def test_polars_reads_the_same_rows(parquet_file):
    rows = pl.read_parquet(parquet_file).to_dicts()
    assert rows == EXPECTED


def test_duckdb_reads_the_same_rows(parquet_file):
    rows = duckdb.sql(
        f"""SELECT conversation_id, len(messages), messages[3].tool_calls[1].arguments,
                   messages[5].weight, chosen[1].content, persona, quality_score
            FROM read_parquet('{parquet_file}') ORDER BY conversation_id DESC"""
    ).fetchall()
    assert rows == [
        ("tools", 5, '{"city":"Paris"}', 0, None, "Student", 8.5),
        ("pair", 1, None, None, "Paris.", None, None),
    ]


def test_datasets_loads_the_same_rows(parquet_file, tmp_path):
    ds = load_dataset("parquet", data_files=str(parquet_file), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 2
    assert ds.to_list() == [{**row, "created_at": ds[i]["created_at"]} for i, row in enumerate(EXPECTED)]
    assert ds[0]["created_at"].replace(tzinfo=datetime.timezone.utc) == CREATED
    assert ds[1]["created_at"] is None


def test_a_parquet_dataset_directory_loads_by_split(tmp_path):
    records = [
        {"conversation_id": f"c{i}", "messages": [{"role": "user", "content": f"Q{i}"}, {"role": "assistant", "content": "A"}]}
        for i in range(60)
    ]
    dest = tmp_path / "dataset"
    summary = lora_export.export_dataset(
        records, dest, format="parquet", split={"train": 0.8, "test": 0.2}, max_records_per_shard=20
    )
    names = [f["name"] for s in summary.splits for f in s["files"]]
    assert all(name.endswith(".parquet") for name in names) and len(names) > 2
    loaded = load_dataset(str(dest), cache_dir=str(tmp_path / "cache"))
    assert {name: loaded[name].num_rows for name in loaded} == {s["name"]: s["conversations"] for s in summary.splits}
    assert sum(loaded[name].num_rows for name in loaded) == 60


def test_parquet_has_no_text_form_and_is_not_compressed_again(tmp_path):
    with pytest.raises(ValueError, match="binary"):
        lora_export.to_string(RECORDS, format="parquet", config={"scope": "all_data"})
    with pytest.raises(lora_export.ValidationError, match="compresses its own pages") as caught:
        lora_export.export(RECORDS, tmp_path / "x.parquet", format="parquet", compression="zstd")
    assert ("compression", "conflict") in {(i["path"], i["code"]) for i in caught.value.issues}
    assert not (tmp_path / "x.parquet").exists()
    assert lora_export.validate_output("parquet", b"PAR1")["errors"][0]["code"] == "not_parquet"
