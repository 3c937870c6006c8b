"""Field types are a registry filled through the ``mom_field_types`` hook: a plug-in adds a type in its
own module (no edit of the forms engine), and the built-ins come through the same hook."""
from __future__ import annotations

import datetime as dt
import re
import types
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import compile_form
from mom.engines.forms.definition import SCHEMA_PATH, form_schema, validate_form
from mom.engines.forms.model import FieldSpec
from mom.engines.forms.types.builtin import BUILTIN
from mom.engines.definitions.jsonschema import load_schema
from mom.platform.errors import Conflict, InvalidInput
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import new_manager

HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def _coerce_colour(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    m = HEX.fullmatch(str(v).strip())
    if m is None:
        raise fieldtypes.FieldError(f"{v!r} 不是颜色（如 #1f6feb）", f"{v!r} is not a colour (e.g. #1f6feb)")
    return "#" + m[1].lower()


COLOUR = fieldtypes.FieldType("colour", column=lambda f: sa.String(7), coerce=_coerce_colour,
                              signature=lambda f: "text(7)", family="text", stored_as_text=True, max_length=7,
                              options_schema={"palette": {"type": "array", "items": {"type": "string"}}})


def _plugin() -> types.ModuleType:
    """A throw-away plug-in module: one ``@hookimpl`` returning the new type."""
    module = types.ModuleType("colour_plugin")

    @hookimpl
    def mom_field_types() -> list[fieldtypes.FieldType]:
        return [COLOUR]

    module.mom_field_types = mom_field_types   # type: ignore[attr-defined]
    return module


FORM = {"format": "mom.form/1", "name": "paint", "fields": [
    {"id": "a", "key": "code", "type": "text"},
    {"id": "b", "key": "shade", "type": "colour", "palette": ["#ffffff"], "required": True}]}


def test_a_plugin_adds_a_field_type_without_touching_the_engine() -> None:
    pm = new_manager(entry_points=False)
    pm.register(_plugin())
    with fieldtypes.using(fieldtypes.types_of(pm)):
        defn = validate_form(FORM)
        compiled = compile_form(defn, 1)
        shade = defn.field("shade")
        assert isinstance(compiled.main.c.shade.type, sa.String) and compiled.main.c.shade.type.length == 7
        assert fieldtypes.type_sig(shade) == "text(7)"
        assert fieldtypes.coerce(shade, " #1F6FEB ") == "#1f6feb"
        assert fieldtypes.coercer(shade)("00ff00") == "#00ff00"
        assert fieldtypes.coerce(shade, "") is None
        with pytest.raises(fieldtypes.FieldError, match="not a colour"):
            fieldtypes.coerce(shade, "blue")
        assert fieldtypes.dump(shade, "#1f6feb") == "#1f6feb"
    with pytest.raises(InvalidInput):    # without the plug-in the type (and its option) is unknown
        validate_form(FORM)


def test_built_in_types_come_through_the_hook_and_keep_the_shipped_schema() -> None:
    keys = [ft.key for ft in fieldtypes.registry().by_key.values()]
    assert keys[:len(BUILTIN)] == [ft.key for ft in BUILTIN]
    shipped = load_schema(SCHEMA_PATH)["$defs"]["field"]["properties"]["type"]["enum"]
    assert form_schema()["$defs"]["field"]["properties"]["type"]["enum"] == shipped
    assert set(shipped) - set(keys) == {"table", "formula"}   # structure, not stored value types


def test_a_type_key_registered_twice_is_a_conflict_naming_both_plugins() -> None:
    with pytest.raises(Conflict, match="registered twice: by first_plugin and by second_plugin") as caught:
        fieldtypes.FieldTypes([("first_plugin", COLOUR), ("second_plugin", COLOUR)])
    assert "first_plugin 和 second_plugin" in caught.value.zh
    pm = new_manager(entry_points=False)   # a plug-in re-using a built-in's key: named by its plug-in name
    dup = types.SimpleNamespace(mom_field_types=hookimpl(lambda: [
        fieldtypes.FieldType("text", column=lambda f: sa.Text(), coerce=lambda f, v, tz: v)]))
    pm.register(dup, name="dup_plugin")
    with pytest.raises(Conflict, match="field type text is registered twice: by dup_plugin and by mom.engines.forms.types.builtin"):
        fieldtypes.types_of(pm)
