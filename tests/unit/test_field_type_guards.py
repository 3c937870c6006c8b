"""A plug-in's field type that misbehaves (its code raising, coercing to a value its column cannot
hold, a badly formed key) gives a bilingual message naming the field and the type, never a crash;
the core's built-ins are not wrapped (their fast path stays as it is)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import compile_form
from mom.engines.forms.definition import validate_form
from mom.engines.forms.model import FieldSpec
from mom.engines.forms.types import number
from mom.platform.errors import InvalidInput


def _int(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int:
    return int(v)              # a plug-in author's natural slip: ValueError on "abc"


def _as_text(f: FieldSpec, v: Any, tz: dt.tzinfo) -> Any:
    return str(v)


def _boom(*_: Any) -> Any:
    raise RuntimeError("boom")


TYPES = fieldtypes.FieldTypes([
    ("p", fieldtypes.FieldType("count_ve", column=lambda f: sa.Integer(), coerce=_int, family="number")),
    ("p", fieldtypes.FieldType("count_str", column=lambda f: sa.Integer(), coerce=_as_text)),
    ("p", fieldtypes.FieldType("obj", column=lambda f: sa.String(20), coerce=lambda f, v, tz: object())),
    ("p", fieldtypes.FieldType("pct", column=lambda f: sa.Numeric(5, 2), coerce=lambda f, v, tz: Decimal(str(v)),
                               family="number")),
    ("p", fieldtypes.FieldType("dump_boom", column=lambda f: sa.String(20), coerce=lambda f, v, tz: {"v": v},
                               dump=_boom)),
    ("p", fieldtypes.FieldType("col_boom", column=_boom, coerce=_as_text)),
    ("p", fieldtypes.FieldType("fast_boom", column=lambda f: sa.String(9), coerce=_as_text,
                               specialise=lambda f, tz, general: _boom))])


def _field(t: str) -> FieldSpec:
    defn = validate_form({"format": "mom.form/1", "name": "g", "fields": [{"id": "a", "key": "v", "type": t}]})
    return defn.field("v")


def test_plugin_code_raising_becomes_a_field_error_naming_field_and_type() -> None:
    with fieldtypes.using(TYPES):
        with pytest.raises(fieldtypes.FieldError, match="field v of type count_ve .*ValueError") as caught:
            fieldtypes.coerce(_field("count_ve"), "abc")
        assert "字段 v 的类型 count_ve" in caught.value.zh
        with pytest.raises(fieldtypes.FieldError, match="field v of type fast_boom .*RuntimeError: boom"):
            fieldtypes.coercer(_field("fast_boom"))("x")
        with pytest.raises(fieldtypes.FieldError, match="field v of type dump_boom .*dump a value"):
            fieldtypes.dump(_field("dump_boom"), object())
        with pytest.raises(fieldtypes.FieldError, match="field v of type col_boom .*column type"):
            compile_form(_field_form("col_boom"), 1)


def _field_form(t: str) -> Any:
    return validate_form({"format": "mom.form/1", "name": "g", "fields": [{"id": "a", "key": "v", "type": t}]})


def test_a_coercion_that_does_not_fit_the_column_is_refused() -> None:
    with fieldtypes.using(TYPES):
        assert fieldtypes.coerce(_field("count_ve"), "7") == 7
        assert fieldtypes.coerce(_field("pct"), "97.5") == Decimal("97.5")
        with pytest.raises(fieldtypes.FieldError, match="converted the input to a str, but its column holds int"):
            fieldtypes.coerce(_field("count_str"), "abc")
        with pytest.raises(fieldtypes.FieldError, match="converted the input to a object, but its column holds str"):
            fieldtypes.coerce(_field("obj"), "x")


def test_built_in_types_are_not_wrapped() -> None:
    assert fieldtypes.registry().get("integer") is number.INTEGER
    assert fieldtypes.registry().get("decimal") is number.DECIMAL


@pytest.mark.parametrize("key", ["Bad Key!", "1st", "_x", "colour-name", ""])
def test_a_type_key_must_be_lowercase_letters_digits_and_underscores(key: str) -> None:
    with pytest.raises(InvalidInput, match="field type key .* of plug-in p is not valid") as caught:
        fieldtypes.FieldTypes([("p", fieldtypes.FieldType(key, column=lambda f: sa.Text(), coerce=_as_text))])
    assert "字段类型名" in caught.value.zh
