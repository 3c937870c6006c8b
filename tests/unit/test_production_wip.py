"""Work in progress per operation (issue 19): what reached an operation and is neither good nor scrap —
and nothing at an operation that is finished, even if it passed fewer than reached it (a supervisor
reads WIP as work still to do)."""
from __future__ import annotations

from decimal import Decimal

from mom.engines.production.progress import wip

ORDER = {"qty": Decimal("20")}


def test_wip_counts_what_reached_an_open_operation() -> None:
    tasks = [{"status": "running", "good_qty": Decimal("12"), "scrap_qty": Decimal("1")},
             {"status": "ready", "good_qty": Decimal("4"), "scrap_qty": Decimal("0")}]
    assert wip(ORDER, tasks, 0) == Decimal("7")          # 20 reached, 12 good, 1 scrap
    assert wip(ORDER, tasks, 1) == Decimal("8")          # 12 passed on, 4 good


def test_a_finished_operation_holds_no_wip_even_with_a_shortfall() -> None:
    tasks = [{"status": "done", "good_qty": Decimal("15"), "scrap_qty": Decimal("1")},
             {"status": "waiting", "good_qty": Decimal("0"), "scrap_qty": Decimal("0")}]
    assert wip(ORDER, tasks, 0) == Decimal("0")
    assert wip(ORDER, tasks, 1) == Decimal("15")
