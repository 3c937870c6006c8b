"""Control-chart constants computed from their definitions, not copied from a 3-decimal table.

d2(n) = E[R/σ] for n normal readings, d3(n) = sd[R/σ] (Tippett 1925):
    d2 = ∫ 1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ dx
    E[W²] = 2 ∫∫_{x<y} 1 − Φ(y)ⁿ − (1 − Φ(x))ⁿ + (Φ(y) − Φ(x))ⁿ dy dx,   d3 = √(E[W²] − d2²)
integrated with scipy's adaptive quadrature to ~1e-9 (n = 2: d2 = 2/√π, d3 = √(2 − 4/π) exactly);
c4(n) = √(2/(n−1)) Γ(n/2)/Γ((n−1)/2). The chart factors follow Montgomery, *Introduction to Statistical
Quality Control*, Appendix VI (and ASTM MNL 7): A = k/√n, A2 = k/(d2√n), A3 = k/(c4√n), B3..B6, D1..D4, E2 = k/d2,
with k = 3 unless another multiple of sigma is chosen.
"""
from __future__ import annotations

import math
from functools import lru_cache

from scipy import integrate, special

from mom.engines.reports.spc.errors import SpcError

MAX_RANGE_N = 200        # ranges past this size waste information; X̄-S (c4) has no such cap
MAX_N = 100_000


@lru_cache(maxsize=512)
def d2(n: int) -> float:
    _check(n, MAX_RANGE_N, "极差")
    if n == 2:
        return 2 / math.sqrt(math.pi)
    f = lambda x: 1 - special.ndtr(x) ** n - special.ndtr(-x) ** n  # noqa: E731
    return float(integrate.quad(f, -math.inf, math.inf, epsabs=1e-13, epsrel=1e-12, limit=200)[0])


@lru_cache(maxsize=512)
def d3(n: int) -> float:
    _check(n, MAX_RANGE_N, "极差")
    if n == 2:
        return math.sqrt(2 - 4 / math.pi)

    def inner(x: float) -> float:
        fx, sx = special.ndtr(x), special.ndtr(-x)
        g = lambda t: 1 - special.ndtr(x + t) ** n - sx ** n + (special.ndtr(x + t) - fx) ** n  # noqa: E731
        return float(integrate.quad(g, 0, math.inf, epsabs=1e-12, limit=200)[0])

    ew2 = 2 * integrate.quad(inner, -math.inf, math.inf, epsabs=1e-11, limit=200)[0]
    return math.sqrt(ew2 - d2(n) ** 2)


def c4(n: int) -> float:
    _check(n, 10 ** 9, "子组")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def _check(n: int, top: int, what: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 2 or n > top:
        raise SpcError(f"{what}大小须在 2 到 {top} 之间（当前 {n}）", f"subgroup size must be 2..{top} (got {n})")


@lru_cache(maxsize=2048)
def _factors(n: int, k: float, with_range: bool) -> tuple[tuple[str, float], ...]:
    c = c4(n)
    s = math.sqrt(1 - c * c)
    out = {"n": n, "k": k, "c4": c, "A": k / math.sqrt(n), "A3": k / (c * math.sqrt(n)),
           "B3": max(0.0, 1 - k * s / c), "B4": 1 + k * s / c, "B5": max(0.0, c - k * s), "B6": c + k * s}
    if with_range:
        a, b = d2(n), d3(n)
        out.update({"d2": a, "d3": b, "A2": k / (a * math.sqrt(n)), "D1": max(0.0, a - k * b), "D2": a + k * b,
                    "D3": max(0.0, 1 - k * b / a), "D4": 1 + k * b / a, "E2": k / a})
    return tuple(out.items())


def factors(n: int, k: float = 3.0) -> dict[str, float]:
    """All chart factors for subgroup size ``n`` and a ``k``-sigma chart (k = 3 is the Shewhart chart).
    Range factors (d2, d3, A2, D1..D4, E2) exist for n ≤ 200; the S-chart factors for any n."""
    if not isinstance(k, (int, float)) or isinstance(k, bool) or not 0 < k <= 6:
        raise SpcError(f"k 倍σ须在 0 到 6 之间（当前 {k}）", f"the sigma multiple k must be in (0, 6] (got {k})")
    return dict(_factors(n, float(k), n <= MAX_RANGE_N))


class _Table(dict):  # type: ignore[type-arg]
    """``D2[n]``: d2 for any n in 2..200, computed on first use (the old tabulated mapping's interface)."""

    def __missing__(self, n: int) -> float:
        if not isinstance(n, int) or not 2 <= n <= MAX_RANGE_N:
            raise KeyError(n)
        self[n] = v = self.fn(n)
        return v

    def __init__(self, fn):  # type: ignore[no-untyped-def]
        super().__init__()
        self.fn = fn

    def __contains__(self, n: object) -> bool:
        return isinstance(n, int) and 2 <= n <= MAX_RANGE_N


D2 = _Table(d2)
D3_ = _Table(d3)
