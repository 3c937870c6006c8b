"""Fixes after the outside review of inspection entry (检验录入, issue 22), SQLite and PostgreSQL:

- 检验任务 is found by what the inspector has in hand: the lot label she scans (``LOT:<item code>:<lot number>``),
  a lot number, an item code or name, besides the lot's own number and the supplier;
- the NCR number in the grid only for who may read that NCR;
- refusals in words that name the sample and characteristic, never a key;
- GB/T 2828.1-2012 §9.3.2 (ISO 2859-1:1999 9.3.2): normal → tightened counts lots "on original inspection
  (i.e. ignoring resubmitted lots or batches for this procedure)": the NCR's re-inspection after sorting does
  not move the switching state — a second rejection, on the resubmitted lot, leaves it on normal;
- the switching state of "any supplier" is stored with supplier '' so the unique key holds for it too.
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.inventory import vendors
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.test_quality_ncr import SUPPLIER, Quality

URL = "/api/quality/inspections"


class Entry(Quality):
    """The quality plant of the NCR tests, with an operator (no quality role)."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine)
        with write_tx(engine) as conn:
            auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])

    def plan(self, supplier: str | None = SUPPLIER) -> dict[str, Any]:
        return self.post("/api/records/inspection_plan", {
            "name": "阀盖来料检验", "inspection_type": "iqc", "item": self.items["SF-C50"], "inspection_level": "II",
            "supplier": supplier, "aql_major": "1.0", "aql_minor": "6.5",
            "characteristics": [{"seq_no": 1, "name": "外径", "kind": "numeric", "defect_class": "major",
                                 "nominal": "50", "lsl": "49.9", "usl": "50.1", "unit": "mm"},
                                {"seq_no": 2, "name": "砂眼", "kind": "attribute", "defect_class": "minor"}]}, who="qe1")

    def received(self, qty: int = 50, supplier: str | None = SUPPLIER) -> dict[str, Any]:
        header = {"supplier": supplier} if supplier else {}
        receipt = self.doc("stock_receipt", [{"item": self.items["SF-C50"], "qty": qty, "to_location": self.loc["A01"]}], **header)
        return self.find("inspection_lot", stock_receipt=receipt["id"])[0]

    def put(self, lot_id: int, cells: Any, who: str = "qc1") -> Any:
        return self.client.put(f"{URL}/{lot_id}/results", json={"cells": cells}, headers=self.h(who))

    def words(self, r: Any) -> str:
        body = r.json()
        return body["message"]["zh-CN"] + "".join(p["message"]["zh-CN"] for p in body.get("problems") or [])

    def states(self) -> list[dict[str, Any]]:
        with read_tx(self.engine) as conn:
            t = form_registry().get(conn, "quality_state").main
            rows = [dict(r) for r in conn.execute(sa.select(t.c.inspection_type, t.c.supplier, t.c.supplier_key, t.c.defect_class,
                                                            t.c.severity, t.c.state).where(t.c.deleted_at.is_(None)).order_by(t.c.id)).mappings()]
            names = vendors.names(conn, form_registry(), [r["supplier"] for r in rows])     # the supplier is a vendor
            return [{**r, "supplier": names.get(r["supplier"], r["supplier"])} for r in rows]


@pytest.fixture
def qe(core_pack, client, engine) -> Entry:  # type: ignore[no-untyped-def]
    return Entry(client, engine)


def _good() -> list[dict[str, Any]]:
    """GB/T 2828.1 lot 50, level II → D; AQL 1.0 ↓ E: 13 samples (外径); AQL 6.5 D: 8 samples (砂眼)."""
    return ([{"sample_no": s, "char_seq": 1, "value": "50.02"} for s in range(1, 14)]
            + [{"sample_no": s, "char_seq": 2, "ok": True} for s in range(1, 9)])


def test_the_inspector_finds_a_lot_by_its_label_lot_number_item_code_or_name(qe: Entry) -> None:
    qe.plan()
    lot = qe.received(50)
    number = qe.get(f"/api/records/lot/{lot['lot']}")["number"]
    for q in (f"LOT:SF-C50:{number}", number, "SF-C50", "阀盖", lot["code"], "精密铸造"):
        found = qe.get(f"{URL}?q={q}", who="qc1")["items"]
        assert [c["id"] for c in found] == [lot["id"]], q
    for q in ("LOT:SF-C50:NO-SUCH-LOT", "没有这种物料"):
        assert qe.get(f"{URL}?q={q}", who="qc1")["items"] == [], q


def test_refusals_name_the_sample_and_what_to_do(qe: Entry) -> None:
    qe.plan()
    lot = qe.received(50)
    # a numeric string is a sample number
    r = qe.put(lot["id"], [{"sample_no": "1", "char_seq": "1", "value": "50.01"}])
    assert r.status_code == 200, r.text
    r = qe.put(lot["id"], [{"sample_no": "一", "char_seq": 1, "value": "50.01"}])
    assert r.status_code == 422 and "件号「一」应为 1–13 的整数" in qe.words(r)
    r = qe.put(lot["id"], [{"sample_no": 2, "char_seq": 1, "value": "50", "defect_code": 999999}])
    assert r.status_code == 422 and "第 2 件『外径』的缺陷代码不存在" in qe.words(r) and "/results" not in qe.words(r)
    r = qe.put(lot["id"], [{"sample_no": 2, "char_seq": 2, "value": 3}])
    assert r.status_code == 422 and "第 2 件『砂眼』是计数项目，不填数值" in qe.words(r)
    r = qe.put(lot["id"], [{"sample_no": 3, "char_seq": 1, "value": "50"}, {"sample_no": 3, "char_seq": 1, "value": "50.2"}])
    assert r.status_code == 422 and "第 3 件『外径』在这次保存中出现了两次" in qe.words(r)
    r = qe.client.put(f"{URL}/{lot['id']}/results", json={"cells": "x"}, headers=qe.h("qc1"))
    assert r.status_code == 422 and qe.words(r).startswith("读数应为列表") and "cells" not in r.json()["message"]["zh-CN"]
    r = qe.client.get("/api/quality/spc/chart?plan=1&char_seq=1&from=2026-13-01", headers=qe.h("qe1"))
    assert r.status_code == 422 and "起始日期「2026-13-01」无效" in r.json()["message"]["zh-CN"]
    assert qe.put(lot["id"], _good()).status_code == 200
    assert qe.client.post(f"{URL}/{lot['id']}/judge", json={}, headers=qe.h("qc1")).status_code == 200
    r = qe.client.post(f"{URL}/{lot['id']}/judge", json={}, headers=qe.h("qc1"))
    assert r.status_code == 409 and "已判定」，不能再判定" in r.json()["message"]["zh-CN"]


def test_the_ncr_number_is_shown_only_to_who_may_read_the_ncr(qe: Entry) -> None:
    got = qe.iqc_rejected(100)
    lot_id = got["ncr"]["inspection_lot"]
    seen = qe.get(f"{URL}/{lot_id}", who="qc1")["ncr"]
    assert seen == {"code": got["ncr"]["code"], "id": got["ncr"]["id"]}
    r = qe.client.get(f"{URL}/{lot_id}", headers=qe.h("op1"))
    assert r.status_code in (200, 403), r.text
    if r.status_code == 200:             # whoever reads the lot but not NCRs sees no NCR number
        assert r.json()["ncr"] is None and got["ncr"]["code"] not in r.text


def test_a_resubmitted_lot_does_not_move_the_switching_state(qe: Entry) -> None:
    """GB/T 2828.1-2012 §9.3.2: normal → tightened when 2 of 5 or fewer consecutive lots on *original* inspection
    are not accepted, "ignoring resubmitted lots". One original rejection, then the sorted lot rejected again on
    re-inspection: still normal (counted, it would have been 2 of 2 → tightened)."""
    got = qe.iqc_rejected(100)
    ncr = got["ncr"]
    before = [(s["supplier"], s["defect_class"], s["severity"], s["state"]) for s in qe.states()]
    assert [b[:3] for b in before] == [(SUPPLIER, "major", "normal")]
    qe.patch("nonconformance", ncr["id"], {"dispositions": [{"disposition": "rework", "qty": 100, "note": "全检挑选"}]}, who="qc1")
    qe.approve(ncr["id"])
    code = qe.execute(ncr["id"])["dispositions"][0]["posted_document"].split()[-1]
    again = qe.find("inspection_lot", code=code)[0]
    assert again["resubmitted"] is True
    qe.post(f"/api/records/inspection_lot/{again['id']}/transitions/start", {}, who="qc1")
    rows = [{"sample_no": n, "char_seq": 1, "value": "50.3"} for n in range(1, again["sample_size"] + 1)]
    judged = qe.post(f"/api/records/inspection_lot/{again['id']}/transitions/judge", {"results": rows}, who="qc1")
    assert judged["result"] == "rejected" and "不计入抽样转移" in judged["switching_note"]
    assert [(s["supplier"], s["defect_class"], s["severity"], s["state"]) for s in qe.states()] == before
    # the next lot on original inspection is still sampled on normal
    nxt = qe.doc("stock_receipt", [{"item": qe.items["SF-C50"], "qty": 100, "to_location": qe.loc["A01"]}], supplier=SUPPLIER)
    assert qe.find("inspection_lot", stock_receipt=nxt["id"])[0]["severity"] == "normal"


def test_the_any_supplier_switching_state_is_one_row_under_the_unique_key(qe: Entry, engine: sa.engine.Engine) -> None:
    plan = qe.plan(supplier=None)
    for _ in range(2):   # two lots opened by hand without a supplier, judged one after the other
        lot = qe.post("/api/records/inspection_lot", {"plan": plan["id"], "lot_qty": 50}, who="qc1")
        assert qe.put(lot["id"], _good()).status_code == 200
        assert qe.client.post(f"{URL}/{lot['id']}/judge", json={}, headers=qe.h("qc1")).status_code == 200
    states = qe.states()
    assert sorted((s["supplier_key"], s["defect_class"]) for s in states) == [("", "major"), ("", "minor")]
    assert {s["supplier"] for s in states} == {None}
    # a second row for the same key — what two first judges at once would write — is refused by the database
    with pytest.raises(sa.exc.IntegrityError), write_tx(engine) as conn:
        t = form_registry().get(conn, "quality_state").main
        row = dict(conn.execute(sa.select(t).where(t.c.defect_class == "major")).mappings().one())
        row.pop("id")
        conn.execute(t.insert().values(**row))
