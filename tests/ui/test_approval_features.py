"""Approval features in the browser (issue 20 item 10): IT sets them as node properties in Chinese
(发起人自选, comment required to reject, handwritten signature, 审批人去重); the submitter chooses the
approver; the approver signs on the canvas; an administrator hands a leaver's tasks over."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.ui.conftest import login, pick


def _sign(page) -> None:
    box = page.locator("[data-test=signature-pad] canvas").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 20 + i * 15, box["y"] + 30 + (i % 3) * 20, steps=2)
    page.mouse.up()


def test_chosen_approver_signature_and_handover_in_the_browser(page, server, api) -> None:
    login(page, server)
    page.goto(server + "/#/design/flow")
    page.locator("[data-test=flow-label]").wait_for()
    if page.locator("[data-test=flow-name-advanced]").count():     # IT names the flow itself in the advanced panel
        page.click("[data-test=flow-name-advanced]")
    page.fill("[data-test=flow-name]", "supplier_pick")
    page.fill("[data-test=flow-label]", "供应商准入（自选审批人）")
    pick(page, page.locator("[data-test=flow-form]"), "供应商")
    page.locator("[data-test=dedupe]").click()
    page.locator("[data-test=add-node]").first.click()
    page.locator(".el-dropdown-menu__item[data-node-type=approval]:visible").click()
    node = page.locator("[data-node=approval_1]")
    node.wait_for()
    pick(page, node.locator(".el-select").first, "发起人自选")
    node.get_by_text("驳回时必须填写意见").click()
    pick(page, node.locator("[data-test=signature]"), "必须手写签名")
    page.wait_for_function("document.querySelector('[data-test=flow-problems]').textContent.includes('没有错误')")
    page.click("[data-test=publish-flow]")
    page.wait_for_url("**/design/flow/supplier_pick")
    flow = api().get("/api/workflows/supplier_pick")["definition"]
    assert flow["dedupe_approvers"] is True
    n = flow["nodes"][0]
    assert n["assignees"] == [{"type": "chosen", "max": 3}] and n["comment_required"] == ["reject"] and n["signature"] == "required"

    # the submitter chooses the approver when submitting
    rec = api().post("/api/records/supplier", {"code": "S-UI-PICK", "name": "乐清自选阀门厂"})
    page.goto(server + f"/#/f/supplier/{rec['id']}")
    page.click("[data-test=submit-flow][data-flow=supplier_pick]")
    dialog = page.locator("[data-test=choose-approvers]")
    dialog.get_by_text("「审批」的审批人（最多 3 人）").wait_for()
    page.wait_for_timeout(500)                                   # the dialog has finished opening
    dialog.locator(".el-select").first.click()
    page.keyboard.type("老陈")                                    # the list holds every active user: filter it
    page.locator(".el-select-dropdown__item:visible", has_text="质量经理老陈").first.click()
    dialog.locator(".el-dialog__header").click()                 # close the option list
    page.click("[data-test=choose-confirm]")
    page.get_by_text("已提交审批").wait_for()

    # the approver signs on the canvas; without a signature the server says what to do
    page.click("text=退出")
    login(page, server, "qcm", "qcmpass123")
    page.goto(server + "/#/inbox")
    task = page.locator("[data-task]").filter(has_text="供应商准入（自选审批人）").first
    task.wait_for()
    task.locator("[data-action=approve]").click()
    page.locator("[data-test=signature-pad]").wait_for()
    page.click("[data-test=confirm-action]")
    page.get_by_text("请在签名区签字").first.wait_for()
    _sign(page)
    page.wait_for_timeout(500)
    page.fill("[data-test=opinion]", "同意准入")
    page.click("[data-test=confirm-action]")
    # the decided task leaves the inbox (other tests on this shared server may leave 老陈 tasks of their own)
    expect(page.locator("[data-task]").filter(has_text="供应商准入（自选审批人）")).to_have_count(0, timeout=30_000)
    inst = api().get("/api/workflow-instances", form="supplier", record_id=rec["id"])[0]
    assert inst["status"] == "approved"
    full = api().get(f"/api/workflow-instances/{inst['id']}")
    assert full["tasks"][0]["signature"]

    # an administrator hands a leaver's open tasks over on the admin screen
    rec2 = api().post("/api/records/supplier", {"code": "S-UI-HAND", "name": "永嘉交接泵业"})
    api().post("/api/workflows/supplier_pick/start", {"record_id": rec2["id"], "approvers": {"approval_1": ["qe1"]}})
    page.click("text=退出")
    login(page, server)
    page.goto(server + "/#/admin")
    page.get_by_role("tab", name="审批代理与交接").click()
    pick(page, page.locator("[data-test=handover-from]"), "质量工程师小赵")
    page.wait_for_timeout(400)                                   # the first option list has closed
    pick(page, page.locator("[data-test=handover-to]"), "质量经理老陈")
    page.click("[data-test=handover-run]")
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    page.get_by_text("已转交 1 项待办").wait_for()
    todo = api("qcm", "qcmpass123").get("/api/tasks")["items"]
    assert [t["record_id"] for t in todo if t["workflow"] == "supplier_pick"] == [rec2["id"]]


def test_the_initiator_asks_to_revoke_an_approved_request(page, server, api) -> None:
    admin = api()
    base = {"format": "mom.workflow/1", "form": "supplier"}
    for name, label, more in (("supplier_revoke", "供应商准入撤销", {}), ("supplier_ok", "供应商准入（可撤销）", {"revoke_flow": "supplier_revoke"})):
        r = httpx.put(server + f"/api/workflows/{name}", headers=admin.h, json={
            **base, "name": name, "label": {"zh-CN": label}, **more,
            "nodes": [{"id": "boss", "type": "approval", "label": {"zh-CN": "经理审批"}, "assignees": [{"type": "user", "users": ["qcm"]}]}]})
        assert r.status_code == 200, r.text
    rec = admin.post("/api/records/supplier", {"code": "S-UI-REV", "name": "瓯海撤销五金厂"})
    inst = admin.post("/api/workflows/supplier_ok/start", {"record_id": rec["id"]})
    qcm = api("qcm", "qcmpass123")
    qcm.post(f"/api/tasks/{inst['open_tasks'][0]['id']}/approve", {})
    login(page, server)
    page.goto(server + f"/#/f/supplier/{rec['id']}")
    page.locator("[data-test=revoke-request]").wait_for()
    supplier_flows = [f for f in admin.get("/api/workflows") if f["form"] == "supplier"]
    # neither the revoke flow nor supplier_ok, which approved the unchanged record, offers 提交审批
    assert page.locator("[data-test=submit-flow]").count() == len(supplier_flows) - 2
    assert page.locator("[data-test=submit-flow][data-flow=supplier_ok]").count() == 0
    assert "已审批通过" in page.locator("[data-test=approved-tag]").inner_text()
    page.click("[data-test=revoke-request]")
    page.locator(".el-message-box textarea").fill("资质证书过期")
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    page.get_by_text("已提交审批").wait_for()
    rev = admin.get("/api/workflow-instances", form="supplier", record_id=rec["id"])[0]
    assert rev["workflow"] == "supplier_revoke" and rev["status"] == "running"
    qcm.post(f"/api/tasks/{rev['open_tasks'][0]['id']}/approve", {})
    assert admin.get(f"/api/workflow-instances/{inst['id']}")["status"] == "revoked"
