"""What an MRP run plans from, as plain frozen values (no database): items, BOMs, demands, receipts.

The database side (``documents``) builds a :class:`Problem` from the core pack's forms; tests build one
by hand from a textbook's record. Quantities are ``Decimal`` in the item's stock unit; dates are dates.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mom.engines.mrp.buckets import Buckets
from mom.engines.mrp.calendar import WorkCalendar

MAKE, BUY = "make", "buy"
#: kinds of independent demand; ``order`` is a planned (not yet released) production order's components
SALES, FORECAST, MPS, ORDER = "sales_order", "forecast", "mps", "order"
#: kinds of scheduled receipt
PRODUCTION, PURCHASE = "production_order", "purchase_order"


@dataclass(frozen=True)
class Item:
    """An item as MRP sees it: lead time in working days, safety stock, lot sizing, make or buy, on hand."""

    id: int
    code: str
    name: str = ""
    source: str = MAKE
    lead_time: int = 0
    safety_stock: Decimal = Decimal(0)
    lot_rule: str = "lot_for_lot"
    lot_size: Decimal | None = None
    on_hand: Decimal = Decimal(0)


@dataclass(frozen=True)
class Component:
    """A BOM line: ``qty_per`` of ``item`` per ``base_qty`` of the parent, plus ``scrap_rate`` per cent."""

    item: int
    qty_per: Decimal
    scrap_rate: Decimal = Decimal(0)
    base_qty: Decimal = Decimal(1)


@dataclass(frozen=True)
class Bom:
    """One BOM of a parent item, used for orders released between ``effective_from`` and ``effective_to``."""

    parent: int
    components: tuple[Component, ...]
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    is_default: bool = True
    ref: str = ""

    def covers(self, day: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= day) and \
            (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class Demand:
    """A gross requirement of ``item``: a sales order line, a forecast or MPS line, an order's component."""

    item: int
    date: dt.date
    qty: Decimal
    kind: str = SALES
    ref: str = ""
    doc: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class Receipt:
    """A scheduled receipt: an open production order or purchase order line still to arrive."""

    item: int
    date: dt.date
    qty: Decimal
    kind: str = PRODUCTION
    ref: str = ""
    doc: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class Problem:
    """Everything one run plans from."""

    items: dict[int, Item]
    boms: dict[int, tuple[Bom, ...]]
    demands: tuple[Demand, ...]
    receipts: tuple[Receipt, ...]
    calendar: WorkCalendar
    buckets: Buckets
    today: dt.date
    #: planned orders of parents not re-planned (net change): their component needs, as demands
    outside: tuple[Demand, ...] = field(default=())
