"""Time-weighted charts for small shifts: EWMA (exact time-varying limits) and the tabular CUSUM,
after Montgomery, *Introduction to SQC*, §9.1 (tabular CUSUM, K = kσ, H = hσ) and §9.2 (EWMA
zᵢ = λxᵢ + (1−λ)zᵢ₋₁, limits μ0 ± Lσ√(λ/(2−λ)·(1−(1−λ)^{2i}))); NIST/SEMATECH e-Handbook §6.3.2.4.
The target μ0 defaults to the mean of the readings and σ to MR̄/d2(2) unless given (phase II).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from mom.engines.reports.spc.chart import Chart, missing_note, number, present
from mom.engines.reports.spc.constants import d2
from mom.engines.reports.spc.errors import SpcError


def _series(values: Iterable[Any], target: Any, sigma: Any) -> tuple[list[float], list[int], dict[str, Any] | None, float, float]:
    xs, index, missing = present(values)
    if len(xs) < 2:
        raise SpcError("至少需要 2 个数据", "at least 2 values are needed")
    mu = number(target) if target is not None else math.fsum(xs) / len(xs)
    if sigma is not None:
        s = number(sigma)
        if s is None or not s > 0:
            raise SpcError("sigma 必须大于 0", "sigma must be greater than 0")
    else:
        s = math.fsum(abs(b - a) for a, b in zip(xs, xs[1:])) / (len(xs) - 1) / d2(2)
        if not s > 0:
            raise SpcError("数据没有波动，无法估计 σ；请给出 sigma", "the readings do not vary; give sigma")
    return xs, index, missing_note(missing, [], what="reading"), mu, s


def ewma_step(prev: float, x: float, i: int, *, lam: float, L: float, sigma: float) -> tuple[float, float]:
    """One EWMA point: zᵢ = λxᵢ + (1−λ)zᵢ₋₁ and the half-width of its limits Lσ√(λ/(2−λ)·(1−(1−λ)^{2i}))
    (``i`` counts from 1). Shared by :func:`ewma` and by callers that keep the state between readings."""
    return lam * x + (1 - lam) * prev, L * sigma * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))


def cusum_step(cp: float, cm: float, np_: int, nm: int, x: float, *, mu: float, K: float) -> tuple[float, float, int, int]:
    """One tabular-CUSUM point: C⁺ᵢ = max(0, xᵢ − (μ0 + K) + C⁺ᵢ₋₁), C⁻ᵢ = max(0, (μ0 − K) − xᵢ + C⁻ᵢ₋₁) and the
    run lengths N⁺, N⁻ (consecutive non-zero sums). Shared by :func:`cusum` and by incremental callers."""
    cp = max(0.0, x - (mu + K) + cp)
    cm = max(0.0, (mu - K) - x + cm)
    return cp, cm, (np_ + 1 if cp > 0 else 0), (nm + 1 if cm > 0 else 0)


def ewma(values: Iterable[Any], *, lam: float = 0.2, L: float = 3.0, target: Any = None, sigma: Any = None) -> dict[str, Any]:
    if not 0 < lam <= 1 or not 0 < L <= 6:
        raise SpcError("λ 须在 (0, 1]，L 须在 (0, 6]", "λ must be in (0, 1] and L in (0, 6]")
    xs, index, note, mu, s = _series(values, target, sigma)
    z, prev, ucl, lcl = [], mu, [], []
    for i, x in enumerate(xs, start=1):
        prev, half = ewma_step(prev, x, i, lam=lam, L=L, sigma=s)
        z.append(prev)
        ucl.append(mu + half)
        lcl.append(mu - half)
    chart = Chart.of("ewma", z, [mu] * len(z), ucl, lcl)
    chart.violations = [{"rule": 1, "set": "limits", "index": i, "points": [i],
                         "message": {"zh-CN": "EWMA 超出控制限", "en": "EWMA beyond a control limit"}}
                        for i, v in enumerate(z) if v > ucl[i] or v < lcl[i]]
    return {"type": "ewma", "charts": [chart.as_dict()], "lambda": lam, "L": L, "target": mu, "sigma": s,
            "subgroups": len(xs), "index": index, "notes": [n for n in (note,) if n]}


def cusum(values: Iterable[Any], *, k: float = 0.5, h: float = 5.0, target: Any = None, sigma: Any = None) -> dict[str, Any]:
    """Upper and lower one-sided cumulative sums; a signal when either exceeds H. Each signal carries the
    run length N (consecutive non-zero sums) and the estimated new mean (Montgomery eq. 9.6)."""
    if not 0 <= k <= 3 or not 0 < h <= 20:
        raise SpcError("k 须在 [0, 3]，h 须在 (0, 20]", "k must be in [0, 3] and h in (0, 20]")
    xs, index, note, mu, s = _series(values, target, sigma)
    K, H = k * s, h * s
    hi, lo, nh, nl = [], [], [], []
    cp = cm = 0.0
    np_ = nm = 0
    for x in xs:
        cp, cm, np_, nm = cusum_step(cp, cm, np_, nm, x, mu=mu, K=K)
        hi.append(cp)
        lo.append(cm)
        nh.append(np_)
        nl.append(nm)
    signals = []
    for i in range(len(xs)):
        if hi[i] > H:
            signals.append({"index": i, "side": "upper", "run": nh[i], "shift_from": i - nh[i] + 1,
                            "new_mean": mu + K + hi[i] / nh[i]})
        if lo[i] > H:
            signals.append({"index": i, "side": "lower", "run": nl[i], "shift_from": i - nl[i] + 1,
                            "new_mean": mu - K - lo[i] / nl[i]})
    n = len(xs)
    up = Chart.of("cusum_upper", hi, [0.0] * n, [H] * n, [0.0] * n)
    down = Chart.of("cusum_lower", lo, [0.0] * n, [H] * n, [0.0] * n)
    for c, side in ((up, "upper"), (down, "lower")):
        c.violations = [{"rule": 1, "set": "cusum", "index": g["index"], "points": [g["index"]],
                         "message": {"zh-CN": "CUSUM 超出决策区间 H", "en": "CUSUM beyond the decision interval H"}}
                        for g in signals if g["side"] == side]
    return {"type": "cusum", "charts": [up.as_dict(), down.as_dict()], "k": k, "h": h, "K": K, "H": H, "target": mu,
            "sigma": s, "signals": signals, "subgroups": n, "index": index, "notes": [x for x in (note,) if x]}
