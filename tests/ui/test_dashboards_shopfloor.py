"""Dashboards show the right numbers (designer, runtime, drill-down, full screen); the shop-floor page
takes a scanned code; nothing loads from outside the machine; the UI hides what the server forbids."""
from __future__ import annotations

from urllib.parse import urlparse

from tests.ui.conftest import CAMERA_CODE, login, pick, shot


def _new_dashboard(page, server, name: str, label: str, widget_type: str):  # type: ignore[no-untyped-def]
    """Open the dashboard designer, name the dashboard and add widget w1 of ``widget_type`` on the
    demo's supplier pass-rate report; returns the widget's settings panel."""
    page.goto(server + "/#/design/dashboard")
    page.click("[data-test=dash-name-advanced]")     # IT names the dashboard itself (otherwise made from its Chinese name)
    page.fill("[data-test=dash-name]", name)
    page.fill("[data-test=dash-label]", label)
    page.click("[data-test=add-widget]")
    cfg = page.locator("[data-wcfg=w1]")
    pick(page, cfg.locator("[data-test=w-type]"), widget_type)
    pick(page, cfg.locator("[data-test=w-report]"), "来料检验：供应商合格率")
    return cfg


def test_build_dashboard_and_see_the_right_numbers(page, server, api) -> None:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url.split(":")[0]))
    login(page, server)
    _new_dashboard(page, server, "iqc_wall", "来料看板", "表格")
    page.locator("[data-widget=w1] .el-table__row").first.wait_for()   # live preview while designing
    shot(page, "dashboard-designer")
    page.click("[data-test=publish-dash]")
    page.wait_for_url("**/design/dashboard/iqc_wall")

    expected = api().get("/api/reports/iqc_by_supplier/data")["rows"]
    total = api().get("/api/records/iqc_inspection", count=1)["total"]
    assert sum(r["lots"] for r in expected) == total   # every inspection counted once
    page.goto(server + "/#/d/iqc_wall")
    want_rows = {r["supplier"]: str(r["lots"]) for r in expected}
    # read the widget's table in one go once it has every row (Element Plus may lay a table out twice)
    shown = page.wait_for_function(f"""() => {{
        const rows = [...document.querySelectorAll('[data-widget=w1] .el-table__body tr')];
        if (rows.length !== {len(expected)}) return null;
        return Object.fromEntries(rows.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.innerText.trim())));
    }}""").json_value()
    assert shown == want_rows

    # the demo dashboard: KPI equals the report's value; full screen switches to the big-screen look
    page.goto(server + "/#/d/quality_overview")
    kpi = page.locator("[data-widget=pass_rate] [data-test=kpi-value]")
    kpi.wait_for()
    want = api().get("/api/dashboards/quality_overview/data", widget="pass_rate")["widgets"][0]["value"]
    assert kpi.inner_text() == f"{want * 100:.1f}%"   # a rate with a target below 1 shows as a percentage
    page.locator("[data-widget=bore_chart] canvas").first.wait_for()
    shot(page, "dashboard")
    page.click("[data-test=fullscreen]")
    page.locator(".dash.screen").wait_for()
    shot(page, "big-screen")
    page.keyboard.press("Escape")

    # drill-down from a report row lists exactly the records behind it
    page.goto(server + "/#/r/iqc_by_supplier")
    first = page.locator("[data-test=report-rows] .el-table__row").first
    first.wait_for()
    lots = int(first.locator("td").nth(1).inner_text())
    first.click()
    page.wait_for_function(f"document.querySelectorAll('[data-test=drill-rows] .el-table__body tr').length === {min(lots, 200)}")
    shot(page, "drill-down")
    page.keyboard.press("Escape")

    assert hosts <= {"127.0.0.1"}, f"requests left the machine: {hosts}"


def test_shop_floor_accepts_a_scanned_code(browser, server) -> None:
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/shopfloor")
    box = page.locator("[data-test=scan-input]")
    box.wait_for()   # the page loads lazily (its own chunk), then focuses the box as it mounts
    assert page.evaluate("document.activeElement.dataset.test") == "scan-input"   # a wedge scanner types straight in
    page.keyboard.type("IQC-DEMO-0001")
    page.keyboard.press("Enter")
    match = page.locator("[data-test=scan-match]")
    match.wait_for()
    assert "IQC-DEMO-0001" in match.inner_text() and "来料检验单" in match.inner_text()
    assert box.input_value() == "" and page.evaluate("document.activeElement.dataset.test") == "scan-input"
    shot(page, "shop-floor")
    page.keyboard.type("NO-SUCH-CODE\n")
    page.locator("[data-test=scan-error]").wait_for()
    assert "NO-SUCH-CODE" in page.locator("[data-test=scan-error]").inner_text()
    phone.close()


def test_hidden_fields_and_language(page, server) -> None:
    login(page, server)
    page.goto(server + "/#/f/iqc_inspection/1")
    page.locator("[data-item=lot_no]").wait_for()
    assert page.locator("[data-item=unit_cost]").count() == 1
    page.click("[data-test=lang]")
    page.get_by_text("Lot no.").first.wait_for()
    page.click("[data-test=lang]")
    page.click("text=退出")
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/f/iqc_inspection/1")
    page.locator("[data-item=lot_no]").wait_for()
    assert page.locator("[data-item=unit_cost]").count() == 0   # the inspector may not see costs
    page.goto(server + "/#/")
    assert page.get_by_text("管理", exact=True).count() == 0    # no admin menu for an inspector
    shot(page, "home")


def test_shop_floor_scans_with_the_camera(browser, server) -> None:
    # 127.0.0.1 is a secure context, so the camera is offered; chromium's fake camera shows a QR code
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                permissions=["camera"])
    page = phone.new_page()
    login(page, server, "qc1", "qc1pass123")
    page.goto(server + "/#/shopfloor")
    page.click("[data-test=camera-start]")
    page.locator("[data-test=camera-video]").wait_for()
    match = page.locator("[data-test=scan-match]")
    match.wait_for(timeout=30_000)
    assert CAMERA_CODE in match.inner_text()
    assert page.locator("[data-test=camera-video]").count() == 0      # the camera stops after a code is read
    assert CAMERA_CODE in page.locator(".history").inner_text()
    phone.close()


def test_dashboard_widgets_placed_freely_on_the_grid(page, server, api) -> None:
    login(page, server)
    cfg = _new_dashboard(page, server, "free_wall", "自由布局看板", "指标卡")
    page.locator("[data-widget=w1]").wait_for()
    page.click("[data-test=free-layout]")
    col = cfg.locator("[data-test=w-col] input")
    col.fill("12")
    col.press("Enter")
    row = cfg.locator("[data-test=w-row] input")
    row.fill("3")
    row.press("Enter")
    page.wait_for_function("getComputedStyle(document.querySelector('[data-widget=w1]')).gridColumnStart === '13'")
    assert page.evaluate("getComputedStyle(document.querySelector('[data-widget=w1]')).gridRowStart") == "4"
    page.click("[data-test=publish-dash]")
    page.wait_for_url("**/design/dashboard/free_wall")
    saved = api().get("/api/dashboards/free_wall")["definition"]["widgets"][0]["position"]
    assert (saved["x"], saved["y"]) == (12, 3)
    page.goto(server + "/#/d/free_wall")
    page.locator("[data-widget=w1]").wait_for()
    assert page.evaluate("getComputedStyle(document.querySelector('[data-widget=w1]')).gridColumnStart") == "13"
