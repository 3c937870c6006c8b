"""An order's expected finish counts working time (issue 19): shifts on workdays, not weekends or
holidays, on each machine's calendar; an operation the schedule has planned ends no earlier than its
planned end. SQLite and PostgreSQL (the walk through a calendar is also checked on its own)."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from mom.engines.production import progress as P
from mom.engines.production.forecast import work_end
from mom.engines.records.context import SYSTEM, Ctx
from mom.platform.composition import form_registry
from mom.platform.db.engine import write_tx
from tests.integration.test_production import Shop, shop  # noqa: F401  (the fixture)

SH = ZoneInfo("Asia/Shanghai")
#: one 8-hour shift, 12:00-20:00, Monday to Friday
ONE_SHIFT = {"name": "one shift", "workdays": [1, 2, 3, 4, 5], "shifts": [["12:00", "20:00"]]}
FRIDAY_3PM = dt.datetime(2026, 12, 4, 15, 0, tzinfo=SH)          # a Friday


def test_work_pauses_between_shifts_over_the_weekend_and_holidays() -> None:
    # 10 h from Friday 15:00: 5 h on Friday (to 20:00), the other 5 h from Monday 12:00
    assert work_end(FRIDAY_3PM, 600, ONE_SHIFT, SH) == dt.datetime(2026, 12, 7, 17, 0, tzinfo=SH)
    # Monday a holiday: Tuesday
    holiday = {**ONE_SHIFT, "holidays": ["2026-12-07"]}
    assert work_end(FRIDAY_3PM, 600, holiday, SH) == dt.datetime(2026, 12, 8, 17, 0, tzinfo=SH)
    # begun on Saturday: waits for Monday's shift
    assert work_end(dt.datetime(2026, 12, 5, 9, 0, tzinfo=SH), 60, ONE_SHIFT, SH) == dt.datetime(2026, 12, 7, 13, 0, tzinfo=SH)
    # a night shift 22:00-06:00 runs into the next day; begun Thursday 23:00, 8 h end Friday 23:00
    night = {"name": "night", "workdays": [1, 2, 3, 4, 5], "shifts": [["22:00", "06:00"]]}
    assert work_end(dt.datetime(2026, 12, 3, 23, 0, tzinfo=SH), 480, night, SH) == dt.datetime(2026, 12, 4, 23, 0, tzinfo=SH)
    # two shifts with a break between: 08-12, 13-17; 6 h from 09:00 end 16:00
    two = {"name": "std", "shifts": [["08:00", "12:00"], ["13:00", "17:00"]]}
    assert work_end(dt.datetime(2026, 12, 2, 9, 0, tzinfo=SH), 360, two, SH) == dt.datetime(2026, 12, 2, 16, 0, tzinfo=SH)
    # no calendar: round the clock; a calendar with every day a holiday: no working time found
    assert work_end(FRIDAY_3PM, 600, None, SH) == FRIDAY_3PM + dt.timedelta(hours=10)
    assert work_end(FRIDAY_3PM, 60, {"name": "never", "workdays": [6], "shifts": [["08:00", "09:00"]],
                                     "holidays": [(dt.date(2026, 12, 5) + dt.timedelta(weeks=w)).isoformat()
                                                  for w in range(200)]}, SH) is None


def _patch(shop: Shop, form: str, rec: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    r = shop.client.patch(f"/api/records/{form}/{rec['id']}", json={"row_version": rec["row_version"], **body},
                          headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def _expected(shop: Shop, order_id: int, now: dt.datetime) -> dt.datetime:
    """The order's expected finish as the engine computes it at ``now`` (the plant in Shanghai)."""
    forms = form_registry()
    with write_tx(shop.engine) as conn:
        out = P.rollup(conn, forms, Ctx(actor=SYSTEM, now=now, tz=SH), order_id)
    got = out["expected_finish"]
    return (got if got.tzinfo else got.replace(tzinfo=dt.timezone.utc)).astimezone(SH)


def test_expected_finish_counts_the_machines_working_time(shop: Shop) -> None:
    cal = shop.post("/api/records/work_calendar", {"code": "ONE", "name": "单班", "workdays": "1,2,3,4,5",
                                                   "shifts": [{"name": "中班", "start_time": "12:00", "end_time": "20:00"}]},
                    status=201)
    for m in shop.find("machine"):
        _patch(shop, "machine", m, {"calendar": cal["id"]})
    order = shop.order_from_sales_line(qty=10)
    tasks = shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]
    # 4 operations × 10 pieces × 15 min, no setup: 10 hours of work
    for t in shop.find("operation_task", production_order=order["id"]):
        _patch(shop, "operation_task", t, {"setup_min": 0, "run_min": 15, "modes": [], "planned_start": None,
                                           "planned_end": None})
    assert len(tasks) == 4
    # from Friday 15:00: 5 h on Friday, 5 h from Monday 12:00 -> Monday 17:00 (not Saturday 01:00)
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2026, 12, 7, 17, 0, tzinfo=SH)
    stored = shop.get(f"/api/production/orders/{order['id']}/progress")["expected_finish"]
    assert stored == "2026-12-07T09:00:00Z"                          # 17:00 in Shanghai, as stored

    # a holiday on Monday moves it to Tuesday
    cal = shop.get(f"/api/records/work_calendar/{cal['id']}")
    _patch(shop, "work_calendar", cal, {"holidays": [{"date": "2026-12-07", "note": "检修"}]})
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2026, 12, 8, 17, 0, tzinfo=SH)

    # the schedule planned the last operation for Wednesday 13:00-16:00: the order ends then
    last = max(shop.find("operation_task", production_order=order["id"]), key=lambda t: t["seq"])
    _patch(shop, "operation_task", last, {"planned_start": "2026-12-09 13:00", "planned_end": "2026-12-09 16:00"})
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2026, 12, 9, 16, 0, tzinfo=SH)

    # work already done counts no more: casting reported whole, 7.5 h left from Friday 15:00
    _patch(shop, "operation_task", shop.get(f"/api/records/operation_task/{last['id']}"),
           {"planned_start": None, "planned_end": None})
    first = min(tasks, key=lambda t: t["seq"])
    shop.report(first["code"], "finish", good_qty=10)
    # 5 h Friday, 2.5 h Tuesday (Monday is the holiday) -> Tuesday 14:30
    assert _expected(shop, order["id"], FRIDAY_3PM) == dt.datetime(2026, 12, 8, 14, 30, tzinfo=SH)
