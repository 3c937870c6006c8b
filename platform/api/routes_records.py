"""Records of a form: CRUD, list with filters, import, export, audit, restore."""
from __future__ import annotations

import asyncio
import io
from urllib.parse import quote
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Header, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse, Response

from mom.engines.forms import fieldtypes
from mom.engines.records import query as Q
from mom.engines.records import service as S
from mom.engines.records import transfer, workbook
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, SettingsDep, WriteCtxDep, check_token_in
from mom.platform.api.models import (ERRORS, ErrorRead, ImportResultRead, RecordCreateRead, RecordDeletedRead, RecordPage,
                                     RecordPreviewRead, RecordRead)
from mom.platform.api.params import PathId, PathName
from mom.platform.api.responses import JSONBytes
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem, TooLarge

router = APIRouter(prefix="/api/records", tags=["records"], responses=ERRORS)
RESERVED = {"sort", "limit", "after", "fields", "include_deleted", "only_deleted", "count", "expand", "format", "header",
            "q", "layout", "lang"}   # a field named like one of these is still filtered with key__eq=


def _flag(v: str | None) -> bool:
    return str(v).lower() in ("1", "true", "yes")


@router.get("/{form}", summary="List records: quick search q, filters field[.sub][__op]=value, sort=-a,b, limit, after, fields",
            responses={200: {"model": RecordPage}})
def list_records(form: PathName, request: Request, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    p = request.query_params
    try:
        limit = int(p.get("limit", 50))
    except ValueError:
        raise InvalidInput("limit 必须是整数", "limit must be an integer") from None
    with read_tx(engine) as conn:
        return Q.list_records(conn=conn, registry=registry, ctx=ctx, form=form,
                              filters=Q.parse_filters(dict(p), RESERVED), sort=p.get("sort"), limit=limit,
                              after=p.get("after"), fields=p.get("fields", "").split(",") if p.get("fields") else None,
                              include_deleted=_flag(p.get("include_deleted")), only_deleted=_flag(p.get("only_deleted")),
                              with_count=_flag(p.get("count")), expand_children=_flag(p.get("expand")), search=p.get("q"))


@router.post("/{form}", status_code=201, summary="Create one record (object) or many (array, all or nothing)",
             response_model=RecordCreateRead)   # documents only: the route answers a ready JSONBytes
async def create(form: PathName, request: Request, ctx: WriteCtxDep, body: Annotated[Any, Body()]) -> Any:
    # The hottest write path: the database work runs in one worker-thread hop, and the documents
    # (already plain JSON values) are encoded once with orjson instead of FastAPI's generic encoder;
    # engine, registry and settings come from the app state, not as three more dependencies to solve.
    state = request.app.state
    engine, registry, settings = state.engine, state.registry, state.settings
    docs = body if isinstance(body, list) else [body]
    if not docs:
        raise InvalidInput("没有要创建的记录", "nothing to create")
    if len(docs) > settings.max_bulk_records:
        raise TooLarge(f"一次最多创建 {settings.max_bulk_records} 条；更多请用导入", f"at most {settings.max_bulk_records} records per request; use import for more")

    def work() -> list[dict[str, Any]]:
        with write_tx(engine) as conn:
            check_token_in(request, conn)   # the token's row, read by this transaction (revocation at once)
            return S.create_records(conn=conn, registry=registry, ctx=ctx, form=form, docs=docs)

    out = await run_in_threadpool(work)
    return JSONBytes(out if isinstance(body, list) else out[0], status_code=201)


@router.post("/{form}/preview", summary="Defaults, live formula values and problems of a record being filled in; writes nothing",
             responses={200: {"model": RecordPreviewRead}})
def preview(form: PathName, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: Annotated[Any, Body()],
            editing: bool = False) -> Any:
    from fastapi.encoders import jsonable_encoder

    with read_tx(engine) as conn:
        return jsonable_encoder(S.preview_record(conn=conn, registry=registry, ctx=ctx, form=form, doc=body, editing=editing))


@router.get("/{form}/export", summary="Export CSV (UTF-8 with BOM) or XLSX, with the same filters as the list; "
            "layout=people: labels, a sheet per child table, named after the form",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}})
def export(form: PathName, request: Request, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Response:
    p = request.query_params
    fmt = p.get("format", "csv")
    layout = p.get("layout", "data")
    filters = Q.parse_filters(dict(p), RESERVED)
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("format 只能是 csv 或 xlsx", "format must be csv or xlsx")
    if layout not in ("data", "people"):
        raise InvalidInput("layout 只能是 data（存储值，供程序使用）或 people（给人看的表格）",
                           "layout must be data (stored values, for programs) or people (a sheet for people)")
    if layout == "people":
        return _people_export(form, fmt, p, filters, engine, registry, ctx)
    kw = dict(registry=registry, ctx=ctx, form=form, filters=filters, sort=p.get("sort"), header=p.get("header", "label"),
              search=p.get("q"))
    with read_tx(engine) as conn:  # check permissions and filters before the response starts
        first = transfer.export_rows(conn=conn, **kw)
        next(first)
        next(first, None)
    headers = {"Content-Disposition": f'attachment; filename="{form}.{fmt}"'}
    if fmt == "csv":
        def stream() -> Any:
            with read_tx(engine) as conn:
                yield from transfer.write_csv(transfer.export_rows(conn=conn, **kw))
        return StreamingResponse(stream(), media_type="text/csv; charset=utf-8", headers=headers)
    buf = io.BytesIO()
    with read_tx(engine) as conn:
        transfer.write_xlsx(transfer.export_rows(conn=conn, **kw), buf, form)
    return Response(buf.getvalue(), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _people_export(form: str, fmt: str, p: Any, filters: list[Any], engine: Any, registry: Any, ctx: Any) -> Response:
    """The export for people (workbook.py): named after the form's label (RFC 5987 ``filename*``)."""
    kw = dict(registry=registry, ctx=ctx, form=form, filters=filters, sort=p.get("sort"), search=p.get("q"),
              lang=p.get("lang", "zh-CN"))

    def disposition(title: str) -> dict[str, str]:
        name = workbook.file_name(title, fmt, form)
        # filename* first: clients that take the first name they find get the form's label
        return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}; filename=\"{form}.{fmt}\""}

    if fmt == "csv":
        with read_tx(engine) as conn:  # permissions, filters and the search checked before the response starts
            first = workbook.people_export(conn=conn, child_tables=False, **kw)
            next(first.rows, None)

        def stream() -> Any:
            with read_tx(engine) as conn:
                yield from transfer.write_csv(workbook.people_csv_rows(workbook.people_export(conn=conn, child_tables=False, **kw)))
        return StreamingResponse(stream(), media_type="text/csv; charset=utf-8", headers=disposition(first.title))
    buf = io.BytesIO()
    with read_tx(engine) as conn:
        book = workbook.people_export(conn=conn, **kw)
        workbook.write_people_xlsx(book, buf)
    return Response(buf.getvalue(), headers=disposition(book.title),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/{form}/import", summary="Import CSV/XLSX: mode all|skip, optional upsert key; per-row errors",
             responses={200: {"model": ImportResultRead},
                        413: {"model": ErrorRead, "description": "over an import limit (rows, columns, cell, unpacked size, ratio, time)"},
                        422: {"model": ErrorRead, "description": "a broken file or wrong rows; nothing was written"}})
async def import_file(form: PathName, request: Request, ctx: CtxDep, file: Annotated[UploadFile, File()],
                      key: Annotated[str | None, Form()] = None, mode: Annotated[str, Form()] = "all") -> Any:
    # The file is read and checked outside the write lock, in a worker thread; this coroutine watches
    # the client meanwhile: a client that goes away, or a server that stops, cancels the import (it
    # rolls back at its next check, within one chunk).
    state = request.app.state
    settings = state.settings
    limits = transfer.TableLimits.from_settings(settings)
    stop = transfer.Stop(limits.max_seconds)
    fmt = transfer.format_of(file.filename or "data.csv")

    def work() -> dict[str, Any]:
        return transfer.import_records(engine=state.engine, registry=state.registry, ctx=ctx, form=form, stream=file.file,
                                       fmt=fmt, key=key or None, mode=mode, chunk=settings.import_chunk_rows,
                                       limits=limits, stop=stop)

    task = asyncio.ensure_future(run_in_threadpool(work))
    try:
        while not (await asyncio.wait({task}, timeout=0.25))[0]:
            if await request.is_disconnected():
                stop.request("客户端已断开，导入已取消，未导入任何数据", "the client went away; the import was cancelled, nothing was imported")
        return task.result()
    except asyncio.CancelledError:   # the server is stopping (its grace period is over): stop and roll back first
        stop.request("服务正在停止，导入已取消，未导入任何数据", "the server is stopping; the import was cancelled, nothing was imported")
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                continue
            except Exception:
                break
        raise


@router.get("/{form}/{record_id:int}", summary="One record with its child rows", responses={200: {"model": RecordRead}})
def get_one(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
            include_deleted: bool = False) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return S.get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, include_deleted=include_deleted)


@router.patch("/{form}/{record_id:int}", summary="Update fields; needs the row_version read (body or If-Match): "
              "without it 428, stale 409", responses={200: {"model": RecordRead},
                                                       428: {"model": ErrorRead, "description": "row_version / If-Match missing"}})
def patch(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, settings: SettingsDep,
          body: Annotated[Any, Body()], if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    expected = None
    # If-Match: * is HTTP's explicit "whatever is stored now": the caller chose to overwrite
    required = settings.require_row_version and (if_match or "").strip() != "*"
    if if_match and (if_match or "").strip() != "*":
        try:
            expected = int(if_match.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise InvalidInput("If-Match 应为记录的 row_version", "If-Match must be the record's row_version",
                               problems=[Problem("/If-Match", "应为整数，如 \"3\"", 'expected an integer, e.g. "3"')]) from None
    with write_tx(engine) as conn:
        return S.update_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id, patch=body,
                               expected_version=expected, require_version=required)


@router.delete("/{form}/{record_id:int}", summary="Soft delete (restorable)", responses={200: {"model": RecordDeletedRead}})
def delete(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return S.delete_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)


@router.post("/{form}/{record_id:int}/restore", summary="Restore a soft-deleted record", responses={200: {"model": RecordRead}})
def restore(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return S.restore_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)


@router.get("/{form}/{record_id:int}/qr/{field}", summary="A barcode field's content as a QR code (SVG)",
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def qr(form: PathName, record_id: PathId, field: PathName, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Response:
    import segno

    with read_tx(engine) as conn:
        doc = S.get_record(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)
        f = registry.get(conn, form).definition.field(field)
    if f is None or not fieldtypes.scannable(f) or field not in doc:
        raise InvalidInput(f"{field} 不是可生成二维码的字段", f"{field} is not a field that can be rendered as a QR code")
    if f.raw.get("symbology", "qr") != "qr":
        raise InvalidInput("目前只支持二维码（qr）渲染", "only QR rendering is available so far")
    if not doc[field]:
        raise InvalidInput(f"{field} 为空", f"{field} is empty")
    buf = io.BytesIO()
    try:
        code = segno.make(str(doc[field]), error="m")
    except segno.DataOverflowError:
        raise InvalidInput(f"{field} 的内容太长，放不进一个二维码（最多约 2,300 个字母或数字、约 600 个汉字）；请缩短内容或改用其他字段",
                           f"{field} is too long for one QR code (about 2,300 letters or digits, about 600 Chinese characters at most); "
                           "shorten it or use another field",
                           problems=[Problem(f"/{field}", "内容太长，无法生成二维码", "too long for a QR code", "too_long")]) from None
    code.save(buf, kind="svg", scale=4, xmldecl=False)
    return Response(buf.getvalue(), media_type="image/svg+xml")


@router.get("/{form}/{record_id:int}/audit", summary="Every change of a record: who, when, before/after")
def audit(form: PathName, record_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return S.record_audit(conn=conn, registry=registry, ctx=ctx, form=form, record_id=record_id)
