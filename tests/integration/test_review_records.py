"""Issue 16, outside review of the records engine and its API: what a user may not see stays unseen.

The demo plant: qc1 (inspector, 来料检验组) reads incoming inspections of his own department and never
their unit cost; inspections written by the administrator (质量部) are out of his scope.
"""
from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.wf_helpers import Plant

SECRET = "SECRET-LOT-QCM"

LOT_TRACE = {
    "format": "mom.form/1", "name": "lot_trace", "label": {"zh-CN": "批次追溯", "en": "Lot trace"}, "display_field": "title",
    "fields": [
        {"id": "a", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
        {"id": "b", "key": "insp", "type": "reference", "form": "iqc_inspection", "display_field": "lot_no",
         "label": {"zh-CN": "检验单", "en": "Inspection"}},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"]}],
}


@pytest.fixture
def secret(plant: Plant) -> dict[str, Any]:
    """An inspection qc1 may not read (the administrator's department), with a lot number and a cost."""
    r = plant.client.post("/api/records/iqc_inspection", headers=plant.h("admin"), json={
        "supplier": 1, "material": 1, "lot_no": SECRET, "qty": 777, "unit_cost": 99, "remarks": "xyz"})
    assert r.status_code == 201, r.text
    return r.json()


def _import(c: TestClient, h: dict[str, str], body: str, key: str) -> Any:
    return c.post("/api/records/iqc_inspection/import", headers=h, data={"mode": "skip", "key": key},
                  files={"file": ("x.csv", body.encode())})


# ---------------------------------------------------------------- 1: upsert import under the row scope

def test_upsert_key_of_an_unseen_record_behaves_like_a_new_value(plant: Plant, secret: dict[str, Any]) -> None:
    c, qc1 = plant.client, plant.h("qc1")
    hidden = _import(c, qc1, f"lot_no,supplier,material,result\n{SECRET},1,1,pass\n", "lot_no")
    fresh = _import(c, qc1, "lot_no,supplier,material,result\nNEVER-SEEN-LOT,1,1,pass\n", "lot_no")
    assert hidden.status_code == fresh.status_code == 200, hidden.text
    assert hidden.json()["errors"] == [
        {**e, "message": {k: m.replace("NEVER-SEEN-LOT", SECRET) for k, m in e["message"].items()}}
        for e in fresh.json()["errors"]]
    assert str(secret["id"]) not in hidden.text and "(or you may not see it)" not in hidden.text
    # a number key too: the unseen record's qty matches nothing for qc1
    by_qty = _import(c, qc1, "qty,lot_no,supplier,material,result\n777,NEW-LOT-9,1,1,pass\n", "qty")
    assert by_qty.status_code == 200 and str(secret["id"]) not in by_qty.text
    assert by_qty.json()["created"] == 1 and by_qty.json()["updated"] == 0, by_qty.text
    after = c.get(f"/api/records/iqc_inspection/{secret['id']}", headers=plant.h("admin")).json()
    assert after["row_version"] == secret["row_version"]     # the unseen record was not touched
    # a hidden field is no key
    r = _import(c, qc1, "unit_cost,supplier,material\n99,1,1\n", "unit_cost")
    assert r.status_code == 422 and str(secret["id"]) not in r.text


def test_upsert_still_updates_records_in_scope(plant: Plant) -> None:
    c, qc1 = plant.client, plant.h("qc1")
    mine = c.get("/api/records/iqc_inspection?limit=1&sort=id", headers=qc1).json()["items"][0]
    r = _import(c, qc1, f"lot_no,remarks\n{mine['lot_no']},re-checked\n", "lot_no")
    assert r.status_code == 200 and r.json()["updated"] >= 1, r.text
    assert c.get(f"/api/records/iqc_inspection/{mine['id']}", headers=qc1).json()["remarks"] == "re-checked"


# ---------------------------------------------------------------- 2: a form-scoped token and references

def test_form_scoped_token_reads_no_other_form_through_a_reference(plant: Plant, secret: dict[str, Any]) -> None:
    c, admin = plant.client, plant.h("admin")
    assert c.put("/api/forms/lot_trace", json=LOT_TRACE, headers=admin).status_code == 200
    assert c.post("/api/records/lot_trace", headers=admin, json={"title": "t", "insp": secret["id"]}).status_code == 201
    tok = c.post("/api/auth/api-tokens", json={"name": "t", "scopes": ["records:lot_trace:read"]}, headers=admin).json()
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    assert c.get("/api/records/iqc_inspection", headers=h).status_code == 403
    for q in ("insp.remarks__like=x", "insp.qty__gt=100", "insp.lot_no=" + SECRET):
        r = c.get(f"/api/records/lot_trace?{q}", headers=h)
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope", (q, r.text)
        assert r.json()["detail"]["missing_scope"] == "records:iqc_inspection:read"
    items = c.get("/api/records/lot_trace", headers=h).json()["items"]
    assert items[0]["_display"]["insp"] == "无权限查看" and SECRET not in str(items)
    one = c.get(f"/api/records/lot_trace/{items[0]['id']}", headers=h).json()
    assert SECRET not in str(one)
    # a token that may read both forms sees the reference as the user does
    both = c.post("/api/auth/api-tokens", json={"name": "b", "scopes": ["records:lot_trace:read", "records:iqc_inspection:read"]},
                  headers=admin).json()
    hb = {"Authorization": f"Bearer {both['access_token']}"}
    r = c.get("/api/records/lot_trace?insp.qty__gt=100", headers=hb)
    assert r.status_code == 200 and r.json()["items"][0]["_display"]["insp"] == SECRET


# ---------------------------------------------------------------- 3: bounded input, no 500

def test_drill_point_id_out_of_range_is_422(plant: Plant) -> None:
    r = plant.client.get("/api/reports/iqc_by_supplier/drill?point.supplier__id=9223372036854775808", headers=plant.h("admin"))
    assert r.status_code == 422, r.text
    assert "point.supplier__id" in r.text
    r = plant.client.get("/api/reports/iqc_by_supplier/drill?point.supplier__id=abc", headers=plant.h("admin"))
    assert r.status_code == 422, r.text


def test_like_matches_backslash_underscore_and_percent(plant: Plant) -> None:
    c, admin = plant.client, plant.h("admin")
    r = c.post("/api/records/iqc_inspection", headers=admin, json=[
        {"supplier": 1, "material": 1, "lot_no": "A\\B_1", "qty": 1}, {"supplier": 1, "material": 1, "lot_no": "AXBY1", "qty": 1},
        {"supplier": 1, "material": 1, "lot_no": "TAIL\\", "qty": 1}])
    assert r.status_code == 201, r.text

    def lots(q: str) -> set[str]:
        r = c.get("/api/records/iqc_inspection", params={"lot_no__like": q, "limit": 1000}, headers=admin)
        assert r.status_code == 200, r.text
        return {i["lot_no"] for i in r.json()["items"]}

    assert lots("%\\") == {"TAIL\\"}                # a pattern ending in a backslash
    assert lots("\\B_") == {"A\\B_1"}               # backslash and underscore are plain characters
    assert lots("B_1") == {"A\\B_1"}
    assert lots("A%1") == {"A\\B_1", "AXBY1"}       # % is the wildcard


def test_sort_takes_at_most_ten_keys(plant: Plant) -> None:
    c, admin = plant.client, plant.h("admin")
    r = c.get("/api/records/iqc_inspection", params={"sort": ",".join(["id"] * 2100)}, headers=admin)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/sort", r.text
    assert c.get("/api/records/iqc_inspection", params={"sort": ",".join(["-qty", "lot_no"] * 5)}, headers=admin).status_code == 200


# ---------------------------------------------------------------- 4: workflow ids reveal nothing

@pytest.fixture
def hidden_flow(plant: Plant) -> dict[str, Any]:
    """An NCR (readable by its creator only, for this test) under review, started by qcm."""
    import json
    from pathlib import Path

    ncr = json.loads(Path("modelpacks/demo/forms/ncr.json").read_text(encoding="utf-8"))
    ncr["permissions"] = [{**p, "scope": "own"} for p in ncr["permissions"]]
    r = plant.client.put("/api/forms/ncr", json=ncr, headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    rec = plant.ncr("qcm")
    return plant.start(rec["id"], user="qcm")


def test_workflow_ids_of_unseen_records_answer_like_missing_ones(plant: Plant, hidden_flow: dict[str, Any]) -> None:
    c, qc1 = plant.client, plant.h("qc1")
    iid = hidden_flow["id"]
    task = next(t for t in plant.instance(iid)["tasks"] if t["status"] == "pending")
    for path, missing in ((f"/api/workflow-instances/{iid}/withdraw", "/api/workflow-instances/999999/withdraw"),
                          (f"/api/workflow-instances/{iid}/resubmit", "/api/workflow-instances/999999/resubmit"),
                          (f"/api/tasks/{task['id']}/approve", "/api/tasks/999999/approve")):
        r, gone = c.post(path, headers=qc1), c.post(missing, headers=qc1)
        assert r.status_code == gone.status_code == 404, (path, r.text)
        assert r.json()["code"] == gone.json()["code"] == "not_found"
    assert c.get(f"/api/workflow-instances/{iid}", headers=qc1).status_code == 404
    # someone who may see the instance (an approver of it) but not act still hears why
    approver = next(u for u in ("qe1", "pm") if u != task.get("assignee") and
                    c.get(f"/api/workflow-instances/{iid}", headers=plant.h(u)).status_code == 200)
    assert c.post(f"/api/workflow-instances/{iid}/withdraw", headers=plant.h(approver)).status_code in (403, 409)


# ---------------------------------------------------------------- 5: shared views name no hidden field

def test_shared_view_drops_what_its_reader_may_not_see(plant: Plant) -> None:
    c, qcm, qc1 = plant.client, plant.h("qcm"), plant.h("qc1")
    spec = {"columns": ["lot_no", "unit_cost", "qty"], "filters": {"lot_no": SECRET, "unit_cost__gt": "50"},
            "sort": "-unit_cost,lot_no"}
    r = c.put("/api/views/iqc_inspection/costly", json={"spec": spec, "shared": True}, headers=qcm)
    assert r.status_code == 200, r.text
    seen = {v["name"]: v for v in c.get("/api/views/iqc_inspection", headers=qc1).json()}["costly"]
    assert seen["partial"] is True and "unit_cost" not in str(seen) and "50" not in str(seen["spec"]["filters"])
    assert seen["spec"]["columns"] == ["lot_no", "qty"] and seen["spec"]["sort"] == "lot_no"
    assert seen["spec"]["filters"] == {"lot_no": SECRET}      # a field qc1 may see keeps its value
    mine = {v["name"]: v for v in c.get("/api/views/iqc_inspection", headers=qcm).json()}["costly"]
    assert mine["spec"] == spec and "partial" not in mine
    # a user's own view may not name a field hidden from him
    r = c.put("/api/views/iqc_inspection/mine", json={"spec": {"columns": ["lot_no"], "filters": {"unit_cost__gt": "1"}}},
              headers=qc1)
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/spec/filters/unit_cost__gt", r.text
    assert c.put("/api/views/iqc_inspection/mine", json={"spec": {"columns": ["lot_no"], "sort": "-qty"}},
                 headers=qc1).status_code == 200
