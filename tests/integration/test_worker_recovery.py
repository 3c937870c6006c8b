"""Killing a worker mid-batch loses nothing and duplicates nothing; several workers share the queue."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from mom.engines.workflow.actions import register_hook
from mom.platform.db import tables as T
from mom.platform.worker import Worker
from tests.conftest import ROOT
from tests.integration.wf_helpers import Plant

register_hook("test.slow", lambda rt, args, names: time.sleep(0.05))

RULE = {"format": "mom.rule/1", "name": "open_order", "on": {"event": "record.created", "form": "breakdown"},
        "actions": [{"type": "hook", "name": "test.slow"},
                    {"type": "create_record", "form": "repair_ticket", "values": {"machine": "machine", "problem": "symptom"}}]}


class _Later(Worker):
    """A worker whose clock runs ahead by more than the killed worker's lease."""

    def _now(self) -> dt.datetime:
        return super()._now() + dt.timedelta(seconds=3)


def _setup(plant: Plant, n: int) -> None:
    assert plant.client.put("/api/rules/open_order", json=RULE, headers=plant.h("admin")).status_code == 200
    # the demo's own breakdown rule would also react; switch it off for an exact count
    r = plant.client.get("/api/rules/breakdown_response", headers=plant.h("admin")).json()
    assert plant.client.put("/api/rules/breakdown_response", json={**r, "enabled": False}, headers=plant.h("admin")).status_code == 200
    docs = [{"machine": f"M-{i:03d}", "symptom": "停机"} for i in range(n)]
    assert plant.client.post("/api/records/breakdown", json=docs, headers=plant.h("qe1")).status_code == 201


def _counts(engine: sa.engine.Engine) -> tuple[list[str], dict[str, int]]:
    with engine.connect() as conn:
        machines = [r[0] for r in conn.execute(sa.text("SELECT machine FROM repair_ticket ORDER BY machine"))]
        stats = dict(conn.execute(sa.select(T.outbox.c.status, sa.func.count()).group_by(T.outbox.c.status)).all())
    return machines, stats


@pytest.mark.slow
def test_killed_worker_loses_and_repeats_nothing(plant: Plant, settings, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    n = 40
    _setup(plant, n)
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/integration/slow_worker.py"), db_url], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:           # wait until it is part-way through the rule runs
            done = len(_counts(engine)[0])
            if 3 <= done:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial, _ = _counts(engine)
    assert 0 < len(partial) < n, "the worker was not killed mid-way; the test proves nothing"
    # its leases (2 s, slow_worker.py) have run out by the survivor's clock: no waiting for them
    w = _Later(engine, settings.model_copy(update={"worker_lease_seconds": 30}), name="survivor")
    w.drain()
    machines, stats = _counts(engine)
    assert machines == [f"M-{i:03d}" for i in range(n)]          # every one, once
    assert stats.get("dead", 0) == 0 and stats.get("pending", 0) == 0


def test_concurrent_workers_never_do_an_event_twice(plant: Plant, settings, engine) -> None:  # type: ignore[no-untyped-def]
    n = 60
    _setup(plant, n)
    workers = [Worker(engine, settings.model_copy(update={"worker_batch": 5}), name=f"w{i}") for i in range(3)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    workers[0].drain()
    machines, stats = _counts(engine)
    assert machines == [f"M-{i:03d}" for i in range(n)]
    assert stats.get("dead", 0) == 0 and stats.get("pending", 0) == 0
