"""Production on the shop floor (issue 19 phase 2), in the browser against a server holding the core
pack's demo plant: an operator on a phone scans an operation task of a released order (the QR on the
流转卡), starts it, reports 5, sees an over-report refused in red, finishes with 10 good / 1 scrap and a
reason; a tap whose answer was lost counts once when tapped again; scanning the order lists its
operations; the order's page shows its progress move and releases a planned order with 下达; the
dispatch list shows the open tasks per machine."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from tests.ui.conftest import CORE_USERS, CoreApi, login, shot

# bypass_csp: Playwright's wait_for_function evaluates a string, which the server's policy forbids (see conftest)
PHONE = {"locale": "zh-CN", "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "bypass_csp": True}


class Api(CoreApi):
    """The core server's API as one of CORE_USERS, with the orders this test makes."""

    def new_order(self, qty: int) -> dict[str, Any]:
        item = self.get("/api/records/item", code="FG-V50")["items"][0]
        return self.post("/api/records/production_order", {"item": item["id"], "qty": qty, "due_date": "2030-12-15 17:00"})

    def tasks(self, order_id: int) -> dict[int, dict[str, Any]]:
        return {t["seq"]: t for t in self.get(f"/api/production/orders/{order_id}/progress")["tasks"]}


def plant(iso: str) -> str:
    """An API time (UTC) as the web app shows it in the plant's zone (the default, Asia/Shanghai)."""
    at = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    return at.strftime("%m-%d %H:%M")


def _scan(page, code: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("[data-test=scan-input]")
    box.fill(code)
    box.press("Enter")


def _report(page, event: str, good: str, scrap: str = "", reason: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.click(f"[data-test=task-card] [data-event={event}]")
    form = page.locator("[data-test=report-form]")
    form.locator("[data-test=qty-good]").fill(good)
    if scrap:
        form.locator("[data-test=qty-scrap]").fill(scrap)
    if reason:
        form.locator("[data-test=scrap-reason]").select_option(index=1)
    form.locator("[data-test=report-submit]").click()


def test_operator_scans_starts_reports_and_finishes_a_task(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    planner, operator = Api(core_server, "plan1"), Api(core_server, "op1")
    order = planner.new_order(20)
    released = planner.post(f"/api/production/orders/{order['code']}/release")
    first, second = released["tasks"][0], released["tasks"][1]

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    login(page, core_server, "op1", CORE_USERS["op1"][0])
    page.goto(core_server + "/#/shopfloor")
    page.locator("[data-test=scan-input]").wait_for()
    _scan(page, first["code"])
    card = page.locator("[data-test=task-card]")
    card.wait_for()
    text = card.inner_text()
    for want in (order["code"], "闸阀 DN50", "10 阀体铸造", "中频感应炉 1号", "20台", "可开工"):
        assert want in text, f"{want!r} not on the task card: {text}"
    # a ready task offers 开工 / 报数 / 完工, not 暂停 or 继续
    assert [b.get_attribute("data-event") for b in card.locator("[data-event]").all()] == ["start", "report", "finish"]

    card.locator("[data-event=start]").click()
    page.locator("[data-test=task-card][data-status=running]").wait_for()
    assert card.locator("[data-test=task-status]").inner_text() == "进行中"
    assert [b.get_attribute("data-event") for b in card.locator("[data-event]").all()] == ["pause", "report", "finish"]

    _report(page, "report", "5")
    page.locator("[data-test=prod-ok]", has_text="报数成功").wait_for()
    assert card.locator("[data-test=task-good]").inner_text() == "5"
    assert page.locator("[data-test=report-form]").count() == 0                     # the form closed

    # over-report: 5 + 20 > the order's 20 -> the server's refusal, big and red, nothing counted
    _report(page, "report", "20")
    refusal = page.locator("[data-test=prod-error]")
    refusal.wait_for()
    words = refusal.inner_text()
    assert "不能超过工单数量 20台" in words and "最多还能报 15台" in words, words
    assert refusal.evaluate("e => getComputedStyle(e).color") == "rgb(200, 16, 46)"
    assert float(refusal.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 20
    shot(page, "shopfloor-refusal")
    assert operator.tasks(order["id"])[10]["good_qty"] == 5
    page.locator("[data-test=report-form] [data-test=qty-good]").wait_for()          # still open to correct it
    assert page.locator("[data-test=report-form] [data-test=qty-good]").get_attribute("inputmode") == "decimal"
    page.locator("[data-test=report-form] button[type=button]").click()               # 取消

    # scrap without a reason is asked for before anything is sent
    page.click("[data-test=task-card] [data-event=finish]")
    page.locator("[data-test=qty-scrap]").fill("1")
    page.locator("[data-test=report-submit]").click()
    assert "请选择报废原因" in refusal.inner_text()
    page.locator("[data-test=report-form] button[type=button]").click()

    _report(page, "finish", "10", scrap="1", reason=True)
    page.locator("[data-test=task-card][data-status=done]").wait_for()
    page.locator("[data-test=prod-ok]", has_text="完工成功").wait_for()
    assert card.locator("[data-test=task-good]").inner_text() == "15" and card.locator("[data-test=task-scrap]").inner_text() == "1"
    assert card.locator("[data-event]").count() == 0                                  # a done task takes no more
    shot(page, "shopfloor-task")
    tasks = operator.tasks(order["id"])
    assert (tasks[10]["status"], tasks[10]["good_qty"], tasks[10]["scrap_qty"]) == ("done", 15, 1)
    assert tasks[20]["status"] == "ready" and tasks[20]["wip"] == 15                   # what 阀体铸造 passed on
    reports = operator.get("/api/records/job_report", task=first["id"], limit=50)["items"]
    assert [r["event"] for r in reports] == ["start", "report", "finish"]
    assert reports[-1]["scrap_reason"] is not None and len({r["client_id"] for r in reports}) == 3

    # the order code lists its operations; pick the second, whose 开工 answer is lost on the way back
    _scan(page, order["code"])
    page.locator("[data-test=order-tasks]").wait_for()
    assert page.locator("[data-test=order-tasks] [data-task]").count() == 4
    page.click(f"[data-test=order-tasks] [data-task='{second['code']}']")
    card.wait_for()
    assert "20 阀体机加工" in card.inner_text()
    lost = {"n": 0}

    def drop_first_answer(route) -> None:  # type: ignore[no-untyped-def]
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()        # the server gets it and counts it ...
            route.abort()        # ... but the phone never hears back
        else:
            route.continue_()

    page.route("**/api/production/reports", drop_first_answer)
    card.locator("[data-event=start]").click()
    refusal.wait_for()
    assert "请再点一次「开工」" in refusal.inner_text()
    card.locator("[data-event=start]").click()
    page.locator("[data-test=task-card][data-status=running]").wait_for()
    page.locator("[data-test=prod-ok]", has_text="只计一次").wait_for()
    starts = operator.get("/api/records/job_report", task=second["id"], limit=50)["items"]
    assert [r["event"] for r in starts] == ["start"]                                  # counted once
    phone.close()

    # the order's page: progress, current operation, per-task rows; then it moves as work is reported
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768}, bypass_csp=True,
                               timezone_id="America/New_York")   # times shown in the plant's zone, not the browser's
    page = desk.new_page()
    login(page, core_server, "plan1", CORE_USERS["plan1"][0])
    page.goto(core_server + f"/#/f/production_order/{order['id']}")
    box = page.locator("[data-test=order-progress]")
    box.locator("[data-test=progress-tasks] .el-table__row").nth(3).wait_for()
    assert box.locator("[data-test=order-current]").inner_text() == "20 阀体机加工"
    assert box.locator("[data-test=order-scrap]").inner_text() == "1"
    assert "12-15 17:00" in box.inner_text()                                          # the due date in plant time
    rows = box.locator("[data-test=progress-tasks] .el-table__row")
    assert [rows.nth(i).locator("[data-col=status]").inner_text() for i in range(4)] == ["已完成", "进行中", "待开工", "待开工"]
    assert rows.nth(1).locator("td").nth(2).inner_text() == "15"                      # WIP at 阀体机加工
    assert page.locator("[data-test=release-order]").count() == 0                     # released already
    for task in released["tasks"][1:]:
        operator.post("/api/production/reports", {"task": task["code"], "event": "finish", "good_qty": 15, "client_id": f"t-{task['code']}"})
    page.reload()
    box.locator("[data-test=progress-tasks] .el-table__row").nth(3).wait_for()
    page.wait_for_function("document.querySelector('[data-test=progress-bar]')?.innerText.includes('75%')")
    assert box.locator("[data-test=order-good]").inner_text() == "15"
    shot(page, "order-progress")

    # a planned order: 下达 on its page makes its tasks, listed at once
    planned = planner.new_order(8)
    page.goto(core_server + f"/#/f/production_order/{planned['id']}")
    page.locator("[data-test=release-order]").click()
    box.locator("[data-test=progress-tasks] .el-table__row").nth(3).wait_for()
    assert page.locator("[data-transition=release]").count() == 0 and page.locator("[data-test=release-order]").count() == 0
    assert planner.get(f"/api/records/production_order/{planned['id']}")["status"] == "released"

    # 派工: the open tasks, per machine in planned-start order (times in plant time), filtered by machine
    planner.post("/api/scheduling/plan", {"time_limit": 5, "apply": True})
    assert page.locator("[data-test=nav-dispatch]").inner_text() == "派工"
    page.click("[data-test=nav-dispatch]")
    want = planner.get("/api/production/dispatch")["tasks"]
    page.locator("[data-test=dispatch-task]").nth(len(want) - 1).wait_for()
    assert page.locator("[data-test=dispatch-task]").count() == len(want) == 4
    furnace = page.locator("[data-test=dispatch-group]", has_text="中频感应炉 1号")
    assert furnace.locator("[data-test=dispatch-task]").count() == 1
    assert planned["code"] in furnace.inner_text() and "可开工" in furnace.inner_text()
    first_task = next(t for t in want if t["seq"] == 10)
    assert first_task["planned_start"] and plant(first_task["planned_start"]) in furnace.inner_text()
    shown = [page.locator("[data-test=dispatch-task]").nth(i).get_attribute("data-task") for i in range(4)]
    assert shown == [t["code"] for t in sorted(want, key=lambda t: t["planned_start"])]   # one order: by start
    shot(page, "dispatch")
    page.locator("[data-test=filter-machine]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="FUR-1").first.click()
    page.wait_for_function("document.querySelectorAll('[data-test=dispatch-task]').length === 1")
    desk.close()

    # and on a phone: one column, no sideways scroll
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    login(page, core_server, "op1", CORE_USERS["op1"][0])
    page.goto(core_server + "/#/dispatch")
    page.locator("[data-test=dispatch-task]").nth(3).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dispatch-phone")
    phone.close()
