"""References, users and departments: resolve display text to ids in one batch, check that ids
exist, and fetch display values for output."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec
from mom.engines.records.values import Prepared, is_digits
from mom.platform.db import tables as T
from mom.platform.errors import ProblemList


class Registry(Protocol):
    hooks: Any

    def get(self, conn: Connection, name: str) -> CompiledForm: ...


def target_of(conn: Connection, registry: Registry, f: FieldSpec) -> tuple[sa.Table, Any, Any]:
    """(table, id column, display column) for a reference/user/department field."""
    t = f.value_type
    if t == "user":
        return T.user, T.user.c.id, T.user.c.display_name
    if t == "department":
        return T.department, T.department.c.id, T.department.c.name
    target = registry.get(conn, str(f.raw["form"]))
    key = f.raw.get("display_field") or target.definition.display_field
    return target.main, target.main.c.id, target.main.c[key]


def _alt_column(f: FieldSpec) -> Any:
    return {"user": T.user.c.username, "department": T.department.c.code}.get(f.value_type)


def resolve(conn: Connection, registry: Registry, items: Iterable[tuple[Prepared, ProblemList]]) -> None:
    """Fill pending display-text values with ids and check every id exists; problems per record."""
    items = list(items)
    by_field: dict[tuple[str, str], list[tuple[Any, ProblemList]]] = defaultdict(list)
    fields: dict[tuple[str, str], FieldSpec] = {}
    for prep, problems in items:
        for p in prep.pending:
            k = (p.field.id, p.field.value_type)
            fields[k] = p.field
            by_field[k].append((p, problems))
    for k, entries in by_field.items():
        f = fields[k]
        table, idc, disp = target_of(conn, registry, f)
        texts = sorted({p.text for p, _ in entries})
        found: dict[str, list[int]] = defaultdict(list)
        live = [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []
        for chunk in _chunks(texts, 500):
            conds = [disp.in_(chunk)]
            alt = _alt_column(f)
            if alt is not None:
                conds.append(alt.in_(chunk))
            for rid, text, *rest in conn.execute(sa.select(idc, disp, *( [alt] if alt is not None else [])).where(sa.or_(*conds), *live)):
                for t in {str(text), *(str(r) for r in rest)}:
                    if t in chunk and rid not in found[t]:
                        found[t].append(int(rid))
        for p, problems in entries:
            ids = found.get(p.text, [])
            if len(ids) == 1:
                p.target[p.key] = ids[0]
            elif len(ids) > 1:
                problems.add(p.path, f"“{p.text}”匹配到多条记录（id {ids[:5]}），请改用 id",
                             f"{p.text!r} matches several records (ids {ids[:5]}); give the id instead", "ambiguous")
            elif is_digits(p.text):
                p.target[p.key] = int(p.text)
                p.record.ids_to_check.append((f, int(p.text), p.path))
            else:
                problems.add(p.path, f"找不到“{p.text}”（{f.label['zh-CN']}）", f"no record {p.text!r} found for {f.key}", "not_found")
    _check_ids(conn, registry, items)


def _check_ids(conn: Connection, registry: Registry, items: list[tuple[Prepared, ProblemList]]) -> None:
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    fields: dict[tuple[str, str], FieldSpec] = {}
    for prep, _ in items:
        for f, v, _path in prep.ids_to_check:
            k = (f.id, f.value_type)
            fields[k] = f
            wanted[k].add(v)
    missing: dict[tuple[str, str], set[int]] = {}
    files: dict[int, tuple[int, str, str]] = {}
    for k, ids in wanted.items():
        f = fields[k]
        if f.value_type == "attachment":
            table, idc = T.attachment, T.attachment.c.id
            live = []
            for chunk in _chunks(sorted(ids), 900):
                files.update({int(r.id): (int(r.size), r.filename, r.content_type) for r in conn.execute(
                    sa.select(T.attachment.c.id, T.attachment.c.size, T.attachment.c.filename, T.attachment.c.content_type)
                    .where(T.attachment.c.id.in_(chunk)))})
        else:
            table, idc, _ = target_of(conn, registry, f)
            live = [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []
        have: set[int] = set()
        for chunk in _chunks(sorted(ids), 900):
            have.update(int(r[0]) for r in conn.execute(sa.select(idc).where(idc.in_(chunk), *live)))
        missing[k] = ids - have
    for prep, problems in items:
        for f, v, path in prep.ids_to_check:
            if f.value_type == "attachment" and v in files:
                _check_file(f, files[v], path, problems)
            if v in missing.get((f.id, f.value_type), ()):
                what = {"user": "用户", "department": "部门", "attachment": "附件"}.get(f.value_type, f"表单 {f.raw.get('form')} 的记录")
                problems.add(path, f"{what} id {v} 不存在", f"{f.value_type} id {v} does not exist", "not_found")


def _check_file(f: FieldSpec, file: tuple[int, str, str], path: str, problems: ProblemList) -> None:
    size, name, ctype = file
    limit = f.raw.get("max_size_mb")
    if limit is not None and size > float(limit) * 1024 * 1024:
        problems.add(path, f"附件 {name} 超过 {limit} MB", f"attachment {name} is larger than {limit} MB", "max_size")
    accept = f.raw.get("accept")
    if accept:
        lower = name.lower()
        ok = any(lower.endswith(a.lower()) if a.startswith(".") else
                 (ctype.startswith(a[:-1]) if a.endswith("/*") else ctype == a) for a in accept)
        if not ok:
            problems.add(path, f"附件 {name} 的类型不被接受（允许：{', '.join(accept)}）",
                         f"attachment {name} is not an accepted type ({', '.join(accept)})", "accept")


def display_values(conn: Connection, registry: Registry, compiled: CompiledForm, rows: list[Mapping[str, Any]],
                   keys: Iterable[str]) -> dict[str, dict[int, Any]]:
    out: dict[str, dict[int, Any]] = {}
    for key in keys:
        f = compiled.definition.field(key)
        if f is None or f.value_type not in ("reference", "user", "department"):
            continue
        ids = {r[key] for r in rows if r.get(key) is not None}
        if not ids:
            continue
        table, idc, disp = target_of(conn, registry, f)
        out[key] = {int(i): d for i, d in conn.execute(sa.select(idc, disp).where(idc.in_(sorted(ids))))}
    return out


def user_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): n for i, n in conn.execute(sa.select(T.user.c.id, T.user.c.display_name).where(T.user.c.id.in_(sorted(ids))))}


def _chunks(seq: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
