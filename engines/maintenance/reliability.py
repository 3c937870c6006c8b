"""MTBF, MTTR and availability per machine from its repair orders (ISO 22400-2; mom-domain.md §2.1).

ISO 22400-2 defines MTBF = ΣTBF / FE and MTTR = ΣTTR / FE, FE the number of failure events. Here, over
a window [start, end):

- a failure event is a repair order (kind 维修) of the machine that stopped it (设备停机), reported inside
  the window and not cancelled;
- its time to repair (TTR) runs from 报修时间 ``reported_at`` to 完工时间 ``finished_at`` (an order still
  open counts to the window's end), clipped to the window; overlapping orders of one machine are one stop
  (downtime is the union of their intervals);
- the times between failures (TBF) are the machine's up periods in the window: ΣTBF = window − downtime;
- availability = ΣTBF / window (= MTBF / (MTBF + MTTR) when failures end inside the window).

The worked example the tests reproduce (five days of 24 h, stops Tue 5–7, Thu 16–20, Fri 8–11: MTBF 37 h,
MTTR 3 h) is cited in tests/integration/test_maintenance_pm.py (test_mtbf_and_mttr_reproduce_the_worked_example).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.maintenance import pack as K


def _union_hours(spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += (cur_b - cur_a).total_seconds()      # type: ignore[operator]
            cur_a, cur_b = a, b
        elif b > cur_b:
            cur_b = b
    if cur_b is not None:
        total += (cur_b - cur_a).total_seconds()              # type: ignore[operator]
    return total / 3600.0


def mtbf_mttr(conn: Connection, forms: Any, machine_ids: list[int], start: dt.datetime,
              end: dt.datetime) -> dict[int, dict[str, Any]]:
    """Per machine of ``machine_ids``: ``failures`` (FE), ``mtbf_h`` (ΣTBF/FE), ``mttr_h`` (ΣTTR/FE) — None
    without failures —, ``downtime_h`` (ΣTTR) and ``availability`` (ΣTBF / window, 0..1)."""
    start, end = K.aware(start), K.aware(end)
    assert start is not None and end is not None
    window_h = max((end - start).total_seconds(), 0.0) / 3600.0
    ids = sorted({int(m) for m in machine_ids})
    spans: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {m: [] for m in ids}
    events: dict[int, int] = {m: 0 for m in ids}
    compiled = K.pack_form(conn, forms, K.ORDER)
    if compiled is not None and ids and window_h > 0:
        t = compiled.main
        for i in range(0, len(ids), 900):
            rows = conn.execute(sa.select(t.c.machine, t.c.reported_at, t.c.finished_at).where(
                t.c.deleted_at.is_(None), t.c.kind == "repair", t.c.status != "cancelled",
                sa.or_(t.c.machine_stopped.is_(True), t.c.machine_stopped.is_(None)),
                t.c.machine.in_(ids[i:i + 900]), t.c.reported_at >= start, t.c.reported_at < end))
            for machine, reported, finished in rows:
                a = K.aware(reported)
                b = min(K.aware(finished) or end, end)                 # type: ignore[type-var]
                events[int(machine)] += 1
                if b > a:                                               # type: ignore[operator]
                    spans[int(machine)].append((a, b))                  # type: ignore[arg-type]
    out: dict[int, dict[str, Any]] = {}
    for m in ids:
        down = _union_hours(spans[m])
        fe = events[m]
        up = max(window_h - down, 0.0)
        out[m] = {"failures": fe, "mtbf_h": round(up / fe, 4) if fe else None, "mttr_h": round(down / fe, 4) if fe else None,
                  "downtime_h": round(down, 4), "availability": round(up / window_h, 6) if window_h > 0 else None}
    return out
