"""Unique values: the check before a write, the database's answer when the check was beaten (a
concurrent write, a unique index over several fields), and how both are told to the user.

A value already in use is a conflict (409 ``conflict``, docs/errors.md), not bad input. The message
names the field and the writer's own value (unless the field is hidden from the writer), and names
the other record only when the writer may read it: a unique value in another department answers
"编码 已被占用" without saying whose it is.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import MAIN, FieldSpec
from mom.engines.records.access import FormAccess
from mom.platform.errors import Conflict, InvalidInput, Problem, ProblemList

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w., ]+)")


def _value(f: FieldSpec, v: Any, access: FormAccess) -> str:
    return f"“{v}”" if access.visible(f.key) else ""


def _other(found: tuple[Any, Any] | None) -> tuple[str, str]:
    """Whose the value is, as the writer knows that record: its code and display text (never an internal id);
    nothing when the writer may not read it or it shows neither."""
    if found is None:
        return "", ""
    shown = " ".join(dict.fromkeys(str(x) for x in found if x not in (None, "")))
    return (f"（已被 {shown} 使用）", f" (by {shown})") if shown else ("", "")


def _code_key(compiled: CompiledForm, access: FormAccess, text_key: str | None) -> str | None:
    """Another unique field the reader sees (a record's code) to name the other record by beside its display text."""
    for f in compiled.definition.scalar_fields:
        if f.unique and f.key != text_key and f.key in compiled.main.c and access.visible(f.key):
            return f.key
    return None


_FREE = "mom_records_unique_free"


def vouch_free(conn: Connection, form: str, key: str, values: list[Any]) -> None:
    """Values of the unique field ``key`` of ``form`` that the caller has just read no live record
    holding, in this transaction (a job report's ``client_id``, read with its order's tasks): the
    next :func:`check` of them does not read them again (once; the unique index still refuses a
    value taken meanwhile, told by :func:`conflict`)."""
    tx = conn.get_transaction()
    memo = conn.info.get(_FREE)
    if memo is None or memo[0] is not tx:
        memo = conn.info[_FREE] = (tx, set())
    memo[1].update((form, key, v) for v in values)


def _vouched_free(conn: Connection, form: str, key: str, vals: list[Any]) -> list[Any]:
    """``vals`` less those vouched free (each vouch used once)."""
    memo = conn.info.get(_FREE)
    if memo is None or memo[0] is not conn.get_transaction() or not memo[1]:
        return vals
    free = {v for v in vals if (form, key, v) in memo[1]}
    memo[1].difference_update((form, key, v) for v in free)
    return [v for v in vals if v not in free]


def check(conn: Connection, compiled: CompiledForm, access: FormAccess,
          batch: list[tuple[Mapping[str, Any], ProblemList, str]], exclude_id: int | None = None) -> None:
    """Add a ``unique`` problem for each value of a unique field (or user-given auto-number) that
    another live record holds or that repeats within ``batch`` ((values, problems, path prefix))."""
    defn = compiled.definition
    fields = compiled.memo.get("unique_fields")
    if fields is None:   # once per published version: most forms have none, and then there is nothing to do
        fields = compiled.memo["unique_fields"] = [f for f in defn.scalar_fields if f.unique or fieldtypes.is_generated(f)]
    if not fields:
        return
    t = compiled.main
    readable = access.scope("read") if access.can("read") else sa.false()
    text_key = defn.display_field if access.can("read") and access.visible(defn.display_field) and defn.display_field in t.c else None
    code_key = _code_key(compiled, access, text_key) if access.can("read") else None
    for f in fields:
        seen: dict[Any, str] = {}
        vals = []
        for values, problems, prefix in batch:
            v = values.get(f.key)
            if v in (None, ""):
                continue
            if v in seen:
                where = "" if seen[v] == "/" else f"（{seen[v]}）"
                where_en = "" if seen[v] == "/" else f" ({seen[v]})"
                problems.add(f"{prefix}/{f.key}", f"{f.label['zh-CN']}{_value(f, v, access)} 与本批中的另一条记录重复{where}",
                             f"{f.label['en']}{' ' + _value(f, v, access) if access.visible(f.key) else ''} repeats another record of this batch{where_en}",
                             "unique")
            seen[v] = prefix or "/"
            vals.append(v)
        vals = _vouched_free(conn, compiled.name, f.key, vals)
        if not vals:
            continue
        taken: dict[Any, tuple[Any, Any] | None] = {}
        # built once per form version when the reader's row scope adds no values of their own
        key = ("unique_check", f.key, text_key, code_key, exclude_id is not None) if readable is None else None
        q = compiled.memo.get(key) if key is not None else None
        if q is None:
            may_read = sa.true() if readable is None else readable
            cols = [t.c[f.key], t.c.id, sa.case((may_read, 1), else_=0), t.c[code_key] if code_key else sa.null(),
                    t.c[text_key] if text_key else sa.null()]
            q = sa.select(*cols).where(t.c[f.key].in_(sa.bindparam("vals", expanding=True)), t.c.deleted_at.is_(None))
            if exclude_id is not None:
                q = q.where(t.c.id != sa.bindparam("exclude_id", type_=t.c.id.type))
            if key is not None:
                compiled.memo[key] = q
        for i in range(0, len(vals), 900):
            params: dict[str, Any] = {"vals": vals[i:i + 900]}
            if exclude_id is not None:
                params["exclude_id"] = exclude_id
            for v, rid, ok, code, text in conn.execute(q, params):
                taken[v] = (code, text) if ok else None
        for values, problems, prefix in batch:
            v = values.get(f.key)
            if v in (None, "") or v not in taken:
                continue
            zh, en = _other(taken[v])
            shown = _value(f, v, access)
            problems.add(f"{prefix}/{f.key}", f"{f.label['zh-CN']}{shown} 已被占用{zh}；请换一个",
                         f"{f.label['en']}{' ' + shown if shown else ''} is already in use{en}; choose another", "unique")


def raise_problems(problems: list[Problem]) -> None:
    """Nothing saved: 409 ``conflict`` when every problem is a value in use, else 422 with all of them."""
    if not problems:
        return
    n = len(problems)
    if all(p.code == "unique" for p in problems):
        zh, en = (problems[0].zh, problems[0].en) if n == 1 else (f"{n} 个值已被占用，未保存", f"{n} values already in use; nothing was saved")
        raise Conflict(zh, en, problems=problems)
    raise InvalidInput(f"记录有 {n} 处错误，未保存", f"{n} problem(s); nothing was saved", problems=problems)


def conflict(exc: sa.exc.IntegrityError, compiled: CompiledForm) -> Conflict:
    """The database refused a write (a unique index): name the fields, never the stored values (the
    database's own text may quote another record's values, so it is not passed on)."""
    text = str(exc.orig)
    defn = compiled.definition
    fields: list[FieldSpec] = []
    for ix in compiled.indexes:
        if ix.unique and ix.table == MAIN and ix.name in text:
            by_id = {f.id: f for f in defn.scalar_fields}
            fields = [by_id[i] for i in ix.field_ids if i in by_id]
    m = _SQLITE_UNIQUE.search(text)
    if not fields and m:
        names = [c.strip().rsplit(".", 1)[-1] for c in m.group(1).split(",")]
        fields = [f for f in (defn.field(n) for n in names) if f is not None and not f.is_table]
    if not fields:
        first = text.splitlines()[0] if text else type(exc.orig).__name__
        return Conflict(f"数据完整性冲突：{first}；请检查后重试", f"integrity error: {first}; check the values and retry")
    zh_names = "、".join(f.label["zh-CN"] for f in fields)
    en_names = ", ".join(f.label["en"] for f in fields)
    if len(fields) == 1:
        zh, en = f"{zh_names} 已被占用；请换一个", f"{en_names} is already in use; choose another"
    else:
        zh, en = f"{zh_names} 的这一组合已被占用；请换一个", f"this combination of {en_names} is already in use; choose another"
    return Conflict(zh, en, problems=[Problem(f"/{f.key}", zh, en, "unique") for f in fields])
