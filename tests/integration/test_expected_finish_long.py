"""A long order's expected finish (issue 19): 100,000 pieces on a one-shift calendar end at the time the
week arithmetic gives, the walk through the calendar stays short however much work is left, and a
calendar edited between two forecasts shows in the next one (calendars are cached by their version).
SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import sys
from types import FrameType
from typing import Any

from mom.engines.production import forecast as F
from tests.integration.test_expected_finish import FRIDAY_3PM, ONE_SHIFT, SH, _expected, _patch
from tests.integration.test_production import Shop, shop  # noqa: F401  (the fixture)


def _arithmetic_end(minutes: int) -> dt.datetime:
    """One 8-hour shift 12:00-20:00, Monday to Friday, begun Friday 15:00: 5 h that Friday, then whole
    shifts from Monday, five a week, then the rest from 12:00 of the next working day."""
    left = minutes - 300
    shifts, rest = divmod(left, 480)
    if rest == 0:
        shifts, rest = shifts - 1, 480
    weeks, days = divmod(shifts, 5)
    monday = dt.date(2026, 12, 7)
    day = monday + dt.timedelta(weeks=weeks, days=days)
    return dt.datetime.combine(day, dt.time(12), tzinfo=SH) + dt.timedelta(minutes=rest)


def _steps(minutes: float, calendar: dict[str, Any]) -> tuple[dt.datetime | None, int]:
    """work_end's answer and how many lines it ran (its walk's length)."""
    count = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if frame.f_code is F.work_end.__code__:
            if event == "line":
                count += 1
            return trace
        return None

    sys.settrace(trace)
    try:
        out = F.work_end(FRIDAY_3PM, minutes, calendar, SH)
    finally:
        sys.settrace(None)
    return out, count


def test_a_hundred_thousand_minutes_end_where_the_week_arithmetic_says() -> None:
    for minutes in (600, 2400, 100_000, 99_900, 100_140):
        assert F.work_end(FRIDAY_3PM, minutes, ONE_SHIFT, SH) == _arithmetic_end(minutes), minutes
    # 100,000 min: 300 on Friday, 207 whole shifts (41 weeks and Monday, Tuesday), 340 min on Wednesday
    assert _arithmetic_end(100_000) == dt.datetime(2027, 9, 22, 17, 40, tzinfo=SH)
    # a holiday on the way (a Wednesday) pushes it one working day on
    holiday = {**ONE_SHIFT, "holidays": ["2027-03-03"]}
    assert F.work_end(FRIDAY_3PM, 100_000, holiday, SH) == dt.datetime(2027, 9, 23, 17, 40, tzinfo=SH)


def test_the_walk_does_not_grow_with_the_work_left() -> None:
    _, short = _steps(600, ONE_SHIFT)
    end, long = _steps(100_000, ONE_SHIFT)
    assert end == _arithmetic_end(100_000)
    assert long < 3 * short + 60, (short, long)          # not ~300 working days walked one by one
    # more work than three years hold: no working time found, after a bounded walk
    end, beyond = _steps(10_000_000, {**ONE_SHIFT, "holidays": ["2027-01-01", "2027-05-03", "2027-10-01"]})
    assert end is None and beyond < 500, beyond


def test_long_order_and_a_calendar_edit_show_in_the_next_forecast(shop: Shop) -> None:
    cal = shop.post("/api/records/work_calendar", {"code": "ONE", "name": "单班", "workdays": "1,2,3,4,5",
                                                   "shifts": [{"name": "中班", "start_time": "12:00", "end_time": "20:00"}]},
                    status=201)
    for m in shop.find("machine"):
        _patch(shop, "machine", m, {"calendar": cal["id"]})
    order = shop.order_from_sales_line(qty=100_000)
    shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")
    tasks = shop.find("operation_task", production_order=order["id"])
    assert len(tasks) == 4
    # 4 operations × 100,000 pieces × 0.25 min, no setup: 100,000 minutes of work
    for t in tasks:
        _patch(shop, "operation_task", t, {"setup_min": 0, "run_min": 0.25, "modes": [], "planned_start": None,
                                           "planned_end": None})
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2027, 9, 22, 17, 40, tzinfo=SH)
    # the same calendar asked again (now cached) answers the same
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2027, 9, 22, 17, 40, tzinfo=SH)

    # the plant adds a morning shift 06:00-12:00: 14 h a day from the next forecast on
    cal = shop.get(f"/api/records/work_calendar/{cal['id']}")
    _patch(shop, "work_calendar", cal, {"shifts": [{"name": "早班", "start_time": "06:00", "end_time": "12:00"},
                                                   {"name": "中班", "start_time": "12:00", "end_time": "20:00"}]})
    # 300 min on Friday, then 118 whole days of 840 min (23 weeks and 3 days), 580 min from 06:00 of
    # the next: Thursday 2027-05-20 15:40
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2027, 5, 20, 15, 40, tzinfo=SH)
    # and taken back: the first answer again
    cal = shop.get(f"/api/records/work_calendar/{cal['id']}")
    _patch(shop, "work_calendar", cal, {"shifts": [{"name": "中班", "start_time": "12:00", "end_time": "20:00"}]})
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2027, 9, 22, 17, 40, tzinfo=SH)
