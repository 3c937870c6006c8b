"""Scheduling the plant's orders from the database (issue 19, phase 1 C): the core pack with its demo plant,
released orders -> ``mom schedule plan`` / POST /api/scheduling/plan -> planned start, end and machine on
every remaining operation task, inside the machines' shifts, never two at once on a machine; running and
pinned work kept; dry runs write nothing; late orders named; nothing to plan said in words."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.production import documents as D, planning
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import create_records, update_record
from mom.engines.scheduling import checker, problem as P, solution, solver
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

TZ = plant_tz("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 2, 7, 30, tzinfo=TZ)         # a Wednesday, before the 08:00 shift
SHIFTS = ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))


def _install_core(engine: sa.engine.Engine) -> None:
    from mom.engines.packs import manager

    manager.execute(engine, None, "install", "core", forms_factory=form_registry, demo=True, tz=TZ)


def _ctx(now: dt.datetime = NOW) -> Ctx:
    return Ctx(actor=SYSTEM, now=now.astimezone(dt.timezone.utc), tz=TZ)


def _orders(engine: sa.engine.Engine, specs: list[tuple[int, dt.datetime, int]], *, now: dt.datetime = NOW) -> list[str]:
    """Create production orders of the demo's gate valve (qty, due, priority) and release them."""
    from mom.engines.production.release import release

    forms = form_registry()
    with write_tx(engine) as conn:
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar()
        made = create_records(conn=conn, registry=forms, ctx=_ctx(now), form="production_order", docs=[
            {"item": item, "qty": q, "due_date": due.isoformat(), "priority": prio} for q, due, prio in specs])
        for m in made:
            release(conn, forms, _ctx(now), m["id"])
    return [m["code"] for m in made]


def _solve(problem: dict[str, Any], time_limit: float) -> dict[str, Any]:
    res = solver.solve(problem, time_limit=time_limit, deterministic=True)
    return solution.to_json(res.problem, res.schedule, violations=res.violations)


def _tasks(engine: sa.engine.Engine) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT t.id, t.code, t.status, t.machine, t.planned_start, t.planned_end, t.pinned, o.code AS order_code "
            "FROM operation_task t JOIN production_order o ON o.id = t.production_order ORDER BY t.id")).mappings()]


def _utc(v: Any) -> dt.datetime:
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    return v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v


def _in_shift(t: dt.datetime, *, end: bool) -> bool:
    local = _utc(t).astimezone(TZ)
    if local.isoweekday() == 7:
        return False
    tod = local.time()
    return any((a < tod <= b) if end else (a <= tod < b) for a, b in SHIFTS)


def _modes(engine: sa.engine.Engine, task_id: int) -> set[int]:
    with read_tx(engine) as conn:
        own = conn.execute(sa.text("SELECT machine FROM operation_task WHERE id = :i"), {"i": task_id}).scalar()
        alts = {r[0] for r in conn.execute(sa.text(
            "SELECT machine FROM operation_task__modes WHERE parent_id = :i"), {"i": task_id})}
    return {own, *alts} - {None}


@pytest.fixture
def core(core_pack: sa.engine.Engine) -> sa.engine.Engine:
    """The core pack with its demo plant (a copy of the session's template, tests/conftest.py)."""
    return core_pack


def test_three_released_orders_are_planned_on_their_machines_in_shifts_without_overlap(core) -> None:
    codes = _orders(core, [(20, NOW + dt.timedelta(days=3), 3), (10, NOW + dt.timedelta(days=1), 1),
                           (30, NOW + dt.timedelta(days=8), 5)])
    forms = form_registry()
    with read_tx(core) as conn:
        problem, index = planning.build_problem(conn, forms, now=NOW, tz=TZ)
    prob = P.load(problem)                      # valid mom.schedule-problem/1
    assert {o["id"] for o in problem["orders"]} == set(codes) and problem["origin"] == "2026-12-02T07:30:00+08:00"
    before = {t["id"]: t["machine"] for t in _tasks(core)}
    out = planning.plan(core, forms, _ctx(), solve=_solve, time_limit=3)
    assert out["written"] and out["summary"]["feasible"] and out["changed"]["tasks"] == len(before) == 12
    assert checker.check(prob, solution.from_json(prob, out["solution"])) == []
    with read_tx(core) as conn:     # written through the record service: one audit entry per task, versions moved on
        audited = conn.execute(sa.text("SELECT COUNT(*) FROM mom_audit WHERE form = 'operation_task' AND action = 'update'")).scalar()
    assert audited == 12
    tasks = _tasks(core)
    by_machine: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for t in tasks:
        assert t["planned_start"] is not None and t["planned_end"] is not None, t
        assert t["machine"] in _modes(core, t["id"]) | {before[t["id"]]}
        start, end = _utc(t["planned_start"]), _utc(t["planned_end"])
        assert start >= NOW and end > start
        assert _in_shift(start, end=False) and _in_shift(end, end=True), (t["code"], start.astimezone(TZ), end.astimezone(TZ))
        by_machine.setdefault(t["machine"], []).append((start, end))
    for spans in by_machine.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
    with read_tx(core) as conn:
        orders = conn.execute(sa.text("SELECT code, planned_start, planned_end FROM production_order")).mappings().all()
    for o in orders:
        mine = [t for t in tasks if t["order_code"] == o["code"]]
        assert _utc(o["planned_start"]) == min(_utc(t["planned_start"]) for t in mine)
        assert _utc(o["planned_end"]) == max(_utc(t["planned_end"]) for t in mine)
    # the same plan again changes nothing
    again = planning.plan(core, forms, _ctx(), solve=_solve, time_limit=3)
    assert again["changed"] == {"tasks": 0, "orders": 0, "tasks_unchanged": 12}


def test_running_task_stays_and_pinned_task_keeps_its_slot(core) -> None:
    _orders(core, [(20, NOW + dt.timedelta(days=3), 3), (10, NOW + dt.timedelta(days=2), 2)])
    forms = form_registry()
    tasks = _tasks(core)
    started = NOW - dt.timedelta(hours=1)
    first, pinned = tasks[0], tasks[5]                      # order 1's casting; order 2's machining
    with read_tx(core) as conn:
        cnc2 = conn.execute(sa.text("SELECT id FROM machine WHERE code = 'CNC-2'")).scalar()
        fur = conn.execute(sa.text("SELECT id FROM machine WHERE code = 'FUR-1'")).scalar()
    slot = dt.datetime(2026, 12, 3, 13, 0, tzinfo=TZ)
    with write_tx(core) as conn, D.engine_writes(conn):
        update_record(conn=conn, registry=forms, ctx=D.acting(_ctx()), form="operation_task", record_id=first["id"],
                      patch={"status": "running", "actual_start": started.isoformat(), "machine": fur})
        update_record(conn=conn, registry=forms, ctx=D.acting(_ctx()), form="operation_task", record_id=pinned["id"],
                      patch={"pinned": True, "planned_start": slot.isoformat(), "machine": cnc2})
    out = planning.plan(core, forms, _ctx(), solve=_solve, time_limit=3)
    assert out["written"]
    after = {t["id"]: t for t in _tasks(core)}
    assert after[first["id"]]["machine"] == fur and _utc(after[first["id"]]["planned_start"]) == started
    assert after[pinned["id"]]["machine"] == cnc2 and _utc(after[pinned["id"]]["planned_start"]) == slot
    # nothing else runs on the furnace while the running casting is still on it
    run_end = _utc(after[first["id"]]["planned_end"])
    others = [t for t in after.values() if t["machine"] == fur and t["id"] != first["id"]]
    assert others and all(_utc(t["planned_start"]) >= run_end for t in others)


def test_a_task_changed_while_planning_refuses_the_whole_write(core) -> None:
    _orders(core, [(5, NOW + dt.timedelta(days=3), 5)])
    forms = form_registry()
    with read_tx(core) as conn:
        problem, index = planning.build_problem(conn, forms, now=NOW, tz=TZ)
    doc = _solve(problem, 2)
    task = _tasks(core)[2]
    with write_tx(core) as conn:
        update_record(conn=conn, registry=forms, ctx=_ctx(), form="operation_task", record_id=task["id"], patch={"setup_min": 99})
    from mom.platform.errors import Conflict
    with pytest.raises(Conflict) as exc, write_tx(core) as conn:
        planning.write_back(conn, forms, _ctx(), index, doc)
    assert task["code"] in exc.value.zh and "重新排程" in exc.value.zh
    assert all(t["planned_start"] is None for t in _tasks(core))


def test_cli_dry_run_writes_nothing_and_a_late_order_is_named(core, cli) -> None:
    now = dt.datetime.now(TZ)
    late, ok = _orders(core, [(40, now + dt.timedelta(hours=2), 1), (5, now + dt.timedelta(days=30), 5)], now=now)
    r = cli("schedule", "plan", "--dry-run", "--time-limit", "2")
    assert r.exit_code == 0, r.output
    assert "试排：没有写入" in r.output and late in r.output and "延误" in r.output and ok not in r.output.split("延误工单")[1]
    assert all(t["planned_start"] is None for t in _tasks(core))
    r = cli("schedule", "plan", "--time-limit", "2", "--json")
    assert r.exit_code == 0, r.output
    import json
    out = json.loads(r.output)
    assert out["written"] and [o["order"] for o in out["summary"]["late_orders"]] == [late]
    assert all(t["planned_start"] is not None for t in _tasks(core))


def test_nothing_to_plan_is_said_in_words(engine, cli) -> None:
    r = cli("schedule", "plan")
    assert r.exit_code == 1 and "还没有安装「制造基础」模型包" in r.output and "mom pack install core" in r.output
    _install_core(engine)
    r = cli("schedule", "plan")
    assert r.exit_code == 1 and "没有可排程的工单" in r.output and "mom production release" in r.output
    assert "Traceback" not in r.output


def test_api_plan_for_planners_only_preview_by_default(core, client) -> None:
    with write_tx(core) as conn:
        auth.create_user(conn, username="plan1", password_hash=fixture_hash("plan-pass-1"), roles=["planner"])
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op-pass-11"), roles=["operator"])
    planner, operator = login(client, "plan1", "plan-pass-1"), login(client, "op1", "op-pass-11")
    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 2})
    assert r.status_code == 422 and "没有可排程的工单" in r.json()["message"]["zh-CN"]
    now = dt.datetime.now(TZ)
    _orders(core, [(10, now + dt.timedelta(days=3), 3)], now=now)
    assert client.post("/api/scheduling/plan", headers=operator, json={"time_limit": 2, "apply": True}).status_code == 403
    assert client.post("/api/scheduling/plan", headers=planner, json={"apply": "yes"}).status_code == 422
    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 2})
    assert r.status_code == 200, r.text
    assert r.json()["written"] is False and r.json()["summary"]["tasks"] == 4
    assert all(t["planned_start"] is None for t in _tasks(core))
    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 2, "apply": True})
    assert r.status_code == 200 and r.json()["written"] is True and r.json()["changed"]["tasks"] == 4
    assert all(t["planned_start"] is not None for t in _tasks(core))


def test_batch_update_checks_every_record_and_writes_none_when_one_is_wrong(core) -> None:
    from mom.engines.records.batch import update_many
    from mom.platform.errors import InvalidInput

    _orders(core, [(5, NOW + dt.timedelta(days=3), 5)])
    first, second = _tasks(core)[:2]
    with pytest.raises(InvalidInput) as exc, write_tx(core) as conn:
        update_many(conn=conn, registry=form_registry(), ctx=_ctx(), form="operation_task", patches=[
            (first["id"], {"planned_start": "2026-12-03T08:00:00+08:00"}, None), (second["id"], {"planned_start": "明天"}, None)])
    assert [p.path for p in exc.value.problems] == ["/1/planned_start"]
    assert all(t["planned_start"] is None for t in _tasks(core))


def _machine(engine: sa.engine.Engine, code: str, **patch: Any) -> int:
    forms = form_registry()
    with write_tx(engine) as conn:
        mid = conn.execute(sa.text("SELECT id FROM machine WHERE code = :c"), {"c": code}).scalar()
        update_record(conn=conn, registry=forms, ctx=_ctx(), form="machine", record_id=mid, patch=patch)
    return int(mid)


def test_a_machine_down_or_in_maintenance_gets_no_work_for_the_breakdown_hours(core, monkeypatch: pytest.MonkeyPatch) -> None:
    from mom.platform.settings import get_settings

    _orders(core, [(10, NOW + dt.timedelta(days=3), 3), (10, NOW + dt.timedelta(days=4), 5)])
    forms = form_registry()
    casting = _tasks(core)[0]                                  # order 1's casting runs on the furnace, then it breaks
    with write_tx(core) as conn, D.engine_writes(conn):
        update_record(conn=conn, registry=forms, ctx=D.acting(_ctx()), form="operation_task", record_id=casting["id"],
                      patch={"status": "running", "actual_start": (NOW - dt.timedelta(minutes=30)).isoformat()})
    fur = _machine(core, "FUR-1", status="maintenance")        # the furnace: the castings' only machine
    cnc1 = _machine(core, "CNC-1", status="down")              # machining may move to CNC-2
    with read_tx(core) as conn:
        problem, _ = planning.build_problem(conn, forms, now=NOW, tz=TZ)
    res = {r["id"]: r for r in problem["resources"]}
    assert res["FUR-1"]["downtime"] == [[0, 240]] and res["CNC-1"]["downtime"] == [[0, 240]]   # default 4 hours
    assert "downtime" not in res["CNC-2"]

    monkeypatch.setenv("MOM_PRODUCTION_BREAKDOWN_HOURS", "3")
    get_settings.cache_clear()
    try:
        out = planning.plan(core, forms, _ctx(), solve=_solve, time_limit=3)
    finally:
        monkeypatch.delenv("MOM_PRODUCTION_BREAKDOWN_HOURS")
        get_settings.cache_clear()
    assert out["written"] and out["summary"]["feasible"]
    notes = " ".join(n["zh-CN"] for n in out["summary"]["notes"])
    assert "设备「中频感应炉 1号」保养：从现在起 3 小时内不安排任务" in notes and "数控车床 CK6150 1号」故障停机" in notes
    back = NOW + dt.timedelta(hours=3)
    after = {t["id"]: t for t in _tasks(core)}
    assert after[casting["id"]]["machine"] == fur and _utc(after[casting["id"]]["planned_end"]) > back   # waits on its machine
    on_fur = [t for t in after.values() if t["machine"] == fur and t["id"] != casting["id"]]
    assert on_fur and all(_utc(t["planned_start"]) >= back for t in on_fur)     # the other casting waits for the furnace
    assert all(_utc(t["planned_start"]) >= back for t in after.values() if t["machine"] == cnc1)
    assert "工序任务 " + casting["code"] + " 在设备「中频感应炉 1号」上，该设备保养：按 3 小时后继续安排" in notes


def test_changeover_families_make_the_setup_matrix(core) -> None:
    _orders(core, [(10, NOW + dt.timedelta(days=3), 3), (10, NOW + dt.timedelta(days=4), 4), (10, NOW + dt.timedelta(days=5), 5)])
    _machine(core, "FUR-1", setup_family="QT450")              # the furnace was last set up for another iron
    forms = form_registry()
    with read_tx(core) as conn:
        problem, _ = planning.build_problem(conn, forms, now=NOW, tz=TZ)
    # same family 0 minutes; into a family: its operations' setup (casting 30; machining 45 on CNC-1, 60 on CNC-2)
    assert problem["setup_matrices"] == {"family": {"default": 0, "same": 0, "rules": [
        {"to": "DN50", "time": 45}, {"to": "HT250", "time": 30}]}}
    res = {r["id"]: r for r in problem["resources"]}
    assert res["FUR-1"]["initial"] == {"family": "QT450"} and res["CNC-1"]["initial"] == {"family": "DN50"}
    ops = {op["name"]: op for op in problem["orders"][0]["operations"]}
    assert ops["阀体铸造"]["attributes"] == {"family": "HT250"} and ops["阀体铸造"]["modes"] == [{"resource": "FUR-1", "duration": 120}]
    assert sorted(m["duration"] for m in ops["阀体机加工"]["modes"]) == [180, 235]   # 18 × 10; 22 × 10 + (60 − 45)
    assert "attributes" not in ops["装配"] and ops["装配"]["modes"][0]["duration"] == 10 + 80   # no family: setup as before
    P.load(problem)
    doc = _solve(problem, 3)
    furnace = sorted((o for o in doc["operations"] if o["resource"] == "FUR-1"), key=lambda o: o["start"])
    assert [o["setup"] for o in furnace] == [30, 0, 0]          # one changeover QT450 -> HT250, then none

    _machine(core, "FUR-1", setup_family="HT250")              # already set up for HT250: no changeover at all
    with read_tx(core) as conn:
        problem, _ = planning.build_problem(conn, forms, now=NOW, tz=TZ)
    doc = _solve(problem, 3)
    assert [o["setup"] for o in doc["operations"] if o["resource"] == "FUR-1"] == [0, 0, 0]
