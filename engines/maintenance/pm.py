"""Preventive maintenance (保养计划 → 保养工单, issue 23).

A ``pm_plan`` is due by one of three triggers:

- 按日历 ``calendar``: every ``interval`` days. The first due is the plan's 首次到期日 (or the day it was
  written) at its 开始时刻 in the plant's time zone; when an order of the plan is finished, the next due is
  the previous due plus whole intervals, the first one after the finish (a fixed calendar, not a drift);
- 按运行小时 ``run_hours``: every ``interval`` hours the machine was in state ``running`` since the plan was
  last done (or written), read from the ``machine_state`` form when it is installed (no form: never due);
- 按计数 ``counter``: every ``interval`` parts counted in ``machine_count`` (total) since then;
- 状态触发 ``condition``: the machine's health score (engines/devices/health.py) is below ``interval`` (1–100),
  or the plan's 漂移报警参数 ``alarm_tag`` has an open drift alarm. One order per **episode**: the plan's
  ``condition_since`` marks the episode's start; it ends (and a later one may open a new order) only when the
  condition no longer holds. The maintenance engine cannot read device health itself (it sits below the
  devices engine), so the caller passes ``condition`` — the devices engine does, after a flush that changed an
  alarm or a vibration level and on its schedule tick; :func:`run` without it leaves condition plans alone.

:func:`run` (the pack's schedule rule ``equipment_pm_tick`` and ``mom maintenance pm run``) opens one PM
order per plan and due date — calendar plans ``ahead`` days before their due, so scheduling sees their
window (due → due + 计划时长) in time — and never a second while one of the plan's orders is open.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.maintenance import pack as K
from mom.engines.maintenance import repair
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, Problem

DEFAULT_AHEAD_DAYS = 7
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _start_time(plan: Mapping[str, Any]) -> dt.time:
    m = _HHMM.match(str(plan.get("start_time") or "08:00").strip())
    return dt.time(int(m.group(1)), int(m.group(2))) if m else dt.time(8, 0)


def first_due(plan: Mapping[str, Any], ctx: Ctx) -> dt.datetime | None:
    """A calendar plan's first due: its 首次到期日 (else today, plant time) at its 开始时刻; None for the others."""
    if plan.get("trigger", "calendar") != "calendar":
        return None
    day = plan.get("first_due") or ctx.now.astimezone(ctx.tz).date()
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    return dt.datetime.combine(day, _start_time(plan), tzinfo=ctx.tz).astimezone(dt.timezone.utc)


def running_hours(conn: Connection, forms: Any, machine_id: int, since: dt.datetime, until: dt.datetime) -> float | None:
    """Hours machine ``machine_id`` was ``running`` between ``since`` and ``until`` (the ``machine_state``
    form's intervals, an open one counting to ``until``); None when the form is not installed."""
    states = K.any_form(conn, forms, K.MACHINE_STATE)
    if states is None or any(states.definition.field(k) is None for k in ("machine", "state", "started_at", "ended_at")):
        return None
    t = states.main
    rows = conn.execute(sa.select(t.c.started_at, t.c.ended_at).where(
        t.c.deleted_at.is_(None), t.c.machine == int(machine_id), t.c.state == "running", t.c.started_at < until,
        sa.or_(t.c.ended_at.is_(None), t.c.ended_at > since)))
    total = 0.0
    for started, ended in rows:
        a, b = max(K.aware(started), since), min(K.aware(ended) or until, until)   # type: ignore[type-var]
        total += max((b - a).total_seconds(), 0.0)
    return total / 3600.0


def counted(conn: Connection, forms: Any, machine_id: int, since: dt.datetime, until: dt.datetime) -> float | None:
    """Parts counted (``machine_count.total``) on ``machine_id`` in whole minutes from ``since`` to ``until``."""
    counts = K.any_form(conn, forms, "machine_count")
    if counts is None or any(counts.definition.field(k) is None for k in ("machine", "bucket_start", "total")):
        return None
    t = counts.main
    got = conn.execute(sa.select(sa.func.sum(t.c.total)).where(
        t.c.deleted_at.is_(None), t.c.machine == int(machine_id), t.c.bucket_start >= since, t.c.bucket_start < until)).scalar()
    return float(got or 0)


def reading(conn: Connection, forms: Any, plan: Mapping[str, Any], now: dt.datetime) -> float | None:
    """Run hours or parts since the plan was last done (or written), by its trigger."""
    since = K.aware(plan.get("last_done") or plan.get("created_at")) or now
    read = running_hours if plan.get("trigger") == "run_hours" else counted
    return read(conn, forms, int(plan["machine"]), since, now)


def _orders_of(conn: Connection, order_form: Any, plan_id: int) -> list[dict[str, Any]]:
    t = order_form.main
    return [dict(r) for r in conn.execute(sa.select(t.c.id, t.c.code, t.c.status, t.c.due_date).where(
        t.c.deleted_at.is_(None), t.c.pm_plan == int(plan_id))).mappings()]


def _open_pm(conn: Connection, forms: Any, ctx: Ctx, plan: Mapping[str, Any], start: dt.datetime, due: dt.date,
             why: str) -> dict[str, Any]:
    plan_form = forms.get(conn, K.PLAN)
    children = S.load_children(conn, plan_form, [int(plan["id"])], ["checklist", "spare_parts"])[int(plan["id"])]
    minutes = int(plan.get("duration_min") or 60)
    doc = {"kind": "pm", "title": f"保养：{plan.get('name')}"[:200], "machine": int(plan["machine"]),
           "equipment": plan.get("equipment"), "source": "pm_plan", "source_ref": str(plan.get("code") or plan["id"]),
           "pm_plan": int(plan["id"]), "due_date": due, "status": "reported", "reported_at": ctx.now,
           "planned_start": start, "planned_end": start + dt.timedelta(minutes=minutes), "machine_stopped": True,
           "note": why[:500],
           "checklist": [{"step": c.get("step"), "standard": c.get("standard")} for c in children.get("checklist") or []],
           "parts": [{"item": p.get("item"), "qty": p.get("qty")} for p in children.get("spare_parts") or []]}
    return repair.create_order(conn, forms, ctx, doc)


RULE_FORM = "condition_rule"     # 状态监测规则 (the devices engine's; read here by name, not imported)


def check_plan(conn: Connection, forms: Any, row: Mapping[str, Any], path: str = "") -> None:
    """A condition plan as saved: its 间隔 is a health threshold, 1–100 (the score runs 0–100); its 漂移报警参数
    names a tag a 状态监测规则 of its machine watches (drift alarms come only from those rules). 422 in words."""
    if row.get("trigger") != "condition":
        return
    problems = []
    iv = row.get("interval")
    if iv is not None and not 1 <= float(iv) <= 100:
        problems.append(Problem(f"{path}/interval", f"状态触发时「间隔」是健康度阈值，须在 1–100 之间（现为 {float(iv):g}）：健康度低于它时开单",
                                f"with the condition trigger the interval is a health threshold from 1 to 100 (not {float(iv):g})",
                                "range"))
    tag = str(row.get("alarm_tag") or "").strip()
    rules = K.any_form(conn, forms, RULE_FORM)
    if tag and rules is not None and row.get("machine") is not None:
        t = rules.main
        known = sorted({str(x) for x in conn.execute(sa.select(t.c.tag).where(
            t.c.deleted_at.is_(None), t.c.machine == int(row["machine"]))).scalars() if x})
        if tag not in known:
            have = f"这台设备的规则监测的参数有 {'、'.join(known[:10])}" if known else "这台设备还没有状态监测规则"
            problems.append(Problem(
                f"{path}/alarm_tag", f"漂移报警参数「{tag[:40]}」没有状态监测规则监测（{have}）：请改成规则监测的参数，或先建一条状态监测规则",
                f"drift alarm tag {tag[:40]!r}: no condition rule of this machine watches it "
                f"({'its rules watch ' + ', '.join(known[:10]) if known else 'it has no condition rule yet'}); "
                "use one of those tags or add a condition rule first", "unknown"))
    if problems:
        raise InvalidInput("；".join(p.zh for p in problems), "; ".join(p.en for p in problems), problems=problems)


#: machine ids → {machine: (health score 0–100, tags with an open drift alarm)}
Condition = Callable[[list[int]], Mapping[int, tuple[float, set[str]]]]


def run(conn: Connection, forms: Any, ctx: Ctx, *, ahead_days: int = DEFAULT_AHEAD_DAYS,
        plan_ids: list[int] | None = None, condition: Condition | None = None) -> list[dict[str, Any]]:
    """Open the PM orders due now (calendar plans: due within ``ahead_days``; condition plans: when
    ``condition`` is given and says so); the orders opened."""
    plan_form = K.pack_form(conn, forms, K.PLAN)
    order_form = K.pack_form(conn, forms, K.ORDER)
    if plan_form is None or order_form is None:
        return []
    t = plan_form.main
    q = sa.select(t).where(t.c.deleted_at.is_(None), sa.or_(t.c.active.is_(True), t.c.active.is_(None))).order_by(t.c.id)
    if plan_ids is not None:
        q = q.where(t.c.id.in_([int(i) for i in plan_ids]))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()          # two workers ticking at once open one order between them
    now, opened = ctx.now, []
    for plan in [dict(r) for r in conn.execute(q).mappings()]:
        if plan.get("trigger") == "condition":
            if condition is not None:
                got_order = _condition(conn, forms, ctx, plan, order_form, condition)
                opened += [got_order] if got_order else []
            continue
        orders = _orders_of(conn, order_form, int(plan["id"]))
        if any(o["status"] in K.OPEN for o in orders):
            if plan.get("trigger") != "calendar":
                continue
        if plan.get("trigger") == "calendar":
            due = K.aware(plan.get("next_due")) or first_due(plan, ctx)
            if due is None or due > now + dt.timedelta(days=ahead_days):
                continue
            day = due.astimezone(ctx.tz).date()
            if any(o.get("due_date") == day and o["status"] != "cancelled" for o in orders):
                continue
            opened.append(_open_pm(conn, forms, ctx, plan, due, day,
                                   f"按日历每 {Decimal(str(plan['interval'])).normalize():f} 天，到期 {day.isoformat()}"))
            continue
        got = reading(conn, forms, plan, now)
        interval = float(plan.get("interval") or 0)
        if got is None or interval <= 0 or got < interval:
            continue
        unit = "运行小时" if plan.get("trigger") == "run_hours" else "件"
        opened.append(_open_pm(conn, forms, ctx, plan, now, now.astimezone(ctx.tz).date(),
                               f"自上次保养已累计 {got:.1f} {unit}（间隔 {interval:g} {unit}）"))
    return opened


def _condition(conn: Connection, forms: Any, ctx: Ctx, plan: dict[str, Any], order_form: Any,
               condition: Condition) -> dict[str, Any] | None:
    """A condition plan: an order at the start of an episode (health below the threshold or the named drift
    alarm open), none while it lasts; the episode ends when the condition no longer holds."""
    machine = int(plan["machine"])
    score, tags = condition([machine]).get(machine, (100.0, set()))
    threshold = float(plan.get("interval") or 0)
    tag = (plan.get("alarm_tag") or "").strip()
    why = []
    if score < threshold:
        why.append(f"健康度 {score:g} 低于 {threshold:g}")
    if tag and tag in tags:
        why.append(f"参数「{tag}」有未恢复的漂移报警")
    since = K.aware(plan.get("condition_since"))
    if not why:
        if since is not None:
            _patch_plan(conn, forms, ctx, plan, {"condition_since": None})
        return None
    if since is not None:
        return None                    # the same episode: its order is open or was done
    patch: dict[str, Any] = {"condition_since": ctx.now, "last_reading": Decimal(str(round(score, 2)))}
    if any(o["status"] in K.OPEN for o in _orders_of(conn, order_form, int(plan["id"]))):
        _patch_plan(conn, forms, ctx, plan, patch)          # an order of the plan is already open: it covers this
        return None
    order = _open_pm(conn, forms, ctx, plan, ctx.now, ctx.now.astimezone(ctx.tz).date(), "状态触发：" + "；".join(why))
    _patch_plan(conn, forms, ctx, plan, patch)
    return order


def _patch_plan(conn: Connection, forms: Any, ctx: Ctx, plan: Mapping[str, Any], patch: dict[str, Any]) -> None:
    with K.engine_writes(conn):
        S.update_record(conn=conn, registry=forms, ctx=K.acting(ctx), form=K.PLAN, record_id=int(plan["id"]), patch=patch)


def next_calendar_due(due: dt.datetime, interval_days: float, after: dt.datetime) -> dt.datetime:
    """``due`` plus whole intervals: the first one after ``after``."""
    step = dt.timedelta(days=float(interval_days))
    nxt = due + step
    if nxt <= after:
        nxt += step * (int((after - nxt) / step) + 1)
    return nxt


def on_order_done(conn: Connection, forms: Any, ctx: Ctx, order: Mapping[str, Any]) -> None:
    """A PM order finished: its plan's 上次完成, the reading then, and (calendar) the next due."""
    if order.get("pm_plan") is None:
        return
    plan_form = K.pack_form(conn, forms, K.PLAN)
    plan = K.row(conn, plan_form, int(order["pm_plan"])) if plan_form is not None else None
    if plan is None:
        return
    done = K.aware(order.get("finished_at")) or ctx.now
    patch: dict[str, Any] = {"last_done": done}
    if plan.get("trigger") == "calendar":
        base = K.aware(order.get("planned_start")) or K.aware(plan.get("next_due")) or done
        patch["next_due"] = next_calendar_due(base, float(plan["interval"]), done)
    elif plan.get("trigger") != "condition":         # (a condition plan keeps the health read when it opened)
        got = reading(conn, forms, plan, done)
        patch["last_reading"] = Decimal(str(round(got, 2))) if got is not None else None
    with K.engine_writes(conn):
        S.update_record(conn=conn, registry=forms, ctx=K.acting(ctx), form=K.PLAN, record_id=int(plan["id"]), patch=patch)
