"""The stock tests' plant: `mom demo` (core with its valve plant) plus a warehouse with a normal, a
line-side, a quarantine and a negative-allowed location, a storekeeper and a planner, and helpers that
talk to the API as those people (people_api.py: signing in, get, post, find, count)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.engines.inventory import balances as B
from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash
from tests.integration.people_api import PeopleApi


class Store(PeopleApi):
    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        super().__init__(client, engine, passwords={"admin": "admin123"})      # the demo's administrator
        with write_tx(engine) as conn:
            for name, roles in (("store1", ["storekeeper"]), ("plan1", ["planner"]), ("guest", [])):
                auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
        wh = self.post("/api/records/warehouse", {"code": "WH1", "name": "原料仓"}, who="admin")
        self.items = {i["code"]: i["id"] for i in self.get("/api/records/item?limit=100")["items"]}
        wc = self.get("/api/records/work_center?limit=10")["items"][0]["id"]
        self.loc = {}
        for code, name, kind, extra in (("A01", "原料仓 A-01", "normal", {}), ("A02", "原料仓 A-02", "normal", {}),
                                        ("LS1", "装配线边仓", "line_side", {"work_center": wc}),
                                        ("QA", "待检区", "quarantine", {}), ("NEG", "虚拟库位", "normal", {"allow_negative": True})):
            self.loc[code] = self.post("/api/records/location", {"code": code, "name": name, "warehouse": wh["id"], "kind": kind,
                                                                 **extra}, who="admin")["id"]

    def doc(self, form: str, lines: list[dict[str, Any]], who: str = "store1", status: int | tuple[int, ...] = (200, 201),
            **header: Any) -> Any:
        """Create and post a stock document through /api/inventory/documents/{form}."""
        return self.post(f"/api/inventory/documents/{form}", {**header, "lines": lines}, who=who, status=status)

    def receive(self, item: str, qty: Any, loc: str = "A01", **line: Any) -> Any:
        return self.doc("stock_receipt", [{"item": self.items[item], "qty": qty, "to_location": self.loc[loc], **line}],
                        supplier="鞍钢")

    def onhand(self, item: str | None = None, **q: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in {"item": item, **q}.items() if v is not None)
        return self.get(f"/api/inventory/onhand?{query}", who="store1")

    def qty(self, item: str, loc: str, lot: int | None = None) -> float:
        rows = self.onhand(item)["rows"]
        return sum(r["qty"] for r in rows if r["location"] == self.loc[loc] and (lot is None or r["lot"] == lot))

    def agrees(self) -> None:
        """The ledger and the balances agree (the check the lead runs after every integration test)."""
        with read_tx(self.engine) as conn:
            assert B.check(conn) == []
