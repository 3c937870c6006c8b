"""A definition published under older, looser rules stays usable after an upgrade that made the publish
checks stricter (constant formulas evaluated at validation, reserved names, template trial renders):
its records stay readable and writable, and the formula that can never work fails per record, shown on
the record, instead of locking the whole form away."""
from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.platform.api.app import create_app
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx
from mom.platform.settings import Settings

FORM = {"format": "mom.form/1", "name": "yield_check", "label": {"zh-CN": "良率检查", "en": "Yield check"},
        "fields": [{"id": "a", "key": "good", "type": "integer", "label": {"zh-CN": "良品数", "en": "Good"}},
                   {"id": "b", "key": "ratio", "type": "formula", "result_type": "decimal",
                    "label": {"zh-CN": "比例", "en": "Ratio"}, "formula": "good / 2"}]}


def test_a_form_stored_with_a_formula_todays_checks_refuse_still_loads(
        client: TestClient, engine: sa.engine.Engine, settings: Settings, admin: dict[str, str]) -> None:
    assert client.put("/api/forms/yield_check", json=FORM, headers=admin).status_code == 200
    made = client.post("/api/records/yield_check", json={"good": 4}, headers=admin)
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    # what an older release let through: a divisor that is a constant zero
    with write_tx(engine) as conn:
        raw = conn.execute(sa.select(T.form_version.c.definition).where(T.form_version.c.form_name == "yield_check")).scalar_one()
        raw = {**raw, "fields": [raw["fields"][0], {**raw["fields"][1], "formula": "good / 0"}]}
        conn.execute(T.form_version.update().where(T.form_version.c.form_name == "yield_check").values(definition=raw))
    # publishing it today is refused, naming the field …
    bad = client.post("/api/forms/plan", json={**FORM, "fields": [FORM["fields"][0], {**FORM["fields"][1], "formula": "good / 0"}]},
                      headers=admin)
    assert bad.status_code == 422 and any(p["path"].startswith("/fields/1") for p in bad.json()["problems"]), bad.text
    # … but the stored form still serves its records, and the failure shows on the record
    fresh = TestClient(create_app(settings, engine))   # a new process compiles the stored definition again
    listing = fresh.get("/api/records/yield_check", headers=admin)
    assert listing.status_code == 200 and listing.json()["items"][0]["id"] == rid, listing.text
    one = fresh.get(f"/api/records/yield_check/{rid}", headers=admin)
    assert one.status_code == 200, one.text
    assert one.json()["good"] == 4
    added = fresh.post("/api/records/yield_check", json={"good": 7}, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()["ratio"] is None and added.json()["_errors"]["/ratio"]["zh-CN"] == "除数为零", added.json()
