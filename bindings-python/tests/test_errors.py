"""Errors an operator can see, against a real PostgreSQL: an unreachable
database fails an operation with its cause (never the client), health()
says what is wrong, on_error and on_event receive reports and metric
events, and a failed background attempt is a JSON line on a worker
process's stderr."""

import json
import socket
import subprocess
import sys
import time

import lora_export
import pytest
from conftest import create_user, sql

REFUSE_COMPLETION = """
CREATE FUNCTION public.refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.status = 'completed' THEN RAISE EXCEPTION 'No space left on device'; END IF;
RETURN NEW; END $$;
CREATE TRIGGER refuse_completion BEFORE UPDATE ON lora_export.export_logs
  FOR EACH ROW EXECUTE FUNCTION public.refuse_completion()"""


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, seconds=2.0):
    until = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.05)


def test_an_unreachable_database_fails_the_operation_with_its_cause(tmp_path):
    reports = []
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/postgres"
    with lora_export.ExportClient(url, storage_root=tmp_path, on_error=reports.append) as c:
        with pytest.raises(lora_export.LoraExportError) as raised:
            c.migrate()
        error = raised.value
        assert error.code == "DATABASE_ERROR" and error.status == 500
        assert "refused" in str(error).lower(), str(error)
        health = c.health()
        assert (health["ok"], health["database"]) == (False, False)
        assert health["problem"].startswith("DATABASE_ERROR (error id ")
        eventually(lambda: len(reports) == 2)
        assert [r["operation"] for r in reports] == ["migrate", "health"]
        assert reports[0]["error_id"] == error.error_id
        assert reports[1]["error_id"] in health["problem"]
        assert all("refused" in r["detail"].lower() for r in reports)
    with pytest.raises(TypeError, match="on_error"):
        lora_export.ExportClient(url, on_error="stderr")


def one_conversation(tmp_path):
    path = tmp_path / "one.jsonl"
    record = {
        "conversation_id": "c-1",
        "title": "One",
        "status": "approved",
        "qualityScore": 8.5,
        "tier": "template",
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
        "turns": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }
    path.write_text(json.dumps(record) + "\n")
    return path


def test_on_event_receives_created_and_completed(database, tmp_path):
    url, root = database
    events = []
    with lora_export.ExportClient(url, storage_root=root, on_event=events.append, on_error=None) as c:
        c.migrate(supabase_stand_ins=True)
        assert c.import_conversations(one_conversation(tmp_path))["imported"] == 1
        assert c.health()["ok"] is True
        done = c.create_export(create_user(url), {"config": {"scope": "all", "format": "jsonl"}})
        assert done["status"] == "completed"
        eventually(lambda: len(events) == 2)
    assert [(e["status"], e["export_id"]) for e in events] == [
        ("created", done["export_id"]),
        ("completed", done["export_id"]),
    ]


def test_a_failed_attempt_is_a_json_line_on_the_workers_stderr(database, tmp_path):
    url, root = database
    events = []
    with lora_export.ExportClient(url, storage_root=root, sync_threshold=1, on_event=events.append) as c:
        c.migrate(supabase_stand_ins=True)
        assert c.import_conversations(one_conversation(tmp_path))["imported"] == 1
        user = create_user(url)
        sql(url, REFUSE_COMPLETION)
        queued = c.create_export(user, {"config": {"scope": "all", "format": "jsonl"}})
        assert queued["status"] == "queued"
        eventually(lambda: len(events) == 1)
        assert (events[0]["status"], events[0]["export_id"]) == ("created", queued["export_id"])
    child = (
        "import sys, lora_export\n"
        "with lora_export.ExportClient(sys.argv[1], storage_root=sys.argv[2]) as c:\n"
        "    c.run_worker('py-child', max_jobs=1, poll_interval=0.1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, url, str(root)], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    line = next((x for x in lines if x["export_id"] == queued["export_id"]), None)
    assert line is not None, done.stderr
    assert (line["source"], line["operation"], line["attempt"], line["code"]) == (
        "lora-export",
        "run_worker",
        1,
        "DATABASE_ERROR",
    )
    assert len(line["error_id"]) == 36 and "No space left on device" in line["detail"]
