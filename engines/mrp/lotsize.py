"""Lot-sizing rules (批量规则) on the core item form's ``lot_size_rule`` and ``lot_size``.

- ``lot_for_lot`` (按需): one order of exactly the net requirement;
- ``fixed`` (固定批量) Q: ⌈NR/Q⌉ orders of Q each (Q·⌈NR/Q⌉ in all); more than ``MAX_LOTS`` lots in one
  bucket become one order of Q·⌈NR/Q⌉ (a run's size stays bounded whatever the data);
- ``multiple`` (批量倍数) Q: one order of Q·⌈NR/Q⌉;
- ``minimum`` (最小批量) Q: one order of max(NR, Q).
A rule whose lot size is empty or 0 works lot for lot (mom-domain.md §3.1).
"""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

LOT_FOR_LOT, FIXED, MULTIPLE, MINIMUM = "lot_for_lot", "fixed", "multiple", "minimum"
RULES = (LOT_FOR_LOT, FIXED, MULTIPLE, MINIMUM)
ZERO = Decimal(0)
MAX_LOTS = 20


def lots(net: Decimal, rule: str | None, size: Decimal | None) -> list[Decimal]:
    """The planned order quantities that cover net requirement ``net`` (> 0) under ``rule``."""
    if net <= 0:
        return []
    q = size if size is not None and size > 0 else None
    if q is None or rule in (None, "", LOT_FOR_LOT):
        return [net]
    n = int((net / q).to_integral_value(rounding=ROUND_CEILING))
    if rule == FIXED:
        return [q] * n if n <= MAX_LOTS else [q * n]
    if rule == MULTIPLE:
        return [q * n]
    if rule == MINIMUM:
        return [max(net, q)]
    return [net]
