"""The schedule board on the plant's orders (issue 19, phase 2): a planner opens the board on a core --demo
plant, re-plans the released orders (a preview: late orders, moves), saves the plan, drags a bar to pin it
(the pin is written on the task), re-plans and saves again: the pinned bar stays where it was dropped."""
from __future__ import annotations

import datetime as dt
from typing import Any

from tests.ui.conftest import CORE_USERS, login, shot
from tests.ui.test_shop_floor_production import Api


def _task(api: Api, code: str) -> dict[str, Any]:
    return api.get("/api/records/operation_task", code=code)["items"][0]


def _replan_and_save(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-test=sched-replan]")
    page.locator("[data-test=plant-preview]").wait_for(timeout=60_000)
    page.click("[data-test=sched-save]")
    page.locator("[data-test=plant-preview]").wait_for(state="detached", timeout=60_000)


def test_planner_replans_saves_and_pins_a_bar_that_stays(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    planner = Api(core_server, "plan1")
    codes = []
    for qty in (12, 18):
        order = planner.new_order(qty)
        planner.post(f"/api/production/orders/{order['code']}/release")
        codes.append(order["code"])

    page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, bypass_csp=True).new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, core_server, "plan1", CORE_USERS["plan1"][0])
    page.goto(core_server + "/#/schedule")
    page.locator("[data-test=plant-notes]").wait_for()
    assert "本厂工单" in page.locator("[data-test=sched-source]").inner_text()
    page.locator("[data-test=sched-replan]").wait_for()
    _replan_and_save(page)
    page.wait_for_function("document.querySelector('[data-test=sched-gantt]')?.dataset.bars > 0")
    current = planner.get("/api/scheduling/current")
    assert not set(codes) & set(current["unplanned"])
    n_bars = int(page.locator("[data-test=sched-gantt]").get_attribute("data-bars"))
    assert n_bars == len(current["solution"]["gantt"]["tasks"])
    shot(page, "schedule-board-plant")

    # drag the widest bar of our orders in view to the right: it is pinned there on the server
    board = page.locator("[data-test=sched-gantt]")
    board.scroll_into_view_if_needed()
    bar = page.evaluate("""(codes) => {
        const el = document.querySelector('[data-test=sched-gantt]')
        const all = [...Array(Number(el.dataset.bars)).keys()].map((i) => el.barCenter(i))
        return all.filter((b) => b.visible && codes.includes(b.order)).sort((a, b) => b.width - a.width)[0]
    }""", codes)
    box = board.bounding_box()
    assert bar is not None and box is not None
    before = _task(planner, bar["task"])
    x, y = box["x"] + bar["x"], box["y"] + bar["y"]
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y)
    page.mouse.move(x + 80, y, steps=15)
    page.mouse.up()
    pins = page.locator("[data-test=sched-pins]")
    pins.wait_for(timeout=20_000)
    assert bar["task"] in pins.inner_text()
    pinned = _task(planner, bar["task"])
    assert pinned["pinned"] is True and pinned["planned_start"] > before["planned_start"]
    assert bar["task"] in planner.get("/api/scheduling/current")["pinned"]

    # re-plan and save: the pinned task keeps its slot and its pin
    _replan_and_save(page)
    after = _task(planner, bar["task"])
    assert after["pinned"] is True
    assert (after["planned_start"], after["machine"]) == (pinned["planned_start"], pinned["machine"])
    assert bar["task"] in page.locator("[data-test=sched-pins]").inner_text()
    shot(page, "schedule-board-plant-pinned")

    # unpin from the tag: the pin is gone on the server
    page.locator(f"[data-test=sched-pin]:has-text('{bar['task']}') .el-tag__close").click()
    page.wait_for_function("(t) => !document.querySelector('[data-test=sched-pins]')?.innerText.includes(t)", arg=bar["task"])
    assert _task(planner, bar["task"])["pinned"] is False
    assert errors == []
    page.context.close()
