"""Job reports are facts; a wrong quantity is put right by a correction (报工更正, issue 19): a new
report of event ``correct`` naming the report and the reason, carrying the change. The task's and the
order's quantities follow; the record API neither edits nor deletes a report; the rules of any report
hold (never below zero, within what reached the operation, the next operation never left with more
than was passed, one correction per client_id, two at once never both counted). SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time
from typing import Any

from mom.engines.production import corrections as C
from mom.engines.records.context import Ctx, actor_by_username
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput
from tests.integration.test_production import Shop, by_seq, shop  # noqa: F401  (the fixture)


def released(shop: Shop, qty: int = 10) -> tuple[dict[str, Any], dict[int, str]]:
    order = shop.order_from_sales_line(qty=qty)
    tasks = {t["seq"]: t["code"] for t in shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]}
    return order, tasks


def correct(shop: Shop, who: str = "sup1", **body: Any) -> Any:
    return shop.client.post("/api/production/reports", json={"event": "correct", **body}, headers=shop.h(who))


def reports_of(shop: Shop, task_code: str) -> list[dict[str, Any]]:
    task_id = shop.find("operation_task", code=task_code)[0]["id"]
    return shop.find("job_report", task=task_id)


def test_a_correction_takes_pieces_back_and_both_reports_stay(shop: Shop) -> None:
    order, tasks = released(shop)
    first = shop.report(tasks[10], "report", good_qty=8)["report"]
    r = correct(shop, corrects=first["code"], good_qty=-2, reason="多报了 2 个")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["corrected"] == {"report": first["code"], "before": {"good_qty": 8, "scrap_qty": 0, "rework_qty": 0},
                                "after": {"good_qty": 6, "scrap_qty": 0, "rework_qty": 0}}
    fix = out["report"]
    assert fix["event"] == "correct" and fix["good_qty"] == -2 and fix["corrects"] == first["id"] and fix["reason"] == "多报了 2 个"
    # it counts for the operator and time of the report it corrects (totals by shift stay right)
    assert fix["operator"] == first["operator"] and fix["reported_at"] == first["reported_at"]
    assert out["task"]["good_qty"] == 6
    p = shop.progress(order["id"])
    assert by_seq(p)[10]["good_qty"] == 6 and by_seq(p)[10]["wip"] == 4
    # the original report is unchanged; the reports of the task add up to the task
    kept = reports_of(shop, tasks[10])
    assert sorted((x["event"], x["good_qty"]) for x in kept) == [("correct", -2), ("report", 8)]
    assert sum(x["good_qty"] for x in kept) == 6
    # adding scrap: its reason is needed when the original had none
    r = correct(shop, corrects=first["code"], scrap_qty=1, reason="漏报报废")
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/scrap_reason"
    r = correct(shop, corrects=first["code"], scrap_qty=1, scrap_reason="R02", reason="漏报报废")
    assert r.status_code == 201, r.text
    assert r.json()["corrected"]["after"] == {"good_qty": 6, "scrap_qty": 1, "rework_qty": 0}
    assert shop.progress(order["id"])["scrap_qty"] == 1
    # the whole report taken back (what a deletion would have meant)
    r = correct(shop, corrects=first["id"], good_qty=-6, scrap_qty=-1, reason="报错了工序")
    assert r.status_code == 201 and r.json()["corrected"]["after"] == {"good_qty": 0, "scrap_qty": 0, "rework_qty": 0}
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 0


def test_what_a_correction_may_not_do(shop: Shop) -> None:
    order, tasks = released(shop)
    first = shop.report(tasks[10], "report", good_qty=6)["report"]
    before = shop.reports()
    r = correct(shop, who="op1", corrects=first["code"], good_qty=-1, reason="x")      # an operator
    assert r.status_code == 403 and r.json()["message"]["zh-CN"].startswith("无权限")
    r = correct(shop, corrects=first["code"], good_qty=-1)                              # no reason
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/reason"
    r = correct(shop, corrects=first["code"], good_qty=0, reason="x")                   # nothing changed
    assert r.status_code == 422 and "没有改变任何数量" in r.json()["message"]["zh-CN"]
    r = correct(shop, corrects=first["code"], good_qty=-7, reason="x")                  # below zero
    assert r.status_code == 422 and "最多只能减 6台" in r.json()["message"]["zh-CN"]
    r = correct(shop, corrects=first["code"], good_qty=5, reason="x")                   # past the order quantity
    assert r.status_code == 422 and "最多还能加 4台" in r.json()["message"]["zh-CN"]
    r = correct(shop, corrects="JR-NO-SUCH", good_qty=-1, reason="x")
    assert r.status_code == 404 and "找不到报工" in r.json()["message"]["zh-CN"]
    fix = correct(shop, corrects=first["code"], good_qty=-1, reason="多报 1 个").json()["report"]
    r = correct(shop, corrects=fix["code"], good_qty=1, reason="x")                     # a correction of a correction
    assert r.status_code == 422 and f"请更正原报工 {first['code']}" in r.json()["message"]["zh-CN"]
    assert shop.reports() == before + 1 and by_seq(shop.progress(order["id"]))[10]["good_qty"] == 5
    # an ordinary report still may not carry a negative quantity
    r = shop.client.post("/api/production/reports", json={"task": tasks[10], "event": "report", "good_qty": -1},
                         headers=shop.h("sup1"))
    assert r.status_code == 422 and "不能为负数" in r.json()["message"]["zh-CN"]


def test_the_next_operation_keeps_what_it_was_passed(shop: Shop) -> None:
    order, tasks = released(shop)
    cast = shop.report(tasks[10], "finish", good_qty=10)["report"]
    shop.report(tasks[20], "report", good_qty=7, scrap_qty=1, scrap_reason="R03")
    r = correct(shop, corrects=cast["code"], good_qty=-3, reason="铸件少了 3 个")
    assert r.status_code == 409, r.text
    zh = r.json()["message"]["zh-CN"]
    assert "下道工序 20 阀体机加工 已报合格 7台、报废 1台，合计 8台" in zh and "请先更正下道工序的报工" in zh
    r = correct(shop, corrects=cast["code"], good_qty=-2, reason="铸件少了 2 个")
    assert r.status_code == 201, r.text
    p = shop.progress(order["id"])
    assert by_seq(p)[10]["good_qty"] == 8 and by_seq(p)[10]["status"] == "done" and by_seq(p)[20]["wip"] == 0


def test_the_record_api_neither_edits_nor_deletes_a_report(shop: Shop) -> None:
    order, tasks = released(shop)
    first = shop.report(tasks[10], "report", good_qty=8)["report"]
    admin = shop.h("admin")
    r = shop.client.patch(f"/api/records/job_report/{first['id']}", json={"row_version": first["row_version"], "good_qty": 5},
                          headers=admin)
    assert r.status_code == 409 and "不能修改" in r.json()["message"]["zh-CN"] and "更正报工" in r.json()["message"]["zh-CN"]
    r = shop.client.delete(f"/api/records/job_report/{first['id']}", headers=admin)
    assert r.status_code == 409 and "不能删除" in r.json()["message"]["zh-CN"] and "更正报工" in r.json()["message"]["zh-CN"]
    r = shop.client.patch(f"/api/records/job_report/{first['id']}",
                          json={"row_version": first["row_version"], "note": "班长已核对"}, headers=admin)
    assert r.status_code == 200 and r.json()["note"] == "班长已核对"                 # a remark may be added
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 8
    # a correction created as a plain record follows the same rules and means the same (the change)
    task_id = shop.find("operation_task", code=tasks[10])[0]["id"]
    r = shop.client.post("/api/records/job_report", json={"task": task_id, "event": "correct", "corrects": first["id"],
                                                          "good_qty": -9, "reason": "x"}, headers=shop.h("sup1"))
    assert r.status_code == 422 and "最多只能减 8台" in r.json()["message"]["zh-CN"]
    r = shop.client.post("/api/records/job_report", json={"task": task_id, "event": "correct", "corrects": first["id"],
                                                          "good_qty": -3, "reason": "多报 3 个"}, headers=shop.h("sup1"))
    assert r.status_code == 201, r.text
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 5


def test_a_repeated_client_id_counts_once(shop: Shop) -> None:
    order, tasks = released(shop)
    first = shop.report(tasks[10], "report", good_qty=8)["report"]
    body = {"corrects": first["code"], "good_qty": -2, "reason": "多报", "client_id": "fix-1"}
    a = correct(shop, **body)
    b = correct(shop, **body)
    assert (a.status_code, b.status_code) == (201, 200) and b.json()["duplicate"] is True
    assert b.json()["report"]["id"] == a.json()["report"]["id"]
    r = correct(shop, **{**body, "good_qty": -3})
    assert r.status_code == 409 and "防重号 fix-1" in r.json()["message"]["zh-CN"]
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 6


def test_two_corrections_at_once_never_take_back_more_than_was_counted(shop: Shop) -> None:
    order, tasks = released(shop)
    first = shop.report(tasks[10], "report", good_qty=6)["report"]
    forms = form_registry()
    gate = threading.Barrier(2)
    results: list[Any] = [None, None]

    def supervisor(i: int, name: str) -> None:
        with read_tx(shop.engine) as conn:
            ctx = Ctx(actor=actor_by_username(conn, name), now=Ctx.system().now)
        gate.wait()
        try:
            with write_tx(shop.engine) as conn:
                results[i] = C.correct(conn, forms, ctx, {"event": "correct", "corrects": first["code"], "good_qty": -4,
                                                          "reason": f"{name} 核对"})
                time.sleep(0.3)
        except InvalidInput as exc:
            results[i] = exc

    threads = [threading.Thread(target=supervisor, args=(i, n)) for i, n in enumerate(("sup1", "plan1"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(refused) == 1 and len([r for r in results if isinstance(r, dict)]) == 1, results
    assert "最多只能减 2台" in refused[0].zh
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 2


def test_corrections_from_the_command_line(shop: Shop, cli: Any) -> None:
    order, tasks = released(shop, qty=5)
    first = shop.report(tasks[10], "report", good_qty=5)["report"]
    r = cli("production", "correct", first["code"], "--good", "-1", "--reason", "多报 1 个", "--as", "sup1")
    assert r.exit_code == 0, r.output
    assert f"-> {first['code']}" in r.output and "合格 / good: 5 -> 4" in r.output
    r = cli("production", "correct", first["code"], "--good", "-9", "--reason", "x", "--as", "sup1")
    assert r.exit_code == 1 and "最多只能减 4台" in r.output
    r = cli("production", "correct", first["code"], "--good", "-1", "--reason", "x", "--as", "op1")
    assert r.exit_code == 1 and "无权限" in r.output
    assert by_seq(shop.progress(order["id"]))[10]["good_qty"] == 4
