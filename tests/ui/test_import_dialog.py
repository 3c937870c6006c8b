"""The import dialog's error table in words a quality supervisor reads (issue 16 review, item 4):
rows as "第 2 行" (or "文件"), fields by their labels, a heading that counts the listed rows the
same way in both modes, and a damaged .xlsx explained in Chinese."""
from __future__ import annotations

import httpx

from tests.ui.conftest import login

FORM = {"format": "mom.form/1", "name": "qc_import", "label": {"zh-CN": "抽检", "en": "Spot checks"},
        "permissions": [{"role": "*", "actions": ["create", "read", "update", "import"]}],
        "fields": [{"id": "f1", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
                   {"id": "f2", "key": "good", "type": "integer", "label": {"zh-CN": "合格数", "en": "Good"}},
                   {"id": "f3", "key": "check_date", "type": "date", "label": {"zh-CN": "检验日期", "en": "Check date"}}]}
CSV = "title,good,check_date\n坏行一,八,2026-12-01\n坏行二,x,明天\n好行,3,2026-12-02\n"


def _open(page, server):  # type: ignore[no-untyped-def]
    page.goto(server + "/#/f/qc_import")
    page.click("[data-test=import]")


def _run(page, path, skip: bool = False):  # type: ignore[no-untyped-def]
    page.set_input_files("[data-test=import-file]", str(path))
    if skip:
        page.locator(".el-dialog .el-radio", has_text="跳过错误行").click()
    page.click("[data-test=import-run]")
    box = page.locator("[data-test=import-errors]")
    box.wait_for()
    return box


def _column(box, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.inner_text().strip() for c in box.locator(f".el-table__body tr td:nth-child({n})").all()]


def test_import_errors_name_rows_and_fields_in_words(page, server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    r = httpx.put(server + "/api/forms/qc_import", json=FORM, headers=admin.h)
    assert r.status_code == 200, r.text
    f = tmp_path / "checks.csv"
    f.write_text(CSV, encoding="utf-8")
    login(page, server)
    _open(page, server)
    box = _run(page, f)
    heading = box.locator(".err").inner_text()
    assert "2 行有错误" in heading and "共 3 处" in heading and "未导入任何数据" in heading, heading
    assert _column(box, 1) == ["第 2 行", "第 3 行", "第 3 行"]
    assert set(_column(box, 2)) == {"合格数", "检验日期"}
    # skipping the bad rows: says what was imported and what was skipped
    page.keyboard.press("Escape")
    _open(page, server)
    box = _run(page, f, skip=True)
    assert box.locator(".err").inner_text() == "已导入 1 条，跳过 2 行有错误的数据："
    assert admin.get("/api/records/qc_import")["items"][0]["title"] == "好行"


def test_a_damaged_xlsx_is_explained_on_the_file(page, server, api, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = api()
    assert httpx.put(server + "/api/forms/qc_import", json=FORM, headers=admin.h).status_code == 200
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"PK\x03\x04" + bytes(200))
    login(page, server)
    _open(page, server)
    box = _run(page, f)
    assert _column(box, 1) == ["文件"]
    text = box.inner_text()
    assert "可能已损坏或不是 Excel 文件" in text and "zip" not in text.lower(), text
