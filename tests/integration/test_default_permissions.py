"""Permissions that work by default and speak Chinese (issue 20 item 3): a new form published without
permissions is usable at once (everyone signed in fills it in and reads their own); the publish dialog's
two questions are composed and told back with role names; whoever holds or held an approval task on a
record may read it, and its current approvers change the node's editable fields without the form's
update right; a refusal is 403 "无权限", never "不存在"."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login

FORM = {"format": "mom.form/1", "name": "iqc_record", "label": {"zh-CN": "来料检验记录", "en": "Incoming inspection"},
        "fields": [{"id": "f1", "key": "lot", "type": "text", "label": {"zh-CN": "批次号", "en": "Lot"}},
                   {"id": "f2", "key": "verdict", "type": "select", "label": {"zh-CN": "判定", "en": "Verdict"},
                    "options": [{"value": "ok", "label": "合格"}, {"value": "ng", "label": "不合格"}]},
                   {"id": "f3", "key": "disposition", "type": "text", "label": {"zh-CN": "处置", "en": "Disposition"}}]}

FLOW = {"format": "mom.workflow/1", "name": "iqc_record_review", "form": "iqc_record", "trigger": {"on": "submit"},
        "label": {"zh-CN": "来料不合格评审", "en": "Incoming NG review"},
        "nodes": [{"id": "qm", "type": "approval", "label": {"zh-CN": "质量经理审批", "en": "Quality manager"},
                   "assignees": [{"type": "role", "roles": ["quality_manager"]}], "mode": "any",
                   "editable_fields": ["disposition"]}]}


def _users(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        auth.ensure_role(conn, "inspector", {"zh-CN": "检验员", "en": "Inspector"})
        auth.ensure_role(conn, "quality_manager", {"zh-CN": "质量经理", "en": "Quality manager"})
        auth.ensure_department(conn, "QA", "质量部")
        for name, roles in (("ins1", ["inspector"]), ("ins2", ["inspector"]), ("qm1", ["quality_manager"])):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), department="QA", roles=roles)


def _h(client: TestClient, user: str) -> dict[str, str]:
    return login(client, user, f"{user}-pass-1")


def test_a_new_form_without_permissions_is_usable_at_once(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _users(engine)
    r = client.put("/api/forms/iqc_record", json=FORM, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["permissions_defaulted"] == [{"role": "*", "actions": ["create", "read", "update"], "scope": "own"}]
    ins1, ins2, qm1 = (_h(client, u) for u in ("ins1", "ins2", "qm1"))
    assert "iqc_record" in [f["name"] for f in client.get("/api/forms", headers=ins1).json()]
    mine = client.post("/api/records/iqc_record", json={"lot": "L1", "verdict": "ok"}, headers=ins1)
    assert mine.status_code == 201, mine.text
    client.post("/api/records/iqc_record", json={"lot": "L2", "verdict": "ok"}, headers=ins2)
    assert [x["lot"] for x in client.get("/api/records/iqc_record", headers=ins1).json()["items"]] == ["L1"]
    # someone else's record: a refusal in her words, not "does not exist"
    r = client.get(f"/api/records/iqc_record/{mine.json()['id']}", headers=ins2)
    assert r.status_code == 403 and r.json()["code"] == "access_denied"
    zh = r.json()["message"]["zh-CN"]
    assert zh.startswith("无权限") and "来料检验记录" in zh and "iqc_record" not in zh and "不存在" not in zh
    assert client.get("/api/records/iqc_record/999", headers=ins2).status_code == 404
    # the administrator sees all
    assert len(client.get("/api/records/iqc_record", headers=admin).json()["items"]) == 2
    # publishing it again without permissions keeps what it has: the default is for new forms only
    client.put("/api/forms/iqc_record", json={**FORM, "permissions": []}, headers=admin)
    again = client.put("/api/forms/iqc_record", json={k: v for k, v in FORM.items()}, headers=admin).json()
    assert "permissions_defaulted" not in again
    r = client.get("/api/forms/iqc_record", headers=qm1)
    assert r.status_code == 403 and r.json()["message"]["zh-CN"].startswith("无权限")


def test_the_publish_dialog_questions_use_role_names(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _users(engine)
    choices = client.get("/api/permissions/choices", headers=admin).json()
    assert {"name": "inspector", "label": {"zh-CN": "检验员", "en": "Inspector"}} in choices["roles"]
    assert {d["name"] for d in choices["departments"]} == {"质量部"}
    assert choices["questions"]["fill"]["zh-CN"] == "谁可以填写"
    assert choices["default_text"]["zh-CN"][0] == "所有登录用户：可新建、查看、修改本人创建的记录"
    r = client.post("/api/permissions/compose", headers=admin,
                    json={"fill": {"everyone": False, "roles": ["inspector"]}, "see_all": {"roles": ["quality_manager"]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["permissions"] == [{"role": "inspector", "actions": ["create", "read", "update"], "scope": "own"},
                                   {"role": "quality_manager", "actions": ["read", "export"], "scope": "all"}]
    assert body["text"]["zh-CN"] == ["检验员：可新建、查看、修改本人创建的记录", "质量经理：可查看、导出全部记录", "管理员：可做所有操作"]
    assert all("inspector" not in line and "quality_manager" not in line for line in body["text"]["zh-CN"])
    back = client.post("/api/permissions/describe", headers=admin, json={"permissions": body["permissions"]}).json()
    assert back["answers"] == {"fill": {"everyone": False, "roles": ["inspector"], "departments": []},
                               "see_all": {"roles": ["quality_manager"], "departments": []}}
    bad = client.post("/api/permissions/compose", headers=admin, json={"fill": {"roles": ["nosuch"]}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "/fill/roles/0"
    # what the dialog composed is what the form gets
    assert client.put("/api/forms/iqc_record", json={**FORM, "permissions": body["permissions"]}, headers=admin).status_code == 200
    qm1, ins1 = _h(client, "qm1"), _h(client, "ins1")
    client.post("/api/records/iqc_record", json={"lot": "L1"}, headers=ins1)
    assert [x["lot"] for x in client.get("/api/records/iqc_record", headers=qm1).json()["items"]] == ["L1"]
    assert client.post("/api/records/iqc_record", json={"lot": "L9"}, headers=qm1).status_code == 403


def test_a_department_may_be_granted_by_name(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    """谁可以查看全部记录: 质量部 — its sub-department 检验组's people included, told back by name; a
    department that does not exist is refused by name; a grant naming both a role and a department is
    refused in words."""
    _users(engine)
    with write_tx(engine) as conn:
        auth.ensure_department(conn, "QA_IN", "检验组", parent_code="QA")
        auth.ensure_department(conn, "PROD", "生产部")
        auth.create_user(conn, username="grp1", password_hash=fixture_hash("grp1-pass-1"), department="QA_IN")
        auth.create_user(conn, username="prd1", password_hash=fixture_hash("prd1-pass-1"), department="PROD")
    r = client.post("/api/permissions/compose", headers=admin,
                    json={"fill": {"everyone": True}, "see_all": {"departments": ["QA"]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["permissions"][1] == {"department": "QA", "actions": ["read", "export"], "scope": "all"}
    assert body["text"]["zh-CN"][1] == "质量部（含下级部门）：可查看、导出全部记录"
    back = client.post("/api/permissions/describe", headers=admin, json={"permissions": body["permissions"]}).json()
    assert back["answers"]["see_all"] == {"roles": [], "departments": ["QA"]}
    bad = client.post("/api/permissions/compose", headers=admin, json={"see_all": {"departments": ["NOPE"]}})
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "/see_all/departments/0"
    assert "部门" in bad.json()["problems"][0]["message"]["zh-CN"]
    both = client.put("/api/forms/iqc_record", headers=admin, json={**FORM, "permissions": [
        {"role": "inspector", "department": "QA", "actions": ["read"]}]})
    assert both.status_code == 422 and "二选一" in str(both.json())
    assert client.put("/api/forms/iqc_record", json={**FORM, "permissions": body["permissions"]}, headers=admin).status_code == 200
    prd1, grp1 = _h(client, "prd1"), _h(client, "grp1")
    client.post("/api/records/iqc_record", json={"lot": "P1"}, headers=prd1)
    # the 检验组 member sees every record (her department lies under 质量部); 生产部's member only his own
    assert [x["lot"] for x in client.get("/api/records/iqc_record", headers=grp1).json()["items"]] == ["P1"]
    client.post("/api/records/iqc_record", json={"lot": "G1"}, headers=grp1)
    assert [x["lot"] for x in client.get("/api/records/iqc_record", headers=prd1).json()["items"]] == ["P1"]


def test_an_approver_reads_the_record_and_edits_the_node_fields(client: TestClient, admin: dict,
                                                                engine: sa.engine.Engine) -> None:
    """The quality manager may not read the form at all; her task lets her read the record, change
    its disposition (the node's editable field) and nothing else; after deciding she still reads it."""
    _users(engine)
    only_inspectors = [{"role": "inspector", "actions": ["create", "read", "update"], "scope": "own"}]
    assert client.put("/api/forms/iqc_record", json={**FORM, "permissions": only_inspectors}, headers=admin).status_code == 200
    r = client.put("/api/workflows/iqc_record_review", json=FLOW, headers=admin)
    assert r.status_code in (200, 201), r.text
    ins1, qm1 = _h(client, "ins1"), _h(client, "qm1")
    rec = client.post("/api/records/iqc_record", json={"lot": "L1", "verdict": "ng"}, headers=ins1).json()
    url = f"/api/records/iqc_record/{rec['id']}"
    assert client.get(url, headers=qm1).status_code == 403          # no task yet: no access
    assert client.get("/api/forms/iqc_record", headers=qm1).status_code == 403
    r = client.post("/api/workflows/iqc_record_review/start", json={"record_id": rec["id"]}, headers=ins1)
    assert r.status_code == 201, r.text
    task = [t for t in client.get("/api/tasks", headers=qm1).json()["items"] if t["instance_id"] == r.json()["id"]][0]
    got = client.get(url, headers=qm1)
    assert got.status_code == 200 and got.json()["lot"] == "L1"
    # the record page the inbox link opens reads the form's definition too
    assert client.get("/api/forms/iqc_record", headers=qm1).status_code == 200
    # the node's editable field: by PATCH and through the approval itself
    r = client.patch(url, json={"disposition": "退货", "row_version": got.json()["row_version"]}, headers=qm1)
    assert r.status_code == 200, r.text
    r = client.patch(url, json={"lot": "L2", "row_version": r.json()["row_version"]}, headers=qm1)
    assert r.status_code == 409                                      # not the node's: the approval lock
    r = client.post(f"/api/tasks/{task['id']}/approve", json={"values": {"disposition": "让步接收"}}, headers=qm1)
    assert r.status_code == 200, r.text
    got = client.get(url, headers=qm1)
    assert got.status_code == 200 and got.json()["disposition"] == "让步接收"
    # after the decision she still reads it (she held a task) but may no longer change it
    r = client.patch(url, json={"disposition": "x", "row_version": got.json()["row_version"]}, headers=qm1)
    assert r.status_code == 403 and r.json()["message"]["zh-CN"].startswith("无权限修改")
    # the other inspector never had a task: refused
    assert client.get(url, headers=_h(client, "ins2")).status_code == 403


def walk_menu(client: TestClient, headers: dict[str, str]) -> list[str]:
    """Open every entry of the caller's menu (GET /api/apps) as the web app does; the entries refused
    or failing, as 'kind name: status' (empty when everything opens)."""
    bad: list[str] = []
    for app in client.get("/api/apps", headers=headers).json():
        for f in app["forms"]:
            r = client.get(f"/api/forms/{f['name']}", headers=headers)
            if r.status_code != 200:
                bad.append(f"form {f['name']}: {r.status_code}")
            if "read" in f["actions"]:
                r = client.get(f"/api/records/{f['name']}?limit=5", headers=headers)
                if r.status_code != 200:
                    bad.append(f"records {f['name']}: {r.status_code}")
        for rep in app["reports"]:
            r = client.get(f"/api/reports/{rep['name']}/data?limit=5", headers=headers)
            if r.status_code != 200:
                bad.append(f"report {rep['name']}: {r.status_code}")
        for d in app["dashboards"]:
            r = client.get(f"/api/dashboards/{d['name']}/data", headers=headers)
            errors = [w["error"]["code"] for w in r.json().get("widgets", []) if w.get("error")] if r.status_code == 200 else []
            if r.status_code != 200 or "access_denied" in errors:
                bad.append(f"dashboard {d['name']}: {r.status_code} {errors}")
    return bad


def test_every_menu_entry_opens_for_every_demo_role(plant: Any) -> None:
    """As each demo user (one per role), every form, report and dashboard the menu lists opens; the
    reports whose data a user may not read are not listed (qc1 and the purchasing report…)."""
    from mom.platform.cli.demo import USERS

    client = plant.client
    listed: dict[str, set[str]] = {}
    for username, *_ in USERS:
        h = plant.h(username)
        assert walk_menu(client, h) == [], username
        listed[username] = {r["name"] for a in client.get("/api/apps", headers=h).json() for r in a["reports"] + a["dashboards"]}
        assert {r["name"] for r in client.get("/api/reports", headers=h).json()} <= listed[username]
    # the purchaser may not read incoming inspections: their statistics are not offered to him
    assert "iqc_by_supplier" not in listed["buyer"] and "iqc_by_supplier" in listed["qcm"]
    # administrators see everything; nobody else sees more than they
    assert all(v <= listed["admin"] for v in listed.values())
