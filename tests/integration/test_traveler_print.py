"""The 流转卡 (work-order traveler) prints one row per operation task with the task's QR, read with
the printing user's permissions (issue 19); print templates declare the related records they read
(``related``), checked at publish and bounded. SQLite and PostgreSQL."""
from __future__ import annotations

import re
from typing import Any

from tests.integration.test_production import Shop, shop  # noqa: F401  (the fixture)


def released(shop: Shop) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    order = shop.order_from_sales_line(qty=10)
    tasks = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]
    return order, tasks


def traveler(shop: Shop, order_id: int, who: str, fmt: str = "html") -> Any:
    r = shop.client.get("/api/print/traveler", params={"record_id": order_id, "format": fmt}, headers=shop.h(who))
    assert r.status_code == 200, r.text
    return r


def rows_of(page: str) -> list[str]:
    """The task codes printed under their QR codes, in the order printed."""
    return re.findall(r"<span style=\"font-size:6pt\">(OP-[0-9]+-[0-9]+)</span>", page)


def test_the_traveler_prints_each_operation_with_its_qr(shop: Shop) -> None:
    order, tasks = released(shop)
    page = traveler(shop, order["id"], "op1").text
    assert rows_of(page) == [t["code"] for t in sorted(tasks, key=lambda t: t["seq"])]
    assert page.count("<svg") == 1 + len(tasks)                  # the order's QR and one per operation
    for name in ("阀体铸造", "阀体机加工", "装配", "压力试验"):
        assert name in page
    machining = next(t for t in tasks if t["seq"] == 20)
    centre = shop.get(f"/api/records/operation_task/{machining['id']}")["_display"]["work_center"]
    assert centre and centre in page                               # the work centre by name
    assert "工单下达后才有工序任务" not in page
    # the QR carries exactly the code the shop-floor page looks up
    found = shop.get(f"/api/scan?code={machining['code']}", who="op1")
    assert any(m.get("form") == "operation_task" and m.get("title") == machining["code"] for m in found["matches"])


def test_the_traveler_as_pdf(shop: Shop) -> None:
    order, _ = released(shop)
    r = shop.client.get("/api/print/traveler", params={"record_id": order["id"], "format": "pdf"}, headers=shop.h("op1"))
    if r.status_code == 422 and "WeasyPrint" in r.text:          # a server without Pango makes no PDF: said so
        return
    assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:300]


def test_a_planned_order_prints_blank_rows_and_says_why(shop: Shop) -> None:
    order = shop.order_from_sales_line(qty=5)
    page = traveler(shop, order["id"], "op1").text
    assert rows_of(page) == [] and page.count("<svg") == 1 and "工单下达后才有工序任务" in page


def test_rows_follow_the_printing_users_permissions(shop: Shop) -> None:
    order, tasks = released(shop)
    # the plant takes read on operation tasks away from everyone but planners and supervisors
    form = shop.get("/api/forms/operation_task")["definition"]
    form["permissions"] = [p for p in form["permissions"] if p["role"] != "*"]
    r = shop.client.put("/api/forms/operation_task", json=form, headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    assert shop.client.get("/api/records/operation_task", headers=shop.h("op1")).status_code == 403
    page = traveler(shop, order["id"], "op1").text                # the order prints, its tasks do not
    assert order["code"] in page and rows_of(page) == [] and "工单下达后才有工序任务" in page
    assert not any(t["code"] in page for t in tasks)
    page = traveler(shop, order["id"], "sup1").text               # a supervisor still reads them
    assert len(rows_of(page)) == len(tasks)


def _template(**related: Any) -> dict[str, Any]:
    return {"format": "mom.print/1", "name": "ops_list", "form": "production_order",
            "template": "{% for t in related.ops %}<i>{{ t.record.code }}</i>{% endfor %}",
            "related": related or {"ops": {"form": "operation_task", "by": "production_order", "order_by": "-seq",
                                           "limit": 2}}}


def test_related_records_are_checked_at_publish_and_bounded(shop: Shop) -> None:
    admin = shop.h("admin")
    r = shop.client.put("/api/print-templates/ops_list", json=_template(), headers=admin)
    assert r.status_code == 200, r.text
    order, tasks = released(shop)
    page = traveler_page = shop.client.get("/api/print/ops_list", params={"record_id": order["id"]}, headers=admin).text
    want = [t["code"] for t in sorted(tasks, key=lambda t: -t["seq"])][:2]      # sorted as asked, at most 2
    assert re.findall(r"<i>([^<]+)</i>", traveler_page) == want, page
    # mistakes are named with their place
    bad = _template(ops={"form": "operation_task", "by": "work_center"})
    r = shop.client.put("/api/print-templates/ops_list", json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/related/ops/by"
    assert "production_order" in r.json()["problems"][0]["message"]["zh-CN"]          # the field to use
    r = shop.client.put("/api/print-templates/ops_list", json=_template(ops={"form": "no_such", "by": "x"}), headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/related/ops/form"
    r = shop.client.put("/api/print-templates/ops_list",
                        json=_template(ops={"form": "operation_task", "by": "production_order", "order_by": "colour"}),
                        headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/related/ops/order_by"
    r = shop.client.put("/api/print-templates/ops_list",
                        json=_template(ops={"form": "operation_task", "by": "production_order", "limit": 100000}),
                        headers=admin)
    assert r.status_code == 422 and "/related/ops/limit" in r.text
