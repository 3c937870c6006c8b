"""Material-aware scheduling (物料约束, issue 21 item 5) on the core pack's demo valve plant: the gate valve
FG-V50's BOM takes 6.5 kg of HT250 per valve (+5 % scrap) at casting (operation 10), so an order of 10 needs
68.25 kg there. An order whose iron comes by purchase order on day 3 does not start casting before day 3;
iron on hand goes to the more urgent order first; a purchase order's date slipping, or the lot in stock
blocked by quality, makes a pending schedule proposal naming the order that moves; the dispatch list
shows each task's 缺料 (component, needed, available, expected receipt)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.inventory import posting
from mom.engines.production import materials, planning, proposals
from mom.engines.records.service import create_records, update_record
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.worker import Worker
from tests.conftest import fixture_hash, login
from tests.integration.test_production_planning import NOW, TZ, _ctx, _orders, _solve, _utc

DAY = dt.timedelta(days=1)
#: 6.5 kg per valve × 10 valves × (1 + 5 % scrap): the demo BOM's casting line (modelpacks/core/demo/bom.json)
IRON_FOR_10 = 68.25


class _ClockedWorker(Worker):
    def _now(self) -> dt.datetime:
        return NOW.astimezone(dt.timezone.utc)


def _midnight(days: int) -> dt.datetime:
    """The start of day ``days`` after NOW's day, in the plant's zone."""
    return dt.datetime.combine(NOW.date() + dt.timedelta(days=days), dt.time(0), tzinfo=TZ)


@pytest.fixture
def plant(core_pack: sa.engine.Engine) -> sa.engine.Engine:
    with write_tx(core_pack) as conn:
        auth.create_user(conn, username="plan1", password_hash=fixture_hash("plan-pass-1"), roles=["planner"])
    return core_pack


def _item(engine: sa.engine.Engine, code: str) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(sa.text("SELECT id FROM item WHERE code = :c"), {"c": code}).scalar())


def _purchase(engine: sa.engine.Engine, qty: float, due_days: int, item: str = "RM-HT250") -> dict[str, Any]:
    with write_tx(engine) as conn:
        return create_records(conn=conn, registry=form_registry(), ctx=_ctx(), form="purchase_order", docs=[
            {"supplier": "鞍钢", "lines": [{"item": _item(engine, item), "qty": qty,
                                            "due_date": (NOW.date() + dt.timedelta(days=due_days)).isoformat()}]}])[0]


def _receive(engine: sa.engine.Engine, qty: float, lot: str) -> int:
    """Iron received into the demo's raw-material location RM-01 as lot ``lot``; the lot's id."""
    with write_tx(engine) as conn:
        loc = conn.execute(sa.text("SELECT id FROM location WHERE code = 'RM-01'")).scalar()
        posting.create_and_post(conn, form_registry(), _ctx(), "stock_receipt", {
            "supplier": "鞍钢", "lines": [{"item": _item(engine, "RM-HT250"), "qty": qty, "to_location": loc, "lot_number": lot}]})
        return int(conn.execute(sa.text("SELECT id FROM lot WHERE number = :n"), {"n": lot}).scalar())


def _casting(engine: sa.engine.Engine) -> dict[str, dict[str, Any]]:
    """Each order's casting task (operation 10): code, planned start."""
    with read_tx(engine) as conn:
        return {r.order_code: {"code": r.code, "start": _utc(r.planned_start) if r.planned_start else None}
                for r in conn.execute(sa.text(
                    "SELECT o.code AS order_code, t.code, t.planned_start FROM operation_task t "
                    "JOIN production_order o ON o.id = t.production_order WHERE t.seq = 10"))}


def _plan(engine: sa.engine.Engine) -> dict[str, Any]:
    out = planning.plan(engine, form_registry(), _ctx(), solve=_solve, time_limit=2)
    assert out["written"], out["summary"]
    return out


def test_an_order_waits_for_its_iron_by_purchase_order_on_day_3(plant) -> None:
    order, = _orders(plant, [(10, NOW + 8 * DAY, 5)])
    assert _plan(plant)["summary"]["feasible"]
    assert _casting(plant)[order]["start"] < _midnight(1), "no iron and no receipt: a shortage, planned as usual"
    _purchase(plant, 500, 3)
    out = _plan(plant)
    assert _casting(plant)[order]["start"] >= _midnight(3)
    with read_tx(plant) as conn:
        problem, index = planning.build_problem(conn, form_registry(), now=NOW, tz=TZ)
    ops = {op["id"]: op for o in problem["orders"] for op in o["operations"]}
    mats = ops[_casting(plant)[order]["code"]]["materials"]
    assert [m["item"] for m in mats] == ["RM-HT250"] and mats[0]["quantity"] == IRON_FOR_10
    assert index.origin + dt.timedelta(minutes=mats[0]["available"]) == _midnight(3)
    # the assembly parts (bonnet, bolts, gasket, handwheel) have neither stock nor receipts: named as 缺料
    short = {s["item"]: s for s in out["summary"]["shortages"]}
    assert set(short) == {"SF-C50", "PT-M12", "PT-GSK50", "PT-HW50"}
    assert short["PT-HW50"]["short"] == 10 and short["PT-HW50"]["orders"] == [order]     # one handwheel a valve
    assert any(n["zh-CN"].startswith("缺料：4 种物料") and "「手轮 DN50」缺 10" in n["zh-CN"] for n in out["summary"]["notes"])


def test_iron_on_hand_goes_to_the_more_urgent_order(plant) -> None:
    _receive(plant, 70, "L-A")                       # enough for one order of 10 (68.25 kg), not two
    _purchase(plant, 500, 3)
    low, urgent = _orders(plant, [(10, NOW + 6 * DAY, 5), (10, NOW + 6 * DAY, 1)])
    with read_tx(plant) as conn:
        alloc = materials.allocate(conn, form_registry(), tz=TZ)
    iron = _item(plant, "RM-HT250")
    cover = {c.order_code: c for cs in alloc.covers.values() for c in cs if c.item == iron}
    assert float(cover[urgent].on_hand) == IRON_FOR_10 and cover[urgent].arrival is None
    assert float(cover[low].on_hand) == 70 - IRON_FOR_10 and cover[low].arrival == _midnight(3)
    _plan(plant)
    casting = _casting(plant)
    assert casting[urgent]["start"] < _midnight(1)
    assert casting[low]["start"] >= _midnight(3)


def _pending(engine: sa.engine.Engine, settings: Any) -> list[dict[str, Any]]:
    got = _ClockedWorker(engine, settings, name="w").drain()
    assert got["failed"] == 0, got
    with read_tx(engine) as conn:
        return proposals.listing(conn, form_registry(), _ctx(), status="pending")


def _move_po(engine: sa.engine.Engine, po: dict[str, Any], due_days: int) -> None:
    with write_tx(engine) as conn:
        line = dict(conn.execute(sa.text("SELECT id, item, qty FROM purchase_order__lines WHERE parent_id = :p"),
                                 {"p": po["id"]}).mappings().one())
        update_record(conn=conn, registry=form_registry(), ctx=_ctx(), form="purchase_order", record_id=po["id"], patch={
            "lines": [{"id": line["id"], "item": line["item"], "qty": float(line["qty"]),
                       "due_date": (NOW.date() + dt.timedelta(days=due_days)).isoformat()}]})


def test_a_purchase_order_slipping_proposes_the_order_later(plant, settings) -> None:
    po = _purchase(plant, 500, 1)
    order, = _orders(plant, [(10, NOW + 8 * DAY, 5)])
    _plan(plant)
    assert _midnight(1) <= _casting(plant)[order]["start"] < _midnight(2)
    before = _casting(plant)
    _move_po(plant, po, 4)
    found = _pending(plant, settings)
    assert len(found) == 1, found
    p = found[0]
    assert p["reason"] == "material" and po["code"] in p["summary"] and "到货推迟" in p["summary"]
    assert f"推迟的工单：{order} 推迟" in p["summary"]
    rows = {c["task"]: c for c in p["changes"]}
    cast = rows[before[order]["code"]]
    assert _utc(cast["new_start"]) >= _midnight(4) and cast["delay_min"] > 0
    assert _casting(plant) == before                   # nothing written until a planner accepts
    # the same purchase order slipping again: still one pending proposal for it, rewritten
    _move_po(plant, po, 5)
    again = _pending(plant, settings)
    assert [x["code"] for x in again] == [p["code"]]
    assert _utc({c["task"]: c for c in again[0]["changes"]}[before[order]["code"]]["new_start"]) >= _midnight(5)
    # an earlier date again fits the plan in force already: no new proposal
    _move_po(plant, po, 0)
    assert [x["code"] for x in _pending(plant, settings)] == [p["code"]]


def test_a_lot_blocked_by_quality_proposes_the_order_later(plant, settings) -> None:
    lot = _receive(plant, 70, "L-B")
    _purchase(plant, 500, 4)
    order, = _orders(plant, [(10, NOW + 8 * DAY, 5)])
    _plan(plant)
    before = _casting(plant)
    assert before[order]["start"] < _midnight(1)
    with write_tx(plant) as conn:
        update_record(conn=conn, registry=form_registry(), ctx=_ctx(), form="lot", record_id=lot, patch={"status": "blocked"})
    found = _pending(plant, settings)
    assert len(found) == 1, found
    p = found[0]
    assert p["reason"] == "quality" and "L-B" in p["summary"] and "冻结" in p["summary"] and order in p["summary"]
    cast = {c["task"]: c for c in p["changes"]}[before[order]["code"]]
    assert _utc(cast["new_start"]) >= _midnight(4)
    with write_tx(plant) as conn:
        out = proposals.accept(conn, form_registry(), _planner_ctx(plant), p["code"])
    assert out["status"] == "accepted"
    assert _casting(plant)[order]["start"] >= _midnight(4)


def _planner_ctx(engine: sa.engine.Engine) -> Any:
    from mom.engines.records.context import Ctx
    from mom.platform.cli.common import command_ctx

    return Ctx(actor=command_ctx(engine, "plan1").actor, now=NOW.astimezone(dt.timezone.utc), tz=TZ)


def test_the_dispatch_list_shows_each_tasks_shortage(plant, client) -> None:
    po = _purchase(plant, 40, 2)                     # 40 kg of the 68.25 kg come on day 2; the rest nowhere
    order, = _orders(plant, [(10, NOW + 8 * DAY, 5)])
    planner = login(client, "plan1", "plan-pass-1")
    r = client.get("/api/production/dispatch", headers=planner)
    assert r.status_code == 200, r.text
    tasks = {t["code"]: t for t in r.json()["tasks"] if t["order_code"] == order}
    cast = tasks[_casting(plant)[order]["code"]]
    iron, = cast["shortages"]
    assert iron["component_code"] == "RM-HT250" and iron["component_name"] == "灰铸铁 HT250" and iron["unit"] == "kg"
    assert iron["needed"] == IRON_FOR_10 and iron["available"] == 0 and iron["missing"] == IRON_FOR_10 - 40
    assert [d["code"] for d in iron["documents"]] == [po["code"]] and iron["documents"][0]["qty"] == 40
    assert dt.datetime.fromisoformat(iron["expected"]) == _midnight(2)
    assembly = [t for t in tasks.values() if t["seq"] == 30][0]
    assert {s["component_code"] for s in assembly["shortages"]} == {"SF-C50", "PT-M12", "PT-GSK50", "PT-HW50"}
    assert all(t["shortages"] == [] for t in tasks.values() if t["seq"] in (20, 40))
