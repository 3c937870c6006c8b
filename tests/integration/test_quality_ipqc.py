"""In-process inspection (IPQC, issue 22) triggered from the shop floor, through the API the operators and
inspectors use: a task started opens its first-article lot; under a plan that blocks production the
operator's job reports stop at the first-article samples until the inspector accepts them (the refusal
names the order, the operation and the lot); a rejected first article opens its NCR (with the order and
operation task) and the next first-article lot; every N good pieces open one patrol lot each (a retried
report opens none); the finish opens the last-article lot; time-based patrols open every M minutes while
the task runs (the engine hook the pack's schedule rule calls). SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.packs import manager
from mom.engines.quality import trigger_hooks
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.workflow.runtime import Runtime
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry, install_record_hooks
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.settings import Settings
from tests.conftest import fixture_hash
from tests.integration.people_api import PeopleApi

OUTER_DIAMETER = {"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": 50, "lsl": 49.9,
                  "usl": 50.1, "unit": "mm", "method": "外径千分尺"}


def install_quality(engine: sa.engine.Engine) -> None:
    """`mom pack install quality` on the core plant (skipped when it is there already)."""
    with read_tx(engine) as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM mom_pack WHERE name = 'quality'")).scalar_one()
    if not have:
        manager.execute(engine, None, "install", "quality", forms_factory=form_registry,
                        tz=plant_tz(Settings(database_url="sqlite://").timezone))


class Floor(PeopleApi):
    """The core demo plant with the quality pack: a planner, two operators, an inspector, a quality manager
    and a quality engineer; helpers as those people."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        install_quality(engine)
        super().__init__(client, engine)
        with write_tx(engine) as conn:
            auth.create_user(conn, username="admin", password_hash=fixture_hash("admin-pass-1"), is_admin=True)
            for name, roles in (("plan1", ["planner"]), ("op1", ["operator"]), ("qc1", ["qc_inspector"]),
                                ("qcm", ["qc_manager"]), ("qe1", ["quality_engineer"])):
                auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
        self.item = {i["code"]: i["id"] for i in self.get("/api/records/item?limit=100")["items"]}

    def plan(self, kind: str, operation: str, **extra: Any) -> dict[str, Any]:
        body = {"name": f"闸阀 {operation} {kind}", "inspection_type": kind, "item": self.item["FG-V50"],
                "operation": operation, "aql_critical": None, "aql_minor": None, "characteristics": [OUTER_DIAMETER], **extra}
        return self.post("/api/records/inspection_plan", body, who="qe1", status=201)

    def released_order(self, qty: int = 10) -> dict[str, Any]:
        order = self.post("/api/records/production_order", {"item": self.item["FG-V50"], "qty": qty,
                                                           "due_date": "2030-12-15 17:00"}, who="plan1", status=201)
        released = self.post(f"/api/production/orders/{order['code']}/release", who="plan1")
        return {"code": order["code"], "id": order["id"], "tasks": {t["seq"]: t for t in released["tasks"]}}

    def report(self, task: dict[str, Any], event: str, status: int | tuple[int, ...] = (200, 201), **q: Any) -> Any:
        r = self.client.post("/api/production/reports", json={"task": task["code"], "event": event, **q}, headers=self.h("op1"))
        want = status if isinstance(status, tuple) else (status,)
        assert r.status_code in want, r.text
        return r.json()

    def lots(self, task: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
        """The task's inspection lots, oldest first, as the inspector lists them."""
        got = self.get(f"/api/records/inspection_lot?operation_task={task['id']}&limit=100&sort=id&expand=1", who="qc1")["items"]
        return [lt for lt in got if kind is None or lt["inspection_type"] == kind]

    def judge(self, lot: dict[str, Any], values: list[float]) -> dict[str, Any]:
        """The inspector starts the lot, enters one 外径 reading per sample and judges it."""
        self.post(f"/api/records/inspection_lot/{lot['id']}/transitions/start", {}, who="qc1")
        now = self.get(f"/api/records/inspection_lot/{lot['id']}", who="qc1")
        rows = [{"sample_no": i + 1, "char_seq": 1, "value": v} for i, v in enumerate(values)]
        r = self.client.patch(f"/api/records/inspection_lot/{lot['id']}",
                              json={"row_version": now["row_version"], "results": rows},
                              headers=self.h("qc1"))
        assert r.status_code == 200, r.text
        self.post(f"/api/records/inspection_lot/{lot['id']}/transitions/judge", {}, who="qc1")
        return self.get(f"/api/records/inspection_lot/{lot['id']}", who="qc1")


@pytest.fixture
def floor(core_pack, engine, client) -> Floor:  # type: ignore[no-untyped-def]
    return Floor(client, engine)


def test_first_article_blocks_more_good_pieces_until_the_inspector_accepts_it(floor: Floor) -> None:
    floor.plan("ipqc_first", "阀体铸造", fixed_sample_size=2, blocks_production=True)
    order = floor.released_order()
    casting, machining = order["tasks"][10], order["tasks"][20]
    assert floor.lots(casting) == []

    floor.report(casting, "start")
    [first] = floor.lots(casting)
    assert (first["inspection_type"], first["status"], first["sample_size"]) == ("ipqc_first", "pending", 2)
    assert first["production_order"] == order["id"] and "阀体铸造" in first["note"]
    floor.report(casting, "report", good_qty=2)             # the two first pieces themselves

    r = floor.client.post("/api/production/reports", json={"task": casting["code"], "event": "report", "good_qty": 3},
                          headers=floor.h("op1"))
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert order["code"] in msg and "阀体铸造" in msg and first["code"] in msg and "待检" in msg and "最多报 2" in msg
    assert floor.get(f"/api/production/orders/{order['id']}/progress", who="op1")["tasks"][0]["good_qty"] == 2

    judged = floor.judge(first, [50.02, 49.97])
    assert (judged["status"], judged["result"]) == ("judged", "accepted")
    out = floor.report(casting, "report", good_qty=3)
    assert out["task"]["good_qty"] == 5

    # another operation has no first-article plan: nothing opens, nothing waits
    floor.report(casting, "finish", good_qty=5)
    floor.report(machining, "start")
    floor.report(machining, "report", good_qty=4)
    assert floor.lots(machining) == []


def test_a_first_report_of_many_pieces_is_refused_and_leaves_no_lot_behind(floor: Floor) -> None:
    floor.plan("ipqc_first", "阀体铸造", fixed_sample_size=2, blocks_production=True)
    order = floor.released_order()
    casting = order["tasks"][10]
    r = floor.client.post("/api/production/reports", json={"task": casting["code"], "event": "report", "good_qty": 6},
                          headers=floor.h("op1"))
    assert r.status_code == 409 and "先做首件检验" in r.json()["message"]["zh-CN"] and "开工" in r.json()["message"]["zh-CN"], r.text
    assert floor.lots(casting) == []
    assert floor.get(f"/api/production/orders/{order['id']}/progress", who="op1")["tasks"][0]["status"] == "ready"


def test_a_rejected_first_article_opens_its_ncr_and_the_next_first_article(floor: Floor) -> None:
    floor.plan("ipqc_first", "阀体铸造", fixed_sample_size=2, blocks_production=True)
    order = floor.released_order()
    casting = order["tasks"][10]
    floor.report(casting, "start")
    floor.report(casting, "report", good_qty=2)
    [first] = floor.lots(casting)
    judged = floor.judge(first, [50.02, 50.30])             # the second piece is 0.2 mm over the upper limit
    assert judged["result"] == "rejected" and judged["ncr"]
    [ncr] = floor.get(f"/api/records/nonconformance?inspection_lot={first['id']}&limit=5", who="qcm")["items"]
    assert ncr["code"] == judged["ncr"] and ncr["operation_task"] == casting["id"] and ncr["production_order"] == order["id"]
    assert "首检不合格" in ncr["title"] and order["code"] in ncr["title"] and ncr["qty"] == 2

    again = floor.lots(casting, "ipqc_first")
    assert [lt["status"] for lt in again] == ["judged", "pending"] and first["code"] in again[1]["note"]
    r = floor.client.post("/api/production/reports", json={"task": casting["code"], "event": "report", "good_qty": 3},
                          headers=floor.h("op1"))
    assert r.status_code == 409 and again[1]["code"] in r.json()["message"]["zh-CN"], r.text
    floor.report(casting, "report", good_qty=2)             # the new first pieces (2 + 2 allowed in all)
    assert floor.judge(again[1], [50.0, 49.95])["result"] == "accepted"
    assert floor.report(casting, "report", good_qty=3)["task"]["good_qty"] == 7


def test_patrol_every_n_good_pieces_and_last_article_at_the_finish(floor: Floor) -> None:
    floor.plan("ipqc_patrol", "阀体铸造", fixed_sample_size=1, patrol_every_qty=4)
    floor.plan("ipqc_last", "阀体铸造", fixed_sample_size=1)
    order = floor.released_order(qty=20)
    casting = order["tasks"][10]
    floor.report(casting, "start")
    floor.report(casting, "report", good_qty=3)
    assert floor.lots(casting) == []                        # 3 < 4
    floor.report(casting, "report", good_qty=2, client_id="scan-0001")   # 5: crossed 4
    floor.report(casting, "report", good_qty=2, client_id="scan-0001")   # the scanner sent it twice: counted once
    patrols = floor.lots(casting, "ipqc_patrol")
    assert len(patrols) == 1 and "合格数达到 4" in patrols[0]["note"] and patrols[0]["lot_qty"] == 4
    floor.report(casting, "report", good_qty=9)             # 14: crossed 8 and 12, one lot each
    assert [lt["note"].split("（")[0][-2:] for lt in floor.lots(casting, "ipqc_patrol")] == [" 4", " 8", "12"]
    assert floor.lots(casting, "ipqc_last") == []
    floor.report(casting, "finish", good_qty=1)             # 15 in all: no new multiple of 4
    assert len(floor.lots(casting, "ipqc_patrol")) == 3
    [last] = floor.lots(casting, "ipqc_last")
    assert last["status"] == "pending" and last["lot_qty"] == 15 and "完工" in last["note"]


def test_time_patrol_every_m_minutes_while_the_task_runs(floor: Floor) -> None:
    floor.plan("ipqc_patrol", "阀体铸造", fixed_sample_size=1, patrol_every_minutes=30)
    order = floor.released_order()
    casting = order["tasks"][10]
    floor.report(casting, "start")
    started = dt.datetime.now(dt.timezone.utc)
    forms = form_registry()
    flows = install_record_hooks(forms)

    def tick(minutes: int) -> list[str]:
        with write_tx(floor.engine) as conn:
            rt = Runtime(conn=conn, ctx=Ctx(actor=SYSTEM, now=started + dt.timedelta(minutes=minutes)), forms=forms, flows=flows)
            return trigger_hooks.patrol_tick(rt, {}, {})["opened"]

    assert tick(10) == []
    opened = tick(31)
    assert len(opened) == 1 and [lt["code"] for lt in floor.lots(casting, "ipqc_patrol")] == opened
    assert tick(31) == [] and tick(50) == []                # the next one is due 30 minutes after the last
    assert len(tick(62)) == 1
    # two workers ticking at the same moment open one lot between them
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(tick(95))) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(len(r) for r in results) == [0, 1]
    floor.report(casting, "pause")
    assert tick(200) == []                                  # a paused task is not patrolled
    assert len(floor.lots(casting, "ipqc_patrol")) == 3


def test_the_packs_schedule_rule_opens_time_patrols_in_the_worker(floor: Floor, settings) -> None:  # type: ignore[no-untyped-def]
    from mom.platform.db import tables as T
    from mom.platform.worker import Worker

    floor.plan("ipqc_patrol", "阀体铸造", fixed_sample_size=1, patrol_every_minutes=30)
    order = floor.released_order()
    casting = order["tasks"][10]
    floor.report(casting, "start")
    with write_tx(floor.engine) as conn:     # the clock moved on: started 40 minutes ago, the rule's run is due
        ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=40)
        conn.execute(sa.text("UPDATE operation_task SET actual_start = :at WHERE id = :id"), {"at": ago, "id": casting["id"]})
        conn.execute(T.rule.update().where(T.rule.c.name == "quality_ipqc_patrol_tick").values(
            next_run_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
    Worker(floor.engine, settings, name="w").drain()
    [patrol] = floor.lots(casting, "ipqc_patrol")
    assert patrol["status"] == "pending" and "每 30 分钟" in patrol["note"]


def test_mom_quality_patrol_opens_what_is_due_and_says_so(floor: Floor, cli) -> None:  # type: ignore[no-untyped-def]
    floor.plan("ipqc_patrol", "阀体铸造", fixed_sample_size=1, patrol_every_minutes=30)
    order = floor.released_order()
    casting = order["tasks"][10]
    floor.report(casting, "start")
    out = cli("quality", "patrol")
    assert out.exit_code == 0 and "共 0 张巡检单" in out.output, out.output     # started just now: not due
    with write_tx(floor.engine) as conn:
        ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=45)
        conn.execute(sa.text("UPDATE operation_task SET actual_start = :at WHERE id = :id"), {"at": ago, "id": casting["id"]})
    out = cli("quality", "patrol", "--json")
    [lot] = floor.lots(casting, "ipqc_patrol")
    assert out.exit_code == 0 and f'"{lot["code"]}"' in out.output, out.output
    out = cli("quality", "patrol")
    assert "共 0 张巡检单" in out.output                                          # the one just opened counts
