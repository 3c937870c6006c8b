"""`mom serve --workers 2`: two HTTP processes on one database. A form published through one is used
by both at once, records created through both are all there, and the one outbox worker (run by the
supervising process) carries out event rules."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.integration.served import start_mom_serve

FORM = {"format": "mom.form/1", "name": "breakdown_note", "label": {"zh-CN": "停机记录", "en": "Breakdown note"},
        "fields": [{"id": "m", "key": "machine", "type": "text", "required": True}]}
ORDER = {"format": "mom.form/1", "name": "repair_order", "label": {"zh-CN": "维修单", "en": "Repair order"},
         "fields": [{"id": "m", "key": "machine", "type": "text"}]}
RULE = {"format": "mom.rule/1", "name": "open_repair", "on": {"event": "record.created", "form": "breakdown_note"},
        "actions": [{"type": "create_record", "form": "repair_order", "values": {"machine": "machine"}}]}


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


@pytest.mark.slow
def test_two_http_workers_share_one_database(db_url: str, engine: sa.engine.Engine, tmp_path: Path) -> None:
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password="admin-pass-1", is_admin=True)
    proc, base = start_mom_serve(db_url, tmp_path / "data", "--workers", "2", env={"MOM_WORKER_POLL_SECONDS": "0.2"})
    try:
        assert len(_children(proc.pid)) >= 2, "uvicorn did not start two worker processes"
        tok = httpx.post(f"{base}/api/auth/token", data={"username": "admin", "password": "admin-pass-1"}).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}"}
        for form in (FORM, ORDER):
            assert httpx.put(f"{base}/api/forms/{form['name']}", json=form, headers=h).status_code == 200
        assert httpx.put(f"{base}/api/rules/open_repair", json=RULE, headers=h).status_code == 200
        # each request on a new connection, so the kernel spreads them over both processes
        for i in range(30):
            r = httpx.post(f"{base}/api/records/breakdown_note", json={"machine": f"M-{i:02d}"}, headers=h)
            assert r.status_code == 201, r.text
        # a new version, published through one process, is used by every process at once
        v2 = {**FORM, "fields": [*FORM["fields"], {"id": "s", "key": "shift", "type": "select", "options": ["day", "night"]}]}
        assert httpx.put(f"{base}/api/forms/breakdown_note", json=v2, headers=h).status_code == 200
        for i in range(10):
            r = httpx.post(f"{base}/api/records/breakdown_note", json={"machine": f"N-{i:02d}", "shift": "night"}, headers=h)
            assert r.status_code == 201 and r.json()["shift"] == "night", r.text
        listed = httpx.get(f"{base}/api/records/breakdown_note", params={"limit": 100, "count": "true"}, headers=h).json()
        assert listed["total"] == 40
        deadline = time.monotonic() + 30      # the supervising process's worker runs the rule for each
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(sa.text("SELECT count(*) FROM repair_order")).scalar_one()
            if done == 40:
                break
            time.sleep(0.2)
        assert done == 40
    finally:
        proc.terminate()                 # the supervisor stops its workers
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        try:                             # and nothing of the group outlives the test (they hold connections)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
