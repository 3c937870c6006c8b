"""Lot numbering rules per item (批次号规则, issue 21 item 2): a receipt numbers its new lots by the
item's rule, the sequence restarting per the rule's date part and per heat number; serials use the
same rule; a bad rule is refused when the item is saved, naming the bad placeholder; the default stays
``<code>-<yyyyMMdd>-<seq:3>``. SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from mom.engines.inventory import numbering
from mom.platform.db.engine import read_tx, write_tx
from tests.integration.inventory_helpers import Store
from tests.integration.lot_fixtures import item, lot, lot_store

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def store(core_pack, client, engine) -> Store:  # type: ignore[no-untyped-def]
    return lot_store(client, engine)


def _today(store: Store) -> dt.date:
    return dt.datetime.now(dt.timezone.utc).astimezone(TZ).date()


def test_a_receipt_numbers_its_lot_by_the_items_rule_and_the_sequence_counts_on(store: Store) -> None:
    item(store, "VB-WCB", "阀体 WCB", lot_rule="LV{yyMM}{seq:4}")
    first = store.receive("VB-WCB", 10)["moves"][0]["lot"]
    second = store.receive("VB-WCB", 5)["moves"][0]["lot"]
    numbers = [lot(store, first)["number"], lot(store, second)["number"]]
    months = {f"LV{d:%y%m}" for d in (dt.date.today(), _today(store))}      # the plant's month (UTC+8)
    assert numbers[0][:6] in months and numbers == [numbers[0][:6] + "0001", numbers[0][:6] + "0002"]
    store.agrees()


def test_the_default_rule_is_code_day_and_three_digits(store: Store) -> None:
    item(store, "RM-Q235", "钢板 Q235")
    number = lot(store, store.receive("RM-Q235", 500)["moves"][0]["lot"])["number"]
    assert number.startswith("RM-Q235-") and number.endswith("-001") and len(number) == len("RM-Q235-20261203-001")
    store.agrees()


def test_a_rule_with_the_heat_number_numbers_each_heat_on_its_own(store: Store) -> None:
    item(store, "RM-CF8", "不锈钢棒 CF8", lot_rule="{heat_number}-{seq:2}")
    got = [lot(store, store.receive("RM-CF8", 100, heat_number=h)["moves"][0]["lot"]) for h in ("H2311", "H2311", "H2402")]
    assert [x["number"] for x in got] == ["H2311-01", "H2311-02", "H2402-01"]
    assert [x["heat_number"] for x in got] == ["H2311", "H2311", "H2402"]
    before = store.count("stock_move")
    r = store.client.post("/api/inventory/documents/stock_receipt", headers=store.h("store1"), json={
        "supplier": "鞍钢", "lines": [{"item": store.items["RM-CF8"], "qty": 5, "to_location": store.loc["A01"]}]})
    assert r.status_code == 422, r.text
    assert "炉号" in r.json()["message"]["zh-CN"] and r.json()["problems"][0]["path"] == "/lines/0/heat_number"
    assert store.count("stock_move") == before
    store.agrees()


def test_serials_are_numbered_by_the_same_rule(store: Store) -> None:
    item(store, "FG-V80", "闸阀 DN80", unit="台", tracking="serial", lot_rule="SN{yy}{seq:5}")
    out = store.receive("FG-V80", 3)
    numbers = sorted(lot(store, m["lot"])["number"] for m in out["moves"])
    yy = f"{_today(store):%y}"
    assert numbers == [f"SN{yy}00001", f"SN{yy}00002", f"SN{yy}00003"]
    assert all(lot(store, m["lot"])["is_serial"] for m in out["moves"])
    store.agrees()


def test_the_sequence_restarts_with_the_rules_date_part(store: Store, engine) -> None:  # type: ignore[no-untyped-def]
    iid = item(store, "CS-50", "铸件 DN50", lot_rule="C{yyyyMM}-{seq:3}")
    with write_tx(engine) as conn:
        row = {"id": iid, "code": "CS-50", "lot_rule": "C{yyyyMM}-{seq:3}"}
        nov = numbering.numbers(conn, None, dt.datetime(2026, 11, 30, 23, 0, tzinfo=TZ), row, 2)
        dec = numbering.numbers(conn, None, dt.datetime(2026, 12, 1, 8, 0, tzinfo=TZ), row, 1)
        nov2 = numbering.numbers(conn, None, dt.datetime(2026, 11, 2, 8, 0, tzinfo=TZ), row, 1)
    assert (nov, dec, nov2) == (["C202611-001", "C202611-002"], ["C202612-001"], ["C202611-003"])


def test_a_number_an_items_lot_already_has_is_skipped(store: Store) -> None:
    item(store, "RM-A105", "锻件 A105", lot_rule="F{seq:3}")
    store.receive("RM-A105", 1, lot_number="F001")                # typed in by hand earlier
    number = lot(store, store.receive("RM-A105", 2)["moves"][0]["lot"])["number"]
    assert number == "F002"
    store.agrees()


@pytest.mark.parametrize("rule, named", [
    ("{code}-{yyyymmdd}-{seq:3}", "{yyyymmdd}"),
    ("{code}-{yyyyMMdd}", "{seq:N}"),
    ("LV{yyMM}{seq}", "{seq}"),
    ("{code}-{yyyyMMdd-{seq:3}", "{yyyyMMdd-"),
    ("{heat}-{seq:2}", "{heat}"),
    ("{seq:2}{seq:3}", "{seq:N}"),
])
def test_a_bad_rule_is_refused_when_the_item_is_saved_naming_the_bad_placeholder(store: Store, rule: str, named: str) -> None:
    iid = item(store, "RM-X", "试验料")
    version = store.get(f"/api/records/item/{iid}")["row_version"]
    r = store.client.patch(f"/api/records/item/{iid}", headers=store.h("admin"), json={"lot_rule": rule, "row_version": version})
    assert r.status_code == 422, r.text
    body = r.json()
    assert "批次号规则" in body["message"]["zh-CN"] and named in body["message"]["zh-CN"]
    assert body["problems"][0]["path"] == "/lot_rule"
    assert store.get(f"/api/records/item/{iid}").get("lot_rule") in (None, "")
    r = store.client.post("/api/records/item", headers=store.h("admin"),
                          json={"code": "RM-Y", "name": "试验料二", "unit": "kg", "lot_rule": rule})
    assert r.status_code == 422 and named in r.json()["message"]["zh-CN"]
    with read_tx(store.engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM item WHERE code = 'RM-Y'").scalar_one() == 0


def test_concurrent_receipts_never_get_the_same_number(store: Store, engine) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    iid = item(store, "RM-CC", "并发试验料", lot_rule="C{yyMMdd}{seq:3}")
    row = {"id": iid, "code": "RM-CC", "lot_rule": "C{yyMMdd}{seq:3}"}
    at = dt.datetime(2026, 12, 3, 9, 0, tzinfo=TZ)

    def take(_: int) -> list[str]:
        with write_tx(engine) as conn:
            return numbering.numbers(conn, None, at, row, 3)

    with ThreadPoolExecutor(6) as pool:
        got = [n for ns in pool.map(take, range(6)) for n in ns]
    assert sorted(got) == [f"C261203{n:03d}" for n in range(1, 19)]
