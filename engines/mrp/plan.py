"""The MRP record of every item and its planned orders: netting, lot sizing, offsetting, pegging,
exceptions (mom-domain.md §3.1). Pure and deterministic: the same problem gives the same plan.

Per item, in ascending low-level code, bucket by bucket (t = 0 … n−1):

    POH(t) = POH(t−1) + SR(t) + POR(t) − GR(t)          POH(−1) = usable on hand
    NR(t)  = max(0, GR(t) + SS − POH(t−1) − SR(t))       POR(t) = lots(NR(t))  (lotsize.py)
    release = the lead time's working days before the order's due date (its bucket's first day, not
              before the run date); a release before the run date is *late* (过期)

A make item's planned order needs its components on its release date: qty × qty per / base qty ×
(1 + scrap %), rounded up to 4 decimals (as release does), from the parent's BOM effective that day.

Gross requirements of an item with master-schedule lines are those lines; otherwise, per bucket, its
sales order lines plus what its forecast adds beyond them (forecast consumption: the larger of the two).
Pegging: supplies (on hand, scheduled receipts, planned orders, by date) are handed to requirements
(safety stock first, then by date) first come first served; a planned order keeps the requirements it
serves (a sales order line, a forecast, a parent's planned order …) and any lot-size surplus as stock.
Scheduled receipts get an action when the date they are needed differs from their date: expedite
(提前), reschedule out (推迟) or cancel (取消: not needed within the horizon).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

from mom.engines.mrp import problem as P
from mom.engines.mrp.levels import low_level_codes
from mom.engines.mrp.lotsize import lots

ZERO = Decimal(0)
QTY = Decimal("0.0001")
PLANNED, SAFETY, STOCK = "planned", "safety_stock", "stock"
#: a parent's planned order not planned in this pass (net change): its suggestion's id in ``doc``, code in
#: ``ref``; ``line`` orders it among the others as the parents' planned order numbers would
OUTSIDE = "outside"
EXPEDITE, RESCHEDULE_OUT, CANCEL, LATE = "expedite", "reschedule_out", "cancel", "late"


class Peg(NamedTuple):
    """Part of a planned order that serves one requirement: a demand document, a parent's planned order
    (``parent`` is its number), safety stock or stock (lot-size surplus)."""

    kind: str
    qty: Decimal
    ref: str = ""
    doc: int | None = None
    line: int | None = None
    parent: int | None = None


@dataclass
class PlannedOrder:
    """A planned order (计划订单): make or buy ``qty`` of ``item`` released on ``release``, due on ``due``."""

    number: int
    item: int
    source: str
    qty: Decimal
    due: dt.date
    release: dt.date
    bucket: int
    late: bool
    pegs: list[Peg] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    """An exception on a scheduled receipt: expedite or reschedule it out to ``to``, or cancel it."""

    receipt: P.Receipt
    kind: str
    to: dt.date | None


@dataclass
class ItemRecord:
    """The six rows of an item's MRP record, one value per bucket."""

    item: int
    level: int
    gross: list[Decimal]
    receipts: list[Decimal]
    on_hand: list[Decimal]
    net: list[Decimal]
    planned_receipts: list[Decimal]
    planned_releases: list[Decimal]


@dataclass
class Plan:
    """A run's result: the records, the planned orders (numbered from 1), the receipts' actions."""

    buckets: P.Buckets
    levels: dict[int, int]
    records: dict[int, ItemRecord]
    orders: list[PlannedOrder]
    actions: list[Action]
    beyond: int = 0

    def order(self, number: int) -> PlannedOrder:
        return self.orders[number - 1]

    def top_pegs(self, order: PlannedOrder) -> list[Peg]:
        """The demands ``order`` serves through the levels (a parent's planned order is followed up to
        the sales order lines, forecasts, safety stock or stock it serves), in this item's quantity."""
        out: dict[tuple, Decimal] = {}
        for p in order.pegs:
            if p.kind != PLANNED or p.parent is None:
                key = (p.kind, p.ref, p.doc, p.line)
                out[key] = out.get(key, ZERO) + p.qty
                continue
            parent = self.order(p.parent)
            for tp in self.top_pegs(parent):
                key = (tp.kind, tp.ref, tp.doc, tp.line)
                out[key] = out.get(key, ZERO) + (tp.qty * p.qty / parent.qty).quantize(QTY)
        return [Peg(k[0], q, k[1], k[2], k[3]) for k, q in out.items()]


# A requirement element: (sort key, qty, peg template); the key's first two values are its bucket and date
_Elem = tuple[tuple, Decimal, Peg]
_new = tuple.__new__        # a Peg without NamedTuple's keyword handling (hundreds of thousands per run)
_MISSING = object()


def plan(problem: P.Problem, *, only: set[int] | None = None, pegging: bool = True) -> Plan:
    """Plan ``problem`` (all items, or the items in ``only`` with the parents' needs in ``problem.outside``);
    ``pegging=False`` leaves the planned orders' pegs empty (a run stores none: ``pegging.py``)."""
    edges = {p: [c.item for b in bs for c in b.components] for p, bs in problem.boms.items()}
    levels = low_level_codes(problem.items, edges)
    elems, beyond = _independent(problem)
    by_item: dict[int, list[P.Receipt]] = defaultdict(list)
    for r in problem.receipts:
        by_item[r.item].append(r)
    result = Plan(problem.buckets, levels, {}, [], [], beyond)
    order = sorted((i for i in problem.items if only is None or i in only),
                   key=lambda i: (levels.get(i, 0), problem.items[i].code, i))
    explode = _Exploder(problem, elems)
    for item_id in order:
        item = problem.items[item_id]
        receipts = sorted(by_item.get(item_id, ()), key=lambda r: (r.date, r.ref, r.line or 0))
        mine = elems.pop(item_id, [])
        mine.sort()         # by bucket and date, then by what they are (keys are unique: never past the key)
        planned = _net(problem, result, item, mine, receipts)
        if pegging:
            _peg(problem, item, mine, receipts, planned)
        if receipts:
            result.actions.extend(_actions(problem, item, result.records[item_id], receipts))
        for po in planned:
            explode(po)
    return result


_RANK = {P.SALES: 0, P.MPS: 1, P.FORECAST: 2, P.ORDER: 3, PLANNED: 4}
_RANK_PLANNED = _RANK[PLANNED]


def _order_key(bucket: int, date: dt.date, seq: int, qty: Decimal, p: Peg) -> tuple:
    """Requirements by bucket and date, then by what they are (not by input order): the same problem in
    any order gives the same pegging. ``seq`` last makes every key unique."""
    if p.kind == OUTSIDE:       # sorted as a parent's planned order of this pass would be
        return (bucket, date, _RANK_PLANNED, PLANNED, "", 0, 0, p.line or 0, qty, seq)
    return (bucket, date, _RANK.get(p.kind, 9), p.kind, p.ref, p.line or 0, p.doc or 0, p.parent or 0, qty, seq)


def _independent(problem: P.Problem) -> tuple[dict[int, list[_Elem]], int]:
    """Each item's independent requirements by bucket: its MPS lines if it has any, else its sales order
    lines plus the part of its forecast they do not consume; parents' needs from ``outside`` as they are."""
    b = problem.buckets
    grouped: dict[int, dict[int, dict[str, list[tuple[int, P.Demand]]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    has_mps: set[int] = set()
    beyond = 0
    for n, d in enumerate((*problem.demands, *problem.outside)):
        i = b.index(d.date)
        if i >= b.count or d.qty <= 0:
            beyond += i >= b.count
            continue
        grouped[d.item][i][d.kind].append((n, d))
        if d.kind == P.MPS:
            has_mps.add(d.item)
    out: dict[int, list[_Elem]] = defaultdict(list)
    for item, per_bucket in grouped.items():
        for i, kinds in per_bucket.items():
            take = [P.MPS] if item in has_mps else [P.SALES]
            chosen = [x for k in take for x in kinds.get(k, ())]
            chosen += [x for k in sorted(kinds) if k not in (P.SALES, P.FORECAST, P.MPS) for x in kinds[k]]
            if item not in has_mps:
                ordered = sum((d.qty for _, d in kinds.get(P.SALES, ())), ZERO)
                for n, d in kinds.get(P.FORECAST, ()):          # forecast consumed by the orders, line by line
                    rest = d.qty - min(ordered, d.qty)
                    ordered -= min(ordered, d.qty)
                    if rest > 0:
                        chosen.append((n, P.Demand(d.item, d.date, rest, d.kind, d.ref, d.doc, d.line)))
            for n, d in chosen:
                parent = d.doc if d.kind == PLANNED else None
                peg = Peg(d.kind, d.qty, d.ref, None if parent else d.doc, d.line, parent)
                out[item].append((_order_key(i, d.date, n, d.qty, peg), d.qty, peg))
    return out, beyond


def _net(problem: P.Problem, result: Plan, item: P.Item, mine: list[_Elem], receipts: list[P.Receipt]) -> list[PlannedOrder]:
    b, n = problem.buckets, problem.buckets.count
    gross, sr = [ZERO] * n, [ZERO] * n
    for e in mine:
        gross[e[0][0]] += e[1]
    for r in receipts:
        i = b.index(r.date)
        if i < n:
            sr[i] += r.qty
    poh, net, por, rel = [ZERO] * n, [ZERO] * n, [ZERO] * n, [ZERO] * n
    prev, ss = item.on_hand, item.safety_stock
    made: list[PlannedOrder] = []
    orders, today, back = result.orders, problem.today, problem.calendar.back
    for t in range(n):
        avail = prev + sr[t] - gross[t]
        if avail < ss:
            net[t] = ss - avail
            due = max(b.date(t), today)
            release = back(due, item.lead_time)
            at = b.index(release)
            for q in lots(net[t], item.lot_rule, item.lot_size):
                po = PlannedOrder(len(orders) + 1, item.id, item.source, q, due, release, t, release < today)
                orders.append(po)
                made.append(po)
                por[t] += q
                rel[at] += q
            avail += por[t]
        poh[t] = prev = avail
    result.records[item.id] = ItemRecord(item.id, result.levels.get(item.id, 0), gross, sr, poh, net, por, rel)
    return made


def _peg(problem: P.Problem, item: P.Item, mine: list[_Elem], receipts: list[P.Receipt], planned: list[PlannedOrder]) -> None:
    """Hand supplies to requirements first come first served; planned orders keep what they serve."""
    b = problem.buckets
    supplies: list[list] = [[-1, 0, item.on_hand, None]]
    supplies += [[b.index(r.date), 1, r.qty, None] for r in receipts]
    supplies += [[po.bucket, 2, po.qty, po] for po in planned]
    supplies.sort(key=lambda s: (s[0], s[1]))
    reqs: list[tuple[Decimal, Peg]] = []
    if item.safety_stock > 0:
        reqs.append((item.safety_stock, Peg(SAFETY, item.safety_stock, "安全库存")))
    reqs += [(e[1], e[2]) for e in mine]
    k, end = 0, len(supplies)
    for qty, template in reqs:
        left = qty
        while left > ZERO and k < end:
            s = supplies[k]
            have = s[2]
            take = have if have < left else left        # min(left, have), without the call
            if take > ZERO and s[3] is not None:
                s[3].pegs.append(template if take == template[1] else _new(Peg, (template[0], take, *template[2:])))
            s[2] = have - take
            left -= take
            if s[2] <= ZERO:
                k += 1
    for s in supplies:
        if s[3] is not None and s[2] > ZERO:
            s[3].pegs.append(Peg(STOCK, s[2], "批量余量"))


def _actions(problem: P.Problem, item: P.Item, rec: ItemRecord, receipts: list[P.Receipt]) -> list[Action]:
    """Each scheduled receipt against the bucket it is first needed in, counting on hand and the
    receipts before it: earlier → expedite, later → reschedule out, never → cancel."""
    b = problem.buckets
    cum, total = [], ZERO
    for g in rec.gross:
        total += g
        cum.append(total)
    out, before = [], item.on_hand
    for r in receipts:
        at = b.index(r.date)
        if at >= b.count:
            continue
        need = next((t for t in range(b.count) if before - cum[t] < item.safety_stock), None)
        if need is None:
            out.append(Action(r, CANCEL, None))
        elif need != at:
            out.append(Action(r, EXPEDITE if need < at else RESCHEDULE_OUT, max(b.date(need), problem.today)))
        before += r.qty
    return out


class _Exploder:
    """A make order's component needs, added to the components' requirements: each BOM line's need for the
    order's quantity on its release date, from the BOM in force that day (looked up once per item when the
    item has one BOM without dates, else once per item and day) and computed once per (line, quantity)."""

    def __init__(self, problem: P.Problem, elems: dict[int, list[_Elem]]) -> None:
        self.problem, self.elems = problem, elems
        self.seq = len(problem.demands) + len(problem.outside)
        self.fixed: dict[int, Any] = {}
        self.by_day: dict[tuple[int, dt.date], tuple[P.Component, ...]] = {}
        self.needs: dict[tuple[int, Decimal], Decimal] = {}

    def lines(self, item: int, day: dt.date) -> tuple[P.Component, ...]:
        lines = self.fixed.get(item, _MISSING)
        if lines is _MISSING:
            boms = self.problem.boms.get(item, ())
            undated = len(boms) == 1 and boms[0].effective_from is None and boms[0].effective_to is None
            lines = self.fixed[item] = boms[0].components if undated else () if not boms else None
        if lines is None:
            key = (item, day)
            lines = self.by_day.get(key)
            if lines is None:
                bom = choose_bom(self.problem.boms.get(item, ()), day)
                lines = self.by_day[key] = bom.components if bom else ()
        return lines

    def __call__(self, po: PlannedOrder) -> None:
        if po.source != P.MAKE:
            return
        lines = self.lines(po.item, po.release)
        if not lines:
            return
        i = self.problem.buckets.index(po.release)
        needs, elems = self.needs, self.elems
        for c in lines:
            key = (id(c), po.qty)       # the same lot of the same line again (lot sizes repeat): computed once
            need = needs.get(key)
            if need is None:
                need = needs[key] = component_qty(po.qty, c)
            if need > ZERO:
                self.seq += 1
                elems[c.item].append(((i, po.release, _RANK_PLANNED, PLANNED, "", 0, 0, po.number, need, self.seq), need,
                                      _new(Peg, (PLANNED, need, "", None, None, po.number))))


def choose_bom(boms: tuple[P.Bom, ...], day: dt.date) -> P.Bom | None:
    """The BOM in effect on ``day``: the default one first, then the latest effective from."""
    if len(boms) == 1:          # the usual case
        return boms[0] if boms[0].covers(day) else None
    live = [b for b in boms if b.covers(day)]
    if not live:
        return None
    return max(live, key=lambda b: (b.is_default, b.effective_from or dt.date.min, b.ref))


def component_qty(qty: Decimal, c: P.Component) -> Decimal:
    """A component's need for ``qty`` of the parent, rounded up to 4 decimals (as release computes it)."""
    base = c.base_qty if c.base_qty > 0 else Decimal(1)
    if not c.scrap_rate:
        return (c.qty_per * qty / base).quantize(QTY, rounding=ROUND_CEILING)
    return (c.qty_per * qty / base * (1 + c.scrap_rate / 100)).quantize(QTY, rounding=ROUND_CEILING)


#: the requirement elements of a problem by item, and the hand-out of supplies to them: pegging on demand
#: (``pegging.py``) runs the same two steps over the stored planned orders
independent = _independent
peg = _peg
