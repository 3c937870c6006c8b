"""The schedule board: a planner loads a problem, schedules it, reads the board and the reasons for
late orders, drags an operation to pin it and re-plans, and asks what a machine breakdown would do."""
from __future__ import annotations

from tests.ui.conftest import login, shot


def test_plan_drag_and_breakdown_on_the_schedule_board(page, server, api) -> None:
    example = api().get("/api/scheduling/example", orders=12, machines=9)
    n_ops = sum(len(o["operations"]) for o in example["orders"])
    login(page, server, "qc1", "qc1pass123")        # any signed-in user may plan
    page.goto(server + "/#/schedule")
    page.locator("[data-test=sched-source]").get_by_text("示例或文件").click()   # the demo plant has core: it opens on 本厂工单
    page.click("[data-test=sched-example]")
    page.locator("[data-test=sched-loaded]").wait_for()
    assert "12 个订单" in page.locator("[data-test=sched-loaded]").inner_text()
    page.click("[data-test=sched-solve]")
    page.locator("[data-test=sched-kpis]").wait_for(timeout=60_000)
    assert page.locator("[data-test=sched-feasible]").inner_text() == "可行"
    board = page.locator("[data-test=sched-gantt]")
    page.wait_for_function("document.querySelector('[data-test=sched-gantt]').dataset.bars > 0")
    assert int(board.get_attribute("data-bars")) == n_ops     # one bar per operation, on its machine's row
    late = int(page.locator("[data-test=kpi-late]").inner_text())
    assert page.locator("[data-test=sched-explanations] li").count() == late
    shot(page, "schedule-board")

    # drag the widest bar in view to the right: it becomes a pin to re-plan with
    board.scroll_into_view_if_needed()
    centre = page.evaluate("""() => {
        const el = document.querySelector('[data-test=sched-gantt]')
        const all = [...Array(Number(el.dataset.bars)).keys()].map((i) => el.barCenter(i)).filter((b) => b.visible)
        return all.sort((a, b) => b.width - a.width)[0]
    }""")
    box = board.bounding_box()
    assert centre is not None and box is not None
    x, y = box["x"] + centre["x"], box["y"] + centre["y"]
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + 6 * k, y)
    page.mouse.up()
    page.locator("[data-test=sched-pins] .el-tag").first.wait_for()
    assert "→" in page.locator("[data-test=sched-pins]").inner_text()
    assert "按 1 处拖动重排" in page.locator("[data-test=sched-solve]").inner_text()
    page.click("[data-test=sched-solve]")
    # the server either re-plans around the pin (it is then pinned there) or says why it cannot be there
    page.wait_for_function("""() => document.querySelector('[data-test=sched-moved]') || document.querySelector('[role=alert]')""",
                           timeout=60_000)
    alert = page.locator("[role=alert]")
    if alert.count():
        assert "pinned" in alert.inner_text()          # the path of the refused pin, e.g. /problem/orders/3/operations/2/pinned
    else:
        assert page.locator("[data-test=sched-feasible]").inner_text() == "可行"

    # breakdown what-if on the first machine: a new feasible plan and how many operations moved
    page.locator("[data-test=sched-pins] .el-button").click()     # clear the moves
    page.click("[data-test=bd-run]")
    page.locator("[data-test=sched-impact]").wait_for(timeout=60_000)
    assert page.locator("[data-test=sched-feasible]").inner_text() == "可行"
    assert int(page.locator("[data-test=sched-moved]").inner_text()) >= 0
