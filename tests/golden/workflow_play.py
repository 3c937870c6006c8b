"""Plays a workflow scenario of a golden file (tests/golden/workflow_states/*.json) through the API.

A scenario names its flow (the demo's ``ncr_review`` or a definition), the NCR record to submit, the
steps ``before`` the stored state was captured and the steps ``after`` it that finish the flow. A
step is ``["act", user, action, body]`` (the user's one open task of the instance), ``["timeout",
user]`` (the user's task falls due and a worker runs once) or ``["resubmit", user]``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant

PAST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def start(plant: Plant, scenario: Mapping[str, Any]) -> dict[str, Any]:
    """Publish the scenario's flow (unless it is the demo's) and submit its record."""
    flow = scenario["flow"]
    if isinstance(flow, Mapping):
        plant.put_flow(dict(flow))
    name = flow["name"] if isinstance(flow, Mapping) else flow
    return plant.start(plant.ncr(**scenario.get("record", {}))["id"], flow=name)


def play(plant: Plant, engine: sa.engine.Engine, settings: Any, instance_id: int, steps: Sequence[Sequence[Any]]) -> None:
    """Run ``steps`` on the instance; each must succeed."""
    for step in steps:
        kind, user = step[0], step[1]
        if kind == "act":
            body = dict(step[3]) if len(step) > 3 else {}
            plant.act(user, plant.task_of(user, instance_id)["id"], step[2], **body)
        elif kind == "timeout":
            task = plant.task_of(user, instance_id)
            with write_tx(engine) as conn:
                conn.execute(T.wf_task.update().where(T.wf_task.c.id == task["id"]).values(due_at=PAST))
            worker = Worker(engine, settings.model_copy(update={"worker_max_attempts": 3}), name="golden-worker")
            assert worker.run_once()["timeouts"] == 1
        elif kind == "resubmit":
            r = plant.client.post(f"/api/workflow-instances/{instance_id}/resubmit", json={}, headers=plant.h(user))
            assert r.status_code == 200, r.text
        else:
            raise AssertionError(f"unknown step {kind}")


def stored(engine: sa.engine.Engine, instance_id: int) -> dict[str, Any]:
    """The instance's row as the database holds it: status and the raw JSON state."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(T.wf_instance.c.status, T.wf_instance.c.state)
                           .where(T.wf_instance.c.id == instance_id)).one()
    return {"status": row[0], "state": row[1]}
