"""Stock (issue 21): post and reverse stock documents, create-and-post from a scanner or app (idempotent
by client_id), stock on hand, the ledger, FEFO/FIFO lot suggestions, a pick list from a production
order's BOM copy, and the ledger/balance check.

The engine is ``mom.engines.inventory``; each call checks the caller's record permissions on the
core pack's stock forms (posting: update and the 过账/冲销 transition's roles; reading: read)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import listing
from mom.engines.inventory import lots as LT
from mom.engines.inventory import posting as P
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, WriteCtxDep, check_token_in
from mom.platform.api.models import ERRORS, Open
from mom.platform.api.params import OptText, PathId, QueryId
from mom.platform.api.responses import JSONBytes
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem

router = APIRouter(prefix="/api/inventory", tags=["inventory"], responses=ERRORS)
PathForm = Annotated[str, Path(min_length=1, max_length=64, description="库存单据表单名 / stock document form, e.g. stock_issue")]
PathOrder = Annotated[str, Path(min_length=1, max_length=64, description="工单 id 或编号 / order id or code")]
Rows = Annotated[int, Query(ge=1, le=1000, description="最多行数 / at most this many rows")]


class StockMoveRead(Open):
    """One ledger row a posting wrote: signed quantity in the item's stock unit at a location (and lot)."""

    id: int
    item: int
    location: int
    lot: int | None
    qty: float
    line: int | None


class StockPostingRead(Open):
    """What posting, reversing or create-and-post answers: the document (the reversing one for a reversal),
    its state, the ledger rows it posted, and whether this was a repeat (``duplicate``: 200 instead of 201)."""

    form: str
    id: int
    code: str | None
    status: str | None
    posted_at: str | None
    reversal_of: int | None
    reversed_by: int | None
    duplicate: bool
    moves: list[StockMoveRead]


#: a repeat answers 200 with the same body
POSTED = {201: {"model": StockPostingRead}}


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("内容应为 JSON 对象（单据：表头字段和 lines 明细）", "the body must be a JSON object (a document: header fields and lines)")
    return body


@router.post("/documents/{form}", status_code=201, responses=POSTED,
             summary="Create a stock document and post it at once (body as for POST /api/records/{form}, with lines and an "
                     "optional client_id); a repeated client_id answers 200 with the first document")
async def create_and_post(form: PathForm, request: Request, ctx: WriteCtxDep, body: Annotated[Any, Body()]) -> Any:
    state, doc = request.app.state, _body(body)

    def work() -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                with write_tx(state.engine) as conn:
                    check_token_in(request, conn)
                    return P.create_and_post(conn, state.registry, ctx, form, doc)
            except Conflict:
                # two requests with one client_id at once: the second sees the first's document on its retry
                if attempt == 2 or not doc.get("client_id"):
                    raise
        raise AssertionError("unreachable")

    out = await run_in_threadpool(work)
    return JSONBytes(out, status_code=200 if out["duplicate"] else 201)


@router.post("/documents/{form}/{doc_id}/post", response_model=StockPostingRead, summary="Post a draft stock document (过账); a posted one answers as it is")
def post_document(form: PathForm, doc_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    with write_tx(engine) as conn:
        return P.post(conn, registry, ctx, form, doc_id)


@router.post("/documents/{form}/{doc_id}/reverse", status_code=201, responses=POSTED,
             summary="Reverse a posted stock document (冲销): a reversing document posts the negated ledger rows")
def reverse_document(form: PathForm, doc_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    with write_tx(engine) as conn:
        out = P.reverse(conn, registry, ctx, form, doc_id)
    return JSONBytes(out, status_code=200 if out["duplicate"] else 201)


@router.get("/onhand", summary="Stock on hand by item × location × lot (non-zero), with the usable total per item; "
                               "item/location/lot by id or code (lot: its number)")
def onhand(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, item: OptText = None, location: OptText = None,
           lot: OptText = None, limit: Rows = 500) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return listing.onhand(conn, registry, ctx, item=item, location=location, lot=lot, limit=limit)


@router.get("/moves", summary="The stock ledger, newest first, filtered by item/location/lot; ?before=<id> for the next page")
def moves(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, item: OptText = None, location: OptText = None,
          lot: OptText = None, before: QueryId = None, limit: Rows = 200) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return listing.moves(conn, registry, ctx, item=item, location=location, lot=lot, before_id=before, limit=limit)


@router.get("/suggest", summary="Lots to take (FEFO, then FIFO; released lots only) for qty of item at location")
def suggest(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, item: Annotated[str, Query(min_length=1, max_length=100)],
            location: Annotated[str, Query(min_length=1, max_length=100)], qty: Annotated[str, Query(min_length=1, max_length=40)]
            ) -> dict[str, Any]:
    try:
        want = Decimal(qty)
        if not want.is_finite() or want <= 0 or want > Decimal("1e14"):
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidInput(f"数量「{qty}」不是正数", f"qty {qty} is not a positive number",
                           problems=[Problem("/qty", "须为正数", "must be a positive number", "range")]) from None
    with read_tx(engine) as conn:
        item_id = listing.resolve(conn, registry, D.ITEM, item)
        loc_id = listing.resolve(conn, registry, D.LOCATION, location)
        listing.require_read(conn, registry, ctx, D.BALANCE)
        taken, short = LT.suggest(conn, registry, int(item_id or 0), int(loc_id or 0), want)
        lots = D.rows_by_id(conn, D.get(conn, registry, D.LOT), [t[0] for t in taken])
    return {"item": item_id, "location": loc_id, "short": listing.number(short),
            "lots": [{"lot": lid, "number": lots[lid]["number"], "expiry_date": lots[lid]["expiry_date"].isoformat()
                      if lots[lid].get("expiry_date") else None, "qty": listing.number(q)} for lid, q in taken]}


@router.post("/orders/{order}/pick-list",
             summary="按BOM生成领料行: issue lines for what the order's components still need; body {from_location?, create?}: "
                     "create: true makes a draft 生产领料 with them")
def pick_list(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
              body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    from mom.engines.production.documents import ORDER, resolve

    b = {} if body is None else _body(body)
    with write_tx(engine) as conn:
        order_row = resolve(conn, registry.get(conn, ORDER), order, "/order")
        loc = listing.resolve(conn, registry, D.LOCATION, b.get("from_location"))
        lines = P.pick_list(conn, registry, ctx, int(order_row["id"]), from_location=loc)
        out: dict[str, Any] = {"order": int(order_row["id"]), "code": order_row["code"],
                               "lines": [{**ln, "qty": listing.number(ln["qty"])} for ln in lines]}
        if b.get("create") is True and lines:
            from mom.engines.records import service as S

            made = S.create_records(conn=conn, registry=registry, ctx=ctx, form="stock_issue",
                                    docs=[{"production_order": int(order_row["id"]), "lines": lines}])[0]
            out["document"] = {"form": "stock_issue", "id": made["id"], "code": made.get("code")}
        return out


@router.get("/check", summary="Recompute balances from the ledger: the differences (none when they agree); administrators")
def check(engine: EngineDep, ctx: CtxDep) -> dict[str, Any]:
    if not ctx.actor.is_admin:
        raise AccessDenied("只有管理员可以核对库存账", "only an administrator checks the stock ledger")
    with read_tx(engine) as conn:
        diffs = B.check(conn)
    return {"differences": [{**d, "ledger": listing.number(d["ledger"]), "balance": listing.number(d["balance"])} for d in diffs]}
