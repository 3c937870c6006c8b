"""The plant's working calendars as the scheduling problem's calendars (issue 19).

A ``work_calendar`` record (workdays ``1,2,3,4,5,6``, a ``shifts`` table of start/end times, a
``holidays`` table of dates) becomes a ``mom.schedule-problem/1`` calendar (docs/scheduling.md):
``{"name", "workdays", "shifts": [["08:00", "12:00"], …], "holidays": ["2026-11-26", …]}``. A machine
works on its own calendar, else its work centre's; a machine with neither works around the clock.
A value a person typed that cannot be read is refused in words, naming the calendar and the shift.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.errors import InvalidInput

SHIFT_START, SHIFT_END = "start_time", "end_time"
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def calendar_of(machine: Mapping[str, Any], centres: Mapping[int, Mapping[str, Any]]) -> int | None:
    """The id of the calendar ``machine`` works on: its own, else its work centre's, else None."""
    if machine.get("calendar") is not None:
        return machine["calendar"]
    return centres.get(machine.get("work_center"), {}).get("calendar")


def read_calendars(conn: Connection, f_cal: Any, ids: list[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """The calendars ``ids`` (compiled form ``f_cal``) as ``{id: (code, problem calendar)}``."""
    if not ids:
        return {}
    t = f_cal.main
    rows = [dict(r) for r in conn.execute(sa.select(t).where(t.c.deleted_at.is_(None), t.c.id.in_(ids))
                                          .order_by(t.c.id)).mappings()]
    shifts, holidays = _children(conn, f_cal, "shifts", ids), _children(conn, f_cal, "holidays", ids)
    return {r["id"]: (r["code"], calendar_spec(r, shifts.get(r["id"], []), holidays.get(r["id"], []))) for r in rows}


def _children(conn: Connection, compiled: Any, key: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if key not in compiled.children:
        return out
    t = compiled.children[key]
    q = sa.select(t).where(t.c.parent_id.in_(ids)).order_by(t.c.parent_id, t.c.seq, t.c.id)
    for r in conn.execute(q).mappings():
        out.setdefault(int(r["parent_id"]), []).append(dict(r))
    return out


def calendar_spec(row: Mapping[str, Any], shifts: list[Mapping[str, Any]], holidays: list[Mapping[str, Any]]
                  ) -> dict[str, Any]:
    """A work_calendar record as the problem's calendar; a value that cannot be read is refused in words."""
    name = row.get("name") or row.get("code")
    spec: dict[str, Any] = {"name": name}
    days = [d.strip() for d in str(row.get("workdays") or "").replace("，", ",").split(",") if d.strip()]
    if days:
        if not all(d.isdigit() and 1 <= int(d) <= 7 for d in days):
            raise InvalidInput(f"工作日历「{name}」的工作日「{row.get('workdays')}」看不懂：应为 1–7 的数字（1 是周一），用逗号分隔，如 1,2,3,4,5",
                               f"the workdays of calendar {name} ({row.get('workdays')}) cannot be read: give numbers 1-7 "
                               "(1 is Monday) separated by commas, e.g. 1,2,3,4,5")
        spec["workdays"] = sorted({int(d) for d in days})
    out_shifts = []
    for i, s in enumerate(shifts, 1):
        pair = [_hhmm(s.get(SHIFT_START)), _hhmm(s.get(SHIFT_END))]
        if None in pair:
            label = s.get("name") or f"第 {i} 行"
            raise InvalidInput(f"工作日历「{name}」的班次「{label}」的开始或结束时间看不懂：应写成 08:00 这样的时:分",
                               f"shift {s.get('name') or i} of calendar {name}: start and end must be hours:minutes, e.g. 08:00")
        out_shifts.append(pair)
    if out_shifts:
        spec["shifts"] = out_shifts
    days_off = sorted({h["date"].isoformat() for h in holidays if isinstance(h.get("date"), dt.date)})
    if days_off:
        spec["holidays"] = days_off
    return spec


def _hhmm(v: Any) -> str | None:
    m = _HHMM.match(str(v or ""))
    if not m or int(m.group(2)) > 59 or int(m.group(1)) > 24 or (int(m.group(1)) == 24 and m.group(2) != "00"):
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}"
