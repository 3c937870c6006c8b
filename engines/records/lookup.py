"""References, users and departments: resolve display text to ids in one batch, check that ids
exist, and fetch display values for output.

A reference may target only a record its writer may read (the target form's read permission and
row scope), and display text is matched only against a field the writer may see: a record out of
reach answers exactly like one that does not exist (no existence leak). Ids this record already
holds (an unchanged value sent back by an edit form) are not checked again."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec, text_of
from mom.engines.records import display
from mom.engines.records.access import form_access
from mom.engines.records.context import Actor
from mom.engines.records.values import Prepared, is_digits
from mom.platform.db import tables as T
from mom.platform.errors import ProblemList


class Registry(Protocol):
    hooks: Any

    def get(self, conn: Connection, name: str) -> CompiledForm: ...


def target_of(conn: Connection, registry: Registry, f: FieldSpec, actor: Actor) -> tuple[sa.Table, Any, Any, list[Any]]:
    """(table, id column, text column or None, conditions) of the records ``actor`` may point a
    reference/user/department field at: live rows, in the target form's read scope; the text column
    is the display field the actor may see (None: text look-up matches nothing)."""
    t = f.value_type
    if t in ("user", "department"):
        table, text = (T.user, T.user.c.display_name) if t == "user" else (T.department, T.department.c.name)
        return table, table.c.id, text, [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []
    target = registry.get(conn, str(f.raw["form"]))
    access = form_access(target, actor)
    live = [target.main.c.deleted_at.is_(None)]
    if not access.can("read"):
        return target.main, target.main.c.id, None, [*live, sa.false()]
    scope = access.scope("read")
    key = display.text_column(target, access, f)
    return (target.main, target.main.c.id, target.main.c[key] if key is not None else None,
            live if scope is None else [*live, scope])


def unusable(f: FieldSpec, shown: str, en_shown: str | None = None, *, imported: bool = False) -> tuple[str, str]:
    """The one message for a reference value that names no record the writer may use: the same
    whether the record does not exist or is out of the writer's reach. ``imported``: the value came
    from a row of an imported file, so the user checks the file rather than picks from a list."""
    if imported:
        return (f"{f.label['zh-CN']}：找不到可用的记录 {shown}；请检查文件中的这个值与一条你可查看的记录的编码或名称完全一致",
                f"{f.label['en']}: no record {en_shown or shown} that you may use; check that the value in the file "
                "matches the code or name of an existing record you can see")
    return (f"{f.label['zh-CN']}：找不到可用的记录 {shown}；请从列表中选择，或填写可查看记录的 id",
            f"{f.label['en']}: no record {en_shown or shown} that you may use; pick one from the list or give the id of a record you can see")


def _alt_column(f: FieldSpec) -> Any:
    return {"user": T.user.c.username, "department": T.department.c.code}.get(f.value_type)


def resolve(conn: Connection, registry: Registry, items: Iterable[tuple[Prepared, ProblemList]], *, actor: Actor,
            imported: bool = False) -> None:
    """Fill pending display-text values with ids and check every id names a record ``actor`` may
    use; problems per record (``imported``: worded for the rows of an imported file)."""
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
        table, idc, disp, reach = target_of(conn, registry, f, actor)
        texts = sorted({p.text for p, _ in entries})
        found: dict[str, list[int]] = defaultdict(list)
        alt = _alt_column(f)
        if disp is not None and not isinstance(disp.type, sa.String):
            disp = sa.cast(disp, sa.Text)   # a number or date shown as text is matched as text
        for chunk in _chunks(texts, 500) if disp is not None or alt is not None else ():
            conds = [c.in_(chunk) for c in (disp, alt) if c is not None]
            cols = [c for c in (disp, alt) if c is not None]
            for rid, *shown in conn.execute(sa.select(idc, *cols).where(sa.or_(*conds), *reach)):
                for t in {str(x) for x in shown}:
                    if t in chunk and rid not in found[t]:
                        found[t].append(int(rid))
        over: set[str] = set()
        too_many = ("", "")
        if f.raw.get("create_missing") and f.value_type == "reference" and disp is not None and reach_all(reach):
            missing = [t for t in texts if not found.get(t) and not is_digits(t)]
            target = registry.get(conn, str(f.raw["form"])) if missing else None
            # a person's write is capped; the system's (a connector, an ERP push, a pack migration) is not
            if target is not None and actor.id is not None and _made_here(conn) + len(missing) > CREATE_MAX:
                over, missing = set(missing), []     # all or nothing: none made, every such value refused
                too_many = _too_many(f, target, len(over))
            made = registry.hooks.create_from_text(conn, target, missing) if missing else {}
            _made_here(conn, len(made))
            for t, rid in made.items():
                found[t] = [int(rid)]
        for p, problems in entries:
            ids = found.get(p.text, [])
            if p.text in over:
                problems.add(p.path, *too_many, "too_many_new")
            elif len(ids) == 1:
                p.target[p.key] = ids[0]
            elif len(ids) > 1:
                problems.add(p.path, f"“{p.text}”匹配到多条记录（id {ids[:5]}），请改用 id",
                             f"{p.text!r} matches several records (ids {ids[:5]}); give the id instead", "ambiguous")
            elif is_digits(p.text) and int(p.text) <= (fieldtypes.type_of(f).id_max or 0):
                p.target[p.key] = int(p.text)
                p.record.ids_to_check.append((f, int(p.text), p.path))
            else:
                problems.add(p.path, *unusable(f, f"“{p.text}”", repr(p.text), imported=imported), "not_found")
    _check_ids(conn, registry, items, actor, imported)


#: records one write (one transaction) may make from typed names (``create_missing``): a bulk of 2,000 rows naming
#: 2,000 new suppliers is a data problem to look at, not 2,000 new master records
CREATE_MAX = 20
_MADE = "mom_records_made_from_text"


def _made_here(conn: Connection, add: int = 0) -> int:
    """Records made from text in this transaction so far (``add``: count more)."""
    count = _of_transaction(conn, _MADE, lambda: [0])
    count[0] += add
    return int(count[0])


def _too_many(f: FieldSpec, target: CompiledForm, n: int) -> tuple[str, str]:
    label = text_of(target.definition.label, target.name)
    zh_form, en_form = label["zh-CN"], label["en"]
    return (f"{f.label['zh-CN']}：一次最多自动建立 {CREATE_MAX} 个新的{zh_form}记录，本次的名称中有 {n} 个在{zh_form}中找不到；"
            f"请先在{zh_form}中建档或分批提交（没有保存任何内容）",
            f"{f.label['en']}: one write makes at most {CREATE_MAX} new {en_form} records from names, and {n} of these "
            f"names are not in {en_form}; add them to {en_form} first or send fewer at a time (nothing was saved)")


def reach_all(reach: list[Any]) -> bool:
    """The writer may use every live record of the target (no row scope): only then may a missing name be
    made into a record — otherwise a record out of the writer's reach would look missing."""
    return len(reach) == 1


def _files(f: FieldSpec) -> bool:
    """The field's values are uploaded files' ids (its type says so), not row ids."""
    ft = fieldtypes.type_of(f)
    return ft is not None and ft.files


_VOUCHED = "mom_records_vouched"


def vouch(conn: Connection, form: str, ids: Iterable[int]) -> None:
    """Records of ``form`` the caller has just read, live, in this transaction, for a writer who may
    read every live record of ``form`` (its read right and no row scope, e.g. an engine that locked
    the operation task a job report names): a reference to them is not looked up again."""
    _of_transaction(conn, _VOUCHED, set).update((form, int(i)) for i in ids)


def _vouched(conn: Connection) -> set[tuple[str, int]]:
    return _of_transaction(conn, _VOUCHED) or set()


def _of_transaction(conn: Connection, key: str, make: Any = None) -> Any:
    """What ``conn.info[key]`` holds for the current transaction (a new one's starts from ``make()``; without
    ``make``: None until something was stored) — memos that must not outlive the transaction they describe."""
    tx = conn.get_transaction()
    memo = conn.info.get(key)
    if memo is None or memo[0] is not tx:
        if make is None:
            return None
        memo = conn.info[key] = (tx, make())
    return memo[1]


def _check_ids(conn: Connection, registry: Registry, items: list[tuple[Prepared, ProblemList]], actor: Actor,
               imported: bool = False) -> None:
    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    fields: dict[tuple[str, str], FieldSpec] = {}
    for prep, _ in items:
        if prep.held:   # values the record already holds are not new references
            prep.ids_to_check[:] = [c for c in prep.ids_to_check
                                    if _files(c[0]) or (c[0].id, c[1]) not in prep.held]
        for f, v, _path in prep.ids_to_check:
            k = (f.id, f.value_type)
            fields[k] = f
            wanted[k].add(v)
    missing: dict[tuple[str, str], set[int]] = {}
    files: dict[int, tuple[int, str, str]] = {}
    for k, ids in wanted.items():
        f = fields[k]
        if _files(f):   # public file ids (tokens); an integer is never one
            for chunk in _chunks(sorted(v for v in ids if isinstance(v, str)), 900):
                files.update({r.token: (int(r.size), r.filename, r.content_type) for r in conn.execute(
                    sa.select(T.attachment.c.token, T.attachment.c.size, T.attachment.c.filename, T.attachment.c.content_type)
                    .where(T.attachment.c.token.in_(chunk)))})
            missing[k] = {v for v in ids if v not in files}
            continue
        elif f.value_type == "user" and actor.id is not None and ids == {actor.id}:
            continue            # the writer themselves (an operator's own report): signed in, so a live user
        missing[k] = ids - _existing(conn, registry, f, actor, ids)
    for prep, problems in items:
        for f, v, path in prep.ids_to_check:
            if _files(f) and v in files:
                _check_file(f, files[v], path, problems)
            if v in missing.get((f.id, f.value_type), ()) and f.value_type == "reference":
                problems.add(path, *unusable(f, f"（id {v}）", f"(id {v})", imported=imported), "not_found")
            elif v in missing.get((f.id, f.value_type), ()):
                what = {"user": "用户", "department": "部门", "attachment": "附件"}.get(f.value_type, f"表单 {f.raw.get('form')} 的记录")
                problems.add(path, f"{what} id {v} 不存在", f"{f.value_type} id {v} does not exist", "not_found")


def _existing(conn: Connection, registry: Registry, f: FieldSpec, actor: Actor, ids: set[int]) -> set[int]:
    """Those of ``ids`` naming a record ``actor`` may point reference/user/department field ``f`` at
    (:func:`target_of`'s rows: live, in the target form's read scope). The statement is built once
    per target form version when the reader has no row scope there (a scope is the reader's own:
    built each time, as before); a form the reader may not read has none of them."""
    if f.value_type in ("user", "department"):
        table = T.user if f.value_type == "user" else T.department
        q = _PEOPLE.get(f.value_type)
        if q is None:
            q = _PEOPLE[f.value_type] = sa.select(table.c.id).where(
                table.c.id.in_(sa.bindparam("ids", expanding=True)), *([table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []))
        return _ids_found(conn, q, ids)
    target = registry.get(conn, str(f.raw["form"]))
    access = form_access(target, actor)
    if not access.can("read"):
        return set()
    scope = access.scope("read")
    t = target.main
    if scope is not None:
        return _ids_found(conn, sa.select(t.c.id).where(t.c.id.in_(sa.bindparam("ids", expanding=True)), t.c.deleted_at.is_(None), scope), ids)
    # readable, no row scope: ids vouched live in this transaction are not read again
    vouched = _vouched(conn)
    have = {i for i in ids if (target.name, i) in vouched}
    kept = _keeping(conn, target.name)
    if kept is None:
        q = target.memo.get("lookup_ids")
        if q is None:
            q = target.memo["lookup_ids"] = sa.select(t.c.id).where(t.c.id.in_(sa.bindparam("ids", expanding=True)),
                                                                    t.c.deleted_at.is_(None))
        return have | _ids_found(conn, q, ids - have)
    q = target.memo.get("lookup_rows")
    if q is None:
        q = target.memo["lookup_rows"] = sa.select(t).where(t.c.id.in_(sa.bindparam("ids", expanding=True)), t.c.deleted_at.is_(None))
    for chunk in _chunks(sorted(ids - have), 900):
        for r in conn.execute(q, {"ids": chunk}).mappings():
            kept[int(r["id"])] = dict(r)
            have.add(int(r["id"]))
    return have


_PEOPLE: dict[str, Any] = {}


def _ids_found(conn: Connection, q: Any, ids: set[int]) -> set[int]:
    have: set[int] = set()
    for chunk in _chunks(sorted(ids), 900):
        have.update(int(r[0]) for r in conn.execute(q, {"ids": chunk}))
    return have


_KEEP = "mom_records_keep_rows"


@contextmanager
def keeping_rows(conn: Connection, forms: Iterable[str]) -> Iterator[dict[str, dict[int, dict[str, Any]]]]:
    """Inside, the reference checks of records written on ``conn`` read the whole live rows of
    ``forms`` they check (when the writer may read every live row of the form: no row scope) and keep
    them, by form and id, in the dict this yields: an engine posting the record it has just created
    uses the items and locations its references name without reading them again."""
    kept: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in forms}
    outer = conn.info.get(_KEEP)
    conn.info[_KEEP] = kept
    try:
        yield kept
    finally:
        if outer is None:
            conn.info.pop(_KEEP, None)
        else:
            conn.info[_KEEP] = outer


def _keeping(conn: Connection, form: str) -> dict[int, dict[str, Any]] | None:
    kept = conn.info.get(_KEEP)
    return kept.get(form) if kept is not None else None


def _check_file(f: FieldSpec, file: tuple[int, str, str], path: str, problems: ProblemList) -> None:
    size, name, ctype = file
    limit = f.raw.get("max_size_mb")
    if limit is not None and size > float(limit) * 1024 * 1024:
        problems.add(path, f"附件 {name} 超过本栏 {limit} MB 的上限：请移除它（文件旁的 ×），再选择更小的文件",
                     f"attachment {name} is larger than this field's limit of {limit} MB: remove it (× beside it) "
                     "and choose a smaller file", "max_size")
    accept = f.raw.get("accept")
    if accept:
        lower = name.lower()
        ok = any(lower.endswith(a.lower()) if a.startswith(".") else
                 (ctype.startswith(a[:-1]) if a.endswith("/*") else ctype == a) for a in accept)
        if not ok:
            problems.add(path, f"附件 {name} 的类型不被接受（允许：{', '.join(accept)}）",
                         f"attachment {name} is not an accepted type ({', '.join(accept)})", "accept")


def display_values(conn: Connection, registry: Registry, compiled: CompiledForm, rows: list[Mapping[str, Any]],
                   keys: Iterable[str], *, actor: Actor) -> dict[str, dict[int, Any]]:
    """key -> {referenced id: display text} for ``rows`` (stored records), as ``actor`` may see them:
    out of the actor's reach, :data:`display.NO_ACCESS` (see :mod:`mom.engines.records.display`)."""
    return display.values_for(conn, registry, compiled, rows, keys, actor)


def user_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): n for i, n in conn.execute(sa.select(T.user.c.id, T.user.c.display_name).where(T.user.c.id.in_(sorted(ids))))}


def _chunks(seq: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
