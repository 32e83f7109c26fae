"""Compressed single-file exports (``compression="gzip"`` or ``"zstd"``):
through the service (run now, queued, retried) and the local ``export``.
The stored file is the compressed one: its name ends in ``.gz``/``.zst``,
the history's size and SHA-256 are of its bytes, and it decompresses to the
uncompressed export of the same request. gzip is read with the standard
library; Python 3.11 has no zstd reader, so zstd is read by the ``zstd``
command."""

import gzip
import hashlib
import io
import subprocess

import pytest

import lora_export

from conftest import SAMPLE, create_user, sql
from test_client import ids_of_sample


def decompress(compression, data):
    if compression == "gzip":
        return gzip.decompress(data)
    return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout


@pytest.fixture
def client(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root, sync_threshold=20) as c:
        c.migrate(supabase_stand_ins=True)
        c.import_conversations(SAMPLE)
        yield c, url


@pytest.mark.parametrize(
    ("compression", "plain", "suffix", "mime"),
    [
        ("gzip", {"config": {"scope": "selected", "format": "jsonl"}}, ".jsonl.gz", "application/gzip"),
        ("zstd", {"config": {"scope": "all_data", "format": "csv"}}, ".csv.zst", "application/zstd"),
    ],
)
def test_a_compressed_export_is_stored_hashed_and_served_compressed(client, compression, plain, suffix, mime):
    c, url = client
    user = create_user(url)
    if plain["config"]["scope"] == "selected":
        plain = {**plain, "conversationIds": ids_of_sample(3)}
    created = c.create_export(user, {**plain, "compression": compression})
    if created["status"] == "queued":
        assert c.run_worker("py-compress", max_jobs=1, poll_interval=0.05)["completed"] == 1
    export_id = created["export_id"]
    for attempt in range(2):
        out = io.BytesIO()
        info = c.download(user, export_id, out)
        data = out.getvalue()
        assert info["content_type"] == mime
        assert info["file_name"].endswith(suffix) and info["file_name"] in info["content_disposition"]
        logged = c.list_history(user)["items"][0]
        assert logged["export_id"] == export_id
        assert logged["file_sha256"] == hashlib.sha256(data).hexdigest() == info["sha256"]
        assert logged["file_size"] == len(data)
        uncompressed = c.create_export(user, plain)
        if uncompressed["status"] == "queued":
            c.run_worker("py-compress", max_jobs=1, poll_interval=0.05)
        expected = io.BytesIO()
        c.download(user, uncompressed["export_id"], expected)
        # The CSV and JSONL formats carry no date: the same request, the same bytes.
        assert data != expected.getvalue()
        assert decompress(compression, data) == expected.getvalue(), (compression, attempt)
        if attempt == 0:
            sql(url, f"UPDATE lora_export.export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = '{export_id}'")
            retried = c.retry_export(user, export_id)
            if retried["status"] == "queued":
                c.run_worker("py-compress", max_jobs=1, poll_interval=0.05)
            export_id = retried["export_id"]

    with pytest.raises(lora_export.ValidationError) as refused:
        c.create_export(user, {**plain, "compression": "brotli"})
    assert [i["path"] for i in refused.value.issues] == ["compression"]


# The bundled sample skips four malformed records on purpose.
@pytest.mark.filterwarnings("ignore:.* input records were skipped:lora_export.LoraExportWarning")
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_export_writes_a_compressed_file(tmp_path, compression):
    records = SAMPLE.read_bytes()
    plain = tmp_path / "train.jsonl"
    lora_export.export(records, plain, config={"scope": "all_data"})
    dest = tmp_path / ("train.jsonl" + {"gzip": ".gz", "zstd": ".zst"}[compression])
    summary = lora_export.export(records, dest, config={"scope": "all_data"}, compression=compression)
    data = dest.read_bytes()
    assert (summary.bytes, summary.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert decompress(compression, data) == plain.read_bytes()
    with pytest.raises(ValueError, match="compresses with"):
        lora_export.export(records, tmp_path / "train.jsonl.xz", compression=compression)
    with pytest.raises(lora_export.ValidationError):
        lora_export.export(records, tmp_path / "x.jsonl", compression="lz4")
    with pytest.raises(ValueError, match="compression="):
        lora_export.export(records, tmp_path / "y.jsonl.gz")
