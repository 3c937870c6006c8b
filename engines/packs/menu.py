"""The installed-pack table: which packs are installed, their version and the menu the web app
groups forms, reports and dashboards by."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T

PACK_FORMAT = "mom.pack/1"


def record_pack(conn: Connection, bundle: Any, now: Any) -> None:
    """Remember an installed pack (a folder with pack.json) and its menu: the web app groups by it."""
    m = bundle.manifest
    if m.get("format") != PACK_FORMAT or not isinstance(m.get("name"), str):
        return

    def names(items: list[tuple[str, Any]]) -> list[str]:
        return [raw["name"] for _, raw in items if isinstance(raw, dict) and isinstance(raw.get("name"), str)]

    menu = {"label": m.get("label") or m["name"], "forms": names(bundle.forms), "reports": names(bundle.of("reports")),
            "dashboards": names(bundle.of("dashboards"))}
    digest = hashlib.sha256(json.dumps(m, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    values = {"version": str(m.get("version", "0")), "manifest_hash": digest, "installed_at": now, "menu": menu}
    old = conn.execute(sa.select(T.pack.c.manifest_hash, T.pack.c.menu).where(T.pack.c.name == m["name"])).first()
    if old is not None and old.manifest_hash == digest and old.menu == menu:
        return   # applying the same pack again changes nothing
    if old is not None:
        conn.execute(T.pack.update().where(T.pack.c.name == m["name"]).values(**values))
    else:
        conn.execute(T.pack.insert().values(name=m["name"], **values))
