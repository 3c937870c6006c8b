"""Process capability and performance, expected fraction out of specification, confidence intervals,
histogram and a normality test.

Definitions (Montgomery, *Introduction to SQC*, §8.3; NIST/SEMATECH e-Handbook §6.1.6; AIAG SPC manual):
Cp = (USL−LSL)/6σ_within, Cpk = min(USL−μ, μ−LSL)/3σ_within; Pp, Ppk the same with the overall sample
standard deviation; Cpm = (USL−LSL)/(6√(σ_within² + (μ−T)²)) (Chan, Cheng & Spiring 1988; Montgomery eq. 8.20)
and Ppm its overall-sigma twin (T = target, default the mid-specification). Note "Ppm" here is that index;
expected parts per million out of specification are ``ppm_within`` / ``ppm_overall`` (normal model) and
``ppm_observed``. Confidence intervals: Cp by the χ² interval (Montgomery eq. 8.24), Cpk by Bissell's (1990)
normal approximation Ĉpk ± z√(1/(9n) + Ĉpk²/(2(n−1))) (Montgomery eq. 8.27). Normality: Anderson–Darling with
the D'Agostino & Stephens (1986, Table 4.9) p-value for estimated mean and sigma, and Shapiro–Wilk (n ≤ 5000).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import stats

from mom.engines.reports.spc.chart import number
from mom.engines.reports.spc.errors import SpcError

MAX_BINS = 200


def anderson_darling(xs: np.ndarray) -> dict[str, Any]:
    """A² for normality with mean and sigma estimated, and its p-value (D'Agostino & Stephens 1986)."""
    n = len(xs)
    z = np.sort((xs - xs.mean()) / xs.std(ddof=1))
    i = np.arange(1, n + 1)
    a2 = float(-n - np.sum((2 * i - 1) * (stats.norm.logcdf(z) + stats.norm.logsf(z[::-1]))) / n)
    a = a2 * (1 + 0.75 / n + 2.25 / n ** 2)
    if a >= 0.6:
        p = math.exp(1.2937 - 5.709 * a + 0.0186 * a * a)
    elif a >= 0.34:
        p = math.exp(0.9177 - 4.279 * a - 1.38 * a * a)
    elif a >= 0.2:
        p = 1 - math.exp(-8.318 + 42.796 * a - 59.938 * a * a)
    else:
        p = 1 - math.exp(-13.436 + 101.14 * a - 223.73 * a * a)
    return {"test": "anderson_darling", "statistic": a2, "p_value": min(1.0, max(0.0, p))}


def _ppm(mu: float, sigma: float | None, lsl: float | None, usl: float | None) -> dict[str, float] | None:
    if not sigma:
        return None
    below = float(stats.norm.cdf((lsl - mu) / sigma)) * 1e6 if lsl is not None else 0.0
    above = float(stats.norm.sf((usl - mu) / sigma)) * 1e6 if usl is not None else 0.0
    return {"below": below, "above": above, "total": below + above}


def cp_interval(cp: float, n: int, confidence: float = 0.95) -> list[float]:
    """Two-sided interval for Cp from the χ² distribution of s² (Montgomery eq. 8.24)."""
    a = (1 - confidence) / 2
    return [cp * math.sqrt(stats.chi2.ppf(a, n - 1) / (n - 1)), cp * math.sqrt(stats.chi2.ppf(1 - a, n - 1) / (n - 1))]


def cpk_interval(cpk: float, n: int, confidence: float = 0.95) -> list[float]:
    """Bissell's (1990) approximate interval Ĉpk ± z·√(1/(9n) + Ĉpk²/(2(n−1))) (Montgomery eq. 8.27)."""
    half = float(stats.norm.ppf(1 - (1 - confidence) / 2)) * math.sqrt(1 / (9 * n) + cpk ** 2 / (2 * (n - 1)))
    return [cpk - half, cpk + half]


def capability(values: Iterable[Any], *, lsl: float | None, usl: float | None, sigma_within: float | None = None,
               mean: float | None = None, target: float | None = None, confidence: float = 0.95,
               bins: int | None = None) -> dict[str, Any]:
    """Capability of the readings against the specification. One-sided specifications give only the
    indices that exist; missing readings (None) are skipped and counted in ``missing``."""
    raw = list(values)
    got = [number(v) for v in raw]
    xs = [x for x in got if x is not None]
    if len(xs) < 2:
        raise SpcError("能力分析至少需要 2 个数据", "capability needs at least 2 values")
    lsl, usl, target = (number(v) for v in (lsl, usl, target))
    if lsl is None and usl is None:
        raise SpcError("至少需要一个规格限（LSL 或 USL）", "at least one specification limit (LSL or USL) is needed")
    if lsl is not None and usl is not None and usl <= lsl:
        raise SpcError("USL 必须大于 LSL", "USL must be greater than LSL")
    if not 0.5 <= confidence < 1:
        raise SpcError("置信水平须在 0.5 到 1 之间", "the confidence level must be in [0.5, 1)")
    arr = np.asarray(xs, dtype=float)
    n = len(xs)
    mu = float(arr.mean()) if mean is None else float(mean)
    overall = float(arr.std(ddof=1))
    if target is None and lsl is not None and usl is not None:
        target = (lsl + usl) / 2
    out: dict[str, Any] = {"n": n, "missing": len(raw) - n, "mean": mu, "sigma_overall": overall,
                           "sigma_within": sigma_within, "lsl": lsl, "usl": usl, "target": target}

    def idx(sigma: float | None, prefix: str) -> None:
        if not sigma:
            return
        upper = (usl - mu) / (3 * sigma) if usl is not None else None
        lower = (mu - lsl) / (3 * sigma) if lsl is not None else None
        if usl is not None and lsl is not None:
            out[f"{prefix}p"] = (usl - lsl) / (6 * sigma)
            out[f"{prefix}pm"] = (usl - lsl) / (6 * math.sqrt(sigma ** 2 + (mu - target) ** 2))
        out[f"{prefix}pu"], out[f"{prefix}pl"] = upper, lower
        out[f"{prefix}pk"] = min(v for v in (upper, lower) if v is not None)

    idx(sigma_within, "C")
    idx(overall, "P")
    out["out_of_spec"] = sum(1 for x in xs if (usl is not None and x > usl) or (lsl is not None and x < lsl))
    out["ppm_observed"] = out["out_of_spec"] / n * 1e6
    out["ppm_within"] = _ppm(mu, sigma_within, lsl, usl)
    out["ppm_overall"] = _ppm(mu, overall, lsl, usl)
    ci: dict[str, Any] = {"level": confidence}
    for name in ("Cp", "Pp"):
        if name in out:
            ci[name] = cp_interval(out[name], n, confidence)
    for name in ("Cpk", "Ppk"):
        if name in out:
            ci[name] = cpk_interval(out[name], n, confidence)
    out["confidence"] = ci
    out["normality"] = normality(arr)
    out["histogram"] = histogram(arr, lsl, usl, bins)
    return out


def normality(arr: np.ndarray) -> list[dict[str, Any]]:
    """Anderson–Darling (n ≥ 8) and Shapiro–Wilk (3 ≤ n ≤ 5000), each with its p-value; a small p-value
    (< 0.05) means the readings are unlikely to be normal and the normal-model ppm should not be trusted."""
    out = []
    if len(arr) >= 8 and float(arr.std()) > 0:
        out.append(anderson_darling(arr))
    if 3 <= len(arr) <= 5000 and float(arr.std()) > 0:
        w, p = stats.shapiro(arr)
        out.append({"test": "shapiro_wilk", "statistic": float(w), "p_value": float(p)})
    return out


def histogram(arr: np.ndarray, lsl: float | None, usl: float | None, bins: int | None = None) -> dict[str, Any]:
    """Counts over equal bins spanning the readings and the specification limits (Sturges' rule unless
    ``bins`` is given)."""
    lo = min([float(arr.min())] + [v for v in (lsl,) if v is not None])
    hi = max([float(arr.max())] + [v for v in (usl,) if v is not None])
    k = bins if bins is not None else int(math.ceil(math.log2(len(arr)) + 1))
    if not isinstance(k, int) or not 1 <= k <= MAX_BINS:
        raise SpcError(f"直方图分组数须在 1 到 {MAX_BINS} 之间", f"histogram bins must be 1..{MAX_BINS}")
    counts, edges = np.histogram(arr, bins=k, range=(lo, hi if hi > lo else lo + 1))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts], "lsl": lsl, "usl": usl}
