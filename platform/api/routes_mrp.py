"""MRP (issue 21): run MRP, read a run with its suggestions, follow a suggestion's pegging to the top,
confirm or ignore suggestions in bulk. The engine is ``mom.engines.mrp``: planners and administrators run
and confirm; reading needs the read right on the MRP forms; confirmed orders are created through the
record service with the caller's permissions."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from mom.engines.mrp import confirmation, listing, runs
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/mrp", tags=["mrp"], responses=ERRORS)
PathRun = Annotated[str, Path(min_length=1, max_length=64, description="运算 id 或运算号 / run id or code (MRP-…)")]
PathSuggestion = Annotated[str, Path(min_length=1, max_length=64, description="建议 id 或建议号 / suggestion id or code (MS-…)")]


def _obj(body: Any, example: str) -> dict[str, Any]:
    b = {} if body is None else body
    if not isinstance(b, dict):
        raise InvalidInput(f"内容应为 JSON 对象，如 {example}", f"the body must be a JSON object, e.g. {example}")
    return b


@router.post("/runs", status_code=201,
             summary="Run MRP: body {bucket: day|week (week), horizon: buckets 1-400 (26), mode: full|net_change (full)}; "
                     "answers the run's counts (suggestions, exceptions, duration)")
def post_run(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    b = _obj(body, '{"bucket": "week", "horizon": 26}')
    unknown = sorted(set(b) - {"bucket", "horizon", "mode"})
    if unknown:
        raise InvalidInput(f"不认识的参数：{'、'.join(map(str, unknown))}；可用 bucket、horizon、mode",
                           f"unknown fields: {', '.join(map(str, unknown))}; use bucket, horizon, mode",
                           problems=[Problem(f"/{k}", "不认识的参数", "unknown field", "unknown") for k in unknown[:20]])
    with write_tx(engine) as conn:
        return runs.run(conn, registry, ctx, bucket=b.get("bucket", "week"), horizon=b.get("horizon", 26),
                        mode=b.get("mode", runs.FULL))


@router.get("/runs", summary="The latest runs, newest first (code, time, mode, bucket, horizon, status, counts), for a "
                              "planner to pick one; ?limit= (at most 100)")
def list_runs(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
              limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    import sqlalchemy as sa

    from mom.engines.mrp import documents as D
    from mom.engines.records.access import form_access

    with read_tx(engine) as conn:
        f = D.forms_of(conn, registry)
        form_access(f[D.RUN], ctx.actor).require("read")
        t = f[D.RUN].main
        ids = conn.execute(sa.select(t.c.id).where(t.c.deleted_at.is_(None)).order_by(t.c.id.desc()).limit(limit)).scalars().all()
        return {"runs": [runs.summary(conn, registry, int(i)) for i in ids]}


@router.get("/runs/{run}", summary="A run with a page of its suggestions (item, kind, qty, release/due dates, exception, "
                                   "status, pegging); filters exception, status, item (code)")
def get_run(run: PathRun, engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
            limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 200, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
            exception: Annotated[str | None, Query(max_length=20)] = None, status: Annotated[str | None, Query(max_length=20)] = None,
            item: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return listing.run_with_suggestions(conn, registry, ctx, run, limit=limit, offset=offset, exception=exception,
                                            status=status, item=item)


@router.get("/suggestions/{suggestion}/demands",
            summary="The demands at the top that a suggestion serves, its pegging followed through the parents' suggestions")
def get_demands(suggestion: PathSuggestion, engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return listing.top_demands(conn, registry, ctx, suggestion)


def _list(body: Any) -> list[Any]:
    b = _obj(body, '{"suggestions": ["MS-20270301-00001"]}')
    got = b.get("suggestions")
    if not isinstance(got, list):
        raise InvalidInput("请给出 suggestions：建议 id 或建议号的列表", "give suggestions: a list of suggestion ids or codes",
                           problems=[Problem("/suggestions", "应为列表", "must be a list", "type")])
    return got


@router.post("/suggestions/confirm",
             summary="Confirm suggestions in bulk (body {suggestions: [id or code, …]}, at most 1000): make → planned production "
                     "orders, buy → one purchase order; already confirmed or ignored ones are skipped, never done twice")
def post_confirm(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    wanted = _list(body)
    with write_tx(engine) as conn:
        return confirmation.confirm(conn, registry, ctx, wanted)


@router.post("/suggestions/ignore", summary="Ignore suggestions in bulk (body {suggestions: [id or code, …]})")
def post_ignore(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    wanted = _list(body)
    with write_tx(engine) as conn:
        return confirmation.ignore(conn, registry, ctx, wanted)
