"""Form definitions: every problem reported at once, each with a JSON pointer."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mom.engines.forms.definition import validate_form
from mom.platform.errors import InvalidInput

SKETCH = json.loads((Path(__file__).resolve().parents[2] / "modelpacks/demo/forms/iqc_inspection.json").read_text())
KNOWN = {"supplier": {"fields": [{"key": "name"}, {"key": "code"}]}, "item": {"fields": [{"key": "code"}]}}


def problems(raw: object, known: dict | None = KNOWN) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        validate_form(raw, known_forms=known)
    return {p.path: p.en for p in exc.value.problems}


def test_sketch_is_valid_and_formulas_are_ordered() -> None:
    d = validate_form(SKETCH, known_forms=KNOWN)
    assert d.name == "iqc_inspection"
    assert d.field("sample_size").read_only
    assert d.formula_order == ("sample_size",)
    assert d.references == {"supplier", "item"}


def test_all_problems_are_reported_at_once_with_pointers() -> None:
    raw = copy.deepcopy(SKETCH)
    raw["fields"][2]["key"] = "Lot No"              # bad key pattern
    raw["fields"][3]["requird"] = True              # typo'd property
    raw["fields"][4]["id"] = raw["fields"][0]["id"] # duplicate id
    raw["fields"][6]["type"] = "colour"             # unknown type
    got = problems(raw)
    assert "/fields/2/key" in got
    assert "/fields/3/requird" in got and "did you mean" in got["/fields/3/requird"]
    assert "/fields/4/id" in got
    assert "/fields/6/type" in got


def test_sql_looking_and_reserved_keys_are_refused() -> None:
    raw = copy.deepcopy(SKETCH)
    raw["fields"][2]["key"] = "lot; drop table x"
    raw["fields"][3]["key"] = "select"
    raw["fields"][9]["key"] = "created_at"
    got = problems(raw)
    assert {"/fields/2/key", "/fields/3/key", "/fields/9/key"} <= set(got)
    assert "reserved" in got["/fields/3/key"]


def test_formula_cycle_is_refused_at_validation() -> None:
    raw = {"format": "mom.form/1", "name": "loop", "fields": [
        {"id": "a", "key": "a", "type": "formula", "formula": "b + 1"},
        {"id": "b", "key": "b", "type": "formula", "formula": "a * 2"}]}
    got = problems(raw, None)
    assert any("cycle" in m for m in got.values())


def test_unknown_names_functions_and_sandbox_escapes_are_refused() -> None:
    raw = {"format": "mom.form/1", "name": "f", "fields": [
        {"id": "a", "key": "qty", "type": "integer"},
        {"id": "b", "key": "x", "type": "formula", "formula": "qtty + 1"},
        {"id": "c", "key": "y", "type": "formula", "formula": "open('/etc/passwd')"},
        {"id": "d", "key": "z", "type": "formula", "formula": "qty.__class__"}]}
    got = problems(raw, None)
    assert 'did you mean "qty"' in got["/fields/1/formula"]
    assert "unknown function" in got["/fields/2/formula"]
    assert "not allowed" in got["/fields/3/formula"]


def test_reference_to_unknown_form_and_field_checks() -> None:
    raw = copy.deepcopy(SKETCH)
    raw["fields"][1]["form"] = "suplier"
    raw["indexes"] = [["supplier", "lot"]]
    raw["display_field"] = "nope"
    raw["fields"][0]["pattern"] = "IQC-{yyyy}"
    got = problems(raw)
    assert 'did you mean "supplier"' in got["/fields/1/form"]
    assert "/indexes/0/1" in got and "/display_field" in got
    assert "seq" in got["/fields/0/pattern"]


def test_not_an_object_and_missing_parts() -> None:
    with pytest.raises(InvalidInput):
        validate_form([1, 2])
    got = problems({"format": "mom.form/1", "name": "x"}, None)
    assert "" in got or "/" in got or any("fields" in m for m in got.values())


def _one_field(**fld: object) -> dict:
    return {"format": "mom.form/1", "name": "bounds", "fields": [{"id": "a", "key": "x", **fld}]}


@pytest.mark.parametrize("fld, path", [
    ({"type": "integer", "min": "x"}, "/fields/0/min"),          # each bound alone is checked
    ({"type": "decimal", "max": "abc"}, "/fields/0/max"),
    ({"type": "integer", "min": "NaN"}, "/fields/0/min"),
    ({"type": "formula", "formula": "1", "max": "many"}, "/fields/0/max"),
    ({"type": "integer", "min": 5, "max": 1}, "/fields/0/min"),    # min > max
    ({"type": "decimal", "precision": 5.0}, "/fields/0/precision"),  # whole numbers, not 5.0
    ({"type": "decimal", "precision": 12, "scale": 2.0}, "/fields/0/scale"),
])
def test_number_bounds_are_numbers_and_shape_is_whole(fld: dict, path: str) -> None:
    assert path in problems(_one_field(**fld))


def test_number_bounds_that_are_numbers_are_accepted() -> None:
    d = validate_form(_one_field(type="decimal", min="-1.5", max=10, precision=12, scale=2))
    assert d.field("x").raw["min"] == "-1.5"


def test_a_stored_definition_with_one_bad_bound_still_loads() -> None:
    from mom.engines.expressions.strictness import stored_definitions

    with stored_definitions():   # published under older rules: records stay reachable; the bound is no bound
        assert validate_form(_one_field(type="integer", min="x")).field("x").raw["min"] == "x"


def test_schema_violations_are_worded_in_chinese_too() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_form(_one_field(type="teleport"))
    p = next(p for p in exc.value.problems if p.path == "/fields/0/type")
    assert "只能是以下之一" in p.zh and "is not one of" not in p.zh and "is not one of" in p.en
    with pytest.raises(InvalidInput) as exc:
        validate_form(_one_field(type="text", max_length="x"))
    p = next(p for p in exc.value.problems if p.path == "/fields/0/max_length")
    assert "应为整数" in p.zh and "not of type" not in p.zh
