"""A select's display in record entry (issue 20): the form designer's 平铺 / 下拉 hint is the field's
``ui.display`` ("buttons" / "dropdown"; absent = automatic). It is checked when published (another value is
refused naming the field and the allowed values, nothing written) and changing it changes no table. The
flow designer's 按「判定」分支 preset stores one branch per stored option value and 其他情况: a 不合格
record waits for the manager, a 合格 one finishes, and the branches without an approver are warnings."""
from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

OPT = lambda value, zh, en: {"value": value, "label": {"zh-CN": zh, "en": en}}  # noqa: E731
FORM: dict[str, Any] = {
    "format": "mom.form/1", "name": "cd_inspection", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
    "fields": [
        {"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
        {"id": "f2", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"}, "ui": {"display": "buttons"},
         "options": [OPT("a", "合格", "Pass"), OPT("b", "不合格", "Fail")]},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"], "scope": "all"}]}

# what 按「判定」分支 builds (ui/src/lib/choices.js splitBranches), with an approver added in 不合格
PRESET: dict[str, Any] = {
    "format": "mom.workflow/1", "name": "cd_review", "label": {"zh-CN": "来料检验记录审批", "en": "Incoming inspection approval"},
    "form": "cd_inspection", "trigger": {"on": "submit"},
    "nodes": [{"id": "condition_1", "type": "condition", "branches": [
        {"label": {"zh-CN": "合格", "en": "Pass"}, "when": "verdict == 'a'", "nodes": []},
        {"label": {"zh-CN": "不合格", "en": "Fail"}, "when": "verdict == 'b'", "nodes": [
            {"id": "approval_1", "type": "approval", "label": {"zh-CN": "审批", "en": "Approval"}, "mode": "any",
             "assignees": [{"type": "user", "users": ["cdmgr"]}]}]},
        {"else": True, "nodes": []}]}]}


def test_the_display_hint_is_kept_checked_and_changes_no_table(client: TestClient, admin: dict[str, str]) -> None:
    r = client.put("/api/forms/cd_inspection", json=FORM, headers=admin)
    assert r.status_code == 200, r.text
    field = client.get("/api/forms/cd_inspection", headers=admin).json()["definition"]["fields"][1]
    assert field["ui"] == {"display": "buttons"}
    assert client.post("/api/records/cd_inspection", json={"lot": "L1", "verdict": "b"}, headers=admin).status_code == 201

    dropdown = copy.deepcopy(FORM)
    dropdown["fields"][1]["ui"] = {"display": "dropdown"}
    plan = client.post("/api/forms/plan", json=dropdown, headers=admin).json()
    assert not plan["blocked"]
    assert [op["kind"] for op in plan["operations"]] == ["update_metadata"]
    assert [w["zh-CN"] for w in plan["words"]] == ["字段「判定」的设置有变化：显示方式"]     # in words, not "ui"
    assert client.put("/api/forms/cd_inspection", json=dropdown, headers=admin).status_code == 200

    bad = copy.deepcopy(FORM)
    bad["fields"][1]["ui"] = {"display": "radio"}
    r = client.put("/api/forms/cd_inspection", json=bad, headers=admin)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [p["path"] for p in problems] == ["/fields/1/ui/display"]
    assert "buttons" in problems[0]["message"]["zh-CN"] and "dropdown" in problems[0]["message"]["zh-CN"]
    kept = client.get("/api/forms/cd_inspection", headers=admin).json()["definition"]["fields"][1]
    assert kept["ui"] == {"display": "dropdown"}          # nothing written


def test_the_branch_by_verdict_preset_routes_by_the_stored_option(client: TestClient, admin: dict[str, str]) -> None:
    assert client.put("/api/forms/cd_inspection", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/admin/users", json={"username": "cdmgr", "password": "Mgr-pass-123", "display_name": "质量经理"}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post("/api/workflows/validate", json=PRESET, headers=admin)
    assert r.status_code == 200, r.text
    ws = r.json()["warnings"]
    assert [(w["code"], w["path"]) for w in ws] == [("no_approver", "/nodes/0/branches/0"), ("no_approver", "/nodes/0/branches/2")]
    assert "分支「合格」里没有审批人" in ws[0]["message"]["zh-CN"] and "分支「其他情况」里没有审批人" in ws[1]["message"]["zh-CN"]
    r = client.put("/api/workflows/cd_review", json=PRESET, headers=admin)
    assert r.status_code == 200, r.text

    status = {}
    for lot, verdict in (("L-FAIL", "b"), ("L-PASS", "a"), ("L-NONE", None)):
        rec = client.post("/api/records/cd_inspection", json={"lot": lot, "verdict": verdict}, headers=admin).json()
        status[lot] = client.post("/api/workflows/cd_review/start", json={"record_id": rec["id"]}, headers=admin).json()["status"]
    assert status == {"L-FAIL": "running", "L-PASS": "approved", "L-NONE": "approved"}
    mgr = client.post("/api/auth/token", data={"username": "cdmgr", "password": "Mgr-pass-123"}).json()["access_token"]
    todo = client.get("/api/tasks", headers={"Authorization": f"Bearer {mgr}"}).json()["items"]
    assert len(todo) == 1 and todo[0]["node_id"] == "approval_1"
