"""MRP records against published worked textbook examples, row by row (issue 21 items 4 and 7).

Each test builds the example's item(s) as a pure :class:`Problem` and compares the six rows of the MRP
record (gross requirements, scheduled receipts, projected on hand, net requirements, planned order
receipts, planned order releases) with the example's table. Periods are days on a calendar where every
day is a working day, so a lead time of n periods is n working days; one example runs again in ISO
weeks on a Monday-to-Friday calendar (a week of lead time = 5 working days) and must give the same record.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mom.engines.mrp import plan as M
from mom.engines.mrp.buckets import Buckets
from mom.engines.mrp.calendar import WorkCalendar
from mom.engines.mrp.problem import BUY, MAKE, SALES, Bom, Component, Demand, Item, Problem, Receipt

MONDAY = dt.date(2027, 3, 1)       # a Monday: period 1


def D(v: object) -> Decimal:
    return Decimal(str(v))


def period(p: int, kind: str = "day") -> dt.date:
    return MONDAY + dt.timedelta(days=(p - 1) * (7 if kind == "week" else 1))


def problem(items: list[Item], demands: dict[str, dict[int, int]], receipts: dict[str, dict[int, int]] | None = None,
            boms: dict[str, dict[str, int]] | None = None, periods: int = 10, kind: str = "day") -> Problem:
    by_code = {i.code: i for i in items}
    workdays = range(1, 8) if kind == "day" else range(1, 6)
    cal = WorkCalendar(workdays, first=MONDAY - dt.timedelta(days=400), last=MONDAY + dt.timedelta(days=400))
    return Problem(
        items={i.id: i for i in items},
        boms={by_code[p].id: (Bom(by_code[p].id, tuple(Component(by_code[c].id, D(q)) for c, q in lines.items())),)
              for p, lines in (boms or {}).items()},
        demands=tuple(Demand(by_code[c].id, period(p, kind), D(q), SALES, f"SO-{c}-{p}") for c, per in demands.items()
                      for p, q in per.items()),
        receipts=tuple(Receipt(by_code[c].id, period(p, kind), D(q), ref=f"PO-{c}-{p}") for c, per in (receipts or {}).items()
                       for p, q in per.items()),
        calendar=cal, buckets=Buckets.from_today(MONDAY, kind, periods), today=MONDAY)


def rows(plan: M.Plan, item: Item) -> dict[str, list[int]]:
    r = plan.records[item.id]
    return {k: [int(v) if v == int(v) else float(v) for v in getattr(r, k)]
            for k in ("gross", "receipts", "on_hand", "net", "planned_receipts", "planned_releases")}


def test_lot_for_lot_two_week_lead_time() -> None:
    """End item A: lead time 2 weeks, 120 on hand, no scheduled receipts, lot for lot, MPS demand
    41 44 84 42 84 86 7 18 49 30 (the textbook problem "End item A has a planned lead time of 2 weeks",
    https://tutorsglobe.com/question/end-item-a-has-a-planned-lead-time-of-2-weeks-there-are-51623292.aspx)."""
    a = Item(1, "A", lead_time=2, on_hand=D(120))
    demand = [41, 44, 84, 42, 84, 86, 7, 18, 49, 30]
    plan = M.plan(problem([a], {"A": dict(enumerate(demand, 1))}))
    assert rows(plan, a) == {
        "gross":            [41, 44, 84, 42, 84, 86, 7, 18, 49, 30],
        "receipts":         [0] * 10,
        "on_hand":          [79, 35, 0, 0, 0, 0, 0, 0, 0, 0],
        "net":              [0, 0, 49, 42, 84, 86, 7, 18, 49, 30],
        "planned_receipts": [0, 0, 49, 42, 84, 86, 7, 18, 49, 30],
        "planned_releases": [49, 42, 84, 86, 7, 18, 49, 30, 0, 0]}
    assert not any(o.late for o in plan.orders)


def test_fixed_order_quantity_with_a_scheduled_receipt() -> None:
    """Krajewski, Ritzman & Malhotra, Operations Management, MRP chapter problem: gross requirements
    30 40 40 30 30 30, lead time 1 period, lot size Q = 50, no safety stock, 2 on hand, a scheduled
    receipt of 50 in period 1; published answer (a): planned order releases in periods 1, 2 and 4
    (https://grandpaperwriters.com/question-answer-develop-an-mrp-spreadsheet-record-for-six-periods-using-the-following-parameters-for-the-item/)."""
    x = Item(1, "X", source=BUY, lead_time=1, on_hand=D(2), lot_rule="fixed", lot_size=D(50))
    plan = M.plan(problem([x], {"X": {1: 30, 2: 40, 3: 40, 4: 30, 5: 30, 6: 30}}, {"X": {1: 50}}, periods=6))
    assert rows(plan, x) == {
        "gross":            [30, 40, 40, 30, 30, 30],
        "receipts":         [50, 0, 0, 0, 0, 0],
        "on_hand":          [22, 32, 42, 12, 32, 2],
        "net":              [0, 18, 8, 0, 18, 0],
        "planned_receipts": [0, 50, 50, 0, 50, 0],
        "planned_releases": [50, 50, 0, 50, 0, 0]}
    assert [(o.release, o.due, o.qty, o.source) for o in plan.orders] == [
        (period(1), period(2), 50, BUY), (period(2), period(3), 50, BUY), (period(4), period(5), 50, BUY)]


def test_fixed_order_quantity_with_safety_stock() -> None:
    """The same problem, part (b): 20 units of safety stock; projected on hand never falls below 20, so
    the releases move to periods 1, 2, 3 and 5 (same source)."""
    x = Item(1, "X", source=BUY, lead_time=1, on_hand=D(2), safety_stock=D(20), lot_rule="fixed", lot_size=D(50))
    plan = M.plan(problem([x], {"X": {1: 30, 2: 40, 3: 40, 4: 30, 5: 30, 6: 30}}, {"X": {1: 50}}, periods=6))
    assert rows(plan, x) == {
        "gross":            [30, 40, 40, 30, 30, 30],
        "receipts":         [50, 0, 0, 0, 0, 0],
        "on_hand":          [22, 32, 42, 62, 32, 52],
        "net":              [0, 38, 28, 8, 0, 18],
        "planned_receipts": [0, 50, 50, 50, 0, 50],
        "planned_releases": [50, 50, 50, 0, 50, 0]}
    assert all(v >= 20 for v in rows(plan, x)["on_hand"])
    # on hand and the scheduled receipt hold the safety stock and period 1; the first planned order serves
    # the rest of period 2 and part of period 3
    first = plan.orders[0]
    assert [(p.kind, p.ref, p.qty) for p in first.pegs] == [(SALES, "SO-X-2", 38), (SALES, "SO-X-3", 12)]
    # with nothing on hand, the first lot holds the safety stock before it serves demand
    y = Item(2, "Y", source=BUY, safety_stock=D(10))
    ss = M.plan(problem([y], {"Y": {1: 5}}, periods=1))
    assert [(p.kind, p.qty) for p in ss.orders[0].pegs] == [("safety_stock", 10), (SALES, 5)]


def test_expedite_a_scheduled_receipt_when_demand_rises() -> None:
    """Lot size 200, lead time 4 weeks, 100 on hand, gross requirements 50 125 100 60 40, scheduled receipts
    of 200 in weeks 2 and 4: no action. With week 3 raised to 150 "we need at least one lot of 200 to be
    received in week 3 … so the scheduled receipt of 200 needs to be shifted from the 4th week to the 3rd"
    (https://homeworksource.com/p/1020430/following-mrp-recor-what-will-happen-if-the-gross-requiremen)."""
    x = Item(1, "X", source=BUY, lead_time=20, on_hand=D(100), lot_rule="fixed", lot_size=D(200))
    sr = {"X": {2: 200, 4: 200}}
    calm = M.plan(problem([x], {"X": {1: 50, 2: 125, 3: 100, 4: 60, 5: 40}}, sr, periods=5, kind="week"))
    assert rows(calm, x)["on_hand"] == [50, 125, 25, 165, 125]
    assert calm.actions == [] and calm.orders == []
    risen = M.plan(problem([x], {"X": {1: 50, 2: 125, 3: 150, 4: 60, 5: 40}}, sr, periods=5, kind="week"))
    assert [(a.receipt.ref, a.kind, a.to) for a in risen.actions] == [("PO-X-4", M.EXPEDITE, period(3, "week"))]
    # netting alone, the receipt left where it is, would need a lot in week 3 that should have been released
    # four weeks earlier: late (过期)
    assert [(o.qty, o.bucket, o.late) for o in risen.orders] == [(200, 2, True)]


def test_cancel_and_reschedule_out() -> None:
    """A receipt nothing needs inside the horizon is to be cancelled; one needed only later, moved out."""
    x = Item(1, "X", source=BUY, lead_time=1, on_hand=D(10))
    plan = M.plan(problem([x], {"X": {5: 15}}, {"X": {2: 10, 3: 10}}, periods=6))
    assert [(a.receipt.ref, a.kind, a.to) for a in plan.actions] == [
        ("PO-X-2", M.RESCHEDULE_OUT, period(5)), ("PO-X-3", M.CANCEL, None)]


MULTI = dict(
    # One unit of A is one B and one C; B is three D and one F; C is three B, one D and four E; D is one E.
    boms={"A": {"B": 1, "C": 1}, "B": {"D": 3, "F": 1}, "C": {"B": 3, "D": 1, "E": 4}, "D": {"E": 1}})


def multi_items(week: bool) -> list[Item]:
    f = 5 if week else 1           # working days per period
    return [Item(1, "A", lead_time=2 * f, on_hand=D(5), lot_rule="fixed", lot_size=D(20)),
            Item(2, "B", lead_time=2 * f, on_hand=D(10), lot_rule="fixed", lot_size=D(40)),
            Item(3, "C", lead_time=1 * f),
            Item(4, "D", lead_time=3 * f, on_hand=D(100), lot_rule="fixed", lot_size=D(160)),
            Item(5, "E", source=BUY, lead_time=2 * f, on_hand=D(100)),
            Item(6, "F", source=BUY, lead_time=2 * f)]


@pytest.mark.parametrize("kind", ["day", "week"])
def test_multi_level_with_low_level_codes(kind: str) -> None:
    """The textbook problem "One unit of A is made up of one unit of B and one unit of C …": C lead time 1
    week; A, B, E, F 2 weeks; D 3 weeks; lot for lot for C, E, F; lots of 20, 40, 160 for A, B, D; on hand
    A 5, B 10, D 100, E 100; scheduled receipts A 10 in week 3, B 20 in week 7, F 40 in week 5, E 60 in
    week 2; 20 A required in week 10; "use the low-level coded bill of materials"
    (https://tutorsglobe.com/question/one-unit-of-a-is-made-up-of-one-unit-of-b-and-one-5218399.aspx).
    B sits under A and under C (low-level code 2), D under B and C (3), E under C and D (4): each is
    planned once, after all its parents, from their summed planned order releases."""
    items = multi_items(kind == "week")
    a, b, c, d, e, f = items
    plan = M.plan(problem(items, {"A": {10: 20}}, {"A": {3: 10}, "B": {7: 20}, "F": {5: 40}, "E": {2: 60}},
                          MULTI["boms"], kind=kind))
    assert {i.code: plan.levels[i.id] for i in items} == {"A": 0, "C": 1, "B": 2, "D": 3, "F": 3, "E": 4}
    assert rows(plan, a) == {
        "gross": [0] * 9 + [20], "receipts": [0, 0, 10] + [0] * 7, "on_hand": [5, 5] + [15] * 8,
        "net": [0] * 9 + [5], "planned_receipts": [0] * 9 + [20], "planned_releases": [0] * 7 + [20, 0, 0]}
    assert rows(plan, c) == {
        "gross": [0] * 7 + [20, 0, 0], "receipts": [0] * 10, "on_hand": [0] * 10,
        "net": [0] * 7 + [20, 0, 0], "planned_receipts": [0] * 7 + [20, 0, 0], "planned_releases": [0] * 6 + [20, 0, 0, 0]}
    assert rows(plan, b) == {
        "gross": [0] * 6 + [60, 20, 0, 0], "receipts": [0] * 6 + [20, 0, 0, 0], "on_hand": [10] * 7 + [30, 30, 30],
        "net": [0] * 6 + [30, 10, 0, 0], "planned_receipts": [0] * 6 + [40, 40, 0, 0],
        "planned_releases": [0] * 4 + [40, 40, 0, 0, 0, 0]}
    assert rows(plan, d) == {
        "gross": [0] * 4 + [120, 120, 20, 0, 0, 0], "receipts": [0] * 10, "on_hand": [100] * 4 + [140, 20, 0, 0, 0, 0],
        "net": [0] * 4 + [20, 0, 0, 0, 0, 0], "planned_receipts": [0] * 4 + [160] + [0] * 5,
        "planned_releases": [0, 160] + [0] * 8}
    assert rows(plan, f) == {
        "gross": [0] * 4 + [40, 40, 0, 0, 0, 0], "receipts": [0] * 4 + [40] + [0] * 5, "on_hand": [0] * 10,
        "net": [0] * 5 + [40, 0, 0, 0, 0], "planned_receipts": [0] * 5 + [40, 0, 0, 0, 0],
        "planned_releases": [0] * 3 + [40] + [0] * 6}
    assert rows(plan, e) == {
        "gross": [0, 160] + [0] * 4 + [80, 0, 0, 0], "receipts": [0, 60] + [0] * 8, "on_hand": [100] + [0] * 9,
        "net": [0] * 6 + [80, 0, 0, 0], "planned_receipts": [0] * 6 + [80, 0, 0, 0],
        "planned_releases": [0] * 4 + [80] + [0] * 5}
    # A's receipt of 10 in week 3 is not needed before week 10: reschedule out
    assert [(x.receipt.ref, x.kind, x.to) for x in plan.actions] == [("PO-A-3", M.RESCHEDULE_OUT, period(10, kind))]


def test_pegging_through_the_levels() -> None:
    """E's planned order of 80 (week 7) serves C's planned order, which serves A's; A's lot of 20 covers
    the 5 the sales order still needs after on hand and the receipt, the other 15 go to stock: so E's 80
    serves the sales order with 20 (4 E per A) and stock with 60."""
    items = multi_items(False)
    plan = M.plan(problem(items, {"A": {10: 20}}, {"A": {3: 10}, "B": {7: 20}, "F": {5: 40}, "E": {2: 60}}, MULTI["boms"]))
    e_order = next(o for o in plan.orders if o.item == 5)
    c_order = next(o for o in plan.orders if o.item == 3)
    assert [(p.kind, p.parent, p.qty) for p in e_order.pegs] == [("planned", c_order.number, 80)]
    assert sorted((p.kind, p.ref, p.qty) for p in plan.top_pegs(e_order)) == [(SALES, "SO-A-10", 20), ("stock", "批量余量", 60)]


def test_scrap_rate_and_base_quantity() -> None:
    """3 per base quantity 2 with 10 % scrap: 100 parents need 100 × 3 / 2 × 1.1 = 165."""
    p, c = Item(1, "P", lead_time=0), Item(2, "C", source=BUY)
    prob = problem([p, c], {"P": {1: 100}}, periods=2)
    prob = Problem(prob.items, {1: (Bom(1, (Component(2, D(3), D(10), D(2)),)),)}, prob.demands, (), prob.calendar,
                   prob.buckets, prob.today)
    plan = M.plan(prob)
    assert plan.records[2].gross == [D(165), 0]


def test_bom_effective_dates_pick_the_version_in_force_on_release() -> None:
    p, old, new = Item(1, "P", lead_time=1), Item(2, "OLD", source=BUY), Item(3, "NEW", source=BUY)
    base = problem([p, old, new], {"P": {2: 1, 6: 1}}, periods=8)
    boms = {1: (Bom(1, (Component(2, D(1)),), effective_to=period(3), ref="v1"),
                Bom(1, (Component(3, D(1)),), effective_from=period(4), ref="v2"))}
    plan = M.plan(Problem(base.items, boms, base.demands, (), base.calendar, base.buckets, base.today))
    assert plan.records[2].gross == [1] + [0] * 7          # released in period 1: version 1
    assert plan.records[3].gross == [0] * 4 + [1, 0, 0, 0]  # released in period 5: version 2


def test_a_loop_in_the_boms_is_refused_in_words() -> None:
    from mom.platform.errors import InvalidInput

    p, q = Item(1, "P"), Item(2, "Q")
    base = problem([p, q], {"P": {1: 1}})
    boms = {1: (Bom(1, (Component(2, D(1)),)),), 2: (Bom(2, (Component(1, D(1)),)),)}
    with pytest.raises(InvalidInput) as err:
        M.plan(Problem(base.items, boms, base.demands, (), base.calendar, base.buckets, base.today))
    assert err.value.zh == "物料清单有循环：#1 → #2 → #1。请修改其中一张物料清单，去掉这个循环"
