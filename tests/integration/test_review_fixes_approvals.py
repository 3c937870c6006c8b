"""The outside review's approval findings (issue 20: #2, #9, #10, #17, #19) through the API on both
databases: 发起人自选 asks only for the chooser steps on the record's path; a request returned to its
initiator is a to-do with the reason; the record's actions follow the caller's rights on it; a
publish without the design right is refused before its body is read."""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.wf_helpers import Plant

NCR = {"format": "mom.form/1", "name": "rv_ncr", "label": {"zh-CN": "不合格品处理单", "en": "Nonconformance"},
       "fields": [{"id": "f1", "key": "product", "type": "text", "label": {"zh-CN": "产品名称", "en": "Product"}},
                  {"id": "f2", "key": "defect", "type": "text", "label": {"zh-CN": "缺陷类型", "en": "Defect"}},
                  {"id": "f3", "key": "qty", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defective"}}],
       "permissions": [{"role": "qc_inspector", "actions": ["create", "read", "update"], "scope": "own"},
                       {"role": "qc_manager", "actions": ["read"]}]}

CHOOSER = {"id": "handler", "type": "approval", "label": {"zh-CN": "处理人审批", "en": "Handler"},
           "assignees": [{"type": "chosen", "max": 3}]}
HEAD = {"id": "head", "type": "approval", "label": {"zh-CN": "部门主管", "en": "Head"},
        "assignees": [{"type": "user", "users": ["qcm"]}]}


def flow(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": "mom.workflow/1", "name": name, "label": {"zh-CN": "不合格品审批", "en": "NCR review"}, "form": "rv_ncr",
            "nodes": list(nodes)}


def branches(*extra_before: dict[str, Any], chooser: dict[str, Any] = CHOOSER) -> dict[str, Any]:
    """The reviewer's flow: 泄漏 → 部门主管; 不良数 > 5 → 发起人自选; otherwise nobody."""
    return flow("rv_flow", *extra_before, {"id": "route", "type": "condition", "branches": [
        {"label": {"zh-CN": "泄漏", "en": "leak"}, "when": "defect == '泄漏'", "nodes": [HEAD]},
        {"label": {"zh-CN": "数量多", "en": "many"}, "when": "qty > 5", "nodes": [chooser]},
        {"else": True, "label": {"zh-CN": "其他情况", "en": "otherwise"}, "nodes": []}]})


@pytest.fixture
def desk(plant: Plant) -> Plant:
    r = plant.client.put("/api/forms/rv_ncr", json=NCR, headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    return plant


def record(p: Plant, user: str = "qc1", **values: Any) -> int:
    r = p.client.post("/api/records/rv_ncr", json={"product": "阀体", **values}, headers=p.h(user))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def choices(p: Plant, rid: int | None, user: str = "qc1", expect: int = 200) -> Any:
    params = {"record_id": rid} if rid is not None else {}
    r = p.client.get("/api/workflows/rv_flow/choices", params=params, headers=p.h(user))
    assert r.status_code == expect, r.text
    return r.json()


def submit(p: Plant, rid: int, expect: int = 201, **body: Any) -> dict[str, Any]:
    r = p.client.post("/api/workflows/rv_flow/start", json={"record_id": rid, **body}, headers=p.h("qc1"))
    assert r.status_code == expect, r.text
    return r.json()


# ---------------------------------------------------------------- #2 发起人自选 on the record's path

def test_only_the_chooser_steps_on_the_record_s_path_are_asked_for(desk: Plant) -> None:
    """The reviewer's records: 砂眼 ×3 goes to 其他情况 and 泄漏 to 部门主管: neither is asked for 处理人审批
    and both submit without choosing; 砂眼 ×8 reaches it and must choose."""
    desk.put_flow(branches())
    assert [n["node_id"] for n in choices(desk, None)] == ["handler"]          # without a record: every chooser step
    small, leak, many = record(desk, defect="砂眼", qty=3), record(desk, defect="泄漏", qty=9), record(desk, defect="砂眼", qty=8)
    assert choices(desk, small) == [] and choices(desk, leak) == []
    done = submit(desk, small)
    assert done["status"] == "approved"
    assert submit(desk, leak)["status"] == "running" and desk.todo("qcm")[0]["record_id"] == leak
    offer = choices(desk, many)
    assert [(n["node_id"], n["required"], n["certain"]) for n in offer] == [("handler", True, True)]
    err = submit(desk, many, 422)
    assert "请为「处理人审批」选择审批人" in err["message"]["zh-CN"] and err["problems"][0]["path"] == "/approvers/handler"
    inst = submit(desk, many, approvers={"handler": ["qe1"]})
    assert desk.task_of("qe1", inst["id"])["node_label"]["zh-CN"] == "处理人审批"


def test_a_condition_a_later_step_decides_makes_the_choice_optional(desk: Plant) -> None:
    """A step before the branch may change 不良数 (editable_fields): the chooser step stays in the list but
    the choice is optional; reached without one, the step acts as its on_empty says."""
    review = {"id": "count", "type": "approval", "label": {"zh-CN": "复核数量", "en": "Recount"},
              "assignees": [{"type": "user", "users": ["qe2"]}], "editable_fields": ["qty"]}
    desk.put_flow(branches(review, chooser={**CHOOSER, "on_empty": "admin"}))
    rid = record(desk, defect="砂眼", qty=3)
    offer = choices(desk, rid)
    assert [(n["node_id"], n["required"], n["certain"]) for n in offer] == [("handler", False, False)]
    inst = submit(desk, rid)                                                    # no choice: accepted
    task = desk.task_of("qe2", inst["id"])
    version = desk.client.get(f"/api/records/rv_ncr/{rid}", headers=desk.h("qe2")).json()["row_version"]
    r = desk.client.patch(f"/api/records/rv_ncr/{rid}", json={"qty": 12, "row_version": version}, headers=desk.h("qe2"))
    assert r.status_code == 200, r.text
    desk.act("qe2", task["id"], "approve")
    assert desk.task_of("admin", inst["id"])["node_id"] == "handler"           # on_empty: admin → the administrators


def test_an_empty_field_leaves_the_choice_optional_and_the_step_passes_when_reached(desk: Plant) -> None:
    desk.put_flow(branches())
    rid = record(desk, defect="砂眼")                                             # 不良数 not filled in: qty > 5 undecidable
    assert [(n["required"], n["certain"]) for n in choices(desk, rid)] == [(False, False)]
    assert submit(desk, rid, 422)["message"]["zh-CN"]        # the flow's own evaluator refuses the empty value when it gets there
    version = desk.client.get(f"/api/records/rv_ncr/{rid}", headers=desk.h("qc1")).json()["row_version"]
    desk.client.patch(f"/api/records/rv_ncr/{rid}", json={"qty": 2, "row_version": version}, headers=desk.h("qc1"))
    assert choices(desk, rid) == [] and submit(desk, rid)["status"] == "approved"


def test_choices_for_a_record_follow_the_record_s_read_right(desk: Plant) -> None:
    desk.put_flow(branches())
    rid = record(desk, defect="砂眼", qty=8)
    assert "无权限" in choices(desk, rid, user="buyer", expect=403)["message"]["zh-CN"]
    assert choices(desk, 987654, expect=404)
    assert choices(desk, rid, user="qcm")[0]["node_id"] == "handler"            # readers see the path


# ---------------------------------------------------------------- #9 returned to the initiator, #10 rights per record

def standing(p: Plant, rid: int, user: str, expect: int = 200) -> Any:
    r = p.client.get(f"/api/records/rv_ncr/{rid}/standing", headers=p.h(user))
    assert r.status_code == expect, r.text
    return r.json()


def test_a_returned_request_is_a_to_do_of_its_initiator_with_the_reason(desk: Plant) -> None:
    """qcm returns 泄漏 with a reason: qc1's inbox has it in box=returned (and the count), the record's
    standing names who returned it, why, and offers 重新提交 to her only; resubmitting clears it."""
    desk.put_flow(branches())
    rid = record(desk, defect="泄漏", qty=9)
    inst = submit(desk, rid)
    assert desk.client.get("/api/tasks", params={"box": "returned"}, headers=desk.h("qc1")).json()["items"] == []
    desk.act("qcm", desk.task_of("qcm", inst["id"])["id"], "return", comment="泄漏位置未写清，请补充照片")
    page = desk.client.get("/api/tasks", params={"box": "returned"}, headers=desk.h("qc1")).json()
    assert page["counts"]["returned"] == 1 and page["counts"]["todo"] == 0
    [item] = page["items"]
    assert item["instance"]["record_id"] == rid and item["instance"]["status"] == "returned"
    assert item["returned"]["reason"] == "泄漏位置未写清，请补充照片"
    assert item["returned"]["by"] and item["returned"]["node_label"]["zh-CN"] == "部门主管"
    assert item["record"] is not None                                       # its key fields, for the link to the record
    mine = standing(desk, rid, "qc1")
    assert mine["can_resubmit"] and mine["can_update"] and not mine["can_submit"] and not mine["can_delete"]
    assert mine["request"]["returned"]["reason"] == "泄漏位置未写清，请补充照片" and mine["request"]["mine"] is True
    theirs = standing(desk, rid, "qcm")                                     # a reader sees the banner, not the buttons
    assert theirs["request"]["returned"]["reason"] and not (theirs["can_resubmit"] or theirs["can_update"] or theirs["can_submit"])
    assert desk.client.get("/api/tasks", params={"box": "returned"}, headers=desk.h("qcm")).json()["items"] == []
    r = desk.client.post(f"/api/workflow-instances/{inst['id']}/resubmit", json={}, headers=desk.h("qc1"))
    assert r.status_code == 200, r.text
    assert desk.client.get("/api/tasks/counts", headers=desk.h("qc1")).json()["returned"] == 0
    assert standing(desk, rid, "qc1")["request"]["returned"] is None


def test_an_approved_record_is_not_offered_a_second_request_until_it_changes(desk: Plant) -> None:
    """Review leftover: once 部门主管 approved the record, its initiator is no longer offered 提交审批 of that flow
    (the standing says which request approved it and when; other flows of the form stay offered); after she
    changes the record, a new request may be submitted again."""
    desk.put_flow(flow("rv_flow", HEAD))
    rid = record(desk, defect="砂眼", qty=3)
    inst = submit(desk, rid)
    desk.act("qcm", desk.task_of("qcm", inst["id"])["id"], "approve")
    mine = standing(desk, rid, "qc1")
    assert mine["request"] is None and mine["approved"]["workflow"] == "rv_flow"       # the page offers no 提交 of rv_flow
    assert mine["approved"]["id"] == inst["id"] and mine["approved"]["label"]["zh-CN"] == "不合格品审批" and mine["approved"]["at"]
    version = desk.client.get(f"/api/records/rv_ncr/{rid}", headers=desk.h("qc1")).json()["row_version"]
    r = desk.client.patch(f"/api/records/rv_ncr/{rid}", json={"qty": 4, "row_version": version}, headers=desk.h("qc1"))
    assert r.status_code == 200, r.text
    again = standing(desk, rid, "qc1")
    assert again["can_submit"] is True and again["approved"] is None


def test_the_record_s_actions_follow_the_caller_s_rights_on_it(desk: Plant) -> None:
    """The reviewer's #10: qcm (read only) is offered neither 保存 nor 提交审批 on qc1's record; an
    approver of the current step may change only the step's fields; buyer may not even read it."""
    rid = record(desk, defect="砂眼", qty=3)
    owner = standing(desk, rid, "qc1")
    assert owner == {"can_update": True, "editable_fields": None, "can_delete": False, "can_submit": True,
                     "can_resubmit": False, "request": None, "approved": None}
    reader = standing(desk, rid, "qcm")
    assert not (reader["can_update"] or reader["can_submit"] or reader["can_delete"])
    r = desk.client.patch(f"/api/records/rv_ncr/{rid}", json={"qty": 4}, headers=desk.h("qcm"))
    assert r.status_code == 403                                             # the server agrees with what is shown
    assert "无权限" in standing(desk, rid, "buyer", expect=403)["message"]["zh-CN"]
    assert standing(desk, 987654, "qc1", expect=404)
    desk.put_flow(flow("rv_flow", {**HEAD, "editable_fields": ["qty"]}))
    inst = submit(desk, rid)
    assert standing(desk, rid, "qc1")["can_update"] is False and standing(desk, rid, "qc1")["can_submit"] is False
    head = standing(desk, rid, "qcm")
    assert head["can_update"] is True and head["editable_fields"] == ["qty"] and head["request"]["id"] == inst["id"]


# ---------------------------------------------------------------- #19 the right before the body

def test_publishing_a_form_without_the_design_right_is_refused_before_the_body_is_checked(desk: Plant) -> None:
    for body in ({"name": "something_else"}, [1, 2], {**NCR, "fields": "nonsense"}):
        r = desk.client.put("/api/forms/rv_ncr", json=body, headers=desk.h("qc1"))
        assert r.status_code == 403, r.text
        assert "没有设计表单 rv_ncr 的权限" in r.json()["message"]["zh-CN"]
    r = desk.client.put("/api/forms/rv_new", json={"name": "x"}, headers=desk.h("qc1"))
    assert r.status_code == 403 and "只有管理员可以新建表单" in r.json()["message"]["zh-CN"]
    r = desk.client.put("/api/forms/rv_ncr", json={"name": "something_else"}, headers=desk.h("admin"))
    assert r.status_code == 422 and "定义中的 name 必须是 rv_ncr" in r.json()["message"]["zh-CN"]
