"""A finish that looks like a product (issue 20, item 8), on a core plant at 1366x768 and on a 390x844
phone: every menu entry and app card carries an icon (bundled, no request leaves 127.0.0.1), a long name
in the sidebar is cut with … and shows whole as a tooltip, an empty record list says what to do, the
header fits the phone without sideways scrolling, and 发布 stays on one line in the designers' heads."""
from __future__ import annotations

import httpx

from tests.ui.conftest import CoreApi, login, pick, shot

LONG = "供应商来料检验不合格品评审与处置记录（含返工返修及让步接收）"
FORM = {"format": "mom.form/1", "name": "lf_long_form", "label": {"zh-CN": LONG, "en": "Long named form"},
        "fields": [{"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}}],
        "permissions": [{"role": "*", "actions": ["create", "read", "update"], "scope": "all"}]}


def publish_long_form(core_server: str) -> None:
    admin = CoreApi(core_server, "admin")
    r = httpx.put(core_server + "/api/forms/lf_long_form", json=FORM, headers=admin.h)
    assert r.status_code == 200, r.text


def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # nothing in the header sticks out of the screen
    for box in page.locator(".header > *:visible").evaluate_all("els => els.map((e) => e.getBoundingClientRect().right)"):
        assert box <= width + 0.5


def test_icons_tooltips_empty_states_on_desktop(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    publish_long_form(core_server)
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(core_server) and not req.url.startswith("data:") else None)
    login(page, core_server)
    page.wait_for_selector("[data-app]")
    # every menu entry and app heading has an icon
    entries = page.locator(".aside .el-menu-item, .aside .el-sub-menu__title")
    assert entries.count() >= 6
    assert entries.evaluate_all("els => els.filter((e) => !e.querySelector('svg')).length") == 0
    cards = page.locator("[data-app]")
    assert cards.count() >= 1 and cards.locator(".app-icon svg").count() == cards.count()
    assert page.locator(".tile svg").count() == page.locator(".tile").count()
    # the long form name: cut to fit the sidebar, whole in the tooltip
    page.locator(".aside .el-sub-menu").filter(has=page.locator(f".lbl[title='{LONG}']")).locator(".el-sub-menu__title").click()
    label = page.locator(".aside .lbl", has_text=LONG[:8]).first
    label.wait_for()
    assert label.get_attribute("title") == LONG
    box = label.bounding_box()
    assert box["x"] + box["width"] <= 232
    assert label.evaluate("e => e.scrollWidth > e.clientWidth")       # it is cut, so the tooltip matters
    shot(page, "look-home-1366")
    # an empty record list says what to do next
    page.goto(core_server + "/#/f/lf_long_form")
    empty = page.locator("[data-test=list-empty]")
    empty.wait_for()
    assert "还没有记录" in empty.inner_text() and "新建" in empty.inner_text()
    shot(page, "look-empty-list-1366")
    # 发布 on one line, beside the other buttons of the designers' heads
    for path, button in (("/#/design/dashboard", "[data-test=publish-dash]"), ("/#/design/flow", "[data-test=publish-flow]")):
        page.goto(core_server + path)
        pub = page.locator(button)
        pub.wait_for()
        b = pub.bounding_box()
        assert b["height"] < 40 and b["x"] + b["width"] <= 1366
        assert pub.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    assert outside == []
    page.close()


def test_phone_header_fits_and_menu_opens(browser, core_server) -> None:  # type: ignore[no-untyped-def]
    publish_long_form(core_server)
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True)
    login(page, core_server)
    page.wait_for_selector("[data-app]")
    no_sideways_scroll(page)
    header = page.locator(".header").bounding_box()
    assert header["height"] <= 60                                      # one row, not wrapped
    shot(page, "look-home-390")
    page.click("[data-test=menu-button]")
    drawer = page.locator(".el-drawer .nav")
    drawer.wait_for()
    assert drawer.locator(".el-menu-item svg").count() >= 4
    shot(page, "look-menu-390")
    page.keyboard.press("Escape")
    page.goto(core_server + "/#/f/lf_long_form")
    page.locator("[data-test=list-empty]").wait_for()
    no_sideways_scroll(page)
    shot(page, "look-empty-list-390")
    page.close()


DASH_FORM = {"format": "mom.form/1", "name": "lf_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
             "fields": [{"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
                        {"id": "f2", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
                         "options": [{"value": "a", "label": {"zh-CN": "合格", "en": "Pass"}},
                                     {"value": "b", "label": {"zh-CN": "不合格", "en": "Fail"}}]}]}
DASH_REPORT = {"format": "mom.report/1", "name": "lf_by_verdict", "label": {"zh-CN": "来料判定统计", "en": "By verdict"},
               "source": "lf_inspection", "dimensions": [{"key": "verdict", "field": "verdict"}],
               "measures": [{"key": "n", "agg": "count", "label": {"zh-CN": "记录数", "en": "Records"}}]}
DASH = {"format": "mom.dashboard/1", "name": "lf_board", "label": {"zh-CN": "来料检验看板", "en": "Inspection board"},
        "widgets": [{"id": "w1", "type": "table", "title": {"zh-CN": "判定分布", "en": "Verdicts"}, "report": "lf_by_verdict",
                     "position": {"x": 0, "y": 0, "w": 12, "h": 8}}]}


def test_dashboard_widgets_in_chinese_and_a_pie_with_its_values(page, core_server) -> None:  # type: ignore[no-untyped-def]
    admin = CoreApi(core_server, "admin")
    for path, body in (("/api/forms/lf_inspection", DASH_FORM), ("/api/reports/lf_by_verdict", DASH_REPORT), ("/api/dashboards/lf_board", DASH)):
        r = httpx.put(core_server + path, json=body, headers=admin.h)
        assert r.status_code == 200, r.text
    admin.post("/api/records/lf_inspection", [{"lot": "L1", "verdict": "合格"}, {"lot": "L2", "verdict": "合格"}, {"lot": "L3", "verdict": "不合格"}])
    login(page, core_server)
    page.goto(core_server + "/#/design/dashboard/lf_board")
    cfg = page.locator("[data-wcfg=w1]")
    cfg.wait_for()
    # the table widget shows option labels, not stored values
    page.locator("[data-widget=w1] .el-table__row").first.wait_for()
    cells = page.locator("[data-widget=w1] .el-table__body td").all_inner_texts()
    assert "合格" in cells and "不合格" in cells and "a" not in cells
    pick(page, cfg.locator("[data-test=w-type]"), "饼图")
    text = cfg.inner_text()
    assert "分类" in text and "数值" in text and "组件类型" in text
    assert cfg.locator("[data-test=w-x]").inner_text().strip() == "判定"        # the field's label, never its key
    assert cfg.locator("[data-test=w-value]").inner_text().strip() == "记录数"
    page.locator("[data-widget=w1] canvas").first.wait_for()
    page.locator(".el-select-dropdown__item:visible").first.wait_for(state="detached")
    shot(page, "look-dashboard-pie")
    types = cfg.locator("[data-test=w-type]")
    types.click()
    page.locator(".el-select-dropdown__item:visible", has_text="指标卡").wait_for()
    shown = page.locator(".el-select-dropdown__item:visible").all_inner_texts()
    assert {"指标卡", "柱状图", "堆叠柱状图", "折线图", "饼图", "帕累托图", "仪表盘"} <= set(shown)
    assert not any(ch.isascii() and ch.isalpha() for s in shown for ch in s)
    page.keyboard.press("Escape")
