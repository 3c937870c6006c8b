"""Records of a published form: create (single and bulk), read, update (optimistic concurrency),
soft delete and restore, with an audit entry for every change (records/audit.py) and auto-numbers for
new records (records/autonumber.py). All in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import audit as audit_trail
from mom.engines.records import lookup, uniqueness, values as V
from mom.engines.records.access import FormAccess, form_access, record_row
from mom.engines.records import autonumber
from mom.engines.records import display as shown_as
from mom.engines.records.autonumber import fill_autonumbers
from mom.engines.records.context import Ctx
from mom.engines.records.display import child_values
from mom.engines.records.hooks import NO_HOOKS, RecordHooks
from mom.platform.db import bulk
from mom.platform.errors import Conflict, InvalidInput, NotFound, PreconditionRequired, Problem, ProblemList

SYSTEM_OUT = ("id", "row_version", "form_version", "created_at", "created_by", "updated_at", "updated_by",
              "department_id", "deleted_at")


# ---------------------------------------------------------------- output

def to_doc(compiled: CompiledForm, access: FormAccess, row: Mapping[str, Any],
           children: Mapping[str, list[Mapping[str, Any]]] | None = None,
           display: Mapping[str, Mapping[int, Any]] | None = None, fields: Iterable[str] | None = None,
           child_display: Mapping[str, Mapping[str, Mapping[int, Any]]] | None = None) -> dict[str, Any]:
    """The record as the API shows it to a reader with ``access``: visible fields, child rows when read,
    ``_display`` (reference -> text) on the record and on each child row (``child_display``, see
    :func:`mom.engines.records.display.child_values`)."""
    defn = compiled.definition
    wanted = set(fields) if fields is not None else None
    doc: dict[str, Any] = {}
    for k in SYSTEM_OUT:
        if k in row and (wanted is None or k in wanted or k in ("id", "row_version")):
            v = row[k]
            doc[k] = v.isoformat().replace("+00:00", "Z") if isinstance(v, dt.datetime) else v
    for f in defn.fields:
        if not access.visible(f.key) or (wanted is not None and f.key not in wanted):
            continue
        if f.is_table:
            if children is not None:
                doc[f.key] = [_child_doc(f, r, (child_display or {}).get(f.key)) for r in children.get(f.key, [])]
        elif f.key in row:
            doc[f.key] = fieldtypes.dump(f, row[f.key])
    if display:
        shown = {k: {str(i): v for i, v in m.items()} for k, m in display.items()}
        doc["_display"] = {k: shown[k].get(str(doc.get(k))) for k in shown if doc.get(k) is not None}
    return doc


def _child_doc(f: Any, r: Mapping[str, Any], shown: Mapping[str, Mapping[int, Any]] | None) -> dict[str, Any]:
    out = {"id": r["id"], **{c.key: fieldtypes.dump(c, r.get(c.key)) for c in f.children}}
    if shown:
        disp = {k: m[int(r[k])] for k, m in shown.items() if r.get(k) is not None and int(r[k]) in m}
        if disp:
            out["_display"] = disp
    return out


def load_children(conn: Connection, compiled: CompiledForm, ids: list[int], keys: Iterable[str] | None = None
                  ) -> dict[int, dict[str, list[dict[str, Any]]]]:
    out: dict[int, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {k: [] for k in compiled.children})
    for key, t in compiled.children.items():
        if keys is not None and key not in keys:
            continue
        for r in conn.execute(sa.select(t).where(t.c.parent_id.in_(ids)).order_by(t.c.parent_id, t.c.seq, t.c.id)).mappings():
            out[int(r["parent_id"])][key].append(dict(r))
    return out


# ---------------------------------------------------------------- helpers

def _write_children(conn: Connection, compiled: CompiledForm, parent_id: int,
                    children: Mapping[str, list[dict[str, Any]] | None]) -> None:
    """Replace the child rows; a row that names one of this record's existing row ids keeps it."""
    for key, rows in children.items():
        if rows is None:
            continue
        t = compiled.children[key]
        own = {int(r[0]) for r in conn.execute(sa.select(t.c.id).where(t.c.parent_id == parent_id))}
        conn.execute(t.delete().where(t.c.parent_id == parent_id))
        cols = [c.key for c in compiled.definition.field(key).children]
        params = [{**{c: r.get(c) for c in cols}, "parent_id": parent_id, "seq": i + 1, "id": r.get("id")}
                  for i, r in enumerate(rows)]
        keep = [p for p in params if p["id"] in own]
        fresh = [{k: v for k, v in p.items() if k != "id"} for p in params if p["id"] not in own]
        for batch in (keep, fresh):
            if batch:
                conn.execute(t.insert(), batch)


# ---------------------------------------------------------------- create

def prepare_many(conn: Connection, registry: lookup.Registry, compiled: CompiledForm, ctx: Ctx, access: FormAccess,
                 docs: list[Any], prefixes: list[str], *, imported: bool = False) -> list[tuple[V.Prepared, ProblemList]]:
    """Read, resolve, compute and check a batch of new documents; problems are per document
    (``imported``: the rows of an imported file, which messages name as such)."""
    out = []
    plan = V.input_plan(compiled, access, ctx)
    for doc, prefix in zip(docs, prefixes):
        problems = ProblemList()
        out.append((V.read_input(compiled, doc, ctx=ctx, access=access, existing=None, problems=problems, prefix=prefix,
                                 plan=plan), problems))
    lookup.resolve(conn, registry, out, actor=ctx.actor, imported=imported)
    for (prep, problems), prefix in zip(out, prefixes):
        V.compute(compiled, prep.values, prep.children, ctx, problems, prefix)
        V.check(compiled, prep.values, prep.children, ctx, problems, prefix)
    uniqueness.check(conn, compiled, access, [(p.values, pr, pf) for (p, pr), pf in zip(out, prefixes)])
    return out


def insert_prepared(conn: Connection, compiled: CompiledForm, ctx: Ctx, preps: list[V.Prepared], *, audit: bool = True,
                    hooks: RecordHooks | None = None) -> list[int]:
    """Insert checked records (main rows, child rows, audit) and return their ids, in order."""
    return [r["id"] for r in insert_rows(conn, compiled, ctx, preps, audit=audit, hooks=hooks)]


def insert_rows(conn: Connection, compiled: CompiledForm, ctx: Ctx, preps: list[V.Prepared], *,
                audit: bool = True, hooks: RecordHooks | None = None,
                shown: list[shown_as.Shown] | None = None, display_out: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Insert checked records and return the stored main rows (system columns included). On
    PostgreSQL one audited record is one statement: its auto-number (when it needs one), the INSERT,
    its audit entry and, given ``shown`` (:func:`mom.engines.records.display.plan`), the display
    texts of its references, put into ``display_out`` (as :func:`lookup.display_values` gives them)."""
    if not preps:
        return []
    hooks = hooks or NO_HOOKS
    rows = [p.values for p in preps]
    hooks.before_create(conn, ctx, compiled, rows)
    one_statement = len(rows) == 1 and audit and conn.dialect.name == "postgresql"
    number = None
    if one_statement:
        todo = autonumber.pending(compiled, rows[0])
        if len(todo) == 1:      # (two numbers in one record: reserved one by one, as for a batch)
            number = (todo[0].key, *autonumber.in_statement(ctx, compiled, todo[0]))
    fill_autonumbers(conn, compiled, ctx, rows, skip=number[0] if number else None)
    system = {"row_version": 1, "form_version": compiled.version, "created_at": ctx.now, "created_by": ctx.actor.id,
              "updated_at": ctx.now, "updated_by": ctx.actor.id, "department_id": ctx.actor.department_id, "deleted_at": None}
    cols = [f.key for f in compiled.definition.scalar_fields]
    blank = {**system, **dict.fromkeys(cols)}
    params = [{**blank, **r} for r in rows]   # values hold field keys only (system names are reserved)
    t = compiled.main
    try:
        audited = False
        if one_statement:
            stored = audit_trail.insert_audited(conn, compiled, ctx, params[0], number=number, shown=shown or ())
            ids, audited = [int(stored["id"])], True
            if number is not None:
                params[0][number[0]] = rows[0][number[0]] = stored[number[0]]
            if shown is not None and display_out is not None:
                display_out.update(shown_as.take([stored], shown))
        elif len(params) == 1:
            stmt = compiled.memo.get("insert_returning")
            if stmt is None:
                stmt = compiled.memo["insert_returning"] = t.insert().returning(t.c.id)
            ids = [int(conn.execute(stmt, params[0]).scalar_one())]
        else:  # a batch: ids reserved first, then one bulk write (COPY on PostgreSQL) without RETURNING
            ids = bulk.reserve_ids(conn, t, len(params))
        for rid, p in zip(ids, params):
            p["id"] = rid
        if len(params) > 1:
            bulk.insert_many(conn, t, params, ["id", *cols], const=system)
        child_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rid, p in zip(ids, preps):
            for key, crow in p.children.items():
                for i, r in enumerate(crow or []):
                    child_rows[key].append({**{c.key: r.get(c.key) for c in compiled.definition.field(key).children},
                                            "parent_id": rid, "seq": i + 1})
        for key, crow in child_rows.items():
            bulk.insert_many(conn, compiled.children[key], crow)
    except sa.exc.IntegrityError as exc:
        raise uniqueness.conflict(exc, compiled) from exc
    if audit and not audited:
        audit_trail.created(conn, ctx, compiled, ids)
    hooks.after_create(conn, ctx, compiled, params)
    return params


def create_records(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, docs: list[Any]) -> list[dict[str, Any]]:
    """Create all documents or none: every problem of every document is reported with its index."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("create")
    single = len(docs) == 1
    prefixes = [""] if single else [f"/{i}" for i in range(len(docs))]
    prepared = prepare_many(conn, registry, compiled, ctx, access, docs, prefixes)
    uniqueness.raise_problems([p for _, pr in prepared for p in pr.items])
    keys = [f.key for f in compiled.definition.scalar_fields if access.visible(f.key)]
    shown, display = None, None
    if single and not compiled.children and conn.dialect.name == "postgresql":   # shown by the INSERT itself
        refs = shown_as.ref_keys(compiled)
        shown, display = shown_as.plan(conn, registry, compiled, ctx.actor, [k for k in keys if k in refs]), {}
    stored = insert_rows(conn, compiled, ctx, [p for p, _ in prepared], hooks=registry.hooks, shown=shown, display_out=display)
    if compiled.children:  # child rows got ids in the database: read the documents back
        return [get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=r["id"], compiled=compiled) for r in stored]
    if display is None:
        display = lookup.display_values(conn, registry, compiled, stored, keys, actor=ctx.actor)
    return [with_formula_errors(to_doc(compiled, access, r, {}, display), compiled, access, r, {}, ctx) for r in stored]


def preview_record(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, doc: Any,
                   editing: bool = False) -> dict[str, Any]:
    """What a form being filled in would become, without writing anything: defaults (for a new record),
    formulas of the main form and of child rows, and every problem with its path. The web form calls
    this as the user types, so the server's one expression sandbox gives the live formula values."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("update" if editing else "create")
    problems = ProblemList()
    data = {k: v for k, v in doc.items() if k not in ("id", "row_version")} if isinstance(doc, dict) else doc
    prep = V.read_input(compiled, data, ctx=ctx, access=access, existing=None, problems=problems)
    lookup.resolve(conn, registry, [(prep, problems)], actor=ctx.actor)
    if editing:   # the record may hold references its editor cannot read: the save knows them and decides
        problems.items = [p for p in problems.items if p.code != "not_found"]
    errors: dict[str, dict[str, str]] = {}
    V.compute(compiled, prep.values, prep.children, ctx, problems, errors=errors)
    V.check(compiled, prep.values, prep.children, ctx, problems)
    defn = compiled.definition
    computed = [f.key for f in defn.fields if f.computed and access.visible(f.key)]
    given = data if isinstance(data, dict) else {}
    defaults = {k: v for k, v in prep.values.items() if k not in given and k not in computed and access.visible(k)}
    children = {t.key: [{k: r.get(k) for k in defn.child_formula_order.get(t.key, ())} for r in prep.children.get(t.key) or []]
                for t in defn.table_fields if access.visible(t.key) and defn.child_formula_order.get(t.key)}
    shown = {p: m for p, m in errors.items() if access.visible(p.split("/")[1])}
    return {"computed": {k: prep.values.get(k) for k in computed}, "defaults": defaults, "children": children,
            "problems": [p.as_dict() for p in problems.items], "errors": shown}


# ---------------------------------------------------------------- read

def get_record(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int,
               include_deleted: bool = False, compiled: CompiledForm | None = None) -> dict[str, Any]:
    compiled = compiled or registry.get(conn, form)
    access, row = record_row(conn, compiled, ctx.actor, record_id, "read", include_deleted=include_deleted)
    children = load_children(conn, compiled, [record_id])[record_id]
    keys = [f.key for f in compiled.definition.scalar_fields if access.visible(f.key)]
    display = lookup.display_values(conn, registry, compiled, [row], keys, actor=ctx.actor)
    shown_tables = [f.key for f in compiled.definition.table_fields if access.visible(f.key)]
    child_display = child_values(conn, registry, compiled, [children], ctx.actor, shown_tables)
    return with_formula_errors(to_doc(compiled, access, row, children, display, child_display=child_display),
                               compiled, access, row, children, ctx)


def with_formula_errors(doc: dict[str, Any], compiled: CompiledForm, access: FormAccess, row: Mapping[str, Any],
                        children: Mapping[str, list[Mapping[str, Any]]], ctx: Ctx) -> dict[str, Any]:
    """``doc`` with ``_errors`` (JSON pointer -> bilingual message) when a formula failed for the
    record's values and left its field empty (docs/forms.md, "Formula errors on a record")."""
    errors = V.formula_errors(compiled, row, children, ctx, access.visible)
    if errors:
        doc["_errors"] = errors
    return doc


# ---------------------------------------------------------------- update

def update_record(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int,
                  patch: Any, expected_version: int | None = None, transition: str | None = None,
                  require_version: bool = False) -> dict[str, Any]:
    """Apply ``patch`` (only the given fields change); child tables given are replaced as a whole.
    ``transition`` names the state-machine transition the caller asks for (else it is found by from/to).
    ``require_version``: a patch that names no row_version (nor ``expected_version``) is refused
    (PreconditionRequired) instead of overwriting whatever is stored now."""
    return apply_update(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, patch=patch,
                        expected_version=expected_version, transition=transition, require_version=require_version)[0]


def apply_update(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int,
                 patch: Any, expected_version: int | None = None, transition: str | None = None,
                 require_version: bool = False) -> tuple[dict[str, Any], bool]:
    compiled = registry.get(conn, form)
    if isinstance(patch, Mapping) and expected_version is None and patch.get("row_version") is not None:
        expected_version = _int_or_none(patch.get("row_version"))
    # the form's update right, or a pending approval task on the record (its editable_fields: the lock)
    access, row = record_row(conn, compiled, ctx.actor, record_id, "update", lock=True)
    if require_version and expected_version is None and isinstance(patch, Mapping):
        raise PreconditionRequired(
            f"修改记录 {record_id} 需要带上读取时的 row_version（请求体中的 row_version 或 If-Match 头）；"
            "请重新读取记录后再提交，以免覆盖他人的修改",
            f"changing record {record_id} needs the row_version you read (row_version in the body or an If-Match "
            "header); read the record again and resend, so that nobody's change is overwritten",
            problems=[Problem("/row_version", "缺少 row_version", "row_version is missing", "required")])
    if expected_version is not None and int(row["row_version"]) != expected_version:
        raise Conflict(f"记录 {record_id} 已被他人修改（当前版本 {row['row_version']}，你的版本 {expected_version}）；请刷新后重试",
                       f"record {record_id} was changed by someone else (now version {row['row_version']}, yours {expected_version}); reload and retry",
                       detail={"current_row_version": int(row["row_version"])})
    old_children = load_children(conn, compiled, [record_id])[record_id]
    problems = ProblemList()
    existing = {**row, **old_children}
    prep = V.read_input(compiled, patch, ctx=ctx, access=access, existing=existing, problems=problems)
    lookup.resolve(conn, registry, [(prep, problems)], actor=ctx.actor)
    merged = {f.key: row.get(f.key) for f in compiled.definition.scalar_fields}
    merged.update(prep.values)
    children = {k: (prep.children.get(k) if prep.children.get(k) is not None else
                    [{c.key: r.get(c.key) for c in compiled.definition.field(k).children} for r in old_children[k]])
                for k in compiled.children}
    hooks = registry.hooks or NO_HOOKS
    hooks.before_update(conn, ctx, compiled, record_id, row, merged,
                        set(prep.values) | {k for k, v in prep.children.items() if v is not None}, transition)
    V.compute(compiled, merged, children, ctx, problems)
    V.check(compiled, merged, children, ctx, problems)
    uniqueness.check(conn, compiled, access, [(merged, problems, "")], exclude_id=record_id)
    uniqueness.raise_problems(problems.items)
    changes = {k: [fieldtypes.dump(compiled.definition.field(k), row.get(k)), fieldtypes.dump(compiled.definition.field(k), v)]
               for k, v in merged.items() if row.get(k) != v}
    for k in prep.children:
        if prep.children[k] is not None:
            changes[k] = {"rows_before": len(old_children[k]), "rows_after": len(prep.children[k])}
    if changes:
        t = compiled.main
        try:
            res = conn.execute(t.update().where(t.c.id == record_id, t.c.row_version == row["row_version"]).values(
                {**{k: merged[k] for k in changes if k in merged}, "row_version": t.c.row_version + 1,
                 "form_version": compiled.version, "updated_at": ctx.now, "updated_by": ctx.actor.id}))
            if res.rowcount != 1:
                raise Conflict(f"记录 {record_id} 已被他人修改；请刷新后重试", f"record {record_id} was changed meanwhile; reload and retry")
            _write_children(conn, compiled, record_id, {k: v for k, v in children.items() if prep.children.get(k) is not None})
        except sa.exc.IntegrityError as exc:
            raise uniqueness.conflict(exc, compiled) from exc
        audit_trail.write(conn, ctx, compiled, record_id, "update", changes)
        hooks.after_update(conn, ctx, compiled, record_id, row, merged, set(changes))
    doc = get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, compiled=compiled)
    return doc, bool(changes)


def _int_or_none(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        raise InvalidInput("row_version 必须是整数", "row_version must be an integer",
                           problems=[Problem("/row_version", "应为整数", "expected an integer")]) from None


# ---------------------------------------------------------------- delete / restore

def delete_record(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int) -> dict[str, Any]:
    """Soft delete: the record disappears from lists and can be restored; unique values are freed."""
    compiled = registry.get(conn, form)
    access, row = record_row(conn, compiled, ctx.actor, record_id, "delete")
    hooks = registry.hooks or NO_HOOKS
    hooks.before_delete(conn, ctx, compiled, record_id, row)
    t = compiled.main
    conn.execute(t.update().where(t.c.id == record_id).values(deleted_at=ctx.now, row_version=t.c.row_version + 1,
                                                              updated_at=ctx.now, updated_by=ctx.actor.id))
    audit_trail.write(conn, ctx, compiled, record_id, "delete", {"row_version": row["row_version"]})
    hooks.after_delete(conn, ctx, compiled, record_id, row)
    return {"id": record_id, "deleted": True}


def restore_record(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int) -> dict[str, Any]:
    compiled = registry.get(conn, form)
    access, row = record_row(conn, compiled, ctx.actor, record_id, "delete", include_deleted=True)
    if row["deleted_at"] is None:
        return get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, compiled=compiled)
    problems = ProblemList()
    uniqueness.check(conn, compiled, access, [({f.key: row.get(f.key) for f in compiled.definition.scalar_fields}, problems, "")],
                     exclude_id=record_id)
    if problems:
        raise Conflict("无法恢复：唯一字段的值已被其他记录使用", "cannot restore: a unique value is now used by another record",
                       problems=problems.items)
    t = compiled.main
    conn.execute(t.update().where(t.c.id == record_id).values(deleted_at=None, row_version=t.c.row_version + 1,
                                                              updated_at=ctx.now, updated_by=ctx.actor.id))
    audit_trail.write(conn, ctx, compiled, record_id, "restore", None)
    (registry.hooks or NO_HOOKS).after_restore(conn, ctx, compiled, record_id)
    return get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, compiled=compiled)


def record_audit(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, record_id: int) -> list[dict[str, Any]]:
    """The audit trail of a record its caller may read (also once deleted), without hidden fields' changes."""
    compiled = registry.get(conn, form)
    access, _ = record_row(conn, compiled, ctx.actor, record_id, "read", include_deleted=True)
    return audit_trail.history(conn, form, record_id, access.visible)
