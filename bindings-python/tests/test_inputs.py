"""Issue 14: the inputs a notebook user really has — pandas and polars
DataFrames, Arrow tables and readers, `datasets.Dataset` loaded from
Parquet, NumPy values, minimal and OpenAI-style records — are read
correctly or refused loudly, with errors that say where."""

import datetime
import hashlib
import io
import json
import subprocess
import sys
import warnings

import datasets
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lora_export
from conftest import SAMPLE, conversation

# The shared inputs hold malformed records on purpose: each export that skips
# them raises a LoraExportWarning (issue 36), which these tests do not test.
pytestmark = pytest.mark.filterwarnings("ignore:.* input records were skipped:lora_export.LoraExportWarning")



def turns(*texts):
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]


def rows(n=3):
    return [conversation(i) for i in range(n)]


def lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_a_pandas_dataframe_is_read_as_rows_not_as_column_names():
    df = pd.DataFrame(rows(19))
    summary_text = lora_export.to_string(df, config={"includeMetadata": False})
    assert len(lines(summary_text)) == 19
    assert lines(summary_text)[0] == lines(lora_export.to_string(rows(1), config={"includeMetadata": False}))[0]


def test_a_polars_dataframe_is_read_through_arrow():
    df = pl.DataFrame(rows(5))
    out = lora_export.to_string(df)
    expected = lora_export.to_string(rows(5))
    assert out == expected


def test_a_polars_column_of_nones_is_read_without_pyarrow_too():
    """polars exports a column of dtype Null (every value None) in a form
    arrow-rs refuses (pola-rs/polars#22934); with pyarrow the frame goes
    through it, without pyarrow such columns are cast to String (still
    every value None) before the stream is read. A nested Null field
    without pyarrow is refused with what to do."""
    script = """
import json, sys
sys.modules["pyarrow"] = None  # as if pyarrow were not installed
import polars as pl
import lora_export
rows = [{"conversation_id": f"c{i}", "messages": [{"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"}], "persona": None, "note": None} for i in range(3)]
df = pl.DataFrame(rows)
assert df.schema["persona"] == pl.Null
out = lora_export.to_string(df, keep_columns=["note"])
print(json.dumps([json.loads(line) for line in out.splitlines()]))
nested = pl.DataFrame({"conversation_id": ["n"], "messages": [[{"role": "user", "content": "Hi", "x": None}]]})
try:
    lora_export.to_string(nested)
except Exception as e:
    print(json.dumps(str(e)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    records, nested_error = map(json.loads, done.stdout.splitlines())
    assert [r["metadata"]["conversation_id"] for r in records] == ["c0", "c1", "c2"]
    assert all(r["metadata"]["persona"] is None for r in records)
    assert "pyarrow" in nested_error and "22934" in nested_error, nested_error


def test_pyarrow_tables_and_multi_batch_readers_number_records_across_batches():
    table = pa.Table.from_pylist(rows(4))
    assert lora_export.to_string(table) == lora_export.to_string(rows(4))
    schema = pa.Table.from_pylist([{"conversation_id": "g", "turns": turns("Hi", "Hello")}]).schema

    def batch(*ids):
        return pa.RecordBatch.from_pylist([{"conversation_id": i, "turns": turns("Hi", "" if i == "bad" else "Hello")} for i in ids], schema=schema)

    reader = pa.RecordBatchReader.from_batches(schema, [batch("a", "b", "c"), batch("bad"), batch("d", "e")])
    summary = lora_export.export(reader, "/dev/null")
    assert (summary.conversations, summary.skipped_total) == (5, 1)
    assert summary.skipped[0]["location"] == {"record": 4}
    assert summary.skipped[0]["conversation_id"] == "bad"


def test_an_arrow_row_that_is_not_a_conversation_is_skipped_with_its_row_and_field(tmp_path):
    table = pa.Table.from_pylist(
        [{"conversation_id": "a", "turns": turns("Hi", "Hello")}, {"conversation_id": "b", "turns": [{"role": "robot", "content": "beep"}]}]
    )
    summary = lora_export.export(table, tmp_path / "out.jsonl")
    assert summary.conversations == 1
    (skipped,) = summary.skipped
    assert skipped["location"] == {"record": 2, "field": "turns[0].role"}
    assert skipped["conversation_id"] == "b"
    assert "unknown variant `robot`" in skipped["reason"]


def test_a_dataset_loaded_from_parquet_with_list_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets.disable_progress_bars()
    records = [{**conversation(i), "category": ["support", "billing"][: 1 + i % 2]} for i in range(6)]
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert isinstance(ds, datasets.Dataset)
    out = lora_export.to_string(ds, format="json", export_date="2025-11-01T00:00:00Z")
    expected = lora_export.to_string(records, format="json", export_date="2025-11-01T00:00:00Z")
    assert out == expected
    shuffled = ds.select([5, 0])
    ids = [line["metadata"]["conversation_id"] for line in lines(lora_export.to_string(shuffled))]
    assert ids == ["syn-0000005", "syn-0000000"]


def test_records_from_parquet_via_pandas_carry_numpy_arrays(tmp_path):
    records = [{**conversation(i), "category": ["a", "b"] if i else ["only"]} for i in range(3)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    dicts = pd.read_parquet(path).to_dict("records")
    assert isinstance(dicts[1]["category"], np.ndarray)
    out = lora_export.to_string(dicts, format="csv")
    assert out == lora_export.to_string(records, format="csv")
    one = lora_export.to_string([{**records[0], "category": np.array(["only"])}], format="json", export_date="2025-01-01T00:00:00Z")
    assert json.loads(one)["conversations"][0]["metadata"]["category"] == ["only"]


def test_numpy_scalars_nat_na_and_datetimes_are_understood():
    record = {
        **conversation(1),
        "qualityScore": np.float32(7.5),
        "tokenCount": np.int64(12),
        "persona": pd.NA,
        "topic": np.nan,
        "createdAt": pd.Timestamp("2025-10-29 10:00:00", tz="UTC"),
        "updatedAt": np.datetime64("2025-10-30T09:15:00"),
        "parentId": None,
    }
    record["turns"][0]["tokenCount"] = pd.NaT
    out = json.loads(lora_export.to_string([record], format="json", export_date="2025-11-01T00:00:00Z"))
    meta = out["conversations"][0]["metadata"]
    assert meta["quality_score"] == 7.5
    assert meta["created_at"] == "2025-10-29T10:00:00Z"
    assert meta["updated_at"].startswith("2025-10-30T09:15:00")


def test_iterrows_rows_are_read_as_records():
    df = pd.DataFrame(rows(3))
    out = lora_export.to_string((row for _, row in df.iterrows()))
    assert out == lora_export.to_string(rows(3))


def test_anything_else_is_a_type_error_that_names_what_is_accepted():
    for bad in (42, object(), 3.5):
        with pytest.raises(TypeError, match="DataFrame.*__arrow_c_stream__.*datasets.Dataset.*iterable of mappings"):
            lora_export.to_string(bad)


def test_minimal_openai_and_snake_case_records_are_read():
    records = [
        {"conversation_id": "m1", "turns": turns("Hi", "Hello")},
        {"conversation_id": "m2", "messages": turns("Hi", "Hello")},
        {"conversationId": "m3", "messages": turns("Hi", "Hello"), "quality_score": 9, "created_at": "2025-01-01"},
    ]
    summary = lora_export.export(records, "/dev/null")
    assert (summary.conversations, summary.skipped_total, summary.not_approved) == (3, 0, 0)
    meta = [line["metadata"] for line in lines(lora_export.to_string(records))]
    assert [m["conversation_id"] for m in meta] == ["m1", "m2", "m3"]
    # Absent fields are not invented (issue 36): null, the same keys on every line.
    assert meta[0]["title"] is None and meta[0]["tier"] is None and meta[0]["quality_score"] is None
    assert meta[2]["created_at"] == "2025-01-01" and meta[0]["created_at"] is None


def test_schema_errors_carry_record_field_path_and_reason():
    records = [{"conversation_id": "ok", "turns": turns("Hi", "Hello")}, {"conversation_id": "x", "turns": [{"role": "user", "content": 5}]}]
    summary = lora_export.export(records, "/dev/null")
    (skipped,) = summary.skipped
    assert skipped["location"] == {"record": 2, "field": "turns[0].content"}
    assert skipped["reason"] == "not a valid conversation: turns[0].content: invalid type: integer `5`, expected a string, null, or a list of content parts"
    assert "line 1 column" not in skipped["reason"]
    with pytest.raises(lora_export.MalformedRecordError) as raised:
        lora_export.export(records, "/dev/null", strict=True)
    assert raised.value.location == {"record": 2, "field": "turns[0].content"}


def test_a_missing_input_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError) as raised:
        lora_export.to_string(str(missing))
    assert raised.value.filename == str(missing)
    assert raised.value.errno == 2


def test_an_export_that_skips_everything_raises_and_leaves_no_file(tmp_path):
    dest = tmp_path / "out.jsonl"
    with pytest.raises(lora_export.TooManySkippedError, match="2 of 2 input records were skipped") as raised:
        lora_export.export([{"conversation_id": "a"}, {"title": "b"}], dest)
    assert raised.value.status == 422
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.warns(lora_export.LoraExportWarning, match="nothing was written"):
        summary = lora_export.export([{"conversation_id": "a"}], dest, too_many_skipped="warn")
    assert summary.conversations == 0 and dest.read_bytes() == b""


def test_a_share_of_skipped_records_above_the_limit_raises():
    records = [conversation(i) for i in range(3)] + [{"conversation_id": "bad"}]
    with pytest.raises(lora_export.TooManySkippedError, match="more than 10"):
        lora_export.to_string(records, max_skipped_share=0.1)
    assert lora_export.export(records, "/dev/null", max_skipped_share=0.5).skipped_total == 1
    with pytest.raises(lora_export.ConfigError, match="between 0 and 1"):
        lora_export.to_string(records, max_skipped_share=2)
    with pytest.raises(ValueError, match='"raise" or "warn"'):
        lora_export.to_string(records, too_many_skipped="ignore")


def test_the_default_scope_leaves_out_what_is_not_approved_and_says_so(capsys):
    records = [conversation(0), {**conversation(1), "status": "rejected"}, {**conversation(2), "status": "draft"}]
    with pytest.warns(lora_export.LoraExportWarning, match="2 conversations are not approved"):
        default = lora_export.export(records, "/dev/null")
    assert (default.conversations, default.excluded) == (1, 2)
    every = lora_export.export(records, "/dev/null", config={"scope": "all_data"}, progress=True)
    assert (every.conversations, every.not_approved) == (3, 2)
    assert any(w.startswith("2 of the 3 conversations written are not approved") for w in every.warnings)
    assert "not_approved=2" in capsys.readouterr().err  # the tqdm bar's postfix
    approved = lora_export.export(records, "/dev/null", config={"scope": "all"})
    assert (approved.conversations, approved.not_approved, approved.warnings) == (1, 0, [])


def test_scope_all_with_filters_says_which_request_does_what_was_meant():
    with pytest.raises(lora_export.ValidationError) as raised:
        lora_export.to_string(rows(1), config={"scope": "all"}, filters={"qualityRange": {"min": 8, "max": 10}})
    (issue,) = raised.value.issues
    assert issue["path"] == "filters"
    assert "use scope `filtered`" in issue["message"] and 'statuses: ["approved"]' in issue["message"]
    meant = lora_export.export(
        rows(2) + [{**conversation(9), "qualityScore": 5}],
        "/dev/null",
        filters={"statuses": ["approved"], "qualityRange": {"min": 8, "max": 10}},
    )
    assert (meant.conversations, meant.excluded) == (2, 1)


@pytest.mark.parametrize("name", ["train.jsonl.gz", "train.jsonl.zst", "train.csv.xz"])
def test_a_compressed_destination_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="uncompressed output.*gzip.open"):
        lora_export.export(rows(1), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_gzip_file_object_is_the_way_to_compress(tmp_path):
    import gzip

    path = tmp_path / "train.jsonl.gz"
    with gzip.open(path, "wb") as f:
        lora_export.export(rows(2), f)
    assert gzip.decompress(path.read_bytes()).decode() == lora_export.to_string(rows(2))


def test_conversations_the_trainer_rejects_are_skipped_and_the_output_validates():
    records = [conversation(0), {"conversation_id": "no-answer", "turns": turns("Hi")}, {"conversation_id": "blank", "turns": turns("Hi", " ")}]
    for flavor in ("openai", "sharegpt"):
        summary_holder = lora_export.iter_export(records, config={"jsonlFlavor": flavor}, metadata_dest=None)
        data = b"".join(summary_holder)
        summary = summary_holder.summary
        assert summary is not None
        assert [s["conversation_id"] for s in summary.skipped] == ["no-answer", "blank"]
        assert "no assistant turn" in summary.skipped[0]["reason"]
        report = lora_export.validate_output("jsonl", data, flavor=flavor)
        assert report["valid"], report["errors"]


def test_duplicate_ids_are_warned_about_or_dropped():
    records = [conversation(0), conversation(1), conversation(0)]
    with pytest.warns(lora_export.LoraExportWarning, match="1 conversations repeat a conversation_id"):
        summary = lora_export.export(records, "/dev/null")
    assert (summary.conversations, summary.duplicate_ids) == (3, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        deduped = lora_export.export(records, "/dev/null", dedupe=True)
    assert (deduped.conversations, deduped.duplicate_ids, deduped.skipped_total) == (2, 0, 1)
    assert deduped.skipped[0]["location"] == {"record": 3}


def test_a_failed_export_leaves_an_earlier_file_untouched_and_no_partial_file(tmp_path):
    dest = tmp_path / "train.jsonl"
    lora_export.export(rows(2), dest)
    good = dest.read_bytes()

    def crashing():
        yield conversation(5)
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        lora_export.export(crashing(), dest)
    assert dest.read_bytes() == good
    with pytest.raises(lora_export.MalformedRecordError):
        lora_export.export([{"conversation_id": "x"}], dest, strict=True)
    assert dest.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


def test_a_bounded_summary_keeps_the_first_records_and_counts_all():
    bad = b"not json\n" * 5000
    summary = lora_export.export(bad + (json.dumps(conversation(0)) + "\n").encode(), "/dev/null", keep_skipped=100)
    assert (len(summary.skipped), summary.skipped_total) == (100, 5000)
    assert summary.skipped_by_reason == {"not valid JSON": 5000}
    assert summary.to_dict()["skipped_total"] == 5000
    assert "skipped=5000" in repr(summary)


def test_help_shows_full_docstrings():
    doc = lora_export.export.__doc__
    assert doc is not None
    for word in ("DataFrame", "__arrow_c_stream__", "dedupe", "max_skipped_share", "too_many_skipped", "keep_skipped", ".gz", "not_approved"):
        assert word in doc, word
    assert "dedupe=False" in str(__import__("inspect").signature(lora_export.export))
    for fn in (lora_export.to_string, lora_export.iter_export, lora_export.preview):
        assert fn.__doc__ is not None and len(fn.__doc__.splitlines()) > 5


def test_the_sample_exports_from_every_input_kind_alike():
    records = []
    for line in SAMPLE.read_text("utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    every = {"scope": "all_data"}
    by_path = lora_export.export(str(SAMPLE), "/dev/null", config=every)
    by_list = lora_export.export(records, "/dev/null", config=every)
    by_frame = lora_export.export(pd.DataFrame(records), "/dev/null", config=every)
    by_arrow = lora_export.export(pa.Table.from_pylist(records), "/dev/null", config=every)
    assert by_path.conversations == by_list.conversations == 46
    assert by_path.sha256 == by_list.sha256
    assert by_frame.conversations == by_arrow.conversations == 46


def test_the_summary_hashes_every_byte_of_a_multi_megabyte_export(tmp_path):
    # Python objects and Arrow rows are hashed on a thread of their own, in
    # chunks of 1 MiB: the digest must cover every chunk and the last part.
    records = [
        {"conversation_id": f"c{i}", "turns": turns("q" * 700 + str(i), 'é"\n\t' * 300)}
        for i in range(2500)
    ]
    out = tmp_path / "out.jsonl"
    for source in (records, pa.Table.from_pylist(records)):
        summary = lora_export.export(source, out)
        data = out.read_bytes()
        assert len(data) > 3 << 20
        assert (summary.bytes, summary.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_datetime_values_of_a_dataframe_column():
    df = pd.DataFrame([{"conversation_id": "d1", "turns": turns("Hi", "Hello"), "createdAt": datetime.datetime(2025, 10, 29, 10, 0, tzinfo=datetime.timezone.utc)}])
    meta = lines(lora_export.to_string(df))[0]["metadata"]
    assert meta["created_at"].startswith("2025-10-29T10:00:00")


def test_a_pandas_dataframe_is_read_without_pyarrow():
    script = (
        "import sys; sys.modules['pyarrow'] = None\n"  # as if pyarrow were not installed
        "import pandas as pd, numpy as np, lora_export\n"
        "df = pd.DataFrame({'conversation_id': ['a', 'b'], 'category': [np.array(['x', 'y']), np.array(['z'])],\n"
        "    'turns': [[{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'}]] * 2})\n"
        "s = lora_export.export(df, '/dev/null', format='csv')\n"
        "print(s.conversations, s.skipped_total, 'pyarrow' in sys.modules and sys.modules['pyarrow'] is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "0", "False"]


PANDAS_FLAT = """
import json, os, sys
import pandas as pd, pyarrow.parquet as pq
import lora_export

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

df = pd.read_parquet(sys.argv[1])
assert type(df["messages"].iloc[0]).__name__ == "ndarray"  # cells as pd.read_parquet gives them
baseline = rss_mb()
samples = []
summary = lora_export.export(df, sys.argv[2], progress=lambda done, total: samples.append(rss_mb()))
print(json.dumps({"baseline": baseline, "peak": max(samples), "conversations": summary.conversations}))
"""


def test_a_dataframe_from_parquet_is_read_by_its_columns_in_flat_memory(tmp_path):
    # The resident set's growth during the export of a frame of 20,000 and of
    # 60,000 conversations (~3 KB each, as pd.read_parquet gives them): the
    # same, whatever the frame's size. Converted to Arrow whole (pandas'
    # __arrow_c_stream__, the reader before issue 38) the second held ~120 MB more.
    script = tmp_path / "flat.py"
    script.write_text(PANDAS_FLAT)
    growth = {}
    for count in (20_000, 60_000):
        source = tmp_path / f"in-{count}.parquet"
        pq.write_table(pa.Table.from_pylist([
            {"conversation_id": f"c{i}", "quality_score": 7.5, "topic": "t" if i % 2 else None,
             "messages": [{"role": "user", "content": f"{i} " + "q" * 1500},
                          {"role": "assistant", "content": "a" * 1500, "weight": 1}]}
            for i in range(count)
        ]), source)
        out = tmp_path / f"out-{count}.jsonl"
        done = subprocess.run([sys.executable, str(script), str(source), str(out)],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["conversations"] == count
        growth[count] = result["peak"] - result["baseline"]
        # The same bytes as the Arrow reader gives for the same file.
        reference = tmp_path / "ref.jsonl"
        lora_export.export(str(source), reference)
        assert out.read_bytes() == reference.read_bytes()
    assert growth[60_000] - growth[20_000] < 30, growth


def test_a_dataframe_is_read_by_position_with_names_as_text_and_no_index():
    df = pd.DataFrame({"conversation_id": ["a", "b", "c"], "messages": [turns("Hi", "Hello")] * 3, 7: ["x", "y", "z"]})
    df = df[df["conversation_id"] != "b"]  # index 0, 2
    with pytest.warns(lora_export.LoraExportWarning, match=r"neither read nor kept.*\b7 \(2\)"):
        summary = lora_export.export(df, io.BytesIO())
    assert summary.conversations == 2 and summary.ignored_fields == {"7": 2}
    kept = lines(lora_export.to_string(df, keep_columns=["7"]))
    assert [line["metadata"]["user_fields"] for line in kept] == [{"7": "x"}, {"7": "z"}]
    assert len(lora_export.preview(df, n=5).splitlines()) == 2
