"""Changing a form never loses a record: plan first, then rename, retype, retire/restore, backfill."""
from __future__ import annotations

import copy

from fastapi.testclient import TestClient

FORM = {"format": "mom.form/1", "name": "part", "label": {"zh-CN": "零件", "en": "Part"},
        "fields": [{"id": "p1", "key": "code", "type": "text", "unique": True, "required": True},
                   {"id": "p2", "key": "weight", "type": "text", "label": {"zh-CN": "重量", "en": "Weight"}},
                   {"id": "p3", "key": "grade", "type": "select", "options": ["A", "B"]}]}


def publish(client: TestClient, h: dict, form: dict, status: int = 200) -> dict:
    r = client.put(f"/api/forms/{form['name']}", json=form, headers=h)
    assert r.status_code == status, r.text
    return r.json()


def test_plan_shows_changes_and_writes_nothing(client: TestClient, admin: dict) -> None:
    plan = client.post("/api/forms/plan", json=FORM, headers=admin).json()
    assert plan["to_version"] == 1 and not plan["blocked"]
    assert plan["operations"][0]["kind"] == "create_table"
    assert client.get("/api/forms/part", headers=admin).status_code == 404


def test_rename_retype_retire_restore_keep_every_record(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    created = client.post("/api/records/part", headers=admin, json=[
        {"code": "P1", "weight": "12", "grade": "A"}, {"code": "P2", "weight": "7", "grade": "B"}]).json()
    ids = [c["id"] for c in created]
    # rename weight -> weight_g and text -> integer, in one change; every row converts
    v2 = copy.deepcopy(FORM)
    v2["fields"][1].update(key="weight_g", type="integer")
    plan = client.post("/api/forms/plan", json=v2, headers=admin).json()
    kinds = [o["kind"] for o in plan["operations"]]
    assert "rename_column" in kinds and "convert_column" in kinds and not plan["blocked"]
    assert publish(client, admin, v2)["version"] == 2
    assert client.get(f"/api/records/part/{ids[0]}", headers=admin).json()["weight_g"] == 12
    # retype back integer -> text
    publish(client, admin, copy.deepcopy(FORM) | {"fields": [FORM["fields"][0], {**FORM["fields"][1], "key": "weight_g"}, FORM["fields"][2]]})
    assert client.get(f"/api/records/part/{ids[1]}", headers=admin).json()["weight_g"] == "7"
    # retire grade: hidden from records, data kept
    v4 = copy.deepcopy(FORM)
    v4["fields"] = [FORM["fields"][0], {**FORM["fields"][1], "key": "weight_g"}]
    publish(client, admin, v4)
    assert "grade" not in client.get(f"/api/records/part/{ids[0]}", headers=admin).json()
    assert client.get("/api/forms/part/retired", headers=admin).json()[0]["key"] == "grade"
    # restore: same id comes back with its data
    v5 = copy.deepcopy(v4)
    v5["fields"].append(FORM["fields"][2])
    plan = publish(client, admin, v5)
    assert any(o["kind"] == "restore_column" for o in plan["operations"])
    assert [client.get(f"/api/records/part/{i}", headers=admin).json()["grade"] for i in ids] == ["A", "B"]
    versions = client.get("/api/forms/part/versions", headers=admin).json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]


def test_unconvertible_type_change_is_refused_with_row_ids(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    rows = client.post("/api/records/part", headers=admin, json=[
        {"code": "P1", "weight": "12"}, {"code": "P2", "weight": "about 7"}, {"code": "P3", "weight": "7.5"}]).json()
    v2 = copy.deepcopy(FORM)
    v2["fields"][1]["type"] = "integer"
    r = client.put("/api/forms/part", json=v2, headers=admin)
    assert r.status_code == 409
    op = next(o for o in r.json()["detail"]["plan"]["operations"] if o["kind"] == "convert_column")
    assert op["safety"] == "blocked" and op["detail"]["failed_ids"] == [rows[1]["id"], rows[2]["id"]]
    # nothing changed: old type and data still there
    assert client.get(f"/api/records/part/{rows[1]['id']}", headers=admin).json()["weight"] == "about 7"
    assert client.get("/api/forms/part", headers=admin).json()["version"] == 1


def test_required_field_on_filled_form_needs_default_or_backfill(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    client.post("/api/records/part", headers=admin, json={"code": "P1", "weight": "3"})
    v2 = copy.deepcopy(FORM)
    v2["fields"].append({"id": "p4", "key": "plant", "type": "text", "required": True})
    r = client.put("/api/forms/part", json=v2, headers=admin)
    assert r.status_code == 409 and "backfill" in r.text
    v2["fields"][-1]["backfill"] = {"expr": "concat('WZ-', code)"}
    publish(client, admin, v2)
    rec = client.get("/api/records/part", headers=admin).json()["items"][0]
    assert rec["plant"] == "WZ-P1"


def test_unique_added_on_duplicates_is_refused(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    client.post("/api/records/part", headers=admin, json=[{"code": "P1", "grade": "A"}, {"code": "P2", "grade": "A"}])
    v2 = copy.deepcopy(FORM)
    v2["fields"][2]["unique"] = True
    r = client.put("/api/forms/part", json=v2, headers=admin)
    assert r.status_code == 409 and "duplicate" in r.text


def test_purge_needs_retired_field_and_confirmation(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    client.post("/api/records/part", headers=admin, json={"code": "P1", "grade": "A"})
    assert client.post("/api/forms/part/fields/p3/purge?confirm=p3", headers=admin).status_code == 409
    v2 = copy.deepcopy(FORM)
    v2["fields"] = FORM["fields"][:2]
    publish(client, admin, v2)
    assert client.post("/api/forms/part/fields/p3/purge", headers=admin).status_code == 422
    assert client.post("/api/forms/part/fields/p3/purge?confirm=p3", headers=admin).status_code == 200
    assert client.get("/api/forms/part/retired", headers=admin).json() == []
    assert client.get("/api/records/part", headers=admin).json()["items"][0]["code"] == "P1"


def test_swapping_two_field_keys_keeps_data(client: TestClient, admin: dict) -> None:
    form = {"format": "mom.form/1", "name": "swap", "fields": [
        {"id": "a", "key": "left_v", "type": "text"}, {"id": "b", "key": "right_v", "type": "text"}]}
    publish(client, admin, form)
    rid = client.post("/api/records/swap", headers=admin, json={"left_v": "L", "right_v": "R"}).json()["id"]
    form2 = copy.deepcopy(form)
    form2["fields"][0]["key"], form2["fields"][1]["key"] = "right_v", "left_v"
    publish(client, admin, form2)
    rec = client.get(f"/api/records/swap/{rid}", headers=admin).json()
    assert rec["right_v"] == "L" and rec["left_v"] == "R"


def test_republishing_same_definition_is_unchanged(client: TestClient, admin: dict) -> None:
    publish(client, admin, FORM)
    assert publish(client, admin, FORM)["unchanged"] is True
