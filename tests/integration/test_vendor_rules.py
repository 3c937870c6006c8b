"""The supplier master's rules after the review of core 1.6.0 (SQLite and PostgreSQL):

- a reference value is an id or a text: an object, a list or a fraction typed into 供应商 is refused (422 naming
  the field), never made into a vendor named ``{'a': 1}``;
- one write makes at most 20 vendors from typed names, all or nothing (a bulk of NCRs naming 2,000 new
  suppliers made 2,000 vendors as an inspector);
- a vendor's code and name are saved trimmed, so 「鞍钢 」 is refused beside 鞍钢, and the refusal names the other
  vendor by its code and name, never by an internal id;
- a filter on a vendor field the reader may not see is worded with labels, like one that does not exist;
- a vendor marked 停用 is not picked on a new purchase order or receipt (edits keeping it pass).
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store

_PW = {"admin": "admin123", "qc1": "qc1pass123", "buyer": "buyerpass123", "planner": "plannerpass123", "op1": "op1-pass-1"}


@pytest.fixture
def store(plant, client, engine) -> Store:  # type: ignore[no-untyped-def]
    s = Store(client, engine)
    with write_tx(engine) as conn:
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op1-pass-1"), roles=["operator"])
    s._passwords.update(_PW)   # the demo plant's people
    return s


def _count(store: Store, table: str) -> int:
    with read_tx(store.engine) as conn:
        return int(conn.execute(sa.text(f"select count(*) from {table} where deleted_at is null")).scalar() or 0)


def _words(r: Any) -> str:
    body = r.json()
    return body["message"]["zh-CN"] + "".join(p["message"]["zh-CN"] for p in body.get("problems") or [])


def _ncr(store: Store, **over: Any) -> dict[str, Any]:
    return {"title": "阀体砂眼", "item": next(iter(store.items.values())), "qty": 1} | over


def test_a_supplier_typed_as_an_object_a_list_or_a_fraction_is_refused(store: Store) -> None:
    vendors = _count(store, "vendor")
    for bad in ({"a": 1}, ["x"], 1.5, {"id": {"a": 1}}):
        r = store.client.post("/api/records/nonconformance", json=_ncr(store, supplier=bad), headers=store.h("qc1"))
        assert r.status_code == 422, (bad, r.text)
        [p] = r.json()["problems"]
        assert p["path"] == "/supplier" and p["message"]["zh-CN"].startswith("供应商") and "id（整数）或名称" in p["message"]["zh-CN"]
    assert _count(store, "vendor") == vendors
    # an id, {"id": …}, a whole number sent as 12.0 and a name still work
    anshan = store.find("vendor", name="鞍钢")[0]["id"]
    for good in (anshan, {"id": anshan}, float(anshan), "鞍钢", str(anshan)):
        assert store.post("/api/records/nonconformance", _ncr(store, supplier=good), who="qc1")["supplier"] == anshan


def test_one_write_makes_at_most_20_vendors_from_typed_names_all_or_nothing(store: Store) -> None:
    vendors, ncrs = _count(store, "vendor"), _count(store, "nonconformance")
    bulk = [_ncr(store, supplier=f"新供应商{i:03d}") for i in range(21)] + [_ncr(store, supplier="鞍钢")]
    r = store.client.post("/api/records/nonconformance", json=bulk, headers=store.h("qc1"))
    assert r.status_code == 422, r.text
    assert "一次最多自动建立 20 个新的供应商档案记录" in _words(r) and "分批提交" in _words(r)
    assert {p["path"] for p in r.json()["problems"]} == {f"/{i}/supplier" for i in range(21)}
    assert _count(store, "vendor") == vendors and _count(store, "nonconformance") == ncrs    # nothing written
    # twenty in one write, and twenty more in the next, are made
    made = store.post("/api/records/nonconformance", bulk[:20], who="qc1")
    assert len(made) == 20 and _count(store, "vendor") == vendors + 20
    store.post("/api/records/nonconformance", [_ncr(store, supplier=f"又一家{i}") for i in range(20)], who="qc1")
    assert _count(store, "vendor") == vendors + 40


def test_vendor_names_and_codes_are_saved_trimmed_and_a_duplicate_names_the_other_vendor(store: Store) -> None:
    anshan = store.find("vendor", name="鞍钢")[0]
    r = store.client.post("/api/records/vendor", json={"code": "VX2", "name": "鞍钢 "}, headers=store.h("buyer"))
    assert r.status_code == 409 and r.json()["problems"][0]["path"] == "/name", r.text
    assert "#" not in r.text
    made = store.post("/api/records/vendor", {"code": "VX3", "name": " 本溪钢铁 "}, who="buyer")
    assert (made["code"], made["name"]) == ("VX3", "本溪钢铁")
    assert [v["id"] for v in store.find("vendor", name="本溪钢铁")] == [made["id"]]
    # renaming onto a taken name: refused, naming the other vendor by its code and name
    url = f"/api/records/vendor/{made['id']}"
    r = store.client.patch(url, json={"name": " 鞍钢", "row_version": made["row_version"]}, headers=store.h("buyer"))
    assert r.status_code == 409, r.text
    assert f"已被 {anshan['code']} 鞍钢 使用" in r.json()["problems"][0]["message"]["zh-CN"] and f"#{anshan['id']}" not in r.text
    r = store.client.post("/api/records/vendor", json={"code": "VX4", "name": "   "}, headers=store.h("buyer"))
    assert r.status_code == 422 and "/name" in {p["path"] for p in r.json()["problems"]}, r.text


def test_a_filter_on_a_vendor_field_out_of_sight_is_worded_with_labels(store: Store) -> None:
    answers = []
    for field in ("phone", "no_such_field"):
        r = store.client.get(f"/api/records/stock_receipt?supplier.{field}__eq=x", headers=store.h("op1"))
        assert r.status_code == 422, r.text
        zh = r.json()["message"]["zh-CN"]
        assert "供应商档案" in zh and "供应商名称" in zh and "vendor" not in zh and field not in zh
        assert "联系电话" not in zh        # a hidden field is not named
        answers.append(r.json()["message"])
    assert answers[0] == answers[1]         # hidden answers like missing
    assert store.client.get("/api/records/stock_receipt?supplier.name__eq=鞍钢", headers=store.h("op1")).status_code == 200
    # who may see the phone filters on it
    assert store.client.get("/api/records/stock_receipt?supplier.phone__eq=x", headers=store.h("admin")).status_code == 200


def test_a_disabled_vendor_is_not_picked_on_new_purchase_orders_and_receipts(store: Store) -> None:
    v = store.post("/api/records/vendor", {"code": "OLD1", "name": "旧供应商"}, who="buyer")
    po = store.post("/api/records/purchase_order", {"supplier": v["id"], "note": "before"}, who="planner")
    line = [{"item": next(iter(store.items.values())), "qty": 5, "to_location": store.loc["A01"]}]
    receipt = store.doc("stock_receipt", line, supplier=v["id"])
    store.client.patch(f"/api/records/vendor/{v['id']}", json={"status": "disabled", "row_version": v["row_version"]},
                       headers=store.h("buyer")).raise_for_status()
    receipts, orders = _count(store, "stock_receipt"), _count(store, "purchase_order")
    for r in (store.client.post("/api/records/purchase_order", json={"supplier": v["id"]}, headers=store.h("planner")),
              store.client.post("/api/records/purchase_order", json={"supplier": "旧供应商"}, headers=store.h("planner")),
              store.client.post("/api/inventory/documents/stock_receipt", json={"supplier": v["id"], "lines": line},
                                headers=store.h("store1"))):
        assert r.status_code == 422, r.text
        assert "旧供应商 在供应商档案中已停用" in _words(r) and r.json()["problems"][0]["path"] == "/supplier"
    assert (_count(store, "stock_receipt"), _count(store, "purchase_order")) == (receipts, orders)
    # the documents already pointing at it keep it: edited, and the receipt reversed
    po = store.get(f"/api/records/purchase_order/{po['id']}", who="planner")
    r = store.client.patch(f"/api/records/purchase_order/{po['id']}", json={"note": "after", "row_version": po["row_version"]},
                           headers=store.h("planner"))
    assert r.status_code == 200 and r.json()["supplier"] == v["id"], r.text
    store.post(f"/api/inventory/documents/stock_receipt/{receipt['id']}/reverse", who="store1", status=201)
    # … but an order is not switched to it
    other = store.post("/api/records/purchase_order", {"supplier": "鞍钢"}, who="planner")
    r = store.client.patch(f"/api/records/purchase_order/{other['id']}", json={"supplier": v["id"], "row_version": other["row_version"]},
                           headers=store.h("planner"))
    assert r.status_code == 422 and "已停用" in _words(r)
    # quality documents are about goods already received: an NCR against it is still written
    assert store.post("/api/records/nonconformance", _ncr(store, supplier=v["id"]), who="qc1")["supplier"] == v["id"]
