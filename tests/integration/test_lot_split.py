"""Splitting and merging lots (批次拆分 / 批次合并, issue 21 item 2), posted through the stock engine like
any stock document: quantity conserved exactly, lot attributes (heat number, supplier lot, expiry, status)
carried over, genealogy edges split/merge in lot_link, refusals in words (more than the lot holds, a lot of
another item, different heat numbers, a serial), nothing half-written, a reversal puts everything back and
retracts the edges. SQLite and PostgreSQL; the ledger and the balances agree after each test."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.db.engine import read_tx
from tests.integration.inventory_helpers import Store
from tests.integration.lot_fixtures import item, lot, lot_store


@pytest.fixture
def store(core_pack, client, engine) -> Store:  # type: ignore[no-untyped-def]
    s = lot_store(client, engine)
    item(s, "RM-WCB", "铸钢 WCB", spec="ASTM A216 WCB")
    return s


def _receive(store: Store, qty: Any, number: str, heat: str | None = "H23-0815", **line: Any) -> int:
    line = {"supplier_lot": "AG-7781", "expiry_date": "2027-06-30", **line}
    return int(store.receive("RM-WCB", qty, lot_number=number, heat_number=heat, **line)["moves"][0]["lot"])


def _links(store: Store, doc_form: str) -> list[tuple[int, int, float, str, bool]]:
    """(parent, child, qty, relation, live) of the lot_link rows a document form made."""
    with read_tx(store.engine) as conn:
        rows = conn.execute(sa.text(
            "SELECT l.parent_lot, l.child_lot, l.qty, l.relation, "
            "NOT EXISTS (SELECT 1 FROM lot_link r WHERE r.retracts = l.id) AS live "
            "FROM lot_link l WHERE l.document_form = :f AND l.retracts IS NULL ORDER BY l.id"), {"f": doc_form}).all()
    return [(int(a), int(b), float(q), r, bool(live)) for a, b, q, r, live in rows]


def _split(store: Store, source: int, lines: list[dict[str, Any]], status: int | tuple[int, ...] = 201, loc: str = "A01") -> Any:
    return store.doc("lot_split", lines, status=status, item=store.items["RM-WCB"], location=store.loc[loc], source_lot=source)


def test_a_split_moves_quantity_into_new_lots_that_keep_the_heat_number(store: Store) -> None:
    src = _receive(store, 100, "W-001")
    out = _split(store, src, [{"qty": 30}, {"qty": 20.5, "lot_number": "W-001-B"}])
    assert out["status"] == "posted" and out["code"].startswith("LS-")
    assert sum(m["qty"] for m in out["moves"]) == 0                    # conserved exactly
    new = [m["lot"] for m in out["moves"] if m["qty"] > 0]
    a, b = lot(store, new[0]), lot(store, new[1])
    assert a["number"].startswith("RM-WCB-") and b["number"] == "W-001-B"
    for x in (a, b):
        assert (x["heat_number"], x["supplier_lot"], x["expiry_date"], x["status"]) == ("H23-0815", "AG-7781", "2027-06-30", "released")
    assert store.qty("RM-WCB", "A01", src) == 49.5 and store.qty("RM-WCB", "A01", new[0]) == 30
    assert store.qty("RM-WCB", "A01", new[1]) == 20.5 and store.qty("RM-WCB", "A01") == 100
    assert _links(store, "lot_split") == [(src, new[0], 30.0, "split", True), (src, new[1], 20.5, "split", True)]
    labels = [m["document_label"] for m in store.get(f"/api/inventory/moves?lot={b['number']}", who="store1")["moves"]]
    assert labels == ["批次拆分"]
    store.agrees()


def test_a_split_of_more_than_the_lot_holds_is_refused_and_writes_nothing(store: Store) -> None:
    src = _receive(store, 40, "W-002")
    before = (store.count("stock_move"), store.count("lot"), store.count("lot_link"), store.count("lot_split"))
    r = store.client.post("/api/inventory/documents/lot_split", headers=store.h("store1"), json={
        "item": store.items["RM-WCB"], "location": store.loc["A01"], "source_lot": src, "lines": [{"qty": 30}, {"qty": 15}]})
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert "W-002" in msg and "原料仓 A-01" in msg and "只有 40" in msg and "45" in msg
    assert (store.count("stock_move"), store.count("lot"), store.count("lot_link"), store.count("lot_split")) == before
    r = store.client.post("/api/inventory/documents/lot_split", headers=store.h("store1"), json={     # not at that location
        "item": store.items["RM-WCB"], "location": store.loc["A02"], "source_lot": src, "lines": [{"qty": 1}]})
    assert r.status_code == 409 and "原料仓 A-02" in r.json()["message"]["zh-CN"] and "只有 0" in r.json()["message"]["zh-CN"]
    other = int(store.receive("RM-HT250", 10, lot_number="HT-1")["moves"][0]["lot"])
    r = store.client.post("/api/inventory/documents/lot_split", headers=store.h("store1"), json={
        "item": store.items["RM-WCB"], "location": store.loc["A01"], "source_lot": other, "lines": [{"qty": 1}]})
    assert r.status_code == 422 and "HT-1" in r.json()["message"]["zh-CN"] and "不是物料「铸钢 WCB」的批次" in r.json()["message"]["zh-CN"]
    assert r.json()["problems"][0]["path"] == "/source_lot"
    store.agrees()


def test_a_merge_makes_one_lot_of_one_heat_and_refuses_two_heats(store: Store) -> None:
    a = _receive(store, 12, "W-010", expiry_date="2027-03-31")
    b = _receive(store, 8, "W-011")
    c = _receive(store, 5, "W-012", heat="H24-0102")
    before = (store.count("stock_move"), store.count("lot"), store.count("lot_link"))
    r = store.client.post("/api/inventory/documents/lot_merge", headers=store.h("store1"), json={
        "item": store.items["RM-WCB"], "location": store.loc["A01"], "lines": [{"lot": a}, {"lot": c}]})
    assert r.status_code == 409, r.text
    msg = r.json()["message"]["zh-CN"]
    assert "H23-0815" in msg and "H24-0102" in msg and "不同炉号" in msg and r.json()["problems"][0]["path"] == "/lines/1/lot"
    assert (store.count("stock_move"), store.count("lot"), store.count("lot_link")) == before
    out = store.doc("lot_merge", [{"lot": a}, {"lot": b, "qty": 6}], item=store.items["RM-WCB"], location=store.loc["A01"],
                    target_number="W-M01")
    assert out["code"].startswith("LM-") and sum(m["qty"] for m in out["moves"]) == 0
    merged = next(m["lot"] for m in out["moves"] if m["qty"] > 0)
    m = lot(store, merged)
    assert (m["number"], m["heat_number"], m["expiry_date"], m["status"]) == ("W-M01", "H23-0815", "2027-03-31", "released")
    assert store.qty("RM-WCB", "A01", merged) == 18 and store.qty("RM-WCB", "A01", a) == 0 and store.qty("RM-WCB", "A01", b) == 2
    assert _links(store, "lot_merge") == [(a, merged, 12.0, "merge", True), (b, merged, 6.0, "merge", True)]
    store.agrees()


def test_a_merge_into_an_existing_lot_takes_all_of_each_source_when_no_quantity_is_given(store: Store) -> None:
    a, b, t = _receive(store, 3, "W-020"), _receive(store, 4, "W-021"), _receive(store, 10, "W-022")
    store.doc("lot_merge", [{"lot": a}, {"lot": b}], item=store.items["RM-WCB"], location=store.loc["A01"], target_lot=t)
    assert (store.qty("RM-WCB", "A01", t), store.qty("RM-WCB", "A01", a), store.qty("RM-WCB", "A01", b)) == (17, 0, 0)
    r = store.client.post("/api/inventory/documents/lot_merge", headers=store.h("store1"), json={
        "item": store.items["RM-WCB"], "location": store.loc["A01"], "target_lot": t, "lines": [{"lot": t}]})
    assert r.status_code == 422 and "W-022" in r.json()["message"]["zh-CN"]
    store.agrees()


def test_reversing_a_split_puts_the_stock_back_and_retracts_the_genealogy(store: Store) -> None:
    src = _receive(store, 50, "W-030")
    out = _split(store, src, [{"qty": 20}])
    new = next(m["lot"] for m in out["moves"] if m["qty"] > 0)
    rev = store.post(f"/api/inventory/documents/lot_split/{out['id']}/reverse", who="store1", status=201)
    assert rev["reversal_of"] == out["id"] and sorted(m["qty"] for m in rev["moves"]) == [-20, 20]
    assert store.get(f"/api/records/lot_split/{out['id']}")["status"] == "reversed"
    assert store.qty("RM-WCB", "A01", src) == 50 and store.qty("RM-WCB", "A01", new) == 0
    assert _links(store, "lot_split") == [(src, new, 20.0, "split", False)]
    store.agrees()


def test_the_forms_post_button_splits_too(store: Store) -> None:
    src = _receive(store, 10, "W-040")
    made = store.post("/api/records/lot_split", {"item": store.items["RM-WCB"], "location": store.loc["A01"], "source_lot": src,
                                                 "lines": [{"qty": 4, "lot_number": "W-040-2"}]}, who="store1")
    assert made["status"] == "draft" and store.qty("RM-WCB", "A01", src) == 10
    r = store.client.post(f"/api/records/lot_split/{made['id']}/transitions/post", headers=store.h("store1"),
                          json={"row_version": made["row_version"]})
    assert r.status_code == 200, r.text
    assert store.qty("RM-WCB", "A01", src) == 6 and store.get(f"/api/records/lot_split/{made['id']}")["status"] == "posted"
    store.agrees()


def test_serials_and_untracked_items_are_not_split(store: Store) -> None:
    item(store, "FG-V80", "闸阀 DN80", unit="台", tracking="serial")
    serial = int(store.receive("FG-V80", 1)["moves"][0]["lot"])
    r = store.client.post("/api/inventory/documents/lot_split", headers=store.h("store1"), json={
        "item": store.items["FG-V80"], "location": store.loc["A01"], "source_lot": serial, "lines": [{"qty": 1}]})
    assert r.status_code == 422 and "序列号" in r.json()["message"]["zh-CN"] and r.json()["problems"][0]["path"] == "/item"
    r = store.client.post("/api/inventory/documents/lot_merge", headers=store.h("store1"), json={
        "item": store.items["PT-M12"], "location": store.loc["A01"], "lines": [{"lot": serial}]})
    assert r.status_code == 422 and "不按批次管理" in r.json()["message"]["zh-CN"]
    store.agrees()


def test_the_lot_forms_old_parents_table_is_not_a_second_genealogy(store: Store) -> None:
    a, b = _receive(store, 5, "W-050"), _receive(store, 5, "W-051")
    row = store.get(f"/api/records/lot/{b}")
    r = store.client.patch(f"/api/records/lot/{b}", headers=store.h("store1"), json={
        "parents": [{"lot": a, "qty": 5, "relation": "merge"}], "row_version": row["row_version"]})
    assert r.status_code in (200, 403, 409, 422), r.text
    assert store.get(f"/api/records/lot/{b}").get("parents") in (None, [])


def test_trace_follows_splits_and_merges_both_ways(store: Store) -> None:
    a, b = _receive(store, 10, "W-060"), _receive(store, 10, "W-061")
    split = _split(store, a, [{"qty": 4, "lot_number": "W-060-S"}])
    piece = next(m["lot"] for m in split["moves"] if m["qty"] > 0)
    store.doc("lot_merge", [{"lot": piece}, {"lot": b}], item=store.items["RM-WCB"], location=store.loc["A01"],
              target_number="W-M60")
    back = store.get("/api/trace/backward?lot=W-M60&item=RM-WCB", who="store1")
    assert {x["number"] for x in back["lots"]} >= {"W-M60", "W-060-S", "W-061", "W-060"}
    assert {x["relation_label"] for x in back["links"]} == {"拆分", "合并"}
    fwd = store.get("/api/trace/forward?lot=W-060&item=RM-WCB", who="store1")
    assert {x["number"] for x in fwd["lots"]} >= {"W-060-S", "W-M60"} and "W-061" not in {x["number"] for x in fwd["lots"]}
    store.agrees()
