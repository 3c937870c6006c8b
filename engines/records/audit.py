"""The audit trail of records (``mom_audit``): one entry per create, update, delete and restore, written
in the same transaction as the change, and the history of one record as its readers may see it.

Creates are audited by the database from the stored rows (one ``INSERT … SELECT``, or on PostgreSQL
for a single record one data-modifying CTE together with the insert), so an import of 100k rows does
no per-row audit work in Python and each entry shows exactly what was stored.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import display, lookup
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T
from mom.platform.db.types import UTCDateTime


def write(conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, action: str, changes: Any) -> None:
    """One audit entry (update, delete, restore); creates are audited by :func:`created`."""
    conn.execute(T.audit.insert(), {"at": ctx.now, "actor_id": ctx.actor.id, "form": compiled.name, "record_id": record_id,
                                    "action": action, "form_version": compiled.version, "changes": changes})


def insert_audited(conn: Connection, compiled: CompiledForm, ctx: Ctx, row: Mapping[str, Any], *,
                   number: tuple[str, Any, Mapping[str, Any]] | None = None, shown: Sequence[Any] = ()) -> dict[str, Any]:
    """PostgreSQL, one record: the insert and its audit entry in one statement (a data-modifying
    CTE), so a create costs the database one round trip for both. ``number``: (field key, SQL
    expression, parameters) of an auto-number taken inside the same statement
    (:func:`mom.engines.records.autonumber.in_statement`); ``shown``: the display joins of the new
    record's references (:func:`mom.engines.records.display.plan`), selected from the inserted row in
    the same statement. Returns the new id, the number and the references with their display columns."""
    mk = display.memo_key(shown)       # None: a row scope in a join, specific to this reader: not kept
    key = ("insert_audited", number[0] if number else None, mk) if mk is not None else None
    stmt = compiled.memo.get(key) if key is not None else None
    if stmt is None:
        t = compiled.main
        values: dict[str, Any] = {k: sa.bindparam(f"v_{k}", type_=t.c[k].type) for k in row if not number or k != number[0]}
        if number:
            values[number[0]] = number[1]
        ins = t.insert().values(values).returning(*t.c).cte("ins")
        aud = _create_audit_insert(compiled, "postgresql", ins, None).cte("aud")
        # only what the caller does not know back: the id, the number, the names (the rest is what it sent)
        keep = [ins.c.id, *([ins.c[number[0]]] if number else []), *(ins.c[s.key] for s in shown)]
        stmt = display.joined(ins, shown, keep).add_cte(aud)
        if key is not None:
            compiled.memo[key] = stmt
    params = {f"v_{k}": v for k, v in row.items() if not number or k != number[0]}
    params.update(at=ctx.now, actor=ctx.actor.id)
    if number:
        params.update(number[2])
    return dict(conn.execute(stmt, params).mappings().one())


def created(conn: Connection, ctx: Ctx, compiled: CompiledForm, ids: list[int]) -> None:
    """The "create" audit entries of records just inserted, built by the database from the stored
    rows in one INSERT … SELECT: no per-row work in Python (an import writes 100k of them), and the
    entry shows exactly what was stored. The document holds every non-empty scalar field."""
    gather = conn.info.get(_GATHER)
    if gather is not None and compiled.name in gather.forms:
        gather.created.append((compiled, ids, ctx.now, ctx.actor.id))
        return
    dialect = conn.dialect.name
    contiguous = ids[-1] - ids[0] + 1 == len(ids)
    key = ("audit_created", dialect, contiguous)
    stmt = compiled.memo.get(key)
    if stmt is None:
        t = compiled.main
        if contiguous:
            where = t.c.id.between(sa.bindparam("lo", type_=sa.BigInteger), sa.bindparam("hi", type_=sa.BigInteger))
        elif dialect == "postgresql":
            where = t.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger)))
        else:
            where = t.c.id.in_(sa.bindparam("ids", expanding=True))
        stmt = compiled.memo[key] = _create_audit_insert(compiled, dialect, t, where)
    params: dict[str, Any] = {"at": ctx.now, "actor": ctx.actor.id}
    if contiguous:
        params.update(lo=ids[0], hi=ids[-1])
    else:
        params["ids"] = ids
    conn.execute(stmt, params)


_GATHER = "mom_records_audit_gather"
_UNION_ENTRIES = 100            # entries given as values in the one statement (SQLite: at most 500 compound terms)
_SHAPES: dict[tuple[Any, ...], Any] = {}


class _Gathered:
    def __init__(self, forms: frozenset[str]) -> None:
        self.forms = forms
        self.created: list[tuple[CompiledForm, list[int], Any, Any]] = []
        self.entries: list[dict[str, Any]] = []


@contextmanager
def gathered(conn: Connection, forms: Iterable[str]) -> Iterator[list[dict[str, Any]] | None]:
    """SQLite: the audit entries of the writes inside in one INSERT at the end — the "create" entries
    of records of ``forms`` inserted inside (still built by the database from the stored rows, so none
    of them may change before the block ends) and the entries put into the list this yields (give it
    as ``audit_into`` to :func:`mom.engines.records.batch.write_system_fields`). A posting's ledger
    row, balance and document: one statement instead of three. On PostgreSQL (each single write
    already carries its entry) and inside another such block this yields None and changes nothing.
    Nothing is inserted when the block raises (the transaction is rolled back anyway)."""
    if conn.dialect.name != "sqlite" or _GATHER in conn.info:
        yield None
        return
    gather = conn.info[_GATHER] = _Gathered(frozenset(forms))
    try:
        yield gather.entries
    finally:
        conn.info.pop(_GATHER, None)
    _insert_gathered(conn, gather)


def _insert_gathered(conn: Connection, gather: _Gathered) -> None:
    entries, rest = gather.entries[:_UNION_ENTRIES], gather.entries[_UNION_ENTRIES:]
    if not gather.created and not entries:
        return
    # built once per shape: the compiled forms themselves (kept alive with it, so their ids stay theirs)
    shape = (tuple((id(c), ids[-1] - ids[0] + 1 == len(ids)) for c, ids, _, _ in gather.created), len(entries))
    got = _SHAPES.get(shape)
    if got is None:
        if len(_SHAPES) > 256:
            _SHAPES.clear()
        got = _SHAPES[shape] = (_gathered_insert(gather.created, len(entries)), [c for c, _, _, _ in gather.created])
    stmt = got[0]
    params: dict[str, Any] = {}
    for i, (_, ids, at, actor) in enumerate(gather.created):
        params.update({f"c{i}_at": at, f"c{i}_by": actor})
        if ids[-1] - ids[0] + 1 == len(ids):
            params.update({f"c{i}_lo": ids[0], f"c{i}_hi": ids[-1]})
        else:
            params[f"c{i}_ids"] = ids
    for j, e in enumerate(entries):
        params.update({f"u{j}_{k}": v for k, v in e.items()})
    conn.execute(stmt, params)
    if rest:
        conn.execute(T.audit.insert(), rest)


_COLUMNS = ["at", "actor_id", "form", "record_id", "action", "form_version", "changes"]


def _gathered_insert(created: list[tuple[CompiledForm, list[int], Any, Any]], entries: int) -> Any:
    """INSERT INTO mom_audit of the "create" entries of ``created`` (SELECTs of the stored rows, as
    :func:`created` builds them) and ``entries`` given as values, one UNION ALL (SQLite)."""
    parts = []
    for i, (compiled, ids, _, _) in enumerate(created):
        t = compiled.main
        if ids[-1] - ids[0] + 1 == len(ids):
            where = t.c.id.between(sa.bindparam(f"c{i}_lo", type_=sa.BigInteger), sa.bindparam(f"c{i}_hi", type_=sa.BigInteger))
        else:
            where = t.c.id.in_(sa.bindparam(f"c{i}_ids", expanding=True))
        parts.append(sa.select(sa.bindparam(f"c{i}_at", type_=UTCDateTime), sa.bindparam(f"c{i}_by", type_=sa.Integer),
                               sa.literal(compiled.name), t.c.id, sa.literal("create"), sa.literal(compiled.version, sa.Integer),
                               _created_document(compiled, "sqlite", t)).where(where))
    for j in range(entries):
        parts.append(sa.select(*[sa.bindparam(f"u{j}_{k}", type_=T.audit.c[k].type) for k in _COLUMNS]))
    source = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    return T.audit.insert().from_select(_COLUMNS, source)


def _create_audit_insert(compiled: CompiledForm, dialect: str, source: Any, where: Any) -> Any:
    """INSERT INTO mom_audit … SELECT the "create" entries of the rows of ``source`` (the form's table,
    or the rows a CTE just inserted); parameters ``at`` and ``actor``."""
    q = sa.select(sa.bindparam("at", type_=UTCDateTime), sa.bindparam("actor", type_=sa.Integer), sa.literal(compiled.name),
                  source.c.id, sa.literal("create"), sa.literal(compiled.version, sa.Integer),
                  _created_document(compiled, dialect, source))
    if where is not None:
        q = q.where(where)
    return T.audit.insert().from_select(["at", "actor_id", "form", "record_id", "action", "form_version", "changes"], q)


def _created_document(compiled: CompiledForm, dialect: str, t: Any) -> Any:
    """The JSON document of a stored row's non-empty scalar fields, built in SQL from ``t``'s columns."""
    pairs = []
    for f in compiled.definition.scalar_fields:
        pairs.append((f.key, fieldtypes.json_sql(f, t.c[f.key], dialect)))
    if dialect == "postgresql":   # jsonb_build_object takes at most 100 arguments
        parts = [sa.func.jsonb_build_object(*[x for k, c in pairs[i:i + 50] for x in (sa.literal(k), c)])
                 for i in range(0, len(pairs), 50)] or [sa.func.jsonb_build_object()]
        doc = parts[0]
        for p in parts[1:]:
            doc = doc.op("||")(p)
        return sa.cast(sa.func.jsonb_strip_nulls(doc), sa.JSON)
    doc = sa.literal("{}")   # json_patch drops the keys whose value is null
    for i in range(0, max(len(pairs), 1), 60):   # SQLite functions take at most 127 arguments
        doc = sa.func.json_patch(doc, sa.func.json_object(*[x for k, c in pairs[i:i + 60] for x in (sa.literal(k), c)]))
    return doc


def history(conn: Connection, form: str, record_id: int, visible: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The audit entries of one record, oldest first, with the actors' names and without the changes
    of fields ``visible`` hides."""
    rows = conn.execute(sa.select(T.audit).where(T.audit.c.form == form, T.audit.c.record_id == record_id)
                        .order_by(T.audit.c.id)).mappings().all()
    names = lookup.user_names(conn, {r["actor_id"] for r in rows if r["actor_id"] is not None})
    out = []
    for r in rows:
        changes = r["changes"]
        if isinstance(changes, dict):
            changes = {k: v for k, v in changes.items() if visible(k)}
        out.append({"id": r["id"], "at": r["at"].isoformat().replace("+00:00", "Z"), "actor_id": r["actor_id"],
                    "actor": names.get(r["actor_id"], "system"), "action": r["action"],
                    "form_version": r["form_version"], "changes": changes})
    return out
