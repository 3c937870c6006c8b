"""Number field types: ``integer`` (64-bit) and ``decimal`` (exact, with precision and scale)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import FieldError, FieldType, plain_dump
from mom.engines.forms.model import FieldSpec
from mom.platform.db.types import ExactDecimal
from mom.platform.errors import ProblemList


def decimal_shape(f: FieldSpec) -> tuple[int, int]:
    """(precision, scale) of a decimal field (18, 4 unless given)."""
    return int(f.raw.get("precision", 18)), int(f.raw.get("scale", 4))


def coerce_integer(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int:
    """A whole number within 64 bits; text may carry thousands separators; true/false is refused."""
    if isinstance(v, bool):
        raise FieldError("应为整数，而不是真/假", "expected an integer, not true/false")
    if isinstance(v, int):
        out = v
    else:
        try:
            d = Decimal(str(v).strip().replace(",", ""))
        except InvalidOperation:
            raise FieldError(f"{v!r} 不是整数", f"{v!r} is not an integer") from None
        if not d.is_finite():
            raise FieldError(f"{v!r} 不是整数", f"{v!r} is not an integer")
        if d.adjusted() > 19:
            raise FieldError("整数超出范围", "integer out of range")
        if d != d.to_integral_value():
            raise FieldError(f"{v!r} 不是整数（有小数）", f"{v!r} is not a whole number")
        out = int(d)
    if not -(2**63) <= out < 2**63:
        raise FieldError("整数超出范围", "integer out of range")
    return out


def coerce_decimal(f: FieldSpec, v: Any, tz: dt.tzinfo) -> Decimal:
    """A finite number rounded half-up to the field's scale, refused when it has too many whole digits."""
    if isinstance(v, bool):
        raise FieldError("应为数字，而不是真/假", "expected a number, not true/false")
    try:
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v).strip().replace(",", ""))
    except InvalidOperation:
        raise FieldError(f"{v!r} 不是数字", f"{v!r} is not a number") from None
    if not d.is_finite():
        raise FieldError("数字必须是有限值", "the number must be finite")
    p, s = decimal_shape(f)
    if d.adjusted() + 1 <= p - s:   # (a huge number would overflow quantize's precision)
        d = d.quantize(Decimal(1).scaleb(-s), rounding=ROUND_HALF_UP)
    if d.adjusted() + 1 > p - s:
        raise FieldError(f"数字过大：整数部分最多 {p - s} 位", f"number too large: at most {p - s} digits before the point")
    return d


def _fast_integer(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: v if type(v) is int and -(2**63) <= v < 2**63 else general(v)


def _fast_decimal(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    p, s_ = decimal_shape(f)
    quantum, whole = Decimal(1).scaleb(-s_), p - s_

    def decimal(v: Any) -> Any:
        if type(v) is str:
            try:
                d = Decimal(v).quantize(quantum, rounding=ROUND_HALF_UP)
            except InvalidOperation:
                return general(v)   # commas, blanks, text: the full path decides (and says why)
            if d.is_finite() and d.adjusted() + 1 <= whole:
                return d
        return general(v)
    return decimal


def _dump_integer(f: FieldSpec, value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else plain_dump(value)


def _signature(f: FieldSpec) -> str:
    p, s = decimal_shape(f)
    return f"decimal({p},{s})"


def _check_shape(f: Any, path: str, problems: ProblemList, **_: Any) -> None:
    if isinstance(f.get("precision"), int) and isinstance(f.get("scale"), int) and f["scale"] > f["precision"]:
        problems.add(f"{path}/scale", "小数位数不能大于总位数", "scale cannot exceed precision", "range")


INTEGER = FieldType("integer", column=lambda f: sa.BigInteger(), coerce=coerce_integer, specialise=_fast_integer,
                    dump=_dump_integer, family="number")
DECIMAL = FieldType("decimal", column=lambda f: ExactDecimal(*decimal_shape(f)), coerce=coerce_decimal,
                    signature=_signature, specialise=_fast_decimal, family="number", check_definition=_check_shape)
