"""Field types whose value is the id of another row: ``reference`` (a record of another form, 64-bit
ids), ``user`` and ``department`` (the platform's directory, 32-bit ids). A text is looked up by the
record service in one batch (:class:`~mom.engines.forms.fieldtypes.LookupNeeded`)."""
from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import FieldError, FieldType, LookupNeeded, type_of
from mom.engines.forms.model import FieldSpec
from mom.platform.errors import ProblemList, did_you_mean

ROW_ID_MAX = 2**63 - 1          # the id column of a form's table
DIRECTORY_ID_MAX = 2**31 - 1    # mom_user.id, mom_department.id


_NOT_ID = ("应为记录的 id（整数）或名称、编码（文字）；请从列表中选择", "expected a record's id (a whole number) or its name or "
           "code (text); pick one from the list")


def coerce_id(f: FieldSpec, v: Any, tz: dt.tzinfo) -> int | LookupNeeded:
    """An id (or ``{"id": …}``) within the id column's range, or a text to look up; anything else (an object,
    a list, a fraction) is refused — never looked up (or made into a record) by its printed form."""
    if isinstance(v, Mapping) and "id" in v:
        v = v["id"]
    if isinstance(v, bool):
        raise FieldError("应为编号", "expected an id")
    if isinstance(v, (float, Decimal)) and math.isfinite(v) and v == int(v):
        v = int(v)      # 12.0 (a spreadsheet's number) is the id 12; 1.5 is no id
    if isinstance(v, numbers.Integral):
        v = int(v)
        # the id column's range (references: 64-bit; users and departments: 32-bit), not a database overflow
        largest = type_of(f).id_max or DIRECTORY_ID_MAX
        if not -largest <= v <= largest:
            raise FieldError(f"编号 {v} 超出范围", f"the id {v} is out of range")
        return v
    if not isinstance(v, str):
        raise FieldError(*_NOT_ID)
    return LookupNeeded(v.strip())


def _reference_key(f: FieldSpec) -> sa.ForeignKey:
    ondelete = "SET NULL" if f.raw.get("on_delete") == "set_null" else "RESTRICT"
    return sa.ForeignKey(f"{f.raw['form']}.id", ondelete=ondelete)


def _check_reference(f: Any, path: str, problems: ProblemList, *, form_name: str,
                     known_forms: Mapping[str, Any] | None, **_: Any) -> None:
    target = f.get("form")
    if not isinstance(target, str):
        problems.add(f"{path}/form", "引用字段需要 form（被引用的表单名）", "a reference needs form (the referenced form)", "required")
    elif known_forms is not None and target != form_name and target not in known_forms:
        problems.add(f"{path}/form", f"被引用的表单 {target} 不存在{did_you_mean(target, set(known_forms))}",
                     f"referenced form {target} does not exist{did_you_mean(target, set(known_forms))}", "unknown_form")
    elif known_forms is not None and isinstance(f.get("display_field"), str) and target in known_forms:
        keys = {g.get("key") for g in known_forms[target].get("fields", []) if isinstance(g, Mapping)}
        if f["display_field"] not in keys:
            problems.add(f"{path}/display_field", f"表单 {target} 没有字段 {f['display_field']}",
                         f"form {target} has no field {f['display_field']}", "unknown_field")


REFERENCE = FieldType("reference", column=lambda f: sa.BigInteger(), coerce=coerce_id,
                      signature=lambda f: f"reference({f.raw.get('form')})", family="id", id_max=ROW_ID_MAX,
                      foreign_key=_reference_key, lookup=True, index_main=True, index_child=True,
                      check_definition=_check_reference)
USER = FieldType("user", column=lambda f: sa.Integer(), coerce=coerce_id, family="id", id_max=DIRECTORY_ID_MAX,
                 foreign_key=lambda f: sa.ForeignKey("mom_user.id"), lookup=True, index_main=True)
DEPARTMENT = FieldType("department", column=lambda f: sa.Integer(), coerce=coerce_id, family="id",
                       id_max=DIRECTORY_ID_MAX, foreign_key=lambda f: sa.ForeignKey("mom_department.id"), lookup=True,
                       index_main=True)
