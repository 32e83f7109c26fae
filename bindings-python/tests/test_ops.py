"""Operations (issue 37) through the Python binding against PostgreSQL:
NO_CONVERSATIONS, the quotas with `retry_after`, and the Prometheus text of
`prometheus_metrics()` read by prometheus_client's own parser."""

import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

import lora_export

from conftest import SAMPLE, create_user

ALL = {"config": {"scope": "all", "format": "jsonl"}}
THREE = {
    "config": {"scope": "selected", "format": "jsonl"},
    "conversationIds": ["cs-0001", "cs-0002", "cs-0004"],
}


def client(database, **options):
    url, root = database
    c = lora_export.ExportClient(url, storage_root=root, **options)
    c.migrate(supabase_stand_ins=True)
    c.import_conversations(SAMPLE)
    return c, create_user(url)


def test_an_export_that_selects_nothing_raises_no_conversations(database):
    c, user = client(database)
    with c:
        nothing = {"config": {"scope": "selected", "format": "csv"}, "conversationIds": ["none"]}
        with pytest.raises(lora_export.NoConversationsError) as refused:
            c.create_export(user, nothing)
        assert (refused.value.code, refused.value.status) == ("NO_CONVERSATIONS", 400)
        assert c.list_history(user)["total"] == 0


def test_the_quotas_raise_their_classes_with_retry_after(database):
    c, user = client(database, max_conversations=3, sync_threshold=1, max_jobs_per_user=1)
    with c:
        with pytest.raises(lora_export.ExportTooLargeError) as large:
            c.create_export(user, ALL)
        assert large.value.status == 413
        assert c.create_export(user, THREE)["http_status"] == 202
        with pytest.raises(lora_export.QueueFullError) as full:
            c.create_export(user, THREE)
        assert (full.value.status, full.value.retry_after) == (429, 30)


def test_prometheus_metrics_parse_as_prometheus_text(database):
    c, user = client(database)
    with c:
        c.create_export(user, THREE)
        c.record_request("create", 201, 0.03)
        c.record_request("status", 500, 0.002)
        families = {f.name: f for f in text_string_to_metric_families(c.prometheus_metrics())}
        assert families["lora_export_export_duration_seconds"].type == "histogram"
        assert families["lora_export_requests"].type == "counter"
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families.values()
            for s in f.samples
        }
        assert samples[("lora_export_exports", (("format", "jsonl"), ("status", "completed")))] == 1
        assert samples[("lora_export_requests_total", (("route", "status"), ("status", "5xx")))] == 1
        metrics = c.metrics(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
        assert samples[("lora_export_storage_bytes", ())] == metrics["storage_bytes"] > 0
        assert {r["route"] for r in metrics["requests"]} == {"create", "status"}
