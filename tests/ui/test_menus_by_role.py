"""Every menu entry opens for every demo role (issue 20 item 3): signed in as each demo user, the test
clicks each entry of the sidebar in turn and fails when opening it draws a refusal — an API answer 403,
an error message, or the words 无权限 / 不存在 on the page. The menu lists only what the user may open."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from mom.platform.cli.demo import USERS
from tests.ui.conftest import login

SKIP = ("/shopfloor",)     # the scan page leaves the shell (its own full-screen page); it asks for nothing


def _entries(page) -> int:  # type: ignore[no-untyped-def]
    """Open every app's sub-menu; the number of menu entries."""
    titles = page.locator(".aside .el-sub-menu:not(.is-opened) > .el-sub-menu__title")
    for _ in range(titles.count()):
        titles.first.click()
        page.wait_for_timeout(150)
    return page.locator(".aside .el-menu-item").count()


def _fresh_menu(page, server: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """The home page loaded afresh, every sub-menu open (all ``count`` entries)."""
    page.goto(server + "/#/")
    page.reload()
    page.wait_for_selector(".aside .el-menu-item")
    for _ in range(50):                                  # the apps' sub-menus come with the menu's data
        if _entries(page) == count:
            break
        page.wait_for_timeout(200)


#: In the browser, the three narrowest menus (inspector, purchaser, planner): every demo role's entries are
#: opened through the API in tests/integration/test_default_permissions.py; a click walk of all seven took 7 min.
WALKED = [u for u in USERS if u[0] in ("qc1", "buyer", "planner")]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("username,password", [(u[0], u[1]) for u in WALKED], ids=[u[0] for u in WALKED])
def test_every_menu_entry_opens_for_each_demo_role(browser, server, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status == 403 else None)
    login(page, server, username, password)
    count = _entries(page)
    assert count >= 3, username
    problems: list[str] = []
    gone: list[str] = []
    names = [t.strip() for t in page.locator(".aside .el-menu-item").all_text_contents()]
    for i in range(count):
        # each entry is clicked in the menu the previous entry left open (the shell and its menu stay; each
        # page mounts afresh); a menu that is gone (the scan page leaves the shell) or whose entry is folded
        # away is loaded afresh from the home page: reloading for every entry took two thirds of the walk.
        # Entries are found by their text (its n-th time in the menu): a menu loaded afresh may order or
        # fold its apps differently while its data arrives
        nth = names[:i].count(names[i])
        item = page.locator(".aside .el-menu-item").filter(has_text=re.compile(rf"^\s*{re.escape(names[i])}\s*$")).nth(nth)
        if page.locator(".aside").count() == 0 or not item.is_visible():
            _fresh_menu(page, server, count)
        if item.count() == 0:
            gone.append(names[i])                         # not in the menu any more: nothing to open
            continue
        refused.clear()
        try:
            item.click(timeout=5000)
        except PlaywrightTimeoutError:                   # a sub-menu still folding hid it: the menu afresh
            _fresh_menu(page, server, count)
            refused.clear()
            item.click()
        page.wait_for_load_state("networkidle")
        if any(page.url.endswith(s) for s in SKIP):
            continue
        errors = page.locator(".el-message--error").all_inner_texts()
        body = page.locator("body").inner_text(timeout=5000)
        if refused or errors or "无权限" in body or "不存在" in body:
            problems.append(f"{names[i]}: {refused} {errors}")
    context.close()
    assert problems == [], f"{username}: {problems}"
    assert len(gone) < count / 2, f"{username}: the menu lost most of its entries while walked: {gone}"


def test_admin_sets_a_department_head_by_name(browser, server, api) -> None:  # type: ignore[no-untyped-def]
    """系统管理 › 部门: the head of 来料检验组 is picked by the person's name; the flows' department-head
    approvers read it (GET /api/admin/departments)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    login(page, server)
    page.goto(server + "/#/admin")
    page.get_by_role("tab", name="部门").click()
    assert page.get_by_text("审批流程中的「部门主管」审批人就是这里的主管").is_visible()
    from tests.ui.conftest import pick
    pick(page, page.locator("[data-test=dept-head-QC-IQC]"), "质量工程师小赵")
    page.wait_for_timeout(500)
    row = next(d for d in api().get("/api/admin/departments") if d["code"] == "QC-IQC")
    assert row["head"]["username"] == "qe1"
    # the permission editor speaks Chinese: actions and row scopes in words, roles by name
    page.goto(server + "/#/design/form/iqc_inspection")
    editor = page.locator(".perms")
    editor.wait_for()
    page.wait_for_timeout(500)
    text = editor.inner_text()
    assert "新建" in text and "查看" in text and "本部门" in text and "本人" in text
    assert "create" not in text and "department" not in text and "qc_inspector" not in text
    page.close()
