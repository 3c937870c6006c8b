"""Lot labels (批次标签, issue 21 item 2) through the print API: one lot's label and the labels of the
lots a receipt made, 60 × 40 mm, with item, spec, lot number, quantity, heat number, supplier lot, date
and a QR code carrying the scan text ``LOT:<item code>:<lot number>`` (its SVG is the one segno makes
for exactly that text: no QR decoder is installed here, so the module matrix is compared, not decoded);
PDF too. SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest

from mom.engines.inventory import labels
from mom.engines.reports.printing import qr_svg
from tests.integration.inventory_helpers import Store
from tests.integration.lot_fixtures import item, lot_store


@pytest.fixture
def store(core_pack, client, engine) -> Store:  # type: ignore[no-untyped-def]
    s = lot_store(client, engine)
    item(s, "RM-WCB", "铸钢 WCB", spec="ASTM A216 WCB")
    return s


def _qrs(page: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", page, re.S)


def test_one_lots_label_carries_its_facts_and_a_qr_of_its_scan_text(store: Store) -> None:
    store.receive("RM-WCB", 120, lot_number="W-100", heat_number="H23-0815", supplier_lot="AG-7781")
    r = store.client.get("/api/print/lot_label?lot=W-100", headers=store.h("store1"))
    assert r.status_code == 200, r.text
    page = r.text
    assert "size: 60mm 40mm" in page
    for fact in ("铸钢 WCB", "ASTM A216 WCB", "W-100", "120", "kg", "H23-0815", "AG-7781"):
        assert fact in page, fact
    text = labels.scan_text("RM-WCB", "W-100")
    assert text == "LOT:RM-WCB:W-100" and labels.parse(text) == ("RM-WCB", "W-100")
    assert _qrs(page) == [str(qr_svg(text, 22))]
    assert str(qr_svg("LOT:RM-WCB:W-101", 22)) not in page
    pdf = store.client.get("/api/print/lot_label?lot=W-100&format=pdf", headers=store.h("store1"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"


def test_a_receipts_labels_are_one_per_lot_it_made(store: Store) -> None:
    out = store.doc("stock_receipt", [
        {"item": store.items["RM-WCB"], "qty": 30, "to_location": store.loc["A01"], "heat_number": "H1"},
        {"item": store.items["RM-WCB"], "qty": 45, "to_location": store.loc["A01"], "heat_number": "H2"},
        {"item": store.items["PT-M12"], "qty": 500, "to_location": store.loc["A01"]}], supplier="鞍钢")
    lots = [m["lot"] for m in out["moves"] if m["lot"] is not None]
    numbers = [store.get(f"/api/records/lot/{i}")["number"] for i in lots]
    page = store.client.get(f"/api/print/lot_labels?document={out['code']}", headers=store.h("store1")).text
    assert page.count('class="label') == 2 and "螺栓" not in page         # the untracked line has no lot, no label
    assert _qrs(page) == [str(qr_svg(labels.scan_text("RM-WCB", n), 22)) for n in numbers]
    assert "H1" in page and "H2" in page and ">30<" in page and ">45<" in page


def test_a_label_without_its_lot_or_document_number_is_refused_in_words(store: Store) -> None:
    r = store.client.get("/api/print/lot_label", headers=store.h("store1"))
    assert r.status_code == 422, r.text
    page = store.client.get("/api/print/lot_label?lot=NO-SUCH", headers=store.h("store1"))
    assert page.status_code == 200 and "没有可打印的批次" in page.text
