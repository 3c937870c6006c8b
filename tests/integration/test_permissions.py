"""Permissions are enforced on the server: a hidden field never leaks through list, filter, sort,
export, audit; read-only fields refuse changes; row scopes follow department and ownership."""
from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import login


def setup_users(engine: sa.engine.Engine) -> None:
    with write_tx(engine) as conn:
        auth.ensure_department(conn, "QC", "质量部")
        auth.ensure_department(conn, "QC-IQC", "来料检验组", "QC")
        auth.ensure_department(conn, "PUR", "采购部")
        auth.create_user(conn, username="qc1", password="qc1-pass-1", department="QC-IQC", roles=["qc_inspector"])
        auth.create_user(conn, username="qc2", password="qc2-pass-1", department="PUR", roles=["qc_inspector"])
        auth.create_user(conn, username="boss", password="boss-pass-1", department="QC", roles=["qc_manager"])
        auth.create_user(conn, username="nobody", password="nobody-pass-1")


def test_hidden_field_never_leaks(client: TestClient, demo_forms: dict, engine: sa.engine.Engine) -> None:
    setup_users(engine)
    qc1 = login(client, "qc1", "qc1-pass-1")
    r = client.post("/api/records/iqc_inspection", headers=qc1, json={
        "supplier": 1, "material": 1, "lot_no": "A", "qty": 10, "unit_cost": 99})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/unit_cost"
    rec = client.post("/api/records/iqc_inspection", headers=qc1, json={"supplier": 1, "material": 1, "lot_no": "A", "qty": 10}).json()
    client.patch(f"/api/records/iqc_inspection/{rec['id']}", headers=demo_forms, json={"unit_cost": 12.5, "row_version": rec["row_version"]})
    assert "unit_cost" not in client.get(f"/api/records/iqc_inspection/{rec['id']}", headers=qc1).json()
    assert all("unit_cost" not in x for x in client.get("/api/records/iqc_inspection", headers=qc1).json()["items"])
    assert client.get("/api/records/iqc_inspection?unit_cost__gt=10", headers=qc1).status_code == 422
    assert client.get("/api/records/iqc_inspection?unit_cost=12.5", headers=qc1).status_code == 422
    assert client.get("/api/records/iqc_inspection?sort=unit_cost", headers=qc1).status_code == 422
    assert client.get("/api/records/iqc_inspection?fields=unit_cost", headers=qc1).status_code == 422
    export = client.get("/api/records/iqc_inspection/export?header=key", headers=qc1).content.decode("utf-8-sig")
    assert "unit_cost" not in export and "12.5" not in export
    audit = client.get(f"/api/records/iqc_inspection/{rec['id']}/audit", headers=qc1).json()
    assert all("unit_cost" not in (a["changes"] or {}) for a in audit)
    assert "unit_cost" not in [f["key"] for f in client.get("/api/forms/iqc_inspection", headers=qc1).json()["definition"]["fields"]]
    # the admin still sees it
    assert client.get(f"/api/records/iqc_inspection/{rec['id']}", headers=demo_forms).json()["unit_cost"] == 12.5


def test_row_scope_by_department(client: TestClient, demo_forms: dict, engine: sa.engine.Engine) -> None:
    setup_users(engine)
    qc1, qc2, boss = (login(client, u, f"{u}-pass-1") for u in ("qc1", "qc2", "boss"))
    a = client.post("/api/records/iqc_inspection", headers=qc1, json={"supplier": 1, "material": 1, "lot_no": "A", "qty": 1}).json()
    client.post("/api/records/iqc_inspection", headers=qc2, json={"supplier": 1, "material": 1, "lot_no": "B", "qty": 1})
    assert [x["lot_no"] for x in client.get("/api/records/iqc_inspection", headers=qc1).json()["items"]] == ["A"]
    assert [x["lot_no"] for x in client.get("/api/records/iqc_inspection", headers=qc2).json()["items"]] == ["B"]
    # the manager's department QC contains QC-IQC; scope "all" anyway
    assert len(client.get("/api/records/iqc_inspection", headers=boss).json()["items"]) == 2
    # out of reach is a refusal in her words (issue 20), not "does not exist"
    r = client.get(f"/api/records/iqc_inspection/{a['id']}", headers=qc2)
    assert r.status_code == 403 and r.json()["message"]["zh-CN"].startswith("无权限")
    assert client.patch(f"/api/records/iqc_inspection/{a['id']}", headers=qc2, json={"qty": 5, "row_version": a["row_version"]}).status_code == 403
    assert client.get("/api/records/iqc_inspection/99999", headers=qc2).status_code == 404
    assert client.delete(f"/api/records/iqc_inspection/{a['id']}", headers=qc1).status_code == 403


def test_no_permission_no_access(client: TestClient, demo_forms: dict, engine: sa.engine.Engine) -> None:
    setup_users(engine)
    nobody = login(client, "nobody", "nobody-pass-1")
    assert client.get("/api/records/iqc_inspection", headers=nobody).status_code == 403
    assert client.post("/api/records/supplier", headers=nobody, json={"code": "X", "name": "x"}).status_code == 403
    assert client.get("/api/records/supplier", headers=nobody).status_code == 200   # "*" may read
    assert client.put("/api/forms/supplier", headers=nobody, json={"name": "supplier"}).status_code == 403


def test_scope_expression_and_read_only(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    setup_users(engine)
    form = {"format": "mom.form/1", "name": "ncr", "fields": [
        {"id": "a", "key": "title", "type": "text"}, {"id": "b", "key": "level", "type": "select", "options": ["minor", "major"]},
        {"id": "c", "key": "cost", "type": "decimal"}],
        "permissions": [{"role": "qc_inspector", "actions": ["read", "update"], "scope": {"expr": "level == 'minor' or created_by == user.id"},
                         "fields": {"cost": "read_only"}}]}
    assert client.put("/api/forms/ncr", json=form, headers=admin).status_code == 200
    client.post("/api/records/ncr", headers=admin, json=[{"title": "x", "level": "minor", "cost": 1}, {"title": "y", "level": "major"}])
    qc1 = login(client, "qc1", "qc1-pass-1")
    items = client.get("/api/records/ncr", headers=qc1).json()["items"]
    assert [x["title"] for x in items] == ["x"]
    r = client.patch(f"/api/records/ncr/{items[0]['id']}", headers=qc1, json={"cost": 2, "row_version": items[0]["row_version"]})
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "read_only"
    assert client.patch(f"/api/records/ncr/{items[0]['id']}", headers=qc1, json={"title": "x2", "cost": 1, "row_version": items[0]["row_version"]}).status_code == 200
