"""Who may give a 设备状态 ``machine_state`` row which 停机原因 ``stop_reason`` (docs/devices.md, docs/oee.md).

A reason moves the stop's time into its loss category (a ``planned`` reason makes it planned downtime, which
shrinks the planned time of OEE), so a reason must fit the state it explains:

| 状态 state | 可选的损失类别 loss categories |
|---|---|
| 运行 running | 无：运行中不填停机原因 / none |
| 停机 down、待机 idle | 设备故障 breakdown、小停机空转 minor_stop |
| 换型调试 setup | 换型调整 setup |
| 计划停机 planned_stop | 计划停机 planned |

速度降低、启动废品、生产废品 are losses of speed and quality, never the reason of a stop. Operators (and
maintenance technicians) classify stops that began within the last 7 days (the stops 车间扫码 lists); a
supervisor 班组长/主管 ``supervisor``, the equipment manager ``equipment_manager`` and administrators any.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as F
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, InvalidInput, Problem

FITS: dict[str, tuple[str, ...]] = {"running": (), "down": ("breakdown", "minor_stop"), "idle": ("breakdown", "minor_stop"),
                                    "setup": ("setup",), "planned_stop": ("planned",)}
STATE_ZH = {"running": "运行", "idle": "待机", "down": "停机", "setup": "换型调试", "planned_stop": "计划停机"}
CATEGORY_ZH = {"breakdown": "设备故障", "setup": "换型调整", "minor_stop": "小停机空转", "reduced_speed": "速度降低",
               "startup_reject": "启动废品", "production_reject": "生产废品", "planned": "计划停机"}
ANY_AGE_ROLES = frozenset({"supervisor", "equipment_manager"})
RECENT_DAYS = 7


def _refuse(zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"停机原因：{zh}", f"stop reason: {en}",
                        problems=[Problem("/stop_reason", f"停机原因：{zh}", f"stop reason: {en}")])


def check(conn: Connection, forms: Any, ctx: Ctx, old: Mapping[str, Any], reason: Any) -> None:
    """Refuse, in words naming 停机原因, a change of ``stop_reason`` to ``reason`` on the state row ``old``."""
    actor = ctx.actor
    if not (actor.is_admin or actor.role_names & ANY_AGE_ROLES):
        started = old.get("started_at")
        if isinstance(started, dt.datetime):
            if started.tzinfo is None:
                started = started.replace(tzinfo=dt.timezone.utc)
            if started < ctx.now - dt.timedelta(days=RECENT_DAYS):
                raise AccessDenied(f"停机原因：只能给最近 {RECENT_DAYS} 天内开始的停机填写或修改原因；更早的停机请找班组长或设备主管",
                                   f"stop reason: you classify only stops begun within the last {RECENT_DAYS} days; "
                                   "a supervisor or the equipment manager classifies older ones",
                                   detail={"field": "stop_reason"})
    if reason is None:
        return
    state = str(old.get("state") or "")
    allowed = FITS.get(state)
    if allowed is None:
        return                  # a state a plant added to its copy of the form: no rule of ours
    if not allowed:
        raise _refuse("设备在运行，运行状态不填停机原因", "the machine is running; a running state takes no stop reason")
    rf = F.pack_form(conn, forms, F.REASON)
    if rf is None:
        return
    t = rf.main
    category = conn.execute(sa.select(t.c.loss_category).where(t.c.id == int(reason), t.c.deleted_at.is_(None))).scalar()
    if category is None or category in allowed:
        return                  # a missing reason is the reference check's to refuse
    fit_zh = "、".join(CATEGORY_ZH.get(c, c) for c in allowed)
    raise _refuse(f"所选原因属于「{CATEGORY_ZH.get(category, category)}」，不适用于「{STATE_ZH.get(state, state)}」状态；"
                  f"这类状态只能选「{fit_zh}」类的原因",
                  f"the reason is of category {category}, which does not fit a {state} state; choose one of "
                  f"{', '.join(allowed)}")
