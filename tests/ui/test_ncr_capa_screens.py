"""不合格品处理 and 纠正预防措施 (issue 22 leftovers) in the browser, on the demo server:

- 1366 px, 质检员小王 (qc1): 不合格品处理 in the menu; an NCR of 5 铸造阀体 on the work list (来料检验 badge, who acts
  next); on its page she submits it (提交审批) and the review shows 审批中：待 质量经理老陈 批准;
- 质量经理老陈 (qcm) approves it (批准处置), executes it (执行处置): the lines show 调拨 TR-… and
  退供应商出库 RTV-… as links; one click opens a CAPA from it and lands on the CAPA's page with its 8D steps;
  on the CAPA list it is 逾期 3 天 in red once three days past its due date;
- 390 px: the work list and the NCR page in one column, nothing wider than the phone;
- the lot screen: an accepted incoming lot received into the 待检区 shows 放行调拨单 TR-…（草稿） as a link.
Screenshots ncr-list.png, ncr-detail.png, ncr-phone.png, capa-detail.png, capa-list.png, inspect-release.png."""
from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.ui.conftest import UserApi, login, shot

SUPPLIER = "宁波铸件（H7 浏览器）"


def _arrange_ncr(server: str) -> dict[str, Any]:
    """A new NCR on the demo's rejected lot of 铸造阀体 (its item, lot, location and supplier): scrap 2, return 3."""
    qc1 = UserApi(server, "qc1", "qc1pass123")
    demo = qc1.call("get", "/api/records/nonconformance", sort="id", limit=1)["items"][0]
    body = {k: demo[k] for k in ("item", "lot", "location", "supplier") if demo.get(k) is not None}
    made = qc1.call("post", "/api/records/nonconformance", {**body, "title": "H7 阀体外观划伤（浏览器）", "qty": 5,
                                                            "dispositions": [{"disposition": "scrap", "qty": 2},
                                                                             {"disposition": "return_to_supplier", "qty": 3}]})
    return made


def _no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 392


def test_an_ncr_is_submitted_approved_executed_and_gets_a_capa(page, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:  # type: ignore[no-untyped-def]
    ncr = _arrange_ncr(server)
    login(page, server, "qc1", "qc1pass123")
    page.click("[data-test=nav-ncr]")
    card = page.locator("[data-test=ncr-card]", has_text=ncr["code"])
    card.wait_for()
    text = card.inner_text()
    assert "H7 阀体外观划伤" in text and "铸造阀体" in text and "下一步：待" in text and "提交审批" in text
    shot(page, "ncr-list")
    card.click()
    page.wait_for_selector("[data-test=ncr-submit]")
    assert page.locator("[data-test=ncr-review]").inner_text() == "未提交审批"
    page.click("[data-test=ncr-submit]")
    page.wait_for_function("() => document.querySelector('[data-test=ncr-review]').innerText.startsWith('审批中')")
    assert "质量经理老陈" in page.locator("[data-test=ncr-review]").inner_text()
    assert page.locator("[data-test=ncr-submit]").count() == 0

    login(page, server, "qcm", "qcmpass123")
    page.goto(server + f"/#/ncr/{ncr['id']}")
    page.click("[data-test=ncr-approve]")
    page.locator(".el-message-box__btns .el-button--primary").click()
    page.wait_for_selector("[data-test=ncr-transition][data-key=execute]")
    assert page.locator("[data-test=ncr-status-tag]").inner_text() == "处置已批准"
    page.click("[data-test=ncr-transition][data-key=execute]")
    page.locator(".el-message-box__btns .el-button--primary").click()
    page.wait_for_selector("[data-test=ncr-doc][data-form=supplier_return]")
    assert page.locator("[data-test=ncr-status-tag]").inner_text() == "已处置"
    scrap = page.locator("[data-test=ncr-line][data-kind=scrap] [data-test=ncr-doc]")
    assert scrap.inner_text().startswith("调拨 TR-")
    back = page.locator("[data-test=ncr-doc][data-form=supplier_return]")
    assert "RTV-" in back.inner_text() and back.get_attribute("href").startswith("#/f/supplier_return/")
    assert "待 质量经理 关闭" in page.locator("[data-test=ncr-detail-next]").inner_text()
    shot(page, "ncr-detail")

    page.click("[data-test=ncr-open-capa]")                   # one click: the CAPA names the NCR, owned by her
    page.wait_for_selector("[data-test=capa-steps]")
    assert page.locator("[data-test=capa-step]").count() == 8
    assert page.locator("[data-test=capa-ncr]").inner_text() == ncr["code"]
    assert "当前步骤" in page.locator("[data-test=capa-d][data-tag=D1]").inner_text()
    capa_id = int(page.url.rsplit("/", 1)[-1])
    shot(page, "capa-detail")

    db = sorted(tmp_path_factory.getbasetemp().glob("ui-data*/mom.sqlite3"))[0]   # three days past its due date
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE capa SET due_date = date(due_date, '-33 days') WHERE id = ?", (capa_id,))
    page.click("[data-test=capa-back]")
    late = page.locator("[data-test=capa-card]", has=page.locator("[data-test=capa-overdue]")).filter(has_text=ncr["code"])
    late.wait_for()
    words = late.locator("[data-test=capa-overdue]")
    assert words.inner_text() in ("逾期 3 天", "逾期 2 天", "逾期 4 天")          # 30 days from the browser's day, less 33
    assert words.evaluate("(e) => getComputedStyle(e).color") == "rgb(217, 48, 38)"
    shot(page, "capa-list")


def test_the_work_list_and_an_ncr_on_a_phone(page, server: str) -> None:  # type: ignore[no-untyped-def]
    ncr = _arrange_ncr(server)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/ncr")
    card = page.locator("[data-test=ncr-card]", has_text=ncr["code"])
    card.wait_for()
    box = card.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    _no_sideways_scroll(page)
    card.click()
    page.wait_for_selector("[data-test=ncr-line]")
    assert page.locator("[data-test=ncr-line]").count() == 2 and "未执行" in page.locator("[data-test=ncr-line]").first.inner_text()
    submit = page.locator("[data-test=ncr-submit]").bounding_box()
    assert submit and submit["height"] >= 40 and submit["x"] + submit["width"] <= 390
    _no_sideways_scroll(page)
    shot(page, "ncr-phone")


def test_the_lot_screen_links_the_release_transfer(page, server: str) -> None:  # type: ignore[no-untyped-def]
    admin, qc1 = UserApi(server, "admin", "admin123"), UserApi(server, "qc1", "qc1pass123")
    item = admin.call("get", "/api/records/item", code="SF-C50")["items"][0]["id"]
    qa = admin.call("get", "/api/records/location", code="RM-QA")["items"][0]["id"]
    if not admin.call("get", "/api/records/vendor", code="H7-BR")["items"]:       # the supplier's record (供应商档案)
        admin.call("post", "/api/records/vendor", {"code": "H7-BR", "name": SUPPLIER})
    UserApi(server, "qe1", "qe1pass123").call("post", "/api/records/inspection_plan", {
        "name": "阀盖来料检验（H7 浏览器）", "inspection_type": "iqc", "item": item, "supplier": SUPPLIER, "fixed_sample_size": 2,
        "aql_critical": None, "aql_major": "1.0", "aql_minor": None,
        "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": "50", "lsl": "49.9",
                             "usl": "50.1", "unit": "mm"}]})
    doc = admin.call("post", "/api/inventory/documents/stock_receipt", {"supplier": SUPPLIER, "lines": [{"item": item, "qty": 20, "to_location": qa}]})
    lot = admin.call("get", "/api/records/inspection_lot", stock_receipt=doc["id"])["items"][0]
    qc1.call("put", f"/api/quality/inspections/{lot['id']}/results",
             {"cells": [{"sample_no": s, "char_seq": 1, "value": "50.01"} for s in (1, 2)]})
    judged = qc1.call("post", f"/api/quality/inspections/{lot['id']}/judge", {})
    assert judged["result"] == "accepted" and judged["release"]["transfer"]["code"].startswith("TR-")
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + f"/#/inspect/{lot['id']}")
    link = page.locator("[data-test=inspect-release]")
    link.wait_for()
    assert link.inner_text().startswith("放行调拨单 TR-") and "草稿" in link.inner_text()
    assert link.locator("a").get_attribute("href") == f"#/f/stock_transfer/{judged['release']['transfer']['id']}"
    shot(page, "inspect-release")


def assert_styled_box(page) -> None:  # type: ignore[no-untyped-def]
    """The confirm dialog open now is a box on a dimmed backdrop (review of issue 22: an explicit
    ``import { ElMessageBox }`` skipped its CSS, and the dialog was bare text across the page)."""
    box = page.locator(".el-message-box")
    box.wait_for()
    got = box.evaluate("e => { const s = getComputedStyle(e); return {bg: s.backgroundColor, shadow: s.boxShadow, "
                       "width: e.getBoundingClientRect().width} }")
    clear = ("rgba(0, 0, 0, 0)", "transparent")
    assert got["bg"] not in clear and got["shadow"] != "none" and got["width"] < 700, got
    backdrop = page.locator(".el-overlay.is-message-box").evaluate("e => getComputedStyle(e).backgroundColor")
    assert backdrop not in clear, backdrop


def test_voiding_an_ncr_asks_in_words_with_buttons_that_say_what_they_do(page, server: str) -> None:  # type: ignore[no-untyped-def]
    """Review of issue 22: the pack's 「取消」 transition asked 「确定要「取消」吗？」 over two buttons both 取消."""
    ncr = _arrange_ncr(server)
    login(page, server, "qcm", "qcmpass123")
    page.goto(server + f"/#/ncr/{ncr['id']}")
    void = page.locator("[data-test=ncr-transition][data-key=cancel]")
    void.wait_for()
    assert void.inner_text() == "作废此单"
    void.click()
    assert_styled_box(page)
    box = page.locator(".el-message-box")
    assert ncr["code"] in box.inner_text() and "作废" in box.inner_text()
    buttons = box.locator(".el-message-box__btns .el-button").all_inner_texts()
    assert sorted(buttons) == sorted(["不作废", "确认作废"]), buttons
    shot(page, "ncr-void-confirm")
    box.get_by_role("button", name="不作废").click()
    box.wait_for(state="hidden")
    assert page.locator("[data-test=ncr-status-tag]").inner_text() == "待处置"
    void.click()
    page.locator(".el-message-box").get_by_role("button", name="确认作废").click()
    page.wait_for_function("() => document.querySelector('[data-test=ncr-status-tag]').innerText === '已取消'")
