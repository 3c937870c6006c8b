"""The production engine (issue 19): an order from the core demo's sales order through release, job
reports with scrap on every operation, to finished — progress, WIP, good and scrap right at each step;
the rules a shop floor leans on (no release without a routing, no more good than the predecessor
passed, a retried report counted once, two operators at once never over the limit, the same rules
for a job report created as a plain record) and who may do what. SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.production import reports as RP
from mom.engines.records.context import Ctx, actor_by_username
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput
from tests.conftest import fixture_hash
from tests.integration.people_api import PeopleApi


# ---------------------------------------------------------------- helpers

@pytest.fixture
def shop(core_pack, engine, client) -> "Shop":  # type: ignore[no-untyped-def]
    """The core pack with its demo plant (`mom pack install core --yes --demo`: a copy of the session's
    template, tests/conftest.py), and people: planner, supervisor, two operators, a visitor."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password_hash=fixture_hash("admin-pass-1"), is_admin=True)
        for name, roles in (("plan1", ["planner"]), ("sup1", ["supervisor"]), ("op1", ["operator"]), ("op2", ["operator"]),
                            ("guest", [])):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
    return Shop(client, engine)


class Shop(PeopleApi):
    """The production tests' people (people_api.py: signing in, get, post, find, count) and their steps."""

    def order_from_sales_line(self, qty: int | None = None) -> dict[str, Any]:
        so = self.find("sales_order")[0]
        line = so["lines"][0]
        return self.post("/api/records/production_order", {"item": line["item"], "qty": qty or line["qty"],
                                                           "sales_order": so["id"], "due_date": "2030-12-15 17:00"},
                         who="plan1", status=201)

    def report(self, task: Any, event: str, who: str = "op1", status: int | tuple[int, ...] = (200, 201), **q: Any) -> Any:
        return self.post("/api/production/reports", {"task": task, "event": event, **q}, who=who, status=status)

    def progress(self, order_id: int) -> dict[str, Any]:
        return self.get(f"/api/production/orders/{order_id}/progress", who="op1")

    def reports(self) -> int:
        with read_tx(self.engine) as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM job_report")).scalar_one())


def by_seq(progress: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {t["seq"]: t for t in progress["tasks"]}


def state(progress: dict[str, Any]) -> list[tuple[int, str, float, float, float]]:
    """(seq, status, good, scrap, wip) of each task."""
    return [(t["seq"], t["status"], t["good_qty"], t["scrap_qty"], t["wip"]) for t in progress["tasks"]]


# ---------------------------------------------------------------- the life of an order

def test_an_order_from_the_sales_order_through_release_and_reports_to_finished(shop: Shop) -> None:
    order = shop.order_from_sales_line(qty=10)
    assert order["status"] == "planned" and order["unit"] == "台"          # the unit copied from the item
    released = shop.post(f"/api/production/orders/{order['code']}/release", who="plan1")
    assert released["status"] == "released" and released["routing"] == "RT-FG-V50" and released["bom"] == "BOM-FG-V50"
    assert [(t["seq"], t["name"], t["status"]) for t in released["tasks"]] == [
        (10, "阀体铸造", "ready"), (20, "阀体机加工", "waiting"), (30, "装配", "waiting"), (40, "压力试验", "waiting")]
    need = {c["item_name"]: c["qty_required"] for c in released["components"]}
    assert need == {"灰铸铁 HT250": 68.25, "阀盖 DN50": 10, "螺栓 M12×50": 81.6, "密封垫片 DN50": 10.1, "手轮 DN50": 10}
    machining = next(t for t in shop.find("operation_task", production_order=order["id"]) if t["seq"] == 20)
    assert {m["_display"]["machine"] if "_display" in m else m["machine"] for m in machining["modes"]} and len(machining["modes"]) == 2

    # the BOM and the routing edited afterwards: the released order keeps what it was released with
    bom = shop.find("bom", code="BOM-FG-V50")[0]
    lines = [{k: v for k, v in ln.items() if k != "id"} for ln in bom["lines"]]
    lines[0]["qty_per"] = 99
    r = shop.client.patch(f"/api/records/bom/{bom['id']}", json={"row_version": bom["row_version"], "lines": lines},
                          headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    routing = shop.find("routing", code="RT-FG-V50")[0]
    ops = [{k: v for k, v in op.items() if k != "id"} for op in routing["operations"]][:2]
    r = shop.client.patch(f"/api/records/routing/{routing['id']}", json={"row_version": routing["row_version"], "operations": ops},
                          headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    now = shop.get(f"/api/records/production_order/{order['id']}")
    assert {c["qty_required"] for c in now["components"]} == {68.25, 10, 81.6, 10.1}
    assert len(shop.find("operation_task", production_order=order["id"])) == 4

    tasks = {t["seq"]: t["code"] for t in released["tasks"]}
    p = shop.progress(order["id"])
    assert p["order"]["status"] == "released" and p["progress"] == 0 and p["current_operation"] == "10 阀体铸造"
    assert state(p) == [(10, "ready", 0, 0, 0), (20, "waiting", 0, 0, 0), (30, "waiting", 0, 0, 0), (40, "waiting", 0, 0, 0)]

    # 10 casting: start, 6 good, then finish with 3 good and 1 scrapped (sand holes)
    shop.report(tasks[10], "start")
    p = shop.progress(order["id"])
    assert p["order"]["status"] == "started" and p["order"]["started_at"] and by_seq(p)[10]["actual_start"]
    assert state(p)[0] == (10, "running", 0, 0, 10)                       # the whole order is in front of casting
    shop.report(tasks[10], "report", good_qty=6)
    assert by_seq(shop.progress(order["id"]))[20]["status"] == "waiting"   # the transfer batch is 10
    out = shop.report(tasks[10], "finish", good_qty=3, scrap_qty=1, scrap_reason="R02")
    assert out["task"]["status"] == "done" and out["order"]["current_operation"] == "20 阀体机加工"
    p = shop.progress(order["id"])
    assert state(p) == [(10, "done", 9, 1, 0), (20, "ready", 0, 0, 9), (30, "waiting", 0, 0, 0), (40, "waiting", 0, 0, 0)]
    assert (p["good_qty"], p["scrap_qty"], p["progress"], p["wip"]) == (0, 1, 0, 9)

    # 20 machining: 5 good and 1 scrap pass a transfer batch (5): assembly may start before it finishes
    shop.report(tasks[20], "start", who="op2")
    shop.report(tasks[20], "report", who="op2", good_qty=5, scrap_qty=1, scrap_reason="R03")
    p = shop.progress(order["id"])
    assert state(p)[1:3] == [(20, "running", 5, 1, 3), (30, "ready", 0, 0, 5)]
    shop.report(tasks[20], "pause", who="op2")
    assert by_seq(shop.progress(order["id"]))[20]["status"] == "paused"
    shop.report(tasks[20], "resume", who="op2")
    shop.report(tasks[20], "finish", who="op2", good_qty=3)
    p = shop.progress(order["id"])
    assert state(p)[1:3] == [(20, "done", 8, 1, 0), (30, "ready", 0, 0, 8)]
    assert p["current_operation"] == "30 装配" and p["scrap_qty"] == 2

    # 30 assembly all 8, 40 pressure test: 7 pass, 1 leaks
    shop.report(tasks[30], "finish", good_qty=8)
    p = shop.progress(order["id"])
    assert state(p)[2:] == [(30, "done", 8, 0, 0), (40, "ready", 0, 0, 8)] and p["progress"] == 0
    shop.report(tasks[40], "report", good_qty=4)
    p = shop.progress(order["id"])
    assert p["progress"] == 40 and p["good_qty"] == 4 and p["order"]["status"] == "started" and p["wip"] == 4
    shop.report(tasks[40], "finish", good_qty=3, scrap_qty=1, scrap_reason="R06")
    p = shop.progress(order["id"])
    assert state(p) == [(10, "done", 9, 1, 0), (20, "done", 8, 1, 0), (30, "done", 8, 0, 0), (40, "done", 7, 1, 0)]
    o = p["order"]
    assert (o["status"], o["good_qty"], o["scrap_qty"], o["progress"]) == ("finished", 7, 3, 70)
    assert o["finished_at"] and o["current_operation"] is None and o["on_time"] == "on_time"
    assert o["expected_finish"] == o["finished_at"]
    assert shop.find("job_report", production_order=order["id"]).__len__() == 11
    # a done order takes no more reports, and the dispatch list has nothing of it
    r = shop.client.post("/api/production/reports", json={"task": tasks[40], "event": "report", "good_qty": 1},
                         headers=shop.h("op1"))
    assert r.status_code == 409 and "已完工" in r.json()["message"]["zh-CN"]
    assert all(t["order"] != order["id"] for t in shop.get("/api/production/dispatch")["tasks"])


def test_release_is_refused_without_a_routing_or_a_bom_naming_the_item(shop: Shop) -> None:
    item = shop.post("/api/records/item", {"code": "X-BODY", "name": "阀体", "item_type": "semi"}, who="plan1", status=201)
    order = shop.post("/api/records/production_order", {"item": item["id"], "qty": 5}, who="plan1", status=201)
    before = len(shop.find("operation_task"))
    r = shop.client.post(f"/api/production/orders/{order['id']}/release", headers=shop.h("plan1"))
    assert r.status_code == 422
    msg = r.json()["message"]
    assert msg["zh-CN"].startswith("物料「阀体」没有生效的工艺路线：请先在「工艺路线」里为它建一条并设为默认")
    assert "阀体" in msg["en"] and "routing" in msg["en"]
    assert len(shop.find("operation_task")) == before
    assert shop.get(f"/api/records/production_order/{order['id']}")["status"] == "planned"

    # a routing but a draft one only: still refused; made active: the BOM is what is missing now
    wc = shop.find("work_center", code="WC-MACH")[0]
    rt = shop.post("/api/records/routing", {"code": "RT-X", "item": item["id"], "status": "draft", "is_default": True,
                                            "operations": [{"op_seq": 10, "name": "车削", "work_center": wc["id"], "run_min": 3}]},
                   status=201)
    assert shop.client.post(f"/api/production/orders/{order['id']}/release", headers=shop.h("plan1")).status_code == 422
    shop.client.patch(f"/api/records/routing/{rt['id']}", json={"row_version": rt["row_version"], "status": "active"},
                      headers=shop.h("admin"))
    r = shop.client.post(f"/api/production/orders/{order['id']}/release", headers=shop.h("plan1"))
    assert r.status_code == 422 and r.json()["message"]["zh-CN"].startswith("物料「阀体」没有生效的物料清单")

    # the form's 下达 button (the state machine's release transition) goes through the same engine
    r = shop.client.post(f"/api/records/production_order/{order['id']}/transitions/release", json={},
                         headers=shop.h("plan1"))
    assert r.status_code == 422 and "物料清单" in r.json()["message"]["zh-CN"]
    assert shop.get(f"/api/records/production_order/{order['id']}")["status"] == "planned"
    raw = shop.find("item", code="RM-HT250")[0]
    shop.post("/api/records/bom", {"code": "BOM-X", "item": item["id"], "status": "active", "is_default": True, "base_qty": 2,
                                   "lines": [{"component": raw["id"], "qty_per": 3, "scrap_rate": 10}]}, status=201)
    r = shop.client.post(f"/api/records/production_order/{order['id']}/transitions/release", json={},
                         headers=shop.h("plan1"))
    assert r.status_code == 200, r.text
    doc = shop.get(f"/api/records/production_order/{order['id']}")
    assert doc["status"] == "released" and doc["released_at"] and doc["components"][0]["qty_required"] == 8.25
    assert [t["status"] for t in shop.find("operation_task", production_order=order["id"])] == ["ready"]
    # released once only
    r = shop.client.post(f"/api/production/orders/{order['id']}/release", headers=shop.h("plan1"))
    assert r.status_code == 409 and "已计划" in r.json()["message"]["zh-CN"]


def test_more_good_than_the_predecessor_passed_is_refused_with_the_numbers(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    order = shop.order_from_sales_line(qty=10)
    tasks = {t["seq"]: t["code"] for t in shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]}
    r = shop.client.post("/api/production/reports", json={"task": tasks[10], "event": "report", "good_qty": 11},
                         headers=shop.h("op1"))
    assert r.status_code == 422
    zh = r.json()["message"]["zh-CN"]
    assert "不能超过工单数量 10台" in zh and "本次 11台" in zh and "最多还能报 10台" in zh
    assert shop.reports() == 0 and by_seq(shop.progress(order["id"]))[10]["status"] == "ready"   # nothing written

    shop.report(tasks[10], "finish", good_qty=7, scrap_qty=3, scrap_reason="R01")
    shop.report(tasks[20], "report", good_qty=4)
    r = shop.client.post("/api/production/reports", json={"task": tasks[20], "event": "finish", "good_qty": 4},
                         headers=shop.h("op1"))
    assert r.status_code == 422
    body = r.json()
    assert "上道工序 10 阀体铸造 的合格数 7台" in body["message"]["zh-CN"] and "已报 4台" in body["message"]["zh-CN"]
    assert "合计 8台" in body["message"]["zh-CN"] and "最多还能报 3台" in body["message"]["zh-CN"]
    assert body["problems"][0]["path"] == "/good_qty"
    assert by_seq(shop.progress(order["id"]))[20]["good_qty"] == 4

    # a report on a task still waiting is refused in words
    r = shop.client.post("/api/production/reports", json={"task": tasks[40], "event": "start"}, headers=shop.h("op1"))
    assert r.status_code == 409 and "上道工序还没有完工" in r.json()["message"]["zh-CN"]

    # the plant's overrun tolerance (MOM_PRODUCTION_OVERRUN, percent)
    from mom.platform.settings import get_settings
    monkeypatch.setenv("MOM_PRODUCTION_OVERRUN", "20")
    get_settings.cache_clear()
    try:
        out = shop.report(tasks[20], "report", good_qty=4)                  # 8 of 7 × 1.2 = 8.4
        assert out["task"]["good_qty"] == 8
        r = shop.client.post("/api/production/reports", json={"task": tasks[20], "event": "report", "good_qty": 1},
                             headers=shop.h("op1"))
        assert r.status_code == 422 and "允许超出 20%" in r.json()["message"]["zh-CN"]
    finally:
        monkeypatch.delenv("MOM_PRODUCTION_OVERRUN")
        get_settings.cache_clear()


def test_the_same_client_id_twice_counts_once(shop: Shop) -> None:
    order = shop.order_from_sales_line(qty=10)
    task = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"][0]
    body = {"task": task["code"], "event": "report", "good_qty": 3, "scrap_qty": 1, "scrap_reason": "R02", "client_id": "scan-7f3a"}
    first = shop.client.post("/api/production/reports", json=body, headers=shop.h("op1"))
    again = shop.client.post("/api/production/reports", json=body, headers=shop.h("op1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True and again.json()["report"]["code"] == first.json()["report"]["code"]
    assert shop.reports() == 1
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 3 and shop.progress(order["id"])["scrap_qty"] == 1
    # the same key on another operation is a client's mistake, said so
    other = shop.find("operation_task", production_order=order["id"])[1]
    r = shop.client.post("/api/production/reports", json={**body, "task": other["id"]}, headers=shop.h("op1"))
    assert r.status_code == 409 and "防重号 scan-7f3a" in r.json()["message"]["zh-CN"]


def test_two_operators_reporting_one_task_at_once_never_exceed_the_limit(shop: Shop) -> None:
    """Two connections report 6 good each on a 10-piece task at the same moment: one is counted, the
    other refused (on PostgreSQL the second waits on the order's row lock, held while the first sleeps)."""
    order = shop.order_from_sales_line(qty=10)
    task = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"][0]
    forms = form_registry()
    gate = threading.Barrier(2)
    results: list[Any] = [None, None]

    def operator(i: int, name: str) -> None:
        with read_tx(shop.engine) as conn:
            ctx = Ctx(actor=actor_by_username(conn, name), now=Ctx.system().now)
        gate.wait()
        try:
            with write_tx(shop.engine) as conn:
                results[i] = RP.report(conn, forms, ctx, {"task": task["code"], "event": "report", "good_qty": 6})
                time.sleep(0.3)          # hold the transaction: the other one is waiting for the lock meanwhile
        except InvalidInput as exc:
            results[i] = exc

    threads = [threading.Thread(target=operator, args=(i, n)) for i, n in enumerate(("op1", "op2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [r for r in results if isinstance(r, InvalidInput)]
    counted = [r for r in results if isinstance(r, dict)]
    assert len(refused) == 1 and len(counted) == 1, results
    assert "最多还能报 4" in refused[0].zh
    p = shop.progress(order["id"])
    assert by_seq(p)[10]["good_qty"] == 6 and shop.reports() == 1


def test_a_job_report_created_as_a_record_obeys_the_same_rules(shop: Shop) -> None:
    order = shop.order_from_sales_line(qty=10)
    task = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"][0]
    r = shop.client.post("/api/records/job_report", json={"task": task["id"], "event": "report", "good_qty": 11},
                         headers=shop.h("op1"))
    assert r.status_code == 422 and "不能超过工单数量 10台" in r.json()["message"]["zh-CN"]
    assert shop.reports() == 0
    r = shop.client.post("/api/records/job_report", json={"task": task["id"], "event": "start"}, headers=shop.h("op1"))
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["production_order"] == order["id"] and rec["machine"] is not None and rec["operator"] is not None
    r = shop.client.post("/api/records/job_report", json=[
        {"task": task["id"], "event": "report", "good_qty": 6, "client_id": "b-1"},
        {"task": task["id"], "event": "finish", "good_qty": "3.5", "scrap_qty": "0.5",
         "scrap_reason": shop.find("scrap_reason", code="R01")[0]["id"]}], headers=shop.h("op1"))
    assert r.status_code == 201, r.text
    p = shop.progress(order["id"])
    assert by_seq(p)[10]["status"] == "done" and by_seq(p)[10]["good_qty"] == 9.5 and p["scrap_qty"] == 0.5
    assert by_seq(p)[20]["status"] == "ready" and p["order"]["status"] == "started"
    # the same client id as a record: refused by its uniqueness, nothing counted twice
    r = shop.client.post("/api/records/job_report", json={"task": task["id"], "event": "report", "client_id": "b-1"},
                         headers=shop.h("op1"))
    assert r.status_code in (409, 422)
    assert shop.reports() == 3


def test_who_may_do_what(shop: Shop) -> None:
    order = shop.order_from_sales_line(qty=10)
    for who in ("op1", "sup1", "guest"):
        r = shop.client.post(f"/api/production/orders/{order['id']}/release", headers=shop.h(who))
        assert r.status_code == 403, (who, r.text)
    task = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"][0]
    r = shop.client.post("/api/production/reports", json={"task": task["code"], "event": "start"}, headers=shop.h("guest"))
    assert r.status_code == 403 and shop.reports() == 0
    shop.report(task["code"], "start", who="sup1")
    report = shop.report(task["code"], "report", who="op1", good_qty=2)["report"]
    assert report["operator"] is not None
    # an operator may neither change a task's quantities nor its status, nor the order
    t = shop.get(f"/api/records/operation_task/{task['id']}", who="op1")
    r = shop.client.patch(f"/api/records/operation_task/{task['id']}", json={"row_version": t["row_version"], "good_qty": 9},
                          headers=shop.h("op1"))
    assert r.status_code == 403
    r = shop.client.patch(f"/api/records/operation_task/{task['id']}", json={"row_version": t["row_version"], "good_qty": 9},
                          headers=shop.h("sup1"))
    assert r.status_code == 422 and shop.progress(order["id"])["tasks"][0]["good_qty"] == 2   # read-only for a supervisor too
    # everybody signed in reads progress and the dispatch list
    assert shop.get(f"/api/production/orders/{order['code']}/progress", who="guest")["order"]["code"] == order["code"]
    casting = shop.get("/api/production/dispatch?work_center=WC-CAST", who="guest")["tasks"]
    assert [t["code"] for t in casting] == [task["code"]] and casting[0]["available"] == 8
    assert shop.get("/api/production/dispatch?machine=CNC-1", who="op1")["tasks"][0]["status"] == "waiting"
    r = shop.client.get("/api/production/dispatch?work_center=NOPE", headers=shop.h("op1"))
    assert r.status_code == 422 and "找不到工作中心 NOPE" in r.json()["message"]["zh-CN"]
    r = shop.client.post("/api/production/reports", json={"task": "OP-NOPE", "event": "start"}, headers=shop.h("op1"))
    assert r.status_code == 404 and "OP-NOPE" in r.json()["message"]["zh-CN"]
    for bad in (2**70, "99999999999999999999", "²", True, None, ["x"]):
        r = shop.client.post("/api/production/reports", json={"task": bad, "event": "start"}, headers=shop.h("op1"))
        assert r.status_code in (404, 422), (bad, r.text)
    r = shop.client.get("/api/production/orders/99999999999999999999/progress", headers=shop.h("op1"))
    assert r.status_code == 404
    r = shop.client.post("/api/production/reports", json=[1], headers=shop.h("op1"))
    assert r.status_code == 422


def test_the_command_line(shop: Shop, cli: Any) -> None:
    order = shop.order_from_sales_line(qty=5)
    r = cli("production", "release", order["code"], "--as", "plan1")
    assert r.exit_code == 0, r.output
    assert f"已下达 / released: {order['code']}" in r.output and "阀体铸造" in r.output
    task = shop.find("operation_task", production_order=order["id"])[0]["code"]
    r = cli("production", "report", task, "--event", "finish", "--good", "4", "--scrap", "1", "--reason", "R01",
            "--client-id", "cli-1", "--as", "op1")
    assert r.exit_code == 0, r.output
    assert "已报工 / reported" in r.output and "合格 / good 4" in r.output
    r = cli("production", "report", task, "--event", "finish", "--good", "4", "--scrap", "1", "--reason", "R01",
            "--client-id", "cli-1", "--as", "op1")
    assert r.exit_code == 0 and "未重复计数" in r.output
    r = cli("production", "progress", order["code"])
    assert r.exit_code == 0 and "20 阀体机加工  ready" in r.output and "在制 / WIP 4" in r.output
    r = cli("production", "dispatch", "--work-center", "WC-MACH")
    assert r.exit_code == 0 and order["code"] in r.output and "可做 / available 4" in r.output
    second = shop.find("operation_task", production_order=order["id"])[1]["code"]
    r = cli("production", "report", second, "--good", "5", "--as", "op1")
    assert r.exit_code == 1 and "最多还能报 4台" in r.output
    r = cli("production", "release", order["code"])
    assert r.exit_code == 1 and "只有「已计划」的工单可以下达" in r.output
    with read_tx(shop.engine) as conn:
        done = conn.execute(sa.text("SELECT good_qty FROM operation_task WHERE code = :c"), {"c": task}).scalar_one()
    assert Decimal(str(done)) == 4


def test_a_production_order_of_its_own_is_left_alone(client: Any, admin: dict[str, str]) -> None:
    """A plant's own production_order (not core's: a product as text, no routing; what the demo pack had
    before 2.0.0) is not the core's: the engine leaves it alone and its own release transition works."""
    from mom.engines.production.documents import is_core

    own = {"format": "mom.form/1", "name": "production_order", "label": {"zh-CN": "生产工单", "en": "Production order"},
           "display_field": "code",
           "fields": [{"id": "p1", "key": "code", "type": "autonumber", "label": {"zh-CN": "工单号", "en": "Order no."}, "pattern": "MO-{yyyyMM}-{seq:4}"},
                      {"id": "p2", "key": "material", "type": "text", "label": {"zh-CN": "产品", "en": "Product"}, "required": True},
                      {"id": "p3", "key": "qty", "type": "integer", "label": {"zh-CN": "计划数量", "en": "Planned qty"}, "min": 1, "required": True},
                      {"id": "p5", "key": "status", "type": "select", "label": {"zh-CN": "状态", "en": "Status"},
                       "options": [{"value": "planned", "label": {"zh-CN": "已计划", "en": "Planned"}},
                                   {"value": "released", "label": {"zh-CN": "已下达", "en": "Released"}}]},
                      {"id": "p6", "key": "released_at", "type": "datetime", "label": {"zh-CN": "下达时间", "en": "Released at"}}],
           "state_machine": {"field": "status", "initial": "planned", "transitions": [
               {"key": "release", "label": {"zh-CN": "下达", "en": "Release"}, "from": ["planned"], "to": "released",
                "set": {"released_at": "now()"}}]}}
    assert client.put("/api/forms/production_order", json=own, headers=admin).status_code == 200
    state_ = client.app.state
    with read_tx(state_.engine) as conn:
        assert not is_core(state_.registry.get(conn, "production_order"))
    r = client.post("/api/records/production_order", json={"material": "阀体", "qty": 5}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(f"/api/records/production_order/{r.json()['id']}/transitions/release", json={}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "released" and r.json()["released_at"]
    # without the core pack the production API says what to install
    for method, path in (("get", "/api/production/dispatch"), ("post", "/api/production/orders/1/release"),
                         ("get", "/api/production/orders/1/progress")):
        r = getattr(client, method)(path, headers=admin)
        assert r.status_code == 404 and "mom pack install core" in r.json()["message"]["zh-CN"], r.text
    r = client.post("/api/production/reports", json={"task": 1, "event": "start"}, headers=admin)
    assert r.status_code == 404 and "制造基础" in r.json()["message"]["zh-CN"]
