"""Stock balances (库存余额): item × location × lot → quantity in the item's stock unit.

The ledger (``stock_move``) is the truth; ``stock_balance`` is kept current in the same transaction
as each ledger line (:func:`lock`, then :func:`write`) and can always be recomputed from it
(:func:`check`, :func:`rebuild`). A balance row is keyed by ``bucket`` = ``"item:location:lot"``
(lot 0: untracked stock), unique, so two writers never make two rows for one key; on PostgreSQL a
transaction-scoped advisory lock per key, taken in key order, serialises the writers of one key
(SQLite runs one writer at a time anyway).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.store import FormRegistry
from mom.engines.inventory import documents as D
from mom.engines.records import values as V
from mom.engines.records.batch import write_system_fields
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows
from mom.platform.errors import NotFound

Key = tuple[int, int, "int | None"]            # (item, location, lot)
#: location kinds whose stock is usable for production and shipment (not quarantine, not scrap)
USABLE_KINDS = ("normal", "line_side")
_READER = FormRegistry()                       # reads only: no record hooks needed


def bucket(key: Key) -> str:
    item, location, lot = key
    return f"{int(item)}:{int(location)}:{int(lot or 0)}"


def _tables(conn: Connection, *names: str) -> list[Any] | None:
    """The main tables of the core stock forms ``names`` (None when any is not installed)."""
    try:
        compiled = [_READER.get(conn, n) for n in names]
    except NotFound:
        return None
    if not all(D.is_core(c) for c in compiled):
        return None
    return [c.main for c in compiled]


def usable_on_hand(conn: Connection, item_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """On hand per item id in its stock unit, counting only normal and line-side locations and stock
    that is untracked or in a lot whose status is released (放行). Items without such stock are
    absent (read it as 0). An empty dict when the stock forms are not installed."""
    got = _tables(conn, D.BALANCE, D.LOCATION, D.LOT)
    if got is None:
        return {}
    b, loc, lot = got
    q = (sa.select(b.c.item, sa.func.sum(b.c.qty))
         .select_from(b.join(loc, loc.c.id == b.c.location).outerjoin(lot, lot.c.id == b.c.lot))
         .where(b.c.deleted_at.is_(None), loc.c.kind.in_(USABLE_KINDS),
                sa.or_(b.c.lot.is_(None), lot.c.status == "released"))
         .group_by(b.c.item))
    wanted = None if item_ids is None else sorted({int(i) for i in item_ids})
    out: dict[int, Decimal] = {}
    if wanted is None:
        chunks: list[Any] = [None]
    else:
        chunks = [wanted[i:i + 900] for i in range(0, len(wanted), 900)]
    for chunk in chunks:
        qq = q if chunk is None else q.where(b.c.item.in_(chunk))
        for item, total in conn.execute(qq):
            out[int(item)] = D.dec(total)
    return out


def on_hand(conn: Connection, forms: Any, *, item: int | None = None, location: int | None = None,
            lot: int | None = None, nonzero: bool = True, limit: int = 1000) -> list[dict[str, Any]]:
    """Balance rows (item, location, lot, qty), filtered; ``nonzero``: leave out zero balances."""
    t = D.get(conn, forms, D.BALANCE).main
    q = sa.select(t.c.id, t.c.item, t.c.location, t.c.lot, t.c.qty).where(t.c.deleted_at.is_(None))
    for col, v in (("item", item), ("location", location), ("lot", lot)):
        if v is not None:
            q = q.where(t.c[col] == int(v))
    if nonzero:
        q = q.where(t.c.qty != 0)
    q = q.order_by(t.c.item, t.c.location, t.c.lot).limit(limit)
    return [{"id": int(r.id), "item": int(r.item), "location": int(r.location),
             "lot": int(r.lot) if r.lot is not None else None, "qty": D.dec(r.qty)} for r in conn.execute(q)]


# ---------------------------------------------------------------- keeping balances current

def _lock_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"stock_balance:{text}".encode(), digest_size=8).digest(), "big", signed=True)


def lock(conn: Connection, forms: Any, keys: Iterable[Key]) -> dict[Key, dict[str, Any] | None]:
    """The balance rows of ``keys`` (None: no row yet), each key locked for the rest of the
    transaction on PostgreSQL (advisory locks in key order: two postings never deadlock)."""
    wanted = sorted({(int(i), int(loc), int(lt) if lt is not None else None) for i, loc, lt in keys},
                    key=lambda k: _lock_key(bucket(k)))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":     # one statement, the locks taken in key order
        conn.execute(sa.text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                             "(SELECT k FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS u(k, n) ORDER BY n) s"),
                     {"keys": [_lock_key(bucket(k)) for k in wanted]})
    compiled = D.get(conn, forms, D.BALANCE)
    q = compiled.memo.get("inventory_buckets")
    if q is None:
        t = compiled.main
        q = compiled.memo["inventory_buckets"] = sa.select(t).where(t.c.bucket.in_(sa.bindparam("b", expanding=True)),
                                                                    t.c.deleted_at.is_(None))
    by_bucket = {bucket(k): k for k in wanted}
    found: dict[Key, dict[str, Any] | None] = dict.fromkeys(wanted)
    names = sorted(by_bucket)
    for i in range(0, len(names), 900):
        for r in conn.execute(q, {"b": names[i:i + 900]}).mappings():
            found[by_bucket[r["bucket"]]] = dict(r)
    return found


def write(conn: Connection, forms: Any, ctx: Ctx, held: Mapping[Key, dict[str, Any] | None],
          new_qty: Mapping[Key, Decimal], *, audit_into: list[dict[str, Any]] | None = None) -> None:
    """Store ``new_qty`` for keys :func:`lock` returned: changed rows updated (write_system_fields),
    missing rows inserted, both through the record service as the engine (``audit_into``: the
    updates' audit entries added there, see :func:`mom.engines.records.audit.gathered`)."""
    compiled = D.get(conn, forms, D.BALANCE)
    updates, inserts = [], []
    for key, qty in new_qty.items():
        old = held.get(key)
        if old is None:
            item, location, lot = key
            inserts.append(V.Prepared(values={"item": item, "location": location, "lot": lot, "qty": qty,
                                              "bucket": bucket(key)}, children={}))
        elif D.dec(old["qty"]) != qty:
            updates.append((old, {"qty": qty}))
    with D.engine_writes(conn):
        if updates:
            write_system_fields(conn=conn, registry=forms, ctx=ctx, form=D.BALANCE, rows=updates, audit_into=audit_into)
        if inserts:
            insert_rows(conn, compiled, ctx, inserts, hooks=forms.hooks)


# ---------------------------------------------------------------- the ledger is the truth

def _ledger_sums(conn: Connection, move: Any) -> dict[Key, Decimal]:
    q = (sa.select(move.c.item, move.c.location, move.c.lot, sa.func.sum(move.c.qty))
         .where(move.c.deleted_at.is_(None)).group_by(move.c.item, move.c.location, move.c.lot))
    return {(int(i), int(loc), int(lt) if lt is not None else None): D.dec(s) for i, loc, lt, s in conn.execute(q)}


def _balances(conn: Connection, bal: Any) -> dict[Key, dict[str, Any]]:
    q = sa.select(bal).where(bal.c.deleted_at.is_(None))
    return {(int(r["item"]), int(r["location"]), int(r["lot"]) if r["lot"] is not None else None): dict(r)
            for r in conn.execute(q).mappings()}


def check(conn: Connection) -> list[dict[str, Any]]:
    """Recompute every balance from the ledger and return the differences, each
    ``{item, location, lot, ledger, balance}`` (ids and Decimals); [] when they agree or when the
    stock forms are not installed. Reads only."""
    got = _tables(conn, D.MOVE, D.BALANCE)
    if got is None:
        return []
    move, bal = got
    ledger, stored = _ledger_sums(conn, move), _balances(conn, bal)
    out = []
    for key in sorted(set(ledger) | set(stored), key=lambda k: (k[0], k[1], k[2] or 0)):
        want = ledger.get(key, D.ZERO)
        have = D.dec(stored[key]["qty"]) if key in stored else D.ZERO
        if want != have:
            out.append({"item": key[0], "location": key[1], "lot": key[2], "ledger": want, "balance": have})
    return out


def rebuild(conn: Connection, forms: Any, ctx: Ctx, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """Make every balance equal to the ledger's sum (``dry_run``: only say what differs); returns the
    differences found (:func:`check`'s shape)."""
    D.get(conn, forms, D.MOVE)
    differences = check(conn)
    if dry_run or not differences:
        return differences
    keys = [(d["item"], d["location"], d["lot"]) for d in differences]
    held = lock(conn, forms, keys)
    write(conn, forms, ctx, held, {k: d["ledger"] for k, d in zip(keys, differences)})
    return differences
