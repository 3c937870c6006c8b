"""SPC against published reference data.

Reference: D. C. Montgomery, *Introduction to Statistical Quality Control* (6th ed.), Example 6.3
(X̄-R on Table 6.3, piston-ring inside diameters, 25 samples of 5: x̄̄ = 74.001, R̄ = 0.023,
X̄ chart UCL = 74.014 / LCL = 73.988, R chart UCL = 0.049 with D4 = 2.114), Example 6.4 (X̄-S on the
same data: s̄ = 0.0094, UCL = 74.014, LCL = 73.988, s chart UCL = 0.0196) and the capability
discussion (specs 74.000 ± 0.05, σ̂ = R̄/d2 = 0.0099, Cp = 1.68). The published figures are rounded
(to 0.001 or the digits shown), so the checks allow half a unit of the last published digit plus the
rounding of the inputs they were computed from. The data ship with the demo pack
(modelpacks/demo/fixtures/bore_readings.json), corrected in issue 22 to the book's table (sample 3 and
sample 21); the qcc package's pistonrings data (trial samples 1-25) agree: x̿ = 74.00118, R̄ = 0.02276.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mom.engines.reports import spc

DATA = json.loads((Path(__file__).parents[2] / "modelpacks/demo/fixtures/bore_readings.json").read_text())
GROUPS = [[float(v) for v in g] for g in DATA["subgroups"]]


def test_piston_rings_xbar_r_matches_montgomery_example() -> None:
    res = spc.xbar_r(GROUPS)
    x, r = res["charts"]
    assert res["n"] == 5 and res["subgroups"] == 25
    assert x["center"] == pytest.approx(74.001, abs=0.0005)
    assert r["center"] == pytest.approx(0.023, abs=0.0005)
    assert x["ucl"] == pytest.approx(74.014, abs=0.0006)
    assert x["lcl"] == pytest.approx(73.988, abs=0.0006)
    assert r["ucl"] == pytest.approx(0.049, abs=0.0012) and r["lcl"] == 0.0
    assert r["ucl"] == pytest.approx(2.114 * r["center"], rel=1e-3)      # D4 for n = 5
    # the textbook finds the process in control in phase I
    assert x["violations"] == [] and r["violations"] == []
    # sample 1 of Table 6.3: x̄ = 74.010, R = 0.038
    assert x["points"][0] == pytest.approx(74.010, abs=0.0005) and r["points"][0] == pytest.approx(0.038, abs=1e-9)


def test_piston_rings_xbar_s_matches_montgomery_example() -> None:
    res = spc.xbar_s(GROUPS)
    x, s = res["charts"]
    assert s["center"] == pytest.approx(0.0094, abs=0.0002)
    assert x["ucl"] == pytest.approx(74.014, abs=0.0006) and x["lcl"] == pytest.approx(73.988, abs=0.0006)
    assert s["ucl"] == pytest.approx(0.0196, abs=0.0003) and s["lcl"] == 0.0


def test_piston_rings_capability() -> None:
    chart = spc.xbar_r(GROUPS)
    flat = [v for g in GROUPS for v in g]
    cap = spc.capability(flat, lsl=73.95, usl=74.05, sigma_within=chart["sigma_within"])
    assert chart["sigma_within"] == pytest.approx(0.0099, abs=0.0002)
    # the book's 1.68 uses R̄ rounded to 0.023 (R̄ in [0.0225, 0.0235] gives Cp in [1.65, 1.72]); the corrected
    # table (qcc: R̄ = 0.02276) gives 1.703
    assert cap["Cp"] == pytest.approx(1.68, abs=0.04)
    assert cap["Cpk"] <= cap["Cp"] and cap["Cpk"] == pytest.approx(min(cap["Cpu"], cap["Cpl"]))
    assert cap["Pp"] == pytest.approx(0.1 / (6 * cap["sigma_overall"]))
    assert cap["out_of_spec"] == 0


def test_capability_definitions_and_one_sided_specs() -> None:
    # mean 16, overall sd 2 (values chosen so); USL 20, LSL 8 -> Pp = 1, Ppk = min(4, 8)/6
    xs = [14.0, 18.0] * 50
    cap = spc.capability(xs, lsl=8, usl=20, sigma_within=2.0)
    assert cap["Cp"] == pytest.approx(1.0) and cap["Cpk"] == pytest.approx(4 / 6)
    one = spc.capability(xs, lsl=None, usl=20, sigma_within=2.0)
    assert "Cp" not in one and one["Cpk"] == pytest.approx(4 / 6) and one["Cpl"] is None
    with pytest.raises(spc.SpcError):
        spc.capability(xs, lsl=20, usl=8)
    with pytest.raises(spc.SpcError):
        spc.capability(xs, lsl=None, usl=None)


def _d2_numeric(n: int) -> float:
    """Expected range of n standard normals: ∫ 1 - Φ(x)^n - (1-Φ(x))^n dx (trapezoid rule)."""
    phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    h, total, x = 0.001, 0.0, -9.0
    while x < 9.0:
        f = lambda t: 1 - phi(t) ** n - (1 - phi(t)) ** n  # noqa: E731
        total += (f(x) + f(x + h)) * h / 2
        x += h
    return total


@pytest.mark.parametrize("n", [2, 3, 5, 8, 10, 15, 25])
def test_tabulated_d2_agrees_with_its_definition(n: int) -> None:
    assert spc.D2[n] == pytest.approx(_d2_numeric(n), abs=0.0011)


def test_standard_chart_factors() -> None:
    f = spc.factors(5)
    assert f["A2"] == pytest.approx(0.577, abs=0.0005) and f["D4"] == pytest.approx(2.114, abs=0.0005) and f["D3"] == 0
    assert f["c4"] == pytest.approx(0.9400, abs=0.00005) and f["A3"] == pytest.approx(1.427, abs=0.0005)
    assert f["B4"] == pytest.approx(2.089, abs=0.0005) and f["B3"] == 0
    f10 = spc.factors(10)
    assert f10["D3"] == pytest.approx(0.223, abs=0.0006) and f10["B3"] == pytest.approx(0.284, abs=0.0006)
    with pytest.raises(spc.SpcError):
        spc.factors(1)


def test_i_mr_limits() -> None:
    ys = [2, 4, 6, 4, 2, 4, 6, 4]
    res = spc.i_mr(ys)
    i, mr = res["charts"]
    assert i["center"] == 4.0 and mr["center"] == 2.0
    # exact d2(2) = 2/√π, d3(2) = √(2 − 4/π) (the range of two normals), no longer the 3-decimal 1.128 / 0.853
    d2, d3 = 2 / math.sqrt(math.pi), math.sqrt(2 - 4 / math.pi)
    assert i["ucl"] == pytest.approx(4 + 3 * 2 / d2) and i["lcl"] == pytest.approx(4 - 3 * 2 / d2)
    assert mr["ucl"] == pytest.approx(2 * (1 + 3 * d3 / d2))


def rules_of(points: list[float], rules: str) -> set[tuple[int, int]]:
    return {(v["rule"], v["index"]) for v in spc.check_rules(points, 0.0, 1.0, rules)}


def test_western_electric_rules() -> None:
    assert (1, 2) in rules_of([0, 0, 3.5, 0], "western_electric")
    assert (2, 2) in rules_of([2.5, 0, 2.2], "western_electric")          # 2 of 3 beyond 2σ, same side
    assert not any(r == 2 for r, _ in rules_of([2.5, 0, -2.2], "western_electric"))
    assert (3, 4) in rules_of([1.5, 1.2, 0, 1.1, 1.3], "western_electric")
    assert (4, 7) in rules_of([0.2] * 8, "western_electric") and not any(r == 4 for r, _ in rules_of([0.2] * 7, "western_electric"))
    assert rules_of([0.1, -0.2, 0.3, -0.1, 0.5], "western_electric") == set()


def test_nelson_rules() -> None:
    assert (2, 8) in rules_of([0.3] * 9, "nelson") and not any(r == 2 for r, _ in rules_of([0.3] * 8, "nelson"))
    assert (3, 5) in rules_of([-1, -0.5, 0, 0.4, 0.8, 0.9], "nelson")
    assert (4, 13) in rules_of([(-0.5 if i % 2 else 0.5) for i in range(14)], "nelson")
    assert (7, 14) in rules_of([(0.1 if i % 2 else -0.1) * (i % 3) for i in range(15)], "nelson")
    assert (8, 7) in rules_of([1.5, -1.5] * 4, "nelson")
    with pytest.raises(spc.SpcError):
        spc.check_rules([1, 2], 0, 1, "bogus")


def test_pareto_cumulative_percent_and_others() -> None:
    rows = spc.pareto([("气孔 porosity", 40), ("砂眼 sand hole", 30), ("裂纹 crack", 20), ("尺寸 size", 6), ("其他", 4)])
    assert [r["value"] for r in rows] == [40, 30, 20, 6, 4]
    assert [round(r["cumulative_percent"], 6) for r in rows] == [40, 70, 90, 96, 100]
    top = spc.pareto([("a", 5), ("b", 3), ("c", 1), ("d", 1)], top=2, others_label="Others")
    assert [r["category"] for r in top] == ["a", "b", "Others"] and top[-1]["value"] == 2


def test_subgroups_of_different_sizes_get_their_own_limits() -> None:
    # issue 22: unequal sizes are charted (Montgomery §6.3.2), no longer refused
    res = spc.xbar_r([[1, 2, 3], [1, 2]])
    x = res["charts"][0]
    assert res["sizes"] == [3, 2] and x["ucl"] is None and x["ucl_points"][0] < x["ucl_points"][1]
