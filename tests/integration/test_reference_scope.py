"""Issue 16, item 4: a reference shows, accepts and is matched against only what its user may read.

The demo plant: qc1 (inspector, 来料检验组) reads incoming inspections of her own department and never
their unit cost; an inspection written by the administrator (质量部) is out of her scope. A form
every user may read references inspections by lot number (and, badly designed, by unit cost).
"""
from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.integration.wf_helpers import Plant

SECRET_LOT, SECRET_COST = "SECRET-LOT-77", "4321.5"
NO_ACCESS = "无权限查看"

LOT_CHECK = {
    "format": "mom.form/1", "name": "lot_check", "label": {"zh-CN": "批次复核", "en": "Lot check"}, "display_field": "title",
    "fields": [
        {"id": "a", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
        {"id": "b", "key": "inspection", "type": "reference", "form": "iqc_inspection", "display_field": "lot_no",
         "label": {"zh-CN": "检验单", "en": "Inspection"}},
        {"id": "c", "key": "costed", "type": "reference", "form": "iqc_inspection", "display_field": "unit_cost",
         "label": {"zh-CN": "成本检验单", "en": "Costed inspection"}},
        {"id": "d", "key": "code", "type": "text", "unique": True, "label": {"zh-CN": "编码", "en": "Code"}},
        {"id": "e", "key": "shift", "type": "text", "label": {"zh-CN": "班次", "en": "Shift"}},
    ],
    "indexes": [{"fields": ["title", "shift"], "unique": True}],
    "permissions": [{"role": "*", "actions": ["create", "read", "update", "export", "import"]}],
}


@pytest.fixture
def scene(plant: Plant) -> dict[str, Any]:
    """The lot_check form; one inspection of qc1's own (from the demo fixtures) and one written by the
    administrator in another department, with a unit cost; a lot check pointing at each."""
    c = plant.client
    admin = plant.h("admin")
    r = c.put("/api/forms/lot_check", json=LOT_CHECK, headers=admin)
    assert r.status_code == 200, r.text
    mine = c.get("/api/records/iqc_inspection?limit=1&sort=id", headers=plant.h("qc1")).json()["items"][0]
    r = c.post("/api/records/iqc_inspection", headers=admin, json={
        "supplier": 1, "material": 1, "lot_no": SECRET_LOT, "qty": 5, "unit_cost": SECRET_COST})
    assert r.status_code == 201, r.text
    other = r.json()
    r = c.post("/api/records/lot_check", headers=admin, json=[
        {"title": "own", "inspection": mine["id"], "costed": mine["id"], "code": "C-1"},
        {"title": "other", "inspection": other["id"], "costed": other["id"], "code": "C-2"}])
    assert r.status_code == 201, r.text
    own_check, other_check = r.json()
    return {"mine": mine, "other": other, "own_check": own_check, "other_check": other_check, "c": c, "plant": plant}


def _no_secret(text: str) -> None:
    assert SECRET_LOT not in text and SECRET_COST not in text and "4321" not in text


def _shown(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("_display", {})


def test_list_read_and_expand_show_out_of_scope_as_no_access(scene: dict[str, Any]) -> None:
    c, p, mine = scene["c"], scene["plant"], scene["mine"]
    qc1 = p.h("qc1")
    for url in ("/api/records/lot_check?sort=id", "/api/records/lot_check?sort=id&expand=1"):
        r = c.get(url, headers=qc1)
        assert r.status_code == 200, r.text
        _no_secret(r.text)
        own, other = r.json()["items"]
        assert _shown(own) == {"inspection": mine["lot_no"], "costed": mine["code"]}   # hidden unit cost: the code instead
        assert _shown(other) == {"inspection": NO_ACCESS, "costed": NO_ACCESS}
    r = c.get(f"/api/records/lot_check/{scene['other_check']['id']}", headers=qc1)
    assert r.status_code == 200 and _shown(r.json()) == {"inspection": NO_ACCESS, "costed": NO_ACCESS}
    _no_secret(r.text)
    # the manager reads every inspection, so the lot number shows; the administrator also sees the cost
    qcm = c.get(f"/api/records/lot_check/{scene['other_check']['id']}", headers=p.h("qcm")).json()
    assert _shown(qcm)["inspection"] == SECRET_LOT
    admin = c.get(f"/api/records/lot_check/{scene['other_check']['id']}", headers=p.h("admin")).json()
    assert _shown(admin)["inspection"] == SECRET_LOT and float(_shown(admin)["costed"]) == float(SECRET_COST)


def test_exports_show_no_access(scene: dict[str, Any]) -> None:
    c, qc1 = scene["c"], scene["plant"].h("qc1")
    r = c.get("/api/records/lot_check/export?sort=id", headers=qc1)
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    _no_secret(text)
    assert text.count(NO_ACCESS) == 2 and scene["mine"]["lot_no"] in text
    r = c.get("/api/records/lot_check/export?format=xlsx&sort=id", headers=qc1)
    assert r.status_code == 200
    cells = [str(v) for row in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True) for v in row]
    _no_secret(" ".join(cells))
    assert cells.count(NO_ACCESS) == 2


def test_filters_on_a_reference_cannot_probe_out_of_scope_values(scene: dict[str, Any]) -> None:
    c, p = scene["c"], scene["plant"]
    qc1, admin = p.h("qc1"), p.h("admin")
    get = lambda q, h=qc1: c.get(f"/api/records/lot_check?{q}", headers=h)  # noqa: E731
    assert len(get(f"inspection.lot_no={SECRET_LOT}", admin).json()["items"]) == 1
    for q in (f"inspection.lot_no={SECRET_LOT}", "inspection.lot_no__like=SECRET", "inspection.qty__lt=6",
              "inspection.lot_no__isnull=0&title=other"):
        r = get(q)
        assert r.status_code == 200 and r.json()["items"] == [], q
    assert [x["title"] for x in get("inspection.lot_no__ne=nothing").json()["items"]] == ["own"]
    for q in ("costed.unit_cost__gt=100", "inspection.unit_cost=4321.5", "sort=inspection.lot_no"):
        r = get(q)
        assert r.status_code == 422, q
        _no_secret(r.text)


def test_writes_may_reference_only_readable_records(scene: dict[str, Any]) -> None:
    c, p, other, mine = scene["c"], scene["plant"], scene["other"], scene["mine"]
    qc1 = p.h("qc1")
    by_id = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "inspection": other["id"]})
    missing = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "inspection": 999999})
    assert by_id.status_code == missing.status_code == 422
    a, b = by_id.json()["problems"], missing.json()["problems"]
    assert [x["path"] for x in a] == ["/inspection"] and a[0]["code"] == b[0]["code"] == "not_found"
    assert "检验单：找不到可用的记录" in a[0]["message"]["zh-CN"]
    # out of scope and nonexistent read alike (only the id the caller gave differs)
    assert a[0]["message"]["zh-CN"].replace(str(other["id"]), "N") == b[0]["message"]["zh-CN"].replace("999999", "N")
    by_text = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "inspection": SECRET_LOT})
    nothing = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "inspection": "NO-SUCH-LOT"})
    assert by_text.status_code == nothing.status_code == 422
    t, n = by_text.json()["problems"][0], nothing.json()["problems"][0]
    assert t["path"] == "/inspection" and t["message"]["zh-CN"].replace(SECRET_LOT, "N") == n["message"]["zh-CN"].replace("NO-SUCH-LOT", "N")
    # a hidden display field is never matched: the cost as text finds nothing
    r = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "costed": SECRET_COST})
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "not_found"
    r = c.post("/api/records/lot_check", headers=qc1, json={"title": "x", "costed": "4321.50"})
    assert r.status_code == 422
    # what qc1 may read she may reference, by id or by its text
    r = c.post("/api/records/lot_check", headers=qc1, json=[{"title": "y", "inspection": mine["lot_no"]},
                                                            {"title": "z", "inspection": mine["id"], "costed": mine["code"]}])
    assert r.status_code == 201, r.text
    assert [d["inspection"] for d in r.json()] == [mine["id"], mine["id"]] and r.json()[1]["costed"] == mine["id"]
    # the manager may reference the administrator's inspection by its lot number
    r = c.post("/api/records/lot_check", headers=p.h("qcm"), json={"title": "m", "inspection": SECRET_LOT})
    assert r.status_code == 201 and r.json()["inspection"] == other["id"]


def test_an_edit_keeps_a_reference_it_already_holds(scene: dict[str, Any]) -> None:
    c, p, other, mine = scene["c"], scene["plant"], scene["other"], scene["mine"]
    qc1 = p.h("qc1")
    doc = c.get(f"/api/records/lot_check/{scene['other_check']['id']}", headers=qc1).json()
    # the edit form sends every field back: the held reference is not a new one
    body = {k: doc[k] for k in ("title", "inspection", "costed", "code")} | {"shift": "夜班", "row_version": doc["row_version"]}
    r = c.patch(f"/api/records/lot_check/{doc['id']}", headers=qc1, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["inspection"] == other["id"] and _shown(r.json())["inspection"] == NO_ACCESS
    # the "no access" text of an export sent back keeps the value too
    r = c.patch(f"/api/records/lot_check/{doc['id']}", headers=qc1, json={"inspection": NO_ACCESS, "row_version": r.json()["row_version"]})
    assert r.status_code == 200 and r.json()["inspection"] == other["id"]
    # pointing another record at it is refused
    own = scene["own_check"]
    r = c.patch(f"/api/records/lot_check/{own['id']}", headers=qc1, json={"inspection": other["id"], "row_version": own["row_version"]})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/inspection"
    r = c.patch(f"/api/records/lot_check/{own['id']}", headers=qc1, json={"inspection": mine["id"], "row_version": own["row_version"]})
    assert r.status_code == 200


def test_duplicate_values_answer_409_without_naming_what_the_user_may_not_read(scene: dict[str, Any]) -> None:
    c, p, other, mine = scene["c"], scene["plant"], scene["other"], scene["mine"]
    qc1 = p.h("qc1")
    base = {"supplier": 1, "material": 1, "lot_no": "L-NEW", "qty": 1}
    r = c.post("/api/records/iqc_inspection", headers=qc1, json=base | {"code": other["code"]})
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    _no_secret(r.text)
    assert f"#{other['id']}" not in r.text
    prob = r.json()["problems"][0]
    assert prob["path"] == "/code" and prob["code"] == "unique" and "已被占用" in prob["message"]["zh-CN"]
    assert "already in use" in r.json()["message"]["en"]
    # her own inspection she may read: the message says which one
    r = c.post("/api/records/iqc_inspection", headers=qc1, json=base | {"code": mine["code"]})
    assert r.status_code == 409 and f"已被 {mine['code']}" in r.json()["problems"][0]["message"]["zh-CN"]   # by what she sees, not an id
    assert f"#{mine['id']}" not in r.text
    # update and bulk create go the same way; a bulk with other problems too answers 422 with all of them
    own, taken = scene["own_check"], scene["other_check"]
    r = c.patch(f"/api/records/lot_check/{own['id']}", headers=qc1, json={"code": taken["code"], "row_version": own["row_version"]})
    assert r.status_code == 409 and r.json()["problems"][0]["path"] == "/code"
    assert f"已被 {taken['code']}" in r.json()["message"]["zh-CN"]      # a record she may read is named
    r = c.post("/api/records/iqc_inspection", headers=qc1, json=[base | {"code": "X-1"}, base | {"code": other["code"]}])
    assert r.status_code == 409 and [x["path"] for x in r.json()["problems"]] == ["/1/code"]
    _no_secret(r.text)
    r = c.post("/api/records/iqc_inspection", headers=qc1, json=[base | {"qty": -1}, base | {"code": other["code"]}])
    assert r.status_code == 422 and {x["code"] for x in r.json()["problems"]} == {"min", "unique"}


def test_database_unique_index_answers_409_naming_fields_only(scene: dict[str, Any], engine: sa.engine.Engine) -> None:
    c, p = scene["c"], scene["plant"]
    qc1 = p.h("qc1")
    assert c.post("/api/records/lot_check", headers=p.h("admin"), json={"title": "own", "shift": "SECRET-SHIFT"}).status_code == 201

    def refused(r: Any, paths: set[str]) -> None:
        assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
        assert {x["path"] for x in r.json()["problems"]} == paths and "SECRET" not in r.text
        assert "标题、班次" in r.json()["message"]["zh-CN"] and "Title, Shift" in r.json()["message"]["en"]

    refused(c.post("/api/records/lot_check", headers=qc1, json={"title": "own", "shift": "SECRET-SHIFT"}), {"/title", "/shift"})
    refused(c.post("/api/records/lot_check", headers=qc1, json=[{"title": "a", "shift": "1"}, {"title": "own", "shift": "SECRET-SHIFT"}]),
            {"/title", "/shift"})
    own = scene["own_check"]
    refused(c.patch(f"/api/records/lot_check/{own['id']}", headers=qc1, json={"shift": "SECRET-SHIFT", "row_version": own["row_version"]}),
            {"/title", "/shift"})
    csv = "标题,班次\nfresh,1\nown,SECRET-SHIFT\n".encode("utf-8")
    # an import reports a value in use on its row, like every other row problem (nothing imported in mode all)
    r = c.post("/api/records/lot_check/import", headers=qc1, files={"file": ("x.csv", csv, "text/csv")})
    assert r.status_code in (409, 422) and r.json()["code"] in ("conflict", "invalid_input"), r.text
    assert {x["path"] for x in r.json()["problems"]} == {"/rows/3/title", "/rows/3/shift"} and "SECRET" not in r.text
    assert "标题、班次" in r.text and "已被占用" in r.text
    # nothing of the refused writes was kept
    titles = [x["title"] for x in c.get("/api/records/lot_check?limit=100", headers=p.h("admin")).json()["items"]]
    assert sorted(titles) == ["other", "own", "own"]


def test_import_duplicate_row_names_the_field_without_the_other_record(scene: dict[str, Any]) -> None:
    c, p, other = scene["c"], scene["plant"], scene["other"]
    csv = f"检验单号,供应商,物料,批次号,来料数量\n{other['code']},1,1,L-IMP,3\n".encode("utf-8")
    r = c.post("/api/records/iqc_inspection/import", headers=p.h("qc1"), files={"file": ("x.csv", csv, "text/csv")})
    assert r.status_code in (409, 422), r.text
    _no_secret(r.text)
    assert "已被占用" in r.text and f"#{other['id']}" not in r.text


def test_display_texts_cost_one_statement_per_page(scene: dict[str, Any], engine: sa.engine.Engine) -> None:
    c, p = scene["c"], scene["plant"]
    qc1 = p.h("qc1")
    c.post("/api/records/lot_check", headers=p.h("admin"), json=[
        {"title": f"t{i}", "inspection": scene["other"]["id"] if i % 2 else scene["mine"]["id"], "costed": scene["mine"]["id"]}
        for i in range(40)])
    counts = []
    for limit in (2, 40):
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "lot_check" in statement:
                seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            r = c.get(f"/api/records/lot_check?limit={limit}", headers=qc1)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        counts.append(len(seen))
    assert counts[0] == counts[1] == 1


def test_edit_preview_does_not_flag_a_held_reference(scene: dict[str, Any]) -> None:
    c, qc1, other = scene["c"], scene["plant"].h("qc1"), scene["other"]
    body = {"title": "other", "inspection": other["id"], "costed": other["id"]}
    r = c.post("/api/records/lot_check/preview?editing=1", headers=qc1, json=body)
    assert r.status_code == 200 and r.json()["problems"] == [], r.text
    r = c.post("/api/records/lot_check/preview", headers=qc1, json=body)   # a new record may not point at it
    assert {p["path"] for p in r.json()["problems"]} == {"/inspection", "/costed"}
    _no_secret(r.text)


def test_self_reference_under_an_expression_scope(plant: Plant) -> None:
    """A form that references itself, read under a scope written as an expression over its fields."""
    c, admin, qc1 = plant.client, plant.h("admin"), plant.h("qc1")
    form = {"format": "mom.form/1", "name": "defect", "display_field": "title", "fields": [
        {"id": "a", "key": "title", "type": "text"}, {"id": "b", "key": "level", "type": "select", "options": ["minor", "major"]},
        {"id": "c", "key": "cause", "type": "reference", "form": "defect"}],
        "permissions": [{"role": "*", "actions": ["create", "read"], "scope": {"expr": "level == 'minor' or created_by == user.id"}}]}
    assert c.put("/api/forms/defect", json=form, headers=admin).status_code == 200
    major, minor = c.post("/api/records/defect", headers=admin, json=[{"title": "SECRET-MAJOR", "level": "major"},
                                                                       {"title": "毛刺", "level": "minor"}]).json()
    r = c.post("/api/records/defect", headers=qc1, json={"title": "a", "level": "minor", "cause": major["id"]})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "/cause"
    mine = c.post("/api/records/defect", headers=qc1, json={"title": "b", "level": "minor", "cause": minor["id"]})
    assert mine.status_code == 201 and _shown(mine.json()) == {"cause": "毛刺"}
    c.post("/api/records/defect", headers=admin, json={"title": "c", "level": "minor", "cause": major["id"]})
    items = c.get("/api/records/defect?sort=id", headers=qc1).json()["items"]
    assert [(x["title"], _shown(x).get("cause")) for x in items] == [("毛刺", None), ("b", "毛刺"), ("c", NO_ACCESS)]
    everything = c.get("/api/records/defect?sort=id", headers=admin).json()["items"]
    assert _shown(everything[-1]) == {"cause": "SECRET-MAJOR"}
