"""Attribute charts: p (fraction nonconforming), np (number nonconforming), c (nonconformities) and
u (nonconformities per unit), after Montgomery, *Introduction to SQC*, chapter 7. Variable sample sizes give
each point its own limits (p̄ ± k√(p̄(1−p̄)/nᵢ), ū ± k√(ū/nᵢ)); lower limits below zero are set to zero.
Phase II: ``standard={"center": p or c or u}``; ``exclude={index: reason}`` as for the variables charts.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mom.engines.reports.spc.chart import MAX_POINTS, Chart, exclusions, missing_note, number
from mom.engines.reports.spc.errors import SpcError
from mom.engines.reports.spc.rules import parse
from mom.engines.reports.spc.variables import finish


def _pairs(counts: Iterable[Any], sizes: Iterable[Any] | None, need_size: bool) -> tuple[list[float], list[float], list[int], dict[str, Any] | None]:
    cs = list(counts)
    if len(cs) > MAX_POINTS:
        raise SpcError(f"样本过多（上限 {MAX_POINTS:,}）", f"too many samples (limit {MAX_POINTS:,})")
    ns = list(sizes) if sizes is not None else [1.0] * len(cs)
    if need_size and sizes is None:
        raise SpcError("需要每个样本的样本量（sizes）", "the sample size of every sample (sizes) is needed")
    if len(ns) != len(cs):
        raise SpcError(f"样本量个数 {len(ns)} 与计数个数 {len(cs)} 不一致", f"{len(ns)} sample sizes for {len(cs)} counts")
    xs, ws, index, missing = [], [], [], {}
    for i, (c, n) in enumerate(zip(cs, ns)):
        c, n = number(c), number(n)
        if c is None or n is None:
            missing[i] = 1
            continue
        if c < 0 or n <= 0:
            raise SpcError(f"第 {i + 1} 个样本：计数不能为负、样本量必须大于 0", f"sample {i + 1}: counts cannot be negative and sizes must be > 0")
        xs.append(c)
        ws.append(n)
        index.append(i)
    if len(xs) < 2:
        raise SpcError("至少需要 2 个样本", "at least 2 samples are needed")
    return xs, ws, index, missing_note(missing, [], what="sample")


def _center(standard: Mapping[str, Any] | None) -> float | None:
    if standard is None:
        return None
    v = number(standard.get("center")) if isinstance(standard, Mapping) else None
    if v is None or v < 0:
        raise SpcError("固定控制限需要 center（过程平均，≥ 0）", "fixed limits need center (the process average, ≥ 0)")
    return v


def _attr(kind: str, counts: Iterable[Any], sizes: Iterable[Any] | None, rules: str, k: float,
          exclude: Mapping[Any, Any] | None, standard: Mapping[str, Any] | None) -> dict[str, Any]:
    parse(rules)
    if not isinstance(k, (int, float)) or isinstance(k, bool) or not 0 < k <= 6:
        raise SpcError(f"k 倍σ须在 0 到 6 之间（当前 {k}）", f"the sigma multiple k must be in (0, 6] (got {k})")
    xs, ns, index, note = _pairs(counts, sizes, kind in ("p", "np", "u"))
    skip, excluded = exclusions(exclude, index)
    use = [i for i in range(len(xs)) if i not in skip]
    fixed = _center(standard)
    if kind in ("p", "np") and any(x > n for x, n in zip(xs, ns)):
        raise SpcError("不合格品数不能大于样本量", "nonconforming count cannot exceed the sample size")
    if kind == "np" and len(set(ns)) > 1:
        raise SpcError("np 图要求各样本量相同；样本量不同请用 p 图", "an np chart needs equal sample sizes; use a p chart")
    rate = fixed if fixed is not None else math.fsum(xs[i] for i in use) / math.fsum(ns[i] for i in use)
    if kind == "p":
        pts = [x / n for x, n in zip(xs, ns)]
        center = [rate] * len(xs)
        sig = [math.sqrt(rate * (1 - rate) / n) for n in ns]
        hi = [min(1.0, rate + k * s) for s in sig]
    elif kind == "np":
        pts = xs
        center = [ns[0] * rate] * len(xs)
        sig = [math.sqrt(ns[0] * rate * (1 - rate))] * len(xs)
        hi = [c + k * s for c, s in zip(center, sig)]
    elif kind == "u":
        pts = [x / n for x, n in zip(xs, ns)]
        center = [rate] * len(xs)
        sig = [math.sqrt(rate / n) for n in ns]
        hi = [rate + k * s for s in sig]
    else:   # c: the sizes (if any) are ignored; counts per equal inspection unit
        pts = xs
        rate = fixed if fixed is not None else math.fsum(xs[i] for i in use) / len(use)
        center = [rate] * len(xs)
        sig = [math.sqrt(rate)] * len(xs)
        hi = [rate + k * s for s in sig]
    lo = [max(0.0, c - k * s) for c, s in zip(center, sig)]
    main = Chart.of(kind, pts, center, hi, lo)
    return finish(kind, main, None, sig, rules, k, n=ns[0] if len(set(ns)) == 1 else None,
                  sizes=None if len(set(ns)) == 1 else ns, subgroups=len(xs), mean=rate, index=index,
                  excluded=excluded, phase="II" if fixed is not None else "I", notes=[note])


def p_chart(counts: Iterable[Any], sizes: Iterable[Any], *, rules: str = "western_electric", k: float = 3.0,
            exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _attr("p", counts, sizes, rules, k, exclude, standard)


def np_chart(counts: Iterable[Any], sizes: Iterable[Any], *, rules: str = "western_electric", k: float = 3.0,
             exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _attr("np", counts, sizes, rules, k, exclude, standard)


def c_chart(counts: Iterable[Any], *, rules: str = "western_electric", k: float = 3.0,
            exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _attr("c", counts, None, rules, k, exclude, standard)


def u_chart(counts: Iterable[Any], sizes: Sequence[Any], *, rules: str = "western_electric", k: float = 3.0,
            exclude: Mapping[Any, Any] | None = None, standard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return _attr("u", counts, sizes, rules, k, exclude, standard)
