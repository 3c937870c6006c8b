"""A field type added by a plug-in works through the whole record path without an edit of the
engines: publish a form using it, create (coerced), read (dumped), filter, import and export."""
from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.forms import fieldtypes
from mom.engines.forms.model import FieldSpec
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager

HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def _coerce_colour(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    m = HEX.fullmatch(str(v).strip())
    if m is None:
        raise fieldtypes.FieldError(f"{v!r} 不是颜色（如 #1f6feb）", f"{v!r} is not a colour (e.g. #1f6feb)")
    return "#" + m[1].lower()


@hookimpl
def mom_field_types() -> list[fieldtypes.FieldType]:
    return [fieldtypes.FieldType("colour", column=lambda f: sa.String(7), coerce=_coerce_colour,
                                 signature=lambda f: "text(7)", family="text", stored_as_text=True, max_length=7)]


FORM = {"format": "mom.form/1", "name": "paint", "label": {"zh-CN": "油漆", "en": "Paint"}, "fields": [
    {"id": "a", "key": "code", "type": "text", "required": True, "unique": True, "label": {"zh-CN": "编码", "en": "Code"}},
    {"id": "b", "key": "shade", "type": "colour", "label": {"zh-CN": "色号", "en": "Shade"}}]}


@pytest.fixture
def colour_types() -> Iterator[None]:
    plugin = types.ModuleType("colour_plugin")
    plugin.mom_field_types = mom_field_types   # type: ignore[attr-defined]
    pm = new_manager(entry_points=False)
    pm.register(plugin)
    with fieldtypes.using(fieldtypes.types_of(pm)):
        yield


def test_a_plugin_field_type_goes_through_the_record_path(client: TestClient, admin: dict, colour_types: None) -> None:
    assert client.put("/api/forms/paint", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/records/paint", json={"code": "P1", "shade": " #1F6FEB "}, headers=admin)
    assert r.status_code in (200, 201), r.text
    rid = r.json()["id"]
    assert client.get(f"/api/records/paint/{rid}", headers=admin).json()["shade"] == "#1f6feb"
    bad = client.post("/api/records/paint", json={"code": "P2", "shade": "blue"}, headers=admin)
    assert bad.status_code == 422 and "not a colour" in bad.text
    assert [i["code"] for i in client.get("/api/records/paint?shade=1f6feb", headers=admin).json()["items"]] == ["P1"]
    imported = client.post("/api/records/paint/import", headers=admin,
                           files={"file": ("p.csv", "code,shade\nP3,00FF00\n".encode("utf-8"))})
    assert imported.status_code == 200 and imported.json()["created"] == 1, imported.text
    exported = client.get("/api/records/paint/export?sort=code", headers=admin).content.decode("utf-8-sig")
    assert "#1f6feb" in exported and "#00ff00" in exported


def test_a_form_whose_field_type_plugin_is_gone_stays_listed_readable_and_fixable(client: TestClient, admin: dict) -> None:
    """Published with a fresh manager holding the plug-in; then served by one without it."""
    pm = new_manager(entry_points=False)
    plugin = types.ModuleType("colour_plugin")
    plugin.mom_field_types = mom_field_types   # type: ignore[attr-defined]
    pm.register(plugin)
    with fieldtypes.using(fieldtypes.types_of(pm)):
        assert client.put("/api/forms/paint", json=FORM, headers=admin).status_code == 200
        assert client.post("/api/records/paint", json={"code": "P1", "shade": "1f6feb"}, headers=admin).status_code == 201
    other = {"format": "mom.form/1", "name": "brush", "fields": [{"id": "a", "key": "code", "type": "text"}]}
    assert client.put("/api/forms/brush", json=other, headers=admin).status_code == 200
    # the plug-in is not installed any more (the process's own manager has no colour type)
    listed = {f["name"]: f for f in client.get("/api/forms", headers=admin).json()}
    assert "read" in listed["brush"]["actions"] and "problem" not in listed["brush"]
    assert listed["paint"]["actions"] == ["design"]
    assert "field shade has type colour from a plug-in that is not installed" in listed["paint"]["problem"]["en"]
    assert "字段 shade 的类型 colour 来自未安装的插件" in listed["paint"]["problem"]["zh-CN"]
    assert client.get("/api/apps", headers=admin).status_code == 200          # the menu and the scanner stand
    assert client.get("/api/scan?code=B1", headers=admin).status_code == 200
    got = client.get("/api/forms/paint", headers=admin)
    assert got.status_code == 200 and got.json()["definition"] == FORM | {"permissions": got.json()["definition"]["permissions"]} and "install it" in got.json()["warning"]["en"]
    for r in (client.get("/api/records/paint", headers=admin),
              client.post("/api/records/paint", json={"code": "P2"}, headers=admin)):
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["message"]["en"] == ("form paint: field shade has type colour from a plug-in that is not "
                                         "installed; install it or change the field")
        assert body["problems"][0]["code"] == "plugin_missing" and "not one of" not in r.text
    # the fix: the field becomes plain text; the stored colours convert, the records are back
    fixed = {**FORM, "fields": [FORM["fields"][0], {**FORM["fields"][1], "type": "text"}]}
    r = client.put("/api/forms/paint", json=fixed, headers=admin)
    assert r.status_code == 200, r.text
    listed_records = client.get("/api/records/paint", headers=admin)
    assert [i["shade"] for i in listed_records.json()["items"]] == ["#1f6feb"], listed_records.text


def _raises(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int:
    return int(v)   # ValueError for "abc": a plug-in author's slip


@hookimpl(specname="mom_field_types")
def _careless_types() -> list[fieldtypes.FieldType]:
    return [fieldtypes.FieldType("careless", column=lambda f: sa.Integer(), coerce=_raises, family="number"),
            fieldtypes.FieldType("stringly", column=lambda f: sa.Integer(), coerce=lambda f, v, tz: str(v))]


def test_a_plugin_types_failures_are_answered_not_500(client: TestClient, admin: dict) -> None:
    pm = new_manager(entry_points=False)
    plugin = types.ModuleType("careless_plugin")
    plugin.mom_field_types = _careless_types   # type: ignore[attr-defined]
    pm.register(plugin)
    form = {"format": "mom.form/1", "name": "gauge", "fields": [
        {"id": "a", "key": "n", "type": "careless"}, {"id": "b", "key": "s", "type": "stringly"}]}
    with fieldtypes.using(fieldtypes.types_of(pm)):
        assert client.put("/api/forms/gauge", json=form, headers=admin).status_code == 200
        assert client.post("/api/records/gauge", json={"n": "12"}, headers=admin).status_code == 201
        r = client.post("/api/records/gauge", json={"n": "abc", "s": "x"}, headers=admin)
        assert r.status_code == 422, r.text
        got = {p["path"]: p["message"]["en"] for p in r.json()["problems"]}
        assert "field n of type careless (from a plug-in) failed to convert the input: ValueError" in got["/n"]
        assert "field s of type stringly (from a plug-in) converted the input to a str" in got["/s"]


def test_a_stored_number_bound_that_is_no_number_does_not_break_records(client: TestClient, admin: dict,
                                                                       engine: sa.engine.Engine) -> None:
    """Published before min/max were checked one by one: the bad bound is no bound (no 500)."""
    from mom.platform.db import tables as T

    form = {"format": "mom.form/1", "name": "lot", "fields": [{"id": "a", "key": "qty", "type": "integer", "min": 1}]}
    assert client.put("/api/forms/lot", json=form, headers=admin).status_code == 200
    with engine.begin() as conn:
        conn.execute(T.form_version.update().where(T.form_version.c.form_name == "lot")
                     .values(definition={**form, "fields": [{**form["fields"][0], "min": "x"}]}))
    assert client.post("/api/records/lot", json={"qty": 0}, headers=admin).status_code == 201
