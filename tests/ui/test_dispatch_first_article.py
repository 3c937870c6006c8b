"""The 派工单's orange 等待首检 badge (issue 22, docs/quality.md 「过程检验与出货检验」): on a core --demo plant
with the quality pack, a first-article plan of 2 pieces that blocks production on 阀体铸造; the planner releases
a gate-valve order and the casting task is started. The dispatch list marks the casting task 等待首检 (and not the
machining task); once the first article is judged accepted, the badge is gone."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import CORE_USERS, _serve, core_database, login, shot
from tests.ui.test_shop_floor_production import Api

DESK = {"locale": "zh-CN", "viewport": {"width": 1366, "height": 768}, "bypass_csp": True, "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from mom.platform.api.app import create_app
    from mom.platform.db.engine import make_engine
    from mom.platform.settings import Settings
    from tests.integration.test_quality_ipqc import install_quality

    data: Path = tmp_path_factory.mktemp("ui-first-article")
    url = core_database(data)
    engine = make_engine(url)
    install_quality(engine)
    yield from _serve(create_app(Settings(data_dir=data, database_url=url), engine, migrate=False))
    engine.dispose()


def test_a_task_waiting_for_its_first_article_shows_a_badge_until_accepted(base: str, browser: Any) -> None:
    admin, planner = Api(base, "admin"), Api(base, "plan1")
    item = admin.get("/api/records/item", code="FG-V50")["items"][0]
    admin.post("/api/records/inspection_plan", {
        "name": "闸阀铸造首检", "inspection_type": "ipqc_first", "item": item["id"], "operation": "阀体铸造",
        "aql_critical": None, "aql_minor": None, "fixed_sample_size": 2, "blocks_production": True,
        "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major", "nominal": 50,
                             "lsl": 49.9, "usl": 50.1, "unit": "mm"}]})
    order = planner.new_order(10)
    planner.post(f"/api/production/orders/{order['id']}/release")
    tasks = {t["seq"]: t for t in planner.get("/api/production/dispatch")["tasks"] if t["order"] == order["id"]}
    admin.post("/api/production/reports", {"task": tasks[10]["code"], "event": "start"})

    ctx = browser.new_context(**DESK)
    page = ctx.new_page()
    login(page, base, "plan1", CORE_USERS["plan1"][0])
    page.goto(base + "/#/dispatch")
    cast = page.locator(f"[data-test=dispatch-task][data-task='{tasks[10]['code']}']")
    badge = cast.locator("[data-test=first-article-badge]")
    badge.wait_for()
    assert badge.inner_text().strip() == "等待首检"
    assert page.locator(f"[data-test=dispatch-task][data-task='{tasks[20]['code']}'] [data-test=first-article-badge]").count() == 0
    shot(page, "production-dispatch-first-article")

    lot = admin.get("/api/records/inspection_lot", operation_task=tasks[10]["id"])["items"][0]
    admin.post(f"/api/records/inspection_lot/{lot['id']}/transitions/start", {})
    now = admin.get(f"/api/records/inspection_lot/{lot['id']}")
    r = httpx.patch(f"{base}/api/records/inspection_lot/{lot['id']}", headers=admin.h, json={
        "row_version": now["row_version"], "results": [{"sample_no": 1, "char_seq": 1, "value": 50.0},
                                                       {"sample_no": 2, "char_seq": 1, "value": 50.02}]})
    assert r.status_code == 200, r.text
    admin.post(f"/api/records/inspection_lot/{lot['id']}/transitions/judge", {})
    page.reload()
    cast.wait_for()
    assert cast.locator("[data-test=first-article-badge]").count() == 0
    ctx.close()
