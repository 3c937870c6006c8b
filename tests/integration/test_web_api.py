"""The API the web app adds: the menu by pack, people pickers, scan lookup, and the record preview
(live formulas and messages, nothing written). Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import login


def test_menu_groups_by_pack_and_follows_permissions(client, plant) -> None:
    admin = login(client, "admin", "admin123")
    apps = client.get("/api/apps", headers=admin).json()
    demo = next(a for a in apps if a["name"] == "demo")
    assert {"iqc_inspection", "ncr", "supplier"} <= {f["name"] for f in demo["forms"]}
    assert [d["name"] for d in demo["dashboards"]] == ["quality_overview"]
    # a form published outside any pack appears under "my forms"
    client.put("/api/forms/tool", headers=admin, json={"format": "mom.form/1", "name": "tool", "label": {"zh-CN": "工装", "en": "Tool"},
                                                      "fields": [{"id": "t1", "key": "code", "type": "text", "label": {"zh-CN": "编号", "en": "Code"}}],
                                                      "permissions": []})   # administrators only (no default)
    apps = client.get("/api/apps", headers=admin).json()
    assert [f["name"] for f in apps[-1]["forms"]] == ["tool"] and apps[-1]["name"] == ""
    # the purchaser may not open quality dashboards nor the tool form
    buyer = login(client, "buyer", "buyerpass123")
    seen = client.get("/api/apps", headers=buyer).json()
    names = {f["name"] for a in seen for f in a["forms"]}
    assert "tool" not in names and "quality_overview" not in {d["name"] for a in seen for d in a["dashboards"]}


def test_scan_finds_records_by_code_within_permissions(client, plant) -> None:
    qc1 = login(client, "qc1", "qc1pass123")
    res = client.get("/api/scan", params={"code": " IQC-DEMO-0001 "}, headers=qc1).json()
    assert [(m["form"], m["title"]) for m in res["matches"]] == [("iqc_inspection", "IQC-DEMO-0001")]
    assert "unit_cost" not in res["matches"][0]["record"]   # hidden fields stay hidden
    assert client.get("/api/scan", params={"code": "NOPE-1"}, headers=qc1).json()["matches"] == []
    r = client.get("/api/scan", params={"code": "  "}, headers=qc1)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/code"


def test_preview_computes_formulas_and_problems_without_writing(client, plant, engine) -> None:
    qc1 = login(client, "qc1", "qc1pass123")
    before = client.get("/api/records/iqc_inspection", params={"count": 1}, headers=qc1).json()["total"]
    body = {"qty": 100, "result": "fail", "readings": [{"characteristic": "bore", "value": 5, "lsl": 1, "usl": 4}]}
    res = client.post("/api/records/iqc_inspection/preview", json=body, headers=qc1).json()
    assert res["computed"]["sample_size"] == 11                  # ceil(sqrt(100)) + 1
    assert res["children"]["readings"] == [{"ok": False}]         # child-row formula
    assert res["defaults"]["inspected_on"] and res["defaults"]["inspector"] == client.get("/api/auth/me", headers=qc1).json()["id"]
    paths = {p["path"] for p in res["problems"]}
    assert {"/supplier", "/lot_no", "/remarks"} <= paths          # required fields and the cross-field rule
    assert client.get("/api/records/iqc_inspection", params={"count": 1}, headers=qc1).json()["total"] == before
    r = client.post("/api/records/iqc_inspection/preview", json={"qty": "abc", "colour": 1}, headers=qc1).json()
    assert {"/qty", "/colour"} <= {p["path"] for p in r["problems"]}


def test_directory_and_me(client, plant) -> None:
    qc1 = login(client, "qc1", "qc1pass123")
    me = client.get("/api/auth/me", headers=qc1).json()
    assert me["display_name"] == "质检员小王"
    found = client.get("/api/directory/users", params={"q": "质量"}, headers=qc1).json()
    assert {u["username"] for u in found} >= {"qcm"} and all("password_hash" not in u for u in found)
    ids = client.get("/api/directory/users", params={"ids": f"{me['id']}"}, headers=qc1).json()
    assert [u["username"] for u in ids] == ["qc1"]


def test_pack_menu_is_recorded_once(client, plant, engine) -> None:
    from mom.platform.cli.demo import load_demo
    from mom.platform.db import tables as T

    with engine.connect() as c:
        first = c.execute(sa.select(T.pack.c.installed_at, T.pack.c.menu).where(T.pack.c.name == "demo")).one()
    for _ in load_demo(engine):   # installing the same pack again changes nothing
        pass
    with engine.connect() as c:
        again = c.execute(sa.select(T.pack.c.installed_at, T.pack.c.menu).where(T.pack.c.name == "demo")).one()
    assert again == first and "iqc_inspection" in first.menu["forms"]


def test_designer_previews_run_drafts_and_refuse_bad_bodies(client, plant) -> None:
    admin = login(client, "admin", "admin123")
    draft = {"format": "mom.report/1", "name": "draft_by_result", "source": "iqc_inspection",
             "dimensions": [{"key": "result", "field": "result"}], "measures": [{"key": "lots", "agg": "count"}]}
    res = client.post("/api/reports/preview", json={"definition": draft}, headers=admin)
    assert res.status_code == 200, res.text
    total = client.get("/api/records/iqc_inspection", params={"count": 1}, headers=admin).json()["total"]
    assert sum(r["lots"] for r in res.json()["rows"]) == total
    assert client.get("/api/reports/draft_by_result", headers=admin).status_code == 404   # nothing published
    for path in ("/api/reports/preview", "/api/dashboards/preview"):
        r = client.post(path, json={"params": {}}, headers=admin)
        assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/definition"
    r = client.post("/api/reports/preview", json={"definition": draft, "params": ["period"]}, headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/params"
    r = client.post("/api/reports/preview", json={"definition": {**draft, "measures": [{"key": "x", "agg": "sum", "field": "nope"}]}}, headers=admin)
    assert r.status_code == 422 and any(p["path"].startswith("/measures/0") for p in r.json()["problems"])


def test_saved_views_live_on_the_server_per_user_and_shared_by_designers(client, plant) -> None:
    qc1, qcm = login(client, "qc1", "qc1pass123"), login(client, "qcm", "qcmpass123")
    admin, buyer = login(client, "admin", "admin123"), login(client, "buyer", "buyerpass123")
    spec = {"columns": ["code", "lot_no", "result"], "filters": {"result": "fail"}, "sort": "-inspected_at", "quick": ""}
    r = client.put("/api/views/iqc_inspection/不合格批次", json={"spec": spec}, headers=qc1)
    assert r.status_code == 200 and r.json()["mine"] and not r.json()["shared"]
    # another device, same user: the view is there; another user does not see it
    assert [v["spec"] for v in client.get("/api/views/iqc_inspection", headers=qc1).json()] == [spec]
    assert client.get("/api/views/iqc_inspection", headers=qcm).json() == []
    # saving again under the same name replaces it (no duplicate)
    spec2 = {**spec, "columns": ["code", "result"]}
    client.put("/api/views/iqc_inspection/不合格批次", json={"spec": spec2}, headers=qc1)
    assert [v["spec"]["columns"] for v in client.get("/api/views/iqc_inspection", headers=qc1).json()] == [["code", "result"]]
    # sharing needs design rights; a designer's shared view reaches every reader, who cannot delete it
    r = client.put("/api/views/iqc_inspection/全部", json={"spec": spec, "shared": True}, headers=qc1)
    assert r.status_code == 403
    assert client.put("/api/views/iqc_inspection/全部", json={"spec": {"columns": ["code"]}, "shared": True}, headers=admin).status_code == 200
    seen = {v["name"]: v for v in client.get("/api/views/iqc_inspection", headers=qcm).json()}
    assert seen["全部"]["shared"] and not seen["全部"]["mine"]
    assert client.get("/api/views/iqc_inspection", headers=qc1).json()[0]["name"] == "全部"
    assert client.delete("/api/views/iqc_inspection/全部", headers=qc1).status_code == 403   # an inspector does not design
    assert client.delete("/api/views/iqc_inspection/不合格批次", headers=qc1).status_code == 204
    assert [v["name"] for v in client.get("/api/views/iqc_inspection", headers=qc1).json()] == ["全部"]
    assert client.delete("/api/views/iqc_inspection/全部", headers=admin).status_code == 204
    assert client.delete("/api/views/iqc_inspection/全部", headers=admin).status_code == 404
    # no read right on the form: no views either; bad bodies name the field
    assert client.get("/api/views/iqc_inspection", headers=buyer).status_code == 403
    r = client.put("/api/views/iqc_inspection/x", json={"spec": {"columns": "code"}, "shared": "yes"}, headers=qc1)
    assert r.status_code == 422 and {p["path"] for p in r.json()["problems"]} == {"/spec/columns", "/shared"}
    r = client.put("/api/views/iqc_inspection/x", json={"spec": {"filters": {"q": "x" * 20000}}}, headers=qc1)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/spec"
    assert client.get("/api/views/no_such_form", headers=qc1).status_code == 404
