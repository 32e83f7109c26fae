"""Shared fixtures of the Python binding's tests: the repository's golden
files and sample data, synthetic conversations, and fresh databases on the
PostgreSQL cluster that scripts/test.sh starts (LORA_EXPORT_TEST_DATABASE_URL)."""

import json
import os
import pathlib
import shutil
import subprocess
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SAMPLE = ROOT / "data" / "sample.jsonl"


def conversation(i, persona="Busy professional", turns=2, filler=0):
    """A valid conversation in the platform's camelCase shape."""
    return {
        "conversation_id": f"syn-{i:07d}",
        "title": f"Synthetic conversation {i}",
        "status": "approved",
        "qualityScore": 8.5,
        "tier": "template",
        "persona": persona,
        "emotion": "curious",
        "topic": "billing",
        "category": ["support"],
        "createdAt": "2025-10-29T10:00:00Z",
        "updatedAt": "2025-10-30T09:15:00Z",
        "turns": [
            {
                "role": "user" if n % 2 == 0 else "assistant",
                "content": f"Turn {n} of conversation {i}: \"quoted\", commas, and — unicode ✓" + "x" * filler,
            }
            for n in range(turns)
        ],
    }


def golden_cases():
    cases = json.loads((GOLDEN / "cases.json").read_text("utf-8"))
    return cases["export_date"], cases["cases"]


def input_records(name="input.jsonl"):
    """The lines of golden input `name` that are JSON objects, as dicts."""
    records = []
    for line in (GOLDEN / name).read_text("utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _psql():
    found = shutil.which("psql")
    if found:
        return found
    for candidate in sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/psql")):
        return str(candidate)
    raise RuntimeError("psql not found; scripts/postgres.sh installs PostgreSQL")


def sql(url, statement):
    """Runs one SQL statement with psql; returns its unaligned output."""
    done = subprocess.run(
        [_psql(), url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="session")
def admin_url():
    url = os.environ.get("LORA_EXPORT_TEST_DATABASE_URL")
    if not url:
        raise RuntimeError(
            "LORA_EXPORT_TEST_DATABASE_URL is not set: run the tests through "
            "scripts/test-python.sh (or scripts/test.sh), which start PostgreSQL"
        )
    return url


SHAPE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "support" / "supabase.sql"


@pytest.fixture
def bare_database(admin_url, tmp_path):
    """A fresh database with nothing of Supabase's in it; returns
    (url, storage_root), the superuser's URL."""
    name = f"py_{uuid.uuid4().hex}"
    sql(admin_url, f"CREATE DATABASE {name}")
    yield admin_url.rsplit("/", 1)[0] + "/" + name, tmp_path / "files"
    sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database(admin_url, tmp_path):
    """A fresh database shaped as Supabase ships one (tests/support/supabase.sql,
    applied by the superuser); returns (url, storage_root), the URL of its
    app's login ``app_owner``, not a superuser. Migrations are applied by the
    client under test."""
    name = f"py_{uuid.uuid4().hex}"
    sql(admin_url, f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    # Its roles are cluster-wide: another test process may change them at the
    # same moment ("tuple concurrently updated"); the script runs in one
    # transaction, so it is run again.
    for attempt in range(5):
        done = subprocess.run(
            [_psql(), url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(SHAPE)],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            break
        if attempt == 4:
            raise RuntimeError(f"shaping {name} as Supabase's failed: {done.stderr}")
    app_url = url.replace("://postgres@", "://app_owner@", 1)
    assert app_url != url, "the test cluster's URL names the user postgres"
    yield app_url, tmp_path / "files"
    sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def create_user(url):
    user = str(uuid.uuid4())
    sql(url, f"INSERT INTO auth.users (id, email) VALUES ('{user}', '{user}@example.com')")
    return user
