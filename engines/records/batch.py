"""Many updates of one form at once: what :func:`service.update_record` does for each record, with the
reads, writes and audit entries batched.

An engine that changes hundreds of records in one step (the planner writing a schedule onto every
operation task) calls :func:`update_many` instead of ``update_record`` in a loop: the same permission
check, row scope, optimistic concurrency (``row_version``), field rules, references, formulas,
validations, unique values, record hooks (before/after update) and one audit entry per changed
record — but one SELECT (locked on PostgreSQL) for all the rows, one UPDATE per set of changed fields
(executemany) and one audit INSERT, and no read-back of each record. All or nothing, in the caller's
transaction.

:func:`write_system_fields` is the narrower path for fields an engine computes and owns (a job
report moving its operation task and recomputing its order): rows the engine already read and
locked, no re-validation of the whole record, still hooks, row_version and audit.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.records import lookup, uniqueness, values as V
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import NO_HOOKS
from mom.engines.records.service import load_children
from mom.platform.db import tables as T
from mom.platform.errors import Conflict, NotFound, Problem, ProblemList

Patch = tuple[int, Mapping[str, Any], "int | None"]     # (record id, patch, expected row_version or None)
_CHUNK = 900                                            # SQLite's bound-parameter limit


def _rows(conn: Connection, compiled: Any, scope: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    t = compiled.main
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        q = sa.select(t).where(t.c.id.in_(ids[i:i + _CHUNK]), t.c.deleted_at.is_(None))
        if scope is not None:
            q = q.where(scope)
        if conn.dialect.name == "postgresql":
            q = q.order_by(t.c.id).with_for_update()
        out.update({int(r["id"]): dict(r) for r in conn.execute(q).mappings()})
    return out


def update_many(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, patches: Sequence[Patch]) -> list[int]:
    """Apply each ``(record_id, patch, expected_version)`` like ``update_record`` (only the given fields
    change); returns the ids of the records that changed. A missing record is a NotFound, a stale
    version a Conflict, invalid values one InvalidInput with every problem under ``/<index>``."""
    if not patches:
        return []
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("update")
    ids = [int(rid) for rid, _, _ in patches]
    rows = _rows(conn, compiled, access.scope("update"), ids)
    for rid in ids:
        if rid not in rows:
            raise NotFound(f"表单 {compiled.name} 中没有 id 为 {rid} 的记录（或无权修改）",
                           f"no record {rid} in form {compiled.name} (or you may not change it)")
    for rid, _, expected in patches:
        now = int(rows[int(rid)]["row_version"])
        if expected is not None and now != int(expected):
            raise Conflict(f"记录 {rid} 已被他人修改（当前版本 {now}，你的版本 {expected}）；请刷新后重试",
                           f"record {rid} was changed by someone else (now version {now}, yours {expected}); reload and retry",
                           detail={"record_id": int(rid), "current_row_version": now})
    olds = load_children(conn, compiled, ids) if compiled.children else {}
    preps = []
    for rid, patch, _ in patches:
        problems = ProblemList()
        old_children = olds.get(int(rid)) or {k: [] for k in compiled.children}
        prep = V.read_input(compiled, patch, ctx=ctx, access=access, existing={**rows[int(rid)], **old_children},
                            problems=problems)
        preps.append((prep, problems))
    lookup.resolve(conn, registry, preps, actor=ctx.actor)
    hooks = registry.hooks or NO_HOOKS
    defn = compiled.definition
    unique_keys = {f.key for f in defn.scalar_fields if f.unique or fieldtypes.is_generated(f)}
    all_problems: list[Problem] = []
    done: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for i, ((rid, _, _), (prep, problems)) in enumerate(zip(patches, preps)):
        rid = int(rid)
        row, old_children = rows[rid], olds.get(rid) or {k: [] for k in compiled.children}
        merged = {f.key: row.get(f.key) for f in defn.scalar_fields}
        merged.update(prep.values)
        children = {k: (prep.children.get(k) if prep.children.get(k) is not None else
                        [{c.key: r.get(c.key) for c in defn.field(k).children} for r in old_children[k]])
                    for k in compiled.children}
        hooks.before_update(conn, ctx, compiled, rid, row, merged,
                            set(prep.values) | {k for k, v in prep.children.items() if v is not None}, None)
        V.compute(compiled, merged, children, ctx, problems)
        V.check(compiled, merged, children, ctx, problems)
        if any(row.get(k) != merged.get(k) for k in unique_keys):
            uniqueness.check(conn, compiled, access, [(merged, problems, "")], exclude_id=rid)
        prefix = f"/{i}" if len(patches) > 1 else ""
        all_problems += [Problem(prefix + p.path, p.zh, p.en, p.code) for p in problems.items]
        changes = {k: [fieldtypes.dump(defn.field(k), row.get(k)), fieldtypes.dump(defn.field(k), v)]
                   for k, v in merged.items() if row.get(k) != v}
        new_children = {k: v for k, v in prep.children.items() if v is not None}
        for k, v in new_children.items():
            changes[k] = {"rows_before": len(old_children[k]), "rows_after": len(v)}
        if changes:
            done.append((rid, row, merged, changes, {k: children[k] for k in new_children}))
    uniqueness.raise_problems(all_problems)
    _write(conn, compiled, ctx, done)
    for rid, row, merged, changes, _ in done:
        hooks.after_update(conn, ctx, compiled, rid, row, merged, set(changes))
    return [d[0] for d in done]


def _write(conn: Connection, compiled: Any, ctx: Ctx, done: list[tuple[int, dict[str, Any], dict[str, Any],
                                                                       dict[str, Any], dict[str, Any]]],
           audit_into: list[dict[str, Any]] | None = None) -> None:
    """One executemany UPDATE per set of changed scalar fields (each guarded by its row_version), the
    child tables given, one audit INSERT (``audit_into``: the entries added to that list instead, for
    the caller to insert with others in one statement, see :func:`insert_audit`)."""
    from mom.engines.records.service import _write_children

    t = compiled.main
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for rid, row, merged, changes, _ in done:
        keys = tuple(sorted(k for k in changes if k in merged))
        groups[keys].append({"_id": rid, "_rv": row["row_version"], **{f"v_{k}": merged[k] for k in keys}})
    system = {"_fv": compiled.version, "_at": ctx.now, "_by": ctx.actor.id}
    changed = {rid: changes for rid, _, _, changes, _ in done}
    audited: set[int] = set()
    # PostgreSQL, each record its own UPDATE (a job report's task and order): its audit entry goes in
    # the same statement (entries in the same order as before, one per record)
    fold = conn.dialect.name == "postgresql" and len(groups) == len(done)
    try:
        for keys, params in groups.items():
            if fold:
                rid = params[0]["_id"]
                if conn.execute(_audited_update(compiled, keys), {**params[0], **system, "a_at": ctx.now, "a_by": ctx.actor.id,
                                                                  "a_fv": compiled.version, "a_changes": changed[rid]}).scalar_one() != 1:
                    raise Conflict("有记录在保存时已被他人修改；请刷新后重试", "a record was changed meanwhile; reload and retry")
                audited.add(rid)
                continue
            stmt = compiled.memo.get(("batch_update", keys))
            if stmt is None:      # built once per form version and set of fields: a job report writes the same two
                stmt = compiled.memo[("batch_update", keys)] = _update(t, keys)
            params = [{**p, **system} for p in params]
            for i in range(0, len(params), 500):
                res = conn.execute(stmt, params[i:i + 500])
                if res.rowcount not in (-1, len(params[i:i + 500])):
                    raise Conflict("有记录在保存时已被他人修改；请刷新后重试", "a record was changed meanwhile; reload and retry")
        for rid, _, _, _, children in done:
            if children:
                _write_children(conn, compiled, rid, children)
    except sa.exc.IntegrityError as exc:
        raise uniqueness.conflict(exc, compiled) from exc
    entries = [{"at": ctx.now, "actor_id": ctx.actor.id, "form": compiled.name, "record_id": rid,
                "action": "update", "form_version": compiled.version, "changes": changes}
               for rid, _, _, changes, _ in done if rid not in audited]
    if audit_into is not None:
        audit_into += entries
    else:
        insert_audit(conn, entries)


def _update(t: sa.Table, keys: tuple[str, ...]) -> Any:
    """UPDATE of the fields ``keys`` of one row guarded by its row_version (parameters ``_id``, ``_rv``,
    ``v_<key>``, ``_fv``, ``_at``, ``_by``)."""
    return t.update().where(t.c.id == sa.bindparam("_id"), t.c.row_version == sa.bindparam("_rv")).values(
        {**{k: sa.bindparam(f"v_{k}", type_=t.c[k].type) for k in keys}, "row_version": t.c.row_version + 1,
         "form_version": sa.bindparam("_fv", type_=t.c.form_version.type),
         "updated_at": sa.bindparam("_at", type_=t.c.updated_at.type),
         "updated_by": sa.bindparam("_by", type_=t.c.updated_by.type)})


def _audited_update(compiled: Any, keys: tuple[str, ...]) -> Any:
    """PostgreSQL: :func:`_update` and the row's "update" audit entry (parameters ``a_at``, ``a_by``,
    ``a_fv``, ``a_changes``) in one statement, the entry written only when the row was (a data-modifying
    CTE over ``UPDATE … RETURNING``); the statement answers how many rows it updated (0 or 1)."""
    stmt = compiled.memo.get(("batch_update_audited", keys))
    if stmt is None:
        t = compiled.main
        upd = _update(t, keys).returning(t.c.id).cte("upd")
        entry = sa.select(sa.bindparam("a_at", type_=T.audit.c.at.type), sa.bindparam("a_by", type_=T.audit.c.actor_id.type),
                          sa.literal(compiled.name, T.audit.c.form.type), upd.c.id, sa.literal("update", T.audit.c.action.type),
                          sa.bindparam("a_fv", type_=T.audit.c.form_version.type),
                          sa.bindparam("a_changes", type_=T.audit.c.changes.type))
        aud = T.audit.insert().from_select(["at", "actor_id", "form", "record_id", "action", "form_version", "changes"],
                                           entry).cte("aud")
        stmt = compiled.memo[("batch_update_audited", keys)] = sa.select(sa.func.count()).select_from(upd).add_cte(aud)
    return stmt


_TOGETHER = "mom_batch_together"


@contextmanager
def writes_together(conn: Connection) -> Iterator[None]:
    """PostgreSQL: the one-record writes :func:`write_system_fields` makes inside the block (a job report's
    task, then its order) wait and go to the database together when the block ends — one statement
    with each UPDATE and its audit entry — or sooner, before another write of a row already waiting.
    Each write's ``before_update`` hooks run when it is made, its ``after_update`` hooks after the
    statement, in the order of the writes. Nothing waiting is written when the block raises (the
    transaction is rolled back). Elsewhere (SQLite, an inner block) each write goes at once."""
    if conn.dialect.name != "postgresql" or _TOGETHER in conn.info:
        yield
        return
    conn.info[_TOGETHER] = []
    try:
        yield
        _flush(conn)
    finally:
        conn.info.pop(_TOGETHER, None)


def _defer(conn: Connection, compiled: Any, ctx: Ctx, done: list[tuple[int, dict[str, Any], dict[str, Any],
                                                                        dict[str, Any], dict[str, Any]]],
           hooks: Any) -> bool:
    """Keep ``done`` (no child rows, each record its own set of fields) for :func:`writes_together`'s
    statement; False when there is no such block (then written now, after what is waiting)."""
    waiting = conn.info.get(_TOGETHER)
    if waiting is None or not done:
        return False
    keys = [tuple(sorted(k for k in changes if k in merged)) for _, _, merged, changes, _ in done]
    if any(children for *_, children in done) or len(set(keys)) != len(done):
        _flush(conn)
        return False
    if any((compiled.main, rid) == (w[0].main, w[2]) for w in waiting for rid, *_ in done):
        _flush(conn)            # the same row twice in one statement: the second would not see the first
    for k, (rid, row, merged, changes, _) in zip(keys, done):
        waiting.append((compiled, k, rid, row, merged, changes, ctx, hooks))
    return True


def _flush(conn: Connection) -> None:
    """Send the writes waiting in :func:`writes_together` (one statement), then their after_update hooks."""
    waiting = conn.info.get(_TOGETHER)
    if not waiting:
        return
    todo = list(waiting)
    waiting.clear()
    stmt = _audited_updates(tuple((w[0], w[1]) for w in todo))
    params: dict[str, Any] = {}
    for i, (compiled, keys, rid, row, merged, changes, ctx, _) in enumerate(todo):
        params.update({f"p{i}_id": rid, f"p{i}_rv": row["row_version"], f"p{i}_fv": compiled.version,
                       f"p{i}_at": ctx.now, f"p{i}_by": ctx.actor.id, f"p{i}_changes": changes,
                       **{f"p{i}_v_{k}": merged[k] for k in keys}})
    try:
        counts = conn.execute(stmt, params).one()
    except sa.exc.IntegrityError as exc:
        raise uniqueness.conflict(exc, todo[0][0]) from exc
    if any(n != 1 for n in counts):
        raise Conflict("有记录在保存时已被他人修改；请刷新后重试", "a record was changed meanwhile; reload and retry")
    for compiled, _, rid, row, merged, changes, ctx, hooks in todo:
        hooks.after_update(conn, ctx, compiled, rid, row, merged, set(changes))


def _audited_updates(parts: tuple[tuple[Any, tuple[str, ...]], ...]) -> Any:
    """PostgreSQL: :func:`_audited_update` of several records (``(compiled form, fields)`` each, their
    parameters prefixed ``p<i>_``) in one statement, answering how many rows each UPDATE wrote; built
    once per combination of form versions and fields (kept on the first form's version)."""
    memo, key = parts[0][0].memo, ("batch_updates_audited", tuple((c.name, k) for c, k in parts))
    kept = memo.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], (c for c, _ in parts))):
        return kept[1]
    A = T.audit
    counts, auds = [], []
    for i, (compiled, keys) in enumerate(parts):
        t, p = compiled.main, f"p{i}_"
        upd = t.update().where(t.c.id == sa.bindparam(f"{p}id"), t.c.row_version == sa.bindparam(f"{p}rv")).values(
            {**{k: sa.bindparam(f"{p}v_{k}", type_=t.c[k].type) for k in keys}, "row_version": t.c.row_version + 1,
             "form_version": sa.bindparam(f"{p}fv", type_=t.c.form_version.type),
             "updated_at": sa.bindparam(f"{p}at", type_=t.c.updated_at.type),
             "updated_by": sa.bindparam(f"{p}by", type_=t.c.updated_by.type)}).returning(t.c.id).cte(f"upd{i}")
        entry = sa.select(sa.bindparam(f"{p}at", type_=A.c.at.type), sa.bindparam(f"{p}by", type_=A.c.actor_id.type),
                          sa.literal(compiled.name, A.c.form.type), upd.c.id, sa.literal("update", A.c.action.type),
                          sa.bindparam(f"{p}fv", type_=A.c.form_version.type),
                          sa.bindparam(f"{p}changes", type_=A.c.changes.type))
        auds.append(A.insert().from_select(["at", "actor_id", "form", "record_id", "action", "form_version", "changes"],
                                           entry).cte(f"aud{i}"))
        counts.append(sa.select(sa.func.count()).select_from(upd).scalar_subquery().label(f"n{i}"))
    stmt = sa.select(*counts).add_cte(*auds)
    if len(memo) < 4096:
        memo[key] = ([c for c, _ in parts], stmt)
    return stmt


def insert_audit(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Audit entries (mom_audit rows) in one INSERT, however many records and forms they are of."""
    if entries:
        conn.execute(T.audit.insert(), entries)


def write_system_fields(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str,
                        rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                        audit_into: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Write fields an engine computes and owns (read-only to people: a task's quantities and status,
    an order's progress) onto records the caller has read and locked in this transaction: each
    ``(row as read, {field: value})``. No permission check, input reading or field rules (the engine's
    values are typed and its own); still the record hooks (state machine, rule events, summaries), the
    row_version guard and bump, and one audit entry per changed record (``audit_into``: see :func:`_write`).
    Returns the rows as now stored."""
    if not rows:
        return []
    compiled = registry.get(conn, form)
    defn = compiled.definition
    hooks = registry.hooks or NO_HOOKS
    done: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    out = []
    for old, values in rows:
        rid, row = int(old["id"]), dict(old)
        wrong = [k for k in values if defn.field(k) is None or defn.field(k).is_table]
        if wrong:
            raise ValueError(f"{form}: not scalar fields: {wrong}")
        merged = {f.key: row.get(f.key) for f in defn.scalar_fields}
        merged.update(values)
        hooks.before_update(conn, ctx, compiled, rid, row, merged, set(values), None)
        changes = {k: [fieldtypes.dump(defn.field(k), row.get(k)), fieldtypes.dump(defn.field(k), v)]
                   for k, v in merged.items() if row.get(k) != v}
        if changes:
            done.append((rid, row, merged, changes, {}))
        out.append({**row, **merged, "row_version": int(row["row_version"]) + (1 if changes else 0),
                    **({"updated_at": ctx.now, "updated_by": ctx.actor.id} if changes else {})})
    if not _defer(conn, compiled, ctx, done, hooks):       # (inside writes_together: sent with the others)
        _write(conn, compiled, ctx, done, audit_into)
        for rid, row, merged, changes, _ in done:
            hooks.after_update(conn, ctx, compiled, rid, row, merged, set(changes))
    return out
