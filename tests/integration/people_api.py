"""The API as the plant's people, for the integration tests on the core pack (production, stock, lots):
each person signs in once, on first use, and the answers are checked as they come back. The production
tests' ``Shop`` (test_production.py) and the stock tests' ``Store`` (inventory_helpers.py) build on it."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.platform.db.engine import read_tx
from tests.conftest import login


class PeopleApi:
    """``client`` as the test's people: ``who``'s password is ``{who}-pass-1`` unless ``passwords`` names it
    (the demo plant's admin: admin123)."""

    def __init__(self, client: Any, engine: sa.engine.Engine, passwords: dict[str, str] | None = None) -> None:
        self.client, self.engine = client, engine
        self._passwords = dict(passwords or {})
        self._heads: dict[str, dict[str, str]] = {}

    def h(self, who: str) -> dict[str, str]:
        """``who``'s headers (signed in on first use)."""
        if who not in self._heads:
            self._heads[who] = login(self.client, who, self._passwords.get(who, f"{who}-pass-1"))
        return self._heads[who]

    def get(self, path: str, who: str = "admin") -> Any:
        r = self.client.get(path, headers=self.h(who))
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: Any = None, who: str = "admin", status: int | tuple[int, ...] = (200, 201)) -> Any:
        r = self.client.post(path, json=body, headers=self.h(who))
        want = status if isinstance(status, tuple) else (status,)
        assert r.status_code in want, r.text
        return r.json()

    def find(self, form: str, **where: Any) -> list[dict[str, Any]]:
        """``form``'s records (children expanded) whose fields equal ``where``, as the administrator reads them."""
        q = "&".join(f"{k}={v}" for k, v in where.items())
        return self.get(f"/api/records/{form}?{q}&limit=500&expand=1")["items"]

    def count(self, table: str) -> int:
        """Rows of ``table`` not deleted (read straight from the database)."""
        with read_tx(self.engine) as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).scalar_one())
