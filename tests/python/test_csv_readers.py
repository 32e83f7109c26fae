"""The CSV export survives Excel-compatible readers: Python's csv module
(utf-8-sig), pandas, polars and DuckDB all read back exactly the turn
contents that went in — quotes, commas, CR/LF, lone CR, tabs, unicode and a
1 MB cell — and the formula guard's apostrophe is the only change.

Run by scripts/test.sh with LORA_EXPORT_BIN pointing at the built `export`
example (the main job's command-line program).
"""

import csv
import json
import os
import pathlib
import subprocess
import sys

import duckdb
import pandas as pd
import polars as pl
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def exported_turns():
    """(conversation_id, turn_number, content) of every exported turn, from
    the golden JSON document of the same input."""
    doc = json.loads((GOLDEN / "expected" / "json-default.json").read_text("utf-8"))
    return [
        (c["conversation_id"], n + 1, t["content"])
        for c in doc["conversations"]
        for n, t in enumerate(c["turns"])
    ]


def read_stdlib(path):
    # Python's csv module refuses cells over 128 KiB unless told otherwise.
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [(r["conversation_id"], int(r["turn_number"]), r["content"]) for r in csv.DictReader(f)]


def read_pandas(path):
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return [(r.conversation_id, int(r.turn_number), r.content) for r in df.itertuples()]


def read_polars(path):
    df = pl.read_csv(path, infer_schema=False)
    return [(r["conversation_id"], int(r["turn_number"]), r["content"]) for r in df.iter_rows(named=True)]


def read_duckdb(path):
    rel = duckdb.read_csv(str(path), header=True, all_varchar=True, quotechar='"', escapechar='"')
    rows = rel.select("conversation_id, turn_number, content").fetchall()
    return [(a, int(b), c) for a, b, c in rows]


READERS = [read_stdlib, read_pandas, read_polars, read_duckdb]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_unguarded_csv_reads_back_exactly(reader):
    assert reader(GOLDEN / "expected" / "csv-noguard.csv") == exported_turns()


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_formula_guard_only_prefixes_an_apostrophe(reader):
    expected = [
        (cid, n, "'" + text if text.startswith(TRIGGERS) else text)
        for cid, n, text in exported_turns()
    ]
    assert reader(GOLDEN / "expected" / "csv-default.csv") == expected


@pytest.fixture(scope="module")
def huge_csv(tmp_path_factory):
    """A 1 MB cell full of separators, exported by the real CLI."""
    tmp = tmp_path_factory.mktemp("huge")
    source = json.loads((GOLDEN / "input.jsonl").read_text("utf-8").splitlines()[0])
    big = 'quote " comma , crlf \r\n cr \r tab \t 日本 🚀 ' * 30000
    assert len(big.encode()) > 1_000_000
    source["turns"][1]["content"] = big
    (tmp / "in.jsonl").write_text(json.dumps(source) + "\n", "utf-8")
    out = tmp / "out.csv"
    subprocess.run(
        [os.environ["LORA_EXPORT_BIN"], "--input", str(tmp / "in.jsonl"), "--format", "csv",
         "--output", str(out), "--config", '{"scope":"all_data","csvFormulaGuard":false}'],
        check=True,
    )
    return out, [(source["conversation_id"], 1, source["turns"][0]["content"]),
                 (source["conversation_id"], 2, big)]


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.__name__)
def test_a_one_megabyte_cell_survives(reader, huge_csv):
    path, expected = huge_csv
    assert reader(path) == expected
