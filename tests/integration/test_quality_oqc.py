"""Outgoing inspection (OQC, issue 22) bound to sales shipments, through the API the storekeeper and the
inspector use: a draft shipment of an item with an OQC plan has one inspection lot per line item × lot,
redone when the quantity changes while it waits and cancelled when the line goes; posting (过账) is
refused until the lot is accepted — the message names the lot and its state —, then the stock leaves;
a rejected lot opens its NCR where the stock lies and keeps the shipment from posting; a shipment
created and posted at once is refused and leaves no lot behind. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.test_quality_ipqc import OUTER_DIAMETER, Floor


class Dock(Floor):
    """The plant of the IPQC tests with a storekeeper and 20 闸阀 DN50 in the finished-goods store (lot L1)."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine)
        from mom.platform.auth import service as auth
        from mom.platform.db.engine import write_tx
        from tests.conftest import fixture_hash

        with write_tx(engine) as conn:
            auth.create_user(conn, username="store1", password_hash=fixture_hash("store1-pass-1"), roles=["storekeeper"])
        self.loc = {r["code"]: r["id"] for r in self.get("/api/records/location?limit=100")["items"]}
        self.post("/api/records/vendor", {"code": "SELF", "name": "本厂"})        # a receipt names a 供应商档案 (core 1.6.0)
        got = self.post("/api/inventory/documents/stock_receipt", {"supplier": "本厂", "lines": [
            {"item": self.item["FG-V50"], "qty": 20, "to_location": self.loc["FG-01"]}]}, who="store1", status=201)
        self.stock_lot = got["moves"][0]["lot"]
        self.sales_order = self.get("/api/records/sales_order?limit=1")["items"][0]["id"]

    def oqc_plan(self) -> dict[str, Any]:
        body = {"name": "闸阀 DN50 出货检验", "inspection_type": "oqc", "item": self.item["FG-V50"], "fixed_sample_size": 2,
                "aql_critical": None, "aql_minor": None, "characteristics": [OUTER_DIAMETER]}
        return self.post("/api/records/inspection_plan", body, who="qe1", status=201)

    def draft(self, qty: int) -> dict[str, Any]:
        return self.post("/api/records/stock_shipment", {"sales_order": self.sales_order, "lines": [
            {"item": self.item["FG-V50"], "qty": qty, "from_location": self.loc["FG-01"], "lot": self.stock_lot}]},
            who="store1", status=201)

    def shipment_lots(self, shipment: dict[str, Any]) -> list[dict[str, Any]]:
        return self.get(f"/api/records/inspection_lot?stock_shipment={shipment['id']}&limit=100&sort=id", who="qc1")["items"]

    def post_shipment(self, shipment: dict[str, Any]) -> Any:
        return self.client.post(f"/api/inventory/documents/stock_shipment/{shipment['id']}/post", headers=self.h("store1"))

    def on_hand(self) -> float:
        rows = self.get(f"/api/inventory/onhand?item={self.item['FG-V50']}", who="store1")["rows"]
        return sum(r["qty"] for r in rows if r["location"] == self.loc["FG-01"])


@pytest.fixture
def dock(core_pack, engine, client) -> Dock:  # type: ignore[no-untyped-def]
    return Dock(client, engine)


def test_a_draft_shipment_waits_for_its_outgoing_inspection_then_posts(dock: Dock) -> None:
    dock.oqc_plan()
    ship = dock.draft(5)
    [lot] = dock.shipment_lots(ship)
    assert (lot["inspection_type"], lot["status"], lot["lot_qty"], lot["lot"]) == ("oqc", "pending", 5, dock.stock_lot)
    assert ship["code"] in lot["note"]

    # the customer wants 8: the waiting lot is redone for 8
    now = dock.get(f"/api/records/stock_shipment/{ship['id']}", who="store1")
    line = {k: now["lines"][0][k] for k in ("item", "from_location", "lot")}
    r = dock.client.patch(f"/api/records/stock_shipment/{ship['id']}", headers=dock.h("store1"),
                          json={"row_version": now["row_version"], "lines": [{**line, "qty": 8}]})
    assert r.status_code == 200, r.text
    old, new = dock.shipment_lots(ship)
    assert (old["status"], new["status"], new["lot_qty"]) == ("cancelled", "pending", 8)

    r = dock.post_shipment(ship)
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert ship["code"] in msg and new["code"] in msg and "待检" in msg and "FG-V50" in msg and old["code"] not in msg
    assert dock.on_hand() == 20                                     # nothing left the store

    assert dock.judge(new, [50.0, 50.05])["result"] == "accepted"
    r = dock.post_shipment(ship)
    assert r.status_code == 200 and r.json()["status"] == "posted", r.text
    assert dock.on_hand() == 12

    # reversing the posted shipment (冲销) needs no inspection: the stock comes back, no lot opens
    r = dock.client.post(f"/api/inventory/documents/stock_shipment/{ship['id']}/reverse", headers=dock.h("store1"))
    assert r.status_code == 201, r.text
    assert dock.on_hand() == 20 and len(dock.shipment_lots(ship)) == 2
    assert {lt["id"] for lt in dock.get("/api/records/inspection_lot?inspection_type=oqc&limit=10", who="qc1")["items"]} == \
        {lt["id"] for lt in dock.shipment_lots(ship)}


def test_a_rejected_outgoing_lot_opens_its_ncr_and_the_shipment_stays_unposted(dock: Dock) -> None:
    dock.oqc_plan()
    ship = dock.draft(6)
    [lot] = dock.shipment_lots(ship)
    judged = dock.judge(lot, [50.0, 49.5])
    assert judged["result"] == "rejected" and judged["ncr"]
    [ncr] = dock.get(f"/api/records/nonconformance?inspection_lot={lot['id']}&limit=5", who="qcm")["items"]
    assert (ncr["qty"], ncr["lot"], ncr["location"], ncr["item"]) == (6, dock.stock_lot, dock.loc["FG-01"], dock.item["FG-V50"])
    assert "出货检验不合格" in ncr["title"] and ship["code"] in ncr["title"]
    r = dock.post_shipment(ship)
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert lot["code"] in msg and "不合格" in msg and judged["ncr"] in msg
    assert dock.on_hand() == 20


def test_lines_removed_or_drafts_deleted_cancel_their_waiting_lots(dock: Dock) -> None:
    dock.oqc_plan()
    ship = dock.draft(3)
    now = dock.get(f"/api/records/stock_shipment/{ship['id']}", who="store1")
    r = dock.client.patch(f"/api/records/stock_shipment/{ship['id']}", headers=dock.h("store1"),
                          json={"row_version": now["row_version"], "lines": [
                              {"item": dock.item["PT-M12"], "qty": 10, "from_location": dock.loc["FG-01"]}]})
    assert r.status_code == 200, r.text
    assert [lt["status"] for lt in dock.shipment_lots(ship)] == ["cancelled"]      # no plan for bolts: no new lot

    other = dock.draft(4)
    r = dock.client.delete(f"/api/records/stock_shipment/{other['id']}", headers=dock.h("store1"))
    assert r.status_code == 200, r.text
    [gone] = dock.shipment_lots(other)
    assert gone["status"] == "cancelled" and "已删除" in gone["note"]


def test_created_and_posted_at_once_is_refused_and_leaves_no_lot(dock: Dock) -> None:
    dock.oqc_plan()
    r = dock.client.post("/api/inventory/documents/stock_shipment", headers=dock.h("store1"), json={
        "sales_order": dock.sales_order,
        "lines": [{"item": dock.item["FG-V50"], "qty": 2, "from_location": dock.loc["FG-01"], "lot": dock.stock_lot}]})
    assert r.status_code == 409 and "先保存为草稿" in r.json()["message"]["zh-CN"], r.text
    assert dock.get("/api/records/inspection_lot?inspection_type=oqc&limit=10", who="qc1")["items"] == []
    assert dock.on_hand() == 20


def test_items_without_an_outgoing_plan_ship_as_before(dock: Dock) -> None:
    ship = dock.draft(2)
    assert dock.shipment_lots(ship) == []
    r = dock.post_shipment(ship)
    assert r.status_code == 200, r.text
    assert dock.on_hand() == 18


def test_a_plan_made_after_the_draft_was_saved_asks_for_one_more_save(dock: Dock) -> None:
    ship = dock.draft(2)
    dock.oqc_plan()
    r = dock.post_shipment(ship)
    assert r.status_code == 409 and "FG-V50" in r.json()["message"]["zh-CN"] and "填写备注" in r.json()["message"]["zh-CN"], r.text
    now = dock.get(f"/api/records/stock_shipment/{ship['id']}", who="store1")
    r = dock.client.patch(f"/api/records/stock_shipment/{ship['id']}", headers=dock.h("store1"),
                          json={"row_version": now["row_version"], "note": "补出货检验"})
    assert r.status_code == 200, r.text
    [lot] = dock.shipment_lots(ship)
    assert lot["status"] == "pending" and lot["lot_qty"] == 2
    assert dock.post_shipment(ship).status_code == 409
