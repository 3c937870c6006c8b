"""OEE per ISO 22400-2 (issue 23): rows per machine / line / shift / day, the six big losses with their stop
reasons, the andon board and a machine's stops waiting for a reason. Everything within the caller's record
permissions on machines and machine states (docs/oee.md). A stop is classified through the record API:
``PATCH /api/records/machine_state/{id}`` with ``{"stop_reason": id, "note": …}``.

The engine is ``mom.engines.oee`` (reader, report, andon)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from mom.engines.oee import andon, report
from mom.engines.oee.period import period
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, SettingsDep
from mom.platform.api.models import ERRORS
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/oee", tags=["oee"], responses=ERRORS)
From = Annotated[str | None, Query(alias="from", max_length=32, description="起 2026-12-01 或 2026-12-01T08:00 / from")]
To = Annotated[str | None, Query(alias="to", max_length=32, description="止（日期含当天）/ to (a date includes its day)")]
MachineQ = Annotated[str | None, Query(max_length=64, description="设备编码或编号 / machine code or id")]
LineQ = Annotated[str | None, Query(max_length=64, description="产线（工作中心）编码或编号 / line (work centre) code or id")]
@router.get("", summary="OEE per machine / line / shift / day: the ISO 22400-2 time model (seconds), availability, "
                        "effectiveness, quality rate, OEE, FPY, scrap ratio, utilisation, the six big losses")
def oee(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, date_from: From = None, date_to: To = None,
        group: Annotated[str, Query(max_length=16, description="machine | line | shift | day")] = "machine",
        machine: MachineQ = None, line: LineQ = None) -> dict[str, Any]:
    start, end = period(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        return report.rows(conn, registry, ctx, start, end, group=group, machine=machine, line=line)


@router.get("/losses", summary="The six big losses (seconds) and the stop reasons behind the stops, largest first (Pareto)")
def losses(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, date_from: From = None, date_to: To = None,
           machine: MachineQ = None, line: LineQ = None) -> dict[str, Any]:
    start, end = period(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        return report.losses(conn, registry, ctx, start, end, machine=machine, line=line)


@router.get("/andon", summary="Andon board: every machine with its current state and since when, today's OEE, "
                              "open alarms and unexplained stops")
def andon_board(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, line: LineQ = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return andon.board(conn, registry, ctx, line=line)


@router.get("/stops", summary="One machine's down / idle stops without a reason (newest first) and the stop reasons "
                              "to choose from; classify with PATCH /api/records/machine_state/{id}")
def stops(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
          machine: Annotated[str, Query(min_length=1, max_length=64, description="设备编码或编号 / machine code or id")],
          days: Annotated[int, Query(ge=1, le=31, description="最近几天 / last days")] = 7,
          min_seconds: Annotated[float, Query(ge=0, le=86400, allow_inf_nan=False, description="至少多少秒 / at least")] = 0
          ) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return andon.unexplained_stops(conn, registry, ctx, machine=machine, days=days, min_seconds=min_seconds)


@router.get("/timeline", summary="One machine's states over a period (a day by default) for the drill-down timeline")
def timeline(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
             machine: Annotated[str, Query(min_length=1, max_length=64, description="设备编码或编号 / machine code or id")],
             date_from: From = None, date_to: To = None) -> dict[str, Any]:
    today = ctx.now.astimezone(ctx.tz).date().isoformat()
    start, end = period(date_from or date_to or today, date_to or date_from or today, ctx)
    with read_tx(engine) as conn:
        return andon.timeline(conn, registry, ctx, machine=machine, start=start, end=end)


@router.get("/bottlenecks", summary="瓶颈分析 / bottlenecks: per machine and line the measured utilisation, OEE and losses "
                                    "over the period, the planned load, queue and critical-chain minutes over the next days, "
                                    "the limiting machine and what-ifs to try (docs/oee.md)")
def bottlenecks(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, date_from: From = None, date_to: To = None,
                line: LineQ = None,
                days: Annotated[int, Query(ge=-2**31, le=2**31, description="计划展望天数 1–60 / days of plan ahead")] = 14
                ) -> dict[str, Any]:
    from mom.engines.oee import bottleneck

    start, end = period(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        return bottleneck.analyse(conn, registry, ctx, start, end, line=line, days=days)


@router.post("/bottlenecks/whatif", summary="What-if on a machine computed by the scheduler, against the base solve in the "
                                            "same call: body {machine, kind: extra_shift | alternative | shorter_setups, "
                                            "parameters?, time_limit?}; planner; writes nothing")
def bottleneck_whatif(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, settings: SettingsDep,
                      body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    from mom.engines.oee import bottleneck_whatif as bw
    from mom.engines.production.whatif import require_planner

    require_planner(ctx)
    b = {} if body is None else body
    if not isinstance(b, dict):
        raise InvalidInput("请求体应为对象", "the body must be an object", problems=[Problem("", "请求体应为对象", "the body must be an object")])
    limit = b.get("time_limit", bw.DEFAULT_SECONDS)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= 600:
        zh, en = "模拟时间须为大于 0、不超过 600 的秒数", "time_limit must be a number of seconds above 0 and at most 600"
        raise InvalidInput(zh, en, problems=[Problem("/time_limit", zh, en, "range")])
    return bw.run(engine, registry, ctx, machine=b.get("machine"), kind=b.get("kind"), parameters=b.get("parameters"),
                  time_limit=min(float(limit), settings.schedule_max_seconds), workers=settings.schedule_workers)
