"""The equipment pack's maintenance forms as the maintenance engine sees them (issue 23).

The engine binds to ``equipment``, ``failure_cause``, ``pm_plan``, ``fault_report`` and
``maintenance_order`` by name AND by the ``equipment`` pack owning them (:func:`pack_form`), so a plant's
own form of the same name (the demo pack's old sample ``maintenance_order``) is never touched. Writes the
engine makes itself run inside :func:`engine_writes` (its hooks let them pass) as :func:`acting` for the
user whose right was checked — the pattern of the inventory engine's ``stock_move``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.engine_writes import EngineWrites, acting  # noqa: F401  (acting: the engine's, re-exported)
from mom.platform.db import tables as T
from mom.platform.errors import NotFound

PACK = "equipment"
EQUIPMENT, CAUSE, PLAN, REPORT, ORDER = "equipment", "failure_cause", "pm_plan", "fault_report", "maintenance_order"
MACHINE_STATE = "machine_state"
#: the fields each form needs for the engine to take it as the pack's
NEEDS = {EQUIPMENT: ("kind", "parent_equipment", "machine"), CAUSE: ("code", "name"),
         PLAN: ("machine", "trigger", "interval", "next_due", "last_done", "active"),
         REPORT: ("machine", "symptom", "urgency", "maintenance_order"),
         ORDER: ("kind", "status", "machine", "source", "source_ref", "reported_at", "responded_at", "started_at",
                 "finished_at", "response_min", "repair_min", "planned_start", "planned_end", "parts")}
#: maintenance order fields only the engine writes
ENGINE_FIELDS = ("source", "source_ref", "pm_plan", "due_date", "reported_at", "responded_at", "started_at", "finished_at",
                 "closed_at", "response_min", "repair_min", "technician")
OPEN = ("reported", "responded", "in_repair")
STATUS_ZH = {"reported": "待响应", "responded": "已响应", "in_repair": "维修中", "done": "已完工", "closed": "已关闭",
             "cancelled": "已取消"}
KIND_ZH = {"repair": "维修", "pm": "保养"}

FLAG = "mom_maintenance_engine"
#: the maintenance engine's own writes (:mod:`mom.engines.records.engine_writes`): ``with engine_writes(conn):``
_WRITES = EngineWrites(FLAG)
engine_writes = _WRITES.writes
engine_writing = _WRITES.writing


def owns(conn: Connection, compiled: CompiledForm) -> bool:
    """Does the equipment pack own ``compiled`` (read once per compiled version) with the fields the engine needs?"""
    owner = compiled.memo.get("equipment_pack_owner")
    if owner is None:
        owner = compiled.memo["equipment_pack_owner"] = conn.execute(sa.select(T.pack_item.c.pack).where(
            T.pack_item.c.kind == "forms", T.pack_item.c.name == compiled.name)).scalar() or ""
    needs = NEEDS.get(compiled.name, ())
    return owner == PACK and all(compiled.definition.field(k) is not None for k in needs)


def _get(conn: Connection, forms: Any, name: str) -> CompiledForm | None:
    get_many = getattr(forms, "get_many", None)
    if get_many is not None:
        return get_many(conn, [name]).get(name)
    try:
        return forms.get(conn, name)
    except NotFound:
        return None


def pack_form(conn: Connection, forms: Any, name: str) -> CompiledForm | None:
    """The equipment pack's form ``name``, or None when the pack (or that form) is not installed."""
    compiled = _get(conn, forms, name)
    return compiled if compiled is not None and owns(conn, compiled) else None


def any_form(conn: Connection, forms: Any, name: str) -> CompiledForm | None:
    """Form ``name`` whoever installed it (``machine_state``: the devices helper's, read when it exists)."""
    return _get(conn, forms, name)


def require_form(conn: Connection, forms: Any, name: str) -> CompiledForm:
    compiled = pack_form(conn, forms, name)
    if compiled is None:
        raise NotFound("没有安装「设备管理」模型包：请管理员先安装它（mom pack install equipment）",
                       "the equipment pack is not installed: an administrator installs it first (mom pack install equipment)",
                       detail={"form": name})
    return compiled


def aware(at: dt.datetime | None) -> dt.datetime | None:
    """``at`` with a time zone (a naive time read back from SQLite is UTC)."""
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


def row(conn: Connection, compiled: CompiledForm, rid: int, *, lock: bool = False) -> dict[str, Any] | None:
    t = compiled.main
    q = sa.select(t).where(t.c.id == int(rid), t.c.deleted_at.is_(None))
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    got = conn.execute(q).mappings().first()
    return dict(got) if got is not None else None


def machine_row(conn: Connection, forms: Any, machine_id: int) -> dict[str, Any] | None:
    t = forms.get(conn, "machine").main
    got = conn.execute(sa.select(t).where(t.c.id == int(machine_id), t.c.deleted_at.is_(None))).mappings().first()
    return dict(got) if got is not None else None


def minutes(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    """Minutes from ``a`` to ``b`` (one decimal), None when either is missing."""
    a, b = aware(a), aware(b)
    if a is None or b is None:
        return None
    return round(max((b - a).total_seconds(), 0.0) / 60.0, 1)
