"""Stock posting under pressure (issue 21, item 8): twenty storekeepers issuing the last ten units of a lot
at once — exactly ten succeed and the balance never goes below zero; a posting retried with the same
client_id posts once, also when the retries arrive together; a crash after the ledger rows were written
leaves nothing half-posted. On PostgreSQL the threads really run at once (row and advisory locks); SQLite
serialises writers. The ledger and balances agree at the end of each."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mom.engines.inventory import balances as B
from mom.engines.inventory import posting as P
from mom.engines.records.context import Ctx, actor_by_username
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import Conflict
from tests.integration.inventory_helpers import Store


@pytest.fixture
def store(plant, client, engine) -> Store:  # type: ignore[no-untyped-def]
    return Store(client, engine)


def _ctx(store: Store, who: str = "store1") -> Ctx:
    with read_tx(store.engine) as conn:
        actor = actor_by_username(conn, who)
    assert actor is not None
    return Ctx(actor=actor, now=Ctx.system().now)


def _order(store: Store) -> int:
    made = store.post("/api/records/production_order", {"item": store.items["FG-V50"], "qty": 5, "due_date": "2030-12-15 17:00"},
                      status=201)
    return int(made["id"])


def test_twenty_issues_of_the_last_ten_units_exactly_ten_succeed(store: Store) -> None:
    lot = store.receive("RM-HT250", 10, lot_number="L-LAST10")["moves"][0]["lot"]
    order, forms, ctx = _order(store), form_registry(), _ctx(store)
    # twenty drafts first (their numbers come from one sequence row, which would queue the writers), then
    # twenty postings at once: only the stock's own locks stand between them
    drafts = [store.post("/api/records/stock_issue", {"production_order": order, "lines": [
        {"item": store.items["RM-HT250"], "qty": 1, "from_location": store.loc["A01"], "lot": lot}]}, who="store1", status=201)["id"]
        for _ in range(20)]
    start = threading.Barrier(20)

    def issue(doc_id: int) -> str:
        start.wait()
        try:
            with write_tx(store.engine) as conn:
                P.post(conn, forms, ctx, "stock_issue", doc_id)
            return "ok"
        except Conflict as exc:
            assert "库存不足" in exc.zh and "L-LAST10" in exc.zh, exc.zh
            return "refused"

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(issue, drafts))
    assert results.count("ok") == 10 and results.count("refused") == 10
    assert store.qty("RM-HT250", "A01", lot) == 0
    posted = [store.get(f"/api/records/stock_issue/{d}")["status"] for d in drafts]
    assert posted.count("posted") == 10 and posted.count("draft") == 10
    assert store.count("stock_move") == 1 + 10
    store.agrees()


def test_the_same_client_id_posts_once_even_when_the_retries_arrive_together(store: Store) -> None:
    body = {"supplier": "鞍钢", "client_id": "scan-7f3a-0001",
            "lines": [{"item": store.items["PT-M12"], "qty": 100, "to_location": store.loc["A01"]}]}
    first = store.post("/api/inventory/documents/stock_receipt", body, who="store1", status=201)
    again = store.post("/api/inventory/documents/stock_receipt", body, who="store1", status=200)
    assert again["duplicate"] and again["id"] == first["id"] and again["moves"] == first["moves"]
    head = store.h("store1")
    together = {**body, "client_id": "scan-7f3a-0002"}
    start = threading.Barrier(5)

    def send(_: int) -> Any:
        start.wait()
        return store.client.post("/api/inventory/documents/stock_receipt", json=together, headers=head)

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(send, range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert store.qty("PT-M12", "A01") == 200 and store.count("stock_receipt") == 2
    store.agrees()


def test_a_crash_after_the_ledger_insert_leaves_nothing_half_posted(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.receive("PT-M12", 40)
    forms, ctx = form_registry(), _ctx(store)
    draft = store.post("/api/records/stock_transfer", {"lines": [
        {"item": store.items["PT-M12"], "qty": 15, "from_location": store.loc["A01"], "to_location": store.loc["LS1"]}]},
        who="store1", status=201)
    before = store.count("stock_move"), store.count("lot"), store.count("stock_receipt")

    def crash(*args: Any, **kw: Any) -> None:
        raise RuntimeError("the server died after the ledger rows were written")

    monkeypatch.setattr(B, "write", crash)
    with pytest.raises(RuntimeError):
        with write_tx(store.engine) as conn:
            P.post(conn, forms, ctx, "stock_transfer", int(draft["id"]))
    with pytest.raises(RuntimeError):
        with write_tx(store.engine) as conn:
            P.create_and_post(conn, forms, ctx, "stock_receipt", {"supplier": "鞍钢", "lines": [
                {"item": store.items["RM-HT250"], "qty": 5, "to_location": store.loc["A01"]}]})
    monkeypatch.undo()
    assert (store.count("stock_move"), store.count("lot"), store.count("stock_receipt")) == before
    assert store.get(f"/api/records/stock_transfer/{draft['id']}")["status"] == "draft"
    assert store.qty("PT-M12", "A01") == 40 and store.qty("PT-M12", "LS1") == 0
    store.post(f"/api/inventory/documents/stock_transfer/{draft['id']}/post", who="store1")
    assert store.qty("PT-M12", "A01") == 25 and store.qty("PT-M12", "LS1") == 15
    store.agrees()


def test_rebuild_recomputes_a_damaged_balance_from_the_ledger(store: Store, cli) -> None:  # type: ignore[no-untyped-def]
    store.receive("PT-M12", 40)
    with write_tx(store.engine) as conn:      # damage behind the engine's back (a restore gone wrong)
        conn.exec_driver_sql("UPDATE stock_balance SET qty = 7")
    r = cli("stock", "rebuild", "--check")
    assert r.exit_code == 1 and "流水 / ledger 40" in r.output and "余额 / balance 7" in r.output
    assert store.qty("PT-M12", "A01") == 7
    r = cli("stock", "rebuild")
    assert r.exit_code == 0, r.output
    assert store.qty("PT-M12", "A01") == 40
    assert cli("stock", "rebuild", "--check").exit_code == 0
    store.agrees()
