"""直通率 RTY (rolled throughput yield, issue 22) — ``GET /api/quality/rty``, SQLite and PostgreSQL.

Definition: RTY = Π FPYᵢ, the product of the steps' first-pass yields (Six Sigma; P. Keller, *Six Sigma
Demystified*, McGraw-Hill 2011, as published at qualityamerica.com "Rolled Throughput Yield": six steps of
99.7 %, 99.5 %, 95 %, 89 %, 92.3 % and 94 % give Yrt = 0.728; iSixSigma forum "Rolled throughput yield for a
process": 0.97 × 0.94 = 0.91). FPY of an operation = good ÷ (good + scrap + rework), as the quality pack's
report first_pass_yield says.

Hand-checked example on a released order of 100 闸阀 DN50 (FG-V50): the first operation reports 95 good,
3 scrap, 2 rework (FPY 95/100 = 0.95); the second 81 good and 9 rework (81/90 = 0.90); RTY = 0.95 × 0.90 =
0.855. A correction taking 5 good back on the second operation (good 76, rework 14: 76/90 = 0.8444…) gives
0.95 × 0.8444… = 0.80222…; operations not reported yet are listed without a yield and left out."""
from __future__ import annotations

import pytest

from mom.engines.quality.rty import first_pass_yield, rolled
from tests.integration.test_quality_ipqc import Floor


def test_the_published_worked_examples() -> None:
    assert rolled([0.997, 0.995, 0.95, 0.89, 0.923, 0.94]) == pytest.approx(0.728, abs=5e-4)     # Keller
    assert rolled([0.97, 0.94]) == pytest.approx(0.91, abs=5e-3)                                 # iSixSigma
    assert first_pass_yield(95, 3, 2) == 0.95 and first_pass_yield(0, 0, 0) is None and rolled([None]) is None


@pytest.fixture
def floor(core_pack, engine, client) -> Floor:  # type: ignore[no-untyped-def]
    return Floor(client, engine)


def test_an_orders_rty_is_the_product_of_its_operations_first_pass_yields(floor: Floor) -> None:
    order = floor.released_order(qty=100)
    seqs = sorted(order["tasks"])
    first, second = order["tasks"][seqs[0]], order["tasks"][seqs[1]]
    floor.report(first, "start")
    reason = floor.get("/api/records/scrap_reason?limit=1")["items"][0]["id"]
    floor.report(first, "report", good_qty=95, scrap_qty=3, rework_qty=2, scrap_reason=reason)
    floor.report(second, "start")
    made = floor.report(second, "report", good_qty=81, rework_qty=9)
    got = floor.get(f"/api/quality/rty?order={order['code']}", who="qc1")
    steps = {s["seq"]: s for s in got["steps"]}
    assert steps[seqs[0]]["fpy"] == pytest.approx(0.95) and steps[seqs[0]]["processed"] == 100
    assert steps[seqs[1]]["fpy"] == pytest.approx(0.90) and steps[seqs[1]]["rework"] == 9
    assert got["rty"] == pytest.approx(0.855) and got["order"]["code"] == order["code"]
    assert got["complete"] is (len(seqs) == 2) and all(steps[s]["fpy"] is None for s in seqs[2:])
    assert steps[seqs[0]]["inspections"] == {"judged": 0, "rejected": 0}
    # per item over the period: the same operations, the same product
    per_item = floor.get(f"/api/quality/rty?item={floor.item['FG-V50']}", who="qe1")
    assert per_item["rty"] == pytest.approx(0.855) and [o["code"] for o in per_item["orders"]] == [order["code"]]
    # a planner's correction moves 5 good to rework on the second operation: 76 / 90
    r = floor.client.post("/api/production/reports", headers=floor.h("plan1"), json={
        "task": second["code"], "event": "correct", "corrects": made["report"]["id"], "good_qty": -5, "rework_qty": 5, "reason": "返工漏报"})
    assert r.status_code in (200, 201), r.text
    got = floor.get(f"/api/quality/rty?order={order['id']}", who="op1")       # by id; an operator reads it too
    assert got["rty"] == pytest.approx(0.95 * 76 / 90) and round(got["rty"], 5) == 0.80222
    assert got["steps"][0]["inspections"] == {"judged": 0, "rejected": 0}    # operators read in-process lots (their scope)


def test_refusals_in_words(floor: Floor) -> None:
    for q, words in (("", "生产工单"), ("?order=MO-0&item=1", "之一"), ("?order=NOPE-1", "没有找到生产工单"),
                     ("?item=1&from=2026-13-01", "起始日期"), ("?item=1&from=2020-01-01&to=2026-01-01", "400")):
        r = floor.client.get("/api/quality/rty" + q, headers=floor.h("qc1"))
        assert r.status_code in (404, 422) and words in r.text, (q, r.text)


def test_dates_and_ids_past_the_calendar_answer_422_in_words(floor: Floor) -> None:
    """Review of issue 22: 9999-12-31 (plus a day) overflowed the calendar and a 23-digit id overflowed the
    database — both were 500s; the dates follow the OEE periods' rule (1970–2200)."""
    for q, words, pointer in (("?item=1&from=9999-12-31&to=9999-12-31", "起始日期", "/from"),
                              ("?item=1&to=9999-12-31", "截止日期", "/to"),
                              ("?item=1&from=0001-01-01&to=2026-01-01", "起始日期", "/from"),
                              ("?item=1&from=2026-02-01&to=2026-01-01", "起始日期晚于截止日期", "/from"),
                              ("?order=99999999999999999999999", "生产工单", "/order"),
                              ("?order=9223372036854775808", "生产工单", "/order")):
        r = floor.client.get("/api/quality/rty" + q, headers=floor.h("qc1"))
        assert r.status_code == 422 and words in r.text and pointer in r.text, (q, r.text)
    r = floor.client.get("/api/quality/rty?order=²", headers=floor.h("qc1"))    # a digit to Python, not an id
    assert r.status_code == 404 and "没有找到生产工单" in r.text, r.text
