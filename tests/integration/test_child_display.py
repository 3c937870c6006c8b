"""Child rows show the names of what they reference: GET /api/records/<form>/<id> (and a list with
expand=1) gives each child row a ``_display`` map, under the same rights as the main record's.

The demo plant: qc1 reads only her own department's incoming inspections and never their unit cost; an
inspection written by the administrator is out of her scope. A lot review form has a child table of
inspections (shown by lot number; one column by unit cost) and the user who checked each.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.wf_helpers import Plant

SECRET_LOT, SECRET_COST = "SECRET-LOT-88", "8765.5"
NO_ACCESS = "无权限查看"

LOT_REVIEW = {
    "format": "mom.form/1", "name": "lot_review", "label": {"zh-CN": "批次评审", "en": "Lot review"},
    "display_field": "title",
    "fields": [
        {"id": "a", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
        {"id": "b", "key": "lines", "type": "table", "label": {"zh-CN": "明细", "en": "Lines"}, "fields": [
            {"id": "b1", "key": "inspection", "type": "reference", "form": "iqc_inspection", "display_field": "lot_no",
             "label": {"zh-CN": "检验单", "en": "Inspection"}},
            {"id": "b2", "key": "costed", "type": "reference", "form": "iqc_inspection", "display_field": "unit_cost",
             "label": {"zh-CN": "成本检验单", "en": "Costed inspection"}},
            {"id": "b3", "key": "checker", "type": "user", "label": {"zh-CN": "复核人", "en": "Checker"}},
            {"id": "b4", "key": "note", "type": "text", "label": {"zh-CN": "备注", "en": "Note"}},
        ]},
    ],
    "permissions": [{"role": "*", "actions": ["create", "read", "update"]}],
}


@pytest.fixture
def scene(plant: Plant) -> dict[str, Any]:
    """lot_review; one inspection of qc1's own, one by the administrator with a unit cost out of her
    scope; a review whose lines point at each (and one line with nothing referenced)."""
    c, admin = plant.client, plant.h("admin")
    assert c.put("/api/forms/lot_review", json=LOT_REVIEW, headers=admin).status_code == 200
    mine = c.get("/api/records/iqc_inspection?limit=1&sort=id", headers=plant.h("qc1")).json()["items"][0]
    r = c.post("/api/records/iqc_inspection", headers=admin, json={
        "supplier": 1, "material": 1, "lot_no": SECRET_LOT, "qty": 5, "unit_cost": SECRET_COST})
    assert r.status_code == 201, r.text
    other = r.json()
    me = c.get("/api/auth/me", headers=admin).json()
    r = c.post("/api/records/lot_review", headers=admin, json={"title": "R-1", "lines": [
        {"inspection": mine["id"], "costed": mine["id"], "checker": me["id"]},
        {"inspection": other["id"], "costed": other["id"]},
        {"note": "空行"}]})
    assert r.status_code == 201, r.text
    return {"c": c, "plant": plant, "mine": mine, "other": other, "review": r.json(), "me": me}


def _lines(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [row.get("_display", {}) for row in doc["lines"]]


def test_child_rows_show_names_for_the_administrator(scene: dict[str, Any]) -> None:
    c, p, mine = scene["c"], scene["plant"], scene["mine"]
    rid = scene["review"]["id"]
    admin_name = scene["me"].get("display_name") or scene["me"]["username"]
    # the create's answer already carries them
    assert _lines(scene["review"])[1]["inspection"] == SECRET_LOT
    doc = c.get(f"/api/records/lot_review/{rid}", headers=p.h("admin")).json()
    first, second, empty = _lines(doc)
    assert first["inspection"] == mine["lot_no"] and first["checker"] == admin_name and first["costed"] != NO_ACCESS
    assert second["inspection"] == SECRET_LOT and float(second["costed"]) == float(SECRET_COST)
    assert empty == {} and "_display" not in doc["lines"][2]
    # the ids stay as they were: the page still saves them
    assert doc["lines"][0]["inspection"] == mine["id"]


def test_child_rows_respect_the_readers_rights(scene: dict[str, Any]) -> None:
    c, p, mine = scene["c"], scene["plant"], scene["mine"]
    qc1 = p.h("qc1")
    for url in (f"/api/records/lot_review/{scene['review']['id']}", "/api/records/lot_review?sort=id&expand=1"):
        r = c.get(url, headers=qc1)
        assert r.status_code == 200, r.text
        assert SECRET_LOT not in r.text and "8765" not in r.text
        doc = r.json() if "expand" not in url else r.json()["items"][0]
        first, second, _ = _lines(doc)
        assert first["inspection"] == mine["lot_no"]
        assert first["costed"] == mine["code"]          # unit cost hidden from her: the form's display field instead
        assert second == {"inspection": NO_ACCESS, "costed": NO_ACCESS}


def test_a_list_without_expand_does_no_child_work(scene: dict[str, Any]) -> None:
    c, p = scene["c"], scene["plant"]
    items = c.get("/api/records/lot_review?sort=id", headers=p.h("admin")).json()["items"]
    assert items and "lines" not in items[0]


def test_a_read_back_record_saves_as_it_is(scene: dict[str, Any]) -> None:
    """A client that PATCHes the document it read (child rows with their _display) is not refused."""
    c, p = scene["c"], scene["plant"]
    url = f"/api/records/lot_review/{scene['review']['id']}"
    doc = c.get(url, headers=p.h("admin")).json()
    r = c.patch(url, headers=p.h("admin"), json={"lines": doc["lines"], "row_version": doc["row_version"]})
    assert r.status_code == 200, r.text
    assert _lines(r.json())[1]["inspection"] == SECRET_LOT


@pytest.fixture
def statements(engine: sa.engine.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", count)


def test_names_are_read_in_one_statement_per_target_whatever_the_rows(scene: dict[str, Any], statements: list[str]) -> None:
    c, p, mine, other = scene["c"], scene["plant"], scene["mine"], scene["other"]
    admin = p.h("admin")
    me = scene["me"]["id"]
    small = c.post("/api/records/lot_review", headers=admin, json={"title": "S", "lines": [
        {"inspection": mine["id"], "costed": mine["id"], "checker": me}]}).json()
    big = c.post("/api/records/lot_review", headers=admin, json={"title": "B", "lines": [
        {"inspection": (mine if i % 2 else other)["id"], "costed": (other if i % 2 else mine)["id"], "checker": me}
        for i in range(40)]}).json()
    counts = []
    for rec in (small, big):
        statements.clear()
        r = c.get(f"/api/records/lot_review/{rec['id']}", headers=admin)
        assert r.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert {d["inspection"] for d in _lines(r.json())} == {mine["lot_no"], SECRET_LOT}
