"""The Python surface: inputs (dicts with camelCase or snake_case keys,
generators, pandas records with NaN, datetimes), destinations, progress,
preview, request and output validation, and the exception hierarchy with
its attributes."""

import datetime
import io
import json
import math
import pathlib

import pytest

import lora_export

from conftest import GOLDEN, SAMPLE, conversation

# The shared inputs hold malformed records on purpose: each export that skips
# them raises a LoraExportWarning (issue 36), which these tests do not test.
pytestmark = pytest.mark.filterwarnings("ignore:.* input records were skipped:lora_export.LoraExportWarning")



def snake_case(record):
    renamed = {
        "qualityScore": "quality_score",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
    }
    return {renamed.get(k, k): v for k, v in record.items()}


def test_camel_and_snake_case_records_export_the_same():
    records = [conversation(i) for i in range(5)]
    camel = lora_export.to_string(records)
    snake = lora_export.to_string(snake_case(r) for r in records)
    assert camel == snake
    assert len(camel.splitlines()) == 5


def test_pandas_style_values_nan_datetime_and_tuples_are_converted():
    record = conversation(1)
    record["persona"] = math.nan
    record["createdAt"] = datetime.datetime(2025, 10, 29, 10, 0, tzinfo=datetime.timezone.utc)
    record["category"] = ("support", "billing")
    plain = conversation(1)
    plain["persona"] = None
    plain["createdAt"] = "2025-10-29T10:00:00Z"
    plain["category"] = ["support", "billing"]
    assert lora_export.to_string([record]) == lora_export.to_string([plain])
    naive = dict(record, createdAt=datetime.datetime(2025, 10, 29, 10, 0))
    paris = datetime.timezone(datetime.timedelta(hours=1))
    aware = dict(record, createdAt=datetime.datetime(2025, 10, 29, 11, 0, tzinfo=paris))
    assert lora_export.to_string([naive]) == lora_export.to_string([aware]) == lora_export.to_string([plain])
    document = json.loads(lora_export.to_string([record], format="json"))
    assert document["conversations"][0]["metadata"]["category"] == ["support", "billing"]


def test_dicts_export_exactly_as_the_same_records_as_jsonl_in_every_format():
    # Dicts are read straight into records; every value kind must mean what
    # its JSON means (the JSONL bytes are the reference).
    records = [conversation(i) for i in range(6)]
    records[0]["parameters"] = {"temperature": 0.5, "nested": {"xs": [1, -2, 3.5, None, True]}, "big": 2**63}
    records[1]["persona"] = math.nan
    records[2]["reviewHistory"] = [{"id": "r1", "action": "approved", "performedBy": "rev",
                                    "timestamp": datetime.datetime(2025, 10, 1, 12, 0), "comment": None}]
    records[3]["category"] = ("support", "billing")
    records[4]["somethingElse"] = {"when": datetime.date(2025, 1, 2), "t": (1, 2)}
    records[5]["messages"] = records[5].pop("turns")
    plain = json.loads(json.dumps(records, default=str))
    plain[1]["persona"] = None
    plain[2]["reviewHistory"][0]["timestamp"] = "2025-10-01T12:00:00Z"
    jsonl = "".join(json.dumps(r) + "\n" for r in plain).encode()
    for fmt in ["jsonl", "json", "csv", "markdown"]:
        date = "2025-11-01T00:00:00Z"
        # The unknown column is neither read nor kept: both inputs say so.
        with pytest.warns(lora_export.LoraExportWarning, match=r"neither read nor kept.*somethingElse \(1\)"):
            from_dicts = lora_export.to_string(records, format=fmt, export_date=date)
        with pytest.warns(lora_export.LoraExportWarning, match=r"neither read nor kept.*somethingElse \(1\)"):
            from_jsonl = lora_export.to_string(jsonl, format=fmt, export_date=date)
        assert from_dicts == from_jsonl, fmt
        kept = lora_export.to_string(records, format=fmt, export_date=date, keep_columns=True)
        assert kept == lora_export.to_string(jsonl, format=fmt, export_date=date, keep_columns=True), fmt
    # An unknown field that has no JSON form still refuses its record, as it did.
    unreadable = dict(conversation(9), blob=b"bytes")
    chunks = lora_export.iter_export([unreadable, conversation(10)])
    assert len(b"".join(chunks).splitlines()) == 1
    skipped = chunks.summary.skipped[0]
    assert skipped["location"] == {"record": 1, "field": "blob"}
    assert skipped["conversation_id"] == "syn-0000009"
    assert "bytes" in skipped["reason"]


def test_export_sync_false_writes_the_same_file(tmp_path):
    records = [conversation(i) for i in range(3)]
    lora_export.export(records, tmp_path / "synced.jsonl")
    lora_export.export(records, tmp_path / "unsynced.jsonl", sync=False)
    assert (tmp_path / "synced.jsonl").read_bytes() == (tmp_path / "unsynced.jsonl").read_bytes()


def test_a_record_that_cannot_be_converted_is_skipped_with_its_location():
    bad = conversation(2)
    bad["turns"][1]["content"] = {1, 2}
    chunks = lora_export.iter_export([conversation(1), bad, 42, conversation(3)])
    lines = b"".join(chunks).splitlines()
    assert len(lines) == 2
    skipped = chunks.summary.skipped
    assert skipped[0]["location"] == {"record": 2, "field": "turns[1].content"}
    assert skipped[0]["conversation_id"] == "syn-0000002"
    assert "type set" in skipped[0]["reason"]
    assert skipped[1]["location"] == {"record": 3}
    assert skipped[1]["reason"].startswith("not a valid conversation")


def test_strict_raises_at_the_first_malformed_line_with_its_location(tmp_path):
    dest = tmp_path / "out.jsonl"
    with pytest.raises(lora_export.MalformedRecordError) as caught:
        lora_export.export(GOLDEN / "input.jsonl", dest, strict=True)
    error = caught.value
    assert isinstance(error, lora_export.LoraExportError)
    assert (error.code, error.status) == ("MALFORMED_RECORD", 400)
    assert error.location["line"] >= 1
    assert f"line {error.location['line']}" in str(error)
    assert not dest.exists(), "a failed export leaves no partial file"


def test_malformed_dict_in_strict_mode_names_record_and_field():
    bad = conversation(7)
    bad["turns"][0]["role"] = "robot"
    with pytest.raises(lora_export.MalformedRecordError) as caught:
        lora_export.to_string([conversation(6), bad], strict=True)
    assert caught.value.location == {"record": 2, "field": "turns[0].role"}
    assert caught.value.conversation_id == "syn-0000007"
    assert "robot" in str(caught.value)


def test_an_invalid_request_raises_validation_error_with_every_issue():
    with pytest.raises(lora_export.ValidationError) as caught:
        lora_export.to_string(
            [conversation(1)],
            config={"includeMetadata": "yes", "jsonlFlavour": "openai"},
            filters={"qualityRange": {"min": 7, "max": 11}},
        )
    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("VALIDATION_ERROR", 400, None)
    found = {(i["path"], i["code"]) for i in error.issues}
    assert ("config.includeMetadata", "invalid_type") in found
    assert ("config.jsonlFlavour", "unknown_key") in found
    assert ("filters.qualityRange.max", "out_of_range") in found


def test_validate_request_returns_the_issue_list():
    assert lora_export.validate_request({"config": {"scope": "all", "format": "csv"}}) == []
    issues = lora_export.validate_request({"config": {"scope": "selected", "format": "xml"}})
    assert {"path", "code", "message"} == set(issues[0])
    assert [(i["path"], i["code"]) for i in issues] == [
        ("config.format", "invalid_enum"),
        ("conversationIds", "ids_required"),
    ]
    assert lora_export.validate_request("{not json")[0]["code"] == "invalid_json"


def test_a_request_past_the_cores_shape_limits_is_refused_as_it_is_converted():
    # Built without recursion: 20,000 levels, then 100 (past the core's 64).
    for depth in (20_000, 100):
        deep = 0
        for _ in range(depth):
            deep = [deep]
        body = {"config": {"scope": "all", "format": "jsonl"}, "filters": deep}
        with pytest.raises(ValueError, match="body.filters.*nested more than 64 levels deep"):
            lora_export.validate_request(body)
    wide = {"config": {"scope": "all", "format": "jsonl"}, "x": [0] * 100_001}
    with pytest.raises(ValueError, match="more than 100000 values"):
        lora_export.validate_request(wide)
    text = {"config": {"scope": "all", "format": "jsonl"}, "x": ["y" * 1_000_000] * 9}
    with pytest.raises(ValueError, match="more than 8388608 bytes of text"):
        lora_export.validate_request(text)


def test_format_argument_and_config_must_agree():
    with pytest.raises(lora_export.ValidationError, match="disagrees") as clash:
        lora_export.to_string([], format="csv", config={"format": "json"})
    assert clash.value.issues[0]["path"] == "config.format"
    assert lora_export.to_string([], format="csv", allow_empty=True).startswith("\ufeffconversation_id,")


def test_ids_select_and_missing_ids_are_reported():
    records = [conversation(i) for i in range(4)]
    chunks = lora_export.iter_export(records, ids=["syn-0000001", "syn-0000003", "nope"])
    assert len(b"".join(chunks).splitlines()) == 2
    assert chunks.summary.missing_ids == ["nope"]
    assert chunks.summary.excluded == 2


def test_unknown_format_and_bad_arguments():
    with pytest.raises(lora_export.UnknownFormatError) as caught:
        lora_export.validate_output("xml", b"")
    assert caught.value.code == "UNKNOWN_FORMAT"
    with pytest.raises(TypeError, match="one mapping"):
        lora_export.to_string(conversation(1))
    with pytest.raises(TypeError, match="iterable"):
        lora_export.to_string(42)
    with pytest.raises(TypeError, match="dest"):
        lora_export.export([], 42)
    with pytest.raises(FileNotFoundError):
        lora_export.export("/nonexistent/input.jsonl", io.BytesIO())
    with pytest.raises(TypeError, match="progress"):
        lora_export.to_string([], progress="yes")


def test_a_raising_generator_propagates_and_removes_the_partial_file(tmp_path):
    def broken():
        yield from (conversation(i) for i in range(3000))
        raise RuntimeError("source broke")

    dest = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError, match="source broke"):
        lora_export.export(broken(), dest)
    assert not dest.exists()


def test_progress_callable_gets_done_and_total():
    calls = []
    records = [conversation(i) for i in range(2500)]
    lora_export.to_string(records, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (2500, 2500)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert len(calls) >= 3
    generator_calls = []
    lora_export.to_string((r for r in records), progress=lambda d, t: generator_calls.append(t))
    assert set(generator_calls) == {None}


def test_progress_true_shows_a_tqdm_bar(capsys):
    lora_export.to_string([conversation(i) for i in range(10)], progress=True)
    err = capsys.readouterr().err
    assert "10/10" in err and "conv" in err


def test_preview_renders_the_first_n_as_the_export_would():
    records = [conversation(i) for i in range(10)]
    text = lora_export.preview(records, format="markdown", n=2)
    assert text.count("# Conversation: ") == 2
    full = lora_export.to_string(records[:2], format="markdown")
    assert text == full
    assert lora_export.preview(SAMPLE, n=1).count("\n") == 1


def test_validate_output_reports_errors_with_locations():
    report = lora_export.validate_output("jsonl", b'{"messages":[]}\nnot json\n')
    assert not report["valid"] and report["records"] >= 1
    assert all("location" in e and "code" in e for e in report["errors"])
    assert any(e["location"].get("line") == 2 for e in report["errors"])


def test_summary_attributes_and_repr(tmp_path):
    summary = lora_export.export(SAMPLE, tmp_path / "sample.csv", format="csv", config={"scope": "all_data"})
    assert summary.format == "csv"
    assert summary.conversations == 46 and len(summary.skipped) == 4
    assert summary.bytes == (tmp_path / "sample.csv").stat().st_size
    assert len(summary.sha256) == 64
    assert sum(summary.tier_distribution.values()) == 46
    assert summary.turns > summary.conversations
    assert summary.tier_label in ("mixed", "template", "scenario", "edge_case")
    assert "conversations=46" in repr(summary)
    assert summary.to_dict()["skipped"] == summary.skipped


def test_exception_classes_form_one_hierarchy():
    names = [
        "ValidationError", "MalformedRecordError", "UnknownFormatError", "RejectedError",
        "InvalidTransitionError", "UnauthorizedError", "ForbiddenError", "NotFoundError",
        "GoneError", "TooEarlyError", "ExportFailedError", "RateLimitedError", "ConfigError",
        "DatabaseError", "IoError", "CsvError", "JsonError", "NotRetryableError", "AdminRequiredError",
        "NoConversationsError", "ExportTooLargeError", "StorageQuotaExceededError", "QueueFullError",
    ]
    codes = set()
    for name in names:
        cls = getattr(lora_export, name)
        assert issubclass(cls, lora_export.LoraExportError)
        codes.add(cls.code)
    assert len(codes) == len(names)
    assert lora_export.RateLimitedError.code == "RATE_LIMITED"


def test_pathlike_and_str_destinations(tmp_path):
    as_str = tmp_path / "a.jsonl"
    lora_export.export(str(SAMPLE), str(as_str), config={"scope": "all_data"})
    as_path = tmp_path / "b.jsonl"
    lora_export.export(pathlib.Path(SAMPLE), as_path, config={"scope": "all_data"})
    assert as_str.read_bytes() == as_path.read_bytes()
    with open(tmp_path / "c.jsonl", "wb") as f:
        lora_export.export(SAMPLE, f, config={"scope": "all_data"})
    assert (tmp_path / "c.jsonl").read_bytes() == as_path.read_bytes()
