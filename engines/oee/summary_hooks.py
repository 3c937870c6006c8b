"""OEE's record hooks: a write that changes what a closed day's OEE is computed from deletes that machine-day's
summary (engines/devices/machine_days.py ``forget``; engines/oee/summary.py computes it again when asked).

| form | what | forgets |
|---|---|---|
| 设备状态 ``machine_state`` | new, changed, deleted or restored state (the ingestion's rows too) | the machine from the state's start on (a state cuts the one before it) |
| 设备状态 ``machine_state`` | only 停机原因 / 备注 classified | the machine over the state's own time |
| 设备计数 ``machine_count`` | new / changed / deleted count (minute buckets added to in SQL: writes.py) | the machine's day of the bucket |
| 报工 ``job_report`` | report, correction, deletion | the machine's day of ``reported_at`` |
| 工序任务 ``operation_task`` | machine, 单件时间 ``run_min``, modes, deletion of a task that has run | every day of its machines |
| 工序任务 ``operation_task`` | actual start / end moved | its machine from the earliest moment on |
| 设备 ``machine`` | calendar, work centre, deletion | every day of the machine |
| 工作中心 / 工作日历 / 停机原因 | calendar, any calendar change, a reason's loss category | every day of every machine |

At most one DELETE per write (none for other forms, none for data of the last hour, which no stored day holds —
so a job report made now costs nothing here); a change to data older than an hour also stamps the machine so a
summary being computed from an older snapshot is not stored.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as dforms
from mom.engines.devices import machine_days as MD
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.hookspecs import hookimpl

Span = tuple[int | None, Any, Any]
_STATE_KEYS = {"machine", "state", "started_at", "ended_at", "deleted_at"}
_TASK_ALL = {"machine", "run_min", "modes", "deleted_at"}
_EVERYTHING = {"work_calendar": None, "work_center": {"calendar", "deleted_at"}, dforms.REASON: {"loss_category", "deleted_at"}}


def _t(v: Any) -> Any:
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
    return v


def _earliest(*vals: Any) -> Any:
    got = [x for x in (_t(v) for v in vals) if isinstance(x, dt.datetime)]
    return min(got, key=lambda x: x if x.tzinfo else x.replace(tzinfo=dt.timezone.utc)) if got else None


def _recent(t: Any) -> bool:
    """``t`` lies in the last hour (machine_days.GRACE_S), where no summarised day can be."""
    if not isinstance(t, dt.datetime):
        return False
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp() >= time.time() - MD.GRACE_S


class OeeSummaryHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _spans(self, conn: Connection, compiled: CompiledForm, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
               changed: set[str] | None) -> list[Span]:
        name = compiled.name
        rows = [r for r in (old, new) if r is not None]
        if name in _EVERYTHING:
            keys = _EVERYTHING[name]
            return [(None, None, None)] if changed is None or keys is None or changed & keys else []
        if name == "machine":
            return [(int(r["id"]), None, None) for r in rows if r.get("id") is not None] \
                if changed is None or changed & {"calendar", "work_center", "deleted_at"} else []
        if name == dforms.STATE and dforms.owned(conn, compiled):
            if changed is not None and not changed & _STATE_KEYS:
                if "stop_reason" not in changed:
                    return []
                return [(r.get("machine"), _t(r.get("started_at")), _t(r.get("ended_at"))) for r in rows]
            return [(r.get("machine"), _earliest(*(x.get("started_at") for x in rows)), None) for r in rows]
        if name == dforms.COUNT and dforms.owned(conn, compiled):
            return [(r.get("machine"), _t(r.get("bucket_start")), _t(r.get("bucket_start"))) for r in rows]
        if name == "job_report":               # a report of the last hour touches no stored day: no statement at all
            return [(self._report_machine(conn, r), at, at) for r in rows
                    if not _recent(at := _t(r.get("reported_at")))]
        if name == "operation_task":
            if not any(r.get("actual_start") is not None for r in rows):
                return []                     # never ran: no output or run time of it counted anywhere
            if changed is None or changed & _TASK_ALL:
                return [(r.get("machine"), None, None) for r in rows]
            if changed & {"actual_start", "actual_end"}:
                since = _earliest(*(r.get(k) for r in rows for k in ("actual_start", "actual_end")))
                return [(r.get("machine"), since, None) for r in rows]
        return []

    def _report_machine(self, conn: Connection, r: Mapping[str, Any]) -> int | None:
        if r.get("machine") is not None or r.get("task") is None:
            return r.get("machine")
        t = self.forms.get(conn, "operation_task").main
        return conn.execute(sa.select(t.c.machine).where(t.c.id == r["task"])).scalar()

    def _forget(self, conn: Connection, spans: list[Span]) -> None:
        # a state, count or report on no machine touches no machine's day
        got = [s for s in spans if s[0] is not None or (s[1] is None and s[2] is None)]
        if got:
            MD.forget(conn, [(None if m is None else int(m), a, b) for m, a, b in got])

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        if compiled.name in ("machine", "work_center", "work_calendar", dforms.REASON):
            return                            # nothing is computed from a record that did not exist
        spans: list[Span] = []
        for r in rows:
            spans += self._spans(conn, compiled, None, r, None)
        self._forget(conn, spans)

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        self._forget(conn, self._spans(conn, compiled, {**old, "id": record_id}, {**new, "id": record_id}, set(changed)))

    def after_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        self._forget(conn, self._spans(conn, compiled, {**row, "id": record_id}, None, None))

    def after_restore(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int) -> None:
        t = compiled.main
        row = conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().first()
        if row is not None:
            self._forget(conn, self._spans(conn, compiled, dict(row), None, None))


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """OEE: writes to states, counts, job reports, tasks, machines, calendars and stop reasons forget the day summaries they touch."""
    return OeeSummaryHooks(forms)
