"""The short paths that imports and the API take (issue 2's import and create benchmarks) must give
exactly what the general code gives: the same value or the same refusal for every input, and no
value passed as valid that the full check would refuse."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from mom.engines.forms import fieldtypes
from mom.engines.forms.definition import validate_form
from mom.engines.records import values as V
from mom.platform.errors import ProblemList

FORM = validate_form({"format": "mom.form/1", "name": "fast", "fields": [
    {"id": "a", "key": "lot_no", "type": "text", "max_length": 8, "min_length": 2, "required": True},
    {"id": "b", "key": "qty", "type": "decimal", "precision": 6, "scale": 2, "min": 0, "max": 5000},
    {"id": "c", "key": "n", "type": "integer", "min": -3, "max": 10, "required": True},
    {"id": "d", "key": "result", "type": "select", "options": [{"value": "pass", "label": {"zh-CN": "合格", "en": "Pass"}}, "fail"]},
    {"id": "e", "key": "passed", "type": "boolean", "required": True},
    {"id": "f", "key": "made_on", "type": "date"},
    {"id": "g", "key": "at", "type": "datetime"},
    {"id": "h", "key": "note", "type": "long_text"},
    {"id": "i", "key": "code", "type": "barcode"},
    {"id": "j", "key": "tagged", "type": "text", "regex": "^[A-Z]+$"}]})

# what people type into spreadsheet cells and API bodies
CELL = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**64, max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "0", "1", "1,234.5", " 12.5 ", "1e3", "NaN", "Infinity", "-0", "是", "否", "TRUE", " yes ",
                     "pass", "合格", "Pass", "fail ", "2026-11-21", "2026-1-2", "2026/11/21", "2026年11月21日",
                     "2026-02-30", "20261121", "2026-11-21 08:30", "2026-11-21T08:30:00Z", "1_000", "12345.678",
                     "9999.995", "abc", "ABC", "ab", "abcdefghij", "１２"]),
    st.text(max_size=12))


def outcome(fn, v):
    try:
        return ("ok", fn(v))
    except fieldtypes.FieldError as exc:
        return ("error", exc.en)


@settings(max_examples=400, deadline=None)
@given(v=CELL, tz=st.sampled_from([dt.timezone.utc, ZoneInfo("Asia/Shanghai")]))
def test_specialised_coercer_agrees_with_coerce(v, tz) -> None:
    for f in FORM.fields:
        fast = outcome(fieldtypes.coercer(f, tz), v)
        slow = outcome(lambda x: fieldtypes.coerce(f, x, tz=tz), v)
        assert fast == slow, (f.key, v)
        if fast[0] == "ok" and fast[1] is not None:
            assert type(fast[1]) is type(slow[1]), (f.key, v)


@settings(max_examples=400, deadline=None)
@given(v=CELL)
def test_quick_validity_never_passes_what_the_full_check_refuses(v) -> None:
    for f in FORM.fields:
        try:
            value = fieldtypes.coerce(f, v)   # the checks only ever see coerced values
        except fieldtypes.FieldError:
            continue
        if V._plainly_valid(f)(value):
            problems = ProblemList()
            V._check_value(f, value, f"/{f.key}", problems)
            assert not problems.items, (f.key, value, problems.items)


def test_full_check_words_the_problems_the_quick_test_sends_it() -> None:
    problems = ProblemList()
    for f, value in ((FORM.field("lot_no"), "x"), (FORM.field("qty"), Decimal("5000.01")), (FORM.field("n"), None),
                     (FORM.field("tagged"), "abc")):
        assert not V._plainly_valid(f)(value)
        V._check_value(f, value, f"/{f.key}", problems)
    assert [p.code for p in problems.items] == ["min_length", "max", "required", "regex"]


def test_out_of_range_numbers_are_refused_not_crashed() -> None:
    """Regression: 1e26 in a decimal field and "Infinity" in an integer field raised Python errors
    (a 500) instead of a field message."""
    qty, n = FORM.field("qty"), FORM.field("n")
    for f, v in ((qty, 1e26), (qty, "1e26"), (n, "Infinity"), (n, "1e400"), (n, "sNaN")):
        for fn in (fieldtypes.coercer(f), lambda x, f=f: fieldtypes.coerce(f, x)):
            kind, _ = outcome(fn, v)
            assert kind == "error", (f.key, v)
