"""Equipment history for `mom demo` (设备演示数据): the demo plant's four machines (FUR-1, CNC-1, CNC-2, ASM-1)
over the last 7 days up to now, so 安灯看板 /#/andon and OEE 分析 /#/oee show real figures.

- Production (so OEE has a planned run time per part, PRI): a 闸阀 DN50 order (FUR-1 12 min, CNC-1 18 min,
  ASM-1 8 min a part: core's demo routing) and a 阀盖 DN50 order whose casting finished before the week and
  whose machining runs on CNC-2 (9 min), released and started through the production engine (job reports,
  the transfer batches of the routing passing the work on).
- Device data: the messages the machines would have published on ``mom/sim/<code>/data`` (the demo mapping
  DEMO-PLANT, the simulator's JSON) — a message at every state change and every hour while running, with
  cumulative counters — applied through the devices engine's ingest (:func:`mom.engines.devices.ingest.apply_batch`),
  never by inserting rows. Inside the calendar's shifts (标准日历 Mon–Sat 08–12, 13–17) a machine sets up at the
  start of the day, runs 35–110 min stretches at 85–97 % of the routing's speed (about 2 % scrap), and stops:
  short idle stops, breakdowns, changeovers; outside the shifts it is 计划停机. Deterministic: each machine-day
  draws from its own seeded generator. CNC-2 broke down yesterday afternoon and is still down: its repair
  order (维修工单) is open.
- Stops: about two thirds classified with a stop reason (停机原因) by the supervisor, the rest left unexplained.
- PM plans (保养计划): four, one calendar plan due in two days.

Idempotent: when the demo machines already have states nothing is done (one transaction for all of it).
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.engines.devices.ingest import DeviceMessage, apply_batch
from mom.engines.records import service as records
from mom.engines.records.context import SYSTEM, Ctx, actor_by_username
from mom.platform.db import tables as T
from mom.platform.db.engine import write_tx

UTC = dt.timezone.utc
DAYS = 7
TOPIC = "mom/sim/{code}/data"           # the demo mapping DEMO-PLANT (modelpacks/equipment/demo/device_mapping.json)
SHIFTS = ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))
WORKDAYS = {0, 1, 2, 3, 4, 5}           # 标准日历: Monday–Saturday
#: machine code → (stop mix: idle, down, setup weights)
MIX = {"FUR-1": (5, 2, 1), "CNC-1": (6, 2, 2), "CNC-2": (5, 3, 2), "ASM-1": (7, 1, 1)}
STOP_MIN = {"idle": (4, 15), "down": (12, 45), "setup": (15, 30)}      # a stop's length, minutes
REASONS = {"down": ["BRK-MECH", "BRK-ELEC", "BRK-HYD"], "idle": ["MIN-JAM", "MIN-WAIT", "MIN-OPR"],
           "setup": ["SET-CHG", "SET-ADJ"]}
PM_PLANS = [  # name, machine code, trigger, interval, first due in days (calendar), minutes, checklist
    ("中频炉冷却水系统周检（演示）", "FUR-1", "calendar", 7, 2, 60, ["检查冷却水压力与流量", "检查感应圈绝缘与漏水"]),
    ("数控车床月度润滑保养（演示）", "CNC-1", "calendar", 30, 12, 120, ["导轨润滑油补充", "卡盘清洁与润滑"]),
    ("CNC-2 主轴 500 运行小时保养（演示）", "CNC-2", "run_hours", 500, None, 90, ["主轴轴承温升检查", "主轴皮带张紧"]),
    ("试压台密封件每 5000 件更换（演示）", "ASM-1", "counter", 5000, None, 45, ["更换试压密封圈", "保压试验"]),
]


def _local(day: dt.date, t: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, t, tzinfo=tz).astimezone(UTC)


def _windows(today: dt.date, tz: dt.tzinfo, now: dt.datetime) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    out = []
    for back in range(DAYS, -1, -1):
        day = today - dt.timedelta(days=back)
        if day.weekday() not in WORKDAYS:
            continue
        for a, b in SHIFTS:
            s, e = _local(day, a, tz), _local(day, b, tz)
            if s < now:
                out.append((day, s, min(e, now)))
    return out


def segments(code: str, windows: list[tuple[dt.date, dt.datetime, dt.datetime]], start: dt.datetime,
             now: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """(start, state) changes of machine ``code``: inside each shift setup / running / stops, between shifts planned_stop."""
    out: list[tuple[dt.datetime, str]] = [(start, "planned_stop")]
    first_of_day: set[dt.date] = set()
    for day, ws, we in windows:
        rng = random.Random(f"{code}/{day.isoformat()}/{ws.hour}")
        t = ws
        if day not in first_of_day:
            first_of_day.add(day)
            out.append((t, "setup"))
            t += dt.timedelta(minutes=rng.randint(15, 35))
        while t < we:
            out.append((t, "running"))
            t += dt.timedelta(minutes=rng.randint(35, 110))
            if t >= we:
                break
            state = rng.choices(("idle", "down", "setup"), weights=MIX.get(code, (5, 2, 1)))[0]
            out.append((t, state))
            lo, hi = STOP_MIN[state]
            t += dt.timedelta(minutes=rng.randint(lo, hi))
        if we < now:
            out.append((we, "planned_stop"))
    return [(t, s) for t, s in out if t <= now]


def messages(code: str, changes: list[tuple[dt.datetime, str]], run_min: float, now: dt.datetime,
             down_from: dt.datetime | None = None) -> list[DeviceMessage]:
    """The JSON messages machine ``code`` would have sent: each state change and each full hour while running,
    with cumulative total / good / scrap made at ``run_min`` per part at 85–97 % speed and ~2 % scrap."""
    if down_from is not None:           # broke down, still down: nothing after it
        changes = [c for c in changes if c[0] < down_from] + [(down_from, "down")]
    rng = random.Random(f"{code}/speed")
    out: list[DeviceMessage] = []
    made = 0.0
    scrap_every = rng.randint(35, 60)
    for i, (t, state) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else now
        points = [t]
        if state == "running":
            h = t.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
            while h < end:
                points.append(h)
                h += dt.timedelta(hours=1)
        speed = rng.uniform(0.85, 0.97)
        for k, p in enumerate(points):
            total = int(made)
            ts = int(p.timestamp() * 1000)
            out.append(DeviceMessage(TOPIC.format(code=code), {
                "seq": ts // 1000, "ts": ts, "state": state, "total": total, "scrap": total // scrap_every,
                "good": total - total // scrap_every}, p))
            if state == "running":
                nxt = points[k + 1] if k + 1 < len(points) else end
                made += (nxt - p).total_seconds() / (run_min * 60.0) * speed
    if changes and changes[-1][1] == "running":     # the counters up to now
        total = int(made)
        ts = int(now.timestamp() * 1000)
        out.append(DeviceMessage(TOPIC.format(code=code), {
            "seq": ts // 1000, "ts": ts, "state": "running", "total": total, "scrap": total // scrap_every,
            "good": total - total // scrap_every}, now))
    return out


def _id(conn: Any, forms: Any, form: str, field: str, value: Any) -> int | None:
    t = forms.get(conn, form).main
    return conn.execute(sa.select(t.c.id).where(t.c[field] == value, t.c.deleted_at.is_(None))).scalar()


def _order(conn: Any, forms: Any, ctx: Ctx, item: str, qty: int) -> list[dict[str, Any]]:
    """A production order for ``item`` released at ``ctx.now``: its tasks (id, machine, run_min) in routing order."""
    from mom.engines.production import release

    item_id = _id(conn, forms, "item", "code", item)
    made = records.create_records(conn=conn, registry=forms, ctx=ctx, form="production_order",
                                  docs=[{"item": item_id, "qty": qty}])
    return list(release.release(conn, forms, ctx, int(made[0]["id"]))["tasks"])


def _report(conn: Any, forms: Any, ctx: Ctx, task: int, event: str, at: dt.datetime, good: int = 0) -> None:
    from mom.engines.production import reports

    reports.report(conn, forms, Ctx(actor=ctx.actor, now=at, tz=ctx.tz),
                   {"task": task, "event": event, "good_qty": good, "reported_at": at})


def _production(conn: Any, forms: Any, ctx: Ctx, start: dt.datetime) -> dict[int, float]:
    """The week's two orders (see the module docstring); machine id → the run minutes per part of its task."""
    task_form = forms.get(conn, "operation_task").main
    sf = _order(conn, forms, Ctx(actor=ctx.actor, now=start - dt.timedelta(days=2), tz=ctx.tz), "SF-C50", 120)
    _report(conn, forms, ctx, sf[0]["id"], "start", start - dt.timedelta(days=2))
    _report(conn, forms, ctx, sf[0]["id"], "finish", start - dt.timedelta(days=1), good=120)
    _report(conn, forms, ctx, sf[1]["id"], "start", start)
    fg = _order(conn, forms, Ctx(actor=ctx.actor, now=start, tz=ctx.tz), "FG-V50", 300)
    _report(conn, forms, ctx, fg[0]["id"], "start", start)
    _report(conn, forms, ctx, fg[0]["id"], "report", start + dt.timedelta(hours=2), good=10)   # transfer batch 10
    _report(conn, forms, ctx, fg[1]["id"], "start", start + dt.timedelta(hours=2))
    _report(conn, forms, ctx, fg[1]["id"], "report", start + dt.timedelta(hours=4), good=5)    # transfer batch 5
    _report(conn, forms, ctx, fg[2]["id"], "start", start + dt.timedelta(hours=4))
    ids = [sf[1]["id"], fg[0]["id"], fg[1]["id"], fg[2]["id"]]
    rows = conn.execute(sa.select(task_form.c.machine, task_form.c.run_min).where(task_form.c.id.in_(ids)))
    return {int(m): float(r) for m, r in rows if m is not None and r is not None}


def _classify(conn: Any, forms: Any, ctx: Ctx, machine_ids: list[int]) -> tuple[int, int]:
    """About two thirds of the closed stops get a stop reason (the supervisor's); the rest stay unexplained."""
    st, rs = forms.get(conn, "machine_state").main, forms.get(conn, "stop_reason").main
    reasons = {c: int(i) for i, c in conn.execute(sa.select(rs.c.id, rs.c.code).where(rs.c.deleted_at.is_(None)))}
    rows = conn.execute(sa.select(st.c.id, st.c.state).where(
        st.c.machine.in_(machine_ids), st.c.state.in_(list(REASONS)), st.c.ended_at.is_not(None),
        st.c.deleted_at.is_(None)).order_by(st.c.id)).all()
    rng = random.Random("demo/stop-reasons")
    done = left = 0
    for rid, state in rows:
        if rng.random() < 0.33:
            left += 1
            continue
        code = rng.choice(REASONS[state])
        if code in reasons:
            records.update_record(conn=conn, registry=forms, ctx=ctx, form="machine_state", record_id=int(rid),
                                  patch={"stop_reason": reasons[code]})
            done += 1
    return done, left


def _pm_plans(conn: Any, forms: Any, ctx: Ctx, machines: dict[str, int], today: dt.date) -> int:
    t = forms.get(conn, "pm_plan").main
    have = set(conn.execute(sa.select(t.c.name).where(t.c.deleted_at.is_(None))).scalars())
    docs = []
    for name, code, trigger, interval, due_in, minutes, steps in PM_PLANS:
        if name in have or code not in machines:
            continue
        doc: dict[str, Any] = {"name": name, "machine": machines[code], "trigger": trigger, "interval": interval,
                               "duration_min": minutes, "active": True, "checklist": [{"step": s} for s in steps]}
        if due_in is not None:
            doc["first_due"] = (today + dt.timedelta(days=due_in)).isoformat()
        docs.append(doc)
    if docs:
        records.create_records(conn=conn, registry=forms, ctx=ctx, form="pm_plan", docs=docs)
    return len(docs)


def load_equipment_history(engine: Engine, registry: Any, tz: dt.tzinfo, now: dt.datetime | None = None) -> Iterator[str]:
    """Write the week's production, device data, classified stops, PM plans and the open repair order (see the
    module docstring); nothing when the equipment pack or its demo mapping is missing, or the history is there."""
    from mom.engines.maintenance.repair import open_repair_order

    now = (now or dt.datetime.now(UTC)).replace(microsecond=0)
    today = now.astimezone(tz).date()
    with write_tx(engine) as conn:
        if conn.execute(sa.select(T.pack.c.name).where(T.pack.c.name == "equipment")).first() is None:
            return
        mt = registry.get(conn, "machine").main
        machines = {str(c): int(i) for i, c in conn.execute(sa.select(mt.c.id, mt.c.code).where(
            mt.c.code.in_(list(MIX)), mt.c.deleted_at.is_(None)))}
        if len(machines) < len(MIX) or _id(conn, registry, "device_mapping", "code", "DEMO-PLANT") is None:
            return                       # installed without the demo plant (no --demo)
        st = registry.get(conn, "machine_state").main
        if conn.execute(sa.select(st.c.id).where(st.c.machine.in_(list(machines.values()))).limit(1)).first():
            return                       # `mom demo` ran before: the history is there
        boss = actor_by_username(conn, "admin") or SYSTEM
        ctx = Ctx(actor=boss, now=now, tz=tz)
        windows = _windows(today, tz, now)
        if not windows:
            return
        start = windows[0][1]
        pri = _production(conn, registry, ctx, start)
        earlier = [w for w in windows if w[0] < today]
        down_from = (earlier[-1][1] + dt.timedelta(hours=2, minutes=10)) if earlier else None
        msgs: list[DeviceMessage] = []
        for code, mid in machines.items():
            changes = segments(code, windows, start - dt.timedelta(hours=1), now)
            msgs += messages(code, changes, pri.get(mid, 10.0), now, down_from if code == "CNC-2" else None)
        msgs.sort(key=lambda m: m.received_at)
        rep = apply_batch(conn, registry, Ctx(actor=SYSTEM, now=now, tz=tz), msgs, source="simulator")
        classified, unexplained = _classify(conn, registry, ctx, list(machines.values()))
        plans = _pm_plans(conn, registry, ctx, machines, today)
        order = None
        if down_from is not None:
            down = conn.execute(sa.select(st.c.id).where(st.c.machine == machines["CNC-2"], st.c.state == "down",
                                                         st.c.ended_at.is_(None))).scalar()
            order = open_repair_order(conn, registry, Ctx(actor=boss, now=down_from + dt.timedelta(minutes=5), tz=tz),
                                      machine_id=machines["CNC-2"], title_zh="主轴异响、加工尺寸超差，停机待修（演示）",
                                      title_en="spindle noise, parts out of tolerance: stopped for repair (demo)",
                                      source="machine_state", ref=str(down) if down is not None else "demo-CNC-2")
    yield (f"设备演示 / equipment demo: 设备消息 {rep.applied} 条（状态 {rep.states} 段、计数 {rep.counts} 分钟），"
           f"停机已归因 {classified}、未说明 {unexplained}，保养计划 {plans} 个" + (f"，维修工单 {order}" if order else "")
           + f" / {rep.applied} device messages ({rep.states} states, {rep.counts} count minutes), {classified} stops "
           f"classified, {unexplained} unexplained, {plans} PM plans" + (f", repair order {order}" if order else ""))
