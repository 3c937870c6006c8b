"""Traceability (issue 21 item 3) through the API a quality supervisor uses: raw lots with heat numbers
received, issued to production orders, finished serials received and shipped to a customer; the heat
number traces forward to the customer, the serial backward to the heat number, operator, machine and an
inspection record; one raw lot shared by two orders (erpnext#51870) traced right both ways; a reversal
retracts its links; answers follow the reader's rights; unknown and ambiguous numbers answered in words;
the CLI prints the tree. SQLite and PostgreSQL."""
from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store


class Plant(Store):
    def __init__(self, client: Any, engine: Any) -> None:
        super().__init__(client, engine)
        self.post("/api/records/item", {"code": "RM-Q235", "name": "钢板 Q235", "unit": "kg", "tracking": "lot"})
        self.items = {i["code"]: i["id"] for i in self.get("/api/records/item?limit=200")["items"]}
        valve = self.get(f"/api/records/item/{self.items['FG-V50']}")      # the plant's valve, one serial per unit
        r = client.patch(f"/api/records/item/{valve['id']}", json={"tracking": "serial", "row_version": valve["row_version"]},
                         headers=self.h("admin"))
        assert r.status_code == 200, r.text
        self.items["FG-TR"] = valve["id"]
        with write_tx(engine) as conn:
            auth.create_user(conn, username="qa1", password_hash=fixture_hash("qa1-pass-1"), display_name="质量主管老周",
                             roles=["quality_engineer"])

    def order(self) -> int:
        made = self.post("/api/records/production_order", {"item": self.items["FG-V50"], "qty": 10, "due_date": "2030-12-15 17:00"},
                         status=201)
        self.post(f"/api/production/orders/{made['id']}/release")
        return int(made["id"])

    def issue(self, order: int, lot: int, qty: Any) -> Any:
        return self.doc("stock_issue", [{"item": self.items["RM-Q235"], "qty": qty, "from_location": self.loc["A01"], "lot": lot}],
                        production_order=order)

    def finish(self, order: int, serial: str) -> int:
        out = self.doc("production_receipt", [{"item": self.items["FG-TR"], "qty": 1, "to_location": self.loc["A02"],
                                               "lot_number": serial}], who="admin", production_order=order)
        return int(out["moves"][0]["lot"])

    def trace(self, way: str, who: str = "qa1", status: int = 200, **q: Any) -> Any:
        r = self.client.get(f"/api/trace/{way}", params=q, headers=self.h(who))
        assert r.status_code == status, r.text
        return r.json() if "xlsx" not in str(q.get("format")) else r


@pytest.fixture
def p(plant, client, engine) -> Plant:  # type: ignore[no-untyped-def]
    return Plant(client, engine)


def numbers(answer: dict[str, Any]) -> set[str]:
    return {x["number"] for x in answer["lots"]}


def test_a_heat_number_traces_forward_to_the_customer_and_the_serial_back_to_heat_operator_machine_and_inspection(p: Plant) -> None:
    heat = p.receive("RM-Q235", 500, lot_number="Q-0815", heat_number="H23-0815", supplier_lot="AG-7781")["moves"][0]["lot"]
    other = p.receive("RM-Q235", 300, lot_number="Q-0816", heat_number="H23-0816")["moves"][0]["lot"]
    order = p.order()
    p.issue(order, heat, 40)
    p.issue(order, other, 10)
    task = p.get(f"/api/records/operation_task?production_order={order}&limit=50")["items"][0]
    machine = p.get("/api/records/machine?limit=5")["items"][0]["id"]
    p.post("/api/production/reports", {"task": task["id"], "event": "report", "good_qty": 1, "machine": machine}, status=201)
    serial = p.finish(order, "TR-0001")
    # an inspection record of a plant form referencing the serial
    form = {"format": "mom.form/1", "name": "final_check", "label": {"zh-CN": "成品终检", "en": "Final check"}, "display_field": "code",
            "fields": [{"id": "fc1", "key": "code", "type": "text", "label": {"zh-CN": "检验单号", "en": "No."}},
                       {"id": "fc2", "key": "serial", "type": "reference", "form": "lot", "label": {"zh-CN": "序列号", "en": "Serial"}},
                       {"id": "fc3", "key": "result", "type": "text", "label": {"zh-CN": "结论", "en": "Result"}}],
            "permissions": [{"role": "quality_engineer", "actions": ["create", "read", "update"]}]}
    r = p.client.put("/api/forms/final_check", json=form, headers=p.h("admin"))
    assert r.status_code == 200, r.text
    p.post("/api/records/final_check", {"code": "FQC-001", "serial": serial, "result": "合格"}, who="qa1")
    so = p.get("/api/records/sales_order?limit=5")["items"][0]
    p.doc("stock_shipment", [{"item": p.items["FG-TR"], "qty": 1, "from_location": p.loc["A02"], "lot": serial}], sales_order=so["id"])

    fwd = p.trace("forward", lot="Q-0815")
    assert numbers(fwd) == {"Q-0815", "TR-0001"} and fwd["root"] == heat
    assert [(s["lot_number"], s["customer"], s["qty"]) for s in fwd["shipments"]] == [("TR-0001", so["customer"], 1)]
    link = fwd["links"][0]
    assert (link["relation_label"], link["qty"], link["document_label"]) == ("投料", 40, "完工入库")

    back = p.trace("backward", lot="TR-0001")
    by = {x["number"]: x for x in back["lots"]}
    assert set(by) == {"TR-0001", "Q-0815", "Q-0816"}
    assert by["Q-0815"]["heat_number"] == "H23-0815" and by["Q-0815"]["supplier_lot"] == "AG-7781" and by["Q-0815"]["supplier"] == "鞍钢"
    [made] = back["orders"]
    assert made["lots"] == [serial]
    report = made["reports"][0]
    assert report["operator_name"] and report["machine_name"] and report["operation"] == task["name"] and report["reported_at"]
    assert [(r["form_label"], r["display"]) for r in back["records"]] == [("成品终检", "FQC-001")]

    recall = p.trace("recall", heat_number="H23-0815")
    assert [c["customer"] for c in recall["customers"]] == [so["customer"]] and recall["reached"] == 2

    book = p.trace("backward", lot="TR-0001", format="xlsx")
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(book.content))["追溯树"]
    rows = list(sheet.values)
    assert rows[0][:3] == ("层级", "路径", "批号/序列号") and {r[2] for r in rows[1:]} == {"TR-0001", "Q-0815", "Q-0816"}
    assert any(r[0] == 1 and r[1] == "TR-0001 → Q-0815" for r in rows)
    p.agrees()


def test_one_raw_lot_shared_by_two_orders_traces_to_both_and_each_product_back_to_its_own_lots(p: Plant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """erpnext#51870: work orders sharing a batch — each finished lot must trace back to its own order's inputs only."""
    shared = p.receive("RM-Q235", 100, lot_number="SH-1", heat_number="H-SH")["moves"][0]["lot"]
    only_b = p.receive("RM-Q235", 100, lot_number="B-1", heat_number="H-B")["moves"][0]["lot"]
    a, b = p.order(), p.order()
    p.issue(a, shared, 30)
    p.issue(b, shared, 20)
    p.issue(b, only_b, 5)
    fa = p.finish(a, "TR-A1")
    p.finish(b, "TR-B1")
    assert numbers(p.trace("forward", lot="SH-1")) == {"SH-1", "TR-A1", "TR-B1"}
    assert numbers(p.trace("forward", lot="B-1")) == {"B-1", "TR-B1"}
    assert numbers(p.trace("backward", lot="TR-A1")) == {"TR-A1", "SH-1"}
    assert numbers(p.trace("backward", lot="TR-B1")) == {"TR-B1", "SH-1", "B-1"}
    # a consumption after the order already received a lot links to that lot (recall-safe)
    late = p.receive("RM-Q235", 50, lot_number="LATE-1", heat_number="H-L")["moves"][0]["lot"]
    p.issue(a, late, 5)
    assert numbers(p.trace("backward", lot="TR-A1")) == {"TR-A1", "SH-1", "LATE-1"}
    assert fa in {x["id"] for x in p.trace("forward", lot="LATE-1")["lots"]}
    # a trace reaching too many lots is refused in words, nothing partial (the limit lowered to 3 lots here)
    from mom.engines.trace import walk
    monkeypatch.setattr(walk, "MAX_LOTS", 3)
    r = p.client.get("/api/trace/forward", params={"lot": "SH-1"}, headers=p.h("qa1"))
    assert r.status_code == 422 and "追溯范围太大" in r.json()["message"]["zh-CN"]
    p.agrees()


def test_reversing_the_receipt_or_the_issue_retracts_the_links_and_nobody_writes_the_genealogy_by_hand(p: Plant) -> None:
    lot = p.receive("RM-Q235", 100, lot_number="RV-1")["moves"][0]["lot"]
    order = p.order()
    issued = p.issue(order, lot, 10)
    out = p.doc("production_receipt", [{"item": p.items["FG-TR"], "qty": 1, "to_location": p.loc["A02"], "lot_number": "TR-R1"}],
                who="admin", production_order=order)
    assert numbers(p.trace("forward", lot="RV-1")) == {"RV-1", "TR-R1"}
    p.post(f"/api/inventory/documents/production_receipt/{out['id']}/reverse")
    assert numbers(p.trace("forward", lot="RV-1")) == {"RV-1"}
    p.finish(order, "TR-R2")
    assert numbers(p.trace("forward", lot="RV-1")) == {"RV-1", "TR-R2"}
    p.post(f"/api/inventory/documents/stock_issue/{issued['id']}/reverse", who="store1")
    assert numbers(p.trace("forward", lot="RV-1")) == {"RV-1"}
    assert p.count("lot_link") == 4            # append-only: two links, two retractions
    r = p.client.post("/api/records/lot_link", headers=p.h("admin"), json={"parent_lot": lot, "child_lot": lot, "relation": "consume"})
    assert r.status_code == 409 and "批次谱系" in r.json()["message"]["zh-CN"]
    p.agrees()


def test_a_reader_without_the_shipments_right_sees_no_customer_and_bad_numbers_are_answered_in_words(p: Plant) -> None:
    lot = p.receive("RM-Q235", 100, lot_number="PM-1", heat_number="H-PM")["moves"][0]["lot"]
    order = p.order()
    p.issue(order, lot, 10)
    serial = p.finish(order, "TR-P1")
    so = p.get("/api/records/sales_order?limit=5")["items"][0]
    p.doc("stock_shipment", [{"item": p.items["FG-TR"], "qty": 1, "from_location": p.loc["A02"], "lot": serial}], sales_order=so["id"])
    # the plant keeps shipments to the storekeepers (their right, set in the designer)
    shipment = p.client.get("/api/forms/stock_shipment", headers=p.h("admin")).json()
    definition = shipment.get("definition", shipment)
    definition["permissions"] = [x for x in definition["permissions"] if x.get("role") != "*"]
    r = p.client.put("/api/forms/stock_shipment", json=definition, headers=p.h("admin"))
    assert r.status_code == 200, r.text
    seen = p.trace("forward", lot="PM-1", who="qa1")
    assert seen["shipments"] == [] and seen["hidden"]["shipments"] == 1 and so["customer"] not in str(seen)
    assert p.trace("forward", lot="PM-1", who="store1")["shipments"][0]["customer"] == so["customer"]

    r = p.client.get("/api/trace/forward", params={"lot": "NO-SUCH"}, headers=p.h("qa1"))
    assert r.status_code == 404 and "NO-SUCH" in r.json()["message"]["zh-CN"]
    p.post("/api/records/lot", {"item": p.items["FG-V50"], "number": "PM-1"})
    r = p.client.get("/api/trace/backward", params={"lot": "PM-1"}, headers=p.h("qa1"))
    body = r.json()
    assert r.status_code == 422 and "钢板 Q235" in body["message"]["zh-CN"] and "请指定物料" in body["message"]["zh-CN"]
    assert p.trace("backward", lot="PM-1", item="RM-Q235")["root"] == lot
    assert p.client.get("/api/trace/recall", params={"heat_number": "H-NONE"}, headers=p.h("qa1")).status_code == 404
    p.agrees()


def test_the_cli_prints_the_tree_in_chinese(p: Plant, cli) -> None:  # type: ignore[no-untyped-def]
    lot = p.receive("RM-Q235", 100, lot_number="CL-1", heat_number="H-CL")["moves"][0]["lot"]
    order = p.order()
    p.issue(order, lot, 10)
    p.finish(order, "TR-C1")
    out = cli("trace", "backward", "TR-C1")
    assert out.exit_code == 0, out.output
    assert "TR-C1" in out.output and "  CL-1" in out.output and "炉号 H-CL" in out.output
    out = cli("trace", "recall", "--heat-number", "H-CL")
    assert out.exit_code == 0 and "CL-1" in out.output and "2 个批次" in out.output
    out = cli("trace", "forward", "CL-1", "--json")
    assert out.exit_code == 0 and '"TR-C1"' in out.output
    p.receive("RM-Q235", 50, lot_number="CL-2", heat_number="H-CL")       # a second lot of the same heat
    out = cli("trace", "forward", "H-CL")                                   # a heat number: every lot of it, each a tree
    assert out.exit_code == 0, out.output
    assert "按炉号 H-CL 追溯：2 个批次" in out.output and "CL-1" in out.output and "CL-2" in out.output and "TR-C1" in out.output


def test_a_heat_number_typed_in_the_forward_box_and_the_recall_name_the_lots_their_stock_now_and_units(p: Plant) -> None:
    """Review of issue 21, findings 4, 5, 16: 正向 with a heat number traces every lot of it (as the recall does); the
    recall names the finished lot it reached and where its stock is now (what to hold); quantities carry the item's unit."""
    one = p.receive("RM-Q235", 100, lot_number="HR-1", heat_number="H-RC")["moves"][0]["lot"]
    two = p.receive("RM-Q235", 60, lot_number="HR-2", heat_number="H-RC")["moves"][0]["lot"]
    order = p.order()
    p.issue(order, one, 20)
    serial = p.finish(order, "TR-H1")
    fwd = p.trace("forward", lot="H-RC")
    assert fwd["heat_number"] == "H-RC" and set(fwd["roots"]) == {one, two} and numbers(fwd) == {"HR-1", "HR-2", "TR-H1"}
    [link] = fwd["links"]
    assert (link["qty"], link["unit"]) == (20, "kg")
    assert {x["number"]: x["unit"] for x in fwd["lots"]}["HR-1"] == "kg"
    r = p.client.get("/api/trace/forward", params={"lot": "H-NOPE"}, headers=p.h("qa1"))
    assert r.status_code == 404 and "炉号" in r.json()["message"]["zh-CN"] and "H-NOPE" in r.json()["message"]["zh-CN"]

    recall = p.trace("recall", heat_number="H-RC")
    assert {x["number"] for x in recall["reached_lots"]} == {"HR-1", "HR-2", "TR-H1"} and recall["reached"] == 3
    held = {(s["lot_number"], s["location_code"], s["qty"], s["unit"]) for s in recall["stock"]}
    assert held == {("HR-1", "A01", 80, "kg"), ("HR-2", "A01", 60, "kg"), ("TR-H1", "A02", 1, recall["stock"][-1]["unit"])}
    assert recall["shipments"] == [] and serial in {s["lot"] for s in recall["stock"]}

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(p.trace("recall", heat_number="H-RC", format="xlsx").content))
    lots = [r[1] for r in book["召回批次"].values]
    assert {"HR-1", "HR-2", "TR-H1"} <= set(lots)
    stock = list(book["现存量（需隔离）"].values)
    assert ("HR-1", "钢板 Q235") == stock[1][:2] and any(r[0] == "TR-H1" and r[5] == 1 for r in stock)
    assert list(book["客户出库"].values)[1][0] == "无"
    tree = list(load_workbook(io.BytesIO(p.trace("forward", lot="H-RC", format="xlsx").content))["追溯树"].values)
    assert any(r[2] == "TR-H1" and (r[8], r[9]) == (20, "kg") for r in tree) and sum(1 for r in tree if r[0] == 0) == 2
    p.agrees()
