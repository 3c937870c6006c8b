"""The lot tests' plant: the core pack with its valve plant (the `core` template), an administrator,
and the stock tests' warehouse, locations and people (:class:`inventory_helpers.Store`)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import fixture_hash
from tests.integration.inventory_helpers import Store


def lot_store(client: Any, engine: sa.engine.Engine) -> Store:
    with write_tx(engine) as conn:
        auth.create_user(conn, username="admin", password_hash=fixture_hash("admin123"), is_admin=True)
    return Store(client, engine)


def item(store: Store, code: str, name: str, **fields: Any) -> int:
    """A new item (tracked by lot unless told), known to ``store.items``."""
    made = store.post("/api/records/item", {"code": code, "name": name, "unit": "kg", "tracking": "lot", **fields})
    store.items[code] = made["id"]
    return int(made["id"])


def lot(store: Store, lot_id: int) -> dict[str, Any]:
    return store.get(f"/api/records/lot/{lot_id}")
