"""Import (CSV/XLSX) and export (CSV with BOM / XLSX) of records.

An import runs in two phases so that a file never holds the write lock while it is read:

1. **read and check**, in a read transaction (no write lock; other users write meanwhile): the file
   is streamed through :mod:`mom.engines.records.tabular` (every size bounded, see there), each chunk
   of rows is validated with the same rules as the API (references resolved, formulas computed,
   uniqueness checked) and the checked rows are kept (in memory up to ``import_memory_bytes`` for
   all running imports, then in a temporary file: :class:`~mom.engines.records.spool.Spool`). With
   mode ``all`` any problem ends the import here: nothing was written and no lock was taken.
2. **write**, in ONE write transaction, chunk by chunk from the spool: inserts (ids reserved, bulk
   insert), upserts (``key``: a row whose key value exists updates that record, so a re-run never
   duplicates). One transaction keeps mode ``all`` all-or-nothing; it holds the lock only for the
   writing itself. What may have changed between the phases is checked again by the database (a
   unique value taken meanwhile: that chunk is written row by row and the refused rows reported).

A :class:`~mom.engines.records.tabular.Stop` (time limit, cancel flag) is checked per chunk in both
phases; a stopped import rolls back and writes nothing.
"""
from __future__ import annotations

import csv
import io
import itertools
import operator
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import lookup
from mom.engines.records.access import FormAccess, form_access
from mom.engines.records.context import Ctx
from mom.engines.records.query import Filter, list_records
from mom.engines.records.service import apply_update, insert_prepared, prepare_many
from mom.engines.records.spool import Spool, chunk_bytes
from mom.engines.records.tabular import Cancelled, Stop, TableLimits, format_of, read_table
from mom.engines.records.values import Prepared
from mom.platform.db import bulk
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import Conflict, InvalidInput, MomError, Problem, did_you_mean

__all__ = ["Cancelled", "Stop", "TableLimits", "format_of", "read_table", "import_records", "export_rows",
           "write_csv", "write_xlsx"]

MAX_REPORTED = 1000
IGNORED_HEADERS = {"id", "row_version", "form_version", "created_at", "created_by", "updated_at", "updated_by",
                   "department_id", "deleted_at", "编号", "行版本", "no."}   # 编号 / No.: the people layout's id column


def map_headers(compiled: CompiledForm, access: FormAccess, header: list[Any]) -> list[str | None]:
    """The field key of each column (None: ignored); unknown columns are refused, all named at once."""
    names: dict[str, str] = {}
    for f in compiled.definition.scalar_fields:
        if access.visible(f.key):
            for alias in (f.key, f.label["zh-CN"], f.label["en"]):
                names.setdefault(str(alias).strip().lower(), f.key)
    out: list[str | None] = []
    problems = []
    for i, h in enumerate(header):
        h = "" if h is None else str(h).strip()
        if not h or h.lower() in IGNORED_HEADERS:
            out.append(None)
            continue
        key = names.get(h.lower())
        if key is None:
            problems.append(Problem(f"header/{i + 1}", f"第 1 行第 {i + 1} 列：未知列“{h}”{did_you_mean(h, set(names))}",
                                    f"row 1, column {i + 1}: unknown column {h!r}{did_you_mean(h, set(names))}", "unknown_field"))
        out.append(key)
    if problems:
        raise InvalidInput("表头有未知列，未导入任何数据", "the header has unknown columns; nothing was imported", problems=problems)
    return out


@dataclass
class _Run:
    """One import's form, caller and running totals."""

    registry: lookup.Registry
    compiled: CompiledForm
    access: FormAccess
    ctx: Ctx
    key: str | None
    mode: str
    stop: Stop
    existing: str = "update"         # a row whose key exists: "update" the record or "skip" it
    stats: dict[str, int] = field(default_factory=lambda: {"total": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0})
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def fail(self, rowno: int, problems: list[Problem]) -> None:
        self.error_count += 1
        self.stats["skipped"] += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.extend(_row_errors(rowno, problems))

    def result(self) -> dict[str, Any]:
        return {**self.stats, "errors": self.errors[:MAX_REPORTED], "error_count": self.error_count, "mode": self.mode}

    def refuse(self) -> InvalidInput:
        result = {**self.result(), "created": 0, "updated": 0, "unchanged": 0}
        return InvalidInput(f"{self.error_count} 处错误，未导入任何数据（mode=all）",
                            f"{self.error_count} problem(s); nothing was imported (mode=all)",
                            problems=[Problem(f"/rows/{e['row']}/{e['field'] or ''}", e["message"]["zh-CN"], e["message"]["en"],
                                              e.get("code", "invalid")) for e in self.errors[:MAX_REPORTED]], detail=result)


_share_lock = threading.Lock()
_share_users = 0
_share_saved = 0.005


@contextmanager
def _fair_share(interval: float = 0.0005) -> Iterator[None]:
    """Let other threads of this process take the GIL sooner while an import runs.

    An import is long pure-Python work; a request of another user releases the GIL at every
    database call and, by default, waits up to 5 ms to get it back each time — a 6 ms write became
    150 ms. A shorter switch interval costs the import nothing when no other thread is waiting (the
    interval only matters to a waiting thread); the default comes back when the last import ends."""
    global _share_users, _share_saved
    with _share_lock:
        if _share_users == 0:
            _share_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, _share_saved))
        _share_users += 1
    try:
        yield
    finally:
        with _share_lock:
            _share_users -= 1
            if _share_users == 0:
                sys.setswitchinterval(_share_saved)


def import_records(*, engine: Engine | None = None, registry: lookup.Registry, ctx: Ctx, form: str, stream: IO[bytes],
                   fmt: str, key: str | None = None, mode: str = "all", chunk: int = 2000, limits: TableLimits | None = None,
                   stop: Stop | None = None, conn: Connection | None = None, existing: str = "update") -> dict[str, Any]:
    """Import a CSV/XLSX file into ``form`` as ``ctx.actor``; returns the totals and the per-row errors.

    Mode ``all`` writes nothing if any row is wrong (422 with every row's problems); mode ``skip``
    writes the good rows and reports the others. ``stream`` must be seekable.

    With ``conn`` the file is checked and written in the caller's transaction (a pack's fixtures are
    part of its one install transaction): nothing is committed here, and a refused import rolls back
    only its own savepoint. ``existing``: what a row whose ``key`` value already exists does —
    ``"update"`` that record, or ``"skip"`` it untouched (counted as unchanged: an upgrade adds the
    missing master-data rows and never overwrites a plant's edits)."""
    if mode not in ("all", "skip"):
        raise InvalidInput(f"mode 只能是 all 或 skip（收到 {mode}）", f"mode must be all or skip (got {mode})")
    if existing not in ("update", "skip"):
        raise InvalidInput(f"existing 只能是 update 或 skip（收到 {existing}）", f"existing must be update or skip (got {existing})")
    if conn is None and engine is None:
        raise TypeError("import_records needs an engine or a connection")
    limits = limits or TableLimits()
    stop = stop or Stop(limits.max_seconds)
    spool = Spool(limits.memory_bytes)
    reading = (lambda: nullcontext(conn)) if conn is not None else (lambda: read_tx(engine))
    writing = (lambda: _savepoint(conn)) if conn is not None else (lambda: write_tx(engine))
    try:
        with bulk.relaxed_gc(), (nullcontext() if conn is not None else _fair_share()):
            with reading() as c:
                run = _check_file(c, registry, ctx, form, stream, fmt, key, mode, chunk, limits, stop, spool, existing)
            if mode == "all" and run.error_count:
                raise run.refuse()
            with writing() as c:
                for entries in spool:
                    stop.check()
                    _write_chunk(c, run, entries)
                    if mode == "all" and run.error_count:
                        raise run.refuse()
                stop.check()   # a stop that came during the last chunk still rolls back
    finally:
        spool.close()
    return run.result()


@contextmanager
def _savepoint(conn: Connection) -> Iterator[Connection]:
    """The write phase inside the caller's transaction: a failure undoes this import only."""
    with conn.begin_nested():
        yield conn


def _check_file(conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, stream: IO[bytes], fmt: str,
                key: str | None, mode: str, chunk: int, limits: TableLimits, stop: Stop, spool: Spool,
                existing: str = "update") -> _Run:
    """Phase 1: stream, bound and validate every row; checked rows go to ``spool``."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("create")
    if key is not None:
        kf = compiled.definition.field(key)
        if kf is None or kf.is_table or not access.visible(key):
            keys = [f.key for f in compiled.definition.scalar_fields]
            raise InvalidInput(f"upsert 键字段 {key} 不存在{did_you_mean(key, keys)}", f"upsert key field {key} does not exist{did_you_mean(key, keys)}")
        if existing == "update":
            access.require("update")
    rows = read_table(stream, fmt, limits, stop)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("文件是空的", "the file is empty")
    cols = map_headers(compiled, access, header)
    if key is not None and key not in cols:
        raise InvalidInput(f"文件中没有 upsert 键列 {key}", f"the file has no column for the upsert key {key}")
    run = _Run(registry, compiled, access, ctx, key, mode, stop, existing=existing)
    used = [(i, c) for i, c in enumerate(cols) if c is not None]
    keys = [c for _, c in used]
    pick = operator.itemgetter(*(i for i, _ in used)) if len(used) > 1 else None
    need = used[-1][0] + 1 if used else 0
    strip = str.strip
    batch: list[tuple[int, dict[str, Any]]] = []
    total = 0
    for rowno, cells in enumerate(rows, start=2):
        if pick is not None and len(cells) >= need and fmt == "csv" and all(map(strip, vals := pick(cells))):
            doc = dict(zip(keys, vals))   # every used cell of a CSV row filled: no per-cell test
        else:
            n = len(cells)
            doc = {c: v for i, c in used if i < n and (v := cells[i]) is not None
                   and (type(v) is not str or (v and not v.isspace()))}
            if not doc:
                continue
        total += 1
        batch.append((rowno, doc))
        if len(batch) >= chunk:
            spool.add(*_check_chunk(conn, run, batch))
            batch = []
            stop.check()
    run.stats["total"] = total
    spool.add(*_check_chunk(conn, run, batch))
    return run


def _key_values(run: _Run, docs: list[dict[str, Any]]) -> list[Any]:
    """Each row's upsert key value (None: no key, or not valid: such a row is created and checked)."""
    if run.key is None:
        return [None] * len(docs)
    f = run.compiled.definition.field(run.key)
    out = []
    for doc in docs:
        try:
            out.append(fieldtypes.coerce(f, doc.get(run.key), tz=run.ctx.tz))
        except fieldtypes.FieldError:
            out.append(None)
    return out


def _existing(conn: Connection, run: _Run, values: list[Any]) -> dict[Any, int]:
    """Record id by key value, for the key values of records the caller may read and update.

    The look-up carries the caller's row scope (read and update), so a key value that only matches
    records out of the caller's sight behaves exactly like a new value: the row is created (and a
    unique key then answers the usual "already taken", which names no record)."""
    t, out = run.compiled.main, {}
    vals = [v for v in values if v is not None]
    actions = ("read", "update") if run.existing == "update" else ("read",)
    scoped = [c for c in (run.access.scope(a) for a in actions) if c is not None]
    for i in range(0, len(vals), 900):
        out.update({v: int(i_) for i_, v in conn.execute(
            sa.select(t.c.id, t.c[run.key]).where(t.c[run.key].in_(vals[i:i + 900]), t.c.deleted_at.is_(None), *scoped))})
    return out


def _check_chunk(conn: Connection, run: _Run, batch: list[tuple[int, dict[str, Any]]]) -> tuple[list[tuple[Any, ...]], int]:
    """Validate new rows; rows that will update an existing record are checked when applied.

    Returns spool entries ``(rowno, prepared or None, key value, doc or None)`` and their memory."""
    if not batch:
        return [], 0
    docs = [d for _, d in batch]
    if run.key is None:   # every row is a new record (the common case: no per-row key bookkeeping)
        prepared = prepare_many(conn, run.registry, run.compiled, run.ctx, run.access, docs, [""] * len(docs), imported=True)
        entries = [(rowno, (prep.values, prep.children), None, None) for (rowno, _), (prep, problems) in zip(batch, prepared)
                   if not problems]
        if len(entries) < len(batch):
            for (rowno, _), (_, problems) in zip(batch, prepared):
                if problems:
                    run.fail(rowno, problems.items)
        return entries, chunk_bytes(docs, entries)
    keys = _key_values(run, docs)
    existing = _existing(conn, run, keys)
    creates = [(rowno, doc, kv) for (rowno, doc), kv in zip(batch, keys) if kv is None or kv not in existing]
    prepared = prepare_many(conn, run.registry, run.compiled, run.ctx, run.access, [d for _, d, _ in creates],
                            [""] * len(creates), imported=True)
    entries = []
    for (rowno, doc, kv), (prep, problems) in zip(creates, prepared):
        if problems:
            run.fail(rowno, problems.items)
        else:
            entries.append((rowno, (prep.values, prep.children), kv, doc))
    entries.extend((rowno, None, kv, doc) for (rowno, doc), kv in zip(batch, keys) if kv is not None and kv in existing)
    entries.sort(key=lambda e: e[0])
    return entries, chunk_bytes(docs, entries, upsert=True)


def _write_chunk(conn: Connection, run: _Run, entries: list[tuple[Any, ...]]) -> None:
    """Phase 2: insert the chunk's new rows, apply its updates (in the caller's write transaction)."""
    existing = _existing(conn, run, [e[2] for e in entries]) if run.key else {}
    if run.key is None:
        creates, redo, updates = entries, [], []
    else:
        creates = [e for e in entries if e[1] is not None and (e[2] is None or e[2] not in existing)]
        redo = [e for e in entries if e[1] is None and e[2] not in existing]      # its record went away meanwhile
        updates = [e for e in entries if e[2] is not None and e[2] in existing]
    if redo:
        creates = sorted(creates + _recheck(conn, run, [(e[0], e[3]) for e in redo]), key=lambda e: e[0])
    if creates:
        auto = [f.key for f in run.compiled.definition.scalar_fields if fieldtypes.is_generated(f)]
        blank = [[k for k in auto if e[1][0].get(k) in (None, "")] for e in creates] if auto else []
        try:
            with conn.begin_nested():
                insert_prepared(conn, run.compiled, run.ctx, [Prepared(*e[1]) for e in creates], hooks=run.registry.hooks)
            run.stats["created"] += len(creates)
        except Conflict:
            # a unique value was taken by someone else between the phases: row by row, to name the rows
            for e, keys in itertools.zip_longest(creates, blank, fillvalue=[]):
                for k in keys:
                    e[1][0][k] = None   # numbers drawn by the rolled-back attempt are drawn again
                try:
                    with conn.begin_nested():
                        insert_prepared(conn, run.compiled, run.ctx, [Prepared(*e[1])], hooks=run.registry.hooks)
                    run.stats["created"] += 1
                except Conflict as exc:
                    run.fail(e[0], exc.problems or [Problem("", exc.zh, exc.en, "unique")])
    if run.existing == "skip":
        run.stats["unchanged"] += len(updates)   # kept as the plant left them
        return
    for rowno, _, kv, doc in updates:
        try:
            with conn.begin_nested():
                _, changed = apply_update(conn=conn, registry=run.registry, ctx=run.ctx, form=run.compiled.name,
                                          record_id=existing[kv], patch=doc)
            run.stats["updated" if changed else "unchanged"] += 1
        except MomError as exc:
            run.fail(rowno, exc.problems or [Problem("", exc.zh, exc.en)])


def _recheck(conn: Connection, run: _Run, rows: list[tuple[int, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    prepared = prepare_many(conn, run.registry, run.compiled, run.ctx, run.access, [d for _, d in rows], ["" for _ in rows],
                            imported=True)
    good = []
    for (rowno, doc), (prep, problems) in zip(rows, prepared):
        if problems:
            run.fail(rowno, problems.items)
        else:
            good.append((rowno, (prep.values, prep.children), None, doc))
    return good


def _row_errors(rowno: int, problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"row": rowno, "field": p.path.strip("/").split("/")[0] or None, "code": p.code,
             "message": {"zh-CN": f"第 {rowno} 行：{p.zh}", "en": f"row {rowno}: {p.en}"}} for p in problems]


# ---------------------------------------------------------------- export

def export_rows(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, filters: list[Filter] = (),
                sort: str | None = None, header: str = "label", search: str | None = None) -> Iterator[list[Any]]:
    """The data layout (for scripts and integrations): header row, then one row per record, stored
    values (references as display text), paged by keyset; hidden fields never appear. The layout for
    people is :mod:`mom.engines.records.workbook`."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("export")
    fields = [f for f in compiled.definition.scalar_fields if access.visible(f.key)]
    yield ["id"] + [f.key if header == "key" else f.label["zh-CN"] for f in fields]
    after = None
    while True:
        page = list_records(conn=conn, registry=registry, ctx=ctx, form=form, filters=list(filters), sort=sort,
                            limit=1000, after=after, action="export", search=search)
        for doc in page["items"]:
            disp = doc.get("_display", {})
            yield [doc["id"]] + [_cell(doc.get(f.key), disp.get(f.key)) for f in fields]
        after = page["next"]
        if after is None:
            return


def _cell(v: Any, display: Any) -> Any:
    if display is not None:
        return display
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def write_csv(rows: Iterator[list[Any]]) -> Iterator[bytes]:
    yield "\ufeff".encode()
    buf = io.StringIO()
    w = csv.writer(buf)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
        if buf.tell() > 65536:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def write_xlsx(rows: Iterator[list[Any]], target: IO[bytes], title: str = "data") -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    for r in rows:
        ws.append(r)
    wb.save(target)
