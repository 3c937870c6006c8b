"""Western Electric and Nelson run rules, chosen as a whole set or one by one.

``rules`` is "western_electric", "nelson", "limits" (points beyond the limits only), or a set with the
rules picked: "nelson:1,2,5" / "western_electric:1,4". Zones are measured in sigma of the plotted statistic,
per point (unequal subgroup sizes give each point its own sigma); rule 1 means beyond the chart's own limits
(k sigma when a k-sigma chart was chosen).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mom.engines.reports.spc.errors import SpcError

WESTERN_ELECTRIC = {
    1: ("1 点超出控制限（3σ）", "1 point beyond the control limits (3σ)"),
    2: ("连续 3 点中有 2 点在同侧 2σ 之外", "2 of 3 consecutive points beyond 2σ on one side"),
    3: ("连续 5 点中有 4 点在同侧 1σ 之外", "4 of 5 consecutive points beyond 1σ on one side"),
    4: ("连续 8 点在中心线同侧", "8 consecutive points on one side of the centre line"),
}
NELSON = {
    1: ("1 点超出控制限（3σ）", "1 point beyond the control limits (3σ)"),
    2: ("连续 9 点在中心线同侧", "9 points in a row on one side of the centre line"),
    3: ("连续 6 点递增或递减", "6 points in a row steadily increasing or decreasing"),
    4: ("连续 14 点上下交替", "14 points in a row alternating up and down"),
    5: ("连续 3 点中有 2 点在同侧 2σ 之外", "2 of 3 points in a row beyond 2σ on one side"),
    6: ("连续 5 点中有 4 点在同侧 1σ 之外", "4 of 5 points in a row beyond 1σ on one side"),
    7: ("连续 15 点在 1σ 以内", "15 points in a row within 1σ"),
    8: ("连续 8 点在 1σ 之外（两侧）", "8 points in a row beyond 1σ, on either side"),
}
SETS = {"western_electric": WESTERN_ELECTRIC, "nelson": NELSON}


def parse(rules: Any) -> tuple[str, frozenset[int]]:
    """"nelson:1,2,5" -> ("nelson", {1, 2, 5}); a bare set name selects all its rules."""
    if not isinstance(rules, str) or len(rules) > 80:
        raise SpcError("判异规则应为文本，如 nelson 或 nelson:1,2,5", "rules must be text such as nelson or nelson:1,2,5")
    name, _, picked = rules.partition(":")
    name = name.strip()
    if name == "limits":
        return name, frozenset({1})
    if name not in SETS:
        raise SpcError(f"未知判异规则集 {name}（可用 western_electric、nelson、limits）",
                       f"unknown rule set {name} (use western_electric, nelson or limits)")
    table = SETS[name]
    if not picked.strip():
        return name, frozenset(table)
    try:
        chosen = frozenset(int(p) for p in picked.split(",") if p.strip())
    except ValueError:
        chosen = frozenset({0})
    bad = sorted(c for c in chosen if c not in table)
    if bad or not chosen:
        raise SpcError(f"规则集 {name} 只有规则 1 到 {len(table)}（收到 {picked}）",
                       f"rule set {name} has rules 1..{len(table)} (got {picked})")
    return name, chosen


def _k_of_m(z: Sequence[float], k: int, m: int, limit: float) -> list[tuple[int, list[int]]]:
    hits = []
    for i in range(m - 1, len(z)):
        for sign in (1, -1):
            pts = [j for j in range(i - m + 1, i + 1) if sign * z[j] > limit]
            if len(pts) >= k and sign * z[i] > limit:
                hits.append((i, pts))
    return hits


def _run(z: Sequence[float], length: int, pred: Any) -> list[tuple[int, list[int]]]:
    return [(i, list(range(i - length + 1, i + 1))) for i in range(length - 1, len(z))
            if pred(range(i - length + 1, i + 1))]


def _beyond(points: Sequence[float], ucl: Any, lcl: Any) -> list[tuple[int, list[int]]]:
    def at(v: Any, i: int) -> Any:
        return v[i] if isinstance(v, (list, tuple)) else v
    return [(i, [i]) for i, p in enumerate(points)
            if (at(ucl, i) is not None and p > at(ucl, i)) or (at(lcl, i) is not None and p < at(lcl, i))]


def check_rules(points: Sequence[float], center: float, sigma: float | Sequence[float] | None,
                rules: str = "western_electric", *, ucl: Any = None, lcl: Any = None,
                k: float = 3.0) -> list[dict[str, Any]]:
    """Rule violations as {"rule", "set", "index" (the point completing the pattern), "points", "message"}.
    ``sigma`` is the sigma of the plotted statistic (one number, or one per point); without it only the
    limits are checked. ``ucl``/``lcl`` (number or per point) default to center ± k·sigma."""
    name, chosen = parse(rules)
    out: list[dict[str, Any]] = []

    def add(table: Mapping[int, tuple[str, str]], rule: int, hits: list[tuple[int, list[int]]]) -> None:
        if rule in chosen:
            for i, pts in hits:
                out.append({"rule": rule, "set": name, "index": i, "points": pts,
                            "message": {"zh-CN": table[rule][0], "en": table[rule][1]}})

    sig = list(sigma) if isinstance(sigma, (list, tuple)) else ([sigma] * len(points) if sigma else None)
    if name == "limits" or not sig or not all(sig):
        for i, pts in _beyond(points, ucl, lcl):
            out.append({"rule": 1, "set": "limits", "index": i, "points": pts,
                        "message": {"zh-CN": "超出控制限", "en": "beyond a control limit"}})
        return out
    z = [(p - center) / s for p, s in zip(points, sig)]
    if ucl is None and lcl is None:
        beyond = [(i, [i]) for i, v in enumerate(z) if abs(v) > k]
    else:
        beyond = _beyond(points, ucl, lcl)
    side = lambda w, s: all(s * z[j] > 0 for j in w)  # noqa: E731
    if name == "western_electric":
        add(WESTERN_ELECTRIC, 1, beyond)
        add(WESTERN_ELECTRIC, 2, _k_of_m(z, 2, 3, 2))
        add(WESTERN_ELECTRIC, 3, _k_of_m(z, 4, 5, 1))
        add(WESTERN_ELECTRIC, 4, _run(z, 8, lambda w: side(w, 1) or side(w, -1)))
    else:
        add(NELSON, 1, beyond)
        add(NELSON, 2, _run(z, 9, lambda w: side(w, 1) or side(w, -1)))
        add(NELSON, 3, _run(z, 6, lambda w: all(z[a] < z[a + 1] for a in list(w)[:-1])
                            or all(z[a] > z[a + 1] for a in list(w)[:-1])))
        add(NELSON, 4, _run(z, 14, lambda w: all((z[j + 1] - z[j]) * (z[j + 2] - z[j + 1]) < 0 for j in list(w)[:-2])))
        add(NELSON, 5, _k_of_m(z, 2, 3, 2))
        add(NELSON, 6, _k_of_m(z, 4, 5, 1))
        add(NELSON, 7, _run(z, 15, lambda w: all(abs(z[j]) < 1 for j in w)))
        add(NELSON, 8, _run(z, 8, lambda w: all(abs(z[j]) > 1 for j in w) and not side(w, 1) and not side(w, -1)))
    out.sort(key=lambda v: (v["index"], v["rule"]))
    return out
