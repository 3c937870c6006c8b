"""Device data (issue 23, docs/devices.md): each machine's current state and since when, and one machine's
timeline of states and per-minute counts. Answers follow the reader's permission on 设备状态 ``machine_state``
(its read right and row scope); machine codes and names only for readers of the machine form."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from mom.engines.devices import health, status
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep
from mom.platform.api.models import ERRORS, Open
from mom.platform.db.engine import read_tx

router = APIRouter(prefix="/api/devices", tags=["devices"], responses=ERRORS)


class MachineStateRead(Open):
    """A machine's current state (its open 设备状态 record)."""

    machine: int
    machine_code: str | None
    machine_name: str | None
    state: str
    state_label: dict[str, str]
    since: str
    seconds: float
    record: int
    stop_reason: int | None


class CurrentStatesRead(Open):
    machines: list[MachineStateRead]
    at: str


class TimelineRead(Open):
    """States (clipped to the period) and per-minute counts of one machine."""

    machine: int
    machine_code: str | None
    machine_name: str | None
    states: list[dict[str, Any]]
    counts: list[dict[str, Any]]


@router.get("/states/current", response_model=CurrentStatesRead, summary="Each machine's current state and since when")
def current(engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    now = dt.datetime.now(dt.timezone.utc)
    with read_tx(engine) as conn:
        return {"machines": status.current_states(conn, registry, ctx.actor, now), "at": now.isoformat()}


@router.get("/machines/{machine_id}/timeline", response_model=TimelineRead,
            summary="One machine's states and per-minute counts between from and to (at most 31 days; default the last 24 h)")
def machine_timeline(engine: EngineDep, registry: RegistryDep, ctx: CtxDep,
                     machine_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="设备 id / machine id")],
                     start: Annotated[dt.datetime | None, Query(alias="from", description="开始时间（带时区）/ from, with a time zone")] = None,
                     end: Annotated[dt.datetime | None, Query(alias="to", description="结束时间（带时区）/ to, with a time zone")] = None) -> Any:
    now = dt.datetime.now(dt.timezone.utc)
    a, b = status.period(start, end, now)
    with read_tx(engine) as conn:
        return status.timeline(conn, registry, ctx.actor, machine_id, a, b, now)


class MachineHealthRead(Open):
    """A machine's health score (0–100) and what lowers it (docs/devices.md, 状态监测)."""

    machine: int
    machine_code: str | None
    machine_name: str | None
    score: int
    band: str
    band_label: dict[str, str]
    reasons: list[dict[str, Any]]


class HealthRead(Open):
    machines: list[MachineHealthRead]
    at: str


@router.get("/health", response_model=HealthRead,
            summary="Each machine's health score 0–100 from open drift and limit alarms, vibration zones and breakdowns")
def machine_health(engine: EngineDep, registry: RegistryDep, ctx: CtxDep) -> Any:
    now = dt.datetime.now(dt.timezone.utc)
    with read_tx(engine) as conn:
        got = health.scores(conn, registry, ctx.actor, now)
        names = status.machine_names(conn, registry, ctx.actor, sorted(got))
    rows = [{**h, "machine_code": names.get(m, {}).get("code"), "machine_name": names.get(m, {}).get("name")} for m, h in got.items()]
    rows.sort(key=lambda r: (r["score"], r["machine_code"] or "", r["machine"]))
    return {"machines": rows, "at": now.isoformat()}
