"""Condition-based PM (状态触发的保养, issue 23): the devices engine hands the maintenance engine's PM flow
(:func:`mom.engines.maintenance.pm.run`) what it cannot read itself — each machine's health score and open
drift alarms (:mod:`mom.engines.devices.health`) — for the active 保养计划 whose trigger is 状态触发.

Run after a flush that raised or cleared an alarm or wrote vibration features (for those machines), and by the
engine hook ``devices.condition_tick`` (the equipment pack's rule ``equipment_condition_tick``, every 10
minutes: alarms cleared, orders done or breakdowns reported change health without new device data)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import health
from mom.engines.maintenance import pack as MK
from mom.engines.maintenance import pm
from mom.engines.records.context import Ctx


def plans(conn: Connection, forms: Any, machines: list[int] | None) -> list[int]:
    """The active condition plans (of ``machines``; None: all)."""
    compiled = MK.pack_form(conn, forms, MK.PLAN)
    if compiled is None or compiled.definition.field("condition_since") is None:
        return []
    t = compiled.main
    q = sa.select(t.c.id).where(t.c.deleted_at.is_(None), t.c.trigger == "condition",
                                sa.or_(t.c.active.is_(True), t.c.active.is_(None)))
    if machines is not None:
        q = q.where(t.c.machine.in_(machines))
    return [int(i) for i in conn.execute(q).scalars()]


def run(conn: Connection, forms: Any, ctx: Ctx, machines: list[int] | None = None) -> list[dict[str, Any]]:
    """Open the condition-based PM orders now due (for ``machines``, or every machine with such a plan)."""
    ids = plans(conn, forms, machines)
    if not ids:
        return []
    return pm.run(conn, forms, ctx, plan_ids=ids, condition=lambda ms: health.condition(conn, forms, ms, ctx.now))


def condition_tick(rt: Any, args: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    """``devices.condition_tick``: the condition-based PM orders due now, their numbers."""
    return {"opened": [str(o["code"]) for o in run(rt.conn, rt.forms, rt.ctx)]}
