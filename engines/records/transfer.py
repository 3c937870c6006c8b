"""Import (CSV/XLSX) and export (CSV with BOM / XLSX) of records.

Import streams the file in chunks (flat memory), validates every row with the same rules as the
API, reports each problem with its spreadsheet row number and field, and runs in the caller's
transaction: mode ``all`` writes nothing if any row is wrong; mode ``skip`` writes the good rows.
With ``key``, a row whose key value exists updates that record (upsert), so a re-run never
duplicates.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import lookup
from mom.engines.records.access import FormAccess, form_access
from mom.engines.records.context import Ctx
from mom.engines.records.query import Filter, list_records
from mom.engines.records.service import apply_update, insert_prepared, prepare_many
from mom.platform.db import bulk
from mom.platform.errors import InvalidInput, MomError, Problem, did_you_mean

MAX_REPORTED = 1000
IGNORED_HEADERS = {"id", "row_version", "form_version", "created_at", "created_by", "updated_at", "updated_by",
                   "department_id", "deleted_at", "编号", "行版本"}


def _rows_csv(stream: IO[bytes]) -> Iterator[list[Any]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    yield from csv.reader(text)


def _rows_xlsx(stream: IO[bytes]) -> Iterator[list[Any]]:
    import openpyxl

    wb = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            yield list(row)
    finally:
        wb.close()


def read_table(stream: IO[bytes], fmt: str) -> Iterator[list[Any]]:
    if fmt == "csv":
        return _rows_csv(stream)
    if fmt == "xlsx":
        return _rows_xlsx(stream)
    raise InvalidInput(f"不支持的文件格式 {fmt}：请用 .csv 或 .xlsx", f"unsupported file format {fmt}: use .csv or .xlsx")


def format_of(filename: str) -> str:
    return Path(filename).suffix.lower().lstrip(".") or "csv"


def map_headers(compiled: CompiledForm, access: FormAccess, header: list[Any]) -> list[str | None]:
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


def import_records(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, stream: IO[bytes],
                   fmt: str, key: str | None = None, mode: str = "all", chunk: int = 2000) -> dict[str, Any]:
    if mode not in ("all", "skip"):
        raise InvalidInput(f"mode 只能是 all 或 skip（收到 {mode}）", f"mode must be all or skip (got {mode})")
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("create")
    if key is not None:
        kf = compiled.definition.field(key)
        if kf is None or kf.is_table or not access.visible(key):
            keys = [f.key for f in compiled.definition.scalar_fields]
            raise InvalidInput(f"upsert 键字段 {key} 不存在{did_you_mean(key, keys)}", f"upsert key field {key} does not exist{did_you_mean(key, keys)}")
        access.require("update")
    rows = read_table(stream, fmt)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("文件是空的", "the file is empty")
    cols = map_headers(compiled, access, header)
    if key is not None and key not in cols:
        raise InvalidInput(f"文件中没有 upsert 键列 {key}", f"the file has no column for the upsert key {key}")
    stats = {"total": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    errors: list[dict[str, Any]] = []
    error_count = 0
    batch: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        nonlocal error_count
        error_count += _import_batch(conn, registry, compiled, access, ctx, batch, key, mode, stats, errors,
                                     write=(mode == "skip" or error_count == 0))
        batch.clear()

    with bulk.relaxed_gc():
        used = [(i, c) for i, c in enumerate(cols) if c is not None]
        for rowno, cells in enumerate(rows, start=2):
            n = len(cells)
            doc = {c: v for i, c in used if i < n and (v := cells[i]) is not None
                   and (type(v) is not str or (v and not v.isspace()))}
            if not doc:
                continue
            stats["total"] += 1
            batch.append((rowno, doc))
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
    result = {**stats, "errors": errors[:MAX_REPORTED], "error_count": error_count, "mode": mode}
    if mode == "all" and error_count:
        result["created"] = result["updated"] = 0
        raise InvalidInput(f"{error_count} 处错误，未导入任何数据（mode=all）",
                           f"{error_count} problem(s); nothing was imported (mode=all)",
                           problems=[Problem(f"/rows/{e['row']}/{e['field'] or ''}", e["message"]["zh-CN"], e["message"]["en"])
                                     for e in errors[:MAX_REPORTED]], detail=result)
    return result


def _import_batch(conn: Connection, registry: lookup.Registry, compiled: CompiledForm, access: FormAccess, ctx: Ctx,
                  batch: list[tuple[int, dict[str, Any]]], key: str | None, mode: str, stats: dict[str, int],
                  errors: list[dict[str, Any]], *, write: bool) -> int:
    keys: list[Any] = [None] * len(batch)   # each row's upsert key value (None: no key, or not valid)
    existing: dict[Any, int] = {}
    if key is not None:
        f = compiled.definition.field(key)
        for i, (_, doc) in enumerate(batch):
            try:
                keys[i] = fieldtypes.coerce(f, doc.get(key), tz=ctx.tz)
            except fieldtypes.FieldError:
                pass
        t = compiled.main
        vals = [v for v in keys if v is not None]
        for i in range(0, len(vals), 900):
            existing.update({v: int(i_) for i_, v in conn.execute(
                sa.select(t.c.id, t.c[key]).where(t.c[key].in_(vals[i:i + 900]), t.c.deleted_at.is_(None)))})
    creates, updates = [], []
    for (rowno, doc), kv in zip(batch, keys):
        (updates if kv is not None and kv in existing else creates).append((rowno, doc, existing.get(kv)))
    bad = 0
    prepared = prepare_many(conn, registry, compiled, ctx, access, [d for _, d, _ in creates], ["" for _ in creates])
    good = []
    for (rowno, _, _), (prep, problems) in zip(creates, prepared):
        if problems:
            bad += 1
            stats["skipped"] += 1
            errors.extend(_row_errors(rowno, problems.items))
        else:
            good.append(prep)
    if write and good and (mode == "skip" or not bad):
        insert_prepared(conn, compiled, ctx, good, hooks=registry.hooks)
        stats["created"] += len(good)
    for rowno, doc, rid in updates:
        if not write or (mode == "all" and bad):
            continue
        try:
            with conn.begin_nested():
                _, changed = apply_update(conn=conn, registry=registry, ctx=ctx, form=compiled.name, record_id=rid, patch=doc)
            stats["updated" if changed else "unchanged"] += 1
        except MomError as exc:
            bad += 1
            stats["skipped"] += 1
            errors.extend(_row_errors(rowno, exc.problems or [Problem("", exc.zh, exc.en)]))
    return bad


def _row_errors(rowno: int, problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"row": rowno, "field": p.path.strip("/").split("/")[0] or None,
             "message": {"zh-CN": f"第 {rowno} 行：{p.zh}", "en": f"row {rowno}: {p.en}"}} for p in problems]


# ---------------------------------------------------------------- export

def export_rows(*, conn: Connection, registry: lookup.Registry, ctx: Ctx, form: str, filters: list[Filter] = (),
                sort: str | None = None, header: str = "label") -> Iterator[list[Any]]:
    """Header row, then one row per record (paged by keyset; hidden fields never appear)."""
    compiled = registry.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("export")
    fields = [f for f in compiled.definition.scalar_fields if access.visible(f.key)]
    yield ["id"] + [f.key if header == "key" else f.label["zh-CN"] for f in fields]
    after = None
    while True:
        page = list_records(conn=conn, registry=registry, ctx=ctx, form=form, filters=list(filters), sort=sort,
                            limit=1000, after=after, action="export")
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
