"""Issue 20 review #4, #5, #6 in the browser: an inspector who reads only her own records is told so
(in the list and in its empty state, never "添加第一条" while others' records exist); the quick search
finds a batch number; 导出 → Excel downloads 不合格品处理单.xlsx with labels and a sheet per sub-table."""
from __future__ import annotations

import io

import httpx
import openpyxl

from tests.integration.test_export_for_people import NCR_FORM
from tests.ui.conftest import login, shot

NAME = "ui_scope_ncr"
NOTICE = "只显示你创建的记录；如需查看全部记录，请联系表单管理员"


def _arrange(server: str, api) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    r = httpx.put(f"{server}/api/forms/{NAME}", json={**NCR_FORM, "name": NAME}, headers=admin.h)
    assert r.status_code == 200, r.text
    boss = api("qcm", "qcmpass123")
    for n in (1, 2):
        boss.post(f"/api/records/{NAME}", {"product": f"经理的阀门{n}", "pi_ci_hao": f"L2612-0{n}", "defect": "xie_lou",
                                            "details": [{"position": "法兰面", "count": n}]})


def test_own_scope_is_said_search_finds_the_batch_and_excel_is_for_people(page, server, api) -> None:  # type: ignore[no-untyped-def]
    _arrange(server, api)
    login(page, server, "qc1", "qc1pass123")
    page.goto(f"{server}/#/f/{NAME}")
    empty = page.locator("[data-test=list-empty-scope]")
    empty.wait_for()
    assert empty.inner_text() == NOTICE
    assert page.locator("[data-test=scope-note]").inner_text() == NOTICE
    assert page.get_by_text("添加第一条").count() == 0
    shot(page, "list_scope_notice_empty")

    api("qc1", "qc1pass123").post(f"/api/records/{NAME}", {"product": "阀体", "pi_ci_hao": "L2612-07", "defect": "sha_yan",
                                                           "details": [{"position": "阀座", "count": 3}]})
    page.reload()
    page.locator(".el-table__row").first.wait_for()
    page.locator("input[data-test=quick-search], [data-test=quick-search] input").first.fill("L2612")
    page.locator("input[data-test=quick-search], [data-test=quick-search] input").first.press("Enter")
    page.wait_for_timeout(500)
    rows = page.locator(".el-table__body .el-table__row")
    assert rows.count() == 1 and "阀体" in rows.first.inner_text() and "砂眼" in rows.first.inner_text()
    assert page.locator("[data-test=scope-note]").inner_text() == NOTICE

    page.get_by_role("button", name="导出 ▾").click()
    with page.expect_download() as got:
        page.get_by_text("Excel (.xlsx)").click()
    download = got.value
    assert download.suggested_filename == "不合格品处理单.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    assert wb.sheetnames == ["不合格品处理单", "缺陷明细"]
    main = list(wb.worksheets[0].iter_rows(values_only=True))
    assert main[0][:5] == ("编号", "产品名称", "炉批号", "不良数", "缺陷类型") and main[1][4] == "砂眼"
    assert [r[1:] for r in list(wb.worksheets[1].iter_rows(values_only=True))[1:]] == [("阀体", "阀座", 3)]
    shot(page, "list_scope_notice_search")


def test_the_manager_who_reads_everything_sees_no_notice(page, server, api) -> None:  # type: ignore[no-untyped-def]
    if httpx.get(f"{server}/api/forms/{NAME}", headers=api().h).status_code != 200:
        _arrange(server, api)
    login(page, server, "qcm", "qcmpass123")
    page.goto(f"{server}/#/f/{NAME}")
    page.locator(".el-table__row").first.wait_for()
    assert page.locator("[data-test=scope-note]").count() == 0


def test_a_dashboard_and_a_report_read_within_the_department_say_so(page, server) -> None:  # type: ignore[no-untyped-def]
    """The demo's 来料检验 is read by inspectors within their department (qc1: 来料检验组)."""
    login(page, server, "qc1", "qc1pass123")
    for path in ("/#/d/quality_overview", "/#/r/iqc_by_supplier"):
        page.goto(server + path)
        note = page.locator("[data-test=scope-note]")
        note.wait_for()
        assert note.inner_text() == "只显示你所在部门的记录；如需查看全部记录，请联系表单管理员"
