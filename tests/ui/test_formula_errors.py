"""A formula that fails for a record's values (division by zero) shows why beside the empty field,
in the record view and while the form is being filled in (issue 16, item 7)."""
from __future__ import annotations

import httpx

from tests.ui.conftest import login

FORM = {"format": "mom.form/1", "name": "yield_check", "label": {"zh-CN": "良率点检", "en": "Yield check"}, "fields": [
    {"id": "f1", "key": "good", "type": "integer", "label": {"zh-CN": "良品数", "en": "Good"}},
    {"id": "f2", "key": "total", "type": "integer", "label": {"zh-CN": "总数", "en": "Total"}},
    {"id": "f3", "key": "ratio", "type": "formula", "result_type": "decimal", "formula": "good / total",
     "label": {"zh-CN": "良率", "en": "Yield"}}]}


def test_formula_error_is_shown_next_to_the_field(page, server, api) -> None:
    admin = api()
    r = httpx.put(server + "/api/forms/yield_check", json=FORM, headers=admin.h)
    assert r.status_code == 200, r.text
    rid = admin.post("/api/records/yield_check", {"good": 3, "total": 0})["id"]
    login(page, server)
    page.goto(server + f"/#/f/yield_check/{rid}")
    err = page.locator("[data-item=ratio] .el-form-item__error")
    err.wait_for()
    assert "除数为零" in err.inner_text()
    # while typing a new record: the preview says the same, and a fixed value clears it
    page.goto(server + "/#/f/yield_check/new")
    err.wait_for(state="detached")          # the new, empty form has replaced the record's (a loaded machine may lag)
    page.fill("[data-field=good] input", "3")
    page.fill("[data-field=total] input", "0")
    page.locator("[data-field=total] input").blur()
    err.wait_for()
    assert "除数为零" in err.inner_text()
    page.fill("[data-field=total] input", "4")
    page.locator("[data-field=total] input").blur()
    err.wait_for(state="detached")
