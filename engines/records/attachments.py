"""Attachments of records: after every write (API, import, workflow edits, rules) the files a record
names in its attachment fields, main and child rows, are tied to it in ``mom_attachment_link``, so
that they are read under the record's permissions. A record may name only files its writer uploaded
or may already read; anything else refuses the whole write.

Installed as one of the records service's hook sets through ``mom_record_hooks``
(chained by ``mom.platform.composition``)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec
from mom.engines.records.access import record_readable
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform import file_access, files
from mom.platform.errors import InvalidInput, Problem
from mom.platform.hookspecs import hookimpl

#: (path of the field: "key" or "table.key", table key or "", field key)
Spot = tuple[str, str, str]


def _holds_files(f: FieldSpec) -> bool:
    ft = fieldtypes.type_of(f)
    return ft is not None and ft.files


def spots(compiled: CompiledForm) -> list[Spot]:
    """Where a form keeps files (computed once per compiled version)."""
    got = compiled.memo.get("attachment_spots")
    if got is None:
        got = [(f.key, "", f.key) for f in compiled.definition.scalar_fields if _holds_files(f)]
        got += [(f"{t.key}.{c.key}", t.key, c.key) for t in compiled.definition.table_fields
                for c in t.children if _holds_files(c)]
        compiled.memo["attachment_spots"] = got
    return got


class FileHooks(RecordHooks):
    """Keeps a record's file links in step with its attachment values."""

    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        where = spots(compiled)
        if not where:
            return
        prefix = {int(r["id"]): (f"/{i}" if len(rows) > 1 else "") for i, r in enumerate(rows)}
        named = _named(conn, compiled, where, {int(r["id"]): r for r in rows})
        if named:
            sync(conn, self.forms, ctx, compiled, named, prefix)

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        where = spots(compiled)
        if not any((table or key) in changed for _, table, key in where):
            return
        sync(conn, self.forms, ctx, compiled, _named(conn, compiled, where, {record_id: new}) or {record_id: []},
             {record_id: ""})


def _named(conn: Connection, compiled: CompiledForm, where: list[Spot],
           rows: Mapping[int, Mapping[str, Any]]) -> dict[int, list[tuple[str, str, str]]]:
    """record id -> [(token, field path, problem path)] as stored now."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    for rid, row in rows.items():
        for path, table, key in where:
            if not table:
                for j, v in enumerate(row.get(key) or []):
                    out.setdefault(rid, []).append((v, path, f"/{key}/{j}"))
    tables: dict[str, list[str]] = {}
    for _, table, key in where:
        if table:
            tables.setdefault(table, []).append(key)
    ids = sorted(rows)
    for table, keys in tables.items():
        t = compiled.children[table]
        for i in range(0, len(ids), 500):
            for r in conn.execute(sa.select(t.c.parent_id, t.c.seq, *[t.c[k] for k in keys])
                                  .where(t.c.parent_id.in_(ids[i:i + 500]))):
                m = r._mapping
                for k in keys:
                    for j, v in enumerate(m[k] or []):
                        out.setdefault(int(m["parent_id"]), []).append((v, f"{table}.{k}", f"/{table}/{int(m['seq']) - 1}/{k}/{j}"))
    return out


def sync(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm,
         named: Mapping[int, Iterable[tuple[str, str, str]]], prefix: Mapping[int, str]) -> None:
    """Make the links of these records what their values name; refuse files the writer may not use."""
    named = {rid: list(v) for rid, v in named.items()}
    rows = files.rows_by_token(conn, (tok for items in named.values() for tok, _, _ in items))
    have: dict[int, dict[tuple[int, str], int]] = {}
    for link in files.links_of(conn, kind="record", name=compiled.name, ref_ids=named):
        have.setdefault(int(link.ref_id), {})[(int(link.attachment_id), link.field)] = int(link.id)
    problems: list[Problem] = []
    add: list[tuple[int, int, str]] = []
    drop: list[int] = []
    usable: dict[int, bool] = {}
    for rid, items in named.items():
        old = have.get(rid, {})
        mine = {a for a, _ in old}                  # files this record already holds stay usable
        want: set[tuple[int, str]] = set()
        for token, field, path in items:
            row = rows.get(token) if isinstance(token, str) else None
            if row is None:                          # unknown ids were refused before the write
                continue
            key = (int(row.id), field)
            if key in want:
                continue
            want.add(key)
            if key in old:
                continue
            if row.id not in mine:
                if row.id not in usable:
                    usable[row.id] = file_access.may_use(conn, forms, ctx.actor, row)
                if not usable[row.id]:
                    problems.append(_refused(prefix.get(rid, "") + path, token))
                    continue
            add.append((rid, int(row.id), field))
        drop += [lid for k, lid in old.items() if k not in want]
    if problems:
        raise InvalidInput(f"记录有 {len(problems)} 处错误，未保存", f"{len(problems)} problem(s); nothing was saved",
                           problems=problems)
    files.drop_links(conn, drop)
    for rid, aid, field in add:
        files.add_links(conn, [aid], kind="record", name=compiled.name, ref_id=rid, field=field)


def _refused(path: str, token: str) -> Problem:
    return Problem(path, f"不能使用附件 {token}：只能使用你自己上传的文件，或你有权查看的记录里的文件；请自己上传该文件",
                   f"attachment {token} cannot be used: use a file you uploaded yourself or one in a record you may read; "
                   f"upload the file yourself", "not_yours")


def _record_link_readable(conn: Connection, forms: Any, actor: Any, link: Any) -> bool:
    return record_readable(conn, forms, actor, link.name, int(link.ref_id), link.field)


@hookimpl
def mom_file_owners() -> list[file_access.FileOwner]:
    """A record's attachments are read by whoever may read the record and see the field."""
    return [file_access.FileOwner("record", _record_link_readable)]


@hookimpl(trylast=True)
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Ties the files a record names to it after every write: last in the chain, once every other
    hook has changed the values it will."""
    return FileHooks(forms)
