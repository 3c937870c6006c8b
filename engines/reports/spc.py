"""Statistical process control: X̄-R, X̄-S and I-MR control limits, capability (Cp, Cpk, Pp, Ppk),
Western Electric and Nelson run rules, Pareto with cumulative percent.

Pure functions over numbers (the data comes from one report query); constants from the standard
tables (ASTM STP 15D; Montgomery, *Introduction to Statistical Quality Control*, Appendix VI):
d2 and d3 tabulated for n = 2..25, c4 computed exactly, the chart factors derived from them.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mom.platform.errors import MomError

D2 = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970, 10: 3.078, 11: 3.173,
      12: 3.258, 13: 3.336, 14: 3.407, 15: 3.472, 16: 3.532, 17: 3.588, 18: 3.640, 19: 3.689, 20: 3.735,
      21: 3.778, 22: 3.819, 23: 3.858, 24: 3.895, 25: 3.931}
D3_ = {2: 0.853, 3: 0.888, 4: 0.880, 5: 0.864, 6: 0.848, 7: 0.833, 8: 0.820, 9: 0.808, 10: 0.797, 11: 0.787,
       12: 0.778, 13: 0.770, 14: 0.763, 15: 0.756, 16: 0.750, 17: 0.744, 18: 0.739, 19: 0.734, 20: 0.729,
       21: 0.724, 22: 0.720, 23: 0.716, 24: 0.712, 25: 0.708}


class SpcError(MomError, ValueError):
    """Data or settings an SPC chart cannot use (422 ``invalid_input``); still a ValueError for callers."""

    code = "invalid_input"


def c4(n: int) -> float:
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def factors(n: int) -> dict[str, float]:
    """Chart factors for subgroup size ``n``: A2, D3, D4 (X̄-R); A3, B3, B4 (X̄-S); d2, d3, c4."""
    if n not in D2:
        raise SpcError(f"子组大小须在 2 到 25 之间（当前 {n}）", f"subgroup size must be 2..25 (got {n})")
    d2, d3, k = D2[n], D3_[n], c4(n)
    return {"n": n, "d2": d2, "d3": d3, "c4": k, "A2": 3 / (d2 * math.sqrt(n)), "D3": max(0.0, 1 - 3 * d3 / d2),
            "D4": 1 + 3 * d3 / d2, "A3": 3 / (k * math.sqrt(n)), "B3": max(0.0, 1 - 3 * math.sqrt(1 - k * k) / k),
            "B4": 1 + 3 * math.sqrt(1 - k * k) / k}


@dataclass
class Chart:
    """One control chart: the plotted points and their limits."""

    name: str
    points: list[float]
    center: float
    ucl: float
    lcl: float
    violations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _sd(xs: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _subgroups(groups: Iterable[Sequence[Any]]) -> list[list[float]]:
    out = [[float(x) for x in g if x is not None] for g in groups]
    out = [g for g in out if g]
    if len(out) < 2:
        raise SpcError("至少需要 2 个子组", "at least 2 subgroups are needed")
    sizes = {len(g) for g in out}
    if len(sizes) != 1:
        raise SpcError(f"子组大小不一致（{sorted(sizes)}）；请补齐或剔除不完整的子组",
                       f"subgroups differ in size ({sorted(sizes)}); complete or drop the short ones")
    return out


# X̄ charts: (spread chart name, spread of a subgroup, X̄ factor, spread LCL/UCL factors, sigma divisor)
_XBAR = {"xbar_r": ("r", lambda x: max(x) - min(x), "A2", "D3", "D4", "d2"),
         "xbar_s": ("s", _sd, "A3", "B3", "B4", "c4")}


def _charts(kind: str, n: int, count: int, main: Chart, spread: Chart, sigma_within: float, f: dict[str, float],
            rules: str) -> dict[str, Any]:
    """The run rules on the main chart (sigma from its limits), the limits alone on the spread chart."""
    main.violations = check_rules(main.points, main.center, (main.ucl - main.center) / 3, rules)
    spread.violations = check_rules(spread.points, spread.center, None, "limits", ucl=spread.ucl, lcl=spread.lcl)
    return {"type": kind, "n": n, "subgroups": count, "charts": [main.as_dict(), spread.as_dict()],
            "sigma_within": sigma_within, "mean": main.center, "factors": f}


def _xbar(kind: str, groups: Iterable[Sequence[Any]], rules: str) -> dict[str, Any]:
    name, spread_of, a, lo, hi, unbias = _XBAR[kind]
    g = _subgroups(groups)
    n = len(g[0])
    f = factors(n)
    means = [_mean(x) for x in g]
    spreads = [spread_of(x) for x in g]
    xbb, bar = _mean(means), _mean(spreads)
    return _charts(kind, n, len(g), Chart("xbar", means, xbb, xbb + f[a] * bar, xbb - f[a] * bar),
                   Chart(name, spreads, bar, f[hi] * bar, f[lo] * bar), bar / f[unbias], f, rules)


def xbar_r(groups: Iterable[Sequence[Any]], *, rules: str = "western_electric") -> dict[str, Any]:
    return _xbar("xbar_r", groups, rules)


def xbar_s(groups: Iterable[Sequence[Any]], *, rules: str = "western_electric") -> dict[str, Any]:
    return _xbar("xbar_s", groups, rules)


def i_mr(values: Iterable[Any], *, rules: str = "western_electric") -> dict[str, Any]:
    xs = [float(v) for v in values if v is not None]
    if len(xs) < 3:
        raise SpcError("单值图至少需要 3 个数据", "an individuals chart needs at least 3 values")
    mrs = [abs(b - a) for a, b in zip(xs, xs[1:])]
    xbar, mrbar = _mean(xs), _mean(mrs)
    f = factors(2)
    sigma = mrbar / f["d2"]
    return _charts("i_mr", 1, len(xs), Chart("i", xs, xbar, xbar + 3 * sigma, xbar - 3 * sigma),
                   Chart("mr", mrs, mrbar, f["D4"] * mrbar, 0.0), sigma, f, rules)


def capability(values: Iterable[Any], *, lsl: float | None, usl: float | None, sigma_within: float | None = None,
               mean: float | None = None) -> dict[str, Any]:
    """Cp/Cpk from the within-subgroup sigma (from the control chart), Pp/Ppk from the overall sample
    standard deviation. One-sided specifications give only the indices that exist."""
    xs = [float(v) for v in values if v is not None]
    if len(xs) < 2:
        raise SpcError("能力分析至少需要 2 个数据", "capability needs at least 2 values")
    if lsl is None and usl is None:
        raise SpcError("至少需要一个规格限（LSL 或 USL）", "at least one specification limit (LSL or USL) is needed")
    if lsl is not None and usl is not None and usl <= lsl:
        raise SpcError("USL 必须大于 LSL", "USL must be greater than LSL")
    mu = _mean(xs) if mean is None else mean
    overall = _sd(xs)
    out: dict[str, Any] = {"n": len(xs), "mean": mu, "sigma_overall": overall, "sigma_within": sigma_within,
                           "lsl": lsl, "usl": usl}

    def idx(sigma: float | None, prefix: str) -> None:
        if not sigma:
            return
        upper = (usl - mu) / (3 * sigma) if usl is not None else None
        lower = (mu - lsl) / (3 * sigma) if lsl is not None else None
        if usl is not None and lsl is not None:
            out[f"{prefix}p"] = (usl - lsl) / (6 * sigma)
        out[f"{prefix}pu"], out[f"{prefix}pl"] = upper, lower
        out[f"{prefix}pk"] = min(v for v in (upper, lower) if v is not None)

    idx(sigma_within, "C")
    idx(overall, "P")
    out["out_of_spec"] = sum(1 for x in xs if (usl is not None and x > usl) or (lsl is not None and x < lsl))
    return out


# ---------------------------------------------------------------------- run rules
WESTERN_ELECTRIC = {
    1: ("1 点超出 3σ", "1 point beyond 3σ"),
    2: ("连续 3 点中有 2 点在同侧 2σ 之外", "2 of 3 consecutive points beyond 2σ on one side"),
    3: ("连续 5 点中有 4 点在同侧 1σ 之外", "4 of 5 consecutive points beyond 1σ on one side"),
    4: ("连续 8 点在中心线同侧", "8 consecutive points on one side of the centre line"),
}
NELSON = {
    1: ("1 点超出 3σ", "1 point beyond 3σ"),
    2: ("连续 9 点在中心线同侧", "9 points in a row on one side of the centre line"),
    3: ("连续 6 点递增或递减", "6 points in a row steadily increasing or decreasing"),
    4: ("连续 14 点上下交替", "14 points in a row alternating up and down"),
    5: ("连续 3 点中有 2 点在同侧 2σ 之外", "2 of 3 points in a row beyond 2σ on one side"),
    6: ("连续 5 点中有 4 点在同侧 1σ 之外", "4 of 5 points in a row beyond 1σ on one side"),
    7: ("连续 15 点在 1σ 以内", "15 points in a row within 1σ"),
    8: ("连续 8 点在 1σ 之外（两侧）", "8 points in a row beyond 1σ, on either side"),
}


def _k_of_m(z: list[float], k: int, m: int, limit: float) -> list[tuple[int, list[int]]]:
    hits = []
    for i in range(m - 1, len(z)):
        win = range(i - m + 1, i + 1)
        for sign in (1, -1):
            pts = [j for j in win if sign * z[j] > limit]
            if len(pts) >= k and (sign * z[i] > limit):
                hits.append((i, pts))
    return hits


def _run(z: list[float], length: int, pred: Any) -> list[tuple[int, list[int]]]:
    hits = []
    for i in range(length - 1, len(z)):
        win = list(range(i - length + 1, i + 1))
        if pred(win):
            hits.append((i, win))
    return hits


def check_rules(points: Sequence[float], center: float, sigma: float | None, rules: str = "western_electric", *,
                ucl: float | None = None, lcl: float | None = None) -> list[dict[str, Any]]:
    """Rule violations as {"rule", "index" (the point that completes the pattern), "points", "message"}."""
    out: list[dict[str, Any]] = []

    def add(table: Mapping[int, tuple[str, str]], rule: int, hits: list[tuple[int, list[int]]]) -> None:
        for i, pts in hits:
            out.append({"rule": rule, "set": rules, "index": i, "points": pts,
                        "message": {"zh-CN": table[rule][0], "en": table[rule][1]}})

    if rules == "limits" or not sigma:
        for i, v in enumerate(points):
            if (ucl is not None and v > ucl) or (lcl is not None and v < lcl):
                out.append({"rule": 1, "set": "limits", "index": i, "points": [i],
                            "message": {"zh-CN": "超出控制限", "en": "beyond a control limit"}})
        return out
    z = [(p - center) / sigma for p in points]
    side = lambda w, s: all(s * z[j] > 0 for j in w)  # noqa: E731
    if rules == "western_electric":
        add(WESTERN_ELECTRIC, 1, [(i, [i]) for i, v in enumerate(z) if abs(v) > 3])
        add(WESTERN_ELECTRIC, 2, _k_of_m(z, 2, 3, 2))
        add(WESTERN_ELECTRIC, 3, _k_of_m(z, 4, 5, 1))
        add(WESTERN_ELECTRIC, 4, _run(z, 8, lambda w: side(w, 1) or side(w, -1)))
    elif rules == "nelson":
        add(NELSON, 1, [(i, [i]) for i, v in enumerate(z) if abs(v) > 3])
        add(NELSON, 2, _run(z, 9, lambda w: side(w, 1) or side(w, -1)))
        add(NELSON, 3, _run(z, 6, lambda w: all(z[a] < z[b] for a, b in zip(w, w[1:]))
                            or all(z[a] > z[b] for a, b in zip(w, w[1:]))))
        add(NELSON, 4, _run(z, 14, lambda w: all((z[w[k + 1]] - z[w[k]]) * (z[w[k + 2]] - z[w[k + 1]]) < 0
                                                 for k in range(len(w) - 2))))
        add(NELSON, 5, _k_of_m(z, 2, 3, 2))
        add(NELSON, 6, _k_of_m(z, 4, 5, 1))
        add(NELSON, 7, _run(z, 15, lambda w: all(abs(z[j]) < 1 for j in w)))
        add(NELSON, 8, _run(z, 8, lambda w: all(abs(z[j]) > 1 for j in w) and not side(w, 1) and not side(w, -1)))
    else:
        raise SpcError(f"未知判异规则集 {rules}（可用 western_electric、nelson）",
                       f"unknown rule set {rules} (use western_electric or nelson)")
    out.sort(key=lambda v: (v["index"], v["rule"]))
    return out


# ---------------------------------------------------------------------- Pareto
def pareto(items: Iterable[tuple[Any, Any]], *, top: int | None = None, others_label: str = "其他") -> list[dict[str, Any]]:
    """(category, count) pairs -> sorted descending with percent and cumulative percent; past ``top``
    categories are folded into one "others" row at the end."""
    rows = sorted(((c, float(v or 0)) for c, v in items), key=lambda cv: (-cv[1], str(cv[0])))
    if top is not None and len(rows) > top:
        rest = sum(v for _, v in rows[top:])
        rows = rows[:top] + [(others_label, rest)]
    total = sum(v for _, v in rows)
    out, run = [], 0.0
    for c, v in rows:
        run += v
        out.append({"category": c, "value": v, "percent": v / total * 100 if total else 0.0,
                    "cumulative_percent": run / total * 100 if total else 0.0})
    return out
