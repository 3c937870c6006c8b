"""OEE from the per machine × plant-day summary (engines/oee/summary.py) gives the row-by-row answer
(engines/oee/reader.py) on random data over three weeks — a night shift across midnight in Asia/Shanghai, a
machine around the clock, one on the standard calendar with a holiday, counts on some days only, job reports
before the first shift, setups followed by scrap across midnight, stop reasons (planned ones too) — and every
write that changes a closed day's inputs makes the next answer follow it (no stale summary)."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from mom.engines.devices import machine_days as MD
from mom.engines.devices import writes as W
from mom.engines.oee import reader, report, summary
from mom.engines.oee.timemodel import LOSSES
from mom.engines.packs import manager
from mom.engines.records import service as S
from mom.engines.records import values as V
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import insert_rows
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx

SH = ZoneInfo("Asia/Shanghai")
FIRST, DAYS = dt.date(2026, 11, 9), 21
NOW = dt.datetime.combine(FIRST + dt.timedelta(days=DAYS - 1), dt.time(15, 30), tzinfo=SH)   # the last day is open


def _at(day: dt.date, minutes: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SH) + dt.timedelta(minutes=minutes)


def _insert(conn: Any, form: str, rows: list[dict[str, Any]]) -> list[int]:
    compiled = form_registry().get(conn, form)
    return [int(r["id"]) for r in insert_rows(conn, compiled, Ctx.system(tz=SH),
                                              [V.Prepared(values=r, children={}) for r in rows], audit=False)]


def _ctx() -> Ctx:
    return Ctx(actor=SYSTEM, now=NOW, tz=SH)


@pytest.fixture
def plant(core_pack: sa.engine.Engine) -> dict[str, Any]:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=SH)
    rnd = random.Random(23)
    forms = form_registry()
    ctx = Ctx.system(tz=SH)
    with write_tx(engine) as conn:
        std = conn.execute(sa.select(forms.get(conn, "work_calendar").main.c.id).limit(1)).scalar_one()
        night = S.create_records(conn=conn, registry=forms, ctx=ctx, form="work_calendar", docs=[{
            "code": "T3", "name": "三班", "workdays": "1,2,3,4,5,6",
            "shifts": [{"name": "早班", "start_time": "06:00", "end_time": "14:00"},
                       {"name": "中班", "start_time": "14:00", "end_time": "22:00"},
                       {"name": "夜班", "start_time": "22:00", "end_time": "06:00"}],
            "holidays": [{"date": "2026-11-18"}]}])[0]["id"]
        wc, wc24 = [r["id"] for r in S.create_records(conn=conn, registry=forms, ctx=ctx, form="work_center", docs=[
            {"code": "L-S", "name": "产线 S", "units": 5, "calendar": night}, {"code": "L-24", "name": "产线 24", "units": 1}])]
        ms = [r["id"] for r in S.create_records(conn=conn, registry=forms, ctx=ctx, form="machine", docs=[
            {"code": "S-1", "name": "三班 1", "work_center": wc, "status": "idle"},
            {"code": "S-2", "name": "三班 2", "work_center": wc, "status": "idle"},
            {"code": "S-3", "name": "标准", "work_center": wc, "calendar": std, "status": "idle"},
            {"code": "S-4", "name": "全天", "work_center": wc24, "status": "idle"}])]
        reasons = {r["loss_category"]: r["id"] for r in conn.execute(sa.select(
            forms.get(conn, "stop_reason").main.c.id, forms.get(conn, "stop_reason").main.c.loss_category)).mappings()}
        item = conn.execute(sa.select(forms.get(conn, "item").main.c.id).limit(1)).scalar_one()
        order = _insert(conn, "production_order", [{"item": item, "qty": Decimal(100000)}])[0]
        tasks: dict[int, list[int]] = {}
        for k, m in enumerate(ms):
            docs = []
            t = _at(FIRST, -600)
            for j in range(6):                          # tasks one after the other; one finished in one report
                span = dt.timedelta(hours=rnd.uniform(30, 90)) if j != 2 else dt.timedelta(0)
                end = t + span if j < 5 else None
                docs.append({"production_order": order, "seq": 10 * (j + 1) + k, "machine": m, "qty": Decimal(1000),
                             "run_min": Decimal(str(round(rnd.uniform(0.2, 2.0), 2))), "actual_start": t,
                             "actual_end": end, "status": "done" if end else "running"})
                t = (end or t) + dt.timedelta(hours=rnd.uniform(0, 6))
            tasks[m] = _insert(conn, "operation_task", docs)
        states, counts, reps = [], [], []
        for m in ms:
            t = _at(FIRST, -rnd.uniform(0, 300))
            while t < NOW:
                nxt = t + dt.timedelta(minutes=rnd.uniform(5, 240))
                st = rnd.choices(["running", "idle", "down", "setup", "planned_stop"], [60, 12, 10, 10, 8])[0]
                reason = None
                if st in ("down", "idle") and rnd.random() < 0.4:
                    reason = reasons.get(rnd.choice(["breakdown", "minor_stop"]))
                elif st == "planned_stop" and rnd.random() < 0.5:
                    reason = reasons.get("planned")
                states.append({"machine": m, "state": st, "started_at": t, "ended_at": nxt if nxt < NOW else None,
                               "stop_reason": reason, "source": "test"})
                t = nxt
        for m in ms[:2] + ms[3:]:                       # S-3 has no counter; S-1 counts only in the second week
            for d in range(DAYS):
                day = FIRST + dt.timedelta(days=d)
                if m == ms[0] and d < 7:
                    continue
                for _ in range(rnd.randint(0, 12)):
                    total = rnd.randint(1, 50)
                    counts.append({"machine": m, "bucket_start": _at(day, rnd.randint(0, 1439)).replace(second=0),
                                   "total": Decimal(total), "good": Decimal(total - min(total, rnd.randint(0, 3))),
                                   "scrap": Decimal(min(total, rnd.randint(0, 3)))})
        seen = set()
        counts = [c for c in counts if (k := (c["machine"], c["bucket_start"])) not in seen and not seen.add(k)]
        for m in ms:
            for d in range(DAYS):
                day = FIRST + dt.timedelta(days=d)
                for _ in range(rnd.randint(0, 5)):      # 02:00 reports come before a day shift's first window
                    reps.append({"task": rnd.choice(tasks[m]), "event": rnd.choice(["report", "finish", "correct"]),
                                 "good_qty": Decimal(rnd.randint(0, 40)), "scrap_qty": Decimal(rnd.randint(0, 3)),
                                 "rework_qty": Decimal(rnd.randint(0, 1)), "machine": m if rnd.random() < 0.8 else None,
                                 "reported_at": _at(day, rnd.uniform(0, 1439))})
        _insert(conn, "machine_state", states)
        _insert(conn, "machine_count", counts)
        _insert(conn, "job_report", reps)
    return {"engine": engine, "machines": ms, "tasks": tasks, "reasons": reasons, "calendar": night}


def _same(a: reader.Scope, b: reader.Scope) -> None:
    assert set(a.machines) == set(b.machines)
    for mid, m in a.machines.items():
        other = b.machines[mid].tallies
        assert set(m.tallies) == set(other), mid
        for key, t in m.tallies.items():
            u = other[key]
            for f in summary.FIELDS:
                assert getattr(t, f) == pytest.approx(getattr(u, f), rel=1e-9, abs=1e-6), (mid, key, f)
            for k in set(t.stop_losses) | set(u.stop_losses):
                assert t.stop_losses.get(k, 0.0) == pytest.approx(u.stop_losses.get(k, 0.0), abs=1e-6), (mid, key, k)
    for k in set(a.stops) | set(b.stops):
        assert a.stops.get(k, 0.0) == pytest.approx(b.stops.get(k, 0.0), abs=1e-6), k


def _period(first: int, last: int) -> tuple[dt.datetime, dt.datetime]:
    return _at(FIRST + dt.timedelta(days=first), 0), _at(FIRST + dt.timedelta(days=last + 1), 0)


def _both(engine: Any, start: dt.datetime, end: dt.datetime, **kw: Any) -> tuple[reader.Scope, reader.Scope]:
    forms = form_registry()
    with read_tx(engine) as conn:
        fast = summary.read(conn, forms, _ctx(), start, end, **kw)
        slow = reader.read(conn, forms, _ctx(), start, end, **kw)
    return fast, slow


def _stored(engine: Any, machine: int | None = None) -> int:
    t = MD.day_table
    q = sa.select(sa.func.count()).select_from(t)
    with read_tx(engine) as conn:
        return int(conn.execute(q if machine is None else q.where(t.c.machine_id == machine)).scalar_one())


def test_summarised_answer_equals_row_by_row_on_random_data(plant: dict[str, Any]) -> None:
    engine = plant["engine"]
    assert _stored(engine) == 0
    fast, slow = _both(engine, *_period(0, DAYS - 1))            # cold: computes and keeps the closed days
    _same(fast, slow)
    assert _stored(engine) == len(fast.machines) * (DAYS - 1)    # every machine's closed days; the open one is not kept
    rnd = random.Random(7)
    periods = [(0, DAYS - 1), (0, 0), (3, 10), (7, 7), (6, DAYS - 1)] + \
        [tuple(sorted((rnd.randrange(DAYS), rnd.randrange(DAYS)))) for _ in range(6)]
    for a, b in periods:                                         # warm: from the stored days
        _same(*_both(engine, *_period(a, b)))
    _same(*_both(engine, *_period(2, 12), machine="S-1"))        # counts in a part of the period only
    forms = form_registry()
    with read_tx(engine) as conn:                                # what a user reads: every group, the losses
        for group in report.GROUPS:
            fast_rows = report.rows(conn, forms, _ctx(), *_period(1, 15), group=group)
            assert fast_rows["total"]["oee"] is not None
            with_rows = _rows_from(reader.read(conn, forms, _ctx(), *_period(1, 15)), group)
            assert [r.get("oee") for r in fast_rows["rows"]] == pytest.approx([r.get("oee") for r in with_rows])
    # a period not starting at midnight, and a day not closed yet, are read row by row (and still agree)
    _same(*_both(engine, _at(FIRST + dt.timedelta(days=2), 7 * 60), _at(FIRST + dt.timedelta(days=5), 0)))


def _rows_from(scope: reader.Scope, group: str) -> list[dict[str, Any]]:
    g = report.grouped(scope, group)
    keys = sorted(g, key=lambda k: tuple("" if x is None else str(x) for x in k))
    return [report.kpis(g[k]) for k in keys]


def _late_changes(plant: dict[str, Any]) -> list[tuple[str, Any]]:
    engine, ms = plant["engine"], plant["machines"]
    forms = form_registry()
    ctx = Ctx(actor=SYSTEM, now=NOW, tz=SH)
    day5 = FIRST + dt.timedelta(days=5)

    def late_state(conn: Any) -> int:          # the ingestion's insert path (a buffered reading of day 5)
        f = forms.get(conn, "machine_state")
        W.insert(conn, forms, ctx, f, [{"machine": ms[1], "state": "down", "started_at": _at(day5, 600),
                                        "ended_at": _at(day5, 700), "source": "mqtt"}])
        return ms[1]

    def late_count(conn: Any) -> int:          # a minute already there, added to in place (no record hook)
        f = forms.get(conn, "machine_count")
        t = f.main
        mid, minute = conn.execute(sa.select(t.c.machine, t.c.bucket_start).where(t.c.machine == ms[3])
                                   .where(t.c.bucket_start < _at(day5, 24 * 60)).where(t.c.bucket_start >= _at(day5, 0))
                                   .limit(1)).one()
        W.add_counts(conn, forms, ctx, f, {(mid, minute): [Decimal(500), Decimal(100), Decimal(400)]})
        return ms[3]

    def classify(conn: Any) -> int:            # a breakdown classified as a minor stop (its loss moves)
        t = forms.get(conn, "machine_state").main
        sid = conn.execute(sa.select(t.c.id).where(t.c.machine == ms[2], t.c.state == "down", t.c.stop_reason.is_(None),
                                                   t.c.started_at > _at(day5, 0)).order_by(t.c.started_at).limit(1)).scalar_one()
        S.update_record(conn=conn, registry=forms, ctx=ctx, form="machine_state", record_id=sid,
                        patch={"stop_reason": plant["reasons"]["minor_stop"]})
        return ms[2]

    def run_time(conn: Any) -> int:            # the planned run time per item of a task that ran
        S.update_record(conn=conn, registry=forms, ctx=ctx, form="operation_task", record_id=plant["tasks"][ms[3]][1],
                        patch={"run_min": Decimal("9.5")})
        return ms[3]

    def calendar(conn: Any) -> None:           # the night shift now ends at 05:00
        S.update_record(conn=conn, registry=forms, ctx=ctx, form="work_calendar", record_id=plant["calendar"], patch={
            "shifts": [{"name": "早班", "start_time": "06:00", "end_time": "14:00"},
                       {"name": "中班", "start_time": "14:00", "end_time": "22:00"},
                       {"name": "夜班", "start_time": "22:00", "end_time": "05:00"}]})

    def machine_calendar(conn: Any) -> int:    # a machine moved onto the standard calendar
        std = conn.execute(sa.select(forms.get(conn, "work_calendar").main.c.id).order_by(
            forms.get(conn, "work_calendar").main.c.id).limit(1)).scalar_one()
        S.update_record(conn=conn, registry=forms, ctx=ctx, form="machine", record_id=ms[0], patch={"calendar": std})
        return ms[0]

    return [("late state", late_state), ("late count", late_count), ("stop classified", classify),
            ("run time", run_time), ("machine calendar", machine_calendar), ("calendar", calendar)]   # (everything last)


def test_every_change_to_a_closed_day_is_followed(plant: dict[str, Any]) -> None:
    engine = plant["engine"]
    whole = _period(0, DAYS - 1)
    for name, change in _late_changes(plant):
        before, _slow = _both(engine, *whole)                   # stores (or keeps) the closed days
        kept = {m: _stored(engine, m) for m in before.machines}
        assert sum(kept.values()) > 0, name
        with write_tx(engine) as conn:
            mid = change(conn)
        if mid is None:
            assert _stored(engine) == 0, name                   # a calendar: every machine's days go
        else:                                                   # the touched machine-days go, nothing else
            assert {m: _stored(engine, m) for m in before.machines} == {**kept, mid: _stored(engine, mid)}, name
            assert _stored(engine, mid) < kept[mid], name
        after, slow = _both(engine, *whole)
        _same(after, slow)                                      # the next answer follows the change
        changed = before.machines if mid is None else {mid: before.machines[mid]}
        assert any(_differs(x.tallies, after.machines[m].tallies) for m, x in changed.items()), name
        if mid is not None:       # late data: the machine is not kept for a while (a snapshot may predate a write)
            assert _stored(engine, mid) < DAYS - 1, name


def _differs(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    if set(a) != set(b):
        return True
    return any(abs(getattr(a[k], f) - getattr(b[k], f)) > 1e-6 for k in a for f in summary.FIELDS) or \
        any(abs(a[k].stop_losses.get(x, 0.0) - b[k].stop_losses.get(x, 0.0)) > 1e-6 for k in a for x in LOSSES)
