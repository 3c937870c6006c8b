"""How much a 补料规则 asks for (no database): min/max fills up to the top once stock is below the reorder
point (Odoo's reordering rules: "below the minimum, replenish up to the maximum"); kanban asks for the
whole emptied containers (one withdrawal kanban per empty container: Ohno, *Toyota Production System*, 1988,
ch. 2), never more cards than there are."""
from __future__ import annotations

from decimal import Decimal

from mom.engines.inventory.replenishment import request_qty, top_of


def _mm(lo: str, hi: str) -> dict:
    return {"method": "min_max", "min_qty": Decimal(lo), "max_qty": Decimal(hi)}


def _kb(lo: str, per: str, cards: int, hi: str | None = None) -> dict:
    return {"method": "kanban", "min_qty": Decimal(lo), "max_qty": Decimal(hi) if hi else None, "kanban_qty": Decimal(per),
            "kanban_cards": cards}


def test_min_max_asks_only_below_the_reorder_point_and_fills_to_the_top() -> None:
    rule = _mm("20", "100")
    assert request_qty(rule, Decimal(20)) == 0                 # at the reorder point: nothing yet
    assert request_qty(rule, Decimal("19.5")) == Decimal("80.5")
    assert request_qty(rule, Decimal(0)) == 100
    assert request_qty(rule, Decimal(-10)) == 110              # a line side that allows negative stock: back to the top


def test_kanban_asks_for_whole_empty_cards() -> None:
    rule = _kb("40", "20", 5)
    assert top_of(rule) == 100
    assert request_qty(rule, Decimal(40)) == 0
    assert request_qty(rule, Decimal(35)) == 60                # 1 full + 1 part-used container: 3 empty cards
    assert request_qty(rule, Decimal(39)) == 60
    assert request_qty(rule, Decimal(0)) == 100                # all five cards
    assert request_qty(rule, Decimal(-30)) == 100              # never more cards than there are
    assert request_qty(_kb("95", "20", 5), Decimal(90)) == 20  # less than one card empty: still one card once below


def test_a_kanban_top_given_replaces_cards_times_quantity() -> None:
    assert top_of(_kb("30", "10", 6, hi="50")) == 50
    assert request_qty(_kb("30", "10", 6, hi="50"), Decimal(25)) == 20
