"""The core pack's reports and the 生产看板 dashboard (issue 19 phase 2): the pack installed with its
demo plant, orders released and reported through the production engine, and every report's numbers
equal to what the records say — order progress, work in progress by operation, output by line and
shift, on-time delivery by week — on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.production.release import release
from mom.engines.production.reports import report
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import create_records
from mom.engines.reports import dashboard, service as reports
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx

TZ = plant_tz("Asia/Shanghai")
MONDAY = dt.datetime(2026, 11, 30, 7, 0, tzinfo=TZ)
WEEK = {"period": "2026-11-23,2026-12-06"}


def _ctx(now: dt.datetime) -> Ctx:
    return Ctx(actor=SYSTEM, now=now.astimezone(dt.timezone.utc), tz=TZ)


@pytest.fixture
def board(core_pack: sa.engine.Engine) -> sa.engine.Engine:
    """core --demo (a copy of the session's template, tests/conftest.py); order A (10 valves, due Friday) made
    completely on Monday and Tuesday, order B (20, due Thursday) cast in part: a day-shift and a night-shift report."""
    engine = core_pack
    forms = form_registry()
    with write_tx(engine) as conn:
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar()
        made = create_records(conn=conn, registry=forms, ctx=_ctx(MONDAY), form="production_order", docs=[
            {"code": "MO-A", "item": item, "qty": 10, "due_date": (MONDAY + dt.timedelta(days=4)).isoformat(), "priority": 2},
            {"code": "MO-B", "item": item, "qty": 20, "due_date": (MONDAY + dt.timedelta(days=3)).isoformat(), "priority": 5}])
        for m in made:
            release(conn, forms, _ctx(MONDAY), m["id"])
    at = MONDAY.replace(hour=9)
    from mom.platform.settings import get_settings
    # 10 good and 1 scrap on the first operation of a 10-piece order: the plant allows 10 % overrun
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOM_PRODUCTION_OVERRUN", "10")
        get_settings.cache_clear()
        try:
            _made_on_monday(engine, at)
        finally:
            get_settings.cache_clear()
    return engine


def _made_on_monday(engine: sa.engine.Engine, at: dt.datetime) -> None:
    for code in _task_codes(engine, "MO-A"):          # every operation: start, then finish 10 good (1 scrap on the first)
        _report(engine, code, "start", at)
        first = code == _task_codes(engine, "MO-A")[0]
        _report(engine, code, "finish", at + dt.timedelta(hours=2), good_qty=10, scrap_qty=1 if first else 0,
                scrap_reason="R01" if first else None)
        at += dt.timedelta(hours=6)                  # 09:00, 15:00, 21:00 (night shift), Tuesday 03:00 (night)
    b_cast = _task_codes(engine, "MO-B")[0]
    _report(engine, b_cast, "start", MONDAY.replace(hour=10))
    _report(engine, b_cast, "report", MONDAY.replace(hour=11), good_qty=6, scrap_qty=2, scrap_reason="R01")
    _report(engine, b_cast, "report", MONDAY.replace(hour=22), good_qty=5)


def _task_codes(engine: sa.engine.Engine, order: str) -> list[str]:
    with read_tx(engine) as conn:
        return [r[0] for r in conn.execute(sa.text(
            "SELECT t.code FROM operation_task t JOIN production_order o ON o.id = t.production_order "
            "WHERE o.code = :o ORDER BY t.seq"), {"o": order})]


def _report(engine: sa.engine.Engine, task: str, event: str, at: dt.datetime, **q: Any) -> None:
    with write_tx(engine) as conn:
        report(conn, form_registry(), _ctx(at), {"task": task, "event": event, "reported_at": at.isoformat(),
                                                  **{k: v for k, v in q.items() if v is not None}})


def _run(engine: sa.engine.Engine, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return reports.run(conn, form_registry(), _ctx(MONDAY + dt.timedelta(days=2)), name, params or {})


def _rows(engine: sa.engine.Engine, sql: str) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _d(v: Any) -> Decimal:
    return Decimal(str(v or 0)).quantize(Decimal("0.0001"))


def test_order_progress_lists_the_open_orders_as_their_records_say(board: sa.engine.Engine) -> None:
    out = _run(board, "order_progress")
    assert [c["label"]["zh-CN"] for c in out["columns"]][:6] == ["工单号", "产品", "计划数量", "合格数量", "报废数量", "完成率 %"]
    rows = {r["code"]: r for r in out["rows"]}
    assert set(rows) == {"MO-B"}                    # MO-A is finished: not an open order
    rec = _rows(board, "SELECT * FROM production_order WHERE code = 'MO-B'")[0]
    b = rows["MO-B"]
    assert rec["status"] == "started" and b["status"] == "started"
    assert (_d(b["good_qty"]), _d(b["scrap_qty"]), _d(b["progress"])) == (_d(rec["good_qty"]), _d(rec["scrap_qty"]), _d(rec["progress"]))
    assert b["current_operation"] == rec["current_operation"] and "阀体铸造" in b["current_operation"]
    assert b["expected_finish"] is not None and b["on_time"] == rec["on_time"]
    both = _run(board, "order_progress", {"status": ["released", "started", "finished"]})
    a = {r["code"]: r for r in both["rows"]}["MO-A"]
    assert a["status"] == "finished" and _d(a["good_qty"]) == 10 and _d(a["progress"]) == 100


def test_wip_by_operation_sums_what_the_open_tasks_still_have_to_make(board: sa.engine.Engine) -> None:
    out = _run(board, "wip_by_operation")
    tasks = _rows(board, "SELECT t.name, t.qty, t.good_qty, w.name AS wc FROM operation_task t "
                         "JOIN production_order o ON o.id = t.production_order JOIN work_center w ON w.id = t.work_center "
                         "WHERE t.status <> 'done' AND o.status IN ('released', 'started')")
    want: dict[tuple[str, str], Decimal] = {}
    for t in tasks:
        want[(t["wc"], t["name"])] = want.get((t["wc"], t["name"]), Decimal(0)) + _d(t["qty"]) - _d(t["good_qty"])
    got = {(r["work_center"], r["operation"]): _d(r["open_qty"]) for r in out["rows"]}
    assert got == want
    assert got[("铸造工段", "阀体铸造")] == 20 - 11            # MO-B's casting: 6 + 5 good of 20
    assert got[("机加工工段", "阀体机加工")] == 20 and len(got) == 4     # MO-A's tasks are done


def test_output_by_line_and_shift_adds_the_reports_per_work_centre_and_shift(board: sa.engine.Engine) -> None:
    out = _run(board, "output_by_line_shift", WEEK)
    got = {(r["line"], r["shift"]): (_d(r["good"]), _d(r["scrap"])) for r in out["rows"]}
    reps = _rows(board, "SELECT j.good_qty, j.scrap_qty, j.reported_at, w.name AS wc FROM job_report j "
                        "JOIN machine m ON m.id = j.machine JOIN work_center w ON w.id = m.work_center")
    assert len(reps) == len(_rows(board, "SELECT id FROM job_report"))      # every report carries its machine
    want: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for r in reps:
        t = r["reported_at"]
        t = (dt.datetime.fromisoformat(t) if isinstance(t, str) else t)
        local = (t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t).astimezone(TZ)
        day = local if local.hour >= 8 else local - dt.timedelta(days=1)     # a night shift belongs to the day it began
        key = (r["wc"], f"{day:%Y-%m-%d} {'D' if 8 <= local.hour < 20 else 'N'}")
        g, s = want.get(key, (Decimal(0), Decimal(0)))
        want[key] = (g + _d(r["good_qty"]), s + _d(r["scrap_qty"]))
    assert got == want
    assert got[("铸造工段", "2026-11-30 D")] == (Decimal(16), Decimal(3))   # A 10 + 1 scrap, B 6 + 2 scrap
    assert got[("铸造工段", "2026-11-30 N")] == (Decimal(5), Decimal(0))    # B's 22:00 report
    # A's assembly (finished 23:00) and pressure test (finished Tuesday 05:00): both Monday's night shift
    assert got[("装配试压工段", "2026-11-30 N")] == (Decimal(20), Decimal(0))


def test_on_time_delivery_counts_finished_orders_by_week(board: sa.engine.Engine) -> None:
    out = _run(board, "on_time_delivery", WEEK)
    assert [(r["week"], r["finished"], r["on_time"], r["late"]) for r in out["rows"]] == [("2026-11-30", 1, 1, 0)]
    assert out["rows"][0]["on_time_rate"] == 1
    # finished after its due date, the order is counted late
    with write_tx(board) as conn:
        conn.execute(sa.text("UPDATE production_order SET due_date = :d WHERE code = 'MO-A'"),
                     {"d": dt.datetime(2026, 11, 30, 1, 0)})
    late = _run(board, "on_time_delivery", WEEK)["rows"][0]
    assert (late["on_time"], late["late"], late["on_time_rate"]) == (0, 1, 0)


def test_the_production_board_shows_every_widget_in_chinese(board: sa.engine.Engine) -> None:
    with read_tx(board) as conn:
        out = dashboard.data(conn, form_registry(), _ctx(MONDAY + dt.timedelta(days=2)), "production_board", WEEK)
    widgets = {w["id"]: w for w in out["widgets"]}
    assert set(widgets) == {"on_time_rate", "yield", "output", "wip", "on_time_weeks", "orders"}
    assert not [w["id"] for w in widgets.values() if w.get("error")]
    assert widgets["on_time_rate"]["value"] == 1 and widgets["on_time_rate"]["status"] == "ok"
    assert widgets["yield"]["label"] == "合格率" and widgets["yield"]["trend"]
    assert {s["name"] for s in widgets["output"]["option"]["series"]} == {"铸造工段", "机加工工段", "装配试压工段"}
    assert widgets["wip"]["option"]["xAxis"]["data"][0] == "阀体机加工"          # the largest quantity to make first
    assert out["label"] in ("生产看板", {"zh-CN": "生产看板", "en": "Production board"})
    assert [r["code"] for r in widgets["orders"]["rows"]] == ["MO-B"]
