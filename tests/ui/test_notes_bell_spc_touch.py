"""After the outside review (F2), in the browser with the SPC plant of test_spc_page (Montgomery's Table 6.3 piston
rings, 25 lots, then a 26th with the bore shifted: one 判异报警 told to the quality engineer in-app):

- the top bar's bell shows her unread count (1) at 1366 px; the list names the alarm; a click opens the SPC page of
  that characteristic through the app's router (the link is written "/spc?plan=…&char_seq=…", no "#") and the
  count goes to 0 (the notice is marked read on the server);
- on a phone (390 px, touch) the bell is in the bar too, the SPC help says to tap a point (not to hover), and
  tapping the red point opens its window with the rule it breaks;
- the 质量看板's 供应商质量 table shows 批合格率 as the report does (100.00%), not 1.
Screenshots notes-bell.png, spc-touch-phone.png."""
from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.ui.conftest import login, shot
from tests.ui.test_spc_page import spc_server  # noqa: F401 — the module's plant

RED = (0xD0, 0x30, 0x50)      # a point that breaks a rule (ui/src/lib/spc.js)


def _unread(s: dict[str, Any]) -> int:
    return s["qe"].call("GET", "/api/notifications", unread=1)["unread"]


def test_the_bell_counts_the_alarm_and_opens_its_chart_in_the_app(page, spc_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    s = spc_server
    assert _unread(s) == 1
    login(page, s["base"], "qe1", "qe1-pass-1")
    bell = page.locator("[data-test=hdr-notes]")
    bell.wait_for()
    page.wait_for_function("el => el.textContent.trim() === '1'", arg=page.locator("[data-test=notes-unread] sup").element_handle())
    bell.click()
    item = page.locator("[data-test=note-item]").first
    item.wait_for()
    assert "判异报警" in item.inner_text() and "内径" in item.inner_text() and s["codes"][-1] in item.inner_text()
    shot(page, "notes-bell")
    item.click()
    page.locator("[data-test=spc-charts]").wait_for()
    assert f"#/spc?plan={s['plan']}&char_seq=1" in page.url
    assert "内径" in page.locator("[data-test=spc-charts]").inner_text()
    page.locator("[data-test=notes-unread] sup").wait_for(state="hidden")
    assert _unread(s) == 0


def test_on_a_phone_the_help_says_tap_and_a_tap_shows_the_rule(browser, spc_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    s = spc_server
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN", bypass_csp=True)
    page = ctx.new_page()
    try:
        login(page, s["base"], "qe1", "qe1-pass-1")
        assert page.locator("[data-test=hdr-notes]").is_visible()                # the bell fits the phone's bar
        page.goto(s["base"] + f"/#/spc?plan={s['plan']}&char_seq=1")
        hint = page.locator("[data-test=spc-hint]")
        hint.wait_for()
        assert "点一下" in hint.inner_text() and "鼠标" not in hint.inner_text()
        chart = page.locator("[data-test=spc-charts] .chart.main")
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(800)                                                 # the chart's first drawing
        img = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
        reds = [(x, y) for y in range(img.height) for x in range(img.width)
                if all(abs(a - b) < 40 for a, b in zip(img.getpixel((x, y)), RED))]
        assert reds, "no red point drawn"
        right = max(x for x, _ in reds)                                            # the newest (shifted) lot
        spot = [(x, y) for x, y in reds if x > right - 10]
        cx, cy = sum(x for x, _ in spot) / len(spot), sum(y for _, y in spot) / len(spot)
        box = chart.bounding_box()
        page.touchscreen.tap(box["x"] + cx, box["y"] + cy)
        dialog = page.locator("[data-test=spc-point-dialog]")
        dialog.wait_for()
        assert s["codes"][-1] in dialog.inner_text() and "超出控制限" in dialog.inner_text()
        shot(page, "spc-touch-phone")
    finally:
        ctx.close()


def test_desktop_help_still_says_hover(page, spc_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    login(page, spc_server["base"], "qe1", "qe1-pass-1")
    page.goto(spc_server["base"] + f"/#/spc?plan={spc_server['plan']}&char_seq=1")
    hint = page.locator("[data-test=spc-hint]")
    hint.wait_for()
    assert "鼠标停在点上" in hint.inner_text()


def test_the_board_table_shows_the_acceptance_rate_as_a_percent(page, spc_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # the 26 lots are all accepted (the shifted bore is still within 73.95–74.05): 活塞环厂 100.00 %
    login(page, spc_server["base"], "qe1", "qe1-pass-1")
    page.goto(spc_server["base"] + "/#/d/quality_board")
    table = page.locator("[data-widget=suppliers]")
    table.locator(".el-table__body tr").first.wait_for()
    row = table.locator(".el-table__body tr").first.inner_text()
    assert "活塞环厂" in row and "100.00%" in row, row
