"""What a run reads from the core pack's forms, as a :class:`~mom.engines.mrp.problem.Problem`.

- items (物料): make unless the item type is raw material or tooling (bought); lead time in working days,
  safety stock, lot rule and size; usable on hand from the stock engine
  (``mom.engines.inventory.balances.usable_on_hand``; without it on hand is 0 and the run says so);
- BOMs (物料清单) with status 生效 (active): lines with qty per, scrap %, base quantity, effective dates;
  substitute lines (替代物料) are alternatives, not requirements;
- demand: lines of open sales orders (未完成; the line's due date, else the order's); forecast and MPS lines
  (需求预测); the components of planned (已计划, not yet released) production orders, due on the order's
  release date (its due date less the item's lead time);
- scheduled receipts: open production orders (已计划/已下达/生产中) for qty − good qty, due on their due date;
  open purchase order lines (未完成) for qty − received qty, due on their due date;
- the calendar: the plant's first work calendar (工作日历) by code, its workdays and holidays.
Reads are plain SELECTs of the columns needed, restricted to ``items`` when given (net change).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import problem as P
from mom.engines.mrp.buckets import Buckets
from mom.engines.mrp.calendar import WorkCalendar
from mom.engines.mrp.lotsize import RULES
from mom.platform.errors import NotFound

ITEM, BOM, SALES, ORDER, PURCHASE, FORECAST = "item", "bom", "sales_order", "production_order", "purchase_order", "demand_forecast"
CALENDAR, RUN, SUGGESTION = "work_calendar", "mrp_run", "mrp_suggestion"
BOUGHT = ("raw", "tooling")
OPEN_ORDER = ("planned", "released", "started")
ZERO = Decimal(0)
_CHUNK = 900


def dec(v: Any) -> Decimal:
    if v is None or v == "":
        return ZERO
    return v if isinstance(v, Decimal) else Decimal(str(v))


def forms_of(conn: Connection, forms: Any) -> dict[str, Any]:
    """The compiled forms a run needs; refused in words when the core pack (1.4.0 or later) is missing."""
    out = {}
    for name in (ITEM, BOM, SALES, ORDER, PURCHASE, FORECAST, CALENDAR, RUN, SUGGESTION):
        try:
            out[name] = forms.get(conn, name)
        except NotFound:
            raise NotFound("没有安装「制造基础」模型包（core 1.4.0 及以上）的 MRP 表单：请管理员先安装或升级它（mom pack install core）",
                           "the MRP forms of the core pack (1.4.0 or later) are not installed: an administrator installs or "
                           "upgrades it first (mom pack install core)", detail={"form": name}) from None
    return out


def chunks(ids: Iterable[int] | None) -> list[list[int] | None]:
    if ids is None:
        return [None]
    got = sorted(set(ids))
    return [got[i:i + _CHUNK] for i in range(0, len(got), _CHUNK)]


def local_date(v: Any, tz: dt.tzinfo) -> dt.date | None:
    """A stored date or datetime as the plant's calendar date."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).astimezone(tz).date()
    if isinstance(v, str):
        return local_date(dt.datetime.fromisoformat(v.replace("Z", "+00:00")), tz) if "T" in v or " " in v else dt.date.fromisoformat(v)
    return v


def read_items(conn: Connection, f: dict[str, Any], ids: Iterable[int] | None) -> dict[int, P.Item]:
    t = f[ITEM].main
    cols = [t.c.id, t.c.code, t.c.name, t.c.item_type, t.c.lead_time_days, t.c.safety_stock, t.c.lot_size_rule, t.c.lot_size]
    out: dict[int, P.Item] = {}
    for chunk in chunks(ids):
        q = sa.select(*cols).where(t.c.deleted_at.is_(None))
        for r in conn.execute(q if chunk is None else q.where(t.c.id.in_(chunk))):
            rule = r.lot_size_rule if r.lot_size_rule in RULES else "lot_for_lot"
            out[int(r.id)] = P.Item(int(r.id), str(r.code), str(r.name or ""), P.BUY if r.item_type in BOUGHT else P.MAKE,
                                    int(r.lead_time_days or 0), dec(r.safety_stock), rule,
                                    dec(r.lot_size) if r.lot_size is not None else None)
    return out


def on_hand(conn: Connection, ids: Iterable[int] | None) -> tuple[dict[int, Decimal], bool]:
    """Usable on hand per item from the stock engine; ``(figures, True)``, or ``({}, False)`` without it."""
    try:
        from mom.engines.inventory.balances import usable_on_hand
    except ImportError:
        return {}, False
    return usable_on_hand(conn, None if ids is None else list(ids)), True


def read_boms(conn: Connection, f: dict[str, Any], items: Iterable[int] | None = None) -> dict[int, tuple[P.Bom, ...]]:
    """Every active BOM with its requirement lines (or those of the parent ``items`` only)."""
    b, lines = f[BOM].main, f[BOM].children["lines"]
    # heads and lines read apart and joined here: a join on the lines' parent (no index there) can get a
    # nested loop on PostgreSQL before the tables have statistics
    heads: dict[int, tuple[Any, list[P.Component]]] = {}
    q = (sa.select(b.c.id, b.c.item, b.c.code, b.c.is_default, b.c.effective_from, b.c.effective_to, b.c.base_qty)
         .where(b.c.deleted_at.is_(None), b.c.status == "active"))
    for chunk in chunks(items):
        for r in conn.execute(q if chunk is None else q.where(b.c.item.in_(chunk))):
            heads[int(r.id)] = (r, [])
    q = (sa.select(lines.c.parent_id, lines.c.component, lines.c.qty_per, lines.c.scrap_rate)
         .where(lines.c.substitute_for.is_(None), lines.c.component.is_not(None)).order_by(lines.c.parent_id, lines.c.seq, lines.c.id))
    for chunk in chunks(None if items is None else heads):
        for r in conn.execute(q if chunk is None else q.where(lines.c.parent_id.in_(chunk))):
            head = heads.get(int(r.parent_id))
            if head is not None:
                head[1].append(P.Component(int(r.component), dec(r.qty_per), dec(r.scrap_rate), dec(head[0].base_qty) or Decimal(1)))
    out: dict[int, list[P.Bom]] = defaultdict(list)
    for r, comps in heads.values():
        if not comps:
            continue
        out[int(r.item)].append(P.Bom(int(r.item), tuple(comps), r.effective_from, r.effective_to, bool(r.is_default), str(r.code)))
    return {k: tuple(v) for k, v in out.items()}


def read_edges(conn: Connection, f: dict[str, Any]) -> dict[int, list[int]]:
    """The BOM graph alone, parent item → component items of its active BOMs (two narrow reads): enough for
    low-level codes and for what lies below an item, without the lines' quantities."""
    b, lines = f[BOM].main, f[BOM].children["lines"]
    item_of = {int(i): int(it) for i, it in conn.execute(
        sa.select(b.c.id, b.c.item).where(b.c.deleted_at.is_(None), b.c.status == "active", b.c.item.is_not(None)))}
    out: dict[int, list[int]] = defaultdict(list)
    q = sa.select(lines.c.parent_id, lines.c.component).where(lines.c.substitute_for.is_(None), lines.c.component.is_not(None))
    for pid, comp in conn.execute(q):
        parent = item_of.get(int(pid))
        if parent is not None:
            out[parent].append(int(comp))
    return dict(out)


def read_calendar(conn: Connection, f: dict[str, Any], first: dt.date, last: dt.date) -> WorkCalendar:
    t = f[CALENDAR].main
    row = conn.execute(sa.select(t.c.id, t.c.workdays).where(t.c.deleted_at.is_(None)).order_by(t.c.code, t.c.id)
                       .limit(1)).first()
    if row is None:
        return WorkCalendar(range(1, 6), first=first, last=last)
    days = [int(d) for d in str(row.workdays or "").replace("，", ",").split(",") if d.strip().isdigit() and 1 <= int(d) <= 7]
    h = f[CALENDAR].children["holidays"]
    holidays = [r[0] for r in conn.execute(sa.select(h.c.date).where(h.c.parent_id == row.id)) if r[0] is not None]
    return WorkCalendar(days or range(1, 6), holidays, first=first, last=last)


def read_demands(conn: Connection, f: dict[str, Any], items: dict[int, P.Item], boms: dict[int, tuple[P.Bom, ...]],
                 cal: WorkCalendar, tz: dt.tzinfo, ids: Iterable[int] | None) -> list[P.Demand]:
    """Sales order lines, forecast/MPS lines and planned production orders' components (of ``ids`` only)."""
    out: list[P.Demand] = []
    so, lines = f[SALES].main, f[SALES].children["lines"]
    fc = f[FORECAST].main
    for chunk in chunks(ids):
        q = sa.select(lines.c.parent_id, lines.c.seq, lines.c.item, lines.c.qty, lines.c.due_date)
        found = list(conn.execute(q if chunk is None else q.where(lines.c.item.in_(chunk))))
        heads = _open_heads(conn, so, [r.parent_id for r in found] if chunk is not None else None)
        for r in found:
            head = heads.get(int(r.parent_id))
            due = r.due_date or (head[1] if head else None)
            if head is not None and r.item is not None and due is not None:
                out.append(P.Demand(int(r.item), due, dec(r.qty), P.SALES, f"{head[0]} 第{r.seq}行", int(r.parent_id), int(r.seq)))
        q = sa.select(fc.c.id, fc.c.code, fc.c.kind, fc.c.item, fc.c.date, fc.c.qty).where(fc.c.deleted_at.is_(None))
        for r in conn.execute(q if chunk is None else q.where(fc.c.item.in_(chunk))):
            if r.item is not None and r.date is not None:
                out.append(P.Demand(int(r.item), r.date, dec(r.qty), P.MPS if r.kind == "mps" else P.FORECAST, str(r.code), int(r.id)))
    out += planned_order_components(conn, f, items, boms, cal, tz, ids)
    return out


def _open_heads(conn: Connection, so: sa.Table, ids: list[int] | None) -> dict[int, tuple[str, Any]]:
    """Open, live sales orders (all, or ``ids``): ``{id: (code, due date)}``."""
    out: dict[int, tuple[str, Any]] = {}
    q = sa.select(so.c.id, so.c.code, so.c.due_date).where(so.c.deleted_at.is_(None), so.c.status == "open")
    for chunk in chunks(ids) if ids is not None else [None]:
        for r in conn.execute(q if chunk is None else q.where(so.c.id.in_(chunk))):
            out[int(r.id)] = (str(r.code), r.due_date)
    return out


def planned_order_components(conn: Connection, f: dict[str, Any], items: dict[int, P.Item], boms: dict[int, tuple[P.Bom, ...]],
                             cal: WorkCalendar, tz: dt.tzinfo, ids: Iterable[int] | None) -> list[P.Demand]:
    from mom.engines.mrp.plan import choose_bom, component_qty

    wanted = None if ids is None else set(ids)
    parents = [p for p, bs in boms.items() if wanted is None or any(c.item in wanted for b in bs for c in b.components)]
    o = f[ORDER].main
    out: list[P.Demand] = []
    for chunk in chunks(parents) if wanted is not None else [None]:
        q = sa.select(o.c.id, o.c.code, o.c.item, o.c.qty, o.c.due_date).where(o.c.deleted_at.is_(None), o.c.status == "planned")
        for r in conn.execute(q if chunk is None else q.where(o.c.item.in_(chunk))):
            due = local_date(r.due_date, tz)
            lead = items[int(r.item)].lead_time if int(r.item) in items else 0
            if due is None or r.item is None:
                continue
            release = cal.back(due, lead)
            bom = choose_bom(boms.get(int(r.item), ()), release)
            for c in bom.components if bom else ():
                if wanted is None or c.item in wanted:
                    out.append(P.Demand(c.item, release, component_qty(dec(r.qty), c), P.ORDER, str(r.code), int(r.id)))
    return out


def read_receipts(conn: Connection, f: dict[str, Any], tz: dt.tzinfo, today: dt.date, ids: Iterable[int] | None) -> list[P.Receipt]:
    """Open production orders (qty − good qty) and open purchase order lines (qty − received qty)."""
    out: list[P.Receipt] = []
    o = f[ORDER].main
    po, pl = f[PURCHASE].main, f[PURCHASE].children["lines"]
    for chunk in chunks(ids):
        q = sa.select(o.c.id, o.c.code, o.c.item, o.c.qty, o.c.good_qty, o.c.due_date).where(
            o.c.deleted_at.is_(None), o.c.status.in_(OPEN_ORDER))
        for r in conn.execute(q if chunk is None else q.where(o.c.item.in_(chunk))):
            left = dec(r.qty) - dec(r.good_qty)
            if r.item is not None and left > 0:
                out.append(P.Receipt(int(r.item), local_date(r.due_date, tz) or today, left, P.PRODUCTION, str(r.code), int(r.id)))
        q = (sa.select(po.c.id, po.c.code, pl.c.seq, pl.c.item, pl.c.qty, pl.c.received_qty, pl.c.due_date)
             .select_from(po.join(pl, pl.c.parent_id == po.c.id)).where(po.c.deleted_at.is_(None), po.c.status == "open"))
        for r in conn.execute(q if chunk is None else q.where(pl.c.item.in_(chunk))):
            left = dec(r.qty) - dec(r.received_qty)
            if r.item is not None and left > 0:
                out.append(P.Receipt(int(r.item), r.due_date or today, left, P.PURCHASE, f"{r.code} 第{r.seq}行", int(r.id), int(r.seq)))
    return out


def read_problem(conn: Connection, f: dict[str, Any], *, today: dt.date, tz: dt.tzinfo, bucket: str, horizon: int,
                 items: Iterable[int] | None = None, boms: dict[int, tuple[P.Bom, ...]] | None = None,
                 outside: tuple[P.Demand, ...] = ()) -> tuple[P.Problem, bool]:
    """The problem of a run made on ``today`` (all items, or ``items`` for net change); and whether on
    hand came from the stock engine."""
    buckets = Buckets.from_today(today, bucket, horizon)
    cal = read_calendar(conn, f, buckets.start - dt.timedelta(days=400), buckets.end + dt.timedelta(days=7))
    boms = read_boms(conn, f) if boms is None else boms
    ids = None if items is None else sorted(set(items))
    found = read_items(conn, f, ids)
    stock, known = on_hand(conn, ids)
    found = {i: (it if i not in stock else P.Item(it.id, it.code, it.name, it.source, it.lead_time, it.safety_stock,
                                                   it.lot_rule, it.lot_size, stock[i])) for i, it in found.items()}
    if ids is None:
        lead_items = found
    else:       # planned orders of parents outside: their lead time dates their components' need
        wanted = set(ids)
        above = [p for p, bs in boms.items() if p not in found and any(c.item in wanted for b in bs for c in b.components)]
        lead_items = {**read_items(conn, f, above), **found}
    demands = read_demands(conn, f, lead_items, boms, cal, tz, ids)
    receipts = read_receipts(conn, f, tz, today, ids)
    return P.Problem(found, boms, tuple(demands), tuple(receipts), cal, buckets, today, tuple(outside)), known
