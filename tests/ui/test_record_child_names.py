"""A record's child tables show names, not ids, and times on the plant's clock; a record the user may
not change offers no 保存 (core pack demo plant, core_server).

The administrator opens BOM 1: its lines name their components. A planner opens a schedule proposal
(every field read-only to them): its changes name the order, the task and the machines, show the
times in plant time (Asia/Shanghai), and the page has no 保存 button."""
from __future__ import annotations

import re
from tests.ui.conftest import CORE_USERS, CoreApi, login


Api = CoreApi


def _cells(page, table_key: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    rows = page.locator(f"[data-item={table_key}] .el-table__body-wrapper .el-table__row")
    rows.first.wait_for()
    return [[c.strip() for c in r.locator("td").all_inner_texts()] for r in rows.all()]


def test_child_tables_show_names_and_plant_times(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    base = core_server
    admin, planner = Api(base, "admin"), Api(base, "plan1")
    bom = admin.get("/api/records/bom/1")
    names = [line["_display"]["component"] for line in bom["lines"]]

    # a schedule proposal moving a task of a released order from one machine to another
    item = planner.get("/api/records/item", code="FG-V50")["items"][0]
    order = planner.post("/api/records/production_order", {"item": item["id"], "qty": 5, "due_date": "2030-12-15 17:00"})
    planner.post(f"/api/production/orders/{order['code']}/release")
    task = planner.get("/api/records/operation_task", production_order=order["id"], sort="id")["items"][0]
    m1, m2 = planner.get("/api/records/machine", sort="id", limit=2)["items"]
    proposal = admin.post("/api/records/schedule_proposal", {
        "reason": "breakdown", "machine": m1["id"], "summary": "child names",
        "changes": [{"production_order": order["id"], "task": task["id"], "old_machine": m1["id"], "new_machine": m2["id"],
                     "old_start": "2026-12-03T01:00:00Z", "new_start": "2026-12-02T17:30:00Z"}]})

    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    login(page, base, "admin", CORE_USERS["admin"][0])
    page.goto(base + "/#/f/bom/1")
    lines = _cells(page, "lines")
    shown = " ".join(" ".join(r) for r in lines)
    assert all(n in shown for n in names), (names, lines)
    assert page.locator("[data-test=save]").is_visible()      # the administrator may change a BOM
    ctx.close()

    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    login(page, base, "plan1", CORE_USERS["plan1"][0])
    page.goto(base + f"/#/f/schedule_proposal/{proposal['id']}")
    (row,) = _cells(page, "changes")
    text = " ".join(row)
    for name in (order["code"], task["code"], m1["name"], m2["name"]):
        assert name in text, (name, row)
    assert "2026-12-03 09:00" in text and "2026-12-03 01:30" in text, row   # plant time, not "…T01:00:00Z"
    assert not re.search(r"\dT\d|Z\b", text), row
    assert page.locator("[data-test=save]").count() == 0     # every field is read-only to the planner
    ctx.close()
