"""Engine-only forms in the browser: the administrator opening 库存流水 (stock_move, written only by posting stock
documents) sees its rows but no 新建 nor 导入 — only a note that the system writes these records — and each row
opens with 查看, not 编辑; 物料 (item) still offers 新建. Typing /f/stock_move/new says why there is no form."""
from __future__ import annotations

from tests.ui.conftest import login, shot

NOTE = "这些记录由系统自动写入，不能手工新建或导入"


def test_admin_sees_no_new_nor_import_on_the_stock_ledger(page, server) -> None:  # type: ignore[no-untyped-def]
    login(page, server)
    page.goto(f"{server}/#/f/stock_move")
    page.locator("[data-test=engine-only-note]").wait_for()
    page.locator(".el-table__body .el-table__row").first.wait_for()       # the demo's posted receipts
    assert page.locator("[data-test=engine-only-note]").inner_text() == NOTE
    assert page.locator("[data-test=new]").count() == 0 and page.locator("[data-test=import]").count() == 0
    assert page.get_by_role("button", name="导出 ▾").count() == 1            # reading and exporting stay
    assert page.locator(".el-table__body .el-table__row").first.get_by_role("link", name="查看").count() == 1
    shot(page, "engine_only_stock_move")

    page.goto(f"{server}/#/f/item")
    page.locator("[data-test=new]").first.wait_for()
    assert page.locator("[data-test=engine-only-note]").count() == 0 and page.locator("[data-test=import]").count() == 1

    page.goto(f"{server}/#/f/stock_move/new")
    page.get_by_text(NOTE).wait_for()
