"""The equipment pack's device forms as the devices engine binds to them (by name AND by the pack owning
them, so a plant's own form of the same name is never touched), and the engine's write flag."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.records.engine_writes import EngineWrites
from mom.platform.db import tables as T
from mom.platform.errors import NotFound

PACK = "equipment"
MAPPING, STATE, COUNT, VALUE, ALARM, REASON = ("device_mapping", "machine_state", "machine_count", "process_value",
                                               "device_alarm", "stop_reason")
NEEDS = {MAPPING: ("topic_pattern", "format", "machine", "machine_expr", "tags"),
         STATE: ("machine", "state", "started_at", "ended_at", "duration_s", "stop_reason", "source", "note"),
         COUNT: ("machine", "bucket_start", "total", "good", "scrap"),
         VALUE: ("machine", "tag", "bucket_start", "n", "mean", "min", "max", "last"),
         ALARM: ("machine", "tag", "kind", "value", "limit_value", "raised_at", "cleared_at", "status", "maintenance_order"),
         REASON: ("code", "name", "loss_category")}
ENGINE_ONLY = (STATE, COUNT, VALUE, ALARM)
#: ``conn.info`` key: set while the devices engine writes its own records
FLAG = "mom_devices_engine"
_WRITES = EngineWrites(FLAG)
engine_writes = _WRITES.writes
engine_writing = _WRITES.writing


def owned(conn: Connection, compiled: CompiledForm) -> bool:
    """Is ``compiled`` the equipment pack's device form of its name, with the fields the engine binds to?"""
    needs = NEEDS.get(compiled.name)
    if needs is None:
        return False
    owner = compiled.memo.get("devices_pack_owner")
    if owner is None:
        owner = compiled.memo["devices_pack_owner"] = conn.execute(sa.select(T.pack_item.c.pack).where(
            T.pack_item.c.kind == "forms", T.pack_item.c.name == compiled.name)).scalar() or ""
    return owner == PACK and all(compiled.definition.field(k) is not None for k in needs)


def pack_form(conn: Connection, forms: Any, name: str) -> CompiledForm | None:
    """The equipment pack's form ``name``, or None when it is not installed."""
    get_many = getattr(forms, "get_many", None)
    if get_many is not None:
        compiled = get_many(conn, [name]).get(name)
    else:
        try:
            compiled = forms.get(conn, name)
        except NotFound:
            return None
    return compiled if compiled is not None and owned(conn, compiled) else None


def require(conn: Connection, forms: Any, name: str) -> CompiledForm:
    compiled = pack_form(conn, forms, name)
    if compiled is None:
        raise NotFound("没有安装「设备管理」模型包的设备数据表单：请管理员先安装它（mom pack install equipment）",
                       "the equipment pack's device data forms are not installed: an administrator installs it first "
                       "(mom pack install equipment)", detail={"form": name})
    return compiled


def role_users(conn: Connection, role: str) -> list[int]:
    """Active users holding ``role``."""
    q = (sa.select(T.user.c.id).join(T.user_role, T.user_role.c.user_id == T.user.c.id)
         .join(T.role, T.role.c.id == T.user_role.c.role_id)
         .where(T.role.c.name == role, T.user.c.is_active.is_(True)).distinct())
    return sorted(int(i) for i in conn.execute(q).scalars())
