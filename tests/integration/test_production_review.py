"""A hostile review's findings on job reports and master data (issue 19), each shut: scrap counted
against the limit like good, scrap without its reason, an operator reporting as someone else or at
another time, a repeated client_id with other numbers, a report that counts nothing, an order finished
by hand, a BOM that uses itself, a routing machine of another work centre. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from mom.engines.records.context import actor_by_username
from mom.platform.db.engine import read_tx
from tests.integration.test_production import Shop, by_seq, shop  # noqa: F401  (the fixture)


def released(shop: Shop, qty: int = 10) -> tuple[dict[str, Any], dict[int, str]]:
    order = shop.order_from_sales_line(qty=qty)
    tasks = {t["seq"]: t["code"] for t in shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]}
    return order, tasks


def post_report(shop: Shop, who: str = "op1", **body: Any) -> Any:
    return shop.client.post("/api/production/reports", json=body, headers=shop.h(who))


def test_scrap_counts_against_what_reached_the_operation(shop: Shop) -> None:
    order, tasks = released(shop)
    shop.report(tasks[10], "report", good_qty=8)
    r = post_report(shop, task=tasks[10], event="report", good_qty=1, scrap_qty=2, scrap_reason="R02")
    assert r.status_code == 422, r.text
    zh = r.json()["message"]["zh-CN"]
    assert "合格数加报废数不能超过工单数量 10台" in zh and "已报合格 8台" in zh and "本次合格 1台、报废 2台" in zh
    assert "合计 11台" in zh and "最多还能报 2台" in zh
    assert r.json()["problems"][0]["path"] == "/scrap_qty"
    # scrap reported before also counts against good reported later
    shop.report(tasks[10], "report", scrap_qty=1, scrap_reason="R02")
    r = post_report(shop, task=tasks[10], event="finish", good_qty=2)
    assert r.status_code == 422 and "最多还能报 1台" in r.json()["message"]["zh-CN"]
    out = shop.report(tasks[10], "finish", good_qty=1)
    assert out["task"]["status"] == "done" and out["order"]["scrap_qty"] == 1
    # the next operation: what reached it is the 9 good of casting
    r = post_report(shop, task=tasks[20], event="report", good_qty=9, scrap_qty=1, scrap_reason="R03")
    assert r.status_code == 422 and "上道工序 10 阀体铸造 的合格数 9台" in r.json()["message"]["zh-CN"]
    assert by_seq(shop.progress(order["id"]))[20]["good_qty"] == 0


def test_scrap_without_its_reason_and_a_report_of_nothing_are_refused(shop: Shop) -> None:
    order, tasks = released(shop)
    before = shop.reports()
    r = post_report(shop, task=tasks[10], event="report", good_qty=2, scrap_qty=1)
    assert r.status_code == 422
    assert r.json()["message"]["zh-CN"].startswith("有报废数量时请选择报废原因")
    assert [p["path"] for p in r.json()["problems"]] == ["/scrap_reason"]
    # the same rule for a job report created as a plain record
    task_id = shop.find("operation_task", code=tasks[10])[0]["id"]
    r = shop.client.post("/api/records/job_report", json={"task": task_id, "event": "report", "scrap_qty": 1},
                         headers=shop.h("op1"))
    assert r.status_code == 422 and "有报废数量时请选择报废原因" in r.json()["message"]["zh-CN"]
    r = post_report(shop, task=tasks[10], event="report")
    assert r.status_code == 422 and "本次报工没有数量" in r.json()["message"]["zh-CN"]
    r = post_report(shop, task=tasks[10], event="report", good_qty=0, scrap_qty=0)
    assert r.status_code == 422 and "本次报工没有数量" in r.json()["message"]["zh-CN"]
    assert shop.reports() == before and by_seq(shop.progress(order["id"]))[10]["status"] == "ready"
    # start and finish carry no quantity
    shop.report(tasks[10], "start")
    shop.report(tasks[10], "report", good_qty=10)
    out = shop.report(tasks[10], "finish")
    assert out["task"]["status"] == "done" and out["task"]["good_qty"] == 10


def test_an_operator_reports_as_themselves_and_now(shop: Shop) -> None:
    _, tasks = released(shop)
    with read_tx(shop.engine) as conn:
        op2 = actor_by_username(conn, "op2").id
    r = post_report(shop, task=tasks[10], event="report", good_qty=2, operator=op2)
    assert r.status_code == 403 and "操作工只能以自己的名义报工" in r.json()["message"]["zh-CN"]
    r = post_report(shop, task=tasks[10], event="report", good_qty=2, reported_at="2020-01-01 08:00")
    assert r.status_code == 422 and "报工时间由系统记录，不能改" in r.json()["message"]["zh-CN"]
    assert shop.reports() == 0
    # a supervisor enters a late report for op2 (a correction)
    out = shop.report(tasks[10], "report", who="sup1", good_qty=2, operator=op2, reported_at="2030-01-01 08:00")
    assert out["report"]["operator"] == op2 and out["report"]["reported_at"].startswith("2030-01-01")
    # the operator's own report, the time left out, is fine
    assert shop.report(tasks[10], "report", good_qty=1)["task"]["good_qty"] == 3


def test_a_repeated_client_id_with_other_numbers_is_refused(shop: Shop) -> None:
    order, tasks = released(shop)
    body = {"task": tasks[10], "event": "report", "good_qty": 3, "client_id": "scan-1"}
    assert post_report(shop, **body).status_code == 201
    r = post_report(shop, **{**body, "good_qty": 4})
    assert r.status_code == 409
    zh = r.json()["message"]["zh-CN"]
    assert "防重号 scan-1" in zh and "合格数 第一次 3、这次 4" in zh
    r = post_report(shop, **{**body, "event": "finish"})
    assert r.status_code == 409 and "事件 第一次「报数」、这次「完工」" in r.json()["message"]["zh-CN"]
    again = post_report(shop, **body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert shop.reports() == 1 and by_seq(shop.progress(order["id"]))[10]["good_qty"] == 3


def test_only_the_engine_starts_and_finishes_an_order(shop: Shop) -> None:
    order, tasks = released(shop, qty=2)
    doc = shop.get(f"/api/records/production_order/{order['id']}", who="plan1")
    r = shop.client.patch(f"/api/records/production_order/{order['id']}",
                          json={"row_version": doc["row_version"], "status": "started"}, headers=shop.h("plan1"))
    assert r.status_code in (403, 409, 422), r.text
    shop.report(tasks[10], "start")
    doc = shop.get(f"/api/records/production_order/{order['id']}", who="plan1")
    assert doc["status"] == "started"                              # the engine's own move
    r = shop.client.patch(f"/api/records/production_order/{order['id']}",
                          json={"row_version": doc["row_version"], "status": "finished"}, headers=shop.h("plan1"))
    assert r.status_code in (403, 409, 422), r.text
    assert shop.get(f"/api/records/production_order/{order['id']}")["status"] == "started"
    # cancel stays the planner's way out
    r = shop.client.patch(f"/api/records/production_order/{order['id']}",
                          json={"row_version": doc["row_version"], "status": "cancelled"}, headers=shop.h("plan1"))
    assert r.status_code == 200, r.text
    assert shop.get(f"/api/records/production_order/{order['id']}")["status"] == "cancelled"


def test_a_bom_that_uses_itself_is_refused_naming_the_items(shop: Shop) -> None:
    bom = shop.find("bom", code="BOM-FG-V50")[0]
    lines = [{k: v for k, v in ln.items() if k not in ("id", "_display")} for ln in bom["lines"]]
    r = shop.client.patch(f"/api/records/bom/{bom['id']}", headers=shop.h("admin"), json={
        "row_version": bom["row_version"], "lines": [*lines, {"line_no": 99, "component": bom["item"], "qty_per": 1}]})
    assert r.status_code == 422, r.text
    zh = r.json()["message"]["zh-CN"]
    assert "不能用它自己做组件" in zh and "BOM-FG-V50" in zh
    assert len(shop.find("bom", code="BOM-FG-V50")[0]["lines"]) == len(lines)       # nothing written
    # a component's BOM that leads back: 阀盖 made of the valve that uses it
    cover = lines[1]["component"]
    cover_name = shop.get(f"/api/records/item/{cover}")["name"]
    valve_name = shop.get(f"/api/records/item/{bom['item']}")["name"]
    r = shop.client.post("/api/records/bom", headers=shop.h("admin"), json={
        "code": "BOM-LOOP", "item": cover, "version": "A", "status": "active", "base_qty": 1,
        "lines": [{"line_no": 10, "component": bom["item"], "qty_per": 1}]})
    assert r.status_code == 422, r.text
    zh = r.json()["message"]["zh-CN"]
    assert f"{cover_name} → {valve_name} → {cover_name}" in zh and "绕回了物料" in zh
    assert shop.find("bom", code="BOM-LOOP") == []
    # an acyclic BOM of the same component saves
    other = lines[2]["component"]
    r = shop.client.post("/api/records/bom", headers=shop.h("admin"), json={
        "code": "BOM-OK", "item": cover, "version": "A", "status": "active", "base_qty": 1,
        "lines": [{"line_no": 10, "component": other, "qty_per": 1}]})
    assert r.status_code == 201, r.text


def test_a_routing_machine_of_another_work_centre_is_refused(shop: Shop) -> None:
    routing = shop.find("routing", code="RT-FG-V50")[0]
    ops = [{k: v for k, v in op.items() if k not in ("id", "_display")} for op in routing["operations"]]
    machines = shop.find("machine")
    first = ops[0]
    stranger = next(m for m in machines if m["work_center"] != first["work_center"])
    wc_names = {w["id"]: w["name"] for w in shop.find("work_center")}
    ops[0] = {**first, "machine": stranger["id"]}
    r = shop.client.patch(f"/api/records/routing/{routing['id']}", headers=shop.h("admin"),
                          json={"row_version": routing["row_version"], "operations": ops})
    assert r.status_code == 422, r.text
    zh = r.json()["message"]["zh-CN"]
    assert f"的设备 {stranger['name']} 属于工作中心 {wc_names[stranger['work_center']]}，不属于 {wc_names[first['work_center']]}" in zh
    assert r.json()["problems"][0]["path"] == "/operations/0/machine"
    assert shop.find("routing", code="RT-FG-V50")[0]["operations"][0]["machine"] == first["machine"]
