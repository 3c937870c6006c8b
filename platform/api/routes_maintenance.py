"""Maintenance (设备维修保养, issue 23): MTBF / MTTR per machine (ISO 22400-2), the PM run, spare parts issued
to an order, and the board behind ``/#/maintenance`` and ``/#/repair``. Every answer follows the caller's
permissions on the equipment pack's forms (docs/maintenance.md)."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Query

from mom.engines.maintenance import board, pm, spares
from mom.engines.maintenance import pack as K
from mom.engines.maintenance.reliability import mtbf_mttr
from mom.engines.records.access import form_access
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS, Open
from mom.platform.api.params import PathId
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/maintenance", tags=["maintenance"], responses=ERRORS)
Day = Annotated[str | None, Query(max_length=32, description="日期 2026-12-01（或带时间），1970–2200 年 / a date (or date-time), years 1970–2200")]
Machines = Annotated[str | None, Query(max_length=2000, description="设备编号或 id，逗号分隔；不填为全部 / machine codes or ids, comma-separated")]
MAX_DAYS = 3660


class ReliabilityRow(Open):
    """One machine: ``failures`` (FE), ``mtbf_h`` / ``mttr_h`` (hours, null without failures), ``downtime_h``,
    ``availability`` (0..1)."""
    id: int
    code: str
    name: str | None = None
    failures: int
    mtbf_h: float | None = None
    mttr_h: float | None = None
    downtime_h: float
    availability: float | None = None


class ReliabilityRead(Open):
    """MTBF / MTTR per machine over [``from``, ``to``) (ISO 22400-2)."""
    machines: list[ReliabilityRow]


class PmRunRead(Open):
    """The PM orders opened now: ``id``, ``code``, ``title``, ``due_date``."""
    opened: list[dict[str, Any]]


class IssueRead(Open):
    """Spare parts issued: the order's ``code``, the line numbers ``issued``, the ledger rows written ``moves``."""
    code: str | None = None
    issued: list[int]
    moves: int


class OrdersRead(Open):
    """Open maintenance orders the caller may read (with machine, labels and ``elapsed_min``)."""
    items: list[dict[str, Any]]


class BoardRead(Open):
    """``weeks`` (each: ``start``, ``end``, PM ``orders``, ``plans_due``), open ``repairs`` with their timers,
    ``overdue_plans``, ``plans_readable``, the server's ``now``."""
    weeks: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    overdue_plans: list[dict[str, Any]]
    plans_readable: bool


#: the dates a query may name (as the OEE periods): far enough for any plant, and never past the calendar's end
#: once a week, a window or a time zone is added (9999-12-25 + 4 weeks overflowed: issue 23 review)
YEARS = (1970, 2200)


def _when(value: str | None, name: str, zh: str, default: dt.datetime, ctx: Any) -> dt.datetime:
    """Query parameter ``name`` (a date or date-time; plant time when it names no zone) inside :data:`YEARS`."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    try:
        got = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{zh}「{text[:40]}」不是日期：请写成 2026-12-01", f"{name} is not a date (2026-12-01)",
                           problems=[Problem(f"/{name}", "应为日期，如 2026-12-01", "a date, e.g. 2026-12-01", "format")]) from None
    if not YEARS[0] <= got.year <= YEARS[1]:     # the year as written: 1970-01-01 (plant time) is in
        span_zh, span_en = f"{YEARS[0]}-01-01 到 {YEARS[1]}-12-31 之间", f"between {YEARS[0]}-01-01 and {YEARS[1]}-12-31"
        raise InvalidInput(f"{zh}「{text[:40]}」超出范围：应在 {span_zh}", f"{name} {text[:40]!r} is out of range: give a date {span_en}",
                           problems=[Problem(f"/{name}", f"应在 {span_zh}", span_en, "range")])
    return got if got.tzinfo is not None else got.replace(tzinfo=ctx.tz)


@router.get("/reliability", response_model=ReliabilityRead, summary="MTBF, MTTR, downtime and availability per machine (ISO 22400-2) from repair orders")
def reliability(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, machine: Machines = None,
                from_: Annotated[str | None, Query(alias="from", max_length=32, description="开始日期，1970–2200 年 / from, years 1970–2200")] = None,
                to: Day = None) -> Any:
    """Needs read access to 维修保养工单 (the failures are its records). Default window: the last 30 days."""
    end = _when(to, "to", "结束日期", ctx.now, ctx)
    start = _when(from_, "from", "开始日期", end - dt.timedelta(days=30), ctx)
    if not start < end or (end - start).days > MAX_DAYS:
        raise InvalidInput("开始日期须早于结束日期，且相隔不超过十年", "from must be before to, at most ten years apart",
                           problems=[Problem("/from", "须早于结束日期", "must be before to", "range")])
    with read_tx(engine) as conn:
        compiled = K.require_form(conn, registry, K.ORDER)
        form_access(compiled, ctx.actor).require("read")
        t = registry.get(conn, "machine").main
        q = sa.select(t.c.id, t.c.code, t.c.name).where(t.c.deleted_at.is_(None)).order_by(t.c.code)
        wanted = [w.strip() for w in (machine or "").split(",") if w.strip()][:500]
        if wanted:
            ids = [int(w) for w in wanted if w.isascii() and w.isdigit() and len(w) <= 18]   # "²" is a digit to Python
            q = q.where(sa.or_(t.c.code.in_(wanted), t.c.id.in_(ids)))
        machines = [dict(r) for r in conn.execute(q.limit(2000)).mappings()]
        if wanted and not machines:
            raise InvalidInput(f"没有设备「{machine[:60]}」：请填设备编号", "no such machine: give machine codes",   # type: ignore[index]
                               problems=[Problem("/machine", "没有这台设备", "no such machine", "unknown")])
        got = mtbf_mttr(conn, registry, [m["id"] for m in machines], start, end)
    return {"from": start.isoformat(), "to": end.isoformat(),
            "machines": [{"id": m["id"], "code": m["code"], "name": m["name"], **got[int(m["id"])]} for m in machines]}


@router.post("/pm/run", response_model=PmRunRead, summary="Open the PM orders that are due (保养计划开单); body {days}: calendar plans this many days ahead")
def pm_run(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
           body: Annotated[dict[str, Any] | None, Body()] = None) -> Any:
    """Needs the right to create 维修保养工单 (设备主管)."""
    days = (body or {}).get("days", pm.DEFAULT_AHEAD_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
        raise InvalidInput("提前天数应为 0 到 366 的整数", "days must be a whole number from 0 to 366",
                           problems=[Problem("/days", "应为 0–366 的整数", "a whole number 0–366", "range")])
    with write_tx(engine) as conn:
        form_access(K.require_form(conn, registry, K.ORDER), ctx.actor).require("create")
        opened = pm.run(conn, registry, ctx, ahead_days=days)
        return {"opened": [{"id": o["id"], "code": o["code"], "title": o.get("title"), "due_date": str(o.get("due_date") or "")}
                           for o in opened]}


@router.post("/orders/{order_id}/issue-parts", response_model=IssueRead, summary="Issue the order's spare-part lines not yet issued from stock (备件领用)")
def issue_parts(order_id: PathId, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    with write_tx(engine) as conn:
        return spares.issue(conn, registry, ctx, order_id)


@router.get("/board", response_model=BoardRead, summary="PM orders and plans due by week, open repair orders with their timers (看板)")
def maintenance_board(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, start: Day = None,
                      weeks: Annotated[int, Query(ge=1, le=12, description="周数 / weeks")] = 4) -> Any:
    day = _when(start, "start", "开始日期", ctx.now, ctx).astimezone(ctx.tz).date()
    with read_tx(engine) as conn:
        return board.calendar(conn, registry, ctx, start=day, weeks=weeks)


@router.get("/orders", response_model=OrdersRead, summary="Open maintenance orders I may read (手机维修), optionally of one machine")
def open_orders(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                machine: Annotated[int | None, Query(ge=1, le=2**53, description="设备 id / machine id")] = None) -> Any:
    with read_tx(engine) as conn:
        return {"items": board.orders(conn, registry, ctx, machine=machine)}
