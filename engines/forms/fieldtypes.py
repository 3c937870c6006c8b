"""Field types: their column type, a type signature (what decides a physical change) and the
coercion of input values (JSON bodies, CSV/XLSX cells) to Python values.

Coercion raises :class:`FieldError` with a bilingual message; callers add the field/row.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mom.engines.forms.model import FieldSpec
from mom.platform.db.types import ExactDecimal, UTCDateTime

TRUE = {"1", "true", "yes", "y", "t", "是", "对", "真", "✓", "√", "on"}
FALSE = {"0", "false", "no", "n", "f", "否", "错", "假", "✗", "×", "off", ""}
ID_TYPES = ("reference", "user", "department")


class FieldError(Exception):
    def __init__(self, zh: str, en: str) -> None:
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


class LookupNeeded:
    """A reference given by its display text; resolved to an id in one batch by the record service."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"LookupNeeded({self.text!r})"


def decimal_shape(f: FieldSpec) -> tuple[int, int]:
    return int(f.raw.get("precision", 18)), int(f.raw.get("scale", 4))


def column_type(f: FieldSpec) -> sa.types.TypeEngine[Any]:
    t = f.value_type
    if t == "text":
        return sa.String(int(f.raw.get("max_length", 255)))
    if t in ("long_text",):
        return sa.Text()
    if t == "integer":
        return sa.BigInteger()
    if t == "decimal":
        return ExactDecimal(*decimal_shape(f))
    if t == "boolean":
        return sa.Boolean()
    if t == "date":
        return sa.Date()
    if t == "datetime":
        return UTCDateTime()
    if t == "select":
        return sa.String(64)
    if t in ("multi_select", "attachment"):
        return sa.JSON()
    if t in ID_TYPES:
        return sa.BigInteger() if t == "reference" else sa.Integer()
    if t == "autonumber":
        return sa.String(64)
    if t == "barcode":
        return sa.String(int(f.raw.get("max_length", 512)))
    raise ValueError(f"no column type for {t}")


def type_sig(f: FieldSpec) -> str:
    """Physical signature: two fields with the same signature need no data conversion."""
    t = f.value_type
    if t == "text":
        return f"text({int(f.raw.get('max_length', 255))})"
    if t == "decimal":
        p, s = decimal_shape(f)
        return f"decimal({p},{s})"
    if t == "barcode":
        return f"text({int(f.raw.get('max_length', 512))})"
    if t == "autonumber" or t == "select":
        return "text(64)"
    if t == "reference":
        return f"reference({f.raw.get('form')})"
    return t


def plant_tz(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - unknown zone names fall back to UTC
        return dt.timezone.utc


def coerce(f: FieldSpec, value: Any, *, tz: dt.tzinfo = dt.timezone.utc) -> Any:
    """Input value -> Python value for ``f`` (None stays None; '' counts as empty)."""
    if value is None or (isinstance(value, str) and value.strip() == "" and f.value_type not in ("text", "long_text")):
        return None
    t = f.value_type
    fn = _COERCE.get(t)
    if fn is None:
        raise FieldError(f"类型 {t} 不能直接赋值", f"type {t} cannot be set directly")
    return fn(f, value, tz)


def coercer(f: FieldSpec, tz: dt.tzinfo = dt.timezone.utc) -> Callable[[Any], Any]:
    """``coerce`` specialised for one field and time zone: the same results and the same errors, with
    a short path for the values imports and APIs mostly send (plain strings, ints). Memoised on the field."""
    key = ("coerce", tz)
    fn = f.memo.get(key)
    if fn is None:
        fn = f.memo[key] = _specialise(f, tz)
    return fn


def _specialise(f: FieldSpec, tz: dt.tzinfo) -> Callable[[Any], Any]:
    t = f.value_type

    def general(v: Any) -> Any:
        return coerce(f, v, tz=tz)

    if t in ("text", "long_text"):
        return lambda v: v if type(v) is str else general(v)
    if t in ("barcode", "autonumber"):
        return lambda v: v if type(v) is str and v and not v.isspace() else general(v)
    if t == "select":
        opts = frozenset(f.options)
        return lambda v: v if type(v) is str and v in opts else general(v)
    if t == "integer":
        return lambda v: v if type(v) is int and -(2**63) <= v < 2**63 else general(v)
    if t == "boolean":
        def boolean(v: Any) -> Any:
            if type(v) is bool:
                return v
            if type(v) is str:
                s = v.strip().lower()
                if s in TRUE:
                    return True
                if s and s in FALSE:
                    return False
            return general(v)
        return boolean
    if t == "date":
        def date(v: Any) -> Any:
            if type(v) is str and len(v) == 10 and v[4] == "-" and v[7] == "-":
                try:
                    return dt.date.fromisoformat(v)
                except ValueError:
                    pass
            return general(v)
        return date
    if t == "decimal":
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
    return general


def _text(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    if isinstance(v, (dict, list)):
        raise FieldError("应为文本", "expected text")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v)
    return s


def _integer(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int:
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


def _decimal(f: FieldSpec, v: Any, tz: dt.tzinfo) -> Decimal:
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


def _boolean(f: FieldSpec, v: Any, tz: dt.tzinfo) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    s = str(v).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise FieldError(f"{v!r} 不是是/否值（可用 是/否、true/false、1/0）", f"{v!r} is not a yes/no value (use true/false, 1/0)")


def _date(f: FieldSpec, v: Any, tz: dt.tzinfo) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip().replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s)
    if m:
        s = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise FieldError(f"{v!r} 不是日期（格式 2026-11-21）", f"{v!r} is not a date (use 2026-11-21)")


def _datetime(f: FieldSpec, v: Any, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, dt.date):
        d = dt.datetime(v.year, v.month, v.day)
    else:
        s = str(v).strip().replace("/", "-")
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        try:
            d = dt.datetime.fromisoformat(s)
        except ValueError:
            raise FieldError(f"{v!r} 不是日期时间（格式 2026-11-21 08:30 或 ISO 8601）",
                             f"{v!r} is not a datetime (use 2026-11-21 08:30 or ISO 8601)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    try:
        return d.astimezone(dt.timezone.utc)
    except OverflowError:   # 0001-01-01 00:00 east of UTC is before year 1
        raise FieldError(f"{v!r} 超出可用的日期范围", f"{v!r} is outside the dates that can be stored") from None


def _select(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    s = str(v).strip()
    if s in f.options:
        return s
    for value, label in f.option_labels.items():
        if s in label.values():
            return value
    raise FieldError(f"{s!r} 不是可选项：{', '.join(f.options)}", f"{s!r} is not one of: {', '.join(f.options)}")


def _multi(f: FieldSpec, v: Any, tz: dt.tzinfo) -> list[str]:
    items = v if isinstance(v, list) else re.split(r"[,;，；、|]", str(v))
    out = []
    for item in items:
        if str(item).strip():
            value = _select(f, item, tz)
            if value not in out:
                out.append(value)
    return out


def _id(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int | LookupNeeded:
    if isinstance(v, bool):
        raise FieldError("应为编号", "expected an id")
    if isinstance(v, Mapping) and "id" in v:
        v = v["id"]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        # the id column's range (references: 64-bit; users and departments: 32-bit), not a database overflow
        largest = 2**63 - 1 if f.value_type == "reference" else 2**31 - 1
        if not -largest <= v <= largest:
            raise FieldError(f"编号 {v} 超出范围", f"the id {v} is out of range")
        return v
    return LookupNeeded(str(v).strip())


_FILE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _attachments(f: FieldSpec, v: Any, tz: dt.tzinfo) -> list[str | int]:
    """Public file ids (the ``id`` the upload returned); several may be given as one text separated by
    commas. An integer is kept as it is and later answered "not found" (integer ids are internal)."""
    items = v if isinstance(v, list) else [x for x in re.split(r"[,\s]+", v) if x] if isinstance(v, str) else [v]
    out: list[str | int] = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        elif isinstance(item, str) and _FILE_ID.fullmatch(item.strip()):
            out.append(item.strip())
        else:
            shown = repr(item)[:80]
            raise FieldError(f"附件应为上传文件时返回的 id（先上传到 /api/attachments）：{shown}",
                             f"attachments are the ids the upload returned (upload to /api/attachments first): {shown}")
    if len(out) > int(f.raw.get("max_files", 10)):
        raise FieldError(f"附件最多 {f.raw.get('max_files', 10)} 个", f"at most {f.raw.get('max_files', 10)} files")
    return out


_COERCE = {"text": _text, "long_text": _text, "barcode": _text, "autonumber": _text, "integer": _integer,
           "decimal": _decimal, "boolean": _boolean, "date": _date, "datetime": _datetime, "select": _select,
           "multi_select": _multi, "reference": _id, "user": _id, "department": _id, "attachment": _attachments}


def dump(f: FieldSpec, value: Any) -> Any:
    """Python value -> JSON value (decimals as numbers, dates as ISO strings)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if f.value_type == "integer" else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
