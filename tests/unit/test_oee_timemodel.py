"""OEE time model and KPIs (engines/oee/timemodel.py, shifts.py) against published worked examples.

Sources:
- OEE.com (Vorne) "Calculate OEE" worked example, as reproduced in https://pranavwrite.medium.com/what-is-oee-f35ec55eeeea
  and the slide deck https://www.scribd.com/presentation/628934152/OEE: shift 480 min − breaks 60 min (two
  15-min breaks and a 30-min meal) = planned production time 420 min; stop time 47 min → run time 373 min;
  ideal cycle time 1.0 s; total count 19,271; reject 423 → good 18,848. Published: availability 88.81 %,
  performance 86.11 %, quality 97.80 %, OEE 74.79 % (the brief guessed 94.58 % for performance: the
  published figure is 86.11 %).
- waycalculator.com OEE calculator, "Example 1": run time 420 min of 480 min planned, ideal cycle 1 min,
  400 total, 380 good → availability 87.5 %, performance 95.2 %, quality 95 %, OEE 79.1 %.
Formulas: ISO 22400-2 as quoted by OPC 40501 MachineTool Annex C.2.4 (A = APT/PBT, E = PRI×PQ/APT,
QR = GQ/PQ, OEE = A×E×QR).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mom.engines.oee.shifts import shift_windows
from mom.engines.oee.timemodel import Span, Tally, Window, kpis, split, total

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=SH).timestamp()
MIN = 60.0


def _oee_com_shift(calendar_breaks: bool) -> Tally:
    """The OEE.com shift 06:00–14:00: breaks either as gaps in the calendar or as planned-stop states."""
    if calendar_breaks:      # the calendar's shifts leave the breaks out: POT is already 420 min
        windows = [Window(T0, T0 + 120 * MIN, "2026-12-01", "早班"), Window(T0 + 135 * MIN, T0 + 240 * MIN, "2026-12-01", "早班"),
                   Window(T0 + 270 * MIN, T0 + 375 * MIN, "2026-12-01", "早班"), Window(T0 + 390 * MIN, T0 + 480 * MIN, "2026-12-01", "早班")]
        spans = [Span(T0, T0 + 47 * MIN, "down"), Span(T0 + 47 * MIN, T0 + 480 * MIN, "running")]
    else:
        windows = [Window(T0, T0 + 480 * MIN, "2026-12-01", "早班")]
        spans = [Span(T0, T0 + 100 * MIN, "running"), Span(T0 + 100 * MIN, T0 + 147 * MIN, "down"),
                 Span(T0 + 147 * MIN, T0 + 150 * MIN, "running"), Span(T0 + 150 * MIN, T0 + 165 * MIN, "planned_stop"),
                 Span(T0 + 165 * MIN, T0 + 270 * MIN, "running"), Span(T0 + 270 * MIN, T0 + 300 * MIN, "planned_stop"),
                 Span(T0 + 300 * MIN, T0 + 390 * MIN, "running"), Span(T0 + 390 * MIN, T0 + 405 * MIN, "planned_stop"),
                 Span(T0 + 405 * MIN, T0 + 480 * MIN, "running")]
    tallies = split(spans, windows)
    assert list(tallies) == [("2026-12-01", "早班")]
    t = tallies[("2026-12-01", "早班")]
    t.add_output(19271, 18848, 423, pri_s=1.0)
    return t


@pytest.mark.parametrize("calendar_breaks", [True, False], ids=["breaks-in-calendar", "breaks-as-planned-stops"])
def test_oee_com_worked_example(calendar_breaks: bool) -> None:
    k = kpis(_oee_com_shift(calendar_breaks))
    assert k["time"]["pbt_s"] == 420 * MIN
    assert k["time"]["apt_s"] == 373 * MIN and k["time"]["adot_s"] == 47 * MIN
    assert round(k["availability"] * 100, 2) == 88.81
    assert round(k["effectiveness"] * 100, 2) == 86.11
    assert round(k["quality_rate"] * 100, 2) == 97.80
    assert round(k["oee"] * 100, 2) == 74.79
    # six big losses in time: 47 min breakdown, 373 min − 19,271 s speed loss, 423 s of scrap at 1 s each
    assert k["losses_s"]["breakdown"] == 47 * MIN
    assert k["losses_s"]["reduced_speed"] == 373 * MIN - 19271
    assert k["losses_s"]["production_reject"] == 423
    # fully productive time = PBT − all losses = ideal time of the good parts (OEE.com's "simple" formula)
    assert k["time"]["pbt_s"] - sum(k["losses_s"].values()) == pytest.approx(18848 * 1.0)
    assert k["flags"] == []
    assert round(k["scrap_ratio"], 5) == round(423 / 19271, 5)


def test_waycalculator_example_1() -> None:
    w = [Window(T0, T0 + 480 * MIN, "2026-12-01", "A")]
    t = split([Span(T0, T0 + 420 * MIN, "running"), Span(T0 + 420 * MIN, T0 + 480 * MIN, "idle")], w)[("2026-12-01", "A")]
    t.add_output(400, 380, 20, pri_s=60.0)
    k = kpis(t)
    assert (round(k["availability"], 3), round(k["effectiveness"], 3), round(k["quality_rate"], 3)) == (0.875, 0.952, 0.95)
    # the page multiplies its rounded factors (0.875 × 0.952 × 0.95 = 79.1 %); unrounded it is 79.17 %
    assert round(k["availability"] * round(k["effectiveness"], 3) * k["quality_rate"], 3) == 0.791
    assert k["oee"] == pytest.approx(0.875 * 400 / 420 * 0.95)
    assert k["losses_s"]["minor_stop"] == 60 * MIN
    assert k["technical_efficiency"] == pytest.approx(420 / 480)


def test_no_planned_time_has_no_availability() -> None:
    t = Tally()
    t.add_output(10, 10, 0, pri_s=30.0)
    k = kpis(t)
    assert k["availability"] is None and k["oee"] is None and "no_planned_time" in k["flags"]
    assert k["quality_rate"] == 1.0


def test_zero_output_is_zero_oee_without_quality_rate() -> None:
    w = [Window(T0, T0 + 60 * MIN, "2026-12-01", "A")]
    k = kpis(split([Span(T0, T0 + 60 * MIN, "running")], w)[("2026-12-01", "A")])
    assert k["availability"] == 1.0 and k["effectiveness"] == 0.0 and k["quality_rate"] is None and k["oee"] == 0.0


def test_effectiveness_over_one_is_reported_not_clamped() -> None:
    w = [Window(T0, T0 + 60 * MIN, "2026-12-01", "A")]
    t = split([Span(T0, T0 + 60 * MIN, "running")], w)[("2026-12-01", "A")]
    t.add_output(90, 90, 0, pri_s=60.0)      # 90 parts at 1 min each in 60 min
    k = kpis(t)
    assert k["effectiveness"] == 1.5 and k["oee"] == 1.5 and "effectiveness_over_1" in k["flags"]
    assert k["losses_s"]["reduced_speed"] == -30 * MIN


def test_quantity_without_standard_time_stays_out_of_effectiveness() -> None:
    w = [Window(T0, T0 + 60 * MIN, "2026-12-01", "A")]
    t = split([Span(T0, T0 + 60 * MIN, "running")], w)[("2026-12-01", "A")]
    t.add_output(30, 30, 0, pri_s=60.0)
    t.add_output(50, 50, 0, pri_s=None)
    k = kpis(t)
    assert k["effectiveness"] == 0.5 and k["quantity"]["pq_without_pri"] == 50
    assert "quantity_without_standard_time" in k["flags"]


def test_states_are_split_exactly_at_shift_and_day_edges() -> None:
    night = Window(T0 - 8 * 3600, T0, "2026-11-30", "夜班")          # 22:00–06:00, day it started
    day = Window(T0, T0 + 8 * 3600, "2026-12-01", "早班")
    spans = [Span(T0 - 3600, T0 + 7200 + 0.5, "down", "breakdown"), Span(T0 + 7200.5, T0 + 8 * 3600, "setup")]
    out = split(spans, [night, day])
    n, d = out[("2026-11-30", "夜班")], out[("2026-12-01", "早班")]
    assert n.adot == 3600 and n.no_data == 7 * 3600
    assert d.adot == 7200.5 and d.aust == 8 * 3600 - 7200.5 and d.no_data == 0
    assert kpis(n)["losses_s"]["breakdown"] + kpis(d)["losses_s"]["breakdown"] == 3600 + 7200.5


def test_stop_reason_moves_the_loss_and_planned_leaves_pbt() -> None:
    w = [Window(T0, T0 + 60 * MIN, "2026-12-01", "A")]
    spans = [Span(T0, T0 + 10 * MIN, "down", "setup"), Span(T0 + 10 * MIN, T0 + 20 * MIN, "idle", "planned"),
             Span(T0 + 20 * MIN, T0 + 60 * MIN, "running")]
    k = kpis(split(spans, w)[("2026-12-01", "A")])
    assert k["time"]["pbt_s"] == 50 * MIN and k["time"]["pdot_s"] == 10 * MIN
    assert k["losses_s"]["setup"] == 10 * MIN and k["losses_s"]["breakdown"] == 0
    assert k["availability"] == pytest.approx(40 / 50)


def test_calendar_shifts_workdays_holidays_and_night_shift() -> None:
    spec = {"name": "两班", "workdays": [1, 2, 3, 4, 5], "shifts": [["08:00", "20:00"], ["20:00", "08:00"]],
            "holidays": ["2026-12-02"]}
    start = dt.datetime(2026, 11, 30, 0, 0, tzinfo=SH)      # a Monday
    end = dt.datetime(2026, 12, 7, 0, 0, tzinfo=SH)
    ws = shift_windows(spec, ["白班", "夜班"], start, end, SH)
    days = sorted({(w.day, w.shift) for w in ws})
    assert ("2026-12-02", "白班") not in days and ("2026-12-05", "白班") not in days   # holiday, Saturday
    assert ("2026-11-29", "夜班") not in days       # Sunday's night shift does not exist
    mon_night = [w for w in ws if (w.day, w.shift) == ("2026-11-30", "夜班")]
    assert len(mon_night) == 1 and mon_night[0].end - mon_night[0].start == 12 * 3600
    assert dt.datetime.fromtimestamp(mon_night[0].start, SH).hour == 20
    fri_night = [w for w in ws if (w.day, w.shift) == ("2026-12-04", "夜班")][0]
    assert fri_night.end == dt.datetime(2026, 12, 5, 8, 0, tzinfo=SH).timestamp()
    assert sum(w.end - w.start for w in ws) == 4 * 24 * 3600     # four working days, 24 h each


def test_no_calendar_is_around_the_clock_split_by_day() -> None:
    start = dt.datetime(2026, 12, 1, 12, 0, tzinfo=SH)
    ws = shift_windows(None, [], start, start + dt.timedelta(days=2), SH)
    assert [(w.day, (w.end - w.start) / 3600) for w in ws] == [("2026-12-01", 12), ("2026-12-02", 24), ("2026-12-03", 12)]
    assert all(w.shift == "全天" for w in ws)


def test_array_cut_equals_the_reference_cut_on_random_states() -> None:
    """engines/oee/vector.py (what the database reader uses) against timemodel.split, row by row."""
    import random

    import numpy as np

    from mom.engines.oee import vector
    from mom.engines.oee.timemodel import LOSSES

    rnd = random.Random(5)
    spec = {"workdays": [1, 2, 3, 4, 5, 6], "shifts": [["08:00", "12:00"], ["13:00", "17:00"], ["22:00", "06:00"]]}
    start = dt.datetime(2026, 11, 2, 5, 0, tzinfo=SH)
    ws = shift_windows(spec, ["上午", "下午", "夜班"], start, start + dt.timedelta(days=9), SH)
    spans, t = [], start.timestamp()
    while t < start.timestamp() + 9 * 86400:
        d = rnd.uniform(60, 9000)
        state = rnd.choice(["running", "idle", "down", "setup", "planned_stop", "bogus"])
        loss = rnd.choice([None, None, "planned", "breakdown", "setup", "minor_stop"])
        if rnd.random() > 0.1:          # leave gaps without a state now and then
            spans.append(Span(t, t + d, state, loss))
        t += d
    ref = split(spans, ws)
    c = [vector.codes(sp.state, sp.loss) for sp in spans]
    got = vector.tallies(np.array([sp.start for sp in spans]), np.array([sp.end for sp in spans]),
                         np.array([x[0] for x in c]), np.array([x[1] for x in c]), ws)
    assert set(got) == set(ref)
    for key, r in ref.items():
        g = got[key]
        for name in ("pot", "pdot", "apt", "aust", "adet", "adot", "no_data"):
            assert getattr(g, name) == pytest.approx(getattr(r, name), abs=1e-6), (key, name)
        for name in LOSSES:
            assert g.stop_losses.get(name, 0.0) == pytest.approx(r.stop_losses.get(name, 0.0), abs=1e-6), (key, name)
    inwin = vector.in_windows(np.array([sp.start for sp in spans]), np.array([sp.end for sp in spans]), ws)
    known = np.array([sp.state != "bogus" or sp.loss == "planned" for sp in spans])   # unknown: time without data
    assert inwin[known].sum() == pytest.approx(sum(r.pot - r.no_data for r in ref.values()), abs=1e-6)


def test_time_without_any_state_is_left_out_of_availability() -> None:
    # a machine not yet connected (8 h planned, no state) beside one that ran 6 h of its 8 h: the plant's A is
    # the connected machine's 75 %, not 37.5 %; the silent machine has no A and no OEE (无数据), not 0 %
    silent = Tally(pot=8 * 3600.0, no_data=8 * 3600.0)
    ran = Tally(pot=8 * 3600.0, apt=6 * 3600.0, adot=2 * 3600.0)
    k = kpis(silent)
    assert k["availability"] is None and k["oee"] is None and "no_state_data" in k["flags"]
    both = kpis(total([silent, ran]))
    assert both["availability"] == pytest.approx(0.75)
    assert both["time"]["pbt_s"] == 16 * 3600 and both["time"]["no_data_s"] == 8 * 3600
    t = both["time"]        # the columns add up: PBT = APT + AUST + ADET + ADOT + no data
    assert t["pbt_s"] == t["apt_s"] + t["aust_s"] + t["adet_s"] + t["adot_s"] + t["no_data_s"]
