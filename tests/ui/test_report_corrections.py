"""Correcting a job report on the shop-floor page (报工更正, issue 19): a planner scans the operation,
opens 更正报工, picks the report, types what it should have counted and why; the report stays, a
correction is added and the card shows the new quantity. An operator is not offered the button."""
from __future__ import annotations

from tests.ui.conftest import CORE_USERS, login, shot
from tests.ui.test_shop_floor_production import PHONE, Api, _scan


def test_a_planner_corrects_a_report_on_the_shop_floor(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    planner, operator = Api(core_server, "plan1"), Api(core_server, "op1")
    order = planner.new_order(10)
    first = planner.post(f"/api/production/orders/{order['code']}/release")["tasks"][0]
    wrong = operator.post("/api/production/reports", {"task": first["code"], "event": "report", "good_qty": 8})["report"]

    # the operator's card has no 更正 button
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    login(page, core_server, "op1", CORE_USERS["op1"][0])
    page.goto(core_server + "/#/shopfloor")
    page.locator("[data-test=scan-input]").wait_for()
    _scan(page, first["code"])
    page.locator("[data-test=task-card]").wait_for()
    assert page.locator("[data-test=correct-open]").count() == 0
    phone.close()

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    login(page, core_server, "plan1", CORE_USERS["plan1"][0])
    page.goto(core_server + "/#/shopfloor")
    page.locator("[data-test=scan-input]").wait_for()
    _scan(page, first["code"])
    card = page.locator("[data-test=task-card]")
    card.wait_for()
    card.locator("[data-test=correct-open]").click()
    form = page.locator("[data-test=correct-form]")
    form.wait_for()
    assert wrong["code"] in form.locator("[data-test=correct-report]").inner_text()
    assert form.locator("[data-test=fix-good]").input_value() == "8"          # what it counts now
    form.locator("[data-test=fix-good]").fill("6")
    form.locator("[data-test=correct-submit]").click()
    page.locator("[data-test=prod-error]", has_text="请填写更正原因").wait_for()   # the reason first
    form.locator("[data-test=fix-reason]").fill("多报了 2 个")
    shot(page, "production-shopfloor-correct")
    form.locator("[data-test=correct-submit]").click()
    page.locator("[data-test=prod-ok]", has_text="更正").wait_for()
    page.locator("[data-test=task-good]", has_text="6").wait_for()
    assert page.locator("[data-test=correct-form]").count() == 0

    reports = planner.get("/api/records/job_report", task=first["id"], sort="id")["items"]
    assert [(r["event"], r["good_qty"]) for r in reports] == [("report", 8), ("correct", -2)]
    assert reports[1]["corrects"] == wrong["id"] and reports[1]["reason"] == "多报了 2 个"
    # opened again, the report counts 6 now
    card.locator("[data-test=correct-open]").click()
    assert page.locator("[data-test=fix-good]").input_value() == "6"
    phone.close()
