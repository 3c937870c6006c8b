"""Opening a maintenance order (维修保养工单) as the engine: a repair order from a fault report, a device alarm
or a stop (:func:`open_repair_order`, the contract other engines call), and a PM order from a plan (:mod:`pm`).

A repair order is idempotent per ``source`` + ``ref``: while one is open (待响应 / 已响应 / 维修中) a second
call answers its number. Opening a repair order that stops the machine marks the core ``machine`` 故障停机
(status ``down``) — the core pack's rule ``core_breakdown_proposal`` then offers planners the same
re-planning a breakdown does — and blocks the machine in scheduling from the report until the expected
finish (:mod:`windows`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.maintenance import pack as K
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, NotFound, Problem

#: the sources the order form lists; any other is stored as ``other`` with the name kept in the reference
SOURCES = ("manual", "fault_report", "device_alarm", "pm_plan", "machine_state", "other")
#: hours a repair is expected to take when nobody said (the planned end of its window)
DEFAULT_REPAIR_HOURS = 4.0


def _source(source: str, ref: str | None) -> tuple[str, str | None]:
    src = (source or "").strip()
    if src in SOURCES:
        return src, (str(ref)[:100] if ref is not None else None)
    return "other", f"{src[:30]}:{ref}"[:100] if ref is not None else src[:100] or None


def find_open(conn: Connection, forms: Any, source: str, ref: str | None) -> dict[str, Any] | None:
    """The open order of ``source`` + ``ref`` (as :func:`open_repair_order` stores them), or None."""
    if ref is None:
        return None
    compiled = K.require_form(conn, forms, K.ORDER)
    src, stored = _source(source, ref)
    t = compiled.main
    got = conn.execute(sa.select(t).where(t.c.deleted_at.is_(None), t.c.source == src, t.c.source_ref == stored,
                                          t.c.status.in_(K.OPEN)).order_by(t.c.id)).mappings().first()
    return dict(got) if got is not None else None


def create_order(conn: Connection, forms: Any, ctx: Ctx, doc: Mapping[str, Any]) -> dict[str, Any]:
    """One maintenance order written as the engine (its stamps and source fields included); the stored row."""
    with K.engine_writes(conn):
        made = S.create_records(conn=conn, registry=forms, ctx=K.acting(ctx), form=K.ORDER, docs=[dict(doc)])[0]
    return K.row(conn, forms.get(conn, K.ORDER), int(made["id"])) or dict(made)


def set_machine_status(conn: Connection, forms: Any, ctx: Ctx, machine_id: int, status: str) -> None:
    """The core machine's 状态 as the engine (``down`` makes the core pack's rule propose a re-plan)."""
    m = K.machine_row(conn, forms, machine_id)
    if m is None or m.get("status") == status:
        return
    with K.engine_writes(conn):
        S.update_record(conn=conn, registry=forms, ctx=K.acting(ctx), form="machine", record_id=int(machine_id),
                        patch={"status": status})


def open_repair_order(conn: Connection, forms: Any, ctx: Ctx, *, machine_id: int, title_zh: str, title_en: str,
                      source: str, ref: str | None = None, symptom: str | None = None, machine_stopped: bool = True,
                      equipment: int | None = None) -> str:
    """Open a repair order (维修工单) for core machine ``machine_id`` and answer its number; a second call with
    the same ``source`` + ``ref`` while that order is open answers the open order's number. ``machine_stopped``
    (default): the machine is marked down and blocked in scheduling until the order's expected finish."""
    compiled = K.require_form(conn, forms, K.ORDER)
    m = K.machine_row(conn, forms, machine_id) if machine_id is not None else None
    if m is None:
        raise NotFound(f"没有编号为 {machine_id} 的设备：请从设备列表中选择", f"no machine {machine_id}: choose one from the list",
                       detail={"machine": machine_id})
    title = (title_zh or title_en or "").strip()
    if not title:
        raise InvalidInput("请填写维修内容（故障现象）", "give the repair's title",
                           problems=[Problem("/title", "请填写维修内容", "required", "required")])
    if conn.dialect.name == "postgresql":      # one order per source + ref, also between two workers at once
        t = forms.get(conn, "machine").main
        conn.execute(sa.select(t.c.id).where(t.c.id == int(machine_id)).with_for_update())
    had = find_open(conn, forms, source, ref)
    if had is not None:
        return str(had["code"])
    src, stored = _source(source, ref)
    now = ctx.now
    doc: dict[str, Any] = {
        "kind": "repair", "title": title[:200], "machine": int(machine_id), "source": src, "source_ref": stored,
        "status": "reported", "reported_at": now, "planned_start": now, "machine_stopped": bool(machine_stopped),
        "planned_end": now + dt.timedelta(hours=DEFAULT_REPAIR_HOURS), "symptom": (symptom or title)[:2000],
        "note": (f"{title_zh} / {title_en}"[:500] if title_zh and title_en and title_en != title_zh else None)}
    if equipment is not None and compiled.definition.field("equipment") is not None:
        doc["equipment"] = int(equipment)
    order = create_order(conn, forms, ctx, {k: v for k, v in doc.items() if compiled.definition.field(k) is not None})
    if machine_stopped:
        set_machine_status(conn, forms, ctx, int(machine_id), "down")
    return str(order["code"])


def stopped_repairs_open(conn: Connection, forms: Any, machine_id: int, *, besides: int | None = None) -> int:
    """How many open repair orders stop ``machine_id`` (other than order ``besides``)."""
    t = K.require_form(conn, forms, K.ORDER).main
    q = sa.select(sa.func.count()).select_from(t).where(
        t.c.deleted_at.is_(None), t.c.machine == int(machine_id), t.c.kind == "repair", t.c.status.in_(K.OPEN),
        sa.or_(t.c.machine_stopped.is_(True), t.c.machine_stopped.is_(None)))
    if besides is not None:
        q = q.where(t.c.id != int(besides))
    return int(conn.execute(q).scalar_one())
