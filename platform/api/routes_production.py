"""Production (issue 19): release an order, report work (报工), an order's progress, the dispatch list.

The engine is ``mom.engines.production``; each call checks the caller's record permissions on the
core pack's forms (release: the planner's update right and the release transition; reports: create on
``job_report``; progress and dispatch: read)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from starlette.concurrency import run_in_threadpool

from mom.engines.production import progress as P
from mom.engines.production import release as R
from mom.engines.production import reports
from mom.engines.production.documents import ORDER, require_core, resolve
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, WriteCtxDep, check_token_in
from mom.platform.api.models import ERRORS
from mom.platform.api.params import OptText
from mom.platform.api.responses import JSONBytes
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput

router = APIRouter(prefix="/api/production", tags=["production"], responses=ERRORS)
#: an order named by its id or its code (MO-20261202-001)
PathOrder = Annotated[str, Path(min_length=1, max_length=64, description="工单 id 或编号 / order id or code")]


def _order_id(conn: Any, registry: Any, order: str) -> int:
    require_core(conn, registry)
    return int(resolve(conn, registry.get(conn, ORDER), order, "/order")["id"])


@router.post("/orders/{order}/release", summary="Release a planned order: tasks from its routing, components from its BOM")
def release_order(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return R.release(conn, registry, ctx, _order_id(conn, registry, order))


@router.post("/reports", status_code=201,
             summary="Report work on an operation task: body {task (id or code, the QR), event, good_qty, scrap_qty, "
                     "rework_qty, scrap_reason, machine, client_id, note}; a repeated client_id answers 200 with the first report")
async def post_report(request: Request, ctx: WriteCtxDep, body: Annotated[Any, Body()]) -> Any:
    state = request.app.state
    if not isinstance(body, dict):
        raise InvalidInput("报工内容应为 JSON 对象", "the body must be a JSON object (one job report)")

    def work() -> dict[str, Any]:
        with write_tx(state.engine) as conn:
            check_token_in(request, conn)
            return reports.report(conn, state.registry, ctx, body)

    out = await run_in_threadpool(work)
    return JSONBytes(out, status_code=200 if out["duplicate"] else 201)


@router.get("/orders/{order}/progress", summary="An order with its tasks: quantities, WIP per operation, progress, expected finish")
def order_progress(order: PathOrder, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return P.progress(conn, registry, ctx, _order_id(conn, registry, order))


@router.get("/dispatch", summary="Open operation tasks of released orders in planned-start order, per work centre and/or machine")
def dispatch(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, work_center: OptText = None,
             machine: OptText = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"tasks": P.dispatch(conn, registry, ctx, work_center=work_center, machine=machine)}
