"""Listing records: filters, sorting, keyset paging and field selection, all compiled into one SQL
query with the caller's row scope; hidden fields can be neither filtered nor sorted on.

Filter syntax (query string): ``<field>[.<display field of a reference>][__<op>]=<value>`` with ops
eq ne lt le gt ge in between like isnull (``in`` and ``between`` take comma-separated values).
"""
from __future__ import annotations

import base64
import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec, text_of
from mom.engines.records import display, lookup
from mom.engines.records.access import FormAccess, form_access, granting_entries
from mom.engines.records.context import Ctx
from mom.engines.records.service import load_children, to_doc
from mom.platform.errors import InsufficientScope, InvalidInput, Problem, did_you_mean

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "between", "like", "isnull")
SORTABLE_SYSTEM = ("id", "created_at", "updated_at", "created_by", "updated_by", "row_version", "form_version", "department_id")
MAX_LIMIT = 1000
MAX_SORT_KEYS = 10   # issue 16 review: SQLite refuses an ORDER BY of more than 2000 terms
MAX_SEARCH_CHARS = 100   # the quick search: a longer text is refused (422), never cut silently
MAX_SEARCH_FIELDS = 12   # … and the number of fields one search looks in (one OR of LIKEs)
SEARCH_TYPES = ("text", "long_text", "barcode", "autonumber", "select")


@dataclass(frozen=True)
class Filter:
    path: str
    op: str
    value: Any


def parse_filters(params: Mapping[str, Any], reserved: set[str]) -> list[Filter]:
    out = []
    for name, value in params.items():
        if name in reserved:
            continue
        path, _, op = name.partition("__")
        op = op or "eq"
        out.append(Filter(path, op, value))
    return out


def _bad(path: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(zh, en, problems=[Problem(path, zh, en, "filter")])


def _field_column(conn: Connection, registry: lookup.Registry, compiled: CompiledForm, access: FormAccess,
                  ctx: Ctx, path: str) -> tuple[Any, FieldSpec | None, Any]:
    """(column, field spec, wrapper) for a filter/sort path; a reference path adds a subquery wrapper."""
    t = compiled.main
    key, _, sub = path.partition(".")
    visible = [f.key for f in compiled.definition.scalar_fields if access.visible(f.key)]
    if key in SORTABLE_SYSTEM and not sub:
        return t.c[key], None, None
    f = compiled.definition.field(key)
    if f is None or f.is_table or not access.visible(key):
        raise _bad(f"/{path}", f"未知字段 {key}{did_you_mean(key, visible)}", f"unknown field {key}{did_you_mean(key, visible)}")
    if not sub:
        return t.c[key], f, None
    if f.value_type != "reference":
        raise _bad(f"/{path}", f"{key} 不是引用字段，不能用 {key}.{sub}", f"{key} is not a reference; {key}.{sub} is not allowed")
    target = registry.get(conn, str(f.raw["form"]))
    if not ctx.actor.reads_form(target.name):
        need = f"records:{target.name}:read"
        raise InsufficientScope(f"此 API 令牌没有权限范围 {need}，不能按 {path} 过滤或排序；请改用含 {need} 的令牌",
                                f"this API token lacks the scope {need}, needed to filter or sort on {path}; "
                                f"use a token created with {need}", detail={"missing_scope": need, "filter": path})
    tacc = form_access(target, ctx.actor)
    tf = target.definition.field(sub)
    if not tacc.can("read") or tf is None or tf.is_table or not tacc.visible(sub):
        raise _no_sub_field(f"/{path}", f, target, tacc)
    scope = tacc.scope("read")

    def wrap(cond: Any) -> Any:
        q = sa.select(target.main.c.id).where(cond, target.main.c.deleted_at.is_(None))
        if scope is not None:
            q = q.where(scope)
        return t.c[key].in_(q)

    return target.main.c[sub], tf, wrap


def _no_sub_field(path: str, f: FieldSpec, target: CompiledForm, tacc: FormAccess) -> InvalidInput:
    """A filter or sort on a field of the records a reference points at that the reader has no such field to
    see: one message whether it does not exist or is hidden (no leak), worded with labels, listing the fields
    the reader may use."""
    label = text_of(target.definition.label, target.name)
    shown = [g.label for g in target.definition.scalar_fields if tacc.can("read") and tacc.visible(g.key)][:12]
    zh = (f"按「{f.label['zh-CN']}」的字段过滤或排序：{label['zh-CN']}中没有你可查看的这个字段"
          + (f"；可用：{'、'.join(g['zh-CN'] for g in shown)}" if shown else ""))
    en = (f"filter or sort on a field of {f.label['en']}: {label['en']} has no such field that you may see"
          + (f"; available: {', '.join(g['en'] for g in shown)}" if shown else ""))
    return _bad(path, zh, en)


def int_value(v: Any, path: str, largest: int) -> int:
    """A filter value for an integer column: digits within the column's range, else 422 at ``path``."""
    text = str(v).strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit() and len(text) <= 20 and -largest <= int(text) <= largest):
        raise _bad(f"/{path}", f"{path} 应为 {largest} 以内的整数", f"{path} must be an integer within {largest}")
    return int(text)


def _coerce(f: FieldSpec | None, v: Any, ctx: Ctx, path: str) -> Any:
    if f is None:   # a system column: the id (64-bit), times, or a 32-bit number (versions, users, department)
        if path in ("created_at", "updated_at"):
            try:
                return fieldtypes.coerce(_DT, v, tz=ctx.tz)
            except fieldtypes.FieldError as exc:
                raise _bad(f"/{path}", f"过滤值无效：{exc.zh}", f"invalid filter value: {exc.en}") from None
        return int_value(v, path, 2**63 - 1 if path == "id" else 2**31 - 1)
    ft = fieldtypes.type_of(f)
    if ft is not None and ft.id_max is not None:
        if not str(v).strip().isascii() or not str(v).strip().isdigit():
            raise _bad(f"/{path}", f"{path} 需要 id（或用 {path}.<字段> 按名称过滤）",
                       f"{path} takes an id (or filter on {path}.<field>)")
        return int_value(v, path, ft.id_max)
    spec = f
    if ft is not None and ft.json_list:
        raise _bad(f"/{path}", f"{path} 不支持此过滤", f"{path} cannot be filtered this way")
    try:
        return fieldtypes.coerce(spec, v, tz=ctx.tz)
    except fieldtypes.FieldError as exc:
        raise _bad(f"/{path}", f"过滤值无效：{exc.zh}", f"invalid filter value: {exc.en}") from None


_DT = FieldSpec(id="_dt", key="_dt", type="datetime", raw={"type": "datetime"}, label={"zh-CN": "时间", "en": "time"})


def filter_clause(conn: Connection, registry: lookup.Registry, compiled: CompiledForm, access: FormAccess, ctx: Ctx,
                  flt: Filter) -> Any:
    if flt.op not in OPS:
        raise _bad(f"/{flt.path}__{flt.op}", f"未知运算 {flt.op}{did_you_mean(flt.op, OPS)}（可用：{', '.join(OPS)}）",
                   f"unknown operator {flt.op}{did_you_mean(flt.op, OPS)} (use {', '.join(OPS)})")
    col, f, wrap = _field_column(conn, registry, compiled, access, ctx, flt.path)
    v = flt.value
    if flt.op == "isnull":
        want = str(v).lower() in ("1", "true", "yes", "") if not isinstance(v, bool) else v
        cond = col.is_(None) if want else col.is_not(None)
    elif flt.op in ("in", "between"):
        items = v if isinstance(v, list) else [x for x in str(v).split(",")]
        vals = [_coerce(f, x.strip() if isinstance(x, str) else x, ctx, flt.path) for x in items]
        if flt.op == "between":
            if len(vals) != 2:
                raise _bad(f"/{flt.path}", "between 需要两个值：a,b", "between takes two values: a,b")
            cond = col.between(vals[0], vals[1])
        else:
            cond = col.in_(vals)
    elif flt.op == "like":
        # ``%`` is the one wildcard a user writes; ``_`` and ``\`` are plain characters (codes hold them);
        # without a ``%`` the text matches anywhere ("contains"), as the web app's quick search wants
        s = str(v).replace("\\", "\\\\").replace("_", "\\_")
        pattern = s if "%" in s else f"%{s}%"
        # LIKE is a text operator (PostgreSQL has none for numbers or dates): other columns as their text
        text_like = f is not None and (ft := fieldtypes.type_of(f)) is not None and ft.stored_as_text
        cond = (col if text_like else sa.cast(col, sa.String)).like(pattern, escape="\\")
    else:
        val = _coerce(f, v, ctx, flt.path)
        try:   # only the operator asked for: a yes/no field has no order (``active__lt=true`` is a 422, not a 500)
            cond = _COMPARE[flt.op](col, val)
        except sa.exc.ArgumentError:
            raise _bad(f"/{flt.path}__{flt.op}", "是/否字段只能用 等于（eq）、不等于（ne）或 为空（isnull）筛选",
                       "a yes/no field is filtered with eq, ne or isnull only") from None
        if flt.op == "ne":
            cond = sa.or_(cond, col.is_(None))
    return wrap(cond) if wrap else cond


_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
            "ge": operator.ge}


def search_fields(compiled: CompiledForm, access: FormAccess) -> list[FieldSpec]:
    """The fields the quick search looks in, as the reader sees them: the display field, then the codes
    (auto-numbers, barcodes) and the fields of the form's declared indexes, then the other text and select
    fields in the definition's order; hidden fields never; at most :data:`MAX_SEARCH_FIELDS`."""
    defn = compiled.definition
    indexed = {k for ix in defn.indexes for k in ix.fields}
    cands = [f for f in defn.scalar_fields if f.type in SEARCH_TYPES and access.visible(f.key) and f.key in compiled.main.c]
    rank = {f.key: (0 if f.key == defn.display_field else 1 if f.type in ("autonumber", "barcode") or f.key in indexed else 2)
            for f in cands}
    return sorted(cands, key=lambda f: rank[f.key])[:MAX_SEARCH_FIELDS]   # sorted() is stable: the order stays


def search_clause(compiled: CompiledForm, access: FormAccess, text: str) -> Any:
    """The quick search ``q``: records where any searched field contains ``text`` (case as stored; a
    select matches by its options' labels, in either language); digits also match the record's id.
    Part of the same WHERE as the filters and the row scope, so it never widens what the reader sees."""
    text = str(text).strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise _bad("/q", f"搜索内容最多 {MAX_SEARCH_CHARS} 个字符（现为 {len(text)}）；请缩短后再搜",
                   f"the search text takes at most {MAX_SEARCH_CHARS} characters (got {len(text)}); shorten it")
    if not text:
        return None
    t = compiled.main
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    low = text.lower()
    conds = []
    for f in search_fields(compiled, access):
        if f.type == "select":
            hits = [v for v, label in f.option_labels.items()
                    if low in v.lower() or any(low in str(x).lower() for x in label.values())]
            if hits:
                conds.append(t.c[f.key].in_(hits))
        else:
            conds.append(t.c[f.key].ilike(pattern, escape="\\"))
    if text.isascii() and text.isdigit() and len(text) <= 18:
        conds.append(t.c.id == int(text))
    return sa.or_(*conds) if conds else sa.false()


def read_scope(compiled: CompiledForm, actor: Any, action: str = "read") -> dict[str, Any]:
    """The row scope ``actor`` reads the form under, in words: ``kind`` all / own / department /
    condition (several kinds: the narrowest words that are still true, "limited"), ``limited`` and
    ``text`` {zh-CN, en} for a notice. Counts nothing: it says only that the view is limited."""
    if actor.is_admin:
        kinds = {"all"}
    else:
        kinds = set()
        for p in granting_entries(compiled.definition.permissions, actor):
            if action in p.get("actions", []):
                sc = p.get("scope", "all")
                kinds.add("all" if sc in (None, "all") else sc if sc in ("own", "department") else "condition")
    if not kinds or "all" in kinds:
        return {"kind": "all", "limited": False, "text": None}
    kind = kinds.pop() if len(kinds) == 1 else "limited"
    return {"kind": kind, "limited": True, "text": dict(zip(("zh-CN", "en"), _SCOPE_TEXT[kind]))}


_ASK = ("如需查看全部记录，请联系表单管理员", "to see all records, ask the form's administrator")
_SCOPE_TEXT = {
    "own": (f"只显示你创建的记录；{_ASK[0]}", f"Only the records you created are shown; {_ASK[1]}."),
    "department": (f"只显示你所在部门的记录；{_ASK[0]}", f"Only your department's records are shown; {_ASK[1]}."),
    "condition": (f"只显示符合你的数据权限条件的记录；{_ASK[0]}", f"Only records matching your data permission are shown; {_ASK[1]}."),
    "limited": (f"只显示你有权查看的部分记录；{_ASK[0]}", f"Only part of the records is shown (your data permission); {_ASK[1]}."),
}


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


_BAD_CURSOR = ("分页游标无效；请使用上一页返回的 next", "invalid cursor; use the next value of the previous page")
_INT_KEYS = {"id", "created_by", "updated_by", "row_version", "form_version", "department_id"}


def _decode(cursor: str) -> list[Any]:
    """The sort values a cursor carries: a JSON list of scalars (anything else is a crafted cursor: 422)."""
    try:
        vals = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except Exception:  # noqa: BLE001
        raise _bad("/after", *_BAD_CURSOR) from None
    if not isinstance(vals, list) or not all(v is None or isinstance(v, (str, int, float, bool)) for v in vals):
        raise _bad("/after", *_BAD_CURSOR)
    return vals


def list_records(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, filters: list[Filter] = (),
                 sort: str | None = None, limit: int = 50, after: str | None = None, fields: list[str] | None = None,
                 include_deleted: bool = False, only_deleted: bool = False, with_count: bool = False,
                 expand_children: bool = False, action: str = "read", search: str | None = None) -> dict[str, Any]:
    """One page of records the reader may see (filters, quick ``search``, sort, keyset ``after``) and,
    as ``scope``, the row scope the reader reads under in words (see :func:`read_scope`)."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require(action)
    t = compiled.main
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("/limit", f"limit 必须在 1 到 {MAX_LIMIT} 之间", f"limit must be between 1 and {MAX_LIMIT}")
    conds = [filter_clause(conn, registry, compiled, access, ctx, f) for f in filters]
    if search:
        found = search_clause(compiled, access, search)
        if found is not None:
            conds.append(found)
    scope = access.scope(action)
    if scope is not None:
        conds.append(scope)
    if only_deleted:
        conds.append(t.c.deleted_at.is_not(None))
    elif not include_deleted:
        conds.append(t.c.deleted_at.is_(None))
    keys: list[tuple[Any, bool, str]] = []
    parts = [p.strip() for p in (sort or "").split(",") if p.strip()]
    if len(parts) > MAX_SORT_KEYS:
        raise _bad("/sort", f"sort 最多 {MAX_SORT_KEYS} 个字段（收到 {len(parts)} 个）；请减少排序字段",
                   f"sort takes at most {MAX_SORT_KEYS} fields (got {len(parts)}); sort on fewer fields")
    for part in parts:
        desc = part.startswith("-")
        name = part.lstrip("-+")
        col, f, wrap = _field_column(conn, registry, compiled, access, ctx, name)
        if wrap is not None:
            raise _bad("/sort", "不能按引用表的字段排序", "sorting on a referenced form's field is not supported")
        keys.append((col, desc, name))
    if not any(n == "id" for _, _, n in keys):
        keys.append((t.c.id, keys[0][1] if keys and keys[0][2] == "id" else False, "id"))
    total = None
    if with_count:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(t).where(*conds)).scalar_one())
    wanted = [k for k in (fields or []) if k]
    for k in wanted:
        if k not in SORTABLE_SYSTEM and k != "deleted_at" and (compiled.definition.field(k) is None or not access.visible(k)):
            raise _bad("/fields", f"未知字段 {k}", f"unknown field {k}")
    show = [f.key for f in compiled.definition.scalar_fields if access.visible(f.key) and (not wanted or f.key in wanted)]
    q = sa.select(t).where(*conds)
    if after:
        vals = _decode(after)
        if len(vals) != len(keys):
            raise _bad("/after", "分页游标与排序不匹配", "the cursor does not match the sort")
        q = q.where(_after(keys, vals, compiled, ctx))
    order = [(c.desc().nulls_first() if d else c.asc().nulls_last()) for c, d, _ in keys]
    q = q.order_by(*order).limit(limit + 1)
    shown = display.plan(conn, registry, compiled, ctx.actor, show)
    if shown:   # the page and its display texts in one statement (see display.with_display)
        q, _ = display.with_display(q, shown, [(c, d) for c, d, _ in keys])
    res = conn.execute(q)
    names = list(res.keys())
    rows = [dict(zip(names, r)) for r in res]
    shown_text = display.take(rows, shown)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more and rows:
        last = rows[-1]
        nxt = _encode([_plain(last[n] if n in last else None) for _, _, n in keys])
    children = load_children(conn, compiled, [r["id"] for r in rows]) if expand_children and rows else None
    child_shown = None
    if children:   # the child rows' display texts only when the caller asked for the rows themselves
        tables = [f.key for f in compiled.definition.table_fields if access.visible(f.key) and (not wanted or f.key in wanted)]
        child_shown = display.child_values(conn, registry, compiled, children.values(), ctx.actor, tables)
    items = [to_doc(compiled, access, r, children[r["id"]] if children else None, shown_text, wanted or None, child_shown)
             for r in rows]
    out: dict[str, Any] = {"items": items, "next": nxt, "scope": read_scope(compiled, ctx.actor, action)}
    if total is not None:
        out["total"] = total
    return out


def _plain(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if v is not None and not isinstance(v, (int, float, str, bool)):
        return str(v)
    return v


def _after(keys: list[tuple[Any, bool, str]], vals: list[Any], compiled: CompiledForm, ctx: Ctx) -> Any:
    """Rows strictly after the cursor in (sort keys..., id) order; NULLs last ascending, first descending."""
    def cast(i: int) -> Any:
        col, _, name = keys[i]
        v = vals[i]
        if v is None:
            return None
        f = compiled.definition.field(name)
        try:
            if f is not None:
                return fieldtypes.coerce(f, v, tz=ctx.tz)
            if name in ("created_at", "updated_at"):
                return fieldtypes.coerce(_DT, v, tz=ctx.tz)
        except (fieldtypes.FieldError, ValueError, TypeError, ArithmeticError):
            raise _bad("/after", *_BAD_CURSOR) from None
        if name in _INT_KEYS and (isinstance(v, bool) or not isinstance(v, int) or not -2**63 <= v < 2**63):
            raise _bad("/after", *_BAD_CURSOR)
        return v

    def after_from(i: int) -> Any:
        col, desc, _ = keys[i]
        v = cast(i)
        rest = after_from(i + 1) if i + 1 < len(keys) else None
        if v is None:
            eq = col.is_(None)
            if desc:
                return sa.or_(col.is_not(None), sa.and_(eq, rest)) if rest is not None else col.is_not(None)
            return sa.and_(eq, rest) if rest is not None else sa.false()
        beyond = (col < v) if desc else sa.or_(col > v, col.is_(None))
        if rest is None:
            return beyond
        return sa.or_(beyond, sa.and_(col == v, rest))

    return after_from(0)
