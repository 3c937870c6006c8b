"""The flow condition builder speaks the field's vocabulary (issue 20, item 2): the supervisor picks
判定, 等于 and the option 不合格 by its label; the stored condition compares the stored value, the preview
reads 判定 等于 不合格, so a 不合格 record goes to the quality manager and a 合格 one does not. The designer
warns, before publishing, about the branch that ends the flow without an approver."""
from __future__ import annotations

import httpx

from tests.ui.conftest import CoreApi, login, pick, shot

FORM = {"format": "mom.form/1", "name": "cb_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
        "fields": [
            {"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
            {"id": "f2", "key": "defects", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defects"}},
            {"id": "f3", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
             "options": [{"value": "a", "label": {"zh-CN": "合格", "en": "Pass"}}, {"value": "b", "label": {"zh-CN": "不合格", "en": "Fail"}}]},
        ],
        "permissions": [{"role": "*", "actions": ["create", "read", "update"], "scope": "all"}]}
FLOW = {"format": "mom.workflow/1", "name": "cb_review", "label": {"zh-CN": "来料审批", "en": "Inspection review"},
        "form": "cb_inspection", "trigger": {"on": "submit"},
        "nodes": [{"id": "c1", "type": "condition", "label": {"zh-CN": "按判定", "en": "By verdict"}, "branches": [
            {"label": {"zh-CN": "不合格", "en": "Fail"}, "when": "defects > 100", "nodes": [
                {"id": "mgr", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "QA manager"},
                 "assignees": [{"type": "user", "users": ["cbmgr"]}]}]},
            {"else": True, "nodes": []}]}]}


def test_a_select_condition_picked_by_label_routes_the_record(page, core_server) -> None:  # type: ignore[no-untyped-def]
    admin = CoreApi(core_server, "admin")
    for method, path, body in (("put", "/api/forms/cb_inspection", FORM),
                               ("post", "/api/admin/users", {"username": "cbmgr", "password": "Mgr-pass-123", "display_name": "质量经理老陈"}),
                               ("put", "/api/workflows/cb_review", FLOW)):
        r = httpx.request(method, core_server + path, json=body, headers=admin.h)
        assert r.status_code in (200, 201), r.text
    login(page, core_server)
    page.goto(core_server + "/#/design/flow/cb_review")
    row = page.locator("[data-test=cond-row]").first
    row.wait_for()
    # the else branch has no approver: a warning before publishing, in words
    warn = page.locator("[data-test=flow-warnings]")
    warn.wait_for()
    assert "其他情况" in warn.inner_text() and "没有审批人" in warn.inner_text()
    pick(page, row.locator("[data-test=cond-field]"), "判定")
    ops = row.locator("[data-test=cond-op]")
    assert "等于" in ops.inner_text()
    row.locator("[data-test=cond-value] [data-choice=不合格]").click()     # two options: a row of buttons
    preview = page.locator("[data-test=cond-preview]").first
    page.wait_for_function("document.querySelector('[data-test=cond-preview]').textContent.includes('不合格')")
    assert preview.inner_text().strip() == "判定 等于 不合格"
    shot(page, "flow-condition-builder")
    page.wait_for_timeout(600)       # the designer's check after an edit
    page.click("[data-test=publish-flow]")
    page.get_by_text("已发布").first.wait_for()
    stored = admin.get("/api/workflows/cb_review")["definition"]
    assert stored["nodes"][0]["branches"][0]["when"] == "verdict == 'b'"

    # a 不合格 record waits for the manager; a 合格 one finishes without him
    status = {}
    for lot, verdict in (("L-UI-1", "不合格"), ("L-UI-2", "合格")):
        rec = admin.post("/api/records/cb_inspection", {"lot": lot, "verdict": verdict})
        status[lot] = admin.post("/api/workflows/cb_review/start", {"record_id": rec["id"]})["status"]
    assert status == {"L-UI-1": "running", "L-UI-2": "approved"}

    # reopened, the stored condition loads as rows again, by label
    page.goto(core_server + "/#/design/flow/cb_review")
    page.locator("[data-test=cond-preview]").first.wait_for()
    assert page.locator("[data-test=cond-preview]").first.inner_text().strip() == "判定 等于 不合格"
