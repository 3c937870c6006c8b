"""Flow warnings before publishing (engines/workflow/lint.py): a condition that can never hold (a select
compared to its option's label instead of the option, a number compared to text, a multi-select compared
as one value) and a branch without an approver that would end the flow silently. Warnings do not block
publishing; a condition built from the stored option value routes the record as the supervisor meant."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import login

FORM = {"format": "mom.form/1", "name": "lint_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
        "fields": [
            {"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
            {"id": "f2", "key": "defects", "type": "integer", "label": {"zh-CN": "不良数", "en": "Defects"}},
            {"id": "f3", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
             "options": [{"value": "a", "label": {"zh-CN": "合格", "en": "Pass"}}, {"value": "b", "label": {"zh-CN": "不合格", "en": "Fail"}}]},
            {"id": "f4", "key": "kinds", "type": "multi_select", "label": {"zh-CN": "缺陷类型", "en": "Defect kinds"},
             "options": [{"value": "x", "label": {"zh-CN": "划伤", "en": "Scratch"}}, {"value": "y", "label": {"zh-CN": "砂眼", "en": "Pore"}}]},
            {"id": "f5", "key": "urgent", "type": "boolean", "label": {"zh-CN": "加急", "en": "Urgent"}},
        ],
        "permissions": [{"role": "*", "actions": ["create", "read", "update"], "scope": "all"}]}


def flow(when: str, *, else_nodes: list[Any] | None = None, with_else: bool = True) -> dict[str, Any]:
    branches: list[dict[str, Any]] = [{"label": {"zh-CN": "不合格", "en": "Fail"}, "when": when, "nodes": [
        {"id": "mgr", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "QA manager"},
         "assignees": [{"type": "user", "users": ["lintmgr"]}]}]}]
    if with_else:
        branches.append({"else": True, "nodes": else_nodes or []})
    return {"format": "mom.workflow/1", "name": "lint_review", "label": {"zh-CN": "来料审批", "en": "Inspection review"},
            "form": "lint_inspection", "trigger": {"on": "submit"},
            "nodes": [{"id": "c1", "type": "condition", "label": {"zh-CN": "按判定", "en": "By verdict"}, "branches": branches}]}


def setup(client: TestClient, admin: dict[str, str]) -> None:
    r = client.put("/api/forms/lint_inspection", json=FORM, headers=admin)
    assert r.status_code == 200, r.text
    r = client.post("/api/admin/users", json={"username": "lintmgr", "password": "Mgr-pass-123", "display_name": "质量经理"}, headers=admin)
    assert r.status_code == 201, r.text


def warnings(client: TestClient, admin: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post("/api/workflows/validate", json=body, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["warnings"]


def test_a_label_typed_for_a_select_is_a_warning_naming_the_options(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    ws = warnings(client, admin, flow("verdict == '不合格'", else_nodes=[
        {"id": "qe", "type": "approval", "assignees": [{"type": "user", "users": ["lintmgr"]}]}]))
    assert [w["code"] for w in ws] == ["never_true"]
    msg = ws[0]["message"]["zh-CN"]
    assert ws[0]["path"] == "/nodes/0/branches/0/when"
    assert "判定" in msg and "不合格" in msg and "合格、不合格" in msg and "选项的名称" in msg
    assert "verdict" not in msg        # fields by their labels
    # the stored value: no warning about the condition
    assert warnings(client, admin, flow("verdict == 'b'", else_nodes=[
        {"id": "qe", "type": "approval", "assignees": [{"type": "user", "users": ["lintmgr"]}]}])) == []


def test_type_mismatches_are_warnings(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    approver = [{"id": "qe", "type": "approval", "assignees": [{"type": "user", "users": ["lintmgr"]}]}]
    for when, word in (("defects > '5'", "数字"), ("kinds == 'x'", "包含"), ("contains(kinds, 'z')", "没有选项"),
                       ("urgent == '是'", "是 或 否")):
        ws = warnings(client, admin, flow(when, else_nodes=approver))
        assert len(ws) == 1 and ws[0]["code"] == "never_true" and word in ws[0]["message"]["zh-CN"], (when, ws)
    for when in ("defects > 5", "contains(kinds, 'x')", "urgent == True", "verdict != 'a' and defects >= 1"):
        assert warnings(client, admin, flow(when, else_nodes=approver)) == [], when


def test_a_branch_without_approver_is_a_warning_but_publishing_goes_on(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    ws = warnings(client, admin, flow("verdict == 'b'"))
    assert [(w["path"], w["code"]) for w in ws] == [("/nodes/0/branches/1", "no_approver")]
    assert "其他情况" in ws[0]["message"]["zh-CN"] and "没有审批人" in ws[0]["message"]["zh-CN"]
    no_else = warnings(client, admin, flow("verdict == 'b'", with_else=False))
    assert [(w["path"], w["code"]) for w in no_else] == [("/nodes/0", "no_approver")]
    # an approver after the split covers every branch
    body = flow("verdict == 'b'")
    body["nodes"].append({"id": "fin", "type": "approval", "assignees": [{"type": "user", "users": ["lintmgr"]}]})
    assert warnings(client, admin, body) == []
    # warnings do not block publishing; the answer carries them
    r = client.put("/api/workflows/lint_review", json=flow("verdict == '不合格'"), headers=admin)
    assert r.status_code == 200, r.text
    assert {w["code"] for w in r.json()["warnings"]} == {"never_true", "no_approver"}


def test_a_condition_on_the_stored_value_routes_the_record(client: TestClient, admin: dict[str, str]) -> None:
    setup(client, admin)
    r = client.put("/api/workflows/lint_review", json=flow("verdict == 'b'"), headers=admin)
    assert r.status_code == 200, r.text
    ids = {}
    for lot, verdict in (("L1", "不合格"), ("L2", "合格")):      # entered by label, stored as b / a
        r = client.post("/api/records/lint_inspection", json={"lot": lot, "verdict": verdict}, headers=admin)
        assert r.status_code == 201, r.text
        ids[lot] = r.json()["id"]
    statuses = {}
    for lot, rid in ids.items():
        r = client.post("/api/workflows/lint_review/start", json={"record_id": rid}, headers=admin)
        assert r.status_code == 201, r.text
        statuses[lot] = r.json()["status"]
    assert statuses == {"L1": "running", "L2": "approved"}
    mgr = login(client, "lintmgr", "Mgr-pass-123")
    todo = client.get("/api/tasks", headers=mgr).json()["items"]
    assert [t["record_id"] for t in todo] == [ids["L1"]]
