"""The report designer by drag and drop (live preview, publish, the published report shows the same
numbers as the API) and printing a record (QR label and report open as print-ready pages)."""
from __future__ import annotations

from tests.ui.conftest import drag, login, open_print, pick, shot


def test_build_a_report_by_dragging_fields(page, server, api) -> None:
    login(page, server)
    page.goto(server + "/#/design/report")
    page.click("[data-test=report-name-advanced]")   # IT names the report itself (otherwise made from its Chinese name)
    page.fill("[data-test=report-name]", "lots_by_result")
    page.fill("[data-test=report-label]", "按结论统计批次")
    pick(page, page.locator("[data-test=report-source]"), "来料检验单")
    field = page.locator("[data-rfield=result]")
    field.wait_for()
    drag(page, field, page.locator("[data-test=dims]"))
    if not page.locator("[data-test=dims] .chip").count():          # a dropped drag is retried once
        drag(page, field, page.locator("[data-test=dims]"))
    page.click("[data-test=add-count]")
    preview = page.locator("[data-test=report-preview] .el-table__row")
    preview.first.wait_for()
    page.click("[data-test=preaggregate]")                          # kept as a summary table
    shot(page, "report-designer")
    page.click("[data-test=publish-report]")
    page.wait_for_url("**/design/report/lots_by_result")

    data = api().get("/api/reports/lots_by_result/data")
    assert data["preaggregated"] is True, data.get("preaggregate_reason")
    rows = data["rows"]
    total = api().get("/api/records/iqc_inspection", count=1)["total"]
    count_key = next(k for k in rows[0] if k != "result" and isinstance(rows[0][k], int))
    assert sum(r[count_key] for r in rows) == total                 # every record counted once
    page.goto(server + "/#/r/lots_by_result")
    table = page.locator("[data-test=report-rows] .el-table__row")
    table.first.wait_for()
    assert table.count() == len(rows)
    shown = " ".join(table.all_inner_texts())
    for r in rows:
        assert str(r[count_key]) in shown


def test_print_a_record_as_a_label_and_a_report(page, server, api) -> None:
    login(page, server)
    label = open_print(page, server, api, "来料批次标签")
    html = label.content()
    assert "IQC-DEMO-0001" in html and "<svg" in html      # the QR code is drawn in the page
    assert "合格" in label.inner_text("body")                # the result as people read it, not the stored value
    # at the size the template asks for (30 mm ≈ 113 CSS px), not a few pixels (regression: no viewBox)
    width = label.evaluate("document.querySelector('svg.segno').getBoundingClientRect().width")
    assert 105 <= width <= 120
    assert label.evaluate("[...document.querySelectorAll('link[href^=\"http\"], script[src^=\"http\"]')].length") == 0
    shot(label, "print-label")
    label.close()
