"""Records through the HTTP API: create, read, update, delete, list, child rows, concurrency."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient


def new_iqc(client: TestClient, h: dict, **over: object) -> dict:
    body = {"supplier": "温州精密铸造", "material": "MAT-1", "lot_no": "L1", "qty": 100, "result": "pass",
            "readings": [{"characteristic": "外径", "value": 10.02, "lsl": 9.95, "usl": 10.05},
                         {"characteristic": "壁厚", "value": 3.3, "lsl": 3.0, "usl": 3.2}]} | over
    r = client.post("/api/records/iqc_inspection", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_computes_formulas_numbers_and_resolves_references(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    assert re.fullmatch(r"IQC-\d{8}-0001", rec["code"])
    assert rec["sample_size"] == 11              # ceil(sqrt(100)) + 1
    assert rec["_display"]["supplier"] == "温州精密铸造"
    assert [r["ok"] for r in rec["readings"]] == [True, False]
    assert rec["row_version"] == 1 and rec["form_version"] == 1
    assert new_iqc(client, demo_forms, lot_no="L2")["code"].endswith("-0002")


def test_bad_record_reports_every_field_and_saves_nothing(client: TestClient, demo_forms: dict) -> None:
    r = client.post("/api/records/iqc_inspection", headers=demo_forms, json={
        "supplier": "不存在的供应商", "lot_no": "x" * 41, "qty": -1, "result": "maybe", "colour": "red",
        "readings": [{"value": "abc"}]})
    assert r.status_code == 422
    paths = {p["path"] for p in r.json()["problems"]}
    assert {"/supplier", "/material", "/lot_no", "/qty", "/result", "/colour", "/readings/0/value"} <= paths
    assert client.get("/api/records/iqc_inspection", headers=demo_forms).json()["items"] == []


def test_cross_field_rule(client: TestClient, demo_forms: dict) -> None:
    r = client.post("/api/records/iqc_inspection", headers=demo_forms, json={
        "supplier": 1, "material": 1, "lot_no": "L", "qty": 5, "result": "fail"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["path"] == "/remarks"
    assert "不合格时必须填写备注" in r.json()["problems"][0]["message"]["zh-CN"]


def test_patch_with_stale_version_gets_409_and_overwrites_nothing(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    r1 = client.patch(url, json={"qty": 400, "row_version": 1}, headers=demo_forms)
    assert r1.status_code == 200 and r1.json()["sample_size"] == 21 and r1.json()["row_version"] == 2
    r2 = client.patch(url, json={"qty": 9}, headers={**demo_forms, "If-Match": '"1"'})
    assert r2.status_code == 409
    assert client.get(url, headers=demo_forms).json()["qty"] == 400


def test_child_rows_are_replaced_and_keep_order(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    rows = rec["readings"]
    r = client.patch(url, json={"readings": [rows[1], {"characteristic": "硬度", "value": 60}],
                                  "row_version": rec["row_version"]}, headers=demo_forms)
    assert [x["characteristic"] for x in r.json()["readings"]] == ["壁厚", "硬度"]
    assert r.json()["readings"][0]["id"] == rows[1]["id"]


def test_soft_delete_restore_and_audit(client: TestClient, demo_forms: dict) -> None:
    rec = new_iqc(client, demo_forms)
    url = f"/api/records/iqc_inspection/{rec['id']}"
    client.patch(url, json={"remarks": "复检", "row_version": rec["row_version"]}, headers=demo_forms)
    assert client.delete(url, headers=demo_forms).status_code == 200
    assert client.get(url, headers=demo_forms).status_code == 404
    assert client.get("/api/records/iqc_inspection?only_deleted=1", headers=demo_forms).json()["items"][0]["id"] == rec["id"]
    assert client.post(url + "/restore", headers=demo_forms).status_code == 200
    audit = client.get(url + "/audit", headers=demo_forms).json()
    assert [a["action"] for a in audit] == ["create", "update", "delete", "restore"]
    assert audit[1]["changes"]["remarks"] == [None, "复检"] and audit[1]["actor"] == "admin"


def test_unique_values_conflict(client: TestClient, demo_forms: dict) -> None:
    r = client.post("/api/records/supplier", json={"code": "SUP-001", "name": "dup"}, headers=demo_forms)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["problems"][0]["path"] == "/code"


def test_bulk_create_is_all_or_nothing(client: TestClient, demo_forms: dict) -> None:
    r = client.post("/api/records/supplier", headers=demo_forms, json=[
        {"code": "SUP-010", "name": "a"}, {"code": "bad code", "name": "b"}, {"code": "SUP-010", "name": "c"}])
    assert r.status_code == 422
    assert {p["path"] for p in r.json()["problems"]} == {"/1/code", "/2/code"}
    assert client.get("/api/records/supplier?code=SUP-010", headers=demo_forms).json()["items"] == []


def test_filters_sort_fields_and_keyset_paging(client: TestClient, demo_forms: dict) -> None:
    for i in range(7):
        new_iqc(client, demo_forms, lot_no=f"L{i}", qty=10 * (i + 1), supplier=1 if i % 2 else 2)
    h = demo_forms
    get = lambda q: client.get(f"/api/records/iqc_inspection?{q}", headers=h)  # noqa: E731
    assert [x["qty"] for x in get("qty__gt=40&sort=-qty").json()["items"]] == [70, 60, 50]
    assert len(get("qty__between=20,40").json()["items"]) == 3
    assert len(get("lot_no__in=L1,L2,L9").json()["items"]) == 2
    assert len(get("supplier.name__like=瑞安").json()["items"]) == 4
    assert len(get("remarks__isnull=true").json()["items"]) == 7
    assert set(get("fields=lot_no&limit=1").json()["items"][0]) == {"id", "row_version", "lot_no"}
    seen, after = [], ""
    while True:
        page = get(f"sort=supplier,-qty&limit=3{after}").json()
        seen += [x["qty"] for x in page["items"]]
        if not page["next"]:
            break
        after = f"&after={page['next']}"
    assert seen == [60, 40, 20, 70, 50, 30, 10]
    assert get("count=1&limit=1").json()["total"] == 7
    bad = get("qtty__gt=1")
    assert bad.status_code == 422 and 'did you mean "qty"' in bad.json()["problems"][0]["message"]["en"]
    assert get("qty__gtt=1").status_code == 422


def test_bad_requests_are_clear(client: TestClient, demo_forms: dict) -> None:
    h = {**demo_forms, "Content-Type": "application/json"}
    assert client.post("/api/records/supplier", content=b"{not json", headers=h).status_code == 422
    assert client.post("/api/records/supplier", content=b"[" + b"1," * 2_000_000 + b"1]", headers=h).status_code == 413
    r = client.get("/api/records/suplier", headers=demo_forms)
    assert r.status_code == 404 and 'did you mean "supplier"' in r.json()["message"]["en"]
    assert client.get("/api/records/supplier").status_code == 401


def test_barcode_content_renders_as_qr(client: TestClient, admin: dict) -> None:
    form = {"format": "mom.form/1", "name": "label", "fields": [{"id": "a", "key": "content", "type": "barcode", "symbology": "qr"}]}
    assert client.put("/api/forms/label", json=form, headers=admin).status_code == 200
    rid = client.post("/api/records/label", json={"content": "HEAT-2026-0042|DN50"}, headers=admin).json()["id"]
    r = client.get(f"/api/records/label/{rid}/qr/content", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg") and b"<svg" in r.content


def test_attachments_checked_per_field(client: TestClient, admin: dict) -> None:
    form = {"format": "mom.form/1", "name": "doc", "fields": [
        {"id": "a", "key": "photos", "type": "attachment", "accept": [".jpg", "image/*"], "max_size_mb": 0.001, "max_files": 3}]}
    assert client.put("/api/forms/doc", json=form, headers=admin).status_code == 200
    small = client.post("/api/attachments", files={"file": ("p.jpg", b"\xff\xd8 tiny", "image/jpeg")}, headers=admin).json()
    big = client.post("/api/attachments", files={"file": ("b.jpg", b"x" * 5000, "image/jpeg")}, headers=admin).json()
    text = client.post("/api/attachments", files={"file": ("a.txt", b"hello", "text/plain")}, headers=admin).json()
    assert len(small["sha256"]) == 64 and small["size"] == 7
    ok = client.post("/api/records/doc", json={"photos": [small["id"]]}, headers=admin)
    assert ok.status_code == 201 and ok.json()["photos"] == [small["id"]]
    bad = client.post("/api/records/doc", json={"photos": [big["id"], text["id"], 999]}, headers=admin)
    codes = sorted(p["code"] for p in bad.json()["problems"])
    assert bad.status_code == 422 and codes == ["accept", "max_size", "not_found"]
    assert client.get(f"/api/attachments/{small['id']}", headers=admin).content == b"\xff\xd8 tiny"


def test_bulk_create_pairs_ids_children_and_audit(client: TestClient, demo_forms: dict) -> None:
    """A batch is written with reserved ids and one bulk write (COPY on PostgreSQL): every record
    must get its own child rows, its own number and an audit entry with its own values."""
    body = [{"supplier": "温州精密铸造", "material": "MAT-1", "lot_no": f"B{i}", "qty": 10 + i, "result": "pass",
             "inspected_on": "2026-11-2" + str(i),
             "readings": [{"characteristic": f"c{i}-{j}", "value": i + j / 100} for j in range(i + 1)]} for i in range(4)]
    r = client.post("/api/records/iqc_inspection", headers=demo_forms, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert [m["lot_no"] for m in made] == ["B0", "B1", "B2", "B3"]
    assert len({m["id"] for m in made}) == 4 and len({m["code"] for m in made}) == 4
    for i, m in enumerate(made):
        assert [x["characteristic"] for x in m["readings"]] == [f"c{i}-{j}" for j in range(i + 1)]
        audit = client.get(f"/api/records/iqc_inspection/{m['id']}/audit", headers=demo_forms).json()
        assert [a["action"] for a in audit] == ["create"]
        ch = audit[0]["changes"]
        assert ch["lot_no"] == f"B{i}" and ch["qty"] == 10 + i and ch["code"] == m["code"]
        assert ch["inspected_on"] == f"2026-11-2{i}" and ch["sample_size"] == m["sample_size"]
        assert "remarks" not in ch          # empty fields are left out
