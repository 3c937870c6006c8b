"""A department as the answer to 谁可以查看全部记录 (issue 20 item 3: permissions with role *and department*
names): publishing a new form, the supervisor picks 质量部 from the same picker as the roles; the form
gets a department grant, told back by name, and the department's people (来料检验组 lies under 质量部)
see every record."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.conftest import login


def test_a_department_is_picked_by_name_in_the_publish_dialog(page, server, api) -> None:  # type: ignore[no-untyped-def]
    login(page, server)
    page.goto(server + "/#/design/form")
    page.wait_for_selector("[data-test=canvas]")
    page.fill("[data-test=form-label]", "巡检记录")
    page.locator("[data-palette=text]").click()
    if not page.locator("[data-test=canvas] [data-field-label]").count():       # a palette entry added by drag
        zone = page.locator("[data-test=drop-zone]").first.bounding_box()
        s = page.locator("[data-palette=text]").bounding_box()
        page.mouse.move(s["x"] + 10, s["y"] + 10)
        page.mouse.down()
        page.mouse.move(s["x"] + 15, s["y"] + 15, steps=3)
        page.mouse.move(zone["x"] + zone["width"] - 12, zone["y"] + zone["height"] - 6, steps=15)
        page.mouse.up()
    page.locator(".fprops [data-prop=label-zh]").fill("巡检项目")
    page.wait_for_timeout(600)
    page.click("[data-test=publish]")
    page.locator("[data-test=plan-perms]").wait_for()
    page.click("[data-test=perm-see]")
    dropdown = page.locator(".el-select-dropdown:visible")
    expect(dropdown.locator(".el-select-group__title", has_text="部门")).to_have_count(1)
    dropdown.locator(".el-select-dropdown__item", has_text="质量部").first.click()
    page.keyboard.press("Escape")
    page.click("[data-test=confirm-publish]")
    page.wait_for_url(re.compile(r".*/design/form/\w+$"))
    name = page.url.rsplit("/", 1)[1]
    perms = api().get(f"/api/forms/{name}")["definition"]["permissions"]
    assert {"department": "QC", "actions": ["read", "export"], "scope": "all"} in perms
    told = api().post("/api/permissions/describe", {"permissions": perms})["text"]["zh-CN"]
    assert "质量部（含下级部门）：可查看、导出全部记录" in told
