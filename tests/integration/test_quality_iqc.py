"""Incoming inspection (来料检验, issue 22) on the demo plant with the quality pack, SQLite and PostgreSQL.

A purchase receipt posted for an item with an IQC plan puts its lot in 待检 quarantine (an issue of it is
refused) and opens a pending inspection lot sampled per GB/T 2828.1. The figures are the standard's:
lot size 2000, inspection level II → code letter K (Table 1), normal inspection AQL 1.0 → n = 125,
Ac 3 / Re 4 (Table 2-A); tightened AQL 1.0 → n = 125, Ac 2 / Re 3 (Table 2-B) — the same cells the
unit tests of sampling.py check against ISO 2859-1:1999 (tests/unit/test_quality_sampling.py).
Judged accepted → the lot 放行 released; rejected → 冻结 blocked and an NCR opened; 2 of 5 lots rejected
→ the next lot tightened. Missing readings refuse the judge in words; an operator cannot judge; nobody
writes the switching state; reversing the receipt cancels its pending inspection.
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store

SUPPLIER = "温州精密铸造有限公司"
ITEM = "SF-C50"          # 阀盖 DN50 (件, lot-tracked): a bought-in casting


class Iqc(Store):
    """The stock plant (`mom demo` brings the quality pack) with the demo's quality people and an operator."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine)
        self._passwords.update({"qc1": "qc1pass123", "qcm": "qcmpass123", "qe1": "qe1pass123"})
        with write_tx(engine) as conn:
            auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])

    def plan(self, supplier: str | None = SUPPLIER, **extra: Any) -> dict[str, Any]:
        body = {"name": "阀盖来料检验", "inspection_type": "iqc", "item": self.items[ITEM], "supplier": supplier,
                "inspection_level": "II", "aql_major": "1.0",
                "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major",
                                     "nominal": "50", "lsl": "49.9", "usl": "50.1", "unit": "mm", "method": "外径千分尺"}],
                **extra}
        return self.post("/api/records/inspection_plan", body, who="qe1")

    def receive_from(self, qty: Any, supplier: str = SUPPLIER) -> dict[str, Any]:
        return self.doc("stock_receipt", [{"item": self.items[ITEM], "qty": qty, "to_location": self.loc["A01"]}],
                        supplier=supplier)

    def inspection_of(self, receipt_id: int) -> dict[str, Any]:
        found = self.find("inspection_lot", stock_receipt=receipt_id)
        assert len(found) == 1, found
        return found[0]

    def judge(self, lot: dict[str, Any], bad: int, *, who: str = "qc1", status: int | tuple[int, ...] = 200,
              readings: int | None = None) -> Any:
        """Start the lot and judge it with ``readings`` (default: all) 外径 readings, the first ``bad`` of them
        out of tolerance."""
        if lot["status"] == "pending":
            self.post(f"/api/records/inspection_lot/{lot['id']}/transitions/start", {}, who=who, status=(200, 403))
        n = lot["sample_size"] if readings is None else readings
        rows = [{"sample_no": s, "char_seq": 1, "value": "50.3" if s <= bad else "50.02"} for s in range(1, n + 1)]
        return self.post(f"/api/records/inspection_lot/{lot['id']}/transitions/judge", {"results": rows}, who=who, status=status)

    def lot_status(self, lot_id: int) -> str:
        return self.get(f"/api/records/lot/{lot_id}")["status"]


@pytest.fixture
def iqc(plant, client, engine) -> Iqc:  # type: ignore[no-untyped-def]
    return Iqc(client, engine)


def test_a_posted_receipt_quarantines_the_lot_and_opens_an_inspection_sampled_per_gbt_2828(iqc: Iqc) -> None:
    iqc.plan()
    out = iqc.receive_from(2000)
    lot_id = out["moves"][0]["lot"]
    il = iqc.inspection_of(out["id"])
    # GB/T 2828.1: lot 2000, level II → K; normal, AQL 1.0 → n 125, Ac 3, Re 4
    assert (il["status"], il["inspection_type"], il["severity"]) == ("pending", "iqc", "normal")
    assert (il["code_letter"], il["sample_size"], il["ac_major"], il["re_major"]) == ("K", 125, 3, 4)
    assert il["ac_critical"] is None and il["ac_minor"] is None          # no characteristic of those classes
    assert float(il["lot_qty"]) == 2000 and il["lot"] == lot_id and il["_display"]["supplier"] == SUPPLIER
    assert "字码 K" in il["sampling_note"] and "Ac=3" in il["sampling_note"]
    assert iqc.lot_status(lot_id) == "quarantine"
    # the inspectors are told: one notification that opens the lot's entry page
    note = [n for n in iqc.get("/api/notifications?unread=1", who="qc1")["items"] if n["kind"] == "inspection_lot"]
    assert len(note) == 1 and out["code"] in note[0]["title"] and note[0]["link"] == f"/inspect/{il['id']}"
    # 待检 stock does not leave the plant (nor go to production: the same rule, rules.check_lot_usable)
    order = iqc.get("/api/records/sales_order?limit=1")["items"][0]["id"]
    r = iqc.client.post("/api/inventory/documents/stock_shipment", headers=iqc.h("store1"), json={
        "sales_order": order, "lines": [{"item": iqc.items[ITEM], "qty": 10, "from_location": iqc.loc["A01"], "lot": lot_id}]})
    assert r.status_code in (409, 422), r.text
    assert "待检" in r.text
    iqc.agrees()


def test_a_supplier_plan_beats_the_any_supplier_plan_and_items_without_plan_pass(iqc: Iqc) -> None:
    any_supplier = iqc.plan(supplier=None, name="通用")
    mine = iqc.plan(name="温州专用", aql_major="0.65")
    il = iqc.inspection_of(iqc.receive_from(2000)["id"])
    assert il["plan"] == mine["id"]
    il2 = iqc.inspection_of(iqc.receive_from(2000, supplier="鞍钢")["id"])
    assert il2["plan"] == any_supplier["id"]
    # an item without an active plan: no inspection, the lot stays released
    out = iqc.receive("RM-HT250", 500)
    assert iqc.find("inspection_lot", stock_receipt=out["id"]) == []
    assert iqc.lot_status(out["moves"][0]["lot"]) == "released"


def test_judged_accepted_releases_and_rejected_blocks_with_an_ncr(iqc: Iqc) -> None:
    iqc.plan()
    good = iqc.receive_from(2000)
    il = iqc.inspection_of(good["id"])
    done = iqc.judge(il, bad=3)            # 3 nonconforming of 125 ≤ Ac 3
    assert (done["status"], done["result"], done["defects_major"]) == ("judged", "accepted", 3)
    assert done["inspected_by"] is not None and done["inspected_at"]
    oks = sorted({(r["sample_no"] <= 3, r["ok"]) for r in done["results"]})
    assert oks == [(False, True), (True, False)]                  # 50.3 is over USL 50.1: not ok
    assert iqc.lot_status(good["moves"][0]["lot"]) == "released"

    bad = iqc.receive_from(2000)
    il = iqc.inspection_of(bad["id"])
    done = iqc.judge(il, bad=4)            # 4 ≥ Re 4
    assert (done["result"], done["defects_major"]) == ("rejected", 4)
    lot_id = bad["moves"][0]["lot"]
    assert iqc.lot_status(lot_id) == "blocked"
    ncrs = iqc.find("nonconformance", inspection_lot=il["id"])
    assert len(ncrs) == 1 and done["ncr"] == ncrs[0]["code"]
    ncr = ncrs[0]
    assert (ncr["item"], ncr["lot"], ncr["location"], float(ncr["qty"]), ncr["_display"]["supplier"]) == \
        (iqc.items[ITEM], lot_id, iqc.loc["A01"], 2000.0, SUPPLIER)
    assert ncr["status"] == "open"


def test_two_of_five_rejected_tightens_the_next_lot(iqc: Iqc) -> None:
    iqc.plan()
    for bad in (0, 4, 0, 5):              # the 2nd and the 4th lot rejected: 2 of 4 consecutive lots
        il = iqc.inspection_of(iqc.receive_from(2000)["id"])
        assert il["severity"] == "normal"
        done = iqc.judge(il, bad=bad)
    assert "正常检验转为加严检验" in done["switching_note"]
    nxt = iqc.inspection_of(iqc.receive_from(2000)["id"])
    # Table 2-B: K, AQL 1.0 tightened → n 125, Ac 2, Re 3
    assert (nxt["severity"], nxt["code_letter"], nxt["sample_size"], nxt["ac_major"], nxt["re_major"]) == \
        ("tightened", "K", 125, 2, 3)
    states = iqc.find("quality_state", item=iqc.items[ITEM])
    assert [(s["defect_class"], s["severity"], s["_display"]["supplier"]) for s in states] == [("major", "tightened", SUPPLIER)]
    # another supplier's lots of the same item are still on normal inspection
    other = iqc.inspection_of(iqc.receive_from(2000, supplier="鞍钢")["id"]) if iqc.plan(supplier=None) else None
    assert other is not None and other["severity"] == "normal"


def test_missing_readings_refuse_the_judge_in_words(iqc: Iqc) -> None:
    iqc.plan()
    il = iqc.inspection_of(iqc.receive_from(2000)["id"])
    r = iqc.judge(il, bad=0, readings=120, status=422)
    assert "第 121 件『外径』" in r["message"]["zh-CN"] and "还没有读数" in r["message"]["zh-CN"]
    again = iqc.get(f"/api/records/inspection_lot/{il['id']}")
    assert again["status"] == "inspecting" and again["result"] is None     # nothing judged, nothing kept


def test_people_do_not_judge_without_the_role_nor_write_the_engine_fields(iqc: Iqc) -> None:
    iqc.plan()
    il = iqc.inspection_of(iqc.receive_from(2000)["id"])
    r = iqc.client.post(f"/api/records/inspection_lot/{il['id']}/transitions/start", json={}, headers=iqc.h("op1"))
    assert r.status_code == 403, r.text
    for who, body in (("qc1", {"result": "accepted"}), ("qc1", {"sample_size": 5}), ("admin", {"ac_major": 9}),
                      ("admin", {"lot_qty": 10})):
        version = iqc.get(f"/api/records/inspection_lot/{il['id']}")["row_version"]
        r = iqc.client.patch(f"/api/records/inspection_lot/{il['id']}", json={**body, "row_version": version},
                             headers=iqc.h(who))
        assert r.status_code in (403, 409, 422), (who, body, r.text)
    # the switching state is the engine's: nobody creates, changes or deletes it, the administrator neither
    iqc.judge(il, bad=0)
    state = iqc.find("quality_state", item=iqc.items[ITEM])[0]
    r = iqc.client.patch(f"/api/records/quality_state/{state['id']}", json={"severity": "reduced",
                         "row_version": state["row_version"]}, headers=iqc.h("admin"))
    assert r.status_code == 409 and "系统" in r.json()["message"]["zh-CN"], r.text
    r = iqc.client.delete(f"/api/records/quality_state/{state['id']}", headers=iqc.h("admin"))
    assert r.status_code == 409, r.text
    r = iqc.client.post("/api/records/quality_state", json={"inspection_type": "iqc", "item": iqc.items[ITEM],
                        "defect_class": "minor"}, headers=iqc.h("qe1"))
    assert r.status_code in (403, 409), r.text


def test_reposting_opens_no_second_lot_and_reversal_cancels_the_inspection(iqc: Iqc) -> None:
    iqc.plan()
    body = {"supplier": SUPPLIER, "client_id": "scan-0001",
            "lines": [{"item": iqc.items[ITEM], "qty": 800, "to_location": iqc.loc["A01"]}]}
    first = iqc.post("/api/inventory/documents/stock_receipt", body, who="store1")
    again = iqc.post("/api/inventory/documents/stock_receipt", body, who="store1")
    assert again["duplicate"] and again["id"] == first["id"]
    il = iqc.inspection_of(first["id"])
    assert il["sample_size"] == 80          # lot 800, level II → J, n 80
    iqc.post(f"/api/inventory/documents/stock_receipt/{first['id']}/reverse", {}, who="store1")
    il = iqc.inspection_of(first["id"])
    assert il["status"] == "cancelled" and "已冲销" in il["note"]
    with read_tx(iqc.engine) as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM inspection_lot WHERE deleted_at IS NULL AND item = :item"),
                         {"item": iqc.items[ITEM]}).scalar_one()      # (the demo's own lots are of another item)
    assert n == 1


def test_an_inspector_opens_a_lot_by_hand_and_gets_the_plans_sampling(iqc: Iqc) -> None:
    plan = iqc.plan(supplier=None)
    made = iqc.post("/api/records/inspection_lot", {"plan": plan["id"], "lot_qty": 500, "supplier": SUPPLIER}, who="qc1")
    # lot 500, level II → H (Table 1); normal AQL 1.0 → n 50, Ac 1, Re 2 (Table 2-A)
    assert (made["status"], made["inspection_type"], made["item"]) == ("pending", "iqc", iqc.items[ITEM])
    assert (made["code_letter"], made["sample_size"], made["ac_major"], made["re_major"]) == ("H", 50, 1, 2)
    done = iqc.judge(made, bad=2)
    assert done["result"] == "rejected"          # no stock lot: nothing to block, no NCR for stock
    # an SPC alarm is the system's: not created by hand
    r = iqc.client.post("/api/records/spc_alarm", json={"characteristic": "外径", "rule": "手工"}, headers=iqc.h("qe1"))
    assert r.status_code in (403, 409), r.text


def test_five_rejections_on_tightened_discontinue_until_the_quality_manager_resumes(iqc: Iqc) -> None:
    iqc.plan()
    for bad in (4, 4):                                    # 2 of 2 rejected: tightened
        iqc.judge(iqc.inspection_of(iqc.receive_from(2000)["id"]), bad=bad)
    for _ in range(5):                                    # 5 not accepted on tightened (Re 3): discontinued
        il = iqc.inspection_of(iqc.receive_from(2000)["id"])
        assert il["severity"] == "tightened"
        done = iqc.judge(il, bad=3)
    assert "暂停" in done["switching_note"]
    state = iqc.find("quality_state", item=iqc.items[ITEM])[0]
    assert state["severity"] == "discontinued"
    held = iqc.inspection_of(iqc.receive_from(2000)["id"])
    assert "暂停" in held["sampling_note"]               # the inspector is told before she starts
    # only the quality manager resumes it, and only back to tightened
    url = f"/api/records/quality_state/{state['id']}/transitions/resume"
    assert iqc.client.post(url, json={}, headers=iqc.h("qc1")).status_code == 403
    version = iqc.get(f"/api/records/quality_state/{state['id']}")["row_version"]
    r = iqc.client.patch(f"/api/records/quality_state/{state['id']}", json={"severity": "normal", "row_version": version},
                         headers=iqc.h("qcm"))
    assert r.status_code == 409, r.text
    resumed = iqc.post(url, {}, who="qcm")
    assert resumed["severity"] == "tightened" and "恢复" in resumed["last_event"]
    nxt = iqc.inspection_of(iqc.receive_from(2000)["id"])
    assert nxt["severity"] == "tightened" and "暂停" not in nxt["sampling_note"]
