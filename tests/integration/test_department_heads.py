"""Department heads and the directory (issue 20 item 4): IT sets a department's head and deputy through
the API and `mom dept`; the workflow's department-head approvers (直属主管 / 连续多级主管) follow them one
and n levels up; a disabled head's deputy answers; a missing head is said in words on the timeline."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash, login

FORM = {"format": "mom.form/1", "name": "leave_request", "label": {"zh-CN": "请假申请", "en": "Leave request"},
        "fields": [{"id": "f1", "key": "reason", "type": "text", "label": {"zh-CN": "事由", "en": "Reason"}}]}


def _flow(levels: list[int], on_empty: str = "auto_pass") -> dict[str, Any]:
    return {"format": "mom.workflow/1", "name": "leave_flow", "form": "leave_request", "trigger": {"on": "submit"},
            "label": {"zh-CN": "请假审批", "en": "Leave approval"},
            "nodes": [{"id": f"head_{n}", "type": "approval", "label": {"zh-CN": f"第{n}级主管", "en": f"Head {n} up"},
                       "assignees": [{"type": "department_head", "levels": n}], "mode": "any", "on_empty": on_empty}
                      for n in levels]}


def _people(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        for name in ("boss", "qm1", "qm2", "lead1", "ins1", "ins2"):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), display_name=f"用户{name}")


def _h(client: TestClient, user: str) -> dict[str, str]:
    return login(client, user, f"{user}-pass-1")


def _directory(client: TestClient, admin: dict[str, str]) -> None:
    for body in ({"code": "PLANT", "name": "工厂", "head": "boss"},
                 {"code": "QA", "name": "质量部", "parent": "PLANT", "head": "qm1", "deputy": "qm2"},
                 {"code": "IQC", "name": "来料检验组", "parent": "QA", "head": "lead1"}):
        r = client.post("/api/admin/departments", json=body, headers=admin)
        assert r.status_code == 201, r.text
    with write_tx(client.app.state.engine) as conn:
        conn.execute(sa.text("UPDATE mom_user SET department_id = (SELECT id FROM mom_department WHERE code = 'IQC') "
                             "WHERE username IN ('ins1', 'ins2')"))


def _submit(client: TestClient, user: str) -> int:
    h = _h(client, user)
    rec = client.post("/api/records/leave_request", json={"reason": "体检"}, headers=h)
    assert rec.status_code == 201, rec.text
    r = client.post("/api/workflows/leave_flow/start", json={"record_id": rec.json()["id"]}, headers=h)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _waiting_for(client: TestClient, instance_id: int, users: list[str]) -> list[str]:
    """Who has an open task on the instance (among ``users``)."""
    return [u for u in users if any(t["instance_id"] == instance_id for t in
                                    client.get("/api/tasks", headers=_h(client, u)).json()["items"])]


def test_heads_and_deputies_through_the_api(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _people(engine)
    _directory(client, admin)
    rows = {d["code"]: d for d in client.get("/api/admin/departments", headers=admin).json()}
    assert rows["QA"]["head"]["username"] == "qm1" and rows["QA"]["deputy"]["username"] == "qm2"
    assert rows["QA"]["parent"] == "PLANT" and rows["IQC"]["members"] == 2
    r = client.patch("/api/admin/departments/QA", json={"head": "boss", "deputy": None}, headers=admin)
    assert r.status_code == 200 and r.json()["head"]["username"] == "boss" and r.json()["deputy"] is None
    bad = client.patch("/api/admin/departments/QA", json={"head": "nosuch"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "/head"
    assert "主管" in bad.json()["message"]["zh-CN"]
    cycle = client.patch("/api/admin/departments/PLANT", json={"parent": "IQC"}, headers=admin)
    assert cycle.status_code == 422 and cycle.json()["problems"][0]["code"] == "cycle"
    assert client.patch("/api/admin/departments/NOPE", json={"name": "x"}, headers=admin).status_code == 404
    assert client.patch("/api/admin/departments/QA", json={"head": "ins1"}, headers=_h(client, "ins1")).status_code == 403
    assert client.get("/api/admin/departments", headers=admin).json()[1]["head"]["username"] == "boss"


def test_mom_dept_sets_heads_at_the_console(cli: Any, client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _people(engine)
    out = cli("dept", "add", "QA", "质量部", "--head", "qm1", "--deputy", "qm2")
    assert out.exit_code == 0 and "用户qm1（qm1）" in out.output, out.output
    out = cli("dept", "add", "IQC", "来料检验组", "--parent", "QA")
    assert out.exit_code == 0, out.output
    out = cli("dept", "set", "QA", "--head", "boss", "--deputy", "-")
    assert out.exit_code == 0 and "用户boss（boss）" in out.output and "副主管 / deputy: 未设置" in out.output, out.output
    listed = cli("dept", "list")
    assert "IQC  来料检验组  上级 / parent: QA" in listed.output, listed.output
    bad = cli("dept", "set", "QA", "--head", "ghost")
    assert bad.exit_code != 0 and "用户 ghost 不存在" in bad.stderr
    assert client.get("/api/admin/departments", headers=admin).json()[1]["head"]["username"] == "boss"


def test_department_head_approvers_one_and_n_levels_up(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _people(engine)
    _directory(client, admin)
    assert client.put("/api/forms/leave_request", json=FORM, headers=admin).status_code == 200
    assert client.put("/api/workflows/leave_flow", json=_flow([1, 2, 3]), headers=admin).status_code in (200, 201)
    everyone = ["boss", "qm1", "qm2", "lead1"]
    iid = _submit(client, "ins1")
    for level, head in ((1, "lead1"), (2, "qm1"), (3, "boss")):
        assert _waiting_for(client, iid, everyone) == [head], level
        task = [t for t in client.get("/api/tasks", headers=_h(client, head)).json()["items"] if t["instance_id"] == iid][0]
        assert client.post(f"/api/tasks/{task['id']}/approve", json={}, headers=_h(client, head)).status_code == 200
    assert client.get(f"/api/workflow-instances/{iid}", headers=admin).json()["status"] == "approved"
    # the quality head is disabled: the deputy answers for the department
    with write_tx(engine) as conn:
        conn.execute(sa.text("UPDATE mom_user SET is_active = false WHERE username = 'qm1'"))
    iid = _submit(client, "ins2")
    task = [t for t in client.get("/api/tasks", headers=_h(client, "lead1")).json()["items"] if t["instance_id"] == iid][0]
    client.post(f"/api/tasks/{task['id']}/approve", json={}, headers=_h(client, "lead1"))
    assert _waiting_for(client, iid, ["boss", "qm2", "lead1"]) == ["qm2"]


def test_a_missing_head_is_said_in_words(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    _people(engine)
    _directory(client, admin)
    for code in ("PLANT", "QA", "IQC"):
        client.patch(f"/api/admin/departments/{code}", json={"head": None, "deputy": None}, headers=admin)
    assert client.put("/api/forms/leave_request", json=FORM, headers=admin).status_code == 200
    assert client.put("/api/workflows/leave_flow", json=_flow([1], on_empty="admin"), headers=admin).status_code in (200, 201)
    iid = _submit(client, "ins1")
    inst = client.get(f"/api/workflow-instances/{iid}", headers=_h(client, "ins1")).json()
    text = str(inst)
    assert "部门「来料检验组」及其上级部门都没有设置主管或副主管" in text and "系统管理 › 部门" in text
    # on_empty admin: the administrator gets the task, and the same words tell them what to fix
    assert any(t["instance_id"] == iid for t in client.get("/api/tasks", headers=admin).json()["items"])
