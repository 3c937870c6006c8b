"""A stored instance state this code cannot read (newer format, wrong shape): a Conflict naming the
instance for that instance, never a 500; lists show the other instances; the worker goes on."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform import outbox
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant

GOOD = {"format": 1, "tokens": [{"node": "qe_review", "stack": []}], "joins": {}, "rounds": {"qe_review": 1}, "return": None}
BAD = {
    "newer": {**GOOD, "format": 2}, "format text": {**GOOD, "format": "abc"}, "format null": {**GOOD, "format": None},
    "format negative": {**GOOD, "format": -1}, "format fraction": {**GOOD, "format": 0.5},
    "format huge": {**GOOD, "format": 10**40}, "list": [1, 2], "text": "hello",
    "tokens text": {**GOOD, "tokens": "x"}, "token without node": {**GOOD, "tokens": [{}]},
    "rounds text": {**GOOD, "rounds": {"a": "x"}}, "return text": {**GOOD, "return": "x"},
    "stack text": {**GOOD, "tokens": [{"node": "qe_review", "stack": "x"}]},
}


def _set_state(engine: sa.engine.Engine, instance_id: int, state: Any) -> None:
    with write_tx(engine) as conn:
        conn.execute(T.wf_instance.update().where(T.wf_instance.c.id == instance_id).values(state=state))


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_state_is_a_conflict_naming_the_instance_and_lists_go_on(case: str, plant: Plant, engine: sa.engine.Engine) -> None:
    c = plant.client
    bad = plant.start(plant.ncr()["id"])
    good = plant.start(plant.ncr()["id"])
    _set_state(engine, bad["id"], BAD[case])
    r = c.get(f"/api/workflow-instances/{bad['id']}", headers=plant.h("admin"))
    assert r.status_code == 409, r.text
    msg = r.json()["message"]
    assert f"流程实例 {bad['id']}" in msg["zh-CN"] and f"workflow instance {bad['id']}" in msg["en"]
    r = c.post(f"/api/workflow-instances/{bad['id']}/comment", json={"comment": "hi"}, headers=plant.h("qc1"))
    assert r.status_code == 409, r.text
    assert plant.instance(good["id"])["status"] == "running"

    r = c.get("/api/workflow-instances?workflow=ncr_review", headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    by_id = {i["id"]: i for i in r.json()}
    assert "error" not in by_id[good["id"]] and by_id[good["id"]]["current_nodes"]
    assert by_id[bad["id"]]["error"]["code"] == "conflict" and by_id[bad["id"]]["current_nodes"] == []
    assert f"workflow instance {bad['id']}" in by_id[bad["id"]]["error"]["message"]["en"]

    r = c.get("/api/tasks?box=started", headers=plant.h("qc1"))
    assert r.status_code == 200, r.text
    started = {i["instance"]["id"]: i["instance"] for i in r.json()["items"]}
    assert "error" in started[bad["id"]] and "error" not in started[good["id"]]

    r = c.get(f"/api/records/ncr/{bad['record_id']}/timeline", headers=plant.h("admin"))
    assert r.status_code == 200 and any(e.get("error") for e in r.json()), r.text


def test_unknown_node_in_a_state_does_not_fail_the_view(plant: Plant, engine: sa.engine.Engine) -> None:
    inst = plant.start(plant.ncr()["id"])
    _set_state(engine, inst["id"], {**GOOD, "tokens": [{"node": "ghost"}]})
    assert plant.instance(inst["id"])["current_nodes"] == [{"id": "ghost", "label": None}]


def test_cli_instances_lists_the_others(plant: Plant, engine: sa.engine.Engine, cli: Any) -> None:
    bad = plant.start(plant.ncr()["id"])
    good = plant.start(plant.ncr()["id"])
    _set_state(engine, bad["id"], {**GOOD, "format": 2})
    out = cli("workflow", "instances", "--workflow", "ncr_review")
    assert out.exit_code == 0, out.output
    assert f'"id": {good["id"]}' in out.output and "newer than this code" in out.output


def test_worker_goes_on_past_an_instance_it_cannot_read(plant: Plant, engine: sa.engine.Engine, settings: Any) -> None:
    """/tmp/rev_hostile/wf2.py: one instance in a newer format used to stop every round before the outbox."""
    bad = plant.start(plant.ncr()["id"])
    good = plant.start(plant.ncr()["id"])
    _set_state(engine, bad["id"], {**GOOD, "format": 2})
    now = dt.datetime.now(dt.timezone.utc)
    with write_tx(engine) as conn:
        conn.execute(T.wf_task.update().where(T.wf_task.c.status == "pending")
                     .values(due_at=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)))
        outbox.emit(conn, "test.nobody_listens", {}, now=now)
    with engine.connect() as conn:
        tasks = conn.execute(sa.select(T.wf_task.c.id, T.wf_task.c.instance_id).where(T.wf_task.c.status == "pending")).all()
    w = Worker(engine, settings, name="test-worker")
    got = w.run_once()
    assert got["timeouts"] == sum(1 for _, i in tasks if i == good["id"]) and got["events"] >= 1 and got["failed"] == 0, got
    with engine.connect() as conn:
        marked = conn.execute(sa.select(T.wf_task.c.id).where(T.wf_task.c.id.in_([t for t, _ in tasks]),
                                                              T.wf_task.c.timeout_done.is_(True))).scalars().all()
        failed = conn.execute(sa.select(T.wf_event.c.task_id, T.wf_event.c.data).where(
            T.wf_event.c.instance_id == bad["id"], T.wf_event.c.action == "timeout_failed")).all()
        pending = conn.execute(sa.select(sa.func.count()).select_from(T.outbox).where(T.outbox.c.status == "pending")).scalar_one()
    assert sorted(marked) == sorted(t for t, _ in tasks)                  # the bad instance's tasks too
    assert sorted(t for t, _ in failed) == sorted(t for t, i in tasks if i == bad["id"])
    assert all("newer" in d["error"] and f"instance {bad['id']}" in d["error"] for _, d in failed)
    assert w.run_once()["timeouts"] == 0                  # marked: not retried every round
    assert pending == 0 or w.drain()["failed"] == 0


def test_a_schedule_rule_with_an_unreadable_cron_backs_off_and_the_others_fire(plant: Plant, engine: sa.engine.Engine,
                                                                               settings: Any) -> None:
    for name in ("broken", "morning"):
        rule = {"format": "mom.rule/1", "name": name, "on": {"event": "schedule", "cron": "0 8 * * *"},
                "actions": [{"type": "emit", "event": f"plant.{name}"}]}
        assert plant.client.put(f"/api/rules/{name}", json=rule, headers=plant.h("admin")).status_code == 200
    past = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with write_tx(engine) as conn:
        conn.execute(T.rule.update().where(T.rule.c.name.in_(("broken", "morning"))).values(next_run_at=past))
        # the packs' own schedule rules (the quality pack's patrol tick) wait: this test counts its two
        conn.execute(T.rule.update().where(T.rule.c.name.not_in(("broken", "morning"))).values(
            next_run_at=dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc)))
        conn.execute(T.rule.update().where(T.rule.c.name == "broken").values(
            definition={"format": "mom.rule/1", "name": "broken", "on": {"event": "schedule", "cron": "not a cron"},
                        "actions": [{"type": "emit", "event": "plant.broken"}]}))
    before = dt.datetime.now(dt.timezone.utc)
    got = Worker(engine, settings, name="test-worker").run_once()
    assert got["schedules"] == 1, got
    with engine.connect() as conn:
        nxt = dict(conn.execute(sa.select(T.rule.c.name, T.rule.c.next_run_at).where(T.rule.c.name.in_(("broken", "morning")))).all())
    assert all(v.replace(tzinfo=v.tzinfo or dt.timezone.utc) > before for v in nxt.values())   # neither is due again at once


def test_migration_leaves_an_unreadable_instance_where_it_is_and_moves_the_others(plant: Plant, engine: sa.engine.Engine) -> None:
    bad = plant.start(plant.ncr()["id"])
    good = plant.start(plant.ncr()["id"])
    _set_state(engine, bad["id"], {**GOOD, "format": 2})
    flow = plant.client.get("/api/workflows/ncr_review", headers=plant.h("admin")).json()
    flow = flow.get("definition", flow)
    flow["nodes"][0]["label"] = {"zh-CN": "质量工程师复核", "en": "QE check"}
    to = plant.put_flow(flow)["version"]
    r = plant.client.post("/api/workflows/ncr_review/migrate", json={"from_version": to - 1, "to_version": to, "apply": True},
                          headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    by_id = {i["instance_id"]: i for i in r.json()["instances"]}
    assert r.json()["moved"] == [good["id"]] and not by_id[bad["id"]]["movable"]
    assert f"workflow instance {bad['id']}" in by_id[bad["id"]]["reason"]
