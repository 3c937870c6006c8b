"""The production documents as the engine sees them: the core pack's forms by name, their rows read
with plain SELECTs (locked where a rule depends on them) and written back only through the record
service, as the engine acting for the user who asked.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records import service as S
from mom.engines.records.batch import insert_audit, update_many, write_system_fields, writes_together
from mom.engines.records.context import Ctx
from mom.engines.records.engine_writes import EngineWrites, acting  # noqa: F401  (acting: re-exported)
from mom.platform.errors import InvalidInput, NotFound, Problem

ORDER, TASK, REPORT = "production_order", "operation_task", "job_report"
ITEM, BOM, ROUTING, MACHINE = "item", "bom", "routing", "machine"
ZERO = Decimal(0)

#: ``conn.info`` key: set while the engine itself writes, so its hooks let the engine's own writes pass
ENGINE_FLAG = "mom_production_engine"
_WRITES = EngineWrites(ENGINE_FLAG)
engine_writes = _WRITES.writes
engine_writing = _WRITES.writing


#: the fields a form needs for the engine to take it as the core pack's (another pack's form of the
#: same name, like the demo's ``production_order``, is left alone)
NEEDS = {REPORT: ("task", "event", "good_qty", "production_order"),
         ORDER: ("item", "qty", "status", "components", "released_at"),
         TASK: ("production_order", "seq", "status", "good_qty", "modes")}


def is_core(compiled: CompiledForm) -> bool:
    """Is ``compiled`` the core pack's form of its name (it has the fields the engine binds to)?"""
    got = compiled.memo.get("production_is_core")       # asked by every hook of every write: once per version
    if got is None:
        needs = NEEDS.get(compiled.name)
        got = compiled.memo["production_is_core"] = needs is not None and all(
            compiled.definition.field(k) is not None for k in needs)
    return got


def require_core(conn: Connection, forms: Any) -> None:
    """Refuse, in words, to work on a database without the core pack's production forms."""
    try:
        ok = all(is_core(compiled(conn, forms, name)) for name in (ORDER, TASK, REPORT))
    except NotFound:
        ok = False
    if not ok:
        raise NotFound("没有安装「制造基础」模型包（core）的生产工单、工序任务和报工表单：请管理员先安装它（mom pack install core）",
                       "the production forms of the core pack (制造基础) are not installed: an administrator installs "
                       "it first (mom pack install core)")


_MEMO = "mom_production_forms"
#: the forms a job report reads (with the forms its references and its forecast name), looked up
#: together the first time the engine needs one of them in a transaction: one read, not one each
PREFETCH = (ORDER, TASK, REPORT, MACHINE, "work_center", "scrap_reason", "work_calendar")
#: forms other engines' job-report hooks look up (:func:`prefetch_also`), read in the same statement
_ALSO: list[str] = []


def prefetch_also(*names: str) -> None:
    """Have ``names`` read with the production forms (one statement a transaction): an engine whose
    record hooks act on every job report (the quality pack's IPQC plan check) registers its forms at
    import and reads them through :class:`TxForms` — a form not installed costs nothing then."""
    _ALSO.extend(n for n in names if n not in _ALSO and n not in PREFETCH)


def _memo(conn: Connection, forms: Any) -> tuple[Any, Any, dict[str, CompiledForm], set[str]] | None:
    memo = conn.info.get(_MEMO)
    return memo if memo is not None and memo[0] is conn.get_transaction() and memo[1] is forms else None


def compiled(conn: Connection, forms: Any, name: str) -> CompiledForm:
    """``forms.get(conn, name)`` read once per transaction (a job report names the same forms a dozen times)."""
    memo = _memo(conn, forms)
    if memo is None:
        memo = conn.info[_MEMO] = (conn.get_transaction(), forms, {}, set())
        get_many = getattr(forms, "get_many", None)
        if name in PREFETCH and get_many is not None:
            asked = (*PREFETCH, *_ALSO)
            memo[2].update(get_many(conn, asked))
            memo[3].update(asked)       # asked for: a form left out is not installed (or retired)
    got = memo[2].get(name)
    if got is None:
        got = memo[2][name] = forms.get(conn, name)
    return got


class TxForms:
    """``forms`` with :func:`compiled`'s once-per-transaction look-up, to hand to the record service
    (its create, display values and references look forms up again and again)."""

    def __init__(self, forms: Any) -> None:
        forms = forms.forms if isinstance(forms, TxForms) else forms
        self.forms, self.hooks = forms, forms.hooks

    def get(self, conn: Connection, name: str) -> CompiledForm:
        return compiled(conn, self.forms, name)

    def get_many(self, conn: Connection, names: Any) -> dict[str, CompiledForm]:
        """``forms.get_many``, answered from this transaction's read when it asked for all of ``names``
        (a form it found missing is left out, as ``get_many`` leaves it out)."""
        names = list(names)
        memo = _memo(conn, self.forms)
        if memo is not None and all(n in memo[3] or n in memo[2] for n in names):
            return {n: memo[2][n] for n in names if n in memo[2]}
        get_many = getattr(self.forms, "get_many", None)
        if get_many is not None:
            return get_many(conn, names)
        out = {}
        for n in names:
            try:
                out[n] = self.forms.get(conn, n)
            except NotFound:
                pass
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.forms, name)


_HELD = "mom_production_held"
#: :func:`held` key: {task id: (setup, run) of its ``modes`` row for its planned machine, or None},
#: read with the order's tasks by a job report for its expected finish
TASK_TIMES = "task_times"
#: :func:`held` key: {task id: (its working calendar's id or None, that calendar's version or None)}, read
#: with the order's tasks by a job report for its expected finish (:func:`forecast.task_calendars`)
TASK_CALENDARS = "task_calendars"


def held(conn: Connection) -> dict[Any, Any]:
    """Rows this transaction (or savepoint) holds locked, as the engine last read or wrote them, by
    (form, id): a job report locks its order once and answers from what it wrote."""
    tx = conn.get_nested_transaction() or conn.get_transaction()
    memo = conn.info.get(_HELD)
    if memo is None or memo[0] is not tx:
        memo = conn.info[_HELD] = (tx, {})
    return memo[1]


def locked(conn: Connection, compiled: CompiledForm, rid: int) -> dict[str, Any] | None:
    """:func:`row` locked (FOR UPDATE on PostgreSQL), read once per transaction."""
    memo = held(conn)
    key = (compiled.name, int(rid))
    if memo.get(key) is None:
        memo[key] = row(conn, compiled, int(rid), lock=True)
    return memo[key]


def order_of_task(conn: Connection, forms: Any, task_id: int) -> dict[str, Any] | None:
    """The live order of live task ``task_id``, locked (one statement; None: no such task or order)."""
    memo = held(conn)
    order_form = compiled(conn, forms, ORDER)
    known = memo.get(("task_order", int(task_id)))
    if known is not None:
        return locked(conn, order_form, known)
    t, o = compiled(conn, forms, TASK).main, order_form.main
    of_task = sa.select(t.c.production_order).where(t.c.id == int(task_id), t.c.deleted_at.is_(None)).scalar_subquery()
    q = sa.select(o).where(o.c.id == of_task, o.c.deleted_at.is_(None))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(of=o)
    found = conn.execute(q).mappings().first()
    if found is None:
        return None
    memo[(ORDER, int(found["id"]))] = got = dict(found)
    return got


_AUDITS = "mom_production_audits"


@contextmanager
def one_audit_insert(conn: Connection) -> Iterator[None]:
    """The audit entries of the engine's writes inside (:func:`write`) inserted together at the end: a
    job report's task and order in one INSERT. Nothing is inserted when the block raises (the
    transaction is rolled back anyway)."""
    if _AUDITS in conn.info:        # an outer block inserts them
        yield
        return
    entries: list[dict[str, Any]] = []
    conn.info[_AUDITS] = entries
    try:
        yield
    finally:
        conn.info.pop(_AUDITS, None)
    insert_audit(conn, entries)


@contextmanager
def written_together(conn: Connection) -> Iterator[None]:
    """The engine's writes inside (:func:`write`: a job report's task, then its order) sent together at the
    end, on PostgreSQL one statement (:func:`batch.writes_together`), their after_update hooks run after it
    still as the engine's writes."""
    with engine_writes(conn), writes_together(conn):
        yield


def dec(v: Any) -> Decimal:
    """A stored quantity as a Decimal (empty: 0)."""
    if v is None or v == "":
        return ZERO
    return v if isinstance(v, Decimal) else Decimal(str(v))


def qty_text(v: Decimal) -> str:
    """A quantity as a person writes it: 10, 10.5 (no trailing zeros, no exponent)."""
    text = format(dec(v), "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


def row(conn: Connection, compiled: CompiledForm, rid: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The live row ``rid`` of ``compiled`` (None when missing or deleted); ``lock``: FOR UPDATE on
    PostgreSQL (SQLite runs one writer at a time anyway)."""
    t = compiled.main
    q = sa.select(t).where(t.c.id == rid, t.c.deleted_at.is_(None))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    found = conn.execute(q).mappings().first()
    return dict(found) if found is not None else None


def rows(conn: Connection, compiled: CompiledForm, *where: Any, order_by: Any = None) -> list[dict[str, Any]]:
    t = compiled.main
    q = sa.select(t).where(t.c.deleted_at.is_(None), *where)
    if order_by is not None:
        q = q.order_by(*order_by)
    return [dict(r) for r in conn.execute(q).mappings()]


def children(conn: Connection, compiled: CompiledForm, rid: int, key: str) -> list[dict[str, Any]]:
    return S.load_children(conn, compiled, [rid], [key])[rid][key]


def by_code(conn: Connection, compiled: CompiledForm, code: str) -> dict[str, Any] | None:
    t = compiled.main
    found = conn.execute(sa.select(t).where(t.c.code == code, t.c.deleted_at.is_(None))).mappings().first()
    return dict(found) if found is not None else None


def label(compiled: CompiledForm) -> str:
    return str(compiled.definition.label.get("zh-CN") or compiled.name)


def label_en(compiled: CompiledForm) -> str:
    return str(compiled.definition.label.get("en") or compiled.name)


def name_of(conn: Connection, forms: Any, form: str, rid: Any) -> str:
    """How a person names record ``rid`` of ``form``: its name (an item: 阀体), else its code, else #id."""
    if rid is None:
        return ""
    r = row(conn, compiled(conn, forms, form), int(rid))
    if r is None:
        return f"#{rid}"
    return str(r.get("name") or r.get("code") or f"#{rid}")


def names(conn: Connection, forms: Any, form: str, ids: Any) -> dict[int, str]:
    """:func:`name_of` for many records of ``form`` in one query."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    t = compiled(conn, forms, form).main
    cols = [t.c.id] + [t.c[k] for k in ("name", "code") if k in t.c]
    out = {}
    for i in range(0, len(wanted), 900):
        for r in conn.execute(sa.select(*cols).where(t.c.id.in_(wanted[i:i + 900]))).mappings():
            out[int(r["id"])] = str(r.get("name") or r.get("code") or f"#{r['id']}")
    return out


def task_title(task: Mapping[str, Any]) -> str:
    """工序 20 车削 — how the shop floor names an operation."""
    seq, name = task.get("seq"), task.get("name") or ""
    return f"{seq} {name}".strip() if seq is not None else str(name or task.get("code") or "")


MAX_ID = 2**63 - 1


def as_id(value: Any) -> int | None:
    """``value`` as a record id when it is one (a positive 64-bit integer, or ASCII digits for one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            return None
        value = int(text)
    return value if isinstance(value, int) and 1 <= value <= MAX_ID else None


def resolve(conn: Connection, compiled: CompiledForm, value: Any, path: str) -> dict[str, Any]:
    """A record named by its id or its code (a scanned QR carries the code)."""
    found = None
    if isinstance(value, int) and not isinstance(value, bool):
        rid = as_id(value)
        found = row(conn, compiled, rid) if rid is not None else None
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        found = by_code(conn, compiled, text)
        if found is None and text.upper() != text:        # a scanner with caps lock off: OP-… typed as op-…
            found = by_code(conn, compiled, text.upper())
        rid = as_id(text)
        if found is None and rid is not None:
            found = row(conn, compiled, rid)
    else:
        raise InvalidInput(f"请指定{label(compiled)}（编号或 id）", f"name the {label_en(compiled).lower()} (its code or id)",
                           problems=[Problem(path, "必填", "required", "required")])
    if found is None:
        scanned = compiled.name in ("operation_task", "production_order")      # the codes a 流转卡 carries
        raise NotFound(f"找不到{label(compiled)} {value}；" + ("请检查扫描的二维码或编号" if scanned else "请检查编号"),
                       f"no {label_en(compiled).lower()} {value}; " + ("check the scanned QR code or the code typed"
                                                                       if scanned else "check the code"))
    return found


def update(conn: Connection, forms: Any, ctx: Ctx, form: str, rid: int, patch: dict[str, Any],
           transition: str | None = None) -> None:
    """Write ``patch`` onto record ``rid`` through the record service, as the engine acting for ``ctx``.
    Without a named ``transition`` (a status change is then found by its from/to) it takes the
    service's batch path, which skips reading the record back: a job report makes two of these."""
    with engine_writes(conn):
        if transition is None:
            update_many(conn=conn, registry=forms, ctx=acting(ctx), form=form, patches=[(rid, patch, None)])
        else:
            S.apply_update(conn=conn, registry=forms, ctx=acting(ctx), form=form, record_id=rid, patch=patch,
                           transition=transition)


def write(conn: Connection, forms: Any, ctx: Ctx, form: str,
          changes: list[tuple[Mapping[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Write the engine's own computed fields onto rows it read and locked in this transaction, each
    ``(row, {field: value})``; the rows as now stored (also kept for :func:`locked`). A form whose
    definition has formulas (a plant's customisation) takes the record service's full path instead."""
    target = compiled(conn, forms, form)
    with engine_writes(conn):
        if any(f.computed for f in target.definition.fields):
            update_many(conn=conn, registry=TxForms(forms), ctx=acting(ctx), form=form,
                        patches=[(int(r["id"]), patch, None) for r, patch in changes])
            new = [row(conn, target, int(r["id"])) or dict(r) for r, _ in changes]
        else:
            new = write_system_fields(conn=conn, registry=TxForms(forms), ctx=acting(ctx), form=form, rows=changes,
                                      audit_into=conn.info.get(_AUDITS))
    memo = held(conn)
    for r in new:
        memo[(form, int(r["id"]))] = r
    return new


def create(conn: Connection, forms: Any, ctx: Ctx, form: str, docs: list[dict[str, Any]]) -> list[int]:
    """Create records through the record service as the engine acting for ``ctx``; their ids."""
    if not docs:
        return []
    with engine_writes(conn):
        target = compiled(conn, forms, form)
        ectx = acting(ctx)
        access = S.form_access(target, ectx.actor)
        prepared = S.prepare_many(conn, forms, target, ectx, access, docs, [f"/{i}" for i in range(len(docs))])
        S.uniqueness.raise_problems([p for _, pr in prepared for p in pr.items])
        return S.insert_prepared(conn, target, ectx, [p for p, _ in prepared], hooks=forms.hooks)
