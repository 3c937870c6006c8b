"""Production (issue 19): orders from a sales order, release an order, report work (报工), an order's progress,
the dispatch list.

The engine is ``mom.engines.production``; each call checks the caller's record permissions on the
core pack's forms (release: the planner's update right and the release transition; reports: create on
``job_report``; progress and dispatch: read)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from starlette.concurrency import run_in_threadpool

from mom.engines.production import corrections
from mom.engines.production import progress as P
from mom.engines.production import release as R
from mom.engines.production import reports
from mom.engines.production.documents import ORDER, require_core, resolve
from mom.engines.quality import ipqc
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, SettingsDep, WriteCtxDep, check_token_in
from mom.platform.api.models import ERRORS, JobReportRead
from mom.platform.api.params import OptText
from mom.platform.api.responses import JSONBytes
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/production", tags=["production"], responses=ERRORS)
#: an order named by its id or its code (MO-20261202-001)
PathOrder = Annotated[str, Path(min_length=1, max_length=64, description="工单 id 或编号 / order id or code")]
#: a sales order named by its id or its code (SO-20261202-001)
PathSalesOrder = Annotated[str, Path(min_length=1, max_length=64, description="销售订单 id 或编号 / sales order id or code")]
#: a schedule proposal named by its id or its code (SP-20261202-001)
PathProposal = Annotated[str, Path(min_length=1, max_length=64, description="建议 id 或编号 / proposal id or code")]


def _order_id(conn: Any, registry: Any, order: str) -> int:
    require_core(conn, registry)
    return int(resolve(conn, registry.get(conn, ORDER), order, "/order")["id"])


@router.post("/orders/{order}/release", summary="Release a planned order: tasks from its routing, components from its BOM")
def release_order(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return R.release(conn, registry, ctx, _order_id(conn, registry, order))


@router.post("/reports", status_code=201, responses={201: {"model": JobReportRead}},
             summary="Report work on an operation task: body {task (id or code, the QR), event, good_qty, scrap_qty, "
                     "rework_qty, scrap_reason, machine, client_id, note}; a repeated client_id answers 200 with the first report. "
                     "A correction (报工更正, planners and supervisors): {event: correct, corrects (the report's code or id), "
                     "good_qty/scrap_qty/rework_qty as changes (-5 takes five back), reason, client_id}")
async def post_report(request: Request, ctx: WriteCtxDep, body: Annotated[Any, Body()]) -> Any:
    state = request.app.state
    if not isinstance(body, dict):
        raise InvalidInput("报工内容应为 JSON 对象", "the body must be a JSON object (one job report)")

    def work() -> dict[str, Any]:
        with write_tx(state.engine) as conn:
            check_token_in(request, conn)
            if body.get("event") == corrections.EVENT:
                return corrections.correct(conn, state.registry, ctx, body)
            return reports.report(conn, state.registry, ctx, body)

    out = await run_in_threadpool(work)
    return JSONBytes(out, status_code=200 if out["duplicate"] else 201)


@router.post("/demand/{sales_order}",
             summary="Production orders from a sales order: one planned order per line not yet covered (body {lines?}: "
                     "1-based line numbers); answers {created, skipped}; running it again creates nothing new")
def orders_from_demand(sales_order: PathSalesOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                       body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    from mom.engines.production.demand import from_demand

    b = {} if body is None else body
    if not isinstance(b, dict):
        raise InvalidInput("内容应为 JSON 对象，如 {\"lines\": [1, 2]}", "the body must be a JSON object, e.g. {\"lines\": [1, 2]}")
    lines = b.get("lines")
    if lines is not None and not isinstance(lines, list):
        raise InvalidInput("行号应写成列表，如 [1, 2]", "lines must be a list of line numbers, e.g. [1, 2]",
                           problems=[Problem("/lines", "应为行号列表", "must be a list of line numbers", "type")])
    with write_tx(engine) as conn:
        return from_demand(conn, registry, ctx, sales_order, lines=lines)


@router.get("/orders/{order}/progress", summary="An order with its tasks: quantities, WIP per operation, progress, expected finish")
def order_progress(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return P.progress(conn, registry, ctx, _order_id(conn, registry, order))


@router.get("/dispatch", summary="Open operation tasks of released orders in planned-start order, per work centre and/or machine")
def dispatch(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, work_center: OptText = None,
             machine: OptText = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        tasks = P.dispatch(conn, registry, ctx, work_center=work_center, machine=machine)
        return {"tasks": ipqc.mark_waiting(conn, registry, ctx, tasks)}     # 等待首检 (quality pack)


@router.post("/orders/{order}/whatif",
             summary="Rush-order what-if for a planned order: where it would fit (planned finish vs due) and which "
                     "released orders get later by how much; body {time_limit?}; writes nothing")
def order_whatif(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep, settings: SettingsDep,
                 body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    from mom.engines.production.whatif import whatif
    from mom.platform.replanning import replan

    b = {} if body is None else body
    limit = b.get("time_limit", 5.0) if isinstance(b, dict) else None
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
        raise InvalidInput("模拟时间须为正数（秒）", "time_limit must be a positive number of seconds",
                           problems=[Problem("/time_limit", "须为正数（秒）", "must be a positive number of seconds", "range")])
    return whatif(engine, registry, ctx, order, replan=replan,
                  time_limit=min(float(limit), settings.schedule_max_seconds))


@router.get("/proposals", summary="Schedule proposals (排程调整建议), newest first, with their changes; ?status=pending …")
def list_proposals(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, status: OptText = None) -> dict[str, Any]:
    from mom.engines.production import proposals

    with read_tx(engine) as conn:
        return {"proposals": proposals.listing(conn, registry, ctx, status=status)}


@router.post("/proposals/{proposal}/accept",
             summary="Accept a pending schedule proposal: its plan is written onto the tasks; refused (409, marked stale) "
                     "when a task changed since")
def accept_proposal(proposal: PathProposal, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    from mom.engines.production import proposals

    with write_tx(engine) as conn:
        out = proposals.accept(conn, registry, ctx, proposal)
    if out["status"] == "stale":            # the stale mark is committed; the refusal says why
        raise proposals.stale_error(out)
    return out


@router.post("/proposals/{proposal}/reject", summary="Reject a pending schedule proposal: the plan in force stays")
def reject_proposal(proposal: PathProposal, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    from mom.engines.production import proposals

    with write_tx(engine) as conn:
        return proposals.reject(conn, registry, ctx, proposal)
