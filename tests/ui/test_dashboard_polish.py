"""Dashboard polish from the outside review (issue 20): widgets are named after their data (「批次数 按
供应商」, not 组件2); a KPI over a report grouped by supplier shows the total of all suppliers with its
measure's name and unit, centred in its card; empty designers send no preview; the report designer
offers a sub-table's columns and a date-range picker that reads as optional. Screenshots at 1366 px and
390 px (dashboard-polish-*.png) are looked at for the legend against the axis labels."""
from __future__ import annotations

from tests.ui.conftest import drag, login, pick, shot


def _watch(page) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """Preview calls made, and every /api answer of 400 or more."""
    previews: list[str] = []
    bad: list[str] = []
    page.on("request", lambda r: previews.append(r.url) if r.url.endswith("/preview") else None)
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if "/api/" in r.url and r.status >= 400 else None)
    return previews, bad


def test_dashboard_titles_kpi_total_and_layout(page, server, api) -> None:
    previews, bad = _watch(page)
    login(page, server)
    page.goto(server + "/#/design/dashboard")
    page.locator("[data-test=add-widget]").wait_for()
    page.wait_for_timeout(1200)                       # longer than the preview's debounce
    assert previews == []                             # nothing to check yet: nothing sent

    page.click("[data-test=add-widget]")
    w1 = page.locator("[data-wcfg=w1]")
    pick(page, w1.locator("[data-test=w-type]"), "柱状图")
    pick(page, w1.locator("[data-test=w-report]"), "来料检验：供应商合格率")
    title1 = w1.locator(".whead input")
    page.wait_for_function("(el) => el.value === '批次数 按 供应商'", arg=title1.element_handle())
    pick(page, w1.locator("[data-test=w-y]"), "不合格批")       # a second value: the title follows
    page.wait_for_function("(el) => el.value === '批次数、不合格批 按 供应商'", arg=title1.element_handle())

    page.click("[data-test=add-widget]")
    w2 = page.locator("[data-wcfg=w2]")
    pick(page, w2.locator("[data-test=w-type]"), "指标卡")
    pick(page, w2.locator("[data-test=w-report]"), "来料检验：供应商合格率")
    pick(page, w2.locator("[data-test=w-value]"), "批次数")
    w2.locator("[data-test=w-unit]").fill("批")
    title2 = w2.locator(".whead input")
    assert title2.input_value() == "来料检验：供应商合格率"       # a KPI is named after its report
    title2.fill("来料总批次")                                       # her own title stays
    pick(page, w2.locator("[data-test=w-value]"), "不合格批")
    pick(page, w2.locator("[data-test=w-value]"), "批次数")
    assert title2.input_value() == "来料总批次"

    rows = api().get("/api/reports/iqc_by_supplier/data")["rows"]
    assert len(rows) > 1                               # several suppliers: the last one alone is not the total
    total = sum(r["lots"] for r in rows)
    card = page.locator("main [data-widget=w2]")
    value = card.locator("[data-test=kpi-value]")
    page.wait_for_function("([el, want]) => el.innerText.replace(/\\s/g, '') === want",
                           arg=[value.element_handle(), f"{total:,}批"])
    assert card.locator("[data-test=kpi-label]").inner_text() == "批次数"
    assert card.locator("[data-test=kpi-unit]").inner_text() == "批"
    box, num = card.bounding_box(), value.bounding_box()
    assert abs((num["x"] + num["width"] / 2) - (box["x"] + box["width"] / 2)) < 12     # centred, not bottom-left
    assert num["y"] > box["y"] + 30 and num["y"] + num["height"] < box["y"] + box["height"] - 20
    page.locator("main [data-widget=w1] canvas").first.wait_for()
    assert page.locator("main .wtitle", has_text="组件").count() == 0
    shot(page, "dashboard-polish-designer-1366")

    page.click("[data-test=dash-label]")
    page.fill("[data-test=dash-label]", "来料看板（润色）")
    page.click("[data-test=publish-dash]")
    page.wait_for_url("**/design/dashboard/*")
    name = page.url.rsplit("/", 1)[1]
    data = api().get(f"/api/dashboards/{name}/data")
    ws = {w["id"]: w for w in data["widgets"]}
    assert ws["w2"]["value"] == total and ws["w2"]["unit"]["zh-CN"] == "批"
    assert ws["w1"]["title"]["zh-CN"] == "批次数、不合格批 按 供应商"
    page.goto(server + f"/#/d/{name}")
    page.locator("[data-widget=w1] canvas").first.wait_for()
    shot(page, "dashboard-polish-view-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.locator("[data-widget=w1] canvas").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "dashboard-polish-view-390")
    page.locator("[data-widget=w2]").scroll_into_view_if_needed()
    shot(page, "dashboard-polish-kpi-390")
    assert bad == [], bad


def test_report_designer_offers_sub_table_and_optional_date_range(page, server, api) -> None:
    previews, bad = _watch(page)
    login(page, server)
    page.goto(server + "/#/design/report")
    page.locator("[data-test=report-source]").wait_for()
    page.wait_for_timeout(1000)
    assert previews == []                             # an empty report designer checks nothing
    pick(page, page.locator("[data-test=report-source]"), "来料检验单")
    sub = page.locator("[data-rfield='readings.characteristic']")
    sub.wait_for()
    assert "检测数据·检测项目" in sub.inner_text()
    assert "日期范围（可选）" in page.locator("[data-test=period-field]").inner_text()
    drag(page, sub, page.locator("[data-test=dims]"))
    if not page.locator("[data-test=dims] .chip").count():          # a dropped drag is retried once
        drag(page, sub, page.locator("[data-test=dims]"))
    value = page.locator("[data-rfield='readings.value']")
    drag(page, value, page.locator("[data-test=measures]"))
    if not page.locator("[data-test=measures] [data-measure=readings_value_sum]").count():
        drag(page, value, page.locator("[data-test=measures]"))
    preview = page.locator("[data-test=report-preview] .el-table__row")
    preview.first.wait_for()
    # one row per 检测项目 of the inspections' sub-table rows, as the API answers for the same definition
    shown = {r.split("\t")[0].strip() for r in preview.all_inner_texts()}
    draft = {"format": "mom.report/1", "name": "draft", "source": "iqc_inspection",
             "dimensions": [{"key": "c", "field": "readings.characteristic"}], "measures": [{"key": "n", "agg": "count"}]}
    readings = {r["c"] for r in api().post("/api/reports/preview", {"definition": draft})["rows"]}
    assert readings and shown == readings and preview.count() == len(readings), (shown, readings)
    # the count button stands clear of the 图表 label
    add = page.locator("[data-test=add-count]").bounding_box()
    label = page.locator(".chartlabel").bounding_box()
    assert label["x"] - (add["x"] + add["width"]) >= 12
    shot(page, "report-designer-sub-table")
    assert bad == [], bad
