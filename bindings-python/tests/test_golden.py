"""Every golden case of tests/golden/cases.json, exported through the
binding, is byte-identical to the Rust golden files — from the JSONL path,
from JSONL bytes, from a list of dicts, into a path, a file object, chunks
of iter_export and to_string (which refuses Parquet: it is binary)."""

import contextlib
import io
import json

import pytest

import lora_export

from conftest import GOLDEN, golden_cases, input_records

# The shared inputs hold malformed records on purpose: each export that skips
# them raises a LoraExportWarning (issue 36), which these tests do not test.
pytestmark = pytest.mark.filterwarnings("ignore:.* input records were skipped:lora_export.LoraExportWarning")


EXPORT_DATE, CASES = golden_cases()
IDS = [case["name"] for case in CASES]


def options(case):
    request = case["request"]
    return {
        "config": request["config"],
        "filters": request.get("filters"),
        "ids": request.get("conversationIds"),
        "export_date": EXPORT_DATE,
    }


def input_name(case):
    return case.get("input", "input.jsonl")


def expected(case, suffix=None):
    name = f"{case['name']}.{suffix or case['extension']}"
    path = GOLDEN / "expected" / name
    return path.read_bytes() if path.exists() else b""


def dropped(case):
    """A context that expects the `LoraExportWarning` of fields the case's
    format cannot carry, when its golden summary lists some."""
    if "dropped_fields" in json.loads(expected(case, "summary.json")):
        return pytest.warns(lora_export.LoraExportWarning, match="cannot carry")
    return contextlib.nullcontext()


def test_the_golden_set_is_complete():
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jsonl_path_to_path_matches_output_summary_and_sidecar(case, tmp_path):
    out, sidecar = tmp_path / "out", tmp_path / "sidecar.jsonl"
    with dropped(case):
        summary = lora_export.export(
            GOLDEN / input_name(case), out, metadata_dest=sidecar, **options(case)
        )
    assert out.read_bytes() == expected(case)
    assert summary.to_dict() == json.loads(expected(case, "summary.json"))
    assert sidecar.read_bytes() == expected(case, "metadata.jsonl")
    assert summary.bytes == len(expected(case))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dicts_into_a_file_object_give_the_same_bytes(case):
    out, sidecar = io.BytesIO(), io.BytesIO()
    with dropped(case):
        summary = lora_export.export(
            input_records(input_name(case)), out, metadata_dest=sidecar, **options(case)
        )
    assert out.getvalue() == expected(case)
    assert sidecar.getvalue() == expected(case, "metadata.jsonl")
    golden = json.loads(expected(case, "summary.json"))
    assert (summary.conversations, summary.sha256) == (golden["conversations"], golden["sha256"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_iter_export_and_to_string_give_the_same_bytes(case):
    data = (GOLDEN / input_name(case)).read_bytes()
    sidecar = io.BytesIO()
    chunks = lora_export.iter_export(data, metadata_dest=sidecar, **options(case))
    assert chunks.summary is None
    with dropped(case):
        assert b"".join(chunks) == expected(case)
    assert chunks.summary.to_dict() == json.loads(expected(case, "summary.json"))
    assert sidecar.getvalue() == expected(case, "metadata.jsonl")
    if case["request"]["config"]["format"] == "parquet":
        with pytest.raises(ValueError, match="binary"):
            lora_export.to_string(input_records(input_name(case)), **options(case))
        return
    with dropped(case):
        text = lora_export.to_string(input_records(input_name(case)), **options(case))
    assert text == expected(case).decode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_output_validator_accepts_every_golden_file(case):
    config = case["request"]["config"]
    flavor = config.get("jsonlFlavor", "openai")
    path = GOLDEN / "expected" / f"{case['name']}.{case['extension']}"
    report = lora_export.validate_output(config["format"], path, flavor=flavor)
    assert report["valid"], report["errors"]
    assert report == lora_export.validate_output(config["format"], path.read_bytes(), flavor=flavor)
