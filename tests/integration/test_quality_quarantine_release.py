"""Out of the 待检区 after a release (issue 22, review item 9), SQLite and PostgreSQL.

A receipt put into the quarantine location 待检区 and accepted by incoming inspection is released, but the
goods still lie in the 待检区: the engine writes ONE draft 调拨单 of exactly that lot and quantity to the
warehouse's first normal location (原料仓 A-01), names it on the inspection lot and tells the storekeeper,
who posts it when the goods move. A 让步接收 disposition does the same for the accepted quantity and names
the transfer on the NCR's line. A warehouse without a normal location gets no transfer and the lot's note
says what to do; stock received straight into a normal location needs none."""
from __future__ import annotations

from typing import Any

import pytest

from mom.engines.quality import iqc as IQC
from mom.platform.composition import form_registry
from mom.platform.db.engine import write_tx
from mom.engines.records.context import Ctx
from tests.integration.test_quality_iqc import ITEM, SUPPLIER, Iqc


class Release(Iqc):
    def into(self, loc: str, qty: int = 500) -> dict[str, Any]:
        return self.doc("stock_receipt", [{"item": self.items[ITEM], "qty": qty, "to_location": self.loc[loc]}], supplier=SUPPLIER)

    def transfers(self) -> list[dict[str, Any]]:
        return self.find("stock_transfer")

    def notes(self, who: str) -> list[dict[str, Any]]:
        return [n for n in self.get("/api/notifications?limit=50", who=who)["items"] if n["kind"] == "stock_transfer"]


@pytest.fixture
def rel(plant, client, engine) -> Release:  # type: ignore[no-untyped-def]
    return Release(client, engine)


def test_an_accepted_lot_in_the_quarantine_location_gets_one_draft_transfer_out(rel: Release) -> None:
    rel.plan()
    out = rel.into("QA", 500)
    lot = out["moves"][0]["lot"]
    il = rel.inspection_of(out["id"])
    before = len(rel.transfers())
    judged = rel.judge(il, bad=0)
    assert judged["result"] == "accepted" and rel.lot_status(lot) == "released"
    made = rel.transfers()[before:]
    assert len(made) == 1
    tr = made[0]
    assert tr["status"] == "draft"                                   # the storekeeper posts it when the goods move
    assert [(ln["item"], float(ln["qty"]), ln["lot"], ln["from_location"], ln["to_location"]) for ln in tr["lines"]] == \
        [(rel.items[ITEM], 500.0, lot, rel.loc["QA"], rel.loc["A01"])]
    il = rel.get(f"/api/records/inspection_lot/{il['id']}")
    assert il["release_transfer"] == tr["code"] and tr["code"] in il["note"]
    told = rel.notes("store1")
    assert len(told) == 1 and tr["code"] in told[0]["title"] and il["code"] in told[0]["title"]
    assert told[0]["link"] == f"/f/stock_transfer/{tr['id']}"
    assert rel.notes("qc1") == [] and rel.notes("guest") == []
    # the judge's step again (a retried judge, an event replayed): the first draft answers, no second one
    forms = form_registry()
    with write_tx(rel.engine) as conn:
        again = IQC.after_judged(conn, forms, Ctx.system(), rel.get(f"/api/records/inspection_lot/{il['id']}"))
    assert again["release_transfer"] == tr["code"] and len(rel.transfers()) == before + 1
    assert len(rel.notes("store1")) == 1
    # the storekeeper posts it: the lot is usable in A-01
    rel.post(f"/api/inventory/documents/stock_transfer/{tr['id']}/post", {}, who="store1")
    assert rel.qty(ITEM, "A01", lot) == 500 and rel.qty(ITEM, "QA", lot) == 0
    rel.agrees()


def test_no_transfer_for_a_normal_location_and_words_when_the_warehouse_has_no_normal_location(rel: Release) -> None:
    rel.plan()
    before = len(rel.transfers())
    il = rel.inspection_of(rel.into("A01")["id"])
    rel.judge(il, bad=0)
    assert len(rel.transfers()) == before and rel.get(f"/api/records/inspection_lot/{il['id']}")["release_transfer"] is None
    wh = rel.post("/api/records/warehouse", {"code": "WH9", "name": "外协待检仓"})
    rel.loc["Q9"] = rel.post("/api/records/location", {"code": "Q9", "name": "外协待检区", "warehouse": wh["id"],
                                                       "kind": "quarantine"})["id"]
    il = rel.inspection_of(rel.into("Q9")["id"])
    rel.judge(il, bad=0)
    il = rel.get(f"/api/records/inspection_lot/{il['id']}")
    assert len(rel.transfers()) == before and il["release_transfer"] is None
    assert "外协待检区" in il["note"] and "没有启用的「正常」库位" in il["note"] and "新建一个类型为「正常」的库位" in il["note"]
    assert rel.notes("store1") == []


def test_use_as_is_moves_the_accepted_quantity_out_of_quarantine_once(rel: Release) -> None:
    from tests.integration.test_quality_ncr import Quality
    rel.plan()
    out = rel.into("QA", 100)
    lot = out["moves"][0]["lot"]
    il = rel.inspection_of(out["id"])
    rel.judge(il, bad=il["sample_size"])
    ncr = rel.find("nonconformance", inspection_lot=il["id"])[0]
    assert ncr["location"] == rel.loc["QA"] and rel.lot_status(lot) == "blocked"
    version = rel.get(f"/api/records/nonconformance/{ncr['id']}")["row_version"]
    r = rel.client.patch(f"/api/records/nonconformance/{ncr['id']}", headers=rel.h("qc1"), json={
        "row_version": version, "dispositions": [{"disposition": "scrap", "qty": 30}, {"disposition": "use_as_is", "qty": 70}]})
    assert r.status_code == 200, r.text
    Quality.approve(rel, ncr["id"])            # type: ignore[arg-type]
    before = {t["code"] for t in rel.transfers()}
    done = rel.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", {}, who="store1")
    line = done["dispositions"][1]["posted_document"]
    drafts = [t for t in rel.transfers() if t["code"] not in before and t["status"] == "draft"]
    assert len(drafts) == 1 and drafts[0]["code"] in line and "放行" in line
    assert [(float(ln["qty"]), ln["lot"], ln["from_location"], ln["to_location"]) for ln in drafts[0]["lines"]] == \
        [(70.0, lot, rel.loc["QA"], rel.loc["A01"])]
    assert any(drafts[0]["code"] in n["title"] and ncr["code"] in n["title"] for n in rel.notes("store1"))
    count = len(rel.transfers())
    rel.post(f"/api/records/nonconformance/{ncr['id']}/transitions/execute", {}, who="qcm", status=(200, 409))
    assert len(rel.transfers()) == count
    rel.post(f"/api/inventory/documents/stock_transfer/{drafts[0]['id']}/post", {}, who="store1")
    assert rel.qty(ITEM, "A01", lot) == 70 and rel.qty(ITEM, "QA", lot) == 0
    rel.agrees()
