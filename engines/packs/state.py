"""What the pack manager remembers: the installed packs (``mom_pack``) and what each one installed
(``mom_pack_item``: kind, name and the definition as the pack shipped it, the base of the next
upgrade's three-way merge)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.definitions.identity import definition_hash
from mom.platform.db import tables as T

INSTALLED, UNINSTALLED = "installed", "uninstalled"


def packs(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every pack the database knows (installed or uninstalled), by name."""
    return {r["name"]: dict(r) for r in conn.execute(sa.select(T.pack).order_by(T.pack.c.name)).mappings()}


def installed_versions(conn: Connection) -> dict[str, str]:
    """name -> version of the packs installed now."""
    return {n: p["version"] for n, p in packs(conn).items() if p["status"] == INSTALLED}


def items_of(conn: Connection, pack: str) -> list[dict[str, Any]]:
    """What ``pack`` installed: kind, name, base (the shipped definition), base_hash, pack_version."""
    q = sa.select(T.pack_item).where(T.pack_item.c.pack == pack).order_by(T.pack_item.c.kind, T.pack_item.c.name)
    return [dict(r) for r in conn.execute(q).mappings()]


def owners(conn: Connection) -> dict[tuple[str, str], str]:
    """(kind, name) -> the pack that installed it."""
    return {(r.kind, r.name): r.pack for r in conn.execute(sa.select(T.pack_item.c.kind, T.pack_item.c.name, T.pack_item.c.pack))}


def remember_items(conn: Connection, pack: str, version: str, items: list[tuple[str, str, Any]]) -> None:
    """Record (kind, name, shipped definition) for ``pack`` at ``version``; forget what it no longer ships."""
    keep = {(k, n) for k, n, _ in items}
    for row in items_of(conn, pack):
        if (row["kind"], row["name"]) not in keep:
            conn.execute(T.pack_item.delete().where(T.pack_item.c.kind == row["kind"], T.pack_item.c.name == row["name"]))
    known = {(r["kind"], r["name"]) for r in items_of(conn, pack)}
    for kind, name, raw in items:
        values = {"pack": pack, "base": raw, "base_hash": definition_hash(raw), "pack_version": version}
        if (kind, name) in known:
            conn.execute(T.pack_item.update().where(T.pack_item.c.kind == kind, T.pack_item.c.name == name).values(**values))
        else:
            conn.execute(T.pack_item.insert().values(kind=kind, name=name, **values))


def forget_pack(conn: Connection, pack: str) -> None:
    """Remove every trace of ``pack`` in the pack tables (a purge)."""
    conn.execute(T.pack_item.delete().where(T.pack_item.c.pack == pack))
    conn.execute(T.pack.delete().where(T.pack.c.name == pack))


def save_pack(conn: Connection, name: str, *, now: dt.datetime, **values: Any) -> None:
    """Update the pack row's manager columns (label, depends, source, status, checksums, upgraded_at …);
    the menu step (``menu.record_pack``) has written the row itself."""
    if conn.execute(sa.select(T.pack.c.name).where(T.pack.c.name == name)).first() is None:
        conn.execute(T.pack.insert().values(name=name, version=values.pop("version", "0.0.0"), manifest_hash="",
                                            installed_at=now, **values))
    elif values:
        conn.execute(T.pack.update().where(T.pack.c.name == name).values(**values))


_VERSIONED = {"forms": (T.form_version, T.form_version.c.form_name, None),
              "workflows": (T.workflow_version, T.workflow_version.c.name, None),
              "reports": (T.definition_version, T.definition_version.c.name, "report"),
              "dashboards": (T.definition_version, T.definition_version.c.name, "dashboard"),
              "prints": (T.definition_version, T.definition_version.c.name, "print_template")}


def first_version(conn: Connection, kind: str, name: str) -> Any | None:
    """The first published version of a definition: the base of a pack installed before the pack
    manager kept bases (it installed that version), None for kinds without versions."""
    found = _VERSIONED.get(kind)
    if found is None:
        return None
    table, name_col, def_kind = found
    q = sa.select(table.c.definition).where(name_col == name)
    if def_kind is not None:
        q = q.where(table.c.kind == def_kind)
    return conn.execute(q.order_by(table.c.version).limit(1)).scalar()
