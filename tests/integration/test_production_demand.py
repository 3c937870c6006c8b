"""Production orders from demand (issue 19): the core demo's sales order SO-DEMO-001 becomes one planned
order per line with the line's quantity, unit and due date (at the end of the plant's working day),
releasable with the item's default routing and BOM; running it again creates nothing; a line covered in
part gets an order for the rest; a raw-material line is refused naming the item, with nothing written;
only planners and administrators may do it. API and CLI, SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login

TZ = plant_tz("Asia/Shanghai")          # the settings' default plant time zone


class Plant:
    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        self.client, self.engine = client, engine
        self._heads: dict[str, dict[str, str]] = {}

    def h(self, who: str) -> dict[str, str]:
        if who not in self._heads:
            self._heads[who] = login(self.client, who, f"{who}-pass-1")
        return self._heads[who]

    def demand(self, so: str, body: Any = None, who: str = "plan1") -> Any:
        return self.client.post(f"/api/production/demand/{so}", json=body, headers=self.h(who))

    def orders(self) -> list[dict[str, Any]]:
        with read_tx(self.engine) as conn:
            return [dict(r) for r in conn.execute(sa.text(
                "SELECT o.id, o.code, i.code AS item, o.qty, o.unit, o.due_date, o.priority, o.status, o.bom, o.routing, "
                "s.code AS sales_order FROM production_order o JOIN item i ON i.id = o.item "
                "LEFT JOIN sales_order s ON s.id = o.sales_order WHERE o.deleted_at IS NULL ORDER BY o.id")).mappings()]


@pytest.fixture
def shop(core_pack, engine, client) -> Plant:  # type: ignore[no-untyped-def]
    """The core pack with its demo plant (`mom pack install core --yes --demo`: a copy of the session's
    template, tests/conftest.py); a planner, an operator and an administrator."""
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password_hash=fixture_hash("admin-pass-1"), is_admin=True)
        for name, roles in (("plan1", ["planner"]), ("op1", ["operator"])):
            auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
    return Plant(client, engine)


def _local(v: Any) -> dt.datetime:
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return (v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v).astimezone(TZ)


def test_the_demo_sales_order_becomes_one_order_per_line_and_again_nothing_new(shop: Plant) -> None:
    r = shop.demand("SO-DEMO-001")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["skipped"] == []
    assert [(c["line"], c["item_name"], c["qty"], c["unit"]) for c in out["created"]] == [
        (1, "闸阀 DN50", 50, "台"), (2, "阀盖 DN50", 20, "件")]
    orders = shop.orders()
    assert [(o["code"], o["item"], float(o["qty"]), o["unit"], o["status"], o["sales_order"], o["priority"], o["bom"],
             o["routing"]) for o in orders] == [
        (out["created"][0]["code"], "FG-V50", 50.0, "台", "planned", "SO-DEMO-001", 5, None, None),
        (out["created"][1]["code"], "SF-C50", 20.0, "件", "planned", "SO-DEMO-001", 5, None, None)]
    # the line's own due date, else the order's, at the end of the standard calendar's last shift (17:00)
    assert [_local(o["due_date"]) for o in orders] == [dt.datetime(2026, 12, 15, 17, tzinfo=TZ),
                                                       dt.datetime(2026, 12, 20, 17, tzinfo=TZ)]
    assert _local(out["created"][0]["due_date"]) == dt.datetime(2026, 12, 15, 17, tzinfo=TZ)
    # release picks the item's default routing and BOM
    rel = shop.client.post(f"/api/production/orders/{orders[0]['code']}/release", headers=shop.h("plan1"))
    assert rel.status_code == 200 and rel.json()["routing"] == "RT-FG-V50", rel.text
    again = shop.demand("SO-DEMO-001", {})
    assert again.status_code == 200, again.text
    assert again.json()["created"] == [] and len(shop.orders()) == 2
    skipped = again.json()["skipped"]
    assert [(s["line"], s["covered"]) for s in skipped] == [(1, 50), (2, 20)]
    assert "已有生产工单覆盖" in skipped[0]["reason"]["zh-CN"] and "闸阀 DN50" in skipped[0]["reason"]["zh-CN"]


def test_a_line_covered_in_part_gets_an_order_for_the_rest_and_a_cancelled_order_covers_nothing(shop: Plant) -> None:
    with read_tx(shop.engine) as conn:
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar_one()
        so = conn.execute(sa.text("SELECT id FROM sales_order WHERE code = 'SO-DEMO-001'")).scalar_one()
    for qty in (30, 40):
        r = shop.client.post("/api/records/production_order", json={"item": item, "qty": qty, "sales_order": so},
                              headers=shop.h("plan1"))
        assert r.status_code == 201, r.text
    cancelled = r.json()
    r = shop.client.post(f"/api/records/production_order/{cancelled['id']}/transitions/cancel",
                          json={"row_version": cancelled["row_version"]}, headers=shop.h("plan1"))
    assert r.status_code == 200, r.text
    out = shop.demand("SO-DEMO-001", {"lines": [1]}).json()
    assert [(c["line"], c["qty"], c["covered"]) for c in out["created"]] == [(1, 20, 30)] and out["skipped"] == []
    assert sorted(float(o["qty"]) for o in shop.orders() if o["item"] == "FG-V50" and o["status"] != "cancelled") == [20.0, 30.0]
    assert shop.demand("SO-DEMO-001", {"lines": [1]}).json()["created"] == []


def test_a_raw_material_line_is_refused_naming_the_item_and_nothing_is_written(shop: Plant) -> None:
    with read_tx(shop.engine) as conn:
        ids = dict(conn.execute(sa.text("SELECT code, id FROM item")).all())
    r = shop.client.post("/api/records/sales_order", headers=shop.h("plan1"), json={
        "customer": "瑞安阀门厂", "due_date": "2026-12-28",
        "lines": [{"item": ids["RM-HT250"], "qty": 500}, {"item": ids["FG-V50"], "qty": 5, "due_date": "2026-12-24"}]})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = shop.demand(code)
    assert r.status_code == 422, r.text
    msg = r.json()["message"]
    assert "灰铸铁 HT250" in msg["zh-CN"] and "原材料" in msg["zh-CN"] and "第 1 行" in msg["zh-CN"] and "（2）" in msg["zh-CN"]
    assert "灰铸铁 HT250" in msg["en"] and "raw material" in msg["en"]
    assert shop.orders() == []
    out = shop.demand(code, {"lines": [2]}).json()
    assert [(c["line"], c["item_name"], c["qty"]) for c in out["created"]] == [(2, "闸阀 DN50", 5)]
    assert _local(shop.orders()[0]["due_date"]) == dt.datetime(2026, 12, 24, 17, tzinfo=TZ)


def test_only_planners_and_administrators_and_bad_requests_are_told(shop: Plant) -> None:
    r = shop.demand("SO-DEMO-001", who="op1")
    assert r.status_code == 403 and "计划员" in r.json()["message"]["zh-CN"]
    assert shop.orders() == []
    r = shop.demand("SO-NOPE")
    assert r.status_code == 404 and "SO-NOPE" in r.json()["message"]["zh-CN"]
    for body in ({"lines": [0]}, {"lines": [3]}, {"lines": ["x"]}, {"lines": "1"}, [1], {"lines": [True]}):
        r = shop.demand("SO-DEMO-001", body)
        assert r.status_code == 422, (body, r.text)
    r = shop.demand("SO-DEMO-001", {"lines": [3]})
    assert "没有第 3 行" in r.json()["message"]["zh-CN"] and "1 到 2" in r.json()["message"]["zh-CN"]
    assert shop.orders() == []
    assert shop.demand("SO-DEMO-001", who="admin").status_code == 200 and len(shop.orders()) == 2


def test_the_command_line(shop: Plant, cli: Any) -> None:
    r = cli("production", "from-demand", "SO-DEMO-001", "--line", "2", "--as", "plan1")
    assert r.exit_code == 0, r.output
    assert "已建 / created: MO-" in r.output and "阀盖 DN50 × 20件" in r.output
    r = cli("production", "from-demand", "SO-DEMO-001", "--as", "plan1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [c["line"] for c in out["created"]] == [1] and [s["line"] for s in out["skipped"]] == [2]
    r = cli("production", "from-demand", "SO-DEMO-001", "--as", "plan1")
    assert r.exit_code == 0 and "没有新建生产工单" in r.output and "跳过 / skipped" in r.output
    r = cli("production", "from-demand", "SO-DEMO-001", "--as", "op1")
    assert r.exit_code == 1 and "只有计划员或管理员" in r.output
    assert len(shop.orders()) == 2
