"""ExportClient against the real PostgreSQL that scripts/test.sh starts:
migrate, import, create (201 and 202), worker, status, download into a path
and a file object, history, delete, cleanup, metrics, the export modal's
operations (conversations, counts, preview, retry, inspect, audit trail),
maintenance, and every error with its class, code and status."""

import base64
import datetime
import gzip
import hashlib
import hmac
import io
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile

import pytest

import lora_export

from conftest import SAMPLE, conversation, create_user, sql


def sample_records():
    records = []
    for line in SAMPLE.read_text("utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


@pytest.fixture
def client(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root, sync_threshold=20, rate_limit_per_hour=50) as c:
        applied = c.migrate(supabase_stand_ins=True)
        assert applied == sorted(applied) and applied
        assert c.migrate() == []
        imported = c.import_conversations(SAMPLE)
        assert imported["imported"] == 46
        assert [s["location"]["line"] for s in imported["skipped"]] == sorted(
            s["location"]["line"] for s in imported["skipped"]
        )
        assert len(imported["skipped"]) == 4
        yield c, url


def test_the_export_lifecycle(client, tmp_path):
    c, url = client
    user, stranger = create_user(url), create_user(url)
    ids = [r["conversation_id"] for r in sample_records()[:3]]

    small = c.create_export(user, {"config": {"scope": "selected", "format": "csv"}, "conversationIds": ids})
    assert (small["status"], small["http_status"], small["conversation_count"]) == ("completed", 201, 3)
    path = tmp_path / small["file_name"]
    info = c.download(user, small["export_id"], path)
    data = path.read_bytes()
    assert info["size"] == len(data) == small["file_size"]
    assert info["sha256"] == hashlib.sha256(data).hexdigest() == small["sha256"]
    assert info["content_type"].startswith("text/csv")
    assert small["file_name"] in info["content_disposition"]
    buffer = io.BytesIO()
    c.download(user, uuid.UUID(small["export_id"]), buffer)
    assert buffer.getvalue() == data
    assert lora_export.validate_output("csv", data)["valid"]

    large = c.create_export(user, {"config": {"scope": "all_data", "format": "jsonl"}})
    assert (large["status"], large["http_status"]) == ("queued", 202)
    with pytest.raises(lora_export.TooEarlyError) as early:
        c.download(user, large["export_id"], tmp_path / "early.jsonl")
    assert (early.value.code, early.value.status) == ("TOO_EARLY", 425)
    assert not (tmp_path / "early.jsonl").exists()
    report = c.run_worker("py-worker", max_jobs=1, poll_interval=0.05)
    assert (report["claimed"], report["completed"]) == (1, 1)
    status = c.get_status(user, large["export_id"])
    assert (status["status"], status["progress"], status["conversation_count"]) == ("completed", 100, 46)
    jsonl = io.BytesIO()
    c.download(user, large["export_id"], jsonl)
    assert len(jsonl.getvalue().splitlines()) == 46
    assert lora_export.validate_output("jsonl", jsonl.getvalue())["valid"]

    with pytest.raises(lora_export.ForbiddenError) as forbidden:
        c.get_status(stranger, small["export_id"])
    assert forbidden.value.status == 403
    with pytest.raises(lora_export.NotFoundError) as missing:
        c.download(user, uuid.uuid4(), io.BytesIO())
    assert (missing.value.code, missing.value.status) == ("NOT_FOUND", 404)

    page = c.list_history(user, {"format": "csv", "limit": 10})
    assert (page["total"], page["page"], page["hasNext"]) == (1, 1, False)
    assert page["items"][0]["export_id"] == small["export_id"]
    assert c.list_history(user)["total"] == 2
    assert c.list_history(stranger)["total"] == 0
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert c.list_history(user, {"from": today, "to": today, "limit": "5", "format": ""})["total"] == 2
    with pytest.raises(lora_export.ValidationError) as bad_query:
        c.list_history(user, {"limit": "abc", "from": "yesterday", "sort": "name"})
    assert sorted(i["path"] for i in bad_query.value.issues) == ["from", "limit", "sort"]

    sql(url, f"UPDATE lora_export.export_logs SET expires_at = now() - interval '1 hour' WHERE export_id = '{small['export_id']}'")
    with pytest.raises(lora_export.GoneError) as gone:
        c.download(user, small["export_id"], io.BytesIO())
    assert gone.value.status == 410
    cleanup = c.cleanup_expired()
    assert cleanup["files_deleted"] >= 1 and cleanup["failures"] == []

    deleted = c.delete_export(user, large["export_id"])
    assert deleted["export_id"] == large["export_id"] and deleted["file_deleted"]
    assert c.process_jobs(5) == 0
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    metrics = c.metrics(since)
    assert metrics["completed"] == 2 and metrics["format_distribution"] == {"csv": 1, "jsonl": 1}
    assert (metrics["oldest_queued_secs"], metrics["live_workers"]) == (0, 0)
    assert isinstance(metrics["last_worker_seen_at"], str)
    assert c.metrics(since.isoformat()) == metrics
    assert c.purge_old_logs() == {"logs_deleted": 0, "audit_events_deleted": 0}


def test_validation_and_rate_limit_errors_carry_their_attributes(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root, rate_limit_per_hour=2) as c:
        c.migrate(supabase_stand_ins=True)
        c.import_conversations(SAMPLE)
        user = create_user(url)
        with pytest.raises(lora_export.ValidationError) as invalid:
            c.create_export(user, {"config": {"scope": "filtered", "format": "pdf"}})
        assert invalid.value.status == 400
        assert {i["code"] for i in invalid.value.issues} == {"invalid_enum", "filters_required"}
        body = {"config": {"scope": "all", "format": "json"}}
        c.create_export(user, body)
        c.create_export(user, body)
        with pytest.raises(lora_export.RateLimitedError) as limited:
            c.create_export(user, body)
        error = limited.value
        assert (error.code, error.status) == ("RATE_LIMITED", 429)
        assert isinstance(error.retry_after, int) and 0 < error.retry_after <= 3600


def test_configuration_and_connection_errors(database, admin_url):
    url, root = database
    with pytest.raises(lora_export.ConfigError) as config:
        lora_export.ExportClient(url, sync_threshold=0)
    assert "sync_threshold" in str(config.value)
    with pytest.raises(TypeError, match="unexpected option"):
        lora_export.ExportClient(url, sync_treshold=5)
    with pytest.raises(ValueError, match="user: \"not-a-uuid\""):
        lora_export.ExportClient(url).get_status("not-a-uuid", uuid.uuid4())
    missing = admin_url.rsplit("/", 1)[0] + "/no_such_database_" + uuid.uuid4().hex[:8]
    with pytest.raises(lora_export.DatabaseError) as down:
        lora_export.ExportClient(missing, storage_root=root).migrate()
    assert (down.value.code, down.value.status) == ("DATABASE_ERROR", 500)
    assert down.value.error_id and down.value.error_id in str(down.value)
    closed = lora_export.ExportClient(url)
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.migrate()


def test_the_library_lives_in_its_schema_and_reads_the_apps_relations_by_name(database):
    url, root = database
    with pytest.raises(lora_export.ConfigError, match="belongs to the app"):
        lora_export.ExportClient(url, schema="public")
    with pytest.raises(lora_export.ConfigError, match="turns_table"):
        lora_export.ExportClient(url, conversations_table="public.chats")
    client = lora_export.ExportClient(url, storage_root=root, schema="py_export")
    assert client.migrate(supabase_stand_ins=True) == list(range(1, 23))
    assert sql(url, "SELECT to_regclass('py_export.export_logs') IS NOT NULL, count(*) FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace") == "t|0"
    client.close()


WORKER = """
import sys, lora_export
client = lora_export.ExportClient(sys.argv[1], storage_root=sys.argv[2])
print("started", flush=True)
try:
    client.run_worker("interrupted-worker", poll_interval=0.05)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_a_running_worker(client, tmp_path):
    _, url = client
    child = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(tmp_path / "files")], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.5)  # let it poll the empty queue a few times
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert (child.returncode, out.strip()) == (0, "interrupted")


def test_first_run_errors_say_what_to_do(bare_database):
    url, root = bare_database
    with lora_export.ExportClient(url, storage_root=root) as c:
        body = {"config": {"scope": "all", "format": "jsonl"}}
        with pytest.raises(lora_export.NotMigratedError) as unmigrated:
            c.create_export(str(uuid.uuid4()), body)
        assert "migrate()" in str(unmigrated.value)
        with pytest.raises(lora_export.ConfigError, match=r"auth\.users.*migrate\(supabase_stand_ins=True\)"):
            c.migrate()
        c.migrate(supabase_stand_ins=True)
        with pytest.raises(lora_export.UnknownUserError) as unknown:
            c.create_export(str(uuid.uuid4()), body)
        assert unknown.value.status == 401
        assert "constraint" not in str(unknown.value)


SECRET = "test-jwt-secret-of-at-least-32-characters-long"
PROJECT = "http://127.0.0.1:9"


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims, secret=SECRET, alg="HS256"):
    """A Supabase-shaped token signed with `secret` (stdlib hmac, no JWT library)."""
    signed = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + ("" if alg == "none" else _b64(signature))


def claims_of(user, **overrides):
    now = int(time.time())
    base = {"iss": f"{PROJECT}/auth/v1", "sub": user, "aud": "authenticated", "role": "authenticated", "exp": now + 3600}
    return {**base, **overrides}


def test_sessions_from_verified_tokens_drive_the_user_operations(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root, supabase_url=PROJECT, jwt_secret=SECRET) as c:
        c.migrate(supabase_stand_ins=True)
        c.import_conversations(b"".join(json.dumps(conversation(i)).encode() + b"\n" for i in range(3)))
        alice, bob = create_user(url), create_user(url)
        session = c.verify_session(hs256(claims_of(alice, email="ada@example.com")))
        assert isinstance(session, lora_export.Session)
        assert (session.user_id, session.email, session.is_anonymous) == (alice, "ada@example.com", False)
        assert session.expires_at.tzinfo is not None
        created = c.create_export(session, {"config": {"scope": "all", "format": "jsonl"}})
        assert c.get_status(session, created["export_id"])["status"] == "completed"
        other = c.authenticate(cookie="sb-127-auth-token=" + json.dumps({"access_token": hs256(claims_of(bob))}))
        with pytest.raises(lora_export.ForbiddenError):
            c.get_status(other, created["export_id"])
        assert c.list_history(session)["total"] == 1
        with pytest.raises(TypeError):
            lora_export.Session()
        for reason, token in [
            ("expired", hs256(claims_of(alice, exp=int(time.time()) - 120))),
            ("algorithm_not_allowed", hs256(claims_of(alice), alg="none")),
            ("wrong_audience", hs256(claims_of(alice, aud="anon"))),
            ("wrong_role", hs256(claims_of(alice, role="service_role"))),
            ("bad_signature", hs256(claims_of(alice), secret="x" * 40)),
            ("wrong_issuer", hs256(claims_of(alice, iss="https://evil.supabase.co/auth/v1"))),
        ]:
            with pytest.raises(lora_export.InvalidTokenError) as refused:
                c.verify_session(token)
            assert (refused.value.status, refused.value.reason) == (401, reason)
        with pytest.raises(lora_export.InvalidTokenError) as missing:
            c.authenticate()
        assert missing.value.reason == "missing"
        no_issuer = {k: v for k, v in claims_of(alice).items() if k != "iss"}
        with pytest.raises(lora_export.InvalidTokenError) as refused:
            c.verify_session(hs256(no_issuer))
        assert refused.value.reason == "wrong_issuer"


def test_an_anonymous_session_is_refused_unless_allowed(database):
    url, root = database
    options = {"storage_root": root, "supabase_url": PROJECT, "jwt_secret": SECRET}
    body = {"config": {"scope": "all_data", "format": "jsonl"}}
    with lora_export.ExportClient(url, **options) as c:
        c.migrate(supabase_stand_ins=True)
        c.import_conversations(b"".join(json.dumps(conversation(i)).encode() + b"\n" for i in range(3)))
        guest = c.verify_session(hs256(claims_of(create_user(url), is_anonymous=True)))
        assert guest.is_anonymous
        with pytest.raises(lora_export.LoraExportError) as refused:
            c.create_export(guest, body)
        assert (refused.value.code, refused.value.status) == ("ANONYMOUS_NOT_ALLOWED", 403)
    with lora_export.ExportClient(url, allow_anonymous=True, **options) as c:
        assert c.create_export(guest, body)["status"] == "completed"


def test_a_dataset_export_downloads_each_file_and_the_zip_into_file_objects(client, tmp_path):
    c, url = client
    user, stranger = create_user(url), create_user(url)
    dataset = {"split": "train=0.75,validation=0.25", "seed": 4, "maxRecordsPerShard": 10, "compression": "gzip"}
    queued = c.create_export(user, {"config": {"scope": "all", "format": "jsonl"}, "dataset": dataset})
    assert queued["status"] == "queued", "35 conversations are over sync_threshold: a worker writes them"
    assert c.run_worker("py-dataset", max_jobs=1, poll_interval=0.05)["completed"] == 1
    created = c.get_status(user, queued["export_id"])
    assert created["status"] == "completed" and created["file_name"].endswith(".zip")
    assert c.list_history(user)["items"][0]["files"] == created["files"]
    approved = [r for r in sample_records() if r.get("status") == "approved"]
    core = lora_export.export_dataset(approved, tmp_path / "core", split=dataset["split"], seed=4,
                                      max_records_per_shard=10, compression="gzip")
    names = [f["name"] for s in core["splits"] for f in s["files"]] + ["README.md"]
    assert sorted(f["name"] for f in created["files"]) == sorted(names)

    def ids_of(split, read):
        """A split's conversation ids (the split is decided by the id alone)."""
        return sorted(json.loads(l)["metadata"]["conversation_id"] for f in created["files"]
                      if f.get("split") == split for l in gzip.decompress(read(f["name"])).splitlines())

    downloaded = {}
    for file in created["files"]:
        buffer = io.BytesIO()
        info = c.download(user, created["export_id"], buffer, file=file["name"])
        downloaded[file["name"]] = buffer.getvalue()
        assert (info["size"], info["sha256"]) == (file["bytes"], hashlib.sha256(buffer.getvalue()).hexdigest())
        assert info["sha256"] == file["sha256"]
    for split in ("train", "validation"):
        assert ids_of(split, downloaded.get) == ids_of(split, lambda n: (tmp_path / "core" / n).read_bytes())
    # The zip, written as it is read, straight into a file object and to a path.
    buffer = io.BytesIO()
    info = c.download(user, created["export_id"], buffer)
    assert (info["content_type"], info["size"], info["sha256"]) == ("application/zip", None, None)
    c.download(user, created["export_id"], tmp_path / "all.zip")
    assert (tmp_path / "all.zip").read_bytes() == buffer.getvalue()
    with zipfile.ZipFile(buffer) as archive:
        assert archive.namelist() == [f["name"] for f in created["files"]]
        for name in archive.namelist():
            assert archive.read(name) == downloaded[name], name
    for bad in ["../README.md", "train", ""]:
        with pytest.raises(lora_export.NotFoundError):
            c.download(user, created["export_id"], io.BytesIO(), file=bad)
    with pytest.raises(lora_export.ForbiddenError):
        c.download(stranger, created["export_id"], io.BytesIO(), file="README.md")


def ids_of_sample(n):
    return [r["conversation_id"] for r in sample_records()[:n]]


def test_the_earlier_names_warn_and_still_answer(client):
    c, url = client
    user = create_user(url)
    created = c.create_export(user, {"config": {"scope": "selected", "format": "csv"}, "conversationIds": ids_of_sample(2)})
    with pytest.warns(DeprecationWarning, match=r"ExportClient\.status is deprecated: use ExportClient\.get_status"):
        assert c.status(user, created["export_id"]) == c.get_status(user, created["export_id"])
    with pytest.warns(DeprecationWarning, match=r"use ExportClient\.list_history"):
        assert c.history(user, {"limit": 5}) == c.list_history(user, {"limit": 5})
    with pytest.warns(DeprecationWarning, match=r"use ExportClient\.delete_export"):
        assert c.delete(user, created["export_id"])["file_deleted"]
    assert c.list_history(user)["total"] == 0


def test_create_dev_user_is_idempotent_by_email(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root) as c:
        c.migrate(supabase_stand_ins=True)
        user = c.create_dev_user("dev@example.com")
        assert str(uuid.UUID(user)) == user
        assert c.create_dev_user(" dev@example.com ") == user
        assert sql(url, f"SELECT email FROM auth.users WHERE id = '{user}'") == "dev@example.com"
        c.import_conversations(SAMPLE)
        assert c.create_export(user, {"config": {"scope": "all", "format": "json"}})["status"] == "completed"
        with pytest.raises(lora_export.ValidationError) as refused:
            c.create_dev_user("not-an-email")
        assert [(i["path"], i["code"]) for i in refused.value.issues] == [("email", "invalid_email")]


def test_count_scopes_counts_what_each_scope_exports(client):
    c, url = client
    user = create_user(url)
    filters = {"tierTypes": ["edge_case"]}
    counts = c.count_scopes(user, {"conversationIds": ids_of_sample(3) + ["no-such-id"], "filters": filters})
    assert (counts["selected"], counts["all"], counts["all_data"]) == (3, 32, 46)
    filtered = c.create_export(user, {"config": {"scope": "filtered", "format": "jsonl"}, "filters": filters})
    assert 0 < counts["filtered"] == filtered["conversation_count"]
    assert c.count_scopes(user) == {**counts, "selected": 0, "filtered": 46}
    with pytest.raises(lora_export.ValidationError) as invalid:
        c.count_scopes(user, {"filters": filters, "sort": "title"})
    assert [i["path"] for i in invalid.value.issues] == ["sort"]


def test_list_conversations_pages_with_the_export_filters(client):
    c, url = client
    user = create_user(url)
    filters = {"tierTypes": ["template"], "statuses": ["approved"]}
    filtered = c.count_scopes(user, {"filters": filters})["filtered"]
    page = c.list_conversations(user, {"filters": filters, "limit": 5, "page": 2})
    assert (page["total"], page["page"], page["limit"], len(page["items"])) == (filtered, 2, 5, 5)
    assert page["totalPages"] == -(-filtered // 5)
    assert all((row["tier"], row["status"]) == ("template", "approved") for row in page["items"])
    everything = c.list_conversations(user)
    assert (everything["total"], everything["limit"], len(everything["items"])) == (46, 25, 25)
    with pytest.raises(lora_export.ValidationError) as invalid:
        c.list_conversations(user, {"limit": 0, "filters": {"tierTypes": ["x"]}})
    assert [i["path"] for i in invalid.value.issues] == ["limit", "filters.tierTypes[0]"]


def test_preview_export_is_what_the_export_writes(client):
    c, url = client
    user = create_user(url)
    body = {"config": {"scope": "selected", "format": "csv"}, "conversationIds": ids_of_sample(3)}
    preview = c.preview_export(user, body)
    assert (preview["format"], preview["count"]) == ("csv", 3)
    created = c.create_export(user, body)
    written = io.BytesIO()
    c.download(user, created["export_id"], written)
    assert preview["preview"] == written.getvalue().decode("utf-8")
    two = c.preview_export(user, body, n=2)
    assert two["count"] == 2 and len(two["preview"]) < len(preview["preview"])
    assert c.list_history(user)["total"] == 1, "a preview logs nothing"
    with pytest.raises(lora_export.ValidationError) as invalid:
        c.preview_export(user, body, n=11)
    assert [i["path"] for i in invalid.value.issues] == ["n"]


def test_retry_export_makes_a_new_export_from_an_expired_one(client):
    c, url = client
    user, stranger = create_user(url), create_user(url)
    body = {"config": {"scope": "selected", "format": "jsonl"}, "conversationIds": ids_of_sample(3)}
    first = c.create_export(user, body)
    with pytest.raises(lora_export.NotRetryableError) as refused:
        c.retry_export(user, first["export_id"])
    assert (refused.value.code, refused.value.status) == ("NOT_RETRYABLE", 409)
    with pytest.raises(lora_export.ForbiddenError):
        c.retry_export(stranger, first["export_id"])
    sql(url, f"UPDATE lora_export.export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = '{first['export_id']}'")
    retried = c.retry_export(user, first["export_id"])
    assert (retried["status"], retried["http_status"], retried["conversation_count"]) == ("completed", 201, 3)
    assert retried["export_id"] != first["export_id"]
    assert retried["sha256"] == first["sha256"]
    assert c.get_status(user, first["export_id"])["status"] == "expired"


def test_inspect_download_checks_without_counting(client):
    c, url = client
    user, stranger = create_user(url), create_user(url)
    created = c.create_export(user, {"config": {"scope": "selected", "format": "jsonl"}, "conversationIds": ids_of_sample(3)})
    head = c.inspect_download(user, created["export_id"])
    assert head["size"] == created["file_size"] == c.get_status(user, created["export_id"])["file_size"]
    assert (head["sha256"], head["file_name"]) == (created["sha256"], created["file_name"])
    assert head["content_type"] == "application/x-ndjson"
    assert c.list_history(user)["items"][0]["download_count"] == 0
    info = c.download(user, created["export_id"], io.BytesIO())
    assert info == head
    assert c.list_history(user)["items"][0]["download_count"] == 1
    with pytest.raises(lora_export.ForbiddenError):
        c.inspect_download(stranger, created["export_id"])
    with pytest.raises(lora_export.NotFoundError):
        c.inspect_download(user, created["export_id"], file="README.md")


AUDIT_HEADER = "created_at,export_id,user_id,seq,event,detail,prev_hash,hash"


def test_audit_trail_csv_is_the_users_own_and_every_users_for_an_admin(database):
    url, root = database
    with lora_export.ExportClient(url, storage_root=root, supabase_url=PROJECT, jwt_secret=SECRET) as c:
        c.migrate(supabase_stand_ins=True)
        c.import_conversations(b"".join(json.dumps(conversation(i)).encode() + b"\n" for i in range(3)))
        alice, bob = create_user(url), create_user(url)
        mine = c.create_export(alice, {"config": {"scope": "all", "format": "csv"}})["export_id"]
        theirs = c.create_export(bob, {"config": {"scope": "all", "format": "json"}})["export_id"]
        own = c.audit_trail_csv(alice).splitlines()
        assert own[0] == AUDIT_HEADER
        assert [row.split(",")[1:5] for row in own[1:]] == [[mine, alice, str(seq), event] for seq, event in
                                                              enumerate(["requested", "started", "completed"], 1)]
        with pytest.raises(lora_export.AdminRequiredError) as refused:
            c.audit_trail_csv(alice, all_users=True)
        assert (refused.value.code, refused.value.status) == ("ADMIN_REQUIRED", 403)
        admin = c.verify_session(hs256(claims_of(alice, app_metadata={"role": "admin"})))
        every = c.audit_trail_csv(admin, all_users=True)
        assert every.splitlines()[0] == AUDIT_HEADER and mine in every and theirs in every
        assert theirs not in c.audit_trail_csv(admin)


def test_run_due_maintenance_runs_each_period_once(client):
    c, _ = client
    runs = c.run_due_maintenance("py-cron")
    assert sorted(r["task"] for r in runs) == ["cleanup_files", "expire_exports", "purge_logs"]
    assert all(r["worker_id"] == "py-cron" and r["finished_at"] and r["error"] is None for r in runs)
    assert c.run_due_maintenance() == []


def test_stop_workers_ends_a_worker_on_another_thread(client):
    c, url = client
    reports = []
    worker = threading.Thread(target=lambda: reports.append(c.run_worker("py-threaded", poll_interval=0.05)))
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive()
    c.stop_workers()
    worker.join(timeout=30)
    assert not worker.is_alive() and reports[0]["claimed"] == 0
    user = create_user(url)
    queued = c.create_export(user, {"config": {"scope": "all_data", "format": "jsonl"}})
    assert c.run_worker("py-late", max_jobs=1, poll_interval=0.05)["claimed"] == 0, "stop_workers holds"
    assert c.get_status(user, queued["export_id"])["status"] == "queued"
