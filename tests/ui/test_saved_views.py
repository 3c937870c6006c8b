"""Saved list views live on the server: saved on one device, there on the next one."""
from __future__ import annotations

from tests.ui.conftest import login


def test_a_saved_view_follows_the_user_to_another_browser(browser, server, api) -> None:
    first = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    page = first.new_page()
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/f/iqc_inspection")
    page.locator(".el-table__row").first.wait_for()
    page.get_by_role("button", name="视图 ▾").click()
    page.locator("[data-test=save-view]").click()
    page.locator(".el-message-box input").fill("本周来料")
    page.locator(".el-message-box .el-button--primary").click()
    page.get_by_text("已保存").wait_for()
    first.close()
    views = api("qc1", "qc1pass123").get("/api/views/iqc_inspection")
    assert [v["name"] for v in views] == ["本周来料"] and views[0]["spec"]["columns"]

    second = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})   # another device
    page = second.new_page()
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/f/iqc_inspection")
    page.locator(".el-table__row").first.wait_for()
    page.get_by_role("button", name="视图 ▾").click()
    item = page.locator("[data-view='本周来料']")
    item.wait_for()
    item.click()
    page.locator(".el-table__row").first.wait_for()
    shown = page.locator(".el-table__header th").all_inner_texts()
    assert len([h for h in shown if h.strip()]) >= len(views[0]["spec"]["columns"])
    second.close()
