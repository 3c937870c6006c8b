"""检验录入 (inspection entry, issue 22) in the browser, as the demo's inspector 质检员小王 (qc1) would:

- on a 1366 px screen: 检验任务 in the menu, the lot's card, the sample table sized by its plan (13 samples:
  GB/T 2828.1 lot 50, level II, AQL 1.0 → E, n 13, Ac 0 / Re 1; 砂眼 at AQL 6.5 → D, n 8, Ac 1 / Re 2),
  readings typed as a gauge types them (value + Enter, down the column), a reading of 50.30 mm outside
  49.9–50.1 turns red and the counter says 严重 1 / Ac 0 Re 1; a reading typed just before a reload is not
  lost; 判定 → 不合格 with the NCR's number;
- on a phone (390 px): the cards in one column, one sample at a time with big inputs (inputmode decimal),
  49.80 turns red, corrected it turns green, Enter walks through the samples, 判定 → 合格;
- the quality engineer 质量工程师小赵 (qe1) has the menu and reads the table, but enters and judges nothing.
Screenshots inspect-list.png, inspect-grid.png, inspect-rejected.png, inspect-phone.png, inspect-phone-accepted.png."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.conftest import UserApi, login, shot

SUPPLIER = "杭州精工铸件（浏览器）"
ITEM = "SF-C50"


@pytest.fixture(scope="module")
def lots(server: str) -> Iterator[dict[str, Any]]:
    """Two pending IQC lots of 50 阀盖 from SUPPLIER, opened by posting two purchase receipts."""
    admin = UserApi(server, "admin", "admin123")
    items = {i["code"]: i["id"] for i in admin.call("get", "/api/records/item", limit=200)["items"]}
    loc = admin.call("get", "/api/records/location", code="RM-01")["items"][0]["id"]
    if not admin.call("get", "/api/records/vendor", name=SUPPLIER)["items"]:      # the supplier's 供应商档案 (core 1.6.0)
        admin.call("post", "/api/records/vendor", {"code": "V-UI-01", "name": SUPPLIER})
    UserApi(server, "qe1", "qe1pass123").call("post", "/api/records/inspection_plan", {
        "name": "阀盖来料检验（浏览器）", "inspection_type": "iqc", "item": items[ITEM], "supplier": SUPPLIER,
        "inspection_level": "II", "aql_critical": None, "aql_major": "1.0", "aql_minor": "6.5",
        "characteristics": [
            {"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": "50", "lsl": "49.9", "usl": "50.1",
             "unit": "mm", "method": "外径千分尺"},
            {"seq_no": 2, "name": "砂眼", "kind": "attribute", "defect_class": "minor", "method": "目视"}]})
    out = {}
    for name in ("desk", "phone"):
        doc = admin.call("post", "/api/inventory/documents/stock_receipt", {
            "supplier": SUPPLIER, "lines": [{"item": items[ITEM], "qty": 50, "to_location": loc}]})
        found = admin.call("get", "/api/records/inspection_lot", stock_receipt=doc["id"])["items"]
        assert len(found) == 1, found
        out[name] = found[0]
    yield out


def cell(page, s: int, i: int):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-cell='{s}:{i}']")


def focused_cell(page) -> str | None:  # type: ignore[no-untyped-def]
    return page.evaluate("() => document.activeElement?.closest('[data-cell]')?.dataset.cell || null")


def test_a_gauge_fills_the_table_a_bad_diameter_turns_red_and_the_lot_is_rejected(page, server: str, lots: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    lot = lots["desk"]
    login(page, server, "qc1", "qc1pass123")
    page.click("[data-test=nav-inspect]")
    card = page.locator("[data-test=inspect-card]", has_text=lot["code"])
    card.wait_for()
    text = card.inner_text()
    assert "来料" in text and "阀盖" in text and SUPPLIER in text and "抽样 13 件" in text
    shot(page, "inspect-list")
    card.click()
    page.wait_for_selector("[data-test=inspect-grid]")
    assert page.locator("[data-test=inspect-row]").count() == 13
    assert page.locator("[data-test=inspect-col]").nth(0).inner_text().startswith("外径")
    assert "49.9 – 50.1 mm" in page.locator("[data-test=inspect-col]").nth(0).inner_text()
    assert cell(page, 9, 1).count() == 0              # 砂眼 reads 8 samples only: sample 9 shows —

    first = cell(page, 1, 0).locator("input")
    assert first.get_attribute("inputmode") == "decimal"
    first.click()
    page.keyboard.type("50.02")
    page.keyboard.press("Enter")
    assert focused_cell(page) == "2:0"                # Enter goes down the column, as a gauge expects
    page.keyboard.type("50.30")
    assert cell(page, 2, 0).get_attribute("data-state") == "bad"
    assert cell(page, 1, 0).get_attribute("data-state") == "ok"
    major = page.locator("[data-test=inspect-class][data-class=major]")
    assert "严重 1 / Ac 0 Re 1" in major.inner_text() and "rejected" in (major.get_attribute("class") or "")
    page.keyboard.press("Enter")
    for s in range(3, 14):                            # the rest of the column, value + Enter each
        page.keyboard.type("50.0" + str(s % 10))
        page.keyboard.press("Enter")
    assert focused_cell(page) == "1:1"                # then the top of the next column
    for s in range(1, 9):
        cell(page, s, 1).locator("[data-test=inspect-pass]").click()
    page.locator("[data-test=inspect-save-state]", has_text="已自动保存").wait_for()
    assert "读数已填完" in page.locator("[data-test=inspect-missing]").inner_text()
    shot(page, "inspect-grid")

    # a correction typed while the network is gone (a phone out of Wi-Fi) is kept in the browser: not lost on a reload
    saves = "**/api/quality/inspections/*/results"
    page.route(saves, lambda route: route.abort())
    cell(page, 13, 0).locator("input").fill("50.04")
    page.locator("[data-test=inspect-save-state]", has_text="保存失败").wait_for()
    page.unroute(saves)
    page.reload()
    page.wait_for_selector("[data-test=inspect-grid]")
    assert cell(page, 13, 0).locator("input").input_value() == "50.04"
    admin = UserApi(server, "admin", "admin123")
    for _ in range(50):                               # and saved once the page is back
        stored = admin.call("get", f"/api/records/inspection_lot/{lot['id']}")["results"]
        if {(r["sample_no"], r["char_seq"]): r["value"] for r in stored}[(13, 1)] == 50.04:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the reading typed before the reload never reached the server")

    page.click("[data-test=inspect-judge]")
    page.locator(".el-message-box__btns .el-button--primary").click()
    result = page.locator("[data-test=inspect-result]")
    result.wait_for()
    assert "不合格" in result.inner_text()
    ncr = page.locator("[data-test=inspect-ncr]")
    assert "NCR-" in ncr.inner_text() and ncr.locator("a").count() == 1
    assert page.locator("[data-test=inspect-judge]").count() == 0
    shot(page, "inspect-rejected")


def test_on_a_phone_one_sample_at_a_time_turns_red_then_green_and_is_accepted(page, server: str, lots: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    lot = lots["phone"]
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/inspect")
    card = page.locator("[data-test=inspect-card]", has_text=lot["code"])
    card.wait_for()
    box = card.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390          # one column, on the screen
    card.click()
    sample = page.locator("[data-test=inspect-sample-card]")
    sample.wait_for()
    assert sample.get_attribute("data-sample") == "1" and "第 1 / 13 件" in sample.inner_text()
    od = cell(page, 1, 0).locator("input")
    assert od.get_attribute("inputmode") == "decimal"
    height = od.bounding_box()
    assert height and height["height"] >= 44                                   # a big input for a thumb
    od.click()
    page.keyboard.type("49.80")
    assert cell(page, 1, 0).get_attribute("data-state") == "bad"
    od.fill("50.00")
    assert cell(page, 1, 0).get_attribute("data-state") == "ok"
    page.keyboard.press("Enter")
    assert focused_cell(page) == "1:1"                                        # 砂眼 of the same sample
    page.keyboard.press("Enter")                                              # Enter on 合格: pass, next sample
    page.locator("[data-test=inspect-sample-card][data-sample='2']").wait_for()
    assert focused_cell(page) == "2:0"
    for s in range(2, 14):
        page.keyboard.type("50.01")
        page.keyboard.press("Enter")
        if s <= 8:
            page.keyboard.press("Enter")
    shot(page, "inspect-phone")
    page.locator("[data-test=inspect-save-state]", has_text="已自动保存").wait_for()
    assert "读数已填完" in page.locator("[data-test=inspect-missing]").inner_text()
    # the quality manager corrects sample 13 meanwhile: her next save meets a newer version, takes his reading
    # and saves hers on top (nothing of either is lost)
    UserApi(server, "qcm", "qcmpass123").call("put", f"/api/quality/inspections/{lot['id']}/results",
                                             {"cells": [{"sample_no": 13, "char_seq": 1, "value": 50.02}]})
    page.locator("[data-test=inspect-dot]", has_text="12").click()
    cell(page, 12, 0).locator("input").fill("50.03")
    page.locator("[data-test=inspect-save-state]", has_text="已自动保存").wait_for()
    page.wait_for_timeout(300)
    stored = UserApi(server, "admin", "admin123").call("get", f"/api/records/inspection_lot/{lot['id']}")["results"]
    values = {(r["sample_no"], r["char_seq"]): r["value"] for r in stored}
    assert (values[(12, 1)], values[(13, 1)]) == (50.03, 50.02)
    assert page.locator("[data-test=inspect-error]").count() == 0
    judge = page.locator("[data-test=inspect-judge]")
    jb = judge.bounding_box()
    assert jb and jb["height"] >= 40 and jb["x"] + jb["width"] <= 390
    judge.click()
    page.locator(".el-message-box__btns .el-button--primary").click()
    result = page.locator("[data-test=inspect-result]")
    result.wait_for()
    assert "合格" in result.inner_text() and "不合格" not in result.inner_text()
    assert page.locator("[data-test=inspect-switching]").count() == 1
    shot(page, "inspect-phone-accepted")


def test_the_quality_engineer_reads_the_lot_but_enters_nothing(page, server: str, lots: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    login(page, server, "qe1", "qe1pass123")
    page.click("[data-test=nav-inspect]")
    page.goto(server + f"/#/inspect/{lots['desk']['id']}")
    page.wait_for_selector("[data-test=inspect-grid]")
    assert cell(page, 1, 0).locator("input").is_disabled()
    assert page.locator("[data-test=inspect-judge]").count() == 0
    if page.locator("[data-test=inspect-result]").count() == 0:                  # not judged yet (tests run alone)
        assert "由质检员或质量经理进行" in page.locator("[data-test=inspect-readonly]").inner_text()
