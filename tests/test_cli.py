"""The ``lehnz`` command, run for real: import, migrate, and ``serve --demo`` as a process."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from lehnz.cli import app
from lehnz.config import Settings
from lehnz.runtime import build_runtime
from lehnz.store.tables import events, items
from tests.factories import DOMAIN
from tests.processes import free_port

runner = CliRunner()


def _runtime(tmp_path: Path):
    return build_runtime(Settings(data_dir=tmp_path))


def test_import_items_and_events_from_files(tmp_path):
    runtime = _runtime(tmp_path)
    org = runtime.accounts.register(
        email="cli@example.com", password="long-enough", organization_name="CLI"
    ).organization_id
    items_file = tmp_path / "items.csv"
    items_file.write_text("item_id,name,price\na,Lamp,3\nb,Mug,oops\nc,Desk,10\n")
    result = runner.invoke(
        app, ["import", "items", str(items_file), "--org", org, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "imported 2" in result.output
    assert "line 3: attributes: price must be a number" in result.output

    events_file = tmp_path / "events.ndjson.gz"
    events_file.write_bytes(
        gzip.compress(b'{"user_id": "u", "event_name": "view", "item_id": "a"}\n' * 5)
    )
    result = runner.invoke(
        app, ["import", "events", str(events_file), "--org", org, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    with runtime.store.read() as connection:
        assert connection.execute(items.select()).all().__len__() == 2
        assert len(connection.execute(events.select()).all()) == 5
    runtime.close()


def test_import_strict_refuses_and_unknown_org_fails(tmp_path):
    runtime = _runtime(tmp_path)
    org = runtime.accounts.register(
        email="cli2@example.com", password="long-enough", organization_name="CLI"
    ).organization_id
    file = tmp_path / "items.csv"
    file.write_text("item_id,price\na,1\nb,oops\n")
    args = ["import", "items", str(file), "--data-dir", str(tmp_path)]
    strict = runner.invoke(app, [*args, "--org", org, "--strict"])
    assert strict.exit_code == 1
    assert "strict mode stored nothing" in strict.output
    unknown = runner.invoke(app, [*args, "--org", "org_nope"])
    assert unknown.exit_code == 2
    assert "No organisation" in unknown.output
    with runtime.store.read() as connection:
        assert connection.execute(items.select()).all() == []
    runtime.close()


def test_migrate_creates_the_schema(tmp_path):
    result = runner.invoke(app, ["migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lehnz.db").exists()


def _serve_demo(data_dir: Path, port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lehnz",
            "serve",
            "--demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "COLUMNS": "200"},
    )
    output = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        output += line
        if "Uvicorn running" in line or process.poll() is not None:
            break
    found = {
        "publishable": re.search(r"lehnz_pk_[A-Za-z0-9_-]{32,}", output),
        "secret": re.search(r"lehnz_sk_[A-Za-z0-9_-]{32,}", output),
        "url": re.search(r"http://localhost:\d+", output),
        "password": re.search(r"demo@lehnz\.local / (\S+)", output),
    }
    assert all(found.values()), output
    return process, {
        name: match.group(0 if name != "password" else 1) for name, match in found.items()
    }


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def test_serve_demo_prints_working_keys_and_login(tmp_path):
    port = free_port()
    process, printed = _serve_demo(tmp_path, port)
    try:
        base = printed["url"]
        assert base == f"http://localhost:{port}"
        secret = {**DOMAIN, "X-API-KEY": printed["secret"]}
        item = httpx.get(f"{base}/api/v1/items/85123A", headers=secret)
        assert item.status_code == 200, item.text
        assert item.json()["data"]["attributes"]["name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
        ingest = httpx.post(
            f"{base}/api/v1/events/ingest",
            headers={**DOMAIN, "X-API-KEY": printed["publishable"]},
            json={"user_id": "visitor", "event_name": "view", "item_id": "85123A"},
        )
        assert ingest.status_code == 202
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": "demo@lehnz.local", "password": printed["password"]},
        )
        assert login.status_code == 200
    finally:
        _stop(process)

    # A second start issues fresh keys, retires the old ones and keeps the data.
    process, again = _serve_demo(tmp_path, port)
    try:
        assert again["secret"] != printed["secret"]
        old = httpx.get(
            f"{again['url']}/api/v1/items/85123A",
            headers={**DOMAIN, "X-API-KEY": printed["secret"]},
        )
        assert old.status_code == 401
        new = httpx.get(
            f"{again['url']}/api/v1/items/85123A", headers={**DOMAIN, "X-API-KEY": again["secret"]}
        )
        assert new.status_code == 200
    finally:
        _stop(process)


def test_train_makes_a_serving_model(tmp_path):
    runtime = _runtime(tmp_path)
    org = runtime.accounts.register(
        email="cli3@example.com", password="long-enough", organization_name="CLI"
    ).organization_id
    runtime.close()
    events = tmp_path / "events.csv"
    rows = ["user_id,item_id,event_name,timestamp"] + [
        f"u{u},i{(u + n) % 6},purchase,2024-01-{1 + n:02d}T10:00:00"
        for u in range(12)
        for n in range(5)
    ]
    events.write_text("\n".join(rows) + "\n")
    items = tmp_path / "items.csv"
    items.write_text("item_id,name\n" + "".join(f"i{n},Item {n}\n" for n in range(6)))
    for kind, path in (("items", items), ("events", events)):
        result = runner.invoke(
            app, ["import", kind, str(path), "--org", org, "--data-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["train", "--org", org, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Model v1 serving: 60 events, 12 users, 6 items" in result.output
    unknown = runner.invoke(app, ["train", "--org", "org_nope", "--data-dir", str(tmp_path)])
    assert unknown.exit_code == 2


def test_a_bad_setting_is_named_in_one_line_not_a_traceback(tmp_path):
    """Every command reads its settings through one place: a value out of range or not one
    of the choices ends it with exit code 2 and the variable's name, before anything starts."""
    for name, value, words in (
        ("LEHNZ_WORKERS", "0", "greater than or equal to 1"),
        ("LEHNZ_RECOMMEND_ON_EVENT_LOOP", "maybe", "'auto', 'yes' or 'no'"),
        ("LEHNZ_REQUEST_THREADS", "many", "valid integer"),
    ):
        result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path)], env={name: value})
        assert result.exit_code == 2, result.output
        assert f"{name}:" in result.output and words in result.output
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["serve", "--workers", "0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "--workers" in result.output
