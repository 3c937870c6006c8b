"""Giving a user a role that does not exist is refused (issue 16 review, item 2): it used to create the
role silently, and a typo took away every right the user had."""
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_an_unknown_role_is_refused_and_nothing_changes(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post("/api/admin/roles", json={"name": "qc_inspector"}, headers=admin).status_code == 201
    r = client.post("/api/admin/users", json={"username": "qc7", "password": "qc7-pass-123", "roles": ["qc_inspector"]},
                    headers=admin)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]

    r = client.put(f"/api/admin/users/{uid}/roles", json={"roles": ["no_such_role_xyz"]}, headers=admin)
    assert r.status_code == 422, r.text
    body: dict[str, Any] = r.json()
    assert [(p["path"], p["code"]) for p in body["problems"]] == [("/roles/0", "unknown")]
    r = client.put(f"/api/admin/users/{uid}/roles", json={"roles": ["qc_inspector", "qc_inspecter"]}, headers=admin)
    problem = r.json()["problems"][0]
    assert r.status_code == 422 and problem["path"] == "/roles/1"
    assert '"qc_inspector"' in problem["message"]["en"] and "POST /api/admin/roles" in problem["message"]["en"]
    assert problem["message"]["zh-CN"].startswith("没有角色 qc_inspecter")

    roles = {x["name"] for x in client.get("/api/admin/roles", headers=admin).json()}
    assert "no_such_role_xyz" not in roles and "qc_inspecter" not in roles         # no role created
    users = {u["username"]: u for u in client.get("/api/admin/users", headers=admin).json()}
    assert users["qc7"]["roles"] == ["qc_inspector"]                                  # the user kept their role

    r = client.post("/api/admin/users", json={"username": "qc8", "password": "qc8-pass-123", "roles": ["qc_inspector", "nope_role"]},
                    headers=admin)
    assert r.status_code == 422 and [p["path"] for p in r.json()["problems"]] == ["/roles/1"]
    assert "qc8" not in {u["username"] for u in client.get("/api/admin/users", headers=admin).json()}

    # creating the role first is the way
    assert client.post("/api/admin/roles", json={"name": "no_such_role_xyz"}, headers=admin).status_code == 201
    r = client.put(f"/api/admin/users/{uid}/roles", json={"roles": ["no_such_role_xyz"]}, headers=admin)
    assert r.status_code == 200 and r.json()["roles"] == ["no_such_role_xyz"]
