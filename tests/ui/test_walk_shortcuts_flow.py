"""Fewer actions in the no-code walk (issue 20, items 2 and 9), as a supervisor sees them:

1. record entry: a select with few short options is a row of buttons (one click picks; the chosen one
   clicked again clears an optional value), a longer one a dropdown, and the form designer's 平铺 / 下拉
   hint wins; at 390 px the buttons wrap inside the phone's width;
2. the flow designer's + menu offers 按「判定」分支: one branch per option comparing the stored value, and
   其他情况; the branches without an approver are warnings in Chinese, not errors;
3. a new approval node asks for 指定人员 with the person picker already there;
4. a condition row on a select with few options offers its options as buttons.

A flow built with 按「判定」分支 sends a 不合格 record, entered and submitted in the browser, to the quality
manager; a 合格 one finishes without him."""
from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import CoreApi, login, pick, shot

OPT = lambda value, zh, en: {"value": value, "label": {"zh-CN": zh, "en": en}}  # noqa: E731
FORM = {"format": "mom.form/1", "name": "ws_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
        "fields": [
            {"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
            {"id": "f2", "key": "verdict", "type": "select", "required": True, "label": {"zh-CN": "判定", "en": "Verdict"},
             "options": [OPT("a", "合格", "Pass"), OPT("b", "不合格", "Fail")]},
            {"id": "f3", "key": "shift", "type": "select", "label": {"zh-CN": "班次", "en": "Shift"},
             "options": [OPT("d", "早班", "Day"), OPT("m", "中班", "Middle"), OPT("n", "夜班", "Night")]},
            {"id": "f4", "key": "line", "type": "select", "label": {"zh-CN": "产线", "en": "Line"},
             "options": [OPT(str(i), f"{i}号线", f"Line {i}") for i in range(1, 7)]},
            {"id": "f5", "key": "grade", "type": "select", "label": {"zh-CN": "等级", "en": "Grade"}, "ui": {"display": "dropdown"},
             "options": [OPT("x", "一等品", "First"), OPT("y", "二等品", "Second")]},
            {"id": "f6", "key": "defect", "type": "select", "label": {"zh-CN": "缺陷", "en": "Defect"},
             "options": [OPT("s", "尺寸超差", "Size"), OPT("c", "表面划伤", "Scratch"), OPT("k", "颜色不符", "Colour"),
                         OPT("p", "包装破损", "Package"), OPT("q", "数量短缺", "Short")]},
            {"id": "f7", "key": "rechecked", "type": "boolean", "label": {"zh-CN": "已复检", "en": "Rechecked"}},
        ],
        "permissions": [{"role": "*", "actions": ["create", "read", "update"], "scope": "all"}]}
MANAGER = {"username": "wsmgr", "password": "Mgr-pass-123", "display_name": "质量经理老陈"}


@pytest.fixture(scope="module")
def arranged(core_server: str) -> CoreApi:
    admin = CoreApi(core_server, "admin")
    for method, path, body in (("put", "/api/forms/ws_inspection", FORM), ("post", "/api/admin/users", MANAGER)):
        r = httpx.request(method, core_server + path, json=body, headers=admin.h)
        assert r.status_code in (200, 201), r.text
    return admin


def _field(page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-item={key}]")


def _enter(page, base: str, lot: str, verdict: str) -> int:  # type: ignore[no-untyped-def]
    """Enter a record in the browser (判定 by one click on its button), save and submit it; its id."""
    page.goto(base + "/#/f/ws_inspection/new")
    page.locator("input[data-field=lot]").fill(lot)
    _field(page, "verdict").locator(f"[data-choice={verdict}]").click()
    page.click("[data-test=save]")
    page.wait_for_url(re.compile(r".*/f/ws_inspection/\d+$"))
    rid = int(page.url.rsplit("/", 1)[1])
    page.locator("[data-test=submit-flow]").click()
    page.get_by_text("已提交审批").first.wait_for()
    return rid


def test_a_select_with_few_options_is_a_row_of_buttons(page, core_server, arranged) -> None:  # type: ignore[no-untyped-def]
    login(page, core_server)
    page.goto(core_server + "/#/f/ws_inspection/new")
    verdict = _field(page, "verdict")
    verdict.locator("[role=radio]").first.wait_for()
    assert verdict.locator("[role=radio]").all_inner_texts() == ["合格", "不合格"]
    assert verdict.locator(".el-select").count() == 0
    # six options, or the designer's 下拉: a dropdown
    assert _field(page, "line").locator(".el-select").count() == 1 and _field(page, "line").locator("[role=radio]").count() == 0
    assert _field(page, "grade").locator(".el-select").count() == 1 and _field(page, "grade").locator("[role=radio]").count() == 0

    # one click picks; the chosen button clicked again clears an optional value, not a required one
    shift = _field(page, "shift")
    shift.locator("[data-choice=中班]").click()
    expect(shift.locator("[aria-checked=true]")).to_have_text("中班")
    shift.locator("[data-choice=中班]").click()
    expect(shift.locator("[aria-checked=true]")).to_have_count(0)
    verdict.locator("[data-choice=合格]").click()
    verdict.locator("[data-choice=合格]").click()
    expect(verdict.locator("[aria-checked=true]")).to_have_text("合格")
    shift.locator("[data-choice=夜班]").click()
    page.locator("input[data-field=lot]").fill("L-BTN-1")
    pick(page, _field(page, "line").locator(".el-select"), "3号线")
    page.click("[data-test=save]")
    page.wait_for_url(re.compile(r".*/f/ws_inspection/\d+$"))
    rec = arranged.get(f"/api/records/ws_inspection/{page.url.rsplit('/', 1)[1]}")
    assert (rec["verdict"], rec["shift"], rec["line"]) == ("a", "n", "3")

    # on a phone the five 缺陷 buttons wrap onto more than one row, all inside the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(core_server + "/#/f/ws_inspection/new")
    buttons = _field(page, "defect").locator("[role=radio]")
    buttons.first.wait_for()
    page.wait_for_timeout(300)
    boxes = [buttons.nth(i).bounding_box() for i in range(buttons.count())]
    assert len(boxes) == 5
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes), boxes
    assert len({round(b["y"]) for b in boxes}) > 1, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "record-choice-buttons-phone")


def test_the_designer_sets_buttons_or_dropdown(page, core_server, arranged) -> None:  # type: ignore[no-untyped-def]
    login(page, core_server)
    page.goto(core_server + "/#/design/form/ws_inspection")
    page.locator("[data-test=canvas] [data-field-label=产线]").click()
    hint = page.locator(".fprops [data-prop=display]")
    expect(hint.locator(".is-active")).to_have_text("自动")
    hint.get_by_text("平铺", exact=True).click()
    page.wait_for_timeout(600)
    page.click("[data-test=publish]")
    page.click("[data-test=confirm-publish]")
    page.get_by_text("已发布").first.wait_for()
    line = next(f for f in arranged.get("/api/forms/ws_inspection")["definition"]["fields"] if f["key"] == "line")
    assert line["ui"] == {"display": "buttons"}
    page.goto(core_server + "/#/f/ws_inspection/new")
    expect(_field(page, "line").locator("[role=radio]")).to_have_count(6)
    # back to 自动: the hint is gone
    page.goto(core_server + "/#/design/form/ws_inspection")
    page.locator("[data-test=canvas] [data-field-label=产线]").click()
    page.locator(".fprops [data-prop=display]").get_by_text("自动", exact=True).click()
    page.wait_for_timeout(600)
    page.click("[data-test=publish]")
    page.click("[data-test=confirm-publish]")
    page.get_by_text("已发布").first.wait_for()
    line = next(f for f in arranged.get("/api/forms/ws_inspection")["definition"]["fields"] if f["key"] == "line")
    assert "ui" not in line


def test_branch_by_verdict_sends_a_fail_to_the_manager(page, core_server, arranged) -> None:  # type: ignore[no-untyped-def]
    login(page, core_server)
    page.goto(core_server + "/#/design/flow?form=ws_inspection")
    expect(page.locator("[data-test=flow-label]")).to_have_value("来料检验记录审批")
    page.locator("[data-test=add-node]").first.click()
    offered = page.locator(".el-dropdown-menu__item[data-test=split-by]:visible")
    offered.first.wait_for()
    # selects with a few options and yes/no fields; not text, not the select of six lines? (six is fine)
    assert offered.all_inner_texts() == ["按「判定」分支", "按「班次」分支", "按「产线」分支", "按「等级」分支", "按「缺陷」分支", "按「已复检」分支"]
    offered.filter(has_text="按「判定」分支").click()
    expect(offered).to_have_count(0)                # the menu closed
    branches = page.locator("[data-test=branch]")
    expect(branches).to_have_count(3)
    assert [branches.nth(i).get_attribute("data-branch") for i in range(3)] == ["合格", "不合格", "其他情况"]
    fail = page.locator("[data-test=branch][data-branch=不合格]")
    assert fail.locator("[data-test=cond-preview]").inner_text().strip() == "判定 等于 不合格"
    # item 4: the condition's value is a row of buttons, the stored option chosen
    expect(fail.locator("[data-test=cond-value] [aria-checked=true]")).to_have_text("不合格")

    # item 3: the approver in the 不合格 branch is a named person, the picker already there
    fail.locator("[data-test=add-node]").first.click()
    page.locator(".el-dropdown-menu__item[data-node-type=approval]:visible").click()
    node = page.locator("[data-node=approval_1]")
    node.wait_for()
    expect(node.locator(".el-select").first).to_contain_text("指定人员")
    pick(page, node.locator("[data-test=assignee-users]"), "质量经理老陈")
    page.wait_for_function("document.querySelector('[data-test=flow-problems]').textContent.includes('没有错误')")
    # the 合格 and 其他情况 branches end the flow with nobody approving: warnings, in Chinese
    warn = page.locator("[data-test=flow-warnings]")
    expect(warn).to_contain_text("分支「合格」里没有审批人")
    expect(warn).to_contain_text("分支「其他情况」里没有审批人")
    shot(page, "flow-branch-by-verdict")
    page.click("[data-test=publish-flow]")
    page.wait_for_url(re.compile(r".*/design/flow/\w+$"))
    name = page.url.rsplit("/", 1)[1]
    nodes = arranged.get(f"/api/workflows/{name}")["definition"]["nodes"]
    assert [b.get("when") or ("else" if b.get("else") else None) for b in nodes[0]["branches"]] == \
        ["verdict == 'a'", "verdict == 'b'", "else"]
    assert nodes[0]["branches"][1]["nodes"][0]["assignees"] == [{"type": "user", "users": ["wsmgr"]}]

    # the inspector's records, entered and submitted in the browser: the 不合格 one waits for the manager
    passed = _enter(page, core_server, "L-PASS", "合格")
    failed = _enter(page, core_server, "L-FAIL", "不合格")
    token = httpx.post(core_server + "/api/auth/token", data={"username": "wsmgr", "password": MANAGER["password"]}).json()["access_token"]
    todo = httpx.get(core_server + "/api/tasks", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert [t["record_id"] for t in todo] == [failed]
    started = {i["instance"]["record_id"]: i["instance"]["status"] for i in arranged.get("/api/tasks", box="started")["items"]}
    assert started[passed] == "approved" and started[failed] == "running"


def test_a_condition_row_on_a_select_is_buttons(page, core_server, arranged) -> None:  # type: ignore[no-untyped-def]
    login(page, core_server)
    page.goto(core_server + "/#/design/flow?form=ws_inspection")
    expect(page.locator("[data-test=flow-label]")).to_have_value("来料检验记录审批")
    page.locator("[data-test=add-node]").first.click()
    page.locator(".el-dropdown-menu__item[data-node-type=condition]:visible").click()
    row = page.locator("[data-test=cond-row]").first
    pick(page, row.locator("[data-test=cond-field]"), "班次")
    value = row.locator("[data-test=cond-value]")
    assert value.locator("[role=radio]").all_inner_texts() == ["早班", "中班", "夜班"]
    value.locator("[data-choice=夜班]").click()                       # one click
    expect(page.locator("[data-test=cond-preview]").first).to_have_text("班次 等于 夜班")
    pick(page, row.locator("[data-test=cond-field]"), "已复检")
    row.locator("[data-test=cond-value] [data-choice=是]").click()
    expect(page.locator("[data-test=cond-preview]").first).to_have_text("已复检 等于 是")
    pick(page, row.locator("[data-test=cond-field]"), "产线")        # six options: a dropdown
    pick(page, row.locator("[data-test=cond-value]"), "6号线")
    expect(page.locator("[data-test=cond-preview]").first).to_have_text("产线 等于 6号线")


def test_people_and_roles_in_one_approver_picker(page, core_server, arranged) -> None:  # type: ignore[no-untyped-def]
    role = arranged.get("/api/admin/roles")[0]
    role_label = role["label"]["zh-CN"] if isinstance(role.get("label"), dict) else role.get("label") or role["name"]
    login(page, core_server)
    page.goto(core_server + "/#/design/flow?form=ws_inspection")
    expect(page.locator("[data-test=flow-label]")).to_have_value("来料检验记录审批")
    page.locator("[data-test=add-node]").first.click()
    page.locator(".el-dropdown-menu__item[data-node-type=approval]:visible").click()
    node = page.locator("[data-node=approval_1]")
    node.locator("[data-test=assignee-users]").click()
    page.locator(".el-select-dropdown__item:visible", has_text="质量经理老陈").first.wait_for()
    groups = page.locator(".el-select-group__title:visible").all_inner_texts()
    assert groups == ["人员", "角色"], groups
    page.locator(".el-select-dropdown__item:visible", has_text="质量经理老陈").first.click()
    page.locator(".el-select-dropdown__item:visible", has_text=role_label).first.click()
    page.keyboard.press("Escape")
    # the role became an entry of its own (type 角色), the person stays under 指定人员
    expect(node.locator("[data-test=assignee-roles]")).to_contain_text(role_label)
    expect(node.locator("[data-test=assignee-users]")).to_contain_text("质量经理老陈")
    expect(node.locator("[data-test=assignee-users]")).not_to_contain_text(role_label)
