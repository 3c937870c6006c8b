"""The MRP workbench (物料需求计划, issue 21 item 6) on a core --demo plant of its own, as the planner plan1:
the menu entry opens it with no run yet; 运行 MRP (全部重排, 按周, 26 周) shows the run's summary in Chinese and its
suggestions (生产/采购, exceptions as coloured tags); the pegging drawer (需求来源) of 闸阀 DN50's suggestion names
the demo's sales order SO-DEMO-001 (50 闸阀 due 2026-12-15, modelpacks/core/demo/sales_order.json); selecting it
and 确认 shows what will be created, then creates one planned production order (docs/mrp.md, "Confirm") and the
suggestion becomes 已确认; the same screen on a 390 px phone lists the suggestions and its 确认 button fits.
Screenshots mrp-workbench.png, mrp-pegging.png, mrp-phone.png."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import CoreApi, login, shot


@pytest.fixture(scope="module")
def plant(core_server: str) -> Iterator[str]:
    yield core_server


def test_run_review_peg_and_confirm(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    login(page, plant, "plan1", "plan1pass123")
    page.click("[data-test=nav-mrp]")
    page.wait_for_selector("[data-test=mrp-none]")
    assert "物料需求计划" in page.locator("h2").first.inner_text()
    page.click("[data-test=mrp-run]")
    summary = page.locator("[data-test=mrp-summary]")
    summary.wait_for()
    text = summary.inner_text()
    assert "（全部重排）已完成" in text and "建议" in text and "例外" in text
    table = page.locator("[data-test=mrp-table]")
    table.locator("[data-col=kind]").first.wait_for()
    kinds = set(table.locator("[data-col=kind]").all_inner_texts())
    assert kinds <= {"生产", "采购"} and "生产" in kinds
    exceptions = set(table.locator("[data-col=exception]").all_inner_texts())
    assert exceptions <= {"延迟", "加急", "推迟", "取消"}
    shot(page, "mrp-workbench")

    # 闸阀 DN50's suggestion that serves the demo's sales order SO-DEMO-001 (the other one is for safety stock)
    api = CoreApi(plant, "plan1")
    run = api.get("/api/mrp/runs", limit=1)["runs"][0]["code"]
    fg = [s for s in api.get(f"/api/mrp/runs/{run}", item="FG-V50")["suggestions"]
          if any(p["demand_kind"] == "sales_order" for p in s["pegging"])][0]
    page.fill("input[data-test=mrp-search]", "闸阀")
    row = table.locator("tbody tr", has_text="闸阀 DN50").filter(has_text=fg["due_date"]).first
    row.wait_for()
    row.locator("[data-test=mrp-peg]").click()
    drawer = page.locator("[data-test=mrp-peg-drawer]")
    drawer.locator("[data-test=peg-top]").first.wait_for()
    assert "销售订单" in drawer.inner_text() and "SO-DEMO-001" in drawer.inner_text()
    # the drawer explains the figure (review issue 21 #9): its parts, the item's safety stock and lot rule, the stock now
    why = drawer.locator("[data-test=mrp-why]").inner_text()
    assert "需求" in why and "安全库存" in why and "批量规则" in why and "当前可用现存" in why
    assert fg["unit"] and fg["unit"] in why
    shot(page, "mrp-pegging")
    page.keyboard.press("Escape")
    drawer.locator("[data-test=peg-top]").first.wait_for(state="hidden")

    before = len(api.get("/api/records/production_order", limit=200)["items"])
    row.locator(".el-checkbox").first.click()
    assert "已选 1 条" in page.locator(".bulk").inner_text()
    page.click("[data-test=mrp-confirm]")
    dialog = page.locator("[data-test=mrp-dialog]")
    dialog.get_by_text("创建 1 张计划状态的生产工单（闸阀 DN50）").wait_for()
    dialog.locator("[data-test=mrp-dialog-ok]").click()
    outcome = page.locator("[data-test=mrp-outcome]")
    outcome.wait_for()
    assert "已确认 1 条" in outcome.inner_text() and "MO-" in outcome.inner_text()
    assert len(api.get("/api/records/production_order", limit=200)["items"]) == before + 1
    page.locator("[data-test=mrp-status]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="已确认").click()
    assert table.locator("tbody tr", has_text="闸阀 DN50").count() >= 1
    assert set(table.locator("[data-col=status]").all_inner_texts()) == {"已确认"}


def test_the_workbench_on_a_phone(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, plant, "plan1", "plan1pass123")
    page.goto(plant + "/#/mrp")
    # the latest run opens by itself; at 390 px each suggestion is a card with all its values (review issue 21 #8)
    card = page.locator("[data-test=mrp-cards] [data-test=mrp-card]").first
    card.wait_for()
    assert page.locator("[data-test=mrp-summary]").is_visible()
    text = card.inner_text()
    assert "数量" in text and "需求日期" in text and "需求来源" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    card.locator("[data-test=mrp-peg]").click()
    page.locator("[data-test=mrp-peg-drawer] [data-test=mrp-why]").wait_for()
    page.keyboard.press("Escape")
    ok = page.locator("[data-test=mrp-confirm]").bounding_box()
    assert ok and ok["height"] >= 40 and ok["x"] + ok["width"] <= 390
    shot(page, "mrp-phone")
