"""Out of the 待检区 (quarantine location) after a release (issue 22, review item 9).

An accepted IQC lot (:mod:`iqc`) or a 让步接收 use-as-is disposition (:mod:`disposition`) releases a stock
lot, but stock lying in a quarantine-kind location (库位类型「待检」) is still not usable. The engine then
writes a DRAFT 调拨单 (the core pack's ``stock_transfer``) for exactly the released quantity and lot, from
that location to the first active normal location of the same warehouse (the core pack has no default
location per item); the storekeeper posts it when the goods physically move, and every 仓管员 gets an
in-app notification. It is written once: its ``client_id`` (``QI<lot id>-release`` / ``NCR<id>-<line>-move``)
answers a second judge or a retried execution with the first draft. A warehouse without a normal location
gets no transfer; the caller writes :attr:`Release.note_zh` (what to do) where people read it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.inventory import posting as P
from mom.engines.quality import inspection as I
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T

TRANSFER, QUARANTINE, NORMAL = "stock_transfer", "quarantine", "normal"
ROLE = "storekeeper"


@dataclass(frozen=True)
class Piece:
    """Released stock that may lie in quarantine: ``qty`` of ``lot`` (None: untracked) of ``item``,
    at ``location`` (None: wherever in a quarantine location it lies)."""
    item: int
    lot: int | None
    qty: Decimal
    location: int | None = None


@dataclass(frozen=True)
class Release:
    """What the release did: the draft's number and id (None: none needed or possible) and, when the
    warehouse has no normal location to move to, what to do in words."""
    code: str | None = None
    transfer_id: int | None = None
    note_zh: str | None = None
    lines: int = 0


def _live(t: sa.Table) -> Any:
    return sa.and_(t.c.deleted_at.is_(None), sa.or_(t.c.active.is_(None), t.c.active.is_(True)))


def _quarantined(conn: Connection, forms: Any, pieces: list[Piece]) -> list[tuple[Piece, int, Decimal, dict[str, Any]]]:
    """(piece, location, qty to move, location row) for the released pieces lying in quarantine locations:
    at most the released quantity, at most what the location holds."""
    loc_t = D.get(conn, forms, D.LOCATION).main
    bal = D.get(conn, forms, D.BALANCE).main
    found: list[tuple[Piece, int, Decimal]] = []
    for p in pieces:
        q = (sa.select(bal.c.location, sa.func.sum(bal.c.qty)).join(loc_t, loc_t.c.id == bal.c.location)
             .where(bal.c.item == p.item, bal.c.deleted_at.is_(None), loc_t.c.kind == QUARANTINE)
             .group_by(bal.c.location).order_by(bal.c.location))
        q = q.where(bal.c.lot == p.lot) if p.lot is not None else q.where(bal.c.lot.is_(None))
        if p.location is not None:
            q = q.where(bal.c.location == p.location)
        left = D.dec(p.qty)
        for loc, held in conn.execute(q):
            take = min(left, D.dec(held))
            if take > 0:
                found.append((p, int(loc), take))
                left -= take
            if left <= 0:
                break
    rows = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION), [loc for _, loc, _ in found]) if found else {}
    return [(p, loc, qty, rows.get(loc, {})) for p, loc, qty in found]


def normal_location(conn: Connection, forms: Any, warehouse: int | None) -> dict[str, Any] | None:
    """The warehouse's first active normal location (库位类型「正常」), or None."""
    if warehouse is None:
        return None
    t = D.get(conn, forms, D.LOCATION).main
    q = sa.select(t).where(t.c.warehouse == int(warehouse), t.c.kind == NORMAL, _live(t)).order_by(t.c.id).limit(1)
    found = conn.execute(q).mappings().first()
    return dict(found) if found is not None else None


def release(conn: Connection, forms: Any, ctx: Ctx, pieces: Iterable[Piece], *, client_id: str, note: str,
            why_zh: str) -> Release:
    """The draft transfer out of quarantine for ``pieces`` (see the module docstring); ``why_zh`` says in the
    storekeeper's notification why the stock was released (e.g. 「来料检验 QI-… 合格」)."""
    compiled = D.get(conn, forms, TRANSFER)
    seen = P.by_client_id(conn, compiled, client_id)
    if seen is not None:              # a second judge, a retried execution: the first draft stands
        return Release(code=seen.get("code"), transfer_id=int(seen["id"]))
    found = _quarantined(conn, forms, [p for p in pieces if D.dec(p.qty) > 0])
    if not found:
        return Release()
    lines, stuck = [], []
    targets: dict[Any, dict[str, Any] | None] = {}
    for p, loc, qty, row in found:
        wh = row.get("warehouse")
        if wh not in targets:
            targets[wh] = normal_location(conn, forms, wh)
        to = targets[wh]
        if to is None:
            stuck.append(row)
            continue
        lines.append({"item": p.item, "qty": qty, "lot": p.lot, "from_location": loc, "to_location": int(to["id"]),
                      "note": note[:200]})
    note_zh = None
    if stuck:
        names = "、".join(sorted({D.name_of(r) for r in stuck}))
        note_zh = (f"放行的库存还在待检库位 {names}，但所在仓库没有启用的「正常」库位，系统没有生成调拨单："
                   "请仓管员在「库位」里为该仓库新建一个类型为「正常」的库位，再手工开调拨单把这批货调出待检区")
    if not lines:
        return Release(note_zh=note_zh)
    doc = {"note": note[:200], "client_id": client_id[:64], "lines": lines}
    with D.engine_writes(conn):
        tid = P.create_document(conn, forms, D.acting(ctx), TRANSFER, doc)
    code = (D.row(conn, compiled, tid) or {}).get("code")
    _notify(conn, ctx, tid, code, found, lines, why_zh)
    return Release(code=code, transfer_id=tid, note_zh=note_zh, lines=len(lines))


def _notify(conn: Connection, ctx: Ctx, tid: int, code: Any, found: list[Any], lines: list[dict[str, Any]],
            why_zh: str) -> None:
    users = I.role_users(conn, ROLE)
    if not users:
        return
    locs = {loc: row for _, loc, _, row in found}
    total = sum((D.dec(ln["qty"]) for ln in lines), D.ZERO)
    src = "、".join(sorted({D.name_of(locs.get(ln["from_location"]), ln["from_location"]) for ln in lines}))
    title = f"待检区调拨：{why_zh}，请过账调拨单 {code}"
    body = (f"{why_zh}，库存已放行，但货还在待检库位 {src}。系统已生成调拨单草稿 {code}（{len(lines)} 行，合计 "
            f"{D.qty_text(total)}）：把货搬到目标库位后请打开它点「过账」。\n"
            f"Stock released but still in the quarantine location; draft transfer {code} is ready: post it when "
            "the goods have been moved.")
    conn.execute(T.notification.insert(), [{"user_id": u, "kind": TRANSFER, "title": title[:500], "body": body[:2000],
                                            "link": f"/f/{TRANSFER}/{int(tid)}", "created_at": ctx.now} for u in users])


def receipt_pieces(conn: Connection, forms: Any, receipt_id: int, line: int) -> list[Piece]:
    """The stock a receipt line put where it put it, per lot (the released quantity of an IQC lot)."""
    from mom.engines.inventory import ledger as L
    per: dict[tuple[int, int | None, int], Decimal] = {}
    for m in L.of_document(conn, forms, "stock_receipt", receipt_id):
        if m.get("reversal_of") is not None or int(m.get("document_line") or 1) != int(line):
            continue
        key = (int(m["item"]), int(m["lot"]) if m.get("lot") is not None else None, int(m["location"]))
        per[key] = per.get(key, D.ZERO) + D.dec(m["qty"])
    return [Piece(item, lot, qty, loc) for (item, lot, loc), qty in per.items() if qty > 0]


def lot_pieces(item: int, lots: list[int], qty: Any) -> list[Piece]:
    """Released lots without a receipt (a re-inspected lot): at most ``qty`` of them, wherever quarantined."""
    return [Piece(int(item), int(x), D.dec(qty)) for x in lots] if lots else [Piece(int(item), None, D.dec(qty))]

