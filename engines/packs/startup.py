"""At server start: the plug-in code (``hooks.py``) of every installed pack, registered before the
engines cache their registries (field types, actions, channels are resolved on first use), so a
restarted server behaves as the one that installed the pack. A pack whose code fails is logged and
left out; the server starts anyway.
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from mom.engines.packs import loader, state
from mom.platform.db.engine import read_tx

log = logging.getLogger("mom.packs")


def register_installed(conn: Connection) -> list[str]:
    """Register the ``hooks.py`` of every installed pack whose source folder has one; returns the names
    registered. A failing one (missing folder, bad code, a name taken by another folder) is logged."""
    done: list[str] = []
    for name, row in state.packs(conn).items():
        if row.get("status") != state.INSTALLED or not row.get("source"):
            continue
        root = Path(row["source"])
        if not (root / "hooks.py").is_file():
            continue
        try:
            if loader.register_pack_hooks(root, name) is not None:
                done.append(name)
        except Exception:   # noqa: BLE001 — a pack's code must not keep the server from starting
            log.exception("模型包 %s 的插件代码未能载入 / pack %s: its hooks.py could not be registered (%s)", name, name, root)
    return done


def register_at_start(engine: Engine) -> list[str]:
    """:func:`register_installed` in a read transaction; a database without the pack tables yet
    (not migrated) is logged and skipped."""
    try:
        with read_tx(engine) as conn:
            return register_installed(conn)
    except Exception:       # noqa: BLE001 — e.g. a server started with migrate=False on an old database
        log.exception("已安装模型包的插件代码未能载入 / the installed packs' hooks could not be registered")
        return []
