"""IT builds an approval flow in the designer; a second user approves it from the inbox."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.conftest import login, pick, shot


def test_build_flow_submit_and_approve_as_second_user(page, server, api) -> None:
    login(page, server)
    page.goto(server + "/#/design/flow")
    page.click("[data-test=flow-name-advanced]")     # IT names the flow itself (otherwise made from its Chinese name)
    page.fill("[data-test=flow-name]", "supplier_review")
    page.fill("[data-test=flow-label]", "供应商准入审批")
    pick(page, page.locator("[data-test=flow-form]"), "供应商")
    page.locator("[data-test=add-node]").first.click()
    page.locator(".el-dropdown-menu__item[data-node-type=approval]:visible").click()
    node = page.locator("[data-node=approval_1]")
    node.wait_for()
    pick(page, node.locator(".el-select").first, "指定人员")
    pick(page, node.locator("[data-test=assignee-users]"), "质量经理老陈")
    page.keyboard.press("Escape")
    pick(page, node.locator("[data-test=mode]"), "会签")
    page.wait_for_function("document.querySelector('[data-test=flow-problems]').textContent.includes('没有错误')")
    shot(page, "flow-designer")
    page.click("[data-test=publish-flow]")
    page.wait_for_url("**/design/flow/supplier_review")
    flow = api().get("/api/workflows/supplier_review")["definition"]
    assert flow["form"] == "supplier"
    assert flow["nodes"][0]["assignees"] == [{"type": "user", "users": ["qcm"]}] and flow["nodes"][0]["mode"] == "all"

    rec = api().post("/api/records/supplier", {"code": "S-UI-1", "name": "温州测试阀门厂"})
    page.goto(server + f"/#/f/supplier/{rec['id']}")
    page.click("[data-test=submit-flow][data-flow=supplier_review]")
    page.get_by_text("已提交审批").wait_for()

    # the second user sees the task in the inbox and approves it with an opinion
    page.click("text=退出")
    login(page, server, "qcm", "qcmpass123")
    page.goto(server + "/#/inbox")
    task = page.locator("[data-task]").filter(has_text="供应商准入审批").first
    task.wait_for()
    assert task.locator("[data-status=pending]").inner_text() == "待处理"     # the status in Chinese, not a code
    shot(page, "inbox")
    task.locator("[data-action=approve]").click()
    page.fill("[data-test=opinion]", "资质齐全，同意")
    page.click("[data-test=confirm-action]")
    # decided: it leaves the list (other tests' tasks on this shared server may stay)
    expect(page.locator("[data-task]").filter(has_text="供应商准入审批")).to_have_count(0)
    inst = api().get("/api/workflow-instances", form="supplier", record_id=rec["id"])
    assert inst[0]["status"] == "approved"

    # the record's timeline shows the approval step with the opinion
    page.goto(server + f"/#/f/supplier/{rec['id']}")
    page.get_by_role("tab", name="时间线").click()
    page.get_by_text("资质齐全，同意").wait_for()
