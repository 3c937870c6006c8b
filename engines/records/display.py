"""Display text of references, users and departments, computed under the reader's rights.

A reference shows the referenced record's display field only when the reader may read that record
(the TARGET form's read permission and row scope) and may see that field (its field rules). Else it
shows :data:`NO_ACCESS` and no value. The rule is compiled into SQL: the page of records is a
subquery, and each shown reference is one LEFT JOIN of the target table whose join condition carries
the target's row scope, so a list page with its display texts is one statement, whatever its size.

Which field is shown: the reference's own ``display_field``, else the target form's
``display_field``; the first of them the reader may see. If the reader may see neither, the record
is shown as :data:`NO_ACCESS` even when in scope. The same choice decides which text a writer's
display-text look-up may match (:func:`text_column`), so a look-up never probes a hidden field.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec
from mom.engines.records.access import FormAccess, form_access
from mom.engines.records.context import Actor
from mom.platform.db import tables as T

if TYPE_CHECKING:
    from mom.engines.records.lookup import Registry

NO_ACCESS = "无权限查看"
NO_ACCESS_EN = "no access"
NO_ACCESS_TEXTS = frozenset({NO_ACCESS, NO_ACCESS_EN})


def text_column(target: CompiledForm, access: FormAccess, f: FieldSpec) -> str | None:
    """The key of the target form's field that shows a record of ``f`` to this reader, or None when
    the reader may see none of the candidates (the reference's display_field, the form's)."""
    for key in (f.raw.get("display_field"), target.definition.display_field):
        if isinstance(key, str) and key in target.main.c and access.visible(key):
            return key
    return None


@dataclass(frozen=True)
class Shown:
    """How one reference-like field of a page is shown: the joined target (None: nothing readable),
    the extra join condition (the target's row scope), and the text column (None: no field visible)."""

    key: str
    table: Any | None
    scope: Any | None
    text: Any | None

    @property
    def ok_label(self) -> str:
        return f"_dok_{self.key}"

    @property
    def text_label(self) -> str:
        return f"_dtx_{self.key}"


def plan(conn: Connection, registry: "Registry", compiled: CompiledForm, actor: Actor, keys: Iterable[str]) -> list[Shown]:
    """How each reference, user and department field among ``keys`` is shown to ``actor``."""
    out: list[Shown] = []
    for key in keys:
        f = compiled.definition.field(key)
        if f is None or f.is_table or not fieldtypes.is_id(f):
            continue
        out.append(shown_field(conn, registry, f, actor, f"d{len(out)}"))
    return out


def shown_field(conn: Connection, registry: "Registry", f: FieldSpec, actor: Actor, alias_name: str) -> Shown:
    """How one reference, user or department field (of a form or of a child table) is shown to ``actor``."""
    if f.value_type in ("user", "department"):   # the directory: every signed-in user may read it
        table, text = (T.user, "display_name") if f.value_type == "user" else (T.department, "name")
        a, _ = _aliased(table, alias_name, None, text)
        return Shown(f.key, a, None, a.c[text])
    target = registry.get(conn, str(f.raw["form"]))
    tacc = form_access(target, actor)
    if not tacc.can("read") or not actor.reads_form(target.name):   # a token narrowed to other forms
        return Shown(f.key, None, None, None)
    tkey = text_column(target, tacc, f)
    a, scope = _aliased(target.main, alias_name, tacc.scope("read"), tkey)
    return Shown(f.key, a, scope, a.c[tkey] if tkey is not None else None)


#: light aliases without a row scope, by (table, alias name, columns): the same object each time, so
#: statements joining them are kept by identity (:func:`memo_key`); a new form version is a new table
_LIGHT: dict[tuple[Any, ...], Any] = {}


def _aliased(table: sa.Table, name: str, scope: Any, text_key: str | None) -> tuple[Any, Any]:
    """A light alias of ``table`` holding only the columns this join needs (id, the text, the ones the
    row scope reads) and the scope rewritten onto it. (Aliasing the whole table and adapting the scope
    with ClauseAdapter costs milliseconds per request on wide forms; this costs microseconds.)"""
    names = ["id"] if text_key in (None, "id") else ["id", text_key]
    if scope is None:
        key = (table, name, text_key)
        light = _LIGHT.get(key)
        if light is None:
            if len(_LIGHT) > 2048:
                _LIGHT.clear()
            light = _LIGHT[key] = sa.table(table.name, *[sa.column(n, table.c[n].type) for n in names]).alias(name)
        return light, None
    for el in visitors.iterate(scope):
        if isinstance(el, sa.Column) and el.table is table and el.name not in names:
            names.append(el.name)
    light = sa.table(table.name, *[sa.column(n, table.c[n].type) for n in names]).alias(name)
    scope = visitors.replacement_traverse(
        scope, {}, lambda el: light.c[el.name] if isinstance(el, sa.Column) and el.table is table else None)
    return light, scope


def with_display(inner: sa.Select, shown: list[Shown], order: list[tuple[Any, bool]] = ()) -> tuple[sa.Select, Any]:
    """``inner`` (a select of the form's rows, already filtered, ordered and limited) as a subquery
    joined to every shown target; returns the statement and the subquery (whose columns keep the
    rows' names). ``order``: (column of the form's table, descending) to order the outer select by."""
    page = inner.subquery("page")
    cols: list[Any] = [page]
    joined: Any = page
    for s in shown:
        if s.table is None:
            continue
        on = s.table.c.id == page.c[s.key]
        joined = joined.outerjoin(s.table, on if s.scope is None else sa.and_(on, s.scope))
        cols.append(s.table.c.id.label(s.ok_label))
        if s.text is not None:
            cols.append(s.text.label(s.text_label))
    q = sa.select(*cols).select_from(joined)
    if order:
        q = q.order_by(*[(page.c[c.name].desc().nulls_first() if d else page.c[c.name].asc().nulls_last()) for c, d in order])
    return q, page


def take(rows: list[dict[str, Any]], shown: list[Shown]) -> dict[str, dict[int, Any]]:
    """Remove the joined display columns from ``rows`` and return key -> {referenced id: text}."""
    out: dict[str, dict[int, Any]] = {s.key: {} for s in shown}
    for r in rows:
        for s in shown:
            ok = r.pop(s.ok_label, None)
            text = r.pop(s.text_label, None)
            v = r.get(s.key)
            if v is None:
                continue
            out[s.key][int(v)] = text if ok is not None and s.text is not None else NO_ACCESS
    return {k: m for k, m in out.items() if m}


def ref_keys(compiled: CompiledForm) -> frozenset[str]:
    """The form's reference, user and department fields (once per published version)."""
    refs = compiled.memo.get("display_ref_keys")
    if refs is None:   # a form without reference, user or department fields shows none
        refs = compiled.memo["display_ref_keys"] = frozenset(
            f.key for f in compiled.definition.scalar_fields if fieldtypes.is_id(f))
    return refs


def memo_key(shown: Iterable[Shown]) -> tuple[Any, ...] | None:
    """What a statement joining ``shown`` depends on (None: a row scope, specific to its reader). The
    joined aliases are kept per table (:func:`_aliased`), so they are compared by identity."""
    shown = list(shown)
    if any(s.scope is not None for s in shown):
        return None
    return tuple((s.key, s.table, None if s.text is None else s.text.name) for s in shown)


def joined(source: Any, shown: Iterable[Shown], columns: Iterable[Any] | None = None) -> sa.Select:
    """SELECT the ``columns`` of ``source`` (a table, subquery or CTE of the form's rows; default
    all) with the display columns of ``shown`` (:func:`take` reads them)."""
    cols: list[Any] = [source] if columns is None else list(columns)
    joined_: Any = source
    for s in shown:
        if s.table is None:
            continue
        on = s.table.c.id == source.c[s.key]
        joined_ = joined_.outerjoin(s.table, on if s.scope is None else sa.and_(on, s.scope))
        cols.append(s.table.c.id.label(s.ok_label))
        if s.text is not None:
            cols.append(s.text.label(s.text_label))
    return sa.select(*cols).select_from(joined_)


def values_for(conn: Connection, registry: "Registry", compiled: CompiledForm, rows: list[Mapping[str, Any]],
               keys: Iterable[str], actor: Actor) -> dict[str, dict[int, Any]]:
    """Display texts for records already read (by id): one statement for all shown fields."""
    refs = ref_keys(compiled)
    keys = [k for k in keys if k in refs]
    if not keys:
        return {}
    shown = plan(conn, registry, compiled, actor, keys)
    shown = [s for s in shown if any(r.get(s.key) is not None for r in rows)]
    ids = sorted({int(r["id"]) for r in rows if r.get("id") is not None})
    if not shown or not ids:
        return {}
    t = compiled.main
    # without a row scope (actor-specific values) the statement depends only on what is joined and shown:
    # built once per form version for it (a job report's answer shows the same four references each time)
    mk = memo_key(shown)
    key = None if mk is None else ("display_values", *mk)
    q = compiled.memo.get(key) if key is not None else None
    if q is None:
        inner = sa.select(t.c.id, *[t.c[s.key] for s in shown]).where(t.c.id.in_(sa.bindparam("ids", expanding=True)))
        q, _ = with_display(inner, shown)
        if key is not None:
            compiled.memo[key] = q
    fetched: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        fetched.extend(dict(r) for r in conn.execute(q, {"ids": ids[i:i + 900]}).mappings())
    return take(fetched, shown)


def child_values(conn: Connection, registry: "Registry", compiled: CompiledForm,
                 children: Iterable[Mapping[str, list[Mapping[str, Any]]]], actor: Actor,
                 tables: Iterable[str] | None = None) -> dict[str, dict[str, dict[int, Any]]]:
    """Display texts of the reference, user and department columns of child rows already read, under the
    same rights as the main record's: table key -> column key -> {referenced id: text}. ``children``: one
    {table key: rows} per record. One statement per referenced target (form, users, departments) for
    all rows of all records, whatever their number (in slices of 900 ids)."""
    wanted = set(tables) if tables is not None else None
    cols: list[tuple[str, FieldSpec]] = [
        (t.key, c) for t in compiled.definition.table_fields if wanted is None or t.key in wanted
        for c in t.children if fieldtypes.is_id(c)]
    if not cols:
        return {}
    ids: dict[tuple[str, str], set[int]] = {}
    for per_record in children:
        for tkey, c in cols:
            for r in per_record.get(tkey) or ():
                v = r.get(c.key)
                if v is not None:
                    ids.setdefault((tkey, c.key), set()).add(int(v))
    # one Shown per column, grouped by what it joins (the same target and text share one statement)
    groups: dict[tuple[Any, ...], list[tuple[str, Shown]]] = {}
    for i, (tkey, c) in enumerate(cols):
        if (tkey, c.key) not in ids:
            continue
        s = shown_field(conn, registry, c, actor, f"c{i}")
        target = c.value_type if c.value_type in ("user", "department") else str(c.raw.get("form"))
        text = s.text.name if s.text is not None else None
        groups.setdefault((target, s.table is None, text), []).append((tkey, s))
    out: dict[str, dict[str, dict[int, Any]]] = {}
    for (_, unreadable, _), members in groups.items():
        wanted_ids = sorted(set().union(*(ids[(tkey, s.key)] for tkey, s in members)))
        found: dict[int, Any] = {}
        s0 = members[0][1]
        if not unreadable and s0.text is not None:
            for i in range(0, len(wanted_ids), 900):
                q = sa.select(s0.table.c.id, s0.text).where(s0.table.c.id.in_(wanted_ids[i:i + 900]))
                if s0.scope is not None:
                    q = q.where(s0.scope)
                found.update((int(r[0]), r[1]) for r in conn.execute(q))
        for tkey, s in members:   # out of scope, unreadable or no visible field: NO_ACCESS, as for the main record
            out.setdefault(tkey, {})[s.key] = {i: found[i] if i in found else NO_ACCESS for i in ids[(tkey, s.key)]}
    return out
