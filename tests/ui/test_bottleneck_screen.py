"""瓶颈分析 /#/bottleneck in the browser (issue 23, item 4), on the core plant with the equipment pack:

- CNC-1 ran all of yesterday's first shift, CNC-2 stood idle for most of it (its utilisation below 80 % shows
  in red, in words); the plan in force loads CNC-1 with a late order: CNC-1 is highlighted as the limiting
  machine;
- at 1366 px the planner plan1 presses 加一个班 and reads 「迟交订单 n → m，总延误 … → …」 computed by the scheduler;
- on a phone the table and the buttons fit the screen's width; the operator op1 sees the view but no what-if
  buttons (planner rights). Screenshots bottleneck-1366.png, bottleneck-390.png."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.ui.conftest import _serve, core_database, login, shot

PHONE = {"width": 390, "height": 844}


def _write(conn: Any, form: str, rows: list[dict[str, Any]]) -> list[int]:
    from mom.engines.records import values as V
    from mom.engines.records.context import Ctx
    from mom.engines.records.service import insert_rows
    from mom.platform.composition import form_registry

    return [int(r["id"]) for r in insert_rows(conn, form_registry().get(conn, form), Ctx.system(),
                                              [V.Prepared(values=r, children={}) for r in rows], audit=False)]


@pytest.fixture(scope="module")
def bserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import sqlalchemy as sa

    from mom.engines.forms.fieldtypes import plant_tz
    from mom.engines.packs import manager
    from mom.platform.api.app import create_app
    from mom.platform.composition import form_registry
    from mom.platform.db.engine import make_engine, write_tx
    from mom.platform.settings import Settings

    data = tmp_path_factory.mktemp("ui-bottleneck")
    url = core_database(data)
    engine = make_engine(url)
    settings = Settings(data_dir=data, database_url=url)
    tz = plant_tz(settings.timezone)
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=tz)
    now = dt.datetime.now(tz).replace(second=0, microsecond=0)
    day = now.date() - dt.timedelta(days=1)
    while day.isoweekday() == 7:                 # the standard calendar works Monday to Saturday
        day -= dt.timedelta(days=1)
    at = lambda h: dt.datetime.combine(day, dt.time(h), tzinfo=tz)  # noqa: E731
    with write_tx(engine) as conn:
        ids = dict(conn.execute(sa.text("SELECT code, id FROM machine")).all())
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar_one()
        _write(conn, "machine_state", [
            {"machine": ids["CNC-1"], "state": "running", "started_at": at(8), "ended_at": at(12), "source": "manual"},
            {"machine": ids["CNC-2"], "state": "running", "started_at": at(8), "ended_at": at(9), "source": "manual"},
            {"machine": ids["CNC-2"], "state": "idle", "started_at": at(9), "ended_at": at(12), "source": "manual"}])
        for code, machine, minutes, due in (("WO-BN-A", "CNC-1", 960, now + dt.timedelta(hours=2)),
                                            ("WO-BN-C", "CNC-1", 480, now + dt.timedelta(days=2)),
                                            ("WO-BN-B", "CNC-2", 120, now + dt.timedelta(days=10))):
            order = _write(conn, "production_order", [{"code": code, "item": item, "qty": Decimal(minutes), "status": "released",
                                                       "due_date": due}])[0]
            _write(conn, "operation_task", [{"production_order": order, "code": f"{code}-10", "seq": 10, "name": "车削",
                                             "machine": ids[machine], "qty": Decimal(minutes), "setup_min": Decimal(30),
                                             "run_min": Decimal(1), "status": "waiting"}])
    # the plan in force, made by the scheduler as the planner's 排程 would
    from mom.engines.production import planning
    from mom.engines.records.context import SYSTEM, Ctx
    from mom.engines.scheduling import solution, solver

    def solve(problem: dict[str, Any], limit: float) -> dict[str, Any]:
        res = solver.solve(problem, time_limit=limit, deterministic=True)
        return solution.to_json(res.problem, res.schedule, violations=res.violations)

    made = planning.plan(engine, form_registry(), Ctx(actor=SYSTEM, now=now.astimezone(dt.timezone.utc), tz=tz),
                         solve=solve, time_limit=2)
    assert made["written"], made["summary"]
    yield from _serve(create_app(settings, engine, migrate=False))
    engine.dispose()


def _fits(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_limiting_machine_and_an_extra_shift_at_1366_and_on_a_phone(page, bserver: str) -> None:  # type: ignore[no-untyped-def]
    login(page, bserver, "plan1", "plan1pass123")
    page.wait_for_url(lambda u: "login" not in u)
    page.click("[data-test=nav-bottleneck]")
    page.wait_for_selector("[data-test=bn-table] tr[data-machine=CNC-2]")
    assert "CNC-1" in page.inner_text("[data-test=bn-limiting]")
    assert "limit" in (page.get_attribute("[data-test=bn-table] tr[data-machine=CNC-1]", "class") or "")
    assert "瓶颈设备" in page.inner_text("[data-test=bn-table] tr[data-machine=CNC-1] [data-test=bn-marks]")
    cnc2 = page.inner_text("[data-test=bn-table] tr[data-machine=CNC-2]")
    assert "利用率低于 80%" in cnc2 and "25.0%" in cnc2          # 1 h running of 4 h of shift
    assert "CNC-1" in page.inner_text("[data-test=bn-machine]")        # the what-if starts on the limiting machine
    page.click("[data-test=bn-extra_shift]")
    result = page.wait_for_selector("[data-test=bn-result]", timeout=60000).inner_text()
    assert "加一个班" in result and "迟交订单" in result and "→" in result and "总延误" in result, result
    assert _fits(page)
    shot(page, "bottleneck-1366")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert _fits(page)
    box = page.locator("[data-test=bn-alternative]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "bottleneck-390")


def test_an_operator_sees_the_view_without_what_ifs(page, bserver: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(PHONE)
    login(page, bserver, "op1", "op1pass1234")
    page.wait_for_url(lambda u: "login" not in u)
    page.goto(bserver + "/#/bottleneck")
    page.wait_for_selector("[data-test=bn-table] tr[data-machine=CNC-1]")
    assert "计划员" in page.inner_text("[data-test=bn-planner-only]")
    assert page.locator("[data-test=bn-extra_shift]").count() == 0
