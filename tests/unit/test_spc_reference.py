"""SPC against published figures (issue 22). Each test names its source; published numbers are compared
to the digits printed (half a unit of the last digit), exact closed forms to 1e-9.

Sources:
- [M] D. C. Montgomery, *Introduction to Statistical Quality Control*, 6th ed., Wiley 2009: Appendix VI
  (factors for control charts), Example 7.1 / Table 7.1 (p chart, orange-juice cans, 30 samples of 50),
  Example 7.3 / Table 7.7 (c chart, nonconformities on 26 printed-circuit boards), Example 7.4 / Table 7.9
  (u chart, personal computers, 20 samples of 5 units), §9.1 Table 9.1-9.2 (tabular CUSUM, μ0 = 10, σ = 1,
  k = 0.5, h = 5), §9.2 (EWMA λ = 0.1, L = 2.7 on the same data), §6.3.2 (X̄-S with variable sample size),
  §8.3.5 examples 8.6 and 8.7 (confidence intervals for Cp and Cpk).
- [N] NIST/SEMATECH e-Handbook of Statistical Methods, §6.3.2.4 (EWMA example, λ = 0.3, target 50,
  s = 2.0539) and §6.1.6 (capability indices).
- [Q] qcc R package (Scrucca), pistonrings trial samples 1-25: x̿ = 74.00118, R̄ = 0.02276 in its vignette output.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mom.engines.reports import spc
from mom.engines.reports.spc.capability import cp_interval, cpk_interval

ROOT = Path(__file__).parents[2]

# [M] Appendix VI, printed to 3 (c4: 4) decimals
APPENDIX_VI = {
    2: {"A": 2.121, "A2": 1.880, "A3": 2.659, "c4": 0.7979, "B3": 0, "B4": 3.267, "B5": 0, "B6": 2.606,
        "d2": 1.128, "d3": 0.853, "D3": 0, "D4": 3.267},
    5: {"A": 1.342, "A2": 0.577, "A3": 1.427, "c4": 0.9400, "B3": 0, "B4": 2.089, "B5": 0, "B6": 1.964,
        "d2": 2.326, "d3": 0.864, "D1": 0, "D2": 4.918, "D3": 0, "D4": 2.114},
    10: {"A": 0.949, "A2": 0.308, "A3": 0.975, "c4": 0.9727, "B3": 0.284, "B4": 1.716, "B5": 0.276, "B6": 1.669,
         "d2": 3.078, "d3": 0.797, "D3": 0.223, "D4": 1.777},
    25: {"A": 0.600, "A2": 0.153, "A3": 0.606, "c4": 0.9896, "B3": 0.565, "B4": 1.435, "B5": 0.559, "B6": 1.420,
         "d2": 3.931, "d3": 0.708, "D3": 0.459, "D4": 1.541},
}


@pytest.mark.parametrize("n", sorted(APPENDIX_VI))
def test_factors_match_montgomery_appendix_vi(n: int) -> None:
    f = spc.factors(n)
    for name, printed in APPENDIX_VI[n].items():
        half_unit = 0.00005 if name == "c4" else 0.0005
        assert f[name] == pytest.approx(printed, abs=half_unit + 1e-9), (n, name, f[name])


def test_range_constants_are_exact_not_three_decimals() -> None:
    # n = 2: the range of two normals is |N(0, 2)|: d2 = 2/√π, d3 = √(2 − 4/π); n = 3: d2 = 3/√π
    assert spc.d2(2) == pytest.approx(2 / math.sqrt(math.pi), abs=1e-12)
    assert spc.d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), abs=1e-12)
    assert spc.d2(3) == pytest.approx(3 / math.sqrt(math.pi), abs=1e-9)
    # the reported error: D4(2) = 3.2665 (not 3.2686), so every moving-range UCL was 0.05 % high
    assert spc.factors(2)["D4"] == pytest.approx(3.26653, abs=5e-6)
    # R-chart UCL for n = 5: D4 = 1 + 3·d3/d2 with d2 = 2.325929, d3 = 0.864082 (Harter's tables, 6 decimals)
    assert spc.d2(5) == pytest.approx(2.325929, abs=1e-6) and spc.d3(5) == pytest.approx(0.864082, abs=1e-6)
    assert spc.factors(5)["D4"] == pytest.approx(1 + 3 * 0.864082 / 2.325929, abs=2e-6)


def test_factors_exist_past_25_and_for_k_sigma() -> None:
    f = spc.factors(100)
    assert f["c4"] == pytest.approx(math.sqrt(2 / 99) * math.exp(math.lgamma(50) - math.lgamma(49.5)))
    assert 5.0 < f["d2"] < 5.03 and f["A3"] == pytest.approx(3 / (f["c4"] * 10))
    assert spc.factors(400)["A3"] > 0                                 # X̄-S has no size cap
    two = spc.factors(5, k=2)
    assert two["A2"] == pytest.approx(2 / 3 * spc.factors(5)["A2"]) and two["D4"] == pytest.approx(1 + 2 * spc.d3(5) / spc.d2(5))
    with pytest.raises(spc.SpcError):
        spc.factors(5, k=0)


def test_piston_rings_match_qcc_and_the_corrected_table() -> None:
    data = json.loads((ROOT / "modelpacks/demo/fixtures/bore_readings.json").read_text())
    groups = [[float(v) for v in g] for g in data["subgroups"]]
    assert groups[2][0] == 73.988 and (groups[20][0], groups[20][2]) == (73.988, 74.009)   # [M] Table 6.3
    res = spc.xbar_r(groups)
    x, r = res["charts"]
    assert x["center"] == pytest.approx(74.00118, abs=5e-6) and r["center"] == pytest.approx(0.02276, abs=5e-7)  # [Q]
    assert r["ucl"] == pytest.approx(0.02276 * (1 + 3 * 0.864082 / 2.325929), abs=1e-7)


def test_unequal_subgroup_sizes_follow_montgomery_6_3_2() -> None:
    # [M] §6.3.2: x̿ = Σnᵢx̄ᵢ/Σnᵢ, s̄ = √(Σ(nᵢ−1)sᵢ²/(Σnᵢ−m)), limits x̿ ± A3(nᵢ)s̄, B3(nᵢ)s̄, B4(nᵢ)s̄;
    # the factors for n = 3 and 4 are those the example uses (A3 = 1.954, 1.628; B4 = 2.568, 2.266)
    groups = [[74.030, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001], [74.009, 73.994, 73.997, 73.985],
              [73.992, 74.007, 74.015, 73.989, 74.014]]
    res = spc.xbar_s(groups)
    x, s = res["charts"]
    flat = [v for g in groups for v in g]
    assert res["mean"] == pytest.approx(sum(flat) / len(flat))
    var = [sum((v - sum(g) / len(g)) ** 2 for v in g) / (len(g) - 1) for g in groups]
    sbar = math.sqrt(sum((len(g) - 1) * v for g, v in zip(groups, var)) / (len(flat) - 4))
    assert s["center"] == pytest.approx(sbar)
    assert x["ucl_points"][1] - res["mean"] == pytest.approx(1.954 * sbar, rel=3e-4)
    assert x["ucl_points"][2] - res["mean"] == pytest.approx(1.628 * sbar, rel=3e-4)
    assert s["ucl_points"][1] == pytest.approx(2.568 * sbar, rel=2e-4) and s["ucl_points"][2] == pytest.approx(2.266 * sbar, rel=3e-4)
    assert res["sizes"] == [5, 3, 4, 5] and x["ucl_points"][0] == x["ucl_points"][3]


def test_missing_readings_are_skipped_with_a_note() -> None:
    groups = [[1.0, 2.0, 3.0], [2.0, None, 4.0], [None, None, 5.0], [3.0, 2.0, 1.0]]
    res = spc.xbar_r(groups)
    assert res["subgroups"] == 3 and res["index"] == [0, 1, 3]
    note = res["notes"][0]
    assert note["missing_readings"] == 3 and note["subgroups"] == [2, 3] and note["dropped"] == [3]
    assert "缺失" in note["zh-CN"] and "missing" in note["en"]
    mr = spc.i_mr([1, 2, None, 3, 2, 1])
    assert mr["subgroups"] == 5 and mr["notes"][0]["missing_readings"] == 1


def test_p_chart_orange_juice_cans() -> None:
    # [M] Example 7.1: p̄ = 0.2313, UCL = 0.4102, LCL = 0.0524; samples 15 and 23 plot above the UCL
    d = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]
    c = spc.p_chart(d, [50] * 30)["charts"][0]
    assert c["center"] == pytest.approx(0.2313, abs=5e-5) and c["ucl"] == pytest.approx(0.4102, abs=5e-5)
    assert c["lcl"] == pytest.approx(0.0524, abs=5e-5)
    assert sorted(v["index"] + 1 for v in c["violations"] if v["rule"] == 1) == [15, 23]
    # phase II after removing 15 and 23 with their assignable causes ([M]: new material lot, inexperienced operator)
    p2 = spc.p_chart(d, [50] * 30, exclude={14: "新批原材料 new lot of cardboard", 22: "新操作工 new operator"})
    assert p2["charts"][0]["center"] == pytest.approx(0.2150, abs=5e-5)                                   # [M] p̄ = 0.2150
    assert p2["excluded"][0] == {"index": 14, "reason": "新批原材料 new lot of cardboard"}
    np_ = spc.np_chart(d, [50] * 30)["charts"][0]
    assert np_["center"] == pytest.approx(50 * 347 / 1500) and np_["ucl"] == pytest.approx(50 * c["ucl"])


def test_p_chart_variable_sample_sizes_has_limits_per_point() -> None:
    c = spc.p_chart([10, 20, 5], [100, 200, 50])["charts"][0]
    assert c["center"] == pytest.approx(35 / 350)
    assert c["ucl_points"] == pytest.approx([0.1 + 3 * math.sqrt(0.09 / n) for n in (100, 200, 50)])


def test_c_chart_circuit_boards() -> None:
    # [M] Example 7.3: c̄ = 19.85, UCL = 33.22, LCL = 6.48 (the book computes the limits from c̄ rounded to
    # 19.85, so they carry its rounding: 3·√c̄ moves by 0.001); samples 6 and 20 beyond the limits
    d = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]
    c = spc.c_chart(d)["charts"][0]
    assert c["center"] == pytest.approx(19.85, abs=0.005)
    assert (c["ucl"], c["lcl"]) == pytest.approx((33.22, 6.48), abs=0.005 + 0.0054)
    assert sorted(v["index"] + 1 for v in c["violations"] if v["rule"] == 1) == [6, 20]


def test_u_chart_personal_computers() -> None:
    # [M] Example 7.4: ū = 1.93, UCL = 3.79, LCL = 0.07
    d = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]
    c = spc.u_chart(d, [5] * 20)["charts"][0]
    assert (c["center"], c["ucl"], c["lcl"]) == pytest.approx((1.93, 3.79, 0.07), abs=0.005)


MONTGOMERY_9_1 = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34, 9.03, 11.47, 10.51, 9.40, 10.08,
                  9.37, 10.62, 10.31, 8.52, 10.84, 10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]


def test_tabular_cusum_montgomery_table_9_2() -> None:
    res = spc.cusum(MONTGOMERY_9_1, k=0.5, h=5, target=10, sigma=1)
    up = res["charts"][0]["points"]
    assert [round(v, 2) for v in up[3:8]] == [1.16, 2.82, 2.50, 0.04, 1.00]
    first = res["signals"][0]
    # C⁺₂₉ = 5.28 > H = 5, N⁺ = 7: the shift began after period 22; μ̂ = 10 + 0.5 + 5.28/7 = 11.25
    assert first["index"] + 1 == 29 and up[28] == pytest.approx(5.28, abs=0.005) and first["run"] == 7
    assert first["shift_from"] == 22 and first["new_mean"] == pytest.approx(11.25, abs=0.005)


def test_ewma_limits_are_time_varying() -> None:
    res = spc.ewma(MONTGOMERY_9_1, lam=0.1, L=2.7, target=10, sigma=1)
    c = res["charts"][0]
    # [M] §9.2: z1 = 9.945, UCL1 = 10.27, LCL1 = 9.73; the limits widen to 10 ± 0.62
    assert c["points"][0] == pytest.approx(9.945, abs=5e-4)
    assert c["ucl_points"][0] == pytest.approx(10.27, abs=0.005) and c["lcl_points"][0] == pytest.approx(9.73, abs=0.005)
    assert c["ucl_points"][-1] == pytest.approx(10.62, abs=0.005)


def test_ewma_nist_example() -> None:
    # [N] §6.3.2.4: λ = 0.3, target 50, s = 2.0539: first EWMA 50.60 (first reading 52.0), UCL = 52.5884 and
    # LCL = 47.4115 once the limits have settled (the handbook prints the asymptotic limits)
    data = [52.0] + [50.0] * 39
    c = spc.ewma(data, lam=0.3, L=3, target=50, sigma=2.0539)["charts"][0]
    assert round(c["points"][0], 2) == 50.60
    assert c["ucl_points"][-1] == pytest.approx(52.5884, abs=5e-5) and c["lcl_points"][-1] == pytest.approx(47.4115, abs=1e-4)
    assert c["ucl_points"][0] < c["ucl_points"][-1]


def test_capability_intervals_montgomery_examples() -> None:
    # [M] Example 8.6: Ĉp = 1.15, n = 20 -> 0.79 ≤ Cp ≤ 1.51; Example 8.7 (Bissell): Ĉpk = 1.33, n = 20 -> 0.88 ≤ Cpk ≤ 1.78
    assert [round(v, 2) for v in cp_interval(1.15, 20)] == [0.79, 1.51]
    assert [round(v, 2) for v in cpk_interval(1.33, 20)] == [0.88, 1.78]


def test_capability_cpm_ppm_and_normality() -> None:
    # [N] §6.1.6: USL 20, LSL 8, μ = 16, σ = 2 -> Cp = 1, Cpk = 0.667; normal tails: z = 2 above USL (22,750 ppm), z = 4 below LSL (31.67 ppm)
    xs = [14.0, 18.0] * 50
    cap = spc.capability(xs, lsl=8, usl=20, sigma_within=2.0, target=14)
    assert cap["Cp"] == pytest.approx(1.0) and cap["Cpk"] == pytest.approx(2 / 3)
    assert cap["Cpm"] == pytest.approx(12 / (6 * math.sqrt(4 + 4)))           # Chan-Cheng-Spiring, T = 14
    assert cap["ppm_within"]["above"] == pytest.approx(22750.1, abs=0.5) and cap["ppm_within"]["below"] == pytest.approx(31.67, abs=0.005)
    assert "Ppm" in cap and cap["ppm_observed"] == 0
    tests = {t["test"]: t for t in cap["normality"]}
    assert tests["shapiro_wilk"]["p_value"] < 0.001 and tests["anderson_darling"]["p_value"] < 0.001   # two-point data
    assert sum(cap["histogram"]["counts"]) == 100 and cap["histogram"]["edges"][0] == 8
    assert cap["confidence"]["Cpk"][0] < cap["Cpk"] < cap["confidence"]["Cpk"][1]


def test_rules_chosen_one_by_one() -> None:
    pts = [0.3] * 9 + [3.5]
    assert {v["rule"] for v in spc.check_rules(pts, 0, 1, "nelson")} == {1, 2}
    assert {v["rule"] for v in spc.check_rules(pts, 0, 1, "nelson:1")} == {1}
    assert {v["rule"] for v in spc.check_rules(pts, 0, 1, "nelson:2")} == {2}
    with pytest.raises(spc.SpcError) as e:
        spc.check_rules(pts, 0, 1, "nelson:9")
    assert "1..8" in e.value.en


def test_phase_two_fixed_limits_and_k_sigma() -> None:
    res = spc.i_mr([10, 11, 9, 10, 12], standard={"mean": 10, "sigma": 0.5}, k=2)
    i = res["charts"][0]
    assert (i["center"], i["ucl"], i["lcl"]) == (10, 11, 9) and res["phase"] == "II"
    assert [v["index"] for v in i["violations"] if v["rule"] == 1] == [4]


def test_i_mr_mortgage_loan_costs() -> None:
    # [M] Example 6.5 (Table 6.6), costs of processing mortgage loan applications, 20 weeks: x̄ = 300.5,
    # MR̄ = 7.79, individuals chart UCL = 321.22 / LCL = 279.78, moving-range chart UCL = 25.45 (the book divides
    # by d2 = 1.128 and multiplies by D4 = 3.267; the exact 2/√π and √(2 − 4/π) move the limits by about 0.01)
    costs = [310, 288, 297, 298, 307, 303, 294, 297, 308, 306, 294, 299, 297, 299, 314, 295, 293, 306, 301, 304]
    i, mr = spc.i_mr(costs)["charts"]
    assert i["center"] == pytest.approx(300.5) and mr["center"] == pytest.approx(7.79, abs=5e-3)
    assert i["ucl"] == pytest.approx(321.22, abs=0.015) and i["lcl"] == pytest.approx(279.78, abs=0.015)
    assert mr["ucl"] == pytest.approx(25.45, abs=0.01) and mr["lcl"] == 0
    assert not [v for v in i["violations"] if v["rule"] == 1]             # [M]: the process is in control
