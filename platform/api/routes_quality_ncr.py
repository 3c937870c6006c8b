"""NCR and CAPA screens and RTY (issue 22): the work list of NCRs, one NCR with what its dispositions posted
(links only to documents the caller may read) and its review flow, the CAPA (8D) list and one CAPA with its
steps, and 直通率 (rolled throughput yield) per production order or per item over a period.

Read-only: the actions are the existing APIs (workflow start, task approve, record transitions, records).
Everything within the caller's record permissions (see docs/quality.md, 「不合格品处理与 CAPA 页面」)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from mom.engines.oee import period
from mom.engines.quality import capa_views, ncr_views, rty
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.api.params import MAX_ID, OptText, PathId
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/quality", tags=["quality"], responses=ERRORS)
States = Annotated[str | None, Query(max_length=80, description="状态，逗号分隔 / states, comma-separated")]
Source = Annotated[str | None, Query(max_length=40, description="iqc（来料）| ipqc（过程）| oqc（出货）| manual（手工），逗号分隔")]
Supplier = Annotated[str | None, Query(max_length=100, description="供应商（包含）/ supplier contains")]
ListLimit = Annotated[int, Query(ge=1, le=ncr_views.MAX_LIST, description="最多条数 / at most this many")]
Day = Annotated[str | None, Query(max_length=10, description="日期 2026-12-01 / a date")]


def _day(raw: str | None, name: str, ctx: Any) -> dt.date | None:
    """A date (2026-12-01), years 1970–2200 as the OEE periods (9999-12-31 plus a day overflowed)."""
    at = period.moment(raw, name, ctx.tz)      # at most 10 characters (the query's bound): a date, not a time
    return at.date() if at is not None else None


def _order(raw: str) -> str:
    """An order's id or number; a number of digits beyond the largest id answers 422 naming ``order``."""
    text = raw.strip()
    if text.isascii() and text.isdigit() and int(text) > MAX_ID:
        zh, en = f"生产工单编号 {text[:20]}… 太大：请给出工单号或列表中的编号", f"order {text[:20]}… is too large an id: give the order number or its id"
        raise InvalidInput(zh, en, problems=[Problem("/order", "编号太大", "too large an id", "range")])
    return text


@router.get("/ncrs", summary="NCR work list (不合格品处理): open ones oldest first; ?status=&source=&supplier=&q=&limit=; "
                             "each with age, source and who acts next")
def ncr_list(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, status: States = None, source: Source = None,
             supplier: Supplier = None, q: OptText = None, limit: ListLimit = 100) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return ncr_views.worklist(conn, registry, ctx, status=status, source=source, supplier=supplier, q=q, limit=limit)


@router.get("/ncrs/{ncr_id}", summary="One NCR: disposition lines with the documents they posted (links only to what "
                                      "the caller may read), the review flow's state, the CAPA and what the caller may do")
def ncr_detail(ncr_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return ncr_views.detail(conn, registry, ctx, ncr_id)


@router.get("/capas", summary="CAPA (8D) list, due soonest first: not closed by default; ?status=&mine=&overdue=&limit=; "
                              "with days overdue, steps done and the effectiveness check")
def capa_list(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, status: States = None,
              mine: Annotated[bool, Query(description="只看我负责的 / only mine")] = False,
              overdue: Annotated[bool, Query(description="只看逾期 / only overdue")] = False,
              limit: ListLimit = 100) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return capa_views.listing(conn, registry, ctx, status=status, mine=mine, overdue=overdue, limit=limit)


@router.get("/capas/{capa_id}", summary="One CAPA: the 8D steps D1–D8 with who filled each and when, the effectiveness "
                                        "check, the NCR and how many days overdue")
def capa_detail(capa_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return capa_views.detail(conn, registry, ctx, capa_id)


@router.get("/rty", summary="直通率 RTY = Π FPYᵢ: ?order=<id or number> for one production order's operations, or "
                            "?item=<id>&from=&to= for an item over a period (default the last 30 days, at most 400)")
def rolled_throughput_yield(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                            order: Annotated[str | None, Query(max_length=40, description="生产工单编号或单号 / order id or number")] = None,
                            item: Annotated[int | None, Query(ge=1, le=MAX_ID, description="物料编号 / item id")] = None,
                            date_from: Annotated[str | None, Query(alias="from", max_length=10, description="起 / from")] = None,
                            date_to: Annotated[str | None, Query(alias="to", max_length=10, description="止（含）/ to")] = None) -> dict[str, Any]:
    if (order is None or not order.strip()) == (item is None):
        raise InvalidInput("请给出生产工单（order）或物料（item）之一", "give either a production order (order) or an item (item)",
                           problems=[Problem("/order", "请给出生产工单或物料之一", "give an order or an item", "required")])
    order = _order(order) if order is not None and item is None else order
    with read_tx(engine) as conn:
        if item is not None:
            return rty.item_rty(conn, registry, ctx, item, _day(date_from, "from", ctx), _day(date_to, "to", ctx))
        return rty.order_rty(conn, registry, ctx, order.strip())  # type: ignore[union-attr]
