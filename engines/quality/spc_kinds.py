"""The inspection charts besides X̄-R / X̄-S / I-MR, one point per judged inspection lot (issue 22):

- **attribute** characteristics (p, np, c, u; Montgomery, *Introduction to SQC*, ch. 7): each lot's sample of
  the characteristic gives a count over a size. p and np count the nonconforming samples (``ok`` false) among
  those inspected (p: per-point limits when the lots' sample sizes differ; np needs equal sizes). c counts the
  defects found in the lot's sample, u the defects per inspected unit: a result row's 测量值 (``value``) is the
  number of defects on that unit when the inspector typed it, else a nonconforming mark counts one defect.
- **time-weighted** charts of a numeric characteristic (EWMA with λ and L, tabular CUSUM with k and h, in σ;
  Montgomery §9.1–9.2): each lot's point is the mean of its readings (its reading, one sample). Phase I: the
  target is the mean of the points and σ of a point MR̄/d2(2) of the points, both without the excluded lots;
  phase II: ``baseline_mean`` and ``baseline_sigma`` (σ of one reading, so a point of n readings has σ/√n, n the
  lots' median sample size).

The maths is the report engine's (``mom.engines.reports.spc``); this module only turns lots into its inputs
and its answer's points back into lots.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mom.engines.reports import spc
from mom.engines.reports.spc import SpcError

if TYPE_CHECKING:
    from mom.engines.quality.spc_series import Characteristic, Subgroup

CHART_ZH = {"p": "不合格品率图", "np": "不合格品数图", "c": "缺陷数图", "u": "单位缺陷数图", "ewma": "EWMA 图",
            "cusum_upper": "CUSUM 图（上侧）", "cusum_lower": "CUSUM 图（下侧）"}
CHART_EN = {"p": "p chart", "np": "np chart", "c": "c chart", "u": "u chart", "ewma": "EWMA chart",
            "cusum_upper": "CUSUM (upper)", "cusum_lower": "CUSUM (lower)"}


def lot_count(ch: Characteristic, g: Subgroup) -> tuple[float | None, int | None]:
    """(count, size) of one lot for an attribute chart: nonconforming samples of those inspected (p, np), or
    defects found on the inspected units (c, u); (None, None) when none of its samples was inspected."""
    rows = [(v, ok) for v, ok in zip(g.values, g.oks) if ok is not None or (v is not None and ch.kind == "attribute")]
    if not rows:
        return None, None
    if ch.chart in ("p", "np") or ch.kind != "attribute":
        return float(sum(1 for _, ok in rows if ok is False)), len(rows)
    return math.fsum(float(v) if v is not None else (1.0 if ok is False else 0.0) for v, ok in rows), len(rows)


def lot_point(g: Subgroup) -> tuple[float | None, int]:
    """The mean of a lot's readings and how many there were (None, 0 without any)."""
    vals = [float(v) for v in g.values if v is not None]
    return (math.fsum(vals) / len(vals), len(vals)) if vals else (None, 0)


def _excluded(groups: Sequence[Subgroup], excluded: Mapping[int, Mapping[str, Any]], plotted: set[int]) -> dict[int, str]:
    return {gi: str(excluded[g.lot_id]["reason"]) for gi, g in enumerate(groups) if g.lot_id in excluded and gi in plotted}


def attribute(ch: Characteristic, groups: Sequence[Subgroup], excluded: Mapping[int, Mapping[str, Any]], *,
              k: float, rules: str) -> dict[str, Any]:
    pairs = [lot_count(ch, g) for g in groups]
    counts, sizes = [c for c, _ in pairs], [n for _, n in pairs]
    ex = _excluded(groups, excluded, {gi for gi, c in enumerate(counts) if c is not None})
    opts: dict[str, Any] = {"rules": rules, "k": k, "exclude": ex or None, "standard": ch.baseline}
    if ch.chart == "c":
        return spc.c_chart(counts, **opts)
    return {"p": spc.p_chart, "np": spc.np_chart, "u": spc.u_chart}[ch.chart](counts, sizes, **opts)


def _cusum_words(res: dict[str, Any], groups: Sequence[Subgroup]) -> None:
    """Each CUSUM signal says where the shift began and the mean it moved to (Montgomery eq. 9.6)."""
    plotted = res["index"]
    by = {(s["index"], s["side"]): s for s in res["signals"]}
    for c in res["charts"]:
        side = "upper" if c["name"] == "cusum_upper" else "lower"
        for v in c["violations"]:
            s = by.get((v["index"], side))
            if s is None:
                continue
            start = groups[plotted[max(0, s["shift_from"])]].label
            v["message"] = {"zh-CN": f"{v['message']['zh-CN']}（估计均值已移到 {s['new_mean']:.4g}，约自检验单 {start} 起）",
                            "en": f"{v['message']['en']} (mean estimated at {s['new_mean']:.4g}, since about lot {start})"}


def time_weighted(ch: Characteristic, groups: Sequence[Subgroup], excluded: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    got = [lot_point(g) for g in groups]
    points = [x for x, _ in got]
    ns = [n for x, n in got if x is not None]
    if len(ns) < 2:
        raise SpcError("至少需要 2 张有读数的检验单", "at least 2 inspection lots with readings are needed")
    n = max(1, int(statistics.median(ns)))
    ex = _excluded(groups, excluded, {gi for gi, x in enumerate(points) if x is not None})
    if ch.baseline:
        target, sigma_point = ch.baseline["mean"], ch.baseline["sigma"] / math.sqrt(n)
    else:
        kept = [x for gi, x in enumerate(points) if x is not None and gi not in ex]
        if len(kept) < 3:
            raise SpcError("排除后至少要留 3 张有读数的检验单来估计目标值和 σ",
                           "at least 3 inspection lots with readings must remain to estimate the target and σ")
        est = spc.i_mr(kept, rules="limits")
        target, sigma_point = est["mean"], est["sigma_within"]
        if not sigma_point > 0:
            raise SpcError("各检验单的读数没有波动，无法估计 σ：请在检验项目上填基准标准差",
                           "the lots' readings do not vary, σ cannot be estimated: give the baseline sigma on the characteristic")
    if ch.chart == "ewma":
        res = spc.ewma(points, lam=ch.ewma_lambda, L=ch.ewma_l, target=target, sigma=sigma_point)
    else:
        res = spc.cusum(points, k=ch.cusum_k, h=ch.cusum_h, target=target, sigma=sigma_point)
        _cusum_words(res, groups)
    res.update(phase="II" if ch.baseline else "I", n=n, mean=target, sigma_within=sigma_point * math.sqrt(n),
               excluded=[{"index": gi, "reason": r} for gi, r in sorted(ex.items())])
    return res


def baseline_of(ch: Characteristic, res: Mapping[str, Any]) -> dict[str, float | None]:
    """The baseline the chart ``res`` gives: its centre (p̄, c̄, ū, or the mean) and, for measured charts, the σ
    of one reading — what 「以当前数据为基准」 writes on the characteristic."""
    if ch.attribute:
        return {"baseline_mean": round(float(res["mean"]), 6), "baseline_sigma": None}
    return {"baseline_mean": round(float(res["mean"]), 6), "baseline_sigma": round(float(res["sigma_within"]), 6)}
