"""What an approver sees of a record beside its task: the record's key fields and its attachments,
labelled and written in words (option labels, user and department names, 是/否), never keys.

Which fields: the title is the form's ``display_field``; under it the fields the task's node lets its
approvers edit (``editable_fields``), then the form's first fields, at most :data:`MAX_FIELDS`. Files of the
record's attachment fields are listed apart (:data:`MAX_FILES`).

Whose rights: a task (to do, done or copied) lets its holder read its record, whatever the form's row
scope; the fields follow the form's field rules for that reader (:func:`hidden_for`): a field the
approver may not see is neither shown nor counted, and an attachment is listed only if the reader may
download it. An API token narrowed to other forms sees no record.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec, text_of
from mom.engines.records.access import form_access
from mom.engines.records.context import Actor
from mom.engines.records.display import NO_ACCESS, NO_ACCESS_EN, shown_field
from mom.engines.records.lookup import display_values
from mom.platform import file_access, files as store
from mom.platform.errors import MomError

MAX_FIELDS = 6
MAX_FILES = 10
MAX_TEXT = 120
Text = dict[str, str]


def both(zh: str, en: str | None = None) -> Text:
    """A text in both languages (the same when ``en`` is not given)."""
    return {"zh-CN": zh, "en": zh if en is None else en}


# ---------------------------------------------------------------- values in words

def _short(s: str) -> str:
    return s if len(s) <= MAX_TEXT else s[:MAX_TEXT - 1] + "…"


def _number(v: Any) -> str:
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else format(v, "f")
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _when(v: Any, kind: str, tz: dt.tzinfo) -> str:
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v) if kind == "datetime" else dt.date.fromisoformat(v[:10])
        except ValueError:
            return _short(v)
    if isinstance(v, dt.datetime):
        if kind == "date":
            return v.date().isoformat()
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def value_text(f: FieldSpec, v: Any, shown: Mapping[int, Any] | None = None, tz: dt.tzinfo = dt.timezone.utc) -> Text | None:
    """The stored value ``v`` of field ``f`` as a person reads it (None: empty). ``shown``: display texts
    of referenced ids (users, departments, records) as the reader may see them."""
    if v is None or v == "" or v == []:
        return None
    kind = f.value_type
    if kind == "boolean":
        return both("是", "Yes") if v else both("否", "No")
    if kind in ("select", "multi_select"):
        values = v if isinstance(v, list) else [v]
        labels = [text_of(f.option_labels.get(x), str(x)) if x in f.option_labels else both(str(x)) for x in values]
        return {"zh-CN": "、".join(x["zh-CN"] for x in labels), "en": ", ".join(x["en"] for x in labels)}
    if kind in ("user", "department", "reference"):
        try:
            text = (shown or {}).get(int(v))
        except (TypeError, ValueError):
            text = None
        if text is None or text == NO_ACCESS:
            return both(NO_ACCESS, NO_ACCESS_EN)
        return both(_short(str(text)))
    if kind == "attachment":
        n = len(v) if isinstance(v, list) else 1
        return both(f"{n} 个文件", f"{n} file{'s' if n != 1 else ''}")
    if kind in ("date", "datetime"):
        return both(_when(v, kind, tz))
    if kind in ("integer", "decimal"):
        return both(_number(v))
    if isinstance(v, (list, dict)):
        return both(_short(", ".join(map(str, v)) if isinstance(v, list) else str(v)))
    return both(_short(str(v)))


def id_texts(conn: Connection, forms: Any, f: FieldSpec, ids: Iterable[int], actor: Actor) -> dict[int, Any]:
    """Display texts of users, departments or records (of a reference field ``f``) by id, under the
    reader's rights (out of reach: :data:`NO_ACCESS`); for values that are not the record's current ones
    (a timeline's old and new values)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    try:
        s = shown_field(conn, forms, f, actor, "t0")
    except MomError:            # the referenced form was retired since
        return {i: NO_ACCESS for i in wanted}
    found: dict[int, Any] = {}
    if s.table is not None and s.text is not None:
        for i in range(0, len(wanted), 900):
            q = sa.select(s.table.c.id, s.text).where(s.table.c.id.in_(wanted[i:i + 900]))
            if s.scope is not None:
                q = q.where(s.scope)
            found.update((int(r[0]), r[1]) for r in conn.execute(q))
    return {i: found.get(i, NO_ACCESS) for i in wanted}


# ---------------------------------------------------------------- whose fields

def hidden_for(compiled: CompiledForm, actor: Actor) -> frozenset[str]:
    """Fields of ``compiled`` that ``actor`` may not see when reading a record through a task. With the
    form's read right: its field rules for them. Without it (they read only because they hold a task): every
    field any permission entry hides from someone — a task opens the record, not what the form keeps back."""
    access = form_access(compiled, actor)
    if access.can("read"):
        return access.hidden
    out: set[str] = set()
    for p in compiled.definition.permissions:
        if isinstance(p, Mapping):
            out |= {k for k, v in (p.get("fields") or {}).items() if v == "hidden"}
    return frozenset(out)


def key_fields(compiled: CompiledForm, hidden: frozenset[str], node_fields: Iterable[str] = ()) -> list[FieldSpec]:
    """The fields shown with a task under its title (the display field): the node's fields, then the
    form's first ones (no files, no tables, nothing hidden), at most :data:`MAX_FIELDS`."""
    defn = compiled.definition
    editable = set(node_fields)
    order = [f for f in defn.scalar_fields if f.key in editable] + [f for f in defn.scalar_fields if f.key != defn.display_field]
    out: list[FieldSpec] = []
    for f in order:
        if f is None or f in out or f.key in hidden or f.hidden or f.value_type == "attachment":
            continue
        out.append(f)
        if len(out) == MAX_FIELDS:
            break
    return out


# ---------------------------------------------------------------- summaries

def summaries(conn: Connection, forms: Any, actor: Actor, wanted: Iterable[tuple[str, int, frozenset[str]]],
              tz: dt.tzinfo = dt.timezone.utc) -> dict[tuple[str, int], dict[str, Any]]:
    """``{(form, record_id): summary}`` for ``wanted`` (form, record id, the node's editable fields). A
    summary: ``title`` (the display field's value in words, else "#id"), ``fields`` [{key, label, type, text}], ``files`` [{id, filename, size,
    content_type, field}], ``deleted``. A form retired since, or out of the token's reach, has none."""
    by_form: dict[str, dict[int, set[str]]] = defaultdict(dict)
    for form, rid, node_fields in wanted:
        by_form[form].setdefault(int(rid), set()).update(node_fields)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for form, records in by_form.items():
        if not actor.reads_form(form):
            continue
        try:
            compiled = forms.get(conn, form)
        except MomError:
            continue
        out.update(_of_form(conn, forms, actor, compiled, records, tz))
    return out


def _of_form(conn: Connection, forms: Any, actor: Actor, compiled: CompiledForm, records: Mapping[int, set[str]],
             tz: dt.tzinfo) -> dict[tuple[str, int], dict[str, Any]]:
    hidden = hidden_for(compiled, actor)
    defn = compiled.definition
    shown = {rid: key_fields(compiled, hidden, node_fields) for rid, node_fields in records.items()}
    files = [f for f in defn.scalar_fields if f.value_type == "attachment" and f.key not in hidden and not f.hidden]
    title = defn.field(defn.display_field) if defn.display_field and defn.display_field not in hidden else None
    keys = sorted({f.key for fs in shown.values() for f in fs} | {f.key for f in files} | ({title.key} if title else set()))
    t = compiled.main
    cols = [t.c.id, t.c.deleted_at, *[t.c[k] for k in keys if k in t.c]]
    rows = [dict(r) for r in conn.execute(sa.select(*cols).where(t.c.id.in_(sorted(records)))).mappings()]
    display = display_values(conn, forms, compiled, rows, keys, actor=actor) if rows else {}
    tokens = [tok for r in rows for f in files for tok in (r.get(f.key) or []) if isinstance(tok, str)]
    stored = store.rows_by_token(conn, tokens) if tokens else {}
    out = {}
    for r in rows:
        rid = int(r["id"])
        fields = [{"key": f.key, "label": dict(f.label), "type": f.type,
                   "text": value_text(f, r.get(f.key), display.get(f.key), tz)} for f in shown[rid]]
        head = value_text(title, r.get(title.key), display.get(title.key), tz) if title is not None else None
        out[(compiled.name, rid)] = {"title": head or both(f"#{rid}"), "fields": fields,
                                     "files": _files(conn, forms, actor, r, files, stored),
                                     "deleted": r["deleted_at"] is not None}
    return out


def _files(conn: Connection, forms: Any, actor: Actor, row: Mapping[str, Any], fields: list[FieldSpec],
           stored: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in fields:
        for tok in row.get(f.key) or []:
            meta = stored.get(tok) if isinstance(tok, str) else None
            if meta is None or not file_access.may_read(conn, forms, actor, meta):
                continue
            out.append({"id": tok, "filename": meta.filename, "size": meta.size, "content_type": meta.content_type,
                        "field": dict(f.label)})
            if len(out) == MAX_FILES:
                return out
    return out
