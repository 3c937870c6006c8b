"""Rush-order what-if and breakdown -> schedule proposal (issue 19, phase 2), on the core pack's demo core_plant
with three released orders planned: a what-if says where a planned order fits and which orders get later
(numbers checked against the returned solution) and writes nothing; CNC-1 set to down makes the core
pack's rule propose a plan without it (pending, planners told); accepting writes it, a proposal whose
tasks changed since is refused and marked stale, a rejected one changes nothing."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.production import documents as D, planning, proposals
from mom.engines.production.whatif import whatif
from mom.engines.records.context import Ctx
from mom.engines.records.service import create_records, update_record
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InvalidInput
from mom.platform.replanning import replan
from mom.platform.worker import Worker
from tests.conftest import fixture_hash, login
from tests.integration.test_production_planning import NOW, TZ, _ctx, _orders, _solve, _tasks, _utc

DOWN_FROM, DOWN_UNTIL = NOW, NOW + dt.timedelta(hours=4)


class _ClockedWorker(Worker):
    """The worker of the test's core_plant clock (its rule runs 'now' = NOW)."""

    def _now(self) -> dt.datetime:
        return NOW.astimezone(dt.timezone.utc)


def _planner_ctx(engine: sa.engine.Engine, now: dt.datetime = NOW) -> Ctx:
    from mom.platform.cli.common import command_ctx

    ctx = command_ctx(engine, "plan1")
    return Ctx(actor=ctx.actor, now=now.astimezone(dt.timezone.utc), tz=TZ)


@pytest.fixture
def core_plant(core_pack: sa.engine.Engine) -> sa.engine.Engine:
    """The demo core_plant, a planner plan1, three released orders planned (the plan in force)."""
    engine = core_pack
    with write_tx(engine) as conn:
        auth.create_user(conn, username="plan1", password_hash=fixture_hash("plan-pass-1"), roles=["planner"])
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op-pass-11"), roles=["operator"])
    _orders(engine, [(20, NOW + dt.timedelta(days=3), 3), (8, NOW + dt.timedelta(days=1), 2),
                     (30, NOW + dt.timedelta(days=8), 5)])
    out = planning.plan(engine, form_registry(), _ctx(), solve=_solve, time_limit=2)
    assert out["written"]
    return engine


def _machine(engine: sa.engine.Engine, code: str) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.text("SELECT id FROM machine WHERE code = :c"), {"c": code}).scalar())


def _planned_order(engine: sa.engine.Engine, qty: int, due: dt.datetime, priority: int = 1) -> str:
    with write_tx(engine) as conn:
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar()
        made = create_records(conn=conn, registry=form_registry(), ctx=_ctx(), form="production_order",
                              docs=[{"item": item, "qty": qty, "due_date": due.isoformat(), "priority": priority}])
    return made[0]["code"]


def _orders_end(engine: sa.engine.Engine) -> dict[str, dt.datetime]:
    with read_tx(engine) as conn:
        return {r[0]: _utc(r[1]) for r in conn.execute(sa.text(
            "SELECT code, planned_end FROM production_order WHERE planned_end IS NOT NULL"))}


def test_rush_order_whatif_says_where_it_fits_and_who_gets_later_and_writes_nothing(core_plant) -> None:
    rush = _planned_order(core_plant, 25, NOW + dt.timedelta(hours=20))
    before_tasks, before_end = _tasks(core_plant), _orders_end(core_plant)
    out = whatif(core_plant, form_registry(), _planner_ctx(core_plant), rush, replan=replan, time_limit=2)
    doc = out["solution"]
    assert doc["check"]["feasible"] and out["order"] == rush
    completion = {o["order"]: o["completion"] for o in doc["orders"]}
    origin = dt.datetime.fromisoformat(doc["origin"]) if "origin" in doc else NOW.replace(second=0)
    at = lambda m: origin + dt.timedelta(minutes=m)             # noqa: E731
    # the rush order: its planned finish is the solution's, compared with its due date
    assert _utc(out["planned_end"]) == at(completion[rush])
    late = max(0, int((at(completion[rush]) - NOW - dt.timedelta(hours=20)).total_seconds() // 60))
    assert out["late_minutes"] == late and out["fits"] == (late == 0)
    # every order it makes later: by the difference between the plan in force and the solution's finish
    assert out["later"], out["message"]
    for r in out["later"]:
        assert _utc(r["planned_end_before"]) == before_end[r["order"]]
        assert _utc(r["planned_end_after"]) == at(completion[r["order"]])
        assert r["delay_minutes"] == int((at(completion[r["order"]]) - before_end[r["order"]]).total_seconds() // 60) > 0
        assert f"{r['order']} 推迟" in out["message"]["zh-CN"]
    unnamed = set(before_end) - {r["order"] for r in out["later"]}
    assert all(at(completion[c]) <= before_end[c] for c in unnamed)
    # nothing written: the order is still planned, no task was made, the plan in force stands
    assert _tasks(core_plant) == before_tasks and _orders_end(core_plant) == before_end
    with read_tx(core_plant) as conn:
        assert conn.execute(sa.text("SELECT status FROM production_order WHERE code = :c"), {"c": rush}).scalar() == "planned"
    # a released order is not a what-if; an operator may not ask
    with pytest.raises(InvalidInput) as exc:
        whatif(core_plant, form_registry(), _planner_ctx(core_plant), sorted(before_end)[0], replan=replan, time_limit=1)
    assert "不是「已计划」状态" in exc.value.zh
    with pytest.raises(AccessDenied):
        whatif(core_plant, form_registry(), _op_ctx(core_plant), rush, replan=replan)


def _op_ctx(engine: sa.engine.Engine) -> Ctx:
    from mom.platform.cli.common import command_ctx

    ctx = command_ctx(engine, "op1")
    return Ctx(actor=ctx.actor, now=NOW.astimezone(dt.timezone.utc), tz=TZ)


def _set_status(engine: sa.engine.Engine, machine: int, status: str) -> None:
    with write_tx(engine) as conn:
        update_record(conn=conn, registry=form_registry(), ctx=_ctx(), form="machine", record_id=machine,
                      patch={"status": status})


def _breakdown(engine: sa.engine.Engine, settings: Any) -> list[dict[str, Any]]:
    """CNC-1 down through the record service, the worker runs the core pack's rule; the proposals."""
    cnc1 = _machine(engine, "CNC-1")
    _set_status(engine, cnc1, "running")
    _set_status(engine, cnc1, "down")
    got = _ClockedWorker(engine, settings, name="w").drain()
    assert got["failed"] == 0, got
    with read_tx(engine) as conn:
        return proposals.listing(conn, form_registry(), _ctx())


def _overlaps_downtime(t: dict[str, Any], cnc1: int) -> bool:
    return t["machine"] == cnc1 and _utc(t["planned_start"]) < DOWN_UNTIL and _utc(t["planned_end"]) > DOWN_FROM


def test_machine_down_makes_a_pending_proposal_and_accepting_writes_it(core_plant, settings) -> None:
    cnc1 = _machine(core_plant, "CNC-1")
    hit = {t["code"] for t in _tasks(core_plant) if _overlaps_downtime(t, cnc1)}
    assert hit, "the plan in force uses CNC-1 in the next four hours"
    found = _breakdown(core_plant, settings)
    assert len(found) == 1
    p = found[0]
    assert p["status"] == "pending" and p["machine"] == "CNC-1" and "故障停机" in p["summary"]
    rows = {c["task"]: c for c in p["changes"]}
    assert hit <= set(rows)
    for code in hit:                               # moved off CNC-1, or after it is repaired
        c = rows[code]
        assert c["new_machine"] == "CNC-2" or _utc(c["new_start"]) >= DOWN_UNTIL, c
    with read_tx(core_plant) as conn:                   # planners told; the plan in force untouched so far
        notes = conn.execute(sa.text("SELECT n.title FROM mom_notification n JOIN mom_user u ON u.id = n.user_id "
                                     "WHERE u.username = 'plan1'")).scalars().all()
    assert any("故障停机" in n for n in notes), notes
    assert {t["code"] for t in _tasks(core_plant) if _overlaps_downtime(t, cnc1)} == hit
    with write_tx(core_plant) as conn:
        out = proposals.accept(conn, form_registry(), _planner_ctx(core_plant), p["code"])
    assert out["status"] == "accepted" and out["tasks"] == len(rows)
    after = {t["code"]: t for t in _tasks(core_plant)}
    assert not [c for c, t in after.items() if _overlaps_downtime(t, cnc1)]
    for code, c in rows.items():
        assert after[code]["machine"] == _machine(core_plant, c["new_machine"])
        assert _utc(after[code]["planned_start"]) == _utc(c["new_start"])
    with read_tx(core_plant) as conn:
        assert conn.execute(sa.text("SELECT status FROM schedule_proposal")).scalar() == "accepted"
    with pytest.raises(InvalidInput) as exc, write_tx(core_plant) as conn:
        proposals.reject(conn, form_registry(), _planner_ctx(core_plant), p["code"])
    assert "已是「已接受」状态" in exc.value.zh


def test_a_stale_proposal_is_refused_and_a_rejected_one_changes_nothing(core_plant, settings, client) -> None:
    p = _breakdown(core_plant, settings)[0]
    moved = p["changes"][0]
    with write_tx(core_plant) as conn, D.engine_writes(conn):      # the planner edits one of its tasks meanwhile
        update_record(conn=conn, registry=form_registry(), ctx=D.acting(_ctx()), form="operation_task",
                      record_id=moved["task_id"], patch={"pinned": True})
    before = _tasks(core_plant)
    planner, operator = login(client, "plan1", "plan-pass-1"), login(client, "op1", "op-pass-11")
    assert client.post(f"/api/production/proposals/{p['code']}/accept", headers=operator).status_code == 403
    r = client.post(f"/api/production/proposals/{p['code']}/accept", headers=planner)
    assert r.status_code == 409, r.text
    assert "已过期" in r.json()["message"]["zh-CN"] and moved["task"] in r.json()["message"]["zh-CN"]
    assert _tasks(core_plant) == before
    r = client.get("/api/production/proposals", headers=planner, params={"status": "stale"})
    assert [x["code"] for x in r.json()["proposals"]] == [p["code"]]
    # a new breakdown, rejected: the plan in force stays
    second = _breakdown(core_plant, settings)[0]
    assert second["code"] != p["code"] and second["status"] == "pending"
    r = client.post(f"/api/production/proposals/{second['code']}/reject", headers=planner)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert _tasks(core_plant) == before
    r = client.post(f"/api/production/proposals/{second['code']}/accept", headers=planner)
    assert r.status_code == 422 and "已拒绝" in r.json()["message"]["zh-CN"]


def test_api_and_cli_whatif(core_plant, client, cli) -> None:
    rush = _planned_order(core_plant, 10, NOW + dt.timedelta(days=2))
    planner, operator = login(client, "plan1", "plan-pass-1"), login(client, "op1", "op-pass-11")
    assert client.post(f"/api/production/orders/{rush}/whatif", headers=operator).status_code == 403
    r = client.post(f"/api/production/orders/{rush}/whatif", headers=planner, json={"time_limit": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["order"] == rush and "插入工单" in body["message"]["zh-CN"] and body["planned_end"]
    assert client.post(f"/api/production/orders/{rush}/whatif", headers=planner, json={"time_limit": "x"}).status_code == 422
    r = cli("production", "whatif", rush, "--time-limit", "1", "--as", "plan1")
    assert r.exit_code == 0, r.output
    assert "插入工单" in r.output and "Inserting order" in r.output
    r = cli("production", "proposals")
    assert r.exit_code == 0 and "没有排程调整建议" in r.output
