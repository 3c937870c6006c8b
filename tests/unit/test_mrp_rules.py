"""MRP rules beyond the textbook records: lot-size rules (mom-domain.md §3.1: L4L, FOQ, MIN, MULT), forecast
consumption and the master schedule, lead-time offsetting over weekends and holidays, week buckets, past
due demand and a deterministic plan."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mom.engines.mrp import plan as M
from mom.engines.mrp.buckets import Buckets
from mom.engines.mrp.calendar import WorkCalendar
from mom.engines.mrp.lotsize import lots
from mom.engines.mrp.problem import BUY, FORECAST, MPS, SALES, Demand, Item, Problem

MONDAY = dt.date(2027, 3, 1)


def test_lot_size_rules() -> None:
    d = Decimal
    assert lots(d(37), "lot_for_lot", d(50)) == [37]
    assert lots(d(120), "fixed", d(50)) == [50, 50, 50]          # ⌈120/50⌉ lots of 50
    assert lots(d(120), "multiple", d(50)) == [150]              # one order, 50 · ⌈120/50⌉
    assert lots(d(37), "minimum", d(50)) == [50] and lots(d(70), "minimum", d(50)) == [70]
    assert lots(d(37), "fixed", None) == [37] and lots(d(37), "fixed", d(0)) == [37]   # no size: lot for lot
    assert lots(d(0), "fixed", d(50)) == []


def test_working_calendar_offsets_skip_weekends_and_holidays() -> None:
    cal = WorkCalendar((1, 2, 3, 4, 5), {dt.date(2027, 3, 5)}, first=dt.date(2027, 1, 1), last=dt.date(2027, 12, 31))
    assert cal.back(dt.date(2027, 3, 8), 0) == dt.date(2027, 3, 8)
    assert cal.back(dt.date(2027, 3, 8), 1) == dt.date(2027, 3, 4)       # Monday → Thursday (Friday is a holiday)
    assert cal.back(dt.date(2027, 3, 8), 5) == dt.date(2027, 2, 26)
    assert cal.back(dt.date(2026, 6, 1), 1) == dt.date(2026, 5, 29)      # outside the prepared range: walked


def test_week_buckets_start_on_monday_and_past_due_counts_in_the_first() -> None:
    b = Buckets.from_today(dt.date(2027, 3, 4), "week", 4)
    assert b.start == MONDAY and b.index(dt.date(2027, 2, 1)) == 0 and b.index(dt.date(2027, 3, 8)) == 1
    assert b.index(dt.date(2027, 4, 1)) == 4 == b.count                  # beyond the horizon


def _problem(demands: list[Demand], item: Item, periods: int = 3) -> Problem:
    cal = WorkCalendar(range(1, 8), first=MONDAY - dt.timedelta(days=60), last=MONDAY + dt.timedelta(days=60))
    return Problem({item.id: item}, {}, tuple(demands), (), cal, Buckets.from_today(MONDAY, "day", periods), MONDAY)


def test_forecast_is_consumed_by_orders_and_mps_replaces_both() -> None:
    x = Item(1, "X", source=BUY)
    day = MONDAY + dt.timedelta(days=1)
    demands = [Demand(1, day, Decimal(30), SALES, "SO-1"), Demand(1, day, Decimal(50), FORECAST, "FC-1", 7),
               Demand(1, MONDAY, Decimal(10), FORECAST, "FC-2", 8)]
    plan = M.plan(_problem(demands, x))
    assert plan.records[1].gross == [10, 50, 0]                          # day 2: the larger of 30 ordered and 50 forecast
    assert [(p.kind, p.ref, p.qty) for p in plan.orders[1].pegs] == [(SALES, "SO-1", 30), (FORECAST, "FC-1", 20)]
    with_mps = M.plan(_problem([*demands, Demand(1, day, Decimal(45), MPS, "MPS-1")], x))
    assert with_mps.records[1].gross == [0, 45, 0]                       # an item with a master schedule follows it


def test_past_due_demand_and_late_release() -> None:
    x = Item(1, "X", source=BUY, lead_time=3)
    plan = M.plan(_problem([Demand(1, MONDAY - dt.timedelta(days=5), Decimal(4), SALES, "SO-OLD"),
                            Demand(1, MONDAY + dt.timedelta(days=2), Decimal(6), SALES, "SO-2")], x))
    assert plan.records[1].gross == [4, 0, 6]
    first, second = plan.orders
    assert (first.due, first.release, first.late) == (MONDAY, MONDAY - dt.timedelta(days=3), True)
    assert (second.release, second.late) == (MONDAY - dt.timedelta(days=1), True)
    beyond = M.plan(_problem([Demand(1, MONDAY + dt.timedelta(days=30), Decimal(1), SALES, "SO-FAR")], x))
    assert beyond.beyond == 1 and beyond.orders == []


def test_the_same_problem_gives_the_same_plan() -> None:
    x = Item(1, "X", source=BUY, lot_rule="fixed", lot_size=Decimal(7), safety_stock=Decimal(3))
    demands = [Demand(1, MONDAY + dt.timedelta(days=i % 3), Decimal(i), SALES, f"SO-{i}") for i in range(1, 20)]
    a, b = M.plan(_problem(demands, x)), M.plan(_problem(list(reversed(demands)), x))
    assert [(o.qty, o.due, [(p.ref, p.qty) for p in o.pegs]) for o in a.orders] == \
        [(o.qty, o.due, [(p.ref, p.qty) for p in o.pegs]) for o in b.orders]
