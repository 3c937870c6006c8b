"""The replenishment board (补料看板, issue 21 item 6) on a core --demo plant of its own: two 补料规则 at the
装配线边仓 (装配试压工段) fed from 原材料仓 01 库位 — 螺栓 M12×50 (min 20, up to 100) and 密封垫片 DN50 (min 10,
up to 40). After 30 bolts reach the line side and 15 are issued to an order, the bolt card is yellow (补料中)
with the draft transfer of 85 the posting made; the gasket card is red (缺料: nothing at the line side).
The storekeeper's 过账 turns the bolt card green with 100 on hand; 立即检查 makes the gasket's request. At
390 px the cards stack in one column without a sideways scroll; an operator (no right on 补料规则) is told
so in Chinese. Saved as replenish-board.png and replenish-board-phone.png."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.conftest import CoreApi, login, shot


@pytest.fixture(scope="module")
def plant(core_server: str) -> Iterator[str]:
    api = CoreApi(core_server, "admin")
    items = {r["code"]: r["id"] for r in api.get("/api/records/item", limit=50)["items"]}
    locs = {r["code"]: r["id"] for r in api.get("/api/records/location", limit=50)["items"]}
    # 灰铸铁 HT250: a rule whose source (原材料仓 01 库位) holds none of it (review of issue 21, finding 11)
    for code, lo, hi in (("PT-M12", 20, 100), ("PT-GSK50", 10, 40), ("RM-HT250", 10, 30)):
        api.post("/api/records/replenishment_rule", {"item": items[code], "location": locs["LS-ASM"], "source_location": locs["RM-01"],
                                                     "method": "min_max", "min_qty": lo, "max_qty": hi})
    api.post("/api/inventory/documents/stock_receipt", {"supplier": "温州紧固件厂", "lines": [
        {"item": items["PT-M12"], "qty": 500, "to_location": locs["RM-01"]}, {"item": items["PT-GSK50"], "qty": 200, "to_location": locs["RM-01"]}]})
    api.post("/api/inventory/documents/stock_transfer", {"lines": [
        {"item": items["PT-M12"], "qty": 30, "from_location": locs["RM-01"], "to_location": locs["LS-ASM"]}]})
    order = api.post("/api/records/production_order", {"item": items["FG-V50"], "qty": 10, "due_date": "2030-12-15 17:00"})
    api.post(f"/api/production/orders/{order['id']}/release")
    api.post("/api/inventory/documents/stock_issue", {"production_order": order["id"], "lines": [
        {"item": items["PT-M12"], "qty": 15, "from_location": locs["LS-ASM"]}]})
    yield core_server


def _card(page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-test=replenish-card][data-item={code}]")


def test_the_board_shows_posts_and_checks(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    login(page, plant)
    page.click("[data-test=nav-replenish]")
    bolt = _card(page, "PT-M12")
    bolt.wait_for()
    assert page.locator("h2").first.inner_text() == "补料看板"
    line = page.locator("[data-test=replenish-line]").first
    assert "装配线边仓" in line.inner_text() and "装配试压工段" in line.inner_text()
    assert bolt.get_attribute("data-status") == "yellow" and "补料中" in bolt.inner_text()
    assert bolt.locator("[data-test=replenish-onhand]").inner_text() == "15"
    request = bolt.locator("[data-test=replenish-request]")
    assert "TR-RP-0001-001" in request.inner_text() and "补料 85件" in request.inner_text()
    gasket = _card(page, "PT-GSK50")
    assert gasket.get_attribute("data-status") == "red" and "缺料" in gasket.inner_text()
    assert "需补 40件" in gasket.inner_text()
    shot(page, "replenish-board")
    bolt.locator("[data-test=replenish-post]").click()
    page.locator("[data-test=replenish-card][data-item=PT-M12][data-status=green]").wait_for()
    assert _card(page, "PT-M12").locator("[data-test=replenish-onhand]").inner_text() == "100"
    assert _card(page, "PT-M12").locator("[data-test=replenish-request]").count() == 0
    page.click("[data-test=replenish-run]")
    _card(page, "PT-GSK50").locator("[data-test=replenish-request]").wait_for()
    assert "补料 40件" in _card(page, "PT-GSK50").inner_text()


def test_an_emptied_line_side_being_refilled_counts_as_such_and_a_short_source_warns(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    # after 立即检查 above, HT250 has a request of 30 kg while the line side is empty and the source holds 0
    login(page, plant)
    page.goto(plant + "/#/replenish")
    iron = _card(page, "RM-HT250")
    iron.locator("[data-test=replenish-request]").wait_for()
    assert iron.get_attribute("data-status") == "yellow" and "补料中" in iron.inner_text()
    warn = iron.locator("[data-test=replenish-source-short]")
    assert "源库位库存不足" in warn.inner_text() and "只有 0kg" in warn.inner_text() and "本单要 30kg" in warn.inner_text()
    counts = page.locator("[data-test=replenish-counts]").inner_text()
    assert "缺料 0" in counts and "补料中 2" in counts and "正常 1" in counts, counts
    assert _card(page, "PT-GSK50").locator("[data-test=replenish-source-short]").count() == 0   # 200 there, 40 asked


def test_the_board_on_a_phone(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, plant)
    page.goto(plant + "/#/replenish")
    _card(page, "PT-M12").wait_for()
    widths = [b["width"] for b in (c.bounding_box() for c in page.locator("[data-test=replenish-card]").all()) if b]
    assert widths and max(widths) <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "replenish-board-phone")


def test_an_operator_is_told_the_board_is_not_for_them(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    login(page, plant, "op1", "op1pass1234")
    page.goto(plant + "/#/replenish")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "无权" in alert.inner_text() and "补料规则" in alert.inner_text()
    assert page.locator("[data-test=replenish-counts]").count() == 0          # no misleading 缺料 0 补料中 0 正常 0


def test_the_menu_offers_an_operator_only_what_she_may_do(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    # review of issue 21, finding 13: an operator reads stock but creates no stock document, runs no MRP and
    # reads no replenishment rule: 现存量 and 追溯 stay, 扫码出入库 / 物料需求计划 / 补料看板 are not offered
    login(page, plant, "op1", "op1pass1234")
    page.locator("[data-test=nav-stock]").wait_for()
    assert page.locator("[data-test=nav-trace]").count() == 1
    for hidden in ("nav-stock-scan", "nav-mrp", "nav-replenish"):
        assert page.locator(f"[data-test={hidden}]").count() == 0, hidden


def test_the_menu_offers_a_planner_mrp_and_the_board(page, plant: str) -> None:  # type: ignore[no-untyped-def]
    login(page, plant, "plan1", "plan1pass123")
    page.locator("[data-test=nav-mrp]").wait_for()
    assert page.locator("[data-test=nav-replenish]").count() == 1
