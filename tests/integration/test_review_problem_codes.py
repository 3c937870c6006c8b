"""Problem codes agree with the docs and the API (issue 16 review, item 3): a workflow comment naming
another user's file is `not_yours`; an imported row whose reference names no usable record is
`not_found`, as in the API; `expires_in_days: true` is not a number of days."""
from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.wf_helpers import Plant


def test_a_comment_naming_another_users_file_is_not_yours(plant: Plant) -> None:
    ncr = plant.ncr("qc1")
    inst = plant.start(ncr["id"], "qc1")
    task = plant.task_of("qe1", inst["id"])
    theirs = plant.client.post("/api/attachments", files={"file": ("pm.pdf", b"%PDF-1.4 pm", "application/pdf")},
                               headers=plant.h("pm")).json()["id"]
    r = plant.client.post(f"/api/tasks/{task['id']}/comment", json={"comment": "x", "attachments": [theirs]},
                          headers=plant.h("qe1"))
    assert r.status_code == 422 and [(p["path"], p["code"]) for p in r.json()["problems"]] == [("/attachments", "not_yours")]
    r = plant.client.post(f"/api/tasks/{task['id']}/comment", json={"comment": "x", "attachments": ["no-such-file-id"]},
                          headers=plant.h("qe1"))
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "unknown"


def test_an_imported_row_with_an_unknown_reference_is_not_found(plant: Plant) -> None:
    c, admin = plant.client, plant.h("admin")
    csv = "lot_no,supplier,material,result\nIMP-1,NO-SUCH-SUPPLIER,MAT-1001,pass\n".encode()
    api = c.post("/api/records/iqc_inspection", headers=admin,
                 json={"lot_no": "API-1", "supplier": "NO-SUCH-SUPPLIER", "material": "MAT-1001", "result": "pass"})
    assert api.status_code == 422 and "not_found" in {p["code"] for p in api.json()["problems"]}, api.text
    skip = c.post("/api/records/iqc_inspection/import", headers=admin, data={"mode": "skip"}, files={"file": ("x.csv", csv)})
    assert skip.status_code == 200, skip.text
    from_api = [(p["path"], p["code"]) for p in api.json()["problems"]]   # the supplier's not_found; qty required
    assert ("/supplier", "not_found") in from_api
    assert [(f"/{e['field']}", e["code"]) for e in skip.json()["errors"]] == from_api
    refused = c.post("/api/records/iqc_inspection/import", headers=admin, data={"mode": "all"}, files={"file": ("x.csv", csv)})
    assert refused.status_code == 422
    assert [(p["path"], p["code"]) for p in refused.json()["problems"]] == [(f"/rows/2{path}", code) for path, code in from_api]


def test_expires_in_days_must_be_a_number(client: TestClient, admin: dict[str, str]) -> None:
    for bad in (True, False, "30", 1.5):
        r = client.post("/api/auth/api-tokens", json={"name": "erp", "expires_in_days": bad}, headers=admin)
        assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/expires_in_days", (bad, r.text)
    r = client.post("/api/auth/api-tokens", json={"name": "erp", "days": True}, headers=admin)
    assert r.status_code == 422
    assert client.post("/api/auth/api-tokens", json={"name": "erp", "expires_in_days": 1}, headers=admin).status_code == 201
    assert not [t for t in client.get("/api/auth/api-tokens", headers=admin).json() if t["name"] == "erp" and t["id"] < 0]
