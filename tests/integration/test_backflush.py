"""Backflush (倒冲) and the automatic production receipt (自动完工入库) of job reports (issue 21 item 1),
on the core demo's gate valve: an operator's report at an operation consumes that operation's backflush
lines of the order's 用料 from its work centre's line side; the last operation's good pieces are received
into the order's receipt location with one lot per order; a retried report posts once; a shortage refuses
the report in words and writes nothing; a correction returns material and takes goods back. The ledger and
the balances agree after each test (the conftest checker). SQLite and PostgreSQL.

Figures: the demo BOM (modelpacks/core/demo/bom.json) — HT250 6.5 kg per valve + 5 % loss = 6.825 kg,
bolts M12 8 per valve + 2 % = 8.16, gasket 1 + 1 % = 1.01; for 10 valves 68.25 kg, 81.6 and 10.1, as
tests/integration/test_production.py checks the release requirement."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.test_production import Shop, shop  # noqa: F401  (the fixture)


class Line:
    """The shop with line-side stock: the casting line side made, HT250, bolts and gaskets on the line sides."""

    def __init__(self, shop: Shop, ht250: float = 200) -> None:
        self.shop = shop
        with write_tx(shop.engine) as conn:
            auth.create_user(conn, username="store1", password_hash=fixture_hash("store1-pass-1"), roles=["storekeeper"])
        self.items = {i["code"]: i["id"] for i in shop.find("item")}
        self.loc = {x["code"]: x["id"] for x in shop.find("location")}
        wcs = {w["code"]: w["id"] for w in shop.find("work_center")}
        wh = shop.find("warehouse")[0]["id"]
        self.loc["LS-CAST"] = shop.post("/api/records/location", {"code": "LS-CAST", "name": "铸造线边仓", "warehouse": wh,
                                                                   "kind": "line_side", "work_center": wcs["WC-CAST"]})["id"]
        bom = shop.find("bom", code="BOM-FG-V50")[0]
        lines = [{k: v for k, v in ln.items() if k not in ("id", "_display")} for ln in bom["lines"]]
        for ln in lines:
            if ln["component"] in (self.items["RM-HT250"], self.items["PT-M12"], self.items["PT-GSK50"]):
                ln["issue_method"] = "backflush"
            if ln["component"] == self.items["PT-GSK50"]:
                ln["operation_seq"] = None        # no operation: consumed at the last one (40 压力试验)
        r = shop.client.patch(f"/api/records/bom/{bom['id']}", json={"row_version": bom["row_version"], "lines": lines},
                              headers=shop.h("admin"))
        assert r.status_code == 200, r.text
        self.lot = None
        if ht250:
            self.lot = self.receive("RM-HT250", ht250, "LS-CAST", lot_number="HT-0815")
        self.receive("PT-M12", 500, "LS-ASM")
        self.receive("PT-GSK50", 100, "LS-ASM")

    def receive(self, item: str, qty: float, loc: str, **line: Any) -> int | None:
        out = self.shop.post("/api/inventory/documents/stock_receipt", {"supplier": "鞍钢", "lines": [
            {"item": self.items[item], "qty": qty, "to_location": self.loc[loc], **line}]}, who="store1")
        return out["moves"][0]["lot"]

    def order(self, qty: int = 10, receipt: str | None = "FG-01") -> tuple[dict[str, Any], dict[int, str]]:
        body: dict[str, Any] = {"item": self.items["FG-V50"], "qty": qty, "due_date": "2030-12-15 17:00"}
        if receipt:
            body["receipt_location"] = self.loc[receipt]
        order = self.shop.post("/api/records/production_order", body, who="plan1", status=201)
        tasks = {t["seq"]: t["code"] for t in self.shop.post(f"/api/production/orders/{order['id']}/release", who="plan1")["tasks"]}
        return order, tasks

    def qty(self, item: str, loc: str) -> float:
        rows = self.shop.get(f"/api/inventory/onhand?item={item}", who="store1")["rows"]
        return round(sum(r["qty"] for r in rows if r["location"] == self.loc[loc]), 4)

    def moves(self, form: str, order: int) -> list[tuple[str, float]]:
        """(item code, qty) of the ledger rows the order's documents of ``form`` posted."""
        codes = {v: k for k, v in self.items.items()}
        with read_tx(self.shop.engine) as conn:
            rows = conn.execute(sa.text("SELECT item, qty FROM stock_move WHERE document_form = :f AND production_order = :o "
                                        "AND deleted_at IS NULL ORDER BY id"), {"f": form, "o": order}).all()
        return [(codes[int(r[0])], round(float(r[1]), 4)) for r in rows]

    def count(self, table: str) -> int:
        with read_tx(self.shop.engine) as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).scalar_one())


@pytest.fixture
def line(shop: Shop) -> Line:  # noqa: F811
    return Line(shop)


def test_a_report_at_operation_10_backflushes_its_lines_from_the_line_side(line: Line) -> None:
    order, tasks = line.order()
    # an operator (no storekeeper role) reports 4 good at 10 阀体铸造: 4 × 6.825 kg HT250 from 铸造线边仓
    out = line.shop.report(tasks[10], "report", good_qty=4)
    assert out["task"]["good_qty"] == 4
    issues = line.shop.find("stock_issue", production_order=order["id"])
    assert len(issues) == 1 and issues[0]["status"] == "posted"
    assert out["stock"] == [{"form": "stock_issue", "id": issues[0]["id"], "code": issues[0]["code"]}]   # the scanner's answer says so
    assert issues[0]["note"].startswith(f"倒冲：报工 {out['report']['code']}") and "10 阀体铸造" in issues[0]["note"]
    assert [(ln["item"], ln["qty"], ln["from_location"]) for ln in issues[0]["lines"]] == [
        (line.items["RM-HT250"], 27.3, line.loc["LS-CAST"])]
    assert line.qty("RM-HT250", "LS-CAST") == 172.7
    assert line.qty("PT-M12", "LS-ASM") == 500            # the bolts go at 30 装配, not now
    # the lot taken by the engine (FEFO/FIFO): the only released one
    with read_tx(line.shop.engine) as conn:
        lots = conn.execute(sa.text("SELECT DISTINCT lot FROM stock_move WHERE document_form='stock_issue'")).scalars().all()
    assert lots == [line.lot]
    # the rest of the order with a scrapped piece: 10 pieces in all consume exactly the released 68.25 kg
    line.shop.report(tasks[10], "finish", good_qty=5, scrap_qty=1, scrap_reason="R01")
    assert line.moves("stock_issue", order["id"]) == [("RM-HT250", -27.3), ("RM-HT250", -40.95)]
    assert line.qty("RM-HT250", "LS-CAST") == 131.75
    # the pick list no longer asks the storekeeper for what the reports consumed
    assert line.shop.get(f"/api/records/production_order/{order['id']}")["components"][0]["issue_method"] == "backflush"


def test_the_last_operation_receives_the_goods_with_one_lot_and_a_retried_report_posts_once(line: Line) -> None:
    order, tasks = line.order()
    for seq in (10, 20, 30):
        line.shop.report(tasks[seq], "finish", good_qty=10)
    assert line.moves("stock_issue", order["id"]) == [("RM-HT250", -68.25), ("PT-M12", -81.6)]
    first = line.shop.report(tasks[40], "report", good_qty=6, client_id="scan-40-1")
    again = line.shop.report(tasks[40], "report", good_qty=6, client_id="scan-40-1")
    assert again["duplicate"] is True and again["report"]["code"] == first["report"]["code"]
    assert [x["form"] for x in first["stock"]] == ["stock_issue", "production_receipt"]      # the gasket, the valves
    receipts = line.shop.find("production_receipt", production_order=order["id"])
    assert len(receipts) == 1 and receipts[0]["status"] == "posted" and receipts[0]["lines"][0]["to_location"] == line.loc["FG-01"]
    assert line.moves("production_receipt", order["id"]) == [("FG-V50", 6)]
    assert line.moves("stock_issue", order["id"])[-1] == ("PT-GSK50", -6.06)       # no operation: the last one
    line.shop.report(tasks[40], "finish", good_qty=4)
    assert line.moves("production_receipt", order["id"]) == [("FG-V50", 6), ("FG-V50", 4)]
    with read_tx(line.shop.engine) as conn:
        lots = conn.execute(sa.text("SELECT DISTINCT l.number FROM stock_move m JOIN lot l ON l.id = m.lot "
                                    "WHERE m.document_form = 'production_receipt'")).scalars().all()
    assert len(lots) == 1 and lots[0].startswith("FG-V50-")                       # one lot for the order
    assert line.qty("FG-V50", "FG-01") == 10 and line.qty("PT-GSK50", "LS-ASM") == 89.9
    now = line.shop.get(f"/api/records/production_order/{order['id']}")
    assert now["status"] == "finished" and now["received_qty"] == 10 and now["receipt_state"] == "auto"


def test_a_shortage_at_the_line_side_refuses_the_report_and_writes_nothing(shop: Shop) -> None:  # noqa: F811
    line = Line(shop, ht250=20)
    line.receive("RM-HT250", 500, "RM-01")          # plenty in the warehouse, but not at the line side
    order, tasks = line.order()
    before = (line.count("job_report"), line.count("stock_issue"), line.count("stock_move"))
    r = shop.client.post("/api/production/reports", json={"task": tasks[10], "event": "report", "good_qty": 4},
                         headers=shop.h("op1"))
    assert r.status_code == 409, r.text
    msg = r.json()["message"]
    assert "灰铸铁 HT250" in msg["zh-CN"] and "铸造线边仓" in msg["zh-CN"] and "现有 20kg" in msg["zh-CN"]
    assert "要扣 27.3kg" in msg["zh-CN"] and "调拨补料" in msg["zh-CN"] and "仓管员" in msg["zh-CN"]
    assert "not enough at the line side" in msg["en"]
    assert (line.count("job_report"), line.count("stock_issue"), line.count("stock_move")) == before
    task = shop.find("operation_task", code=tasks[10])[0]
    assert task["good_qty"] == 0 and task["status"] == "ready"
    assert line.qty("RM-HT250", "LS-CAST") == 20
    # a transfer to the line side (调拨补料) and the same report goes through
    shop.post("/api/inventory/documents/stock_transfer", {"lines": [{"item": line.items["RM-HT250"], "qty": 30,
              "from_location": line.loc["RM-01"], "to_location": line.loc["LS-CAST"]}]}, who="store1")
    shop.report(tasks[10], "report", good_qty=4)
    assert line.qty("RM-HT250", "LS-CAST") == 22.7


def test_no_line_side_for_the_work_centre_refuses_naming_it(line: Line) -> None:
    with write_tx(line.shop.engine) as conn:
        conn.execute(sa.text("UPDATE location SET kind = 'normal' WHERE code = 'LS-CAST'"))
    order, tasks = line.order()
    r = line.shop.client.post("/api/production/reports", json={"task": tasks[10], "event": "report", "good_qty": 1},
                              headers=line.shop.h("op1"))
    assert r.status_code == 409 and "工作中心「铸造工段」没有线边仓" in r.json()["message"]["zh-CN"]
    assert line.count("job_report") == 0


def test_a_correction_returns_the_material_and_takes_the_goods_back(line: Line) -> None:
    order, tasks = line.order()
    first = line.shop.report(tasks[10], "report", good_qty=8)["report"]
    assert line.qty("RM-HT250", "LS-CAST") == 145.4                              # 200 − 8 × 6.825
    r = line.shop.client.post("/api/production/reports", json={"event": "correct", "corrects": first["code"], "good_qty": -3,
                                                               "reason": "多报了 3 个"}, headers=line.shop.h("sup1"))
    assert r.status_code == 201, r.text
    assert line.moves("stock_return", order["id"]) == [("RM-HT250", 20.475)]     # 3 × 6.825 back to the line side
    returned = line.shop.find("stock_return", production_order=order["id"])[0]
    assert returned["lines"][0]["lot"] == line.lot and returned["lines"][0]["to_location"] == line.loc["LS-CAST"]
    assert line.qty("RM-HT250", "LS-CAST") == 165.875
    # the last operation: 5 received, one taken back by a correction — 4 stay in the order's lot
    line.shop.report(tasks[10], "finish", good_qty=5)
    for seq in (20, 30):
        line.shop.report(tasks[seq], "finish", good_qty=10)
    last = line.shop.report(tasks[40], "report", good_qty=5)["report"]
    r = line.shop.client.post("/api/production/reports", json={"event": "correct", "corrects": last["code"], "good_qty": -1,
                                                               "reason": "试压漏报不合格"}, headers=line.shop.h("sup1"))
    assert r.status_code == 201, r.text
    assert line.qty("FG-V50", "FG-01") == 4
    receipts = line.shop.find("production_receipt", production_order=order["id"])
    assert sorted(x["status"] for x in receipts) == ["posted", "posted", "reversed"]
    with read_tx(line.shop.engine) as conn:
        lots = conn.execute(sa.text("SELECT DISTINCT lot FROM stock_move WHERE document_form = 'production_receipt'")).all()
    assert len(lots) == 1
    assert line.shop.get(f"/api/records/production_order/{order['id']}")["received_qty"] == 4
    # the gasket (consumed at the last operation) came back in proportion: 5 × 1.01 out, 1.01 back
    assert ("PT-GSK50", 1.01) in line.moves("stock_return", order["id"])


def test_without_a_receipt_location_the_report_passes_and_the_order_waits_for_the_storekeeper(line: Line) -> None:
    order, tasks = line.order(receipt=None)
    for seq in (10, 20, 30, 40):
        line.shop.report(tasks[seq], "finish", good_qty=10)
    assert line.shop.find("production_receipt", production_order=order["id"]) == []
    now = line.shop.get(f"/api/records/production_order/{order['id']}")
    assert now["status"] == "finished" and now["receipt_state"] == "waiting" and now["received_qty"] == 0


def test_a_serial_tracked_product_gets_one_serial_per_unit_and_a_correction_keeps_the_first(line: Line) -> None:
    valve = line.shop.get(f"/api/records/item/{line.items['FG-V50']}")
    r = line.shop.client.patch(f"/api/records/item/{valve['id']}", json={"row_version": valve["row_version"], "tracking": "serial"},
                               headers=line.shop.h("admin"))
    assert r.status_code == 200, r.text
    order, tasks = line.order(qty=3)
    for seq in (10, 20, 30):
        line.shop.report(tasks[seq], "finish", good_qty=3)
    last = line.shop.report(tasks[40], "finish", good_qty=3)["report"]
    with read_tx(line.shop.engine) as conn:
        serials = conn.execute(sa.text("SELECT l.number FROM stock_move m JOIN lot l ON l.id = m.lot WHERE m.document_form = "
                                       "'production_receipt' AND l.is_serial ORDER BY m.id")).scalars().all()
    assert len(serials) == 3 and len(set(serials)) == 3
    r = line.shop.client.post("/api/production/reports", json={"event": "correct", "corrects": last["code"], "good_qty": -1,
                                                               "reason": "一台试压不合格"}, headers=line.shop.h("sup1"))
    assert r.status_code == 201, r.text
    rows = line.shop.get("/api/inventory/onhand?item=FG-V50", who="store1")["rows"]
    assert sorted(x["lot_number"] for x in rows if x["qty"] > 0) == sorted(serials[:2])
