"""Choice field types: ``boolean``, ``select`` (one of the options) and ``multi_select`` (a list of them)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import FieldError, FieldType
from mom.engines.forms.model import FieldSpec
from mom.platform.errors import ProblemList

TRUE = {"1", "true", "yes", "y", "t", "是", "对", "真", "✓", "√", "on"}
FALSE = {"0", "false", "no", "n", "f", "否", "错", "假", "✗", "×", "off", ""}


def coerce_boolean(f: FieldSpec, v: Any, tz: dt.tzinfo) -> bool:
    """true/false, 1/0 and the usual words in Chinese and English."""
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


def coerce_select(f: FieldSpec, v: Any, tz: dt.tzinfo) -> str:
    """An option's value, or the option whose label (in either language) is given."""
    s = str(v).strip()
    if s in f.options:
        return s
    for value, label in f.option_labels.items():
        if s in label.values():
            return value
    raise FieldError(f"{s!r} 不是可选项：{', '.join(f.options)}", f"{s!r} is not one of: {', '.join(f.options)}")


def coerce_multi(f: FieldSpec, v: Any, tz: dt.tzinfo) -> list[str]:
    """A list of options (or one text separated by , ; 、 |), each once."""
    items = v if isinstance(v, list) else re.split(r"[,;，；、|]", str(v))
    out = []
    for item in items:
        if str(item).strip():
            value = coerce_select(f, item, tz)
            if value not in out:
                out.append(value)
    return out


def _fast_boolean(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
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


def _fast_select(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    opts = frozenset(f.options)
    return lambda v: v if type(v) is str and v in opts else general(v)


def _needs_options(f: Any, path: str, problems: ProblemList, **_: Any) -> None:
    if not f.get("options"):
        problems.add(f"{path}/options", "选择字段需要至少一个选项", "a select field needs at least one option", "required")


def _boolean_json(col: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return col
    return sa.case((col.is_(None), None), (col != 0, sa.func.json("true")), else_=sa.func.json("false"))


def json_list_sql(col: Any, dialect: str) -> Any:
    """A JSON column inside a document built in SQL (SQLite keeps it as text unless told)."""
    return col if dialect == "postgresql" else sa.func.json(col)


BOOLEAN = FieldType("boolean", column=lambda f: sa.Boolean(), coerce=coerce_boolean, specialise=_fast_boolean,
                    family="choice", json_sql=_boolean_json)
SELECT = FieldType("select", column=lambda f: sa.String(64), coerce=coerce_select, signature=lambda f: "text(64)",
                   specialise=_fast_select, family="choice", stored_as_text=True, check_definition=_needs_options)
MULTI_SELECT = FieldType("multi_select", column=lambda f: sa.JSON(), coerce=coerce_multi, family="list",
                         json_list=True, json_sql=json_list_sql, check_definition=_needs_options)
