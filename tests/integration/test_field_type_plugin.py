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
