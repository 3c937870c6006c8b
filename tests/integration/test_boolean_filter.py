"""Filtering a list by a yes/no field (``active=true``) answered 500: every comparison was built before the
asked one was picked, and SQLAlchemy refuses ``<`` on a boolean. Regression test (found while building the
inspection entry's defect-code picker)."""
from __future__ import annotations

from fastapi.testclient import TestClient

FORM = {"format": "mom.form/1", "name": "bf_defect", "label": {"zh-CN": "缺陷", "en": "Defect"},
        "fields": [{"id": "f1", "key": "name", "type": "text", "label": {"zh-CN": "名称", "en": "Name"}},
                   {"id": "f2", "key": "active", "type": "boolean", "label": {"zh-CN": "启用", "en": "Active"}}]}


def test_a_yes_no_field_filters_and_refuses_an_order_in_words(client: TestClient, admin: dict) -> None:
    assert client.put("/api/forms/bf_defect", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/records/bf_defect", headers=admin,
                    json=[{"name": "砂眼", "active": True}, {"name": "划伤", "active": False}, {"name": "开线", "active": True}])
    assert r.status_code == 201, r.text
    names = lambda q: sorted(x["name"] for x in client.get(f"/api/records/bf_defect?{q}", headers=admin).json()["items"])  # noqa: E731
    assert names("active=true") == ["开线", "砂眼"]
    assert names("active__ne=true") == ["划伤"]
    r = client.get("/api/records/bf_defect?active__lt=true", headers=admin)
    assert r.status_code == 422
    assert "是/否字段" in r.json()["problems"][0]["message"]["zh-CN"]
