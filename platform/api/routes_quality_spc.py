"""SPC of inspections (issue 22): the charted characteristics, one characteristic's chart from its judged
inspection lots (one lot = one subgroup) with rule marks, capability and alarms, exclusions with a reason,
and acknowledging alarms. Everything within the caller's record permissions (see docs/quality.md, SPC).

The engine is ``mom.engines.quality.spc_views`` over ``mom.engines.reports.spc``."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mom.engines.oee import period
from mom.engines.quality import spc_plan, spc_series, spc_views
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS
from mom.platform.api.params import MAX_ID, PathId
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, Problem

router = APIRouter(prefix="/api/quality/spc", tags=["quality"], responses=ERRORS)
PlanId = Annotated[int, Query(ge=1, le=MAX_ID, description="检验方案编号 / inspection plan id")]
CharSeq = Annotated[int, Query(ge=1, le=999, description="检验项目序号 / characteristic number (seq)")]
KSigma = Annotated[float | None, Query(ge=1, le=6, allow_inf_nan=False, description="控制限倍数 k（默认 3）/ sigma multiple")]
Rules = Annotated[str | None, Query(max_length=80, description="判异规则 western_electric | nelson | nelson:1,2,5 | limits")]
Window = Annotated[int, Query(ge=2, le=spc_series.MAX_LIMIT, description="最多子组数（最近的）/ at most this many (newest) subgroups")]


class ExclusionCreate(BaseModel):
    """Leave one subgroup (inspection lot) of a characteristic's chart out of its limits, with the reason."""

    plan: int = Field(ge=1, le=MAX_ID, description="检验方案编号 / inspection plan id")
    char_seq: int = Field(ge=1, le=999, description="检验项目序号 / characteristic number")
    inspection_lot: int = Field(ge=1, le=MAX_ID, description="检验单编号（子组）/ inspection lot id")
    reason: str = Field(min_length=1, max_length=500, description="原因，如：换刀 / reason, e.g. tool change")


class BaselineBody(BaseModel):
    """The chart to take as the characteristic's phase II baseline: the same plan, characteristic, dates and window
    as the chart shown."""

    plan: int = Field(ge=1, le=MAX_ID, description="检验方案编号 / inspection plan id")
    char_seq: int = Field(ge=1, le=999, description="检验项目序号 / characteristic number")
    date_from: str | None = Field(default=None, alias="from", max_length=32, description="起 / from (date or date-time)")
    date_to: str | None = Field(default=None, alias="to", max_length=32, description="止（含当天）/ to")
    limit: int = Field(default=spc_series.DEFAULT_LIMIT, ge=2, le=spc_series.MAX_LIMIT, description="最多子组数 / window")


class AcknowledgeBody(BaseModel):
    """An optional note on what was done about the alarm."""

    note: str | None = Field(default=None, max_length=500, description="处理说明 / note")


def _moment(raw: str | None, name: str, ctx: Any, *, end: bool = False) -> dt.datetime | None:
    """A date (whole local days: ``to`` includes its day) or a date-time in the plant's time zone, years 1970–2200
    (the OEE periods' rule: 9999-12-31 plus a day overflowed the calendar)."""
    return period.moment(raw, name, ctx.tz, end=end)


def _window(date_from: str | None, date_to: str | None, ctx: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[from, to) of a chart; from after to is refused in words (else the chart said "only 0 lots")."""
    start, end = _moment(date_from, "from", ctx), _moment(date_to, "to", ctx, end=True)
    if start is not None and end is not None and start >= end:
        zh, en = "起始日期晚于截止日期：请交换两个日期", "the start date is after the end date: swap them"
        raise InvalidInput(zh, en, problems=[Problem("/from", "起始日期晚于截止日期", "after the end date", "range")])
    return start, end


@router.get("/characteristics", summary="Charted characteristics (进控制图) of the inspection plans the caller may read, "
                                        "with their subgroup counts and open alarms")
def characteristics(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                    limit: Annotated[int, Query(ge=1, le=spc_views.MAX_CHARACTERISTICS)] = 500) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return spc_views.characteristics(conn, registry, ctx, limit=limit)


@router.get("/chart", summary="One characteristic's control chart from its judged inspection lots: points, limits, "
                              "rule marks, capability, histogram, normality, notes, excluded points, the lots and alarms")
def chart(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, plan: PlanId, char_seq: CharSeq,
          date_from: Annotated[str | None, Query(alias="from", max_length=32,
                                                 description="起 2026-12-01 / from (date or date-time)")] = None,
          date_to: Annotated[str | None, Query(alias="to", max_length=32,
                                               description="止（含当天）/ to (a date includes its day)")] = None,
          k: KSigma = None, rules: Rules = None, limit: Window = spc_series.DEFAULT_LIMIT) -> dict[str, Any]:
    start, end = _window(date_from, date_to, ctx)
    with read_tx(engine) as conn:
        return spc_views.chart(conn, registry, ctx, plan, char_seq, date_from=start, date_to=end, k=k, rules=rules,
                               limit=limit)


@router.post("/exclusions", status_code=201, summary="Exclude a subgroup (inspection lot) from a chart's limits, "
                                                     "with the reason; it stays plotted, marked")
def create_exclusion(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: ExclusionCreate) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return spc_views.exclude(conn, registry, ctx, plan=body.plan, char_seq=body.char_seq,
                                 inspection_lot=body.inspection_lot, reason=body.reason)


@router.delete("/exclusions/{exclusion_id}", summary="Take an exclusion back: the subgroup counts in the limits again")
def delete_exclusion(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, exclusion_id: PathId) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return spc_views.unexclude(conn, registry, ctx, exclusion_id)


@router.post("/baseline", summary="Use the chart's limits as the characteristic's baseline (phase II): writes its baseline "
                                  "mean (and sigma) on the inspection plan, with the caller's right to edit the plan")
def set_baseline(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, body: BaselineBody) -> dict[str, Any]:
    start, end = _window(body.date_from, body.date_to, ctx)
    with write_tx(engine) as conn:
        return spc_plan.set_baseline(conn, registry, ctx, body.plan, body.char_seq, date_from=start, date_to=end,
                                     limit=body.limit)


@router.post("/alarms/{alarm_id}/acknowledge", summary="Acknowledge an SPC alarm (who, when, an optional note)")
def acknowledge(engine: EngineDep, registry: RegistryDep, ctx: CtxDep, alarm_id: PathId,
                body: AcknowledgeBody | None = None) -> dict[str, Any]:
    with write_tx(engine) as conn:
        return spc_views.acknowledge(conn, registry, ctx, alarm_id, note=body.note if body else None)
