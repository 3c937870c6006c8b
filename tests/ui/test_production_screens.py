"""The production screens of docs/production.md (issue 19 phase 2), taken on a core --demo plant of their own
with real work on it: a planner releases an order with 下达 on its page and plans, an operator reports on the
first operations, then on a phone scans the second and reports 12 good / 1 scrap; the order's progress panel,
the 派工 list, the 生产看板 dashboard and, after CNC-1 breaks down, the 排程调整建议 the core pack's rule made
(its record page is checked but not pictured: its 调整明细 table shows ids and UTC times for now).
Each screen is checked for what the picture is meant to show, then saved with shot() as production-*.png
(test-results/screenshots; MOM_SCREENSHOTS=docs/screenshots refreshes the documentation's pictures).

Its own server, not the shared core_server: the breakdown and the open orders would change what the other
browser tests of the core plant count."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.ui.conftest import CORE_USERS, _serve, core_database, login, shot
from tests.ui.test_shop_floor_production import PHONE, Api

TZ = ZoneInfo("Asia/Shanghai")
# the plant's own zone, so the record form's date pickers read as the progress panel does
DESK = {"locale": "zh-CN", "viewport": {"width": 1366, "height": 768}, "bypass_csp": True, "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server on a database of its own holding the core pack with its demo plant and CORE_USERS; the
    engine and settings too, for running the background worker (the breakdown rule) in the test."""
    from mom.platform.api.app import create_app
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings

    data: Path = tmp_path_factory.mktemp("ui-production")
    url = core_database(data)
    settings = Settings(data_dir=data, database_url=url)
    engine = make_engine(url)
    for base in _serve(create_app(settings, engine, migrate=False)):
        yield {"base": base, "engine": engine, "settings": settings}
    engine.dispose()


def _due(days: int) -> str:
    """17:00 in the plant, ``days`` from today: the orders stay on time whatever day the test runs."""
    day = dt.datetime.now(TZ).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(17, 0), tzinfo=TZ).isoformat()


def _new_order(api: Api, item: str, qty: int, days: int, priority: int, sales_order: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"item": api.get("/api/records/item", code=item)["items"][0]["id"], "qty": qty,
                           "due_date": _due(days), "priority": priority}
    if sales_order:
        doc["sales_order"] = api.get("/api/records/sales_order", code="SO-DEMO-001")["items"][0]["id"]
    return api.post("/api/records/production_order", doc)


def _breakdown(plant: dict[str, Any], planner: Api, machine: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``machine`` set to 故障停机 through the records API; the worker runs the core pack's rule, which stores a
    proposal. Down for 48 h, so the outage covers planned work whatever hour the test runs at."""
    import httpx

    from mom.platform.settings import get_settings
    from mom.platform.worker import Worker

    rec = planner.get("/api/records/machine", code=machine)["items"][0]
    r = httpx.patch(plant["base"] + f"/api/records/machine/{rec['id']}", headers=planner.h,
                    json={"status": "down", "row_version": rec["row_version"]})
    assert r.status_code == 200, r.text
    monkeypatch.setenv("MOM_PRODUCTION_BREAKDOWN_HOURS", "48")
    get_settings.cache_clear()
    try:
        got = Worker(plant["engine"], plant["settings"], name="ui-production").drain()
    finally:
        monkeypatch.delenv("MOM_PRODUCTION_BREAKDOWN_HOURS")
        get_settings.cache_clear()
    assert got["failed"] == 0, got
    found = planner.get("/api/production/proposals", status="pending")["proposals"]
    assert len(found) == 1, found
    return found[0]


def test_production_screens(browser, plant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base = plant["base"]
    planner, operator = Api(base, "plan1"), Api(base, "op1")
    valve = _new_order(planner, "FG-V50", 50, 13, 3)
    bonnet = _new_order(planner, "SF-C50", 20, 8, 4)

    # 工单: a planned order offers 下达; releasing it lists its four operations at once
    desk = browser.new_context(**DESK)
    page = desk.new_page()
    login(page, base, "plan1", CORE_USERS["plan1"][0])
    page.goto(base + f"/#/f/production_order/{valve['id']}")
    page.locator("[data-test=release-order]").wait_for()
    shot(page, "production-order-planned")
    page.locator("[data-test=release-order]").click()
    box = page.locator("[data-test=order-progress]")
    box.locator("[data-test=progress-tasks] .el-table__row").nth(3).wait_for()
    assert planner.get(f"/api/records/production_order/{valve['id']}")["status"] == "released"
    planner.post(f"/api/production/orders/{bonnet['code']}/release")
    plan = planner.post("/api/scheduling/plan", {"time_limit": 5, "apply": True})
    assert plan["written"], plan

    # the operator's first reports (a scanner, through the API): casting done with 2 scrapped, machining started
    tasks = {t["seq"]: t for t in operator.get(f"/api/production/orders/{valve['id']}/progress")["tasks"]}
    for n, (seq, event, good, scrap) in enumerate([(10, "start", 0, 0), (10, "report", 30, 2), (10, "finish", 18, 0),
                                                   (20, "start", 0, 0), (20, "report", 18, 0)]):
        body: dict[str, Any] = {"task": tasks[seq]["code"], "event": event, "good_qty": good, "scrap_qty": scrap,
                                "client_id": f"shot-{n}"}
        if scrap:
            body["scrap_reason"] = "R01"
        operator.post("/api/production/reports", body)

    # 报工 on a phone: scan the machining task, 报数 12 good / 1 scrap with a reason
    phone = browser.new_context(**PHONE, timezone_id="Asia/Shanghai")
    mobile = phone.new_page()
    login(mobile, base, "op1", CORE_USERS["op1"][0])
    mobile.goto(base + "/#/shopfloor")
    scan = mobile.locator("[data-test=scan-input]")
    scan.fill(tasks[20]["code"])
    scan.press("Enter")
    card = mobile.locator("[data-test=task-card][data-status=running]")
    card.wait_for()
    assert "20 阀体机加工" in card.inner_text() and card.locator("[data-test=task-good]").inner_text() == "18"
    card.locator("[data-event=report]").click()
    form = mobile.locator("[data-test=report-form]")
    form.locator("[data-test=qty-good]").fill("12")
    form.locator("[data-test=qty-scrap]").fill("1")
    form.locator("[data-test=scrap-reason]").select_option(index=1)
    form.locator("[data-test=report-submit]").scroll_into_view_if_needed()
    shot(mobile, "production-shopfloor-report")
    form.locator("[data-test=report-submit]").click()
    mobile.locator("[data-test=prod-ok]", has_text="报数成功").wait_for()
    assert card.locator("[data-test=task-good]").inner_text() == "30"
    mobile.evaluate("window.scrollTo(0, 0)")
    shot(mobile, "production-shopfloor-done")
    phone.close()

    # the order's progress panel: 阀体铸造 done, 阀体机加工 running with 30 good, WIP 18 at 装配
    page.reload()                    # the same page as before the reports: read it again
    box.locator("[data-test=progress-tasks] .el-table__row").nth(3).wait_for()
    assert box.locator("[data-test=order-current]").inner_text() == "20 阀体机加工"
    assert box.locator("[data-test=order-scrap]").inner_text() == "3"
    rows = box.locator("[data-test=progress-tasks] .el-table__row")
    assert [rows.nth(i).locator("[data-col=status]").inner_text() for i in range(4)] == ["已完成", "进行中", "可开工", "待开工"]
    box.scroll_into_view_if_needed()
    shot(page, "production-order-progress")

    # 派工: the open tasks per machine in planned-start order
    page.goto(base + "/#/dispatch")
    want = operator.get("/api/production/dispatch")["tasks"]
    page.locator("[data-test=dispatch-task]").nth(len(want) - 1).wait_for()
    assert page.locator("[data-test=dispatch-task]").count() == len(want) == 5
    shot(page, "production-dispatch")

    # the bonnets are made and tested: a finished order on time for the board's on-time rate
    for n, task in enumerate(operator.get(f"/api/production/orders/{bonnet['id']}/progress")["tasks"]):
        operator.post("/api/production/reports", {"task": task["code"], "event": "finish", "good_qty": 20,
                                                   "client_id": f"shot-bonnet-{n}"})
    assert planner.get(f"/api/records/production_order/{bonnet['id']}")["status"] == "finished"

    # 生产看板: the core pack's dashboard over the same reports
    page.goto(base + "/#/d/production_board")
    page.locator("[data-widget=on_time_rate] [data-test=kpi-value]", has_text="100").wait_for()
    page.locator("[data-widget=output] canvas").first.wait_for()
    page.locator("[data-widget=wip] canvas").first.wait_for()
    page.wait_for_timeout(800)       # the charts' entry animation
    shot(page, "production-dashboard")

    # CNC-1 breaks down: the core pack's rule proposes a plan without it; the planner sees what would move
    proposal = _breakdown(plant, planner, "CNC-1", monkeypatch)
    assert proposal["changes"], proposal
    found = planner.get("/api/records/schedule_proposal", code=proposal["code"])["items"][0]
    page.goto(base + f"/#/f/schedule_proposal/{found['id']}")
    page.get_by_text(proposal["code"]).first.wait_for()
    page.locator(".el-table__row").first.wait_for()
    assert "待确认" in page.inner_text("body") and "故障停机" in page.inner_text("body")
    page.goto(base + "/#/f/schedule_proposal")
    page.locator(".el-table__row", has_text=proposal["code"]).wait_for()
    shot(page, "production-proposals")
    desk.close()
