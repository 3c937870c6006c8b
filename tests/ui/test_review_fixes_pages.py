"""The outside review's page findings (issue 20: #2, #8, #9, #10, #17) in the browser, on a server of its
own with the reviewer's flow: 泄漏 → 部门主管 → 质量会签; 不良数 > 5 → 发起人自选 (处理人审批); otherwise
straight to 质量会签. The inspector submits without being asked for a step her record never reaches; a
reader sees neither 保存 nor 提交审批; a returned request is her to-do with the reason and a banner on
the record; decisions say what happened; refused pages say 无权限 instead of showing working screens."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import UserApi as Api
from tests.ui.conftest import login, shot

PEOPLE = {"insp1": ("检验员小王", ["inspector"]), "qm1": ("主管老陈", ["qm"]), "qm2": ("质量工程师小赵", ["qm"]),
          "outsider": ("采购小周", [])}
FORM = {"format": "mom.form/1", "name": "rv_ncr", "label": {"zh-CN": "不合格品处理单", "en": "Nonconformance"},
        "display_field": "product",
        "fields": [{"id": "f1", "key": "product", "type": "text", "label": {"zh-CN": "产品名称", "en": "Product"}},
                   {"id": "f2", "key": "defect", "type": "text", "label": {"zh-CN": "缺陷类型", "en": "Defect"}},
                   {"id": "f3", "key": "qty", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defective"}}],
        "permissions": [{"role": "inspector", "actions": ["create", "read", "update"], "scope": "own"},
                        {"role": "qm", "actions": ["read"]}]}
FLOW = {"format": "mom.workflow/1", "name": "rv_flow", "label": {"zh-CN": "不合格品审批", "en": "NCR review"}, "form": "rv_ncr",
        "nodes": [
            {"id": "route", "type": "condition", "branches": [
                {"label": {"zh-CN": "泄漏", "en": "leak"}, "when": "defect == '泄漏'", "nodes": [
                    {"id": "head", "type": "approval", "label": {"zh-CN": "部门主管", "en": "Head"},
                     "assignees": [{"type": "user", "users": ["qm1"]}]}]},
                {"label": {"zh-CN": "数量多", "en": "many"}, "when": "qty > 5", "nodes": [
                    {"id": "handler", "type": "approval", "label": {"zh-CN": "处理人审批", "en": "Handler"},
                     "assignees": [{"type": "chosen", "max": 3}]}]},
                {"else": True, "nodes": []}]},
            {"id": "sign", "type": "approval", "label": {"zh-CN": "质量会签", "en": "Quality sign-off"},
             "assignees": [{"type": "user", "users": ["qm2"]}]}]}


@pytest.fixture(scope="module")
def plant(flow_server: str) -> str:
    """The server of this module (tests/ui/conftest.py ``flow_server``: PEOPLE, FORM and FLOW above)."""
    return flow_server


def _record(api: Api, **values: Any) -> int:
    return int(api.call("post", "/api/records/rv_ncr", {"product": "阀体", **values})["id"])


def _toast(page, said: str) -> None:  # type: ignore[no-untyped-def]
    """The message after an action says ``said`` (an earlier one may still be fading out)."""
    expect(page.locator(".el-message").filter(has_text=said)).to_be_visible()


def _open(page, plant: str, rid: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{plant}/#/f/rv_ncr/{rid}")
    page.wait_for_load_state("networkidle")


def test_submit_asks_only_for_the_steps_on_the_record_s_path(page, plant: str) -> None:
    insp = Api(plant, "insp1")
    small, many = _record(insp, defect="砂眼", qty=3), _record(insp, defect="砂眼", qty=8)
    login(page, plant, "insp1", "insp1-pass-1")
    _open(page, plant, small)
    page.click("[data-test=submit-flow]")
    _toast(page, "已提交审批")
    expect(page.locator("[data-test=choose-approvers]")).to_be_hidden()       # 处理人审批 is not on its path
    expect(page.locator("[data-test=submit-flow]")).to_have_count(0)           # under approval now: no second submit
    _open(page, plant, many)
    page.click("[data-test=submit-flow]")
    dialog = page.locator("[data-test=choose-approvers]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("处理人审批")
    shot(page, "review-choose-on-path")
    page.click("text=取消")


def test_returned_requests_toasts_and_rights_on_the_record(page, plant: str) -> None:
    insp = Api(plant, "insp1")
    leak = _record(insp, defect="泄漏", qty=2)
    insp.call("post", "/api/workflows/rv_flow/start", {"record_id": leak})

    # #10: the head reads the record but may not change or submit it
    login(page, plant, "qm1", "qm1-pass-1")
    _open(page, plant, leak)
    expect(page.locator("[data-test=save]")).to_have_count(0)
    expect(page.locator("[data-test=submit-flow]")).to_have_count(0)
    # #17: 退回 to the initiator says so
    page.goto(plant + "/#/inbox")
    item = page.locator("[data-task]").filter(has_text="阀体").first
    ret = page.locator(".el-dropdown-menu__item[data-more=return]:visible")
    for _ in range(3):                   # on a loaded machine the first click may land while the list re-renders
        item.get_by_role("button", name="更多操作").click()
        try:
            ret.wait_for(timeout=8_000)
            break
        except Exception:                # noqa: BLE001 — the menu did not open: click again
            page.keyboard.press("Escape")
    ret.click()
    page.fill("[data-test=opinion]", "泄漏位置未写清，请补充照片")
    page.click("[data-test=confirm-action]")
    _toast(page, "已退回给发起人")
    page.click("text=退出")

    # #9: her to-do on the home page and in the inbox, with who and why; a banner on the record; 重新提交
    login(page, plant, "insp1", "insp1-pass-1")
    home = page.locator("[data-test=home-todo]")
    home.wait_for()
    expect(home).to_contain_text("被退回，待修改后重新提交")
    expect(home).to_contain_text("泄漏位置未写清，请补充照片")
    expect(home).to_contain_text("主管老陈")
    expect(page.locator("[data-test=me]")).to_be_attached()
    page.goto(plant + "/#/inbox")
    expect(page.locator("header .el-badge sup, .el-header .el-badge sup").first).to_have_text("1")   # 审批 in the header counts it
    back = page.locator("[data-test=returned-reason]").first
    expect(back).to_contain_text("泄漏位置未写清，请补充照片")
    shot(page, "review-returned-todo")
    page.click("[data-action=edit-returned]")
    banner = page.locator("[data-test=returned-banner]")
    expect(banner).to_contain_text("此申请被 主管老陈 退回：泄漏位置未写清，请补充照片")
    expect(page.locator("[data-test=save]")).to_be_visible()                  # she may change it before resubmitting
    shot(page, "review-returned-banner")
    page.click("[data-test=resubmit]")
    _toast(page, "已重新提交")
    expect(banner).to_have_count(0)
    page.click("text=退出")

    # #17: 同意 says where the request went, and when it is done
    for user, said in (("qm1", "已同意，已流转到「质量会签」"), ("qm2", "已同意，流程已通过")):
        login(page, plant, user, user + "-pass-1")
        page.goto(plant + "/#/inbox")
        page.locator("[data-task]").filter(has_text="阀体").first.locator("[data-action=approve]").click()
        page.click("[data-test=confirm-action]")
        _toast(page, said)
        page.click("text=退出")


def test_refused_pages_say_no_access_instead_of_showing_working_screens(page, plant: str) -> None:
    rid = _record(Api(plant, "insp1"), defect="砂眼", qty=1)
    login(page, plant, "outsider", "outsider-pass-1")
    _open(page, plant, rid)
    box = page.locator("[data-test=no-access]")
    expect(box).to_contain_text("无权限")
    expect(box).to_contain_text("你没有查看这条记录的权限")
    expect(page.locator("[data-test=save]")).to_have_count(0)
    expect(page.locator(".el-tabs")).to_have_count(0)                         # no empty form below it
    expect(page.get_by_text("rv_ncr")).to_have_count(0)                       # nor the form's table name
    shot(page, "review-no-access-record")
    for path, what in (("/#/design/form/rv_ncr", "表单设计"), ("/#/design/form", "新建表单"), ("/#/design/flow/rv_flow", "流程设计"),
                       ("/#/admin", "系统管理")):
        page.goto(plant + path)
        expect(page.locator("[data-test=no-access]")).to_contain_text(what)
        expect(page.get_by_text("发布", exact=True)).to_have_count(0)
    page.click("[data-test=no-access-back]")
    page.click("text=退出")
    login(page, plant, "qm1", "qm1-pass-1")                                  # a reader of the form: no designer either
    page.goto(plant + "/#/design/form/rv_ncr")
    expect(page.locator("[data-test=no-access]")).to_contain_text("表单设计")
    page.goto(plant + "/#/f/rv_ncr/new")
    expect(page.locator("[data-test=no-access]")).to_contain_text("新建记录的权限")
