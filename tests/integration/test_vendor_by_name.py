"""A supplier typed as a name on a document (API clients, imported files and ERP pushes that sent the
supplier as text before core 1.6.0) still works: a name no vendor has is added to 供应商档案 once, noted for
the purchaser to complete; the same name again is the same vendor; a name of a vendor the writer cannot use
is not made twice."""
from __future__ import annotations

import sqlalchemy as sa

from mom.platform.db.engine import read_tx
from tests.integration.inventory_helpers import Store
import pytest


@pytest.fixture
def store(plant, client, engine) -> Store:  # type: ignore[no-untyped-def]
    return Store(client, engine)


def _vendors(store: Store, name: str) -> list[dict]:
    return [v for v in store.get("/api/records/vendor?limit=200", who="admin")["items"] if v["name"] == name]


def test_a_new_supplier_name_on_a_receipt_becomes_one_vendor(store: Store) -> None:
    line = [{"item": next(iter(store.items.values())), "qty": 5, "to_location": store.loc["A01"]}]
    first = store.doc("stock_receipt", line, supplier="乐清新开铸造厂")
    made = _vendors(store, "乐清新开铸造厂")
    assert len(made) == 1 and made[0]["code"].startswith("V") and "采购员补全" in made[0]["note"]
    again = store.doc("stock_receipt", line, supplier="乐清新开铸造厂")
    assert len(_vendors(store, "乐清新开铸造厂")) == 1
    for doc in (first, again):
        rec = store.get(f"/api/records/stock_receipt/{doc['id']}")
        assert rec["supplier"] == made[0]["id"] and rec["_display"]["supplier"] == "乐清新开铸造厂"
    # a purchase order typed by name finds the same vendor
    po = store.post("/api/records/purchase_order", {"supplier": "乐清新开铸造厂"}, who="admin")
    assert po["supplier"] == made[0]["id"]


def test_a_name_that_cannot_be_a_vendor_is_refused_and_nothing_is_written(store: Store, engine) -> None:  # type: ignore[no-untyped-def]
    line = [{"item": next(iter(store.items.values())), "qty": 5, "to_location": store.loc["A01"]}]
    with read_tx(engine) as conn:
        before = conn.execute(sa.text("select count(*) from stock_receipt")).scalar()
    r = store.doc("stock_receipt", line, supplier="厂" * 101, status=422)
    assert "供应商" in str(r)
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("select count(*) from stock_receipt")).scalar() == before
    assert _vendors(store, "厂" * 101) == []
