"""Maintenance windows as unavailable machine time for scheduling (issue 23, hook ``mom_machine_downtime``).

When the production engine builds the schedule problem from the database, each machine is unavailable
over:

- a PM order's planned window (计划开始 → 计划结束) while the order is open (待响应 / 已响应 / 维修中);
- an open repair order that stops the machine (设备停机), from its 报修时间 until its expected finish
  (计划结束/预计完工; the technician moves it when the repair takes longer).

Orders that do not stop the machine (设备停机 unticked) leave it free.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.maintenance import pack as K
from mom.platform.hookspecs import hookimpl


def windows(conn: Connection, forms: Any, machine_ids: list[int], start: dt.datetime,
            end: dt.datetime) -> list[tuple[int, dt.datetime, dt.datetime, str]]:
    """``(machine id, from, to, why in Chinese)`` of the open orders that stop ``machine_ids`` and overlap [start, end)."""
    compiled = K.pack_form(conn, forms, K.ORDER)
    if compiled is None or not machine_ids:
        return []
    t = compiled.main
    begin = sa.case((t.c.kind == "repair", sa.func.coalesce(t.c.reported_at, t.c.planned_start)), else_=t.c.planned_start)
    rows = conn.execute(sa.select(t.c.machine, t.c.code, t.c.kind, begin.label("begin"), t.c.planned_end).where(
        t.c.deleted_at.is_(None), t.c.status.in_(K.OPEN), t.c.machine.in_([int(m) for m in machine_ids][:5000]),
        sa.or_(t.c.machine_stopped.is_(True), t.c.machine_stopped.is_(None)), t.c.planned_end.is_not(None),
        t.c.planned_end > start, begin < end))
    out = []
    for machine, code, kind, a, b in rows:
        a, b = K.aware(a), K.aware(b)
        if a is None or b is None or b <= a:
            continue
        out.append((int(machine), a, b, f"{K.KIND_ZH.get(kind, kind)}工单 {code}"))
    return out


@hookimpl
def mom_machine_downtime(conn: Connection, forms: Any, machine_ids: list[int], start: dt.datetime,
                         end: dt.datetime) -> list[tuple[int, dt.datetime, dt.datetime, str]]:
    """PM windows and open stopping repairs (维修保养工单) block their machine in the schedule."""
    return windows(conn, forms, machine_ids, start, end)
