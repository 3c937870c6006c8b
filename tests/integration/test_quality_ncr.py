"""NCR disposition (issue 22, 不合格品处置): a rejected incoming lot's NCR goes through its approval flow
(质量经理 approves the dispositions) and 执行处置 moves the stock in one transaction: scrap 20 to the
plant's scrap location, 10 back to the supplier (a posted 退供应商出库), 70 used as is (the lot released);
executing again posts nothing; lines over the NCR's quantity are refused naming the line; nothing is
approved by hand; an executed NCR is not edited. SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.packs import manager
from mom.platform.composition import form_registry
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.settings import Settings
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store


def install_quality(engine: sa.engine.Engine) -> None:
    """`mom pack install quality` on the core pack's plant (skipped when it is there already)."""
    with read_tx(engine) as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM mom_pack WHERE name = 'quality'")).scalar_one()
    if not have:
        manager.execute(engine, None, "install", "quality", forms_factory=form_registry,
                        tz=plant_tz(Settings(database_url="sqlite://").timezone))


#: the quality people of these tests
SUPPLIER = "温州精密铸造有限公司"
PEOPLE = {"qc1": ["qc_inspector"], "qcm": ["qc_manager"], "qe1": ["quality_engineer"]}


class Quality(Store):
    """The core pack's valve plant with the quality pack, the stock plant of the inventory tests and the
    quality people (qc1 inspector, qcm quality manager, qe1 quality engineer)."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        install_quality(engine)
        with write_tx(engine) as conn:
            auth.create_user(conn, username="admin", password_hash=fixture_hash("admin123"), is_admin=True)
            for name, roles in PEOPLE.items():
                auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
        super().__init__(client, engine)

    def patch(self, form: str, rid: int, body: dict[str, Any], who: str = "admin") -> Any:
        """PATCH a record with the row_version just read; the response."""
        version = self.get(f"/api/records/{form}/{rid}", who="admin")["row_version"]
        return self.client.patch(f"/api/records/{form}/{rid}", json={**body, "row_version": version}, headers=self.h(who))

    def rejected_lot(self, qty: int = 100) -> dict[str, Any]:
        """A received lot of 灰铸铁 HT250 that incoming inspection rejected: blocked (冻结), as the judge leaves it."""
        out = self.receive("RM-HT250", qty, heat_number="H26-1201")
        lot = out["moves"][0]["lot"]
        r = self.patch("lot", lot, {"status": "blocked"})
        assert r.status_code == 200, r.text
        return {"lot": lot, "receipt": out["code"]}

    def iqc_rejected(self, qty: int = 100) -> dict[str, Any]:
        """A receipt of 阀盖 DN50 castings from 温州精密铸造 whose incoming inspection (GB/T 2828.1, level II,
        AQL 1.0) found every sample's 外径 over its upper limit: judged rejected, the lot blocked, an NCR opened."""
        self.post("/api/records/inspection_plan", {
            "name": "阀盖来料检验", "inspection_type": "iqc", "item": self.items["SF-C50"], "inspection_level": "II",
            "aql_major": "1.0", "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major",
                                                     "nominal": "50", "lsl": "49.9", "usl": "50.1", "unit": "mm"}]}, who="qe1")
        receipt = self.doc("stock_receipt", [{"item": self.items["SF-C50"], "qty": qty, "to_location": self.loc["A01"]}],
                           supplier=SUPPLIER)
        il = self.find("inspection_lot", stock_receipt=receipt["id"])[0]
        self.post(f"/api/records/inspection_lot/{il['id']}/transitions/start", {}, who="qc1")
        rows = [{"sample_no": n, "char_seq": 1, "value": "50.3"} for n in range(1, il["sample_size"] + 1)]
        judged = self.post(f"/api/records/inspection_lot/{il['id']}/transitions/judge", {"results": rows}, who="qc1")
        assert judged["result"] == "rejected"
        return {"lot": receipt["moves"][0]["lot"], "ncr": self.find("nonconformance", inspection_lot=il["id"])[0]}

    def ncr(self, lot: int, qty: int = 100, **extra: Any) -> dict[str, Any]:
        body = {"title": "灰铸铁 HT250 来料砂眼超标", "item": self.items["RM-HT250"], "lot": lot, "supplier": "鞍钢",
                "location": self.loc["A01"], "qty": qty, **extra}
        return self.post("/api/records/nonconformance", body, who="qc1")

    def approve(self, ncr_id: int) -> None:
        """Submitted by the inspector, approved by the quality manager through nonconformance_review."""
        self.post("/api/workflows/nonconformance_review/start", {"record_id": ncr_id}, who="qc1")
        tasks = self.get("/api/tasks?box=todo", who="qcm")["items"]
        mine = [t for t in tasks if (t.get("record_id") or (t.get("instance") or {}).get("record_id")) == ncr_id] or tasks
        self.post(f"/api/tasks/{mine[0]['id']}/approve", {"comment": "同意"}, who="qcm")

    def execute(self, ncr_id: int, status: int | tuple[int, ...] = 200) -> Any:
        return self.post(f"/api/records/nonconformance/{ncr_id}/transitions/execute", {}, who="qcm", status=status)

    def released_order(self) -> int:
        made = self.post("/api/records/production_order", {"item": self.items["FG-V50"], "qty": 50, "due_date": "2030-12-15 17:00"})
        self.post(f"/api/production/orders/{made['id']}/release")
        return int(made["id"])

    def lot(self, lot_id: int) -> dict[str, Any]:
        return self.get(f"/api/records/lot/{lot_id}")

    def scrap_qty(self, lot: int, item: str = "RM-HT250") -> float:
        rows = self.onhand(item)["rows"]
        return sum(r["qty"] for r in rows if r["lot"] == lot and r["location_name"] == "废品区")


@pytest.fixture
def qa(core_pack, client, engine) -> Quality:  # type: ignore[no-untyped-def]
    return Quality(client, engine)


def test_a_rejected_lot_is_scrapped_returned_and_used_as_is_in_one_execution(qa: Quality) -> None:
    got = qa.iqc_rejected(100)
    lot, ncr = got["lot"], got["ncr"]
    assert qa.lot(lot)["status"] == "blocked"
    assert ncr["status"] == "open" and ncr["code"].startswith("NCR-") and ncr["unit"] == "件"
    assert (float(ncr["qty"]), ncr["location"], ncr["_display"]["supplier"]) == (100.0, qa.loc["A01"], SUPPLIER)   # the receipt's vendor
    lines = [{"disposition": "scrap", "qty": 20, "note": "外径超差无法修复"}, {"disposition": "return_to_supplier", "qty": 10},
             {"disposition": "use_as_is", "qty": 70, "note": "装配前选配，让步接收"}]
    r = qa.patch("nonconformance", ncr["id"], {"dispositions": lines}, who="qc1")
    assert r.status_code == 200, r.text
    qa.approve(ncr["id"])
    assert qa.get(f"/api/records/nonconformance/{ncr['id']}")["status"] == "approved"

    done = qa.execute(ncr["id"])
    assert done["status"] == "dispositioned" and done["executed_by"] is not None
    posted = [ln["posted_document"] for ln in done["dispositions"]]
    assert posted[0].startswith("TR-") and posted[1].startswith("RTV-") and "放行" in posted[2]
    assert qa.scrap_qty(lot, "SF-C50") == 20                # 20 moved to 废品区
    assert qa.qty("SF-C50", "A01", lot) == 70               # 10 went back to the supplier, 70 stay
    back = qa.find("supplier_return", code=posted[1])[0]
    assert back["status"] == "posted" and back["_display"]["supplier"] == SUPPLIER and back["nonconformance"] == ncr["id"]
    assert [(m["document_label"], m["qty"]) for m in qa.get("/api/inventory/moves?item=SF-C50", who="store1")["moves"]
            if m["document_code"] == posted[1]] == [("退供应商出库", -10)]
    assert qa.lot(lot)["status"] == "released"               # 让步接收: the lot may be issued now
    qa.doc("stock_issue", [{"item": qa.items["SF-C50"], "qty": 70, "from_location": qa.loc["A01"], "lot": lot}],
           production_order=qa.released_order())
    qa.agrees()

    moves_before = qa.count("stock_move")
    again = qa.execute(ncr["id"])                            # a retry (a double click, a resent request) posts nothing
    assert [ln["posted_document"] for ln in again["dispositions"]] == posted
    assert qa.count("stock_move") == moves_before and qa.scrap_qty(lot, "SF-C50") == 20
    # the supplier refused the return: the storekeeper reverses the 退供应商出库 and the 10 are back
    qa.post(f"/api/inventory/documents/supplier_return/{back['id']}/reverse", who="store1", status=201)
    assert qa.qty("SF-C50", "A01", lot) == 10
    qa.agrees()


def test_dispositions_over_the_ncr_quantity_are_refused_naming_the_line_and_nothing_moves(qa: Quality) -> None:
    lot = qa.rejected_lot(100)["lot"]
    ncr = qa.ncr(lot, qty=100, dispositions=[{"disposition": "scrap", "qty": 60}, {"disposition": "return_to_supplier", "qty": 50}])
    qa.post("/api/workflows/nonconformance_review/start", {"record_id": ncr["id"]}, who="qc1")
    task = qa.get("/api/tasks?box=todo", who="qcm")["items"][0]
    r = qa.client.post(f"/api/tasks/{task['id']}/approve", json={}, headers=qa.h("qcm"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert "第 2 行「退供应商」" in body["message"]["zh-CN"] and "超过不合格数量 100" in body["message"]["zh-CN"]
    assert qa.get(f"/api/records/nonconformance/{ncr['id']}")["status"] == "open"
    # the manager corrects the line on her approval step and approves
    fixed = [{"disposition": "scrap", "qty": 60}, {"disposition": "return_to_supplier", "qty": 40}]
    r = qa.patch("nonconformance", ncr["id"], {"dispositions": fixed}, who="qcm")
    assert r.status_code == 200, r.text
    qa.post(f"/api/tasks/{task['id']}/approve", {"comment": "改为退 40"}, who="qcm")
    moves = qa.count("stock_move")
    done = qa.execute(ncr["id"])
    assert qa.count("stock_move") == moves + 3              # transfer (−60, +60) and the return (−40)
    assert qa.lot(lot)["status"] == "blocked"                # nothing used as is: the lot stays blocked
    assert [ln["posted_document"][:3] for ln in done["dispositions"]] == ["TR-", "RTV"]
    qa.agrees()


def test_an_ncr_is_approved_only_by_its_flow_and_not_edited_once_executed(qa: Quality) -> None:
    lot = qa.rejected_lot(30)["lot"]
    ncr = qa.ncr(lot, qty=30, dispositions=[{"disposition": "scrap", "qty": 30}])
    for who in ("qcm", "admin"):        # not even an administrator approves by hand: the flow does
        r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/approve", json={}, headers=qa.h(who))
        assert r.status_code == 403, r.text
    assert "提交审批" in r.json()["message"]["zh-CN"]
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("qcm"))
    assert r.status_code == 409                              # not approved yet
    qa.approve(ncr["id"])
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("qc1"))
    assert r.status_code == 403                              # an inspector does not execute
    qa.execute(ncr["id"])
    assert qa.scrap_qty(lot) == 30
    r = qa.patch("nonconformance", ncr["id"], {"qty": 10}, who="qcm")
    assert r.status_code == 409 and "「已处置」" in r.json()["message"]["zh-CN"] and "「不合格数量」" in r.json()["message"]["zh-CN"]
    r = qa.client.delete(f"/api/records/nonconformance/{ncr['id']}", headers=qa.h("qcm"))
    assert r.status_code == 409
    closed = qa.post(f"/api/records/nonconformance/{ncr['id']}/transitions/close", {}, who="qcm")
    assert closed["status"] == "closed" and closed["closed_at"]
    qa.agrees()


def test_scrap_without_a_scrap_location_is_refused_saying_what_to_set_up(qa: Quality) -> None:
    lot = qa.rejected_lot(10)["lot"]
    for loc in qa.get("/api/records/location?limit=100")["items"]:
        if loc["kind"] == "scrap":
            r = qa.patch("location", loc["id"], {"active": False})
            assert r.status_code == 200, r.text
    ncr = qa.ncr(lot, qty=10, dispositions=[{"disposition": "scrap", "qty": 10}])
    qa.approve(ncr["id"])
    moves = qa.count("stock_move")
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("qcm"))
    assert r.status_code == 409 and "类型为「废品」的库位" in r.json()["message"]["zh-CN"], r.text
    assert qa.count("stock_move") == moves and qa.get(f"/api/records/nonconformance/{ncr['id']}")["status"] == "approved"
    qa.agrees()


def test_rework_of_part_of_a_lot_used_as_is_stays_blocked_in_a_lot_of_its_own(qa: Quality) -> None:
    lot = qa.rejected_lot(100)["lot"]
    ncr = qa.ncr(lot, dispositions=[{"disposition": "use_as_is", "qty": 70}, {"disposition": "rework", "qty": 20}])
    qa.approve(ncr["id"])
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("qcm"))
    assert r.status_code == 422 and "还有 10 没有处置" in r.json()["message"]["zh-CN"], r.text   # the rest would be released too
    assert qa.lot(lot)["status"] == "blocked"

    ncr = qa.ncr(lot, dispositions=[{"disposition": "use_as_is", "qty": 70}, {"disposition": "rework", "qty": 30, "note": "挑选"}])
    qa.approve(ncr["id"])
    done = qa.execute(ncr["id"])
    assert qa.lot(lot)["status"] == "released" and qa.qty("RM-HT250", "A01", lot) == 70
    rows = [r for r in qa.onhand("RM-HT250")["rows"] if r["lot"] != lot]
    assert [(r["qty"], qa.lot(r["lot"])["status"]) for r in rows] == [(30, "blocked")]   # sorting: still blocked
    assert "放行" in done["dispositions"][0]["posted_document"] and done["dispositions"][1]["posted_document"]
    qa.agrees()


def test_rework_of_an_ncr_from_production_is_reported_on_its_operation(qa: Quality) -> None:
    order = qa.released_order()
    task = qa.get(f"/api/records/operation_task?production_order={order}&limit=50")["items"][0]
    ncr = qa.post("/api/records/nonconformance", {"title": "阀盖加工尺寸超差", "item": qa.items["FG-V50"], "qty": 5,
                                                 "production_order": order, "operation_task": task["id"],
                                                 "dispositions": [{"disposition": "rework", "qty": 5}]}, who="qc1")
    qa.approve(ncr["id"])
    done = qa.execute(ncr["id"])
    assert done["dispositions"][0]["posted_document"].startswith("JR-")
    after = qa.get(f"/api/records/operation_task/{task['id']}")
    assert float(after["rework_qty"]) == 5 and float(after["good_qty"]) == 0


def test_rework_of_a_rejected_purchased_lot_is_sorting_then_a_new_inspection(qa: Quality) -> None:
    got = qa.iqc_rejected(100)
    lot, ncr = got["lot"], got["ncr"]
    qa.patch("nonconformance", ncr["id"], {"dispositions": [{"disposition": "rework", "qty": 100, "note": "全检挑选"}]}, who="qc1")
    qa.approve(ncr["id"])
    done = qa.execute(ncr["id"])
    code = done["dispositions"][0]["posted_document"].split()[-1]
    again = qa.find("inspection_lot", code=code)[0]
    assert again["status"] == "pending" and again["lot"] == lot and float(again["lot_qty"]) == 100
    assert again["plan"] == qa.get(f"/api/records/inspection_lot/{ncr['inspection_lot']}")["plan"]     # the same plan
    assert qa.lot(lot)["status"] == "quarantine"           # 待检: still not issued until the re-inspection passes
    qa.post(f"/api/records/inspection_lot/{again['id']}/transitions/start", {}, who="qc1")
    rows = [{"sample_no": n, "char_seq": 1, "value": "50.02"} for n in range(1, again["sample_size"] + 1)]
    assert qa.post(f"/api/records/inspection_lot/{again['id']}/transitions/judge", {"results": rows}, who="qc1")["result"] == "accepted"
    assert qa.lot(lot)["status"] == "released"
    qa.agrees()


def test_a_refusal_of_the_stock_engine_names_the_disposition_line_and_nothing_is_posted(qa: Quality) -> None:
    lot = qa.rejected_lot(30)["lot"]
    ncr = qa.ncr(lot, qty=50, dispositions=[{"disposition": "scrap", "qty": 10}, {"disposition": "return_to_supplier", "qty": 40}])
    qa.approve(ncr["id"])
    moves = qa.count("stock_move")
    r = qa.client.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", json={}, headers=qa.h("qcm"))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["message"]["zh-CN"].startswith("第 2 行「退供应商」：库存不足") and "现有 20" in body["message"]["zh-CN"]
    assert [p["path"] for p in body["problems"]] == ["/dispositions/1/qty"]
    assert qa.count("stock_move") == moves and qa.scrap_qty(lot) == 0      # the scrap line before it is undone too
    assert qa.get(f"/api/records/nonconformance/{ncr['id']}")["status"] == "approved"
    qa.agrees()


def test_rework_on_a_finished_operation_moves_good_pieces_to_rework(qa: Quality) -> None:
    order = qa.released_order()
    task = qa.get(f"/api/records/operation_task?production_order={order}&limit=50")["items"][0]
    qa.post("/api/production/reports", {"task": task["id"], "event": "finish", "good_qty": 50})
    ncr = qa.post("/api/records/nonconformance", {"title": "首道工序 8 件尺寸超差", "item": qa.items["FG-V50"], "qty": 8,
                                                 "production_order": order, "operation_task": task["id"],
                                                 "dispositions": [{"disposition": "rework", "qty": 8}]}, who="qc1")
    qa.approve(ncr["id"])
    done = qa.execute(ncr["id"])
    report = qa.find("job_report", code=done["dispositions"][0]["posted_document"])[0]
    assert report["event"] == "correct" and "返工" in report["reason"]
    after = qa.get(f"/api/records/operation_task/{task['id']}")
    assert (float(after["good_qty"]), float(after["rework_qty"]), after["status"]) == (42, 8, "done")


def test_approved_dispositions_are_changed_only_by_cancelling_and_a_new_ncr(qa: Quality) -> None:
    lot = qa.rejected_lot(40)["lot"]
    ncr = qa.ncr(lot, qty=40, dispositions=[{"disposition": "scrap", "qty": 40}])
    qa.approve(ncr["id"])
    r = qa.patch("nonconformance", ncr["id"], {"dispositions": [{"disposition": "use_as_is", "qty": 40}]}, who="qcm")
    assert r.status_code == 409 and "「取消」这张处理单后新开一张" in r.json()["message"]["zh-CN"], r.text
    assert qa.post(f"/api/records/nonconformance/{ncr['id']}/transitions/cancel", {}, who="qcm")["status"] == "cancelled"
    assert qa.scrap_qty(lot) == 0 and qa.lot(lot)["status"] == "blocked"
