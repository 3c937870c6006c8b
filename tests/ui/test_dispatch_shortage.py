"""The 派工单's red 缺料 badge (issue 21 item 5, docs/production.md section 8): on a core --demo plant of its own,
a planner releases a gate-valve order of 10 (68.25 kg of HT250 at casting, 6.5 kg a valve + 5 % scrap, the demo
BOM) with 40 kg of it on a purchase order due in two days and none in stock. The dispatch list marks the casting
task 缺料; a click shows the component, what it needs, the purchase order with its quantity and date, and what
nothing covers. The machining task (no components) has no badge."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.ui.conftest import CORE_USERS, _serve, core_database, login, shot
from tests.ui.test_shop_floor_production import Api

TZ = ZoneInfo("Asia/Shanghai")
DESK = {"locale": "zh-CN", "viewport": {"width": 1366, "height": 768}, "bypass_csp": True, "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from mom.platform.api.app import create_app
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings

    data: Path = tmp_path_factory.mktemp("ui-shortage")
    url = core_database(data)
    engine = make_engine(url)
    yield from _serve(create_app(Settings(data_dir=data, database_url=url), engine, migrate=False))
    engine.dispose()


def test_a_task_short_of_material_shows_a_red_badge_with_its_details(base: str, browser: Any) -> None:
    planner = Api(base, "plan1")
    order = planner.new_order(10)
    planner.post(f"/api/production/orders/{order['id']}/release")
    iron = planner.get("/api/records/item", code="RM-HT250")["items"][0]
    due = dt.datetime.now(TZ).date() + dt.timedelta(days=2)
    po = planner.post("/api/records/purchase_order", {"supplier": "鞍钢", "lines": [
        {"item": iron["id"], "qty": 40, "due_date": due.isoformat()}]})
    tasks = {t["seq"]: t for t in planner.get("/api/production/dispatch")["tasks"] if t["order"] == order["id"]}

    ctx = browser.new_context(**DESK)
    page = ctx.new_page()
    login(page, base, "plan1", CORE_USERS["plan1"][0])
    page.goto(base + "/#/dispatch")
    cast = page.locator(f"[data-test=dispatch-task][data-task='{tasks[10]['code']}']")
    badge = cast.locator("[data-test=shortage-badge]")
    badge.wait_for()
    assert badge.inner_text().strip() == "缺料"
    assert "rgb(245, 108, 108)" in badge.evaluate("e => getComputedStyle(e).backgroundColor")      # element-plus danger red
    assert page.locator(f"[data-test=dispatch-task][data-task='{tasks[20]['code']}'] [data-test=shortage-badge]").count() == 0
    badge.click()
    detail = page.locator("[data-test=shortage-detail]:visible")
    detail.wait_for()
    text = detail.inner_text()
    assert "灰铸铁 HT250：需要 68.25kg，库存可用 0kg" in text
    assert f"{po['code']} · 40" in text and f"{due:%m-%d}" in text and "预计到货" in text
    assert "还缺 28.25kg，没有在途单据" in text
    shot(page, "production-dispatch-shortage")
    ctx.close()
